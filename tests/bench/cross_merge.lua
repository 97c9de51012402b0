-- bench: the four partial aal states in $AALDIR (p1..p4.state) merged with the
-- cross-event API alone: load the first, stream the others in with merge_file.
local evstream = require "evstream"
local dir = assert(os.getenv("AALDIR"), "AALDIR: the aal bench directory")
function finish()
  local acc = assert(evstream.load_accumulator(dir .. "/p1.state"))
  for k = 2, 4 do assert(acc:merge_file(("%s/p%d.state"):format(dir, k))) end
  io.stderr:write(("cross_merge: %d keys, %d bytes\n"):format(acc:nkeys(), acc:bytes()))
end
