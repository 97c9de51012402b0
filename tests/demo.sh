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
for f in selt melt qelt tail; do
  echo "-- $D/output/$f.csv ($(wc -l <"$D/output/$f.csv") lines)"
  head -4 "$D/output/$f.csv"
done
