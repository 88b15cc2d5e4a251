/*
 * The analysis module's channel layer: the pieces (quantiles, PELT, the split, the rig
 * estimate) against independent computations, then the scenario suite: a table of channels
 * with ground truth, built from the simulator's load models (meters/sim, sim_power and
 * sim_energy) and from the real traces in shared/data/real with loads injected into them.
 *
 * The suite fails on any missed positive, any finding on a negative that is not explained by
 * a declaration, an onset off by more than 2 h (or two samples on coarse data), a step off by
 * more than 10%, an excess energy off by more than 0.5% on simulated channels (real traces:
 * 10%, since the step is measured against a building's own day-to-day variation), or a
 * channel energy off by more than 0.5%.  docs/analysis.md explains the detection boundary that
 * the last cases probe.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gsl/gsl_rng.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>

#include "analysis/analysis.h"
#include "analysis/detect-private.h"
#include "common/common.h"
#include "meters/sim/sim.h"

#define DAY 86400.0
#define NONE 0.0 /* a load's `to`: never ends */

/* ---- the pieces ---- */

static void test_kind_names(void **state)
{
    (void)state;
    assert_string_equal(an_kind_name(AN_FLAT_24X7), "flat_24x7");
    assert_string_equal(an_kind_name(AN_STEP_UP), "step_up");
    assert_string_equal(an_kind_name(AN_OFF_HOURS), "off_hours");
}

static void test_pelt_table(void **state)
{
    static const struct {
        const char *name;
        size_t n;
        size_t cp[3];     /* true change points (first index of each new segment) */
        double level[4];
        double sigma;
        size_t want;      /* how many PELT must find */
    } cases[] = {
        {"no change", 60, {0}, {10}, 1.0, 0},
        {"one step of 4 sd", 60, {30}, {10, 14}, 1.0, 1},
        {"up and down (a 3-day job)", 60, {20, 23}, {10, 20, 10}, 1.0, 2},
        {"three rigs a few days apart", 60, {20, 23, 27}, {0, 12, 24, 36}, 1.0, 3},
        {"first day", 30, {1}, {5, 15}, 1.0, 1},
    };
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        double x[64];
        size_t cp[64], seg = 0;
        gsl_rng_set(r, 11 + c);
        for (size_t i = 0; i < cases[c].n; i++) {
            while (seg < cases[c].want && i >= cases[c].cp[seg])
                seg++;
            x[i] = cases[c].level[seg] + gsl_ran_gaussian(r, cases[c].sigma);
        }
        size_t n = an_pelt(x, cases[c].n, cases[c].sigma, 3.0 * log((double)cases[c].n), cp);
        print_message("pelt %-30s found %zu\n", cases[c].name, n);
        assert_int_equal(n, cases[c].want);
        for (size_t j = 0; j < n; j++)
            assert_true(labs((long)cp[j] - (long)cases[c].cp[j]) <= 1);
    }
    gsl_rng_free(r);
}

static void test_split(void **state)
{
    double r[200], step, t;
    (void)state;
    for (int i = 0; i < 200; i++)
        r[i] = (i >= 137 ? 50.0 : 0.0) + ((i * 7919) % 13 - 6) * 0.5;
    r[20] = NAN;
    r[140] = NAN;
    long k = an_split(r, NULL, 0, 200, 1, &step, &t);
    assert_int_equal(k, 137);
    assert_true(fabs(step - 50.0) < 1.0);
    assert_true(t > 20.0);
    r[0] = 1.0;
    for (int i = 1; i < 200; i++)
        r[i] = NAN;
    assert_int_equal(an_split(r, NULL, 0, 200, 1, &step, &t), -1);
}

static void test_rig_estimate(void **state)
{
    /* The first kind (rig_kind, rigs_min, rigs_max) keeps its old rule; `fits` lists every kind
     * whose power fits, the first one first, then in catalogue order (gpu_rig, asic,
     * office_pc): ranges widened by 5%, so a GPU rig is 950-1575 W, an ASIC 1235-3675 W and
     * an office PC 38-126 W. */
    static const struct {
        double step;
        const char *only;
        const char *kind;
        int lo, hi, fits;
        an_rig_basis_t basis;
        const char *all;
    } cases[] = {
        {1200, NULL, "gpu_rig", 1, 1, 1, AN_RIG_POWER_ONLY, "1 gpu_rig, or 10-31 office_pc"},
        {3250, NULL, "asic", 1, 2, 1, AN_RIG_POWER_ONLY, /* an S19: one ASIC (or two S9) */
         "1-2 asic, or 3 gpu_rig, or 26-85 office_pc"},
        {1323, NULL, "gpu_rig", 1, 1, 1, AN_RIG_POWER_ONLY, /* an S9 is also one GPU rig */
         "1 gpu_rig, or 1 asic, or 11-34 office_pc"},
        {2400, NULL, "asic", 1, 1, 1, AN_RIG_POWER_ONLY, /* fewer units, then order */
         "1 asic, or 2 gpu_rig, or 20-63 office_pc"},
        {3600, NULL, "asic", 1, 2, 1, AN_RIG_POWER_ONLY, /* the demo's lab: 3 GPU rigs */
         "1-2 asic, or 3 gpu_rig, or 29-94 office_pc"},
        {4800, NULL, "asic", 2, 3, 1, AN_RIG_POWER_ONLY, /* the demo's incomer: 4 GPU rigs */
         "2-3 asic, or 4-5 gpu_rig, or 39-126 office_pc"},
        {1000, NULL, "gpu_rig", 1, 1, 1, AN_RIG_POWER_ONLY, /* 999.9 W still fits a 1 kW rig */
         "1 gpu_rig, or 8-26 office_pc"},
        {1200, "office_pc", "office_pc", 10, 31, 1, AN_RIG_SCHEDULE, "10-31 office_pc"},
        {300, NULL, "office_pc", 3, 7, 1, AN_RIG_ONLY_FIT, "3-7 office_pc"},
        {20, NULL, "office_pc", 1, 1, 0, AN_RIG_NEAREST, "1 office_pc"}, /* below one PC */
    };
    size_t n;
    const an_rig_t *cat = an_rigs_builtin(&n);
    (void)state;
    assert_true(n >= 3);
    for (size_t i = 0; i < n; i++)
        assert_true(strlen(cat[i].source) > 20);
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        an_finding_t f;
        char all[256];
        memset(&f, 0, sizeof f);
        int rc = an_rig_estimate(cat, n, cases[c].step, cases[c].only, &f);
        an_rig_fits_format(&f, all, sizeof all);
        print_message("rigs %.0f W -> %s %d..%d (%d): %s [%s]\n", cases[c].step, f.rig_kind,
                      f.rigs_min, f.rigs_max, rc, all, an_rig_basis_name(f.rig_basis));
        assert_int_equal(rc, cases[c].fits);
        assert_string_equal(f.rig_kind, cases[c].kind);
        assert_int_equal(f.rigs_min, cases[c].lo);
        assert_int_equal(f.rigs_max, cases[c].hi);
        assert_int_equal(f.rig_basis, cases[c].basis);
        assert_string_equal(all, cases[c].all);
        /* The first fit is the compatible triple. */
        assert_string_equal(f.rig_fits[0].kind, f.rig_kind);
        assert_int_equal(f.rig_fits[0].min, f.rigs_min);
        assert_int_equal(f.rig_fits[0].max, f.rigs_max);
    }
    /* A site's own catalogue replaces the built-in one. */
    an_rig_t mine[] = {{"s19xp", 3000, 3100, "site inventory"}};
    an_finding_t f;
    memset(&f, 0, sizeof f);
    assert_int_equal(an_rig_estimate(mine, 1, 6100, NULL, &f), 1);
    assert_string_equal(f.rig_kind, "s19xp");
    assert_int_equal(f.rigs_min, 2);
    assert_int_equal(f.rig_basis, AN_RIG_ONLY_FIT);
    assert_int_equal(an_rig_estimate(mine, 0, 6100, NULL, &f), -1);
    assert_int_equal(errno, EINVAL);
    assert_int_equal(an_rig_estimate(mine, 1, 0, NULL, &f), -1);
    /* A failed estimate leaves none behind. */
    assert_string_equal(f.rig_kind, "");
    assert_int_equal(f.n_rig_fits, 0);
    assert_int_equal(f.rig_basis, AN_RIG_NONE);
    /* Truncation: the length it would need, as snprintf. */
    char tiny[8];
    memset(&f, 0, sizeof f);
    an_rig_estimate(cat, n, 4800, NULL, &f);
    assert_int_equal(an_rig_fits_format(&f, tiny, sizeof tiny),
                     (int)strlen("2-3 asic, or 4-5 gpu_rig, or 39-126 office_pc"));
    assert_int_equal(strlen(tiny), sizeof tiny - 1);
    assert_string_equal(an_rig_basis_name(AN_RIG_POWER_ONLY), "power_only");
    assert_true(strlen(an_rig_basis_text(AN_RIG_POWER_ONLY)) > 10);
}

/* Daily percentiles, hourly means and integrals against GSL on sorted copies. */
static void test_days_and_shape(void **state)
{
    /* 1-minute data: the days are long enough for the sampled-pivot path of the tails. */
    enum { STEP = 60, SPD = 1440, N = 7 * SPD };
    double *w = malloc(N * sizeof *w), sorted[SPD];
    an_work_t wk;
    an_channel_t ch;
    int64_t start;
    (void)state;
    assert_int_equal(wa_time_parse("2026-03-02T00:00", "Asia/Shanghai", &start), 0);
    for (int i = 0; i < N; i++)
        w[i] = 1000.0 + 500.0 * sin(i * 0.37) + (i % SPD >= 480 && i % SPD < 1080 ? 3000 : 0) +
               (i % 97 == 0 ? 2000 : 0) + (i / SPD == 3 ? 0.0 : 0.001 * i);
    /* Ties: day 5 holds one value 600 times, where a sampled pivot lands on a tie. */
    for (int i = 5 * SPD; i < 5 * SPD + 600; i++)
        w[i] = 1234.5;
    w[5] = NAN;
    memset(&wk, 0, sizeof wk);
    memset(&ch, 0, sizeof ch);
    wk.w = w;
    wk.n = N;
    wk.start = start;
    wk.step = STEP;
    wk.tz = "Asia/Shanghai";
    wk.spd = 90000 / STEP + 2;
    wk.scratch = malloc((2 * wk.spd + 16) * sizeof *wk.scratch);
    assert_int_equal(an_days_build(&wk, &ch), 0);
    wk.dscratch = malloc((4 * wk.n_days + 512) * sizeof *wk.dscratch);
    assert_int_equal(wk.n_days, 7);
    for (size_t d = 0; d < wk.n_days; d++) {
        size_t m = 0;
        assert_int_equal(wk.days[d].i0, d * SPD);
        for (size_t i = wk.days[d].i0; i < wk.days[d].i1; i++)
            if (isfinite(w[i]))
                sorted[m++] = w[i];
        gsl_sort(sorted, 1, m);
        assert_float_equal(wk.days[d].p_lo, gsl_stats_quantile_from_sorted_data(sorted, 1, m, 0.025), 1e-9);
        assert_float_equal(wk.days[d].p_hi, gsl_stats_quantile_from_sorted_data(sorted, 1, m, 0.975), 1e-9);
    }
    assert_int_equal(ch.n_gaps, 1);
    double kwh = 0;
    for (int i = 0; i < N; i++)
        if (isfinite(w[i]))
            kwh += w[i] * STEP / 3.6e6;
    assert_float_equal(ch.kwh_integrated, kwh, 1e-9);
    /* 2026-03-07 and 08 are the weekend. */
    assert_false(wk.days[0].weekend);
    assert_true(wk.days[5].weekend && wk.days[6].weekend);
    an_shape_compute(&wk, &ch.shape);
    print_message("shape: base %.0f peak %.0f lf %.3f night/day %.3f daily amp %.3f weekly %.3f\n",
                  ch.shape.near_base_w, ch.shape.near_peak_w, ch.shape.load_factor,
                  ch.shape.night_day_ratio, ch.shape.daily_amplitude, ch.shape.weekly_amplitude);
    assert_true(ch.shape.daily_amplitude > 0.3);
    assert_true(ch.shape.weekly_amplitude < 0.05);
    assert_true(ch.shape.night_day_ratio < 0.4);
    free(wk.days);
    free(wk.scratch);
    free(wk.dscratch);
    free(w);
}

static void test_bad_input(void **state)
{
    double w[100];
    an_channel_t ch;
    char err[128];
    (void)state;
    for (int i = 0; i < 100; i++)
        w[i] = 5.0;
    assert_int_equal(an_channel_analyze(w, 100, 0, 60, NULL, &ch, err, sizeof err), -1);
    assert_int_equal(errno, EINVAL);
    assert_non_null(strstr(err, "two days"));
    assert_int_equal(an_channel_analyze(w, 100, 0, 0, NULL, &ch, err, sizeof err), -1);
    for (int i = 0; i < 100; i++)
        w[i] = NAN;
    assert_int_equal(an_channel_analyze(w, 100, 0, 3600, NULL, &ch, err, sizeof err), -1);
    assert_int_equal(errno, EINVAL);
    an_channel_free(NULL);
}


/* The detection boundary: a step is reported from max(min_step_w, noise_k * sigma_b), where
 * sigma_b is the robust day-to-day noise of the daily base.  For white noise of sd sigma at s
 * samples an hour over h base hours a day, sigma_b ~ 1.2533 sigma / sqrt(s h) (the median of h
 * hourly means).  A flat 3 kW channel with sd 300 W at 1 min: sigma_b ~ 10 W, boundary ~ 50 W.
 * A step of 1.5 boundaries is found, sized within 10%; one of 0.6 is not reported. */
static void test_boundary(void **state)
{
    enum { STEP = 60, DAYS = 28, N = DAYS * 1440 };
    double *w = malloc(N * sizeof *w), sigma_b;
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    int64_t start;
    an_opts_t o;
    (void)state;
    assert_int_equal(wa_time_parse("2026-03-02T00:00", "Asia/Shanghai", &start), 0);
    memset(&o, 0, sizeof o);
    o.tz = "Asia/Shanghai";
    o.min_step_w = 10.0; /* let the noise decide */

    /* sigma_b of the channel without a load, through the channel layer's own steps. */
    gsl_rng_set(r, 99);
    for (int i = 0; i < N; i++)
        w[i] = 3000.0 + gsl_ran_gaussian(r, 300.0);
    {
        an_work_t wk;
        an_channel_t ch;
        memset(&wk, 0, sizeof wk);
        memset(&ch, 0, sizeof ch);
        wk.w = w;
        wk.n = N;
        wk.start = start;
        wk.step = STEP;
        wk.tz = o.tz;
        wk.spd = 90000 / STEP + 2;
        wk.scratch = malloc((2 * wk.spd + 16) * sizeof *wk.scratch);
        assert_int_equal(an_days_build(&wk, &ch), 0);
        wk.dscratch = malloc((4 * wk.n_days + 512) * sizeof *wk.dscratch);
        an_shape_compute(&wk, &ch.shape);
        an_base_compute(&wk);
        sigma_b = wk.base_sigma;
        free(wk.days);
        free(wk.scratch);
        free(wk.dscratch);
    }
    double theory = 1.2533 * 300.0 / sqrt(60.0 * 24.0), boundary = 5.0 * sigma_b;
    print_message("sigma_b %.2f W (white-noise theory %.2f W), boundary %.1f W\n", sigma_b, theory,
                  boundary);
    assert_true(sigma_b > 0.6 * theory && sigma_b < 1.6 * theory);

    static const struct {
        double times;
        int seen;
    } cases[] = {{1.5, 1}, {3.0, 1}, {0.6, 0}, {0.3, 0}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        double load = cases[c].times * boundary;
        size_t onset = 14 * 1440 + 3 * 60 + 17; /* 03:17 on day 14 */
        an_channel_t ch;
        char err[128];
        gsl_rng_set(r, 99);
        for (int i = 0; i < N; i++)
            w[i] = 3000.0 + gsl_ran_gaussian(r, 300.0) + ((size_t)i >= onset ? load : 0.0);
        assert_int_equal(an_channel_analyze(w, N, start, STEP, &o, &ch, err, sizeof err), 0);
        size_t steps = 0;
        for (size_t i = 0; i < ch.n_findings; i++) {
            const an_finding_t *f = &ch.findings[i];
            if (f->kind != AN_STEP_UP)
                continue;
            steps++;
            print_message("boundary x%.1f (%.1f W): step %.1f W [%.1f, %.1f], onset error %ld s\n",
                          cases[c].times, load, f->step_w, f->step_lo, f->step_hi,
                          (long)(f->onset - (start + (int64_t)onset * STEP)));
            assert_true(fabs(f->step_w - load) <= 0.1 * load);
            assert_true(labs((long)(f->onset - (start + (int64_t)onset * STEP))) <= 7200);
        }
        if (!steps)
            print_message("boundary x%.1f (%.1f W): not reported\n", cases[c].times, load);
        assert_int_equal(steps, (size_t)cases[c].seen);
        an_channel_free(&ch);
    }
    gsl_rng_free(r);
    free(w);
}

/* ---- the scenario suite ---- */

enum { SRC_SIM, SRC_LBNL, SRC_OPENEIS };

typedef struct ld {
    const char *model;
    double w, base_w;
    int count;
    double from_d, to_d;     /* days from the window's start; to_d NONE = never */
} ld_t;

typedef struct hole {
    double from_d, hours;
    double level;            /* NaN: meter gap; else a dip to this fraction (a reboot) */
} hole_t;

typedef struct decl {
    const char *name;
    double from_d, to_d;     /* from_d <= -1000: always */
    double w_min, w_max;
} decl_t;

typedef struct want {
    int on;
    an_kind_t kind;
    int load;                /* index into inj: the truth; flat_24x7 of the channel: -1 */
    int explained;
} want_t;

typedef struct scen {
    const char *name;
    int src;
    const char *tz, *t0;     /* window start, local time */
    int days, step;
    double noise;
    ld_t base[3];            /* the channel's own loads (simulated channels) */
    ld_t inj[4];             /* loads injected: the ground truth */
    hole_t holes[5];
    decl_t decl[2];
    want_t want[4];
    double flat_w;           /* flat_24x7's true level, W */
    double min_step_w;
} scen_t;

#define SH "Asia/Shanghai"
#define LA "America/Los_Angeles"
#define OFFICE(peak, base) {"office", (peak), (base), 1, -1000, NONE}
#define SERVER(w) {"server", (w), 0, 1, -1000, NONE}
#define GAP(d, h) {(d), (h), NAN}
#define DIP(d, h) {(d), (h), 0.1}
#define W(kind, load) {1, (kind), (load), 0}
#define WX(kind, load) {1, (kind), (load), 1}

/* Unused table fields are left to zero: {{0}} is the empty list. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
static const scen_t scenarios[] = {
    /* -- negatives: ordinary buildings -- */
    {"office, 1 min", SRC_SIM, SH, "2026-03-02T00:00", 42, 60, 0.01,
     {OFFICE(12000, 2000)}, {{0}}, {{0}}, {{0}}, {{0}}, 0, 0},
    {"server room declared, always on", SRC_SIM, SH, "2026-03-02T00:00", 42, 60, 0.01,
     {SERVER(3000)}, {{0}}, {{0}}, {{"server room", -2000, 1000, 2500, 3500}},
     {WX(AN_FLAT_24X7, -1)}, 3000, 0},
    {"office with research jobs of 8 h and 3 days", SRC_SIM, SH, "2026-03-02T00:00", 42, 60, 0.01,
     {OFFICE(12000, 2000), {"research_job", 2000, 0, 1, 10.4, 10.4 + 8.0 / 24},
      {"research_job", 1500, 0, 1, 20.6, 23.6}},
     {{0}}, {{0}}, {{0}}, {{0}}, 0, 0},
    {"server room with reboots and meter gaps", SRC_SIM, SH, "2026-03-02T00:00", 42, 60, 0.01,
     {SERVER(3000)}, {{0}},
     {DIP(5.3, 0.1), DIP(12.7, 0.25), GAP(18.2, 2), GAP(25.5, 30), GAP(31.9, 72)},
     {{"server room", -2000, 1000, 2500, 3500}}, {WX(AN_FLAT_24X7, -1)}, 3000, 0},
    {"office with a 2-day meter gap", SRC_SIM, SH, "2026-03-02T00:00", 42, 60, 0.01,
     {OFFICE(12000, 2000)}, {{0}}, {GAP(16.5, 48), GAP(30.1, 5), DIP(8.2, 0.2)}, {{0}}, {{0}}, 0, 0},
    {"office, load too small to see (60 W)", SRC_SIM, SH, "2026-03-02T00:00", 42, 60, 0.01,
     {OFFICE(12000, 2000), {"constant", 60, 0, 1, 17.3, NONE}}, {{0}}, {{0}}, {{0}}, {{0}}, 0, 0},
    {"real: LBNL building, 15 min", SRC_LBNL, LA, "2013-08-01T00:00", 56, 900, 0,
     {{0}}, {{0}}, {{0}}, {{0}}, {{0}}, 0, 0},
    {"real: OpenEIS building, hourly, spring", SRC_OPENEIS, LA, "2010-03-01T00:00", 56, 3600, 0,
     {{0}}, {{0}}, {{0}}, {{0}}, {{0}}, 0, 0},
    {"real: OpenEIS building, hourly, autumn", SRC_OPENEIS, LA, "2011-09-05T00:00", 56, 3600, 0,
     {{0}}, {{0}}, {{0}}, {{0}}, {{0}}, 0, 0},

    /* -- positives -- */
    {"office + GPU rig at 14:23", SRC_SIM, SH, "2026-03-02T00:00", 42, 60, 0.01,
     {OFFICE(12000, 2000)}, {{"gpu_rig", 1200, 0, 1, 15 + 14.383 / 24, NONE}}, {{0}}, {{0}},
     {W(AN_STEP_UP, 0)}, 0, 0},
    {"server room + ASIC at 03:10", SRC_SIM, SH, "2026-03-02T00:00", 42, 60, 0.01,
     {SERVER(3000)}, {{"asic", 3250, 0, 1, 20 + 3.1667 / 24, NONE}}, {{0}},
     {{"server room", -2000, 1000, 2500, 3500}},
     {W(AN_STEP_UP, 0)}, 0, 0},
    {"office + three GPU rigs 3 and 4 days apart", SRC_SIM, SH, "2026-03-02T00:00", 42, 60, 0.01,
     {OFFICE(12000, 2000)},
     {{"gpu_rig", 1200, 0, 1, 12 + 22.0 / 24, NONE}, {"gpu_rig", 1400, 0, 1, 15 + 11.5 / 24, NONE},
      {"gpu_rig", 1000, 0, 1, 19 + 2.25 / 24, NONE}},
     {{0}}, {{0}}, {W(AN_STEP_UP, 0), W(AN_STEP_UP, 1), W(AN_STEP_UP, 2)}, 0, 0},
    {"office PCs mining at night (20 x 60 W)", SRC_SIM, SH, "2026-03-02T00:00", 42, 60, 0.01,
     {OFFICE(12000, 2000)}, {{"pc_mining", 60, 0, 20, 18.5, NONE}}, {{0}}, {{0}},
     {W(AN_OFF_HOURS, 0)}, 0, 0},
    {"PDU outlet: GPU rig plugged in", SRC_SIM, SH, "2026-03-02T00:00", 28, 60, 0.01,
     {{"constant", 4, 0, 1, -1000, NONE}}, {{"gpu_rig", 1300, 0, 1, 9 + 16.7 / 24, NONE}}, {{0}},
     {{0}}, {W(AN_STEP_UP, 0)}, 0, 0},
    {"PDU outlet: ASIC running since before the data", SRC_SIM, SH, "2026-03-02T00:00", 28, 60, 0.01,
     {{"asic", 3250, 0, 1, -1000, NONE}}, {{0}}, {{0}}, {{0}}, {W(AN_FLAT_24X7, -1)}, 3250, 0},
    {"office + GPU rig, with gaps and reboots", SRC_SIM, SH, "2026-03-02T00:00", 42, 60, 0.01,
     {OFFICE(12000, 2000)}, {{"gpu_rig", 1200, 0, 1, 12 + 9.75 / 24, 35.5}},
     {GAP(6.2, 20), DIP(14.4, 0.1), GAP(20.6, 48), DIP(27.1, 0.3), GAP(33.0, 3)}, {{0}},
     {W(AN_STEP_UP, 0)}, 0, 0},
    {"office + GPU rig, 15 min", SRC_SIM, SH, "2026-03-02T00:00", 42, 900, 0.01,
     {OFFICE(12000, 2000)}, {{"gpu_rig", 1200, 0, 1, 21 + 10.1 / 24, NONE}}, {{0}}, {{0}},
     {W(AN_STEP_UP, 0)}, 0, 0},
    {"office + ASIC, hourly", SRC_SIM, SH, "2026-03-02T00:00", 42, 3600, 0.01,
     {OFFICE(12000, 2000)}, {{"asic", 3250, 0, 1, 17 + 15.5 / 24, NONE}}, {{0}}, {{0}},
     {W(AN_STEP_UP, 0)}, 0, 0},
    {"declared research job of two weeks", SRC_SIM, SH, "2026-03-02T00:00", 42, 60, 0.01,
     {OFFICE(12000, 2000)}, {{"research_job", 1500, 0, 1, 14 + 10.0 / 24, 28 + 10.0 / 24}}, {{0}},
     {{"gpu cluster job", 14, 28.5, 1000, 2000}}, {WX(AN_STEP_UP, 0)}, 0, 0},
    /* The demo's incomer: 4 GPU rigs on day 9, then a declared research job of twice their
     * size over a weekend (days 18-21) inside the 14 days the step is measured over. */
    {"servers and labs + 4 GPU rigs, then a job of twice their size", SRC_SIM, SH,
     "2026-03-02T00:00", 28, 60, 0.01,
     {SERVER(9840), OFFICE(9000, 1500), {"research_job", 9600, 0, 1, 18 + 9.0 / 24, 21 + 17.0 / 24}},
     {{"gpu_rig", 1200, 0, 4, 9 + 2.0 / 24, NONE}}, {{0}}, {{0}}, {W(AN_STEP_UP, 0)}, 0, 0},
    {"office + GPU rig over the summer-time change", SRC_SIM, "Europe/Berlin", "2026-03-09T00:00", 35,
     60, 0.01, {OFFICE(12000, 2000)}, {{"gpu_rig", 1200, 0, 1, 20 + 13.2 / 24, NONE}}, {{0}}, {{0}},
     {W(AN_STEP_UP, 0)}, 0, 0},

    /* -- real traces with loads injected -- */
    {"real: LBNL + GPU rig at 22:00", SRC_LBNL, LA, "2013-08-01T00:00", 56, 900, 0,
     {{0}}, {{"gpu_rig", 1200, 0, 1, 20 + 22.0 / 24, NONE}}, {{0}}, {{0}}, {W(AN_STEP_UP, 0)}, 0, 0},
    {"real: LBNL + ASIC on a Saturday noon", SRC_LBNL, LA, "2013-08-01T00:00", 56, 900, 0,
     {{0}}, {{"asic", 3250, 0, 1, 23 + 12.0 / 24, NONE}}, {{0}}, {{0}}, {W(AN_STEP_UP, 0)}, 0, 0},
    {"real: OpenEIS + two ASICs", SRC_OPENEIS, LA, "2010-03-01T00:00", 56, 3600, 0,
     {{0}}, {{"asic", 3250, 0, 2, 20 + 23.0 / 24, NONE}}, {{0}}, {{0}}, {W(AN_STEP_UP, 0)}, 0, 0},
};
#pragma GCC diagnostic pop

/* ---- building a scenario's series ---- */

typedef struct series {
    int64_t start;
    int step;
    size_t n;
    double *w;
} series_t;

static void sim_of(const ld_t *lds, size_t n, int64_t t0, double noise, sc_sim_t *s)
{
    memset(s, 0, sizeof *s);
    s->noise = noise;
    s->seed = 12345;
    for (size_t i = 0; i < n && lds[i].model; i++) {
        sc_load_t *l = &s->loads[s->n_loads++];
        wa_strlcpy(l->model, lds[i].model, sizeof l->model);
        l->w = lds[i].w;
        l->base_w = lds[i].base_w;
        l->count = lds[i].count ? lds[i].count : 1;
        l->from = lds[i].from_d <= -1000 ? INT64_MIN : t0 + (int64_t)llround(lds[i].from_d * DAY);
        l->to = lds[i].to_d == NONE ? INT64_MAX : t0 + (int64_t)llround(lds[i].to_d * DAY);
    }
}

/* The real traces: time,kW (LBNL, local time) or OpenEIS's whole-building file. */
static int read_trace(int src, const char *tz, series_t *s)
{
    char path[512], line[512];
    snprintf(path, sizeof path, "%s/%s", WA_REAL_DATA_DIR,
             src == SRC_LBNL ? "lbnl_loadshape_test_kw.csv" : "openeis_wholebuilding.csv");
    FILE *fp = fopen(path, "r");
    if (!fp) {
        print_error("cannot open %s: %s\n", path, strerror(errno));
        return -1;
    }
    for (size_t i = 0; i < s->n; i++)
        s->w[i] = NAN;
    while (fgets(line, sizeof line, fp)) {
        char ts[64];
        double kw;
        int64_t t;
        char *c1 = strchr(line, ',');
        if (!c1 || (size_t)(c1 - line) >= sizeof ts)
            continue;
        memcpy(ts, line, (size_t)(c1 - line));
        ts[c1 - line] = 0;
        if (src == SRC_LBNL) {
            if (sscanf(c1 + 1, "%lf", &kw) != 1)
                continue;
        } else {
            /* time,OutdoorAirTemperature,WholeBuildingPower [kW],... */
            char *c2 = strchr(c1 + 1, ',');
            if (!c2 || sscanf(c2 + 1, "%lf", &kw) != 1)
                continue;
        }
        if (wa_time_parse(ts, tz, &t) != 0)
            continue;
        /* Stamps mark the interval's start; RRD's value i ends at start + (i+1)*step. */
        int64_t k = (t - s->start) / s->step;
        if (t >= s->start && (t - s->start) % s->step == 0 && (size_t)k < s->n)
            s->w[k] = kw * 1000.0;
    }
    fclose(fp);
    return 0;
}

static int build(const scen_t *sc, series_t *s, sc_sim_t *own, sc_sim_t *inj)
{
    assert_int_equal(wa_time_parse(sc->t0, sc->tz, &s->start), 0);
    s->step = sc->step;
    s->n = (size_t)sc->days * 86400 / (size_t)sc->step;
    /* The simulator looks the zone up at every call; with the process in the scenario's zone
     * (tz NULL below) that is a cached lookup, not a zone switch. */
    setenv("TZ", sc->tz, 1);
    tzset();
    s->w = malloc(s->n * sizeof *s->w);
    assert_non_null(s->w);
    sim_of(sc->base, 3, s->start, sc->noise, own);
    sim_of(sc->inj, 4, s->start, 0.0, inj);
    if (sc->src != SRC_SIM && read_trace(sc->src, sc->tz, s) != 0)
        return -1;
    for (size_t i = 0; i < s->n; i++) {
        double a = (double)s->start + (double)i * s->step, b = a + s->step;
        double v = sc->src == SRC_SIM ? sim_energy(own, NULL, a, b) * 3600.0 / s->step : s->w[i];
        /* An injected load adds its mean power over the step (noise of its own: none). */
        if (inj->n_loads)
            v += sim_energy(inj, NULL, a, b) * 3600.0 / s->step;
        s->w[i] = v;
    }
    for (size_t h = 0; h < 5 && sc->holes[h].hours > 0; h++) {
        size_t i0 = (size_t)(sc->holes[h].from_d * DAY / s->step);
        size_t i1 = i0 + (size_t)ceil(sc->holes[h].hours * 3600.0 / s->step);
        for (size_t i = i0; i < i1 && i < s->n; i++)
            s->w[i] = isnan(sc->holes[h].level) ? NAN : s->w[i] * sc->holes[h].level;
    }
    return 0;
}

/* When an injected load first draws power, to the second. */
static double first_on(const sc_load_t *l, const char *tz, double from, double until)
{
    sc_sim_t one;
    memset(&one, 0, sizeof one);
    one.loads[0] = *l;
    one.n_loads = 1;
    for (double t = from; t < until; t += 60)
        if (sim_power(&one, tz, t) > 0.0) {
            double lo = t - 60;
            while (t - lo > 1) {
                double mid = floor((lo + t) / 2);
                if (sim_power(&one, tz, mid) > 0.0)
                    t = mid;
                else
                    lo = mid;
            }
            return t;
        }
    return NAN;
}

static void print_finding(const an_finding_t *f, const char *tz)
{
    char on[32], end[32];
    print_message("    %-9s onset %s end %s step %.1f W [%.1f, %.1f] %s %d..%d excess %.2f kWh "
                  "score %.2f%s%s\n",
                  an_kind_name(f->kind), wa_time_format(f->onset, tz, on, sizeof on),
                  wa_time_format(f->end, tz, end, sizeof end), f->step_w, f->step_lo, f->step_hi,
                  f->rig_kind, f->rigs_min, f->rigs_max, f->excess_kwh, f->score,
                  f->explained_by[0] ? " explained by " : "", f->explained_by);
    for (size_t e = 0; e < f->n_evidence; e++)
        print_message("      %-20s %10.3f %s %g%s\n", f->evidence[e].name, f->evidence[e].value,
                      f->evidence[e].op, f->evidence[e].threshold,
                      f->evidence[e].passed ? "" : "  FAILED");
}

static int run_scenario(const scen_t *sc)
{
    series_t s;
    sc_sim_t own, inj;
    an_channel_t ch;
    an_declared_t decl[2];
    an_opts_t o;
    char err[256];
    int bad = 0;
    int used[8] = {0};

    memset(&s, 0, sizeof s);
    if (build(sc, &s, &own, &inj) != 0)
        return 1;
    memset(&o, 0, sizeof o);
    o.tz = sc->tz;
    o.min_step_w = sc->min_step_w;
    memset(decl, 0, sizeof decl);
    for (size_t d = 0; d < 2 && sc->decl[d].name; d++) {
        wa_strlcpy(decl[d].name, sc->decl[d].name, sizeof decl[d].name);
        decl[d].from = sc->decl[d].from_d <= -1000 ? INT64_MIN : s.start + (int64_t)(sc->decl[d].from_d * DAY);
        decl[d].to = s.start + (int64_t)(sc->decl[d].to_d * DAY);
        decl[d].w_min = sc->decl[d].w_min;
        decl[d].w_max = sc->decl[d].w_max;
        o.n_declared = d + 1;
    }
    o.declared = decl;
    if (an_channel_analyze(s.w, s.n, s.start, s.step, &o, &ch, err, sizeof err) != 0) {
        print_error("%s: %s\n", sc->name, err);
        free(s.w);
        return 1;
    }
    print_message("[%s] base %.0f W peak %.0f W lf %.2f noise %.1f W, %zu finding(s)\n", sc->name,
                  ch.shape.near_base_w, ch.shape.near_peak_w, ch.shape.load_factor,
                  ch.shape.robust_sd, ch.n_findings);
    for (size_t i = 0; i < ch.n_findings; i++)
        print_finding(&ch.findings[i], sc->tz);

    double tol = fmax(7200.0, 2.0 * s.step);
    int64_t t_end = s.start + (int64_t)s.n * s.step;
    for (size_t k = 0; k < 4 && sc->want[k].on; k++) {
        const want_t *wt = &sc->want[k];
        double onset, end, step, excess;
        if (wt->load < 0) {
            onset = (double)s.start;
            end = (double)t_end;
            step = sc->flat_w;
            excess = step * (end - onset) / 3.6e6;
        } else {
            const sc_load_t *l = &inj.loads[wt->load];
            end = l->to == INT64_MAX || l->to > t_end ? (double)t_end : (double)l->to;
            onset = first_on(l, sc->tz, (double)l->from, end);
            step = l->w * l->count;
            sc_sim_t one;
            memset(&one, 0, sizeof one);
            one.loads[0] = *l;
            one.n_loads = 1;
            excess = sim_energy(&one, sc->tz, onset, end) / 1000.0;
        }
        int found = 0;
        for (size_t i = 0; i < ch.n_findings && !found; i++) {
            const an_finding_t *f = &ch.findings[i];
            if (used[i] || f->kind != wt->kind || fabs((double)f->onset - onset) > tol)
                continue;
            found = 1;
            used[i] = 1;
            double e_step = fabs(f->step_w - step) / step;
            double e_kwh = fabs(f->excess_kwh - excess) / excess;
            double kwh_tol = sc->src == SRC_SIM ? 0.005 : 0.10;
            print_message("    want %s: onset error %.0f s, step error %.2f%%, excess %.2f vs %.2f "
                          "kWh (%.3f%%)\n",
                          an_kind_name(wt->kind), (double)f->onset - onset, 100 * e_step,
                          f->excess_kwh, excess, 100 * e_kwh);
            /* A rig estimate for unexplained findings only, its first fit the compatible
             * triple. */
            int rigs_ok = wt->explained
                              ? f->rigs_min == 0 && f->rigs_max == 0 && !f->rig_kind[0] &&
                                    f->n_rig_fits == 0 && f->rig_basis == AN_RIG_NONE
                              : f->rigs_min >= 1 && f->rigs_max >= f->rigs_min &&
                                    f->n_rig_fits >= 1 &&
                                    strcmp(f->rig_fits[0].kind, f->rig_kind) == 0 &&
                                    f->rig_basis != AN_RIG_NONE;
            if (e_step > 0.10 || e_kwh > kwh_tol || !!f->explained_by[0] != wt->explained ||
                f->score <= 0.0 || f->score > 1.0 || !rigs_ok) {
                print_error("%s: %s off the truth\n", sc->name, an_kind_name(wt->kind));
                bad++;
            }
        }
        if (!found) {
            print_error("%s: missed %s\n", sc->name, an_kind_name(wt->kind));
            bad++;
        }
    }
    for (size_t i = 0; i < ch.n_findings; i++)
        if (!used[i]) {
            print_error("%s: false flag %s\n", sc->name, an_kind_name(ch.findings[i].kind));
            bad++;
        }

    if (sc->src == SRC_SIM && sc->holes[0].hours == 0) {
        double truth = (sim_energy(&own, sc->tz, (double)s.start, (double)t_end) +
                        sim_energy(&inj, sc->tz, (double)s.start, (double)t_end)) / 1000.0;
        double e = fabs(ch.kwh_integrated - truth) / truth;
        if (e > 0.005) {
            print_error("%s: channel energy %.3f kWh vs %.3f kWh\n", sc->name, ch.kwh_integrated, truth);
            bad++;
        }
    }
    an_channel_free(&ch);
    free(s.w);
    return bad;
}

static void test_scenarios(void **state)
{
    int bad = 0;
    (void)state;
    const char *only = getenv("WA_SCENARIO"); /* a substring, to run one case by hand */
    for (size_t i = 0; i < sizeof scenarios / sizeof scenarios[0]; i++)
        if (!only || strstr(scenarios[i].name, only))
            bad += run_scenario(&scenarios[i]);
    assert_int_equal(bad, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kind_names),
        cmocka_unit_test(test_pelt_table),
        cmocka_unit_test(test_split),
        cmocka_unit_test(test_rig_estimate),
        cmocka_unit_test(test_days_and_shape),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_boundary),
        cmocka_unit_test(test_scenarios),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
