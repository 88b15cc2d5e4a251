/*
 * The analysis module's site layer: factor presets and the officers' sentence, energy from
 * registers and from power with gaps, CSV import of the real traces in shared/data/real checked
 * against an independent sum, runs over real RRD files (ours, rrdtool-made "collectd" files with
 * DS "value"), the JSON/CSV/text outputs, the report and the population scaling.
 */
/* nftw() is XSI */
#define _XOPEN_SOURCE 700

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "analysis/analysis.h"
#include "common/common.h"
#include "storage/storage.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- fixtures ---- */

struct fx {
    char dir[64];
};

static int setup(void **state)
{
    struct fx *fx = calloc(1, sizeof *fx);
    if (!fx)
        return -1;
    snprintf(fx->dir, sizeof fx->dir, "/tmp/wa-site-XXXXXX");
    if (!mkdtemp(fx->dir))
        return -1;
    *state = fx;
    return 0;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

static int teardown(void **state)
{
    struct fx *fx = *state;
    nftw(fx->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(fx);
    return 0;
}

static void assert_rel(double got, double want, double rel)
{
    if (!(fabs(got - want) <= rel * fabs(want))) {
        print_error("got %.9g, want %.9g (relative tolerance %g)\n", got, want, rel);
        fail();
    }
}

/* ---- factors and the officers' sentence ---- */

static void test_presets(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        double kgce, kgco2;
    } cases[] = {
        {"cn-popular", 0.404, 0.997},        {"cn-grid-2022", 0.1229, 0.5366},
        {"cn-grid-north", 0.1229, 0.6776},   {"cn-grid-northeast", 0.1229, 0.5564},
        {"cn-grid-east", 0.1229, 0.5617},    {"cn-grid-central", 0.1229, 0.5395},
        {"cn-grid-northwest", 0.1229, 0.5857}, {"cn-grid-south", 0.1229, 0.3869},
        {"cn-grid-southwest", 0.1229, 0.2268}, {"cn-calorific", 0.1229, 0.5366},
    };
    size_t n;
    const an_factors_t *p = an_factors_presets(&n);
    assert_int_equal(n, sizeof cases / sizeof cases[0]);
    for (size_t i = 0; i < n; i++) {
        an_factors_t f;
        assert_string_equal(p[i].name, cases[i].name);
        assert_int_equal(an_factors_find(cases[i].name, &f), 0);
        assert_true(f.kgce_per_kwh == cases[i].kgce);
        assert_true(f.kgco2_per_kwh == cases[i].kgco2);
        assert_true(strlen(f.source) > 20); /* every preset names its source */
    }
    an_factors_t f;
    errno = 0;
    assert_int_equal(an_factors_find("cn-grid-moon", &f), -1);
    assert_int_equal(errno, ENOENT);
}

static void test_factor_specs(void **state)
{
    (void)state;
    static const struct {
        const char *spec;
        int ok;
        const char *name;
        double kgce, kgco2, tariff;
        const char *currency, *in_err;
    } cases[] = {
        {"cn-popular", 1, "cn-popular", 0.404, 0.997, 0, "", NULL},
        {"cn-grid-east,tariff=0.65", 1, "cn-grid-east", 0.1229, 0.5617, 0.65, "CNY", NULL},
        {"cn-grid-east,tariff=0.1,currency=EUR", 1, "cn-grid-east", 0.1229, 0.5617, 0.1, "EUR",
         NULL},
        {"custom,kgce=0.3,kgco2=0.58,source=our utility, 2024 bill", 1, "custom", 0.3, 0.58, 0,
         "", NULL},
        {"cn-popular,kgco2=0.9,source=my note", 1, "cn-popular(adjusted)", 0.404, 0.9, 0, "",
         NULL},
        {"custom,kgce=0.3,kgco2=0.58", 0, NULL, 0, 0, 0, NULL, "needs kgce=, kgco2= and source="},
        {"cn-popular,kgco2=0.9", 0, NULL, 0, 0, 0, NULL, "needs a source="},
        {"cn-grid-mars", 0, NULL, 0, 0, 0, NULL, "no preset 'cn-grid-mars'"},
        {"cn-popular,tariff=cheap", 0, NULL, 0, 0, 0, NULL, "tariff='cheap'"},
        {"cn-popular,tariff=-1", 0, NULL, 0, 0, 0, NULL, "tariff='-1'"},
        {"cn-popular,colour=red", 0, NULL, 0, 0, 0, NULL, "unknown key 'colour'"},
        {"cn-popular,tariff", 0, NULL, 0, 0, 0, NULL, "not key=value"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        an_factors_t f;
        char err[256] = "";
        int rc = an_factors_parse(cases[i].spec, &f, err, sizeof err);
        if (!cases[i].ok) {
            assert_int_equal(rc, -1);
            if (!strstr(err, cases[i].in_err))
                fail_msg("%s: err '%s' lacks '%s'", cases[i].spec, err, cases[i].in_err);
            continue;
        }
        assert_int_equal(rc, 0);
        assert_string_equal(f.name, cases[i].name);
        assert_true(f.kgce_per_kwh == cases[i].kgce);
        assert_true(f.kgco2_per_kwh == cases[i].kgco2);
        assert_true(f.tariff_per_kwh == cases[i].tariff);
        assert_string_equal(f.currency, cases[i].currency);
    }
}

static void test_format_sig(void **state)
{
    (void)state;
    static const struct {
        double v;
        int sig;
        const char *want;
    } cases[] = {
        {148500, 4, "148,500"}, {59.994, 3, "60"},     {21897.81, 3, "21,900"},
        {54039.1, 3, "54,000"}, {0.404, 4, "0.404"},   {0.5366, 4, "0.5366"},
        {1234567, 3, "1,230,000"}, {999.96, 4, "1,000"}, {0.012345, 3, "0.0123"},
        {-4321, 2, "-4,300"},   {0, 3, "0"},           {100, 3, "100"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char buf[64];
        assert_string_equal(an_format_sig(cases[i].v, cases[i].sig, buf, sizeof buf),
                            cases[i].want);
    }
}

/* The project's published statement, reproduced to the letter from 148,500 kWh a day. */
static void test_published_statement(void **state)
{
    (void)state;
    an_factors_t f;
    char buf[256];
    assert_int_equal(an_factors_find("cn-popular", &f), 0);
    an_statement(148500, &f, buf, sizeof buf);
    assert_string_equal(buf, "148,500 kWh a day is 60 t of standard coal a day, 21,900 t a year, "
                             "and 54,000 t of CO2 a year (0.404 kgce and 0.997 kg CO2 per kWh)");
    /* The unrounded figures behind it (docs/factors.md, "Rounding"). */
    an_savings_t s;
    an_savings_compute(148500 * 28.0, 28.0, &f, &s);
    assert_rel(s.kwh_per_day, 148500, 1e-12);
    assert_rel(s.kgce_per_day, 59994, 1e-12);
    assert_rel(s.tce_per_year, 21897.81, 1e-12);
    assert_rel(s.tco2_per_year, 54039.8925, 1e-12);
}

static void test_savings(void **state)
{
    (void)state;
    an_factors_t f;
    assert_int_equal(an_factors_parse("cn-grid-east,tariff=0.5", &f, NULL, 0), 0);
    an_savings_t s;
    /* One 3.25 kW ASIC for 10 days: 780 kWh. */
    an_savings_compute(780, 10, &f, &s);
    assert_rel(s.kwh_per_day, 78, 1e-12);
    assert_rel(s.kgce_per_day, 78 * 0.1229, 1e-12);
    assert_rel(s.tce_per_year, 78 * 0.1229 * 365 / 1000, 1e-12);
    assert_rel(s.tco2_per_year, 78 * 0.5617 * 365 / 1000, 1e-12);
    assert_rel(s.cost_per_year, 78 * 0.5 * 365, 1e-12);
    an_savings_compute(780, 0, &f, &s); /* no days: nothing, not a division by zero */
    assert_true(s.kwh_per_day == 0);
}

/* ---- energy: register against integrated power, gaps ---- */

#define E_STEP 60
#define E_START INT64_C(1700000000)

static void test_energy_cases(void **state)
{
    (void)state;
    /* 10 steps of 60 s.  U = unknown. */
    const double U = NAN;
    static const struct {
        const char *what;
        double w[10];
        double e[10]; /* Wh; all NaN = no register */
        int has_e;
        an_energy_method_t method;
        double kwh, coverage, power_coverage;
        size_t n_gaps;
        double gap_hours, unbridged_hours;
        int gap0_bridged;
    } cases[] = {
        {"power only, complete",
         {600, 600, 600, 600, 600, 600, 600, 600, 600, 600}, {0}, 0, AN_ENERGY_POWER,
         0.1, 1, 1, 0, 0, 0, 0},
        {"power with a 3-step gap: counted, not filled",
         {600, 600, U, U, U, 600, 600, 600, 600, 600}, {0}, 0, AN_ENERGY_POWER,
         0.07, 0.7, 0.7, 1, 3.0 / 60, 3.0 / 60, 0},
        {"register bridges the gap exactly (the meter kept counting)",
         {600, 600, U, U, U, 600, 600, 600, 600, 600},
         {10, 20, U, U, U, 60, 70, 80, 90, 100}, 1, AN_ENERGY_REGISTER,
         /* (100 - 10) Wh over steps 2..10 + 10 Wh of power in step 1 */
         0.1, 1, 0.7, 1, 3.0 / 60, 0, 1},
        {"register unknown at the ends: power used there",
         {600, 600, 600, 600, 600, 600, 600, 600, 600, 600},
         {U, U, 30, 40, 50, 60, 70, 80, U, U}, 1, AN_ENERGY_REGISTER,
         0.1, 1, 1, 0, 0, 0, 0},
        {"register says more than power (power missed a spike)",
         {600, 600, 600, 600, 600, 600, 600, 600, 600, 600},
         {10, 20, 30, 40, 90, 100, 110, 120, 130, 140}, 1, AN_ENERGY_REGISTER,
         0.14, 1, 1, 0, 0, 0, 0},
        {"a register that goes down is not trusted",
         {600, 600, 600, 600, 600, 600, 600, 600, 600, 600},
         {10, 20, 30, 40, 5, 15, 25, 35, 45, 55}, 1, AN_ENERGY_POWER,
         0.1, 1, 1, 0, 0, 0, 0},
        {"gap at the end, outside the register span",
         {600, 600, 600, 600, 600, 600, 600, 600, U, U},
         {10, 20, 30, 40, 50, 60, 70, 80, U, U}, 1, AN_ENERGY_REGISTER,
         0.08, 0.8, 0.8, 1, 2.0 / 60, 2.0 / 60, 0},
        {"nothing known",
         {U, U, U, U, U, U, U, U, U, U}, {0}, 0, AN_ENERGY_NONE,
         NAN, 0, 0, 1, 10.0 / 60, 10.0 / 60, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        an_energy_t en;
        an_energy_compute(cases[i].w, cases[i].has_e ? cases[i].e : NULL, 10, E_START, E_STEP,
                          E_START, E_START + 10 * E_STEP, &en);
        if (en.method != cases[i].method)
            fail_msg("%s: method %s", cases[i].what, an_energy_method_name(en.method));
        if (isnan(cases[i].kwh))
            assert_true(isnan(en.kwh));
        else if (fabs(en.kwh - cases[i].kwh) > 1e-12)
            fail_msg("%s: kwh %.12g, want %.12g", cases[i].what, en.kwh, cases[i].kwh);
        assert_rel(en.coverage + 1, cases[i].coverage + 1, 1e-12);
        assert_rel(en.power_coverage + 1, cases[i].power_coverage + 1, 1e-12);
        assert_int_equal(en.n_steps, 10);
        assert_int_equal(en.n_gaps, cases[i].n_gaps);
        assert_rel(en.gap_hours + 1, cases[i].gap_hours + 1, 1e-12);
        assert_rel(en.unbridged_gap_hours + 1, cases[i].unbridged_hours + 1, 1e-12);
        if (en.n_gaps)
            assert_int_equal(en.gaps[0].bridged, cases[i].gap0_bridged);
    }
    /* The window: only steps wholly inside (from, to] count; the gap's bounds are step ends. */
    double w[10] = {600, 600, U, U, 600, 600, 600, 600, 600, 600};
    an_energy_t en;
    an_energy_compute(w, NULL, 10, E_START, E_STEP, E_START + 60, E_START + 540, &en);
    assert_int_equal(en.n_steps, 8);
    assert_int_equal(en.n_gaps, 1);
    assert_int_equal(en.gaps[0].from, E_START + 120);
    assert_int_equal(en.gaps[0].to, E_START + 240);
    assert_rel(en.kwh, 0.06, 1e-12);
    assert_rel(en.mean_w, 600, 1e-12);
}

/* ---- main ---- */

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_presets),
        cmocka_unit_test(test_factor_specs),
        cmocka_unit_test(test_format_sig),
        cmocka_unit_test(test_published_statement),
        cmocka_unit_test(test_savings),
        cmocka_unit_test(test_energy_cases),
    };
    (void)setup;
    (void)teardown;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
