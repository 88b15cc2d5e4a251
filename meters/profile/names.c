/*
 * names.c: the spellings of quantities, types and byte orders used by the profile file format
 * (docs/profiles.md) and in messages.
 */
#include <errno.h>
#include <string.h>

#include "meters/profile/profile.h"

/* Indexed by the enums; the order must match profile.h. */
static const char *const quantity_names[Q_COUNT_] = {
    "power", "energy_import", "energy_export", "voltage", "current", "pf", "frequency",
};
static const char *const type_names[] = {
    "u16", "s16", "u32", "s32", "u64", "s64", "float32", "float64",
};
static const char *const order_names[] = {"ABCD", "CDAB", "BADC", "DCBA"};

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

static const char *name_of(const char *const *names, size_t n, int i)
{
    return i >= 0 && (size_t)i < n ? names[i] : "?";
}

/* Index of s in names, or -1 with errno EINVAL.  Case matters: the files are data, and one
 * spelling per thing keeps them greppable. */
static int index_of(const char *const *names, size_t n, const char *s)
{
    for (size_t i = 0; s && i < n; i++)
        if (strcmp(names[i], s) == 0)
            return (int)i;
    errno = EINVAL;
    return -1;
}

const char *profile_quantity_name(profile_quantity_t q)
{
    return name_of(quantity_names, N_OF(quantity_names), (int)q);
}

int profile_quantity_parse(const char *s, profile_quantity_t *out)
{
    int i = index_of(quantity_names, N_OF(quantity_names), s);
    if (i < 0)
        return -1;
    *out = (profile_quantity_t)i;
    return 0;
}

const char *profile_type_name(profile_type_t t)
{
    return name_of(type_names, N_OF(type_names), (int)t);
}

int profile_type_parse(const char *s, profile_type_t *out)
{
    int i = index_of(type_names, N_OF(type_names), s);
    if (i < 0)
        return -1;
    *out = (profile_type_t)i;
    return 0;
}

const char *profile_order_name(profile_order_t o)
{
    return name_of(order_names, N_OF(order_names), (int)o);
}

int profile_order_parse(const char *s, profile_order_t *out)
{
    int i = index_of(order_names, N_OF(order_names), s);
    if (i < 0)
        return -1;
    *out = (profile_order_t)i;
    return 0;
}
