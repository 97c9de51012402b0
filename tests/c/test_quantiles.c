/* test_quantiles.c -- es_quantiles gives the values of es_quantile_sorted
** over a sorted copy, for many sizes, ties and zero runs. */
#include <stdlib.h>

#include "evstream.h"
#include "tap.h"

static uint64_t rng = 88172645463325252u;
static uint32_t next32(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}

int main(void) {
    static const float qs[] = {0.0f, 0.05f, 0.2f, 0.25f, 0.4f, 0.5f, 0.6f, 0.75f, 0.8f, 0.95f, 0.99f, 1.0f};
    const size_t nq = sizeof qs / sizeof qs[0];
    int32_t sizes[] = {1, 2, 3, 7, 24, 25, 50, 100, 101, 1000};
    size_t s, trial, k;
    int bad = 0, checked = 0;
    for (s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        int32_t n = sizes[s], i;
        float *v = malloc((size_t)n * sizeof *v), *w = malloc((size_t)n * sizeof *w), out[12];
        for (trial = 0; trial < 200; trial++) {
            int zeros = (int)(next32() % 4); /* 0: none .. 3: mostly zero, as sparse losses are */
            for (i = 0; i < n; i++) {
                uint32_t r = next32();
                v[i] = (int)(r % 4) < zeros ? 0.0f : (float)(r % 1000) / 8.0f; /* ties too */
            }
            memcpy(w, v, (size_t)n * sizeof *w);
            es_sort_f32(w, (size_t)n);
            es_quantiles(v, n, qs, nq, out);
            for (k = 0; k < nq; k++) {
                checked++;
                if (out[k] != es_quantile_sorted(w, n, qs[k])) bad++;
            }
        }
        free(v);
        free(w);
    }
    TAP_OK(bad == 0, "es_quantiles equals the sorted rule on %d random cases (%d differ)", checked, bad);
    {
        float v[5] = {4, 1, 3, 2, 5}, q[3] = {0.5f, 0.25f, 1.0f}, out[3];
        es_quantiles(v, 5, q, 3, out);
        TAP_OK(out[0] == 3.0f && out[1] == 2.0f && out[2] == 5.0f, "hand case: median 3, q1 2, max 5");
        es_quantiles(v, 0, q, 3, out);
        TAP_OK(out[0] == 0.0f && out[2] == 0.0f, "no samples: 0");
    }
    {
        /* many quantiles */
        float v[10], q[70], out[70];
        int i, ok = 1;
        for (i = 0; i < 10; i++) v[i] = (float)(9 - i);
        for (i = 0; i < 70; i++) q[i] = (float)i / 69.0f;
        es_quantiles(v, 10, q, 70, out);
        for (i = 1; i < 70; i++) ok &= out[i] >= out[i - 1];
        TAP_OK(ok && out[0] == 0.0f && out[69] == 9.0f, "70 quantiles are monotone, min 0, max 9");
    }
    return tap_done();
}
