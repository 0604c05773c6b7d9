/*
 * test_npy.c: the strict .npy reader and the atomic writer (tools/npy_*.c).
 *
 * The committed corpus (tests/npy_corpus, from make_corpus.py) holds one
 * file per refusal reason plus valid files of every version and header
 * style; tests/npy_corpus/numpy holds files written by real numpy
 * (make_numpy.py). Each directory's expected.txt says what the reader must
 * answer. Valid files hold value(k) at flat index k.
 */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support.h"

#define PATH_CAP 4096

/* ------------------------------------------------------------------------ */
/* Helpers                                                                  */
/* ------------------------------------------------------------------------ */

static const struct {
    const char *name;
    int status;
} status_names[] = {
    {"SUS_OK", SUS_OK},
    {"SUS_ERR_INVAL", SUS_ERR_INVAL},
    {"SUS_ERR_SHAPE", SUS_ERR_SHAPE},
    {"SUS_ERR_OVERFLOW", SUS_ERR_OVERFLOW},
    {"SUS_ERR_NOMEM", SUS_ERR_NOMEM},
    {"SUS_ERR_IO", SUS_ERR_IO},
    {"SUS_ERR_FORMAT", SUS_ERR_FORMAT},
    {"SUS_ERR_NONFINITE", SUS_ERR_NONFINITE},
    {"SUS_ERR_RANGE", SUS_ERR_RANGE},
    {"SUS_ERR_UNSUPPORTED", SUS_ERR_UNSUPPORTED},
};

static int status_from_name(const char *name)
{
    for (size_t i = 0; i < sizeof status_names / sizeof status_names[0]; i++)
        if (strcmp(status_names[i].name, name) == 0)
            return status_names[i].status;
    fail_msg("unknown status name '%s' in an expected.txt", name);
    return -1;
}

static const char *status_name(int status)
{
    for (size_t i = 0; i < sizeof status_names / sizeof status_names[0]; i++)
        if (status_names[i].status == status)
            return status_names[i].name;
    return "(unknown)";
}

/* The value at flat index k of every valid corpus file (make_corpus.py). */
static double value_f(size_t k)
{
    return (k % 2 ? -1.0 : 1.0) * (double)(k + 1) / 4.0;
}

static int64_t value_i(sus_dtype dt, size_t k)
{
    int64_t mag = (int64_t)(k + 1) * (dt == SUS_DTYPE_I4 ? 1000 : (int64_t)1 << 40);
    return k % 2 ? -mag : mag;
}

static void fill_values(sus_array *a)
{
    for (size_t k = 0; k < a->count; k++) {
        switch (a->dtype) {
        case SUS_DTYPE_F4:
            ((float *)a->data)[k] = (float)value_f(k);
            break;
        case SUS_DTYPE_F8:
            ((double *)a->data)[k] = value_f(k);
            break;
        case SUS_DTYPE_I4:
            ((int32_t *)a->data)[k] = (int32_t)value_i(a->dtype, k);
            break;
        case SUS_DTYPE_I8:
            ((int64_t *)a->data)[k] = value_i(a->dtype, k);
            break;
        }
    }
}

static void assert_values(const sus_array *a, const char *what)
{
    for (size_t k = 0; k < a->count; k++) {
        int ok = 0;
        switch (a->dtype) {
        case SUS_DTYPE_F4:
            ok = ((const float *)a->data)[k] == (float)value_f(k);
            break;
        case SUS_DTYPE_F8:
            ok = ((const double *)a->data)[k] == value_f(k);
            break;
        case SUS_DTYPE_I4:
            ok = ((const int32_t *)a->data)[k] == value_i(a->dtype, k);
            break;
        case SUS_DTYPE_I8:
            ok = ((const int64_t *)a->data)[k] == value_i(a->dtype, k);
            break;
        }
        if (!ok)
            fail_msg("%s: wrong value at flat index %zu", what, k);
    }
}

/* Reads a whole file into an exactly sized buffer (so that ASan catches any
 * read past its end); the caller frees it. */
static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s: %s", path, strerror(errno));
    unsigned char *buf = NULL;
    size_t n = 0, cap = 0;
    int c;
    while ((c = fgetc(f)) != EOF) {
        if (n == cap) {
            cap = cap ? 2 * cap : 256;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
        buf[n++] = (unsigned char)c;
    }
    fclose(f);
    unsigned char *exact = malloc(n ? n : 1);
    assert_non_null(exact);
    if (n)
        memcpy(exact, buf, n);
    free(buf);
    *len = n;
    return exact;
}

static void assert_one_line_named(const sus_error *e, const char *name)
{
    size_t n = strlen(name);
    if (strncmp(e->msg, name, n) != 0 || strncmp(e->msg + n, ": ", 2) != 0)
        fail_msg("message does not start with '%s: ': %s", name, e->msg);
    if (strchr(e->msg, '\n'))
        fail_msg("message is not one line: %s", e->msg);
}

static int arrays_equal(const sus_array *a, const sus_array *b)
{
    if (a->dtype != b->dtype || a->ndim != b->ndim || a->count != b->count)
        return 0;
    for (int i = 0; i < a->ndim; i++)
        if (a->shape[i] != b->shape[i])
            return 0;
    return a->count == 0 ||
           memcmp(a->data, b->data, a->count * sus_dtype_size(a->dtype)) == 0;
}

/* Encodes a, parses the image back, and checks that nothing changed and
 * that a second encoding is identical; the header is numpy's layout. */
static void assert_round_trip(const sus_array *a, const char *what)
{
    void *buf, *buf2;
    size_t len, len2;
    sus_error e;
    assert_int_equal(sus_npy_encode(a, &buf, &len, &e), SUS_OK);
    const unsigned char *b = buf;
    assert_true(len >= 64);
    assert_memory_equal(b, "\x93NUMPY\x01\x00", 8);
    size_t hlen = (size_t)b[8] | (size_t)b[9] << 8;
    assert_int_equal((10 + hlen) % 64, 0);
    assert_int_equal(b[10 + hlen - 1], '\n');
    assert_int_equal(len, 10 + hlen + a->count * sus_dtype_size(a->dtype));
    sus_array back;
    int rc = sus_npy_parse(buf, len, what, 0, &back, &e);
    if (rc)
        fail_msg("%s: round trip parse failed: %s", what, e.msg);
    if (!arrays_equal(a, &back))
        fail_msg("%s: round trip changed the array", what);
    assert_int_equal(sus_npy_encode(&back, &buf2, &len2, &e), SUS_OK);
    assert_int_equal(len, len2);
    assert_memory_equal(buf, buf2, len);
    sus_array_free(&back);
    free(buf);
    free(buf2);
}

static char *join(char *out, const char *a, const char *b)
{
    int n = snprintf(out, PATH_CAP, "%s/%s", a, b);
    assert_true(n > 0 && n < PATH_CAP);
    return out;
}

/* Runs one expected.txt table: every listed file through sus_npy_read and
 * sus_npy_parse, and checks that every .npy in the directory is listed. */
static void run_table(const char *subdir, int numpy_written)
{
    char dir[PATH_CAP], table[PATH_CAP], path[PATH_CAP], line[1024];
    join(dir, sus_t_datadir(), subdir);
    FILE *f = fopen(join(table, dir, "expected.txt"), "r");
    if (!f)
        fail_msg("cannot open %s: %s", table, strerror(errno));
    char listed[128][64];
    int nlisted = 0, refusals = 0;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        if (line[0] == '#' || line[0] == '\0')
            continue;
        char *file = line, *st = strchr(file, '\t'), *sub = NULL;
        assert_non_null(st);
        *st++ = '\0';
        sub = strchr(st, '\t');
        assert_non_null(sub);
        *sub++ = '\0';
        assert_true(nlisted < 128 && strlen(file) < 64);
        strcpy(listed[nlisted++], file);
        int want = status_from_name(st);
        join(path, dir, file);

        sus_array a;
        sus_error e;
        int rc = sus_npy_read(path, SUS_NPY_FINITE, &a, &e);
        if (rc != want)
            fail_msg("%s: expected %s, got %s: %s", path, st, status_name(rc),
                     rc ? e.msg : "");
        if (want != SUS_OK) {
            refusals++;
            assert_int_equal(e.status, want);
            assert_one_line_named(&e, path);
            if (!strstr(e.msg, sub))
                fail_msg("%s: message lacks \"%s\": %s", path, sub, e.msg);
            assert_null(a.data);
            assert_int_equal(a.count, 0);
        }

        /* The same answer from memory, under another name. */
        size_t len;
        unsigned char *img = slurp(path, &len);
        sus_array m;
        sus_error em;
        assert_int_equal(sus_npy_parse(img, len, file, SUS_NPY_FINITE, &m, &em), want);
        if (want != SUS_OK) {
            assert_one_line_named(&em, file);
            assert_string_equal(e.msg + strlen(path), em.msg + strlen(file));
        } else {
            assert_values(&a, path);
            assert_true(arrays_equal(&a, &m));
            /* Accepted data comes back byte for byte. */
            size_t bytes = a.count * sus_dtype_size(a.dtype);
            if (bytes)
                assert_memory_equal(img + len - bytes, a.data, bytes);
            assert_round_trip(&a, path);
            /* numpy 1.24's np.save header is reproduced exactly. */
            if (numpy_written && img[6] == 1) {
                void *enc;
                size_t elen;
                assert_int_equal(sus_npy_encode(&a, &enc, &elen, &e), SUS_OK);
                if (elen != len || memcmp(enc, img, len) != 0)
                    fail_msg("%s: sus_npy_encode differs from numpy's file", path);
                free(enc);
            }
        }
        sus_array_free(&a);
        sus_array_free(&m);
        free(img);
    }
    fclose(f);
    assert_true(refusals > 0);

    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *ent;
    while ((ent = readdir(d))) {
        size_t n = strlen(ent->d_name);
        if (n < 4 || strcmp(ent->d_name + n - 4, ".npy") != 0)
            continue;
        int found = 0;
        for (int i = 0; i < nlisted && !found; i++)
            found = strcmp(listed[i], ent->d_name) == 0;
        if (!found)
            fail_msg("%s/%s is not listed in expected.txt", dir, ent->d_name);
    }
    closedir(d);
}

/* A private scratch directory, removed (with the files the tests made in
 * it) at the end of each test. */
static void make_tmpdir(char *out)
{
    const char *t = getenv("TMPDIR");
    int n = snprintf(out, PATH_CAP, "%s/sus_npy_test.XXXXXX", t && *t ? t : "/tmp");
    assert_true(n > 0 && n < PATH_CAP);
    assert_non_null(mkdtemp(out));
}

static int count_entries(const char *dir, int dotfiles_only)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *ent;
    while ((ent = readdir(d))) {
        if (strcmp(ent->d_name, ".") == 0 || strcmp(ent->d_name, "..") == 0)
            continue;
        if (!dotfiles_only || ent->d_name[0] == '.')
            n++;
    }
    closedir(d);
    return n;
}

static void remove_tmpdir(const char *dir)
{
    char path[PATH_CAP];
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *ent;
    while ((ent = readdir(d))) {
        if (strcmp(ent->d_name, ".") == 0 || strcmp(ent->d_name, "..") == 0)
            continue;
        join(path, dir, ent->d_name);
        struct stat st;
        if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
            rmdir(path);
        else
            unlink(path);
    }
    closedir(d);
    assert_int_equal(rmdir(dir), 0);
}

static void make_array(sus_array *a, sus_dtype dt, int ndim, const int64_t *shape)
{
    sus_error e;
    assert_int_equal(sus_array_alloc(a, dt, ndim, shape, &e), SUS_OK);
    fill_values(a);
}

/* ------------------------------------------------------------------------ */
/* Tests                                                                    */
/* ------------------------------------------------------------------------ */

static void test_corpus(void **state)
{
    (void)state;
    run_table("npy_corpus", 0);
}

static void test_numpy_files(void **state)
{
    (void)state;
    run_table("npy_corpus/numpy", 1);
}

static void test_finite_flag(void **state)
{
    (void)state;
    char path[PATH_CAP];
    join(path, sus_t_datadir(), "npy_corpus/nan_f8_2x4.npy");
    sus_array a;
    sus_error e;
    assert_int_equal(sus_npy_read(path, 0, &a, &e), SUS_OK);
    const double *x = a.data;
    assert_true(isnan(x[3]));
    assert_true(isinf(x[6]));
    assert_round_trip(&a, "nan array");
    sus_array_free(&a);

    /* Integers are never checked, even with bits that are a double NaN. */
    int64_t shape[1] = {2};
    make_array(&a, SUS_DTYPE_I8, 1, shape);
    ((int64_t *)a.data)[1] = (int64_t)0x7ff8000000000001ll;
    void *buf;
    size_t len;
    assert_int_equal(sus_npy_encode(&a, &buf, &len, &e), SUS_OK);
    sus_array b;
    assert_int_equal(sus_npy_parse(buf, len, "ints", SUS_NPY_FINITE, &b, &e), SUS_OK);
    assert_true(arrays_equal(&a, &b));
    sus_array_free(&a);
    sus_array_free(&b);
    free(buf);
}

static void test_round_trip_shapes(void **state)
{
    (void)state;
    static const sus_dtype dts[4] = {SUS_DTYPE_F4, SUS_DTYPE_F8, SUS_DTYPE_I4,
                                     SUS_DTYPE_I8};
    static const struct {
        int ndim;
        int64_t shape[SUS_NPY_MAXDIM];
    } shapes[] = {
        {0, {0}},          {1, {7}},
        {1, {0}},          {2, {2, 3}},
        {2, {0, 3}},       {4, {2, 1, 3, 2}},
        {4, {3, 5, 4, 6}}, {16, {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 3}},
    };
    for (int t = 0; t < 4; t++) {
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
            sus_array a;
            make_array(&a, dts[t], shapes[s].ndim, shapes[s].shape);
            char what[64];
            snprintf(what, sizeof what, "dtype %d shape #%zu", (int)dts[t], s);
            assert_round_trip(&a, what);
            sus_array_free(&a);
        }
    }
}

static void test_header_text(void **state)
{
    (void)state;
    static const struct {
        int ndim;
        int64_t shape[3];
        sus_dtype dt;
        const char *text;
    } cases[] = {
        {0,
         {0},
         SUS_DTYPE_F8,
         "{'descr': '<f8', 'fortran_order': False, 'shape': (), }"},
        {1,
         {3},
         SUS_DTYPE_F4,
         "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }"},
        {2,
         {2, 3},
         SUS_DTYPE_I4,
         "{'descr': '<i4', 'fortran_order': False, 'shape': (2, 3), }"},
        {3,
         {10, 0, 7},
         SUS_DTYPE_I8,
         "{'descr': '<i8', 'fortran_order': False, 'shape': (10, 0, 7), }"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sus_array a;
        make_array(&a, cases[i].dt, cases[i].ndim, cases[i].shape);
        void *buf;
        size_t len;
        sus_error e;
        assert_int_equal(sus_npy_encode(&a, &buf, &len, &e), SUS_OK);
        size_t n = strlen(cases[i].text);
        assert_memory_equal((char *)buf + 10, cases[i].text, n);
        free(buf);
        sus_array_free(&a);
    }
}

/* Every proper prefix of a valid image is malformed, and says so cleanly. */
static void check_prefixes(const unsigned char *img, size_t len, const char *what)
{
    for (size_t n = 0; n < len; n++) {
        unsigned char *p = malloc(n ? n : 1);
        assert_non_null(p);
        memcpy(p, img, n);
        sus_array a;
        sus_error e;
        int rc = sus_npy_parse(p, n, "prefix", SUS_NPY_FINITE, &a, &e);
        if (rc != SUS_ERR_FORMAT)
            fail_msg("%s: prefix of %zu bytes: expected SUS_ERR_FORMAT, got %s: %s",
                     what, n, status_name(rc), rc ? e.msg : "");
        assert_one_line_named(&e, "prefix");
        assert_null(a.data);
        free(p);
    }
}

static void test_truncation_prefixes(void **state)
{
    (void)state;
    static const char *const files[] = {
        "npy_corpus/ok_v1_f8_2x3.npy",        "npy_corpus/ok_v2_f4_5.npy",
        "npy_corpus/ok_v3_i4_2x2.npy",        "npy_corpus/ok_compact_header.npy",
        "npy_corpus/ok_spacey_header.npy",    "npy_corpus/ok_i8_0d.npy",
        "npy_corpus/numpy/np_i4_2x1x3x2.npy",
    };
    char path[PATH_CAP];
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        size_t len;
        unsigned char *img = slurp(join(path, sus_t_datadir(), files[i]), &len);
        check_prefixes(img, len, files[i]);
        free(img);
    }
}

/* Random byte edits of valid images: never a crash (ASan, Valgrind), one
 * named line on failure, and on success an array that round-trips. */
static void test_mutations(void **state)
{
    (void)state;
    static const char *const files[] = {
        "npy_corpus/ok_v1_f8_2x3.npy",
        "npy_corpus/ok_v2_f4_5.npy",
        "npy_corpus/ok_spacey_header.npy",
        "npy_corpus/numpy/np_f4_16d.npy",
    };
    static const char interesting[] = "{}(),:' \"\n0123456789-<>|fiFTrue";
    sus_t_rng rng = {20240611u};
    int rounds = sus_t_quick() ? 300 : 3000;
    char path[PATH_CAP];
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        size_t len;
        unsigned char *img = slurp(join(path, sus_t_datadir(), files[i]), &len);
        unsigned char *p = malloc(len);
        assert_non_null(p);
        for (int r = 0; r < rounds; r++) {
            memcpy(p, img, len);
            int edits = (int)sus_t_range(&rng, 1, 4);
            for (int k = 0; k < edits; k++) {
                size_t at = (size_t)sus_t_range(&rng, 0, (int64_t)len - 1);
                if (sus_t_next(&rng) & 1)
                    p[at] = (unsigned char)sus_t_next(&rng);
                else
                    p[at] = (unsigned char)
                        interesting[sus_t_next(&rng) % (sizeof interesting - 1)];
            }
            size_t n = len - (size_t)sus_t_range(&rng, 0, 3);
            sus_array a;
            sus_error e;
            int rc = sus_npy_parse(p, n, "mutant", SUS_NPY_FINITE, &a, &e);
            if (rc == SUS_OK) {
                assert_round_trip(&a, "mutant");
                sus_array_free(&a);
                continue;
            }
            if (rc != SUS_ERR_FORMAT && rc != SUS_ERR_UNSUPPORTED &&
                rc != SUS_ERR_OVERFLOW && rc != SUS_ERR_NONFINITE)
                fail_msg("mutant: unexpected %s: %s", status_name(rc), e.msg);
            assert_one_line_named(&e, "mutant");
            assert_null(a.data);
        }
        free(p);
        free(img);
    }
}

static void test_read_errors(void **state)
{
    (void)state;
    char dir[PATH_CAP], path[PATH_CAP];
    make_tmpdir(dir);
    sus_array a;
    sus_error e;
    join(path, dir, "missing.npy");
    assert_int_equal(sus_npy_read(path, 0, &a, &e), SUS_ERR_IO);
    assert_one_line_named(&e, path);
    assert_non_null(strstr(e.msg, "cannot open: No such file or directory"));
    assert_null(a.data);

    assert_int_equal(sus_npy_read(dir, 0, &a, &e), SUS_ERR_IO);
    assert_one_line_named(&e, dir);
    assert_non_null(strstr(e.msg, "Is a directory"));

    assert_int_equal(sus_npy_read(path, 2u, &a, &e), SUS_ERR_INVAL);
    assert_int_equal(sus_npy_read(path, 0, NULL, &e), SUS_ERR_INVAL);
    assert_int_equal(sus_npy_read(NULL, 0, &a, &e), SUS_ERR_INVAL);
    assert_int_equal(sus_npy_parse(NULL, 5, "x", 0, &a, &e), SUS_ERR_INVAL);
    assert_int_equal(sus_npy_parse(NULL, 0, NULL, 0, &a, &e), SUS_ERR_FORMAT);
    assert_non_null(strstr(e.msg, "empty"));
    /* err may be NULL. */
    assert_int_equal(sus_npy_read(path, 0, &a, NULL), SUS_ERR_IO);
    remove_tmpdir(dir);
}

static void test_write_read(void **state)
{
    (void)state;
    char dir[PATH_CAP], path[PATH_CAP];
    make_tmpdir(dir);
    join(path, dir, "Q.npy");
    int64_t shape[4] = {2, 3, 4, 5};
    sus_array a, b;
    sus_error e;
    make_array(&a, SUS_DTYPE_F8, 4, shape);
    assert_int_equal(sus_npy_write(path, &a, &e), SUS_OK);
    assert_int_equal(sus_npy_read(path, SUS_NPY_FINITE, &b, &e), SUS_OK);
    assert_true(arrays_equal(&a, &b));
    sus_array_free(&b);

    /* The file is exactly the encoding, mode 0644. */
    void *buf;
    size_t len, flen;
    assert_int_equal(sus_npy_encode(&a, &buf, &len, &e), SUS_OK);
    unsigned char *img = slurp(path, &flen);
    assert_int_equal(len, flen);
    assert_memory_equal(buf, img, len);
    free(buf);
    free(img);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0644);

    /* Overwriting replaces the file; no temporaries are left. */
    sus_array c;
    int64_t shape2[1] = {3};
    make_array(&c, SUS_DTYPE_I4, 1, shape2);
    assert_int_equal(sus_npy_write(path, &c, &e), SUS_OK);
    assert_int_equal(sus_npy_read(path, 0, &b, &e), SUS_OK);
    assert_true(arrays_equal(&c, &b));
    assert_int_equal(count_entries(dir, 0), 1);
    sus_array_free(&b);
    sus_array_free(&c);

    /* A relative path, without a directory part. */
    char cwd[PATH_CAP];
    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_int_equal(chdir(dir), 0);
    assert_int_equal(sus_npy_write("rel.npy", &a, &e), SUS_OK);
    assert_int_equal(sus_npy_read("rel.npy", 0, &b, &e), SUS_OK);
    assert_true(arrays_equal(&a, &b));
    sus_array_free(&b);
    assert_int_equal(chdir(cwd), 0);
    assert_int_equal(count_entries(dir, 0), 2);
    assert_int_equal(count_entries(dir, 1), 0);
    sus_array_free(&a);
    remove_tmpdir(dir);
}

static void test_write_missing_dir(void **state)
{
    (void)state;
    char dir[PATH_CAP], sub[PATH_CAP], path[PATH_CAP];
    make_tmpdir(dir);
    join(sub, dir, "nope");
    join(path, sub, "x.npy");
    int64_t shape[1] = {3};
    sus_array a;
    sus_error e;
    make_array(&a, SUS_DTYPE_F8, 1, shape);
    assert_int_equal(sus_npy_write(path, &a, &e), SUS_ERR_IO);
    assert_one_line_named(&e, path);
    assert_non_null(strstr(e.msg, "No such file or directory"));
    struct stat st;
    assert_int_equal(stat(sub, &st), -1);
    assert_int_equal(count_entries(dir, 0), 0);

    /* A path naming a directory is refused up front. */
    char slash[PATH_CAP];
    join(slash, dir, "");
    assert_int_equal(sus_npy_write(slash, &a, &e), SUS_ERR_INVAL);
    assert_int_equal(count_entries(dir, 0), 0);
    sus_array_free(&a);
    remove_tmpdir(dir);
}

/* The contents of path equal the image. */
static void assert_file_is(const char *path, const void *img, size_t len)
{
    size_t flen;
    unsigned char *f = slurp(path, &flen);
    assert_int_equal(flen, len);
    assert_memory_equal(f, img, len);
    free(f);
}

static void test_write_failure_leaves_file(void **state)
{
    (void)state;
    char dir[PATH_CAP], path[PATH_CAP], subdir[PATH_CAP];
    make_tmpdir(dir);
    join(path, dir, "out.npy");
    int64_t small[1] = {2}, big[1] = {1 << 16};
    sus_array old, large;
    sus_error e;
    make_array(&old, SUS_DTYPE_F8, 1, small);
    make_array(&large, SUS_DTYPE_F8, 1, big);
    assert_int_equal(sus_npy_write(path, &old, &e), SUS_OK);
    void *oldimg;
    size_t oldlen;
    assert_int_equal(sus_npy_encode(&old, &oldimg, &oldlen, &e), SUS_OK);

    /* A write that fails halfway: a child process whose file size limit
     * (RLIMIT_FSIZE) is far below the 512 KiB it writes. */
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct rlimit rl;
        signal(SIGXFSZ, SIG_IGN);
        getrlimit(RLIMIT_FSIZE, &rl);
        rl.rlim_cur = 4096;
        if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
            _exit(3);
        int rc = sus_npy_write(path, &large, &e);
        _exit(rc == SUS_ERR_IO && strstr(e.msg, "cannot write the temporary file") ? 0
                                                                                   : 1);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_file_is(path, oldimg, oldlen);
    assert_int_equal(count_entries(dir, 0), 1);

    /* An invalid array fails before anything is created. */
    large.count = 5;
    assert_int_equal(sus_npy_write(path, &large, &e), SUS_ERR_INVAL);
    assert_one_line_named(&e, path);
    assert_non_null(strstr(e.msg, "count 5 does not match shape (65536,)"));
    large.count = (size_t)1 << 16;
    assert_file_is(path, oldimg, oldlen);

    /* rename() over a non-empty directory fails: the temporary goes. */
    join(subdir, dir, "sub.npy");
    assert_int_equal(mkdir(subdir, 0755), 0);
    char inner[PATH_CAP];
    assert_int_equal(sus_npy_write(join(inner, subdir, "f.npy"), &old, &e), SUS_OK);
    assert_int_equal(sus_npy_write(subdir, &old, &e), SUS_ERR_IO);
    assert_one_line_named(&e, subdir);
    assert_non_null(strstr(e.msg, "cannot rename the temporary file over it"));
    assert_int_equal(count_entries(dir, 0), 2);
    assert_int_equal(count_entries(dir, 1), 0);
    assert_int_equal(unlink(inner), 0);
    assert_int_equal(count_entries(dir, 0), 2);

    assert_file_is(path, oldimg, oldlen);
    free(oldimg);
    sus_array_free(&old);
    sus_array_free(&large);
    remove_tmpdir(dir);
}

static void test_encode_errors(void **state)
{
    (void)state;
    int64_t shape[2] = {2, 3};
    sus_array a;
    sus_error e;
    void *buf = (void *)&e;
    size_t len = 7;
    make_array(&a, SUS_DTYPE_F4, 2, shape);
    assert_int_equal(sus_npy_encode(NULL, &buf, &len, &e), SUS_ERR_INVAL);
    assert_null(buf);
    assert_int_equal(len, 0);
    assert_int_equal(sus_npy_encode(&a, NULL, &len, &e), SUS_ERR_INVAL);
    a.shape[1] = -3;
    assert_int_equal(sus_npy_encode(&a, &buf, &len, &e), SUS_ERR_INVAL);
    assert_non_null(strstr(e.msg, "negative dimension"));
    a.shape[1] = 3;
    a.dtype = (sus_dtype)9;
    assert_int_equal(sus_npy_encode(&a, &buf, &len, &e), SUS_ERR_INVAL);
    a.dtype = SUS_DTYPE_F4;
    a.ndim = SUS_NPY_MAXDIM + 1;
    assert_int_equal(sus_npy_encode(&a, &buf, &len, &e), SUS_ERR_INVAL);
    a.ndim = 2;
    a.shape[0] = INT64_MAX;
    assert_int_equal(sus_npy_encode(&a, &buf, &len, &e), SUS_ERR_OVERFLOW);
    a.shape[0] = 2;
    void *data = a.data;
    a.data = NULL;
    assert_int_equal(sus_npy_encode(&a, &buf, &len, &e), SUS_ERR_INVAL);
    a.data = data;
    assert_int_equal(sus_npy_encode(&a, &buf, &len, NULL), SUS_OK);
    free(buf);
    sus_array_free(&a);
}

static void test_array_api(void **state)
{
    (void)state;
    assert_int_equal(sus_dtype_size(SUS_DTYPE_F4), 4);
    assert_int_equal(sus_dtype_size(SUS_DTYPE_F8), 8);
    assert_int_equal(sus_dtype_size(SUS_DTYPE_I4), 4);
    assert_int_equal(sus_dtype_size(SUS_DTYPE_I8), 8);
    assert_int_equal(sus_dtype_size((sus_dtype)0), 0);
    assert_int_equal(sus_dtype_size((sus_dtype)5), 0);

    sus_array a;
    sus_error e;
    int64_t shape[3] = {2, 0, 3};
    assert_int_equal(sus_array_alloc(&a, SUS_DTYPE_F8, 3, shape, &e), SUS_OK);
    assert_int_equal(a.count, 0);
    assert_non_null(a.data);
    sus_array_free(&a);
    sus_array_free(&a);
    assert_null(a.data);
    sus_array_free(NULL);

    assert_int_equal(sus_array_alloc(&a, SUS_DTYPE_F8, 0, NULL, &e), SUS_OK);
    assert_int_equal(a.count, 1);
    assert_true(((double *)a.data)[0] == 0.0);
    sus_array_free(&a);

    int64_t huge[3] = {0, INT64_MAX, 2};
    assert_int_equal(sus_array_alloc(&a, SUS_DTYPE_I4, 3, huge, &e), SUS_ERR_OVERFLOW);
    assert_non_null(
        strstr(e.msg, "array: shape (0, 9223372036854775807, 2) is too large"));
    assert_null(a.data);
    int64_t neg[2] = {2, -1};
    assert_int_equal(sus_array_alloc(&a, SUS_DTYPE_I4, 2, neg, &e), SUS_ERR_INVAL);
    assert_int_equal(sus_array_alloc(&a, SUS_DTYPE_I4, 17, shape, &e), SUS_ERR_INVAL);
    assert_int_equal(sus_array_alloc(&a, SUS_DTYPE_I4, 2, NULL, &e), SUS_ERR_INVAL);
    assert_int_equal(sus_array_alloc(&a, (sus_dtype)0, 1, shape, &e), SUS_ERR_INVAL);
    assert_int_equal(sus_array_alloc(NULL, SUS_DTYPE_I4, 1, shape, &e), SUS_ERR_INVAL);

    /* sus_array_to_f64 widens floats exactly and refuses integers. */
    int64_t s1[1] = {5};
    static const sus_dtype fl[2] = {SUS_DTYPE_F4, SUS_DTYPE_F8};
    for (int t = 0; t < 2; t++) {
        make_array(&a, fl[t], 1, s1);
        double *d;
        assert_int_equal(sus_array_to_f64(&a, "Q.npy", &d, &e), SUS_OK);
        for (size_t k = 0; k < 5; k++)
            assert_true(d[k] == value_f(k));
        free(d);
        sus_array_free(&a);
    }
    make_array(&a, SUS_DTYPE_I8, 1, s1);
    double *d = (double *)&e;
    assert_int_equal(sus_array_to_f64(&a, "idx.npy", &d, &e), SUS_ERR_UNSUPPORTED);
    assert_null(d);
    assert_string_equal(e.msg,
                        "idx.npy: dtype <i8 is not a float dtype ('<f4' or '<f8')");
    assert_int_equal(sus_array_to_f64(&a, NULL, NULL, &e), SUS_ERR_INVAL);
    sus_array_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_corpus),
        cmocka_unit_test(test_numpy_files),
        cmocka_unit_test(test_finite_flag),
        cmocka_unit_test(test_round_trip_shapes),
        cmocka_unit_test(test_header_text),
        cmocka_unit_test(test_truncation_prefixes),
        cmocka_unit_test(test_mutations),
        cmocka_unit_test(test_read_errors),
        cmocka_unit_test(test_write_read),
        cmocka_unit_test(test_write_missing_dir),
        cmocka_unit_test(test_write_failure_leaves_file),
        cmocka_unit_test(test_encode_errors),
        cmocka_unit_test(test_array_api),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
