# CLI tests of the bundled ELT script: conformance, options, edge cases, errors.
. "$(dirname "$0")/lib.sh"
S=$T_TMP
C=tests/cli/scripts
mk() { lua5.4 $C/mkstream.lua; }
body() { tail -n +2 "$1" | sort -t, -k1,1n -s; }   # rows grouped by event, file order kept inside

if have_conf; then
  E=$CONF/elt
  es run elt -i "$E/summarypy.bin" -r "$E" -s "$S/selt.csv" -m "$S/melt.csv" -q "$S/qelt.csv"
  same_file "$S/selt.csv" "$E/py_selt.csv" "SELT csv is byte-identical to the reference"
  same_file "$S/melt.csv" "$E/py_melt_er.csv" "MELT csv with event rates is byte-identical"
  same_file "$S/qelt.csv" "$E/py_qelt.csv" "QELT csv is byte-identical"
  mkdir -p "$S/norates"
  es run elt -i "$E/summarypy.bin" -r "$S/norates" -m "$S/melt0.csv"
  same_file "$S/melt0.csv" "$E/py_melt.csv" "MELT csv without rates (EventRate nan) is byte-identical"
  es run elt -E bin -i "$E/summarypy.bin" -r "$E" -s "$S/selt.bin" -m "$S/melt.bin" -q "$S/qelt.bin"
  same_file "$S/selt.bin" "$E/py_selt.bin" "SELT bin is byte-identical"
  same_file "$S/melt.bin" "$E/py_melt_er.bin" "MELT bin with rates is byte-identical"
  same_file "$S/qelt.bin" "$E/py_qelt.bin" "QELT bin is byte-identical"
  es run elt -E bin -i "$E/summarypy.bin" -r "$S/norates" -m "$S/melt0.bin"
  same_file "$S/melt0.bin" "$E/py_melt.bin" "MELT bin without rates is byte-identical"
  es run elt -i "$E/summarypy.bin" -r "$E" --event-rates "$E/input/er.csv" -m "$S/melt_opt.csv"
  same_file "$S/melt_opt.csv" "$E/py_melt_er.csv" "--event-rates names the rates file"
  # several inputs: the reference stream split into two partitions, read together
  es run $C/split.lua "$S/p1.bin" "$S/p2.bin" -i "$E/summarypy.bin"
  es run elt -i "$S/p1.bin" "$S/p2.bin" -r "$E" -s "$S/selt2.csv" -m "$S/melt2.csv" -q "$S/qelt2.csv"
  for t in selt qelt; do
    if [ "$(body "$S/${t}2.csv")" = "$(body "$E/py_$t.csv")" ]; then pass "two inputs: $t has the reference rows, per event"
    else fail "two inputs: $t has the reference rows, per event"; fi
  done
  if [ "$(body "$S/melt2.csv")" = "$(body "$E/py_melt_er.csv")" ]; then pass "two inputs: melt has the reference rows, per event"
  else fail "two inputs: melt has the reference rows, per event"; fi
  is "$(head -1 "$S/selt2.csv")" "$(head -1 "$E/py_selt.csv")" "two inputs: one header"
  # stdout and -H
  es run elt -i "$E/summarypy.bin" -s - -H >"$S/stdout.csv"
  is "$(cat "$S/stdout.csv")" "$(tail -n +2 "$E/py_selt.csv")" "-s - writes to stdout; -H drops the header"
  cat "$E/summarypy.bin" | es run elt -r "$E" -q "$S/qstdin.csv"
  same_file "$S/qstdin.csv" "$E/py_qelt.csv" "reads stdin by default"
else
  skip "ELT conformance: $CONF not found"
fi

# specials after the samples, twice, or mixed in: read wherever they are, the last one wins
if have_conf && [ -d "$CONF/elt/late_specials" ]; then
  LS=$CONF/elt/late_specials
  es run elt -i "$LS/summary.bin" -r "$LS" -s "$S/ls_s.csv" -m "$S/ls_m.csv" -q "$S/ls_q.csv"
  es run elt -E bin -i "$LS/summary.bin" -r "$LS" -s "$S/ls_s.bin" -m "$S/ls_m.bin" -q "$S/ls_q.bin"
  for t in s m q; do
    same_file "$S/ls_$t.csv" "$LS/py_${t}elt.csv" "late specials: ${t}elt csv is byte-identical to the reference"
    same_file "$S/ls_$t.bin" "$LS/py_${t}elt.bin" "late specials: ${t}elt bin is byte-identical to the reference"
  done
  is "$(sed -n 2p "$S/ls_m.csv" | cut -d, -f6,8)" "3.000000,10.000000" \
    "late specials: MeanLoss from a -1 after the samples, MaxLoss from the last of two -5"
else
  skip "late specials ELT conformance: $CONF/elt/late_specials not found"
fi

# edge cases on our own fixtures
mkdir -p "$S/run/input"
lua5.4 -e 'io.write(string.pack("<fff", 0.1, 0.5, 0.9))' >"$S/run/input/quantile.bin"
printf 'H 3 1 4 1\n' | mk >"$S/empty.bin"
es run elt -i "$S/empty.bin" -r "$S/run" -s "$S/e_s.csv" -m "$S/e_m.csv" -q "$S/e_q.csv"
is "$(cat "$S/e_s.csv")" "EventId,SummaryId,SampleId,Loss,ImpactedExposure" "empty stream: header-only SELT"
is "$(cat "$S/e_m.csv" | wc -l)" 1 "empty stream: header-only MELT"
is "$(cat "$S/e_q.csv")" "EventId,SummaryId,Quantile,Loss" "empty stream: header-only QELT"

printf 'H 3 1 1 1\nR 9 2 10\nP -1 3\nP -5 7\nP 1 7\nT\n' | mk >"$S/one.bin"
es run elt -i "$S/one.bin" -r "$S/run" -m "$S/o_m.csv" -q "$S/o_q.csv"
is "$(sed -n 3p "$S/o_m.csv")" "9,2,2,nan,1.000000,7.000000,0.000000,7.000000,10.000000,10.000000,10.000000" "one sample: sd 0, chance of loss 1"
is "$(tail -n +2 "$S/o_q.csv" | tr '\n' ' ')" "9,2,0.100000,7.000000 9,2,0.500000,7.000000 9,2,0.900000,7.000000 " "one sample: every quantile is the sample"

printf 'H 3 1 3 1\nR 2 1 5\nP -1 0\nP -5 0\nT\nR 2 2 0\nP -1 4\nP 1 4\nT\n' | mk >"$S/zero.bin"
es run elt -i "$S/zero.bin" -r "$S/run" -s "$S/z_s.csv" -m "$S/z_m.csv" -q "$S/z_q.csv"
is "$(tail -n +2 "$S/z_s.csv" | tr '\n' ' ')" "2,1,-1,0.00,0.00 2,2,-1,4.00,0.00 2,2,1,4.00,0.00 " "SELT: every record, ImpactedExposure 0 where loss or exposure is 0"
is "$(tail -n +2 "$S/z_m.csv" | tr '\n' ' ')" "2,1,1,nan,0.000000,0.000000,0.000000,0.000000,5.000000,5.000000,5.000000 2,1,2,nan,0.000000,0.000000,0.000000,0.000000,5.000000,0.000000,0.000000 " "MELT: all-zero record gets zero moments; exposure-0 record is left out"
is "$(tail -n +2 "$S/z_q.csv" | wc -l)" 3 "QELT: only records with exposure"

printf 'H 3 1 2 1\nR 4 1 10\nP 1 nan\nP 2 6\nT\n' | mk >"$S/nan.bin"
es run elt -i "$S/nan.bin" -r "$S/run" -s "$S/n_s.csv" -m "$S/n_m.csv" 2>"$S/err"; rc=$?
is "$rc" 0 "NaN losses: the run succeeds"
is "$(sed -n 2p "$S/n_s.csv")" "4,1,1,0.00,0.00" "NaN losses are read as 0"
like "$(cat "$S/err")" "warning: 1 NaN losses read as 0" "NaN losses are counted and reported"
is "$(sed -n 3p "$S/n_m.csv")" "4,1,2,nan,0.500000,3.000000,4.242640,0.000000,10.000000,5.000000,10.000000" "MELT after a NaN"

# several generated partitions == the whole run
es gen -e 40 -r 3 -s 8 --seed 3 -o "$S/g.bin"
for k in 1 2 3; do es gen -e 40 -r 3 -s 8 --seed 3 -p $k/3 -o "$S/g$k.bin"; done
es run elt -i "$S/g.bin" -r "$S/run" -s "$S/g_s.csv" -m "$S/g_m.csv" -q "$S/g_q.csv"
es run elt -i "$S/g1.bin" "$S/g2.bin" "$S/g3.bin" -r "$S/run" -s "$S/g3_s.csv" -m "$S/g3_m.csv" -q "$S/g3_q.csv"
for t in s m q; do
  if [ "$(body "$S/g_$t.csv")" = "$(body "$S/g3_$t.csv")" ]; then pass "3 partitions give the rows of the whole run ($t)"
  else fail "3 partitions give the rows of the whole run ($t)"; fi
done

# --quantiles names the quantile file
lua5.4 -e 'io.write(string.pack("<ff", 0.5, 0.5))' >"$S/q2.bin"
es run elt -i "$S/one.bin" -r "$S/run" --quantiles "$S/q2.bin" -q "$S/o_q2.csv"
is "$(tail -n +2 "$S/o_q2.csv" | tr '\n' ' ')" "9,2,0.500000,7.000000 9,2,0.500000,7.000000 " "--quantiles: file order, duplicates kept"
# mean-only streams (N = 0): MELT gets the analytical rows only, QELT nothing
printf 'H 3 1 0 1\nR 3 1 10\nP -1 4\nP -5 6\nT\n' | mk >"$S/n0.bin"
es run elt -i "$S/n0.bin" -r "$S/run" -m "$S/n0_m.csv" -q "$S/n0_q.csv"
is "$(tail -n +2 "$S/n0_m.csv" | tr '\n' ' ')" "3,1,1,nan,0.000000,4.000000,0.000000,6.000000,10.000000,10.000000,10.000000 " "N = 0: only the SampleType 1 MELT row"
is "$(wc -l <"$S/n0_q.csv")" 1 "N = 0: QELT has the header only"

# errors
es run elt -i "$S/g.bin" -r "$S/nowhere" -q "$S/x.csv" 2>"$S/err"; rc=$?
is "$rc" 1 "missing run dir exits 1"
like "$(cat "$S/err")" "run dir $S/nowhere: not a directory" "missing run dir: message"
[ ! -e "$S/x.csv" ]; ok $? "missing run dir: no output"
mkdir -p "$S/noq"
es run elt -i "$S/g.bin" -r "$S/noq" -s "$S/x.csv" -q "$S/y.csv" 2>"$S/err"; rc=$?
is "$rc" 1 "QELT without quantile.bin exits 1"
like "$(cat "$S/err")" "$S/noq/input/quantile.bin: No such file or directory" "QELT without quantile.bin names the path"
[ ! -e "$S/x.csv" ] && [ ! -e "$S/y.csv" ]; ok $? "QELT without quantile.bin: no output"
if [ "$(id -u)" != 0 ]; then
  mkdir -p "$S/locked"; chmod 000 "$S/locked"
  es run elt -i "$S/g.bin" -r "$S/locked" -q "$S/y.csv" 2>"$S/err"; ok $(( $? == 1 ? 0 : 1 )) "unreadable run dir exits 1"
else
  mkdir -p "$S/locked/input"; echo garbage-not-float >"$S/locked/input/quantile.bin"
  es run elt -i "$S/g.bin" -r "$S/locked" -q "$S/y.csv" 2>"$S/err"; rc=$?
  is "$rc" 1 "unreadable quantile file exits 1"
  like "$(cat "$S/err")" "quantile.bin: size is not a multiple of 4 bytes" "unreadable quantile file: message"
fi
es gen -t loss -o "$S/loss.bin"
es run elt -i "$S/loss.bin" -s "$S/x.csv" 2>"$S/err"; rc=$?
is "$rc" 1 "a loss stream given to elt exits 1"
like "$(cat "$S/err")" "elt: input is a loss stream; elt reads summary streams" "a loss stream given to elt: message"
es run elt -i "$S/g.bin" 2>"$S/err"; rc=$?
is "$rc" 1 "no output asked exits 1"
like "$(cat "$S/err")" "nothing to do" "no output asked: message"
es run elt -i "$S/g.bin" -E xml -s x 2>"$S/err"; rc=$?
like "$(cat "$S/err")" "bad value for -E: xml" "bad -E value: message"
es run elt -i "$S/g.bin" -s "$S/nodir/x.csv" 2>"$S/err"; rc=$?
is "$rc" 1 "unwritable output exits 1"
like "$(cat "$S/err")" "$S/nodir/x.csv: No such file or directory" "unwritable output names the path"
done_testing
