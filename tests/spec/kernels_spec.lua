-- The kernels for the common shapes of a statistic (issue 25): thresholds
-- over records and events, comparisons and clamps of vecs, whole-event
-- figures, mean_only accumulators and per-key reductions, and the EPT rule
-- at return periods -- each against a plain-Lua computation.
local evstream = require "evstream"
local U = require "util"

local N = 6

-- Pseudo-random records (a fixed LCG, so that a failure repeats): sparse and
-- dense ones, negative losses, specials, a repeated sidx (the last wins) and
-- pairs out of order.
local function records()
  local seed = 12345
  local function rnd(k) seed = (seed * 1103515245 + 12345) % 2147483648; return seed % k end
  local recs = {}
  for e = 1, 40 do
    for id = 1, 1 + rnd(4) do
      local pairs = {{-1, rnd(500)}}
      for s = 1, N do
        if rnd(3) > 0 then pairs[#pairs + 1] = {s, evstream.f32((rnd(2000) - 100) / 4)} end
      end
      if e % 7 == 0 and #pairs > 2 then pairs[#pairs + 1] = {pairs[2][1], 1234.5} end  -- repeat: last wins
      if e % 11 == 0 and #pairs > 3 then pairs[2], pairs[3] = pairs[3], pairs[2] end   -- out of order
      if e % 5 == 0 then pairs[#pairs + 1] = {-5, 9999} end
      recs[#recs + 1] = {e, id, 1, pairs}
    end
  end
  return recs
end

-- Plain Lua: the dense samples of a record (missing 0, the last pair wins).
local function dense(rec)
  local v = {}
  for s = 1, N do v[s] = 0 end
  for _, p in ipairs(rec[4]) do if p[1] >= 1 and p[1] <= N then v[p[1]] = p[2] end end
  return v
end

local function stream()
  local recs = records()
  local p = U.tmpname()
  U.summary_stream(p, N, recs)
  local by_event, raw = {}, {}
  for _, r in ipairs(recs) do
    by_event[r[1]] = by_event[r[1]] or {}
    table.insert(by_event[r[1]], dense(r))
    raw[r[1]] = raw[r[1]] or {}
    table.insert(raw[r[1]], r[4])
  end
  return p, by_event, raw
end

local function each_event(path, f)
  local r = assert(evstream.open{path})
  for ev in r:events() do f(ev) end
  r:close()
end

describe("event kernels", function()
  it("count_above / sum_above per record and over the event's records", function()
    local path, ref = stream()
    local checked = 0
    each_event(path, function(ev)
      local recs = ref[ev:id()]
      for _, t in ipairs({-10, 0, 100.25, 300}) do
        local ec, es = 0, 0
        for i = 1, #ev do
          local c, s = 0, 0
          for _, x in ipairs(recs[i]) do if x > t then c = c + 1; s = s + x end end
          assert.are.equal(c, ev:count_above(i, t))
          assert.are.equal(s, ev:sum_above(i, t))
          ec, es = ec + c, es + s
          checked = checked + 1
        end
        assert.are.equal(ec, ev:count_above(t))
        assert.are.equal(ec, ev:count_above(nil, t))
        assert.are.equal(es, ev:sum_above(t))
      end
    end)
    assert.is_true(checked > 100)
  end)

  it("count_above into per-sample counts: thresholds x samples, weighted", function()
    local path, ref = stream()
    local th = evstream.vec{-10, 50, 200}
    local got, want = evstream.vec(3 * N), {}
    local sums, wsums = evstream.vec(3 * N), {}
    for k = 1, 3 * N do want[k], wsums[k] = 0, 0 end
    each_event(path, function(ev)
      local w = ev:id() % 3 + 1
      for i = 1, #ev do
        assert.are.equal(got, ev:count_above(i, th, got, w))
        ev:sum_above(i, th, sums, w)
        for k = 1, 3 do
          for s, x in ipairs(ref[ev:id()][i]) do
            if x > th[k] then
              want[(k - 1) * N + s] = want[(k - 1) * N + s] + w
              wsums[(k - 1) * N + s] = wsums[(k - 1) * N + s] + w * x
            end
          end
        end
      end
      ev:count_above(nil, 1e9, evstream.vec(N))  -- a number threshold, every record
    end)
    assert.are.same(want, got:totable())
    for k = 1, 3 * N do assert.is_true(math.abs(wsums[k] - sums[k]) <= 1e-9 * math.abs(wsums[k])) end
  end)

  it("dense_total, records_max, records_nonzero: what each whole-event figure means", function()
    local path, ref, raw = stream()
    each_event(path, function(ev)
      local recs = ref[ev:id()]
      local total, mx, nz = {}, 0, 0
      for s = 1, N do total[s] = 0 end
      for _, v in ipairs(recs) do
        for _, x in ipairs(v) do
          if x > mx then mx = x end
          if x > 0 then nz = nz + 1 end
        end
      end
      -- the total adds every pair of sidx s (a repeated sidx adds twice)
      for _, pairs in ipairs(raw[ev:id()]) do
        for _, p in ipairs(pairs) do if p[1] >= 1 and p[1] <= N then total[p[1]] = total[p[1]] + p[2] end end
      end
      local d = ev:dense_total()
      for s = 1, N do assert.are.equal(evstream.f32(total[s]), d[s]) end
      assert.are.same(d:totable(), ev:dense():totable())  -- the same vector, named
      assert.are.equal(mx, ev:records_max())
      assert.are.equal(nz, ev:records_nonzero())
      local tnz = 0
      for s = 1, N do if d[s] > 0 then tnz = tnz + 1 end end
      assert.are.equal(tnz, ev:nonzero())                  -- the total's, not the records'
      local out = evstream.vec(2)
      assert.are.equal(out, ev:dense_total(out))
      assert.are.equal(N, #out)
    end)
  end)

  it("misuse raises", function()
    local path = stream()
    each_event(path, function(ev)
      assert.has_error(function() ev:count_above(#ev + 1, 1) end, "bad argument #1 to 'count_above' (record index out of range)")
      assert.has_error(function() ev:count_above(1, evstream.vec{1, 2}, evstream.vec(N)) end)
      assert.has_error(function() ev:sum_above("x") end)
    end)
  end)
end)

describe("vec comparisons and clamps", function()
  local function ref(x, op, y)
    local out, c = {}, 0
    for i = 1, #x do
      local b = type(y) == "table" and y[i] or y
      local t = (op == "gt" and x[i] > b) or (op == "ge" and x[i] >= b) or (op == "lt" and x[i] < b) or
                (op == "le" and x[i] <= b)
      out[i] = t and 1 or 0
      c = c + out[i]
    end
    return out, c
  end
  it("gt ge lt le: masks in place and counts, against a number or a vec", function()
    local x = {3, -1, 2, 2, 0, 7.5}
    local y = {1, -1, 5, 2, 0.5, 7.5}
    for _, op in ipairs({"gt", "ge", "lt", "le"}) do
      for _, b in ipairs({2, y}) do
        local mask, count = ref(x, op, b)
        local bv = type(b) == "table" and evstream.vec(b) or b
        local v = evstream.vec(x)
        assert.are.equal(v, v[op](v, bv))
        assert.are.same(mask, v:totable())
        assert.are.equal(count, evstream.vec(x)["count_" .. op](evstream.vec(x), bv))
      end
    end
    assert.has_error(function() evstream.vec{1}:gt(evstream.vec{1, 2}) end, "vec: lengths differ (1 and 2)")
  end)
  it("count_above, sum_above, clamp", function()
    local v = evstream.vec{3, -1, 2, 2, 0, 7.5}
    assert.are.equal(4, v:count_above(1.5))
    assert.are.equal(10.5, v:sum_above(2))
    assert.are.same({3, 0, 2, 2, 0, 5}, v:copy():clamp(0, 5):totable())
    assert.are.same({3, -1, 2, 2, 0, 4}, v:copy():clamp(nil, 4):totable())
    assert.are.same({3, 1, 2, 2, 1, 7.5}, v:copy():clamp(1):totable())
    assert.has_error(function() v:clamp(2, 1) end, "bad argument #2 to 'clamp' (hi must be >= lo)")
  end)
  it("at_rank below 1 is an error, not the top value", function()
    local d = evstream.vec{5, 4, 3}
    assert.are.equal(5, d:at_rank(1))
    assert.has_error(function() d:at_rank(0.5) end, "bad argument #1 to 'at_rank' (rank must be >= 1)")
    assert.has_error(function() d:at_rank(0 / 0) end)
  end)
end)

-- Plain Lua: lec's unweighted EPT rule at return period R for a curve of P
-- periods over the losses x (float32), as docs/tables.md states it: rank i
-- (largest first) at return period P / i; R between two ranks interpolates
-- linearly in return period; past the last loss the curve goes on with 0.
local function ep_ref(x, P, R)
  local v = {}
  for i, l in ipairs(x) do v[i] = evstream.f32(l) end
  table.sort(v, function(a, b) return a > b end)
  local lrp, lloss = 0, 0
  for i = 1, math.floor(P) do
    local rp, loss = P / i, v[i] or 0
    if rp <= R then
      if rp == 0 or loss == 0 then return 0 end
      if rp == R then return loss end
      return (R - rp) * (lloss - loss) / (lrp - rp) + loss
    end
    lrp, lloss = rp, loss
  end
  return 0
end

describe("v:ep", function()
  it("gives the EPT rule's losses at return periods, as lec interpolates", function()
    local x = {120.5, 3, 88, 0.25, 1000, 57, 57, 9}
    local P = 20
    local rps = {20, 19, 13, 10, 7, 5, 4, 3, 2, 1}
    local got = evstream.vec(x):ep(rps, P)
    for k, R in ipairs(rps) do
      local want = ep_ref(x, P, R)
      assert.is_true(math.abs(got[k] - want) <= 1e-9 * math.max(1, math.abs(want)),
                     ("rp %d: got %.17g, want %.17g"):format(R, got[k], want))
    end
    -- any order, a number, a vec
    assert.are.equal(got[3], evstream.vec(x):ep(13, P))
    assert.are.same({got[4], got[1]}, evstream.vec(x):ep(evstream.vec{10, 20}, P):totable())
  end)
  it("matches lec's EPT rows (the same C code)", function()
    -- one summary, P periods, N = 1: the full-uncertainty AEP of lec through
    -- evstream.ep_curves, and v:ep of the same period losses
    local P, losses = 12, {5, 0, 17.5, 2, 40, 0, 0, 3.25, 11, 0, 0, 6}
    local acc = evstream.accumulator{len_sample = 1, op = "sum", groups = evstream.groups{}}
    local v = evstream.vec(0)
    for p, l in ipairs(losses) do
      if l > 0 then acc:add_value(1, p, 1, l); v:resize(#v + 1); v[#v] = l end
    end
    local rps = {12, 10, 6, 5, 4, 3, 2, 1}
    local out = U.tmpname() .. ".csv"
    local t = assert(evstream.table{path = out, columns = {{"SummaryId", "%d"}, {"EPCalc", "%d"},
      {"EPType", "%d"}, {"ReturnPeriod", "%.6f"}, {"Loss", "%.6f"}}})
    evstream.ep_curves{acc = acc, calc = "full", type = "aep", ept = t, periods = P, returnperiods = rps}
    assert(t:close())
    local got = v:ep(rps, P)
    local k = 0
    for line in io.lines(out) do
      local rp, loss = line:match("^1,2,3,([%d.]+),([%d.]+)$")
      if rp then
        k = k + 1
        assert.are.equal(tonumber(rp), rps[k])
        assert.are.equal(evstream.format(got[k], 6), loss)
      end
    end
    assert.are.equal(#rps, k)
  end)
  it("errors out of range instead of clamping", function()
    local v = evstream.vec{3, 2, 1}
    assert.has_error(function() v:ep(11, 10) end,
                     "bad argument #1 to 'ep' (return period 11.0 is not an integer in 1..10.0 (the curve's periods))")
    assert.has_error(function() v:ep({0}, 10) end)
    assert.has_error(function() v:ep(2.5, 10) end)
    assert.has_error(function() v:ep(1, 2) end, "bad argument #2 to 'ep' (more losses than periods)")
  end)
end)

describe("mean_only accumulators and per-key reductions", function()
  local function fixture()
    local s = U.tmpname()
    U.summary_stream(s, 3, {
      {1, 1, 5, {{-1, 3}, {1, 1}, {2, 2}, {3, 6}}},
      {1, 2, 5, {{-1, 2}, {1, 7}}},
      {2, 1, 5, {{-1, 1}, {2, 4}}},
      {3, 1, 5, {{1, 9}}},
    })
    return s, evstream.groups{[1] = {1, 2}, [2] = 2, [3] = 1}
  end
  it("keeps slot 0 only: the sidx -1 means, in a key of 1/(N+1) the size", function()
    local s, g = fixture()
    local full = evstream.accumulator{len_sample = 3, op = "sum", f64 = true, groups = g}
    local mean = evstream.accumulator{len_sample = 3, op = "sum", f64 = true, groups = g, mean_only = true}
    each_event(s, function(ev) full:add(ev); mean:add(ev) end)
    assert.is_true(mean:options().mean_only)
    assert.are.equal(3, mean:options().len_sample)
    local _, kb_full = full:bytes()
    local _, kb_mean = mean:bytes()
    assert.is_true(kb_mean < kb_full)
    -- keys that received a mean: (1,1) (1,2) (2,1) (2,2); event 3 has no sidx -1
    local ks, gs = mean:keys()
    assert.are.same({1, 1, 2, 2}, ks:totable())
    assert.are.same({1, 2, 1, 2}, gs:totable())
    assert.are.same({3, 4, 2}, {mean:reduce("sum")[1], mean:reduce("sum")[2], mean:reduce("sum")[3]})
    assert.are.same({0, 0}, {#mean:values(1), #mean:values(2, "samples")})
    assert.are.same({3, 4}, mean:values(1, "mean"):totable())
    local v = mean:slots(1, 2)
    assert.are.same({4}, v:totable())
    assert.has_error(function() mean:add_value(1, 1, 1, 5) end)
    -- states keep the kind, and only merge with their kind
    local p = U.tmpname()
    assert(mean:save(p, "m"))
    local back = assert(evstream.load_accumulator(p))
    assert.is_true(back:options().mean_only)
    assert.are.same(mean:reduce("sum"):totable(), back:reduce("sum"):totable())
    assert.has_error(function() full:merge(mean) end)
    -- a runtime failure of ep_curves is nil, msg (one line, as its write errors)
    local ok, msg = evstream.ep_curves{acc = mean, calc = "full", type = "aep", periods = 2}
    assert.is_nil(ok)
    assert.are.equal("ep curves: a mean_only accumulator holds no samples: only the mean curve (meandr)", msg)
  end)
  it("reduce_id: mean over samples, sum, max of one id's keys without a vec per key", function()
    local s, g = fixture()
    local acc = evstream.accumulator{len_sample = 3, op = "sum", f64 = true, groups = g}
    each_event(s, function(ev) acc:add(ev) end)
    for id in acc:summaries() do
      local vals = acc:values(id)                -- plain reference: the samples, group after group
      local ngroups = #vals // 3
      for _, op in ipairs({"mean", "sum", "max"}) do
        local got = acc:reduce_id(id, op)
        assert.are.equal(ngroups, #got)
        for k = 1, ngroups do
          local sum, mx = 0, 0
          for j = 1, 3 do
            local x = vals[(k - 1) * 3 + j]
            sum = sum + x
            if j == 1 or x > mx then mx = x end
          end
          local want = op == "mean" and sum / 3 or op == "sum" and sum or mx
          assert.are.equal(want, got[k])
        end
      end
    end
    assert.are.same({3, 4}, acc:reduce_id(1, "sum", 0, 0):totable())   -- the sidx -1 slot
    assert.are.equal(0, #acc:reduce_id(99, "mean"))
    local out = evstream.vec(7)
    assert.are.equal(out, acc:reduce_id(2, "max", nil, nil, out))
    assert.are.equal(2, #out)
  end)
end)

describe("evstream.gen", function()
  it("writes the stream of `evstream gen`, partitions too; misuse raises", function()
    local p1, p2, all = U.tmpname(), U.tmpname(), U.tmpname()
    assert.is_true(evstream.gen{path = all, type = "gul", events = 20, records = 3, samples = 4, seed = 9})
    assert(evstream.gen{path = p1, type = "gul", events = 20, records = 3, samples = 4, seed = 9, partition = {1, 2}})
    assert(evstream.gen{path = p2, type = "gul", events = 20, records = 3, samples = 4, seed = 9, partition = {2, 2}})
    local function events(paths)
      local r, ids = assert(evstream.open(paths)), {}
      for ev in r:events() do ids[#ids + 1] = ev:id() .. ":" .. ev:nrec() .. ":" .. ev:npairs() end
      r:close()
      table.sort(ids)
      return ids
    end
    assert.are.same(events{all}, events{p1, p2})
    assert.are.equal(20, #events{all})
    assert.has_error(function() evstream.gen{path = all, type = "cdf"} end)
    assert.has_error(function() evstream.gen{path = all, partition = {3, 2}} end)
    assert.has_error(function() evstream.gen{events = 1} end)
    local ok, msg = evstream.gen{path = "/nonexistent/dir/x.bin"}
    assert.is_nil(ok)
    assert.matches("/nonexistent/dir/x.bin", msg)
  end)
end)
