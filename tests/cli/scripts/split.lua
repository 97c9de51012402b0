-- split.lua OUT1 OUT2: events alternate between two partitions (a user
-- script that copies records with the stream writer).
local evstream = require "evstream"
local outs, n = {}, 0
function begin(info)
  for i = 1, 2 do
    outs[i] = assert(evstream.stream{path = arg[i], source = info.source, agg = info.agg,
      len_sample = info.len_sample, summary_set_id = info.summary_set_id})
  end
end
function event(ev)
  n = n + 1
  outs[n % 2 + 1]:copy(ev)
end
