/* es_lec.c -- EP curves (issue 12): being written. */
#include "evstream.h"
