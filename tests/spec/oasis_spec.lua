-- The Oasis stage's pieces: evstream.join_summary_info (join-summary-info's
-- rules, byte for byte) and the plan of evstream.oasis (genbash's names).
local evstream = require "evstream"
local oasis = require "evstream.oasis"
local util = require "util"

-- join-summary-info as OasisLMF writes it (pytools/join_summary_info), in
-- plain Lua: the reference the C join is held against.
local function reference_join(info, data)
  local function split(line)
    local t = {}
    for f in (line .. ","):gmatch("([^,]*),") do t[#t + 1] = f end
    return t
  end
  local function strip(s) return (s:gsub("^%s+", ""):gsub("%s+$", "")) end
  local lines = {}
  for l in info:gmatch("[^\n]+") do lines[#lines + 1] = l end
  local headers = split(strip(lines[1]))
  local k
  for i, h in ipairs(headers) do if h == "summary_id" then k = i end end
  table.remove(headers, k)
  local by_id, max_id = {}, 0
  for i = 2, #lines do
    local row = split(strip(lines[i]))
    local id = tonumber(row[k])
    table.remove(row, k)
    by_id[id] = table.concat(row, ",")
    if id > max_id then max_id = id end
  end
  local out, first = {}, true
  local sid
  for l in data:gmatch("[^\n]+") do
    l = strip(l)
    if first then
      local h = split(l)
      for i, x in ipairs(h) do if x == "SummaryId" then sid = i end end
      for _, x in ipairs(headers) do h[#h + 1] = x end
      out[#out + 1] = table.concat(h, ",")
      first = false
    else
      local id = tonumber(split(l)[sid])
      if id > max_id then out[#out + 1] = l .. (","):rep(#headers)
      else out[#out + 1] = l .. "," .. (by_id[id] or (","):rep(#headers - 1)) end
    end
  end
  return table.concat(out, "\n") .. "\n"
end

describe("join_summary_info", function()
  local function join(info, data)
    local ip, dp, op = util.tmpname(), util.tmpname(), util.tmpname()
    util.writefile(ip, info)
    util.writefile(dp, data)
    local ok, err = evstream.join_summary_info{info = ip, data = dp, path = op}
    if not ok then return nil, err end
    return util.readfile(op)
  end

  it("appends the info columns by SummaryId, as the reference does (ids missing, above the largest, summary_id not first)", function()
    local info = "LocNumber,summary_id,Peril\nL1,1,WTC\nL3,3,WSS\nL5,5,WTC\n"
    local data = "EventId,SummaryId,Loss\n1,1,2.5\n1,2,3\n2,5,1\n3,7,9\n4,3,0.1\n"
    local got = assert(join(info, data))
    assert.are.equal(reference_join(info, data), got)
    assert.are.equal("EventId,SummaryId,Loss,LocNumber,Peril\n1,1,2.5,L1,WTC\n1,2,3,,\n2,5,1,L5,WTC\n3,7,9,,\n4,3,0.1,L3,WSS\n", got)
  end)

  it("strips white space and carriage returns as Python's strip() does; a later row of one id wins", function()
    local info = "summary_id,A\r\n1,x\r\n1,y\r\n"
    local data = "SummaryId,V\r\n1,0.5\r\n  2,1\n"
    local got = assert(join(info, data))
    assert.are.equal(reference_join(info, data), got)
    assert.are.equal("SummaryId,V,A\n1,0.5,y\n2,1,\n", got)
  end)

  it("matches the plain-Lua reference on random tables", function()
    math.randomseed(7)
    for _ = 1, 30 do
      local cols = math.random(1, 4)
      local k = math.random(1, cols + 1)
      local h = {}
      for c = 1, cols + 1 do h[c] = c == k and "summary_id" or ("c" .. c) end
      local info = {table.concat(h, ",")}
      for id = 1, math.random(1, 8) do
        if id == 1 or math.random() < 0.7 then
          local r = {}
          for c = 1, cols + 1 do r[c] = c == k and tostring(id) or tostring(math.random(100)) end
          info[#info + 1] = table.concat(r, ",")
        end
      end
      local data = {"EventId,SummaryId,Loss"}
      for e = 1, 20 do data[#data + 1] = ("%d,%d,%.2f"):format(e, math.random(1, 12), math.random() * 100) end
      local i_s, d_s = table.concat(info, "\n") .. "\n", table.concat(data, "\n") .. "\n"
      assert.are.equal(reference_join(i_s, d_s), assert(join(i_s, d_s)))
    end
  end)

  it("fails in one line naming the file: no SummaryId, no summary_id, a bad id, a missing file", function()
    local ok, err = join("summary_id,A\n1,x\n", "EventId,Loss\n1,2\n")
    assert.is_nil(ok)
    assert.matches("line 1: no SummaryId column$", err)
    ok, err = join("id,A\n1,x\n", "SummaryId,V\n1,2\n")
    assert.matches("line 1: no summary_id column$", err)
    ok, err = join("summary_id,A\n1,x\n", "SummaryId,V\nx,2\n")
    assert.matches("line 2: SummaryId is not a summary id$", err)
    ok, err = evstream.join_summary_info{info = "/nonexistent/info.csv", data = "/dev/null", path = util.tmpname()}
    assert.is_nil(ok)
    assert.matches("^/nonexistent/info.csv: No such file or directory$", err)
  end)
end)

describe("evstream.oasis plan", function()
  local settings = {
    gul_output = true, gul_summaries = {{id = 1, ord_output = {elt_sample = true, alt_meanonly = true}}},
    ri_output = true, ri_summaries = {{id = 2, ord_output = {plt_moment = true, psept_oep = true, return_period_file = true}}},
    rl_output = true, rl_summaries = {{id = 1, ord_output = {elt_moment = true}}},
    ri_inuring_priorities = {1, 3},
  }

  it("names the outputs as genbash: rl per iteration, ri per intermediate priority and the final one", function()
    local plan = assert(oasis.plan(settings, {processes = 2, ri_iterations = 2, kat_sorted = true}))
    local files = {}
    for _, o in ipairs(plan.outputs) do files[#files + 1] = o.file end
    assert.are.same({"output/rl_IP1_S1_melt.csv", "output/rl_IP2_S1_melt.csv", "output/ri_IP1_S2_mplt.csv",
      "output/ri_S2_mplt.csv", "output/gul_S1_selt.csv", "output/ri_IP1_S2_psept.csv", "output/ri_S2_psept.csv",
      "output/gul_S1_altmeanonly.csv"}, files)
    -- priority 3 is not below the 2 iterations: no ri_IP3 (as genbash)
    assert.are.equal("outputs", plan.partitions[2].jobs[1].args[1])
    assert.are.same({"outputs", "-t", "ri", "-p", "input/RI_1", "-1", "elt -E bin -m work/kat/rl_IP1_S1_elt_moment_P2"},
      plan.partitions[2].jobs[1].args)
  end)

  it("leaves out ri and rl without reinsurance iterations, and refuses settings with no output", function()
    local plan = assert(oasis.plan(settings, {processes = 1, ri_iterations = 0, kat_sorted = false}))
    assert.are.equal(1, #plan.instances)
    assert.matches("^katpy %-u %-s ", plan.outputs[1].genbash)
    local none, err = oasis.plan({gul_output = false, gul_summaries = {{id = 1}}}, {processes = 1})
    assert.is_nil(none)
    assert.matches("no valid output settings", err)
  end)

  it("reads settings: wrong types are one line naming them, unknown keys are ignored", function()
    local p = util.tmpname()
    util.writefile(p, '{"gul_output": true, "something_else": [1, 2], "gul_summaries": [{"id": 1, "ord_output": {"alct_confidence": "high"}}]}')
    local s, err = oasis.read_settings(p)
    assert.is_nil(s)
    assert.are.equal(p .. ": gul_summaries[0]: ord_output.alct_confidence: string, not a number", err)
    util.writefile(p, '{"gul_output": true, "something_else": [1, 2], "gul_summaries": [{"id": 2.0, "ord_output": {"alct_confidence": 0.9}}]}')
    s = assert(oasis.read_settings(p))
    assert.are.equal(2, s.gul_summaries[1].id)
    assert.are.equal("integer", math.type(s.gul_summaries[1].id))
  end)
end)
