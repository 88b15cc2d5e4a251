/*
 * collect: the request planner, energy continuity and the config-vs-profile checks from
 * tables; the whole collector against real peers is in test_collect_live.c.
 *
 *   test_collect                      the table tests
 *   test_collect sim|child|interop    the live groups (see live.h)
 *   test_collect hosts                scraping hosts' exporters (test_collect_hosts.c)
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "meters/collect/collect-private.h"
#include "tests/meters/collect/live.h"

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))
#define MAXR 20

/* ---- planner ------------------------------------------------------------------------------- */

typedef struct {
    uint8_t fn;
    uint16_t addr, n;
} req_t;

/* The Eastron SDM630 rows the collector reads for all four channels (profiles/eastron-sdm630
 * .conf): voltages, currents, powers, power factors, total power, frequency, total import, and
 * the per-phase import counters; all float32 input registers. */
static const plan_item_t sdm630[] = {
    {4, 0x00, 2}, {4, 0x02, 2}, {4, 0x04, 2}, {4, 0x06, 2}, {4, 0x08, 2}, {4, 0x0A, 2},
    {4, 0x0C, 2}, {4, 0x0E, 2}, {4, 0x10, 2}, {4, 0x1E, 2}, {4, 0x20, 2}, {4, 0x22, 2},
    {4, 0x34, 2}, {4, 0x46, 2}, {4, 0x48, 2}, {4, 0x15A, 2}, {4, 0x15C, 2}, {4, 0x15E, 2},
};

static void test_plan_build(void **state)
{
    static const plan_item_t unsorted[] = {{3, 5, 1}, {3, 0, 1}, {3, 5, 1}, {3, 2, 1}};
    static const plan_item_t mixed[] = {{4, 0, 2}, {3, 0, 2}, {4, 2, 2}, {3, 4, 2}};
    static const plan_item_t gap8[] = {{3, 0, 1}, {3, 9, 1}};
    static const plan_item_t overlap[] = {{3, 10, 2}, {3, 11, 1}};
    static const plan_item_t wide[] = {{3, 0, 4}, {3, 4, 1}};
    static const plan_item_t ten[] = {{3, 0, 1}, {3, 1, 1}, {3, 2, 1}, {3, 3, 1}, {3, 4, 1},
                                      {3, 5, 1}, {3, 6, 1}, {3, 7, 1}, {3, 8, 1}, {3, 9, 1}};
    static const plan_item_t top[] = {{3, 65534, 2}, {3, 65530, 1}};
    /* A SunSpec model 203 at 40002 (ID register): W at 18 with its W_SF at 22, Hz at 16
     * with Hz_SF 17, TotWhImp at 46 (u32) with TotWh_SF at 54. */
    static const plan_item_t sunspec[] = {{3, 40020, 1}, {3, 40024, 1}, {3, 40018, 1},
                                          {3, 40019, 1}, {3, 40048, 2}, {3, 40056, 1}};
    static const struct {
        const char *name;
        const plan_item_t *items;
        size_t n;
        int max_gap, max_regs;
        req_t want[MAXR];
        int n_want;
    } cases[] = {
        {"empty", NULL, 0, 8, 100, {{0, 0, 0}}, 0},
        {"sdm630 gap 8", sdm630, N_OF(sdm630), 8, 80,
         {{4, 0, 18}, {4, 30, 6}, {4, 52, 2}, {4, 70, 4}, {4, 346, 6}}, 5},
        {"sdm630 gap 20", sdm630, N_OF(sdm630), 20, 80, {{4, 0, 74}, {4, 346, 6}}, 2},
        {"sdm630 gap 20 span 40", sdm630, N_OF(sdm630), 20, 40,
         {{4, 0, 36}, {4, 52, 22}, {4, 346, 6}}, 3},
        {"sdm630 one register at a time", sdm630, N_OF(sdm630), 0, 2,
         {{4, 0, 2}, {4, 2, 2}, {4, 4, 2}, {4, 6, 2}, {4, 8, 2}, {4, 10, 2}, {4, 12, 2},
          {4, 14, 2}, {4, 16, 2}, {4, 30, 2}, {4, 32, 2}, {4, 34, 2}, {4, 52, 2}, {4, 70, 2},
          {4, 72, 2}, {4, 346, 2}, {4, 348, 2}, {4, 350, 2}}, 18},
        {"unsorted with duplicates", unsorted, N_OF(unsorted), 8, 100, {{3, 0, 6}}, 1},
        {"functions never mix", mixed, N_OF(mixed), 8, 100, {{3, 0, 6}, {4, 0, 4}}, 2},
        {"gap of exactly max_gap", gap8, N_OF(gap8), 8, 100, {{3, 0, 10}}, 1},
        {"gap one over max_gap", gap8, N_OF(gap8), 7, 100, {{3, 0, 1}, {3, 9, 1}}, 2},
        {"overlapping rows", overlap, N_OF(overlap), 0, 100, {{3, 10, 2}}, 1},
        {"row wider than max_regs", wide, N_OF(wide), 8, 2, {{3, 0, 4}, {3, 4, 1}}, 2},
        {"span limit", ten, N_OF(ten), 8, 4, {{3, 0, 4}, {3, 4, 4}, {3, 8, 2}}, 3},
        {"max_regs above 125 means 125", ten, N_OF(ten), 0, 500, {{3, 0, 10}}, 1},
        {"top of the address space", top, N_OF(top), 8, 100, {{3, 65530, 6}}, 1},
        {"sunspec rows and their scale factors", sunspec, N_OF(sunspec), 8, 125,
         {{3, 40018, 7}, {3, 40048, 9}}, 2},
    };
    (void)state;
    for (size_t i = 0; i < N_OF(cases); i++) {
        plan_req_t out[64];
        int n = plan_build(cases[i].items, cases[i].n, cases[i].max_gap, cases[i].max_regs, out);
        if (n != cases[i].n_want)
            fail_msg("%s: %d requests, want %d", cases[i].name, n, cases[i].n_want);
        for (int k = 0; k < n; k++)
            if (out[k].fn != cases[i].want[k].fn || out[k].addr != cases[i].want[k].addr ||
                out[k].n != cases[i].want[k].n)
                fail_msg("%s: request %d is fc %d %u+%u, want fc %d %u+%u", cases[i].name, k,
                         out[k].fn, out[k].addr, out[k].n, cases[i].want[k].fn,
                         cases[i].want[k].addr, cases[i].want[k].n);
    }
}

static void test_plan_build_invalid(void **state)
{
    static const plan_item_t zero[] = {{3, 0, 0}};
    static const plan_item_t past[] = {{3, 65535, 2}};
    plan_req_t out[4];
    (void)state;
    errno = 0;
    assert_int_equal(plan_build(zero, 1, 8, 100, out), -1);
    assert_int_equal(errno, EINVAL);
    errno = 0;
    assert_int_equal(plan_build(past, 1, 8, 100, out), -1);
    assert_int_equal(errno, EINVAL);
    assert_int_equal(plan_build(sdm630, 2, -1, 100, out), -1);
    assert_int_equal(plan_limit(0, 80), 80);
    assert_int_equal(plan_limit(10, 80), 10);
    assert_int_equal(plan_limit(0, 0), 125);
    assert_int_equal(plan_limit(0, 300), 125);
}

static void test_plan_split(void **state)
{
    static const plan_item_t five[] = {{3, 8, 2}, {3, 0, 2}, {3, 2, 2}, {3, 4, 2}, {3, 6, 2},
                                       {4, 3, 1}, {3, 40, 1}};
    static const plan_item_t shared[] = {{3, 4, 1}, {3, 4, 1}, {3, 9, 1}};
    static const plan_item_t straddle[] = {{3, 0, 4}, {3, 2, 1}, {3, 6, 1}};
    static const struct {
        const char *name;
        const plan_item_t *items;
        size_t n;
        req_t req;
        int k;
        req_t want[2];
    } cases[] = {
        /* Only items inside the request count: not fc 4 at 3, not the one at 40. */
        {"five rows", five, N_OF(five), {3, 0, 10}, 2, {{3, 0, 4}, {3, 4, 6}}},
        {"two rows", five, N_OF(five), {3, 4, 4}, 2, {{3, 4, 2}, {3, 6, 2}}},
        {"one row", five, N_OF(five), {3, 8, 2}, 0, {{0, 0, 0}}},
        {"one address read by two rows", shared, 2, {3, 4, 1}, 0, {{0, 0, 0}}},
        {"shared address stays together", shared, N_OF(shared), {3, 4, 6}, 2,
         {{3, 4, 1}, {3, 9, 1}}},
        /* The row at 0 spans the one at 2: the left half keeps its whole width, the right
         * starts at its first row even if that is read twice. */
        {"overlap", straddle, N_OF(straddle), {3, 0, 7}, 2, {{3, 0, 4}, {3, 2, 5}}},
    };
    (void)state;
    for (size_t i = 0; i < N_OF(cases); i++) {
        plan_req_t req = {cases[i].req.fn, cases[i].req.addr, cases[i].req.n, 0, 0}, out[2];
        int k = plan_split(cases[i].items, cases[i].n, &req, out);
        if (k != cases[i].k)
            fail_msg("%s: %d halves, want %d", cases[i].name, k, cases[i].k);
        for (int j = 0; j < k; j++)
            if (out[j].fn != cases[i].want[j].fn || out[j].addr != cases[i].want[j].addr ||
                out[j].n != cases[i].want[j].n)
                fail_msg("%s: half %d is %u+%u, want %u+%u", cases[i].name, j, out[j].addr,
                         out[j].n, cases[i].want[j].addr, cases[i].want[j].n);
    }
}

/* Repeated splitting ends with every row alone, so a device that refuses every multi-row read
 * still gets all its values. */
static void test_plan_split_to_rows(void **state)
{
    plan_req_t plan[64];
    size_t n;
    (void)state;
    n = (size_t)plan_build(sdm630, N_OF(sdm630), 20, 80, plan);
    for (size_t i = 0; i < n;) {
        plan_req_t half[2];
        if (plan_split(sdm630, N_OF(sdm630), &plan[i], half) == 2) {
            memmove(&plan[i + 2], &plan[i + 1], (n - i - 1) * sizeof *plan);
            plan[i] = half[0];
            plan[i + 1] = half[1];
            n++;
        } else {
            i++;
        }
    }
    assert_int_equal(n, N_OF(sdm630));
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(plan[i].n, 2);
        assert_true(plan_covers(&plan[i], &sdm630[i]));
    }
}

/* ---- energy continuity ------------------------------------------------------------------- */

typedef struct {
    double t, raw, power;
    energy_event_t ev;
    double energy; /* NaN: held */
} estep_t;

#define ESTEPS 8

static void test_energy(void **state)
{
    static const struct {
        const char *name;
        double rated_w;
        double resume_energy, resume_raw; /* NaN: a fresh start */
        estep_t s[ESTEPS];
        int n;
    } cases[] = {
        {"normal", 1000, NAN, NAN,
         {{0, 1000, 500, ENERGY_FIRST, 1000}, {60, 1008, 500, ENERGY_OK, 1008},
          {120, 1016, 500, ENERGY_OK, 1016}}, 3},
        /* The counter restarts from 0: held once, then energy goes on from 5010 plus what
         * 600 W drew over the 120 s since the last good reading (20 Wh). */
        {"counter reset", 1000, NAN, NAN,
         {{0, 5000, 600, ENERGY_FIRST, 5000}, {60, 5010, 600, ENERGY_OK, 5010},
          {120, 3, 600, ENERGY_HELD, NAN}, {180, 13, 600, ENERGY_RESET, 5030},
          {240, 23, 600, ENERGY_OK, 5040}}, 5},
        {"meter replaced by one with a higher count", 1000, NAN, NAN,
         {{0, 5000, 600, ENERGY_FIRST, 5000}, {60, 5010, 600, ENERGY_OK, 5010},
          {120, 900000, 600, ENERGY_HELD, NAN}, {180, 900010, 600, ENERGY_RESET, 5030},
          {240, 900020, 600, ENERGY_OK, 5040}}, 5},
        /* An hour without readings: 500 Wh is what 500 W draws, well within 1.5 x rated. */
        {"missed polls", 1000, NAN, NAN,
         {{0, 1000, 500, ENERGY_FIRST, 1000}, {3600, 1500, 500, ENERGY_OK, 1500},
          {3660, 1508, 500, ENERGY_OK, 1508}}, 3},
        {"missed polls, more than the rating allows", 1000, NAN, NAN,
         {{0, 1000, 500, ENERGY_FIRST, 1000}, {3600, 3000, 500, ENERGY_HELD, NAN},
          {3660, 3008, 500, ENERGY_RESET, 1000 + 500.0 * 3660 / 3600}}, 3},
        /* One corrupted reading between good ones is dropped without a reset. */
        {"glitch", 1000, NAN, NAN,
         {{0, 1000, 500, ENERGY_FIRST, 1000}, {60, 1010, 500, ENERGY_OK, 1010},
          {120, 1e9, 500, ENERGY_HELD, NAN}, {180, 1020, 500, ENERGY_OK, 1020}}, 4},
        {"glitch downwards", 1000, NAN, NAN,
         {{0, 1000, 500, ENERGY_FIRST, 1000}, {60, 1010, 500, ENERGY_OK, 1010},
          {120, 0, 500, ENERGY_HELD, NAN}, {180, 1020, 500, ENERGY_OK, 1020}}, 4},
        {"rounding step back holds the line", 1000, NAN, NAN,
         {{0, 1000, 500, ENERGY_FIRST, 1000}, {60, 1005, 500, ENERGY_OK, 1005},
          {120, 1004, 500, ENERGY_OK, 1005}, {180, 1010, 500, ENERGY_OK, 1010}}, 4},
        /* No rating and no power: only a step back can be judged. */
        {"no rating, no power", 0, NAN, NAN,
         {{0, 1000, NAN, ENERGY_FIRST, 1000}, {60, 1e6, NAN, ENERGY_OK, 1e6},
          {120, 10, NAN, ENERGY_HELD, NAN}, {180, 20, NAN, ENERGY_RESET, 1e6},
          {240, 30, NAN, ENERGY_OK, 1e6 + 10}}, 5},
        /* No rating: twice the largest power seen (2 kW) bounds a step; 184 Wh in 60 s is
         * more than 2 kW over 60 s plus the 60 s margin (67 Wh) and 10 Wh slack. */
        {"no rating, twice the power seen", 0, NAN, NAN,
         {{0, 1000, 1000, ENERGY_FIRST, 1000}, {60, 1016, 1000, ENERGY_OK, 1016},
          {120, 1200, 1000, ENERGY_HELD, NAN}, {180, 1216, 1000, ENERGY_RESET, 1016 + 1000.0 / 30}},
         4},
        {"resume from storage", 1000, 12000, 11000,
         {{60, 11005, 300, ENERGY_OK, 12005}, {120, 11010, 300, ENERGY_OK, 12010}}, 2},
        /* Replaced while the collector was down: the first reading is held, the second
         * confirms it; energy goes on from the stored 12000 plus 300 W over 120 s. */
        {"resume onto a replaced meter", 1000, 12000, 11000,
         {{60, 50, 300, ENERGY_HELD, NAN}, {120, 55, 300, ENERGY_RESET, 12010},
          {180, 60, 300, ENERGY_OK, 12015}}, 3},
    };
    (void)state;
    for (size_t i = 0; i < N_OF(cases); i++) {
        energy_state_t s;
        energy_init(&s, 0, cases[i].resume_energy, cases[i].resume_raw);
        for (int k = 0; k < cases[i].n; k++) {
            const estep_t *st = &cases[i].s[k];
            double e = -1;
            energy_event_t ev = energy_update(&s, st->t, st->raw, st->power, cases[i].rated_w, &e);
            if (ev != st->ev)
                fail_msg("%s, step %d: event %d, want %d", cases[i].name, k, ev, st->ev);
            if (isnan(st->energy) ? !isnan(e) : fabs(e - st->energy) > 1e-6)
                fail_msg("%s, step %d: energy %.6f, want %.6f", cases[i].name, k, e, st->energy);
        }
    }
}

/* Whatever the counter does, energy never drops. */
static void test_energy_never_drops(void **state)
{
    static const double raws[] = {100, 110, 5, 7, 2e7, 2e7 + 5, 0, 3, 3, 1, 2, 50, 60};
    energy_state_t s;
    double last = -INFINITY;
    (void)state;
    energy_init(&s, 0, NAN, NAN);
    for (size_t i = 0; i < N_OF(raws); i++) {
        double e;
        energy_update(&s, 60.0 * (double)i, raws[i], 400, 2000, &e);
        if (!isnan(e)) {
            assert_true(e >= last);
            last = e;
        }
    }
}

/* ---- config against profiles --------------------------------------------------------------- */

static const char conf_head[] =
    "sites = ( { id = \"s\"; buses = ( { id = \"gw\"; tcp = \"127.0.0.1:26001\"; devices = (\n";
static const char conf_tail[] = ") } ) } );\n";

static void test_check(void **state)
{
    static const struct {
        const char *devices;
        const char *want; /* NULL = ok, else a substring of the error */
    } cases[] = {
        {"{ id = \"m\"; unit = 1; profile = \"eastron-sdm630\"; }", NULL},
        {"{ id = \"m\"; unit = 1; profile = \"eastron-sdm630\";\n"
         "  channels = ( { id = \"total\"; }, { id = \"a\"; source = \"L1\"; } ); }", NULL},
        {"{ id = \"m\"; unit = 1; profile = \"sunspec-203\"; max_regs = 125; }", NULL},
        {"{ id = \"m\"; unit = 1; profile = \"no-such-meter\"; }",
         "t.conf:2: device \"m\": no profile \"no-such-meter\""},
        {"{ id = \"m\"; unit = 1; profile = \"eastron-sdm630\";\n"
         "  channels = ( { id = \"total\"; },\n"
         "               { id = \"l4\"; source = \"L4\"; } ); }",
         "t.conf:4: channel \"l4\": profile \"eastron-sdm630\" has no channel \"L4\" (it has: "},
        {"{ id = \"m\"; unit = 1; profile = \"eastron-sdm630\"; },\n"
         "{ id = \"n\"; unit = 2; profile = \"eastron-sdm630\";\n"
         "  channels = ( { id = \"Total\"; } ); }",
         "t.conf:4: channel \"Total\": profile \"eastron-sdm630\" has no channel \"Total\""},
    };
    const char *dirs[] = {WA_SOURCE_DIR "/profiles"};
    char err[1024];
    profile_set_t *ps = profile_set_load(dirs, 1, err, sizeof err);
    (void)state;
    if (!ps)
        fail_msg("profiles: %s", err);
    for (size_t i = 0; i < N_OF(cases); i++) {
        char text[2048];
        siteconf_t *cfg;
        snprintf(text, sizeof text, "%s%s%s", conf_head, cases[i].devices, conf_tail);
        cfg = siteconf_parse(text, "t.conf", err, sizeof err);
        if (!cfg)
            fail_msg("case %zu: config: %s", i, err);
        err[0] = '\0';
        int rc = collect_check(cfg, ps, err, sizeof err);
        if (!cases[i].want && rc != 0)
            fail_msg("case %zu: %s", i, err);
        if (cases[i].want && (rc != -1 || !strstr(err, cases[i].want)))
            fail_msg("case %zu: got \"%s\", want \"%s\"", i, err, cases[i].want);
        siteconf_free(cfg);
    }
    profile_set_free(ps);
}

/* max_regs above the protocol's limit cannot come from a file (both parsers refuse it), but
 * collect_check is the last line before the wire. */
static void test_check_max_regs(void **state)
{
    const char *dirs[] = {WA_SOURCE_DIR "/profiles"};
    char err[1024], text[1024];
    profile_set_t *ps = profile_set_load(dirs, 1, err, sizeof err);
    siteconf_t *cfg;
    (void)state;
    assert_non_null(ps);
    snprintf(text, sizeof text, "%s%s%s", conf_head,
             "{ id = \"m\"; unit = 1; profile = \"eastron-sdm630\"; }", conf_tail);
    cfg = siteconf_parse(text, "t.conf", err, sizeof err);
    assert_non_null(cfg);
    cfg->sites[0].buses[0].devices[0].max_regs = 126;
    assert_int_equal(collect_check(cfg, ps, err, sizeof err), -1);
    assert_non_null(strstr(err, "t.conf:2: device \"m\": max_regs 126 is more than the 125"));
    siteconf_free(cfg);
    profile_set_free(ps);
}

/* A USB device needs no profile; the Modbus devices beside it are still checked. */
static void test_check_usb(void **state)
{
    static const char text[] =
        "sites = ( { id = \"s\"; buses = (\n"
        " { id = \"gw\"; tcp = \"127.0.0.1:26001\"; devices = (\n"
        "   { id = \"m\"; unit = 1; profile = \"%s\"; } ) },\n"
        " { id = \"usb\"; usb = { }; devices = ( { id = \"ups\"; usb_id = \"051d:0002\"; } ) }\n"
        ") } );\n";
    const char *dirs[] = {WA_SOURCE_DIR "/profiles"};
    char err[1024], conf[1024];
    profile_set_t *ps = profile_set_load(dirs, 1, err, sizeof err);
    siteconf_t *cfg;
    (void)state;
    assert_non_null(ps);
    snprintf(conf, sizeof conf, text, "eastron-sdm120");
    cfg = siteconf_parse(conf, "t.conf", err, sizeof err);
    if (!cfg)
        fail_msg("%s", err);
    if (collect_check(cfg, ps, err, sizeof err) != 0)
        fail_msg("%s", err);
    siteconf_free(cfg);
    snprintf(conf, sizeof conf, text, "no-such-meter");
    cfg = siteconf_parse(conf, "t.conf", err, sizeof err);
    assert_non_null(cfg);
    assert_int_equal(collect_check(cfg, ps, err, sizeof err), -1);
    assert_non_null(strstr(err, "t.conf:3: device \"m\": no profile \"no-such-meter\""));
    siteconf_free(cfg);
    profile_set_free(ps);
}

/* ---- the sidecar of a USB channel (meta.c) -------------------------------------------------- */

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* A history: a period per state, closed when the state changes; nothing written while it
 * stays; a clock that goes back changes nothing; a reload continues it. */
static void test_meta_history(void **state)
{
    static const struct {
        int64_t t;
        int estimated;
        const char *how, *device;
        int rc;       /* meta_note's */
        size_t n;     /* periods after it */
        int unlink_before; /* remove the file first: a 0 must leave it absent */
    } steps[] = {
        {100, 1, "load % x nominal 600 W (device)", "APC Back-UPS (051d:0002)", 1, 1, 0},
        {160, 1, "load % x nominal 600 W (device)", "APC Back-UPS (051d:0002)", 0, 1, 1},
        {220, 1, "load % x nominal 500 W (config)", "APC Back-UPS (051d:0002)", 1, 2, 0},
        {280, 0, "", "APC Smart-UPS (051d:0003)", 1, 3, 0},
        {270, 1, "load % x nominal 600 W (device)", "APC Back-UPS (051d:0002)", 0, 3, 0},
        {340, 0, "", "APC Smart-UPS (051d:0003)", 0, 3, 0},
    };
    char dir[] = "/tmp/collect-meta-XXXXXX", path[256], err[512];
    meta_t m;
    struct stat sb;
    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/output.meta.json", dir);
    assert_int_equal(meta_load(&m, path, "s/ups/output", err, sizeof err), 0);
    assert_int_equal(m.n, 0);
    assert_int_equal(meta_current(&m), -1);
    for (size_t i = 0; i < N_OF(steps); i++) {
        if (steps[i].unlink_before)
            assert_int_equal(unlink(path), 0);
        int rc = meta_note(&m, steps[i].t, steps[i].estimated, steps[i].how, steps[i].device,
                           err, sizeof err);
        if (rc != steps[i].rc || m.n != steps[i].n)
            fail_msg("step %zu: rc %d, %zu periods; want %d, %zu (%s)", i, rc, m.n,
                     steps[i].rc, steps[i].n, err);
        if (steps[i].unlink_before)
            assert_int_equal(stat(path, &sb), -1);
    }
    meta_free(&m);
    /* The file holds the three periods, the last open; a reload gives them back. */
    assert_int_equal(meta_load(&m, path, "s/ups/output", err, sizeof err), 0);
    assert_int_equal(m.n, 3);
    assert_int_equal(m.p[0].from, 100);
    assert_int_equal(m.p[0].to, 220);
    assert_int_equal(m.p[0].estimated, 1);
    assert_string_equal(m.p[1].how, "load % x nominal 500 W (config)");
    assert_int_equal(m.p[1].to, 280);
    assert_int_equal(m.p[2].from, 280);
    assert_int_equal(m.p[2].to, 0);
    assert_int_equal(m.p[2].estimated, 0);
    assert_string_equal(m.p[2].device, "APC Smart-UPS (051d:0003)");
    assert_int_equal(meta_current(&m), 0);
    {
        char *text = NULL;
        FILE *f = fopen(path, "r");
        size_t cap = 0;
        assert_non_null(f);
        assert_true(getdelim(&text, &cap, '\0', f) > 0);
        fclose(f);
        assert_non_null(strstr(text, "\"channel\":\t\"s/ups/output\""));
        assert_non_null(strstr(text, "\"energy\":\t\"integrated\""));
        assert_non_null(strstr(text, "\"power\":\t\"measured\""));
        assert_non_null(strstr(text, "\"to\":\tnull"));
        free(text);
    }
    /* The same state after the reload writes nothing; a change goes on from the history. */
    assert_int_equal(meta_note(&m, 400, 0, "", "APC Smart-UPS (051d:0003)", err, sizeof err), 0);
    assert_int_equal(meta_note(&m, 460, 1, "x", "APC Smart-UPS (051d:0003)", err, sizeof err), 1);
    assert_int_equal(m.n, 4);
    assert_int_equal(m.p[2].to, 460);
    meta_free(&m);
    unlink(path);
    rmdir(dir);
}

/* A file that is not a sidecar is kept aside, never overwritten, and the history starts anew. */
static void test_meta_unreadable(void **state)
{
    static const struct {
        const char *text;
        const char *why;
    } cases[] = {
        {"{ \"version\": 1, \"periods\": [ ", "not JSON"},
        {"{ \"version\": 2, \"periods\": [] }", "version is not 1"},
        {"{ \"version\": 1 }", "no \"periods\" array"},
        {"{ \"version\": 1, \"periods\": [ { \"from\": 1, \"to\": null, \"power\": \"guessed\" } ] }",
         "period 1 lacks from, to or power"},
        {"{ \"version\": 1, \"periods\": [ { \"from\": 1, \"power\": \"measured\" } ] }",
         "period 1 lacks"},
    };
    char dir[] = "/tmp/collect-meta-XXXXXX", path[256], bad[300], err[512];
    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/output.meta.json", dir);
    snprintf(bad, sizeof bad, "%s.bad", path);
    for (size_t i = 0; i < N_OF(cases); i++) {
        meta_t m;
        struct stat sb;
        write_file(path, cases[i].text);
        err[0] = '\0';
        int rc = meta_load(&m, path, "s/ups/output", err, sizeof err);
        if (rc != 1 || !strstr(err, cases[i].why) || !strstr(err, "moved to"))
            fail_msg("case %zu: rc %d, \"%s\"; want 1 and \"%s\"", i, rc, err, cases[i].why);
        assert_int_equal(m.n, 0);
        assert_int_equal(stat(path, &sb), -1);
        assert_int_equal(stat(bad, &sb), 0);
        meta_free(&m);
        unlink(bad);
    }
    rmdir(dir);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plan_build),
        cmocka_unit_test(test_plan_build_invalid),
        cmocka_unit_test(test_plan_split),
        cmocka_unit_test(test_plan_split_to_rows),
        cmocka_unit_test(test_energy),
        cmocka_unit_test(test_energy_never_drops),
        cmocka_unit_test(test_check),
        cmocka_unit_test(test_check_max_regs),
        cmocka_unit_test(test_check_usb),
        cmocka_unit_test(test_meta_history),
        cmocka_unit_test(test_meta_unreadable),
    };
    if (argc > 1 && strcmp(argv[1], "hosts") == 0)
        return hosts_main(argc, argv);
    if (argc > 1)
        return live_main(argc, argv);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
