#!/bin/sh
# partition_job.sh K N RUN_DIR -- one event partition of a ground-up run: the
# partition's loss stream, its summary stream, and every table and state the
# final stage merges (tests/cli/partitions.sh, docs/distributed.md).  Any job
# runner starts one per partition: GNU parallel (local or --sshlogin hosts), a
# Kubernetes Indexed Job, a Slurm array.
#   RUN_DIR/input/   gulsummaryxref.csv, occurrence.bin, quantile.bin, periods.bin
#   RUN_DIR/out/     written: csv/selt/pK.csv ... csv/qplt/pK.csv, the same in bin/*/pK.bin,
#                    aal/pK.state, lec/pK.state
# EVSTREAM: the evstream command (default: evstream); GEN_ARGS: what
# `evstream gen` makes (stands for the model that writes the loss stream).
set -eu
K=$1 N=$2 R=$3
ES=${EVSTREAM:-evstream}
O=$R/out
W=$R/work/p$K
for t in selt melt qelt splt mplt qplt; do mkdir -p "$O/csv/$t" "$O/bin/$t"; done
mkdir -p "$W" "$O/aal" "$O/lec"
# shellcheck disable=SC2086
$ES gen -t gul ${GEN_ARGS:--e 300 -r 20 -s 10 --seed 7} -p "$K/$N" -o "$W/gul.bin"
$ES run summary -t gul -p "$R/input" -i "$W/gul.bin" -1 "$W/summary.bin"
for f in csv bin; do
  $ES run elt -r "$R" -i "$W/summary.bin" -E $f -s "$O/$f/selt/p$K.$f" -m "$O/$f/melt/p$K.$f" -q "$O/$f/qelt/p$K.$f"
  $ES run plt -r "$R" -i "$W/summary.bin" -E $f -s "$O/$f/splt/p$K.$f" -m "$O/$f/mplt/p$K.$f" -q "$O/$f/qplt/p$K.$f"
done
$ES run aal --run-dir "$R" -i "$W/summary.bin" --partial "$O/aal/p$K.state"
$ES run lec --run-dir "$R" -i "$W/summary.bin" --partial "$O/lec/p$K.state"
