#!/bin/sh
# partition_final.sh N RUN_DIR -- the final stage of a partitioned run (see
# partition_job.sh): each table's partitions concatenated by kat, AAL and EP
# tables from the partitions' states.  Writes RUN_DIR/final/.
set -eu
N=$1 R=$2
ES=${EVSTREAM:-evstream}
O=$R/out
F=$R/final
mkdir -p "$F"
for t in selt:-s melt:-m qelt:-q splt:-S mplt:-M qplt:-Q; do
  name=${t%%:*} flag=${t#*:}
  $ES run kat -d "$O/csv/$name" -o "$F/$name.csv" $flag
  $ES run kat -d "$O/bin/$name" -o "$F/$name.bin" $flag
done
states() { k=1; while [ $k -le "$N" ]; do printf '%s ' "$O/$1/p$k.state"; k=$((k + 1)); done; }
# shellcheck disable=SC2046
$ES run aal --run-dir "$R" --merge $(states aal) -a "$F/alt.csv" -c "$F/alct.csv"
# shellcheck disable=SC2046
# --merge-order event: the float32 AEP sums add in the unpartitioned stream's
# (ascending) event order, so EPT/PSEPT equal the one-process run bit for bit
$ES run lec --run-dir "$R" --merge $(states lec) --merge-order event -r -O "$F/ept.csv" -o "$F/psept.csv" \
  -F -f -W -w -S -s -M -m
# the default order (state after state) equals lec over the partition streams in order
# shellcheck disable=SC2046
$ES run lec --run-dir "$R" --merge $(states lec) -r -O "$F/ept_given.csv" -o "$F/psept_given.csv" -F -f -W -w -S -s -M -m
