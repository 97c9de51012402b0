# CLI tests of events in parts (docs/scripting.md "Events in parts"): every bundled
# script over every reference case gives byte-identical outputs whatever the
# part size (EVSTREAM_PART_BYTES), and a giant event is read in bounded memory.
. "$(dirname "$0")/lib.sh"
S=$T_TMP
TINY=300   # bytes of batch arrays: one to three records per part on these cases
NCASE=0

# parts NAME CMD: runs CMD (a shell string writing into "$O" and to stdout)
# with the default part size and with a tiny one, and compares everything.
parts() {
  local name=$1 cmd=$2 a=$S/a.$NCASE b=$S/b.$NCASE ra rb d=""
  NCASE=$((NCASE + 1))
  mkdir -p "$a" "$b"
  O=$a eval "$cmd" >"$a/stdout" 2>"$a/stderr"; ra=$?
  O=$b EVSTREAM_PART_BYTES=$TINY eval "$cmd" >"$b/stdout" 2>"$b/stderr"; rb=$?
  d=$(diff -r "$a" "$b" 2>&1 | head -2)
  if [ $ra -ne 0 ]; then fail "$name" "exit $ra: $(head -2 "$a/stderr")"
  elif [ $rb -ne 0 ]; then fail "$name (part size $TINY)" "exit $rb: $(head -2 "$b/stderr")"
  elif [ "$(find "$a" -type f -size +0 | wc -l)" -lt 1 ]; then fail "$name" "no output at all"
  elif [ -n "$d" ]; then fail "$name: part size $TINY changes the output" "$d"
  else pass "$name: identical with part size $TINY"; fi
}
export -f es 2>/dev/null

if have_conf; then
  # summary: every set of every run type, with the .idx
  for kind in single_summary_set multiple_summary_set; do
    for t in gul il ri; do
      R=$CONF/summary; dir=$R/$kind; extra=""
      [ $t = ri ] && { dir=$R/$kind/RI_1; extra=-z; }
      outs=""
      for exp in "$R/$kind/${t}"_S*_summary.bin; do
        set_id=$(basename "$exp" | sed 's/.*_S\([0-9]\)_summary.bin/\1/')
        outs="$outs -$set_id \$O/$set_id.bin"
      done
      parts "summary $kind $t" "es run summary -t $t -p '$dir' $extra -m -i '$R/$t.bin' $outs"
      parts "tocsv $t.bin" "es run tocsv -i '$R/$t.bin'"
      parts "info $t.bin" "es info '$R/$t.bin'"
    done
  done
  # elt and plt: csv and bin, every case
  E=$CONF/elt
  for fmt in csv bin; do
    parts "elt $fmt" "es run elt -E $fmt -i '$E/summarypy.bin' -r '$E' -s \$O/s -m \$O/m -q \$O/q"
    parts "elt late_specials $fmt" \
      "es run elt -E $fmt -i '$E/late_specials/summary.bin' -r '$E/late_specials' -s \$O/s -m \$O/m -q \$O/q"
    parts "plt late_specials $fmt" \
      "es run plt -E $fmt -i '$E/late_specials/summary.bin' -r '$E/late_specials' -s \$O/s -m \$O/m -q \$O/q"
    for c in all_files no_files occ_gran_files; do
      parts "plt $c $fmt" "es run plt -E $fmt -i '$CONF/plt/summarypy.bin' --run-dir '$CONF/plt/$c' -s \$O/s -m \$O/m -q \$O/q"
    done
  done
  parts "tail" "es run tail -i '$E/summarypy.bin' -o \$O/t.csv"
  parts "tocsv summary stream" "es run tocsv -i '$E/summarypy.bin'"
  N=$(es info "$E/summarypy.bin" | sed -n 's/^samples: //p')
  parts "fromcsv round trip" "es run tocsv -i '$E/summarypy.bin' | es run fromcsv -N $N -o \$O/back.bin"
  # lec: all eight curves, each case, csv and bin
  for c in lec lec_pw lec_pw_rp lec_rp ties_pw ties_pw_rp; do
    R=""; case $c in *_rp) R=-r ;; esac
    for fmt in csv bin; do
      parts "lec $c $fmt" "es run lec --run-dir '$CONF/lec/$c' -K gul -O \$O/ept -o \$O/psept -F -f -S -s -W -w -M -m $R -E $fmt"
    done
  done
  # aal: ALT, ALCT and mean-only, every case
  for c in $(ls "$CONF/aal"); do
    [ -d "$CONF/aal/$c/work" ] || continue
    parts "aal $c" "es run aal --run-dir '$CONF/aal/$c' -K gul -a \$O/alt -c \$O/alct && es run aal --run-dir '$CONF/aal/$c' -K gul -a \$O/altm -M"
    parts "oep_rp $c" "es run oep_rp -i '$CONF/aal/$c'/work/gul/*.bin --run-dir '$CONF/aal/$c' -o \$O/oep.csv"
    parts "period_means $c" "es run period_means -i '$CONF/aal/$c'/work/gul/*.bin --run-dir '$CONF/aal/$c' -o \$O/means.csv"
    parts "exceedance $c" "es run exceedance -i '$CONF/aal/$c'/work/gul/*.bin --run-dir '$CONF/aal/$c' -t 0,1000,5e4 -o \$O/exc.csv"
  done
  # kat reads tables, not streams: the same whatever the part size
  parts "kat" "es run kat -d '$CONF/kat/qplt' -o \$O/k.csv -Q"
else
  skip "scale: $CONF not found"
fi

# ---- generated streams: big events, several inputs ----
es gen -t gul -e 7 -r 300 -s 20 -z 0.5 --seed 3 -o "$S/g.bin"
es gen -t gul -e 5 -r 200 -s 20 -z 0.5 --seed 4 -o "$S/g2.bin"
parts "tocsv generated, 2 inputs" "es run tocsv -i '$S/g.bin' '$S/g2.bin'"
parts "info generated, 2 inputs" "es info '$S/g.bin' '$S/g2.bin'"
# each part of an event comes before any other event, and first/last mark it
cat >"$S/order.lua" <<'EOF'
local open, last_id, parts = nil, nil, 0
function event(ev)
  if ev:first() then
    assert(not open, "an event started before the previous one ended")
    open = ev:id(); parts = 0
  else
    assert(open == ev:id(), "a part of another event came in the middle of an event")
  end
  parts = parts + 1
  if ev:last() then io.write(ev:input(), " ", ev:id(), " ", parts, "\n"); open = nil end
end
EOF
out=$(EVSTREAM_PART_BYTES=2000 es run "$S/order.lua" -i "$S/g.bin" "$S/g2.bin" 2>&1); rc=$?
ok $rc "parts of two inputs never interleave within an event"
is "$(printf '%s\n' "$out" | wc -l)" 12 "every event of both inputs ends once"
like "$out" " ([2-9]|[0-9]{2,})$" "a big event came in several parts"
out=$(EVSTREAM_PART_BYTES=0 es run "$S/order.lua" -i "$S/g.bin" 2>&1)
is "$(printf '%s\n' "$out" | awk '{print $3}' | sort -u)" 1 "EVSTREAM_PART_BYTES=0: whole events"
out=$(EVSTREAM_PART_BYTES=12x es info "$S/g.bin" 2>&1); rc=$?
like "$rc:$out" "^1:.*EVSTREAM_PART_BYTES: '12x' is not a byte count" "a bad EVSTREAM_PART_BYTES is refused"

# a giant event under a memory limit: tests/bad/cases/limits_giant_event.case
done_testing
