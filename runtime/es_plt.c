/* es_plt.c -- period loss table rows (issue 10): being written. */
#include "evstream.h"
