/*
** main.c -- the evstream command line: info, gen, run, scripts (run lives
** in the Lua bridge, es_lua_host.c; this file never touches the Lua API).
*/
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "es_cli.h"
#include "evstream.h"

static const char *main_usage =
    "usage: evstream COMMAND [options]\n"
    "\n"
    "Oasis event loss streams: a C runtime scripted in Lua 5.4.\n"
    "\n"
    "commands:\n"
    "  run SCRIPT [--progress|--no-progress] [-i FILE...] [script options]\n"
    "                       run a bundled script (elt, summary, tocsv, fromcsv, ...)\n"
    "                       or a Lua script file over the input streams (stdin by default);\n"
    "                       `evstream run SCRIPT --help` shows the script's options\n"
    "  info [FILE...]       validate streams and print their type, samples, summary set,\n"
    "                       events, records, pairs, NaN count and event id range;\n"
    "                       exits non-zero on a malformed stream\n"
    "  gen [options]        write a deterministic synthetic stream (see `evstream gen --help`)\n"
    "  scripts              list the bundled scripts\n"
    "\n"
    "  -h, --help           this help\n"
    "  -V, --version        print the version\n";

static const char *gen_usage =
    "usage: evstream gen [options] [-o FILE]\n"
    "Write a deterministic synthetic stream (stdout by default).\n"
    "  -t, --type T         summary (default), loss (= fm), gul\n"
    "  -a, --agg A          item (default) or coverage (loss streams)\n"
    "  -e, --events N       number of events (default 10)\n"
    "  -r, --records N      records per event (default 10)\n"
    "  -S, --samples N      samples per record, len_sample (default 10; -s is the older spelling)\n"
    "  -z, --zero-share F   share of zero-loss samples, left out (default 0.1)\n"
    "      --seed N         random seed (default 1)\n"
    "  -p, --partition K/N  only the events of partition K of N (default 1/1)\n"
    "      --set N          summary set id (default 1)\n"
    "      --first-event N  first event id (default 1)\n"
    "  -o, --output FILE    output path (default stdout)\n"
    "\n"
    "usage: evstream gen --run-dir DIR [options]\n"
    "Write a synthetic run directory instead: loss streams streams/gul_P<k>.bin, input/\n"
    "(occurrence, periods, return periods, quantiles, event rates, xref, summary map) and an\n"
    "analysis_settings.json asking for every ORD output (`evstream gen --run-dir DIR --help`).\n";

static int main_fail(const char *msg) {
    fprintf(stderr, "evstream: %s\n", msg);
    return 1;
}

static int main_info(int argc, char **argv) {
    char err[ES_ERR_MAX];
    es_reader *r;
    es_batch *b;
    const es_info *in;
    const es_reader_stats *s;
    int rc, i;
    if (argc > 0 && (!strcmp(argv[0], "-h") || !strcmp(argv[0], "--help"))) {
        printf("usage: evstream info [--] [FILE...]\nValidate streams (stdin by default) and print their counts.\n");
        return 0;
    }
    /* options first: an unknown one is not a file name (`--` ends them) */
    if (argc > 0 && !strcmp(argv[0], "--")) {
        argc--;
        argv++;
    } else {
        for (i = 0; i < argc; i++)
            if (argv[i][0] == '-' && argv[i][1]) {
                fprintf(stderr, "evstream: info: unknown option %s (see --help)\n", argv[i]);
                return 2;
            }
    }
    r = es_reader_open((const char *const *)argv, argc, NULL, err, sizeof err);
    if (!r) return main_fail(err);
    while ((rc = es_reader_next(r, &b)) == 1) {
    }
    if (rc < 0) {
        main_fail(es_reader_error(r));
        es_reader_close(r);
        return 1;
    }
    in = es_reader_info(r);
    s = es_reader_get_stats(r);
    printf("inputs: %d\n", es_reader_ninputs(r));
    for (i = 0; i < es_reader_ninputs(r); i++) printf("input: %s\n", es_reader_input_name(r, i));
    printf("type: %s\n", es_source_name(in->source));
    printf("source: %d\n", in->source);
    printf("aggregation: %s\n", in->source == CDF_STREAM_ID ? "-" : in->agg == COVERAGE_STREAM ? "coverage" : "item");
    printf("samples: %d\n", (int)in->len_sample);
    if (in->source == SUMMARY_STREAM_ID) printf("summary_set: %d\n", (int)in->summary_set_id);
    printf("events: %" PRIu64 "\n", s->events);
    printf("records: %" PRIu64 "\n", s->records);
    printf("pairs: %" PRIu64 "\n", s->pairs);
    printf("nan_losses: %" PRIu64 "\n", s->nan_count);
    printf("min_event: %d\n", s->events ? (int)s->min_event : 0);
    printf("max_event: %d\n", s->events ? (int)s->max_event : 0);
    printf("bytes: %" PRIu64 "\n", s->bytes);
    if (s->nan_count) fprintf(stderr, "evstream: warning: %" PRIu64 " NaN losses read as 0\n", s->nan_count);
    if (es_reader_warning(r)) fprintf(stderr, "evstream: warning: %s\n", es_reader_warning(r));
    es_reader_close(r);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        if (errno == EPIPE) return ES_CLI_EPIPE_STATUS; /* the reader went away: quiet, as cat is */
        fprintf(stderr, "evstream: write error on <stdout>: %s\n", strerror(errno ? errno : EIO));
        return 1;
    }
    return 0;
}

/* Whole-string integer parse; -1 on junk. */
static int main_int(const char *s, int64_t lo, int64_t hi, int64_t *v) {
    char *end;
    long long x;
    errno = 0;
    x = strtoll(s, &end, 10);
    if (errno || end == s || *end || x < lo || x > hi) return -1;
    *v = x;
    return 0;
}

/* The options of gen, every one taking a value. */
static const char *const main_gen_opts[] = {"-t", "--type", "-a", "--agg", "-e", "--events", "-r", "--records",
                                            "-S", "--samples", "-s", "-z", "--zero-share", "--seed", "-p",
                                            "--partition", "--set", "--first-event", "-o", "--output", NULL};

static int main_gen_known(const char *opt) {
    int i;
    for (i = 0; main_gen_opts[i]; i++)
        if (!strcmp(opt, main_gen_opts[i])) return 1;
    return 0;
}

/* 0, -1 for a bad value, -2 for an unknown option, -3 for a sample count
** above es_max_samples(). */
static int main_gen_opt(es_gen_opts *o, const char *opt, const char *val, const char **out) {
    int64_t v;
    if (!strcmp(opt, "-t") || !strcmp(opt, "--type")) {
        if (!strcmp(val, "summary")) o->source = SUMMARY_STREAM_ID;
        else if (!strcmp(val, "loss") || !strcmp(val, "fm") || !strcmp(val, "il")) o->source = LOSS_STREAM_ID;
        else if (!strcmp(val, "gul")) o->source = GUL_STREAM_ID;
        else return -1;
    } else if (!strcmp(opt, "-a") || !strcmp(opt, "--agg")) {
        if (!strcmp(val, "item")) o->agg = ITEM_STREAM;
        else if (!strcmp(val, "coverage")) o->agg = COVERAGE_STREAM;
        else return -1;
    } else if (!strcmp(opt, "-e") || !strcmp(opt, "--events")) {
        if (main_int(val, 0, INT32_MAX, &v)) return -1;
        o->events = v;
    } else if (!strcmp(opt, "-r") || !strcmp(opt, "--records")) {
        if (main_int(val, 0, INT32_MAX, &v)) return -1;
        o->records = (int32_t)v;
    } else if (!strcmp(opt, "-S") || !strcmp(opt, "--samples") || !strcmp(opt, "-s")) {
        if (main_int(val, 0, INT32_MAX, &v)) return -1;
        if (v > es_max_samples()) return -3; /* what every reader would refuse */
        o->samples = (int32_t)v;
    } else if (!strcmp(opt, "-z") || !strcmp(opt, "--zero-share")) {
        char *end;
        o->zero_share = strtod(val, &end);
        if (*end || end == val || !(o->zero_share >= 0 && o->zero_share <= 1)) return -1;
    } else if (!strcmp(opt, "--seed")) {
        if (main_int(val, 0, INT64_MAX, &v)) return -1;
        o->seed = (uint64_t)v;
    } else if (!strcmp(opt, "-p") || !strcmp(opt, "--partition")) {
        int k, n, used = 0;
        if (sscanf(val, "%d/%d%n", &k, &n, &used) != 2 || val[used] || n < 1 || k < 1 || k > n) return -1;
        o->part_k = k;
        o->part_n = n;
    } else if (!strcmp(opt, "--set")) {
        if (main_int(val, 1, INT32_MAX, &v)) return -1;
        o->summary_set_id = (int32_t)v;
    } else if (!strcmp(opt, "--first-event")) {
        if (main_int(val, 1, INT32_MAX, &v)) return -1;
        o->first_event = (int32_t)v;
    } else if (!strcmp(opt, "-o") || !strcmp(opt, "--output")) {
        *out = val;
    } else {
        return -2;
    }
    return 0;
}

/* `gen --run-dir DIR ...` is the bundled script gen_run (Lua: it writes
** many small files), with the same arguments; 1 when argv asks for it. */
static int main_gen_run_dir(int argc, char **argv) {
    int i;
    for (i = 0; i < argc; i++)
        if (!strcmp(argv[i], "--run-dir") || !strncmp(argv[i], "--run-dir=", 10)) return 1;
    return 0;
}

static int main_gen(int argc, char **argv) {
    es_gen_opts o;
    const char *path = NULL;
    char err[ES_ERR_MAX];
    es_out *out;
    int i, e;
    if (main_gen_run_dir(argc, argv)) {
        /* argv[-1] is "gen": it becomes the script's name, the rest its options */
        argv[-1] = (char *)"gen_run";
        return es_cli_run(argc + 1, argv - 1);
    }
    es_gen_defaults(&o);
    for (i = 0; i < argc; i += 2) { /* every option takes a value */
        int rc;
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            fputs(gen_usage, stdout);
            return 0;
        }
        if (!main_gen_known(argv[i])) {
            fprintf(stderr, "evstream: gen: unknown option %s (see --help)\n", argv[i]);
            return 2;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "evstream: gen: option %s needs a value (see --help)\n", argv[i]);
            return 2;
        }
        rc = main_gen_opt(&o, argv[i], argv[i + 1], &path);
        if (rc == -3) {
            fprintf(stderr, "evstream: gen: %s samples, more than the limit of %d (EVSTREAM_MAX_SAMPLES raises it)\n",
                    argv[i + 1], (int)es_max_samples());
            return 2;
        }
        if (rc) {
            fprintf(stderr, "evstream: gen: bad value for %s: %s (see --help)\n", argv[i], argv[i + 1]);
            return 2;
        }
    }
    if ((int64_t)o.first_event - 1 + o.events > INT32_MAX) {
        fprintf(stderr, "evstream: gen: event ids would pass %d\n", INT32_MAX);
        return 2;
    }
    out = es_out_open(path, err, sizeof err);
    if (!out) return main_fail(err);
    e = es_gen_write(&o, out);
    if (e && es_interrupted) {
        fprintf(stderr, "evstream: interrupted by signal %d\n", (int)es_interrupted);
        es_out_close(out, 0);
        return 1;
    }
    if (e) {
        if (!es_out_stdout_gone()) fprintf(stderr, "evstream: write error on %s: %s\n", es_out_name(out), strerror(e));
        es_out_close(out, 0);
        return es_out_stdout_gone() ? ES_CLI_EPIPE_STATUS : 1;
    }
    e = es_out_close(out, 1);
    if (e && es_out_stdout_gone()) return ES_CLI_EPIPE_STATUS;
    if (e) {
        fprintf(stderr, "evstream: write error on %s: %s\n", path ? path : "<stdout>", strerror(e));
        return 1;
    }
    return 0;
}

/* 0 once what was printed on stdout is written, else 1 and one line (a
** full disk, a closed pipe: the output would look complete otherwise). */
static int main_flushed(void) {
    if (fflush(stdout) == 0 && !ferror(stdout)) return 0;
    fprintf(stderr, "evstream: write error on stdout: %s\n", strerror(errno ? errno : EIO));
    return 1;
}

/* The exit status of a command that failed: 128 + signal when interrupted
** (the failing step has said so on stderr). */
static int main_status(int rc) {
    return rc && es_interrupted ? 128 + es_interrupted : rc;
}

int main(int argc, char **argv) {
    const char *cmd = argc > 1 ? argv[1] : NULL;
    /* Report EPIPE as an error line instead of dying silently. */
    signal(SIGPIPE, SIG_IGN);
    /* SIGINT/SIGTERM: the I/O loops stop cleanly (temporary outputs are
    ** removed, the exit status says what happened). */
    es_catch_signals(NULL);
    if (!cmd || !strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
        fputs(main_usage, cmd ? stdout : stderr);
        return cmd ? main_flushed() : 2;
    }
    if (!strcmp(cmd, "-V") || !strcmp(cmd, "--version")) {
        printf("evstream %s (%s)\n", EVSTREAM_VERSION, es_cli_lua_version());
        return main_flushed();
    }
    {
        char err[ES_ERR_MAX];
        if (es_env_check(err, sizeof err)) return main_fail(err);
    }
    if (!strcmp(cmd, "info")) return main_status(main_info(argc - 2, argv + 2));
    if (!strcmp(cmd, "gen")) return main_status(main_gen(argc - 2, argv + 2));
    if (!strcmp(cmd, "run")) { /* the run host has reported the interruption */
        int rc = es_cli_run(argc - 2, argv + 2);
        return rc && es_interrupted ? 128 + es_interrupted : rc;
    }
    if (!strcmp(cmd, "scripts")) {
        if (argc > 2) {
            fprintf(stderr, "evstream: scripts: unknown %s %s (see --help)\n", argv[2][0] == '-' ? "option" : "argument",
                    argv[2]);
            return 2;
        }
        return es_cli_list_scripts() ? 1 : main_flushed();
    }
    fprintf(stderr, "evstream: unknown command '%s' (see evstream --help)\n", cmd);
    return 2;
}
