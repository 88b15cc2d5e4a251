/* siteconf: a valid file walks into the expected tree; every kind of error names its line. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "common/common.h"
#include "siteconf/siteconf.h"

static void test_example(void **state)
{
    char err[512] = "";
    siteconf_t *c = siteconf_load(WA_EXAMPLES_DIR "/minimal.conf", err, sizeof err);
    const sc_bus_t *gw, *rs;
    const sc_device_t *d;
    (void)state;
    assert_non_null(c);
    assert_int_equal(c->n_sites, 1);
    assert_string_equal(c->sites[0].timezone, "Asia/Shanghai"); /* inherited */
    assert_string_equal(c->storage.data_dir, WA_EXAMPLES_DIR "/data");
    assert_int_equal(c->storage.full_days, 35);
    gw = &c->sites[0].buses[0];
    assert_int_equal(gw->kind, SC_BUS_TCP);
    assert_string_equal(gw->host, "127.0.0.1");
    assert_int_equal(gw->port, 15020);
    d = &gw->devices[0];
    assert_int_equal(d->unit, 1);
    assert_int_equal(d->interval_s, 60);
    assert_int_equal(d->timeout_ms, 1000);
    assert_int_equal(d->n_channels, 2);
    assert_string_equal(d->channels[0].source, "total"); /* defaults to the id */
    assert_string_equal(d->channels[1].source, "L1");
    assert_int_equal(d->channels[1].sim.n_loads, 2);
    assert_string_equal(d->channels[1].sim.loads[1].model, "gpu_rig");
    assert_int_equal(d->channels[1].sim.loads[1].count, 4);
    /* 2026-11-10 14:00 Asia/Shanghai = 06:00Z */
    assert_int_equal(d->channels[1].sim.loads[1].from, 1794290400);
    assert_int_equal(d->channels[1].sim.loads[1].to, INT64_MAX);
    rs = &c->sites[0].buses[1];
    assert_int_equal(rs->kind, SC_BUS_SERIAL);
    assert_int_equal(rs->parity, 'E'); /* the Modbus serial default */
    assert_int_equal(rs->data_bits, 8);
    assert_int_equal(rs->stop_bits, 1);
    assert_int_equal(rs->devices[0].n_channels, 0);
    assert_true(rs->devices[0].faults.timeout == 0.05);
    assert_int_equal(siteconf_count_devices(c), 2);
    siteconf_free(c);
}

#define HEAD "sites = ( { id = \"s\";\n buses = ( {\n"
#define DEV "devices = ( { id = \"m\"; unit = 1; profile = \"p\"; } ); } ); } );\n"

static void test_errors(void **state)
{
    static const struct {
        const char *text;
        int line;
        const char *words;
    } cases[] = {
        {"sites = ( );\n", 1, "no sites"},
        {"timezone = \"Mars/Olympus\";\n" HEAD "id = \"b\"; tcp = \"h:1\";\n" DEV, 1,
         "unknown time zone"},
        {"colour = 3;\n", 1, "unknown key 'colour'"},
        {HEAD "id = \"b\"; tcp = \"h:1\"; speed = 3;\n" DEV, 3, "unknown key 'speed' in a bus"},
        {HEAD "id = \"b\";\n" DEV, 2, "exactly one of"},
        {HEAD "id = \"b\"; tcp = \"nohost\";\n" DEV, 3, "not host:port"},
        {HEAD "id = \"b\"; tcp = \"h:70000\";\n" DEV, 3, "not host:port"},
        {HEAD "id = \"b\"; serial = { device = \"/dev/x\"; baud = 9600; parity = \"mark\"; };\n" DEV,
         3, "parity \"mark\""},
        {HEAD "id = \"b\"; serial = { device = \"/dev/x\"; };\n" DEV, 3, "missing required key 'baud'"},
        {HEAD "id = \"b\"; tcp = \"h:1\";\n devices = ( { id = \"m\"; unit = 300; profile = \"p\"; } ); } ); } );\n",
         4, "'unit' = 300 is out of range"},
        {HEAD "id = \"b\"; serial = { device = \"/dev/x\"; baud = 9600; };\n devices = ( { id = \"m\"; unit = 0; profile = \"p\"; } ); } ); } );\n",
         4, "out of range 1..247"},
        {HEAD "id = \"b\"; tcp = \"h:1\";\n devices = ( { id = \"m\"; unit = 1; profile = \"p\"; },\n"
              " { id = \"n\"; unit = 1; profile = \"p\"; } ); } ); } );\n",
         5, "unit id 1 already used"},
        {HEAD "id = \"b\"; tcp = \"h:1\";\n devices = ( { id = \"m\"; unit = 1; profile = \"p\"; },\n"
              " { id = \"m\"; unit = 2; profile = \"p\"; } ); } ); } );\n",
         5, "device id \"m\" already used"},
        {HEAD "id = \"b\"; tcp = \"h:1\";\n devices = ( { id = \"../m\"; unit = 1; profile = \"p\"; } ); } ); } );\n",
         4, "letters, digits"},
        {HEAD "id = \"b\"; tcp = \"h:1\";\n devices = ( { id = \"m\"; unit = 1; profile = \"p\"; interval = \"fast\"; } ); } ); } );\n",
         4, "'interval' must be a whole number"},
        {HEAD "id = \"b\"; tcp = \"h:1\";\n devices = ( { id = \"m\"; unit = 1; profile = \"p\";\n"
              " channels = ( { id = \"a\"; }, { id = \"a\"; } ); } ); } ); } );\n",
         5, "channel id \"a\" already used"},
        {HEAD "id = \"b\"; tcp = \"h:1\";\n devices = ( { id = \"m\"; unit = 1; profile = \"p\";\n"
              " channels = ( { id = \"a\";\n simulate = { loads = ( { model = \"toaster\"; } ); }; } ); } ); } ); } );\n",
         6, "unknown load model \"toaster\""},
        {HEAD "id = \"b\"; tcp = \"h:1\";\n devices = ( { id = \"m\"; unit = 1; profile = \"p\";\n"
              " channels = ( { id = \"a\";\n simulate = { loads = ( { model = \"gpu_rig\";\n"
              " from = \"2026-11-10\"; to = \"2026-11-01\"; } ); }; } ); } ); } ); } );\n",
         6, "'from' must be before 'to'"},
        {HEAD "id = \"b\"; tcp = \"h:1\";\n devices = ( { id = \"m\"; unit = 1; profile = \"p\";\n"
              " faults = { drop = 1.5; }; } ); } ); } );\n",
         5, "'drop' = 1.5 is out of range"},
        {HEAD "id = \"b\"; tcp = \"h:1\";\n" DEV
              "storage = { mid_step = 3600; long_step = 300; };\n",
         5, "long_step"},
        {"sites = ( { id = \"s\"; buses = ( { id = \"a\"; tcp = \"h:1\";\n"
         " devices = ( { id = \"m\"; unit = 1; profile = \"p\"; } ); } ); },\n"
         " { id = \"t\"; buses = ( { id = \"b\"; tcp = \"h:1\";\n"
         " devices = ( { id = \"m\"; unit = 1; profile = \"p\"; } ); } ); } );\n",
         3, "same gateway address"},
        /* libconfig's own syntax errors carry its line too. */
        {"sites = ( { id = \"s\";\n buses = = ( ) } );\n", 2, "syntax error"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char err[512] = "", want[32];
        siteconf_t *c = siteconf_parse(cases[i].text, "t.conf", err, sizeof err);
        if (c) {
            siteconf_free(c);
            fail_msg("case %zu parsed but should fail with '%s'", i, cases[i].words);
        }
        assert_int_equal(errno, WA_ECONFIG);
        snprintf(want, sizeof want, "t.conf:%d: ", cases[i].line);
        if (strncmp(err, want, strlen(want)) != 0 || !strstr(err, cases[i].words))
            fail_msg("case %zu: got \"%s\", want prefix \"%s\" and \"%s\"", i, err, want,
                     cases[i].words);
    }
}

static void test_missing_file(void **state)
{
    char err[256];
    (void)state;
    assert_null(siteconf_load("/nonexistent/site.conf", err, sizeof err));
    assert_int_equal(errno, ENOENT);
    assert_non_null(strstr(err, "/nonexistent/site.conf: cannot read"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_example),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_missing_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
