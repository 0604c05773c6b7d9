/* size.c: overflow-checked size arithmetic and array allocation. */
#include <stdlib.h>

#include "internal.h"

int sus_i_mul_size(size_t a, size_t b, size_t *out)
{
    if (a != 0 && b > SIZE_MAX / a)
        return 0;
    *out = a * b;
    return 1;
}

int sus_i_add_size(size_t a, size_t b, size_t *out)
{
    if (b > SIZE_MAX - a)
        return 0;
    *out = a + b;
    return 1;
}

void *sus_i_alloc_array(size_t count, size_t size)
{
    size_t bytes;
    if (!sus_i_mul_size(count, size, &bytes))
        return NULL;
    return malloc(bytes ? bytes : 1);
}

void *sus_i_calloc_array(size_t count, size_t size)
{
    size_t bytes;
    if (!sus_i_mul_size(count, size, &bytes))
        return NULL;
    return calloc(bytes ? count : 1, bytes ? size : 1);
}
