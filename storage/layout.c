/* The channel and host file layouts (docs/rrd-layout.md) and their creation. */
#include "storage/storage-private.h"

#include "common/common.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define SECONDS_PER_DAY 86400

/* Data sources in file order; indexes are storage_ds_t. */
static const char *const ds_names[STORAGE_DS_COUNT_] = {
    [STORAGE_DS_POWER] = "power",           [STORAGE_DS_ENERGY] = "energy",
    [STORAGE_DS_ENERGY_RAW] = "energy_raw", [STORAGE_DS_VOLTAGE] = "voltage",
    [STORAGE_DS_CURRENT] = "current",       [STORAGE_DS_PF] = "pf",
    [STORAGE_DS_FREQUENCY] = "frequency",
};

/* A host file's data sources in file order; indexes are storage_host_ds_t. */
static const char *const host_ds_names[STORAGE_HOST_DS_COUNT_] = {
    [STORAGE_HOST_CPU] = "cpu",
    [STORAGE_HOST_GPU] = "gpu",
    [STORAGE_HOST_GPU_W] = "gpu_w",
    [STORAGE_HOST_GAUGE] = "gauge",
};

const char *storage_ds_name(storage_ds_t ds)
{
    if ((int)ds < 0 || ds >= STORAGE_DS_COUNT_)
        return NULL;
    return ds_names[ds];
}

const char *storage_host_ds_name(storage_host_ds_t ds)
{
    if ((int)ds < 0 || ds >= STORAGE_HOST_DS_COUNT_)
        return NULL;
    return host_ds_names[ds];
}

int storage_layout_n_ds(const storage_layout_t *lay, int host)
{
    if (host)
        return STORAGE_HOST_DS_COUNT_;
    return lay->no_quality ? STORAGE_DS_VOLTAGE : STORAGE_DS_COUNT_;
}

int storage_known_ds(char **names, unsigned long n)
{
    if (n == STORAGE_HOST_DS_COUNT_) {
        unsigned long i = 0;
        while (i < n && strcmp(names[i], host_ds_names[i]) == 0)
            i++;
        if (i == n)
            return (int)n;
    }
    if (n < 1 || n > STORAGE_DS_COUNT_)
        return -1;
    for (unsigned long i = 0; i < n; i++)
        if (strcmp(names[i], ds_names[i]) != 0)
            return -1;
    return (int)n;
}

/* One tier of archives: a step in seconds, days kept, and the consolidations. */
struct tier {
    int step_s, days;
    const char *const *cfs;
};

static const char *const cf_full[] = {"AVERAGE", NULL};
static const char *const cf_mid[] = {"AVERAGE", "MIN", "MAX", NULL};
static const char *const cf_long[] = {"AVERAGE", "MIN", "MAX", "LAST", NULL};

int storage_layout_defs(const char *path, const storage_layout_t *lay, int host,
                        char defs[][STORAGE_DEF_MAX], char *err, size_t errlen)
{
    int argc = 0;

    if (lay->step_s < 1 || lay->full_days < 1) {
        errno = EINVAL;
        return wa_err(err, errlen, "%s: layout needs step_s >= 1 and full_days >= 1 (got %d, %d)",
                      path, lay->step_s, lay->full_days);
    }
    /* Heartbeat 3 x step: two missed polls in a row still give known values; a third makes
     * the interval unknown rather than interpolated across an outage. */
    for (int i = 0; i < storage_layout_n_ds(lay, host); i++) {
        /* Host loads cannot be negative (docs/rrd-layout.md, "Host files"): min 0. */
        snprintf(defs[argc], sizeof defs[argc], "DS:%s:GAUGE:%d:%s:U",
                 host ? host_ds_names[i] : ds_names[i], 3 * lay->step_s, host ? "0" : "U");
        argc++;
    }
    const struct tier tiers[] = {
        {lay->step_s, lay->full_days, cf_full},
        {lay->mid_step_s, lay->mid_days, cf_mid},
        {lay->long_step_s, lay->long_days, cf_long},
    };
    int64_t prev_pdp = 0;
    for (size_t t = 0; t < sizeof tiers / sizeof tiers[0]; t++) {
        /* Steps that are not a multiple of the poll interval round down to one. */
        int64_t pdp = tiers[t].step_s / lay->step_s;
        if (tiers[t].days < 1 || pdp <= prev_pdp)
            continue;
        int64_t span = pdp * lay->step_s;
        int64_t rows = ((int64_t)tiers[t].days * SECONDS_PER_DAY + span - 1) / span;
        for (const char *const *cf = tiers[t].cfs; *cf; cf++) {
            snprintf(defs[argc], sizeof defs[argc], "RRA:%s:0.5:%lld:%lld", *cf, (long long)pdp,
                     (long long)rows);
            argc++;
        }
        prev_pdp = pdp;
    }
    return argc;
}

int storage_layout_create(const char *path, const storage_layout_t *lay, int host, int64_t start,
                          char *err, size_t errlen)
{
    char defs[STORAGE_DEFS_MAX][STORAGE_DEF_MAX];
    const char *argv[STORAGE_DEFS_MAX];
    int argc = storage_layout_defs(path, lay, host, defs, err, errlen);
    if (argc < 0)
        return -1;
    for (int i = 0; i < argc; i++)
        argv[i] = defs[i];

    if (access(path, F_OK) == 0) {
        errno = EEXIST;
        return -1;
    }
    if (storage_mkdirs_for(path, err, errlen) < 0)
        return -1;
    const rrdlib_t *R = rrdlib(err, errlen);
    if (!R)
        return -1;
    R->clear_error();
    if (R->create_r2(path, (unsigned long)lay->step_s, (time_t)start, 1, NULL, NULL, argc, argv) !=
        0) {
        if (access(path, F_OK) == 0) { /* another process made it meanwhile */
            R->clear_error();
            errno = EEXIST;
            return -1;
        }
        wa_err(err, errlen, "%s: cannot create: %s", path, R->get_error());
        R->clear_error();
        errno = WA_ERRD;
        return -1;
    }
    return 0;
}
