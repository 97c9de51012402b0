# evstream -- C runtime scripted in Lua 5.4 for Oasis event loss streams.
#
#   make            build the CLI, the libraries and the Lua module (installs
#                   missing Debian packages first, see `deps`)
#   make demo       the main job on a bundled sample stream
#   make test       the whole suite; last line "N passed, N failed"
#   make test-asan  the suite again under ASan + UBSan
#   make test-valgrind  C and CLI tests under valgrind
#   make bench      benchmarks (medians, ratios against cat | cat)
#   make fuzz       libFuzzer targets, FUZZ_SECONDS each (default 60)
#   make install    PREFIX=/usr/local DESTDIR=

PREFIX ?= /usr/local
DESTDIR ?=
BUILD ?= build
CC ?= cc
LUA_INC ?= /usr/include/lua5.4
LUA_LIB ?= -llua5.4
OPT ?= -O2
# Messages are cut to their buffers on purpose: truncation is not a defect here.
CFLAGS_BASE = -std=c11 -Wall -Wextra -Werror -Wno-format-truncation -fPIC -I runtime
CFLAGS ?= $(OPT) -g
ALL_CFLAGS = $(CFLAGS_BASE) $(CFLAGS) $(EXTRA_CFLAGS)
LDLIBS = -lm -pthread

# Debian packages this project needs (DEVELOPERS.md); `deps` installs the missing.
DEPS_PKGS = lua5.4 liblua5.4-dev lua-filesystem lua-busted
DEPS_FUZZ = clang-14 libclang-rt-14-dev

CORE_SRC = runtime/es_format.c runtime/es_batch.c runtime/es_reader.c runtime/es_out.c \
           runtime/es_numfmt.c runtime/es_table.c runtime/es_stats.c runtime/es_gen.c \
           runtime/es_csv.c runtime/es_summary.c runtime/es_pairs.c \
           runtime/es_occ.c runtime/es_acc.c runtime/es_vec.c runtime/es_plt.c runtime/es_aal.c \
           runtime/es_lec.c runtime/es_kat.c
BRIDGE_SRC = runtime/es_lua.c runtime/es_lua_kernels.c runtime/es_lua_cross.c runtime/es_lua_plt.c \
             runtime/es_lua_aal.c runtime/es_lua_lec.c runtime/es_lua_kat.c
CORE_OBJ = $(CORE_SRC:runtime/%.c=$(BUILD)/obj/%.o)
BRIDGE_OBJ = $(BRIDGE_SRC:runtime/%.c=$(BUILD)/obj/%.o)
MAIN_OBJ = $(BUILD)/obj/main.o
HEADERS = $(wildcard runtime/*.h)

CTESTS = $(patsubst tests/c/%.c,$(BUILD)/tests/%,$(wildcard tests/c/test_*.c))

.PHONY: all deps demo test test-asan test-valgrind bench fuzz install uninstall clean check-deps

all: $(BUILD)/.deps $(BUILD)/evstream $(BUILD)/libevstream.a $(BUILD)/libevstream.so $(BUILD)/evstream.so

# Installs only what is missing; a no-op (one dpkg query) on a ready machine.
$(BUILD)/.deps:
	@mkdir -p $(BUILD)
	@$(MAKE) --no-print-directory deps
	@touch $@

deps:
	@missing=""; for p in $(DEPS_PKGS) $(DEPS_EXTRA); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null \
	    || { echo "apt-get install failed:$$missing"; exit 1; }; \
	fi

$(BUILD)/obj/%.o: runtime/%.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BRIDGE_OBJ) $(MAIN_OBJ): ALL_CFLAGS += -I $(LUA_INC)

$(BUILD)/libevstream.a: $(CORE_OBJ)
	ar rcs $@ $^

$(BUILD)/libevstream.so: $(CORE_OBJ)
	$(CC) -shared -o $@ $^ $(LDLIBS)

# The Lua module: core + bridge; Lua's symbols come from the interpreter.
$(BUILD)/evstream.so: $(CORE_OBJ) $(BRIDGE_OBJ)
	$(CC) -shared -o $@ $^ $(LDLIBS)

$(BUILD)/evstream: $(MAIN_OBJ) $(BRIDGE_OBJ) $(BUILD)/libevstream.a
	$(CC) $(ALL_CFLAGS) -o $@ $(MAIN_OBJ) $(BRIDGE_OBJ) $(BUILD)/libevstream.a $(LUA_LIB) $(LDLIBS) $(EXTRA_LDFLAGS)

$(BUILD)/tests/%: tests/c/%.c $(BUILD)/libevstream.a tests/c/tap.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(BUILD)/libevstream.a $(LDLIBS) $(EXTRA_LDFLAGS)

demo: all
	@sh tests/demo.sh $(BUILD)

test: all $(CTESTS)
	@BUILD=$(BUILD) bash tests/run

# The same suite with ASan + UBSan in a separate build tree.
test-asan:
	@$(MAKE) --no-print-directory BUILD=build-asan OPT=-O1 \
	  EXTRA_CFLAGS="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" \
	  EXTRA_LDFLAGS="-fsanitize=address,undefined" all build-asan/.ctests
	@BUILD=build-asan EVSTREAM_SANITIZE=1 bash tests/run

build-asan/.ctests: $(CTESTS)
	@touch $@

# C, CLI and bad-input tests under valgrind (memcheck: errors and definite
# leaks fail); the busted specs run in lua5.4, which valgrind would only slow.
test-valgrind: all $(CTESTS)
	@BUILD=$(BUILD) EVSTREAM_VALGRIND=1 bash tests/run c cli bad

bench: all
	@bash tests/bench/run $(BUILD)

FUZZ_SECONDS ?= 60
# tests/c/test_fuzz_replay.c includes the targets: rebuild it when they change.
$(BUILD)/tests/test_fuzz_replay: $(wildcard tests/fuzz/*.c tests/fuzz/*.h)
# Builds into build-fuzz/ with clang-14 (installed if missing); the seed
# corpus is made with $(BUILD)/evstream. See tests/fuzz/run.
fuzz: all
	@$(MAKE) --no-print-directory DEPS_EXTRA="$(DEPS_FUZZ)" deps
	@BUILD=$(BUILD) bash tests/fuzz/run $(FUZZ_SECONDS)

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include \
	  $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/lib/lua/5.4 \
	  $(DESTDIR)$(PREFIX)/share/lua/5.4/evstream $(DESTDIR)$(PREFIX)/share/evstream/scripts
	install -m 755 $(BUILD)/evstream $(DESTDIR)$(PREFIX)/bin/evstream
	install -m 644 $(BUILD)/libevstream.a $(DESTDIR)$(PREFIX)/lib/libevstream.a
	install -m 755 $(BUILD)/libevstream.so $(DESTDIR)$(PREFIX)/lib/libevstream.so
	install -m 644 runtime/evstream.h $(DESTDIR)$(PREFIX)/include/evstream.h
	install -m 755 $(BUILD)/evstream.so $(DESTDIR)$(PREFIX)/lib/lua/5.4/evstream.so
	install -m 644 lua/evstream/*.lua $(DESTDIR)$(PREFIX)/share/lua/5.4/evstream/
	install -m 644 scripts/*.lua $(DESTDIR)$(PREFIX)/share/evstream/scripts/
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(shell sed -n 's/.*EVSTREAM_VERSION "\(.*\)"/\1/p' runtime/evstream.h)|' \
	  evstream.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/evstream.pc

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/evstream $(DESTDIR)$(PREFIX)/lib/libevstream.a \
	  $(DESTDIR)$(PREFIX)/lib/libevstream.so $(DESTDIR)$(PREFIX)/include/evstream.h \
	  $(DESTDIR)$(PREFIX)/lib/lua/5.4/evstream.so $(DESTDIR)$(PREFIX)/lib/pkgconfig/evstream.pc
	rm -rf $(DESTDIR)$(PREFIX)/share/lua/5.4/evstream $(DESTDIR)$(PREFIX)/share/evstream

clean:
	rm -rf build build-asan build-fuzz
