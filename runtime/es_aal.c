/* es_aal.c -- ALT/ALCT reductions (issue 11): being written. */
#include "evstream.h"
