/* Compute load from parsed expositions: node_exporter's CPU counters and DCGM's GPU gauges. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "meters/prom/prom.h"

int prom_cpu_seconds(const prom_set_t *s, double *total, double *idle)
{
    double t = 0, i = 0;
    size_t n = 0;
    for (size_t k = 0; k < prom_set_count(s); k++) {
        const prom_sample_t *m = prom_set_sample(s, k);
        if (strcmp(m->name, "node_cpu_seconds_total") || !isfinite(m->value))
            continue;
        const char *mode = prom_sample_label(m, "mode");
        t += m->value;
        if (mode && (!strcmp(mode, "idle") || !strcmp(mode, "iowait")))
            i += m->value;
        n++;
    }
    if (n == 0) {
        errno = ENOENT;
        return -1;
    }
    *total = t;
    *idle = i;
    return 0;
}

double prom_cpu_busy(double total0, double idle0, double total1, double idle1)
{
    double dt = total1 - total0, di = idle1 - idle0;
    if (!(dt > 0) || di < 0 || di > dt)
        return NAN;
    return (dt - di) / dt;
}

int prom_gauge(const prom_set_t *s, const char *metric, const char *key, double *sum,
               double *mean, size_t *n)
{
    /* Series per key are few (GPUs in a host); a linear table is enough. */
    enum { KEYS_MAX = 64 };
    const char *keys[KEYS_MAX];
    double acc[KEYS_MAX];
    size_t cnt[KEYS_MAX], nk = 0;
    double loose = 0;
    size_t n_loose = 0;
    for (size_t k = 0; k < prom_set_count(s); k++) {
        const prom_sample_t *m = prom_set_sample(s, k);
        if (strcmp(m->name, metric) || isnan(m->value))
            continue;
        const char *v = key ? prom_sample_label(m, key) : NULL;
        if (!v) {
            loose += m->value;
            n_loose++;
            continue;
        }
        size_t j = 0;
        while (j < nk && strcmp(keys[j], v))
            j++;
        if (j == nk) {
            if (nk == KEYS_MAX) {
                loose += m->value;
                n_loose++;
                continue;
            }
            keys[nk] = v;
            acc[nk] = 0;
            cnt[nk] = 0;
            nk++;
        }
        acc[j] += m->value;
        cnt[j]++;
    }
    if (nk + n_loose == 0) {
        errno = ENOENT;
        return -1;
    }
    double total = loose;
    for (size_t j = 0; j < nk; j++)
        total += acc[j] / (double)cnt[j];
    *sum = total;
    *mean = total / (double)(nk + n_loose);
    *n = nk + n_loose;
    return 0;
}

void prom_load_read(const prom_set_t *s, const char *gauge, prom_load_t *out)
{
    out->cpu_total = out->cpu_idle = NAN;
    out->gpu_util = out->gpu_power_w = out->gauge = NAN;
    double a, b;
    size_t n;
    if (prom_cpu_seconds(s, &a, &b) == 0) {
        out->cpu_total = a;
        out->cpu_idle = b;
    }
    /* A GPU is one UUID; MIG instances repeat its device-level gauges (dcgm-exporter issue
     * #317 shows DCGM_FI_DEV_POWER_USAGE once per GPU_I_ID with the same UUID). */
    if (prom_gauge(s, "DCGM_FI_DEV_GPU_UTIL", "UUID", &a, &b, &n) == 0)
        out->gpu_util = b;
    if (prom_gauge(s, "DCGM_FI_DEV_POWER_USAGE", "UUID", &a, &b, &n) == 0)
        out->gpu_power_w = a;
    if (gauge && *gauge && prom_gauge(s, gauge, NULL, &a, &b, &n) == 0)
        out->gauge = a;
}
