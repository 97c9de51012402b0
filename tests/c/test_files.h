/* test_files.h -- what the C tests share for their files: one scratch
** folder per test program (tf_dir), names in it, whole-file reads and
** writes.  Include after defining _POSIX_C_SOURCE (mkdtemp). */
#ifndef TEST_FILES_H
#define TEST_FILES_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char tf_dir[256];

/* Make the folder /tmp/evstream_NAME.XXXXXX; 0, or -1 (perror'd). */
static inline int tf_start(const char *name) {
    snprintf(tf_dir, sizeof tf_dir, "/tmp/evstream_%s.XXXXXX", name);
    if (mkdtemp(tf_dir)) return 0;
    perror("mkdtemp");
    return -1;
}

/* Remove the folder and everything in it; 0, or -1 when rm failed. */
static inline int tf_finish(void) {
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tf_dir);
    return system(cmd) ? -1 : 0;
}

/* NAME in the folder; the last 8 names stay valid. */
static inline const char *tf_path(const char *name) {
    static char buf[8][512];
    static int k;
    k = (k + 1) % 8;
    snprintf(buf[k], sizeof buf[k], "%s/%s", tf_dir, name);
    return buf[k];
}

/* The whole file, NUL-terminated, its length into *n; NULL (and 0) when it
** cannot be opened. */
static inline char *tf_slurp(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    char *b;
    long len;
    *n = 0;
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    len = ftell(f);
    fseek(f, 0, SEEK_SET);
    b = malloc((size_t)len + 1);
    *n = fread(b, 1, (size_t)len, f);
    b[*n] = 0;
    fclose(f);
    return b;
}

/* n bytes into path; exits 2 when it cannot. */
static inline void tf_write(const char *path, const void *p, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(p, 1, n, f) != n) {
        perror(path);
        exit(2);
    }
    fclose(f);
}

#endif
