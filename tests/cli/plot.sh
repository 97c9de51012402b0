# CLI tests of the bundled plot script: pictures of EPT, PSEPT, ALCT and tail
# tables through gnuplot. The SVGs are checked for their structure: one
# <g id="gnuplot_plot_N"> group per plotted element (curve, band, bar set or
# key sample), titles, axis labels and key texts; the data handed to gnuplot
# (saved with --script) is checked against the tables.
. "$(dirname "$0")/lib.sh"
S=$T_TMP
C=$CONF

groups() { grep -c '<g id="gnuplot_plot_' "$1"; }
# has_text SVG TEXT...: every TEXT is the whole text of some <text> element
has_text() {
  local f=$1 t; shift
  for t in "$@"; do grep -qF "<text>$t</text>" "$f" || { echo "#   no <text>$t</text> in $f"; return 1; }; done
}
no_temps() { [ -z "$(find "$1" -name '*.tmp.*')" ]; }
# block SCRIPT MARK: the data lines of the first data block after the line MARK
block() { awk -v m="$2" '$0 == m {f = 1; next} f && / << EOD$/ {g = 1; next} g && $0 == "EOD" {exit} g {print}' "$1"; }
# close_cols A B: A and B have equal numbers of lines and fields, equal within
# float32 rounding (1e-6 relative, 1e-3 absolute)
close_cols() {
  paste -d'|' "$1" "$2" | awk -F'|' '
    { n = split($1, a, /[ ,]+/); m = split($2, b, /[ ,]+/); if (n != m) bad = 1
      for (i = 1; i <= n; i++) { d = a[i] - b[i]; if (d < 0) d = -d; s = a[i] < 0 ? -a[i] : a[i]
        if (d > 1e-6 * s + 1e-3) bad = 1 } rows++ }
    END { exit (bad || rows == 0) }' && [ "$(wc -l <"$1")" = "$(wc -l <"$2")" ]
}

# A tail table of a generated summary stream (three levels: six bar sets).
es gen -e 200 -r 3 -s 10 --seed 7 -o "$S/g.bin"
es run tail -i "$S/g.bin" -o "$S/tail.csv"

# ---- no gnuplot: one clear line, exit 1, no picture (runs without gnuplot too)
EVSTREAM_GNUPLOT=/nonexistent es run plot -i "$S/tail.csv" -o "$S/none.svg" 2>"$S/err"; rc=$?
is "$rc" 1 "missing gnuplot (EVSTREAM_GNUPLOT=/nonexistent): exit 1"
is "$(cat "$S/err")" "evstream: plot: gnuplot not found (EVSTREAM_GNUPLOT=/nonexistent): install the Debian package gnuplot-nox (make deps-plot, or apt-get install gnuplot-nox)" \
  "missing gnuplot: one line naming the package"
if [ ! -e "$S/none.svg" ] && no_temps "$S"; then pass "missing gnuplot: no picture, no temporary file"
else fail "missing gnuplot: no picture, no temporary file"; fi
mkdir -p "$S/emptybin"
PATH="$S/emptybin" "$EVSTREAM_BIN" run plot -i "$S/tail.csv" -o "$S/none.svg" 2>"$S/err"; rc=$?
is "$rc:$(cat "$S/err")" "1:evstream: plot: gnuplot not found on PATH: install the Debian package gnuplot-nox (make deps-plot, or apt-get install gnuplot-nox)" \
  "no gnuplot on PATH: exit 1 and the same line"
[ ! -e "$S/none.svg" ]; ok $? "no gnuplot on PATH: no picture"

if ! command -v gnuplot >/dev/null 2>&1; then
  skip "gnuplot is not installed (make deps-plot): pictures not tested"
  done_testing
  exit 0
fi

# ---- tail: VaR/TVaR bars
es run plot -i "$S/tail.csv" -o "$S/tail.svg" --script "$S/tail.gp"; rc=$?
is "$rc:$(groups "$S/tail.svg")" "0:6" "tail: one bar set per VaR_p and TVaR_p (6 for 3 levels)"
has_text "$S/tail.svg" "tail: VaR and TVaR of event losses by summary (tail.csv)" "SummaryId" \
  "event loss (model currency)" "VaR_0.9" "TVaR_0.9" "VaR_0.99" "TVaR_0.996"
ok $? "tail: title, axis labels and key name the table, the levels and the units"
nsum=$(($(wc -l <"$S/tail.csv") - 1))
ticks=0; for s in $(tail -n +2 "$S/tail.csv" | cut -d, -f1); do has_text "$S/tail.svg" "$s" && ticks=$((ticks + 1)); done
is "$ticks" "$nsum" "tail: a labelled cluster per summary ($nsum)"
block "$S/tail.gp" "set xrange [-0.5:$((nsum - 1)).5]" | cut -d' ' -f2- >"$S/bars"
tail -n +2 "$S/tail.csv" | cut -d, -f6-11 >"$S/want"
close_cols "$S/bars" "$S/want"; ok $? "tail: the bar heights are the table's VaR/TVaR columns"
es run plot -i "$S/tail.csv" -o "$S/tail2.svg" -s 2,3
is "$(groups "$S/tail2.svg")" 6 "tail --summary 2,3: still six bar sets"
has_text "$S/tail2.svg" 2 3 && ! has_text "$S/tail2.svg" 1 >/dev/null; ok $? "tail --summary 2,3: only those clusters"
es run tail -i "$S/g.bin" -E bin -l 0.5,0.95 -o "$S/tail.bin"
es run plot -i "$S/tail.bin" -l 0.5,0.95 -o "$S/tailb.svg"; rc=$?
is "$rc:$(groups "$S/tailb.svg")" "0:4" "tail -E bin with its levels (-l 0.5,0.95): four bar sets"
es run plot -i "$S/tail.bin" -o "$S/tailc.svg" 2>"$S/err"; rc=$?
like "$rc:$(cat "$S/err")" "^1:evstream: plot: .*tail.bin: .* bytes is not a whole number of tail records \(56 bytes each\) \(the levels, -l, make the record size\)$" \
  "tail -E bin with other levels: the record size does not fit, exit 1"
es run plot -i "$S/tail.csv" -o "$S/tail.png"
is "$(head -c 4 "$S/tail.png" | od -An -c | tr -d ' ')" "211PNG" "an output name ending in .png gives a PNG"

# ---- errors around gnuplot and the output
printf '#!/bin/sh\ncat >/dev/null\necho "gp: broken" >&2\nexit 3\n' >"$S/badgp"; chmod +x "$S/badgp"
echo old >"$S/keep.svg"
EVSTREAM_GNUPLOT=$S/badgp es run plot -i "$S/tail.csv" -o "$S/keep.svg" 2>"$S/err"; rc=$?
is "$rc:$(tail -1 "$S/err")" "1:evstream: plot: $S/badgp failed (exit 3)" "gnuplot failing: exit 1, one line after its message"
is "$(cat "$S/keep.svg")" old "gnuplot failing: an existing picture is left as it was"
no_temps "$S"; ok $? "gnuplot failing: the temporary picture is removed"
es run plot -i "$S/tail.csv" -o "$S/nodir/x.svg" 2>"$S/err"; rc=$?
is "$rc:$(cat "$S/err")" "1:evstream: plot: $S/nodir/x.svg: No such file or directory" "output in a missing directory: exit 1"
es run plot -o "$S/x.svg" 2>"$S/err"; rc=$?
is "$rc:$(cat "$S/err")" "1:evstream: plot: give one table file with -i FILE" "no input: exit 1"
printf 'SummaryId,Events,MeanLoss\n1,2,x\n' >"$S/odd.csv"
es run plot -i "$S/odd.csv" -o "$S/x.svg" 2>"$S/err"; rc=$?
is "$rc:$(cat "$S/err")" "1:evstream: plot: $S/odd.csv: data row 1, column MeanLoss: 'x' is not a number" \
  "a bad number: exit 1, naming the row and column"

if ! have_conf; then
  skip "no reference cases: EPT, PSEPT and ALCT pictures not tested"
  done_testing
  exit 0
fi

# ---- EPT: a line per (EPCalc, EPType); the key has a colour per EPCalc and a
# dash pattern per EPType (8 key samples)
L=$C/lec
es run plot -i "$L/lec_rp/py_ept.csv" -o "$S/ept.svg"; rc=$?
is "$rc:$(groups "$S/ept.svg")" "0:24" "EPT lec_rp: 16 curves + 8 key samples"
has_text "$S/ept.svg" "EPT: loss by return period, summary 1 (py_ept.csv)" "return period (years, log scale)" \
  "loss (model currency)" "mean damage ratio" "full uncertainty" "per-sample mean" "sample mean" \
  "OEP" "OEP TVaR" "AEP" "AEP TVaR"
ok $? "EPT: title, axis labels and key"
es run plot -i "$L/lec_rp/py_ept.bin" -o "$S/eptb.svg"
cmp -s <(sed 's/py_ept\.csv/T/' "$S/ept.svg") <(sed 's/py_ept\.bin/T/' "$S/eptb.svg")
ok $? "EPT: the -E bin table gives the picture of the CSV"
es run plot -i "$L/lec_rp/py_ept.csv" -o "$S/ept2.svg" -e AEP,oep
is "$(groups "$S/ept2.svg")" 14 "EPT --ep-type AEP,oep: 8 curves + 4 + 2 key samples"
es run plot -i "$L/ties_pw_rp/py_ept.csv" -o "$S/ties.svg"; rc=$?
is "$rc:$(groups "$S/ties.svg")" "0:66" "EPT ties_pw_rp: 3 panels of 14 curves (no weighted EPCalc 3 TVaR) + 8 key samples"
has_text "$S/ties.svg" "EPT: loss by return period (py_ept.csv)" "summary 1" "summary 2" "summary 3"
ok $? "EPT: one panel per summary, titled"
es run plot -i "$L/ties_pw_rp/py_ept.csv" -o "$S/ties2.svg" --summary 2
is "$(groups "$S/ties2.svg")" 22 "EPT --summary 2: one panel"
has_text "$S/ties2.svg" "EPT: loss by return period, summary 2 (py_ept.csv)"; ok $? "EPT --summary 2: its title"
es run plot -i "$L/ties_pw_rp/py_ept.csv" -o "$S/x.svg" --summary 4 2>"$S/err"; rc=$?
is "$rc:$(cat "$S/err")" "1:evstream: plot: no summary 4 in the table" "EPT --summary of an absent summary: exit 1"
# the large unweighted case (124 220 rows, curves of up to 30 000 points) stays small
es run plot -i "$L/lec/py_ept.bin" -o "$S/big.svg"; rc=$?
size=$(wc -c <"$S/big.svg")
is "$rc:$(groups "$S/big.svg")" "0:24" "EPT lec (-E bin, 124 220 rows): 16 curves"
[ "$size" -lt 300000 ]; ok $? "EPT lec: thinned to a small SVG ($size bytes)"
cp "$L/lec_rp/py_ept.bin" "$S/table.bin"
es run plot -i "$S/table.bin" -o "$S/x.svg" 2>"$S/err"; rc=$?
is "$rc:$(cat "$S/err")" "1:evstream: plot: $S/table.bin: cannot tell which table this is (its size fits ept, psept): give --kind" \
  "a .bin table of unknown kind: exit 1, asks for --kind"
es run plot -i "$S/table.bin" -k ept -o "$S/kind.svg"
cmp -s <(sed 's/py_ept\.bin/T/' "$S/eptb.svg") <(sed 's/table\.bin/T/' "$S/kind.svg"); ok $? "--kind ept reads it"

# ---- PSEPT: the wheatsheaf, a line per sample and the mean on top
es run plot -i "$L/lec_rp/py_psept.csv" -o "$S/ws.svg"; rc=$?
is "$rc:$(groups "$S/ws.svg")" "0:404" "PSEPT lec_rp: 4 panels (EP types) of 100 samples + the mean"
has_text "$S/ws.svg" "PSEPT: per-sample loss by return period (py_psept.csv)" "summary 1, OEP" "summary 1, AEP TVaR" \
  "samples (100)" "mean of the 100 samples" "return period (years, log scale)" "loss (model currency)"
ok $? "PSEPT: titles, axis labels and key"
es run plot -i "$L/lec_rp/py_psept.csv" -o "$S/ws10.svg" -e AEP --samples 10
is "$(groups "$S/ws10.svg")" 11 "PSEPT --samples 10 -e AEP: 10 sample curves + the mean"
has_text "$S/ws10.svg" "PSEPT: per-sample AEP, summary 1 (py_psept.csv)" "samples (10 of 100 drawn)" "mean of the 100 samples"
ok $? "PSEPT thinned: the key says how many are drawn"
# the mean curve is EPT's per-sample mean (EPCalc 3), within float32 rounding
for c in lec lec_rp ties_pw_rp; do
  es run plot -i "$L/$c/py_psept.csv" -o "$S/m.svg" -s 1 -e AEP --resolution 0 --script "$S/m.gp"
  block "$S/m.gp" "# the mean: summary 1, EPType 3" >"$S/mean"
  awk -F, '$1 == 1 && $2 == 3 && $3 == 3 && $4 > 0 {print $4, $5}' "$L/$c/py_ept.csv" | sort -g >"$S/want"
  close_cols "$S/mean" "$S/want"; ok $? "PSEPT $c: the mean curve is EPT's per-sample mean AEP ($(wc -l <"$S/want") points)"
done
mv "$S/m.svg" "$S/m0.svg"
gnuplot "$S/m.gp" && cmp -s "$S/m.svg" "$S/m0.svg"
ok $? "--script saves a gnuplot script that redraws the picture"

# ---- ALCT: MeanLoss in its confidence band against SampleSize
A=$C/aal
es run plot -i "$A/basic/py_alct.csv" -o "$S/alct.svg"; rc=$?
is "$rc:$(groups "$S/alct.svg")" "0:15" "ALCT basic: 5 panels of band, MeanLoss and the all-samples line"
has_text "$S/alct.svg" "ALCT: AAL against the number of samples (py_alct.csv)" "summary 1" "summary 5" \
  "SampleSize (samples, log scale)" "MeanLoss: average annual loss (model currency)" \
  "confidence interval (LowerCI..UpperCI)" "MeanLoss" "MeanLoss with all 10 samples"
ok $? "ALCT: titles, axis labels and key"
es run plot -i "$A/basic/py_alct.bin" -o "$S/alctb.svg"
cmp -s <(sed 's/py_alct\.csv/T/' "$S/alct.svg") <(sed 's/py_alct\.bin/T/' "$S/alctb.svg")
ok $? "ALCT: the -E bin table gives the picture of the CSV"
es run plot -i "$A/weights/py_alct.csv" -o "$S/alctw.svg" --script "$S/w.gp"; rc=$?
is "$rc:$(groups "$S/alctw.svg")" "0:15" "ALCT with nan columns (weights): 5 panels"
! grep -qi nan "$S/w.gp"; ok $? "ALCT: no nan handed to gnuplot"
block "$S/w.gp" "set key below horizontal font ',9'" | head -1 >"$S/first"
awk -F, '$1 == 1 && $4 == 1 {print $4, $2, $2, $2}' "$A/weights/py_alct.csv" >"$S/want"
close_cols "$S/first" "$S/want"; ok $? "ALCT: a subset without an interval (CI 0) has a band of zero width at MeanLoss"
block "$S/w.gp" "set key below horizontal font ',9'" | tail -1 >"$S/last"
awk -F, '$1 == 1 && $4 == 10 {print $4, $2, $5, $6}' "$A/weights/py_alct.csv" >"$S/want"
close_cols "$S/last" "$S/want"; ok $? "ALCT: the band is LowerCI..UpperCI"
{ cat "$A/basic/py_alct.csv"; for n in 1 2 4 10; do echo "6,0.000000,0.000000,$n,0.000000,0.000000,nan,nan,0.000000,0.000000,nan,0.000000,0.000000,nan"; done; } >"$S/unused.csv"
es run plot -i "$S/unused.csv" -o "$S/unused.svg" 2>"$S/err"; rc=$?
is "$rc:$(groups "$S/unused.svg"):$(cat "$S/err")" "0:15:evstream: plot: warning: summary 6: no loss, not drawn" \
  "ALCT: a summary without loss is left out, with a warning"
es run plot -i "$S/unused.csv" -o "$S/unused6.svg" -s 6 2>"$S/err"; rc=$?
is "$rc:$(groups "$S/unused6.svg"):$(cat "$S/err")" "0:3:" "ALCT: ... unless picked with --summary"
es run plot -i "$A/n1/py_alct.csv" -o "$S/alct1.svg"; rc=$?
is "$rc:$(groups "$S/alct1.svg")" "0:12" "ALCT n1 (a single subset per summary): 4 panels"
has_text "$S/alct1.svg" "MeanLoss with all 1 sample"; ok $? "ALCT n1: one sample"
es run plot -i "$A/all_files/py_alctgul.csv" -o "$S/x.svg" 2>"$S/err"; rc=$?
is "$rc:$(cat "$S/err")" "1:evstream: plot: 100 summaries would make 100 panels (at most 16): pick with --summary, or raise --max-panels" \
  "ALCT of 100 summaries: exit 1, asks for --summary"
[ ! -e "$S/x.svg" ]; ok $? "too many panels: no picture"
es run plot -i "$A/all_files/py_alctgul.csv" -o "$S/s7.svg" --summary 7
is "$(groups "$S/s7.svg")" 3 "ALCT --summary 7: one panel"
has_text "$S/s7.svg" "ALCT: AAL against the number of samples, summary 7 (py_alctgul.csv)"; ok $? "ALCT --summary 7: its title"
tail -n +2 "$A/basic/py_alct.csv" >"$S/nohead.csv"
es run plot -i "$S/nohead.csv" -H -k alct -o "$S/nohead.svg"
cmp -s <(sed 's/py_alct\.csv/T/' "$S/alct.svg") <(sed 's/nohead\.csv/T/' "$S/nohead.svg"); ok $? "a CSV without header, -H -k alct"
es run plot -i "$S/nohead.csv" -o "$S/x.svg" 2>"$S/err"; rc=$?
is "$rc:$(cat "$S/err")" "1:evstream: plot: $S/nohead.csv: no header line: the table kind must be given" \
  "a CSV without header and without --kind: exit 1"

# ---- tables plot does not draw, and a --kind that is not the header's
es run plot -i "$A/basic/py_alt.csv" -o "$S/x.svg" 2>"$S/err"; rc=$?
is "$rc:$(cat "$S/err")" "1:evstream: plot: $A/basic/py_alt.csv: plot draws ept, psept, alct and tail tables, not alt tables" \
  "an ALT table: exit 1"
es run plot -i "$A/basic/py_alct.csv" -k ept -o "$S/x.svg" 2>"$S/err"; rc=$?
is "$rc:$(cat "$S/err")" "1:evstream: plot: $A/basic/py_alct.csv: not the header of the ept table (SummaryId,EPCalc,EPType,ReturnPeriod,Loss)" \
  "--kind ept on an ALCT: exit 1"
no_temps "$S"; ok $? "no temporary file is left behind"
done_testing
