# `make install` into a DESTDIR: the CLI finds its scripts and Lua library
# there, the Lua module loads from the installed path, and a C program
# builds against the installed header and library.
. "$(dirname "$0")/lib.sh"
D=$T_TMP/dest
P=/opt/evstream-test
make -s --no-print-directory BUILD="$BUILD" install DESTDIR="$D" PREFIX=$P >/dev/null 2>"$T_TMP/err"; rc=$?
is "$rc" 0 "make install DESTDIR=... PREFIX=... succeeds"
for f in bin/evstream lib/libevstream.a lib/libevstream.so include/evstream.h lib/pkgconfig/evstream.pc \
         lib/lua/5.4/evstream.so share/lua/5.4/evstream/cli.lua share/evstream/scripts/elt.lua; do
  [ -e "$D$P/$f" ]; ok $? "installed $f"
done
like "$(cat "$D$P/lib/pkgconfig/evstream.pc")" "Libs: -L\\\$\\{libdir\\} -levstream" "pkg-config file names the library"
IES="env -u EVSTREAM_SCRIPTS -u EVSTREAM_LUA ${EVSTREAM_WRAP:-} $D$P/bin/evstream"
out=$($IES scripts); like "$out" "share/evstream/scripts" "installed CLI lists its installed scripts"
$IES gen -e 4 -r 2 -s 3 -o "$T_TMP/g.bin"
out=$($IES run elt -i "$T_TMP/g.bin" -s - -H | wc -l)
ok $(( out > 0 ? 0 : 1 )) "installed CLI runs a bundled script"
out=$(cd "$T_TMP" && LUA_CPATH="$D$P/lib/lua/5.4/?.so;;" LUA_PATH="$D$P/share/lua/5.4/?.lua;;" \
  lua5.4 -e 'local e = require "evstream"; local cli = require "evstream.cli"; print(e.version, type(cli.parse))')
like "$out" "^[0-9.]+	function$" "installed Lua module and helpers load from plain lua5.4"
cat >"$T_TMP/embed.c" <<'C'
#include <evstream.h>
#include <stdio.h>
int main(int argc, char **argv) {
    char err[ES_ERR_MAX];
    es_batch *b;
    long n = 0;
    es_reader *r = es_reader_open((const char *const *)argv + 1, argc - 1, NULL, err, sizeof err);
    if (!r) { fprintf(stderr, "%s\n", err); return 1; }
    while (es_reader_next(r, &b) == 1) n += (long)b->nrec;
    es_reader_close(r);
    printf("%ld\n", n);
    return 0;
}
C
SAN=""; [ -n "${EVSTREAM_SANITIZE:-}" ] && SAN="-fsanitize=address,undefined"
if cc -std=c11 $SAN -I"$D$P/include" "$T_TMP/embed.c" -o "$T_TMP/embed" "$D$P/lib/libevstream.a" -lm -pthread 2>"$T_TMP/cc.err"; then
  is "$("$T_TMP/embed" "$T_TMP/g.bin")" 8 "a C program built against the installed library reads a stream"
else
  fail "a C program builds against the installed header and library" "$(head -3 "$T_TMP/cc.err")"
fi
done_testing
