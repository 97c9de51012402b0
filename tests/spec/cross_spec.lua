-- The cross-event API as a script sees it: occurrence and groups objects,
-- the C loaders, accumulators and the vec kernels.
local evstream = require "evstream"
local inputs = require "evstream.inputs"
local U = require "util"

local function occfile(opts, P, rows, granular)
  local p = U.tmpname() .. ".bin"
  local t = {string.pack("<i4i4", opts, P)}
  for _, r in ipairs(rows) do t[#t + 1] = string.pack(granular and "<i4i4i8" or "<i4i4i4", r[1], r[2], r[3]) end
  U.writefile(p, table.concat(t))
  return p
end

-- N = 2: event 1 -> periods 1, 3; event 2 -> 3; event 3 -> 1 twice; event 4 none
local function fixture()
  local occ = occfile(1, 4, {{1, 1, 10}, {2, 3, 11}, {1, 3, 12}, {3, 1, 13}, {3, 1, 14}})
  local s = U.tmpname()
  U.summary_stream(s, 2, {
    {1, 1, 5, {{-1, 3}, {1, 1}, {2, 2}}},
    {1, 2, 5, {{1, 7}}},
    {2, 1, 5, {{-1, 1}, {2, 4}, {-5, 99}}},
    {3, 2, 5, {{1, 0.5}, {2, 0.25}}},
    {4, 1, 5, {{1, 1000}}},
  })
  return assert(evstream.occurrence(occ)), s
end

local function run(acc, stream)
  local r = assert(evstream.open{stream})
  for ev in r:events() do acc:add(ev) end
  r:close()
end

describe("evstream.occurrence", function()
  it("gives P, the layout and each event's occurrences in file order", function()
    local o = fixture()
    assert.are.equal(4, o:periods())
    assert.is_false(o:granular())
    assert.is_true(o:date_algorithm())
    assert.are.equal(5, o:rows())
    local p, d = o:event(1)
    assert.are.same({1, 3}, p)
    assert.are.same({10, 12}, d)
    assert.are.same({1, 1}, (o:event(3)))
    assert.are.same({}, (o:event(4)))
    assert.are.equal(2, o:count(3))
    assert.are.same({1, 3}, o:of(1))
    assert.matches("^%x+$", o:fingerprint())
    assert.are.equal(16, #o:fingerprint())
  end)
  it("decodes dates, granular ones too", function()
    local o = assert(evstream.occurrence(occfile(3, 2, {{1, 2, 441472}}, true)))
    assert.is_true(o:granular())
    local _, d = o:event(1)
    assert.are.same({1, 1, 1, 13, 52}, {o:date(d[1])})
    assert.are.same({1, 1, 1, 0, 0}, {evstream.date(306)})
  end)
  it("reads the CSV form and the reference files alike", function()
    local b = U.conf .. "/lec/lec/input/occurrence.bin"
    if not inputs.exists(b) then return pending("reference cases not found") end
    local x = assert(evstream.occurrence(b))
    local y = assert(evstream.occurrence(U.conf .. "/lec/lec/input/occurrence.csv"))
    for e = 1, 2000, 37 do assert.are.same({x:event(e)}, {y:event(e)}) end
    assert.are.equal(x:periods(), y:periods())
  end)
  it("returns nil and a one-line message for a malformed file", function()
    local p = occfile(2, 4, {})
    local o, msg = evstream.occurrence(p)
    assert.is_nil(o)
    assert.are.equal(p .. ": byte 0: date_opts 2: granular dates without the date algorithm", msg)
    U.writefile(p, string.pack("<i4i4", 1, 4) .. "abcd")
    o, msg = evstream.occurrence(p)
    assert.is_nil(o)
    assert.matches("byte 8: 4 trailing bytes", msg)
  end)
end)

describe("evstream.groups", function()
  it("maps events to group lists (numbers or lists)", function()
    local g = evstream.groups{[10] = {2, 1, 2}, [20] = 5, [2000000000] = {7}}
    assert.are.same({2, 1, 2}, g:of(10))
    assert.are.same({5}, g:of(20))
    assert.are.same({7}, g:of(2000000000))
    assert.are.same({}, g:of(30))
    assert.are.equal(7, g:max())
    assert.are.equal(5, g:rows())
  end)
  it("rejects bad group ids", function()
    assert.has_error(function() evstream.groups{[1] = {0}} end)
    assert.has_error(function() evstream.groups{[1] = "x"} end)
    assert.has_error(function() evstream.groups{x = 1} end)
  end)
end)

describe("C loaders", function()
  it("periods, return periods, quantiles, event rates", function()
    local p = U.tmpname() .. ".bin"
    U.writefile(p, string.pack("<i4d<i4d", 2, 0.75, 1, 0.25))
    assert.are.same({0.25, 0.75}, evstream.periods(p, 2):totable())
    local v, msg = evstream.periods(p, 3)
    assert.is_nil(v)
    assert.matches("period_no 3 is missing", msg)
    U.writefile(p, string.pack("<i4i4", 100, 10))
    assert.are.same({100, 10}, evstream.returnperiods(p))
    U.writefile(p, string.pack("<i4i4", 10, 100))
    v, msg = evstream.returnperiods(p)
    assert.is_nil(v)
    assert.are.equal(p .. ": byte 4: return period 100 after 10 (they must be strictly decreasing)", msg)
    U.writefile(p, string.pack("<ff", 0.5, 0.25))
    assert.are.same({0.5, 0.25}, evstream.quantiles(p):totable())
    assert.are.same({0.5, 0.25}, inputs.quantiles(p):totable())
    local c = U.tmpname() .. ".csv"
    U.writefile(c, "EventIds,Event_rates\n3,0.5\n1,0.25\n")
    assert.are.same({[1] = 0.25, [3] = 0.5}, evstream.event_rates(c))
    assert.are.same({[1] = 0.25, [3] = 0.5}, inputs.event_rates(c))
    U.writefile(c, "EventIds,Event_rates\n3,x\n")
    v, msg = evstream.event_rates(c)
    assert.is_nil(v)
    assert.are.equal(c .. ":2: cannot parse '3,x': not a number", msg)
  end)
end)

describe("evstream.accumulator", function()
  it("sums records into (summary, period) keys, one call per event", function()
    local occ, s = fixture()
    local acc = evstream.accumulator{len_sample = 2, op = "sum", f64 = true, groups = occ}
    run(acc, s)
    -- keys: (1,1) ev1; (1,3) ev1 + ev2; (2,1) ev1 + 2 x ev3; (2,3) ev1
    assert.are.equal(4, acc:nkeys())
    local got = {}
    for id, g, v, mean in acc:each() do got[#got + 1] = {id, g, mean, v:totable()} end
    assert.are.same({{1, 1, 3, {1, 2}}, {1, 3, 4, {1, 6}}, {2, 1, 0, {8, 0.5}}, {2, 3, 0, {7, 0}}}, got)
    local ids = {}
    for id in acc:summaries() do ids[#ids + 1] = id end
    assert.are.same({1, 2}, ids)
    assert.are.same({1, 2, 1, 6}, acc:values(1):totable())
    assert.are.same({3, 4}, acc:values(1, "mean"):totable())
    assert.are.same({0, 8, 0.5, 0, 7, 0}, acc:values(2, "all"):totable())
    local ks, gs = acc:keys()
    assert.are.same({1, 1, 2, 2}, ks:totable())
    assert.are.same({1, 3, 1, 3}, gs:totable())
    assert.are.same({1.5, 3.5, 4.25, 3.5}, acc:reduce("mean"):totable())
    assert.are.same({3, 7, 8.5, 7}, acc:reduce("sum"):totable())
    assert.are.same({3, 4, 0, 0}, acc:reduce("sum", 0, 0):totable())
    assert.are.same({2, 2, 2, 1}, acc:reduce("count"):totable())
    assert.are.same({2, 6, 8, 7}, acc:reduce("max"):totable())
    local v, bits = acc:slots(2, 1)
    assert.are.same({0, 8, 0.5}, v:totable())
    assert.are.equal(6, bits:byte(1))
    assert.is_nil(acc:slots(3, 1))
    assert.is_true(acc:present(1, 3, 0))
    assert.is_false(acc:present(2, 3, 2))
    local n = 0
    for id, g in acc:each(2) do n = n + 1; assert.are.equal(2, id) end
    assert.are.equal(2, n)
  end)
  it("max and float32 slots", function()
    local occ, s = fixture()
    local acc = evstream.accumulator{len_sample = 2, op = "max", groups = occ}
    run(acc, s)
    assert.are.same({7, 0.25, 7, 0}, acc:values(2):totable())
    assert.are.same({len_sample = 2, op = "max", f64 = false, positive_only = false, touch = false, mean_only = false,
      budget = acc:options().budget}, acc:options())
    local a32 = evstream.accumulator{len_sample = 1}
    local a64 = evstream.accumulator{len_sample = 1, f64 = true}
    for _, a in ipairs{a32, a64} do
      a:add_value(1, 1, 1, 16777216)
      a:add_value(1, 1, 1, 1)
    end
    assert.are.equal(16777216, a32:values(1)[1])
    assert.are.equal(16777217, a64:values(1)[1])
  end)
  it("groups given to add, or built by the script", function()
    local _, s = fixture()
    local acc = evstream.accumulator{len_sample = 2, op = "sum"}
    local g = evstream.groups{[1] = {9}, [2] = {9}}
    local r = assert(evstream.open{s})
    local nogroups = evstream.accumulator{len_sample = 2}
    for ev in r:events() do
      acc:add(ev, g)
      assert.has_error(function() nogroups:add(ev) end)
    end
    local ks, gs = acc:keys()
    assert.are.same({1, 2}, ks:totable())
    assert.are.same({9, 9}, gs:totable())
    assert.are.same({1, 6}, acc:values(1):totable())
  end)
  it("merges, saves and loads", function()
    local occ, s = fixture()
    local a = evstream.accumulator{len_sample = 2, f64 = true, groups = occ}
    run(a, s)
    local path = U.tmpname()
    assert.is_true(a:save(path, "my meta"))
    local b, meta = evstream.load_accumulator(path)
    assert.are.equal("my meta", meta)
    assert.are.same(a:values(2, "all"):totable(), b:values(2, "all"):totable())
    b:merge(a)
    assert.are.same({16, 1, 14, 0}, b:values(2):totable())
    U.writefile(path, U.readfile(path):sub(1, 40))
    local c, msg = evstream.load_accumulator(path)
    assert.is_nil(c)
    assert.matches("byte 40: .*truncated", msg)
    local m = evstream.accumulator{len_sample = 2, op = "max"}
    assert.has_error(function() m:merge(a) end)
    a:free()
    assert.has_error(function() a:nkeys() end)
  end)
  it("merges a saved state from its file (checked first), and reads a state's meta", function()
    local occ, s = fixture()
    local a = evstream.accumulator{len_sample = 2, f64 = true, groups = occ}
    run(a, s)
    local path = U.tmpname()
    assert.is_true(a:save(path, "kind=x"))
    local meta, o = evstream.accumulator_meta(path)
    assert.are.equal("kind=x", meta)
    assert.are.same({2, "sum", true, false, false}, {o.len_sample, o.op, o.f64, o.positive_only, o.touch})
    local b = evstream.accumulator{len_sample = 2, f64 = true}
    local same, m = b:merge_file(path)
    assert.are.equal(b, same)
    assert.are.equal("kind=x", m)
    assert.are.same(a:values(2, "all"):totable(), b:values(2, "all"):totable())
    local seen
    assert.truthy(b:merge_file(path, function(mt) seen = mt; return true end))
    assert.are.equal("kind=x", seen)
    assert.are.same({16, 1, 14, 0}, b:values(2):totable())
    -- a check that says no, a check that raises, a corrupted file: nothing merged
    local ok, msg = b:merge_file(path, function() return false, "not mine" end)
    assert.is_nil(ok)
    assert.are.equal("not mine", msg)
    assert.has_error(function() b:merge_file(path, function() error("boom", 0) end) end, "boom")
    local bytes = U.readfile(path)
    local pos = #bytes - 9
    U.writefile(path, bytes:sub(1, pos - 1) .. string.char(bytes:byte(pos) ~ 1) .. bytes:sub(pos + 1))
    ok, msg = b:merge_file(path)
    assert.is_nil(ok)
    assert.matches("checksum mismatch", msg)
    assert.are.same({16, 1, 14, 0}, b:values(2):totable())
    local f32 = evstream.accumulator{len_sample = 2}
    U.writefile(path, bytes)
    ok, msg = f32:merge_file(path)
    assert.is_nil(ok)
    assert.matches("different options", msg)
    assert.is_nil((evstream.accumulator_meta(path .. ".none")))
  end)
  it("touch = true: every record makes its keys, even one that adds no value", function()
    local occ = fixture()
    local s = U.tmpname()
    U.summary_stream(s, 2, {
      {1, 1, 5, {{-5, 99}, {-4, 1}}},      -- only sidx -5 and -4
      {1, 2, 5, {}},                        -- no pairs at all
      {2, 3, 5, {{1, 0}, {2, 0}}},          -- zero losses (positive_only drops them)
    })
    local counts = {}
    for _, touch in ipairs{false, true} do
      for _, pos in ipairs{false, true} do
        local acc = evstream.accumulator{len_sample = 2, touch = touch, positive_only = pos, groups = occ}
        run(acc, s)
        counts[#counts + 1] = acc:nkeys()
        if touch then
          assert.is_true(acc:options().touch)
          local ks, gs = acc:keys()
          -- event 1 occurs in periods 1 and 3: summaries 1 and 2; event 2 in period 3: summary 3
          assert.are.same({1, 1, 2, 2, 3}, ks:totable())
          assert.are.same({1, 3, 1, 3, 3}, gs:totable())
          assert.are.same({0, 0, 0, 0, pos and 0 or 2}, acc:reduce("count"):totable())
          assert.are.same({0, 0, 0, 0, 0}, acc:reduce("sum", 0, 2):totable())
        end
      end
    end
    assert.are.same({1, 0, 5, 5}, counts)
  end)
  it("stops at the budget with a message naming the bytes and how to raise it", function()
    local acc = evstream.accumulator{len_sample = 1000, f64 = true, budget = "6M"}
    local ok, err = pcall(function() for g = 1, 100000 do acc:add_value(1, g, 1, 1) end end)
    assert.is_false(ok)
    assert.matches("over the memory budget of 6291456 bytes", err)
    assert.matches("EVSTREAM_MEMORY", err)
    assert.has_error(function() evstream.accumulator{len_sample = 1, budget = "lots"} end)
    assert.has_error(function() evstream.accumulator{len_sample = 1, op = "min"} end)
  end)
  it("rejects events of another sample count or stream type", function()
    local occ, s = fixture()
    local acc = evstream.accumulator{len_sample = 3, groups = occ}
    local r = assert(evstream.open{s})
    local ev = r:next()
    assert.has_error(function() acc:add(ev) end, "accumulator: event 1 has 2 samples, the accumulator 3")
  end)
end)

describe("vec kernels", function()
  it("element-wise", function()
    local v = evstream.vec{1, 2, 3}
    assert.are.same({2, 4, 6}, v:add(evstream.vec{1, 2, 3}):totable())
    assert.are.same({3, 5, 7}, v:add(1):totable())
    assert.are.same({4, 5, 7}, v:max(evstream.vec{4, 0, 0}):totable())
    assert.are.same({5, 5, 7}, v:max(5):totable())
    assert.are.same({10, 10, 14}, v:scale(2):totable())
    assert.are.same({11, 12, 17}, v:axpy(1, evstream.vec{1, 2, 3}):totable())
    assert.has_error(function() v:add(evstream.vec{1}) end)
  end)
  it("reductions, sorts, quantiles, ranks, blocks", function()
    local v = evstream.vec{3, 1, 4, 1, 5}
    assert.are.equal(52, v:sumsq())
    assert.are.equal(2.8, v:mean())
    assert.are.equal(evstream.vec{1, 2}:dot(evstream.vec{3, 4}), 11)
    assert.is_true(math.abs(v:sd() - math.sqrt(3.2)) < 1e-12)
    assert.are.same({5, 4, 3, 1, 1}, v:copy():sort_desc():totable())
    assert.are.same({1, 1, 3, 4, 5}, v:copy():sort_asc():totable())
    assert.are.same({4, 1}, v:copy(3, 4):totable())
    local d = v:copy():sort_desc()
    assert.are.equal(4, d:at_rank(2))
    assert.are.equal(3.5, d:at_rank(2.5))
    assert.are.equal(0, d:at_rank(7))
    assert.are.same({1, 3, 5}, v:copy():quantiles(evstream.vec{0, 0.5, 1}):totable())
    assert.are.equal(4.6, v:copy():quantiles(0.9))
    local m, c = evstream.vec{5, 1, 4, 1, 3}:tail_mean(3)   -- sorts, then 5, 4, 3
    assert.are.equal(4, m)
    assert.are.equal(3, c)
    local none, zero = v:copy():tail_mean(6)
    assert.is_true(none ~= none)
    assert.are.equal(0, zero)
    assert.are.same({4, 5, 5}, v:block_sums(2):totable())
    local big = evstream.vec(10000)
    for i = 1, 10000 do big[i] = (i * 7919) % 10007 end
    local top = big:copy():sort_desc(10)
    local full = big:copy():sort_desc()
    for i = 1, 10 do assert.are.equal(full[i], top[i]) end
  end)
end)
