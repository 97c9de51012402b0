/*
** es_summary.c -- summary aggregation kernel.
*/
#include "evstream.h"
