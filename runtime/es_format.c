/*
** es_format.c -- stream header words and stream info (docs/streams.md,
** "The header").
*/
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "evstream.h"

volatile sig_atomic_t es_interrupted = 0;

static void format_on_signal(int sig) { es_interrupted = sig; }

void es_catch_signals(void (*handler)(int)) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler ? handler : format_on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

uint32_t es_header_encode(int source, int agg) {
    return ((uint32_t)source << 24) | ((uint32_t)agg & 0x00FFFFFFu);
}

/* Only the combinations some Oasis producer writes are known: anything
** else is more likely garbage than a new format. */
int es_header_decode(uint32_t word, int *source, int *agg) {
    int s = (int)(word >> 24), a = (int)(word & 0x00FFFFFFu);
    int ok;
    switch (s) {
    case CDF_STREAM_ID: ok = (a == 1); break;
    case GUL_STREAM_ID: ok = (a == ITEM_STREAM || a == COVERAGE_STREAM); break;
    case LOSS_STREAM_ID: ok = (a == ITEM_STREAM || a == COVERAGE_STREAM); break;
    case SUMMARY_STREAM_ID: ok = (a == 1); break;
    default: ok = 0;
    }
    if (source) *source = s;
    if (agg) *agg = a;
    return ok ? 0 : -1;
}

const char *es_source_name(int source) {
    switch (source) {
    case CDF_STREAM_ID: return "cdf";
    case GUL_STREAM_ID: return "gul";
    case LOSS_STREAM_ID: return "loss";
    case SUMMARY_STREAM_ID: return "summary";
    default: return "unknown";
    }
}

static int32_t format_max_samples; /* es_set_max_samples; 0: not set */

/* $EVSTREAM_MAX_SAMPLES when it is a whole number >= 1 ("2000000", "2e6"),
** else 0. */
static int32_t format_env_max_samples(void) {
    const char *s = getenv("EVSTREAM_MAX_SAMPLES");
    char *end;
    double v;
    if (!s || !*s) return 0;
    v = strtod(s, &end);
    if (*end || !(v >= 1)) return 0;
    if (v >= INT32_MAX) return INT32_MAX;
    return (double)(int32_t)v == v ? (int32_t)v : 0;
}

int32_t es_max_samples(void) {
    int32_t n = format_max_samples;
    if (n > 0) return n;
    n = format_env_max_samples();
    return n > 0 ? n : ES_MAX_SAMPLES_DEFAULT;
}

void es_set_max_samples(int32_t n) { format_max_samples = n > 0 ? n : 0; }

/* The first four bytes are text (printable ASCII, tabs, line ends, or a
** UTF-8 byte order mark).  No stream header is: its top byte is 0..3. */
static int format_is_text(const unsigned char *p) {
    int i;
    if (p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF) return 1;
    for (i = 0; i < 4; i++)
        if (!((p[i] >= 0x20 && p[i] < 0x7f) || p[i] == '\t' || p[i] == '\n' || p[i] == '\r')) return 0;
    return 1;
}

int es_info_parse(const unsigned char *p, size_t n, es_info *info, char *err, size_t errlen) {
    uint32_t word;
    int32_t v;
    if (n < 4) return 0;
    memcpy(&word, p, 4);
    if (es_header_decode(word, &info->source, &info->agg)) {
        if (format_is_text(p))
            snprintf(err, errlen, "looks like a CSV or text file, not an event stream "
                                  "(evstream run fromcsv converts CSV to a stream)");
        else
            snprintf(err, errlen, "unknown stream type 0x%08x (source %d, aggregation %d)", (unsigned)word,
                     (int)(word >> 24), (int)(word & 0xFFFFFF));
        return -1;
    }
    info->len_sample = 0;
    info->summary_set_id = 0;
    if (info->source == CDF_STREAM_ID) {
        info->header_size = 4;
        return 4;
    }
    info->header_size = info->source == SUMMARY_STREAM_ID ? 12 : 8;
    if (n < info->header_size) return 0;
    memcpy(&v, p + 4, 4);
    if (v < 0) {
        snprintf(err, errlen, "negative number of samples %d in header", (int)v);
        return -1;
    }
    if (v > es_max_samples()) {
        snprintf(err, errlen, "%d samples in header, more than the limit of %d (EVSTREAM_MAX_SAMPLES raises it)",
                 (int)v, (int)es_max_samples());
        return -1;
    }
    info->len_sample = v;
    if (info->source == SUMMARY_STREAM_ID) memcpy(&info->summary_set_id, p + 8, 4);
    return (int)info->header_size;
}

int es_read_info(int fd, es_info *info, char *err, size_t errlen) {
    unsigned char hdr[ES_HEADER_MAX];
    size_t have = 0, want = 4;
    for (;;) {
        int rc = es_info_parse(hdr, have, info, err, errlen);
        if (rc < 0) return -1;
        if (rc > 0) return 0;
        want = have < 4 ? 4 : (hdr[3] == SUMMARY_STREAM_ID ? 12 : 8);
        while (have < want) {
            ssize_t k;
            if (es_interrupted) { /* a signal before the read would not interrupt it */
                snprintf(err, errlen, "interrupted by a signal");
                return -1;
            }
            k = read(fd, hdr + have, want - have);
            if (k < 0 && errno == EINTR && !es_interrupted) continue;
            if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                /* a non-blocking input: wait for the rest of the header */
                struct pollfd p = {.fd = fd, .events = POLLIN};
                if (poll(&p, 1, -1) >= 0 || (errno == EINTR && !es_interrupted)) continue;
            }
            if (k < 0) {
                if (errno == EINTR && es_interrupted) snprintf(err, errlen, "interrupted by a signal");
                else snprintf(err, errlen, "read error: %s", strerror(errno));
                return -1;
            }
            if (k == 0) {
                snprintf(err, errlen, have ? "truncated header (%zu of %zu bytes)" : "empty stream (no header)",
                         have, want);
                return -1;
            }
            have += (size_t)k;
        }
    }
}

size_t es_info_write(const es_info *info, unsigned char *p) {
    uint32_t w = es_header_encode(info->source, info->agg);
    memcpy(p, &w, 4);
    if (info->source == CDF_STREAM_ID) return 4;
    memcpy(p + 4, &info->len_sample, 4);
    if (info->source != SUMMARY_STREAM_ID) return 8;
    memcpy(p + 8, &info->summary_set_id, 4);
    return 12;
}

/* ---- the numeric environment variables ---- */

/* A whole number in lo..hi, all of s (a byte count may end in K, M, G or
** T when size is set); "2e6" is taken where an exact whole number. */
static int format_env_number(const char *s, int size, double lo, double hi) {
    char *end;
    double v;
    if (!(*s >= '0' && *s <= '9')) return 0; /* no sign, no space, no "inf" */
    v = strtod(s, &end);
    if (size && end > s) {
        switch (*end) {
        case 'k': case 'K': v *= 1024.0; end++; break;
        case 'm': case 'M': v *= 1048576.0; end++; break;
        case 'g': case 'G': v *= 1073741824.0; end++; break;
        case 't': case 'T': v *= 1099511627776.0; end++; break;
        default: break;
        }
        if (*end == 'B' || *end == 'b') end++;
    }
    return *end == 0 && v >= lo && v <= hi && v == (double)(uint64_t)v;
}

int es_env_check(char *err, size_t errlen) {
    static const struct {
        const char *name, *what;
        int size;
        double lo, hi;
    } vars[] = {
        {"EVSTREAM_MEMORY", "a byte count >= 1 (e.g. 512M, 8G)", 1, 1, 1.8e19},
        {"EVSTREAM_PART_BYTES", "a byte count (e.g. 16M; 0: whole events)", 1, 0, 1.8e19},
        {"EVSTREAM_THREADS", "a number of threads (0: none)", 0, 0, 1e6},
        {"EVSTREAM_MAX_SAMPLES", "a whole number in 1..2147483647", 0, 1, 2147483647.0},
        {"EVSTREAM_MAX_PERIODS", "a whole number in 1..2147483647", 0, 1, 2147483647.0},
        {"EVSTREAM_MAX_IDS", "a whole number >= 1", 0, 1, 1.8e19},
        {"EVSTREAM_MAX_SUMMARY_CELLS", "a whole number >= 1", 0, 1, 1.8e19},
        {"EVSTREAM_MAX_ALCT_IDS", "a whole number in 1..2147483647", 0, 1, 2147483647.0},
    };
    size_t i;
    for (i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        const char *s = getenv(vars[i].name);
        if (!s || !*s || format_env_number(s, vars[i].size, vars[i].lo, vars[i].hi)) continue;
        snprintf(err, errlen, "%s: '%.40s' is not %s", vars[i].name, s, vars[i].what);
        return -1;
    }
    return 0;
}
