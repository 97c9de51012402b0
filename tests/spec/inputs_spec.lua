-- evstream.inputs loaders for the summary script (xref, summary map, find)
-- and the kernels behind summary / fromcsv as seen from Lua.
local evstream = require "evstream"
local inputs = require "evstream.inputs"
local U = require "util"

local function tmpdir()
  local d = U.tmpname()
  assert(require("lfs").mkdir(d))
  return d
end

local function count(t)
  local n = 0
  for _ in pairs(t) do n = n + 1 end
  return n
end

-- The loaders return C id maps (evstream.idmap): as plain tables to compare.
local function plain(x)
  if type(x) == "userdata" then return x:totable() end
  local t = {}
  for k, v in pairs(x) do t[k] = plain(v) end
  return t
end

describe("inputs.find", function()
  it("prefers .bin over .csv, as the reference does", function()
    local d = tmpdir()
    U.writefile(d .. "/x.csv", "")
    assert.are.equal(d .. "/x.csv", inputs.find(d, "x", {"bin", "csv"}))
    U.writefile(d .. "/x.bin", "")
    assert.are.equal(d .. "/x.bin", inputs.find(d, "x", {"bin", "csv"}))
  end)
  it("names every path it tried", function()
    local p, err = inputs.find("/nonexistent", "gulsummaryxref", {"bin", "csv"})
    assert.is_nil(p)
    assert.are.equal("/nonexistent/gulsummaryxref.bin or /nonexistent/gulsummaryxref.csv: no such file", err)
  end)
end)

describe("inputs.xref", function()
  it("reads the gul csv into set -> id -> summary", function()
    local p = U.tmpname()
    U.writefile(p, "item_id,summary_id,summaryset_id\n1,1,1\n2,1,1\n2,5,2\n3,2,1\n")
    local x = assert(inputs.xref(p))
    assert.are.same({[1] = {[1] = 1, [2] = 1, [3] = 2}, [2] = {[2] = 5}}, plain(x))
  end)
  it("reads the fm csv (column 'output'), any column order, CRLF, quotes, blank lines", function()
    local p = U.tmpname()
    U.writefile(p, 'summaryset_id,"output",summary_id\r\n1,7,3\r\n\r\n"1",8,"4"\r\n')
    assert.are.same({[1] = {[7] = 3, [8] = 4}}, plain(assert(inputs.xref(p))))
  end)
  it("lets a later row win", function()
    local p = U.tmpname()
    U.writefile(p, "item_id,summary_id,summaryset_id\n1,1,1\n1,9,1\n")
    assert.are.equal(9, assert(inputs.xref(p))[1][1])
  end)
  it("reads the packed .bin form", function()
    local p = U.tmpname() .. ".bin"
    U.writefile(p, string.pack("<i4i4i4i4i4i4", 4, 2, 1, 5, 3, 2))
    assert.are.same({[1] = {[4] = 2}, [2] = {[5] = 3}}, plain(assert(inputs.xref(p))))
  end)
  it("reads the reference files", function()
    local d = U.conf .. "/summary/multiple_summary_set"
    if not inputs.isdir(d) then return pending("reference cases not found at " .. d) end
    local x = assert(inputs.xref(d .. "/fmsummaryxref.csv"))
    assert.are.equal(3, count(x))
    assert.are.equal(40, count(x[3]))
    local b = assert(inputs.xref(U.conf .. "/summary/single_summary_set/gulsummaryxref.bin"))
    assert.are.equal(20, count(b[1]))
  end)
  it("names the path and line of a bad value", function()
    local p = U.tmpname()
    U.writefile(p, "item_id,summary_id,summaryset_id\n1,1,1\n\n2,two,1\n")
    local x, err = inputs.xref(p)
    assert.is_nil(x)
    assert.are.equal(p .. ":4: column 2: 'two' is not an integer", err)
  end)
  it("names a missing column", function()
    local p = U.tmpname()
    U.writefile(p, "item_id,summaryset_id\n1,1\n")
    local _, err = inputs.xref(p)
    assert.are.equal(p .. ":1: no column summary_id in the header", err)
    U.writefile(p, "id,summary_id,summaryset_id\n1,1,1\n")
    _, err = inputs.xref(p)
    assert.are.equal(p .. ":1: no column item_id or output or output_id or coverage_id in the header", err)
  end)
  it("refuses summary ids below 1, naming the line", function()
    local p = U.tmpname()
    U.writefile(p, "item_id,summary_id,summaryset_id\n1,0,1\n")
    local _, err = inputs.xref(p)
    assert.are.equal(p .. ":2: summary_id 0 of id 1 must be >= 1", err)
  end)
  it("names an empty, missing or misaligned file", function()
    local p = U.tmpname()
    U.writefile(p, "")
    assert.are.equal(p .. ": empty file (no header)", select(2, inputs.xref(p)))
    assert.matches("^/nonexistent/x.csv: No such file", select(2, inputs.xref("/nonexistent/x.csv")))
    local b = U.tmpname() .. ".bin"
    U.writefile(b, string.rep("\0", 13))
    assert.are.equal(b .. ": size is not a multiple of 12 bytes", select(2, inputs.xref(b)))
  end)
  it("reports unbalanced quotes", function()
    local p = U.tmpname()
    U.writefile(p, 'item_id,summary_id,summaryset_id\n1,"1,1\n')
    assert.are.equal(p .. ":2: unbalanced quotes", select(2, inputs.xref(p)))
  end)
end)

describe("inputs.summary_map", function()
  it("numbers distinct (loc_id, building_id) risks in order of appearance", function()
    local p = U.tmpname()
    U.writefile(p, "loc_id,PortNumber,item_id,building_id\n1,x,1,1\n1,\"a,b\",2,1\n2,x,3,1\n1,x,4,2\n2,x,5,1\n")
    local risks, n = inputs.summary_map(p, "item_id")
    assert.are.equal(3, n)
    assert.are.same({[1] = 1, [2] = 1, [3] = 2, [4] = 3, [5] = 2}, plain(risks))
  end)
  it("uses output_id for fm maps", function()
    local p = U.tmpname()
    U.writefile(p, "output_id,loc_id,building_id\n10,1,1\n11,2,1\n")
    local risks, n = inputs.summary_map(p, "output_id")
    assert.are.equal(2, n)
    assert.are.same({[10] = 1, [11] = 2}, plain(risks))
  end)
  it("a header-only map has no risks", function()
    local p = U.tmpname()
    U.writefile(p, "loc_id,item_id,building_id\n")
    local risks, n = inputs.summary_map(p, "item_id")
    assert.are.same({}, plain(risks))
    assert.are.equal(0, n)
  end)
  it("reads the reference maps", function()
    local d = U.conf .. "/summary/single_summary_set"
    if not inputs.isdir(d) then return pending("reference cases not found at " .. d) end
    local r, n = assert(inputs.summary_map(d .. "/gul_summary_map.csv", "item_id"))
    assert.are.equal(20, count(r))
    assert.is_true(n >= 1 and n <= 20)
  end)
  it("names the path and the problem", function()
    local p = U.tmpname()
    U.writefile(p, "loc_id,item_id\n1,1\n")
    assert.are.equal(p .. ":1: no column building_id in the header", select(2, inputs.summary_map(p, "item_id")))
    U.writefile(p, "loc_id,item_id,building_id\n1,1,1\n1,1.5,1\n")
    assert.are.equal(p .. ":3: column 2: '1.5' is not an integer", select(2, inputs.summary_map(p, "item_id")))
    assert.matches("^/nonexistent/m.csv: No such file", select(2, inputs.summary_map("/nonexistent/m.csv", "item_id")))
  end)
end)

-- A loss stream built by hand: records = {{event, item, {{sidx, loss}...}}...}
local function loss_stream(n, records)
  local p = U.tmpname()
  local w = assert(evstream.stream{path = p, source = 2, agg = 1, len_sample = n})
  for _, r in ipairs(records) do
    w:record(r[1], r[2])
    for _, pr in ipairs(r[3]) do w:pair(pr[1], pr[2]) end
    w:terminate()
  end
  assert(w:close())
  return p
end

describe("evstream.summarizer", function()
  local input = loss_stream(2, {
    {1, 1, {{-3, 10}, {-1, 2}, {1, 1}}}, {1, 2, {{-3, 5}, {-1, 1}, {2, 4}}}, {3, 2, {{-1, 0.5}, {1, 0.25}}},
  })
  local function run(spec)
    local r = assert(evstream.open(input))
    local s = assert(evstream.summarizer(spec))
    for ev in r:events() do assert(s:event(ev)) end
    r:close()
    return s
  end
  it("writes one summary stream per set, committed by close", function()
    local out = U.tmpname()
    local s = run{len_sample = 2, sets = {{id = 4, map = {[1] = 1, [2] = 1}, path = out}}}
    assert.is_true(s:close())
    assert.is_true(s:close()) -- idempotent
    local b = U.readfile(out)
    assert.are.equal(string.pack("<I4i4i4", 0x03000001, 2, 4), b:sub(1, 12))
    -- event 1: exposure 15, -5 0, -1 3, samples 1 and 2, terminator
    assert.are.equal(string.pack("<i4i4f i4f i4f i4f i4f i4f", 1, 1, 15, -5, 0, -1, 3, 1, 1, 2, 4, 0, 0), b:sub(13, 64))
  end)
  it("takes a vec as the map and writes the .idx", function()
    local out, idx = U.tmpname(), U.tmpname()
    local s = run{len_sample = 2, zeros = true, sets = {{id = 1, map = evstream.vec{2, 2}, path = out, idx_path = idx}}}
    assert(s:close())
    local i = U.readfile(idx)
    assert.are.equal(24, #i)
    assert.are.same({2, 12, 13}, {string.unpack("<i4i8", i)})
  end)
  it("adds -4, the number of affected risks, when given risks", function()
    local out = U.tmpname()
    local s = run{len_sample = 2, sets = {{id = 1, map = {[1] = 1, [2] = 1}, path = out}}, risks = {[1] = 1, [2] = 2}}
    assert(s:close())
    local b = U.readfile(out)
    assert.are.same({-4, 2.0, 41}, {string.unpack("<i4f", b, 13 + 12 + 8)})
  end)
  it("returns nil and a message for an id not in the map, and abort leaves no output", function()
    local out = U.tmpname()
    local r = assert(evstream.open(input))
    local s = assert(evstream.summarizer{len_sample = 2, sets = {{id = 1, map = {[1] = 1}, path = out}},
                                         id_name = "item_id", xref_name = "x.csv"})
    local ok, err
    for ev in r:events() do
      ok, err = s:event(ev)
      if not ok then break end
    end
    r:close()
    assert.is_nil(ok)
    assert.are.equal("item_id 2 is not in x.csv (summary set 1)", err)
    assert.is_true(s:abort())
    assert.is_nil(io.open(out))
    assert.has_error(function() s:event() end, "attempt to use a closed summarizer")
  end)
  it("raises on misuse", function()
    assert.has_error(function() evstream.summarizer{sets = {}} end)
    assert.has_error(function() evstream.summarizer{len_sample = 2, sets = {{id = 1, map = {[1] = 0}, path = "x"}}} end)
    assert.has_error(function() evstream.summarizer{len_sample = 2, sets = {{id = 1, map = {}}}} end)
  end)
  it("returns nil, msg when an output cannot be opened", function()
    local s, err = evstream.summarizer{len_sample = 2, sets = {{id = 1, map = {[1] = 1}, path = "/nonexistent/x.bin"}}}
    assert.is_nil(s)
    assert.matches("/nonexistent/x.bin", err)
  end)
end)

describe("evstream.csv_stream", function()
  it("turns CSV text into a stream", function()
    local out = U.tmpname()
    local c = assert(evstream.csv_stream{path = out, len_sample = 2})
    assert(c:feed_string("event_id,summary_id,sidx,loss\n1,3,-1,2.5\n1,3,2,1\n", "t.csv"))
    assert.are.same({source = 3, agg = 1, len_sample = 2, summary_set_id = 1, layout = 2, rows = 2}, c:info())
    assert(c:close())
    assert.are.equal(string.pack("<I4i4i4 i4i4f i4f i4f i4f", 0x03000001, 2, 1, 1, 3, 0, -1, 2.5, 2, 1, 0, 0),
                     U.readfile(out))
  end)
  it("names the input and line of a bad row; close then fails and leaves nothing", function()
    local out = U.tmpname()
    local c = assert(evstream.csv_stream{path = out, len_sample = 2})
    local ok, err = c:feed_string("event_id,summary_id,sidx,loss\n1,3,-1,2.5\n1,3\n", "t.csv")
    assert.is_nil(ok)
    assert.are.equal("t.csv:3: 2 fields, want 4 (event_id,summary_id,sidx,loss)", err)
    ok, err = c:close()
    assert.is_nil(ok)
    assert.matches("t.csv:3:", err)
    assert.is_nil(io.open(out))
  end)
end)
