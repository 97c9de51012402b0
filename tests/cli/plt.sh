# CLI tests of the bundled PLT script: conformance, options, threads, edge cases.
# (Bad inputs: tests/bad/cases/plt_*.case.)
. "$(dirname "$0")/lib.sh"
S=$T_TMP
C=tests/cli/scripts
mk() { lua5.4 $C/mkstream.lua; }
# rows grouped by event (EventId is column 3), file order kept inside
body() { tail -n +2 "$1" | sort -t, -k3,3n -s; }
# mkocc FILE [DATE_OPTS [P]]: occurrence.bin from "event period date_id" lines on stdin
cat >"$S/mkocc.lua" <<'EOF'
local path, opts, P = arg[1], tonumber(arg[2]), tonumber(arg[3])
local t = {string.pack("<i4i4", opts, P)}
local fmt = (opts >> 1) ~= 0 and "<i4i4i8" or "<i4i4i4"
for line in io.lines() do
  local e, p, d = line:match("^%s*(%-?%d+)%s+(%-?%d+)%s+(%-?%d+)")
  if e then t[#t + 1] = string.pack(fmt, tonumber(e), tonumber(p), tonumber(d)) end
end
local f = assert(io.open(path, "wb"))
f:write(table.concat(t))
f:close()
EOF
mkocc() { lua5.4 "$S/mkocc.lua" "$1" "${2:-1}" "${3:-10}"; }

if have_conf; then
  P=$CONF/plt
  for c in all_files no_files occ_gran_files; do
    es run plt -i "$P/summarypy.bin" --run-dir "$P/$c" -s "$S/$c.splt.csv" -m "$S/$c.mplt.csv" -q "$S/$c.qplt.csv"
    es run plt -i "$P/summarypy.bin" --run-dir "$P/$c" -E bin -s "$S/$c.splt.bin" -m "$S/$c.mplt.bin" -q "$S/$c.qplt.bin"
    for t in splt mplt qplt; do
      same_file "$S/$c.$t.csv" "$P/$c/py_$t.csv" "$c: ${t^^} csv is byte-identical to the reference"
      same_file "$S/$c.$t.bin" "$P/$c/py_$t.bin" "$c: ${t^^} bin is byte-identical to the reference"
    done
  done
  L=$CONF/elt/late_specials
  es run plt -i "$L/summary.bin" -r "$L" -s "$S/ls.splt.csv" -m "$S/ls.mplt.csv" -q "$S/ls.qplt.csv"
  es run plt -i "$L/summary.bin" -r "$L" -E bin -s "$S/ls.splt.bin" -m "$S/ls.mplt.bin" -q "$S/ls.qplt.bin"
  for t in splt mplt qplt; do
    same_file "$S/ls.$t.csv" "$L/py_$t.csv" "late specials: ${t^^} csv is byte-identical"
    same_file "$S/ls.$t.bin" "$L/py_$t.bin" "late specials: ${t^^} bin is byte-identical"
  done

  # one table at a time gives the same bytes as all three together
  es run plt -i "$P/summarypy.bin" --run-dir "$P/all_files" -m "$S/only_m.csv"
  same_file "$S/only_m.csv" "$P/all_files/py_mplt.csv" "-m alone: MPLT is the same"
  # pltpy's spelling of the run dir, stdin, stdout and -H
  cat "$P/summarypy.bin" | es run plt --run_dir "$P/no_files" -q "$S/stdin_q.csv"
  same_file "$S/stdin_q.csv" "$P/no_files/py_qplt.csv" "--run_dir (pltpy spelling); reads stdin by default"
  es run plt -i "$P/summarypy.bin" --run-dir "$P/all_files" -s - -H >"$S/stdout.csv"
  is "$(cat "$S/stdout.csv")" "$(tail -n +2 "$P/all_files/py_splt.csv")" "-s - writes to stdout; -H drops the header"
  es run plt -i "$P/summarypy.bin" --run-dir "$P/all_files" -E bin -H -m "$S/h.bin"
  same_file "$S/h.bin" "$P/all_files/py_mplt.bin" "-H changes nothing in bin"
  es run plt -i "$P/summarypy.bin" --run_dir "$P/all_files" --ext bin --mplt "$S/ext.bin"
  same_file "$S/ext.bin" "$P/all_files/py_mplt.bin" "pltpy's long names: --ext, --mplt"
  # the input files named one by one, and their CSV forms
  mkdir -p "$S/empty_run"
  es run plt -i "$P/summarypy.bin" --run-dir "$S/empty_run" --occurrence "$P/all_files/input/occurrence.bin" \
    --periods "$P/all_files/input/periods.bin" --quantiles "$P/all_files/input/quantile.bin" \
    -s "$S/o_s.csv" -q "$S/o_q.csv"
  same_file "$S/o_s.csv" "$P/all_files/py_splt.csv" "--occurrence, --periods name the files"
  same_file "$S/o_q.csv" "$P/all_files/py_qplt.csv" "--quantiles names the quantile file"
  es run plt -i "$P/summarypy.bin" --run-dir "$S/empty_run" --occurrence "$P/all_files/input/occurrence.bin" \
    --periods "$P/all_files/input/periods.csv" -m "$S/o_m.csv"
  same_file "$S/o_m.csv" "$P/all_files/py_mplt.csv" "periods.csv works as periods.bin"

  # several inputs: the reference stream split into two partitions, read together
  es run $C/split.lua "$S/p1.bin" "$S/p2.bin" -i "$P/summarypy.bin"
  es run plt -i "$S/p1.bin" "$S/p2.bin" --run-dir "$P/all_files" -s "$S/s2.csv" -m "$S/m2.csv" -q "$S/q2.csv"
  for t in s m q; do
    if [ "$(body "$S/${t}2.csv")" = "$(body "$P/all_files/py_${t}plt.csv")" ]; then
      pass "two inputs: ${t}plt has the reference rows, per event"
    else fail "two inputs: ${t}plt has the reference rows, per event"; fi
  done
  is "$(head -1 "$S/s2.csv")" "$(head -1 "$P/all_files/py_splt.csv")" "two inputs: one header"

  # worker threads change nothing: none, one, three
  for n in 0 1 3; do
    EVSTREAM_THREADS=$n es run plt -i "$P/summarypy.bin" --run-dir "$P/occ_gran_files" \
      -s "$S/t$n.s.csv" -m "$S/t$n.m.csv" -q "$S/t$n.q.csv"
    ok $(cat "$S/t$n."{s,m,q}.csv | cmp -s - <(cat "$P/occ_gran_files/py_"{splt,mplt,qplt}.csv); echo $?) \
      "EVSTREAM_THREADS=$n: the same bytes"
  done
else
  skip "PLT conformance: $CONF not found"
fi

# ---- our own fixtures ----
mkdir -p "$S/run/input"
lua5.4 -e 'io.write(string.pack("<fff", 0, 0.5, 1))' >"$S/run/input/quantile.bin"
# event 1: periods 3 and 1 (file order kept), event 2: period 2 twice, event 4: not in the file
printf '1 3 700000\n2 2 700100\n1 1 700200\n2 2 700300\n' | mkocc "$S/run/input/occurrence.bin" 1 4

printf 'H 3 1 4 1\n' | mk >"$S/empty.bin"
es run plt -i "$S/empty.bin" --run-dir "$S/run" -s "$S/e_s.csv" -m "$S/e_m.csv" -q "$S/e_q.csv"
is "$(cat "$S/e_s.csv")" "Period,PeriodWeight,EventId,Year,Month,Day,Hour,Minute,SummaryId,SampleId,Loss,ImpactedExposure" \
  "empty stream: header-only SPLT"
is "$(wc -l <"$S/e_m.csv")" 1 "empty stream: header-only MPLT"
is "$(wc -l <"$S/e_q.csv")" 1 "empty stream: header-only QPLT"

printf 'H 3 1 2 1\nR 1 7 10\nP -5 9\nP -3 10\nP -1 4\nP 1 8\nP 2 0\nT\nR 4 1 5\nP -1 3\nP 1 3\nT\n' | mk >"$S/occ.bin"
es run plt -i "$S/occ.bin" --run-dir "$S/run" -s "$S/x_s.csv" -m "$S/x_m.csv" -q "$S/x_q.csv"
is "$(tail -n +2 "$S/x_s.csv" | cut -d, -f1,3,9- | tr '\n' ' ')" \
  "3,1,7,-1,4.00,10.00 1,1,7,-1,4.00,10.00 3,1,7,1,8.00,10.00 1,1,7,1,8.00,10.00 3,1,7,2,0.00,0.00 1,1,7,2,0.00,0.00 " \
  "SPLT: pair-major, then occurrences in file order; -5 and -3 give no row; event 4 (not in the file) none"
is "$(tail -n +2 "$S/x_s.csv" | head -1 | cut -d, -f2-8)" "0.250000,1,1916,9,13,0,0" "PeriodWeight 1/P and the date of the occurrence"
is "$(tail -n +2 "$S/x_m.csv" | cut -d, -f1,10- | tr '\n' ' ')" \
  "3,1,0.0000,4.00,0.00,9.00,10.00,10.00,10.00 1,1,0.0000,4.00,0.00,9.00,10.00,10.00,10.00 3,2,1.0000,4.00,5.66,9.00,10.00,5.00,10.00 1,2,1.0000,4.00,5.66,9.00,10.00,5.00,10.00 " \
  "MPLT: type 1 then type 2 per occurrence; -3 counts in ChanceOfLoss"
is "$(tail -n +2 "$S/x_q.csv" | cut -d, -f1,10- | tr '\n' ' ')" \
  "3,0.00,0.00 3,0.50,4.00 3,1.00,8.00 1,0.00,0.00 1,0.50,4.00 1,1.00,8.00 " "QPLT: occurrence-major, then quantile"

# the same period twice: two rows each
printf 'H 3 1 1 1\nR 2 5 1\nP -1 0\nP 1 0\nT\n' | mk >"$S/twice.bin"
es run plt -i "$S/twice.bin" --run-dir "$S/run" -s "$S/w_s.csv" -m "$S/w_m.csv" -q "$S/w_q.csv"
is "$(tail -n +2 "$S/w_s.csv" | cut -d, -f1,3,9- | tr '\n' ' ')" "2,2,5,-1,0.00,0.00 2,2,5,-1,0.00,0.00 2,2,5,1,0.00,0.00 2,2,5,1,0.00,0.00 " \
  "an event listed twice in one period gives its rows twice"
is "$(wc -l <"$S/w_m.csv")" 1 "MPLT: no row for a zero mean and zero samples"
is "$(tail -n +2 "$S/w_q.csv" | wc -l)" 6 "QPLT: rows for every record, even all-zero"

# N = 1: SD 0; MaxLoss 0 when -5 comes after -1 (as the reference)
printf 'H 3 1 1 1\nR 1 3 2\nP -1 6\nP -5 7\nP 1 7\nT\n' | mk >"$S/one.bin"
es run plt -i "$S/one.bin" --run-dir "$S/run" -m "$S/one_m.csv"
is "$(tail -n +2 "$S/one_m.csv" | cut -d, -f1,10- | tr '\n' ' ')" \
  "3,1,0.0000,6.00,0.00,0.00,2.00,2.00,2.00 1,1,0.0000,6.00,0.00,0.00,2.00,2.00,2.00 3,2,1.0000,7.00,0.00,7.00,2.00,2.00,2.00 1,2,1.0000,7.00,0.00,7.00,2.00,2.00,2.00 " \
  "one sample: SD 0; type-1 MaxLoss is the -5 known so far"

# granular dates and period weights
printf '1 2 %s\n' $(( 694325 * 1440 + 13 * 60 + 52 )) | mkocc "$S/run/input/occurrence.bin" 3 2
printf 'H 3 1 1 1\nR 1 3 2\nP 1 7\nT\n' | mk >"$S/g.bin"
mkdir -p "$S/run2/input"; cp "$S/run/input/"*.bin "$S/run2/input/"
lua5.4 -e 'io.write(string.pack("<i4d i4d", 2, 0.125, 1, 0.875))' >"$S/run2/input/periods.bin"
es run plt -i "$S/g.bin" --run-dir "$S/run2" -s "$S/g_s.csv"
is "$(sed -n 2p "$S/g_s.csv")" "2,0.125000,1,1901,3,1,13,52,3,1,7.00,2.00" "granular date (hour, minute); weight from periods.bin"

# generated streams: partitions, threads, several occurrences per event
es gen -e 60 -r 4 -s 12 --seed 5 -o "$S/gen.bin"
for k in 1 2 3; do es gen -e 60 -r 4 -s 12 --seed 5 -p $k/3 -o "$S/gen$k.bin"; done
lua5.4 -e 'for e = 1, 70 do if e % 7 ~= 0 then for k = 1, e % 4 do print(e, (e * 37 + k * 11) % 50 + 1, 730000 + e * 3 + k) end end end' \
  | mkocc "$S/run/input/occurrence.bin" 1 50
EVSTREAM_THREADS=0 es run plt -i "$S/gen.bin" --run-dir "$S/run" -s "$S/g0_s.csv" -m "$S/g0_m.csv" -q "$S/g0_q.csv"
EVSTREAM_THREADS=2 es run plt -i "$S/gen.bin" --run-dir "$S/run" -s "$S/g2_s.csv" -m "$S/g2_m.csv" -q "$S/g2_q.csv"
for t in s m q; do
  same_file "$S/g2_$t.csv" "$S/g0_$t.csv" "generated stream, ${t}plt: two threads write the serial bytes"
done
is "$(tail -n +2 "$S/g0_s.csv" | cut -d, -f3 | sort -un | tr '\n' ' ')" "$(seq 1 60 | awk '$1 % 7 && $1 % 4' | tr '\n' ' ')" \
  "SPLT has exactly the events with occurrences"
is "$(tail -n +2 "$S/g0_q.csv" | cut -d, -f3 | sort -un | tr '\n' ' ')" "$(seq 1 60 | awk '$1 % 7 && $1 % 4' | tr '\n' ' ')" \
  "QPLT has exactly the events with occurrences"
es run plt -i "$S/gen1.bin" "$S/gen2.bin" "$S/gen3.bin" --run-dir "$S/run" -s "$S/g3_s.csv" -m "$S/g3_m.csv" -q "$S/g3_q.csv"
for t in s m q; do
  if [ "$(body "$S/g3_$t.csv")" = "$(body "$S/g0_$t.csv")" ]; then pass "3 partitions give the rows of the whole run (${t}plt)"
  else fail "3 partitions give the rows of the whole run (${t}plt)"; fi
done
es run plt -E bin -i "$S/gen.bin" --run-dir "$S/run" -s "$S/g_s.bin" -m "$S/g_m.bin" -q "$S/g_q.bin"
is "$(( $(stat -c %s "$S/g_s.bin") / 48 ))" "$(( $(wc -l <"$S/g0_s.csv") - 1 ))" "bin SPLT: one 48-byte record per CSV row"
is "$(( $(stat -c %s "$S/g_m.bin") / 68 ))" "$(( $(wc -l <"$S/g0_m.csv") - 1 ))" "bin MPLT: one 68-byte record per CSV row"
is "$(( $(stat -c %s "$S/g_q.bin") / 44 ))" "$(( $(wc -l <"$S/g0_q.csv") - 1 ))" "bin QPLT: one 44-byte record per CSV row"

mkdir -p "$S/run3/input"; cp "$S/run/input/quantile.bin" "$S/run3/input/"
# an event whose rows do not fit a job (300 occurrences x 1000 pairs) is written in order
lua5.4 -e 'for k = 1, 300 do print(2, k, 730000 + k) end; print(1, 1, 1); print(3, 2, 2)' \
  | mkocc "$S/run3/input/occurrence.bin" 1 300
es gen -e 3 -r 10 -s 100 --seed 2 -o "$S/big.bin"
EVSTREAM_THREADS=0 es run plt -i "$S/big.bin" --run-dir "$S/run3" -s "$S/b0.csv" -q "$S/b0q.csv"
EVSTREAM_THREADS=2 es run plt -i "$S/big.bin" --run-dir "$S/run3" -s "$S/b2.csv" -q "$S/b2q.csv"
same_file "$S/b2.csv" "$S/b0.csv" "a huge event between small ones: threads write the serial bytes (SPLT)"
same_file "$S/b2q.csv" "$S/b0q.csv" "a huge event between small ones: threads write the serial bytes (QPLT)"
is "$(cut -d, -f3 "$S/b0.csv" | uniq | tr '\n' ' ')" "EventId 1 2 3 " "events stay in stream order"

# FIFO output, as in docs/cli.md (plt)
rm -f "$S/fifo"; mkfifo "$S/fifo"
( es run plt -i "$S/gen.bin" --run-dir "$S/run" -m "$S/fifo" ) &
got=$(timeout 30 cat "$S/fifo" | wc -l); wait $!
is "$got" "$(wc -l <"$S/g0_m.csv" | tr -d ' ')" "writes MPLT through a FIFO"

done_testing
