/* mc_shard.c: shard files (mc_shard.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "mc_shard.h"

#define MAGIC "sus-mc-shard 1\n"

int sus_mc_shard_write(const char *path, const sus_mc_campaign *cp,
                       const sus_mc_acc *acc, sus_error *err)
{
    sus_array arr = {SUS_DTYPE_F8, 1, {(int64_t)acc->len}, acc->len, acc->data};
    void *img = NULL;
    size_t len = 0;
    int rc = sus_npy_encode(&arr, &img, &len, err);
    if (rc)
        return rc;
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 16);
    if (!tmp) {
        free(img);
        return sus_cli_fail(err, SUS_ERR_NOMEM, "out of memory");
    }
    snprintf(tmp, plen + 16, "%s.tmpXXXXXX", path);
    int fd = mkstemp(tmp);
    /* As npy_write.c: the permissions of an ordinary new file. */
    FILE *f = fd >= 0 && fchmod(fd, 0644) == 0 ? fdopen(fd, "wb") : NULL;
    if (!f) {
        rc = sus_cli_fail(err, SUS_ERR_IO, "--out %s: cannot create: %s", path,
                          strerror(errno));
        if (fd >= 0)
            close(fd), unlink(tmp);
        free(tmp);
        free(img);
        return rc;
    }
    fprintf(f,
            MAGIC "workload %s\nwseed %" PRIu64 "\nc %a\nrule %s\nimpl %s\n"
                  "samples %" PRId64 "\nseed0 %" PRIu64 "\nfirst %" PRId64
                  "\ncount %" PRId64 "\nlayout %zu %zu %zu %zu %zu %d\nn %a\ndata\n",
            cp->workload, cp->wseed, cp->c, cp->rule, cp->impl, cp->samples, cp->seed0,
            cp->first, cp->count, acc->E, acc->J, acc->R, acc->NB, acc->P,
            acc->has_mask, acc->n);
    int bad = fwrite(img, 1, len, f) != len;
    bad |= fflush(f) != 0 || fsync(fileno(f)) != 0;
    bad |= fclose(f) != 0;
    if (!bad && rename(tmp, path) != 0)
        bad = 1;
    if (bad) {
        rc = sus_cli_fail(err, SUS_ERR_IO, "--out %s: cannot write: %s", path,
                          strerror(errno));
        unlink(tmp);
    }
    free(tmp);
    free(img);
    return rc;
}

int sus_mc_shard_check_path(const char *path, sus_error *err)
{
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return sus_cli_fail(err, SUS_ERR_INVAL, "--out %s: is a directory", path);
    char *dir = strdup(path);
    if (!dir)
        return sus_cli_fail(err, SUS_ERR_NOMEM, "out of memory");
    char *slash = strrchr(dir, '/');
    const char *parent = slash ? (slash == dir ? "/" : (*slash = '\0', dir)) : ".";
    int rc = SUS_OK;
    if (stat(parent, &st) != 0 || !S_ISDIR(st.st_mode))
        rc = sus_cli_fail(err, SUS_ERR_INVAL, "--out %s: directory %s does not exist",
                          path, parent);
    else if (access(parent, W_OK) != 0)
        rc = sus_cli_fail(err, SUS_ERR_INVAL, "--out %s: directory %s is not writable",
                          path, parent);
    free(dir);
    return rc;
}

static int bad_file(sus_error *err, const char *path, const char *why)
{
    return sus_cli_fail(err, SUS_ERR_FORMAT, "%s: not a sus mc shard: %s", path, why);
}

static int read_all(const char *path, char **buf, size_t *len, sus_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return sus_cli_fail(err, SUS_ERR_IO, "%s: %s", path, strerror(errno));
    size_t cap = 1 << 16, n = 0;
    char *b = malloc(cap);
    while (b) {
        n += fread(b + n, 1, cap - n, f);
        if (n < cap)
            break;
        char *nb = cap < SIZE_MAX / 2 ? realloc(b, cap * 2) : NULL;
        if (!nb)
            free(b);
        b = nb, cap *= 2;
    }
    int ioerr = ferror(f);
    fclose(f);
    if (!b)
        return sus_cli_fail(err, SUS_ERR_NOMEM, "%s: out of memory", path);
    if (ioerr) {
        free(b);
        return sus_cli_fail(err, SUS_ERR_IO, "%s: read error", path);
    }
    *buf = b, *len = n;
    return SUS_OK;
}

int sus_mc_shard_read(const char *path, sus_mc_campaign *cp, sus_mc_acc *acc,
                      sus_error *err)
{
    *acc = (sus_mc_acc){0};
    *cp = (sus_mc_campaign){0};
    char *buf = NULL;
    size_t len = 0;
    int rc = read_all(path, &buf, &len, err);
    if (rc)
        return rc;
    char *data = NULL;
    for (size_t i = 0; i + 6 <= len; i++)
        if (memcmp(buf + i, "\ndata\n", 6) == 0) {
            data = buf + i + 6;
            buf[i + 1] = '\0';
            break;
        }
    if (len < strlen(MAGIC) || memcmp(buf, MAGIC, strlen(MAGIC)) != 0 || !data) {
        free(buf);
        return bad_file(err, path, "no sus-mc-shard header");
    }
    int has_mask = 0, got = 0;
    size_t E, J, R, NB, P;
    double n = 0.0;
    char *line = buf + strlen(MAGIC);
    while (line && *line) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        got += sscanf(line, "workload %31s", cp->workload) == 1;
        got += sscanf(line, "wseed %" SCNu64, &cp->wseed) == 1;
        got += sscanf(line, "c %la", &cp->c) == 1;
        got += sscanf(line, "rule %31s", cp->rule) == 1;
        got += sscanf(line, "impl %7s", cp->impl) == 1;
        got += sscanf(line, "samples %" SCNd64, &cp->samples) == 1;
        got += sscanf(line, "seed0 %" SCNu64, &cp->seed0) == 1;
        got += sscanf(line, "first %" SCNd64, &cp->first) == 1;
        got += sscanf(line, "count %" SCNd64, &cp->count) == 1;
        got += sscanf(line, "layout %zu %zu %zu %zu %zu %d", &E, &J, &R, &NB, &P,
                      &has_mask) == 6;
        got += sscanf(line, "n %la", &n) == 1;
        line = nl ? nl + 1 : NULL;
    }
    sus_array arr = {0};
    const size_t big = (size_t)1 << 40;
    if (got == 11 && (E > big || J > big || R > big || NB > big || P > big))
        rc = bad_file(err, path, "an accumulator size is out of range");
    else if (got != 11)
        rc = bad_file(err, path, "a header field is missing or malformed");
    if (!rc)
        rc = sus_npy_parse(data, len - (size_t)(data - buf), path, SUS_NPY_FINITE, &arr,
                           err);
    free(buf);
    if (rc)
        return rc;
    size_t want = E * 2 + J * 4 + R * 4 + NB + P;
    if (arr.dtype != SUS_DTYPE_F8 || arr.ndim != 1 || arr.count != want ||
        n != (double)cp->count || cp->first < 0 || cp->count < 0 ||
        cp->first > cp->samples - cp->count) {
        sus_array_free(&arr);
        return bad_file(err, path, "the data do not match the header");
    }
    *acc = (sus_mc_acc){.n = n,
                        .E = E,
                        .J = J,
                        .R = R,
                        .NB = NB,
                        .P = P,
                        .has_mask = has_mask,
                        .len = want,
                        .data = arr.data};
    sus_mc_acc_views(acc);
    return SUS_OK;
}
