/*
 * replay.c: the plain regression driver. Feeds every file named on the
 * command line, and every file in every directory named (sorted by name,
 * not recursing), to LLVMFuzzerTestOneInput once. It needs no clang
 * feature, so make check runs it under gcc with ASan and UBSan and under
 * Valgrind. A failing input aborts with the harness's canonical line,
 * followed by the input's name (SUS_FUZZ_VERBOSE=1 names every input
 * before it runs, for failures that are not an abort, such as ASan's).
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fz.h"

/* The input being run, for the SIGABRT handler: this driver's only state. */
static const char *volatile current;

static void on_abort(int sig)
{
    const char *p = current;
    if (p) {
        fputs("replay: failing input: ", stderr);
        fputs(p, stderr);
        fputs("\n", stderr);
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

static int run_file(const char *path, int in_dir)
{
    FILE *f = fopen(path, "rb");
    if (!f && errno == ENOENT && in_dir)
        return 0; /* removed since the listing: a campaign reduces the corpus */
    if (!f) {
        fprintf(stderr, "replay: %s: cannot open\n", path);
        return -1;
    }
    size_t cap = 4096, len = 0;
    uint8_t *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + len, 1, cap - len, f)) > 0) {
        len += got;
        if (len == cap) {
            uint8_t *nb = realloc(buf, cap *= 2);
            if (!nb)
                free(buf);
            buf = nb;
        }
    }
    int bad = ferror(f) || !buf;
    fclose(f);
    if (bad) {
        free(buf);
        fprintf(stderr, "replay: %s: cannot read\n", path);
        return -1;
    }
    if (getenv("SUS_FUZZ_VERBOSE"))
        fprintf(stderr, "replay: %s\n", path);
    /* an exact-size copy, so that ASan and Valgrind see reads past the end */
    uint8_t *exact = malloc(len ? len : 1);
    if (!exact) {
        free(buf);
        return -1;
    }
    memcpy(exact, buf, len);
    free(buf);
    current = path;
    LLVMFuzzerTestOneInput(exact, len);
    current = NULL;
    free(exact);
    return 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int run_dir(const char *dir, size_t *count)
{
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "replay: %s: cannot open directory\n", dir);
        return -1;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        if (n == cap) {
            char **nn = realloc(names, (cap = cap ? 2 * cap : 64) * sizeof *names);
            if (!nn) {
                rc = -1;
                break;
            }
            names = nn;
        }
        size_t len = strlen(dir) + strlen(e->d_name) + 2;
        if (!(names[n] = malloc(len))) {
            rc = -1;
            break;
        }
        snprintf(names[n++], len, "%s/%s", dir, e->d_name);
    }
    closedir(d);
    if (n)
        qsort(names, n, sizeof *names, by_name);
    for (size_t t = 0; t < n; t++) {
        struct stat st;
        if (rc == 0 && stat(names[t], &st) == 0 && S_ISREG(st.st_mode)) {
            rc = run_file(names[t], 1);
            ++*count;
        }
        free(names[t]);
    }
    free(names);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE_OR_DIR...\n", argv[0]);
        return 2;
    }
    signal(SIGABRT, on_abort);
    size_t count = 0;
    for (int a = 1; a < argc; a++) {
        struct stat st;
        if (stat(argv[a], &st) != 0) {
            fprintf(stderr, "replay: %s: no such file or directory\n", argv[a]);
            return 1;
        }
        int rc = S_ISDIR(st.st_mode) ? run_dir(argv[a], &count)
                                     : (count++, run_file(argv[a], 0));
        if (rc)
            return 1;
    }
    fprintf(stdout, "replay %s: %zu inputs, no failure\n", argv[0], count);
    return 0;
}
