# tests/cli/lib.sh -- TAP helpers for the CLI tests (sourced by each test).
# Environment from tests/run: ROOT, BUILD, EVSTREAM_BIN, CONF, EVSTREAM_WRAP.
set -u
T_N=0
T_TMP=$(mktemp -d)
trap 'rm -rf "$T_TMP"' EXIT
: "${ROOT:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}" "${BUILD:=build}" "${EVSTREAM_BIN:=$ROOT/$BUILD/evstream}" "${CONF:=$ROOT/tests/conformance}"
cd "$ROOT"

# es ARGS...: the CLI (under valgrind when EVSTREAM_WRAP is set).
es() { ${EVSTREAM_WRAP:-} "$EVSTREAM_BIN" "$@"; }
# es_t ARGS...: the same with a time limit, for cases that must not block.
es_t() { timeout 30 ${EVSTREAM_WRAP:-} "$EVSTREAM_BIN" "$@"; }

ok() {  # ok COND_STATUS NAME
  T_N=$((T_N + 1))
  if [ "$1" -eq 0 ]; then echo "ok $T_N - $2"; else echo "not ok $T_N - $2"; fi
}
pass() { T_N=$((T_N + 1)); echo "ok $T_N - $1"; }
fail() { T_N=$((T_N + 1)); echo "not ok $T_N - $1"; [ $# -gt 1 ] && echo "#   $2"; }
skip() { T_N=$((T_N + 1)); echo "ok $T_N - # SKIP $1"; }

# is GOT WANT NAME
is() {
  if [ "$1" = "$2" ]; then pass "$3"; else fail "$3" "got '$1', want '$2'"; fi
}
# same_file A B NAME: byte-identical
same_file() {
  if cmp -s "$1" "$2"; then pass "$3"; else fail "$3" "$(cmp "$1" "$2" 2>&1 | head -1)"; fi
}
# like TEXT REGEX NAME
like() {
  if printf '%s' "$1" | grep -qE -- "$2"; then pass "$3"; else fail "$3" "'$1' !~ /$2/"; fi
}
have_conf() { [ -d "$CONF" ]; }
done_testing() { echo "1..$T_N"; }
