/* replay_main.c — runs a fuzz target's LLVMFuzzerTestOneInput over files, without libFuzzer.
 *
 *   replay_<target> DIR_OR_FILE...
 *
 * Every regular file of each directory (not recursive, dot files skipped, in name order)
 * and every file named directly is read into a buffer of exactly its size (so that
 * AddressSanitizer sees a read one byte past the end) and passed to the target once.
 * An invariant violation aborts inside the target; this program exits 1 when an argument
 * cannot be read or names a directory without inputs, and prints how many inputs ran. */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Reads path into a new buffer of exactly its size (1 byte for an empty file). */
static int read_file(const char *path, uint8_t **out, size_t *out_len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return -1;
    size_t cap = 4096, len = 0;
    uint8_t *buf = malloc(cap);
    while (buf != NULL) {
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (len < cap) {
            if (ferror(f)) {
                free(buf);
                buf = NULL;
            }
            break;
        }
        uint8_t *bigger = realloc(buf, cap * 2);
        if (bigger == NULL) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = bigger;
        cap *= 2;
    }
    fclose(f);
    if (buf == NULL)
        return -1;
    /* Exact size: a heap overflow by one byte is then an ASan report, not luck. */
    uint8_t *exact = malloc(len > 0 ? len : 1);
    if (exact == NULL) {
        free(buf);
        return -1;
    }
    memcpy(exact, buf, len);
    free(buf);
    *out = exact;
    *out_len = len;
    return 0;
}

static int run_file(const char *path, int verbose)
{
    uint8_t *data;
    size_t len;
    if (read_file(path, &data, &len) != 0) {
        fprintf(stderr, "replay: cannot read %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (verbose)
        fprintf(stderr, "replay: %s (%zu bytes)\n", path, len);
    LLVMFuzzerTestOneInput(data, len);
    free(data);
    return 0;
}

static int wanted(const struct dirent *e)
{
    return e->d_name[0] != '.';
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Runs every regular file of dir; returns how many, or -1. */
static long run_dir(const char *dir, int verbose)
{
    DIR *d = opendir(dir);
    if (d == NULL) {
        fprintf(stderr, "replay: cannot open %s: %s\n", dir, strerror(errno));
        return -1;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    int failed = 0;
    while ((e = readdir(d)) != NULL) {
        if (!wanted(e))
            continue;
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 64;
            char **bigger = realloc(names, ncap * sizeof(*names));
            if (bigger == NULL) {
                failed = 1;
                break;
            }
            names = bigger;
            cap = ncap;
        }
        size_t len = strlen(dir) + 1 + strlen(e->d_name) + 1;
        names[n] = malloc(len);
        if (names[n] == NULL) {
            failed = 1;
            break;
        }
        snprintf(names[n], len, "%s/%s", dir, e->d_name);
        n++;
    }
    closedir(d);
    if (n > 0)
        qsort(names, n, sizeof(*names), cmp_names);
    long ran = 0;
    for (size_t i = 0; i < n; i++) {
        struct stat st;
        if (!failed && stat(names[i], &st) == 0 && S_ISREG(st.st_mode)) {
            if (run_file(names[i], verbose) != 0)
                failed = 1;
            else
                ran++;
        }
        free(names[i]);
    }
    free(names);
    if (failed) {
        fprintf(stderr, "replay: failed while reading %s\n", dir);
        return -1;
    }
    return ran;
}

int main(int argc, char **argv)
{
    int verbose = getenv("REPLAY_VERBOSE") != NULL;
    if (argc < 2) {
        fprintf(stderr, "usage: %s DIR_OR_FILE...\n", argv[0]);
        return 2;
    }
    long total = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
            return 1;
        }
        if (S_ISDIR(st.st_mode)) {
            long ran = run_dir(argv[i], verbose);
            if (ran < 0)
                return 1;
            if (ran == 0) {
                fprintf(stderr, "replay: %s has no inputs\n", argv[i]);
                return 1;
            }
            total += ran;
        } else {
            if (run_file(argv[i], verbose) != 0)
                return 1;
            total++;
        }
    }
    printf("replay: %ld inputs ran without a failure\n", total);
    return 0;
}
