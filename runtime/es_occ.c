/* es_occ.c -- occurrence, periods, return periods, quantiles, event rates (issue 9): being written. */
#include "evstream.h"
