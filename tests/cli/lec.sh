# CLI tests of the bundled EP curve script: the six reference cases (csv and
# bin, every flag), flag subsets, partial states and merging, edge cases.
. "$(dirname "$0")/lib.sh"
S=$T_TMP
ALL="-F -f -W -w -S -s -M -m"
cases="lec lec_rp lec_pw lec_pw_rp ties_pw ties_pw_rp"
rflag() { case $1 in *_rp) echo -r ;; esac; }

# The consecutive-chunk splitter: the events, in the order read, into K
# parts, so that the parts in order are the single run's stream.
cat >"$S/chunks.lua" <<'EOF'
local evstream = require "evstream"
local total, outs, n = tonumber(arg[1]), {}, 0
function begin(info)
  for i = 2, #arg do
    outs[i - 1] = assert(evstream.stream{path = arg[i], source = info.source, agg = info.agg,
      len_sample = info.len_sample, summary_set_id = info.summary_set_id})
  end
end
function event(ev)
  outs[n * #outs // total + 1]:copy(ev)
  n = n + 1
end
EOF

# The reference rows a subset of the flags gives, cut from the all-flags
# output: each (EPCalc, EPType) block is written as a whole, in a fixed
# order, so a subset is the full output without the blocks not asked for.
# expect_ept FLAGS WEIGHTED < py_ept.csv
expect_ept() {
  local f=" $1 " w=$2
  local F=0 f_=0 S=0 s=0 M=0 m=0 W=0 w_=0
  case $f in *" -F "*) F=1 ;; esac; case $f in *" -f "*) f_=1 ;; esac
  case $f in *" -S "*) S=1 ;; esac; case $f in *" -s "*) s=1 ;; esac
  case $f in *" -M "*) M=1 ;; esac; case $f in *" -m "*) m=1 ;; esac
  case $f in *" -W "*) W=1 ;; esac; case $f in *" -w "*) w_=1 ;; esac
  awk -F, -v F=$F -v f=$f_ -v S=$S -v s=$s -v M=$M -v m=$m -v W=$W -v w=$w_ -v wt="$w" '
    NR == 1 { print; next }
    { occ = ($3 <= 2); keep = 0
      if ($2 == 1) keep = occ ? (f || s || m) : (F || S || M)
      if ($2 == 2) keep = occ ? f : F
      if ($2 == 3) keep = occ ? (m && (!wt || w)) : (M && (!wt || W))
      if ($2 == 4) keep = occ ? s : S
      if (keep) print }'
}
expect_psept() {
  local f=" $1 " W=0 w_=0
  case $f in *" -W "*) W=1 ;; esac; case $f in *" -w "*) w_=1 ;; esac
  awk -F, -v W=$W -v w=$w_ 'NR == 1 || ($3 <= 2 && w) || ($3 > 2 && W)'
}

if have_conf; then
  L=$CONF/lec
  # ---- the reference cases, every flag ----
  for c in $cases; do
    R=$(rflag $c)
    es run lec --run-dir "$L/$c" -K gul -O "$S/$c.ept.csv" -o "$S/$c.psept.csv" $ALL $R 2>/dev/null
    same_file "$S/$c.ept.csv" "$L/$c/py_ept.csv" "$c: EPT csv is byte-identical (all flags $R)"
    same_file "$S/$c.psept.csv" "$L/$c/py_psept.csv" "$c: PSEPT csv is byte-identical"
    es run lec --run-dir "$L/$c" -K gul -O "$S/$c.ept.bin" -o "$S/$c.psept.bin" $ALL $R -E bin 2>/dev/null
    same_file "$S/$c.ept.bin" "$L/$c/py_ept.bin" "$c: EPT bin is byte-identical"
    same_file "$S/$c.psept.bin" "$L/$c/py_psept.bin" "$c: PSEPT bin is byte-identical"
  done

  # ---- flag subsets: the reference's blocks, nothing else ----
  for c in lec_rp lec_pw ties_pw_rp; do
    R=$(rflag $c); wt=""; [ -f "$L/$c/input/periods.bin" ] && wt=1
    for flags in "-F" "-f" "-S -s" "-M" "-m -w" "-F -w -s" "-W" "-w -M" "-f -S -m"; do
      rm -f "$S/sub.ept.csv" "$S/sub.psept.csv"
      es run lec --run-dir "$L/$c" -K gul -O "$S/sub.ept.csv" -o "$S/sub.psept.csv" $flags $R 2>/dev/null
      exp_e=$(expect_ept "$flags" "$wt" <"$L/$c/py_ept.csv")
      if [ "$(echo "$exp_e" | wc -l)" -gt 1 ] || case " $flags " in *" -"[FfSsMm]" "*) true ;; *) false ;; esac; then
        is "$(cat "$S/sub.ept.csv" 2>/dev/null)" "$exp_e" "$c $flags: EPT has exactly the reference's blocks"
      else
        ok "$([ ! -e "$S/sub.ept.csv" ]; echo $?)" "$c $flags: no EPT curve asked for, no EPT file"
      fi
      case " $flags " in
        *" -W "* | *" -w "*)
          is "$(cat "$S/sub.psept.csv")" "$(expect_psept "$flags" <"$L/$c/py_psept.csv")" \
            "$c $flags: PSEPT has exactly the reference's blocks" ;;
        *) ok "$([ ! -e "$S/sub.psept.csv" ]; echo $?)" "$c $flags: no per-sample curve, no PSEPT file" ;;
      esac
    done
  done

  # ---- other ways in and out ----
  c=lec_rp
  es run lec --run-dir "$L/$c" -K gul -O - -H -F -r >"$S/stdout.csv"
  is "$(cat "$S/stdout.csv")" "$(expect_ept "-F" "" <"$L/$c/py_ept.csv" | tail -n +2)" "-O - writes to stdout; -H drops the header"
  es run lec --run-dir "$L/$c" -O "$S/i.ept.csv" -o "$S/i.psept.csv" $ALL -r -i "$L/$c"/work/gul/summarypy1.bin "$L/$c"/work/gul/summarypy2.bin
  same_file "$S/i.ept.csv" "$L/$c/py_ept.csv" "-i FILE... instead of -K"
  cat "$L/$c"/work/gul/summarypy1.bin | es run lec --run-dir "$L/$c" -O "$S/one.ept.csv" -F -r
  es run lec --run-dir "$L/$c" -O "$S/one_i.ept.csv" -F -r -i "$L/$c"/work/gul/summarypy1.bin
  same_file "$S/one.ept.csv" "$S/one_i.ept.csv" "reads stdin by default"
  es run lec --run_dir "$L/$c" -K gul -O "$S/us.ept.csv" $ALL -r
  same_file "$S/us.ept.csv" "$L/$c/py_ept.csv" "--run_dir (the reference's spelling) works too"

  # ---- partial states and merging ----
  for c in lec lec_pw_rp ties_pw_rp; do
    R=$(rflag $c)
    set -- "$L/$c"/work/gul/*.bin
    total=$(es info "$@" | awk '/^events:/ {n += $2} END {print n}')
    es run "$S/chunks.lua" "$total" "$S/$c.p1.bin" "$S/$c.p2.bin" "$S/$c.p3.bin" -i "$@"
    es run "$S/chunks.lua" "$total" "$S/$c.q1.bin" "$S/$c.q2.bin" -i "$@"
    for p in p1 p2 p3 q1 q2; do
      es run lec --run-dir "$L/$c" --partial "$S/$c.$p.state" -i "$S/$c.$p.bin"
    done
    es run lec --run-dir "$L/$c" --merge "$S/$c.p1.state" "$S/$c.p2.state" "$S/$c.p3.state" \
      -O "$S/$c.m3.ept.csv" -o "$S/$c.m3.psept.csv" $ALL $R 2>/dev/null
    same_file "$S/$c.m3.ept.csv" "$L/$c/py_ept.csv" "$c: merging 3 partial states gives the reference EPT"
    same_file "$S/$c.m3.psept.csv" "$L/$c/py_psept.csv" "$c: merging 3 partial states gives the reference PSEPT"
    es run lec --run-dir "$L/$c" --merge "$S/$c.q1.state" "$S/$c.q2.state" \
      -O "$S/$c.m2.ept.bin" -o "$S/$c.m2.psept.bin" $ALL $R -E bin 2>/dev/null
    same_file "$S/$c.m2.ept.bin" "$L/$c/py_ept.bin" "$c: merging 2 partial states gives the reference EPT (bin)"
    same_file "$S/$c.m2.psept.bin" "$L/$c/py_psept.bin" "$c: merging 2 partial states gives the reference PSEPT (bin)"
  done
  # one state per file of the work folder (the usual partitioned run)
  c=lec_rp
  es run lec --run-dir "$L/$c" --partial "$S/f1.state" -i "$L/$c/work/gul/summarypy1.bin"
  es run lec --run-dir "$L/$c" --partial "$S/f2.state" -i "$L/$c/work/gul/summarypy2.bin"
  es run lec --run-dir "$L/$c" --merge "$S/f1.state" "$S/f2.state" -O "$S/f.ept.csv" -o "$S/f.psept.csv" $ALL -r
  same_file "$S/f.ept.csv" "$L/$c/py_ept.csv" "one state per summary file: merged EPT is the reference's"
  # --merge-order event: states of event partitions (gen -p K/3, events i with
  # i % 3 == K - 1) merge to the run over the unpartitioned (ascending) stream
  c=lec_pw_rp
  es gen -t summary -e 1400 -r 4 -s 20 -z 0.3 --seed 11 -o "$S/asc.bin"
  for k in 1 2 3; do
    es gen -t summary -e 1400 -r 4 -s 20 -z 0.3 --seed 11 -p $k/3 -o "$S/asc$k.bin"
    es run lec --run-dir "$L/$c" --partial "$S/asc$k.state" -i "$S/asc$k.bin"
  done
  es run lec --run-dir "$L/$c" -i "$S/asc.bin" -O "$S/asc.ept.csv" -o "$S/asc.psept.csv" $ALL -r
  es run lec --run-dir "$L/$c" --merge "$S"/asc{1,2,3}.state --merge-order event -O "$S/ev.ept.csv" \
    -o "$S/ev.psept.csv" $ALL -r
  same_file "$S/ev.ept.csv" "$S/asc.ept.csv" "--merge-order event: EPT of 3 event partitions = the unpartitioned run"
  same_file "$S/ev.psept.csv" "$S/asc.psept.csv" "--merge-order event: PSEPT of 3 event partitions = the unpartitioned run"
  es run lec --run-dir "$L/$c" --merge "$S"/asc{1,2,3}.state -O "$S/gv.ept.csv" $ALL -r
  es run lec --run-dir "$L/$c" -i "$S"/asc{1,2,3}.bin -O "$S/parts.ept.csv" $ALL -r
  same_file "$S/gv.ept.csv" "$S/parts.ept.csv" "--merge-order given (the default): = lec over the partitions in order"
  if cmp -s "$S/asc.ept.csv" "$S/parts.ept.csv"; then
    fail "the two orders differ in AEP bits on this stream (else the order tests prove nothing)"
  else pass "the two orders differ in AEP bits on this stream (the order tests are not vacuous)"; fi
  # the float32 sums are why a state keeps records: summed per-part sums differ
  cat >"$S/sums.lua" <<'EOF'
local evstream = require "evstream"
local occ = evstream.occurrence(arg[1] .. "/input/occurrence.bin")
local function run(paths)
  local a
  for ev in evstream.open(paths):events() do
    a = a or evstream.accumulator{len_sample = ev:len_sample(), op = "sum", positive_only = true, groups = occ}
    a:add(ev)
  end
  return a
end
local f1, f2 = arg[1] .. "/work/gul/summarypy1.bin", arg[1] .. "/work/gul/summarypy2.bin"
local seq, a = run({f1, f2}), run({f1})
a:merge(run({f2}))
local diff = 0
for s, g in seq:each() do
  local x, y = seq:slots(s, g), a:slots(s, g)
  for i = 1, #x do if x[i] ~= y[i] then diff = diff + 1 end end
end
print(diff)
EOF
  d=$(es run "$S/sums.lua" "$L/lec" </dev/null 2>&1)
  like "$d" '^[1-9][0-9]*$' "lec case: adding per-file float32 sums differs from the sequential sums ($d slots), so states keep records"
  # errors
  mkdir -p "$S/other/input"
  lua5.4 -e 'io.write(string.pack("<i4i4i4i4i4", 1, 10, 1, 1, 1))' >"$S/other/input/occurrence.bin"
  out=$(es run lec --run-dir "$S/other" --merge "$S/lec.p1.state" -O "$S/x.csv" -F 2>&1)
  st=$?
  like "$out" "lec: .*lec.p1.state: made with another occurrence file than" "merge: a state of another occurrence file is refused"
  ok "$([ $st -ne 0 ] && [ ! -e "$S/x.csv" ]; echo $?)" "merge: ... non-zero exit, no table"
  out=$(es run lec --run-dir "$L/lec" --merge "$S/lec.p1.state" "$S/lec.p1.state" -O "$S/x.csv" -F 2>&1)
  like "$out" "state given twice" "merge: the same state twice is refused"
  mkdir -p "$S/notstate"
  out=$(es run lec --run-dir "$L/lec" --merge "$S/notstate" -O "$S/x.csv" -F 2>&1)
  like "$out" "not a state written by lec --partial" "merge: a directory that is not a state is refused"
  out=$(es run lec --run-dir "$L/lec" --partial "$S/x.state" -O "$S/x.csv" -K gul 2>&1)
  like "$out" "--partial writes a state, not tables" "--partial with -O is refused"
else
  skip "no conformance cases"
fi

# ---- edge cases on generated streams ----
mkdir -p "$S/run/input" "$S/run/work/g" "$S/empty/input" "$S/empty/work/g"
lua5.4 -e 'local t = {string.pack("<i4i4", 1, 10)} for e = 1, 40 do t[#t + 1] = string.pack("<i4i4i4", e, e % 10 + 1, 1) end io.write(table.concat(t))' >"$S/run/input/occurrence.bin"
cp "$S/run/input/occurrence.bin" "$S/empty/input/"
es gen -e 40 -r 3 -s 8 -o "$S/run/work/g/s.bin"
es run lec --run-dir "$S/run" -K g -O "$S/g.ept.csv" -o "$S/g.psept.csv" $ALL
ok $? "a generated run: exit 0"
is "$(awk -F, 'NR > 1 {print $1}' "$S/g.ept.csv" | sort -u | tr '\n' ' ')" "1 2 3 " "every summary has EPT rows"
is "$(awk -F, 'NR > 1 {print $2}' "$S/g.psept.csv" | sort -nu | wc -l)" "8" "PSEPT has a curve per sample"
# a stream with a header and no record: max_summary_id 0, no file (as the reference)
es gen -e 0 -s 8 -o "$S/empty/work/g/s.bin"
out=$(es run lec --run-dir "$S/empty" -K g -O "$S/e.ept.csv" -o "$S/e.psept.csv" $ALL 2>&1)
ok "$([ ! -e "$S/e.ept.csv" ] && [ ! -e "$S/e.psept.csv" ]; echo $?)" "no summary record at all: no files"
like "$out" "warning: no summary records" "... and a warning says why"
# the zero tail (issue 26): ranks past the last non-zero value are jumped
# over to each return period, the TVaR in closed form; the same bytes as the
# rank-by-rank walk (EVSTREAM_LEC_EXACT_TAIL=1) on random configurations
# (periods 50..950, 1..91 samples, return periods up to P x N ranks away)
same=0
for seed in 1 2 3 4 5 6 7 8 9 10 11 12; do
  P=$(( (seed * 37) % 900 + 50 )) N=$(( seed % 7 * 15 + 1 ))
  mkdir -p "$S/tail$seed/input"
  lua5.4 -e "math.randomseed($seed) local t = {string.pack('<i4i4', 1, $P)}
    for e = 1, 300 do for _ = 1, math.random(0, 2) do t[#t + 1] = string.pack('<i4i4i4', e, math.random(1, $P), e) end end
    io.write(table.concat(t))" >"$S/tail$seed/input/occurrence.bin"
  lua5.4 -e "io.write(string.pack('<i4i4i4i4i4', 500, 100, 20, 5, 1))" >"$S/tail$seed/input/returnperiods.bin"
  es gen -t summary -e 300 -r 8 -S $N --seed $seed -o "$S/tail$seed/s.bin"
  for exact in 0 1; do
    EVSTREAM_LEC_EXACT_TAIL=$exact es run lec --run-dir "$S/tail$seed" -i "$S/tail$seed/s.bin" -r $ALL \
      -O "$S/tail$seed/ept$exact.csv" -o "$S/tail$seed/psept$exact.csv"
  done
  cmp -s "$S/tail$seed/ept0.csv" "$S/tail$seed/ept1.csv" && cmp -s "$S/tail$seed/psept0.csv" "$S/tail$seed/psept1.csv" &&
    [ -s "$S/tail$seed/ept0.csv" ] && same=$((same + 1))
done
is "$same" "12" "the zero tail jumped to each return period: the rank-by-rank walk's bytes, 12 random configurations"

# ---- summaries with only special sidx (issue 24, item 8) ----
# The minimal case: N = 2, one event in period 1 of 10; summary 1 has only
# (-1, 0.0), summary 2 (-1, 5.0) and (1, 10.0); -r with 100, 10, 5, 2, 1.
# With -r a zero loss counts, so summary 1 has a mean damage ratio item (0.0
# in period 1) and no sample item at all: its MEANDR rows are zero losses
# and it has no full-uncertainty, wheatsheaf, per-sample mean or sample-mean
# curve (lecpy skips a summary, or a (summary, sample), without items).
# Summary 2, by the rules of the EPT (P = 10: rank i has return period
# 10 / i; return period 100 is beyond the curve; below the last item the
# padding gives zero losses, and TVaR t - t/i at padded ranks 2, 5, 10):
# MEANDR 5.0 at rp 10, TVaR 5, 2.5, 1, 0.5. Full uncertainty: one item
# 10.0 among P x N = 20 years has rp 20, so rp 10 is already padding (loss
# 0), TVaR 10/2, ... = 5, 2.5, 1, 0.5. Sample 1 (wheatsheaf): 10.0 at rp
# 10, TVaR 10, 5, 2, 1; sample 2 has no item, no curve. Per-sample mean:
# the rank-1 sum 10 / N = 5 at rp 10. Sample mean: the period's mean 10/2
# = 5 at rp 10. One event: OEP = AEP.
mkdir -p "$S/sp/input"
lua5.4 -e 'io.write(string.pack("<i4i4i4i4i4", 1, 10, 1, 1, 1))' >"$S/sp/input/occurrence.bin"
lua5.4 -e 'for _, r in ipairs{100, 10, 5, 2, 1} do io.write(string.pack("<i4", r)) end' \
  >"$S/sp/input/returnperiods.bin"
SP_A='R 1 1 0\nP -1 0.0\nT\n'
SP_B='R 1 2 0\nP -1 5.0\nP 1 10.0\nT\n'
printf "H 3 1 2 1\n$SP_A$SP_B" | lua5.4 tests/cli/scripts/mkstream.lua >"$S/sp/s.bin"
printf "H 3 1 2 1\n$SP_A" | lua5.4 tests/cli/scripts/mkstream.lua >"$S/sp/a.bin"
printf "H 3 1 2 1\n$SP_B" | lua5.4 tests/cli/scripts/mkstream.lua >"$S/sp/b.bin"
# sp_block EPTYPE ID CALC L10 L5 L2 L1: the rows at return periods 10 5 2 1
sp_block() {
  local t=$1 id=$2 c=$3 rp
  shift 3
  for rp in 10 5 2 1; do
    printf '%s,%s,%s,%s.000000,%s\n' "$id" "$c" "$t" "$rp" "$1"
    shift
  done
}
# sp_calc CALC L10 TVAR10 TVAR5 TVAR2 TVAR1: one EPCalc, OEP then AEP, each
# block of losses followed by its TVaR block (summary 1 only in MEANDR)
sp_calc() {
  local c=$1 t z=0.000000
  shift
  for t in 1 3; do
    [ "$c" = 1 ] && sp_block $t 1 1 $z $z $z $z
    sp_block $t 2 "$c" "$1" $z $z $z
    [ "$c" = 1 ] && sp_block $((t + 1)) 1 1 $z $z $z $z
    sp_block $((t + 1)) 2 "$c" "$2" "$3" "$4" "$5"
  done
}
{
  echo "SummaryId,EPCalc,EPType,ReturnPeriod,Loss"
  sp_calc 1 5.000000 5.000000 2.500000 1.000000 0.500000
  sp_calc 2 0.000000 5.000000 2.500000 1.000000 0.500000
  sp_calc 3 5.000000 5.000000 2.500000 1.000000 0.500000
  sp_calc 4 5.000000 5.000000 2.500000 1.000000 0.500000
} >"$S/sp/ept.csv"
{
  echo "SummaryId,SampleId,EPType,ReturnPeriod,Loss"
  for t in 1 3; do
    sp_block $t 2 1 10.000000 0.000000 0.000000 0.000000
    sp_block $((t + 1)) 2 1 10.000000 5.000000 2.000000 1.000000
  done
} >"$S/sp/psept.csv"
es run lec --run-dir "$S/sp" -i "$S/sp/s.bin" -r -W -o "$S/sp/W.psept.csv"
ok $? "a first summary with only (-1, 0.0), -r -W: exit 0 (was 'ep curves: write error or out of memory')"
is "$(cat "$S/sp/W.psept.csv")" "$(awk -F, 'NR == 1 || $3 >= 3' "$S/sp/psept.csv")" \
  "... its PSEPT: the AEP wheatsheaf of summary 2 only"
for f in -W -w -M -m "$ALL"; do
  rm -f "$S/sp/o.ept.csv" "$S/sp/o.psept.csv"
  es run lec --run-dir "$S/sp" -i "$S/sp/s.bin" -r $f -O "$S/sp/o.ept.csv" -o "$S/sp/o.psept.csv" 2>/dev/null
  ok $? "a first summary with only special sidx, -r $f: exit 0"
done
same_file "$S/sp/o.ept.csv" "$S/sp/ept.csv" "... every curve: the EPT by the EPT rules (that summary's losses zero)"
same_file "$S/sp/o.psept.csv" "$S/sp/psept.csv" "... and the PSEPT (no curve for it, nor for the empty sample 2)"
es run lec --run-dir "$S/sp" -i "$S/sp/s.bin" -r $ALL -O "$S/sp/b.ept.bin" -o "$S/sp/b.psept.bin" -E bin
# sp_bin < TABLE.bin: the rows of a packed EPT/PSEPT as CSV
sp_bin() {
  lua5.4 -e 'local d, t, pos = io.read("a"), {}, 1
    while pos <= #d do
      local a, b, c, r, l, n = string.unpack("<i4i4i4ff", d, pos)
      t[#t + 1], pos = ("%d,%d,%d,%.6f,%.6f"):format(a, b, c, r, l), n
    end
    io.write(table.concat(t, "\n"))'
}
is "$(sp_bin <"$S/sp/b.ept.bin")" "$(tail -n +2 "$S/sp/ept.csv")" "... -E bin: the same EPT rows"
is "$(sp_bin <"$S/sp/b.psept.bin")" "$(tail -n +2 "$S/sp/psept.csv")" "... -E bin: the same PSEPT rows"
es run lec --run-dir "$S/sp" -i "$S/sp/a.bin" --partial "$S/sp/a.state"
es run lec --run-dir "$S/sp" -i "$S/sp/b.bin" --partial "$S/sp/b.state"
for order in given event; do
  for pair in "a b" "b a"; do
    set -- $pair
    rm -f "$S/sp/m.ept.csv" "$S/sp/m.psept.csv"
    es run lec --run-dir "$S/sp" --merge "$S/sp/$1.state" "$S/sp/$2.state" --merge-order $order -r $ALL \
      -O "$S/sp/m.ept.csv" -o "$S/sp/m.psept.csv"
    if cmp -s "$S/sp/m.ept.csv" "$S/sp/ept.csv" && cmp -s "$S/sp/m.psept.csv" "$S/sp/psept.csv"; then
      pass "... through --partial/--merge ($1 $2, --merge-order $order): the same tables"
    else fail "... through --partial/--merge ($1 $2, --merge-order $order): the same tables"; fi
  done
done

# Randomized: generated streams (evstream gen) with records that carry only
# special sidx mixed in: summary ids shifted up by 2, so that summaries 1
# and 2 have only special sidx, and any summary may have special-only records
# in some events (a zero or positive mean and no sample, -4/-5, -2/-3, no
# pair). On a random occurrence (events that never occur, or twice), with
# and without period weights (some 0): every flag, -r or not, CSV and bin:
# lec runs, the single run equals its event partitions' states merged by
# event (in any order of the states), and merged in the given order equals
# the run over the parts. Two fixed seeds and a new one per run (in the
# test's name; LEC_SPECIAL_SEED=N reruns one).
cat >"$S/special_mix.lua" <<'LUA'
-- special_mix.lua SEED OUT: the input stream, summary ids + 2, with records
-- that carry only special sidx added for summaries 1, 2 and random others
local evstream = require "evstream"
math.randomseed(tonumber(arg[1]))
local out, top
local function special_only(ev, id)
  out:record(ev:id(), id, math.random() * 100)
  local k = math.random(6)
  if k == 1 then out:pair(-1, 0)                         -- a zero mean: a key only with -r
  elseif k == 2 then out:pair(-1, math.random() * 1000)  -- a mean and no sample
  elseif k == 3 then out:pair(-4, 3) out:pair(-5, math.random() * 10)
  elseif k == 4 then out:pair(-1, math.random() * 50) out:pair(-4, 1) out:pair(-5, 7)
  elseif k == 5 then out:pair(-2, 4) out:pair(-3, 0.5)   -- skipped (a decided difference)
  end                                                    -- k == 6: no pair at all
  out:terminate()
end
function begin(info)
  out = assert(evstream.stream{path = arg[2], source = info.source, agg = info.agg,
                               len_sample = info.len_sample, summary_set_id = info.summary_set_id})
end
function event(ev)
  if math.random(3) > 1 then special_only(ev, 1) end
  if math.random(2) == 1 then special_only(ev, 2) end
  for i = 1, #ev do
    local id = ev:rec_id(i) + 2
    top = math.max(top or 0, id)
    if math.random(5) == 1 then special_only(ev, id)
    else
      out:record(ev:id(), id, ev:exposure(i))
      for _, sidx, loss in ev:pairs(i) do out:pair(sidx, loss) end
      out:terminate()
    end
  end
  if math.random(4) == 1 then special_only(ev, (top or 2) + 1) end
end
function finish() assert(out:close()) end
LUA
# event partitions: event i into part (i - 1) % 3 + 1
cat >"$S/evsplit.lua" <<'LUA'
local evstream = require "evstream"
local outs = {}
function begin(info)
  for k = 1, 3 do
    outs[k] = assert(evstream.stream{path = arg[k], source = info.source, agg = info.agg,
                                     len_sample = info.len_sample, summary_set_id = info.summary_set_id})
  end
end
function event(ev) outs[(ev:id() - 1) % 3 + 1]:copy(ev) end
LUA
cat >"$S/rnd_occ.lua" <<'LUA'
-- rnd_occ.lua SEED P E: an occurrence.bin; some events never occur, some twice
math.randomseed(tonumber(arg[1]))
local P, E = tonumber(arg[2]), tonumber(arg[3])
local t = {string.pack("<i4i4", 1, P)}
for e = 1, E do
  for _ = 1, math.random(0, 2) do t[#t + 1] = string.pack("<i4i4i4", e, math.random(P), 1) end
end
io.write(table.concat(t))
LUA
cat >"$S/rnd_weights.lua" <<'LUA'
-- rnd_weights.lua SEED P: a periods.bin; some periods weigh 0
math.randomseed(tonumber(arg[1]))
local P, t, w, sum = tonumber(arg[2]), {}, {}, 0
for p = 1, P do w[p] = math.random(0, 4) sum = sum + w[p] end
if sum == 0 then w[1], sum = 1, 1 end
for p = 1, P do t[#t + 1] = string.pack("<i4d", p, w[p] / sum) end
io.write(table.concat(t))
LUA
sp_seeds="7 1009 ${LEC_SPECIAL_SEED:-$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')}"
for seed in $sp_seeds; do
  D=$S/rnd$seed
  mkdir -p "$D/input"
  P=$((seed % 13 + 5)) N=$((seed % 4 + 1)) E=$((seed % 40 + 30))
  lua5.4 "$S/rnd_occ.lua" "$seed" "$P" "$E" >"$D/input/occurrence.bin"
  lua5.4 -e 'for _, r in ipairs{500, 100, 20, 10, 5, 3, 2, 1} do io.write(string.pack("<i4", r)) end' \
    >"$D/input/returnperiods.bin"
  es gen -t summary -e "$E" -r 3 -S "$N" -z 0.3 --seed "$seed" -o "$D/g.bin"
  es run "$S/special_mix.lua" "$seed" "$D/s.bin" -i "$D/g.bin"
  es run "$S/evsplit.lua" "$D/p1.bin" "$D/p2.bin" "$D/p3.bin" -i "$D/s.bin"
  for k in 1 2 3; do es run lec --run-dir "$D" -i "$D/p$k.bin" --partial "$D/p$k.state"; done
  bad="" runs=0
  for wt in "" w; do
    [ -n "$wt" ] && lua5.4 "$S/rnd_weights.lua" "$seed" "$P" >"$D/input/periods.bin"
    for r in "" -r; do
      for fmt in csv bin; do
        tag="${wt:+weighted }${r:+-r }$fmt"
        lec_d() { es run lec --run-dir "$D" $r $ALL -E $fmt "$@" 2>"$D/err" || bad="$bad [$tag: $*: $(head -c 200 "$D/err")]"; }
        lec_d -i "$D/s.bin" -O "$D/one.ept" -o "$D/one.psept"
        lec_d -i "$D"/p{1,2,3}.bin -O "$D/parts.ept" -o "$D/parts.psept"
        lec_d --merge "$D"/p{1,2,3}.state -O "$D/mg.ept" -o "$D/mg.psept"
        lec_d --merge "$D"/p{1,2,3}.state --merge-order event -O "$D/me.ept" -o "$D/me.psept"
        lec_d --merge "$D"/p{3,1,2}.state --merge-order event -O "$D/me2.ept" -o "$D/me2.psept"
        for t in ept psept; do
          cmp -s "$D/one.$t" "$D/me.$t" && cmp -s "$D/one.$t" "$D/me2.$t" ||
            bad="$bad [$tag: $t merged by event differs from the single run]"
          cmp -s "$D/parts.$t" "$D/mg.$t" || bad="$bad [$tag: $t merged in the given order differs from the run over the parts]"
        done
        runs=$((runs + 1))
      done
    done
  done
  rm -f "$D/input/periods.bin"
  is "$bad" "" "randomized special-sidx-only records (seed $seed: P $P, N $N, $E events; $runs configurations): lec runs, single run = merged states"
done
# nothing to do
out=$(es run lec --run-dir "$S/run" -K g -O "$S/n.csv" 2>&1)
st=$?
like "$out" "^evstream: lec: nothing to do" "no curve flag: one line"
ok "$([ $st -ne 0 ]; echo $?)" "... non-zero exit"
done_testing
