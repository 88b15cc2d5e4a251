/* The reading side: last values and fetched series.  Only librrd's _r functions, through the
 * table of the library loaded on first use (rrdlib.c). */
#include "storage/storage-private.h"

#include "common/common.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Takes librrd's thread-local error into err, naming the file, and clears it. */
static int rrd_fail(const rrdlib_t *R, const char *file, const char *what, char *err,
                    size_t errlen)
{
    const char *msg = R->get_error();
    wa_err(err, errlen, "%s: %s: %s", file, what, msg && *msg ? msg : "failed");
    R->clear_error();
    errno = WA_ERRD;
    return -1;
}

static void free_strv(const rrdlib_t *R, char **v, unsigned long n)
{
    if (!v)
        return;
    for (unsigned long i = 0; i < n; i++)
        R->freemem(v[i]);
    R->freemem(v);
}

void storage_last_fill(char **names, char **vals, unsigned long n, storage_sample_t *s)
{
    for (int i = 0; i < STORAGE_DS_COUNT_; i++)
        s->v[i] = NAN;
    /* A host file is read by its own names; the two sets share none. */
    int host = storage_known_ds(names, n) == STORAGE_HOST_DS_COUNT_ &&
               strcmp(names[0], storage_host_ds_name(STORAGE_HOST_CPU)) == 0;
    int n_names = host ? STORAGE_HOST_DS_COUNT_ : STORAGE_DS_COUNT_;
    for (unsigned long k = 0; k < n; k++) {
        for (int i = 0; i < n_names; i++) {
            const char *name = host ? storage_host_ds_name((storage_host_ds_t)i)
                                    : storage_ds_name((storage_ds_t)i);
            if (strcmp(names[k], name) != 0)
                continue;
            char *end;
            double v = strtod(vals[k], &end);
            s->v[i] = (end != vals[k] && *end == '\0') ? v : NAN; /* "U" = unknown */
        }
    }
}

int storage_last(const char *file, int64_t *t, storage_sample_t *s, char *err, size_t errlen)
{
    if (!file || !t) {
        errno = EINVAL;
        return wa_err(err, errlen, "storage_last: file and t are required");
    }
    const rrdlib_t *R = rrdlib(err, errlen);
    if (!R)
        return -1;
    time_t last = 0;
    unsigned long n = 0;
    char **names = NULL, **vals = NULL;
    R->clear_error();
    if (R->lastupdate_r(file, &last, &n, &names, &vals) != 0)
        return rrd_fail(R, file, "cannot read last update", err, errlen);
    *t = (int64_t)last;
    if (s)
        storage_last_fill(names, vals, n, s);
    free_strv(R, names, n);
    free_strv(R, vals, n);
    return 0;
}

/* Appends "a, b, c" to buf. */
static void join_names(char *buf, size_t len, char **names, unsigned long n)
{
    size_t used = 0;
    buf[0] = '\0';
    for (unsigned long i = 0; i < n && used < len; i++) {
        int w = snprintf(buf + used, len - used, "%s%s", i ? ", " : "", names[i]);
        if (w < 0)
            break;
        used += (size_t)w;
    }
}

/* The index of the data source wanted, or -1 with err naming the file and its sources. */
static long pick_ds(const char *file, const char *ds, char **names, unsigned long n, char *err,
                    size_t errlen)
{
    char list[512];
    const char *want[] = {"power", "value"};
    if (ds) {
        for (unsigned long i = 0; i < n; i++)
            if (strcmp(names[i], ds) == 0)
                return (long)i;
        join_names(list, sizeof list, names, n);
        errno = ENOENT;
        wa_err(err, errlen, "%s: no data source '%s' (it has: %s)", file, ds, list);
        return -1;
    }
    for (size_t w = 0; w < sizeof want / sizeof want[0]; w++)
        for (unsigned long i = 0; i < n; i++)
            if (strcmp(names[i], want[w]) == 0)
                return (long)i;
    if (n == 1)
        return 0;
    join_names(list, sizeof list, names, n);
    errno = ENOENT;
    wa_err(err, errlen,
           "%s: no data source named; it has neither 'power' nor 'value' nor only one (it has: "
           "%s)",
           file, list);
    return -1;
}

int storage_fetch(const char *file, const char *ds, const char *cf, int64_t from, int64_t to,
                  int step, const char *rrdcached, storage_series_t *out, char *err, size_t errlen)
{
    if (!file || !cf || !out || step < 0 || from >= to) {
        errno = EINVAL;
        return wa_err(err, errlen, "%s: storage_fetch needs a cf, from < to and step >= 0",
                      file ? file : "(no file)");
    }
    memset(out, 0, sizeof *out);
    if (rrdcached && *rrdcached) {
        /* The daemon resolves names against its own folder; give it the absolute one. */
        char abs[PATH_MAX];
        if (!realpath(file, abs)) {
            int e = errno;
            wa_err(err, errlen, "%s: %s", file, strerror(e));
            errno = e;
            return -1;
        }
        if (rrdc_flush_once(rrdcached, abs, err, errlen) < 0)
            return -1;
    }

    const rrdlib_t *R = rrdlib(err, errlen);
    if (!R)
        return -1;
    time_t start = (time_t)from, end = (time_t)to;
    unsigned long ustep = step > 0 ? (unsigned long)step : 1; /* in/out: the finest wanted */
    unsigned long n_ds = 0;
    char **names = NULL;
    rrd_value_t *data = NULL;
    R->clear_error();
    if (R->fetch_r(file, cf, &start, &end, &ustep, &n_ds, &names, &data) != 0)
        return rrd_fail(R, file, "cannot fetch", err, errlen);

    int rc = -1;
    long idx = pick_ds(file, ds, names, n_ds, err, errlen);
    if (idx < 0)
        goto out;
    /* Rows run from start + step to end, as `rrdtool fetch` prints them. */
    size_t n = ustep ? (size_t)((end - start) / (time_t)ustep) : 0;
    out->v = malloc((n ? n : 1) * sizeof *out->v);
    if (!out->v) {
        errno = ENOMEM;
        wa_err(err, errlen, "%s: out of memory for %zu values", file, n);
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        out->v[i] = data[i * n_ds + (size_t)idx];
    out->start = (int64_t)start;
    out->step = (int)ustep;
    out->n = n;
    rc = 0;
out:
    free_strv(R, names, n_ds);
    R->freemem(data);
    return rc;
}
