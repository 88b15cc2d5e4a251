/*
 * storage against real RRD files, rrdtool's own command line and a real rrdcached started as a
 * child process on a unix socket in the test's folder.
 */
/* nftw() is XSI */
#define _XOPEN_SOURCE 700

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common/common.h"
#include "storage/storage.h"
#include "daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <rrd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* 2023-11-14T22:00:00Z: a whole hour, so every archive step divides it. */
#define T0 INT64_C(1700000000 - 800)

/* Small archives keep files a few hundred kB and the tests fast. */
static const storage_layout_t small = {.step_s = 10,
                                       .full_days = 1,
                                       .mid_step_s = 60,
                                       .mid_days = 2,
                                       .long_step_s = 600,
                                       .long_days = 3};

struct fx {
    char dir[64];   /* the test's folder, from mkdtemp */
    char data[96];  /* storage's data folder inside it */
    char sock[96];  /* rrdcached socket; sun_path holds 108 bytes */
    char addr[128]; /* "unix:" + sock */
    pid_t daemon;
};

static int setup(void **state)
{
    struct fx *fx = calloc(1, sizeof *fx);
    if (!fx)
        return -1;
    snprintf(fx->dir, sizeof fx->dir, "/tmp/wa-storage-XXXXXX");
    if (!mkdtemp(fx->dir))
        return -1;
    snprintf(fx->data, sizeof fx->data, "%s/data", fx->dir);
    snprintf(fx->sock, sizeof fx->sock, "%s/rrdcached.sock", fx->dir);
    snprintf(fx->addr, sizeof fx->addr, "unix:%s", fx->sock);
    fx->daemon = -1;
    *state = fx;
    return 0;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

static void daemon_stop(struct fx *fx);

static int teardown(void **state)
{
    struct fx *fx = *state;
    daemon_stop(fx);
    nftw(fx->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(fx);
    return 0;
}

/* ---- helpers ---- */

static storage_sample_t sample_at(int i)
{
    /* Binary fractions: librrd's rate arithmetic gives them back bit for bit. */
    storage_sample_t s = {{
        [STORAGE_DS_POWER] = 100.0 + 0.25 * i,
        [STORAGE_DS_ENERGY] = 5000.0 + 12.5 * i,
        [STORAGE_DS_ENERGY_RAW] = 5000.0 + 12.5 * i,
        [STORAGE_DS_VOLTAGE] = 230.5,
        [STORAGE_DS_CURRENT] = 0.5 + 0.125 * (i % 4),
        [STORAGE_DS_PF] = 0.875,
        [STORAGE_DS_FREQUENCY] = NAN,
    }};
    return s;
}

/* Runs a shell command line and returns its standard output (caller frees). */
static char *run(const char *fmt, ...)
{
    char cmd[2 * PATH_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t cap = 65536, len = 0;
    char *out = malloc(cap);
    assert_non_null(out);
    size_t n;
    while ((n = fread(out + len, 1, cap - len - 1, p)) > 0) {
        len += n;
        if (len + 1 == cap) {
            cap *= 2;
            out = realloc(out, cap);
            assert_non_null(out);
        }
    }
    out[len] = '\0';
    assert_int_equal(pclose(p), 0);
    return out;
}

/* The value of "key = value" in `rrdtool info` output, quotes removed; "" if absent. */
static const char *info_get(const char *info, const char *key, char *buf, size_t len)
{
    size_t kl = strlen(key);
    buf[0] = '\0';
    for (const char *line = info; line && *line; line = strchr(line, '\n')) {
        if (*line == '\n')
            line++;
        if (strncmp(line, key, kl) == 0 && strncmp(line + kl, " = ", 3) == 0) {
            const char *v = line + kl + 3;
            size_t vl = strcspn(v, "\n");
            if (vl >= 2 && v[0] == '"') {
                v++;
                vl -= 2;
            }
            snprintf(buf, len, "%.*s", (int)vl, v);
            break;
        }
    }
    return buf;
}

/* Column col of the row at time t in `rrdtool fetch` output; NAN for "nan". */
static double fetch_cell(const char *out, int64_t t, int col)
{
    char key[32];
    snprintf(key, sizeof key, "\n%lld:", (long long)t);
    const char *row = strstr(out, key);
    assert_non_null(row);
    const char *p = row + strlen(key);
    double v = NAN;
    for (int c = 0; c <= col; c++) {
        char *end;
        v = strtod(p, &end);
        assert_true(end != p);
        p = end;
    }
    return v;
}

static int64_t file_last(const char *path)
{
    rrd_clear_error();
    time_t t = rrd_last_r(path);
    rrd_clear_error();
    return (int64_t)t;
}

/* ---- rrdcached as a child process ---- */

static void daemon_start(struct fx *fx)
{
    char pidfile[PATH_MAX], logfile[PATH_MAX], why[512];
    snprintf(pidfile, sizeof pidfile, "%s/rrdcached.pid", fx->dir);
    snprintf(logfile, sizeof logfile, "%s/rrdcached.log", fx->dir);
    fx->daemon = test_daemon_start(fx->sock, fx->data, pidfile, logfile, why, sizeof why);
    if (fx->daemon < 0)
        fail_msg("%s", why);
}

static void daemon_stop(struct fx *fx)
{
    test_daemon_stop(fx->daemon);
    fx->daemon = -1;
}

/* ---- cases ---- */

static void test_ds_names(void **state)
{
    (void)state;
    static const struct {
        storage_ds_t ds;
        const char *name;
    } cases[] = {
        {STORAGE_DS_POWER, "power"},           {STORAGE_DS_ENERGY, "energy"},
        {STORAGE_DS_ENERGY_RAW, "energy_raw"}, {STORAGE_DS_VOLTAGE, "voltage"},
        {STORAGE_DS_CURRENT, "current"},       {STORAGE_DS_PF, "pf"},
        {STORAGE_DS_FREQUENCY, "frequency"},   {STORAGE_DS_COUNT_, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *got = storage_ds_name(cases[i].ds);
        if (cases[i].name)
            assert_string_equal(got, cases[i].name);
        else
            assert_null(got);
    }
}

static void test_names(void **state)
{
    struct fx *fx = *state;
    static const struct {
        const char *rel;
        int ok;
    } cases[] = {
        {"site/dev/chan", 1},
        {"s-1/d_2/L1.total", 1},
        {"one", 1},
        {"", 0},
        {"/etc/passwd", 0},
        {"a/../b", 0},
        {"..", 0},
        {"a/..", 0},
        {"a//b", 0},
        {"a/b/", 0},
        {"./a/b", 0},
        {"a b/c", 0},
        {"a/b\n", 0},
    };
    char err[512], path[PATH_MAX];
    storage_t *st = storage_open(fx->data, NULL, err, sizeof err);
    assert_non_null(st);
    storage_sample_t s = sample_at(0);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *rel = cases[i].rel;
        err[0] = '\0';
        int rc = storage_ensure(st, rel, &small, T0, err, sizeof err);
        if (cases[i].ok) {
            assert_int_equal(rc, 0);
            assert_int_equal(storage_path(st, rel, path, sizeof path), 0);
            assert_true(strncmp(path, fx->data, strlen(fx->data)) == 0);
            assert_string_equal(path + strlen(path) - 4, ".rrd");
            assert_int_equal(access(path, F_OK), 0);
            assert_int_equal(storage_put(st, rel, T0 + 10, &s), 0);
        } else {
            assert_int_equal(rc, -1);
            assert_int_equal(errno, EINVAL);
            assert_true(strlen(err) > 0);
            assert_int_equal(storage_path(st, rel, path, sizeof path), -1);
            assert_int_equal(errno, EINVAL);
            assert_int_equal(storage_put(st, rel, T0 + 10, &s), -1);
            assert_int_equal(errno, EINVAL);
        }
    }
    assert_int_equal(storage_flush(st, err, sizeof err), 0);
    storage_stats_t stats;
    storage_get_stats(st, &stats);
    assert_int_equal(stats.written, 3);
    storage_close(st);
}

struct rra_want {
    const char *cf;
    int pdp, rows;
};

static void check_info(const char *path, int step, const struct rra_want *want, size_t n)
{
    char *info = run("%s info %s", RRDTOOL_BIN, path);
    char key[64], buf[64];
    assert_int_equal(atoi(info_get(info, "step", buf, sizeof buf)), step);
    for (int d = 0; d < STORAGE_DS_COUNT_; d++) {
        const char *ds = storage_ds_name((storage_ds_t)d);
        snprintf(key, sizeof key, "ds[%s].index", ds);
        assert_int_equal(atoi(info_get(info, key, buf, sizeof buf)), d);
        snprintf(key, sizeof key, "ds[%s].type", ds);
        assert_string_equal(info_get(info, key, buf, sizeof buf), "GAUGE");
        snprintf(key, sizeof key, "ds[%s].minimal_heartbeat", ds);
        assert_int_equal(atoi(info_get(info, key, buf, sizeof buf)), 3 * step);
        snprintf(key, sizeof key, "ds[%s].min", ds);
        assert_string_equal(info_get(info, key, buf, sizeof buf), "NaN");
        snprintf(key, sizeof key, "ds[%s].max", ds);
        assert_string_equal(info_get(info, key, buf, sizeof buf), "NaN");
    }
    for (size_t r = 0; r < n; r++) {
        snprintf(key, sizeof key, "rra[%zu].cf", r);
        assert_string_equal(info_get(info, key, buf, sizeof buf), want[r].cf);
        snprintf(key, sizeof key, "rra[%zu].pdp_per_row", r);
        assert_int_equal(atoi(info_get(info, key, buf, sizeof buf)), want[r].pdp);
        snprintf(key, sizeof key, "rra[%zu].rows", r);
        assert_int_equal(atoi(info_get(info, key, buf, sizeof buf)), want[r].rows);
        snprintf(key, sizeof key, "rra[%zu].xff", r);
        assert_float_equal(atof(info_get(info, key, buf, sizeof buf)), 0.5, 1e-12);
    }
    snprintf(key, sizeof key, "rra[%zu].cf", n);
    assert_string_equal(info_get(info, key, buf, sizeof buf), "");
    free(info);
}

static void test_layout(void **state)
{
    struct fx *fx = *state;
    static const struct rra_want full[] = {
        {"AVERAGE", 1, 8640},                                     /* 1 day at 10 s */
        {"AVERAGE", 6, 2880}, {"MIN", 6, 2880}, {"MAX", 6, 2880}, /* 2 days at 60 s */
        {"AVERAGE", 60, 432}, {"MIN", 60, 432}, {"MAX", 60, 432}, {"LAST", 60, 432},
    };
    /* mid step equal to the poll interval and long step below it: both tiers skipped */
    static const storage_layout_t flat = {10, 1, 10, 2, 5, 3, 0};
    static const struct rra_want flat_want[] = {{"AVERAGE", 1, 8640}};
    /* mid step not larger than the step: skipped; long kept */
    static const storage_layout_t no_mid = {10, 1, 10, 2, 600, 3, 0};
    static const struct rra_want no_mid_want[] = {
        {"AVERAGE", 1, 8640}, {"AVERAGE", 60, 432}, {"MIN", 60, 432},
        {"MAX", 60, 432},     {"LAST", 60, 432},
    };
    /* a mid step that is no multiple of the poll interval rounds down: 25 s / 10 s = 2 */
    static const storage_layout_t odd = {10, 1, 25, 1, 0, 0, 0};
    static const struct rra_want odd_want[] = {
        {"AVERAGE", 1, 8640}, {"AVERAGE", 2, 4320}, {"MIN", 2, 4320}, {"MAX", 2, 4320}};
    static const struct {
        const char *rel;
        const storage_layout_t *lay;
        const struct rra_want *want;
        size_t n;
    } cases[] = {
        {"s/d/full", &small, full, sizeof full / sizeof full[0]},
        {"s/d/flat", &flat, flat_want, 1},
        {"s/d/no_mid", &no_mid, no_mid_want, sizeof no_mid_want / sizeof no_mid_want[0]},
        {"s/d/odd", &odd, odd_want, sizeof odd_want / sizeof odd_want[0]},
    };
    char err[512], path[PATH_MAX];
    storage_t *st = storage_open(fx->data, NULL, err, sizeof err);
    assert_non_null(st);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(storage_ensure(st, cases[i].rel, cases[i].lay, T0, err, sizeof err), 0);
        assert_int_equal(storage_path(st, cases[i].rel, path, sizeof path), 0);
        check_info(path, cases[i].lay->step_s, cases[i].want, cases[i].n);
        assert_int_equal(file_last(path), T0);
    }
    static const storage_layout_t bad = {0, 1, 60, 1, 600, 1, 0};
    assert_int_equal(storage_ensure(st, "s/d/bad", &bad, T0, err, sizeof err), -1);
    assert_int_equal(errno, EINVAL);
    assert_non_null(strstr(err, "s/d/bad.rrd"));
    storage_close(st);
}

static void test_ensure_keeps_existing(void **state)
{
    struct fx *fx = *state;
    char err[512], path[PATH_MAX], foreign[PATH_MAX];
    storage_t *st = storage_open(fx->data, NULL, err, sizeof err);
    assert_non_null(st);
    assert_int_equal(storage_ensure(st, "s/d/c", &small, T0, err, sizeof err), 0);
    storage_sample_t s = sample_at(1);
    assert_int_equal(storage_put(st, "s/d/c", T0 + 10, &s), 0);
    assert_int_equal(storage_flush(st, err, sizeof err), 0);
    assert_int_equal(storage_path(st, "s/d/c", path, sizeof path), 0);
    struct stat before, after;
    assert_int_equal(stat(path, &before), 0);
    static const storage_layout_t other = {60, 2, 0, 0, 0, 0, 0};
    assert_int_equal(storage_ensure(st, "s/d/c", &other, T0 - 1000, err, sizeof err), 0);
    assert_int_equal(stat(path, &after), 0);
    assert_int_equal(before.st_ino, after.st_ino);
    assert_int_equal(before.st_size, after.st_size);
    assert_int_equal(file_last(path), T0 + 10);

    /* a file of another layout, made by rrdtool, is left alone too */
    assert_int_equal(storage_path(st, "s/d/foreign", foreign, sizeof foreign), 0);
    free(run("mkdir -p %s/s/d && %s create %s --start %lld --step 10 DS:value:GAUGE:30:U:U "
             "RRA:AVERAGE:0.5:1:100",
             fx->data, RRDTOOL_BIN, foreign, (long long)T0));
    assert_int_equal(storage_ensure(st, "s/d/foreign", &small, T0, err, sizeof err), 0);
    char *info = run("%s info %s", RRDTOOL_BIN, foreign);
    char buf[64];
    assert_string_equal(info_get(info, "ds[value].type", buf, sizeof buf), "GAUGE");
    assert_string_equal(info_get(info, "ds[power].type", buf, sizeof buf), "");
    free(info);
    storage_close(st);
}

/* Checks every data source of a file against sample_at(first..first+n-1) at T0 + 10 * (i+1),
 * through storage_fetch and through `rrdtool fetch`. */
static void check_series(const char *path, const char *rrdcached, int n)
{
    char err[512];
    storage_series_t ser[STORAGE_DS_COUNT_];
    for (int d = 0; d < STORAGE_DS_COUNT_; d++) {
        assert_int_equal(storage_fetch(path, storage_ds_name((storage_ds_t)d), "AVERAGE", T0,
                                       T0 + 10 * n, 10, rrdcached, &ser[d], err, sizeof err),
                         0);
        assert_int_equal(ser[d].step, 10);
        assert_true(ser[d].start <= T0);
    }
    /* after storage_fetch, so that a daemon has written the file out */
    char *out = run("%s fetch %s AVERAGE -r 10 -s %lld -e %lld", RRDTOOL_BIN, path, (long long)T0,
                    (long long)(T0 + 10 * n));
    for (int d = 0; d < STORAGE_DS_COUNT_; d++) {
        for (int i = 0; i < n; i++) {
            int64_t t = T0 + 10 * (i + 1);
            size_t k = (size_t)((t - ser[d].start) / 10 - 1);
            assert_true(k < ser[d].n);
            double want = sample_at(i).v[d];
            double cli = fetch_cell(out, t, d);
            if (isnan(want)) {
                assert_true(isnan(ser[d].v[k]));
                assert_true(isnan(cli));
            } else {
                assert_true(ser[d].v[k] == want); /* exact: binary fractions */
                assert_float_equal(cli, want, fabs(want) * 1e-9);
            }
        }
        free(ser[d].v);
    }
    free(out);
}

static void test_direct_roundtrip(void **state)
{
    struct fx *fx = *state;
    enum { N = 30 };
    char err[512], path[PATH_MAX];
    storage_t *st = storage_open(fx->data, "", err, sizeof err);
    assert_non_null(st);
    assert_int_equal(storage_ensure(st, "lab/pdu1/outlet3", &small, T0, err, sizeof err), 0);
    for (int i = 0; i < N; i++) {
        storage_sample_t s = sample_at(i);
        assert_int_equal(storage_put(st, "lab/pdu1/outlet3", T0 + 10 * (i + 1), &s), 0);
    }
    storage_stats_t stats;
    storage_get_stats(st, &stats);
    assert_int_equal(stats.queued, N);
    assert_int_equal(stats.written, 0);
    assert_int_equal(storage_flush(st, err, sizeof err), 0);
    storage_get_stats(st, &stats);
    assert_int_equal(stats.written, N);
    assert_int_equal(stats.batches, 1); /* one rrd_update_r for the file */
    assert_int_equal(stats.dropped_old, 0);
    assert_int_equal(stats.failed, 0);
    assert_int_equal(storage_path(st, "lab/pdu1/outlet3", path, sizeof path), 0);
    check_series(path, NULL, N);

    /* the finest step by default, and the 60 s MAX archive */
    storage_series_t ser;
    assert_int_equal(
        storage_fetch(path, NULL, "AVERAGE", T0, T0 + 10 * N, 0, NULL, &ser, err, sizeof err), 0);
    assert_int_equal(ser.step, 10);
    free(ser.v);
    assert_int_equal(
        storage_fetch(path, NULL, "MAX", T0, T0 + 120, 60, NULL, &ser, err, sizeof err), 0);
    assert_int_equal(ser.step, 60);
    size_t k = (size_t)((T0 + 60 - ser.start) / 60 - 1);
    assert_true(k + 1 < ser.n);
    assert_true(ser.v[k] == sample_at(5).v[STORAGE_DS_POWER]);      /* max of i = 0..5 */
    assert_true(ser.v[k + 1] == sample_at(11).v[STORAGE_DS_POWER]); /* max of i = 6..11 */
    free(ser.v);

    int64_t t;
    storage_sample_t last;
    assert_int_equal(storage_last(path, &t, &last, err, sizeof err), 0);
    assert_int_equal(t, T0 + 10 * N);
    for (int d = 0; d < STORAGE_DS_COUNT_; d++) {
        double want = sample_at(N - 1).v[d];
        if (isnan(want))
            assert_true(isnan(last.v[d]));
        else
            assert_true(last.v[d] == want);
    }
    storage_close(st);
}

static void test_old_and_duplicate(void **state)
{
    struct fx *fx = *state;
    char err[512], path[PATH_MAX];
    storage_t *st = storage_open(fx->data, NULL, err, sizeof err);
    assert_non_null(st);
    assert_int_equal(storage_ensure(st, "s/d/c", &small, T0, err, sizeof err), 0);
    for (int i = 0; i < 5; i++) {
        storage_sample_t s = sample_at(i);
        assert_int_equal(storage_put(st, "s/d/c", T0 + 10 * (i + 1), &s), 0);
    }
    assert_int_equal(storage_flush(st, err, sizeof err), 0);
    /* after T0+50 in the file: a past time, the last time again, two at one new time and one
     * out of order that is still new */
    static const struct {
        int64_t dt;
        double power;
        int kept;
    } cases[] = {
        {30, -1, 0}, {50, -2, 0}, {70, 7000, 1}, {70, -3, 0}, {60, 6000, 1}, {0, -4, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        storage_sample_t s = sample_at(0);
        s.v[STORAGE_DS_POWER] = cases[i].power;
        assert_int_equal(storage_put(st, "s/d/c", T0 + cases[i].dt, &s), 0);
    }
    assert_int_equal(storage_flush(st, err, sizeof err), 0);
    storage_stats_t stats;
    storage_get_stats(st, &stats);
    assert_int_equal(stats.queued, 11);
    assert_int_equal(stats.written, 7);
    assert_int_equal(stats.dropped_old, 4);
    assert_int_equal(stats.failed, 0);
    assert_int_equal(storage_path(st, "s/d/c", path, sizeof path), 0);
    storage_series_t ser;
    assert_int_equal(
        storage_fetch(path, "power", "AVERAGE", T0, T0 + 70, 10, NULL, &ser, err, sizeof err), 0);
    for (int i = 0; i < 7; i++) {
        int64_t t = T0 + 10 * (i + 1);
        size_t k = (size_t)((t - ser.start) / 10 - 1);
        double want = i < 5 ? sample_at(i).v[STORAGE_DS_POWER] : (i == 5 ? 6000 : 7000);
        assert_true(ser.v[k] == want);
    }
    free(ser.v);

    /* a new storage_t learns the last update from the file */
    storage_close(st);
    st = storage_open(fx->data, NULL, err, sizeof err);
    assert_non_null(st);
    storage_sample_t s = sample_at(0);
    assert_int_equal(storage_put(st, "s/d/c", T0 + 70, &s), 0);
    assert_int_equal(storage_put(st, "s/d/c", T0 + 80, &s), 0);
    assert_int_equal(storage_flush(st, err, sizeof err), 0);
    storage_get_stats(st, &stats);
    assert_int_equal(stats.dropped_old, 1);
    assert_int_equal(stats.written, 1);
    assert_int_equal(file_last(path), T0 + 80);
    storage_close(st);
}

static void make_foreign(const struct fx *fx, const char *name, const char *ds_defs,
                         const char *updates, char *path, size_t len)
{
    snprintf(path, len, "%s/%s.rrd", fx->dir, name);
    free(run("%s create %s --start %lld --step 10 %s RRA:AVERAGE:0.5:1:100 && %s update %s %s",
             RRDTOOL_BIN, path, (long long)T0, ds_defs, RRDTOOL_BIN, path, updates));
}

static void test_fallback_ds(void **state)
{
    struct fx *fx = *state;
    char err[512], path[PATH_MAX];
    static const struct {
        const char *name, *defs, *ds;
        int two, ok;
    } cases[] = {
        {"value", "DS:value:GAUGE:30:U:U", NULL, 0, 1},
        {"temp", "DS:temp:GAUGE:30:U:U", NULL, 0, 1},
        {"temp_named", "DS:temp:GAUGE:30:U:U", "temp", 0, 1},
        {"two", "DS:a:GAUGE:30:U:U DS:value:GAUGE:30:U:U", NULL, 1, 1},
        {"ab", "DS:a:GAUGE:30:U:U DS:b:GAUGE:30:U:U", NULL, 1, 0},
        {"ab_named", "DS:a:GAUGE:30:U:U DS:b:GAUGE:30:U:U", "power", 1, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char u[160];
        /* the wanted series is 5, 6.5; a first column, where there is one, is 1, 2 */
        snprintf(u, sizeof u, cases[i].two ? "%lld:1:5 %lld:2:6.5" : "%lld:5 %lld:6.5",
                 (long long)(T0 + 10), (long long)(T0 + 20));
        make_foreign(fx, cases[i].name, cases[i].defs, u, path, sizeof path);
        storage_series_t ser;
        err[0] = '\0';
        int rc = storage_fetch(path, cases[i].ds, "AVERAGE", T0, T0 + 20, 10, NULL, &ser, err,
                               sizeof err);
        if (!cases[i].ok) {
            assert_int_equal(rc, -1);
            assert_non_null(strstr(err, path));
            assert_non_null(strstr(err, "a, b"));
            continue;
        }
        assert_int_equal(rc, 0);
        size_t k = (size_t)((T0 + 10 - ser.start) / 10 - 1);
        assert_true(k + 1 < ser.n);
        assert_true(ser.v[k] == 5.0);
        assert_true(ser.v[k + 1] == 6.5);
        free(ser.v);
    }
}

static void test_errors_name_file(void **state)
{
    struct fx *fx = *state;
    char err[512], path[PATH_MAX], missing[PATH_MAX];
    storage_series_t ser;
    int64_t t;
    snprintf(missing, sizeof missing, "%s/nothing/here.rrd", fx->dir);
    assert_int_equal(
        storage_fetch(missing, NULL, "AVERAGE", T0, T0 + 60, 10, NULL, &ser, err, sizeof err), -1);
    assert_non_null(strstr(err, missing));
    assert_int_equal(storage_last(missing, &t, NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, missing));

    storage_t *st = storage_open(fx->data, NULL, err, sizeof err);
    assert_non_null(st);
    assert_int_equal(storage_ensure(st, "s/d/ok", &small, T0, err, sizeof err), 0);
    assert_int_equal(storage_path(st, "s/d/ok", path, sizeof path), 0);
    assert_int_equal(
        storage_fetch(path, "nosuch", "AVERAGE", T0, T0 + 60, 10, NULL, &ser, err, sizeof err), -1);
    assert_non_null(strstr(err, path));
    assert_non_null(strstr(err, "power, energy, energy_raw"));

    /* a sample for a file never made fails alone; the other file is written */
    storage_sample_t s = sample_at(0);
    assert_int_equal(storage_put(st, "s/d/never", T0 + 10, &s), 0);
    assert_int_equal(storage_put(st, "s/d/ok", T0 + 10, &s), 0);
    assert_int_equal(storage_flush(st, err, sizeof err), -1);
    assert_int_equal(errno, WA_ERRD);
    assert_int_equal(storage_path(st, "s/d/never", path, sizeof path), 0);
    assert_non_null(strstr(err, path));
    storage_stats_t stats;
    storage_get_stats(st, &stats);
    assert_int_equal(stats.failed, 1);
    assert_int_equal(stats.written, 1);
    /* the failure is not kept for retry: the next flush has nothing to do */
    assert_int_equal(storage_flush(st, err, sizeof err), 0);

    assert_null(storage_open("/proc/no/such/place", NULL, err, sizeof err));
    assert_non_null(strstr(err, "/proc/no"));
    assert_null(storage_open(fx->data, "localhost:port", err, sizeof err));
    assert_int_equal(errno, EINVAL);
    storage_close(st);
}

struct producer {
    storage_t *st;
    char rel[32];
    int n;
};

static void *produce(void *arg)
{
    struct producer *p = arg;
    for (int i = 0; i < p->n; i++) {
        storage_sample_t s = sample_at(i);
        if (storage_put(p->st, p->rel, T0 + 10 * (i + 1), &s) < 0)
            return (void *)1;
    }
    return NULL;
}

static void test_threads(void **state)
{
    struct fx *fx = *state;
    enum { THREADS = 4, N = 400 };
    char err[512], path[PATH_MAX];
    storage_t *st = storage_open(fx->data, NULL, err, sizeof err);
    assert_non_null(st);
    struct producer p[THREADS];
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++) {
        p[i] = (struct producer){.st = st, .n = N};
        snprintf(p[i].rel, sizeof p[i].rel, "s/d/t%d", i);
        assert_int_equal(storage_ensure(st, p[i].rel, &small, T0, err, sizeof err), 0);
    }
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, produce, &p[i]), 0);
    for (int k = 0; k < 20; k++)
        assert_int_equal(storage_flush(st, err, sizeof err), 0);
    for (int i = 0; i < THREADS; i++) {
        void *ret;
        pthread_join(th[i], &ret);
        assert_null(ret);
    }
    assert_int_equal(storage_flush(st, err, sizeof err), 0);
    storage_stats_t stats;
    storage_get_stats(st, &stats);
    assert_int_equal(stats.queued, THREADS * N);
    assert_int_equal(stats.written, THREADS * N);
    assert_int_equal(stats.dropped_old + stats.failed, 0);
    for (int i = 0; i < THREADS; i++) {
        assert_int_equal(storage_path(st, p[i].rel, path, sizeof path), 0);
        assert_int_equal(file_last(path), T0 + 10 * N);
    }
    storage_close(st);
}

static void test_rrdcached_roundtrip(void **state)
{
    struct fx *fx = *state;
    enum { N = 200 }; /* about 10 kB of values: several UPDATE lines under the 4 kB limit */
    char err[512], path[PATH_MAX];
    daemon_start(fx);
    storage_t *st = storage_open(fx->data, fx->addr, err, sizeof err);
    assert_non_null(st);
    assert_int_equal(storage_ensure(st, "s/d/c", &small, T0, err, sizeof err), 0);
    assert_int_equal(storage_path(st, "s/d/c", path, sizeof path), 0);
    for (int i = 0; i < N; i++) {
        storage_sample_t s = sample_at(i);
        assert_int_equal(storage_put(st, "s/d/c", T0 + 10 * (i + 1), &s), 0);
    }
    assert_int_equal(storage_flush(st, err, sizeof err), 0);
    storage_stats_t stats;
    storage_get_stats(st, &stats);
    assert_int_equal(stats.written, N);
    assert_int_equal(stats.batches, 1);
    /* the daemon holds them; the file has not seen them yet */
    assert_int_equal(file_last(path), T0);
    /* storage_fetch flushes the file through the daemon before reading */
    check_series(path, fx->addr, N);
    assert_int_equal(file_last(path), T0 + 10 * N);

    /* old and duplicate samples are dropped before they reach the daemon */
    storage_sample_t s = sample_at(0);
    assert_int_equal(storage_put(st, "s/d/c", T0 + 10, &s), 0);
    assert_int_equal(storage_put(st, "s/d/c", T0 + 10 * N, &s), 0);
    assert_int_equal(storage_flush(st, err, sizeof err), 0);
    storage_get_stats(st, &stats);
    assert_int_equal(stats.dropped_old, 2);
    assert_int_equal(stats.failed, 0);

    /* a file the daemon cannot find: the update is refused, named, and not retried */
    assert_int_equal(storage_put(st, "s/d/never", T0 + 10, &s), 0);
    assert_int_equal(storage_flush(st, err, sizeof err), -1);
    assert_int_equal(errno, WA_ERRD);
    assert_non_null(strstr(err, "s/d/never.rrd"));
    storage_get_stats(st, &stats);
    assert_int_equal(stats.failed, 1);
    assert_int_equal(storage_flush(st, err, sizeof err), 0);
    storage_close(st);
}

/* Through rrdcached, files are made by the daemon (CREATE) and a later storage resumes from
 * what the daemon still holds (FLUSH, INFO): the last time and values of the last sample,
 * whatever the file shows.  Directly, resume reads the file.  A daemon gone is an error
 * naming the file. */
static void test_rrdcached_resume(void **state)
{
    struct fx *fx = *state;
    enum { N = 30 };
    char err[512], path[PATH_MAX];
    daemon_start(fx);
    storage_t *st = storage_open(fx->data, fx->addr, err, sizeof err);
    assert_non_null(st);
    assert_int_equal(storage_ensure(st, "s/d/c", &small, T0, err, sizeof err), 0);
    assert_int_equal(storage_path(st, "s/d/c", path, sizeof path), 0);
    char *info = run(RRDTOOL_BIN " info %s | grep -c '^ds\\[.*\\]\\.index'", path);
    assert_int_equal(atoi(info), STORAGE_DS_COUNT_); /* the daemon made it with our layout */
    free(info);
    for (int i = 0; i < N; i++) {
        storage_sample_t s = sample_at(i);
        assert_int_equal(storage_put(st, "s/d/c", T0 + 10 * (i + 1), &s), 0);
    }
    assert_int_equal(storage_flush(st, err, sizeof err), 0);
    assert_int_equal(file_last(path), T0); /* held by the daemon */

    storage_t *st2 = storage_open(fx->data, fx->addr, err, sizeof err);
    assert_non_null(st2);
    int64_t t = 0;
    storage_sample_t got, want = sample_at(N - 1);
    assert_int_equal(storage_resume(st2, "s/d/c", &t, &got, err, sizeof err), 0);
    assert_int_equal(t, T0 + 10 * N);
    for (int i = 0; i < STORAGE_DS_COUNT_; i++) {
        if (isnan(want.v[i]))
            assert_true(isnan(got.v[i]));
        else
            assert_true(got.v[i] == want.v[i]);
    }
    /* it knows the file now: an old sample is dropped before the daemon sees it */
    assert_int_equal(storage_put(st2, "s/d/c", T0 + 10 * N, &want), 0);
    assert_int_equal(storage_flush(st2, err, sizeof err), 0);
    storage_stats_t stats;
    storage_get_stats(st2, &stats);
    assert_int_equal(stats.dropped_old, 1);

    /* direct: the file itself */
    storage_t *st3 = storage_open(fx->data, NULL, err, sizeof err);
    assert_non_null(st3);
    assert_int_equal(storage_resume(st3, "s/d/c", &t, &got, err, sizeof err), 0);
    assert_int_equal(t, T0 + 10 * N);
    assert_true(got.v[STORAGE_DS_ENERGY] == want.v[STORAGE_DS_ENERGY]);
    storage_close(st3);

    daemon_stop(fx);
    assert_int_equal(storage_resume(st2, "s/d/c", &t, &got, err, sizeof err), -1);
    assert_non_null(strstr(err, "s/d/c.rrd"));
    storage_close(st2);
    storage_close(st);
}

/* Both layouts, direct and through rrdcached, written by the storage that made the file and
 * by a later one that learns the file's data sources from it; a file whose data sources are
 * not a channel file's is refused by name. */
static void test_both_layouts(void **state)
{
    struct fx *fx = *state;
    enum { N = 12 };
    static const struct {
        const char *rel;
        int no_quality, cached;
        int n_ds;
    } cases[] = {
        {"direct/d/full", 0, 0, STORAGE_DS_COUNT_},
        {"direct/d/lean", 1, 0, STORAGE_DS_VOLTAGE},
        {"cached/d/full", 0, 1, STORAGE_DS_COUNT_},
        {"cached/d/lean", 1, 1, STORAGE_DS_VOLTAGE},
    };
    char err[512], path[PATH_MAX];
    daemon_start(fx);
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        storage_layout_t lay = small;
        const char *addr = cases[c].cached ? fx->addr : "";
        lay.no_quality = cases[c].no_quality;
        /* first half: the storage that creates the file; second half: a new one */
        for (int half = 0; half < 2; half++) {
            storage_t *st = storage_open(fx->data, addr, err, sizeof err);
            assert_non_null(st);
            assert_int_equal(storage_ensure(st, cases[c].rel, &lay, T0, err, sizeof err), 0);
            for (int i = half * N; i < (half + 1) * N; i++) {
                storage_sample_t s = sample_at(i);
                assert_int_equal(storage_put(st, cases[c].rel, T0 + 10 * (i + 1), &s), 0);
            }
            if (storage_flush(st, err, sizeof err) != 0)
                fail_msg("case %zu half %d: %s", c, half, err);
            storage_stats_t stats;
            storage_get_stats(st, &stats);
            assert_int_equal(stats.written, N);
            assert_int_equal(stats.failed, 0);
            assert_int_equal(storage_path(st, cases[c].rel, path, sizeof path), 0);
            storage_close(st);
        }
        for (int d = 0; d < STORAGE_DS_COUNT_; d++) {
            storage_series_t ser;
            int rc = storage_fetch(path, storage_ds_name((storage_ds_t)d), "AVERAGE", T0,
                                   T0 + 10 * 2 * N, 10, addr, &ser, err, sizeof err);
            if (d >= cases[c].n_ds) {
                assert_int_equal(rc, -1);
                assert_int_equal(errno, ENOENT);
                continue;
            }
            assert_int_equal(rc, 0);
            for (int i = 0; i < 2 * N; i++) {
                size_t k = (size_t)((T0 + 10 * (i + 1) - ser.start) / 10 - 1);
                double want = sample_at(i).v[d];
                assert_true(k < ser.n);
                if (isnan(want))
                    assert_true(isnan(ser.v[k]));
                else if (ser.v[k] != want)
                    fail_msg("case %zu ds %d sample %d: %g, want %g", c, d, i, ser.v[k], want);
            }
            free(ser.v);
        }
    }

    /* a file with a DS of another name under a channel's name */
    storage_t *st = storage_open(fx->data, "", err, sizeof err);
    assert_non_null(st);
    snprintf(path, sizeof path, "%s/x/d", fx->data);
    free(run("mkdir -p %s && %s create %s/c.rrd --start %lld --step 10 DS:value:GAUGE:30:U:U "
             "RRA:AVERAGE:0.5:1:100", path, RRDTOOL_BIN, path, (long long)T0));
    storage_sample_t s = sample_at(0);
    assert_int_equal(storage_put(st, "x/d/c", T0 + 10, &s), 0);
    assert_int_equal(storage_flush(st, err, sizeof err), -1);
    assert_int_equal(errno, WA_ERRD);
    assert_non_null(strstr(err, "x/d/c.rrd"));
    assert_non_null(strstr(err, "not a channel or host file"));
    storage_close(st);
}

/* ---- host files ---- */

static void test_host_ds_names(void **state)
{
    (void)state;
    static const struct {
        storage_host_ds_t ds;
        const char *name;
    } cases[] = {
        {STORAGE_HOST_CPU, "cpu"},      {STORAGE_HOST_GPU, "gpu"},
        {STORAGE_HOST_GPU_W, "gpu_w"},  {STORAGE_HOST_GAUGE, "gauge"},
        {STORAGE_HOST_DS_COUNT_, NULL}, {(storage_host_ds_t)-1, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *got = storage_host_ds_name(cases[i].ds);
        if (cases[i].name)
            assert_string_equal(got, cases[i].name);
        else
            assert_null(got);
    }
}

/* A host's load at sample i: binary fractions again; gauge unknown on odd samples, and a
 * negative gpu_w (below the data source's min 0) on every seventh, which RRD stores as
 * unknown.  v[4..6] hold junk that a host file must ignore. */
static storage_sample_t host_at(int i)
{
    storage_sample_t s = {{
        [STORAGE_HOST_CPU] = 0.25 * (i % 5),
        [STORAGE_HOST_GPU] = 0.125 * (i % 9),
        [STORAGE_HOST_GPU_W] = i % 7 == 6 ? -5.0 : 250.0 + 0.5 * i,
        [STORAGE_HOST_GAUGE] = i % 2 ? NAN : 3.0 + i,
        [4] = 1e6,
        [5] = -1e6,
        [6] = 42,
    }};
    return s;
}

static double host_want(int i, int d)
{
    double v = host_at(i).v[d];
    return v < 0 ? NAN : v;
}

/* storage_ensure_host's data sources and archives, as rrdtool reports them. */
static void check_host_info(const char *path, int step)
{
    char *info = run("%s info %s", RRDTOOL_BIN, path);
    char key[64], buf[64];
    assert_int_equal(atoi(info_get(info, "step", buf, sizeof buf)), step);
    for (int d = 0; d < STORAGE_HOST_DS_COUNT_; d++) {
        const char *ds = storage_host_ds_name((storage_host_ds_t)d);
        snprintf(key, sizeof key, "ds[%s].index", ds);
        assert_int_equal(atoi(info_get(info, key, buf, sizeof buf)), d);
        snprintf(key, sizeof key, "ds[%s].type", ds);
        assert_string_equal(info_get(info, key, buf, sizeof buf), "GAUGE");
        snprintf(key, sizeof key, "ds[%s].minimal_heartbeat", ds);
        assert_int_equal(atoi(info_get(info, key, buf, sizeof buf)), 3 * step);
        snprintf(key, sizeof key, "ds[%s].min", ds);
        assert_float_equal(atof(info_get(info, key, buf, sizeof buf)), 0.0, 0.0);
        snprintf(key, sizeof key, "ds[%s].max", ds);
        assert_string_equal(info_get(info, key, buf, sizeof buf), "NaN");
    }
    /* no channel data source, and the channel file's archives */
    assert_string_equal(info_get(info, "ds[power].type", buf, sizeof buf), "");
    assert_string_equal(info_get(info, "ds[voltage].type", buf, sizeof buf), "");
    assert_string_equal(info_get(info, "rra[0].cf", buf, sizeof buf), "AVERAGE");
    assert_string_equal(info_get(info, "rra[7].cf", buf, sizeof buf), "LAST");
    assert_int_equal(atoi(info_get(info, "rra[7].pdp_per_row", buf, sizeof buf)), 60);
    assert_string_equal(info_get(info, "rra[8].cf", buf, sizeof buf), "");
    free(info);
}

/* Host files direct and through rrdcached, written by the storage that made them and by a later
 * one that learns their data sources from the file; read back by name, by storage_last, and
 * by rrdtool. */
static void test_host_files(void **state)
{
    struct fx *fx = *state;
    enum { N = 14 };
    static const struct {
        const char *rel;
        int cached, no_quality;
    } cases[] = {
        {"direct/hosts/gpu07", 0, 0},
        {"direct/hosts/lean", 0, 1}, /* no_quality has no meaning for a host file */
        {"cached/hosts/gpu07", 1, 0},
    };
    char err[512], path[PATH_MAX];
    daemon_start(fx);
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        storage_layout_t lay = small;
        const char *addr = cases[c].cached ? fx->addr : "";
        lay.no_quality = cases[c].no_quality;
        for (int half = 0; half < 2; half++) {
            storage_t *st = storage_open(fx->data, addr, err, sizeof err);
            assert_non_null(st);
            if (half == 0)
                assert_int_equal(storage_ensure_host(st, cases[c].rel, &lay, T0, err, sizeof err),
                                 0);
            else /* an existing file is kept, whatever layout is asked for */
                assert_int_equal(storage_ensure(st, cases[c].rel, &lay, T0, err, sizeof err), 0);
            assert_int_equal(storage_path(st, cases[c].rel, path, sizeof path), 0);
            if (half == 0)
                check_host_info(path, lay.step_s);
            for (int i = half * N; i < (half + 1) * N; i++) {
                storage_sample_t s = host_at(i);
                assert_int_equal(storage_put(st, cases[c].rel, T0 + 10 * (i + 1), &s), 0);
            }
            if (storage_flush(st, err, sizeof err) != 0)
                fail_msg("case %zu half %d: %s", c, half, err);
            storage_stats_t stats;
            storage_get_stats(st, &stats);
            assert_int_equal(stats.written, N);
            assert_int_equal(stats.failed, 0);
            storage_close(st);
        }
        for (int d = 0; d < STORAGE_HOST_DS_COUNT_; d++) {
            storage_series_t ser;
            if (storage_fetch(path, storage_host_ds_name((storage_host_ds_t)d), "AVERAGE", T0,
                              T0 + 10 * 2 * N, 10, addr, &ser, err, sizeof err) != 0)
                fail_msg("case %zu: %s", c, err);
            assert_int_equal(ser.step, 10);
            for (int i = 0; i < 2 * N; i++) {
                size_t k = (size_t)((T0 + 10 * (i + 1) - ser.start) / 10 - 1);
                double want = host_want(i, d);
                assert_true(k < ser.n);
                if (isnan(want) ? !isnan(ser.v[k]) : ser.v[k] != want)
                    fail_msg("case %zu %s sample %d: %g, want %g", c,
                             storage_host_ds_name((storage_host_ds_t)d), i, ser.v[k], want);
            }
            free(ser.v);
        }
        char *out = run("%s fetch %s AVERAGE -r 10 -s %lld -e %lld", RRDTOOL_BIN, path,
                        (long long)T0, (long long)(T0 + 10 * 2 * N));
        for (int d = 0; d < STORAGE_HOST_DS_COUNT_; d++) {
            double want = host_want(2 * N - 2, d), cli = fetch_cell(out, T0 + 10 * (2 * N - 1), d);
            if (isnan(want))
                assert_true(isnan(cli));
            else
                assert_float_equal(cli, want, 1e-9);
        }
        free(out);

        int64_t t;
        storage_sample_t last;
        assert_int_equal(storage_last(path, &t, &last, err, sizeof err), 0);
        assert_int_equal(t, T0 + 10 * 2 * N);
        for (int d = 0; d < STORAGE_HOST_DS_COUNT_; d++) {
            double want = host_at(2 * N - 1).v[d]; /* as given: lastupdate keeps the raw value */
            if (isnan(want))
                assert_true(isnan(last.v[d]));
            else
                assert_true(last.v[d] == want);
        }
        for (int d = STORAGE_HOST_DS_COUNT_; d < STORAGE_DS_COUNT_; d++)
            assert_true(isnan(last.v[d]));

        /* the default data source is a channel's: a host file has to be asked by name */
        storage_series_t ser;
        assert_int_equal(
            storage_fetch(path, NULL, "AVERAGE", T0, T0 + 100, 10, addr, &ser, err, sizeof err),
            -1);
        assert_int_equal(errno, ENOENT);
        assert_non_null(strstr(err, "cpu, gpu, gpu_w, gauge"));
    }
}

static void test_rrdcached_recreated_file(void **state)
{
    struct fx *fx = *state;
    char err[512], path[PATH_MAX];
    daemon_start(fx);
    storage_t *st = storage_open(fx->data, fx->addr, err, sizeof err);
    assert_non_null(st);
    assert_int_equal(storage_ensure(st, "s/d/c", &small, T0, err, sizeof err), 0);
    assert_int_equal(storage_path(st, "s/d/c", path, sizeof path), 0);
    for (int i = 0; i < 20; i++) {
        storage_sample_t s = sample_at(100 + i);
        assert_int_equal(storage_put(st, "s/d/c", T0 + 10 * (i + 1), &s), 0);
    }
    assert_int_equal(storage_flush(st, err, sizeof err), 0);
    storage_series_t ser;
    assert_int_equal(
        storage_fetch(path, NULL, "AVERAGE", T0, T0 + 20, 10, fx->addr, &ser, err, sizeof err), 0);
    free(ser.v);

    /* The file goes away and is made again; the daemon still remembers T0 + 200 as its last
     * update and would refuse anything earlier unless told to forget the name. */
    assert_int_equal(unlink(path), 0);
    assert_int_equal(storage_ensure(st, "s/d/c", &small, T0, err, sizeof err), 0);
    for (int i = 0; i < 5; i++) {
        storage_sample_t s = sample_at(i);
        assert_int_equal(storage_put(st, "s/d/c", T0 + 10 * (i + 1), &s), 0);
    }
    assert_int_equal(storage_flush(st, err, sizeof err), 0);
    storage_stats_t stats;
    storage_get_stats(st, &stats);
    assert_int_equal(stats.failed, 0);
    assert_int_equal(stats.written, 25);
    check_series(path, fx->addr, 5);
    storage_close(st);
}

static void test_rrdcached_reconnect(void **state)
{
    struct fx *fx = *state;
    char err[512], path[PATH_MAX];
    daemon_start(fx);
    storage_t *st = storage_open(fx->data, fx->addr, err, sizeof err);
    assert_non_null(st);
    assert_int_equal(storage_ensure(st, "s/d/c", &small, T0, err, sizeof err), 0);
    assert_int_equal(storage_path(st, "s/d/c", path, sizeof path), 0);
    for (int i = 0; i < 10; i++) {
        storage_sample_t s = sample_at(i);
        assert_int_equal(storage_put(st, "s/d/c", T0 + 10 * (i + 1), &s), 0);
    }
    assert_int_equal(storage_flush(st, err, sizeof err), 0);

    daemon_stop(fx); /* -F: it writes what it holds on the way out */
    assert_int_equal(file_last(path), T0 + 100);
    for (int i = 10; i < 20; i++) {
        storage_sample_t s = sample_at(i);
        assert_int_equal(storage_put(st, "s/d/c", T0 + 10 * (i + 1), &s), 0);
    }
    err[0] = '\0';
    assert_int_equal(storage_flush(st, err, sizeof err), -1);
    assert_true(errno == ENOENT || errno == ECONNREFUSED);
    assert_non_null(strstr(err, fx->sock));
    storage_stats_t stats;
    storage_get_stats(st, &stats);
    assert_int_equal(stats.written, 10);
    assert_int_equal(stats.failed, 0);

    daemon_start(fx);
    assert_int_equal(storage_flush(st, err, sizeof err), 0);
    storage_get_stats(st, &stats);
    assert_int_equal(stats.written, 20);
    assert_int_equal(stats.failed + stats.dropped_old, 0);
    check_series(path, fx->addr, 20);

    /* a daemon restarted between two flushes: the kept socket is stale, the next is not */
    daemon_stop(fx);
    daemon_start(fx);
    storage_sample_t s = sample_at(20);
    assert_int_equal(storage_put(st, "s/d/c", T0 + 210, &s), 0);
    assert_int_equal(storage_flush(st, err, sizeof err), 0);
    check_series(path, fx->addr, 21);
    storage_close(st);
}

int main(void)
{
    /* rrdtool's command line would otherwise send its reads through a daemon of the user's */
    unsetenv("RRDCACHED_ADDRESS");
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ds_names),
        cmocka_unit_test_setup_teardown(test_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_layout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ensure_keeps_existing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_direct_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_old_and_duplicate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fallback_ds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors_name_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_threads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rrdcached_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rrdcached_resume, setup, teardown),
        cmocka_unit_test_setup_teardown(test_both_layouts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rrdcached_recreated_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rrdcached_reconnect, setup, teardown),
        cmocka_unit_test(test_host_ds_names),
        cmocka_unit_test_setup_teardown(test_host_files, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
