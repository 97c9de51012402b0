#!/usr/bin/env bash
# oasis: the Oasis output stage from analysis_settings.json against the
# reference run directories (tests/conformance/oasis: genbash's script run
# with the reference tools): byte-identical output/ in one pass, in the
# partitioned form, from files and from FIFOs; --plan against the commands of
# each run_kernel.sh; the decided differences; failures before any output.
. "$(dirname "$0")/lib.sh"
OC=$CONF/oasis

# case NAME -> the options genbash was called with (genbash_call.py)
case_opts() {
  case $1 in
    a_gul_allord_2p) echo "--event-shuffle 1" ;;
    c_gul_il_join_meanonly_3p) echo "--event-shuffle 1 --join-summary-info --keep-going" ;;
    d_gul_fyshuffle_noperiods_3p) echo "--event-shuffle 2" ;;
  esac
}
# fresh RUN: a copy of the case with output/ holding only the summary-info inputs
fresh() {
  local run=$T_TMP/$2
  rm -rf "$run"
  mkdir -p "$run/output"
  cp -r "$OC/$1/input" "$OC/$1/streams" "$OC/$1/analysis_settings.json" "$run/"
  cp "$OC/$1"/output/*summary-info* "$run/output/"
  echo "$run"
}
# compare RUN CASE WHAT: every expected file identical, and no other file
compare() {
  local run=$1 c=$2 what=$3 f bad=""
  for f in "$OC/$c"/output/*; do
    cmp -s "$f" "$run/output/${f##*/}" || bad="$bad ${f##*/}"
  done
  local want got
  want=$(cd "$OC/$c/output" && ls | sort | tr '\n' ' ')
  got=$(cd "$run/output" && ls | sort | tr '\n' ' ')
  if [ -z "$bad" ] && [ "$want" = "$got" ]; then pass "$c: $what: output/ identical to the reference (${want// /, })"
  else fail "$c: $what: output/ differs" "files differing:$bad; want [$want] got [$got]"; fi
}
# the genbash commands of a script, one per line, normalised
genbash_cmds() {
  grep -E '(katpy|aalpy|lecpy|eltpy|pltpy|summarypy|join-summary-info) ' "$1" | grep -v '^ *proc_list=' |
    sed -E 's/^\( //; s/ \) 2>> \$LOG_DIR\/stderror.err.*$//; s/ & [kjl]?pid[0-9]+=\$!$//' |
    tr -s ' ' | sed 's/ $//' | sort -u
}
plan_cmds() { grep -v '^#' | awk -F'\t' '{print $NF}' | tr -s ' ' | sed 's/ $//' | sort -u; }

if ! have_conf || [ ! -d "$OC" ]; then
  skip "oasis reference cases not found at $OC"
  done_testing
  exit 0
fi

for c in a_gul_allord_2p c_gul_il_join_meanonly_3p d_gul_fyshuffle_noperiods_3p; do
  opts=$(case_opts $c)
  # one pass, from the stream files; the reference's full ALT for alt_meanonly
  run=$(fresh $c one)
  err=$(es_t run oasis --run-dir "$run" --streams "$run/streams" --alt-meanonly full $opts 2>&1)
  rc=$?
  if [ $c = c_gul_il_join_meanonly_3p ]; then
    is "$rc:$err" "1:evstream: oasis: il S1: ept_per_sample_mean_aep needs return_period_file when input/periods.bin exists (the reference writes no such EPT rows) (not written)" \
      "$c: --keep-going: the setting the reference cannot honour is one line and exit 1"
  else
    is "$rc:$err" "0:" "$c: one pass: exit 0, quiet"
  fi
  compare "$run" $c "one pass"
  is "$(ls -A "$run/work/kat" 2>/dev/null | wc -l):$(ls -d "$run"/work/evstream-oasis 2>/dev/null | wc -l)" "0:0" \
    "$c: one pass: nothing left in work/"

  # partitioned: --partition K/N each (in reverse order), then --final
  run=$(fresh $c parts)
  n=$(ls "$run"/streams/gul_P*.bin | wc -l)
  prc=0
  for k in $(seq $n -1 1); do
    es_t run oasis --run-dir "$run" --streams "$run/streams" --alt-meanonly full $opts --partition $k/$n 2>/dev/null || prc=1
  done
  is "$prc:$(ls "$run/output" | grep -vc summary-info)" "0:0" "$c: partitions: exit 0, no output/ file before --final"
  es_t run oasis --run-dir "$run" --alt-meanonly full $opts --final 2>/dev/null
  compare "$run" $c "--partition K/$n then --final"

  # --plan: the same commands as genbash's script
  if diff <(genbash_cmds "$OC/$c/run_kernel.sh") \
          <(es_t run oasis --run-dir "$run" -n $n $opts --plan 2>/dev/null | plan_cmds) >"$T_TMP/plan.diff"; then
    pass "$c: --plan: every katpy/aalpy/lecpy/eltpy/pltpy/summarypy/join-summary-info command of run_kernel.sh, and no other"
  else
    fail "$c: --plan differs from run_kernel.sh" "$(head -5 "$T_TMP/plan.diff" | tr '\n' ' ')"
  fi
done

# the reinsurance plan (RI and RL, two iterations, an intermediate inuring priority)
P=$OC/plans/ri_rl_2iter
if diff <(genbash_cmds "$P/run_kernel.sh") \
        <(es_t run oasis --run-dir "$P" -n 2 --ri-iterations 2 --plan 2>/dev/null | plan_cmds) >"$T_TMP/plan.diff"; then
  pass "plans/ri_rl_2iter: --plan: the 65 commands of genbash's reinsurance script (ri_IP1_, rl_IP1_, rl_IP2_, input/RI_n)"
else
  fail "plans/ri_rl_2iter: --plan differs" "$(head -5 "$T_TMP/plan.diff" | tr '\n' ' ')"
fi
is "$(es_t run oasis --run-dir "$P" -n 2 --ri-iterations 2 --plan | grep -c '^output/')" "28" \
  "plans/ri_rl_2iter: --plan lists 28 output files"

# from FIFOs, as the drop-in for genbash's output half: the model half
# (here cat) writes fifo/gul_P<k>, fifo/il_P<k>; one evstream line reads them
c=c_gul_il_join_meanonly_3p
run=$(fresh $c fifo)
mkdir -p "$run/fifo"
for k in 1 2 3; do mkfifo "$run/fifo/gul_P$k" "$run/fifo/il_P$k"; done
( cd "$run" && for k in 1 2 3; do cat streams/il_P$k.bin > fifo/il_P$k & cat streams/gul_P$k.bin > fifo/gul_P$k & done; wait ) &
writers=$!
es_t run oasis --run-dir "$run" --alt-meanonly full $(case_opts $c) -j 1 2>/dev/null
wait $writers
compare "$run" $c "FIFOs (six streams read at once, whatever -j)"

# the drop-in of docs/oasis.md: genbash's model half (here cat) unchanged, one
# evstream line for the whole output half, streams in fifo/ as genbash names them
c=a_gul_allord_2p
run=$(fresh $c dropin)
cat >"$run/run_outputs.sh" <<EOS
set -euo pipefail
cd "\$(dirname "\$0")"
mkdir -p fifo work output && rm -rf fifo/* work/*
mkfifo fifo/gul_P1 fifo/gul_P2
"$EVSTREAM_BIN" run oasis --run-dir . --alt-meanonly full & oasis=\$!
( cat streams/gul_P1.bin > fifo/gul_P1 ) & p1=\$!
( cat streams/gul_P2.bin > fifo/gul_P2 ) & p2=\$!
wait \$p1 \$p2 && wait \$oasis
EOS
timeout 60 bash "$run/run_outputs.sh" 2>/dev/null
is "$?" "0" "drop-in script (model half + one evstream line): exit 0"
compare "$run" $c "drop-in script reading genbash's FIFOs"

# --stream NAME=PATH: streams named one by one, from anywhere
run=$(fresh a_gul_allord_2p named)
mv "$run/streams/gul_P1.bin" "$T_TMP/first.bin"
es_t run oasis --run-dir "$run" --streams "$run/streams" --stream gul_P1="$T_TMP/first.bin" --alt-meanonly full 2>/dev/null
compare "$run" a_gul_allord_2p "--stream gul_P1=PATH beside --streams"

# a malformed auxiliary input: found before any stream is read
run=$(fresh a_gul_allord_2p finalfail)
rm "$run/input/returnperiods.bin"
cp "$OC/a_gul_allord_2p/input/returnperiods.bin" "$run/input/returnperiods.csv.bin"
printf 'x' >"$run/input/returnperiods.bin"
err=$(es_t run oasis --run-dir "$run" --streams "$run/streams" 2>&1)
like "$?:$err" "^1:evstream: oasis: .*input/returnperiods.bin: .*byte 0" "a bad return period file: one line, before any stream is read"
is "$(ls "$run/output" | grep -vc summary-info):$(ls -A "$run/work" 2>/dev/null | wc -l)" "0:0" "  no output/ file, nothing in work/"

# a failure in the final step of a one-pass run (output/ is a file here)
# leaves no work file: the partitions' tables and states are removed too
run=$(fresh a_gul_allord_2p finalfail)
rm -rf "$run/output" && printf 'not a folder' >"$run/output"
err=$(es_t run oasis --run-dir "$run" --streams "$run/streams" 2>&1)
like "$?:$err" "^1:evstream: oasis: $run/output: " "the final step fails: one line"
is "$(ls -A "$run/work/kat" | wc -l):$(ls -d "$run"/work/evstream-oasis 2>/dev/null | wc -l):$(cat "$run/output")" \
  "0:0:not a folder" "  no partial table or state left, output untouched"

# alt_meanonly: by default the mean-only table the setting names (aal -M):
# the reference's full ALT cut to three columns, a summary's two types together
c=d_gul_fyshuffle_noperiods_3p
run=$(fresh $c meanonly)
es_t run oasis --run-dir "$run" --streams "$run/streams" $(case_opts $c) 2>/dev/null
want=$( (head -1 "$OC/$c/output/gul_S2_altmeanonly.csv" | cut -d, -f1-3; tail -n +2 "$OC/$c/output/gul_S2_altmeanonly.csv" |
         cut -d, -f1-3 | sort -t, -k1,1n -k2,2n) | md5sum)
is "$(md5sum <"$run/output/gul_S2_altmeanonly.csv")" "$want" \
  "alt_meanonly: SummaryId,SampleType,MeanLoss (aal -M), the reference's values"
for f in "$OC/$c"/output/*; do
  case $f in *altmeanonly*) continue ;; esac
  cmp -s "$f" "$run/output/${f##*/}" || { fail "alt_meanonly default: ${f##*/} differs"; continue 2; }
done
pass "alt_meanonly default: every other file identical"

# parquet_format: every table of case a as Parquet (the partials stay packed
# binary, as genbash's), read back by tocsv as the reference's CSV, byte for byte
c=a_gul_allord_2p
run=$(fresh $c parquet)
sed 's/"parquet_format": false/"parquet_format": true/' "$OC/$c/analysis_settings.json" >"$run/analysis_settings.json"
es_t run oasis --run-dir "$run" --streams "$run/streams" --alt-meanonly full 2>/dev/null
rc=$?
bad=""
for f in "$OC/$c"/output/*.csv; do
  case $f in *summary-info*) continue ;; esac
  name=${f##*/}
  es run tocsv -i "$run/output/${name%.csv}.parquet" 2>/dev/null | cmp -s - "$f" || bad="$bad ${name%.csv}.parquet"
done
is "$rc:${bad:-none}:$(ls "$run/output" | grep -c '\.parquet$')" "0:none:11" \
  "parquet_format: the 11 tables in Parquet, each read back as the reference's CSV"

# failures: one line, exit 1, no output/ file
c=c_gul_il_join_meanonly_3p
run=$(fresh $c refuse)
err=$(es_t run oasis --run-dir "$run" --streams "$run/streams" --join-summary-info 2>&1)
is "$?:$err" "1:evstream: oasis: il S1: ept_per_sample_mean_aep needs return_period_file when input/periods.bin exists (the reference writes no such EPT rows) (--keep-going writes the other outputs)" \
  "a setting the reference cannot honour: refused before any stream is read"
is "$(ls "$run/output" | grep -vc summary-info):$(ls -A "$run/work" 2>/dev/null | wc -l)" "0:0" "  nothing written, no work/"

run=$(fresh a_gul_allord_2p trunc)
head -c 100003 "$run/streams/gul_P2.bin" >"$run/streams/cut.bin" && mv "$run/streams/cut.bin" "$run/streams/gul_P2.bin"
err=$(es_t run oasis --run-dir "$run" --streams "$run/streams" 2>&1)
like "$?:$err" "^1:evstream: oasis: gul_P2: .*streams/gul_P2.bin: byte [0-9]+: event [0-9]+: truncated" \
  "a truncated stream: one line naming the stream, byte and event, exit 1"
is "$(ls "$run/output" | grep -vc summary-info):$(ls "$run/work/kat" | wc -l):$(ls -d "$run"/work/evstream-oasis/*.state 2>/dev/null | wc -l)" \
  "0:0:0" "  no output/ file, no partial table or state left"

run=$(fresh a_gul_allord_2p nostream)
err=$(es_t run oasis --run-dir "$run" 2>&1)
is "$?:$err" "1:evstream: oasis: no loss stream gul_P1 in $run/fifo (give --streams DIR, --stream NAME=PATH or -n)" \
  "no stream where genbash puts them: one line"
printf '{"gul_output": true, "gul_summaries": [{"id": "one"}]}' >"$run/analysis_settings.json"
err=$(es_t run oasis --run-dir "$run" --streams "$run/streams" 2>&1)
is "$?:$err" "1:evstream: oasis: $run/analysis_settings.json: gul_summaries[0]: id: one is not a summary set number 1 to 9" \
  "a setting of the wrong type: one line naming it"
printf '{"gul_output": true, "gul_summaries": [{"id": 1, "ord_output": {"elt_sample": "yes"}}]}' >"$run/analysis_settings.json"
err=$(es_t run oasis --run-dir "$run" --streams "$run/streams" 2>&1)
is "$?:$err" "1:evstream: oasis: $run/analysis_settings.json: gul_summaries[0]: ord_output.elt_sample: string, not a boolean" \
  "an ORD switch that is not a boolean: one line"
printf '{"gul_output": true, "gul_summaries": [' >"$run/analysis_settings.json"
err=$(es_t run oasis --run-dir "$run" --streams "$run/streams" 2>&1)
like "$?:$err" "^1:evstream: oasis: $run/analysis_settings.json: not valid JSON: " "broken JSON: one line"
printf '{"gul_output": true, "gul_summaries": [{"id": 1, "ord_output": {"elt_sample": true, "parquet_format": true}}]}' \
  >"$run/analysis_settings.json"
err=$(es_t run oasis --run-dir "$run" --streams "$run/streams" --join-summary-info 2>&1)
like "$?:$err" "^1:evstream: oasis: SELT gul S1: join_summary_info with parquet_format: " \
  "parquet_format with join_summary_info: one line (CSV tables only)"
cp "$OC/c_gul_il_join_meanonly_3p/analysis_settings.json" "$run/"
rm -f "$run"/output/*summary-info*
cp "$OC/c_gul_il_join_meanonly_3p"/streams/il_P*.bin "$run/streams/"
err=$(es_t run oasis --run-dir "$run" --streams "$run/streams" --join-summary-info -k 2>&1)
like "$?:$err" "^1:evstream: oasis: $run/output/il_S1_summary-info.csv: the summary-info file of output/il_S1_qplt.csv is missing" \
  "join_summary_info without the summary-info file: refused before reading"
run=$(fresh a_gul_allord_2p final)
err=$(es_t run oasis --run-dir "$run" --final -n 2 2>&1)
rc=$?
err2=$(es_t run oasis --run-dir "$run" --final 2>&1)
is "$?:$err2" "1:evstream: oasis: no gul_P1 stream in $run/fifo: give the number of processes with -n" \
  "--final with nothing in work/ and no -n: one line"
(exit $rc)
like "$?:$err" "^1:evstream: oasis: .*work/kat/gul_S1_plt_sample_P1: missing: the partitions did not all run" \
  "--final before the partitions: one line naming the missing part"

done_testing
