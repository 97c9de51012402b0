/*
** es_lua_host.c -- `evstream run`: what lua.c is to Lua.  It finds the
** script (a file, or a bundled script by name), runs its chunk with the
** options, opens the inputs and feeds the event hook one batch at a time
** (reader -> batch -> hook), then commits the writers the script left open
** -- or, on any error, prints one line (a traceback only for bugs in the
** script) and aborts them.  SIGINT/SIGTERM stop the script at its next
** instruction (main.c turns that into exit status 128 + signal).
**
** Hooks: begin(info, args), event(ev), finish(), and inputs(list), which
** lets a script pick its own inputs (see host_script_inputs).
*/
#define _XOPEN_SOURCE 700 /* realpath, besides POSIX 2008 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <lualib.h>

#include "es_cli.h"
#include "es_lua.h"

typedef struct host_ctx {
    const char *script;       /* as given */
    char **inputs;            /* -i paths */
    int ninputs;
    char **args;              /* script options */
    int nargs;
    int progress;             /* -1 auto */
    int status;               /* exit status */
    int ref_begin, ref_event, ref_finish;
    int32_t event_id;         /* event in the event hook, 0 outside */
    char **script_inputs;     /* from the script's inputs() hook, or NULL */
    int nscript_inputs;
} host_ctx;

/* The state of the running host, for the signal handler (lua.c's globalL). */
static lua_State *host_L = NULL;

/* A count hook set from the signal handler stops the script at its next
** instruction (lua.c's laction/lstop): the error unwinds like any other. */
static void host_stop_hook(lua_State *L, lua_Debug *ar) {
    (void)ar;
    lua_sethook(L, NULL, 0, 0);
    lua_pushfstring(L, "interrupted by signal %d", (int)es_interrupted); /* one line, no traceback */
    lua_error(L);
}

static void host_on_signal(int sig) {
    int mask = LUA_MASKCALL | LUA_MASKRET | LUA_MASKLINE | LUA_MASKCOUNT;
    es_interrupted = sig;
    if (host_L) lua_sethook(host_L, host_stop_hook, mask, 1);
}

/* 1 when msg starts with a "chunk:line:" position, as the errors of
** failing code do; error("...", 0) -- a script's own diagnosis of bad input
** or options -- has none, and gets no traceback. */
static int host_has_position(const char *msg) {
    const char *c = strchr(msg, ':');
    if (!c || c == msg || !(c[1] >= '0' && c[1] <= '9')) return 0;
    for (c++; *c >= '0' && *c <= '9'; c++) {
    }
    return *c == ':';
}

/* Message handler: message plus traceback (lua.c's msghandler), except
** for deliberate one-line errors (see above) unless EVSTREAM_DEBUG is set. */
static int host_msghandler(lua_State *L) {
    const char *msg = lua_tostring(L, 1);
    const char *dbg = getenv("EVSTREAM_DEBUG");
    if (msg == NULL) {
        if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING) return 1;
        msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
    }
    if (!host_has_position(msg) && !(dbg && *dbg)) return 1;
    luaL_traceback(L, L, msg, 1);
    return 1;
}

/* Every C->Lua call goes through here: function and nargs on the stack. */
static int host_pcall(lua_State *L, int nargs, int nres) {
    int base = lua_gettop(L) - nargs, rc;
    lua_pushcfunction(L, host_msghandler);
    lua_insert(L, base);
    rc = lua_pcall(L, nargs, nres, base);
    lua_remove(L, base);
    return rc;
}

/* Abort (or commit) every writer the script left open. */
static int host_close_writers(lua_State *L, es_lua_state *st, int commit, char *err, size_t errlen) {
    int ok = 1;
    lua_rawgeti(L, LUA_REGISTRYINDEX, st->writers_ref);
    for (;;) {
        lua_pushnil(L);
        if (!lua_next(L, -2)) break;
        lua_pop(L, 1);
        /* stack: writers, writer */
        lua_getfield(L, -1, commit ? "close" : "abort");
        lua_pushvalue(L, -2);
        if (host_pcall(L, 1, 2) != LUA_OK) {
            if (ok) snprintf(err, errlen, "%s", lua_tostring(L, -1));
            ok = 0;
            lua_pop(L, 1);
        } else {
            if (lua_isnil(L, -2) && ok) {
                snprintf(err, errlen, "%s", lua_tostring(L, -1) ? lua_tostring(L, -1) : "close failed");
                ok = 0;
            }
            lua_pop(L, 2);
        }
        /* make sure it is gone even if close misbehaved */
        lua_pushnil(L);
        lua_rawset(L, -3);
        if (!ok) commit = 0;
    }
    lua_pop(L, 1);
    return ok ? 0 : -1;
}

static int host_dir_exists(const char *d) {
    struct stat st;
    return stat(d, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Directory of the running executable (for the source tree and installs). */
static void host_exe_dir(char *out, size_t n) {
    ssize_t k = readlink("/proc/self/exe", out, n - 1);
    char *slash;
    if (k <= 0) {
        snprintf(out, n, ".");
        return;
    }
    out[k] = 0;
    slash = strrchr(out, '/');
    if (slash) *slash = 0;
}

/* Find a data dir: $env, then exe/../<src>, then exe/../<installed>. */
static int host_find_dir(const char *env, const char *src, const char *inst, char *out, size_t n) {
    char exe[PATH_MAX];
    const char *e = getenv(env);
    if (e && *e) {
        snprintf(out, n, "%s", e);
        return host_dir_exists(out);
    }
    host_exe_dir(exe, sizeof exe);
    if (snprintf(out, n, "%s/../%s", exe, src) < (int)n && host_dir_exists(out)) return 1;
    return snprintf(out, n, "%s/../%s", exe, inst) < (int)n && host_dir_exists(out);
}

static int host_scripts_dir(char *out, size_t n) {
    char found[PATH_MAX], *real;
    if (!host_find_dir("EVSTREAM_SCRIPTS", "scripts", "share/evstream/scripts", found, sizeof found)) return 0;
    real = realpath(found, NULL); /* "/usr/local/share/...", not ".../bin/../share/..." */
    snprintf(out, n, "%s", real ? real : found);
    free(real);
    return 1;
}

static int host_cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The first line of a script, "-- name.lua: what it does", minus the name. */
static void host_script_about(const char *dir, const char *file, char *out, size_t n) {
    char path[PATH_MAX], line[256];
    FILE *f;
    out[0] = 0;
    if (snprintf(path, sizeof path, "%s/%s", dir, file) >= (int)sizeof path || !(f = fopen(path, "r"))) return;
    if (fgets(line, sizeof line, f) && !strncmp(line, "-- ", 3)) {
        const char *s = strstr(line, ": ");
        snprintf(out, n, "%s", s ? s + 2 : line + 3);
        out[strcspn(out, "\n")] = 0;
    }
    fclose(f);
}

int es_cli_list_scripts(void) {
    char dir[PATH_MAX], about[256];
    char *names[256];
    struct dirent *e;
    size_t n = 0, i;
    DIR *d;
    if (!host_scripts_dir(dir, sizeof dir) || !(d = opendir(dir))) {
        fprintf(stderr, "evstream: no bundled scripts directory found (set EVSTREAM_SCRIPTS)\n");
        return 1;
    }
    while ((e = readdir(d)) && n < sizeof names / sizeof *names) {
        size_t len = strlen(e->d_name);
        if (len > 4 && !strcmp(e->d_name + len - 4, ".lua") && (names[n] = malloc(len + 1)))
            memcpy(names[n++], e->d_name, len + 1);
    }
    closedir(d);
    qsort(names, n, sizeof *names, host_cmp_str);
    printf("bundled scripts (%s):\n", dir);
    for (i = 0; i < n; i++) {
        host_script_about(dir, names[i], about, sizeof about);
        names[i][strlen(names[i]) - 4] = 0;
        printf("  %-10s %s\n", names[i], about);
        free(names[i]);
    }
    return 0;
}

const char *es_cli_lua_version(void) { return LUA_RELEASE; }

/* package.path gets the project's lua/ directory first. */
static void host_set_path(lua_State *L) {
    char dir[PATH_MAX];
    if (!host_find_dir("EVSTREAM_LUA", "lua", "share/lua/5.4", dir, sizeof dir)) return;
    lua_getglobal(L, "package");
    lua_pushfstring(L, "%s/?.lua;%s/?/init.lua;", dir, dir);
    lua_getfield(L, -2, "path");
    lua_concat(L, 2);
    lua_setfield(L, -2, "path");
    lua_pop(L, 1);
}

/* Resolve SCRIPT: an existing file, else a bundled script name. Pushes the
** path and the chunk name. */
static void host_resolve_script(lua_State *L, const char *script) {
    struct stat st;
    char dir[PATH_MAX];
    if (stat(script, &st) == 0 && S_ISREG(st.st_mode)) {
        lua_pushstring(L, script);
        lua_pushfstring(L, "@%s", script);
        return;
    }
    if (!strchr(script, '/') && host_scripts_dir(dir, sizeof dir)) {
        const char *name = script;
        lua_pushfstring(L, "%s/%s%s", dir, name,
                        strlen(name) > 4 && !strcmp(name + strlen(name) - 4, ".lua") ? "" : ".lua");
        if (stat(lua_tostring(L, -1), &st) == 0 && S_ISREG(st.st_mode)) {
            lua_pushfstring(L, "@%s%s", name,
                            strlen(name) > 4 && !strcmp(name + strlen(name) - 4, ".lua") ? "" : ".lua");
            return;
        }
        lua_pop(L, 1);
    }
    luaL_error(L, "no such script '%s' (not a file, nor a bundled script: see `evstream scripts`)", script);
}

/* Resolve a hook: from the table the chunk returned (at idx) or a global. */
static int host_hook(lua_State *L, int tbl, const char *name) {
    if (tbl) lua_getfield(L, tbl, name);
    else lua_getglobal(L, name);
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        return LUA_NOREF;
    }
    if (!lua_isfunction(L, -1)) luaL_error(L, "script hook '%s' must be a function", name);
    return luaL_ref(L, LUA_REGISTRYINDEX);
}

static double host_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

typedef struct host_progress {
    double t0, last;
    uint64_t total;
} host_progress;

static void host_progress_show(host_progress *p, es_reader *r, int final) {
    const es_reader_stats *s = es_reader_get_stats(r);
    double now = host_now(), dt = now - p->t0, mb = (double)s->bytes / 1e6;
    double rate = dt > 0 ? mb / dt : 0;
    if (!final && now - p->last < 0.25) return;
    p->last = now;
    fprintf(stderr, "\r%llu events  %.1f MB  %.1f MB/s", (unsigned long long)s->events, mb, rate);
    if (p->total) {
        double pct = 100.0 * (double)s->bytes / (double)p->total;
        double left = rate > 0 ? ((double)p->total / 1e6 - mb) / rate : 0;
        fprintf(stderr, "  %.1f%%  %.0fs left ", pct, left < 0 ? 0 : left);
    }
    if (final) fputc('\n', stderr);
}

/* Call a hook ref with the values on top of the stack. */
static void host_call(lua_State *L, int ref, int nargs) {
    lua_rawgeti(L, LUA_REGISTRYINDEX, ref);
    lua_insert(L, -nargs - 1);
    if (host_pcall(L, nargs, 0) != LUA_OK) lua_error(L); /* already has the traceback */
}

static void host_push_args(lua_State *L, host_ctx *c) {
    int i;
    lua_createtable(L, c->nargs, 0);
    for (i = 0; i < c->nargs; i++) {
        lua_pushstring(L, c->args[i]);
        lua_rawseti(L, -2, i + 1);
    }
}

/* The event loop: one protected call of the event hook per event. */
static void host_loop(lua_State *L, host_ctx *c, int rd_idx, es_lua_reader *rd) {
    host_progress pg;
    es_reader *r = es_lua_reader_get(rd);
    const es_batch *b;
    int show = c->progress, rc;
    if (show < 0) show = isatty(STDERR_FILENO);
    pg.t0 = pg.last = host_now();
    pg.total = es_reader_total_size(r);
    for (;;) {
        rc = es_lua_reader_next(L, rd_idx, rd, &b);
        if (rc <= 0) break;
        c->event_id = b->event_id;
        host_call(L, c->ref_event, 1);
        es_lua_reader_retire(rd); /* the view the hook saw is stale from here on */
        if (show) host_progress_show(&pg, r, 0);
    }
    c->event_id = 0;
    if (rc < 0) lua_error(L); /* the reader's message: file, byte, event */
    if (show) host_progress_show(&pg, r, 1);
}

/* Load the source text at -1 under the chunk name at -2, skipping a #!
** line as lua.c does; pushes the chunk or the error message. */
static int host_load(lua_State *L) {
    size_t n;
    const char *src = lua_tolstring(L, -1, &n);
    const char *name = lua_tostring(L, -2);
    if (n > 0 && src[0] == '#') {
        const char *nl = memchr(src, '\n', n);
        size_t skip = nl ? (size_t)(nl - src) : n;
        src += skip; /* keep the newline so line numbers stay right */
        n -= skip;
    }
    return luaL_loadbufferx(L, src, n, name, "t");
}

/* A script that finds its own inputs (e.g. every *.bin of a work folder)
** defines inputs(list): called with the -i paths after the main chunk, it
** returns the paths to read ({} with no event hook: read nothing). The
** returned table and the array stay on the stack for the whole run, which
** keeps the strings alive. */
static void host_script_inputs(lua_State *L, host_ctx *c, int tbl) {
    int ref = host_hook(L, tbl, "inputs"), i, n;
    const char **v;
    if (ref == LUA_NOREF) return;
    lua_rawgeti(L, LUA_REGISTRYINDEX, ref);
    lua_createtable(L, c->ninputs, 0);
    for (i = 0; i < c->ninputs; i++) {
        lua_pushstring(L, c->inputs[i]);
        lua_rawseti(L, -2, i + 1);
    }
    if (host_pcall(L, 1, 1) != LUA_OK) lua_error(L);
    if (!lua_istable(L, -1)) luaL_error(L, "script hook 'inputs' must return a list of paths");
    n = (int)luaL_len(L, -1);
    v = lua_newuserdatauv(L, ((size_t)n + 1) * sizeof *v, 0);
    for (i = 0; i < n; i++) {
        lua_rawgeti(L, -2, i + 1);
        if (lua_type(L, -1) != LUA_TSTRING) luaL_error(L, "script hook 'inputs': entry %d is not a path", i + 1);
        v[i] = lua_tostring(L, -1); /* the table on the stack keeps it alive */
        lua_pop(L, 1);
    }
    v[n] = NULL;
    /* c->inputs is freed at exit: keep it aside and point at the new list */
    c->script_inputs = (char **)v;
    c->nscript_inputs = n;
}

/* os.exit(status) from a script ends the run there: a success commits
** what it wrote (the writers it left open too), a failure discards it. */
static int host_os_exit(lua_State *L) {
    char err[ES_ERR_MAX];
    es_lua_state *st = es_lua_getstate(L);
    int status;
    if (lua_isboolean(L, 1)) status = lua_toboolean(L, 1) ? EXIT_SUCCESS : EXIT_FAILURE;
    else status = (int)luaL_optinteger(L, 1, EXIT_SUCCESS);
    lua_settop(L, 0);
    if (status == EXIT_SUCCESS &&
        (host_close_writers(L, st, 1, err, sizeof err) || es_out_commit_deferred(err, sizeof err))) {
        if (!es_out_stdout_gone()) fprintf(stderr, "evstream: %s\n", err);
        status = es_out_stdout_gone() ? ES_CLI_EPIPE_STATUS : 1;
    }
    if (status != EXIT_SUCCESS) {
        host_close_writers(L, st, 0, err, sizeof err);
        es_out_discard_deferred();
    }
    fflush(stdout);
    host_L = NULL;
    lua_close(L); /* as os.exit(status, true): nothing is left for a leak checker */
    exit(status);
}

static int host_pmain(lua_State *L) {
    host_ctx *c = lua_touserdata(L, 1);
    es_lua_state *st;
    int i, tbl = 0, top;
    luaL_openlibs(L);
    lua_gc(L, LUA_GCGEN, 0, 0); /* many short-lived batch views */
    luaL_requiref(L, "evstream", luaopen_evstream, 0);
    lua_pushstring(L, c->script); /* as typed: evstream.cli names it in --help */
    lua_setfield(L, -2, "run_script");
    lua_pop(L, 1);
    lua_getglobal(L, "os");
    lua_pushcfunction(L, host_os_exit);
    lua_setfield(L, -2, "exit");
    lua_pop(L, 1);
    st = es_lua_getstate(L);
    st->track = 1;
    host_set_path(L);
    host_resolve_script(L, c->script); /* path, chunkname */
    {
        const char *path = lua_tostring(L, -2);
        FILE *f = fopen(path, "rb");
        luaL_Buffer b;
        size_t k;
        if (!f) return luaL_error(L, "%s: %s", path, strerror(errno));
        luaL_buffinit(L, &b);
        do {
            char *p = luaL_prepbuffer(&b);
            k = fread(p, 1, LUAL_BUFFERSIZE, f);
            luaL_addsize(&b, k);
        } while (k == LUAL_BUFFERSIZE);
        fclose(f);
        luaL_pushresult(&b);
        if (host_load(L) != LUA_OK) return lua_error(L);
        lua_remove(L, -2); /* source text */
    }
    /* stack: ctx, path, chunkname, chunk */
    lua_createtable(L, c->nargs, 1);
    lua_pushstring(L, c->script);
    lua_rawseti(L, -2, 0);
    {   /* arg[-1]: the evstream executable, as lua.c gives its interpreter,
        ** so a script can run evstream again (the oasis stage's partitions) */
        char exe[4096];
        ssize_t k = readlink("/proc/self/exe", exe, sizeof exe - 1);
        if (k > 0) {
            exe[k] = 0;
            lua_pushstring(L, exe);
            lua_rawseti(L, -2, -1);
        }
    }
    for (i = 0; i < c->nargs; i++) {
        lua_pushstring(L, c->args[i]);
        lua_rawseti(L, -2, i + 1);
    }
    lua_setglobal(L, "arg");
    luaL_checkstack(L, c->nargs + 8, "too many arguments");
    for (i = 0; i < c->nargs; i++) lua_pushstring(L, c->args[i]);
    if (host_pcall(L, c->nargs, 1) != LUA_OK) return lua_error(L);
    if (lua_istable(L, -1)) tbl = lua_gettop(L);
    c->ref_begin = host_hook(L, tbl, "begin");
    c->ref_event = host_hook(L, tbl, "event");
    c->ref_finish = host_hook(L, tbl, "finish");
    host_script_inputs(L, c, tbl);
    top = lua_gettop(L);
    if (c->ref_event != LUA_NOREF) {
        char err[ES_ERR_MAX];
        es_lua_reader *rd = es_lua_pushreader(L);
        es_reader *r = c->script_inputs
                           ? es_reader_open((const char *const *)c->script_inputs, c->nscript_inputs, NULL, err,
                                            sizeof err)
                           : es_reader_open((const char *const *)c->inputs, c->ninputs, NULL, err, sizeof err);
        int rd_idx = lua_gettop(L);
        if (!r) {
            lua_pushstring(L, err);
            return lua_error(L);
        }
        es_lua_reader_attach(L, rd, r, 1);
        if (c->ref_begin != LUA_NOREF) {
            es_lua_pushinfo(L, es_reader_info(r), r);
            host_push_args(L, c);
            host_call(L, c->ref_begin, 2);
        }
        host_loop(L, c, rd_idx, rd);
        if (es_reader_get_stats(r)->nan_count)
            fprintf(stderr, "evstream: warning: %llu NaN losses read as 0\n",
                    (unsigned long long)es_reader_get_stats(r)->nan_count);
        if (es_reader_warning(r)) fprintf(stderr, "evstream: warning: %s\n", es_reader_warning(r));
    } else if (c->ref_begin != LUA_NOREF) {
        lua_createtable(L, 0, 1);
        lua_createtable(L, c->ninputs, 0);
        for (i = 0; i < c->ninputs; i++) {
            lua_pushstring(L, c->inputs[i]);
            lua_rawseti(L, -2, i + 1);
        }
        lua_setfield(L, -2, "inputs");
        host_push_args(L, c);
        host_call(L, c->ref_begin, 2);
    }
    if (c->ref_finish != LUA_NOREF) host_call(L, c->ref_finish, 0);
    lua_settop(L, top);
    {
        char err[ES_ERR_MAX];
        if (host_close_writers(L, st, 1, err, sizeof err) || es_out_commit_deferred(err, sizeof err)) {
            lua_pushstring(L, err);
            return lua_error(L);
        }
    }
    return 0;
}

/* Split argv into the script, runtime options, -i inputs and script args. */
static int host_parse(host_ctx *c, int argc, char **argv) {
    int i;
    c->script = argv[0];
    c->inputs = calloc((size_t)argc + 1, sizeof *c->inputs);
    c->args = calloc((size_t)argc + 1, sizeof *c->args);
    if (!c->inputs || !c->args) return -1;
    for (i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-i") || !strcmp(argv[i], "--input")) {
            while (i + 1 < argc && (argv[i + 1][0] != '-' || !strcmp(argv[i + 1], "-")))
                c->inputs[c->ninputs++] = argv[++i];
        } else if (!strcmp(argv[i], "--progress")) {
            c->progress = 1;
        } else if (!strcmp(argv[i], "--no-progress")) {
            c->progress = 0;
        } else {
            c->args[c->nargs++] = argv[i];
        }
    }
    return 0;
}

int es_cli_run(int argc, char **argv) {
    host_ctx c;
    lua_State *L;
    int rc;
    memset(&c, 0, sizeof c);
    c.progress = -1;
    c.ref_begin = c.ref_event = c.ref_finish = LUA_NOREF;
    if (argc < 1) {
        fprintf(stderr, "usage: evstream run SCRIPT [--progress|--no-progress] [-i FILE...] [script options]\n");
        return 2;
    }
    if (!strcmp(argv[0], "-h") || !strcmp(argv[0], "--help")) {
        printf("usage: evstream run SCRIPT [--progress|--no-progress] [-i FILE...] [script options]\n"
               "`evstream scripts` lists the bundled scripts; `evstream run SCRIPT --help` shows a script's options.\n");
        return 0;
    }
    if (argv[0][0] == '-' && access(argv[0], F_OK) != 0) { /* an option where the script should be */
        fprintf(stderr, "evstream: run: unknown option %s (see --help)\n", argv[0]);
        return 2;
    }
    if (host_parse(&c, argc, argv)) {
        fprintf(stderr, "evstream: out of memory\n");
        return 1;
    }
    L = luaL_newstate();
    if (!L) {
        fprintf(stderr, "evstream: cannot create the Lua state\n");
        return 1;
    }
    host_L = L;
    es_catch_signals(host_on_signal);
    es_out_defer_commits(1); /* a script's own commits wait for the end of the run */
    es_io_run_scope(1);      /* what the run reads stays claimed: no output of it may replace it */
    lua_pushcfunction(L, host_pmain);
    lua_pushlightuserdata(L, &c);
    rc = lua_pcall(L, 1, 0, 0);
    if (rc != LUA_OK) {
        const char *msg = lua_tostring(L, -1);
        char err[ES_ERR_MAX];
        es_lua_state *st;
        msg = msg ? msg : "(error object is not a string)";
        if (es_out_stdout_gone() && !es_interrupted) {
            /* the reader of stdout went away: quiet, as cat is */
        } else if (c.event_id > 0) {
            const char *nl = strchr(msg, '\n');
            fprintf(stderr, "evstream: %.*s (event %d)%s\n", nl ? (int)(nl - msg) : (int)strlen(msg), msg,
                    (int)c.event_id, nl ? nl : "");
        } else {
            fprintf(stderr, "evstream: %s\n", msg);
        }
        lua_settop(L, 0);
        st = es_lua_getstate(L);
        if (st) host_close_writers(L, st, 0, err, sizeof err);
        es_out_discard_deferred();
        c.status = es_out_stdout_gone() && !es_interrupted ? ES_CLI_EPIPE_STATUS : 1;
    }
    host_L = NULL;
    lua_close(L);
    free(c.inputs);
    free(c.args);
    return c.status;
}
