/* es_vec.c -- float64 vector kernels (issue 9): being written. */
#include "evstream.h"
