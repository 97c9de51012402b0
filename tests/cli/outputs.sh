# CLI tests of outputs (issue 16): every table of the composed one-pass run
# byte-identical to its single-table script, over the reference cases and
# over generated loss streams (gen -t gul -> summary -> tables, vs one pass).
. "$(dirname "$0")/lib.sh"
S=$T_TMP

if have_conf; then
  # ---- summary stream inputs (-T): the reference cases ----
  E=$CONF/elt
  for ext in csv bin; do
    es run outputs -i "$E/summarypy.bin" -T "elt -r $E -E $ext -s $S/selt.$ext -m $S/melt.$ext -q $S/qelt.$ext"
    same_file "$S/selt.$ext" "$E/py_selt.$ext" "elt: SELT $ext composed is byte-identical"
    same_file "$S/melt.$ext" "$E/py_melt_er.$ext" "elt: MELT $ext composed is byte-identical"
    same_file "$S/qelt.$ext" "$E/py_qelt.$ext" "elt: QELT $ext composed is byte-identical"
  done
  # record rows (MELT with a rate per event, QELT) on worker threads whatever the CPU count
  EVSTREAM_THREADS=3 es run elt -i "$E/summarypy.bin" -r "$E" -s "$S/t3.selt.csv" -m "$S/t3.melt.csv" -q "$S/t3.qelt.csv"
  same_file "$S/t3.melt.csv" "$E/py_melt_er.csv" "EVSTREAM_THREADS=3: MELT (per-event rates) formatted on workers is byte-identical"
  same_file "$S/t3.qelt.csv" "$E/py_qelt.csv" "EVSTREAM_THREADS=3: QELT formatted on workers is byte-identical"
  EVSTREAM_THREADS=3 es run elt -E bin -i "$E/summarypy.bin" -r "$E" -m "$S/t3.melt.bin" -q "$S/t3.qelt.bin"
  same_file "$S/t3.melt.bin" "$E/py_melt_er.bin" "EVSTREAM_THREADS=3: MELT bin is byte-identical"
  same_file "$S/t3.qelt.bin" "$E/py_qelt.bin" "EVSTREAM_THREADS=3: QELT bin is byte-identical"
  P=$CONF/plt
  for c in all_files no_files; do
    es run outputs -i "$P/summarypy.bin" -T "plt -r $P/$c -s $S/$c.splt.csv -m $S/$c.mplt.csv -q $S/$c.qplt.csv" 2>/dev/null
    for t in splt mplt qplt; do
      [ -f "$P/$c/py_$t.csv" ] && same_file "$S/$c.$t.csv" "$P/$c/py_$t.csv" "plt $c: ${t^^} composed is byte-identical"
    done
  done
  for c in basic n1 n100 weights; do
    A=$CONF/aal/$c
    [ -d "$A/work" ] || continue
    es run outputs -i "$A"/work/*/*.bin -T "aal --run-dir $A -a $S/$c.alt.csv -c $S/$c.alct.csv" 2>/dev/null
    same_file "$S/$c.alt.csv" "$A/py_alt.csv" "aal $c: ALT composed is byte-identical"
    same_file "$S/$c.alct.csv" "$A/py_alct.csv" "aal $c: ALCT composed is byte-identical"
  done
  # lec alone reads its streams one after the other: composed, it takes one
  # stream, here the case's streams joined in that order
  cat >"$S/join.lua" <<'LUA'
local evstream = require "evstream"
local out
for i = 2, #arg do
  local r = assert(evstream.open(arg[i]))
  local info = r:info()
  out = out or assert(evstream.stream{path = arg[1], source = info.source, agg = info.agg,
    len_sample = info.len_sample, summary_set_id = info.summary_set_id})
  for ev in r:events() do out:copy(ev) end
  r:close()
end
assert(out:close())
LUA
  for c in lec lec_rp lec_pw lec_pw_rp ties_pw ties_pw_rp; do
    L=$CONF/lec/$c
    R=; case $c in *_rp) R=-r ;; esac
    es run "$S/join.lua" "$S/$c.joined.bin" "$L"/work/gul/*.bin
    es run outputs -i "$S/$c.joined.bin" -T "lec --run-dir $L -O $S/$c.ept.csv -o $S/$c.psept.csv -F -f -W -w -S -s -M -m $R" 2>/dev/null
    same_file "$S/$c.ept.csv" "$L/py_ept.csv" "lec $c: EPT composed (batches in file order) is byte-identical"
    same_file "$S/$c.psept.csv" "$L/py_psept.csv" "lec $c: PSEPT composed is byte-identical"
  done
  # every kind of table from one read of the same stream
  L=$CONF/lec/lec
  J=$S/lec.joined.bin
  es run outputs -i "$J" -T "lec --run-dir $L -O $S/m.ept.csv -F -f -W -w -S -s -M -m -o $S/m.psept.csv" \
    -T "elt -s $S/m.selt.csv" -T "aal --run-dir $L -a $S/m.alt.csv" 2>/dev/null
  same_file "$S/m.ept.csv" "$L/py_ept.csv" "lec + elt + aal in one run: EPT still byte-identical"
  es run elt -i "$J" -s "$S/m1.selt.csv"
  same_file "$S/m.selt.csv" "$S/m1.selt.csv" "lec + elt + aal in one run: SELT as elt alone"
  es run aal --run-dir "$L" -i "$J" -a "$S/m1.alt.csv" 2>/dev/null
  same_file "$S/m.alt.csv" "$S/m1.alt.csv" "lec + elt + aal in one run: ALT as aal alone"
  out=$(es run outputs -i "$L"/work/gul/*.bin -T "lec --run-dir $L -O $S/x.ept.csv -F" 2>&1); rc=$?
  is "$rc" 1 "lec composed over two streams read together: refused"
  like "$out" "lec: composed, lec takes one summary stream \(2 were given" "  ... saying why"
  [ ! -e "$S/x.ept.csv" ]; ok $? "  ... and no EPT written"
fi

# ---- generated loss stream: summary sets in memory vs summary + tables ----
R=$S/run
mkdir -p "$R/input" "$R/work/s1" "$R/work/s2"
{
  echo "item_id,summary_id,summaryset_id"
  for i in $(seq 1 12); do
    echo "$i,$(( (i - 1) % 4 + 1 )),1"
    echo "$i,$(( i % 3 * 5 + 2 )),2"     # sparse ids 2, 7, 12
  done
} >"$R/input/gulsummaryxref.csv"
{
  echo "loc_id,item_id,building_id,other"
  for i in $(seq 1 12); do echo "$(( (i + 1) / 3 )),$i,$(( i % 2 )),x"; done
} >"$R/input/gul_summary_map.csv"
# 80 events over 30 periods, some events twice, some in no period
lua5.4 -e 'local t = {string.pack("<i4i4", 1, 30)}
  for e = 1, 80 do if e % 7 ~= 0 then t[#t + 1] = string.pack("<i4i4i4", e, (e * 13) % 30 + 1, e) end
    if e % 5 == 0 then t[#t + 1] = string.pack("<i4i4i4", e, (e * 7) % 30 + 1, e) end end
  io.write(table.concat(t))' >"$R/input/occurrence.bin"
lua5.4 -e 'io.write(string.pack("<fffff", 0, 0.1, 0.5, 0.9, 1))' >"$R/input/quantile.bin"
lua5.4 -e 'io.write(string.pack("<i4i4i4i4", 100, 20, 5, 2))' >"$R/input/returnperiods.bin"
es gen -t gul -e 80 -r 12 -s 9 -z 0.4 --seed 7 -o "$S/gen.bin"
es run summary -t gul -p "$R/input" -i "$S/gen.bin" -1 "$R/work/s1/s.bin" -2 "$R/work/s2/s.bin"
LECF="-F -f -W -w -S -s -M -m -r"
# an aal state but its id and its checksum, as hex (to compare two states)
cat >"$S/strip_state.lua" <<'EOF'
local f = io.open(arg[1], "rb")
local s = f:read("a")
f:close()
s = s:sub(1, -9):gsub("\nid=%x+\n", "\nid=\n")
io.write((s:gsub(".", function(c) return ("%02x"):format(c:byte()) end)))
EOF
for k in 1 2; do
  W=$R/work/s$k/s.bin
  es run elt -r "$R" -i "$W" -s "$S/a$k.selt.csv" -m "$S/a$k.melt.csv" -q "$S/a$k.qelt.csv"
  es run plt -r "$R" -i "$W" -s "$S/a$k.splt.csv" -m "$S/a$k.mplt.csv" -q "$S/a$k.qplt.csv"
  es run aal --run-dir "$R" -i "$W" -a "$S/a$k.alt.csv" -c "$S/a$k.alct.csv"
  es run lec --run-dir "$R" -i "$W" -O "$S/a$k.ept.csv" -o "$S/a$k.psept.csv" $LECF
  es run lec --run-dir "$R" -i "$W" --partial "$S/a$k.lecstate"
  es run aal --run-dir "$R" -i "$W" --partial "$S/a$k.aalstate"
done
args=()
for k in 1 2; do
  args+=(-$k "elt -s $S/b$k.selt.csv -m $S/b$k.melt.csv -q $S/b$k.qelt.csv"
         -$k "plt -s $S/b$k.splt.csv -m $S/b$k.mplt.csv -q $S/b$k.qplt.csv"
         -$k "aal -a $S/b$k.alt.csv -c $S/b$k.alct.csv"
         -$k "lec -O $S/b$k.ept.csv -o $S/b$k.psept.csv $LECF"
         -$k "lec --partial $S/b$k.lecstate" -$k "aal --partial $S/b$k.aalstate")
done
es run outputs -t gul -p "$R/input" --run-dir "$R" -i "$S/gen.bin" "${args[@]}"
ok $? "outputs: two summary sets, every table, one pass"
for k in 1 2; do
  for t in selt melt qelt splt mplt qplt alt alct ept psept; do
    same_file "$S/b$k.$t.csv" "$S/a$k.$t.csv" "generated, set $k: ${t^^} in one pass = summary + ${t^^} alone"
  done
  same_file "$S/b$k.lecstate/events.bin" "$S/a$k.lecstate/events.bin" "generated, set $k: lec --partial state"
  # each state has an identity of its own (and so a checksum): the rest is the same
  is "$(lua5.4 "$S/strip_state.lua" "$S/b$k.aalstate")" "$(lua5.4 "$S/strip_state.lua" "$S/a$k.aalstate")" \
    "generated, set $k: aal --partial state (but its id)"
done
# interleaved t:pairs and t:records rows on one table keep their call order
cat >"$S/mix.lua" <<'LUA'
local evstream = require "evstream"
local t
function begin() t = assert(evstream.table{path = arg[1], columns = {{"A", "%d"}, {"B", "%d"}, {"C", "%.3f"}}}) end
function event(ev)
  t:pairs(ev, {"event", "sidx", "loss"}, {skip = {-5, -3, -2, -1}})
  t:records(ev, {{"event", "id", "mean"}, {"id", "event", "sd"}})
end
LUA
for th in 0 1 3; do EVSTREAM_THREADS=$th es run "$S/mix.lua" "$S/mix$th.csv" -i "$R/work/s1/s.bin"; done
same_file "$S/mix1.csv" "$S/mix0.csv" "t:pairs and t:records on one table: 1 worker = serial"
same_file "$S/mix3.csv" "$S/mix0.csv" "t:pairs and t:records on one table: 3 workers = serial"
is "$(awk 'END {print NR}' "$S/mix0.csv")" \
  "$(es run tocsv -H -i "$R/work/s1/s.bin" | awk -F, '$3 == -1 {n += 2} $3 != -5 && $3 != -3 && $3 != -2 && $3 != -1 {n++} END {print n + 1}')" \
  "the mixed table has every pair row and two rows per record"
# threads off: the same bytes
EVSTREAM_THREADS=0 es run outputs -t gul -p "$R/input" --run-dir "$R" -i "$S/gen.bin" "${args[@]}"
for t in selt melt qelt mplt ept; do
  same_file "$S/b1.$t.csv" "$S/a1.$t.csv" "EVSTREAM_THREADS=0: ${t^^} of set 1 unchanged"
done
# bin tables too
es run outputs -t gul -p "$R/input" -r "$R" -i "$S/gen.bin" -2 "elt -E bin -m $S/c2.melt.bin" -2 "plt -E bin -q $S/c2.qplt.bin"
es run elt -r "$R" -E bin -i "$R/work/s2/s.bin" -m "$S/d2.melt.bin"
es run plt -r "$R" -E bin -i "$R/work/s2/s.bin" -q "$S/d2.qplt.bin"
same_file "$S/c2.melt.bin" "$S/d2.melt.bin" "-E bin: MELT in one pass = alone"
same_file "$S/c2.qplt.bin" "$S/d2.qplt.bin" "-E bin: QPLT in one pass = alone"

# ---- errors: one line, exit 1, no output left ----
out=$(es run outputs -i "$S/gen.bin" -T "elt -s $S/x.csv" 2>&1); rc=$?
is "$rc" 1 "a loss stream without -t: exit 1"
like "$out" "outputs: the input is a gul stream" "a loss stream without -t: says what to give"
out=$(es run outputs -t gul -p "$R/input" -i "$S/gen.bin" -3 "elt -s $S/x.csv" 2>&1); rc=$?
like "$out" "summary set 3 is not in" "a set not in the xref: named"
[ ! -e "$S/x.csv" ]; ok $? "no table left behind on error"
out=$(es run outputs -i "$R/work/s1/s.bin" -T "nosuch -x" 2>&1)
like "$out" "no such script 'nosuch'" "an unknown table script: named"
out=$(es run outputs -i "$R/work/s1/s.bin" -T "aal --run-dir $R -K s1 -a $S/x.csv" 2>&1); rc=$?
like "$out" "aal: composed, it reads the batches" "aal -K composed: refused"
out=$(es run outputs -i "$R/work/s1/s.bin" -T "elt" 2>&1)
like "$out" "elt: nothing to do" "a table script's own option errors come through"
out=$(es run outputs -i "$S/gen.bin" 2>&1)
like "$out" "outputs: nothing to do" "no table: nothing to do"

done_testing
