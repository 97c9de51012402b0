/* es_kat.c -- table concatenation (issue 13): being written. */
#include "evstream.h"
