# CLI tests of the Parquet tables (-E parquet): every ORD table of the
# reference cases, and generated streams, read back by tocsv (byte-identical
# to the CSV form) and by an independent reader (hyparquet, node: compared
# value by value with the -E bin form, and the schema with the reference
# dtypes); compression options, row groups, user tables, errors.
. "$(dirname "$0")/lib.sh"
S=$T_TMP

# The reference dtypes of a table of lua/evstream/tables.lua, as Parquet
# types: "EventId:INT32,...,Loss:FLOAT" (oasis_int int32, oasis_float float32).
schema() {
  lua5.4 - "$1" <<'EOF'
package.path = "lua/?.lua;" .. package.path
local t = require("evstream.tables").byname[arg[1]]
local out = {}
for i, c in ipairs(t.columns) do out[i] = c[1] .. ":" .. (c[2] == "%d" and "INT32" or "FLOAT") end
print(table.concat(out, ","))
EOF
}

NODE_OK=""
if command -v node >/dev/null 2>&1 && [ -d tests/parquet/node_modules/hyparquet ]; then NODE_OK=1; fi

# indep PARQUET BIN TABLE NAME: the independent reader's values and schema
# against the bin form and the reference dtypes.
indep() {
  if [ -z "$NODE_OK" ]; then skip "$4 (no node/npm: the independent reader is not installed)"; return; fi
  local out
  out=$(node tests/parquet/check.mjs "$1" "$2" "$(schema "$3")" 2>&1)
  like "$out" "^ok [0-9]+ rows" "$4"
}

# back PARQUET CSV NAME: tocsv of the Parquet form is the CSV form, byte for byte.
back() {
  es run tocsv -i "$1" -o "$S/back.csv"
  same_file "$S/back.csv" "$2" "$3"
}

# fails NAME REGEX CMD...: status 1 and one line of stderr matching REGEX.
fails() {
  local name=$1 re=$2
  shift 2
  "$@" >"$S/out" 2>"$S/err"
  local rc=$?
  if [ "$rc" -eq 1 ] && [ "$(wc -l <"$S/err")" -eq 1 ] && grep -qE -- "$re" "$S/err"; then pass "$name"
  else fail "$name" "status $rc, stderr: $(head -c 300 "$S/err")"; fi
}

if have_conf; then
  # ---- ELT ----
  E=$CONF/elt
  es run elt -E parquet -i "$E/summarypy.bin" -r "$E" -s "$S/selt.parquet" -m "$S/melt.parquet" -q "$S/qelt.parquet"
  back "$S/selt.parquet" "$E/py_selt.csv" "SELT parquet: tocsv is the reference CSV"
  back "$S/melt.parquet" "$E/py_melt_er.csv" "MELT parquet: tocsv is the reference CSV"
  back "$S/qelt.parquet" "$E/py_qelt.csv" "QELT parquet: tocsv is the reference CSV"
  indep "$S/selt.parquet" "$E/py_selt.bin" selt "SELT parquet: hyparquet reads the reference dtypes and bin values"
  indep "$S/melt.parquet" "$E/py_melt_er.bin" melt "MELT parquet: hyparquet reads the reference values"
  indep "$S/qelt.parquet" "$E/py_qelt.bin" qelt "QELT parquet: hyparquet reads the reference values"
  mkdir -p "$S/norates"
  es run elt --ext parquet -i "$E/summarypy.bin" -r "$S/norates" -m "$S/melt0.parquet"
  back "$S/melt0.parquet" "$E/py_melt.csv" "--ext parquet; MELT without rates (EventRate nan) reads back as the reference CSV"
  for c in zstd none snappy; do
    es run elt -E parquet --compression $c -i "$E/summarypy.bin" -r "$E" -s "$S/selt.$c.parquet"
    back "$S/selt.$c.parquet" "$E/py_selt.csv" "SELT parquet --compression $c reads back"
    indep "$S/selt.$c.parquet" "$E/py_selt.bin" selt "SELT parquet --compression $c: hyparquet agrees"
  done
  codec=$(lua5.4 - "$S/selt.parquet" "$S/selt.zstd.parquet" "$S/selt.none.parquet" <<EOF
package.cpath = "$BUILD/?.so;" .. package.cpath
local e = require "evstream"
print(e.parquet_info(arg[1]).codec, e.parquet_info(arg[2]).codec, e.parquet_info(arg[3]).codec)
EOF
)
  is "$codec" "snappy	zstd	none" "snappy by default; zstd and none by option"
  # ---- PLT ----
  P=$CONF/plt
  for c in all_files no_files occ_gran_files; do
    es run plt -E parquet -i "$P/summarypy.bin" --run-dir "$P/$c" -s "$S/splt.parquet" -m "$S/mplt.parquet" -q "$S/qplt.parquet"
    for t in splt mplt qplt; do
      back "$S/$t.parquet" "$P/$c/py_$t.csv" "$c: ${t^^} parquet reads back as the reference CSV"
      indep "$S/$t.parquet" "$P/$c/py_$t.bin" $t "$c: ${t^^} parquet: hyparquet reads the reference values"
    done
  done
  # ---- ALT, ALCT, mean-only ----
  for c in basic weights n100 n1; do
    R=$CONF/aal/$c
    es run aal --run-dir "$R" -K gul -a "$S/alt.parquet" -c "$S/alct.parquet" -E parquet
    back "$S/alt.parquet" "$R/py_alt.csv" "$c: ALT parquet reads back as the reference CSV"
    back "$S/alct.parquet" "$R/py_alct.csv" "$c: ALCT parquet reads back as the reference CSV"
    indep "$S/alt.parquet" "$R/py_alt.bin" alt "$c: ALT parquet: hyparquet reads the reference values"
    indep "$S/alct.parquet" "$R/py_alct.bin" alct "$c: ALCT parquet: hyparquet reads the reference values"
    es run aal --run-dir "$R" -K gul -a "$S/altm.parquet" -M -E parquet
    back "$S/altm.parquet" "$R/py_alt_meanonly.csv" "$c: mean-only ALT parquet reads back as the reference CSV"
    indep "$S/altm.parquet" "$R/py_alt_meanonly.bin" alt_meanonly "$c: mean-only ALT parquet: hyparquet agrees"
  done
  # ---- EPT, PSEPT ----
  for c in lec lec_rp lec_pw lec_pw_rp ties_pw ties_pw_rp; do
    L=$CONF/lec/$c; R=""; case $c in *_rp) R=-r ;; esac
    es run lec --run-dir "$L" -K gul -O "$S/ept.parquet" -o "$S/psept.parquet" -F -f -W -w -S -s -M -m $R -E parquet 2>/dev/null
    back "$S/ept.parquet" "$L/py_ept.csv" "$c: EPT parquet reads back as the reference CSV"
    back "$S/psept.parquet" "$L/py_psept.csv" "$c: PSEPT parquet reads back as the reference CSV"
    indep "$S/ept.parquet" "$L/py_ept.bin" ept "$c: EPT parquet: hyparquet reads the reference values"
    indep "$S/psept.parquet" "$L/py_psept.bin" psept "$c: PSEPT parquet: hyparquet reads the reference values"
  done
  # ---- outputs: the table commands take -E parquet ----
  es run outputs -i "$E/summarypy.bin" -T "elt -r $E -E parquet -s $S/o_selt.parquet -q $S/o_qelt.parquet"
  back "$S/o_selt.parquet" "$E/py_selt.csv" "outputs: an elt command with -E parquet writes SELT as parquet"
  back "$S/o_qelt.parquet" "$E/py_qelt.csv" "outputs: QELT as parquet"
  # ---- kat: Parquet partition tables ----
  K=$CONF/kat
  mkdir -p "$S/kpq"
  for f in "$K"/bqplt/*.bin; do
    es run kat -i "$f" -o "$S/kpq/$(basename "$f" .bin).parquet" -Q -u
  done
  es run kat -d "$S/kpq" -o "$S/kat.csv" -Q
  same_file "$S/kat.csv" "$K/bkatpy_qplt.csv" "kat merges Parquet QPLT parts into the reference CSV"
  es run kat -d "$S/kpq" -o "$S/ukat.csv" -Q -u
  same_file "$S/ukat.csv" "$K/ubkatpy_qplt.csv" "kat -u concatenates Parquet parts as the reference does"
  es run kat -d "$S/kpq" -o "$S/kat.parquet" -Q
  back "$S/kat.parquet" "$K/bkatpy_qplt.csv" "kat of Parquet parts into a Parquet table (from the -o suffix)"
  es run kat -d "$K/bqplt" -o "$S/kat.bin" -Q
  indep "$S/kat.parquet" "$S/kat.bin" qplt "kat's Parquet table: hyparquet reads the values of kat's bin table"
  fails "kat: Parquet parts of another table are one line" "not the columns of a SPLT table" \
    es run kat -d "$S/kpq" -o "$S/kat_s.csv" -S
  left=$(ls "${TMPDIR:-/tmp}" | grep -c '^evstream_kat\.' || true)
  is "$left" "0" "kat leaves no temporary unpacked table behind"
  # the parts of a partitioned run merge into the single run's file, byte for byte
  es run tests/cli/scripts/split.lua "$S/p1.bin" "$S/p2.bin" -i "$E/summarypy.bin"
  mkdir -p "$S/parts"
  es run elt -E parquet -i "$S/p1.bin" -r "$E" -s "$S/parts/p1_selt.parquet"
  es run elt -E parquet -i "$S/p2.bin" -r "$E" -s "$S/parts/p2_selt.parquet"
  es run kat -d "$S/parts" -o "$S/kat_selt.parquet" -s
  same_file "$S/kat_selt.parquet" "$S/selt.parquet" "kat of the partitions' Parquet SELTs is the single run's Parquet file"
else
  skip "Oasis reference cases not found: conformance parquet tests"
fi

# ---- generated streams ----
es gen -e 400 -r 25 -S 20 --seed 7 -o "$S/gen.bin"
E=$CONF/elt
for f in csv bin parquet; do
  es run elt -E $f -i "$S/gen.bin" -r "$E" -s "$S/g_selt.$f" -m "$S/g_melt.$f" -q "$S/g_qelt.$f"
done
for t in selt melt qelt; do
  back "$S/g_$t.parquet" "$S/g_$t.csv" "generated stream: ${t^^} parquet reads back as its CSV form"
  indep "$S/g_$t.parquet" "$S/g_$t.bin" $t "generated stream: ${t^^} parquet: hyparquet reads the bin form's values"
done
csv_size=$(wc -c <"$S/g_selt.csv"); pq_size=$(wc -c <"$S/g_selt.parquet")
echo "# generated SELT: csv $csv_size bytes, parquet (snappy) $pq_size bytes"
ok $(( pq_size * 3 < csv_size ? 0 : 1 )) "generated SELT: parquet is at least 3 times smaller than the CSV ($pq_size vs $csv_size)"

# ---- a user table: %u, %.9g, f64 columns, small row groups ----
cat >"$S/user.lua" <<'EOF'
local evstream = require "evstream"
local t = assert(evstream.table{path = arg[2], format = arg[1], row_group_rows = 7, columns = {
  {"Id", "%d"}, {"Area", "%u"}, {"X", "%.9g"}, {"Y", "%.3f", f64 = true}, {"Z", "%.2f"}}})
for i = 1, 100 do t:row(i, 4000000000 - i, i / 7, i * 1e10 / 3, i % 5 == 0 and 0 / 0 or -i / 8) end
assert(t:close())
EOF
es run "$S/user.lua" csv "$S/user.csv"
es run "$S/user.lua" parquet "$S/user.parquet"
back "$S/user.parquet" "$S/user.csv" "evstream.table{format = \"parquet\"}: %u, %.9g, f64 and NaN read back as the CSV form"
groups=$(lua5.4 - "$S/user.parquet" <<EOF
package.cpath = "$BUILD/?.so;" .. package.cpath
local i = require("evstream").parquet_info(arg[1])
local ty = {}
for k, c in ipairs(i.columns) do ty[k] = c.type .. (c.unsigned and "u" or "") end
print(i.groups, i.rows, table.concat(ty, ","), i.created_by)
EOF
)
like "$groups" "^15	100	INT32,INT32u,FLOAT,DOUBLE,FLOAT	evstream version [0-9]" \
  "row_group_rows = 7: 15 row groups; INT32 (UINT_32 for %u), FLOAT, DOUBLE for f64; created_by"
if [ -n "$NODE_OK" ]; then
  out=$(node tests/parquet/check.mjs "$S/user.parquet" | sed -n '5p;7p')
  is "$out" "column Y DOUBLE REQUIRED
[1,3999999999,0.1428571492433548,3333333333.3333335,-0.125]" "hyparquet reads the user table across row groups"
else
  skip "hyparquet reads the user table (no node/npm)"
fi

# ---- tables.read (plot's reader) ----
rd=$(lua5.4 - "$S/g_selt.parquet" <<EOF
package.path = "lua/?.lua;" .. package.path
package.cpath = "$BUILD/?.so;" .. package.cpath
local t = assert(require("evstream.tables").read(arg[1]))
print(t.def and t.def.name, #t.rows, t.rows[1][1], math.type(t.rows[1][2]))
EOF
)
like "$rd" "^selt	[0-9]+	1	integer" "tables.read reads a Parquet table (recognised as SELT by its columns)"

# ---- errors: one line, nothing left behind ----
head -c 300 "$S/g_selt.parquet" >"$S/trunc.parquet"
fails "a truncated file is one line naming it" "trunc.parquet: " es run tocsv -i "$S/trunc.parquet" -o "$S/never.csv"
[ ! -e "$S/never.csv" ]; ok $? "a failed tocsv leaves no output"
echo "EventId,SummaryId" >"$S/text.parquet"
fails "a CSV named .parquet is not a Parquet file" "text.parquet: not a Parquet file" es run tocsv -i "$S/text.parquet"
fails "parquet inputs and streams do not mix" "either streams or Parquet" es run tocsv -i "$S/gen.bin" "$S/g_selt.parquet"
fails "a full disk is one line" "/dev/full" es run elt -E parquet -i "$S/gen.bin" -s /dev/full
head -c 5000 "$S/gen.bin" >"$S/cut.bin"; printf 'xyz' >>"$S/cut.bin"
es run elt -E parquet -i "$S/cut.bin" -s "$S/cut_selt.parquet" 2>/dev/null
rc=$?
[ $rc -ne 0 ] && [ ! -e "$S/cut_selt.parquet" ] && ! ls "$S" | grep -q '\.tmp\.'; ok $? "a malformed stream: the run fails and leaves no Parquet table (nor its temporary)"
fails "an unknown compression is refused" "compression" es run elt -E parquet --compression lz4 -i "$S/gen.bin" -s "$S/x.parquet"
[ ! -e "$S/x.parquet" ]; ok $? "a refused run leaves no table"

done_testing
