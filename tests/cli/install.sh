# `make install` into a DESTDIR: the CLI finds its scripts and Lua library
# there, the Lua module loads from the installed path, and a C program
# builds against the installed header and library.
. "$(dirname "$0")/lib.sh"
D=$T_TMP/dest
P=/opt/evstream-test
make -s --no-print-directory BUILD="$BUILD" install DESTDIR="$D" PREFIX=$P >/dev/null 2>"$T_TMP/err"; rc=$?
is "$rc" 0 "make install DESTDIR=... PREFIX=... succeeds"
for f in bin/evstream lib/libevstream.a lib/libevstream.so include/evstream.h lib/pkgconfig/evstream.pc \
         lib/lua/5.4/evstream.so share/lua/5.4/evstream/cli.lua share/evstream/scripts/elt.lua \
         share/man/man1/evstream.1; do
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
# the man page: installed as docs/evstream.1, renders with its sections, names
# the version, every bundled script and every EVSTREAM_ variable the code reads
M=$D$P/share/man/man1/evstream.1
same_file "$M" docs/evstream.1 "the man page is installed into share/man/man1"
if command -v man >/dev/null && man -l "$M" >/dev/null 2>&1; then
  page=$(MANWIDTH=80 man -l "$M" 2>"$T_TMP/man.err" | col -b 2>/dev/null); how="man -l"
elif command -v groff >/dev/null; then
  page=$(groff -man -Tutf8 -ww "$M" 2>"$T_TMP/man.err" | col -b 2>/dev/null); how="groff -man"
else
  page=$(sed -n 's/^\.SH "*\([^"]*\)"*$/\1/p' "$M"); how="roff source (no man, no groff)"
  : >"$T_TMP/man.err"
fi
missing=""
for sec in NAME SYNOPSIS DESCRIPTION COMMANDS "RUN OPTIONS" "BUNDLED SCRIPTS" ENVIRONMENT "EXIT STATUS" FILES; do
  printf '%s\n' "$page" | grep -q "^$sec\$" || missing="$missing [$sec]"
done
is "$missing:$(head -3 "$T_TMP/man.err")" ":" "the man page renders ($how) without warnings, with every section"
is "$(sed -n 's/^\.TH EVSTREAM 1 "[^"]*" "evstream \([^"]*\)".*/\1/p' docs/evstream.1)" \
   "$(es --version | sed -n 's/^evstream \([^ ]*\).*/\1/p')" "the man page names the version of evstream --version"
missing=""
for s in $(ls scripts/*.lua | sed 's#scripts/##; s#\.lua$##'); do
  grep -q "^\.B $s\(\$\|\\\\fR\)\|\\\\fB$s\$" docs/evstream.1 || missing="$missing $s"
done
is "$missing" "" "the man page lists every bundled script"
missing=""
for v in $(grep -rhoE 'EVSTREAM_[A-Z_]+' runtime/*.c lua scripts | grep -vxE 'EVSTREAM_(VERSION|H)' | sort -u); do
  grep -q "^\.B $v\$" docs/evstream.1 || missing="$missing $v"
done
is "$missing" "" "the man page names every EVSTREAM_ variable the code reads"
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
if cc -std=c11 $SAN -I"$D$P/include" "$T_TMP/embed.c" -o "$T_TMP/embed" "$D$P/lib/libevstream.a" -lsnappy -lzstd -lm -pthread 2>"$T_TMP/cc.err"; then
  is "$("$T_TMP/embed" "$T_TMP/g.bin")" 8 "a C program built against the installed library reads a stream"
else
  fail "a C program builds against the installed header and library" "$(head -3 "$T_TMP/cc.err")"
fi
make -s --no-print-directory BUILD="$BUILD" uninstall DESTDIR="$D" PREFIX=$P >/dev/null 2>&1
is "$(find "$D$P" -type f | wc -l)" 0 "make uninstall removes every installed file, the man page included"
done_testing
