/*
 * prom: compute load from Prometheus text-format endpoints (node_exporter, NVIDIA's DCGM
 * exporter, any exporter with a named gauge).
 *
 * The text exposition format 0.0.4 ("Exposition formats", prometheus.io/docs/instrumenting/
 * exposition_formats) is outside input: the parser takes a length, bounds every name, label
 * and line, and refuses what it cannot read with a message naming the line.  The scraper speaks
 * just enough HTTP/1.0 over a plain socket to GET one page, with a deadline and a size cap.
 */
#ifndef WA_PROM_H
#define WA_PROM_H

#include <stddef.h>
#include <stdint.h>

/* Bounds on what one exposition may hold; beyond them the parse fails (WA_ERANGE). */
#define PROM_NAME_MAX 128   /* metric and label names */
#define PROM_VALUE_MAX 1024 /* one label value, after unescaping */
#define PROM_LABELS_MAX 32  /* labels on one sample */
#define PROM_SAMPLES_MAX 200000
#define PROM_BODY_MAX (16u << 20) /* what prom_scrape reads at most by default */

typedef struct prom_label {
    char *name, *value;
} prom_label_t;

typedef struct prom_sample {
    char *name;
    prom_label_t *labels;
    size_t n_labels;
    double value;     /* NaN and +-Inf as the format allows */
    int64_t ts_ms;    /* the optional timestamp, ms since the epoch; 0 = none given */
} prom_sample_t;

typedef struct prom_set prom_set_t;

/* Parses len bytes of exposition text (need not be NUL-terminated).  Returns a set the caller
 * frees with prom_set_free(), or NULL with errno (WA_EPROTO for malformed text, WA_ERANGE for a
 * bound exceeded, ENOMEM) and "name:line: what" in err.  Comments and HELP/TYPE lines are
 * read and ignored apart from their syntax. */
prom_set_t *prom_parse(const char *text, size_t len, const char *name, char *err, size_t errlen);
void prom_set_free(prom_set_t *s);

size_t prom_set_count(const prom_set_t *s);
/* The i-th sample in the order of the text; the set owns it. */
const prom_sample_t *prom_set_sample(const prom_set_t *s, size_t i);
/* The value of label `name` on a sample, or NULL. */
const char *prom_sample_label(const prom_sample_t *m, const char *name);

/* node_exporter's node_cpu_seconds_total summed over CPUs: *total over every mode, *idle over
 * "idle" and "iowait" (a CPU waiting on I/O does no work).  0, or -1 with errno ENOENT if the
 * metric is absent. */
int prom_cpu_seconds(const prom_set_t *s, double *total, double *idle);
/* Busy fraction 0..1 between two scrapes' prom_cpu_seconds; NaN when the counters went
 * backwards (a reboot) or did not move. */
double prom_cpu_busy(double total0, double idle0, double total1, double idle1);

/* A gauge over its series, one value per distinct value of `key` (e.g. "gpu" or "UUID"; NULL =
 * every sample counts): DCGM repeats a physical GPU's power on each MIG instance's series, so
 * the repeats are averaged before the sum.  *sum is the sum over keys, *mean the mean, *n the
 * number of keys.  NaN samples are skipped.  0, or -1 with errno ENOENT if no sample. */
int prom_gauge(const prom_set_t *s, const char *metric, const char *key, double *sum,
               double *mean, size_t *n);

/* GETs url ("http://host[:port]/path", IPv4 literal or a name) with an overall deadline of
 * timeout_ms, reading at most max_bytes of body (0 = PROM_BODY_MAX).  On 200 returns 0 and a
 * NUL-terminated malloc'd body the caller frees, its length in *len.  -1 with errno
 * (ETIMEDOUT, ECONNREFUSED, EFBIG, WA_EPROTO for a non-200 answer or bad HTTP, EINVAL for an
 * unsupported URL) and the reason in err. */
int prom_scrape(const char *url, int timeout_ms, size_t max_bytes, char **body, size_t *len,
                char *err, size_t errlen);

/* One host's load from its exporters at one moment.  NaN = not known. */
typedef struct prom_load {
    double cpu_total, cpu_idle; /* counters from node_exporter, for the next busy fraction */
    double gpu_util;            /* mean over GPUs, percent 0..100 (DCGM_FI_DEV_GPU_UTIL) */
    double gpu_power_w;         /* sum over GPUs, W (DCGM_FI_DEV_POWER_USAGE) */
    double gauge;               /* the named gauge's sum, if asked for */
} prom_load_t;

/* Reads a prom_load_t from a parsed set; absent metrics give NaN, never an error.  gauge may be
 * NULL or "". */
void prom_load_read(const prom_set_t *s, const char *gauge, prom_load_t *out);

#endif
