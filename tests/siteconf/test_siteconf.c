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
    assert_int_equal(c->storage.flush_s, 60); /* direct librrd */
    assert_int_equal(c->storage.quality, 1);
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
#define USBDEV "devices = ( { id = \"ups\"; usb_id = \"0463:ffff\"; } ); } ); } );\n"

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
        {HEAD "id = \"b\"; tcp = \"h:1\";\n" DEV
              "storage = {\n flush_interval = 0; };\n",
         6, "'flush_interval' = 0 is out of range 1..3600"},
        {HEAD "id = \"b\"; tcp = \"h:1\";\n" DEV
              "storage = { flush_interval = 60;\n quality = 1; };\n",
         6, "'quality' must be true or false"},
        {"sites = ( { id = \"s\"; buses = ( { id = \"a\"; tcp = \"h:1\";\n"
         " devices = ( { id = \"m\"; unit = 1; profile = \"p\"; } ); } ); },\n"
         " { id = \"t\"; buses = ( { id = \"b\"; tcp = \"h:1\";\n"
         " devices = ( { id = \"m\"; unit = 1; profile = \"p\"; } ); } ); } );\n",
         3, "same gateway address"},
        /* USB buses and devices */
        {HEAD "id = \"b\"; tcp = \"h:1\"; usb = { };\n" DEV, 2, "exactly one of"},
        {HEAD "id = \"u\"; usb = { hub = 1; };\n" USBDEV, 3, "unknown key 'hub' in 'usb'"},
        {HEAD "id = \"u\"; usb = { }; inter_frame_ms = 5;\n" USBDEV, 3,
         "'inter_frame_ms' is for Modbus buses"},
        {HEAD "id = \"u\"; usb = { };\n devices = ( { id = \"ups\"; usb_id = \"0463:ffff\";\n"
              " unit = 1; } ); } ); } );\n",
         5, "'unit' is a Modbus key"},
        {HEAD "id = \"u\"; usb = { };\n devices = ( { id = \"ups\"; usb_id = \"0463:ffff\";\n"
              " profile = \"p\"; } ); } ); } );\n",
         5, "'profile' is a Modbus key"},
        {HEAD "id = \"u\"; usb = { };\n devices = ( { id = \"ups\"; serial = \"X\"; retries = 1; } ); } ); } );\n",
         4, "'retries' is a Modbus key"},
        {HEAD "id = \"b\"; tcp = \"h:1\";\n devices = ( { id = \"m\"; unit = 1; profile = \"p\";\n"
              " usb_id = \"0463:ffff\"; } ); } ); } );\n",
         5, "'usb_id' is for devices on a usb bus"},
        {HEAD "id = \"b\"; tcp = \"h:1\";\n devices = ( { id = \"m\"; unit = 1; profile = \"p\";\n"
              " serial = \"G1\"; } ); } ); } );\n",
         5, "a Modbus serial line is the bus's serial"},
        /* a Modbus device still needs its unit and profile */
        {HEAD "id = \"b\"; tcp = \"h:1\";\n devices = ( { id = \"m\"; profile = \"p\"; } ); } ); } );\n",
         4, "missing required key 'unit'"},
        {HEAD "id = \"b\"; tcp = \"h:1\";\n devices = ( { id = \"m\"; unit = 1; } ); } ); } );\n",
         4, "missing required key 'profile'"},
        {HEAD "id = \"u\"; usb = { };\n devices = ( { id = \"ups\"; interval = 10; } ); } ); } );\n",
         4, "needs at least one of usb_id, serial or usb_path"},
        {HEAD "id = \"u\"; usb = { };\n devices = ( { id = \"ups\"; usb_id = \"463:ffff\"; } ); } ); } );\n",
         4, "usb_id = \"463:ffff\" is not \"vvvv:pppp\""},
        {HEAD "id = \"u\"; usb = { };\n devices = ( { id = \"ups\"; usb_id = \"0000:0001\"; } ); } ); } );\n",
         4, "is not \"vvvv:pppp\""},
        {HEAD "id = \"u\"; usb = { };\n devices = ( { id = \"ups\"; usb_id = \"0463:fffg\"; } ); } ); } );\n",
         4, "is not \"vvvv:pppp\""},
        {HEAD "id = \"u\"; usb = { };\n devices = ( { id = \"ups\"; usb_path = \"1-1.\"; } ); } ); } );\n",
         4, "usb_path = \"1-1.\" is not a USB port path"},
        {HEAD "id = \"u\"; usb = { };\n devices = ( { id = \"ups\"; usb_path = \"/dev/bus/usb/001/004\"; } ); } ); } );\n",
         4, "is not a USB port path"},
        {HEAD "id = \"u\"; usb = { };\n devices = ( { id = \"ups\"; usb_path = \"1-1.2.3.4.5.6.7.1\"; } ); } ); } );\n",
         4, "is not a USB port path"},
        {HEAD "id = \"u\"; usb = { };\n devices = ( { id = \"ups\"; serial = \"\"; } ); } ); } );\n",
         4, "'serial' is empty"},
        {HEAD "id = \"u\"; usb = { };\n devices = ( { id = \"ups\"; serial = \"X\"; nominal_w = 0; } ); } ); } );\n",
         4, "'nominal_w' = 0 is out of range"},
        {HEAD "id = \"u\"; usb = { };\n devices = ( { id = \"ups\"; serial = \"X\";\n"
              " channels = ( { id = \"a\"; }, { id = \"b\"; } ); } ); } ); } );\n",
         5, "has one channel, \"output\""},
        {HEAD "id = \"u\"; usb = { };\n devices = ( { id = \"ups\"; serial = \"X\";\n"
              " channels = ( { id = \"a\"; source = \"L1\"; } ); } ); } ); } );\n",
         5, "source \"L1\": a device on a usb bus has one channel"},
        {HEAD "id = \"u\"; usb = { };\n devices = ( { id = \"ups\"; serial = \"X\";\n"
              " channels = ( { id = \"a\";\n simulate = { loads = ( { model = \"asic\"; } ); }; } ); } ); } ); } );\n",
         6, "'simulate' is for Modbus channels"},
        /* two USB devices that could read the same UPS, wherever they are listed */
        {HEAD "id = \"u\"; usb = { };\n devices = ( { id = \"a\"; usb_id = \"0463:FFFF\"; },\n"
              " { id = \"b\"; usb_id = \"0463:ffff\"; } ); } ); } );\n",
         5, "device \"b\" has the same usb_id, serial and usb_path as device \"a\" (line 4)"},
        {HEAD "id = \"u\"; usb = { };\n devices = ( { id = \"a\"; usb_id = \"0463:ffff\"; serial = \"S\"; },\n"
              " { id = \"b\"; usb_id = \"0463:ffff\"; } ); } ); } );\n",
         5, "device \"b\" could read the same UPS as device \"a\""},
        {"sites = ( { id = \"s\"; buses = ( { id = \"u\"; usb = { };\n"
         " devices = ( { id = \"a\"; usb_path = \"1-2\"; } ); } ); },\n"
         " { id = \"t\"; buses = ( { id = \"v\"; usb = { };\n"
         " devices = ( { id = \"b\"; usb_path = \"1-2\"; } ); } ); } );\n",
         4, "has the same usb_id, serial and usb_path"},
        {HEAD "id = \"u\"; usb = { };\n devices = ( { id = \"a\"; serial = \"S\"; },\n"
              " { id = \"a\"; serial = \"T\"; } ); } ); } );\n",
         5, "device id \"a\" already used"},
        {HEAD "id = \"b\"; tcp = \"h:1\";\n devices = ( { id = \"m\"; unit = 1; profile = \"p\";\n"
              " channels = ( { id = \"a\";\n declared = ( { id = \"j\"; } ); } ); } ); } ); } );\n",
         6, "needs 'w', or 'w_min' and 'w_max'"},
        {HEAD "id = \"b\"; tcp = \"h:1\";\n devices = ( { id = \"m\"; unit = 1; profile = \"p\";\n"
              " channels = ( { id = \"a\";\n declared = ( { id = \"j\"; w = 5.0; kind = \"mining\"; } ); } ); } ); } ); } );\n",
         6, "kind \"mining\""},
        {HEAD "id = \"b\"; tcp = \"h:1\";\n devices = ( { id = \"m\"; unit = 1; profile = \"p\";\n"
              " channels = ( { id = \"a\";\n declared = ( { id = \"j\"; w = 5.0; },\n { id = \"j\"; w = 6.0; } ); } ); } ); } ); } );\n",
         7, "already declared"},
        {HEAD "id = \"b\"; tcp = \"h:1\";\n devices = ( { id = \"m\"; unit = 1; profile = \"p\";\n"
              " channels = ( { id = \"a\";\n declared = ( { id = \"j\"; w = 5.0; w_max = 9.0; } ); } ); } ); } ); } );\n",
         6, "not both"},
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

/* The USB example walks: a Modbus bus and a usb bus side by side. */
static void test_example_usb(void **state)
{
    char err[512] = "";
    siteconf_t *c = siteconf_load(WA_EXAMPLES_DIR "/usb-ups.conf", err, sizeof err);
    const sc_bus_t *u;
    (void)state;
    if (!c)
        fail_msg("%s", err);
    u = &c->sites[0].buses[1];
    assert_int_equal(u->kind, SC_BUS_USB);
    assert_int_equal(u->n_devices, 2);
    assert_string_equal(u->devices[0].usb.serial, "G118F00001");
    assert_string_equal(u->devices[0].channels[0].name, "Rack A UPS output");
    assert_string_equal(u->devices[1].usb.path, "1-1.4");
    assert_true(u->devices[1].usb.nominal_w == 390);
    assert_string_equal(u->devices[1].channels[0].id, "output");
    siteconf_free(c);
}

/* USB devices: criteria, ratings, the one channel; Modbus devices beside them unchanged. */
static void test_usb(void **state)
{
    static const char text[] =
        "sites = ( { id = \"s\"; buses = (\n"
        "  { id = \"gw\"; tcp = \"h:502\"; devices = ( { id = \"m\"; unit = 1; profile = \"p\"; } ); },\n"
        "  { id = \"usb\"; usb = { }; devices = (\n"
        "    { id = \"eaton\"; usb_id = \"0463:FFFF\"; serial = \"G118F00001\"; interval = 10;\n"
        "      timeout_ms = 500; },\n"
        "    { id = \"apc\"; usb_id = \"051d:0002\"; usb_path = \"1-1.4\"; nominal_w = 390;\n"
        "      nominal_va = 650;\n"
        "      channels = ( { id = \"rack-b\"; name = \"Rack B UPS\"; rated_w = 400; } ); },\n"
        "    { id = \"apc2\"; usb_id = \"051d:0002\"; usb_path = \"1-1.3\"; },\n"
        "    { id = \"any-eaton\"; usb_path = \"2-1\"; } ) } ) } );\n";
    char err[512] = "";
    siteconf_t *c;
    const sc_bus_t *u;
    const sc_device_t *d;
    (void)state;
    c = siteconf_parse(text, "u.conf", err, sizeof err);
    if (!c)
        fail_msg("%s", err);
    assert_int_equal(c->sites[0].buses[0].kind, SC_BUS_TCP);
    assert_int_equal(c->sites[0].buses[0].devices[0].unit, 1);
    u = &c->sites[0].buses[1];
    assert_int_equal(u->kind, SC_BUS_USB);
    assert_int_equal(u->n_devices, 4);
    d = &u->devices[0];
    assert_int_equal(d->usb.vid, 0x0463);
    assert_int_equal(d->usb.pid, 0xffff);
    assert_string_equal(d->usb.serial, "G118F00001");
    assert_string_equal(d->usb.path, "");
    assert_true(d->usb.nominal_w == 0 && d->usb.nominal_va == 0);
    assert_int_equal(d->interval_s, 10);
    assert_int_equal(d->timeout_ms, 500);
    assert_string_equal(d->profile, "");
    assert_int_equal(d->n_channels, 1); /* made: "output" */
    assert_string_equal(d->channels[0].id, SC_USB_CHANNEL);
    assert_string_equal(d->channels[0].source, SC_USB_CHANNEL);
    assert_int_equal(d->channels[0].line, 4);
    d = &u->devices[1];
    assert_int_equal(d->usb.vid, 0x051d);
    assert_int_equal(d->usb.pid, 0x0002);
    assert_string_equal(d->usb.path, "1-1.4");
    assert_true(d->usb.nominal_w == 390 && d->usb.nominal_va == 650);
    assert_int_equal(d->interval_s, 60);
    assert_int_equal(d->timeout_ms, 1000);
    assert_int_equal(d->n_channels, 1);
    assert_string_equal(d->channels[0].id, "rack-b");
    assert_string_equal(d->channels[0].source, SC_USB_CHANNEL);
    assert_string_equal(d->channels[0].name, "Rack B UPS");
    assert_true(d->channels[0].rated_w == 400);
    assert_string_equal(u->devices[3].usb.path, "2-1");
    assert_int_equal(siteconf_count_devices(c), 5);
    siteconf_free(c);
}

static void test_declared(void **state)
{
    static const char text[] =
        "timezone = \"Asia/Shanghai\";\n"
        "sites = ( { id = \"s\"; buses = ( { id = \"b\"; tcp = \"h:1\"; devices = (\n"
        " { id = \"m\"; unit = 1; profile = \"p\"; channels = ( { id = \"a\"; declared = (\n"
        "   { id = \"web\"; kind = \"server\"; w = 400.0; note = \"rack A web server\"; },\n"
        "   { id = \"job-7\"; kind = \"research\"; w_min = 2000.0; w_max = 9000.0;\n"
        "     from = \"2026-11-02T09:00\"; to = \"2026-11-05\"; } ); } ); } ); } ); } );\n";
    char err[512];
    siteconf_t *c = siteconf_parse(text, "d.conf", err, sizeof err);
    const sc_channel_t *ch;
    (void)state;
    if (!c)
        fail_msg("%s", err);
    ch = &c->sites[0].buses[0].devices[0].channels[0];
    assert_int_equal(ch->n_declared, 2);
    assert_string_equal(ch->declared[0].kind, "server");
    assert_true(ch->declared[0].w_min == 300.0 && ch->declared[0].w_max == 500.0);
    assert_int_equal(ch->declared[0].from, INT64_MIN);
    assert_int_equal(ch->declared[0].to, INT64_MAX);
    assert_true(ch->declared[1].w_min == 2000.0 && ch->declared[1].w_max == 9000.0);
    assert_int_equal(ch->declared[1].from, 1793581200); /* 09:00 +08:00 = 01:00Z */
    assert_int_equal(ch->declared[1].line, 5);
    siteconf_free(c);
}

/* flush_interval defaults by write path; quality is kept as given. */
static void test_storage_keys(void **state)
{
    static const struct {
        const char *storage;
        int flush_s, quality;
    } cases[] = {
        {"", 60, 1},
        {"storage = { rrdcached = \"unix:/run/r.sock\"; };\n", 5, 1},
        {"storage = { rrdcached = \"unix:/run/r.sock\"; flush_interval = 30; };\n", 30, 1},
        {"storage = { flush_interval = 300; quality = false; };\n", 300, 0},
        {"storage = { quality = true; };\n", 60, 1},
    };
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[512], err[512];
        snprintf(text, sizeof text, "%s" HEAD "id = \"b\"; tcp = \"h:1\";\n" DEV,
                 cases[i].storage);
        siteconf_t *c = siteconf_parse(text, "s.conf", err, sizeof err);
        if (!c)
            fail_msg("case %zu: %s", i, err);
        assert_int_equal(c->storage.flush_s, cases[i].flush_s);
        assert_int_equal(c->storage.quality, cases[i].quality);
        siteconf_free(c);
    }
}

/* The inventory: hosts with addresses, channel, role and exporters; declaration file paths. */
#define HOSTSITE(hosts)                                                                          \
    "sites = ( { id = \"s\"; jobs_file = \"jobs.conf\"; slurm_file = \"/abs/sacct.txt\";\n"     \
    " buses = ( { id = \"b\"; tcp = \"h:1\"; devices = (\n"                                     \
    "  { id = \"pdu\"; unit = 1; profile = \"p\"; channels = ( { id = \"o1\"; }, { id = \"o2\"; } ); },\n" \
    "  { id = \"m\"; unit = 2; profile = \"p\"; } ); } );\n hosts = (\n" hosts " ); } );\n"

static void test_hosts(void **state)
{
    static const char ok[] = HOSTSITE(
        " { id = \"gpu01\"; ips = [\"10.0.0.5\", \"fe80::1\"]; channel = \"pdu/o1\"; role = \"gpu_node\";\n"
        "   idle_w = 120.0; max_w = 900; exporter = \"http://127.0.0.1:9100/metrics\";\n"
        "   gpu_exporter = \"http://127.0.0.1:9400/metrics\"; interval = 15; },\n"
        " { id = \"pc7\"; ips = [\"10.0.1.7\"]; channel = \"m/anything\"; role = \"office_pc\"; },\n"
        " { id = \"nowhere\"; }");
    static const struct {
        const char *host;
        int line;
        const char *words;
    } bad[] = {
        {" { id = \"h\"; role = \"miner\"; }", 6, "role \"miner\""},
        {" { id = \"h\"; ips = [\"10.0.0.256\"]; }", 6, "not an IPv4 or IPv6"},
        {" { id = \"h\"; ips = \"10.0.0.1\"; }", 6, "must be an array"},
        {" { id = \"h\"; channel = \"pdu\"; }", 6, "must be \"device/channel\""},
        {" { id = \"h\"; channel = \"pdu/o9\"; }", 6, "not a channel of that device"},
        {" { id = \"h\"; channel = \"sw/o1\"; }", 6, "not on a device of this site"},
        {" { id = \"h\"; idle_w = 500.0; max_w = 100.0; }", 6, "above max_w"},
        {" { id = \"h\"; exporter = \"https://x/metrics\"; }", 6, "http://host"},
        {" { id = \"h\"; speed = 1; }", 6, "unknown key 'speed' in a host"},
        {" { id = \"h\"; ips = [\"10.0.0.1\"]; },\n { id = \"g\"; ips = [\"10.0.0.1\"]; }", 7,
         "address 10.0.0.1 is host \"h\"'s"},
        {" { id = \"h\"; },\n { id = \"h\"; }", 7, "host id \"h\" already used"},
    };
    char err[512];
    (void)state;
    siteconf_t *c = siteconf_parse(ok, "/etc/wa/h.conf", err, sizeof err);
    if (!c)
        fail_msg("%s", err);
    const sc_site_t *s = &c->sites[0];
    assert_int_equal(s->n_hosts, 3);
    assert_string_equal(s->jobs_file, "jobs.conf"); /* siteconf_parse: against cwd */
    assert_string_equal(s->slurm_file, "/abs/sacct.txt");
    assert_string_equal(s->flagged_ips_file, "");
    assert_int_equal(s->hosts[0].n_ips, 2);
    assert_string_equal(s->hosts[0].ips[1], "fe80::1");
    assert_string_equal(s->hosts[0].channel, "pdu/o1");
    assert_string_equal(s->hosts[0].role, "gpu_node");
    assert_true(s->hosts[0].idle_w == 120 && s->hosts[0].max_w == 900);
    assert_string_equal(s->hosts[0].gpu_exporter, "http://127.0.0.1:9400/metrics");
    assert_int_equal(s->hosts[0].interval_s, 15);
    assert_int_equal(s->hosts[1].interval_s, 60);
    assert_string_equal(s->hosts[2].role, "other");
    assert_int_equal(s->hosts[2].line, 10);
    siteconf_free(c);

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char text[2048], want[64];
        snprintf(text, sizeof text, HOSTSITE("%s"), bad[i].host);
        errno = 0;
        c = siteconf_parse(text, "h.conf", err, sizeof err);
        if (c)
            fail_msg("case %zu parsed", i);
        assert_int_equal(errno, WA_ECONFIG);
        snprintf(want, sizeof want, "h.conf:%d:", bad[i].line);
        if (!strstr(err, want) || !strstr(err, bad[i].words))
            fail_msg("case %zu: \"%s\" lacks \"%s\" or \"%s\"", i, err, want, bad[i].words);
    }
}

/* Simulated loads that name the host running them; "hosts" is no device id. */
#define LOADSITE(load, hosts)                                                                    \
    "sites = ( { id = \"s\";\n"                                                                  \
    " buses = ( { id = \"b\"; tcp = \"h:1\"; devices = (\n"                                     \
    "  { id = \"pdu\"; unit = 1; profile = \"p\"; channels = ( { id = \"o1\"; },\n"            \
    "    { id = \"o2\"; simulate = { loads = (\n"                                                \
    "      { model = \"server\"; w = 150.0; },\n" load " ); }; } ); } ); } );\n"                  \
    " hosts = (\n" hosts " ); } );\n"

static void test_load_hosts(void **state)
{
    static const char ok[] = LOADSITE(
        "      { model = \"gpu_rig\"; host = \"gpu07\"; },\n"
        "      { model = \"gpu_rig\"; count = 2; }",
        " { id = \"gpu07\"; channel = \"pdu/o2\"; gpu_exporter = \"http://127.0.0.1:1/m\"; }");
    static const struct {
        const char *load, *hosts;
        int line;
        const char *words;
    } bad[] = {
        {"      { model = \"gpu_rig\"; host = \"gpu08\"; }", " { id = \"gpu07\"; }", 6,
         "load \"gpu_rig\" on pdu/o2: host \"gpu08\" is not in site \"s\"'s hosts"},
        {"      { model = \"gpu_rig\"; host = \"gpu07\"; }", " { id = \"gpu07\"; }", 6,
         "host \"gpu07\" (line 8) has no channel; give it channel = \"pdu/o2\""},
        {"      { model = \"gpu_rig\";\n        host = \"gpu07\"; }",
         " { id = \"gpu07\"; channel = \"pdu/o1\"; }", 6,
         "host \"gpu07\" draws from \"pdu/o1\" (line 9), not from this channel"},
        {"      { model = \"gpu_rig\"; host = \"../x\"; }", " { id = \"gpu07\"; }", 6,
         "'host' = \"../x\": use letters"},
        {"      { model = \"gpu_rig\"; host = 7; }", " { id = \"gpu07\"; }", 6,
         "'host' must be a string"},
    };
    char err[512], text[2048];
    (void)state;
    siteconf_t *c = siteconf_parse(ok, "l.conf", err, sizeof err);
    if (!c)
        fail_msg("%s", err);
    const sc_sim_t *sim = &c->sites[0].buses[0].devices[0].channels[1].sim;
    assert_int_equal(sim->n_loads, 3);
    assert_string_equal(sim->loads[0].host, "");
    assert_string_equal(sim->loads[1].host, "gpu07");
    assert_string_equal(sim->loads[2].host, ""); /* hidden: no host runs it */
    siteconf_free(c);

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char want[64];
        snprintf(text, sizeof text, LOADSITE("%s", "%s"), bad[i].load, bad[i].hosts);
        errno = 0;
        c = siteconf_parse(text, "l.conf", err, sizeof err);
        if (c)
            fail_msg("case %zu parsed", i);
        assert_int_equal(errno, WA_ECONFIG);
        snprintf(want, sizeof want, "l.conf:%d:", bad[i].line);
        if (!strstr(err, want) || !strstr(err, bad[i].words))
            fail_msg("case %zu: \"%s\" lacks \"%s\" or \"%s\"", i, err, want, bad[i].words);
    }

    /* The hosts' files live in DATA/<site>/hosts/: no device may take that folder. */
    snprintf(text, sizeof text,
             "sites = ( { id = \"s\";\n buses = ( { id = \"b\"; tcp = \"h:1\"; devices = (\n"
             "  { id = \"hosts\"; unit = 1; profile = \"p\"; } ); } ); } );\n");
    errno = 0;
    assert_null(siteconf_parse(text, "r.conf", err, sizeof err));
    assert_int_equal(errno, WA_ECONFIG);
    if (!strstr(err, "r.conf:3: device id \"hosts\" is reserved"))
        fail_msg("%s", err);
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
        cmocka_unit_test(test_declared),
        cmocka_unit_test(test_example_usb),
        cmocka_unit_test(test_usb),
        cmocka_unit_test(test_storage_keys),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_hosts),
        cmocka_unit_test(test_load_hosts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
