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
#include "siteconf/siteconf.h"
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
#include <sys/wait.h>
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
        {"cn-popular", 0.404, 0.997},          {"cn-grid-2022", 0.1229, 0.5366},
        {"cn-grid-north", 0.1229, 0.6776},     {"cn-grid-northeast", 0.1229, 0.5564},
        {"cn-grid-east", 0.1229, 0.5617},      {"cn-grid-central", 0.1229, 0.5395},
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
        {"custom,kgce=0.3,kgco2=0.58,source=our utility, 2024 bill", 1, "custom", 0.3, 0.58, 0, "",
         NULL},
        {"cn-popular,kgco2=0.9,source=my note", 1, "cn-popular(adjusted)", 0.404, 0.9, 0, "", NULL},
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
        {148500, 4, "148,500"},    {59.994, 3, "60"},    {21897.81, 3, "21,900"},
        {54039.1, 3, "54,000"},    {0.404, 4, "0.404"},  {0.5366, 4, "0.5366"},
        {1234567, 3, "1,230,000"}, {999.96, 4, "1,000"}, {0.012345, 3, "0.0123"},
        {-4321, 2, "-4,300"},      {0, 3, "0"},          {100, 3, "100"},
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
         {600, 600, 600, 600, 600, 600, 600, 600, 600, 600},
         {0},
         0,
         AN_ENERGY_POWER,
         0.1,
         1,
         1,
         0,
         0,
         0,
         0},
        {"power with a 3-step gap: counted, not filled",
         {600, 600, U, U, U, 600, 600, 600, 600, 600},
         {0},
         0,
         AN_ENERGY_POWER,
         0.07,
         0.7,
         0.7,
         1,
         3.0 / 60,
         3.0 / 60,
         0},
        {"register bridges the gap exactly (the meter kept counting)",
         {600, 600, U, U, U, 600, 600, 600, 600, 600},
         {10, 20, U, U, U, 60, 70, 80, 90, 100},
         1,
         AN_ENERGY_REGISTER,
         /* (100 - 10) Wh over steps 2..10 + 10 Wh of power in step 1 */
         0.1,
         1,
         0.7,
         1,
         3.0 / 60,
         0,
         1},
        {"register unknown at the ends: power used there",
         {600, 600, 600, 600, 600, 600, 600, 600, 600, 600},
         {U, U, 30, 40, 50, 60, 70, 80, U, U},
         1,
         AN_ENERGY_REGISTER,
         0.1,
         1,
         1,
         0,
         0,
         0,
         0},
        {"register says more than power (power missed a spike)",
         {600, 600, 600, 600, 600, 600, 600, 600, 600, 600},
         {10, 20, 30, 40, 90, 100, 110, 120, 130, 140},
         1,
         AN_ENERGY_REGISTER,
         0.14,
         1,
         1,
         0,
         0,
         0,
         0},
        {"a register that goes down is not trusted",
         {600, 600, 600, 600, 600, 600, 600, 600, 600, 600},
         {10, 20, 30, 40, 5, 15, 25, 35, 45, 55},
         1,
         AN_ENERGY_POWER,
         0.1,
         1,
         1,
         0,
         0,
         0,
         0},
        {"gap at the end, outside the register span",
         {600, 600, 600, 600, 600, 600, 600, 600, U, U},
         {10, 20, 30, 40, 50, 60, 70, 80, U, U},
         1,
         AN_ENERGY_REGISTER,
         0.08,
         0.8,
         0.8,
         1,
         2.0 / 60,
         2.0 / 60,
         0},
        {"nothing known",
         {U, U, U, U, U, U, U, U, U, U},
         {0},
         0,
         AN_ENERGY_NONE,
         NAN,
         0,
         0,
         1,
         10.0 / 60,
         10.0 / 60,
         0},
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

/* ---- CSV import ---- */

/* Builds a wide (96 a day) text: day d's value j is base + j (kW). */
static char *wide_text(int days, double base, const char *header)
{
    size_t cap = 4096 + (size_t)days * 96 * 16;
    char *t = malloc(cap);
    size_t o = 0;
    assert_non_null(t);
    if (header)
        o += (size_t)snprintf(t + o, cap - o, "%s\n", header);
    for (int d = 0; d < days; d++) {
        o += (size_t)snprintf(t + o, cap - o, "2024-03-%02d", d + 1);
        for (int j = 0; j < 96; j++)
            o += (size_t)snprintf(t + o, cap - o, ",%g", base + j);
        o += (size_t)snprintf(t + o, cap - o, "\n");
    }
    return t;
}

static void test_import_parse_cases(void **state)
{
    (void)state;
    static const struct {
        const char *what, *text, *tz, *column;
        an_unit_t unit;
        int stamp_end, skip_bad;
        int ok;
        size_t n;
        int step;
        int64_t start;
        double wh;          /* energy of the known steps */
        const char *in_err; /* ok == 0: the message names file and line */
    } cases[] = {
        {"long, kW, no header, UTC offset",
         "2024-01-01 00:00:00+08:00,1.5\n2024-01-01 00:15:00+08:00,2.5\n", NULL, NULL, AN_UNIT_KW,
         0, 0, 1, 2, 900, INT64_C(1704038400), 1000, NULL},
        {"long, header states kWh per interval, Shanghai",
         "time,Energy [kWh]\n2024-01-01 00:00,0.5\n2024-01-01 01:00,0.25\n", "Asia/Shanghai", NULL,
         AN_UNIT_AUTO, 0, 0, 1, 2, 3600, INT64_C(1704038400), 750, NULL},
        {"stamps at the interval's end",
         "time,P (W)\n2024-01-01 00:15Z,400\n2024-01-01 00:30Z,800\n", NULL, NULL, AN_UNIT_AUTO, 1,
         0, 1, 2, 900, INT64_C(1704067200), 300, NULL},
        {"US dates, several columns, the power one found by name",
         "Date,OAT [F],Main Meter [kW],Gas\n1/2/2024 0:00,40,2,9\n1/2/2024 1:00,41,4,9\n", "UTC",
         NULL, AN_UNIT_AUTO, 0, 0, 1, 2, 3600, INT64_C(1704153600), 6000, NULL},
        {"a missing row is a gap, not a zero",
         "2024-01-01T00:00Z;1\n2024-01-01T00:15Z;nan\n2024-01-01T00:45Z;1\n", NULL, NULL,
         AN_UNIT_KW, 0, 0, 1, 4, 900, INT64_C(1704067200), 500, NULL},
        {"Unix seconds, Wh per interval, column by number",
         "t,a,b\n1704067200,7,100\n1704067260,7,200\n", NULL, "3", AN_UNIT_WH, 0, 0, 1, 2, 60,
         INT64_C(1704067200), 300, NULL},
        {"a bad row refuses the file, named by line",
         "time,kW\n2024-01-01 00:00Z,1\n2024-01-01 00:15Z,x1\n2024-01-01 00:30Z,1\n", NULL, NULL,
         AN_UNIT_AUTO, 0, 0, 0, 0, 0, 0, 0, "t.csv:3: 'x1' is not a number"},
        {"a bad row skipped when asked",
         "time,kW\n2024-01-01 00:00Z,1\n2024-01-01 00:15Z,x1\n2024-01-01 00:30Z,1\n"
         "2024-01-01 00:45Z,1\n",
         NULL, NULL, AN_UNIT_AUTO, 0, 1, 1, 4, 900, INT64_C(1704067200), 750, NULL},
        {"a repeated time is a bad row",
         "2024-01-01 00:00Z,1\n2024-01-01 00:15Z,1\n2024-01-01 00:15Z,2\n", NULL, NULL, AN_UNIT_KW,
         0, 0, 0, 0, 0, 0, 0, "t.csv:3: time 2024-01-01 00:15 repeats line 2"},
        {"off the grid",
         "2024-01-01 00:00Z,1\n2024-01-01 00:15Z,1\n2024-01-01 00:31Z,2\n2024-01-01 00:45Z,2\n",
         NULL, NULL, AN_UNIT_KW, 0, 0, 0, 0, 0, 0, 0, "t.csv:3: time is off the 900 s grid"},
        {"no unit anywhere", "2024-01-01 00:00Z,1\n2024-01-01 00:15Z,1\n", NULL, NULL, AN_UNIT_AUTO,
         0, 0, 0, 0, 0, 0, 0, "give --unit"},
        {"several unnamed columns", "time,a,b\n2024-01-01 00:00Z,1,2\n", NULL, NULL, AN_UNIT_KW, 0,
         0, 0, 0, 0, 0, 0, "choose one with --column"},
        {"a date that does not exist", "2024-02-30 00:00,1\n2024-03-01 00:00,1\n", "UTC", NULL,
         AN_UNIT_KW, 0, 0, 0, 0, 0, 0, 0, "t.csv:1: '2024-02-30 00:00' is not a time that exists"},
        {"wide row with the wrong count", "2024-01-01,1,2,3\n", NULL, NULL, AN_UNIT_KW, 0, 0, 0, 0,
         0, 0, 0, "24, 48 or 96 values"},
        {"two rows a year apart at 15 minutes: a stray time, not data",
         "2024-01-01 00:00Z,1\n2024-01-01 00:15Z,1\n2025-01-01 00:00Z,1\n", NULL, NULL, AN_UNIT_KW,
         0, 0, 0, 0, 0, 0, 0, "almost all would be gaps"},
        {"nothing but a header", "time,kW\n", NULL, NULL, AN_UNIT_KW, 0, 0, 0, 0, 0, 0, 0,
         "no data rows"},
        {"an unclosed quote", "\"2024-01-01 00:00Z,1\n2024-01-01 00:15Z,1\n", NULL, NULL,
         AN_UNIT_KW, 0, 0, 0, 0, 0, 0, 0, "t.csv:1: a quote is not closed"},
    };
    FILE *devnull = fopen("/dev/null", "w");
    assert_non_null(devnull);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        an_import_opts_t o = {.tz = cases[i].tz,
                              .unit = cases[i].unit,
                              .column = cases[i].column,
                              .stamp_end = cases[i].stamp_end,
                              .skip_bad = cases[i].skip_bad,
                              .warn = devnull};
        an_import_series_t s;
        char err[512] = "";
        int rc =
            an_import_parse("t.csv", cases[i].text, strlen(cases[i].text), &o, &s, err, sizeof err);
        if (!cases[i].ok) {
            if (rc != -1 || !strstr(err, cases[i].in_err))
                fail_msg("%s: rc %d, err '%s', want '%s'", cases[i].what, rc, err, cases[i].in_err);
            continue;
        }
        if (rc != 0)
            fail_msg("%s: %s", cases[i].what, err);
        assert_int_equal(s.n, cases[i].n);
        assert_int_equal(s.step, cases[i].step);
        assert_int_equal(s.start, cases[i].start);
        double wh = 0;
        for (size_t k = 0; k < s.n; k++)
            if (!isnan(s.v[k]))
                wh += s.v[k] * s.step / 3600.0;
        if (fabs(wh - cases[i].wh) > 1e-9)
            fail_msg("%s: %.9g Wh, want %.9g", cases[i].what, wh, cases[i].wh);
        free(s.v);
    }
    fclose(devnull);
}

static void test_import_wide(void **state)
{
    (void)state;
    /* Two days of the 96-point load curve with a header of times, kW. */
    char header[2048] = "日期";
    for (int j = 1; j <= 96; j++)
        snprintf(header + strlen(header), sizeof header - strlen(header), ",%02d:%02d", j * 15 / 60,
                 j * 15 % 60);
    char *text = wide_text(2, 10, header);
    an_import_opts_t o = {.tz = "Asia/Shanghai", .unit = AN_UNIT_KW};
    an_import_series_t s;
    char err[512];
    assert_int_equal(an_import_parse("w.csv", text, strlen(text), &o, &s, err, sizeof err), 0);
    assert_true(s.wide);
    assert_int_equal(s.step, 900);
    assert_int_equal(s.n, 192);
    assert_int_equal(s.start, INT64_C(1709222400)); /* 2024-03-01 00:00 +08:00 */
    /* Each day: sum over j of (10 + j) kW x 0.25 h = 0.25 x (960 + 4560) kWh. */
    double kwh = 0;
    for (size_t k = 0; k < s.n; k++)
        kwh += s.v[k] * 0.25 / 1000;
    assert_rel(kwh, 2 * 0.25 * (96 * 10 + 95 * 96 / 2.0), 1e-12);
    free(s.v);
    /* Without a unit a day-per-row file is refused. */
    o.unit = AN_UNIT_AUTO;
    assert_int_equal(an_import_parse("w.csv", text, strlen(text), &o, &s, err, sizeof err), -1);
    assert_non_null(strstr(err, "--unit"));
    free(text);
}

/* An independent reading of a real trace: the sum of one column times the interval, with
 * nothing shared with the importer but the file. */
static double independent_kwh(const char *path, int col, double hours, double scale,
                              const long *skip, size_t *rows)
{
    long no = 0;
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    char line[1024];
    double kwh = 0;
    *rows = 0;
    while (fgets(line, sizeof line, fp)) {
        char *p = line;
        int skipped = 0;
        no++;
        for (const long *k = skip; k && *k; k++)
            skipped |= *k == no;
        if (skipped)
            continue;
        for (int c = 0; c < col && p; c++) {
            p = strchr(p, ',');
            if (p)
                p++;
        }
        if (!p)
            continue;
        char *end;
        double v = strtod(p, &end);
        if (end == p || isnan(v))
            continue;
        kwh += v * scale * hours;
        (*rows)++;
    }
    fclose(fp);
    return kwh;
}

static void test_import_real_traces(void **state)
{
    struct fx *fx = *state;
    static const struct {
        const char *file, *tz, *rel;
        an_unit_t unit;
        int col; /* 0-based for the independent sum */
        double hours, scale;
        int step;
        long bad[8]; /* lines the importer must name, 0-terminated */
    } cases[] = {
        {"lbnl_loadshape_test_kw.csv",
         "America/Los_Angeles",
         "lbnl/main/kw",
         AN_UNIT_KW,
         1,
         0.25,
         1,
         900,
         {0}},
        {"openeis_test_4year.csv",
         "Etc/GMT+8",
         "openeis/main/meter",
         AN_UNIT_AUTO,
         2,
         1,
         1,
         3600,
         {0}},
        /* On each spring-forward day the export labels the hour after 01:00-08:00 as
         * 03:00-07:00 twice: the second is refused as a repeated time (skipped here). */
        {"openeis_wholebuilding.csv",
         NULL,
         "openeis/whole/power",
         AN_UNIT_AUTO,
         2,
         1,
         1,
         3600,
         {1565, 10469, 19205, 27941, 0}},
    };
    char warn_path[128];
    snprintf(warn_path, sizeof warn_path, "%s/warn.txt", fx->dir);
    char data[128];
    snprintf(data, sizeof data, "%s/data", fx->dir);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char path[PATH_MAX], err[512] = "";
        snprintf(path, sizeof path, "%s/%s", WA_REAL_DATA_DIR, cases[i].file);
        if (access(path, R_OK) != 0) {
            print_message("skipped: %s is not there\n", path);
            skip();
        }
        size_t rows;
        double want = independent_kwh(path, cases[i].col, cases[i].hours, cases[i].scale,
                                      cases[i].bad, &rows);
        FILE *warn = fopen(warn_path, "w+");
        assert_non_null(warn);
        an_import_opts_t o = {.tz = cases[i].tz,
                              .unit = cases[i].unit,
                              .skip_bad = cases[i].bad[0] != 0,
                              .warn = warn};
        an_import_series_t st;
        if (an_import_file(path, data, cases[i].rel, 0, &o, &st, err, sizeof err) != 0)
            fail_msg("%s: %s", cases[i].file, err);
        /* Every bad row named as FILE:LINE, and no other. */
        rewind(warn);
        char wl[512];
        size_t n_bad = 0;
        while (fgets(wl, sizeof wl, warn)) {
            char key[PATH_MAX + 32];
            snprintf(key, sizeof key, "%s:%ld: ", path, cases[i].bad[n_bad]);
            if (strncmp(wl, key, strlen(key)) != 0)
                fail_msg("unexpected warning: %s", wl);
            n_bad++;
        }
        fclose(warn);
        assert_true(cases[i].bad[n_bad] == 0);
        assert_int_equal(st.bad_rows, n_bad);
        assert_int_equal(st.step, cases[i].step);
        /* Rows with a value: the importer's and ours agree. */
        char rrd[PATH_MAX];
        snprintf(rrd, sizeof rrd, "%s/%s.rrd", data, cases[i].rel);
        storage_series_t ser;
        int64_t from = st.start, to = st.start + (int64_t)st.n * st.step;
        assert_int_equal(
            storage_fetch(rrd, NULL, "AVERAGE", from, to, 0, NULL, &ser, err, sizeof err), 0);
        an_energy_t en;
        an_energy_compute(ser.v, NULL, ser.n, ser.start, ser.step, from, to, &en);
        size_t known = (size_t)llround(en.power_coverage * (double)en.n_steps);
        print_message("%s: %zu rows, %zu steps, %zu gaps (%.1f h), %.3f kWh (independent "
                      "%.3f)\n",
                      cases[i].file, rows, en.n_steps, en.n_gaps, en.gap_hours, en.kwh, want);
        assert_int_equal(known, rows);
        assert_int_equal(en.method, AN_ENERGY_POWER);
        assert_rel(en.kwh, want, 1e-9); /* far inside the 0.5% */
        free(ser.v);
    }
}

static void test_import_atomic(void **state)
{
    struct fx *fx = *state;
    char data[128], csv[128], err[512] = "", rrd[256];
    snprintf(data, sizeof data, "%s/data", fx->dir);
    snprintf(csv, sizeof csv, "%s/in.csv", fx->dir);
    snprintf(rrd, sizeof rrd, "%s/s/d/c.rrd", data);
    FILE *fp = fopen(csv, "w");
    assert_non_null(fp);
    fputs("time,kW\n2024-01-01 00:00Z,1\n2024-01-01 00:15Z,oops\n", fp);
    fclose(fp);
    FILE *devnull = fopen("/dev/null", "w");
    an_import_opts_t o = {.warn = devnull};
    assert_int_equal(an_import_file(csv, data, "s/d/c", 0, &o, NULL, err, sizeof err), -1);
    if (!strstr(err, "in.csv:3: 'oops' is not a number"))
        fail_msg("err: %s", err);
    assert_int_not_equal(access(rrd, F_OK), 0); /* nothing half-written */
    /* A good file lands; a second import into it is refused unless replacing. */
    fp = fopen(csv, "w");
    fputs("time,kW\n2024-01-01 00:00Z,1\n2024-01-01 00:15Z,2\n", fp);
    fclose(fp);
    assert_int_equal(an_import_file(csv, data, "s/d/c", 0, &o, NULL, err, sizeof err), 0);
    assert_int_equal(access(rrd, F_OK), 0);
    assert_int_equal(an_import_file(csv, data, "s/d/c", 0, &o, NULL, err, sizeof err), -1);
    assert_int_equal(errno, EEXIST);
    assert_int_equal(an_import_file(csv, data, "s/d/c", 1, &o, NULL, err, sizeof err), 0);
    /* No temporary file is left in the folder. */
    char cmd[512];
    snprintf(cmd, sizeof cmd, "ls -A %s/s/d", data);
    FILE *p = popen(cmd, "r");
    char listing[256] = "";
    size_t got = fread(listing, 1, sizeof listing - 1, p);
    listing[got] = '\0';
    pclose(p);
    assert_string_equal(listing, "c.rrd\n");
    fclose(devnull);
}

/* ---- runs over real RRD files ---- */

#define R_T0 INT64_C(1700006400) /* 2023-11-15 00:00 UTC */
#define R_STEP 60
#define R_DAYS 28
#define R_N (R_DAYS * 1440)
#define ASIC_W 3250.0
#define ASIC_FROM (R_T0 + 15 * 86400 + 22 * 3600) /* day 15, 22:00 */
#define GAP_FROM (R_T0 + 5 * 86400 + 10 * 3600)   /* a 3 h collector outage in outlet1 */
#define GAP_TO (GAP_FROM + 3 * 3600)

/* Power read from the demo rack's outlets at time t (deterministic "noise").  The ASIC is
 * switched on at ASIC_FROM, and the poll at that instant is the first to read it, as with the
 * simulator's loads. */
static double outlet1_w(int64_t t)
{
    return 300.0 + 4.0 * sin((double)t / 997.0);
}

static double outlet7_w(int64_t t)
{
    return t >= ASIC_FROM ? ASIC_W + 10.0 * sin((double)t / 331.0) : 2.0;
}

/* Writes the collector's kind of files for campus/pdu/{inlet,outlet1,outlet7} as a meter polled
 * every minute from R_T0 gives them: at each poll the power read then, which holds until the
 * next poll, and the continuous energy register, which has counted what was drawn before.
 * The files start one step before the first poll, so that RRD keeps the first reading.
 * outlet1 and the inlet miss 3 hours of polls (the register keeps counting in the meter).
 * Returns the exact kWh of each channel over the 28 days from R_T0. */
static void write_collector_files(const char *data, double kwh[3])
{
    char err[512];
    storage_t *st = storage_open(data, NULL, err, sizeof err);
    assert_non_null(st);
    const storage_layout_t lay = {.step_s = R_STEP,
                                  .full_days = 35,
                                  .mid_step_s = 300,
                                  .mid_days = 40,
                                  .long_step_s = 3600,
                                  .long_days = 60};
    static const char *const rel[3] = {"campus/pdu/inlet", "campus/pdu/outlet1",
                                       "campus/pdu/outlet7"};
    for (int c = 0; c < 3; c++)
        assert_int_equal(storage_ensure(st, rel[c], &lay, R_T0 - R_STEP, err, sizeof err), 0);
    double wh[3] = {0, 0, 0};
    for (int i = 0; i < R_N; i++) {
        int64_t t = R_T0 + (int64_t)i * R_STEP;
        double w1 = outlet1_w(t), w7 = outlet7_w(t);
        double w[3] = {w1 + w7, w1, w7};
        int down = t > GAP_FROM && t <= GAP_TO;
        for (int c = 0; c < 3; c++) {
            storage_sample_t smp;
            for (int k = 0; k < STORAGE_DS_COUNT_; k++)
                smp.v[k] = NAN;
            smp.v[STORAGE_DS_POWER] = w[c];
            smp.v[STORAGE_DS_ENERGY] = 1e6 + wh[c]; /* a register that started at 1 MWh */
            wh[c] += w[c] * R_STEP / 3600.0;
            if (!(down && c < 2))
                assert_int_equal(storage_put(st, rel[c], t, &smp), 0);
        }
    }
    assert_int_equal(storage_flush(st, err, sizeof err), 0);
    storage_close(st);
    for (int c = 0; c < 3; c++)
        kwh[c] = wh[c] / 1000.0;
}

/* campus/ups/{inlet,out1}: a UPS whose inlet also feeds an unmetered 2 kW load from the ASIC's
 * time on; its one metered output is a flat 300 W.  Returns the inlet's kWh. */
static double write_ups_files(const char *data)
{
    char err[512];
    storage_t *st = storage_open(data, NULL, err, sizeof err);
    assert_non_null(st);
    const storage_layout_t lay = {.step_s = R_STEP, .full_days = 35};
    assert_int_equal(storage_ensure(st, "campus/ups/inlet", &lay, R_T0, err, sizeof err), 0);
    assert_int_equal(storage_ensure(st, "campus/ups/out1", &lay, R_T0, err, sizeof err), 0);
    double wh = 0;
    for (int i = 0; i < R_N; i++) {
        int64_t t = R_T0 + (int64_t)(i + 1) * R_STEP;
        double out1 = 300.0 + 3.0 * sin((double)t / 777.0);
        double inlet = out1 + (t > ASIC_FROM ? 2000.0 : 0);
        wh += inlet * R_STEP / 3600.0;
        storage_sample_t a, b;
        for (int k = 0; k < STORAGE_DS_COUNT_; k++)
            a.v[k] = b.v[k] = NAN;
        a.v[STORAGE_DS_POWER] = inlet;
        b.v[STORAGE_DS_POWER] = out1;
        assert_int_equal(storage_put(st, "campus/ups/inlet", t, &a), 0);
        assert_int_equal(storage_put(st, "campus/ups/out1", t, &b), 0);
    }
    assert_int_equal(storage_flush(st, err, sizeof err), 0);
    storage_close(st);
    return wh / 1000.0;
}

/* Runs rrdtool with the commands in text on its standard input ("rrdtool -"). */
static void rrdtool_batch(const char *text)
{
    FILE *p = popen(RRDTOOL_BIN " - >/dev/null", "w");
    assert_non_null(p);
    fputs(text, p);
    assert_int_equal(pclose(p), 0);
}

/* A file as collectd's rrdtool plugin makes it: one DS named "value", 300 s here; office
 * hours at 2 kW, nights 400 W.  Returns its kWh over the window. */
static double write_collectd_file(const char *path)
{
    size_t cap = 1 << 20, o = 0;
    char *cmd = malloc(cap);
    assert_non_null(cmd);
    o += (size_t)snprintf(cmd + o, cap - o,
                          "create %s --step 300 --start %lld DS:value:GAUGE:600:U:U "
                          "RRA:AVERAGE:0.5:1:10000\n",
                          path, (long long)R_T0);
    double wh = 0;
    int n = R_DAYS * 288;
    for (int i = 0; i < n; i++) {
        int64_t t = R_T0 + (int64_t)(i + 1) * 300;
        int hour = (int)((t - 300 - R_T0) % 86400 / 3600);
        double w = hour >= 8 && hour < 18 ? 2000 : 400;
        wh += w * 300 / 3600.0;
        if (i % 200 == 0)
            o += (size_t)snprintf(cmd + o, cap - o, "%supdate %s", i ? "\n" : "", path);
        o += (size_t)snprintf(cmd + o, cap - o, " %lld:%g", (long long)t, w);
        assert_true(o < cap - 64);
    }
    o += (size_t)snprintf(cmd + o, cap - o, "\n");
    rrdtool_batch(cmd);
    free(cmd);
    return wh / 1000.0;
}

static cJSON *jget(const cJSON *o, const char *path)
{
    char buf[256];
    wa_strlcpy(buf, path, sizeof buf);
    const cJSON *cur = o;
    for (char *save = NULL, *k = strtok_r(buf, ".", &save); k && cur;
         k = strtok_r(NULL, ".", &save)) {
        if (cJSON_IsArray(cur))
            cur = cJSON_GetArrayItem(cur, atoi(k));
        else
            cur = cJSON_GetObjectItemCaseSensitive(cur, k);
    }
    if (!cur)
        fail_msg("JSON has no %s", path);
    return (cJSON *)cur;
}

static const an_channel_result_t *find_channel(const an_result_t *r, const char *id)
{
    for (size_t s = 0; s < r->n_sites; s++)
        for (size_t i = 0; i < r->sites[s].n_channels; i++)
            if (strcmp(r->sites[s].channels[i].id, id) == 0)
                return &r->sites[s].channels[i];
    fail_msg("no channel %s", id);
    return NULL;
}

static void test_run_data_folder(void **state)
{
    struct fx *fx = *state;
    char data[128], path[256], err[512] = "", warn_path[128];
    snprintf(data, sizeof data, "%s/data", fx->dir);
    double kwh[3];
    write_collector_files(data, kwh);
    double kwh_ups = write_ups_files(data);
    /* A collectd host folder is a site of its own; a file with two unnamed data sources
     * cannot be used and must be named in a warning. */
    snprintf(path, sizeof path, "%s/collectd-host", data);
    assert_int_equal(mkdir(path, 0755), 0);
    snprintf(path, sizeof path, "%s/collectd-host/modbus-office", data);
    assert_int_equal(mkdir(path, 0755), 0);
    char cd[256];
    snprintf(cd, sizeof cd, "%s/collectd-host/power.rrd", data);
    double kwh_cd = write_collectd_file(cd);
    snprintf(path, sizeof path, "%s/collectd-host/modbus-office/odd.rrd", data);
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "create %s --step 300 --start %lld DS:foo:GAUGE:600:U:U DS:bar:GAUGE:600:U:U "
             "RRA:AVERAGE:0.5:1:100\nupdate %s %lld:1:2\n",
             path, (long long)R_T0, path, (long long)(R_T0 + 300));
    rrdtool_batch(cmd);

    /* A meter installed 10 days before the end: the default window starts at its first data,
     * and the time before it is no gap. */
    snprintf(path, sizeof path, "%s/late", data);
    assert_int_equal(mkdir(path, 0755), 0);
    {
        char *lc = malloc(1 << 16);
        size_t lo = 0;
        int64_t t0 = R_T0 + 18 * 86400;
        lo += (size_t)snprintf(lc + lo, (1 << 16) - lo,
                               "create %s/late/meter.rrd --step 300 --start %lld "
                               "DS:value:GAUGE:600:U:U RRA:AVERAGE:0.5:1:10000\nupdate "
                               "%s/late/meter.rrd",
                               data, (long long)t0, data);
        for (int i = 1; i <= 10 * 288; i++)
            lo += (size_t)snprintf(lc + lo, (1 << 16) - lo, " %lld:500",
                                   (long long)(t0 + 300 * (int64_t)i));
        lo += (size_t)snprintf(lc + lo, (1 << 16) - lo, "\n");
        assert_true(lo < (1 << 16) - 1);
        rrdtool_batch(lc);
        free(lc);
    }
    snprintf(warn_path, sizeof warn_path, "%s/warn.txt", fx->dir);
    FILE *warn = fopen(warn_path, "w+");
    an_run_opts_t o = {.data_dir = data, .warn = warn};
    assert_int_equal(an_factors_find("cn-popular", &o.factors), 0);
    an_result_t r;
    if (an_collect(&o, &r, err, sizeof err) != 0)
        fail_msg("an_collect: %s", err);

    /* The window: the last 28 days of data. */
    assert_int_equal(r.to, R_T0 + (int64_t)R_N * R_STEP);
    assert_int_equal(r.from, R_T0);
    /* The unusable file is named and skipped. */
    rewind(warn);
    char wl[1024] = "";
    assert_non_null(fgets(wl, sizeof wl, warn));
    fclose(warn);
    assert_non_null(strstr(wl, "odd.rrd"));
    assert_non_null(strstr(wl, "foo, bar"));
    assert_int_equal(r.n_skipped, 1);

    assert_int_equal(r.n_sites, 3);
    assert_string_equal(r.sites[0].id, "campus");
    assert_string_equal(r.sites[1].id, "collectd-host");
    assert_string_equal(r.sites[2].id, "late");
    const an_channel_result_t *late = find_channel(&r, "late/meter");
    assert_int_equal(r.sites[2].from, R_T0 + 18 * 86400);
    assert_int_equal(late->energy.n_gaps, 0);
    assert_rel(late->energy.coverage, 1, 1e-12);
    assert_rel(late->energy.kwh, 0.5 * 24 * 10, 1e-12);
    assert_rel(r.sites[2].days, 10, 1e-12);

    /* kWh: exact from the register across the outage, integrated power without one. */
    const an_channel_result_t *in = find_channel(&r, "campus/pdu/inlet");
    const an_channel_result_t *o1 = find_channel(&r, "campus/pdu/outlet1");
    const an_channel_result_t *o7 = find_channel(&r, "campus/pdu/outlet7");
    const an_channel_result_t *cdc = find_channel(&r, "collectd-host/power");
    assert_int_equal(o1->energy.method, AN_ENERGY_REGISTER);
    assert_rel(o1->energy.kwh, kwh[1], 1e-6);
    assert_rel(in->energy.kwh, kwh[0], 1e-6);
    assert_rel(o7->energy.kwh, kwh[2], 1e-6);
    /* Power alone misses the outage's 3 h and says so: one bridged gap.  The reading at
     * GAP_FROM holds until the next poll, the first one missed. */
    assert_int_equal(o1->energy.n_gaps, 1);
    assert_true(o1->energy.gaps[0].bridged);
    assert_int_equal(o1->energy.gaps[0].from, GAP_FROM + R_STEP);
    /* The first poll after the outage spans more than the heartbeat: RRD makes its reading
     * unknown too, so the hole is one step longer than the outage. */
    assert_int_equal(o1->energy.gaps[0].to, GAP_TO + 2 * R_STEP);
    /* The collector's files hold readings; the UPS's and collectd's are read as means. */
    assert_true(o1->polled && o7->polled && in->polled);
    assert_false(cdc->polled);
    assert_rel(o1->energy.kwh - o1->energy.kwh_integrated, 0.3 * 3, 0.02);
    assert_int_equal(cdc->energy.method, AN_ENERGY_POWER);
    assert_rel(cdc->energy.kwh, kwh_cd, 1e-9);
    assert_int_equal(cdc->step, 300);

    /* Roles: the inlet is the rack's total; the site counts it, not the outlets again. */
    assert_int_equal(in->role, AN_ROLE_TOTAL);
    assert_int_equal(o1->role, AN_ROLE_PART);
    assert_true(in->parts_cover);
    assert_rel(r.sites[0].kwh, kwh[0] + kwh_ups, 1e-6);
    assert_rel(r.sites[1].kwh, kwh_cd, 1e-9);
    assert_rel(r.kwh, kwh[0] + kwh_ups + kwh_cd + 120, 1e-6);
    assert_rel(r.sites[0].kgce, (kwh[0] + kwh_ups) * 0.404, 1e-6);
    assert_rel(r.sites[0].kgco2, (kwh[0] + kwh_ups) * 0.997, 1e-6);
    /* The UPS's inlet carries a load its output does not: the parts do not cover it. */
    const an_channel_result_t *ups = find_channel(&r, "campus/ups/inlet");
    assert_int_equal(ups->role, AN_ROLE_TOTAL);
    assert_false(ups->parts_cover);
    for (size_t k = 0; k < ups->ch.n_findings; k++)
        print_message("ups inlet: %s step %.0f W, %.1f kWh/day while on\n",
                      an_kind_name(ups->ch.findings[k].kind), ups->ch.findings[k].step_w,
                      ups->active_kwh_per_day);

    /* The ASIC: one unexplained load, still on; the rack's savings are its daily energy.  Its
     * onset is the poll that first read it: the start of the first step that carries it
     * (RRD's own convention for the row stamped ASIC_FROM would date it a step earlier). */
    int found = 0;
    for (size_t k = 0; k < o7->ch.n_findings; k++) {
        const an_finding_t *f = &o7->ch.findings[k];
        print_message("outlet7: %s onset %lld (ASIC_FROM %+lld s) step %.0f W excess %.1f kWh\n",
                      an_kind_name(f->kind), (long long)f->onset, (long long)(f->onset - ASIC_FROM),
                      f->step_w, f->excess_kwh);
        if (f->kind == AN_STEP_UP && !f->explained_by[0] && f->onset == ASIC_FROM) {
            found = 1;
            /* Its energy: the ASIC from its first reading to the end, within 0.1%. */
            double want_kwh = 0;
            for (int64_t t = ASIC_FROM; t < R_T0 + (int64_t)R_N * R_STEP; t += R_STEP)
                want_kwh += (outlet7_w(t) - 2.0) * R_STEP / 3.6e6;
            assert_rel(f->excess_kwh, want_kwh, 1e-3);
        }
    }
    assert_true(found);
    /* Savings: the ASIC and, undeclared, the web server's flat 300 W (a server and a rig look
     * alike; test_run_config declares one).  The inlet shows the same loads again: counted once. */
    double want = (ASIC_W + 300) * 24 / 1000;
    const an_channel_result_t *ups1 = find_channel(&r, "campus/ups/out1");
    double ups_rate = fmax(ups->active_kwh_per_day, ups1->active_kwh_per_day);
    print_message("campus savings %.1f kWh/day (want %.1f + UPS %.1f)\n",
                  r.sites[0].savings.kwh_per_day, want, ups_rate);
    assert_true(ups->active_kwh_per_day >= 2000 * 24 / 1000.0 * 0.95); /* the unmetered 2 kW */
    assert_rel(r.sites[0].savings.kwh_per_day, want + ups_rate, 0.05);
    assert_rel(r.sites[0].savings.tco2_per_year, r.sites[0].savings.kwh_per_day * 0.997 * 0.365,
               1e-9);

    /* The JSON document: the fields the issue names, times in Unix seconds. */
    char *buf = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    assert_int_equal(an_write(&r, AN_FMT_JSON, mem, err, sizeof err), 0);
    fclose(mem);
    cJSON *doc = cJSON_Parse(buf);
    assert_non_null(doc);
    assert_string_equal(jget(doc, "schema")->valuestring, "wattaudit.analysis/1");
    assert_string_equal(jget(doc, "schema_version")->valuestring, "1.2");
    assert_true(jget(doc, "from")->valuedouble == (double)R_T0);
    assert_string_equal(jget(doc, "factors.name")->valuestring, "cn-popular");
    assert_true(jget(doc, "factors.kgce_per_kwh")->valuedouble == 0.404);
    assert_true(jget(doc, "factors.kgco2_per_kwh")->valuedouble == 0.997);
    static const char *const paths[] = {
        "sites.0.site",
        "sites.0.kwh",
        "sites.0.excess_kwh",
        "sites.0.kgce",
        "sites.0.kgco2",
        "sites.0.savings.kwh_per_day",
        "sites.0.savings.kgce_per_day",
        "sites.0.savings.tce_per_year",
        "sites.0.savings.tco2_per_year",
        "sites.0.channels.0.id",
        "sites.0.channels.0.kwh",
        "sites.0.channels.0.mean_w",
        "sites.0.channels.0.coverage",
        "sites.0.channels.0.findings",
        "total.kwh",
    };
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
        jget(doc, paths[i]);
    cJSON *chs = jget(doc, "sites.0.channels");
    int checked = 0;
    for (int i = 0; i < cJSON_GetArraySize(chs); i++) {
        cJSON *ch = cJSON_GetArrayItem(chs, i);
        cJSON *fs = jget(ch, "findings");
        for (int k = 0; k < cJSON_GetArraySize(fs); k++) {
            cJSON *f = cJSON_GetArrayItem(fs, k);
            static const char *const fk[] = {"kind",     "onset",        "step_w",    "rigs.min",
                                             "rigs.max", "rigs.basis",   "rigs.fits", "excess_kwh",
                                             "score",    "explained_by", "evidence"};
            for (size_t j = 0; j < sizeof fk / sizeof fk[0]; j++)
                jget(f, fk[j]);
            /* The first fit is the old triple; every unexplained finding has one. */
            cJSON *fits = jget(f, "rigs.fits");
            if (cJSON_IsNull(jget(f, "explained_by"))) {
                assert_true(cJSON_GetArraySize(fits) >= 1);
                assert_string_equal(jget(f, "rigs.fits.0.kind")->valuestring,
                                    jget(f, "rigs.kind")->valuestring);
                assert_true(jget(f, "rigs.fits.0.min")->valuedouble ==
                            jget(f, "rigs.min")->valuedouble);
            }
            checked++;
        }
    }
    assert_true(checked >= 1);
    assert_rel(jget(doc, "sites.0.kwh")->valuedouble, kwh[0] + kwh_ups, 1e-6);
    cJSON_Delete(doc);
    free(buf);

    /* CSV and text come out too, and the CSV's site row carries the same kWh. */
    buf = NULL;
    mem = open_memstream(&buf, &len);
    assert_int_equal(an_write(&r, AN_FMT_CSV, mem, err, sizeof err), 0);
    fclose(mem);
    char *row = strstr(buf, "\nsite,campus,");
    assert_non_null(row);
    assert_non_null(strstr(buf, ",factors,rigs,classes,idle_w,"));
    /* The ASIC's 3.25 kW: one ASIC, or three GPU rigs, or a few dozen PCs. */
    char *o7row = strstr(buf, "\nchannel,campus,campus/pdu/outlet7,");
    assert_non_null(o7row);
    char *o7end = strchr(o7row + 1, '\n');
    assert_non_null(o7end);
    *o7end = '\0';
    if (!strstr(o7row, ",\"step_up: 1-2 asic, or 3 gpu_rig, or 26-85 office_pc\""))
        fail_msg("outlet7's CSV row lacks its rigs: %s", o7row);
    *o7end = '\n';
    const char *p = row + 1;
    for (int c = 0; c < 7; c++)
        p = strchr(p, ',') + 1;
    assert_rel(strtod(p, NULL), kwh[0] + kwh_ups, 1e-6);
    free(buf);
    buf = NULL;
    mem = open_memstream(&buf, &len);
    assert_int_equal(an_write(&r, AN_FMT_TEXT, mem, err, sizeof err), 0);
    fclose(mem);
    assert_non_null(strstr(buf, "site campus"));
    assert_non_null(strstr(buf, "kWh a day is"));
    assert_non_null(strstr(buf, "could be 1-2 asic, or 3 gpu_rig, or 26-85 office_pc (power alone "
                                "cannot tell these apart)"));
    /* outlet1's outage: inside the window, bridged by the register. */
    assert_non_null(strstr(buf, "1 gap, 3.0 h (the energy register spans some)"));
    free(buf);
    an_result_free(&r);
}

/* The demo's case: a meter polled every minute from T0 until the window's end (exclusive), into
 * a file the collector created at "the first time minus one" (storage_ensure).  RRD keeps no
 * value for a file's first update, so one reading of the 40,320 is not in the file.  With the
 * window given (the demo's), that missing step is one gap of a minute at the window's start,
 * and the output says so in minutes and where; the default window starts at the first data
 * and has no gap at all.  Read by RRD's convention instead, the window would miss its last
 * step (there is no poll at its end) and every minute would be dated a step early. */
static void test_window_edges(void **state)
{
    struct fx *fx = *state;
    char data[128], err[512] = "";
    snprintf(data, sizeof data, "%s/data", fx->dir);
    storage_t *st = storage_open(data, NULL, err, sizeof err);
    assert_non_null(st);
    const storage_layout_t lay = {.step_s = R_STEP, .full_days = 35};
    static const char *const rel[2] = {"demo/meter/total", "demo/meter/l1"};
    for (int c = 0; c < 2; c++)
        assert_int_equal(storage_ensure(st, rel[c], &lay, R_T0 - 1, err, sizeof err), 0);
    double wh = 0;
    for (int i = 0; i < R_N; i++) {
        storage_sample_t smp;
        for (int k = 0; k < STORAGE_DS_COUNT_; k++)
            smp.v[k] = NAN;
        smp.v[STORAGE_DS_POWER] = 500.0;
        smp.v[STORAGE_DS_ENERGY] = wh;
        wh += 500.0 * R_STEP / 3600.0;
        for (int c = 0; c < 2; c++)
            assert_int_equal(storage_put(st, rel[c], R_T0 + (int64_t)i * R_STEP, &smp), 0);
    }
    assert_int_equal(storage_flush(st, err, sizeof err), 0);
    storage_close(st);

    static const struct {
        int64_t from, to;
        int64_t want_from;
        size_t gaps;
        const char *text; /* in the text output */
    } cases[] = {
        {R_T0, R_T0 + (int64_t)R_N * R_STEP, R_T0, 1,
         "  every channel: 1 gap: no data before 2023-11-15 00:01, the window's first 1 min\n"},
        {0, 0, R_T0 + R_STEP, 0, "100.0% known  [total]\n"},
        /* A window that ends 10 minutes after the data and starts with the first reading. */
        {R_T0 + R_STEP, R_T0 + (int64_t)R_N * R_STEP + 600, R_T0 + R_STEP, 1,
         "1 gap: no data after 2023-12-13 00:00, the window's last 10 min"},
        /* Both: the window given from T0 to 10 minutes after the data. */
        {R_T0, R_T0 + (int64_t)R_N * R_STEP + 600, R_T0, 2,
         "2 gaps, 11 min, the first at the window's start (no data before 2023-11-15 00:01), the "
         "last at its end (no data after 2023-12-13 00:00)"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        an_run_opts_t o = {.data_dir = data, .from = cases[k].from, .to = cases[k].to};
        o.channel.tz = "UTC";
        assert_int_equal(an_factors_find("cn-popular", &o.factors), 0);
        an_result_t r;
        if (an_collect(&o, &r, err, sizeof err) != 0)
            fail_msg("an_collect: %s", err);
        const an_channel_result_t *c = find_channel(&r, "demo/meter/total");
        print_message("window %lld..%lld: channel from %lld, %zu gaps, %.4f h, coverage %.6f\n",
                      (long long)r.from, (long long)r.to, (long long)c->from, c->energy.n_gaps,
                      c->energy.gap_hours, c->energy.coverage);
        assert_true(c->polled);
        assert_int_equal(r.to, cases[k].to ? cases[k].to : R_T0 + (int64_t)R_N * R_STEP);
        assert_int_equal(c->from, cases[k].want_from);
        assert_int_equal(c->energy.n_gaps, cases[k].gaps);
        if (cases[k].gaps && cases[k].from == R_T0) {
            assert_int_equal(c->energy.gaps[0].from, R_T0);
            assert_int_equal(c->energy.gaps[0].to, R_T0 + R_STEP);
        }
        char *buf = NULL;
        size_t len = 0;
        FILE *mem = open_memstream(&buf, &len);
        assert_int_equal(an_write(&r, AN_FMT_TEXT, mem, err, sizeof err), 0);
        fclose(mem);
        if (!strstr(buf, cases[k].text))
            fail_msg("the text lacks '%s':\n%s", cases[k].text, buf);
        free(buf);
        buf = NULL;
        mem = open_memstream(&buf, &len);
        assert_int_equal(an_write(&r, AN_FMT_JSON, mem, err, sizeof err), 0);
        fclose(mem);
        cJSON *doc = cJSON_Parse(buf);
        assert_non_null(doc);
        assert_string_equal(jget(doc, "sites.0.channels.1.power_values")->valuestring, "readings");
        if (cases[k].gaps)
            assert_string_equal(jget(doc, "sites.0.channels.1.gaps.list.0.at")->valuestring,
                                cases[k].from == R_T0 ? "start" : "end");
        cJSON_Delete(doc);
        free(buf);
        /* Every reading the file holds (all polls but the first) is counted once. */
        assert_rel(c->energy.kwh, 0.5 * (R_N - 1) / 60.0, 1e-9);
        an_result_free(&r);
    }
}

/* A config names the sites and channels, gives the zone and declares a research job. */
static void test_run_config(void **state)
{
    struct fx *fx = *state;
    char data[128], err[512] = "";
    snprintf(data, sizeof data, "%s/data", fx->dir);
    double kwh[3];
    write_collector_files(data, kwh);
    /* outlet7's power was estimated from a UPS's percent load over the whole run (the
     * collector's sidecar, docs/rrd-layout.md): its findings must say so; the inlet's not. */
    {
        char meta[256];
        snprintf(meta, sizeof meta, "%s/campus/pdu/outlet7.meta.json", data);
        FILE *mf = fopen(meta, "w");
        assert_non_null(mf);
        fprintf(mf, "{\"version\": 1, \"source\": \"usb-hid\", \"power\": \"estimated\", "
                    "\"periods\": [{\"from\": %lld, \"to\": null, \"power\": \"estimated\", "
                    "\"how\": \"load %% x nominal 600 W (device)\"}]}\n",
                (long long)R_T0);
        fclose(mf);
    }
    char conf[2048];
    snprintf(conf, sizeof conf,
             "timezone = \"Asia/Shanghai\";\n"
             "storage = { data_dir = \"%s\"; };\n"
             "sites = ( { id = \"campus\"; name = \"Engineering\"; buses = ( { id = \"gw\";\n"
             "  tcp = \"127.0.0.1:1502\"; devices = ( { id = \"pdu\"; unit = 1;\n"
             "  profile = \"netio-powerpdu-8ks\"; channels = (\n"
             "    { id = \"inlet\"; name = \"Rack A inlet\"; },\n"
             "    { id = \"outlet1\"; name = \"A1 web server\"; },\n"
             "    { id = \"outlet7\"; name = \"A7 spare\"; declared = (\n"
             "      { id = \"job-17\"; kind = \"research\"; w = 3300.0; from = \"2023-11-30T00:00\"; } ); "
             "},\n"
             "    { id = \"missing\"; name = \"never collected\"; }\n"
             "  ); } ); } ); } );\n",
             data);
    siteconf_t *cfg = siteconf_parse(conf, "site.conf", err, sizeof err);
    if (!cfg)
        fail_msg("config: %s", err);
    FILE *devnull = fopen("/dev/null", "w");
    an_run_opts_t o = {.cfg = cfg, .warn = devnull};
    assert_int_equal(an_factors_find("cn-grid-east", &o.factors), 0);
    an_result_t r;
    if (an_collect(&o, &r, err, sizeof err) != 0)
        fail_msg("an_collect: %s", err);
    assert_int_equal(r.n_sites, 1);
    assert_string_equal(r.sites[0].tz, "Asia/Shanghai");
    assert_string_equal(r.sites[0].name, "Engineering");
    assert_int_equal(r.n_skipped, 1); /* the channel never collected */
    assert_int_equal(r.sites[0].n_channels, 3);
    const an_channel_result_t *o7 = find_channel(&r, "campus/pdu/outlet7");
    assert_string_equal(o7->name, "A7 spare");
    assert_int_equal(o7->n_declared, 1);
    /* The declared job covers the ASIC's step: explained, so no savings are claimed for it.
     * The web server's flat 300 W is undeclared and stays (a server and a rig look alike). */
    int explained = 0;
    for (size_t k = 0; k < r.sites[0].n_channels; k++)
        for (size_t j = 0; j < r.sites[0].channels[k].ch.n_findings; j++) {
            const an_finding_t *f = &r.sites[0].channels[k].ch.findings[j];
            print_message("%s: %s onset %lld end %lld step %.0f W excess %.1f kWh [%s]\n",
                          r.sites[0].channels[k].id, an_kind_name(f->kind), (long long)f->onset,
                          (long long)f->end, f->step_w, f->excess_kwh, f->explained_by);
        }
    /* The job declared on outlet 7 is on the rack's inlet too. */
    const an_channel_result_t *in = find_channel(&r, "campus/pdu/inlet");
    assert_int_equal(in->role, AN_ROLE_TOTAL);
    assert_int_equal(in->n_declared, 1);
    for (size_t k = 0; k < in->ch.n_findings; k++)
        if (in->ch.findings[k].kind == AN_STEP_UP)
            assert_non_null(strstr(in->ch.findings[k].explained_by, "research job-17"));
    for (size_t k = 0; k < o7->ch.n_findings; k++) {
        explained += strcmp(o7->ch.findings[k].explained_by, "research job-17") == 0;
        assert_int_equal(o7->ch.findings[k].estimated, 1);
        assert_string_equal(o7->ch.findings[k].estimated_how, "load % x nominal 600 W (device)");
    }
    for (size_t k = 0; k < in->ch.n_findings; k++)
        assert_int_equal(in->ch.findings[k].estimated, 0);
    /* Rigs are for unexplained loads only. */
    for (size_t k = 0; k < r.sites[0].n_channels; k++)
        for (size_t j = 0; j < r.sites[0].channels[k].ch.n_findings; j++) {
            const an_finding_t *f = &r.sites[0].channels[k].ch.findings[j];
            if (f->explained_by[0]) {
                assert_int_equal(f->n_rig_fits, 0);
                assert_int_equal(f->rigs_max, 0);
                assert_string_equal(f->rig_kind, "");
            }
        }
    assert_true(explained >= 1);
    assert_rel(r.sites[0].savings.kwh_per_day, 0.3 * 24, 0.05);
    assert_rel(r.sites[0].kwh, kwh[0], 1e-6); /* the inlet, not the outlets again */
    assert_rel(r.sites[0].kgco2, kwh[0] * 0.5617, 1e-6);
    an_result_free(&r);
    siteconf_free(cfg);
    fclose(devnull);
}

/* ---- population scaling ---- */

static void test_scale(void **state)
{
    (void)state;
    an_scale_t a, b, c;
    /* Three sites, one unit each: the resample means of {10, 20, 30} run from 10 (1 in 27,
     * above the 2.5% tail) to 30, so the 95% interval is exactly [10, 30] per unit. */
    const double y[] = {10, 20, 30};
    assert_int_equal(an_scale_ratio(y, NULL, 3, 30, 20000, 42, 0.95, &a), 0);
    assert_rel(a.ratio, 20, 1e-12);
    assert_rel(a.total, 600, 1e-12);
    assert_rel(a.lo, 300, 1e-12);
    assert_rel(a.hi, 900, 1e-12);
    assert_int_equal(a.replicates, 20000);
    /* Reproducible: the same seed gives the same figures, to the bit. */
    assert_int_equal(an_scale_ratio(y, NULL, 3, 30, 20000, 42, 0.80, &b), 0);
    assert_int_equal(an_scale_ratio(y, NULL, 3, 30, 20000, 42, 0.80, &c), 0);
    assert_true(b.lo == c.lo && b.hi == c.hi);
    assert_true(b.lo > a.lo && b.hi < a.hi); /* a narrower level, a narrower interval */
    /* Units per site: a constant ratio has no sampling spread at all. */
    const double y2[] = {10, 40, 25}, x2[] = {1, 4, 2.5};
    assert_int_equal(an_scale_ratio(y2, x2, 3, 1000, 2000, 7, 0.95, &a), 0);
    assert_rel(a.total, 10000, 1e-12);
    assert_rel(a.lo, 10000, 1e-12);
    assert_rel(a.hi, 10000, 1e-12);
    /* A wider spread of sites gives a wider interval around the same ratio. */
    const double y3[] = {0, 0, 0, 0, 100, 0, 0, 0, 0, 100};
    assert_int_equal(an_scale_ratio(y3, NULL, 10, 500, 10000, 1, 0.95, &a), 0);
    assert_rel(a.total, 10000, 1e-12);
    assert_true(a.lo < 5000 && a.hi > 15000);
    /* Refusals. */
    errno = 0;
    assert_int_equal(an_scale_ratio(y, NULL, 1, 30, 100, 1, 0.95, &a), -1);
    assert_int_equal(errno, EINVAL);
    const double zero[] = {0, 0};
    assert_int_equal(an_scale_ratio(y, zero, 2, 30, 100, 1, 0.95, &a), -1);
    assert_int_equal(an_scale_ratio(y, NULL, 3, 30, 100, 1, 1.0, &a), -1);
    assert_int_equal(an_scale_ratio(y, NULL, 3, 0, 100, 1, 0.95, &a), -1);
}

/* ---- the report ---- */

/* A result as an_collect would leave it, built by hand: the report needs no files. */
static void fake_result(an_result_t *r, an_channel_result_t *ch, an_finding_t *fd)
{
    memset(r, 0, sizeof *r);
    assert_int_equal(an_factors_find("cn-popular", &r->factors), 0);
    r->from = R_T0;
    r->to = R_T0 + 28 * 86400;
    static an_site_result_t sites[2];
    memset(sites, 0, sizeof sites);
    memset(ch, 0, sizeof *ch);
    memset(fd, 0, sizeof *fd);
    for (int k = 0; k < 2; k++) {
        sites[k].from = r->from;
        sites[k].to = r->to;
    }
    wa_strlcpy(sites[0].id, "county-a", sizeof sites[0].id);
    wa_strlcpy(sites[0].tz, "Asia/Shanghai", sizeof sites[0].tz);
    wa_strlcpy(sites[1].id, "county-b <&>", sizeof sites[1].id);
    wa_strlcpy(ch->id, "county-a/pdu/outlet7", sizeof ch->id);
    ch->step = 60;
    ch->data_end = r->to;
    ch->analyzed = 1;
    ch->energy.method = AN_ENERGY_POWER;
    ch->energy.kwh = 1e6;
    ch->energy.coverage = 0.99;
    ch->from = r->from;
    ch->energy.n_gaps = 2;
    ch->energy.gaps[0] = (an_gap_t){R_T0 + 86400, R_T0 + 86400 + 3 * 3600, 0};
    ch->energy.gaps[1] = (an_gap_t){R_T0 + 5 * 86400, R_T0 + 5 * 86400 + 13320, 0};
    ch->energy.gap_hours = 6.7;
    ch->energy.unbridged_gap_hours = 6.7;
    fd->kind = AN_STEP_UP;
    fd->onset = R_T0 + 3 * 86400;
    fd->end = r->to;
    fd->step_w = 6187500; /* 148,500 kWh a day */
    fd->rigs_min = 1900;
    fd->rigs_max = 2100;
    wa_strlcpy(fd->rig_kind, "asic", sizeof fd->rig_kind);
    fd->rig_fits[0] = (an_rig_fit_t){"asic", 1900, 2100};
    fd->rig_fits[1] = (an_rig_fit_t){"gpu_rig", 3900, 6200};
    fd->n_rig_fits = 2;
    fd->rig_basis = AN_RIG_POWER_ONLY;
    fd->excess_kwh = 148500.0 * 25;
    ch->ch.findings = fd;
    ch->ch.n_findings = 1;
    sites[0].channels = ch;
    sites[0].n_channels = 1;
    an_savings_compute(148500, 1, &r->factors, &sites[0].savings);
    sites[0].kwh = 1e6;
    sites[1].kwh = 5e5;
    r->sites = sites;
    r->n_sites = 2;
    r->kwh = 1.5e6;
    r->savings = sites[0].savings;
}

static char *report_text(const an_result_t *r, const an_report_opts_t *o)
{
    char *buf = NULL, err[256];
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    assert_int_equal(an_report_write(r, o, mem, err, sizeof err), 0);
    fclose(mem);
    return buf;
}

static void test_report(void **state)
{
    (void)state;
    an_result_t r;
    an_channel_result_t ch;
    an_finding_t fd;
    fake_result(&r, &ch, &fd);
    const char *published = "148,500 kWh a day is 60 t of standard coal a day, 21,900 t a year, "
                            "and 54,000 t of CO2 a year (0.404 kgce and 0.997 kg CO2 per kWh)";
    an_scale_t sc;
    const double y[] = {148500, 20000, 0, 35000};
    assert_int_equal(an_scale_ratio(y, NULL, 4, 40, 5000, 2021, 0.95, &sc), 0);

    static const struct {
        an_report_format_t fmt;
        int scale;
        const char *must[8];
    } cases[] = {
        {AN_REPORT_MARKDOWN,
         0,
         {"# Unexplained electricity loads", "## Statement", "| county-a |", "## Method",
          "Source: popular Chinese savings factors", "| 1900-2100 asic, or 3900-6200 gpu_rig |",
          "county-a/pdu/outlet7: 99.0% of the period known (power); 2 gaps, 6.7 h; 6.7 h of it not "
          "bridged by the energy register"}},
        {AN_REPORT_HTML,
         1,
         {"<!DOCTYPE html>", "<table>", "county-b &lt;&amp;&gt;", "<li>Assumed: the audited",
          "</html>", NULL}},
        {AN_REPORT_CSV,
         1,
         {"scope,from,to,kwh", "\ncounty-a,", "\nall sites,", "\npopulation,", NULL}},
        {AN_REPORT_JSON,
         1,
         {"\"schema\":\t\"wattaudit.analysis/1\"", "\"report\":", "\"population\":", NULL}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        an_report_opts_t o = {.format = cases[i].fmt,
                              .scale = cases[i].scale ? &sc : NULL,
                              .population_what = "flagged IP addresses"};
        char *t = report_text(&r, &o);
        if (getenv("WA_SHOW_REPORT") && cases[i].fmt == AN_REPORT_MARKDOWN)
            fputs(t, stderr);
        for (size_t k = 0; cases[i].must[k]; k++)
            if (!strstr(t, cases[i].must[k]))
                fail_msg("format %d lacks '%s':\n%s", cases[i].fmt, cases[i].must[k], t);
        /* The published sentence, to the letter, in every human-readable form. */
        if (cases[i].fmt == AN_REPORT_MARKDOWN || cases[i].fmt == AN_REPORT_HTML ||
            cases[i].fmt == AN_REPORT_JSON)
            if (!strstr(t, published))
                fail_msg("format %d lacks the published statement:\n%s", cases[i].fmt, t);
        if (cases[i].fmt == AN_REPORT_JSON) {
            cJSON *doc = cJSON_Parse(t);
            assert_non_null(doc);
            assert_rel(jget(doc, "report.population.kwh_per_day")->valuedouble, sc.total, 1e-12);
            assert_rel(jget(doc, "sites.0.savings.tce_per_year")->valuedouble, 21897.81, 1e-12);
            cJSON_Delete(doc);
        }
        free(t);
    }
}

/* ---- the command line, end to end ---- */

/* Runs the wattaudit binary with args; returns its exit status, stdout and stderr in out. */
static int wattaudit(char *out, size_t len, const char *fmt, ...)
{
    char args[2048], cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "%s %s 2>&1", WATTAUDIT_BIN, args);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(out, 1, len - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* A 15-minute kWh-per-interval export of `days` days: a 1 kW base, and from day 3 a 2.4 kW
 * load that never switches off.  Returns its kWh. */
static double write_export(const char *path, int days)
{
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs("Time,Consumption (kWh)\n", fp);
    double kwh = 0;
    for (int i = 0; i < days * 96; i++) {
        int64_t t = R_T0 + (int64_t)i * 900;
        char when[32];
        double e = 0.25 * (1.0 + (i >= 3 * 96 ? 2.4 : 0) + 0.05 * sin(i * 0.7));
        e = round(e * 1e6) / 1e6; /* as printed */
        kwh += e;
        fprintf(fp, "%s,%.6f\n", wa_time_format(t, "UTC", when, sizeof when), e);
    }
    fclose(fp);
    return kwh;
}

static void test_cli(void **state)
{
    struct fx *fx = *state;
    char out[65536], csv[128], data[128];
    snprintf(data, sizeof data, "%s/data", fx->dir);
    snprintf(csv, sizeof csv, "%s/export.csv", fx->dir);
    double kwh = write_export(csv, 8);

    assert_int_equal(wattaudit(out, sizeof out,
                               "import --data %s --channel school-1/main/meter "
                               "--tz UTC %s",
                               data, csv),
                     0);
    assert_non_null(strstr(out, "768 steps of 900 s"));
    assert_int_equal(wattaudit(out, sizeof out,
                               "import --data %s --channel school-2/main/meter "
                               "--tz UTC %s",
                               data, csv),
                     0);
    /* Refusals: an existing channel, a bad row (named by line), a usage error. */
    assert_int_equal(wattaudit(out, sizeof out,
                               "import --data %s --channel school-1/main/meter "
                               "--tz UTC %s",
                               data, csv),
                     1);
    assert_non_null(strstr(out, "exists"));
    char bad[128];
    snprintf(bad, sizeof bad, "%s/bad.csv", fx->dir);
    FILE *fp = fopen(bad, "w");
    fputs("Time,kW\n2024-01-01 00:00,1\n2024-01-01 00:15,one\n", fp);
    fclose(fp);
    assert_int_equal(wattaudit(out, sizeof out, "import --data %s --channel x/y/z %s", data, bad),
                     1);
    assert_non_null(strstr(out, "bad.csv:3: 'one' is not a number"));
    assert_int_equal(wattaudit(out, sizeof out, "import --data %s %s", data, bad), 2);
    assert_int_equal(wattaudit(out, sizeof out, "analyze --config a --data b"), 2);
    assert_int_equal(wattaudit(out, sizeof out, "analyze --data %s --factors cn-moon", data), 2);
    assert_int_equal(wattaudit(out, sizeof out, "analyze --factors list"), 0);
    assert_non_null(strstr(out, "cn-grid-southwest"));

    /* analyze: the imported kWh, to the 0.5% and much better. */
    assert_int_equal(
        wattaudit(out, sizeof out, "analyze --data %s --factors cn-popular --format json", data),
        0);
    cJSON *doc = cJSON_Parse(out);
    if (!doc)
        fail_msg("not JSON: %s", out);
    assert_rel(jget(doc, "sites.0.channels.0.kwh")->valuedouble, kwh, 1e-9);
    assert_rel(jget(doc, "total.kwh")->valuedouble, 2 * kwh, 1e-9);
    assert_string_equal(jget(doc, "sites.1.channels.0.id")->valuestring, "school-2/main/meter");
    double saved = jget(doc, "sites.0.savings.kwh_per_day")->valuedouble;
    print_message("cli: %.3f kWh imported per site, %.2f kWh/day unexplained (load 57.6)\n", kwh,
                  saved);
    assert_rel(saved, 0.25 * 4 * 2.4 * 24, 0.05); /* the 2.4 kW load, every day */
    cJSON_Delete(doc);
    assert_int_equal(wattaudit(out, sizeof out, "analyze --data %s --format csv", data), 0);
    assert_non_null(strstr(out, "\ntotal,"));

    /* report: Markdown with a population estimate; HTML to a file. */
    assert_int_equal(wattaudit(out, sizeof out,
                               "report --data %s --factors cn-popular --population 40 "
                               "--units-name schools --site-units school-2=3",
                               data),
                     0);
    assert_non_null(strstr(out, "## Population estimate"));
    assert_non_null(strstr(out, "over 4 schools"));
    assert_non_null(strstr(out, "Fewer than 10 audited sites"));
    char html[128];
    snprintf(html, sizeof html, "%s/r.html", fx->dir);
    assert_int_equal(
        wattaudit(out, sizeof out, "report --data %s --format html --out %s", data, html), 0);
    assert_int_equal(access(html, R_OK), 0);
    assert_int_equal(wattaudit(out, sizeof out,
                               "report --data %s --site-units nowhere=2 "
                               "--population 5",
                               data),
                     2);
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
        cmocka_unit_test(test_import_parse_cases),
        cmocka_unit_test(test_import_wide),
        cmocka_unit_test_setup_teardown(test_import_real_traces, setup, teardown),
        cmocka_unit_test_setup_teardown(test_import_atomic, setup, teardown),
        cmocka_unit_test_setup_teardown(test_run_data_folder, setup, teardown),
        cmocka_unit_test_setup_teardown(test_run_config, setup, teardown),
        cmocka_unit_test_setup_teardown(test_window_edges, setup, teardown),
        cmocka_unit_test(test_scale),
        cmocka_unit_test(test_report),
        cmocka_unit_test_setup_teardown(test_cli, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
