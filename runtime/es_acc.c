/* es_acc.c -- keyed sample accumulators (issue 9): being written. */
#include "evstream.h"
