# A partitioned run end to end, with GNU parallel as the job runner: a gul
# loss stream in 4 event partitions (`gen -p K/4`), one job per partition
# (summary, then ELT and PLT tables in csv and bin, AAL and LEC partial
# states: tests/cli/scripts/partition_job.sh), then the final stage (kat per
# table, aal --merge, lec --merge: partition_final.sh).  Every final table
# must be byte-identical to the same run in one process over the
# unpartitioned stream -- except the AEP rows of the EP tables: their period
# losses are float32 running sums, as in the reference, and the partitions add
# them in another order; there the merged tables must equal one process over
# the four partition streams in order (what lecpy does with per-process
# streams).  Skipped when GNU parallel is missing (make deps-parallel).
#   PARTITIONS_DIR=DIR   work there (kept) instead of a temporary directory
. "$(dirname "$0")/lib.sh"
S=${PARTITIONS_DIR:-$T_TMP}
C=$ROOT/tests/cli/scripts

if ! command -v parallel >/dev/null 2>&1 || ! parallel --version 2>/dev/null | grep -q "GNU parallel"; then
  skip "partitioned run: GNU parallel is not installed (make deps-parallel)"
  done_testing
  exit 0
fi

# The run dir: 20 items in 5 summaries; 400 events over 150 periods (an
# event in one or two periods, most periods with several events, the file
# in period order as occurrence files are), unequal period weights,
# quantiles and return periods.
R=$S/run
mkdir -p "$R/input"
{ echo "item_id,summary_id,summaryset_id"; for i in $(seq 1 20); do echo "$i,$(( (i - 1) % 5 + 1 )),1"; done; } \
  >"$R/input/gulsummaryxref.csv"
lua5.4 -e '
  local rows = {}
  for e = 1, 400 do
    local h = (e * 2654435761) % 4294967296
    rows[#rows + 1] = {(h >> 8) % 150 + 1, e}
    if e % 3 == 0 then rows[#rows + 1] = {(h >> 16) % 150 + 1, e} end
  end
  table.sort(rows, function(a, b) return a[1] < b[1] or (a[1] == b[1] and a[2] < b[2]) end)
  local t = {string.pack("<i4i4", 1, 150)}
  for _, r in ipairs(rows) do t[#t + 1] = string.pack("<i4i4i4", r[2], r[1], 737000 + r[1] * 2) end
  io.write(table.concat(t))' >"$R/input/occurrence.bin"
lua5.4 -e 'local t = {} for p = 1, 150 do t[#t + 1] = string.pack("<i4d", p, (p % 7 + 1) / 600) end
  io.write(table.concat(t))' >"$R/input/periods.bin"
lua5.4 -e 'io.write(string.pack("<fffff", 0, 0.25, 0.5, 0.9, 1))' >"$R/input/quantile.bin"
lua5.4 -e 'io.write(string.pack("<i4i4i4i4i4", 100, 50, 20, 10, 2))' >"$R/input/returnperiods.bin"

export EVSTREAM="${EVSTREAM_WRAP:-} $EVSTREAM_BIN"
export GEN_ARGS="-e 400 -r 20 -s 10 -z 0.2 --seed 11"

# Stage 1: the partitions, 4 jobs at a time
parallel --will-cite --halt now,fail=1 -j 4 sh "$C/partition_job.sh" {} 4 "$R" ::: 1 2 3 4 >"$S/jobs.log" 2>&1
ok $? "stage 1: 4 partition jobs under GNU parallel"
[ -s "$R/out/csv/selt/p1.csv" ] && [ -s "$R/out/csv/selt/p4.csv" ] && [ -e "$R/out/aal/p4.state" ] && [ -e "$R/out/lec/p4.state" ]
ok $? "every job wrote its tables and states"
# Stage 2: the final tables
sh "$C/partition_final.sh" 4 "$R" >"$S/final.log" 2>&1
ok $? "stage 2: kat, aal --merge, lec --merge"
[ -s "$S/final.log" ] && sed 's/^/#   /' "$S/final.log" | head -5

# The same run in one process over the unpartitioned stream
U=$S/one
mkdir -p "$U"
# shellcheck disable=SC2086
es gen -t gul $GEN_ARGS -o "$U/gul.bin"
es run summary -t gul -p "$R/input" -i "$U/gul.bin" -1 "$U/summary.bin"
for f in csv bin; do
  es run elt -r "$R" -i "$U/summary.bin" -E $f -s "$U/selt.$f" -m "$U/melt.$f" -q "$U/qelt.$f"
  es run plt -r "$R" -i "$U/summary.bin" -E $f -s "$U/splt.$f" -m "$U/mplt.$f" -q "$U/qplt.$f"
done
es run aal --run-dir "$R" -i "$U/summary.bin" -a "$U/alt.csv" -c "$U/alct.csv"
es run lec --run-dir "$R" -i "$U/summary.bin" -r -O "$U/ept.csv" -o "$U/psept.csv" -F -f -W -w -S -s -M -m

for t in selt melt qelt splt mplt qplt; do
  for f in csv bin; do
    same_file "$R/final/$t.$f" "$U/$t.$f" "${t^^} $f: the partitions merged by kat = the one-process table"
  done
done
for t in alt alct; do
  same_file "$R/final/$t.csv" "$U/$t.csv" "${t^^}: the merged partial states = the one-process table"
done
# EP tables: merged in event order, every row equals the unpartitioned run
# (the AEP sums are float32: only the order of the adds makes them equal);
# merged state after state, they equal one process over the partition streams
# in order (what the reference's final stage reads)
es run lec --run-dir "$R" -i "$R"/work/p{1,2,3,4}/summary.bin -r -O "$U/ept_parts.csv" -o "$U/psept_parts.csv" \
  -F -f -W -w -S -s -M -m
for t in ept psept; do
  same_file "$R/final/$t.csv" "$U/$t.csv" "${t^^}: the states merged in event order = the one-process table"
  same_file "$R/final/${t}_given.csv" "$U/${t}_parts.csv" \
    "${t^^}: the states merged in the given order = one process over the partition streams in order"
done
if cmp -s "$U/ept.csv" "$U/ept_parts.csv"; then
  fail "the two orders give different AEP bits here (else the order test above proves nothing)"
else pass "the two orders give different AEP bits here (so the order tests above are not vacuous)"; fi
# not vacuous: the tables have rows from every partition's events
rows=$(tail -n +2 "$U/splt.csv" | cut -d, -f3 | sort -un | wc -l)
[ "$rows" -gt 100 ] && [ "$(wc -l <"$U/ept.csv")" -gt 20 ] && [ "$(wc -l <"$U/alct.csv")" -gt 5 ]
ok $? "the tables are not trivial ($rows events in the SPLT)"
for k in 1 2 3 4; do
  n=$(tail -n +2 "$R/out/csv/selt/p$k.csv" | cut -d, -f1 | awk -v k=$k '($1 - 1) % 4 != k - 1' | wc -l)
  [ "$n" -eq 0 ] || break
done
ok $? "each partition holds only its own events (event i in partition (i-1) % 4 + 1)"

done_testing
