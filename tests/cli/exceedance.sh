# CLI tests of the bundled example exceedance (issue 25): its table against a
# plain-Lua computation (pairs read one by one, the occurrence file unpacked
# by hand), and its one-line errors.
. "$(dirname "$0")/lib.sh"
S=$T_TMP
mkdir -p "$S/run/input"
es gen -t summary -e 300 -r 4 -S 12 -z 0.3 --seed 7 -o "$S/s.bin"
# P = 50; event e occurs (e % 3) times (0: not in the file), in periods spread by a hash
lua5.4 -e 'local t = {string.pack("<i4i4", 1, 50)}
  for e = 1, 300 do for j = 1, e % 3 do t[#t + 1] = string.pack("<i4i4i4", e, (e * 7 + j * 13) % 50 + 1, e) end end
  io.write(table.concat(t))' >"$S/run/input/occurrence.bin"
# thresholds around the median loss of the stream, so that every count is neither 0 nor all
TH="0,1000,5000.5"
es run exceedance -i "$S/s.bin" --run-dir "$S/run" --thresholds "$TH" -o "$S/got.csv"; rc=$?
is "$rc" 0 "exceedance: runs"
cat >"$S/ref.lua" <<'LUA'
-- plain Lua: per (summary, threshold, sample) the occurrences above T, then mean and sd
local evstream = require "evstream"
local stream, occpath, th = ...
local f = assert(io.open(occpath, "rb")); local raw = f:read("a"); f:close()
local _, P = string.unpack("<i4i4", raw)
local occ = {}
for pos = 9, #raw, 12 do local e = string.unpack("<i4", raw, pos); occ[e] = (occ[e] or 0) + 1 end
local T = {}
for x in th:gmatch("[^,]+") do T[#T + 1] = tonumber(x) end
local r = assert(evstream.open{stream})
local N = r:info().len_sample
local C = {}
for ev in r:events() do
  local k = occ[ev:id()] or 0
  for i = 1, ev:nrec() do
    local s = ev:rec_id(i)
    C[s] = C[s] or {}
    for j = 1, #T do
      C[s][j] = C[s][j] or {}
      for smp = 1, N do C[s][j][smp] = C[s][j][smp] or 0 end
      if k > 0 then
        for _, sidx, loss in ev:pairs(i) do
          if sidx >= 1 and sidx <= N and loss > T[j] then C[s][j][sidx] = C[s][j][sidx] + k end
        end
      end
    end
  end
end
local ids = {}
for s in pairs(C) do ids[#ids + 1] = s end
table.sort(ids)
for _, s in ipairs(ids) do
  for j = 1, #T do
    local sum, ss = 0, 0
    for smp = 1, N do sum = sum + C[s][j][smp] / P end
    local m = sum / N
    for smp = 1, N do ss = ss + (C[s][j][smp] / P - m) ^ 2 end
    print(s, T[j], m, math.sqrt(ss / (N - 1)) / math.sqrt(N))
  end
end
LUA
LUA_PATH="$ROOT/lua/?.lua;;" LUA_CPATH="$ROOT/$BUILD/?.so;;" lua5.4 "$S/ref.lua" "$S/s.bin" "$S/run/input/occurrence.bin" "$TH" >"$S/ref.txt"
# compare: same rows, values within 1e-9 (the printed %.6f of the script)
cat >"$S/cmp.lua" <<'LUA'
  local got, ref = {}, {}
  local f = io.open(arg[1]); f:read("l")
  for l in f:lines() do local a, b, c, d = l:match("^(%d+),([%d.]+),([%d.]+),([%d.]+)$"); got[#got + 1] = {a, b, c, d} end
  for l in io.lines(arg[2]) do local t = {}; for x in l:gmatch("%S+") do t[#t + 1] = tonumber(x) end; ref[#ref + 1] = t end
  if #got ~= #ref or #got == 0 then print("rows " .. #got .. " vs " .. #ref) os.exit(0) end
  local nz = 0
  for i = 1, #ref do
    local g, r = got[i], ref[i]
    if tonumber(g[1]) ~= r[1] or math.abs(tonumber(g[2]) - r[2]) > 0.005 or math.abs(tonumber(g[3]) - r[3]) > 1e-6
       or math.abs(tonumber(g[4]) - r[4]) > 1e-6 then print("row " .. i .. ": " .. table.concat(g, ",")) os.exit(0) end
    if r[3] > 0 and r[3] < 6 then nz = nz + 1 end
  end
  print("same " .. #got .. " " .. nz)
LUA
cmp_out=$(lua5.4 "$S/cmp.lua" "$S/got.csv" "$S/ref.txt")
like "$cmp_out" "^same 12 [1-9]" "exceedance: the plain-Lua computation, every (summary, threshold) ($cmp_out)"
like "$(head -1 "$S/got.csv")" "^SummaryId,Threshold,EventsPerYear,StdErr$" "exceedance: header"
# errors: one line each, exit 1
err=$(es run exceedance -i "$S/s.bin" --run-dir "$S/run" 2>&1); rc=$?
is "$rc:$err" "1:evstream: exceedance: option --thresholds is required (T,...) (see --help)" "exceedance: --thresholds is required"
err=$(es run exceedance -i "$S/s.bin" --run-dir "$S/run" -t 1e4,-5 2>&1); rc=$?
is "$rc:$err" "1:evstream: exceedance: option -t wants a number >= 0, got -5 (see --help)" "exceedance: a negative threshold"
err=$(es run exceedance -i "$S/s.bin" --run-dir "$S/nowhere" -t 1 2>&1); rc=$?
is "$rc:$(printf '%s\n' "$err" | wc -l)" "1:1" "exceedance: a missing occurrence file, one line ($err)"
done_testing
