#!/bin/sh
# tests/demo.sh BUILD -- the main job on a bundled sample: a generated
# ground-up loss stream (2 parallel partitions) -> summary streams -> the
# event loss tables and the tail table, the way an Oasis output stage runs.
set -eu
BUILD=${1:-build}
ES="$(pwd)/$BUILD/evstream"
D="$BUILD/demo"
rm -rf "$D" && mkdir -p "$D/input" "$D/work" "$D/output"
# 200 events x 20 items x 100 samples, in two partitions like two gulmc processes
"$ES" gen -t gul -e 200 -r 20 -s 100 --seed 7 -p 1/2 -o "$D/work/gul_P1.bin"
"$ES" gen -t gul -e 200 -r 20 -s 100 --seed 7 -p 2/2 -o "$D/work/gul_P2.bin"
# items 1..20 -> 4 summaries; quantiles for QELT
{ echo "item_id,summary_id,summaryset_id"; i=1; while [ $i -le 20 ]; do echo "$i,$(( (i - 1) % 4 + 1 )),1"; i=$((i + 1)); done; } \
  >"$D/input/gulsummaryxref.csv"
lua5.4 -e 'io.write(string.pack("<fffff", 0.05, 0.25, 0.5, 0.75, 0.95))' >"$D/input/quantile.bin"
echo "== evstream info (the two partitions)"
"$ES" info "$D/work/gul_P1.bin" "$D/work/gul_P2.bin"
echo "== summary: loss streams -> summary set 1"
"$ES" run summary -t gul -p "$D/input" -i "$D/work/gul_P1.bin" "$D/work/gul_P2.bin" -1 "$D/work/summary_S1.bin"
echo "== elt: SELT, MELT, QELT"
"$ES" run elt -r "$D" -i "$D/work/summary_S1.bin" -s "$D/output/selt.csv" -m "$D/output/melt.csv" -q "$D/output/qelt.csv"
echo "== tail: per-summary VaR/TVaR of event losses and sampling convergence"
"$ES" run tail -i "$D/work/summary_S1.bin" -o "$D/output/tail.csv"
# 200 events over 100 periods (one occurrence each, the period by a hash), event e on day 741324 + e (2029-11-03 + e days)
lua5.4 -e 'local t = {string.pack("<i4i4", 1, 100)}
  for e = 1, 200 do t[#t + 1] = string.pack("<i4i4i4", e, (e * 2654435761 >> 7) % 100 + 1, 741324 + e) end
  io.write(table.concat(t))' >"$D/input/occurrence.bin"
lua5.4 -e 'io.write(string.pack("<i4i4i4i4", 100, 50, 10, 2))' >"$D/input/returnperiods.bin"
echo "== plt: SPLT, MPLT, QPLT (period losses over the occurrence file)"
"$ES" run plt --run_dir "$D" -i "$D/work/summary_S1.bin" -m "$D/output/mplt.csv" -q "$D/output/qplt.csv"
mkdir -p "$D/work/s1" && cp "$D/work/summary_S1.bin" "$D/work/s1/"
echo "== aal: ALT and ALCT"
"$ES" run aal --run-dir "$D" -K s1 -a "$D/output/alt.csv" -c "$D/output/alct.csv"
echo "== lec: EPT (full uncertainty AEP/OEP at the return periods) and the per-sample PSEPT"
"$ES" run lec --run-dir "$D" -K s1 -r -F -f -w -O "$D/output/ept.csv" -o "$D/output/psept.csv"
for f in selt melt qelt tail mplt qplt alt alct ept psept; do
  echo "-- $D/output/$f.csv ($(wc -l <"$D/output/$f.csv") lines)"
  head -4 "$D/output/$f.csv"
done
