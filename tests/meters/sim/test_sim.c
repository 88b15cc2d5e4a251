/*
 * Tests for meters/sim: the load models and energy integration as tables, then the simulator
 * itself served from a thread and read over real loopback TCP and a real pseudo-terminal by
 * libmodbus clients, by Debian's mbpoll, and by raw sockets for what no well-behaved client
 * sends.  Values are checked by decoding with profile_decode against sim_power/sim_energy at
 * the time of a stepped shared clock.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <modbus.h>

#include "common/common.h"
#include "meters/profile/profile.h"
#include "meters/sim/sim-private.h"
#include "meters/sim/sim.h"
#include "siteconf/siteconf.h"

#define TZ "Asia/Shanghai"

static int64_t at(const char *local)
{
    int64_t t;
    assert_int_equal(wa_time_parse(local, TZ, &t), 0);
    return t;
}

static sc_load_t load(const char *model, double w, double base_w, int count, int64_t from,
                      int64_t to)
{
    sc_load_t ld;
    memset(&ld, 0, sizeof ld);
    snprintf(ld.model, sizeof ld.model, "%s", model);
    ld.w = w;
    ld.base_w = base_w;
    ld.count = count;
    ld.from = from;
    ld.to = to;
    return ld;
}

/* ---- load models ------------------------------------------------------------------------ */

static void test_load_models(void **state)
{
    (void)state;
    /* wday: 0 Sunday .. 6 Saturday; hour local. */
    static const struct {
        const char *model;
        double w, base_w;
        int count;
        int64_t from, to;
        double hour;
        int wday;
        double t, want, tol;
    } cases[] = {
        {"office", 5000, 800, 1, INT64_MIN, INT64_MAX, 3.0, 2, 0, 800, 0}, /* night */
        {"office", 5000, 800, 1, INT64_MIN, INT64_MAX, 7.0, 2, 0, 800, 0},
        {"office", 5000, 800, 1, INT64_MIN, INT64_MAX, 8.0, 2, 0, 2900, 1e-9},   /* mid ramp */
        {"office", 5000, 800, 1, INT64_MIN, INT64_MAX, 10.0, 2, 0, 5000, 0},     /* working */
        {"office", 5000, 800, 1, INT64_MIN, INT64_MAX, 12.75, 2, 0, 3740, 1e-9}, /* lunch */
        {"office", 5000, 800, 1, INT64_MIN, INT64_MAX, 15.0, 5, 0, 5000, 0},     /* Friday */
        {"office", 5000, 800, 1, INT64_MIN, INT64_MAX, 18.0, 2, 0, 2900, 1e-9},
        {"office", 5000, 800, 1, INT64_MIN, INT64_MAX, 21.0, 2, 0, 800, 0},
        {"office", 5000, 800, 1, INT64_MIN, INT64_MAX, 10.0, 6, 0, 800, 0},   /* Saturday */
        {"office", 5000, 800, 1, INT64_MIN, INT64_MAX, 10.0, 0, 0, 800, 0},   /* Sunday */
        {"office", 5000, 800, 2, INT64_MIN, INT64_MAX, 10.0, 3, 0, 10000, 0}, /* x count */
        {"server", 350, 0, 8, INT64_MIN, INT64_MAX, 3.0, 0, 0, 2800, 0},
        {"server", 350, 0, 8, INT64_MIN, INT64_MAX, 12.0, 3, 0, 2800, 0},
        {"gpu_rig", 0, 0, 4, 1000, INT64_MAX, 12.0, 3, 999, 0, 0},                /* before from */
        {"gpu_rig", 0, 0, 4, 1000, INT64_MAX, 12.0, 3, 1000, 4800, 4800 * 0.015}, /* 1200 x 4 */
        {"gpu_rig", 0, 0, 4, 1000, 5000, 12.0, 3, 5000, 0, 0},                    /* at to */
        {"gpu_rig", 1000, 0, 3, INT64_MIN, INT64_MAX, 2.0, 1, 12345, 3000, 3000 * 0.015},
        {"asic", 0, 0, 1, INT64_MIN, INT64_MAX, 2.0, 1, 0, 3250, 0},    /* S19 */
        {"asic", 1323, 0, 2, INT64_MIN, INT64_MAX, 2.0, 1, 0, 2646, 0}, /* 2 x S9 */
        {"research_job", 2400, 0, 4, 5000, 9000, 10.0, 2, 4999, 0, 0},
        {"research_job", 2400, 0, 4, 5000, 9000, 10.0, 2, 5000, 9600, 0},
        {"research_job", 2400, 0, 4, 5000, 9000, 10.0, 2, 8999, 9600, 0},
        {"research_job", 2400, 0, 4, 5000, 9000, 10.0, 2, 9000, 0, 0},
        {"pc_mining", 75, 0, 25, INT64_MIN, INT64_MAX, 10.0, 2, 0, 0, 0}, /* at work */
        {"pc_mining", 75, 0, 25, INT64_MIN, INT64_MAX, 18.9, 2, 0, 0, 0},
        {"pc_mining", 75, 0, 25, INT64_MIN, INT64_MAX, 19.0, 2, 0, 1875, 0}, /* evening */
        {"pc_mining", 75, 0, 25, INT64_MIN, INT64_MAX, 3.0, 2, 0, 1875, 0},  /* night */
        {"pc_mining", 75, 0, 25, INT64_MIN, INT64_MAX, 6.99, 2, 0, 1875, 0},
        {"pc_mining", 75, 0, 25, INT64_MIN, INT64_MAX, 7.0, 2, 0, 0, 0},
        {"pc_mining", 75, 0, 25, INT64_MIN, INT64_MAX, 12.0, 6, 0, 1875, 0}, /* Saturday */
        {"pc_mining", 75, 0, 25, INT64_MIN, INT64_MAX, 12.0, 0, 0, 1875, 0}, /* Sunday */
        {"pc_mining", 0, 0, 10, INT64_MIN, INT64_MAX, 23.0, 4, 0, 400, 0},   /* default 40 W */
        {"constant", 95, 0, 1, INT64_MIN, INT64_MAX, 12.0, 3, 0, 95, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sc_load_t ld = load(cases[i].model, cases[i].w, cases[i].base_w, cases[i].count,
                            cases[i].from, cases[i].to);
        double p = sim_load_power(&ld, cases[i].hour, cases[i].wday, cases[i].t);
        if (fabs(p - cases[i].want) > cases[i].tol) {
            print_error("case %zu (%s at %.2f h, day %d, t %.0f): %g W, want %g +- %g\n", i,
                        cases[i].model, cases[i].hour, cases[i].wday, cases[i].t, p, cases[i].want,
                        cases[i].tol);
            fail();
        }
    }
}

/* The same models at real timestamps in the site's zone, through sim_power. */
static void test_power_local_time(void **state)
{
    (void)state;
    sc_sim_t s;
    static const struct {
        const char *when;
        double want;
    } cases[] = {
        {"2026-11-02T03:00", 700 + 25 * 75}, /* Monday night: base + miners */
        {"2026-11-02T10:00", 6500},          /* Monday working hours */
        {"2026-11-02T12:45", 700 + 0.7 * 5800},
        {"2026-11-02T20:00", 700 + 25 * 75},
        {"2026-11-07T10:00", 700 + 25 * 75}, /* Saturday */
        {"2026-11-08T15:00", 700 + 25 * 75}, /* Sunday */
        {"2026-11-09T09:30", 6500},          /* Monday again */
        {"2026-10-17T19:30", 700},           /* Saturday before the trojan arrives */
    };
    memset(&s, 0, sizeof s);
    s.enabled = 1;
    s.seed = 7;
    s.loads[0] = load("office", 6500, 700, 1, INT64_MIN, INT64_MAX);
    s.loads[1] = load("pc_mining", 75, 0, 25, at("2026-10-17T20:00"), INT64_MAX);
    s.n_loads = 2;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double p = sim_power(&s, TZ, (double)at(cases[i].when));
        if (fabs(p - cases[i].want) > 1e-6) {
            print_error("%s: %g W, want %g\n", cases[i].when, p, cases[i].want);
            fail();
        }
    }
    /* The same instant is a weekday night in Shanghai and Sunday 11:00 in Los Angeles. */
    assert_true(fabs(sim_power(&s, "America/Los_Angeles", (double)at("2026-11-02T03:00")) -
                     (700 + 25 * 75)) < 1e-6);
    assert_true(fabs(sim_power(&s, TZ, (double)at("2026-11-02T10:00")) - 6500) < 1e-6);
    /* Shanghai 18:00 on a Monday is 10:00 UTC: office hours there, and the miners sleep. */
    assert_true(fabs(sim_power(&s, "UTC", (double)at("2026-11-02T18:00")) - 6500) < 1e-6);
}

static void test_noise(void **state)
{
    (void)state;
    sc_sim_t s;
    const int n = 20000;
    double sum = 0, sum2 = 0, t0 = 1790000000.0;
    memset(&s, 0, sizeof s);
    s.enabled = 1;
    s.noise = 0.05;
    s.seed = 42;
    s.loads[0] = load("constant", 1000, 0, 1, INT64_MIN, INT64_MAX);
    s.n_loads = 1;
    for (int i = 0; i < n; i++) {
        double p = sim_power(&s, TZ, t0 + i);
        sum += p;
        sum2 += p * p;
    }
    double mean = sum / n, sd = sqrt(sum2 / n - mean * mean);
    print_message("noise 5%% on 1000 W over %d s: mean %.3f W, sd %.3f W\n", n, mean, sd);
    /* Standard errors: of the mean 50/sqrt(n) = 0.35 W, of the sd about 0.25 W. */
    assert_true(fabs(mean - 1000.0) < 1.5);
    assert_true(fabs(sd - 50.0) < 1.25);
    /* Deterministic: a function of (seed, second) only. */
    assert_true(sim_power(&s, TZ, t0 + 17.2) == sim_power(&s, TZ, t0 + 17.9));
    assert_true(sim_power(&s, TZ, t0 + 17) != sim_power(&s, TZ, t0 + 18));
    double a = sim_power(&s, TZ, t0 + 5);
    s.seed = 43;
    assert_true(sim_power(&s, TZ, t0 + 5) != a);
    s.seed = 42;
    assert_true(sim_power(&s, TZ, t0 + 5) == a);
}

/* ---- energy ----------------------------------------------------------------------------- */

static void test_energy(void **state)
{
    (void)state;
    sc_sim_t s;
    static const struct {
        const char *model;
        double w;
        int count;
        int64_t from, to;
        double t0, t1, want_wh, tol_wh;
    } cases[] = {
        {"constant", 1000, 1, INT64_MIN, INT64_MAX, 0, 3600, 1000, 1e-9},
        {"constant", 1000, 1, INT64_MIN, INT64_MAX, 3.3, 17.9, 1000 * 14.6 / 3600, 1e-9},
        {"constant", 1000, 1, INT64_MIN, INT64_MAX, 100, 100, 0, 0},
        {"constant", 1000, 1, INT64_MIN, INT64_MAX, 200, 100, 0, 0},
        {"server", 250, 4, INT64_MIN, INT64_MAX, 0, 7 * 86400, 1000 * 7 * 24, 1e-6},
        /* A step on the grid integrates exactly: the half segments at each edge add up. */
        {"research_job", 500, 1, 1000, 2000, 0, 3600, 500.0 * 1000 / 3600, 1e-9},
        /* Off the grid, each edge is off by at most one 10 s segment's worth. */
        {"research_job", 500, 1, 1005, 2003, 0, 3600, 500.0 * 998 / 3600, 2 * 500.0 * 10 / 3600},
        {"research_job", 500, 1, 1000, 2000, 1500, 1800, 500.0 * 300 / 3600, 1e-9},
        {"research_job", 500, 1, 1000, 2000, 2010, 3600, 0, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        memset(&s, 0, sizeof s);
        s.enabled = 1;
        s.loads[0] =
            load(cases[i].model, cases[i].w, 0, cases[i].count, cases[i].from, cases[i].to);
        s.n_loads = 1;
        double e = sim_energy(&s, TZ, cases[i].t0, cases[i].t1);
        if (fabs(e - cases[i].want_wh) > cases[i].tol_wh) {
            print_error("case %zu (%s): %.9f Wh, want %.9f +- %g\n", i, cases[i].model, e,
                        cases[i].want_wh, cases[i].tol_wh);
            fail();
        }
    }
}

/* Integrating forward in arbitrary steps gives what one integral over the span gives. */
static void test_energy_incremental(void **state)
{
    (void)state;
    sc_sim_t s;
    sim_tz_t z;
    double t0 = (double)at("2026-11-02T00:00"), t = t0, e = 0;
    uint64_t rng = 1;
    memset(&s, 0, sizeof s);
    s.enabled = 1;
    s.noise = 0.03;
    s.seed = 99;
    s.loads[0] = load("office", 5000, 800, 1, INT64_MIN, INT64_MAX);
    s.loads[1] = load("gpu_rig", 0, 0, 2, (int64_t)t0 + 86400 + 7, INT64_MAX);
    s.n_loads = 2;
    sim_tz_init(&z, TZ);
    while (t < t0 + 3 * 86400) {
        double dt = 0.5 + sim_unit(sim_next64(&rng)) * 120.0; /* 0.5 .. 120.5 s */
        e += sim_energy_tz(&s, &z, t, t + dt);
        t += dt;
    }
    double whole = sim_energy(&s, TZ, t0, t);
    print_message("3 days in random steps: %.6f Wh, in one: %.6f Wh\n", e, whole);
    assert_true(fabs(e - whole) < 1e-9 * whole);
}

/* ---- devices: values and the incremental energy of the register image ------------------- */

static char profile_dir[128];
static char tmp_dir[64];

static const char sunspec_profile[] =
    "vendor = \"SunSpec Alliance\";\n"
    "model = \"Model 203 test map\";\n"
    "source = \"SunSpec model 203, wye-connect three-phase meter, integer points with sunssf\";\n"
    "sunspec_model = 203;\n"
    "defaults = { function = \"holding\"; type = \"s16\"; order = \"ABCD\"; };\n"
    "registers = (\n"
    "  { channel = \"total\"; quantity = \"voltage\"; address = 8; sf = 15; unit = \"V\"; },\n"
    "  { channel = \"total\"; quantity = \"frequency\"; address = 16; sf = 17; unit = \"Hz\";\n"
    "    type = \"u16\"; na = [ 0xFFFF ]; },\n"
    "  { channel = \"total\"; quantity = \"power\"; address = 18; sf = 22; unit = \"W\";\n"
    "    na = [ 0x8000 ]; },\n"
    "  { channel = \"total\"; quantity = \"pf\"; address = 33; sf = 37; unit = \"%\"; },\n"
    "  { channel = \"total\"; quantity = \"energy_import\"; address = 46; sf = 54;\n"
    "    type = \"u32\"; unit = \"Wh\"; }\n"
    ");\n";

static profile_set_t *load_profiles(void)
{
    char err[512];
    const char *dirs[] = {WA_SOURCE_PROFILE_DIR, profile_dir};
    profile_set_t *ps = profile_set_load(dirs, 2, err, sizeof err);
    if (!ps)
        print_error("profiles: %s\n", err);
    assert_non_null(ps);
    return ps;
}

static siteconf_t *parse(const char *text)
{
    char err[512];
    siteconf_t *c = siteconf_parse(text, "test.conf", err, sizeof err);
    if (!c)
        print_error("config: %s\n", err);
    assert_non_null(c);
    return c;
}

static const char device_conf[] =
    "timezone = \"Asia/Shanghai\";\n"
    "sites = ( { id = \"s\"; name = \"S\"; buses = ( { id = \"gw\"; tcp = \"127.0.0.1:25999\";\n"
    "  devices = ( { id = \"m\"; unit = 1; profile = \"eastron-sdm630\"; channels = (\n"
    "    { id = \"l1\"; source = \"L1\"; simulate = { noise = 0.02; loads = (\n"
    "        { model = \"server\"; w = 420.0; count = 12; },\n"
    "        { model = \"gpu_rig\"; count = 4; from = \"2026-11-10T02:00\"; } ); }; },\n"
    "    { id = \"l2\"; source = \"L2\"; simulate = { loads = (\n"
    "        { model = \"office\"; w = 9000.0; base_w = 1500.0; } ); }; }\n"
    "  ); } ); } ); } );\n";

static void test_device_weeks(void **state)
{
    (void)state;
    siteconf_t *cfg = parse(device_conf);
    profile_set_t *ps = load_profiles();
    const sc_device_t *d = &cfg->sites[0].buses[0].devices[0];
    char err[256];
    double origin = (double)at("2026-11-02T00:00"), t = origin, step = 60.0;
    struct timespec a, b;
    sim_dev_t *dev =
        sim_dev_new(d, profile_set_find(ps, d->profile), "gw", TZ, origin, err, sizeof err);
    assert_non_null(dev);
    clock_gettime(CLOCK_MONOTONIC, &a);
    while (t < origin + 28 * 86400) {
        t += step;
        sim_dev_update(dev, t);
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    double secs = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
    print_message("4 weeks at 60 s steps (%d updates): %.2f s\n", (int)(28 * 1440), secs);
    assert_true(secs < 20.0);

    const sim_values_t *l1 = sim_dev_values(dev, "L1"), *l2 = sim_dev_values(dev, "L2");
    const sim_values_t *l3 = sim_dev_values(dev, "L3"), *tot = sim_dev_values(dev, "total");
    assert_non_null(l1);
    assert_non_null(tot);
    double e1 = sim_energy(&d->channels[0].sim, TZ, origin, t);
    double e2 = sim_energy(&d->channels[1].sim, TZ, origin, t);
    print_message("L1 %.3f kWh (truth %.3f), L2 %.3f kWh (truth %.3f)\n", l1->wh / 1000, e1 / 1000,
                  l2->wh / 1000, e2 / 1000);
    assert_true(fabs(l1->wh - e1) < 1e-9 * e1);
    assert_true(fabs(l2->wh - e2) < 1e-9 * e2);
    /* An unsimulated phase draws nothing; the total is the sum of the phases. */
    assert_true(l3->p == 0.0 && l3->wh == 0.0 && l3->i == 0.0);
    assert_true(fabs(tot->wh - (e1 + e2)) < 1e-9 * (e1 + e2));
    assert_true(fabs(tot->p - (l1->p + l2->p)) < 1e-9);
    assert_true(fabs(tot->i - (l1->i + l2->i)) < 1e-9);
    assert_true(l1->p == sim_power(&d->channels[0].sim, TZ, t));
    /* Plausible electrical values. */
    for (const sim_values_t *v = l1; v; v = v == l1 ? l2 : v == l2 ? l3 : NULL) {
        assert_true(v->v >= 227.7 && v->v <= 232.3);
        assert_true(v->pf >= 0.9 && v->pf <= 1.0);
        if (v->p > 0)
            assert_true(fabs(v->i - v->p / (v->v * v->pf)) < 1e-9);
    }
    assert_true(dev->freq >= 49.95 && dev->freq <= 50.05);
    /* Time going backwards leaves the energy registers alone. */
    double wh = l1->wh;
    sim_dev_update(dev, t - 3600);
    assert_true(l1->wh == wh);
    sim_dev_free(dev);
    profile_set_free(ps);
    siteconf_free(cfg);
}

/* Garbage is something profile_decode rejects, for every row of the shipped profiles that
 * can tell: a float, a row with "not available" patterns, a maximum, or a signed minimum.  An
 * unsigned counter with no maximum reads any pattern as a number; only its history can tell. */
static void test_garbage_rows(void **state)
{
    (void)state;
    profile_set_t *ps = load_profiles();
    size_t tried = 0, blind = 0;
    for (size_t i = 0; i < profile_set_count(ps); i++) {
        const profile_t *p = profile_set_at(ps, i);
        for (size_t r = 0; r < p->n_regs; r++) {
            const profile_reg_t *reg = &p->regs[r];
            int is_signed = reg->type == PROFILE_T_S16 || reg->type == PROFILE_T_S32 ||
                            reg->type == PROFILE_T_S64;
            /* The largest number the register can carry, in canonical units. */
            double top = (reg->type == PROFILE_T_U16   ? 65535.0
                          : reg->type == PROFILE_T_S16 ? 32767.0
                          : reg->type == PROFILE_T_U32 ? 4294967295.0
                          : reg->type == PROFILE_T_S32 ? 2147483647.0
                                                       : 9.2e18) *
                         fabs(reg->scale * reg->unit_factor);
            int can_tell = reg->n_sentinels > 0 || reg->type == PROFILE_T_F32 ||
                           reg->type == PROFILE_T_F64 || (!isnan(reg->max) && reg->max < top) ||
                           (is_signed && !isnan(reg->min));
            if (!can_tell) {
                blind++;
                continue;
            }
            for (uint64_t pick = 0; pick < 8; pick++) {
                uint16_t w[4];
                double v;
                sim_garbage_row(reg, 0, pick, w);
                tried++;
                if (profile_decode(reg, w, 0, &v) == 0)
                    fail_msg("%s line %d: garbage decodes to %g", p->name, reg->line, v);
            }
        }
    }
    print_message("garbage: %zu draws all rejected; %zu rows cannot tell garbage\n", tried, blind);
    assert_true(tried > 0);
    profile_set_free(ps);
}

/* Every row of every shipped profile decodes, and passes its own plausibility range, at the
 * energy origin and two days later: the simulator never serves what the collector would
 * reject, "not available" patterns included (SunSpec acc32 reads 0 as not accumulated). */
static void test_profiles_decode(void **state)
{
    (void)state;
    profile_set_t *ps = load_profiles();
    double origin = (double)at("2026-11-02T09:00");
    size_t checked = 0;
    for (size_t i = 0; i < profile_set_count(ps); i++) {
        const profile_t *p = profile_set_at(ps, i);
        sc_device_t d;
        sc_channel_t ch[64];
        size_t n = 0;
        char err[256];
        memset(&d, 0, sizeof d);
        snprintf(d.id, sizeof d.id, "dev-%zu", i);
        d.unit = 1;
        for (size_t c = 0; c < p->n_channels && n < 64; c++) {
            const char *name = p->channels[c];
            if (!strcmp(name, "total") || !strcmp(name, "inlet") || !strcmp(name, "inlet1"))
                continue; /* summed from the others */
            memset(&ch[n], 0, sizeof ch[n]);
            snprintf(ch[n].id, sizeof ch[n].id, "%s", name);
            snprintf(ch[n].source, sizeof ch[n].source, "%s", name);
            ch[n].sim.enabled = 1;
            ch[n].sim.noise = 0.02;
            ch[n].sim.seed = (uint32_t)(c + 1);
            ch[n].sim.loads[0] =
                load("server", 100.0 + 20.0 * (double)c, 0, 1, INT64_MIN, INT64_MAX);
            ch[n].sim.n_loads = 1;
            n++;
        }
        d.channels = ch;
        d.n_channels = n;
        sim_dev_t *dev = sim_dev_new(&d, p, "gw", TZ, origin, err, sizeof err);
        if (!dev)
            fail_msg("%s: %s", p->name, err);
        for (int k = 0; k < 2; k++) {
            sim_dev_update(dev, origin + k * 2 * 86400.0);
            for (size_t r = 0; r < p->n_regs; r++) {
                const profile_reg_t *reg = &p->regs[r];
                const sim_region_t *rg = &dev->region[reg->fn == PROFILE_FN_INPUT ? 1 : 0];
                int sf = 0;
                double v;
                if (reg->sf_address >= 0)
                    sf = (int16_t)rg->words[dev->row_addr[r] - reg->address +
                                            (uint32_t)reg->sf_address - rg->start];
                if (profile_decode(reg, rg->words + (dev->row_addr[r] - rg->start), sf, &v) != 0)
                    fail_msg("%s line %d (%s/%s) at +%d days: %s (value %g, sf %d)", p->name,
                             reg->line, reg->channel, profile_quantity_name(reg->quantity), 2 * k,
                             wa_strerror(errno), v, sf);
                checked++;
            }
        }
        sim_dev_free(dev);
    }
    print_message("%zu rows of %zu profiles decode\n", checked, profile_set_count(ps));
    profile_set_free(ps);
}

/* ---- the servers -------------------------------------------------------------------------- */

struct server {
    siteconf_t *cfg;
    profile_set_t *ps;
    wa_clock_t *clock_w, *clock_r;
    wa_log_t log;
    sim_opts_t o;
    sim_stats_t st;
    volatile sig_atomic_t stop;
    pthread_t tid;
    _Atomic int done;
    int rc, err_no, port;
    char err[512], ready[300], clock_path[300], tty[300];
    double t0;
};

static void *server_main(void *arg)
{
    struct server *s = arg;
    s->rc = sim_run(s->cfg, s->ps, &s->o, &s->st, s->err, sizeof s->err);
    s->err_no = errno;
    s->done = 1;
    return NULL;
}

#define SERVER_CONF                                                                                \
    "timezone = \"Asia/Shanghai\";\n"                                                              \
    "sites = ( { id = \"s\"; name = \"S\"; buses = (\n"                                            \
    " { id = \"gw\"; tcp = \"127.0.0.1:%d\"; devices = (\n"                                        \
    "  { id = \"m1\"; unit = 1; profile = \"eastron-sdm630\"; channels = (\n"                      \
    "    { id = \"l1\"; source = \"L1\"; simulate = { noise = 0.0; loads = (\n"                    \
    "        { model = \"constant\"; w = 1000.0; } ); }; },\n"                                     \
    "    { id = \"l2\"; source = \"L2\"; simulate = { noise = 0.02; loads = (\n"                   \
    "        { model = \"server\"; w = 400.0; count = 3; },\n"                                     \
    "        { model = \"gpu_rig\"; count = 2; from = \"2026-11-03T12:00\"; } ); }; },\n"          \
    "    { id = \"l3\"; source = \"L3\"; simulate = { loads = (\n"                                 \
    "        { model = \"office\"; w = 5000.0; base_w = 800.0; } ); }; } ); },\n"                  \
    "  { id = \"slow\"; unit = 2; profile = \"eastron-sdm630\"; faults = { timeout = 1.0; }; },\n" \
    "  { id = \"failing\"; unit = 3; profile = \"eastron-sdm630\"; faults = { exception = 1.0; "   \
    "}; },\n"                                                                                      \
    "  { id = \"flaky\"; unit = 4; profile = \"eastron-sdm630\"; faults = { drop = 1.0; }; },\n"   \
    "  { id = \"blocky\"; unit = 5; profile = \"eastron-sdm630\"; faults = { reject_over = 10; "   \
    "}; },\n"                                                                                      \
    "  { id = \"noisy\"; unit = 6; profile = \"eastron-sdm630\"; faults = { garbage = 1.0; };\n"   \
    "    channels = ( { id = \"l1\"; source = \"L1\"; simulate = { loads = (\n"                    \
    "        { model = \"constant\"; w = 1000.0; } ); }; } ); },\n"                                \
    "  { id = \"gone\"; unit = 7; profile = \"eastron-sdm630\"; faults = { dead = true; }; },\n"   \
    "  { id = \"ss\"; unit = 8; profile = \"test-sunspec-203\"; channels = (\n"                    \
    "    { id = \"total\"; simulate = { noise = 0.0; loads = (\n"                                  \
    "        { model = \"constant\"; w = 4321.0; } ); }; } ); } ); },\n"                           \
    " { id = \"rs\"; serial = { device = \"%s\"; baud = 9600; parity = \"even\"; }; devices = (\n" \
    "  { id = \"r1\"; unit = 3; profile = \"eastron-sdm120\"; channels = (\n"                      \
    "    { id = \"total\"; simulate = { noise = 0.0; loads = (\n"                                  \
    "        { model = \"constant\"; w = 2300.0; } ); }; } ); },\n"                                \
    "  { id = \"r2\"; unit = 9; profile = \"chint-dtsu666\"; channels = (\n"                       \
    "    { id = \"a\"; source = \"L1\"; simulate = { noise = 0.0; loads = (\n"                     \
    "        { model = \"asic\"; } ); }; } ); } ); }\n"                                            \
    "); } );\n"

/* Starts the simulator in a thread on the first free port of 25000-25999 from a per-process
 * offset, with a stepped clock at t0. */
static void server_start(struct server *s)
{
    char text[8192];
    memset(s, 0, sizeof *s);
    s->t0 = (double)at("2026-11-04T10:30") + 0.5;
    snprintf(s->clock_path, sizeof s->clock_path, "%s/clock", tmp_dir);
    snprintf(s->ready, sizeof s->ready, "%s/ready", tmp_dir);
    snprintf(s->tty, sizeof s->tty, "%s/ttyWA", tmp_dir);
    s->clock_w = wa_clock_create_stepped(s->clock_path, (int64_t)s->t0);
    assert_non_null(s->clock_w);
    assert_int_equal(wa_clock_set(s->clock_w, s->t0), 0);
    s->clock_r = wa_clock_open(s->clock_path);
    assert_non_null(s->clock_r);
    s->ps = load_profiles();
    for (int attempt = 0; attempt < 40; attempt++) {
        s->port = 25000 + (int)((getpid() * 7 + attempt * 13) % 1000);
        snprintf(text, sizeof text, SERVER_CONF, s->port, s->tty);
        s->cfg = parse(text);
        s->log = (wa_log_t){stderr, WA_LOG_WARN};
        s->o.log = &s->log;
        s->o.clock = s->clock_r;
        s->o.energy_origin = s->t0 - 86400;
        s->o.stop = &s->stop;
        s->o.ready_file = s->ready;
        s->stop = 0;
        s->done = 0;
        unlink(s->ready);
        assert_int_equal(pthread_create(&s->tid, NULL, server_main, s), 0);
        for (int i = 0; i < 500 && access(s->ready, F_OK) != 0; i++) {
            if (s->done)
                break;
            usleep(10000);
        }
        if (access(s->ready, F_OK) == 0)
            return;
        s->stop = 1;
        pthread_join(s->tid, NULL);
        siteconf_free(s->cfg);
        s->cfg = NULL;
        if (s->err_no != EADDRINUSE) {
            print_error("simulator did not start: %s\n", s->err);
            fail();
        }
    }
    fail_msg("no free port in 25000-25999");
}

static void server_stop(struct server *s)
{
    s->stop = 1;
    pthread_join(s->tid, NULL);
    if (s->rc != 0)
        print_error("sim_run: %s\n", s->err);
    assert_int_equal(s->rc, 0);
    assert_int_equal(access(s->ready, F_OK), -1); /* removed when serving ends */
    siteconf_free(s->cfg);
    profile_set_free(s->ps);
    wa_clock_close(s->clock_r);
    wa_clock_close(s->clock_w);
}

static modbus_t *tcp_client(const struct server *s, int unit)
{
    modbus_t *ctx = modbus_new_tcp("127.0.0.1", s->port);
    assert_non_null(ctx);
    assert_int_equal(modbus_connect(ctx), 0);
    modbus_set_slave(ctx, unit);
    /* Generous: a loaded, sanitized build must not turn a reply into a timeout. */
    modbus_set_response_timeout(ctx, 2, 0);
    return ctx;
}

static const profile_reg_t *row(const profile_t *p, const char *channel, profile_quantity_t q)
{
    for (size_t i = 0; i < p->n_regs; i++)
        if (p->regs[i].quantity == q && strcmp(p->regs[i].channel, channel) == 0)
            return &p->regs[i];
    fail_msg("no row %s/%d in %s", channel, (int)q, p->name);
    return NULL;
}

static int read_words(modbus_t *ctx, profile_fn_t fn, int addr, int n, uint16_t *w)
{
    return fn == PROFILE_FN_INPUT ? modbus_read_input_registers(ctx, addr, n, w)
                                  : modbus_read_registers(ctx, addr, n, w);
}

/* Reads one row and decodes it; returns profile_decode's result, or -2 if the read failed. */
static int read_row(modbus_t *ctx, const profile_t *p, const char *channel, profile_quantity_t q,
                    double *out)
{
    const profile_reg_t *r = row(p, channel, q);
    uint16_t w[4];
    if (read_words(ctx, r->fn, r->address, (int)profile_type_words(r->type), w) < 0)
        return -2;
    return profile_decode(r, w, 0, out);
}

static double read_value(modbus_t *ctx, const profile_t *p, const char *channel,
                         profile_quantity_t q)
{
    double v = NAN;
    int rc = read_row(ctx, p, channel, q, &v);
    if (rc != 0)
        fail_msg("%s/%s: read or decode failed: %s", channel, profile_quantity_name(q),
                 rc == -2 ? modbus_strerror(errno) : wa_strerror(errno));
    return v;
}

static int near(double got, double want, double rel)
{
    if (fabs(got - want) <= rel * fabs(want) + 1e-12)
        return 1;
    print_error("got %.9g, want %.9g (rel %g)\n", got, want, rel);
    return 0;
}

static void check_sdm630(struct server *s, modbus_t *ctx, double t)
{
    const profile_t *p = profile_set_find(s->ps, "eastron-sdm630");
    const sc_device_t *d = &s->cfg->sites[0].buses[0].devices[0];
    const sc_sim_t *l1 = &d->channels[0].sim, *l2 = &d->channels[1].sim, *l3 = &d->channels[2].sim;
    double origin = s->o.energy_origin;
    double p1 = sim_power(l1, TZ, t), p2 = sim_power(l2, TZ, t), p3 = sim_power(l3, TZ, t);
    double e1 = sim_energy(l1, TZ, origin, t), e2 = sim_energy(l2, TZ, origin, t);
    double e3 = sim_energy(l3, TZ, origin, t);

    /* float32 registers carry 24 bits: a relative error of 6e-8. */
    assert_true(near(read_value(ctx, p, "L1", Q_POWER), p1, 1e-7));
    assert_true(near(read_value(ctx, p, "L2", Q_POWER), p2, 1e-7));
    assert_true(near(read_value(ctx, p, "L3", Q_POWER), p3, 1e-7));
    assert_true(near(read_value(ctx, p, "total", Q_POWER), p1 + p2 + p3, 1e-7));
    assert_true(near(read_value(ctx, p, "L1", Q_ENERGY_IMPORT), e1, 1e-7));
    assert_true(near(read_value(ctx, p, "L2", Q_ENERGY_IMPORT), e2, 1e-7));
    assert_true(near(read_value(ctx, p, "L3", Q_ENERGY_IMPORT), e3, 1e-7));
    assert_true(near(read_value(ctx, p, "total", Q_ENERGY_IMPORT), e1 + e2 + e3, 1e-7));
    assert_true(read_value(ctx, p, "total", Q_ENERGY_EXPORT) == 0.0);
    double v1 = read_value(ctx, p, "L1", Q_VOLTAGE), pf1 = read_value(ctx, p, "L1", Q_PF);
    assert_true(v1 >= 227.7 && v1 <= 232.3);
    assert_true(pf1 >= 0.9 && pf1 <= 0.99);
    assert_true(near(read_value(ctx, p, "L1", Q_CURRENT), p1 / (v1 * pf1), 1e-6));
    double f = read_value(ctx, p, "total", Q_FREQUENCY);
    assert_true(f >= 49.95 && f <= 50.05);
}

static int mbpoll_floats(int port, int unit, int ref, int n, double *out)
{
    char cmd[256], line[256];
    int got = 0;
    FILE *f;
    snprintf(cmd, sizeof cmd,
             "mbpoll -m tcp -a %d -r %d -c %d -t 3:float -B -1 -p %d 127.0.0.1 2>&1", unit, ref, n,
             port);
    f = popen(cmd, "r");
    assert_non_null(f);
    while (fgets(line, sizeof line, f)) {
        int r;
        double v;
        /* mbpoll prints "[ref]: <tab>value" per float, ref counted from 1 in registers. */
        if (sscanf(line, "[%d]: %lf", &r, &v) == 2 && got < n && r == ref + 2 * got)
            out[got++] = v;
    }
    return pclose(f) == 0 ? got : -1;
}

static void test_tcp_values(void **state)
{
    (void)state;
    struct server s;
    server_start(&s);
    modbus_t *ctx = tcp_client(&s, 1);
    check_sdm630(&s, ctx, s.t0);
    /* Step the shared clock 2 days and 3 hours: the gpu rigs on L2 have started. */
    double t1 = s.t0 + 2 * 86400 + 3 * 3600 + 0.25;
    assert_int_equal(wa_clock_set(s.clock_w, t1), 0);
    check_sdm630(&s, ctx, t1);
    assert_true(sim_power(&s.cfg->sites[0].buses[0].devices[0].channels[1].sim, TZ, t1) > 3400);

    /* Debian's mbpoll, a master nobody here wrote: L1 and L2 power, 1-based reference 13
     * (address 0x000C), big-endian words. */
    double mb[2];
    assert_int_equal(mbpoll_floats(s.port, 1, 13, 2, mb), 2);
    print_message("mbpoll: L1 %.6g W, L2 %.6g W\n", mb[0], mb[1]);
    assert_true(near(mb[0], 1000.0, 1e-6));
    assert_true(
        near(mb[1], sim_power(&s.cfg->sites[0].buses[0].devices[0].channels[1].sim, TZ, t1), 1e-5));

    /* Several clients at once, interleaved. */
    modbus_t *c2 = tcp_client(&s, 1), *c3 = tcp_client(&s, 1);
    const profile_t *p = profile_set_find(s.ps, "eastron-sdm630");
    for (int i = 0; i < 10; i++) {
        modbus_t *c = i % 3 == 0 ? ctx : i % 3 == 1 ? c2 : c3;
        assert_true(read_value(c, p, "L1", Q_POWER) == 1000.0);
    }
    /* Unmapped registers inside the span read 0; outside it, exception 02. */
    uint16_t w[125];
    unsigned end = 0;
    for (size_t i = 0; i < p->n_regs; i++)
        if (p->regs[i].address + profile_type_words(p->regs[i].type) > end)
            end = p->regs[i].address + profile_type_words(p->regs[i].type);
    assert_int_equal(modbus_read_input_registers(ctx, 0x0100, 4, w), 4);
    assert_true(w[0] == 0 && w[3] == 0);
    assert_int_equal(modbus_read_input_registers(ctx, (int)end, 2, w), -1);
    assert_int_equal(errno, EMBXILADD);
    assert_int_equal(modbus_read_input_registers(ctx, (int)end - 2, 2, w), 2);
    assert_int_equal(modbus_read_input_registers(ctx, (int)end - 2, 4, w), -1); /* runs off */
    assert_int_equal(errno, EMBXILADD);
    assert_int_equal(modbus_read_registers(ctx, 0x0000, 2, w), -1); /* no holding map */
    assert_int_equal(errno, EMBXILADD);
    assert_int_equal(modbus_read_input_registers(ctx, 0, 125, w), 125);
    modbus_close(c2);
    modbus_free(c2);
    modbus_close(c3);
    modbus_free(c3);
    modbus_close(ctx);
    modbus_free(ctx);
    server_stop(&s);
    assert_true(s.st.by_fc[4] >= 30);
    assert_true(s.st.replies >= s.st.by_fc[4]);
}

static void test_tcp_faults(void **state)
{
    (void)state;
    struct server s;
    uint16_t w[32];
    double v;
    server_start(&s);
    const profile_t *p = profile_set_find(s.ps, "eastron-sdm630");

    static const struct {
        int unit, nregs, want_errno;
        const char *what;
    } cases[] = {
        {2, 2, ETIMEDOUT, "timeout"},
        {7, 2, ETIMEDOUT, "dead"},
        {3, 2, EMBXSFAIL, "exception"},
        {5, 20, EMBXILADD, "reject_over, long read"},
        {99, 2, EMBXGTAR, "unit not behind the gateway"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        modbus_t *ctx = tcp_client(&s, cases[i].unit);
        if (cases[i].want_errno == ETIMEDOUT)
            modbus_set_response_timeout(ctx, 0, 200000);
        int rc = modbus_read_input_registers(ctx, 0x000C, cases[i].nregs, w);
        if (rc != -1 || errno != cases[i].want_errno) {
            print_error("%s: rc %d, errno %d (%s), want %d\n", cases[i].what, rc, errno,
                        modbus_strerror(errno), cases[i].want_errno);
            fail();
        }
        modbus_close(ctx);
        modbus_free(ctx);
    }
    /* reject_over: short reads succeed. */
    modbus_t *ctx = tcp_client(&s, 5);
    assert_int_equal(modbus_read_input_registers(ctx, 0x0000, 10, w), 10);
    assert_int_equal(modbus_read_input_registers(ctx, 0x000C, 2, w), 2);
    modbus_close(ctx);
    modbus_free(ctx);
    /* garbage: every read decodes to a rejection. */
    ctx = tcp_client(&s, 6);
    for (int i = 0; i < 20; i++) {
        int rc = read_row(ctx, p, "L1", Q_POWER, &v);
        assert_int_equal(rc, -1);
        assert_true(errno == WA_ESENTINEL || errno == WA_ERANGE);
        assert_int_equal(read_row(ctx, p, "L1", Q_VOLTAGE, &v), -1);
    }
    modbus_close(ctx);
    modbus_free(ctx);
    /* A timed-out request leaves the connection usable for the next one. */
    ctx = tcp_client(&s, 2);
    modbus_set_response_timeout(ctx, 0, 200000);
    assert_int_equal(modbus_read_input_registers(ctx, 0x000C, 2, w), -1);
    modbus_set_response_timeout(ctx, 2, 0);
    modbus_set_slave(ctx, 1);
    assert_int_equal(modbus_read_input_registers(ctx, 0x000C, 2, w), 2);
    modbus_close(ctx);
    modbus_free(ctx);
    server_stop(&s);
    assert_true(s.st.timeouts >= 3);
    assert_true(s.st.garbage >= 40);
    assert_true(s.st.exceptions >= 3);
}

static int raw_connect(int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    struct timeval tv = {2, 0};
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

/* Sends bytes and returns what recv gives: the byte count, 0 when the server closed. */
static ssize_t raw_exchange(int fd, const uint8_t *req, size_t len, uint8_t *rsp, size_t max)
{
    assert_int_equal(send(fd, req, len, MSG_NOSIGNAL), (ssize_t)len);
    return recv(fd, rsp, max, 0);
}

static void test_tcp_raw(void **state)
{
    (void)state;
    struct server s;
    uint8_t rsp[300];
    server_start(&s);

    /* drop: the server closes the connection. */
    {
        static const uint8_t req[] = {0, 1, 0, 0, 0, 6, 4, 0x04, 0x00, 0x0C, 0x00, 0x02};
        int fd = raw_connect(s.port);
        assert_int_equal(raw_exchange(fd, req, sizeof req, rsp, sizeof rsp), 0);
        close(fd);
    }
    /* Malformed streams close the connection; nothing crashes. */
    static const struct {
        uint8_t bytes[16];
        size_t len;
        const char *what;
    } bad[] = {
        {{0, 1, 0x12, 0x34, 0, 6, 1, 4, 0, 0, 0, 2}, 12, "protocol id not 0"},
        {{0, 1, 0, 0, 0xFF, 0xFF, 1, 4, 0, 0, 0, 2}, 12, "length 65535"},
        {{0, 1, 0, 0, 0, 1, 1}, 7, "length 1"},
        {{0xde, 0xad, 0xbe, 0xef, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3}, 11, "noise"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int fd = raw_connect(s.port);
        ssize_t n = raw_exchange(fd, bad[i].bytes, bad[i].len, rsp, sizeof rsp);
        if (n != 0) {
            print_error("%s: recv %zd, want the connection closed\n", bad[i].what, n);
            fail();
        }
        close(fd);
    }
    /* Well-framed requests the simulator refuses, with the exception code expected. */
    static const struct {
        uint8_t bytes[32];
        size_t len;
        uint8_t fc, code;
        const char *what;
    } refused[] = {
        {{0, 2, 0, 0, 0, 6, 1, 0x06, 0x00, 0x0C, 0x12, 0x34}, 12, 0x86, 1, "write single"},
        {{0, 3, 0, 0, 0, 11, 1, 0x10, 0x00, 0x0C, 0x00, 0x02, 4, 1, 2, 3, 4},
         17,
         0x90,
         1,
         "write multiple"},
        {{0, 4, 0, 0, 0, 6, 1, 0x05, 0x00, 0x01, 0xFF, 0x00}, 12, 0x85, 1, "write coil"},
        {{0, 5, 0, 0, 0, 5, 1, 0x2B, 0x0E, 0x01, 0x00}, 11, 0xAB, 1, "device identification"},
        {{0, 6, 0, 0, 0, 2, 1, 0x41}, 8, 0xC1, 1, "undefined function"},
        {{0, 7, 0, 0, 0, 6, 1, 0x04, 0x00, 0x00, 0x00, 126}, 12, 0x84, 3, "126 registers"},
        {{0, 8, 0, 0, 0, 6, 1, 0x04, 0x00, 0x00, 0x00, 0x00}, 12, 0x84, 3, "0 registers"},
        {{0, 9, 0, 0, 0, 3, 1, 0x04, 0x00}, 9, 0x84, 3, "read without quantity"},
        {{0, 10, 0, 0, 0, 6, 1, 0x04, 0xFF, 0xFF, 0x00, 0x7D}, 12, 0x84, 2, "address 65535"},
    };
    int fd = raw_connect(s.port);
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        ssize_t n = raw_exchange(fd, refused[i].bytes, refused[i].len, rsp, sizeof rsp);
        if (n != 9 || rsp[0] != refused[i].bytes[0] || rsp[1] != refused[i].bytes[1] ||
            rsp[7] != refused[i].fc || rsp[8] != refused[i].code) {
            print_error("%s: %zd bytes, fc 0x%02x code %d\n", refused[i].what, n,
                        n > 8 ? rsp[7] : 0, n > 8 ? rsp[8] : -1);
            fail();
        }
    }
    /* Two requests in one segment: both answered, in order. */
    {
        static const uint8_t two[] = {0, 20, 0, 0, 0, 6, 1, 4, 0, 0x0C, 0, 2,
                                      0, 21, 0, 0, 0, 6, 1, 4, 0, 0x0E, 0, 2};
        size_t got = 0;
        assert_int_equal(send(fd, two, sizeof two, MSG_NOSIGNAL), (ssize_t)sizeof two);
        while (got < 26) {
            ssize_t n = recv(fd, rsp + got, sizeof rsp - got, 0);
            assert_true(n > 0);
            got += (size_t)n;
        }
        assert_int_equal(got, 26);
        assert_true(rsp[1] == 20 && rsp[7] == 4 && rsp[8] == 4);
        assert_true(rsp[14] == 21 && rsp[20] == 4 && rsp[21] == 4);
    }
    close(fd);
    /* Nothing was written, and the server still serves. */
    modbus_t *ctx = tcp_client(&s, 1);
    const profile_t *p = profile_set_find(s.ps, "eastron-sdm630");
    assert_true(read_value(ctx, p, "L1", Q_POWER) == 1000.0);
    assert_int_equal(modbus_write_register(ctx, 0x000C, 0x1234), -1);
    assert_int_equal(errno, EMBXILFUN);
    assert_true(read_value(ctx, p, "L1", Q_POWER) == 1000.0);
    modbus_close(ctx);
    modbus_free(ctx);
    server_stop(&s);
    assert_true(s.st.by_fc[0x06] >= 2);
    assert_int_equal(s.st.by_fc[0x10], 1);
    assert_int_equal(s.st.by_fc[0x05], 1);
    assert_int_equal(s.st.by_fc[0x2B], 1);
    assert_int_equal(s.st.by_fc[0x41], 1);
    assert_int_equal(s.st.dropped, 1);
}

/* Random frames, well framed or not, on TCP and on the serial line: the simulator answers
 * what it can, closes what it must, and keeps serving. */
static void test_random_input(void **state)
{
    (void)state;
    struct server s;
    uint64_t rng = 12345;
    uint8_t buf[300];
    server_start(&s);
    const profile_t *p = profile_set_find(s.ps, "eastron-sdm630");

    for (int conn = 0; conn < 20; conn++) {
        int fd = raw_connect(s.port);
        for (int i = 0; i < 50; i++) {
            uint64_t r = sim_next64(&rng);
            size_t pdu = 1 + (size_t)(r % 253), len;
            /* Mostly valid headers with random PDUs; now and then pure noise. */
            buf[0] = (uint8_t)i;
            buf[1] = (uint8_t)conn;
            buf[2] = buf[3] = 0;
            buf[4] = (uint8_t)((pdu + 1) >> 8);
            buf[5] = (uint8_t)(pdu + 1);
            buf[6] = (uint8_t)(r >> 8) % 2 ? 1 : (uint8_t)(r >> 16);
            for (size_t k = 7; k < 7 + pdu; k++)
                buf[k] = (uint8_t)sim_next64(&rng);
            len = 7 + pdu;
            if (r % 17 == 0)
                for (size_t k = 0; k < 7; k++)
                    buf[k] = (uint8_t)sim_next64(&rng);
            if (send(fd, buf, len, MSG_NOSIGNAL) < 0)
                break;
        }
        close(fd);
    }
    modbus_t *ctx = tcp_client(&s, 1);
    assert_true(read_value(ctx, p, "L1", Q_POWER) == 1000.0);
    modbus_close(ctx);
    modbus_free(ctx);

    /* The serial line: noise written straight to the pseudo-terminal. */
    int fd = open(s.tty, O_RDWR | O_NOCTTY);
    assert_true(fd >= 0);
    for (int i = 0; i < 40; i++) {
        for (size_t k = 0; k < 100; k++)
            buf[k] = (uint8_t)sim_next64(&rng);
        if (i % 2)
            buf[0] = 3; /* addressed to a device that is there */
        assert_int_equal(write(fd, buf, 100), 100);
    }
    close(fd);
    /* Replies to frames in the noise that happened to be valid are dropped once stale. */
    usleep(500000);
    ctx = modbus_new_rtu(s.tty, 9600, 'E', 8, 1);
    assert_non_null(ctx);
    assert_int_equal(modbus_connect(ctx), 0);
    modbus_set_slave(ctx, 3);
    modbus_set_response_timeout(ctx, 2, 0);
    assert_true(read_value(ctx, profile_set_find(s.ps, "eastron-sdm120"), "total", Q_POWER) ==
                2300.0);
    modbus_close(ctx);
    modbus_free(ctx);
    server_stop(&s);
    print_message("random input: %llu requests parsed, %llu replies\n",
                  (unsigned long long)s.st.requests, (unsigned long long)s.st.replies);
}

static void test_sunspec(void **state)
{
    (void)state;
    struct server s;
    uint16_t w[125];
    server_start(&s);
    modbus_t *ctx = tcp_client(&s, 8);
    const profile_t *p = profile_set_find(s.ps, "test-sunspec-203");
    assert_non_null(p);

    assert_int_equal(modbus_read_registers(ctx, 40000, 4, w), 4);
    assert_int_equal(w[0], 0x5375); /* "SunS" */
    assert_int_equal(w[1], 0x6E53);
    assert_int_equal(w[2], 1); /* common model */
    assert_int_equal(w[3], 66);
    assert_int_equal(modbus_read_registers(ctx, 40004, 16, w), 16);
    assert_int_equal(w[0], ('w' << 8) | 'a');
    assert_int_equal(w[4], ('t' << 8) | '-');
    assert_int_equal(w[6], 'm' << 8);
    assert_int_equal(modbus_read_registers(ctx, 40070, 2, w), 2);
    assert_int_equal(w[0], 203);
    assert_int_equal(w[1], 105);
    assert_int_equal(modbus_read_registers(ctx, 40070 + 2 + 105, 2, w), 2);
    assert_int_equal(w[0], 0xFFFF); /* end marker */
    assert_int_equal(w[1], 0);
    assert_int_equal(modbus_read_registers(ctx, 40070 + 2 + 105 + 2, 1, w), -1);
    assert_int_equal(errno, EMBXILADD);
    assert_int_equal(modbus_read_registers(ctx, 0, 2, w), -1); /* not at 0: only at 40000 */
    assert_int_equal(errno, EMBXILADD);

    /* The model in one read, each row decoded with the sunssf served beside it. */
    assert_int_equal(modbus_read_registers(ctx, 40070, 60, w), 60);
    const sc_sim_t *sim = &s.cfg->sites[0].buses[0].devices[7].channels[0].sim;
    double e = sim_energy(sim, TZ, s.o.energy_origin, s.t0);
    static const struct {
        profile_quantity_t q;
        double lo, hi;
    } want[] = {
        {Q_POWER, 4321, 4321},
        {Q_VOLTAGE, 227.7, 232.3},
        {Q_FREQUENCY, 49.95, 50.05},
        {Q_PF, 0.9, 0.99},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const profile_reg_t *r = row(p, "total", want[i].q);
        int sf = (int16_t)w[r->sf_address];
        double v;
        assert_int_equal(profile_decode(r, w + r->address, sf, &v), 0);
        double res = pow(10.0, sf) * r->unit_factor;
        print_message("SunSpec %s: %g (sunssf %d)\n", profile_quantity_name(want[i].q), v, sf);
        assert_true(v >= want[i].lo - res / 2 - 1e-9 && v <= want[i].hi + res / 2 + 1e-9);
        assert_true(res <= 0.01 * (want[i].hi > 1 ? want[i].hi : 1) || want[i].q == Q_POWER);
    }
    const profile_reg_t *r = row(p, "total", Q_ENERGY_IMPORT);
    double v;
    int sf = (int16_t)w[r->sf_address];
    assert_int_equal(profile_decode(r, w + r->address, sf, &v), 0);
    print_message("SunSpec energy: %g Wh (truth %g, sunssf %d)\n", v, e, sf);
    assert_true(fabs(v - e) <= pow(10.0, sf) / 2 + 1e-6);
    modbus_close(ctx);
    modbus_free(ctx);
    server_stop(&s);
}

static void test_rtu(void **state)
{
    (void)state;
    struct server s;
    char target[256];
    ssize_t n;
    uint16_t w[4];
    /* An old link at the device path is replaced. */
    snprintf(target, sizeof target, "%s/ttyWA", tmp_dir);
    unlink(target);
    assert_int_equal(symlink("/nonexistent", target), 0);
    server_start(&s);
    n = readlink(s.tty, target, sizeof target - 1);
    assert_true(n > 0);
    target[n] = '\0';
    assert_true(strncmp(target, "/dev/pts/", 9) == 0);

    modbus_t *ctx = modbus_new_rtu(s.tty, 9600, 'E', 8, 1);
    assert_non_null(ctx);
    assert_int_equal(modbus_connect(ctx), 0);
    modbus_set_response_timeout(ctx, 2, 0);
    modbus_set_slave(ctx, 3);
    const profile_t *p = profile_set_find(s.ps, "eastron-sdm120");
    const sc_device_t *d = &s.cfg->sites[0].buses[1].devices[0];
    assert_true(read_value(ctx, p, "total", Q_POWER) == 2300.0);
    double e = sim_energy(&d->channels[0].sim, TZ, s.o.energy_origin, s.t0);
    assert_true(near(read_value(ctx, p, "total", Q_ENERGY_IMPORT), e, 1e-7));
    double v = read_value(ctx, p, "total", Q_VOLTAGE);
    assert_true(v >= 227.7 && v <= 232.3);
    /* Second device on the line: holding registers, scaled floats. */
    modbus_set_slave(ctx, 9);
    const profile_t *q = profile_set_find(s.ps, "chint-dtsu666");
    assert_true(near(read_value(ctx, q, "L1", Q_POWER), 3250.0, 1e-6));
    assert_true(near(read_value(ctx, q, "total", Q_POWER), 3250.0, 1e-6));
    assert_true(read_value(ctx, q, "L2", Q_POWER) == 0.0);
    /* A unit nobody on the line has: silence. */
    modbus_set_slave(ctx, 5);
    modbus_set_response_timeout(ctx, 0, 200000);
    assert_int_equal(modbus_read_input_registers(ctx, 0, 2, w), -1);
    assert_int_equal(errno, ETIMEDOUT);
    modbus_set_response_timeout(ctx, 2, 0);
    /* Writes are refused with exception 01. */
    modbus_set_slave(ctx, 3);
    assert_int_equal(modbus_write_register(ctx, 0x000C, 1), -1);
    assert_int_equal(errno, EMBXILFUN);
    assert_true(read_value(ctx, p, "total", Q_POWER) == 2300.0);
    /* The clock moves; so do the readings. */
    assert_int_equal(wa_clock_set(s.clock_w, s.t0 + 7200), 0);
    e = sim_energy(&d->channels[0].sim, TZ, s.o.energy_origin, s.t0 + 7200);
    assert_true(near(read_value(ctx, p, "total", Q_ENERGY_IMPORT), e, 1e-7));
    /* A reply nobody reads is dropped once stale, so a later reader never takes it for its
     * own. */
    {
        uint8_t req[8] = {3, 4, 0, 0, 0, 2};
        uint16_t crc = sim_crc16(req, 6);
        int queued = -1, raw = open(s.tty, O_RDWR | O_NOCTTY);
        assert_true(raw >= 0);
        req[6] = (uint8_t)(crc & 0xFF); /* CRC goes low byte first */
        req[7] = (uint8_t)(crc >> 8);
        assert_int_equal(write(raw, req, sizeof req), (ssize_t)sizeof req);
        usleep(50000);
        assert_int_equal(ioctl(raw, FIONREAD, &queued), 0);
        assert_int_equal(queued, 9); /* address, function, byte count, 4 data bytes, CRC */
        usleep(500000);
        assert_int_equal(ioctl(raw, FIONREAD, &queued), 0);
        assert_int_equal(queued, 0);
        close(raw);
    }
    /* A client that closes and comes back finds the line working. */
    modbus_close(ctx);
    assert_int_equal(modbus_connect(ctx), 0);
    assert_true(read_value(ctx, p, "total", Q_POWER) == 2300.0);
    modbus_close(ctx);
    modbus_free(ctx);
    server_stop(&s);
    assert_int_equal(access(s.tty, F_OK), -1); /* link removed */
    assert_true(s.st.by_fc[6] == 1);
}

static void test_rtu_refuses_file(void **state)
{
    (void)state;
    char path[300], text[8192], err[512];
    FILE *f;
    snprintf(path, sizeof path, "%s/notalink", tmp_dir);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("precious\n", f);
    fclose(f);
    snprintf(text, sizeof text, SERVER_CONF, 25999, path);
    siteconf_t *cfg = parse(text);
    profile_set_t *ps = load_profiles();
    volatile sig_atomic_t stop = 1;
    sim_opts_t o = {.stop = &stop};
    sim_stats_t st;
    /* Port 25999 may be taken by someone else: the serial check is what must fail, and it
     * runs after the TCP listener either way, so only accept the serial message. */
    assert_int_equal(sim_run(cfg, ps, &o, &st, err, sizeof err), -1);
    if (strstr(err, "cannot listen") == NULL) {
        assert_non_null(strstr(err, "not a symlink"));
        assert_int_equal(errno, EEXIST);
    }
    struct stat sb;
    assert_int_equal(lstat(path, &sb), 0);
    assert_true(S_ISREG(sb.st_mode));
    profile_set_free(ps);
    siteconf_free(cfg);
}

/* Requests per second one client gets over loopback: a quick figure, not a benchmark. */
static void test_throughput(void **state)
{
    (void)state;
    struct server s;
    struct timespec a, b;
    uint16_t w[80];
    const int n = 3000;
    server_start(&s);
    modbus_t *ctx = tcp_client(&s, 1);
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (int i = 0; i < n; i++)
        assert_int_equal(modbus_read_input_registers(ctx, 0, 76, w), 76);
    clock_gettime(CLOCK_MONOTONIC, &b);
    double secs = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
    print_message("TCP loopback, one client, 76-register reads: %.0f requests/s\n", n / secs);
    modbus_close(ctx);
    modbus_free(ctx);

    ctx = modbus_new_rtu(s.tty, 9600, 'E', 8, 1);
    assert_non_null(ctx);
    assert_int_equal(modbus_connect(ctx), 0);
    modbus_set_slave(ctx, 3);
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (int i = 0; i < n / 3; i++)
        assert_int_equal(modbus_read_input_registers(ctx, 0, 76, w), 76);
    clock_gettime(CLOCK_MONOTONIC, &b);
    secs = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
    print_message("RTU on a pseudo-terminal, 76-register reads: %.0f requests/s\n", (n / 3) / secs);
    modbus_close(ctx);
    modbus_free(ctx);
    server_stop(&s);
    assert_int_equal(s.st.replies, (uint64_t)(n + n / 3));
}

static int setup(void **state)
{
    char path[300];
    FILE *f;
    (void)state;
    snprintf(tmp_dir, sizeof tmp_dir, "/tmp/wa-test-sim-XXXXXX");
    if (!mkdtemp(tmp_dir))
        return -1;
    snprintf(profile_dir, sizeof profile_dir, "%s/profiles", tmp_dir);
    if (mkdir(profile_dir, 0755) != 0)
        return -1;
    snprintf(path, sizeof path, "%s/test-sunspec-203.conf", profile_dir);
    if (!(f = fopen(path, "w")))
        return -1;
    fputs(sunspec_profile, f);
    fclose(f);
    return 0;
}

static int teardown(void **state)
{
    char cmd[400];
    (void)state;
    snprintf(cmd, sizeof cmd, "rm -rf -- '%s'", tmp_dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* test_hosts.c: the simulated hosts' tests, `test_sim hosts` and `test_sim prometheus`. */
int sim_hosts_main(const char *group);

int main(int argc, char **argv)
{
    if (argc > 1)
        return sim_hosts_main(argv[1]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load_models),
        cmocka_unit_test(test_power_local_time),
        cmocka_unit_test(test_noise),
        cmocka_unit_test(test_energy),
        cmocka_unit_test(test_energy_incremental),
        cmocka_unit_test(test_device_weeks),
        cmocka_unit_test(test_garbage_rows),
        cmocka_unit_test(test_profiles_decode),
        cmocka_unit_test(test_tcp_values),
        cmocka_unit_test(test_tcp_faults),
        cmocka_unit_test(test_tcp_raw),
        cmocka_unit_test(test_random_input),
        cmocka_unit_test(test_sunspec),
        cmocka_unit_test(test_rtu),
        cmocka_unit_test(test_rtu_refuses_file),
        cmocka_unit_test(test_throughput),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
