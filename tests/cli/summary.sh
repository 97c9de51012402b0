# CLI tests of the bundled summary script: the reference cases, an
# independent Lua model on generated streams, -z, -m, errors, FIFOs.
. "$(dirname "$0")/lib.sh"
S=$T_TMP
C=tests/cli/scripts
mk() { lua5.4 $C/mkstream.lua; }
rows() { es run tocsv -H -i "$1" | tr '\n' ' '; }
# err_case NAME REGEX CMD...: fails with one stderr line matching REGEX
err_case() {
  local name=$1 re=$2; shift 2
  "$@" 2>"$S/err" >/dev/null; local rc=$?
  if [ $rc -ne 0 ] && [ "$(wc -l <"$S/err")" -eq 1 ] && grep -qE -- "$re" "$S/err"; then pass "$name"
  else fail "$name" "rc=$rc stderr: $(head -3 "$S/err")"; fi
}
# no_output NAME PATH...: nothing, not even a temporary, is left at PATH
no_output() {
  local name=$1 p left=""; shift
  for p in "$@"; do
    [ -e "$p" ] && left="$left $p"
    ls "$p".tmp.* >/dev/null 2>&1 && left="$left $p.tmp.*"
  done
  if [ -z "$left" ]; then pass "$name"; else fail "$name" "left behind:$left"; fi
}

# ---- the reference cases (OasisLMF summarypy test assets) ----
if have_conf; then
  R=$CONF/summary
  ncase=0
  for kind in single_summary_set multiple_summary_set; do
    for t in gul il ri; do
      dir=$R/$kind; extra=""
      [ $t = ri ] && { dir=$R/$kind/RI_1; extra=-z; }
      outs=""
      for exp in "$R/$kind/${t}"_S*_summary.bin; do
        set_id=$(basename "$exp" | sed 's/.*_S\([0-9]\)_summary.bin/\1/')
        outs="$outs -$set_id $S/$kind/$(basename "$exp")"
      done
      mkdir -p "$S/$kind"
      es run summary -t $t -p "$dir" $extra -m -i "$R/$t.bin" $outs
      for exp in "$R/$kind/${t}"_S*_summary.bin; do
        b=$(basename "$exp" .bin)
        same_file "$S/$kind/$b.bin" "$exp" "$kind $t: $b.bin is byte-identical"
        same_file "$S/$kind/$b.idx" "$R/$kind/$b.idx" "$kind $t: $b.idx is byte-identical"
        ncase=$((ncase + 1))
      done
    done
  done
  is "$ncase" 10 "all 10 reference outputs (single: 3, multiple: 7) were compared"
  # the options matter: without -z, ri differs; without the summary map there is no -4
  es run summary -t ri -p "$R/single_summary_set/RI_1" -i "$R/ri.bin" -1 "$S/ri_noz.bin"
  if cmp -s "$S/ri_noz.bin" "$R/single_summary_set/ri_S1_summary.bin"; then fail "ri without -z differs from the -z reference"
  else pass "ri without -z differs from the -z reference"; fi
  mkdir -p "$S/nomap"
  cp "$R/single_summary_set/gulsummaryxref.bin" "$S/nomap/"
  es run summary -t gul -p "$S/nomap" -i "$R/gul.bin" -1 "$S/gul_nomap.bin"
  like "$(rows "$S/$kind/gul_S1_summary.bin")" ",-4," "gul with the summary map: -4 pairs"
  if rows "$S/gul_nomap.bin" | grep -q ",-4,"; then fail "gul without the summary map: no -4 pair"
  else pass "gul without the summary map: no -4 pair"; fi
  # several inputs: the events of both, each once
  es run $C/split.lua "$S/g_a.bin" "$S/g_b.bin" -i "$R/gul.bin"
  es run summary -t gul -p "$R/single_summary_set" -i "$S/g_a.bin" "$S/g_b.bin" -1 "$S/two.bin"
  is "$(es run tocsv -H -i "$S/two.bin" | sort)" "$(es run tocsv -H -i "$R/single_summary_set/gul_S1_summary.bin" | sort)" \
    "two input files: the reference records"
else
  skip "summary conformance: $CONF not found"
fi

# ---- generated streams against an independent Lua model ----
mkdir -p "$S/in"
{
  echo "item_id,summary_id,summaryset_id"
  for i in $(seq 1 12); do
    echo "$i,$(( (i - 1) % 4 + 1 )),1"
    echo "$i,$(( i % 3 * 5 + 2 )),2"     # sparse ids 2, 7, 12
  done
} >"$S/in/gulsummaryxref.csv"
{
  echo "loc_id,item_id,building_id,other"
  for i in $(seq 1 12); do echo "$(( (i + 1) / 3 )),$i,$(( i % 2 )),x"; done
} >"$S/in/gul_summary_map.csv"
es gen -t gul -e 60 -r 12 -s 9 -z 0.6 --seed 5 -o "$S/gen.bin"
es run summary -t gul -p "$S/in" -m -i "$S/gen.bin" -1 "$S/g1.bin" -2 "$S/g2.bin"
es run $C/ref_summary.lua "$S/in/gulsummaryxref.csv" "$S/in/gul_summary_map.csv" 0 1 "$S/r1.bin" 2 "$S/r2.bin" -i "$S/gen.bin"
same_file "$S/g1.bin" "$S/r1.bin" "generated gul, set 1: equals the Lua model (float32 sums, -4 risks)"
same_file "$S/g2.bin" "$S/r2.bin" "generated gul, set 2 (sparse summary ids): equals the Lua model"
same_file "$S/g1.idx" "$S/r1.bin.idx" "-m: the .idx of set 1 equals the model's offsets"
same_file "$S/g2.idx" "$S/r2.bin.idx" "-m: the .idx of set 2 equals the model's offsets"
es run summary -t gul -p "$S/in" -z -i "$S/gen.bin" -1 "$S/z1.bin"
es run $C/ref_summary.lua "$S/in/gulsummaryxref.csv" "$S/in/gul_summary_map.csv" 1 1 "$S/rz1.bin" -i "$S/gen.bin"
same_file "$S/z1.bin" "$S/rz1.bin" "-z: every sample 1..N, equals the Lua model"
mv "$S/in/gul_summary_map.csv" "$S/gul_summary_map.csv.off"
es run summary -t gul -p "$S/in" -i "$S/gen.bin" -1 "$S/n1.bin"
es run $C/ref_summary.lua "$S/in/gulsummaryxref.csv" - 0 1 "$S/rn1.bin" -i "$S/gen.bin"
same_file "$S/n1.bin" "$S/rn1.bin" "no summary map: no -4, equals the Lua model"
mv "$S/gul_summary_map.csv.off" "$S/in/gul_summary_map.csv"
is "$(es info "$S/g2.bin" | sed -n 's/^summary_set: //p')" 2 "the output header carries the set id"

# ---- hand-made: skipping rule, ignored -2/-4, NaN, zero samples ----
mkdir -p "$S/hand"
printf 'output,summary_id,summaryset_id\n1,1,1\n2,2,1\n3,1,1\n4,3,1\n' >"$S/hand/fmsummaryxref.csv"
printf 'H 2 1 3\nR 7 4\nP -1 2\nP 1 2\nT\nR 7 1\nP -5 10\nP -4 0.5\nP -3 100\nP -2 7\nP -1 4\nP 1 3\nP 3 5\nT\nR 7 2\nP -5 9\nP -1 0\nP 2 0\nT\nR 7 3\nP -3 50\nP -1 nan\nP 1 1.5\nT\n' | mk >"$S/hand.bin"
es run summary -t ri -p "$S/hand" -i "$S/hand.bin" -1 "$S/h.bin" 2>/dev/null
is "$(rows "$S/h.bin")" "7,1,-5,10.00 7,1,-1,4.00 7,1,1,4.50 7,1,3,5.00 7,3,-5,0.00 7,3,-1,2.00 7,3,1,2.00 " \
  "ri: sums per summary in id order, -2/-4 ignored, NaN read as 0, only the zero-exposure zero-mean summary skipped"
is "$(es run tocsv -x -H -i "$S/h.bin" | head -1)" "7,1,150,-5,10" "exposure_value is the sum of the -3 losses"
es run summary -t ri -p "$S/hand" -z -i "$S/hand.bin" -1 "$S/hz.bin" 2>/dev/null
is "$(rows "$S/hz.bin")" "7,1,-5,10.00 7,1,-1,4.00 7,1,1,4.50 7,1,2,0.00 7,1,3,5.00 7,2,-5,9.00 7,2,-1,0.00 7,2,1,0.00 7,2,2,0.00 7,2,3,0.00 7,3,-5,0.00 7,3,-1,2.00 7,3,1,2.00 7,3,2,0.00 7,3,3,0.00 " \
  "-z: zero samples and the zero summary are written"
printf 'H 2 1 3\n' | mk >"$S/empty.bin"
es run summary -t ri -p "$S/hand" -m -i "$S/empty.bin" -1 "$S/e.bin"
is "$(wc -c <"$S/e.bin") $(wc -c <"$S/e.idx")" "12 0" "a stream without events: a header-only output and a 0-byte .idx"
es run summary -t ri -p "$S/hand" -m -i "$S/hand.bin" -1 "$S/noext" 2>/dev/null
es run summary -t ri -p "$S/hand" -m -i "$S/hand.bin" -1 "$S/x.out" 2>/dev/null
if [ -f "$S/noext.idx" ] && [ -f "$S/x.idx" ]; then pass "-m: the .idx replaces the extension (or is appended)"
else fail "-m: the .idx replaces the extension (or is appended)"; fi
es run summary -t ri -p "$S/hand" -i "$S/hand.bin" -1 - 2>/dev/null >"$S/stdout.bin"
same_file "$S/stdout.bin" "$S/h.bin" "-1 - writes to stdout"
es run summary --help | grep -q -- "-9 PATH" && pass "--help lists the set outputs" || fail "--help lists the set outputs"

# ---- errors: one line, non-zero, no output left ----
err_case "missing xref names the path" "nowhere/gulsummaryxref.bin or .*nowhere/gulsummaryxref.csv: no such file" \
  es run summary -t gul -p "$S/nowhere" -i "$S/gen.bin" -1 "$S/o1.bin"
no_output "missing xref: no output" "$S/o1.bin"
printf 'item_id,summary_id,summaryset_id\n1,1,1\n2,1,1\n' >"$S/hand/gulsummaryxref.csv"
err_case "unmapped item names the item, the xref and the event" \
  "item_id 3 is not in .*hand/gulsummaryxref.csv \(summary set 1\) \(event 1\)" \
  es run summary -t gul -p "$S/hand" -m -i "$S/gen.bin" -1 "$S/o2.bin"
no_output "unmapped item: no output file, no temporary" "$S/o2.bin" "$S/o2.idx"
echo "old" >"$S/keep.bin"
es run summary -t gul -p "$S/hand" -i "$S/gen.bin" -1 "$S/keep.bin" 2>/dev/null
is "$(cat "$S/keep.bin")" "old" "a failed run leaves an existing output as it was"
err_case "a summary stream is refused" "input is a summary stream; summary reads loss streams" \
  es run summary -t gul -p "$S/in" -i "$S/g1.bin" -1 "$S/o4.bin"
no_output "summary stream input: no output" "$S/o4.bin"
err_case "a set not in the xref" "summary set 3 is not in .*gulsummaryxref.csv \(it has sets 1, 2\)" \
  es run summary -t gul -p "$S/in" -i "$S/gen.bin" -3 "$S/o5.bin"
printf 'item_id,summary_id,summaryset_id\n1,1,1\n2,oops,1\n' >"$S/hand/gulsummaryxref.csv"
err_case "a bad xref line names file and line" "hand/gulsummaryxref.csv:3: column 2: 'oops' is not an integer" \
  es run summary -t gul -p "$S/hand" -i "$S/gen.bin" -1 "$S/o6.bin"
printf 'item_id,summary_id,summaryset_id\n1,1,1\n' >"$S/hand/gulsummaryxref.csv"
printf 'loc_id,item_id\n1,1\n' >"$S/hand/gul_summary_map.csv"
err_case "a summary map without building_id names the file" "hand/gul_summary_map.csv:1: no column building_id" \
  es run summary -t gul -p "$S/hand" -i "$S/gen.bin" -1 "$S/o7.bin"
printf 'item_id,summary_id\n1,1\n' >"$S/hand/gulsummaryxref.csv"
err_case "an xref without summaryset_id names the file" "hand/gulsummaryxref.csv:1: no column summaryset_id" \
  es run summary -t gul -p "$S/hand" -i "$S/gen.bin" -1 "$S/o8.bin"
err_case "no run type" "give the run type with -t" es run summary -p "$S/in" -i "$S/gen.bin" -1 "$S/o9.bin"
err_case "no output" "nothing to do" es run summary -t gul -p "$S/in" -i "$S/gen.bin"
err_case "unwritable output names the path" "nodir/o.bin: No such file or directory" \
  es run summary -t gul -p "$S/in" -i "$S/gen.bin" -1 "$S/nodir/o.bin"
err_case "-m with stdout" "-m needs file outputs" es run summary -t gul -p "$S/in" -m -i "$S/gen.bin" -1 -
err_case "two sets, one path" "sets 1 and 2 write to the same path" \
  es run summary -t gul -p "$S/in" -i "$S/gen.bin" -1 "$S/same.bin" -2 "$S/same.bin"

# ---- FIFOs: back pressure into a downstream elt ----
if command -v mkfifo >/dev/null && command -v timeout >/dev/null; then
  mkdir -p "$S/run"
  es gen -t gul -e 2000 -r 12 -s 9 --seed 9 -o "$S/big.bin"
  es run summary -t gul -p "$S/in" -i "$S/big.bin" -1 "$S/big_s1.bin"
  es run elt -i "$S/big_s1.bin" -r "$S/run" -s "$S/selt_file.csv"
  tes() { timeout 120 ${EVSTREAM_WRAP:-} "$EVSTREAM_BIN" "$@"; }
  mkfifo "$S/fifo"
  tes run summary -t gul -p "$S/in" -i "$S/big.bin" -1 "$S/fifo" &
  tes run elt -i "$S/fifo" -r "$S/run" -s "$S/selt_fifo.csv"
  wait
  same_file "$S/selt_fifo.csv" "$S/selt_file.csv" "summary into a FIFO read by elt: the SELT of the file run"
  is "$(wc -c <"$S/big_s1.bin" | awk '$1 > 65536 {print "big"}')" "big" "the FIFO test stream is larger than a pipe buffer"
  # gen -p 1/2 and 2/2 in parallel -> summary (two FIFO inputs) -> FIFO -> elt
  mkfifo "$S/p1" "$S/p2" "$S/sum"
  tes gen -t gul -e 2000 -r 12 -s 9 --seed 9 -p 1/2 -o "$S/p1" &
  tes gen -t gul -e 2000 -r 12 -s 9 --seed 9 -p 2/2 -o "$S/p2" &
  tes run summary -t gul -p "$S/in" -i "$S/p1" "$S/p2" -1 "$S/sum" &
  tes run elt -i "$S/sum" -r "$S/run" -s "$S/selt_pipe.csv"
  wait
  is "$(tail -n +2 "$S/selt_pipe.csv" | sort | md5sum)" "$(tail -n +2 "$S/selt_file.csv" | sort | md5sum)" \
    "gen -p 1/2 + gen -p 2/2 | summary | elt through FIFOs: the SELT rows of the whole run"
  is "$(tail -n +2 "$S/selt_pipe.csv" | wc -l)" "$(tail -n +2 "$S/selt_file.csv" | wc -l)" "pipeline: as many rows"
else
  skip "FIFO tests: mkfifo or timeout missing"
fi

done_testing
