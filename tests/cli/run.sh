# CLI tests of `evstream run`: the hook protocol, user and bundled scripts,
# error reports, outputs on failure, progress, the plain-Lua module.
. "$(dirname "$0")/lib.sh"
S=$T_TMP
es gen -e 5 -r 2 -s 4 -o "$S/in.bin"

out=$(es_t run elt --help </dev/null); rc=$?
is "$rc" 0 "bundled script --help exits 0 without reading stdin"
like "$out" 'usage: evstream run elt' "bundled script --help prints its usage"
like "$out" '--run-dir' "bundled script --help lists its options"
out=$(es scripts); like "$out" '  elt' "evstream scripts lists elt"
es run no_such_script 2>"$S/err" </dev/null; rc=$?
ok $(( rc != 0 ? 0 : 1 )) "unknown script: non-zero exit"
like "$(cat "$S/err")" "no such script 'no_such_script'" "unknown script: message"

# hooks: begin gets info and args, the chunk gets ... too, finish runs last
cat >"$S/hooks.lua" <<'LUA'
local a, b = ...
local n, recs = 0, 0
function begin(info, args)
  print("begin", info.source_name, info.len_sample, info.summary_set_id, #info.inputs, args[1], args[2], a, b)
end
function event(ev) n = n + 1; recs = recs + ev:nrec() end
function finish() print("finish", n, recs) end
LUA
out=$(es run "$S/hooks.lua" -i "$S/in.bin" --flag value)
is "$out" "$(printf 'begin\tsummary\t4\t1\t1\t--flag\tvalue\t--flag\tvalue\nfinish\t5\t10')" "hooks get info, args and run in order"
out=$(es run "$S/hooks.lua" --flag value <"$S/in.bin" | tail -1)
is "$out" "$(printf 'finish\t5\t10')" "stdin is the default input"

cat >"$S/table_hooks.lua" <<'LUA'
local n = 0
return {event = function(ev) n = n + 1 end, finish = function() print(n) end}
LUA
out=$(es run "$S/table_hooks.lua" -i "$S/in.bin"); is "$out" 5 "a script may return its hooks in a table"

cat >"$S/noevent.lua" <<'LUA'
function begin(info, args) print("inputs", #info.inputs, info.inputs[1]) end
LUA
out=$(es_t run "$S/noevent.lua" -i x.csv </dev/null); rc=$?
is "$rc" 0 "a script without an event hook opens no stream"
is "$out" "$(printf 'inputs\t1\tx.csv')" "it still gets the -i paths"

# errors: syntax, runtime with event id and traceback, each hook
printf 'local x = 1\nfunction event(ev)\n  x = = 1\nend\n' >"$S/syntax.lua"
es run "$S/syntax.lua" -i "$S/in.bin" 2>"$S/err"; rc=$?
is "$rc" 1 "syntax error exits 1"
like "$(head -1 "$S/err")" '^evstream: .*syntax.lua:3: ' "syntax error names script:line"
printf 'function event(ev)\n  if ev:id() == 3 then\n    error("boom")\n  end\nend\n' >"$S/rt.lua"
es run "$S/rt.lua" -i "$S/in.bin" 2>"$S/err"; rc=$?
is "$rc" 1 "runtime error exits 1"
like "$(head -1 "$S/err")" '^evstream: .*rt.lua:3: boom \(event 3\)$' "runtime error: script:line, message and event id"
like "$(cat "$S/err")" 'stack traceback' "runtime error: traceback"
for hook in begin finish; do
  printf 'function %s() local t = nil; return t.x end\nfunction event(ev) end\n' $hook >"$S/h_$hook.lua"
  es run "$S/h_$hook.lua" -i "$S/in.bin" 2>"$S/err"; rc=$?
  is "$rc" 1 "error in $hook exits 1"
  like "$(head -1 "$S/err")" "h_$hook.lua:1: attempt to index a nil value" "error in $hook names script:line"
done
printf 'error("at load")\n' >"$S/load.lua"
es run "$S/load.lua" 2>"$S/err" </dev/null; rc=$?
is "$rc" 1 "error while loading exits 1"
like "$(head -1 "$S/err")" 'load.lua:1: at load' "error while loading names script:line"

# a failing run leaves no output that looks complete
cat >"$S/partial.lua" <<'LUA'
local evstream = require "evstream"
local t
function begin() t = assert(evstream.table{path = arg[1], columns = {{"E", "%d"}}}) end
function event(ev) t:row(ev:id()); if ev:id() == 4 then error("late failure") end end
LUA
es run "$S/partial.lua" "$S/out.csv" -i "$S/in.bin" 2>/dev/null; rc=$?
is "$rc" 1 "failing script exits 1"
[ ! -e "$S/out.csv" ]; ok $? "failing script: no output file"
left=$(ls "$S" | grep -c 'out.csv.tmp'); is "$left" 0 "failing script: no temporary file left"
sed -i 's/ if ev:id() == 4 then error("late failure") end//' "$S/partial.lua"
es run "$S/partial.lua" "$S/out.csv" -i "$S/in.bin"
is "$(tr '\n' ' ' <"$S/out.csv")" "E 1 2 3 4 5 " "writers left open are committed after finish"

# a bad stream under a script: one line with file, byte and event, exit 1
head -c 102 "$S/in.bin" >"$S/cut.bin"
es run "$S/hooks.lua" -i "$S/cut.bin" >/dev/null 2>"$S/err"; rc=$?
is "$rc" 1 "truncated stream under run exits 1"
like "$(cat "$S/err")" "^evstream: $S/cut.bin: byte [0-9]+: event [0-9]+: truncated" "truncated stream: file, byte, event"
is "$(wc -l <"$S/err")" 1 "truncated stream: one line"

# a batch kept past its callback raises
cat >"$S/stale.lua" <<'LUA'
local kept
function event(ev) kept = kept or ev end
function finish() kept:nrec() end
LUA
es run "$S/stale.lua" -i "$S/in.bin" 2>"$S/err"; rc=$?
is "$rc" 1 "stale batch use exits 1"
like "$(head -1 "$S/err")" 'stale.lua:3: stale event batch' "stale batch use names script:line"

# progress: one refreshing line on stderr
es run "$S/hooks.lua" --progress -i "$S/in.bin" >/dev/null 2>"$S/err"
like "$(cat "$S/err")" '5 events .* MB/s .*100\.0%' "--progress shows events, MB/s and percent"
es run "$S/hooks.lua" -i "$S/in.bin" >/dev/null 2>"$S/err"
is "$(wc -c <"$S/err")" 0 "no progress when stderr is not a terminal"

# the module from plain lua5.4
out=$(cd "$ROOT" && LUA_CPATH="$BUILD/?.so;;" LUA_PATH="lua/?.lua;;" lua5.4 -e '
  local e = require "evstream"
  local r = assert(e.open("'"$S/in.bin"'"))
  local n = 0
  for ev in r:events() do n = n + ev:nrec() end
  print(e.version ~= nil, n)')
is "$out" "$(printf 'true\t10')" "require \"evstream\" from plain lua5.4"
# t:pairs on worker threads writes exactly the serial bytes, in call order
es gen -e 400 -r 7 -s 50 --seed 4 -o "$S/th.bin"
cat >"$S/mixed.lua" <<'LUA'
local evstream = require "evstream"
local t
function begin() t = assert(evstream.table{path = "-", columns = {{"a", "%d"}, {"b", "%d"}, {"c", "%.2f"}}}) end
function event(ev)
  t:pairs(ev, {"event", "sidx", "loss"}, {skip = {-5}})
  t:row(-1, ev:id(), ev:nrec())       -- must land after this event's pair rows
end
LUA
EVSTREAM_THREADS=0 es run "$S/mixed.lua" -i "$S/th.bin" >"$S/th0.csv"
for n in 1 2 3; do
  EVSTREAM_THREADS=$n es run "$S/mixed.lua" -i "$S/th.bin" >"$S/th$n.csv"
  same_file "$S/th$n.csv" "$S/th0.csv" "t:pairs on $n worker threads gives the serial output, rows in call order"
done
is "$(grep -c '^-1,' "$S/th0.csv")" 400 "mixed rows: one marker row per event"

# the worked example of docs/scripting.md runs as documented
sed -n '/^-- bigloss.lua/,/^```$/p' docs/scripting.md | sed '$d' >"$S/bigloss.lua"
printf 'H 3 1 2 1\nR 1 1 10\nP 1 10\nP 2 30\nT\nR 2 1 10\nP 1 40\nP 2 40\nT\nR 3 2 10\nP 2 100\nT\n' | lua5.4 tests/cli/scripts/mkstream.lua >"$S/readme.bin"
es run "$S/bigloss.lua" -t 30 -o "$S/big.csv" -i "$S/readme.bin" 2>"$S/err"
is "$(cat "$S/big.csv" | tr '\n' ' ')" "EventId,SummaryId,MeanLoss,SDLoss 2,1,40.00,0.00 3,2,50.00,70.71 " "docs/scripting.md example: rows above the threshold"
like "$(sort "$S/err" | tr '\n' ' ')" "summary 1: 2 events, worst mean loss 40.00 summary 2: 1 events, worst mean loss 50.00" "docs/scripting.md example: digest on stderr"
done_testing
