# CLI tests of safe outputs (issue 15): the run's registry of open files seen
# from scripts and from the Lua module, and temporaries of concurrent runs.
# The single-command cases (exact message, status, files) are in tests/bad/.
. "$(dirname "$0")/lib.sh"
S=$T_TMP

es gen -e 20 -r 3 -s 10 -o "$S/s.bin"
cp "$S/s.bin" "$S/copy.bin"
cp "$S/s.bin" "$S/s.bin.old"

# A user script opening two writers on one path: the second is refused,
# the run fails and neither the file nor a temporary is left.
cat >"$S/two.lua" <<'LUA'
local evstream = require "evstream"
local out = ...
function begin()
  assert(evstream.table{path = out, columns = {{"A", "%d"}}})
  local t, err = evstream.table{path = out, columns = {{"B", "%d"}}}
  if not t then error("two: " .. err, 0) end
end
function event() end
LUA
es run "$S/two.lua" "$S/out.csv" -i "$S/s.bin" 2>"$S/err"; rc=$?
is "$rc" 1 "a script with two writers on one path fails"
is "$(cat "$S/err")" "evstream: two: $S/out.csv: given to two outputs of this run" "... naming the path"
if [ -e "$S/out.csv" ] || ls "$S"/out.csv.tmp.* >/dev/null 2>&1; then fail "... and leaves nothing"; else pass "... and leaves nothing"; fi

# A script writing a stream over its own input through evstream.stream.
cat >"$S/over.lua" <<'LUA'
local evstream = require "evstream"
local path = ...
local w
function begin(info)
  local err
  w, err = evstream.stream{path = path, source = 3, agg = 1, len_sample = info.len_sample, summary_set_id = 1}
  if not w then error("over: " .. err, 0) end
end
function event(ev) w:copy(ev) end
LUA
es run "$S/over.lua" "$S/s.bin" -i "$S/s.bin" 2>"$S/err"; rc=$?
is "$rc:$(cat "$S/err")" "1:evstream: over: $S/s.bin: is an input of this run; it cannot also be an output" \
  "a stream writer on the script's own input is refused"
same_file "$S/s.bin" "$S/copy.bin" "... and the input is left as it was"

# The Lua module in plain lua5.4: a reader holds its file until it is closed.
out=$(BUILD=$BUILD lua5.4 - "$S/s.bin" <<'LUA' 2>&1
package.path = "lua/?.lua;" .. package.path
package.cpath = os.getenv("BUILD") .. "/?.so;" .. package.cpath
local evstream = require "evstream"
local p = ...
local r = assert(evstream.open(p))
local t, err = evstream.table{path = p, columns = {{"A", "%d"}}}
print(t == nil, err)
local r2, err2 = evstream.open({p, (p:gsub("/([^/]+)$", "/./%1"))})
print(r2 == nil, err2)
r:close()
t = assert(evstream.table{path = p .. ".old", columns = {{"A", "%d"}}})
local r3, err3 = evstream.open(p .. ".old")
print(r3 == nil, err3)
t:abort()
r = assert(evstream.open(p))
r:close()
t = evstream.table{path = p, columns = {{"A", "%d"}}}
print(t ~= nil)
t:abort()
LUA
)
is "$(sed -n 1p <<<"$out")" "true	$S/s.bin: is an input of this run; it cannot also be an output" \
  "lua5.4: a table on an open reader's file is refused"
is "$(sed -n 2p <<<"$out")" "true	$S/./s.bin: the same file as input $S/s.bin, given twice" \
  "lua5.4: a reader given one file twice is refused (another reader may read it)"
is "$(sed -n 3p <<<"$out")" "true	$S/s.bin.old: is an output of this run; it cannot also be an input" \
  "lua5.4: a reader on the file an open table replaces is refused"
is "$(sed -n 4p <<<"$out")" "true" "lua5.4: closing the reader frees its file"

# Two runs writing the same table at the same time: each has its own
# temporary, the file is one whole table, no temporary is left.
es gen -e 3000 -r 10 -s 20 -o "$S/big.bin"
es run elt -i "$S/big.bin" -m "$S/melt_ref.csv"
es run elt -i "$S/big.bin" -m "$S/melt.csv" & p1=$!
es run elt -i "$S/big.bin" -m "$S/melt.csv" & p2=$!
wait $p1; r1=$?; wait $p2; r2=$?
is "$r1:$r2" "0:0" "two concurrent runs on one output both succeed"
same_file "$S/melt.csv" "$S/melt_ref.csv" "... the output is one whole table"
if ls "$S"/melt.csv.tmp.* >/dev/null 2>&1; then fail "... no temporary is left"; else pass "... no temporary is left"; fi

# --help names the script as the user typed it (issue 15): a path for a
# user script or a copy of a bundled one, the bundled name otherwise.
cp scripts/plt.lua "$S/myplt.lua"
out=$(es run scripts/plt.lua --help | head -1)
is "$out" "usage: evstream run scripts/plt.lua [-i FILE...] [options]" "--help of scripts/plt.lua names the path typed"
out=$(cd "$S" && es run ./myplt.lua --help | head -1)
is "$out" "usage: evstream run ./myplt.lua [-i FILE...] [options]" "--help of ./myplt.lua names ./myplt.lua"
out=$(es run plt --help | head -1)
is "$out" "usage: evstream run plt [-i FILE...] [options]" "--help of the bundled plt keeps its name"

# One spelling per option across the tools, the older ones still accepted
# (issue 15, item 7): samples are -S/--samples in gen and fromcsv, elt's run
# directory is --run_dir (eltpy's), -E is also --ext (aalpy/lecpy's).
es gen -e 5 -r 3 -S 4 -o "$S/g1.bin"; es gen -e 5 -r 3 -s 4 -o "$S/g2.bin"; es gen -e 5 -r 3 --samples 4 -o "$S/g3.bin"
same_file "$S/g1.bin" "$S/g2.bin" "gen -S and the older -s are one option"
same_file "$S/g1.bin" "$S/g3.bin" "gen -S and --samples are one option"
mkdir -p "$S/rd/input"
printf 'event_id,rate\n1,0.5\n' >"$S/rd/input/event_rates.csv"
es run elt -i "$S/g1.bin" -m "$S/m1.csv" --run_dir "$S/rd"
es run elt -i "$S/g1.bin" -m "$S/m2.csv" --run-dir "$S/rd"
es run elt -i "$S/g1.bin" -m "$S/m3.csv" -r "$S/rd"
es run elt -i "$S/g1.bin" -m "$S/m4.csv" --run_dir="$S/rd" --ext csv
grep -q '^1,1,1,0.500000,' "$S/m1.csv"; ok $? "elt --run_dir reads the rates of the run directory"
same_file "$S/m1.csv" "$S/m2.csv" "elt --run-dir (older spelling) is --run_dir"
same_file "$S/m1.csv" "$S/m3.csv" "elt -r (older spelling) is --run_dir"
same_file "$S/m1.csv" "$S/m4.csv" "elt --ext is -E/--format"
like "$(es run elt --help)" 'run directory holding input/ \(default \.\) \(also --run-dir, -r\)' "elt --help lists the older spellings"
like "$(es run fromcsv --help)" '-S, --samples N' "fromcsv --help shows -S, --samples"
like "$(es gen --help)" '-S, --samples N' "gen --help shows -S, --samples"

done_testing
