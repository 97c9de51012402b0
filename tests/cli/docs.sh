# docs: every example of README.md and docs/*.md runs as written, so the docs
# cannot drift from the code.  One TAP line per fenced block, naming its file
# and line:
#   ```sh                  run with bash -e under timeout, in a scratch copy of
#                          the fixture below; the blocks of one page run in
#                          order in the same copy, as a reader would type them
#   ```lua                 a whole script: written to the name its first line
#                          gives (-- NAME.lua), else to a name of its own, and
#                          run with `evstream run` over a summary stream
#   ```sh synopsis         a usage line: every option it names is in the
#                          script's --help
#   ```sh needs-gnuplot    run when gnuplot is installed, else # SKIP
#   ```sh needs-parallel   run when GNU parallel is installed, else # SKIP
#   ```sh no-run: REASON   # SKIP REASON (it cannot run here)
#   ```lua fragment        compiled, not run: # SKIP
#   ```yaml                # SKIP (Kubernetes manifests are not run here)
#   ```python, ```sql      # SKIP (loading a table in another tool)
# Blocks without an info string (outputs, error messages) are text, not examples.
# Also: every relative link and #anchor of those pages points at something, and
# docs/cli.md names every bundled script.
#
# The fixture is made once, with evstream gen (tests/rundir.sh) -- no data is
# copied: a run dir at the top (streams/gul_P1.bin, gul_P2.bin, input/,
# analysis_settings.json), the summary streams of both processes in work/
# (gul_S1_P1.bin, gul_S1_P2.bin, gul_S1.bin of both, gul_S2.bin), the same run
# dir again as run/ (with its streams in run/fifo/ too, where genbash puts
# them), and tests/ giving the examples the helper scripts and the reference
# cases (tests/conformance) to use as run dirs.
. "$(dirname "$0")/lib.sh"
DOCS=(README.md docs/*.md)
BLOCK_TIMEOUT=${DOCS_TIMEOUT:-120}

# evstream on PATH: the build under test
mkdir -p "$T_TMP/bin"
printf '#!/bin/sh\nexec "%s" "$@"\n' "$EVSTREAM_BIN" >"$T_TMP/bin/evstream"
chmod +x "$T_TMP/bin/evstream"
export PATH="$T_TMP/bin:$PATH"

F=$T_TMP/fixture
mkdir -p "$F/tests/cli" "$F/work" "$F/output" "$F/docs/plots"
ln -s "$ROOT/tests/cli/scripts" "$F/tests/cli/scripts"
ln -s "$ROOT/tests/rundir.sh" "$F/tests/rundir.sh"
[ -d "$CONF" ] && ln -s "$CONF" "$F/tests/conformance"
if ! ( set -e
       cd "$F"
       sh tests/rundir.sh . && sh tests/rundir.sh run
       mkdir -p run/fifo && cp run/streams/gul_P1.bin run/fifo/gul_P1 && cp run/streams/gul_P2.bin run/fifo/gul_P2
       for k in 1 2; do
         evstream run summary -t gul -p input -i streams/gul_P$k.bin -1 work/gul_S1_P$k.bin -2 work/gul_S2_P$k.bin
       done
       evstream run summary -t gul -p input -i streams/gul_P1.bin streams/gul_P2.bin -1 work/gul_S1.bin -2 work/gul_S2.bin
     ) >"$T_TMP/fixture.log" 2>&1; then
  fail "the docs fixture is made" "$(tail -5 "$T_TMP/fixture.log")"
  done_testing
  exit 0
fi

# the links
bad=$(lua5.4 tests/cli/scripts/docblocks.lua links "${DOCS[@]}")
is "$bad" "" "every relative link and anchor of README.md and docs/*.md resolves"

# every bundled script has its place in docs/cli.md
missing=""
for sc in scripts/*.lua; do
  sc=${sc#scripts/}; sc=${sc%.lua}
  grep -q "\`$sc\`" docs/cli.md || missing="$missing $sc"
done
is "$missing" "" "docs/cli.md names every bundled script"

mkdir -p "$T_TMP/blocks"
lua5.4 tests/cli/scripts/docblocks.lua blocks "$T_TMP/blocks" "${DOCS[@]}" >"$T_TMP/blocks.tsv" ||
  fail "the code blocks of the docs are read"

# synopsis_check FILE: every -x / --xx of each `evstream run SCRIPT ...` line
# (and its continuation lines) is in `evstream run SCRIPT --help`
synopsis_check() {
  local script="" help="" missing="" l o
  while IFS= read -r l; do
    case $l in
      "evstream run "*)
        script=${l#evstream run }; script=${script%% *}
        help=$(evstream run "$script" --help 2>&1) || { echo "$script: --help failed"; return; } ;;
      " "*) ;;
      *) echo "not a synopsis line: $l"; return ;;
    esac
    for o in $(printf '%s\n' "$l" | grep -oE '(^|[][ |(])--?[A-Za-z0-9][-A-Za-z0-9_]*' | sed 's/^[][ |(]//'); do
      printf '%s\n' "$help" | grep -qE -- "(^|[ ,(])$o([ ,)]|\$)" || missing="$missing $script $o;"
    done
  done <"$1"
  [ -z "$missing" ] || echo "not in --help:$missing"
}

have_gnuplot=$(command -v "${EVSTREAM_GNUPLOT:-gnuplot}" || true)
have_parallel=$(command -v parallel || true)
ran=0 skipped=0 lua_n=0 cur=""
while IFS=$'\t' read -r n file line info; do
  where="$file:$line"
  body=$T_TMP/blocks/$n
  first=$(grep -m1 -v '^[[:space:]]*#' "$body" | cut -c1-60)
  if [ "$file" != "$cur" ]; then                     # a fresh copy of the fixture per page
    cur=$file
    W=$T_TMP/work/$(echo "$file" | tr '/.' '__')
    mkdir -p "$W" && cp -a "$F/." "$W/"
  fi
  run_sh=0
  case $info in
    "") continue ;;
    sh) run_sh=1 ;;
    "sh needs-gnuplot")
      if [ -n "$have_gnuplot" ]; then run_sh=1
      else skip "$where: sh: $first -- needs gnuplot (make deps-plot)"; skipped=$((skipped + 1)); continue; fi ;;
    "sh needs-parallel")
      if [ -n "$have_parallel" ]; then run_sh=1
      else skip "$where: sh: $first -- needs GNU parallel (make deps-parallel)"; skipped=$((skipped + 1)); continue; fi ;;
    "sh no-run: "*)
      skip "$where: sh: ${info#sh no-run: }"; skipped=$((skipped + 1)); continue ;;
    "sh synopsis")
      msg=$(synopsis_check "$body")
      is "$msg" "" "$where: synopsis of $(sed -n '1s/^evstream run \([^ ]*\).*/\1/p' "$body"): every option is in its --help"
      continue ;;
    "lua fragment")
      if err=$(lua5.4 -e 'local s = io.read("a"); local f, e = load(s, "=fragment"); if not f then io.stderr:write(e, "\n"); os.exit(1) end' <"$body" 2>&1); then
        skip "$where: lua fragment -- compiles; a fragment is not run"
      else
        fail "$where: lua fragment compiles" "$err"
      fi
      skipped=$((skipped + 1)); continue ;;
    lua)
      lua_n=$((lua_n + 1))
      name=$(sed -n '1s/^-- *\([A-Za-z0-9_.-]*\.lua\)\b.*/\1/p' "$body")
      [ -n "$name" ] || name=$(basename "$file" .md)_$line.lua
      cp "$body" "$W/$name"
      if [ -n "$(grep -l 'tests/conformance' "$body")" ] && [ ! -d "$CONF" ]; then
        skip "$where: lua: $name -- the reference cases are not here"; skipped=$((skipped + 1)); continue
      fi
      if (cd "$W" && timeout -k 5 "$BLOCK_TIMEOUT" evstream run "./$name" -i work/gul_S1.bin) \
           </dev/null >"$T_TMP/out.$n" 2>&1; then
        pass "$where: lua: $name runs over a summary stream"; ran=$((ran + 1))
      else
        fail "$where: lua: $name runs over a summary stream" "$(tail -8 "$T_TMP/out.$n" | sed 's/^/#   /')"
      fi
      continue ;;
    yaml)
      skip "$where: yaml -- a Kubernetes manifest, not run here"; skipped=$((skipped + 1)); continue ;;
    python|sql)
      skip "$where: $info -- how another tool (pandas, DuckDB, Spark) loads a table, not run here"
      skipped=$((skipped + 1)); continue ;;
    *)
      fail "$where: unknown fence info '$info' (see tests/cli/docs.sh for the kinds)"; continue ;;
  esac
  if [ $run_sh -eq 1 ]; then
    if grep -q 'tests/conformance' "$body" && [ ! -d "$CONF" ]; then
      skip "$where: sh: $first -- the reference cases are not here"; skipped=$((skipped + 1)); continue
    fi
    if (cd "$W" && timeout -k 5 "$BLOCK_TIMEOUT" bash -e "$body") </dev/null >"$T_TMP/out.$n" 2>&1; then
      pass "$where: sh: $first"; ran=$((ran + 1))
    else
      fail "$where: sh: $first" "$(tail -8 "$T_TMP/out.$n" | sed 's/^/#   /')"
    fi
  fi
done <"$T_TMP/blocks.tsv"
echo "# docs examples: $ran run, $skipped skipped (reasons above)"
done_testing
