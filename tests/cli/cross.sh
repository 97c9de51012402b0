# CLI tests of the cross-event examples (period_means, oep_rp) on a
# hand-computed fixture, their partitioned runs, and their errors.
. "$(dirname "$0")/lib.sh"
S=$T_TMP
mk() { lua5.4 tests/cli/scripts/mkstream.lua; }
mkdir -p "$S/run/input"
# occurrence (date algorithm, P = 4): event 1 -> period 1; event 2 -> 1 and 3;
# event 3 -> 2; event 5 -> 3 twice; event 4 is not in the file.
lua5.4 -e 'io.write(string.pack("<i4i4", 1, 4), string.pack("<i4i4i4", 1, 1, 700000), string.pack("<i4i4i4", 2, 1, 700001),
  string.pack("<i4i4i4", 2, 3, 700002), string.pack("<i4i4i4", 3, 2, 700003), string.pack("<i4i4i4", 5, 3, 700004),
  string.pack("<i4i4i4", 5, 3, 700005))' >"$S/run/input/occurrence.bin"
# N = 2. Event 4 (not in the occurrence file) has huge losses: they must not show.
P1='H 3 1 2 1
R 1 1 1
P -1 10
P 1 4
P 2 6
T
R 1 2 1
P -1 1
P 1 2
T
R 2 1 1
P -1 20
P 1 8
P 2 12
T'
P2='R 3 2 1
P -1 5
P 2 9
T
R 4 1 1
P 1 1000
P 2 1000
T
R 5 1 1
P -1 3
P 1 1
P 2 2
T'
printf '%s\n%s\n' "$P1" "$P2" | mk >"$S/all.bin"
printf '%s\n' "$P1" | mk >"$S/part1.bin"
printf 'H 3 1 2 1\n%s\n' "$P2" | mk >"$S/part2.bin"

# period_means: (S1,P1) = ev1 + ev2: samples 12, 18 -> 15, mean slots 30;
# (S1,P3) = ev2 + 2 x ev5: 10, 16 -> 13, 20 + 3 + 3 = 26;
# (S2,P1) = ev1: 2, 0 -> 1, 1; (S2,P2) = ev3: 0, 9 -> 4.5, 5.
want='SummaryId,Period,MeanLoss,AnalyticalMeanLoss
1,1,15.000000,30.000000
1,3,13.000000,26.000000
2,1,1.000000,1.000000
2,2,4.500000,5.000000'
es run period_means -i "$S/all.bin" --run-dir "$S/run" -o "$S/pm.csv"; rc=$?
is "$rc" 0 "period_means: runs"
is "$(cat "$S/pm.csv")" "$want" "period_means: the hand-computed table"
is "$(es run period_means -i "$S/all.bin" --occurrence "$S/run/input/occurrence.bin")" "$want" \
  "period_means: --occurrence, to stdout"
es run period_means -i "$S/part1.bin" --run-dir "$S/run" --partial "$S/p1.state"
es run period_means -i "$S/part2.bin" --run-dir "$S/run" --partial "$S/p2.state"
[ -s "$S/p1.state" ] && [ -s "$S/p2.state" ]; ok $? "period_means --partial: writes the states"
es run period_means --run-dir "$S/run" --merge "$S/p1.state" "$S/p2.state" -o "$S/pm2.csv"; rc=$?
is "$rc" 0 "period_means --merge: runs"
same_file "$S/pm.csv" "$S/pm2.csv" "period_means: two partial states merged == the single run"
es run period_means --run-dir "$S/run" -E bin --merge "$S/p1.state" "$S/p2.state" -o "$S/pm.bin"
is "$(wc -c <"$S/pm.bin" | tr -d ' ')" $((4 * (4 + 4 + 8 + 8))) "period_means -E bin: int32, int32, float64, float64 per row"
# a truncated state, a state of another occurrence file
head -c 50 "$S/p1.state" >"$S/cut.state"
es run period_means --run-dir "$S/run" --merge "$S/cut.state" -o "$S/x.csv" 2>"$S/err"; rc=$?
is "$rc" 1 "period_means: a truncated state exits 1"
like "$(cat "$S/err")" "cut.state: byte 50: .*truncated" "period_means: a truncated state names the file and byte"
[ ! -e "$S/x.csv" ]; ok $? "period_means: a truncated state leaves no table"
# a state of the earlier layout (version 1): refused, naming the version
cp "$S/p1.state" "$S/v1.state"
printf '\001\000\000\000' | dd of="$S/v1.state" bs=1 seek=8 conv=notrunc 2>/dev/null
es run period_means --run-dir "$S/run" --merge "$S/v1.state" -o "$S/x.csv" 2>"$S/err"; rc=$?
is "$rc" 1 "period_means: a state of layout version 1 exits 1"
like "$(cat "$S/err")" "v1.state: byte 8: state layout version 1, this build reads version 2" \
  "period_means: ... naming the file and both versions"
mkdir -p "$S/run2/input"
lua5.4 -e 'io.write(string.pack("<i4i4", 1, 9), string.pack("<i4i4i4", 1, 1, 700000))' >"$S/run2/input/occurrence.bin"
es run period_means --run-dir "$S/run2" --merge "$S/p1.state" -o "$S/x.csv" 2>"$S/err"; rc=$?
is "$rc" 1 "period_means: a state of another occurrence file exits 1"
like "$(cat "$S/err")" "p1.state: not a period_means state of this occurrence file" "period_means: ... and says so"
es run period_means -i "$S/all.bin" --run-dir "$S/nowhere" 2>"$S/err"; rc=$?
is "$rc" 1 "period_means: a missing occurrence file exits 1"
like "$(cat "$S/err")" "nowhere/input/occurrence.bin: No such file" "period_means: ... naming it"

# oep_rp: S1 per-(period, sample) maxima 8, 12 (P1), 8, 12 (P3), P2 and P4 0:
# descending 12 12 8 8 0 0 0 0; rank 8/T: T=8 -> 12, 4 -> 12, 3 -> rank 2.667 ->
# 12 + (8 - 12) x 2/3 = 9.333333, 2 -> 8, 1 -> 0. S2: 2, 0 (P1), 0, 9 (P2): 9 2 0 ...
want='SummaryId,ReturnPeriod,Loss
1,8,12.000000
1,4,12.000000
1,3,9.333333
1,2,8.000000
1,1,0.000000
2,8,9.000000
2,4,2.000000
2,3,0.666667
2,2,0.000000
2,1,0.000000'
is "$(es run oep_rp -i "$S/all.bin" --run-dir "$S/run" --return-periods 8,4,3,2,1)" "$want" \
  "oep_rp: the hand-computed table"
lua5.4 -e 'io.write(string.pack("<i4i4i4i4i4", 8, 4, 3, 2, 1))' >"$S/rp.bin"
is "$(es run oep_rp -i "$S/all.bin" --run-dir "$S/run" --return-periods "$S/rp.bin")" "$want" \
  "oep_rp: return periods from a returnperiods.bin"
lua5.4 -e 'io.write(string.pack("<i4i4", 8, 9))' >"$S/rp.bin"
es run oep_rp -i "$S/all.bin" --run-dir "$S/run" --return-periods "$S/rp.bin" 2>"$S/err"; rc=$?
is "$rc" 1 "oep_rp: bad return periods exit 1"
like "$(cat "$S/err")" "rp.bin: byte 4: return period 9 after 8" "oep_rp: ... naming the file and byte"

# a generated stream: the examples agree with a plain Lua computation
es gen -e 60 -r 3 -s 5 --seed 7 -o "$S/g.bin"
lua5.4 -e 'local t = {string.pack("<i4i4", 1, 7)}
  for e = 1, 60 do for k = 1, e % 3 do t[#t + 1] = string.pack("<i4i4i4", e, (e * k) % 7 + 1, 0) end end
  io.write(table.concat(t))' >"$S/g_occ.bin"
es run period_means -i "$S/g.bin" --occurrence "$S/g_occ.bin" -o "$S/g.csv"
OCC="$S/g_occ.bin" es run tests/cli/scripts/period_means_ref.lua -i "$S/g.bin" >"$S/g_ref.csv"
same_file "$S/g.csv" "$S/g_ref.csv" "period_means == a Lua loop over the same stream (generated, 60 events)"
done_testing
