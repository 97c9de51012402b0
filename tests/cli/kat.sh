# CLI tests of the bundled kat script (katpy): the reference cases, partitioned
# tables merged back into the reference tables, options, edge cases, errors.
. "$(dirname "$0")/lib.sh"
S=$T_TMP
C=tests/cli/scripts
SELT_H="EventId,SummaryId,SampleId,Loss,ImpactedExposure"

# fails CMD...: exit status 1, one line on stderr (kept in $ERR), no output file $OUT
fails() {
  local name=$1; shift
  rm -f "$OUT"
  es "$@" >/dev/null 2>"$S/err"
  local rc=$? lines
  ERR=$(cat "$S/err")
  lines=$(wc -l <"$S/err")
  if [ $rc -eq 1 ] && [ "$lines" -eq 1 ] && [ ! -e "$OUT" ] && ! ls "$OUT".tmp.* >/dev/null 2>&1; then
    pass "$name: fails with one line, no output"
  else
    fail "$name: fails with one line, no output" "status $rc, $lines lines: $ERR"
  fi
}

if have_conf; then
  K=$CONF/kat
  es run kat -d "$K/qplt" -o "$S/katpy_qplt.csv" -Q
  same_file "$S/katpy_qplt.csv" "$K/katpy_qplt.csv" "csv in, sorted: byte-identical to katpy"
  es run kat -d "$K/qplt" -o "$S/ukatpy_qplt.csv" -Q -u
  same_file "$S/ukatpy_qplt.csv" "$K/ukatpy_qplt.csv" "csv in, unsorted (-u): byte-identical to katpy"
  es run kat -d "$K/bqplt" -o "$S/bkatpy_qplt.csv" -Q
  same_file "$S/bkatpy_qplt.csv" "$K/bkatpy_qplt.csv" "bin in, csv out, sorted: byte-identical to katpy"
  es run kat -d "$K/bqplt" -o "$S/ubkatpy_qplt.csv" -Q -u
  same_file "$S/ubkatpy_qplt.csv" "$K/ubkatpy_qplt.csv" "bin in, csv out, unsorted: byte-identical to katpy"
  # -i as katpy takes it (several paths after one -i), in -d's order (by name)
  files=$(cd "$K/qplt" && printf '%s\n' *.csv | LC_ALL=C sort | sed "s|^|$K/qplt/|")
  es run kat -i $files -o "$S/i.csv" -Q
  same_file "$S/i.csv" "$K/katpy_qplt.csv" "-i FILE... with the flag after the files"
  es run kat -Q --qplt -o "$S/i2.csv" -i $files 2>/dev/null
  ok $? "the same flag twice is one flag"
  # -d files come first (sorted by name), then the -i files in the order given
  # (of the reference partitions only py_qplt1.csv has a header line)
  mkdir -p "$S/d"
  cp "$K/qplt/py_qplt5.csv" "$K/qplt/py_qplt10.csv" "$S/d/"
  es run kat -i "$K/qplt/py_qplt2.csv" "$K/qplt/py_qplt1.csv" -d "$S/d" -o "$S/order.csv" -Q -u
  { head -1 "$K/katpy_qplt.csv"; for f in "$S/d/py_qplt10" "$S/d/py_qplt5" "$K/qplt/py_qplt2" "$K/qplt/py_qplt1"; do
      sed '1{/^Period/d}' "$f.csv"; done; } >"$S/order_want.csv"
  same_file "$S/order.csv" "$S/order_want.csv" "-u: -d files by name (10 before 5), then -i files as given"
  # bin -> bin: merged rows, the same as the csv once formatted; unsorted is cat
  es run kat -d "$K/bqplt" -o "$S/merged.bin" -Q
  es run kat -i "$S/merged.bin" -o "$S/merged.csv" -Q
  same_file "$S/merged.csv" "$K/bkatpy_qplt.csv" "bin -> bin sorted, then -> csv: katpy's table"
  es run kat -d "$K/bqplt" -o "$S/cat.bin" -Q -u
  (cd "$K/bqplt" && cat $(printf '%s\n' *.bin | LC_ALL=C sort)) >"$S/cat_want.bin"
  same_file "$S/cat.bin" "$S/cat_want.bin" "bin -> bin unsorted: the files one after the other"
  # stdout, -E, -f
  es run kat -d "$K/qplt" -o - -Q >"$S/stdout.csv"
  same_file "$S/stdout.csv" "$K/katpy_qplt.csv" "-o - writes to stdout"
  es run kat -d "$K/bqplt" -o - -E csv -Q >"$S/stdout_b.csv"
  same_file "$S/stdout_b.csv" "$K/bkatpy_qplt.csv" "-E csv: bin inputs to csv on stdout"
  es run kat -d "$K/bqplt" -o "$S/b_as_bin.out" -E bin -Q
  same_file "$S/b_as_bin.out" "$S/merged.bin" "-E bin: packed rows whatever the output name"
  mkdir -p "$S/nosuffix"
  for f in "$K"/bqplt/*.bin; do b=$(basename "$f" .bin); cp "$f" "$S/nosuffix/$b"; done
  es run kat -f bin -i "$S"/nosuffix/* -o "$S/nosuffix.csv" -Q
  same_file "$S/nosuffix.csv" "$K/bkatpy_qplt.csv" "-f bin: inputs without a suffix"
  mkfifo "$S/fifo1" "$S/fifo2"
  # the writers give up after 30 s should kat never open their FIFO
  timeout 30 sh -c 'cat "$1" >"$2"' sh "$K/qplt/py_qplt1.csv" "$S/fifo1" &
  timeout 30 sh -c 'cat "$1" >"$2"' sh "$K/qplt/py_qplt2.csv" "$S/fifo2" &
  es_t run kat -f csv -i "$S/fifo1" "$S/fifo2" -o "$S/fifo.csv" -Q
  wait
  es run kat -i "$K/qplt/py_qplt1.csv" "$K/qplt/py_qplt2.csv" -o "$S/fifo_want.csv" -Q
  same_file "$S/fifo.csv" "$S/fifo_want.csv" "-f csv: named pipes as inputs"

  # Partitions merged back: the reference streams split in two (events
  # alternate), a table per partition, kat: the reference's own tables.
  E=$CONF/elt
  P=$CONF/plt
  es run $C/split.lua "$S/e1.bin" "$S/e2.bin" -i "$E/summarypy.bin"
  es run $C/split.lua "$S/p1.bin" "$S/p2.bin" -i "$P/summarypy.bin"
  mkdir -p "$S/norates"
  for k in 1 2; do
    es run elt -i "$S/e$k.bin" -r "$E" -s "$S/selt$k.csv" -m "$S/melt$k.csv" -q "$S/qelt$k.csv"
    es run elt -E bin -i "$S/e$k.bin" -r "$E" -s "$S/selt$k.bin" -m "$S/melt$k.bin" -q "$S/qelt$k.bin"
    es run elt -E bin -i "$S/e$k.bin" -r "$S/norates" -m "$S/meltnr$k.bin"
    es run plt -i "$S/p$k.bin" -r "$P/all_files" -s "$S/splt$k.csv" -m "$S/mplt$k.csv" -q "$S/qplt$k.csv"
    es run plt -E bin -i "$S/p$k.bin" -r "$P/all_files" -s "$S/splt$k.bin" -m "$S/mplt$k.bin" -q "$S/qplt$k.bin"
  done
  for t in selt:s:py_selt melt:m:py_melt_er qelt:q:py_qelt splt:S:all_files/py_splt mplt:M:all_files/py_mplt \
           qplt:Q:all_files/py_qplt; do
    IFS=: read -r name flag ref <<<"$t"
    dir=$E; case $name in *plt) dir=$P ;; esac
    es run kat -i "$S/${name}1.csv" "$S/${name}2.csv" -o "$S/k_$name.csv" -$flag
    same_file "$S/k_$name.csv" "$dir/$ref.csv" "two partitions, csv: kat -$flag gives the reference ${name^^}"
    es run kat -i "$S/${name}1.bin" "$S/${name}2.bin" -o "$S/k_$name.bin" -$flag
    same_file "$S/k_$name.bin" "$dir/$ref.bin" "two partitions, bin: kat -$flag gives the reference ${name^^} bin"
    es run kat -i "$S/${name}1.bin" "$S/${name}2.bin" -o "$S/kb_$name.csv" -$flag
    same_file "$S/kb_$name.csv" "$dir/$ref.csv" "two partitions, bin -> csv: the reference ${name^^} csv"
  done
  es run kat -i "$S/meltnr1.bin" "$S/meltnr2.bin" -o "$S/k_meltnr.csv" -m
  same_file "$S/k_meltnr.csv" "$E/py_melt.csv" "bin -> csv prints a NaN EventRate as the reference (nan)"
  # headerless partitions (-H): one header in the output, the same rows
  for k in 1 2; do es run elt -i "$S/e$k.bin" -r "$E" -s "$S/selt_nh$k.csv" -H; done
  es run kat -i "$S/selt_nh1.csv" "$S/selt_nh2.csv" -o "$S/k_nh.csv" -s
  same_file "$S/k_nh.csv" "$E/py_selt.csv" "partitions without a header line: the table with one header"
  es run kat -i "$S/selt1.csv" "$S/selt_nh2.csv" -o "$S/k_nh2.csv" -s
  same_file "$S/k_nh2.csv" "$E/py_selt.csv" "one partition with a header, one without"
else
  skip "kat conformance: $CONF not found"
fi

# Partitions from the generator: `gen -p K/3` streams, SELT each, merged:
# the SELT of the whole stream.
mkdir -p "$S/g"
es gen -t summary -e 90 -r 4 -s 8 -o "$S/all.bin"
es run elt -i "$S/all.bin" -s "$S/g/all.csv"
for k in 1 2 3; do
  es gen -t summary -e 90 -r 4 -s 8 -p $k/3 | es run elt -s "$S/g/part$k.csv"
done
es run kat -d "$S/g" -o "$S/g_kat.csv" -s 2>/dev/null
ok $? "-d takes every *.csv of the folder"
cp "$S/all.bin" "$S/g/"
fails_out=$S/g_kat_mixed.csv
es run kat -d "$S/g" -o "$fails_out" -s 2>"$S/err"
[ $? -eq 1 ] && [ ! -e "$fails_out" ] && grep -q "inputs of different types" "$S/err"
ok $? "-d over a folder of .csv and .bin tables: refused"
rm "$S/g/all.bin"
es run kat -i "$S"/g/part{1,2,3}.csv -o "$S/g_kat.csv" -s
same_file "$S/g_kat.csv" "$S/g/all.csv" "gen -p K/3 partitions: kat -s is the whole stream's SELT"
es run kat -i "$S"/g/part{3,1,2}.csv -o "$S/g_kat312.csv" -s
same_file "$S/g_kat312.csv" "$S/g/all.csv" "sorted: the order of the inputs does not matter"

# Edge cases on small tables
printf '%s\n' "$SELT_H" >"$S/h.csv"
: >"$S/empty.csv"
es run kat -i "$S/h.csv" "$S/empty.csv" -o "$S/e.csv" -s
is "$(cat "$S/e.csv")" "$SELT_H" "header-only and empty inputs: a header-only table"
es run kat -i "$S/h.csv" -o "$S/eu.csv" -s -u
is "$(cat "$S/eu.csv")" "$SELT_H" "the same unsorted"
: >"$S/empty.bin"
es run kat -i "$S/empty.bin" -o "$S/eb.csv" -Q
is "$(cat "$S/eb.csv")" "Period,PeriodWeight,EventId,Year,Month,Day,Hour,Minute,SummaryId,Quantile,Loss" \
  "an empty bin input: a header-only csv"
es run kat -i "$S/empty.bin" -o "$S/eb.bin" -Q
is "$(stat -c %s "$S/eb.bin")" 0 "an empty bin input: an empty bin table"
# ties: the same event in two files goes to the lower file index, rows in file order
printf '%s\n1,1,2,2.00,0.00\n1,1,1,1.00,0.00\n3,1,1,3.00,0.00\n' "$SELT_H" >"$S/t1.csv"
printf '%s\n1,2,1,9.00,0.00\n2,1,1,5.00,0.00\n' "$SELT_H" >"$S/t2.csv"
es run kat -i "$S/t2.csv" "$S/t1.csv" -o "$S/ties.csv" -s
is "$(tail -n +2 "$S/ties.csv" | tr '\n' ' ')" "1,2,1,9.00,0.00 1,1,2,2.00,0.00 1,1,1,1.00,0.00 2,1,1,5.00,0.00 3,1,1,3.00,0.00 " \
  "ties: the first input's rows first, each file's rows in their order"
# a PLT's Period may go back inside an event (its rows follow the occurrence
# file): accepted, the event's rows stay in file order
QH="Period,PeriodWeight,EventId,Year,Month,Day,Hour,Minute,SummaryId,Quantile,Loss"
printf '%s\n3,0.1,5,1,1,1,0,0,1,0.50,1.00\n1,0.1,5,1,1,1,0,0,1,0.50,2.00\n2,0.1,7,1,1,1,0,0,1,0.50,3.00\n' "$QH" >"$S/pa.csv"
printf '%s\n9,0.1,6,1,1,1,0,0,1,0.50,4.00\n' "$QH" >"$S/pb.csv"
es run kat -i "$S/pa.csv" "$S/pb.csv" -o "$S/pab.csv" -Q
is "$(tail -n +2 "$S/pab.csv" | cut -d, -f1,3 | tr '\n' ' ')" "3,5 1,5 9,6 2,7 " \
  "PLT: a Period going back inside an event is kept in file order"
# CRLF lines, a blank line, no newline at the end
printf '%s\r\n2,1,1,2.00,0.00\r\n\r\n4,1,1,4.00,0.00' "$SELT_H" >"$S/crlf.csv"
printf '%s\n3,1,1,3.00,0.00' "$SELT_H" >"$S/nonl.csv"
es run kat -i "$S/crlf.csv" "$S/nonl.csv" -o "$S/crlf_out.csv" -s
is "$(od -An -c "$S/crlf_out.csv" | tr -s ' \n' ' ')" \
  "$(printf '%s\n2,1,1,2.00,0.00\n3,1,1,3.00,0.00\n4,1,1,4.00,0.00\n' "$SELT_H" | od -An -c | tr -s ' \n' ' ')" \
  "sorted: CRLF rows get \\n, blank lines go, a last line gets its newline"
es run kat -i "$S/nonl.csv" "$S/crlf.csv" -o "$S/crlf_u.csv" -s -u
is "$(od -An -c "$S/crlf_u.csv" | tr -s ' \n' ' ')" \
  "$(printf '%s\n3,1,1,3.00,0.00\n2,1,1,2.00,0.00\r\n\r\n4,1,1,4.00,0.00\n' "$SELT_H" | od -An -c | tr -s ' \n' ' ')" \
  "unsorted: bytes as they are after each header, a newline where a file lacks one"
# keys with spaces or a sign still parse
printf '%s\n 5 ,1,1,1.00,0.00\n+6,1,1,1.00,0.00\n' "$SELT_H" >"$S/sp.csv"
es run kat -i "$S/sp.csv" "$S/t2.csv" -o "$S/sp_out.csv" -s
is "$(tail -n +2 "$S/sp_out.csv" | cut -d, -f1 | tr '\n' ' ')" "1 2  5  +6 " "EventId with spaces or a + sign: parsed, copied as it is"

# `evstream scripts` and --help
es scripts | grep -q '^  kat ' && pass "evstream scripts lists kat" || fail "evstream scripts lists kat"
like "$(es run kat --help)" "-Q, --qplt" "--help shows the table flags"

# Errors: one line naming the file, status 1, no output
OUT=$S/out.csv
fails "no table flag" run kat -i "$S/h.csv" -o "$OUT"
like "$ERR" "kat: no table flag" "no table flag: says so"
fails "two table flags" run kat -i "$S/h.csv" -o "$OUT" -s -m
fails "no -o" run kat -i "$S/h.csv" -s
fails "no inputs" run kat -o "$OUT" -s
fails "missing file" run kat -i "$S/nosuch.csv" -o "$OUT" -s
like "$ERR" "nosuch.csv does not exist" "missing file: named"
fails "missing dir" run kat -d "$S/nosuchdir" -o "$OUT" -s
fails "-d on a file" run kat -d "$S/h.csv" -o "$OUT" -s
mkdir -p "$S/emptydir"
fails "-d of a folder without tables" run kat -d "$S/emptydir" -o "$OUT" -s
like "$ERR" "emptydir has no \*.csv, \*.bin or \*.parquet file" "-d of a folder without tables: said"
fails "-i on a directory" run kat -i "$S/g" -o "$OUT" -s
printf 'EventId,SummaryId,SampleId,Loss\n1,1,1,1.00\n' >"$S/badh.csv"
fails "another table's header" run kat -i "$S/h.csv" "$S/badh.csv" -o "$OUT" -s
is "$ERR" "evstream: kat: $S/badh.csv:1: not a SELT header: 4 columns, SELT has 5 (ImpactedExposure ... missing)" \
  "wrong header: file, line and the missing column named"
printf 'foo,bar\n1,1,1,1.00,1.00\n' >"$S/badh2.csv"
fails "a header without EventId" run kat -i "$S/badh2.csv" -o "$OUT" -s -u
fails "mixed csv and bin" run kat -i "$S/h.csv" "$S/empty.bin" -o "$OUT" -s
like "$ERR" "inputs of different types" "mixed types: said"
printf '1234567' >"$S/odd.bin"
fails "bin size not a whole number of rows" run kat -i "$S/odd.bin" -o "$OUT" -Q
like "$ERR" "odd.bin: 7 bytes: not a whole number of 44-byte QPLT rows" "misaligned bin: file, size and row size"
fails "misaligned bin, unsorted" run kat -i "$S/odd.bin" -o "$OUT" -Q -u
printf '%s\n2,1,1,1.00,0.00\n1,1,1,1.00,0.00\n' "$SELT_H" >"$S/unsorted.csv"
fails "unsorted csv in sorted mode" run kat -i "$S/h.csv" "$S/unsorted.csv" -o "$OUT" -s
like "$ERR" "unsorted.csv:3: EventId 1 after 2" "unsorted csv: file and line named"
es run kat -i "$S/unsorted.csv" -o "$S/unsorted_u.csv" -s -u
ok $? "-u takes an unsorted input"
if have_conf; then
  cat "$K/bqplt/bpy_qplt2.bin" "$K/bqplt/bpy_qplt1.bin" >"$S/unsorted.bin"
  fails "unsorted bin in sorted mode" run kat -i "$S/unsorted.bin" -o "$OUT" -Q
  is "$ERR" "evstream: kat: $S/unsorted.bin: row 229 (byte 10032): EventId 1 after 1382: the input is not sorted by EventId (-u concatenates unsorted inputs)" \
    "unsorted bin: row and byte named"
fi
printf '%s\nx,1,1,1.00,0.00\n' "$SELT_H" >"$S/nonint.csv"
fails "non-integer EventId" run kat -i "$S/nonint.csv" -o "$OUT" -s
like "$ERR" "nonint.csv:2: EventId 'x' is not an integer" "non-integer key: file and line"
printf '%s\n1\n' "$SELT_H" >"$S/short.csv"
fails "csv inputs to a bin output" run kat -i "$S/h.csv" -o "$S/out.bin" -s
printf 'EventId\n' >"$S/x.parquet"
fails "a .parquet input that is not Parquet" run kat -i "$S/x.parquet" -o "$OUT" -s
like "$ERR" "x.parquet: not a Parquet file" "a .parquet input that is not Parquet: said"
cp "$S/h.csv" "$S/nosuffix_csv"
fails "no suffix and no -f" run kat -i "$S/nosuffix_csv" -o "$OUT" -s
cp "$S/t1.csv" "$OUT.keep"
cp "$S/t1.csv" "$S/in_out.csv"
OUT=$S/in_out.csv
es run kat -i "$S/in_out.csv" -o "$S/in_out.csv" -s 2>"$S/err"
rc=$?
if [ $rc -eq 1 ] && cmp -s "$S/in_out.csv" "$S/t1.csv"; then pass "the output is an input: refused, the file kept"
else fail "the output is an input: refused, the file kept" "status $rc: $(cat "$S/err")"; fi
OUT=$S/out.csv
fails "one input twice" run kat -i "$S/t1.csv" "$S/t1.csv" -o "$OUT" -s

done_testing
