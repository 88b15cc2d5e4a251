/*
 * bench_analysis: the channel layer's cost against the cost of merely reading the data.
 *
 * Makes N channels of D days at 1-minute resolution as RRD files (librrd, rrd_create_r and
 * batched rrd_update_r), then, in one run, times for every channel (a) a fetch with rrd_fetch_r
 * and (b) a fetch followed by an_channel_analyze, interleaved channel by channel after one
 * warming pass.  Prints both totals, their ratio and the peak RSS (VmHWM).
 * bench/analysis/README.md has the figures.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <rrd.h>

#include "analysis/analysis.h"

#define STEP 60
#define BATCH 4096
#define TZ "Asia/Shanghai"

typedef struct args {
    int channels, days, keep, gen_only, reuse;
    char dir[256];
} args_t;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static long vm_hwm_kb(void)
{
    char line[256];
    long kb = -1;
    FILE *fp = fopen("/proc/self/status", "r");
    if (!fp)
        return -1;
    while (fgets(line, sizeof line, fp))
        if (sscanf(line, "VmHWM: %ld kB", &kb) == 1)
            break;
    fclose(fp);
    return kb;
}

/* A cheap deterministic hash noise: the bench must not spend its time in the generator. */
static double noise(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return ((double)(x >> 11) / 9007199254740992.0 - 0.5) * 3.46; /* sd ~1 */
}

/* Four kinds of channel, so that the analysis meets offices, flat loads and steps. */
static double power(int c, int64_t t, int64_t t0, int days)
{
    int64_t local = t + 8 * 3600;
    double hour = (double)(local % 86400) / 3600.0;
    int wday = (int)(((local / 86400) % 7 + 7 + 4) % 7);
    int work = wday != 0 && wday != 6 && hour >= 8.5 && hour < 18.0;
    double base;
    switch (c % 4) {
    case 0: base = 2000.0 + (work ? 10000.0 : 0.0); break;               /* office */
    case 1: base = 3000.0; break;                                        /* server room */
    case 2: base = 1500.0 + (work ? 6000.0 : 0.0) +                      /* office + rig */
                   (t >= t0 + (int64_t)(days * 0.6) * 86400 + 3600 * (c % 24) ? 1200.0 : 0.0);
        break;
    default: base = 5.0 + (t >= t0 + (int64_t)(days / 3) * 86400 ? 3250.0 : 0.0); /* outlet */
    }
    return base * (1.0 + 0.01 * noise((uint64_t)c << 40 ^ (uint64_t)t));
}

static int make_channel(const args_t *a, int c, int64_t t0, char **argv, char *buf)
{
    char path[512], ds[64], rra[64];
    const char *cargv[2] = {ds, rra};
    size_t rows = (size_t)a->days * 1440;
    snprintf(path, sizeof path, "%s/ch%04d.rrd", a->dir, c);
    snprintf(ds, sizeof ds, "DS:w:GAUGE:%d:0:U", 2 * STEP);
    snprintf(rra, sizeof rra, "RRA:AVERAGE:0.5:1:%zu", rows + 10);
    rrd_clear_error();
    if (rrd_create_r(path, STEP, (time_t)(t0 - STEP), 2, cargv) != 0) {
        fprintf(stderr, "create %s: %s\n", path, rrd_get_error());
        return -1;
    }
    for (size_t i = 0; i < rows;) {
        int n = 0;
        for (; n < BATCH && i < rows; n++, i++) {
            int64_t t = t0 + (int64_t)i * STEP;
            argv[n] = buf + (size_t)n * 32;
            snprintf(argv[n], 32, "%" PRId64 ":%.1f", t, power(c, t, t0, a->days));
        }
        if (rrd_update_r(path, NULL, n, (const char **)argv) != 0) {
            fprintf(stderr, "update %s: %s\n", path, rrd_get_error());
            return -1;
        }
    }
    return 0;
}

/* Fetches one channel; with analyze, runs the channel layer on it.  Returns findings or -1. */
static long run_channel(const args_t *a, int c, int64_t t0, int analyze, size_t *values)
{
    char path[512], err[256];
    time_t start = (time_t)t0, end = (time_t)(t0 + (int64_t)a->days * 86400 - STEP);
    unsigned long step = STEP, ds_cnt = 0;
    char **names = NULL;
    rrd_value_t *data = NULL;
    long found = 0;

    snprintf(path, sizeof path, "%s/ch%04d.rrd", a->dir, c);
    rrd_clear_error();
    if (rrd_fetch_r(path, "AVERAGE", &start, &end, &step, &ds_cnt, &names, &data) != 0) {
        fprintf(stderr, "fetch %s: %s\n", path, rrd_get_error());
        return -1;
    }
    size_t n = (size_t)((end - start) / (time_t)step);
    *values += n;
    if (analyze) {
        an_opts_t o;
        an_channel_t ch;
        memset(&o, 0, sizeof o);
        o.tz = TZ;
        /* rrd_fetch_r's first row ends at start + step, the channel layer's convention. */
        if (an_channel_analyze(data, n, (int64_t)start, (int)step, &o, &ch, err, sizeof err) != 0) {
            fprintf(stderr, "analyze %s: %s\n", path, err);
            found = -1;
        } else {
            found = (long)ch.n_findings;
            an_channel_free(&ch);
        }
    }
    for (unsigned long i = 0; i < ds_cnt; i++)
        rrd_freemem(names[i]);
    rrd_freemem(names);
    rrd_freemem(data);
    return found;
}

/* Times every channel both ways, interleaved so that whatever else the machine does at the
 * moment weighs on both alike: even channels are fetched first and then fetched and analysed,
 * odd ones the other way round (so that neither side always finds the file in a warmer cache).
 * A whole pass of fetches runs first to bring the files into the page cache. */
static int timed(const args_t *a, int64_t t0, double *t_fetch, double *t_both, long *findings,
                 size_t *values)
{
    size_t v = 0;
    *t_fetch = *t_both = 0.0;
    *findings = 0;
    for (int c = 0; c < a->channels; c++)
        if (run_channel(a, c, t0, 0, &v) < 0)
            return -1;
    *values = 0;
    for (int c = 0; c < a->channels; c++) {
        for (int k = 0; k < 2; k++) {
            int analyze = (c + k) % 2;
            double t = now_s();
            long f = run_channel(a, c, t0, analyze, analyze ? values : &v);
            t = now_s() - t;
            if (f < 0)
                return -1;
            if (analyze) {
                *t_both += t;
                *findings += f;
            } else {
                *t_fetch += t;
            }
        }
    }
    return 0;
}

static void usage(void)
{
    fprintf(stderr, "usage: wa_bench_analysis [-n channels] [-d days] [-D dir] [-k] [-g] [-r]\n"
                    "  -n 1000   channels\n  -d 365    days at 1-minute resolution\n"
                    "  -D DIR    work folder (default a new /tmp/wa-bench-analysis.XXXXXX)\n"
                    "  -k        keep the folder\n  -g        generate only\n"
                    "  -r        reuse the files already in DIR\n");
}

int main(int argc, char **argv)
{
    args_t a = {1000, 365, 0, 0, 0, ""};
    int opt;
    while ((opt = getopt(argc, argv, "n:d:D:kgrh")) != -1) {
        switch (opt) {
        case 'n': a.channels = atoi(optarg); break;
        case 'd': a.days = atoi(optarg); break;
        case 'D': snprintf(a.dir, sizeof a.dir, "%s", optarg); break;
        case 'k': a.keep = 1; break;
        case 'g': a.gen_only = a.keep = 1; break;
        case 'r': a.reuse = a.keep = 1; break;
        default: usage(); return opt == 'h' ? 0 : 2;
        }
    }
    if (a.channels < 1 || a.days < 3) {
        usage();
        return 2;
    }
    if (!a.dir[0]) {
        snprintf(a.dir, sizeof a.dir, "/tmp/wa-bench-analysis.XXXXXX");
        if (!mkdtemp(a.dir)) {
            perror("mkdtemp");
            return 1;
        }
    } else if (mkdir(a.dir, 0755) != 0 && errno != EEXIST) {
        perror(a.dir);
        return 1;
    }
    /* A fixed UTC midnight (2025-01-01), so that reused files line up. */
    int64_t t0 = 1735689600;

    printf("channels %d x %d days x 1 min (%zu values each) in %s\n", a.channels, a.days,
           (size_t)a.days * 1440, a.dir);
    if (!a.reuse) {
        char **av = malloc(BATCH * sizeof *av), *buf = malloc((size_t)BATCH * 32);
        double t = now_s();
        for (int c = 0; c < a.channels; c++)
            if (make_channel(&a, c, t0, av, buf) != 0)
                return 1;
        free(av);
        free(buf);
        printf("generate: %.1f s (%.0f values/s)\n", now_s() - t,
               (double)a.channels * a.days * 1440 / (now_s() - t));
    }
    if (a.gen_only)
        return 0;

    long found;
    size_t values;
    double t_fetch, t_both;
    if (timed(&a, t0, &t_fetch, &t_both, &found, &values) != 0)
        return 1;
    printf("fetch only:        %.2f s (%zu values)\n", t_fetch, values);
    printf("fetch + analysis:  %.2f s (%ld findings)\n", t_both, found);
    printf("analysis alone:    %.2f s, %.2f ms per channel\n", t_both - t_fetch,
           1e3 * (t_both - t_fetch) / a.channels);
    printf("ratio (fetch + analysis) / fetch: %.2f\n", t_both / t_fetch);
    printf("peak RSS (VmHWM): %ld kB\n", vm_hwm_kb());

    if (!a.keep) {
        char path[512];
        for (int c = 0; c < a.channels; c++) {
            snprintf(path, sizeof path, "%s/ch%04d.rrd", a.dir, c);
            unlink(path);
        }
        rmdir(a.dir);
    }
    return 0;
}
