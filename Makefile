# evstream -- C runtime scripted in Lua 5.4 for Oasis event loss streams.
#
#   make            build the CLI, the libraries and the Lua module (installs
#                   the missing Debian packages it needs first, see `deps`)
#   make demo       the main job on a bundled sample stream
#   make test       the whole suite; last line "N passed, N failed" (installs
#                   the test tools first)
#   make CC=clang   any C11 compiler; BUILD=DIR keeps its objects apart
#   make test-asan  the suite again under ASan + UBSan
#   make test-valgrind  C and CLI tests under valgrind
#   make bench      benchmarks (medians, ratios against cat | cat)
#   make fuzz       libFuzzer targets, FUZZ_SECONDS each (default 60)
#   make deps-plot  gnuplot-nox, for `evstream run plot`
#   make deps-parallel  GNU parallel, for the partitioned-run test and example
#   make install    PREFIX=/usr/local DESTDIR=

PREFIX ?= /usr/local
DESTDIR ?=
BUILD ?= build
CC ?= cc
PKG_CONFIG ?= pkg-config
APT_GET ?= apt-get
OPT ?= -O2
# Lua 5.4 from pkg-config (Debian calls it lua5.4), else Debian's paths;
# looked up once, when a bridge object first needs it, so after `deps`.
# LUA_INC=DIR and LUA_LIB=FLAGS still override.
ifdef LUA_INC
LUA_CFLAGS = -I $(LUA_INC)
else
LUA_CFLAGS = $(eval LUA_CFLAGS := $(shell $(PKG_CONFIG) --cflags lua5.4 2>/dev/null || echo -I/usr/include/lua5.4))$(LUA_CFLAGS)
endif
ifdef LUA_LIB
LUA_LIBS = $(LUA_LIB)
else
LUA_LIBS = $(eval LUA_LIBS := $(shell $(PKG_CONFIG) --libs lua5.4 2>/dev/null || echo -llua5.4))$(LUA_LIBS)
endif
# Messages are cut to their buffers on purpose: truncation is not a defect
# here.  gcc has this warning; clang 14 rejects the unknown option under
# -Werror, so it is added only when $(CC) takes it.
WNO_TRUNC := $(shell $(CC) -Werror -Wno-format-truncation -fsyntax-only -x c /dev/null 2>/dev/null \
               && echo -Wno-format-truncation)
CFLAGS_BASE = -std=c11 -Wall -Wextra -Werror $(WNO_TRUNC) -fPIC -I runtime
CFLAGS ?= $(OPT) -g
ALL_CFLAGS = $(CFLAGS_BASE) $(CFLAGS) $(EXTRA_CFLAGS)
# Header dependencies: each object and C test writes a .d file beside it.
DEPFLAGS = -MMD -MP
LDLIBS = -lsnappy -lzstd -lm -pthread

# Debian packages (the names apt-get takes); `deps` installs the missing.
# The build needs Lua 5.4 and its headers; the bundled scripts need
# LuaFileSystem at run time (evstream.inputs) and lua-cjson (the oasis stage
# reads analysis_settings.json); Parquet tables need snappy and zstd; the
# tests need busted.
DEPS_BUILD = lua5.4 liblua5.4-dev lua-filesystem lua-cjson libsnappy-dev libzstd-dev
DEPS_TEST = lua-busted
DEPS_FUZZ = clang-14 libclang-rt-14-dev
# `evstream run plot` draws through gnuplot: installed only on request (deps-plot).
DEPS_PLOT = gnuplot-nox

CORE_SRC = runtime/es_format.c runtime/es_batch.c runtime/es_reader.c runtime/es_out.c \
           runtime/es_numfmt.c runtime/es_table.c runtime/es_records.c runtime/es_stats.c runtime/es_gen.c \
           runtime/es_csv.c runtime/es_summary.c runtime/es_pairs.c \
           runtime/es_occ.c runtime/es_acc.c runtime/es_vec.c runtime/es_plt.c runtime/es_aal.c \
           runtime/es_lec.c runtime/es_kat.c runtime/es_xref.c runtime/es_join.c \
           runtime/es_thrift.c runtime/es_parquet.c runtime/es_parquet_read.c
BRIDGE_SRC = runtime/es_lua.c runtime/es_lua_reader.c runtime/es_lua_host.c runtime/es_lua_writer.c \
             runtime/es_lua_kernels.c runtime/es_lua_cross.c runtime/es_lua_plt.c \
             runtime/es_lua_aal.c runtime/es_lua_lec.c runtime/es_lua_kat.c runtime/es_lua_parquet.c
CORE_OBJ = $(CORE_SRC:runtime/%.c=$(BUILD)/obj/%.o)
BRIDGE_OBJ = $(BRIDGE_SRC:runtime/%.c=$(BUILD)/obj/%.o)
MAIN_OBJ = $(BUILD)/obj/main.o

CTESTS = $(patsubst tests/c/%.c,$(BUILD)/tests/%,$(wildcard tests/c/test_*.c))

.PHONY: all deps demo test test-asan test-valgrind bench fuzz install uninstall clean check-deps

all: $(BUILD)/.deps $(BUILD)/evstream $(BUILD)/libevstream.a $(BUILD)/libevstream.so $(BUILD)/evstream.so

# Installs what is missing of the packages $(1), a no-op on a ready machine
# (one dpkg query; without dpkg, a look for the commands and files).  With
# no apt-get it names the missing packages and stops.
define install_missing
@missing=""; \
	present() { \
	  if command -v dpkg-query >/dev/null 2>&1; then \
	    dpkg-query -W -f='$${Status}' "$$1" 2>/dev/null | grep -q "install ok installed"; return; \
	  fi; \
	  case $$1 in \
	  lua5.4) command -v lua5.4 >/dev/null 2>&1;; \
	  liblua5.4-dev) $(PKG_CONFIG) --exists lua5.4 2>/dev/null || [ -f /usr/include/lua5.4/lua.h ];; \
	  lua-filesystem) lua5.4 -e 'require "lfs"' >/dev/null 2>&1;; \
	  lua-cjson) lua5.4 -e 'require "cjson"' >/dev/null 2>&1;; \
	  lua-busted) command -v busted >/dev/null 2>&1;; \
	  libsnappy-dev) [ -f /usr/include/snappy-c.h ];; \
	  libzstd-dev) [ -f /usr/include/zstd.h ];; \
	  gnuplot-nox) command -v gnuplot >/dev/null 2>&1;; \
	  *) command -v "$$1" >/dev/null 2>&1;; \
	  esac; \
	}; \
	for p in $(1); do present $$p || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if ! command -v $(APT_GET) >/dev/null 2>&1; then \
	    echo "evstream: missing packages (Debian/Ubuntu names):$$missing"; \
	    echo "evstream: there is no $(APT_GET) here: install them (or your system's equivalents), then run make again"; \
	    exit 1; \
	  fi; \
	  echo "installing:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO $(APT_GET) update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO $(APT_GET) install -y -qq $$missing >/dev/null \
	    || { echo "evstream: $(APT_GET) install failed:$$missing (install them, then run make again)"; exit 1; }; \
	fi
endef

# Every object waits for this (order-only), so `make -j` never compiles
# before the install is done.
$(BUILD)/.deps:
	$(call install_missing,$(DEPS_BUILD))
	@mkdir -p $(BUILD)
	@touch $@

# All of it: build, tests and DEPS_EXTRA (e.g. DEPS_EXTRA=clang-14).
deps:
	$(call install_missing,$(DEPS_BUILD) $(DEPS_TEST) $(DEPS_EXTRA))

$(BUILD)/obj/%.o: runtime/%.c | $(BUILD)/.deps
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(DEPFLAGS) -c $< -o $@

$(BRIDGE_OBJ) $(MAIN_OBJ): ALL_CFLAGS += $(LUA_CFLAGS)

$(BUILD)/libevstream.a: $(CORE_OBJ)
	ar rcs $@ $^

$(BUILD)/libevstream.so: $(CORE_OBJ)
	$(CC) -shared -o $@ $^ $(LDLIBS)

# The Lua module: core + bridge; Lua's symbols come from the interpreter.
$(BUILD)/evstream.so: $(CORE_OBJ) $(BRIDGE_OBJ)
	$(CC) -shared -o $@ $^ $(LDLIBS)

$(BUILD)/evstream: $(MAIN_OBJ) $(BRIDGE_OBJ) $(BUILD)/libevstream.a
	$(CC) $(ALL_CFLAGS) -o $@ $(MAIN_OBJ) $(BRIDGE_OBJ) $(BUILD)/libevstream.a $(LUA_LIBS) $(LDLIBS) $(EXTRA_LDFLAGS)

$(BUILD)/tests/%: tests/c/%.c $(BUILD)/libevstream.a | $(BUILD)/.deps
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(DEPFLAGS) -o $@ $< $(BUILD)/libevstream.a $(LDLIBS) $(EXTRA_LDFLAGS)

-include $(CORE_OBJ:.o=.d) $(BRIDGE_OBJ:.o=.d) $(MAIN_OBJ:.o=.d) $(CTESTS:=.d)

demo: all
	@sh tests/demo.sh $(BUILD)

# The independent Parquet reader of tests/cli/parquet.sh: hyparquet, pinned
# in tests/parquet/package-lock.json, test-only (never a build dependency).
# Installed when npm is here; without node/npm those checks are skipped and
# counted as such.
define install_parquet_check
@if [ ! -f tests/parquet/node_modules/hyparquet/package.json ] && command -v npm >/dev/null 2>&1; then \
	  echo "installing the test-only Parquet reader (npm ci in tests/parquet)"; \
	  (cd tests/parquet && npm ci --no-audit --no-fund --loglevel=error >/dev/null) \
	    || echo "evstream: npm ci failed in tests/parquet: the independent Parquet checks are skipped"; \
	fi
endef

test: all $(CTESTS)
	$(call install_missing,$(DEPS_TEST))
	$(call install_parquet_check)
	@BUILD=$(BUILD) bash tests/run

# The same suite with ASan + UBSan in a separate build tree.
test-asan:
	@$(MAKE) --no-print-directory BUILD=build-asan OPT=-O1 \
	  EXTRA_CFLAGS="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" \
	  EXTRA_LDFLAGS="-fsanitize=address,undefined" all build-asan/.ctests
	$(call install_missing,$(DEPS_TEST))
	$(call install_parquet_check)
	@BUILD=build-asan EVSTREAM_SANITIZE=1 bash tests/run

build-asan/.ctests: $(CTESTS)
	@touch $@

# C, CLI and bad-input tests under valgrind (memcheck: errors and definite
# leaks fail); the busted specs run in lua5.4, which valgrind would only slow.
test-valgrind: all $(CTESTS)
	$(call install_missing,valgrind)
	@BUILD=$(BUILD) EVSTREAM_VALGRIND=1 bash tests/run c cli bad

bench: all
	@bash tests/bench/run $(BUILD)

FUZZ_SECONDS ?= 60
# tests/c/test_fuzz_replay.c includes the targets: rebuild it when they change.
$(BUILD)/tests/test_fuzz_replay: $(wildcard tests/fuzz/*.c tests/fuzz/*.h)
# Builds into build-fuzz/ with clang-14 (installed if missing); the seed
# corpus is made with $(BUILD)/evstream. See tests/fuzz/run.
fuzz: all
	$(call install_missing,$(DEPS_FUZZ))
	@BUILD=$(BUILD) bash tests/fuzz/run $(FUZZ_SECONDS)

# gnuplot for scripts/plot.lua; not part of `make deps` (DEPS_EXTRA="$(DEPS_PLOT)" works too).
.PHONY: deps-plot
deps-plot:
	$(call install_missing,$(DEPS_PLOT))

# GNU parallel, the job runner of tests/cli/partitions.sh and of docs/distributed.md's
# partitioned run (the test skips without it); not part of `make deps`
# (DEPS_EXTRA=parallel works too).
DEPS_PARALLEL = parallel
.PHONY: deps-parallel
deps-parallel:
	$(call install_missing,$(DEPS_PARALLEL))

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include \
	  $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/lib/lua/5.4 \
	  $(DESTDIR)$(PREFIX)/share/lua/5.4/evstream $(DESTDIR)$(PREFIX)/share/evstream/scripts \
	  $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 755 $(BUILD)/evstream $(DESTDIR)$(PREFIX)/bin/evstream
	install -m 644 $(BUILD)/libevstream.a $(DESTDIR)$(PREFIX)/lib/libevstream.a
	install -m 755 $(BUILD)/libevstream.so $(DESTDIR)$(PREFIX)/lib/libevstream.so
	install -m 644 runtime/evstream.h $(DESTDIR)$(PREFIX)/include/evstream.h
	install -m 755 $(BUILD)/evstream.so $(DESTDIR)$(PREFIX)/lib/lua/5.4/evstream.so
	install -m 644 lua/evstream/*.lua $(DESTDIR)$(PREFIX)/share/lua/5.4/evstream/
	install -m 644 scripts/*.lua $(DESTDIR)$(PREFIX)/share/evstream/scripts/
	install -m 644 docs/evstream.1 $(DESTDIR)$(PREFIX)/share/man/man1/evstream.1
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(shell sed -n 's/.*EVSTREAM_VERSION "\(.*\)"/\1/p' runtime/evstream.h)|' \
	  evstream.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/evstream.pc

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/evstream $(DESTDIR)$(PREFIX)/lib/libevstream.a \
	  $(DESTDIR)$(PREFIX)/lib/libevstream.so $(DESTDIR)$(PREFIX)/include/evstream.h \
	  $(DESTDIR)$(PREFIX)/lib/lua/5.4/evstream.so $(DESTDIR)$(PREFIX)/lib/pkgconfig/evstream.pc \
	  $(DESTDIR)$(PREFIX)/share/man/man1/evstream.1
	rm -rf $(DESTDIR)$(PREFIX)/share/lua/5.4/evstream $(DESTDIR)$(PREFIX)/share/evstream

clean:
	rm -rf build build-asan build-fuzz build-clang
