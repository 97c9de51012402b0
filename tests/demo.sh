#!/bin/sh
# tests/demo.sh BUILD -- the main job on a generated run directory
# (`evstream gen --run-dir`): ground-up loss streams of 2 parallel processes
# -> summary streams -> the event loss tables, the tail table, the period,
# average and EP tables, then the whole Oasis output stage in one command.
set -eu
BUILD=${1:-build}
ES="$(pwd)/$BUILD/evstream"
D="$BUILD/demo"
rm -rf "$D"
# 200 events x 20 items x 100 samples in two processes (streams/gul_P1.bin, gul_P2.bin),
# 100 periods, the input files and an analysis_settings.json asking for every ORD output
"$ES" gen --run-dir "$D" -e 200 -r 20 -S 100 -n 2 -P 100 --summaries 4 --seed 7
mkdir -p "$D/work/s1"
echo "== evstream info (the two partitions)"
"$ES" info "$D/streams/gul_P1.bin" "$D/streams/gul_P2.bin"
echo "== summary: loss streams -> summary set 1"
"$ES" run summary -t gul -p "$D/input" -i "$D/streams/gul_P1.bin" "$D/streams/gul_P2.bin" -1 "$D/work/s1/summary_S1.bin"
echo "== elt: SELT, MELT, QELT"
"$ES" run elt -r "$D" -i "$D/work/s1/summary_S1.bin" -s "$D/output/selt.csv" -m "$D/output/melt.csv" -q "$D/output/qelt.csv"
echo "== tail: per-summary VaR/TVaR of event losses and sampling convergence"
"$ES" run tail -i "$D/work/s1/summary_S1.bin" -o "$D/output/tail.csv"
echo "== plt: MPLT, QPLT (period losses over the occurrence file)"
"$ES" run plt --run_dir "$D" -i "$D/work/s1/summary_S1.bin" -m "$D/output/mplt.csv" -q "$D/output/qplt.csv"
echo "== aal: ALT and ALCT"
"$ES" run aal --run-dir "$D" -K s1 -a "$D/output/alt.csv" -c "$D/output/alct.csv"
echo "== lec: EPT (full uncertainty AEP/OEP at the return periods) and the per-sample PSEPT"
"$ES" run lec --run-dir "$D" -K s1 -r -F -f -w -O "$D/output/ept.csv" -o "$D/output/psept.csv"
echo "== exceedance: expected yearly count of events above 1e5 and 1e6, with its Monte Carlo error"
"$ES" run exceedance --run-dir "$D" -i "$D/work/s1/summary_S1.bin" --thresholds 1e5,1e6 -o "$D/output/exceedance.csv"
for f in selt melt qelt tail mplt qplt alt alct ept psept exceedance; do
  echo "-- $D/output/$f.csv ($(wc -l <"$D/output/$f.csv") lines)"
  head -4 "$D/output/$f.csv"
done
echo "== oasis: the whole output stage from analysis_settings.json (both summary sets, every ORD output)"
"$ES" run oasis --run-dir "$D" --streams "$D/streams"
ls "$D/output" | grep '^gul_S' | tr '\n' ' '
echo
