/*
 * collect against real peers over loopback: the simulator (in a thread, or `wattaudit sim` as
 * a child), `wattaudit collect` as a child stopped by SIGTERM, and a Modbus TCP server that is
 * not ours (jsmodbus under node).  Values are read back from the RRD files and compared with
 * the simulator's ground truth.  Ports 26100-26199.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "meters/collect/collect-private.h"
#include "meters/sim/sim.h"
#include "tests/meters/collect/live.h"

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* 2026-11-02T00:00Z, a Monday. */
#define T0 1793577600.0
#define DAY 86400.0

static const char *wattaudit_bin;

/* ---- helpers --------------------------------------------------------------------------------- */

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void make_tmp(char *dir, size_t n)
{
    snprintf(dir, n, "/tmp/wa-collect-XXXXXX");
    assert_non_null(mkdtemp(dir));
}

void rm_tree(const char *dir)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf -- '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

char *read_text(const char *path)
{
    FILE *f = fopen(path, "r");
    char *buf;
    long n;
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = calloc((size_t)n + 1, 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    return buf;
}

int wait_file(const char *path, double seconds)
{
    double end = mono() + seconds;
    while (access(path, R_OK) != 0) {
        if (mono() > end)
            return -1;
        usleep(20000);
    }
    return 0;
}

profile_set_t *profiles(void)
{
    const char *dirs[] = {WA_SOURCE_DIR "/profiles"};
    char err[1024];
    profile_set_t *ps = profile_set_load(dirs, 1, err, sizeof err);
    if (!ps)
        fail_msg("profiles: %s", err);
    return ps;
}

/* Writes DIR/site.conf with body after a header naming the status file and the data folder;
 * full_days keeps 1-second test channels small (35 days at 1 s would be 170 MB a file). */
siteconf_t *config_days(const char *dir, const char *body, int full_days)
{
    char path[600], err[1024], *text;
    siteconf_t *cfg;
    size_t n = strlen(body) + 2 * strlen(dir) + 512;
    text = malloc(n);
    assert_non_null(text);
    snprintf(text, n,
             "timezone = \"UTC\";\nstatus_file = \"%s/status.json\";\n"
             "storage = { data_dir = \"%s/data\"; full_days = %d; };\n%s",
             dir, dir, full_days, body);
    snprintf(path, sizeof path, "%s/site.conf", dir);
    write_text(path, text);
    free(text);
    cfg = siteconf_load(path, err, sizeof err);
    if (!cfg)
        fail_msg("config: %s", err);
    return cfg;
}

static void *sim_main(void *arg)
{
    struct simthread *s = arg;
    s->rc = sim_run(s->cfg, s->ps, &s->o, &s->stats, s->err, sizeof s->err);
    return NULL;
}

static siteconf_t *config(const char *dir, const char *body)
{
    return config_days(dir, body, 35);
}

/* Starts the simulator on the clock file (NULL = real time) and waits until it listens. */
void sim_start(struct simthread *s, const siteconf_t *cfg, const profile_set_t *ps, const char *dir,
               const char *clock_path, double origin)
{
    memset(s, 0, sizeof *s);
    s->cfg = cfg;
    s->ps = ps;
    if (clock_path) {
        s->clock = wa_clock_open(clock_path);
        assert_non_null(s->clock);
    }
    snprintf(s->ready, sizeof s->ready, "%s/sim.ready", dir);
    unlink(s->ready);
    s->o.clock = s->clock;
    s->o.energy_origin = origin;
    s->o.stop = &s->stop;
    s->o.ready_file = s->ready;
    assert_int_equal(pthread_create(&s->th, NULL, sim_main, s), 0);
    if (wait_file(s->ready, 10) != 0) {
        s->stop = 1;
        pthread_join(s->th, NULL);
        fail_msg("simulator did not start: %s", s->err);
    }
}

void sim_stop(struct simthread *s)
{
    s->stop = 1;
    pthread_join(s->th, NULL);
    wa_clock_close(s->clock);
    if (s->rc != 0)
        fail_msg("simulator: %s", s->err);
}

/* Every request the simulator saw was a read. */
static void assert_only_reads(const sim_stats_t *st)
{
    uint64_t reads = st->by_fc[3] + st->by_fc[4];
    for (int fc = 0; fc < 128; fc++)
        if (fc != 3 && fc != 4 && st->by_fc[fc])
            fail_msg("the simulator saw %llu requests with function %d",
                     (unsigned long long)st->by_fc[fc], fc);
    assert_true(reads > 0);
    assert_int_equal(reads, st->requests);
}

/* Runs the collector on a stepped clock from `from` to `until` against a simulator thread
 * whose energy registers count from origin. */
static void run_stepped_origin(const char *dir, const siteconf_t *cfg, const profile_set_t *ps,
                               double origin, double from, double until, collect_result_t *res,
                               sim_stats_t *sst, double *seconds)

{
    char clock_path[600], err[1024];
    wa_clock_t *clk;
    struct simthread sim;
    wa_log_t log = {stderr, getenv("WA_TEST_LOG") ? WA_LOG_DEBUG : WA_LOG_ERROR};
    collect_opts_t o = {0};
    double t;

    snprintf(clock_path, sizeof clock_path, "%s/clock", dir);
    clk = wa_clock_create_stepped(clock_path, (int64_t)from);
    assert_non_null(clk);
    sim_start(&sim, cfg, ps, dir, clock_path, origin);
    o.log = &log;
    o.clock = clk;
    o.until = until;
    t = mono();
    if (collect_run(cfg, ps, &o, res, err, sizeof err) != 0)
        fail_msg("collect_run: %s", err);
    *seconds = mono() - t;
    sim_stop(&sim);
    if (sst)
        *sst = sim.stats;
    wa_clock_close(clk);
}

static void run_stepped(const char *dir, const siteconf_t *cfg, const profile_set_t *ps,
                        double from, double until, collect_result_t *res, sim_stats_t *sst,
                        double *seconds)
{
    /* The meters' counters started a month ago: a SunSpec acc32 of 0 means "not accumulated". */
    run_stepped_origin(dir, cfg, ps, T0 - 30 * DAY, from, until, res, sst, seconds);
}

const collect_device_status_t *dev_status(const collect_result_t *res, const char *id)
{
    for (size_t i = 0; i < res->n_devices; i++)
        if (strcmp(res->devices[i].device, id) == 0)
            return &res->devices[i];
    fail_msg("no device %s in the result", id);
    return NULL;
}

static const sc_channel_t *find_channel(const siteconf_t *cfg, const char *dev, const char *ch)
{
    for (size_t s = 0; s < cfg->n_sites; s++)
        for (size_t b = 0; b < cfg->sites[s].n_buses; b++)
            for (size_t d = 0; d < cfg->sites[s].buses[b].n_devices; d++) {
                const sc_device_t *x = &cfg->sites[s].buses[b].devices[d];
                for (size_t k = 0; strcmp(x->id, dev) == 0 && k < x->n_channels; k++)
                    if (strcmp(x->channels[k].id, ch) == 0)
                        return &x->channels[k];
            }
    fail_msg("no channel %s/%s", dev, ch);
    return NULL;
}

void fetch(const char *dir, const char *rel, const char *ds, double from, double to, int step,
           storage_series_t *out)
{
    char file[800], err[1024];
    snprintf(file, sizeof file, "%s/data/%s.rrd", dir, rel);
    memset(out, 0, sizeof *out);
    if (storage_fetch(file, ds, "AVERAGE", (int64_t)from, (int64_t)to, step, NULL, out, err,
                      sizeof err) != 0)
        fail_msg("fetch %s %s: %s", rel, ds, err);
}

/* The stored value of a series at time t (NaN if outside or unknown). */
double at(const storage_series_t *s, double t)
{
    double k = (t - (double)s->start) / s->step - 1;
    if (k < 0 || k >= (double)s->n || fabs(k - round(k)) > 1e-9)
        return NAN;
    return s->v[(size_t)round(k)];
}

/* Stored power equals the simulator's at every poll time, within the register's resolution
 * (float32 rounding, or the last digit of an integer register); returns how many were
 * compared. */
static size_t check_power(const char *dir, const char *rel, const sc_sim_t *truth, double from,
                          double to, int step, double resolution)
{
    storage_series_t s;
    size_t n = 0, missing = 0;
    fetch(dir, rel, "power", from, to, step, &s);
    for (double t = from + step; t < to; t += step) {
        double v = at(&s, t), want = sim_power(truth, "UTC", t);
        if (isnan(v)) {
            missing++;
            continue;
        }
        if (fabs(v - want) > 1e-5 * fabs(want) + resolution)
            fail_msg("%s power at %.0f: stored %.3f, simulator %.3f", rel, t, v, want);
        n++;
    }
    free(s.v);
    if (missing > n / 1000 + 1)
        fail_msg("%s: %zu of %zu power values missing", rel, missing, missing + n);
    return n;
}

/* kWh between a and b from the stored energy data source, against the simulator's integral. */
static double check_kwh(const char *dir, const char *rel, double want_wh, double a, double b,
                        int step)
{
    storage_series_t s;
    double ea, eb, rel_err;
    fetch(dir, rel, "energy", a - step, b + step, step, &s);
    ea = at(&s, a);
    eb = at(&s, b);
    free(s.v);
    if (isnan(ea) || isnan(eb))
        fail_msg("%s: energy unknown at %.0f or %.0f", rel, a, b);
    rel_err = fabs((eb - ea) - want_wh) / want_wh;
    printf("  %s: %.3f kWh stored, %.3f kWh simulated (%.4f%%)\n", rel, (eb - ea) / 1000,
           want_wh / 1000, rel_err * 100);
    if (rel_err > 0.001)
        fail_msg("%s: %.3f kWh stored, %.3f kWh simulated", rel, (eb - ea) / 1000,
                 want_wh / 1000);
    return rel_err;
}

/* ---- weeks of stepped data, compared with ground truth ------------------------------------- */

static const char weeks_sites[] =
    "sites = ( { id = \"lab\"; buses = (\n"
    "  { id = \"gw1\"; tcp = \"127.0.0.1:26101\"; devices = (\n"
    "    { id = \"main\"; unit = 1; profile = \"eastron-sdm630\"; interval = 60;\n"
    "      channels = (\n"
    "        { id = \"total\"; rated_w = 60000.0; },\n"
    "        { id = \"l1\"; source = \"L1\"; rated_w = 20000.0; simulate = { noise = 0.01; loads = (\n"
    "            { model = \"server\"; w = 350.0; count = 8; },\n"
    "            { model = \"gpu_rig\"; count = 4; from = \"2026-11-09T14:00Z\"; } ); }; },\n"
    "        { id = \"l2\"; source = \"L2\"; rated_w = 20000.0; simulate = { noise = 0.02; loads = (\n"
    "            { model = \"office\"; w = 5000.0; base_w = 800.0; } ); }; } ); } ) },\n"
    "  { id = \"gw2\"; tcp = \"127.0.0.1:26102\"; devices = (\n"
    "    { id = \"old\"; unit = 3; profile = \"sunspec-203\"; interval = 300;\n"
    "      channels = ( { id = \"total\"; rated_w = 30000.0; simulate = { loads = (\n"
    "            { model = \"gpu_rig\"; count = 3; } ); }; } ); } ) }\n"
    ") } );\n";

static void test_weeks(void **state)
{
    const double weeks = 2, until = T0 + weeks * 7 * DAY;
    char dir[64];
    siteconf_t *cfg;
    profile_set_t *ps = profiles();
    collect_result_t res;
    sim_stats_t sst;
    const collect_device_status_t *m, *o;
    double secs, a = T0 + DAY, b = until - 3600;
    (void)state;
    make_tmp(dir, sizeof dir);
    cfg = config(dir, weeks_sites);
    run_stepped(dir, cfg, ps, T0, until, &res, &sst, &secs);
    m = dev_status(&res, "main");
    o = dev_status(&res, "old");
    printf("  %.0f weeks in %.1f s: %llu cycles, %llu Modbus requests, %llu samples; "
           "%.0f polls/s\n", weeks, secs, (unsigned long long)res.cycles,
           (unsigned long long)res.transactions, (unsigned long long)res.stored,
           (double)(m->polls + o->polls) / secs);
    printf("  requests per poll: sdm630 (3 channels) %.2f, sunspec-203 %.2f (incl. discovery)\n",
           (double)m->requests / (double)m->polls, (double)o->requests / (double)o->polls);
    assert_int_equal(m->polls, (uint64_t)(weeks * 7 * 1440));
    assert_int_equal(m->ok, m->polls);
    assert_int_equal(o->polls, (uint64_t)(weeks * 7 * 288));
    assert_int_equal(o->ok, o->polls);
    assert_int_equal(m->rejected + o->rejected + m->resets + o->resets, 0);
    assert_int_equal(res.transactions, sst.requests);
    assert_only_reads(&sst);

    const sc_channel_t *l1 = find_channel(cfg, "main", "l1"), *l2 = find_channel(cfg, "main", "l2"),
                       *ss = find_channel(cfg, "old", "total");
    assert_true(check_power(dir, "lab/main/l1", &l1->sim, T0, until, 60, 0.01) > 20000);
    check_power(dir, "lab/main/l2", &l2->sim, T0, until, 60, 0.01);
    check_power(dir, "lab/old/total", &ss->sim, T0, until, 300, 0.5);
    check_kwh(dir, "lab/main/l1", sim_energy(&l1->sim, "UTC", a, b), a, b, 60);
    check_kwh(dir, "lab/main/l2", sim_energy(&l2->sim, "UTC", a, b), a, b, 60);
    check_kwh(dir, "lab/main/total",
              sim_energy(&l1->sim, "UTC", a, b) + sim_energy(&l2->sim, "UTC", a, b), a, b, 60);
    check_kwh(dir, "lab/old/total", sim_energy(&ss->sim, "UTC", a, b), a, b, 300);

    /* A second run over the next day resumes the energy series without a step. */
    {
        collect_result_t r2;
        storage_series_t s;
        double e_before, e_after;
        run_stepped(dir, cfg, ps, until, until + DAY, &r2, NULL, &secs);
        assert_int_equal(dev_status(&r2, "main")->resets, 0);
        fetch(dir, "lab/main/l1", "energy", until - 600, until + 600, 60, &s);
        e_before = at(&s, until - 60);
        e_after = at(&s, until + 60);
        free(s.v);
        assert_false(isnan(e_before) || isnan(e_after));
        /* Across the restart energy grows by what the channel drew, not by a new counter. */
        double want = sim_energy(&l1->sim, "UTC", until - 60, until + 60);
        if (fabs((e_after - e_before) - want) > 0.001 * want + 1)
            fail_msg("energy across the restart: +%.2f Wh, simulated %.2f Wh",
                     e_after - e_before, want);
        free(r2.devices);
    }
    free(res.devices);
    siteconf_free(cfg);
    profile_set_free(ps);
    rm_tree(dir);
}

/* ---- faults --------------------------------------------------------------------------------- */

static const char faults_sites[] =
    "sites = ( { id = \"lab\"; buses = (\n"
    "  { id = \"gw1\"; tcp = \"127.0.0.1:26111\"; devices = (\n"
    "    { id = \"clean\"; unit = 1; profile = \"eastron-sdm630\";\n"
    "      channels = ( { id = \"l1\"; source = \"L1\"; rated_w = 20000.0; simulate = { loads = (\n"
    "            { model = \"server\"; w = 300.0; count = 4; } ); }; } ); },\n"
    "    { id = \"flaky\"; unit = 2; profile = \"eastron-sdm630\"; timeout_ms = 50; retries = 2;\n"
    "      faults = { timeout = 0.02; exception = 0.04; drop = 0.04; garbage = 0.05; };\n"
    "      channels = ( { id = \"l1\"; source = \"L1\"; rated_w = 20000.0; simulate = { loads = (\n"
    "            { model = \"server\"; w = 500.0; count = 2; } ); }; } ); } ) },\n"
    "  { id = \"gw2\"; tcp = \"127.0.0.1:26112\"; devices = (\n"
    "    { id = \"picky\"; unit = 1; profile = \"eastron-sdm630\"; faults = { reject_over = 10; };\n"
    "      channels = ( { id = \"total\"; },\n"
    "        { id = \"l1\"; source = \"L1\"; simulate = { loads = ( { model = \"asic\"; } ); }; },\n"
    "        { id = \"l3\"; source = \"L3\"; simulate = { loads = ( { model = \"server\"; } ); }; }\n"
    "      ); } ) },\n"
    "  { id = \"gw3\"; tcp = \"127.0.0.1:26113\"; devices = (\n"
    "    { id = \"dead\"; unit = 1; profile = \"eastron-sdm630\"; timeout_ms = 20; retries = 1;\n"
    "      quarantine_after = 3; quarantine_max = 600; faults = { dead = true; }; } ) },\n"
    "  { id = \"rs485\"; serial = { device = \"@DIR@/ttyRS485\"; baud = 9600; parity = \"even\"; };\n"
    "    inter_frame_ms = 1; devices = (\n"
    "    { id = \"rtu\"; unit = 5; profile = \"eastron-sdm120\"; timeout_ms = 300;\n"
    "      channels = ( { id = \"total\"; rated_w = 3000.0; simulate = { loads = (\n"
    "            { model = \"pc_mining\"; } ); }; } ); } ) }\n"
    ") } );\n";

static char *subst_dir(const char *tmpl, const char *dir)
{
    size_t n = strlen(tmpl) + 16 * strlen(dir) + 1, o = 0;
    char *out = malloc(n);
    assert_non_null(out);
    for (const char *p = tmpl; *p;) {
        if (strncmp(p, "@DIR@", 5) == 0) {
            o += (size_t)snprintf(out + o, n - o, "%s", dir);
            p += 5;
        } else {
            out[o++] = *p++;
        }
    }
    out[o] = '\0';
    return out;
}

/* Every power value stored for a channel is the simulator's: a garbled reading never lands. */
static void test_faults(void **state)
{
    const double until = T0 + DAY;
    char dir[64], *body;
    siteconf_t *cfg;
    profile_set_t *ps = profiles();
    collect_result_t res;
    sim_stats_t sst;
    const collect_device_status_t *clean, *flaky, *picky, *dead, *rtu;
    double secs;
    (void)state;
    make_tmp(dir, sizeof dir);
    body = subst_dir(faults_sites, dir);
    cfg = config(dir, body);
    free(body);
    run_stepped(dir, cfg, ps, T0, until, &res, &sst, &secs);
    clean = dev_status(&res, "clean");
    flaky = dev_status(&res, "flaky");
    picky = dev_status(&res, "picky");
    dead = dev_status(&res, "dead");
    rtu = dev_status(&res, "rtu");
    for (size_t i = 0; i < res.n_devices; i++) {
        const collect_device_status_t *d = &res.devices[i];
        printf("  %-6s polls %5llu ok %5llu errors %4llu rejected %3llu requests %6llu%s %s\n",
               d->device, (unsigned long long)d->polls, (unsigned long long)d->ok,
               (unsigned long long)d->errors, (unsigned long long)d->rejected,
               (unsigned long long)d->requests, d->quarantined ? " quarantined" : "",
               d->last_error);
    }
    printf("  simulator: %llu requests, %llu timeouts, %llu dropped, %llu garbled, %llu "
           "exceptions; %.1f s\n", (unsigned long long)sst.requests,
           (unsigned long long)sst.timeouts, (unsigned long long)sst.dropped,
           (unsigned long long)sst.garbage, (unsigned long long)sst.exceptions, secs);
    assert_only_reads(&sst);

    /* Neighbours of the flaky and dead devices keep their full count. */
    assert_int_equal(clean->polls, 1440);
    assert_int_equal(clean->ok, 1440);
    assert_int_equal(rtu->polls, 1440);
    assert_int_equal(rtu->ok, 1440);
    check_power(dir, "lab/clean/l1", &find_channel(cfg, "clean", "l1")->sim, T0, until, 60, 0.01);
    check_power(dir, "lab/rtu/total", &find_channel(cfg, "rtu", "total")->sim, T0, until, 60, 0.01);

    /* Timeouts, exceptions and drops are retried; garbage is rejected and counted. */
    assert_true(sst.timeouts > 0 && sst.dropped > 0 && sst.garbage > 0 && sst.exceptions > 0);
    assert_int_equal(flaky->polls, 1440);
    assert_true(flaky->ok >= 1400);
    assert_true(flaky->rejected > 0);
    assert_int_equal(flaky->resets, 0);
    assert_false(flaky->quarantined);
    {
        storage_series_t s;
        size_t bad = 0, n = 0;
        const sc_channel_t *ch = find_channel(cfg, "flaky", "l1");
        fetch(dir, "lab/flaky/l1", "power", T0, until, 60, &s);
        for (double t = T0 + 60; t < until; t += 60) {
            double v = at(&s, t);
            if (isnan(v))
                continue;
            n++;
            /* After a failed poll, RRD fills the missed step with the next sample (a GAUGE
             * value covers the time since the previous update). */
            int match = 0;
            for (int k = 0; k <= 3 && !match; k++)
                match = fabs(v - sim_power(&ch->sim, "UTC", t + 60 * k)) <= 0.01 + 1e-5 * v;
            if (!match) {
                printf("  flaky l1 at %.0f: stored %.3f, simulator %.3f\n", t, v,
                       sim_power(&ch->sim, "UTC", t));
                bad++;
            }
        }
        free(s.v);
        assert_int_equal(bad, 0);
        assert_true(n > 1300);
    }

    /* The device that refuses reads of more than 10 registers still gives every value. */
    assert_int_equal(picky->polls, 1440);
    assert_int_equal(picky->ok, 1440);
    assert_int_equal(picky->rejected, 0);
    check_power(dir, "lab/picky/l1", &find_channel(cfg, "picky", "l1")->sim, T0, until, 60, 0.01);
    check_power(dir, "lab/picky/l3", &find_channel(cfg, "picky", "l3")->sim, T0, until, 60, 0.01);
    {
        storage_series_t s;
        fetch(dir, "lab/picky/total", "frequency", T0, until, 60, &s);
        for (double t = T0 + 120; t < until; t += 60)
            assert_false(isnan(at(&s, t)));
        free(s.v);
    }

    /* The dead device is quarantined, probed with a back-off up to 600 s. */
    assert_true(dead->quarantined);
    assert_int_equal(dead->ok, 0);
    assert_int_equal(dead->errors, dead->polls);
    assert_true(dead->polls >= 3 + 140 && dead->polls <= 3 + 150);
    assert_non_null(strstr(dead->last_error, "bus gw3 unit 1: Connection timed out"));

    free(res.devices);
    siteconf_free(cfg);
    profile_set_free(ps);
    rm_tree(dir);
}

/* In real time a dead device on one bus costs the others nothing. */
static void test_realtime_dead(void **state)
{
    static const char sites[] =
        "sites = ( { id = \"rt\"; buses = (\n"
        "  { id = \"a\"; tcp = \"127.0.0.1:26131\"; devices = (\n"
        "    { id = \"alive\"; unit = 1; profile = \"eastron-sdm120\"; interval = 1; } ) },\n"
        "  { id = \"b\"; tcp = \"127.0.0.1:26132\"; devices = (\n"
        "    { id = \"dead\"; unit = 1; profile = \"eastron-sdm120\"; interval = 1; timeout_ms = 700;\n"
        "      retries = 2; faults = { dead = true; }; } ) }\n"
        ") } );\n";
    char dir[64], err[1024];
    siteconf_t *cfg;
    profile_set_t *ps = profiles();
    struct simthread sim;
    collect_opts_t o = {0};
    collect_result_t res;
    wa_log_t log = {stderr, getenv("WA_TEST_LOG") ? WA_LOG_DEBUG : WA_LOG_ERROR};
    double t0;
    (void)state;
    make_tmp(dir, sizeof dir);
    cfg = config_days(dir, sites, 1);
    /* Energy registers start an hour ago: integrating from 1970 would stall the simulator. */
    sim_start(&sim, cfg, ps, dir, NULL, floor(wa_clock_now(NULL)) - 3600);
    o.log = &log;
    t0 = wa_clock_now(NULL);
    o.until = floor(t0) + 6;
    assert_int_equal(collect_run(cfg, ps, &o, &res, err, sizeof err), 0);
    sim_stop(&sim);
    printf("  alive: %llu polls, %llu ok (%s); dead: %llu polls\n",
           (unsigned long long)dev_status(&res, "alive")->polls,
           (unsigned long long)dev_status(&res, "alive")->ok, dev_status(&res, "alive")->last_error,
           (unsigned long long)dev_status(&res, "dead")->polls);
    /* 1 s polls for 5 to 6 s: the first at once, then on each second; the dead device's one
     * poll alone takes 2.1 s. */
    assert_true(dev_status(&res, "alive")->ok >= 5);
    assert_true(dev_status(&res, "dead")->polls <= 3);
    free(res.devices);
    siteconf_free(cfg);
    profile_set_free(ps);
    rm_tree(dir);
}

/* ---- wattaudit collect as a child: SIGTERM flushes ------------------------------------------ */

static pid_t spawn(const char *const *argv, const char *log)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        FILE *f = freopen(log, "w", stderr);
        (void)f;
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    return pid;
}

static int wait_exit(pid_t pid, double seconds)
{
    double end = mono() + seconds;
    int st;
    for (;;) {
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid)
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        if (mono() > end) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            return -1;
        }
        usleep(20000);
    }
}

static void test_sigterm_child(void **state)
{
    static const char sites[] =
        "sites = ( { id = \"s\"; buses = (\n"
        "  { id = \"gw\"; tcp = \"127.0.0.1:26121\"; devices = (\n"
        "    { id = \"m\"; unit = 1; profile = \"eastron-sdm120\"; interval = 1;\n"
        "      channels = ( { id = \"total\"; simulate = { loads = ( { model = \"constant\"; w = 1500.0; } ); }; } );\n"
        "    } ) } ) } );\n";
    char dir[64], conf[600], ready[600], slog[600], clog[600], status[600], file[600], err[1024];
    siteconf_t *cfg;
    pid_t sim, col;
    storage_sample_t last;
    int64_t t_last = 0;
    double t_term;
    char *text;
    cJSON *j, *d;
    (void)state;
    make_tmp(dir, sizeof dir);
    cfg = config_days(dir, sites, 1);
    siteconf_free(cfg);
    snprintf(conf, sizeof conf, "%s/site.conf", dir);
    snprintf(ready, sizeof ready, "%s/sim.ready", dir);
    snprintf(slog, sizeof slog, "%s/sim.log", dir);
    snprintf(clog, sizeof clog, "%s/collect.log", dir);
    snprintf(status, sizeof status, "%s/status.json", dir);
    {
        const char *argv[] = {wattaudit_bin, "sim", "--config", conf, "--profiles",
                              WA_SOURCE_DIR "/profiles", "--ready", ready, NULL};
        sim = spawn(argv, slog);
    }
    if (wait_file(ready, 10) != 0) {
        kill(sim, SIGTERM);
        wait_exit(sim, 5);
        fail_msg("wattaudit sim did not start (see %s)", slog);
    }
    {
        const char *argv[] = {wattaudit_bin, "collect", "--config", conf, "--profiles",
                              WA_SOURCE_DIR "/profiles", NULL};
        col = spawn(argv, clog);
    }
    /* On a loaded machine the child may take a while to start: count from its first status
     * file (written once it is polling), then give it three 1 s polls. */
    if (wait_file(status, 15) != 0) {
        kill(col, SIGTERM);
        kill(sim, SIGTERM);
        fail_msg("wattaudit collect wrote no status (see %s)", clog);
    }
    sleep(3);
    t_term = wa_clock_now(NULL);
    kill(col, SIGTERM);
    assert_int_equal(wait_exit(col, 10), 0);
    kill(sim, SIGTERM);
    assert_int_equal(wait_exit(sim, 10), 0);

    /* Storage is flushed every 5 s, so without the final flush the last polls would be lost. */
    snprintf(file, sizeof file, "%s/data/s/m/total.rrd", dir);
    if (storage_last(file, &t_last, &last, err, sizeof err) != 0)
        fail_msg("%s", err);
    assert_true((double)t_last >= t_term - 2);
    assert_true(fabs(last.v[STORAGE_DS_POWER] - 1500) < 50);
    assert_false(isnan(last.v[STORAGE_DS_ENERGY]));

    text = read_text(status);
    assert_non_null(text);
    j = cJSON_Parse(text);
    free(text);
    assert_non_null(j);
    d = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "devices"), 0);
    assert_non_null(d);
    assert_string_equal(cJSON_GetObjectItem(d, "site")->valuestring, "s");
    assert_string_equal(cJSON_GetObjectItem(d, "bus")->valuestring, "gw");
    assert_int_equal(cJSON_GetObjectItem(d, "unit")->valueint, 1);
    assert_true(cJSON_GetObjectItem(d, "polls")->valuedouble >= 3);
    assert_true(cJSON_GetObjectItem(d, "ok")->valuedouble ==
                cJSON_GetObjectItem(d, "polls")->valuedouble);
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(d, "quarantined")));
    cJSON_Delete(j);
    rm_tree(dir);
}

/* ---- a Modbus server that is not ours: jsmodbus ---------------------------------------------- */

/* Known values as the node script encodes them, true big-endian (jsmodbus/Node Buffer). */
static const char interop_profile[] =
    "vendor = \"test\"; model = \"jsmodbus peer\"; source = \"tests/interop/jsmodbus-server.js\";\n"
    "registers = (\n"
    "  { channel = \"a\"; quantity = \"voltage\"; address = 0; function = \"holding\"; type = \"float32\"; order = \"ABCD\"; unit = \"V\"; },\n"
    "  { channel = \"a\"; quantity = \"power\"; address = 2; function = \"holding\"; type = \"float32\"; order = \"CDAB\"; unit = \"kW\"; },\n"
    "  { channel = \"a\"; quantity = \"energy_import\"; address = 10; function = \"input\"; type = \"u32\"; order = \"ABCD\"; unit = \"Wh\"; },\n"
    "  { channel = \"a\"; quantity = \"pf\"; address = 12; function = \"input\"; type = \"s16\"; order = \"ABCD\"; scale = 0.001; },\n"
    "  { channel = \"a\"; quantity = \"current\"; address = 20; function = \"input\"; type = \"s32\"; order = \"CDAB\"; unit = \"mA\"; },\n"
    "  { channel = \"a\"; quantity = \"frequency\"; address = 30; function = \"holding\"; type = \"float64\"; order = \"ABCD\"; unit = \"Hz\"; }\n"
    ");\n";

static void test_jsmodbus(void **state)
{
    char dir[64], pdir[200], ppath[600], portfile[600], nlog[600], body[2048], err[1024];
    char script[] = WA_SOURCE_DIR "/tests/interop/jsmodbus-server.js";
    siteconf_t *cfg;
    profile_set_t *ps;
    collect_opts_t o = {0};
    collect_result_t res;
    wa_log_t log = {stderr, WA_LOG_ERROR};
    char clock_path[600], *port;
    wa_clock_t *clk;
    storage_series_t s;
    pid_t node;
    (void)state;
    if (access("/usr/bin/node", X_OK) != 0 && system("command -v node >/dev/null 2>&1") != 0) {
        printf("  SKIP: node is not installed; the jsmodbus interoperability test needs it\n");
        skip();
    }
    if (access(WA_SOURCE_DIR "/tests/interop/node_modules/jsmodbus", R_OK) != 0)
        fail_msg("tests/interop/node_modules/jsmodbus missing: run `npm ci` in tests/interop "
                 "(scripts/setup.sh --tests does)");
    make_tmp(dir, sizeof dir);
    snprintf(pdir, sizeof pdir, "%s/profiles", dir);
    mkdir(pdir, 0755);
    snprintf(ppath, sizeof ppath, "%s/jsmodbus-peer.conf", pdir);
    write_text(ppath, interop_profile);
    snprintf(portfile, sizeof portfile, "%s/port", dir);
    snprintf(nlog, sizeof nlog, "%s/node.log", dir);
    {
        const char *argv[] = {"/usr/bin/env", "node", script, portfile, NULL};
        node = spawn(argv, nlog);
    }
    if (wait_file(portfile, 15) != 0) {
        kill(node, SIGTERM);
        wait_exit(node, 5);
        fail_msg("the jsmodbus server did not start (see %s)", nlog);
    }
    usleep(50000);
    port = read_text(portfile);
    assert_non_null(port);
    snprintf(body, sizeof body,
             "sites = ( { id = \"x\"; buses = ( { id = \"js\"; tcp = \"127.0.0.1:%d\"; devices = (\n"
             "  { id = \"peer\"; unit = 1; profile = \"jsmodbus-peer\"; interval = 60; } ) } ) } );\n",
             atoi(port));
    free(port);
    cfg = config(dir, body);
    {
        const char *dirs[] = {pdir};
        ps = profile_set_load(dirs, 1, err, sizeof err);
        if (!ps)
            fail_msg("%s", err);
    }
    snprintf(clock_path, sizeof clock_path, "%s/clock", dir);
    clk = wa_clock_create_stepped(clock_path, (int64_t)T0);
    o.log = &log;
    o.clock = clk;
    o.until = T0 + 600;
    if (collect_run(cfg, ps, &o, &res, err, sizeof err) != 0)
        fail_msg("%s", err);
    kill(node, SIGTERM);
    wait_exit(node, 5);
    assert_int_equal(res.devices[0].polls, 10);
    assert_int_equal(res.devices[0].ok, 10);
    assert_int_equal(res.devices[0].rejected, 0);
    {
        static const struct {
            const char *ds;
            double want, tol;
        } want[] = {
            {"voltage", 230.5, 1e-9},     {"power", 1234.5, 1e-3}, {"energy_raw", 123456789, 0},
            {"energy", 123456789, 0},     {"pf", -0.87, 1e-9},     {"current", 70000.123, 1e-9},
            {"frequency", 49.987654321, 1e-9},
        };
        for (size_t i = 0; i < N_OF(want); i++) {
            fetch(dir, "x/peer/a", want[i].ds, T0, T0 + 600, 60, &s);
            for (double t = T0 + 60; t < T0 + 600; t += 60) {
                double v = at(&s, t);
                if (!(fabs(v - want[i].want) <= want[i].tol + 1e-12 * fabs(want[i].want)))
                    fail_msg("%s at %.0f: %.9f, want %.9f", want[i].ds, t, v, want[i].want);
            }
            free(s.v);
        }
    }
    free(res.devices);
    wa_clock_close(clk);
    siteconf_free(cfg);
    profile_set_free(ps);
    rm_tree(dir);
}

int live_main(int argc, char **argv)
{
    const struct CMUnitTest sim_tests[] = {
        cmocka_unit_test(test_weeks),
        cmocka_unit_test(test_faults),
        cmocka_unit_test(test_realtime_dead),
    };
    const struct CMUnitTest child_tests[] = {
        cmocka_unit_test(test_sigterm_child),
    };
    const struct CMUnitTest interop_tests[] = {
        cmocka_unit_test(test_jsmodbus),
    };
    if (argc >= 2 && strcmp(argv[1], "sim") == 0) {
        if (argc == 3)
            cmocka_set_test_filter(argv[2]);
        return cmocka_run_group_tests_name("collect-sim", sim_tests, NULL, NULL);
    }
    if (argc == 3 && strcmp(argv[1], "child") == 0) {
        wattaudit_bin = argv[2];
        return cmocka_run_group_tests_name("collect-child", child_tests, NULL, NULL);
    }
    if (argc == 2 && strcmp(argv[1], "interop") == 0)
        return cmocka_run_group_tests_name("collect-interop", interop_tests, NULL, NULL);
    fprintf(stderr, "usage: test_collect [sim [TEST] | child WATTAUDIT | interop]\n");
    return 2;
}
