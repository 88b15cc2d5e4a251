/*
 * storage: channels as RRD time series (docs/rrd-layout.md).
 *
 * One file per channel, DATA_DIR/<site>/<device>/<channel>.rrd, with the data sources below and
 * archives long enough for a year of analysis.  Writes go through rrdcached (BATCH) when an
 * address is given, else through librrd directly; either way they are queued and written in
 * batches by storage_flush().  The reading side serves the analyzer and tests.
 */
#ifndef WA_STORAGE_H
#define WA_STORAGE_H

#include <stddef.h>
#include <stdint.h>

/* Data sources of a channel file, in file order.  All GAUGE.  A file has all seven, or only
 * the first STORAGE_DS_VOLTAGE (power, energy, energy_raw) when made with no_quality. */
typedef enum {
    STORAGE_DS_POWER,      /* "power": active power, W */
    STORAGE_DS_ENERGY,     /* "energy": imported energy, Wh, continuous across counter resets */
    STORAGE_DS_ENERGY_RAW, /* "energy_raw": the meter's own register, Wh */
    STORAGE_DS_VOLTAGE,    /* "voltage", V */
    STORAGE_DS_CURRENT,    /* "current", A */
    STORAGE_DS_PF,         /* "pf" */
    STORAGE_DS_FREQUENCY,  /* "frequency", Hz */
    STORAGE_DS_COUNT_
} storage_ds_t;

const char *storage_ds_name(storage_ds_t ds);

/* Data sources of a host file (DATA_DIR/<site>/hosts/<host>.rrd: compute load beside the power
 * channels), in file order.  All GAUGE with min 0. */
typedef enum {
    STORAGE_HOST_CPU,   /* "cpu": busy fraction 0..1 between two node_exporter scrapes */
    STORAGE_HOST_GPU,   /* "gpu": mean GPU utilisation, fraction 0..1 */
    STORAGE_HOST_GPU_W, /* "gpu_w": GPU board power summed over the GPUs, W */
    STORAGE_HOST_GAUGE, /* "gauge": the host's named gauge, summed over its series */
    STORAGE_HOST_DS_COUNT_
} storage_host_ds_t;

const char *storage_host_ds_name(storage_host_ds_t ds);

/* One poll's values for one channel, v[storage_ds_t]; for a host file v[storage_host_ds_t]
 * (the rest ignored).  NaN = not measured. */
typedef struct storage_sample {
    double v[STORAGE_DS_COUNT_];
} storage_sample_t;

typedef struct storage_layout {
    int step_s;               /* the poll interval */
    int full_days;            /* AVERAGE at step_s */
    int mid_step_s, mid_days; /* AVERAGE, MIN, MAX */
    int long_step_s, long_days; /* AVERAGE, MIN, MAX, LAST */
    int no_quality;           /* 1: no voltage, current, pf or frequency data sources */
} storage_layout_t;

typedef struct storage storage_t;

/* data_dir must exist or be creatable.  rrdcached: NULL or "" for direct librrd, else an
 * address as rrdtool takes it ("unix:/path", "host:port").  NULL with errno and err.
 * With rrdcached, files are still created and read here, and named to the daemon by their
 * absolute path: the daemon must see the same folder (its -b must contain data_dir).  The
 * daemon is connected on first use, so it may start after us.  Files are then created through
 * the daemon too (CREATE): a writer through rrdcached never loads librrd, which storage only
 * loads (dlopen) for direct writes and reads. */
storage_t *storage_open(const char *data_dir, const char *rrdcached, char *err, size_t errlen);
/* Flushes what is queued, then frees.  Accepts NULL. */
void storage_close(storage_t *st);

/* Creates the channel's file if missing (folders too); an existing file is kept as it is.
 * rel is "<site>/<device>/<channel>": relative, no empty, "." or ".." component, no
 * whitespace (else EINVAL).  start: the first time that will be written minus one.
 * Thread-safe.  0, or -1 with errno and err. */
int storage_ensure(storage_t *st, const char *rel, const storage_layout_t *lay, int64_t start,
                   char *err, size_t errlen);

/* The same for a host file: the data sources of storage_host_ds_t instead of the channel ones,
 * lay's step and archives (no_quality is ignored).  rel is "<site>/hosts/<host>". */
int storage_ensure_host(storage_t *st, const char *rel, const storage_layout_t *lay, int64_t start,
                        char *err, size_t errlen);

/* Queues one sample; rel as above (copied).  Thread-safe.  Times must increase per file;
 * a sample at or before the file's last update is dropped and counted, not an error.  Only
 * the data sources the file has are written (its count is read when the file is first
 * written to, or known from storage_ensure creating it); the others' values are ignored.
 * 0, or -1 with errno EINVAL (bad rel) or ENOMEM. */
int storage_put(storage_t *st, const char *rel, int64_t t, const storage_sample_t *s);

/* Writes everything queued.  Thread-safe.  0, or -1 with errno and err (the queue is kept for
 * a retry when the failure was a connection's). */
int storage_flush(storage_t *st, char *err, size_t errlen);

/* Counters since storage_open, in samples except batches. */
typedef struct storage_stats {
    uint64_t queued;      /* accepted by storage_put */
    uint64_t written;     /* handed to librrd or accepted by rrdcached */
    uint64_t dropped_old; /* at or before the file's last update, or a repeated time */
    uint64_t failed;      /* refused by librrd or rrdcached (not kept for retry) */
    uint64_t batches;     /* rrd_update_r calls (one per file per flush), or rrdcached BATCHes */
} storage_stats_t;
void storage_get_stats(const storage_t *st, storage_stats_t *out);

/* Absolute path of a channel's file into buf. */
int storage_path(const storage_t *st, const char *rel, char *buf, size_t len);

/* The last update time and values of the file of rel (what the collector resumes from), s->v
 * as storage_last's, through st: with rrdcached the daemon is asked (FLUSH, then INFO), so
 * that the updates it still holds count and librrd is not loaded; else the file is read.
 * Thread-safe.  0, or -1 with errno and err. */
int storage_resume(storage_t *st, const char *rel, int64_t *t, storage_sample_t *s, char *err,
                   size_t errlen);

/* The last update time and values of a file, read with librrd: s->v by storage_ds_t for a
 * channel file, by storage_host_ds_t for a host file; NaN for the rest. */
int storage_last(const char *file, int64_t *t, storage_sample_t *s, char *err, size_t errlen);

/* A fetched series: n values of one data source at a fixed step, v[i] at start + (i+1)*step
 * (RRD's convention: the value covers the step that ends there); NaN = unknown. */
typedef struct storage_series {
    int64_t start;
    int step;
    size_t n;
    double *v;
} storage_series_t;

/* Fetches data source `ds` (a name, or NULL for "power", else "value", else the only DS) with
 * consolidation cf ("AVERAGE", ...) from file between from and to at the step wanted (0 = the
 * finest).  The caller frees out->v with free().  rrdcached: as storage_open, for a flush first. */
int storage_fetch(const char *file, const char *ds, const char *cf, int64_t from, int64_t to,
                  int step, const char *rrdcached, storage_series_t *out, char *err, size_t errlen);

#endif
