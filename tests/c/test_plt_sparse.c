/* test_plt_sparse.c -- test_plt.c with N = 200 and records of few pairs in
** sidx order: es_plt's MPLT moments and QPLT quantiles from the pairs
** (es_pairs_stats, no dense vector) give the naive reference's rows byte
** for byte, as do the unordered records (dense fallback) beside them. */
#define PLT_SPARSE 1
#include "test_plt.c"
