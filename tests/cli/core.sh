# CLI tests of the runtime core: gen, info, several inputs, FIFOs, byte splits.
. "$(dirname "$0")/lib.sh"
C=tests/cli/scripts

out=$(es --version); like "$out" '^evstream [0-9]+\.[0-9]+\.[0-9]+ \(Lua 5\.4' "--version"
out=$(es --help); like "$out" 'usage: evstream COMMAND' "--help"
es bogus 2>"$T_TMP/err"; rc=$?; is "$rc" 2 "unknown command exits 2"
like "$(cat "$T_TMP/err")" "unknown command 'bogus'" "unknown command message"

# gen | info
out=$(es gen -e 50 -r 3 -s 20 | es info)
like "$out" 'events: 50' "gen | info: events"
like "$out" 'records: 150' "gen | info: records"
like "$out" 'samples: 20' "gen | info: samples"
like "$out" 'summary_set: 1' "gen | info: summary set"
like "$out" 'min_event: 1' "gen | info: min event"
like "$out" 'max_event: 50' "gen | info: max event"
es gen -e 50 -r 3 -s 20 -o "$T_TMP/s.bin"
want=$(lua5.4 $C/count_stream.lua "$T_TMP/s.bin" | awk '{print $3}')
like "$out" "pairs: $want\$" "gen | info: pairs agree with an independent count"

for t in loss gul; do for a in item coverage; do
  es gen -t $t -a $a -e 7 -r 4 -s 5 -o "$T_TMP/$t$a.bin"
  out=$(es info "$T_TMP/$t$a.bin")
  like "$out" "aggregation: $a" "gen -t $t -a $a: aggregation"
  like "$out" "records: 28" "gen -t $t -a $a: records"
done; done

# gen is deterministic; partitions are disjoint and cover the run
es gen -e 30 -r 2 -s 4 --seed 9 -o "$T_TMP/a.bin"
es gen -e 30 -r 2 -s 4 --seed 9 -o "$T_TMP/b.bin"
same_file "$T_TMP/a.bin" "$T_TMP/b.bin" "gen is deterministic"
es gen -e 30 -r 2 -s 4 --seed 10 -o "$T_TMP/c.bin"
cmp -s "$T_TMP/a.bin" "$T_TMP/c.bin"; ok $((1 - $?)) "another seed gives another stream"
for k in 1 2 3; do es gen -e 30 -r 2 -s 4 --seed 9 -p $k/3 -o "$T_TMP/p$k.bin"; done
es run $C/dump.lua -i "$T_TMP/a.bin" | sort >"$T_TMP/all.csv"
es run $C/dump.lua -i "$T_TMP/p1.bin" "$T_TMP/p2.bin" "$T_TMP/p3.bin" | sort >"$T_TMP/parts.csv"
same_file "$T_TMP/all.csv" "$T_TMP/parts.csv" "3 partitions read together give the whole run"
e1=$(es info "$T_TMP/p1.bin" | sed -n 's/events: //p'); is "$e1" 10 "partition 1/3 has a third of the events"
out=$(es info "$T_TMP/p1.bin" "$T_TMP/p2.bin" "$T_TMP/p3.bin")
like "$out" 'inputs: 3' "info over several files"
like "$out" 'events: 30' "info over several files: events"
es gen -p 4/3 2>/dev/null; ok $(( $? == 2 ? 0 : 1 )) "gen rejects a bad partition"

# mismatched headers name both files
es gen -s 5 -o "$T_TMP/h5.bin"; es gen -s 6 -o "$T_TMP/h6.bin"
es info "$T_TMP/h5.bin" "$T_TMP/h6.bin" >/dev/null 2>"$T_TMP/err"; rc=$?
ok $(( rc != 0 ? 0 : 1 )) "different headers: non-zero exit"
like "$(cat "$T_TMP/err")" "headers differ: .*h5.bin is a summary stream, 5 samples.* but .*h6.bin is a summary stream, 6 samples" "different headers: message names files and headers"

# a FIFO fed by a slow writer, and every byte split
es gen -e 20 -r 3 -s 6 -o "$T_TMP/f.bin"
es run $C/dump.lua -i "$T_TMP/f.bin" >"$T_TMP/direct.csv"
mkfifo "$T_TMP/fifo"
(lua5.4 $C/slow_write.lua "$T_TMP/f.bin" 1 >"$T_TMP/fifo") &
es run $C/dump.lua -i "$T_TMP/fifo" >"$T_TMP/slow.csv"
wait
same_file "$T_TMP/direct.csv" "$T_TMP/slow.csv" "one byte per write through a FIFO gives the same events"
lua5.4 $C/slow_write.lua "$T_TMP/f.bin" 7 | es run $C/dump.lua >"$T_TMP/seven.csv"
same_file "$T_TMP/direct.csv" "$T_TMP/seven.csv" "7 bytes per write through a pipe gives the same events"
mkfifo "$T_TMP/fifo2"
(sleep 0.3; cat "$T_TMP/p2.bin" >"$T_TMP/fifo2") &
es run $C/dump.lua -i "$T_TMP/p1.bin" "$T_TMP/fifo2" | sort >"$T_TMP/mixed.csv"
wait
cat "$T_TMP/p1.bin" >/dev/null
es run $C/dump.lua -i "$T_TMP/p1.bin" "$T_TMP/p2.bin" | sort >"$T_TMP/mixed_want.csv"
same_file "$T_TMP/mixed.csv" "$T_TMP/mixed_want.csv" "a file and a late FIFO read together"

# the reference streams: info succeeds and agrees with an independent count
if have_conf; then
  for f in "$CONF"/elt/summarypy.bin "$CONF"/plt/summarypy.bin "$CONF"/lec/*/work/gul/*.bin \
           "$CONF"/summary/*.bin "$CONF"/summary/*/*_summary.bin; do
    [ -f "$f" ] || continue
    name=${f#$CONF/}
    out=$(es info "$f") || { fail "info $name"; continue; }
    read -r ev rec pr mn mx <<<"$(lua5.4 $C/count_stream.lua "$f")"
    got="$(echo "$out" | sed -n 's/^events: //p') $(echo "$out" | sed -n 's/^records: //p') $(echo "$out" | sed -n 's/^pairs: //p') $(echo "$out" | sed -n 's/^min_event: //p') $(echo "$out" | sed -n 's/^max_event: //p')"
    is "$got" "$ev $rec $pr $mn $mx" "info $name agrees with an independent count"
  done
else
  skip "reference streams: $CONF not found"
fi
done_testing
