# CLI tests of the bundled AAL script: the reference cases (ALT, ALCT, mean-only
# ALT; csv and bin), every option, partitioned runs, hand-computed values, errors.
. "$(dirname "$0")/lib.sh"
S=$T_TMP
SC=tests/cli/scripts
mk() { lua5.4 $SC/mkstream.lua; }
# occ FILE P EVENT PERIOD ...: an occurrence.bin (date ids 1) with P periods
occ() {
  local f=$1
  shift
  lua5.4 - "$@" >"$f" <<'LUA'
local t = {string.pack("<i4i4", 1, tonumber(arg[1]))}
for i = 2, #arg, 2 do t[#t + 1] = string.pack("<i4i4i4", tonumber(arg[i]), tonumber(arg[i + 1]), 1) end
io.write(table.concat(t))
LUA
}
# fails NAME REGEX CMD...: exit status 1, one stderr line matching REGEX
fails() {
  local name=$1 re=$2
  shift 2
  "$@" >"$S/out" 2>"$S/err"
  local rc=$?
  if [ "$rc" -eq 1 ] && [ "$(wc -l <"$S/err")" -eq 1 ] && grep -qE -- "$re" "$S/err"; then pass "$name"
  else fail "$name" "status $rc, stderr: $(head -c 300 "$S/err")"; fi
}

if have_conf; then
  A=$CONF/aal
  # ---- the reference cases ----
  for c in basic weights n100 n1; do
    R=$A/$c
    es run aal --run-dir "$R" -K gul -a "$S/alt.csv" -c "$S/alct.csv"
    same_file "$S/alt.csv" "$R/py_alt.csv" "$c: ALT csv is byte-identical"
    same_file "$S/alct.csv" "$R/py_alct.csv" "$c: ALCT csv is byte-identical"
    es run aal --run-dir "$R" -K gul -a "$S/alt.bin" -c "$S/alct.bin" -E bin
    same_file "$S/alt.bin" "$R/py_alt.bin" "$c: ALT bin is byte-identical"
    same_file "$S/alct.bin" "$R/py_alct.bin" "$c: ALCT bin is byte-identical"
    es run aal --run-dir "$R" -K gul -a "$S/altm.csv" -M
    same_file "$S/altm.csv" "$R/py_alt_meanonly.csv" "$c: mean-only ALT csv is byte-identical"
    es run aal --run-dir "$R" -K gul -a "$S/altm.bin" -M -E bin
    same_file "$S/altm.bin" "$R/py_alt_meanonly.bin" "$c: mean-only ALT bin is byte-identical"
    es run aal --run-dir "$R" -K gul -a "$S/alt_only.csv"
    same_file "$S/alt_only.csv" "$R/py_alt.csv" "$c: ALT without -c is byte-identical too"
  done

  # ---- options ----
  R=$A/basic
  es run aal --run_dir "$R" -K gul -c "$S/alct_u.csv"
  same_file "$S/alct_u.csv" "$R/py_alct.csv" "--run_dir (the reference's spelling) works"
  es run aal --run-dir "$R" -i "$R/work/gul/summarypy1.bin" "$R/work/gul/summarypy2.bin" -a "$S/alt_i.csv"
  same_file "$S/alt_i.csv" "$R/py_alt.csv" "-i FILE... gives the -K result"
  es run aal --run-dir "$R" -i "$R/work/gul/summarypy2.bin" "$R/work/gul/summarypy1.bin" -a "$S/alt_r.csv" -c "$S/alct_r.csv"
  if cmp -s "$S/alt_r.csv" "$R/py_alt.csv" && cmp -s "$S/alct_r.csv" "$R/py_alct.csv"; then
    pass "inputs in the other order: the same tables"
  else fail "inputs in the other order: the same tables"; fi
  es run aal --run-dir "$R" -K gul -a - -H >"$S/stdout.csv"
  is "$(cat "$S/stdout.csv")" "$(tail -n +2 "$R/py_alt.csv")" "-a - writes to stdout; -H drops the header"
  es run aal --run-dir "$R" -i "$R/work/gul/summarypy1.bin" -a "$S/one.csv"
  cat "$R/work/gul/summarypy1.bin" | es run aal --run-dir "$R" -a "$S/stdin.csv"
  same_file "$S/stdin.csv" "$S/one.csv" "reads stdin without -K or -i"
  # -l: the interval is MeanLoss -+ StandardError * z
  zof() { awk -F, 'NR > 1 && $7 > 0 { printf "%.4f", ($6 - $2) / $7; exit }' "$1"; }
  es run aal --run-dir "$R" -K gul -c "$S/l99.csv" -l 0.99
  is "$(zof "$S/l99.csv")" "2.5762" "-l 0.99: z = 2.5762 (the reference's approximation of 2.5758)"
  is "$(zof "$R/py_alct.csv")" "1.9604" "default level 0.95: z = 1.9604"
  es run aal --help >"$S/help"
  like "$(cat "$S/help")" "--partial STATE" "--help lists the options"

  # ---- partitioned runs: the events split in 2 and 3 parts, states merged ----
  for c in basic weights n100; do
    R=$A/$c
    for k in 2 3; do
      parts=()
      for i in $(seq 1 $k); do parts+=("$S/$c.$k.$i.bin"); done
      es run $SC/aal_split.lua "${parts[@]}" -i "$R"/work/gul/*.bin
      states=()
      for i in $(seq 1 $k); do
        es run aal --run-dir "$R" -i "$S/$c.$k.$i.bin" --partial "$S/$c.$k.$i.state"
        states+=("$S/$c.$k.$i.state")
      done
      es run aal --run-dir "$R" --merge "${states[@]}" -a "$S/m_alt.csv" -c "$S/m_alct.csv"
      es run aal --run-dir "$R" --merge "${states[@]}" -a "$S/m_alt.bin" -c "$S/m_alct.bin" -E bin
      es run aal --run-dir "$R" --merge "${states[@]}" -a "$S/m_altm.csv" -M
      if cmp -s "$S/m_alt.csv" "$R/py_alt.csv" && cmp -s "$S/m_alct.csv" "$R/py_alct.csv" \
         && cmp -s "$S/m_alt.bin" "$R/py_alt.bin" && cmp -s "$S/m_alct.bin" "$R/py_alct.bin" \
         && cmp -s "$S/m_altm.csv" "$R/py_alt_meanonly.csv"; then
        pass "$c: $k partial states merged = the reference tables (csv, bin, -M)"
      else fail "$c: $k partial states merged = the reference tables (csv, bin, -M)"; fi
    done
  done
  R=$A/basic
  es run aal --run-dir "$R" --merge "$S/basic.3.3.state" "$S/basic.3.1.state" "$S/basic.3.2.state" -c "$S/m_o.csv"
  same_file "$S/m_o.csv" "$R/py_alct.csv" "merge order does not matter"
  es run aal --run-dir "$R" -K gul --partial "$S/all.state"
  es run aal --run-dir "$R" --merge "$S/all.state" -a "$S/m1.csv"
  same_file "$S/m1.csv" "$R/py_alt.csv" "one state of the whole run = the run"

  # ---- mismatched or broken states: one line, status 1, no table ----
  es run aal --run-dir "$A/n1" -K gul --partial "$S/n1.state"
  fails "states with other sample counts do not merge" "n1.state: 1 samples per record, .*basic.3.1.state has 10" \
    es run aal --run-dir "$R" --merge "$S/basic.3.1.state" "$S/n1.state" -a "$S/x.csv"
  es gen -t summary -e 1500 -r 5 -s 10 --set 2 -o "$S/set2.bin"
  es run aal --run-dir "$R" -i "$S/set2.bin" --partial "$S/set2.state"
  fails "states of another summary set do not merge" "set2.state: summary set 2, .* has summary set 1" \
    es run aal --run-dir "$R" --merge "$S/basic.3.1.state" "$S/set2.state" -a "$S/x.csv"
  mkdir -p "$S/other/input"
  occ "$S/other/input/occurrence.bin" 1000 1 1 2 2
  fails "a state of another occurrence file does not merge" "basic.3.1.state: made with another occurrence file" \
    es run aal --run-dir "$S/other" --merge "$S/basic.3.1.state" -a "$S/x.csv"
  cp "$S/basic.3.1.state" "$S/bad.state"
  printf 'X' | dd of="$S/bad.state" bs=1 seek=300 conv=notrunc 2>/dev/null
  fails "a corrupted state: error" "bad.state: .*corrupt" es run aal --run-dir "$R" --merge "$S/bad.state" -a "$S/x.csv"
  head -c 200 "$S/basic.3.1.state" >"$S/cut.state"
  fails "a truncated state: error" "cut.state: .*truncated" es run aal --run-dir "$R" --merge "$S/cut.state" -a "$S/x.csv"
  fails "a table is not a state" "py_alt.csv: .*not an evstream accumulator state" \
    es run aal --run-dir "$R" --merge "$R/py_alt.csv" -a "$S/x.csv"
  fails "the same state twice: error" "given twice" \
    es run aal --run-dir "$R" --merge "$S/all.state" "$S/all.state" -a "$S/x.csv"
  fails "--merge reads no streams" "drop -i" es run aal --run-dir "$R" --merge "$S/all.state" -i "$S/set2.bin" -a "$S/x.csv"
  [ -e "$S/x.csv" ] && fail "no table after a failed merge" || pass "no table after a failed merge"

  # ---- all_files: the public case has no streams; check our tables have its shapes and identities ----
  F=$A/all_files
  mkdir -p "$S/af/input" "$S/af/work/gul"
  cp "$F/input/occurrence.bin" "$S/af/input/"
  es gen -t summary -e 1500 -r 100 -s 100 -z 0.95 --seed 7 -o "$S/af/work/gul/s.bin"
  es run aal --run-dir "$S/af" -K gul -a "$S/af_alt.csv" -c "$S/af_alct.csv"
  es run aal --run-dir "$S/af" -K gul -a "$S/af_altm.csv" -M
  for t in "alt:aalgul" "alct:alctgul" "altm:aalmeanonlygul"; do
    is "$(head -1 "$S/af_${t%%:*}.csv")" "$(head -1 "$F/py_${t#*:}.csv")" "all_files: ${t%%:*} header"
  done
  # shapes: ALT types 1 then 2 over the same ids; -M interleaved; ALCT sizes 1 2 4 8 16 32 100 per summary
  shape() {  # a one-line description of a table's row pattern
    awk -F, -v t="$2" 'NR == 1 { next }
      t == "alt" { ty[NR] = $2; id[NR] = $1; n++ }
      t == "altm" { if ($2 != (NR % 2 ? 2 : 1)) bad = 1; n++ }
      t == "alct" { s = s $4 " "; if ($4 == 100) { if (s != "1 2 4 8 16 32 100 ") bad = 1; s = ""; m++ } n++ }
      END {
        if (t == "alt") { h = n / 2; for (i = 2; i <= 1 + h; i++) if (ty[i] != 1 || ty[i + h] != 2 || id[i] != id[i + h]) bad = 1 }
        if (t == "alct" && (s != "" || m == 0)) bad = 1
        if (n == 0) bad = 1
        print (bad ? "bad" : "ok") }' "$1"
  }
  for t in alt alct altm; do
    case $t in alt) f=aalgul ;; alct) f=alctgul ;; altm) f=aalmeanonlygul ;; esac
    is "$(shape "$F/py_$f.csv" $t) $(shape "$S/af_$t.csv" $t)" "ok ok" "all_files: $t row pattern as the reference's"
  done
  # identities: the last ALCT subset is the ALT sample row; StandardError^2 = VarElementVuln
  ident() {  # ALT ALCT
    awk -F, 'FNR == 1 { next } NR == FNR { if ($2 == 2) m[$1] = $3 "," $4; next }
      $4 == 100 && m[$1] != $2 "," $3 { bad++ }
      { se2 = $7 * $7; if ($7 == $7 + 0 && (se2 - $12 > 1e-5 * ($12 + 1) || $12 - se2 > 1e-5 * ($12 + 1))) bad++ }
      END { print bad + 0 }' "$1" "$2"
  }
  is "$(ident "$F/py_aalgul.csv" "$F/py_alctgul.csv") $(ident "$S/af_alt.csv" "$S/af_alct.csv")" "0 0" \
    "all_files identities hold in the reference's tables and ours"
  is "$(tail -n +2 "$S/af_alct.csv" | wc -l)" 700 "all_files: 100 summaries x 7 subsets, as the reference"
else
  skip "AAL conformance: $CONF not found"
fi

# ---- hand-computed: N = 2, P = 4 ----
# event 1 in period 1; event 2 twice in period 2; event 3 in period 4; event 4 in no period.
mkdir -p "$S/hand/input"
occ "$S/hand/input/occurrence.bin" 4 1 1 2 2 2 2 3 4
printf 'H 3 1 2 1\nR 1 1 1\nP -5 100\nP -1 10\nP 1 4\nP 2 8\nT\nR 2 1 1\nP -1 6\nP 1 2\nT\nR 3 2 1\nP -1 5\nP 1 5\nT\nR 4 4 1\nP -1 99\nT\n' \
  | mk >"$S/hand.bin"
es run aal --run-dir "$S/hand" -i "$S/hand.bin" -a "$S/h_alt.csv" -c "$S/h_alct.csv"
# summary 1: V = [10, 4, 8] in period 1, [12, 4, 0] in period 2 (counted twice); -5 is not a loss
is "$(tail -n +2 "$S/h_alt.csv" | tr '\n' ' ')" \
  "1,1,5.500000,6.403124 2,1,1.250000,2.500000 1,2,2.000000,3.023716 2,2,0.625000,1.767767 " \
  "hand case: ALT (an event twice in a period counts twice; events in no period add nothing)"
is "$(sed -n 2,3p "$S/h_alct.csv" | tr '\n' ' ')" \
  "1,2.000000,2.309401,1,0.000000,0.000000,0.000000,0.000000,1.333333,1.154701,0.577350,0.000000,0.000000,0.000000 1,2.000000,3.023716,2,0.868165,3.131835,0.577350,0.288675,2.000000,1.414214,0.707107,0.333333,0.577350,0.288675 " \
  "hand case: ALCT rows of summary 1"
is "$(tail -n +2 "$S/h_alct.csv" | cut -d, -f1 | tr '\n' ' ')" "1 1 2 2 " "ALCT: ids up to the largest that fell in a period (4 did not)"
# a summary id with no record in between gets ALCT rows of zeros and nan ratios
printf 'H 3 1 2 1\nR 1 3 1\nP -1 2\nP 1 2\nP 2 2\nT\n' | mk >"$S/gap.bin"
es run aal --run-dir "$S/hand" -i "$S/gap.bin" -a "$S/g_alt.csv" -c "$S/g_alct.csv"
is "$(sed -n 2p "$S/g_alct.csv")" "1,0.000000,0.000000,1,0.000000,0.000000,0.000000,nan,0.000000,0.000000,nan,0.000000,0.000000,nan" \
  "ALCT: an id without records: zeros and nan (not -nan)"
is "$(tail -n +2 "$S/g_alt.csv" | cut -d, -f1 | tr '\n' ' ')" "3 3 " "ALT: only the ids that had records"
es run aal --run-dir "$S/hand" -i "$S/gap.bin" -c "$S/g_alct.bin" -E bin
is "$(od -A n -t x4 -j 28 -N 4 "$S/g_alct.bin" | tr -d ' ')" "ffc00000" "bin: the NaN bits of the reference (negative quiet NaN)"

# a summary whose records add nothing (only a -5 pair) but fall in an occurrence is listed with zeros, as aalpy does
printf 'H 3 1 2 1\nR 1 1 1\nP -1 4\nP 1 2\nT\nR 1 2 1\nP -5 7\nT\n' | mk >"$S/only5.bin"
es run aal --run-dir "$S/hand" -i "$S/only5.bin" -a "$S/o5_alt.csv"
is "$(tail -n +2 "$S/o5_alt.csv" | tr '\n' ' ')" \
  "1,1,1.000000,2.000000 2,1,0.000000,0.000000 1,2,0.250000,0.707107 2,2,0.000000,0.000000 " \
  "a summary with only a -5 pair in an occurring event: listed with zero rows"

# N = 0 (mean-only stream): SampleType 1 rows only, ALCT without rows
printf 'H 3 1 0 1\nR 1 1 1\nP -1 10\nT\nR 2 1 1\nP -1 6\nT\n' | mk >"$S/n0.bin"
es run aal --run-dir "$S/hand" -i "$S/n0.bin" -a "$S/n0_alt.csv" -c "$S/n0_alct.csv"
is "$(tail -n +2 "$S/n0_alt.csv" | tr '\n' ' ')$(tail -n +2 "$S/n0_alct.csv" | wc -l)" "1,1,5.500000,6.403124 0" \
  "N = 0: the analytical rows only, no ALCT rows"

# ---- no record in any occurrence: tables without rows and a warning ----
printf 'H 3 1 2 1\nR 9 1 1\nP -1 10\nP 1 4\nT\n' | mk >"$S/none.bin"
es run aal --run-dir "$S/hand" -i "$S/none.bin" -a "$S/n_alt.csv" -c "$S/n_alct.csv" 2>"$S/err"
is "$?" 0 "no record in any occurrence: success"
like "$(cat "$S/err")" "warning: no summary record .* falls in an occurrence" "... with a warning"
is "$(cat "$S/n_alt.csv" "$S/n_alct.csv" | cut -d, -f1-2 | tr '\n' ' ')" "SummaryId,SampleType SummaryId,MeanLoss " "... and header-only tables"
es run aal --run-dir "$S/hand" -i "$S/none.bin" -a "$S/n_alt.bin" -E bin 2>/dev/null
is "$(wc -c <"$S/n_alt.bin" | tr -d ' ')" 0 "... empty bin tables"
es run aal --run-dir "$S/hand" -i "$S/none.bin" --partial "$S/none.state"
es run aal --run-dir "$S/hand" -i "$S/hand.bin" --partial "$S/hand.state"
es run aal --run-dir "$S/hand" --merge "$S/none.state" "$S/hand.state" -a "$S/nh.csv"
same_file "$S/nh.csv" "$S/h_alt.csv" "an empty state merges as nothing"

# ---- bad input: one line, status 1, no output ----
mkdir -p "$S/bad/input" "$S/bad/work/empty" "$S/bad/work/mixed"
cp "$S/hand/input/occurrence.bin" "$S/bad/input/"
fails "no streams in the folder" "aal: .*/work/empty: no \*.bin summary streams" \
  es run aal --run-dir "$S/bad" -K empty -a "$S/x.csv"
fails "no such folder" "work/nosuch: not a directory" es run aal --run-dir "$S/bad" -K nosuch -a "$S/x.csv"
es gen -t summary -e 4 -s 2 -o "$S/bad/work/mixed/a.bin"
es gen -t summary -e 4 -s 3 -o "$S/bad/work/mixed/b.bin"
fails "headers that differ" "headers differ: .*a.bin .*b.bin" es run aal --run-dir "$S/bad" -K mixed -a "$S/x.csv"
fails "missing occurrence file" "aal: $S/input/occurrence.bin: no such file" \
  es run aal --run-dir "$S" -i "$S/hand.bin" -a "$S/x.csv"
fails "a loss stream is not a summary stream" "aal reads summary streams" \
  sh -c "'$EVSTREAM_BIN' gen -t loss -e 2 -s 2 | '$EVSTREAM_BIN' run aal --run-dir '$S/hand' -a '$S/x.csv'"
fails "nothing to do" "nothing to do" es run aal --run-dir "$S/hand" -i "$S/hand.bin"
fails "-K and -i together" "either -K or -i" es run aal --run-dir "$S/bad" -K mixed -i "$S/hand.bin" -a "$S/x.csv"
fails "--partial with tables" "drop -a/-c" es run aal --run-dir "$S/hand" -i "$S/hand.bin" --partial "$S/p" -a "$S/x.csv"
fails "confidence out of range" "confidence level must be in" es run aal --run-dir "$S/hand" -i "$S/hand.bin" -c "$S/x.csv" -l 1
fails "a stray argument" "unexpected argument" es run aal --run-dir "$S/hand" -i "$S/hand.bin" -a "$S/x.csv" extra
[ -e "$S/x.csv" ] && fail "no table after a failed run" || pass "no table after a failed run"

done_testing
