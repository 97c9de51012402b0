/*
** fuzz_decode.c -- libFuzzer target: es_decode under the reader's refill
** loop.
**
** Input: 4 bytes of configuration (byte 0: chunk mode, bytes 1..3: the
** seed of the chunk sizes), then a stream, header first.  The stream is
** decoded twice by the model of reader_read_event (fuzz_common.h): reads
** as large as the 64 KiB buffer allows, and reads of arbitrary sizes.
** Both must deliver the same events (digests of every array), end the same
** way (same message, same byte offset) and consume the same bytes; every
** delivered batch must satisfy the batch invariants.
*/
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    es_info info;
    char err[ES_ERR_MAX];
    fuzz_run whole, chunked;
    uint64_t seed;
    int mode;
    if (size < 4) return 0;
    mode = data[0] & 3;
    if (mode == 0 && size > 8192) mode = 1; /* byte by byte only on small inputs: speed */
    seed = (uint64_t)data[1] | (uint64_t)data[2] << 8 | (uint64_t)data[3] << 16;
    data += 4;
    size -= 4;
    if (fuzz_header(data, size, &info, err, sizeof err)) return 0;
    memset(&whole, 0, sizeof whole);
    memset(&chunked, 0, sizeof chunked);
    fuzz_model(&info, data + info.header_size, size - info.header_size, -1, 0, &whole);
    fuzz_model(&info, data + info.header_size, size - info.header_size, mode, seed, &chunked);
    fuzz_same(&whole, &chunked, 0);
    FUZZ_CHECK(whole.failed == chunked.failed, "one run failed, the other did not ('%s' / '%s')", whole.err,
               chunked.err);
    FUZZ_CHECK(strcmp(whole.err, chunked.err) == 0, "messages differ: '%s' vs '%s'", whole.err, chunked.err);
    FUZZ_CHECK(whole.bytes == chunked.bytes, "consumed %llu vs %llu bytes", (unsigned long long)whole.bytes,
               (unsigned long long)chunked.bytes);
    if (!whole.failed) FUZZ_CHECK(whole.bytes == size, "a clean end with %llu of %zu bytes consumed",
                                  (unsigned long long)whole.bytes, size);
    fuzz_run_free(&whole);
    fuzz_run_free(&chunked);
    return 0;
}
