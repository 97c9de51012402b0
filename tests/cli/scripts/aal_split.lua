-- aal_split.lua OUT1 OUT2 ...: event e goes to partition e % K + 1 of the K
-- outputs (a user script that splits streams by event with the stream writer).
local evstream = require "evstream"
local outs = {}
function begin(info)
  for i = 1, #arg do
    outs[i] = assert(evstream.stream{path = arg[i], source = info.source, agg = info.agg,
      len_sample = info.len_sample, summary_set_id = info.summary_set_id})
  end
end
function event(ev)
  outs[ev:id() % #outs + 1]:copy(ev)
end
