/* cli_outdir.c: output files that appear all together or not at all. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

char *sus_cli_path_join(const char *dir, const char *name)
{
    size_t ld = strlen(dir), ln = strlen(name);
    int slash = ld > 0 && dir[ld - 1] != '/';
    if (ld > SIZE_MAX - ln - 2)
        return NULL;
    char *p = malloc(ld + ln + (size_t)slash + 1);
    if (!p)
        return NULL;
    memcpy(p, dir, ld);
    if (slash)
        p[ld] = '/';
    memcpy(p + ld + (size_t)slash, name, ln + 1);
    return p;
}

/* The directory that holds dir: "a/b/" -> "a", "b" -> ".", "/b" -> "/". */
static char *parent_of(const char *dir)
{
    char *p = strdup(dir);
    if (!p)
        return NULL;
    size_t len = strlen(p);
    while (len > 1 && p[len - 1] == '/')
        p[--len] = '\0';
    char *slash = strrchr(p, '/');
    if (!slash) {
        free(p);
        return strdup(".");
    }
    while (slash > p && slash[-1] == '/')
        slash--;
    slash[slash == p ? 1 : 0] = '\0';
    return p;
}

static int check_parent(const char *dir, sus_error *err)
{
    char *parent = parent_of(dir);
    if (!parent)
        return sus_cli_fail(err, SUS_ERR_NOMEM, "--out %s: out of memory", dir);
    struct stat st;
    int rc = SUS_OK;
    if (stat(parent, &st) != 0)
        rc = sus_cli_fail(err, SUS_ERR_INVAL,
                          "--out %s: cannot create it: parent directory %s: %s", dir,
                          parent, strerror(errno));
    else if (!S_ISDIR(st.st_mode))
        rc = sus_cli_fail(err, SUS_ERR_INVAL,
                          "--out %s: cannot create it: %s is not a directory", dir,
                          parent);
    free(parent);
    return rc;
}

/* Writing dir/name replaces it by rename, which would destroy an input that
 * is the same file under another name (hard link, symlink, "./"). */
static int check_alias(const char *dir, const char *name, const char *const *inputs,
                       size_t ninputs, sus_error *err)
{
    char *path = sus_cli_path_join(dir, name);
    if (!path)
        return sus_cli_fail(err, SUS_ERR_NOMEM, "--out %s: out of memory", dir);
    struct stat so, si;
    int rc = SUS_OK;
    if (stat(path, &so) == 0) {
        for (size_t i = 0; i < ninputs && !rc; i++) {
            if (stat(inputs[i], &si) == 0 && si.st_dev == so.st_dev &&
                si.st_ino == so.st_ino)
                rc = sus_cli_fail(err, SUS_ERR_INVAL,
                                  "--out %s: output %s is the input %s; refusing to "
                                  "overwrite an input",
                                  dir, path, inputs[i]);
        }
    }
    free(path);
    return rc;
}

int sus_cli_outdir_check(const char *dir, const char *const *names, size_t count,
                         const char *const *inputs, size_t ninputs, sus_error *err)
{
    if (dir[0] == '\0')
        return sus_cli_fail(err, SUS_ERR_INVAL, "--out: empty directory name");
    struct stat st;
    if (stat(dir, &st) != 0) {
        if (errno != ENOENT)
            return sus_cli_fail(err, SUS_ERR_INVAL, "--out %s: %s", dir,
                                strerror(errno));
        /* mkdir would fail on it only after the computation. */
        if (lstat(dir, &st) == 0)
            return sus_cli_fail(err, SUS_ERR_INVAL,
                                "--out %s: is a symbolic link to nothing", dir);
        return check_parent(dir, err);
    }
    if (!S_ISDIR(st.st_mode))
        return sus_cli_fail(err, SUS_ERR_INVAL,
                            "--out %s: exists and is not a directory", dir);
    for (size_t i = 0; i < count; i++) {
        int rc = check_alias(dir, names[i], inputs, ninputs, err);
        if (rc)
            return rc;
    }
    return SUS_OK;
}

int sus_cli_outdir_open(sus_cli_outdir *o, const char *dir, sus_error *err)
{
    memset(o, 0, sizeof *o);
    o->dir = strdup(dir);
    if (!o->dir)
        return sus_cli_fail(err, SUS_ERR_NOMEM, "--out %s: out of memory", dir);
    if (mkdir(dir, 0777) == 0) {
        o->created = 1;
        return SUS_OK;
    }
    int e = errno;
    struct stat st;
    if (e == EEXIST && stat(dir, &st) == 0 && S_ISDIR(st.st_mode))
        return SUS_OK;
    return sus_cli_fail(err, SUS_ERR_IO, "--out %s: cannot create directory: %s", dir,
                        strerror(e));
}

int sus_cli_outdir_write(sus_cli_outdir *o, const char *name, const sus_array *a,
                         sus_error *err)
{
    /* Room to record the file is made before writing it, so a file on disk
     * is never unknown to the rollback. */
    if (o->nwritten == o->cap) {
        size_t cap = o->cap ? 2 * o->cap : 8;
        char **w = realloc(o->written, cap * sizeof *w);
        if (!w)
            return sus_cli_fail(err, SUS_ERR_NOMEM, "%s: out of memory", o->dir);
        o->written = w;
        o->cap = cap;
    }
    char *path = sus_cli_path_join(o->dir, name);
    if (!path)
        return sus_cli_fail(err, SUS_ERR_NOMEM, "%s: out of memory", o->dir);
    int rc = sus_npy_write(path, a, err);
    if (rc) {
        free(path);
        return rc;
    }
    o->written[o->nwritten++] = path;
    return SUS_OK;
}

void sus_cli_outdir_commit(sus_cli_outdir *o)
{
    o->committed = 1;
}

void sus_cli_outdir_close(sus_cli_outdir *o)
{
    for (size_t i = o->nwritten; i-- > 0;) {
        if (!o->committed)
            unlink(o->written[i]);
        free(o->written[i]);
    }
    if (!o->committed && o->created && o->dir)
        rmdir(o->dir);
    free(o->written);
    free(o->dir);
    memset(o, 0, sizeof *o);
}
