# CLI tests of `evstream gen --run-dir` (issue 25): a consistent synthetic
# run directory, deterministic by seed, that `evstream run oasis` runs on.
. "$(dirname "$0")/lib.sh"
S=$T_TMP
export LUA_PATH="$ROOT/lua/?.lua;;" LUA_CPATH="$ROOT/$BUILD/?.so;;"
es gen --run-dir "$S/a" -e 400 -r 6 -S 8 -n 2 -P 40 --seed 5; rc=$?
is "$rc" 0 "gen --run-dir: runs"
want="analysis_settings.json input/event_rates.csv input/events.bin input/gul_summary_map.csv input/gulsummaryxref.csv input/occurrence.bin input/periods.bin input/quantile.bin input/returnperiods.bin streams/gul_P1.bin streams/gul_P2.bin"
is "$(cd "$S/a" && find . -type f | sed 's|^\./||' | sort | tr '\n' ' ' | sed 's/ $//')" "$want" "gen --run-dir: the files, named as Oasis names them"
[ -d "$S/a/output" ]; ok $? "gen --run-dir: an empty output/"
es gen --run-dir "$S/b" -e 400 -r 6 -S 8 -n 2 -P 40 --seed 5
diff -r "$S/a" "$S/b" >/dev/null; ok $? "gen --run-dir: the same seed gives the same bytes"
es gen --run-dir "$S/c" -e 400 -r 6 -S 8 -n 2 -P 40 --seed 6
! cmp -s "$S/a/input/occurrence.bin" "$S/c/input/occurrence.bin" && ! cmp -s "$S/a/streams/gul_P1.bin" "$S/c/streams/gul_P1.bin"
ok $? "gen --run-dir: another seed, other occurrences and losses"
# the two processes are the event partitions of the unpartitioned stream
es gen -t gul -e 400 -r 6 -S 8 --seed 5 -o "$S/whole.bin"
is "$(es run tocsv -i "$S/a/streams/gul_P1.bin" "$S/a/streams/gul_P2.bin" | tail -n +2 | sort | md5sum)" \
   "$(es run tocsv -i "$S/whole.bin" | tail -n +2 | sort | md5sum)" "gen --run-dir: processes partition the events"
# the input files, checked in plain Lua against each other
cat >"$S/check.lua" <<'LUA'
local evstream = require "evstream"
local run, P, granular = arg[1], tonumber(arg[2]), arg[3] == "1"
local function slurp(p) local f = assert(io.open(p, "rb")); local s = f:read("a"); f:close(); return s end
local raw = slurp(run .. "/input/occurrence.bin")
local opts, np = string.unpack("<i4i4", raw)
assert(opts == (granular and 3 or 1) and np == P, "header " .. opts .. " " .. np)
local count, last = {}, {0, 0}
local rowfmt = granular and "<i4i4i8" or "<i4i4i4"
local pos = 9
while pos <= #raw do
  local e, p, d
  e, p, d, pos = string.unpack(rowfmt, raw, pos)
  assert(p >= 1 and p <= P, "period")
  assert(p > last[1] or (p == last[1] and d >= last[2]), "rows sorted by period and date")
  last = {p, d}
  local y, m, day, h, mi = evstream.date(d, granular)
  assert(y == p and m >= 1 and m <= 12 and day >= 1 and day <= 28, ("date %d of period %d: %d-%d-%d"):format(d, p, y, m, day))
  if granular then assert(h >= 0 and h <= 23 and mi >= 0 and mi <= 59) end
  count[e] = (count[e] or 0) + 1
end
local occ = assert(evstream.occurrence(run .. "/input/occurrence.bin"))
assert(occ:periods() == P)
local rates = assert(evstream.event_rates(run .. "/input/event_rates.csv"))
local n, total = 0, 0
for e, r in pairs(rates) do
  n = n + 1
  assert(math.abs(r - (count[e] or 0) / P) <= 1e-6 * r, "rate of event " .. e)
  assert(occ:count(e) == (count[e] or 0))
  total = total + (count[e] or 0)
end
local w = assert(evstream.periods(run .. "/input/periods.bin", P))
local sum, distinct = 0, {}
for p = 1, P do sum = sum + w[p]; distinct[w[p]] = true end
local nd = 0
for _ in pairs(distinct) do nd = nd + 1 end
assert(math.abs(sum - 1) < 1e-9, "weights sum to 1")
local rps = assert(evstream.returnperiods(run .. "/input/returnperiods.bin"))
assert(#rps > 0 and rps[1] <= P)
assert(#assert(evstream.quantiles(run .. "/input/quantile.bin")) == 7)
print(("ok %d %d %s"):format(n, total, nd > 1 and "unequal" or "equal"))
LUA
out=$(lua5.4 "$S/check.lua" "$S/a" 40 0 2>&1)
like "$out" "^ok 400 [0-9]+ equal$" "gen --run-dir: occurrence, event rates, periods, return periods, quantiles agree ($out)"
es gen --run-dir "$S/g" -e 300 -r 4 -S 5 -P 30 --granular --unequal-weights --occurrences 2
out=$(lua5.4 "$S/check.lua" "$S/g" 30 1 2>&1)
like "$out" "^ok 300 [0-9]+ unequal$" "gen --run-dir --granular --unequal-weights: dates with hour and minute, weights drawn ($out)"
n=$(echo "$out" | cut -d' ' -f3)
[ "$n" -gt 450 ] && [ "$n" -lt 750 ]; ok $? "gen --run-dir --occurrences 2: about two occurrences per event ($n for 300)"
# the Oasis output stage runs on it: every ORD output of both summary sets
es run oasis --run-dir "$S/a" --streams "$S/a/streams"; rc=$?
is "$rc" 0 "oasis runs on a generated run dir"
is "$(ls "$S/a/output" | wc -l | tr -d ' ')" 22 "oasis: 11 tables for each of the two summary sets"
empty=$(for f in "$S/a/output"/*; do [ "$(wc -l <"$f")" -ge 2 ] || echo "$f"; done)
is "$empty" "" "oasis: every table holds rows"
grep -q '"psept_oep": true' "$S/a/analysis_settings.json"; ok $? "analysis settings ask for every ORD output"
# il streams with the fm xref, summary streams in work/
es gen --run-dir "$S/il" -t il -e 100 -r 3 -S 4 -n 3 -P 10
[ -s "$S/il/streams/il_P3.bin" ] && [ -s "$S/il/input/fmsummaryxref.csv" ] && [ -s "$S/il/input/fm_summary_map.csv" ]
ok $? "gen --run-dir -t il: il_P<k>.bin, fmsummaryxref.csv, fm_summary_map.csv"
es run oasis --run-dir "$S/il" --streams "$S/il/streams" && [ -s "$S/il/output/il_S2_ept.csv" ]
ok $? "oasis runs on an il run dir"
es gen --run-dir "$S/s" -t summary -e 100 -r 3 -S 4 -n 2 -P 10
es run aal --run-dir "$S/s" -K gul_S1_summary -a "$S/s/alt.csv" && [ "$(wc -l <"$S/s/alt.csv")" -eq 7 ]
ok $? "gen --run-dir -t summary: summary streams in work/gul_S1_summary/, read by aal -K"
# errors: one line, non-zero
err=$(es gen --run-dir "$S/x" -e 0 2>&1); rc=$?
is "$rc:$err" "1:evstream: gen: option -e wants a number in 1..2147483647, got 0 (see --help)" "gen --run-dir: a bad value, one line"
err=$(es gen --run-dir "$S/x" -t xl 2>&1); rc=$?
is "$rc:$err" "1:evstream: gen: bad value for -t: xl (want gul|il|summary) (see --help)" "gen --run-dir: a bad type"
err=$(es gen --run-dir /proc/nope 2>&1); rc=$?
[ "$rc" -ne 0 ] && [ "$(printf '%s\n' "$err" | wc -l)" -eq 1 ]; ok $? "gen --run-dir: an unwritable place, one line ($err)"
like "$(es gen --help)" "--run-dir DIR" "gen --help names --run-dir"
done_testing
