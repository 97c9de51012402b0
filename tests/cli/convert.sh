# CLI tests of the converters: tocsv layouts, fromcsv, lossless round trips
# (tocsv --exact | fromcsv gives the stream back byte for byte), errors.
. "$(dirname "$0")/lib.sh"
S=$T_TMP
C=tests/cli/scripts
mk() { lua5.4 $C/mkstream.lua; }
err_case() {   # err_case NAME REGEX CMD...: fails with one stderr line matching REGEX
  local name=$1 re=$2; shift 2
  "$@" 2>"$S/err" >/dev/null; local rc=$?
  if [ $rc -ne 0 ] && [ "$(wc -l <"$S/err")" -eq 1 ] && grep -qE -- "$re" "$S/err"; then pass "$name"
  else fail "$name" "rc=$rc stderr: $(head -3 "$S/err")"; fi
}
# roundtrip NAME STREAM FROMCSV_OPTIONS...: exact CSV back to the same bytes
roundtrip() {
  local name=$1 in=$2; shift 2
  es run tocsv --exact -i "$in" -o "$S/rt.csv" && es run fromcsv "$@" -i "$S/rt.csv" -o "$S/rt.bin"
  same_file "$S/rt.bin" "$in" "round trip: $name"
}
# A CDF stream (source 0) written with string.pack: records of
# {event, areaperil (uint32), vulnerability, bins {prob_to, bin_mean}...}.
cdf() {
  lua5.4 -e '
    local out = {string.pack("<I4", 1)}
    local recs = {{1, 7, 3, {{0.1, 0.05}, {0.6, 0.3}, {1, 0.9}}}, {1, 4000000000, 3, {{1, 1e-8}}},
                  {2, 7, 4, {{0.25, 0.125}, {1.0, 2/3}}}, {2, 7, 4, {{1, 0}}}, {3, 2147483648, 1, {{0.333333343, 1e-45}}}}
    for _, r in ipairs(recs) do
      out[#out + 1] = string.pack("<i4I4i4i4", r[1], r[2], r[3], #r[4])
      for _, b in ipairs(r[4]) do out[#out + 1] = string.pack("<ff", b[1], b[2]) end
    end
    io.write(table.concat(out))'
}

# ---- tocsv layouts ----
es gen -t summary -e 3 -r 2 -s 4 --set 2 -o "$S/sum.bin"
es gen -t gul -e 3 -r 2 -s 4 -o "$S/gul.bin"
es gen -t loss -e 3 -r 2 -s 4 -o "$S/loss.bin"
es gen -t gul -a coverage -e 3 -r 2 -s 4 -o "$S/cov.bin"
es gen -t loss -a coverage -e 3 -r 2 -s 4 -o "$S/lcov.bin"
cdf >"$S/cdf.bin"
is "$(es run tocsv -i "$S/sum.bin" | head -1)" "event_id,summary_id,sidx,loss" "summary stream: event_id,summary_id,sidx,loss"
is "$(es run tocsv -i "$S/gul.bin" | head -1)" "event_id,item_id,sidx,loss" "gul (source 1) stream: item_id"
is "$(es run tocsv -i "$S/loss.bin" | head -1)" "event_id,output_id,sidx,loss" "loss (source 2) stream: output_id"
is "$(es run tocsv -i "$S/cov.bin" | head -1)" "event_id,coverage_id,sidx,loss" "coverage aggregation: coverage_id"
is "$(es run tocsv --id item_id -i "$S/loss.bin" | head -1)" "event_id,item_id,sidx,loss" "--id names the id column"
is "$(es run tocsv -i "$S/cdf.bin" | head -3 | tr '\n' ' ')" \
  "event_id,areaperil_id,vulnerability_id,bin_index,prob_to,bin_mean 1,7,3,1,0.100000,0.050000 1,7,3,2,0.600000,0.300000 " \
  "CDF stream: bins numbered 1..n, %f floats"
like "$(es run tocsv -H -i "$S/cdf.bin")" "1,4000000000,3,1,1.000000,0.000000" "CDF: areaperil_id is unsigned"
is "$(es run tocsv -x -i "$S/sum.bin" | head -1)" "event_id,summary_id,exposure_value,sidx,loss" "--exact: summary streams get exposure_value"
like "$(es run tocsv -i "$S/sum.bin" | sed -n 2p)" '^1,1,-5,[0-9]+\.[0-9]{2}$' "%.2f losses"
is "$(es run tocsv -H -i "$S/sum.bin" | wc -l)" "$(es info "$S/sum.bin" | sed -n 's/^pairs: //p')" "one row per pair, -H: no header"
printf 'H 3 1 2 1\nR 4 9 1.5\nP -5 0.005\nP -1 0.015\nP 2 123456.789\nP 1 -0.0\nT\n' | mk >"$S/small.bin"
is "$(es run tocsv -H -i "$S/small.bin" | tr '\n' ' ')" "4,9,-5,0.00 4,9,-1,0.01 4,9,2,123456.79 4,9,1,-0.00 " \
  "plain layout: exact %.2f rounding of the float32 value, -0.00"
is "$(es run tocsv -x -H -i "$S/small.bin" | tr '\n' ' ')" \
  "4,9,1.5,-5,0.00499999989 4,9,1.5,-1,0.0149999997 4,9,1.5,2,123456.789 4,9,1.5,1,-0 " "--exact: %.9g"
cat "$S/sum.bin" | es run tocsv >"$S/stdin.csv"
is "$(md5sum <"$S/stdin.csv")" "$(es run tocsv -i "$S/sum.bin" | md5sum)" "tocsv reads stdin"
if have_conf; then
  es run tocsv --selt -i "$CONF/elt/summarypy.bin" -o "$S/selt.csv"
  same_file "$S/selt.csv" "$CONF/elt/py_selt.csv" "--selt: the SELT layout, byte-identical to eltpy's SELT"
else
  skip "tocsv --selt conformance: $CONF not found"
fi

# ---- lossless round trips ----
for z in 0 0.5 0.95; do
  es gen -t summary -e 30 -r 7 -s 12 -z $z --set 3 --seed 4 -o "$S/g_s.bin"
  roundtrip "summary stream, zero share $z" "$S/g_s.bin" -N 12 --set 3
  es gen -t loss -e 30 -r 7 -s 12 -z $z --seed 4 -o "$S/g_l.bin"
  roundtrip "loss stream (output_id), zero share $z" "$S/g_l.bin" -N 12
  es gen -t gul -e 30 -r 7 -s 12 -z $z --seed 4 -o "$S/g_g.bin"
  roundtrip "gul stream (item_id), zero share $z" "$S/g_g.bin" -N 12
done
es gen -t gul -a coverage -e 30 -r 7 -s 12 -o "$S/g_gc.bin"
roundtrip "gul coverage stream (coverage_id)" "$S/g_gc.bin" -N 12
es gen -t loss -a coverage -e 30 -r 7 -s 12 -o "$S/g_lc.bin"
roundtrip "loss coverage stream (coverage_id, -t loss)" "$S/g_lc.bin" -N 12 -t loss
es gen -t summary -e 5 -r 3 -s 0 -o "$S/g_n0.bin"
roundtrip "zero samples (N = 0)" "$S/g_n0.bin" -N 0
es gen -t summary -e 0 -s 5 -o "$S/g_e.bin"
roundtrip "a stream without records" "$S/g_e.bin" -N 5 -t summary
roundtrip "CDF stream (uint32 areaperil, denormals)" "$S/cdf.bin"
roundtrip "hand-made summary stream (-0, tiny values)" "$S/small.bin" -N 2
if have_conf; then
  for f in "$CONF"/summary/*/*_summary.bin "$CONF"/summary/*/*/*_summary.bin "$CONF/elt/summarypy.bin" \
           "$CONF"/summary/gul.bin "$CONF"/summary/il.bin "$CONF"/summary/ri.bin; do
    [ -f "$f" ] || continue
    n=$(es info "$f" | sed -n 's/^samples: //p'); set=$(es info "$f" | sed -n 's/^summary_set: //p')
    roundtrip "reference ${f#$CONF/}" "$f" -N "$n" ${set:+--set $set}
  done
else
  skip "round trips of the reference streams: $CONF not found"
fi
# the plain layout is lossy, but stable: csv -> stream -> csv gives the same text
es run tocsv -i "$S/g_s.bin" -o "$S/plain.csv"
es run fromcsv -N 12 --set 3 -i "$S/plain.csv" -o "$S/plain.bin"
es run tocsv -i "$S/plain.bin" -o "$S/plain2.csv"
same_file "$S/plain2.csv" "$S/plain.csv" "plain layout: csv -> stream -> csv is the same text"
is "$(es info "$S/plain.bin" | sed -n 's/^summary_set: //p')" 3 "--set sets the summary set id"
# stdin, several inputs, no header
es run tocsv -x -i "$S/g_l.bin" | es run fromcsv -N 12 >"$S/pipe.bin"
same_file "$S/pipe.bin" "$S/g_l.bin" "tocsv | fromcsv through pipes (stdin, stdout)"
es run tocsv -x -i "$S/g_l.bin" -o "$S/all.csv"
head -40 "$S/all.csv" >"$S/part1.csv"
{ head -1 "$S/all.csv"; tail -n +41 "$S/all.csv"; } >"$S/part2.csv"
es run fromcsv -N 12 -i "$S/part1.csv" "$S/part2.csv" -o "$S/parts.bin"
same_file "$S/parts.bin" "$S/g_l.bin" "two CSV inputs (split mid-record) give the whole stream"
es run tocsv -x -H -i "$S/g_s.bin" | es run fromcsv -H -t summary --set 3 -N 12 -o "$S/nohdr.bin"
same_file "$S/nohdr.bin" "$S/g_s.bin" "-H on both sides: no header line, type from -t"
sed 's/$/\r/' "$S/all.csv" | es run fromcsv -N 12 -o "$S/crlf.bin"
same_file "$S/crlf.bin" "$S/g_l.bin" "CRLF line ends"
printf 'event_id,summary_id,sidx,loss\n' | es run fromcsv -N 4 -o "$S/hdr.bin"
is "$(es info "$S/hdr.bin" | sed -n 's/^type: //p') $(wc -c <"$S/hdr.bin")" "summary 12" "header-only CSV: a header-only stream"
printf 'event_id,output_id,sidx,loss\n1,2,1,1\n' | es run fromcsv -N 4 -t gul -a coverage -o "$S/opt.bin"
is "$(es info "$S/opt.bin" | sed -n 's/^type: //p;s/^aggregation: //p' | tr '\n' ' ')" "gul coverage " "-t and -a override the columns"

# ---- errors: one line, non-zero, no output ----
printf 'event_id,item_id,sidx,loss\n1,2,1,1.5\n1,2,2,x\n' >"$S/bad.csv"
err_case "a bad CSV line names the file and line" "bad.csv:3: field 4: 'x' is not a number" \
  es run fromcsv -N 4 -i "$S/bad.csv" -o "$S/o1.bin"
if [ -e "$S/o1.bin" ] || ls "$S"/o1.bin.tmp.* >/dev/null 2>&1; then fail "bad CSV: no output left"; else pass "bad CSV: no output left"; fi
printf 'event_id,item_id,sidx,loss\n1,2,1,1\n1,2\n' | { es run fromcsv -N 4 -o "$S/o2.bin" 2>"$S/err"; echo $? >"$S/rc"; }
like "$(cat "$S/rc") $(cat "$S/err")" "^1 .*<stdin>:3: 2 fields, want 4" "stdin: missing fields name <stdin> and the line"
err_case "missing -N" "sample count \(-N\) is required for a loss stream" \
  es run fromcsv -i "$S/all.csv" -o "$S/o3.bin"
printf 'a,b,c\n1,2,3\n' >"$S/hdr.csv"
err_case "an unknown header names the file" "hdr.csv:1: unrecognised header" es run fromcsv -N 4 -i "$S/hdr.csv" -o "$S/o4.bin"
err_case "a missing CSV file names the path" "nosuch.csv: No such file or directory" \
  es run fromcsv -N 4 -i "$S/nosuch.csv" -o "$S/o5.bin"
printf 'event_id,item_id,sidx,loss\n1,2,11,1\n' >"$S/sidx.csv"
err_case "sidx beyond -N" "sidx.csv:2: sidx 11 out of range \(samples: 4\)" es run fromcsv -N 4 -i "$S/sidx.csv" -o "$S/o6.bin"
: >"$S/empty.csv"
err_case "an empty CSV without -t" "empty.csv: no CSV header and no rows" es run fromcsv -N 4 -i "$S/empty.csv" -o "$S/o7.bin"
err_case "tocsv --selt of a loss stream" "--selt is for summary streams" es run tocsv --selt -i "$S/loss.bin"
err_case "tocsv of a missing file" "nosuch.bin" es run tocsv -i "$S/nosuch.bin"
err_case "tocsv into a missing folder" "nodir/x.csv: No such file or directory" es run tocsv -i "$S/sum.bin" -o "$S/nodir/x.csv"
printf 'junk' >"$S/junk.bin"
err_case "tocsv of a bad stream" "junk.bin" es run tocsv -i "$S/junk.bin"
if [ ! -e "$S/o3.bin" ] && [ ! -e "$S/o4.bin" ] && [ ! -e "$S/o6.bin" ] && [ ! -e "$S/o7.bin" ]; then pass "failed conversions leave no output"
else fail "failed conversions leave no output"; fi

done_testing
