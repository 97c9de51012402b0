/*
** es_csv.c -- CSV to stream conversion (filled in by the converters work).
*/
#include "evstream.h"
