/*
 * scan against the simulator: a TCP gateway and a serial line carrying different meters.  The
 * scan must name each unit's profile, say nothing of empty unit ids, send only reads, and print
 * entries that paste into a config which passes check-config.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "meters/collect/collect.h"
#include "meters/scan/scan.h"
#include "meters/sim/sim.h"

#define PORT 26201

static const char site_fmt[] =
    "sites = ( { id = \"s\"; buses = (\n"
    " { id = \"gw\"; tcp = \"127.0.0.1:%d\"; devices = (\n"
    "   { id = \"a\"; unit = 1; profile = \"eastron-sdm630\"; channels = (\n"
    "     { id = \"l1\"; source = \"L1\"; simulate = { loads = ( { model = \"constant\"; w = 900.0; } ); }; } ); },\n"
    "   { id = \"b\"; unit = 4; profile = \"sunspec-203\"; channels = (\n"
    "     { id = \"total\"; simulate = { loads = ( { model = \"constant\"; w = 2000.0; } ); }; } ); },\n"
    "   { id = \"c\"; unit = 7; profile = \"eastron-sdm120\"; channels = (\n"
    "     { id = \"total\"; simulate = { loads = ( { model = \"constant\"; w = 300.0; } ); }; } ); } ); },\n"
    " { id = \"line\"; serial = { device = \"%s/tty\"; baud = 9600; }; devices = (\n"
    "   { id = \"d\"; unit = 2; profile = \"netio-powerpdu-8ks\"; channels = (\n"
    "     { id = \"outlet1\"; simulate = { loads = ( { model = \"constant\"; w = 150.0; } ); }; } ); } ); }\n"
    " ); } );\n";

struct simthread {
    const siteconf_t *cfg;
    const profile_set_t *ps;
    sim_opts_t o;
    sim_stats_t stats;
    volatile sig_atomic_t stop;
    pthread_t th;
    int rc;
    char err[1024];
};

static void *sim_main(void *arg)
{
    struct simthread *s = arg;
    s->rc = sim_run(s->cfg, s->ps, &s->o, &s->stats, s->err, sizeof s->err);
    return NULL;
}

static char *scan_to_string(const sc_bus_t *bus, const profile_set_t *ps, int first, int last,
                            int *found)
{
    char err[512], *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    scan_opts_t o = {first, last, 1000};
    assert_non_null(out);
    *found = scan_bus(bus, ps, &o, out, err, sizeof err);
    fclose(out);
    if (*found < 0)
        fail_msg("scan: %s", err);
    return buf;
}

static void test_scan_sim(void **state)
{
    char dir[] = "/tmp/wa-scan-XXXXXX", text[4096], ready[256], err[1024], conf[16384];
    const char *dirs[] = {WA_SOURCE_DIR "/profiles"};
    siteconf_t *cfg, *pasted;
    profile_set_t *ps;
    struct simthread st;
    char *tcp_out, *rtu_out;
    int found_tcp, found_rtu;
    (void)state;

    assert_non_null(mkdtemp(dir));
    snprintf(text, sizeof text, site_fmt, PORT, dir);
    cfg = siteconf_parse(text, "scan.conf", err, sizeof err);
    if (!cfg)
        fail_msg("%s", err);
    ps = profile_set_load(dirs, 1, err, sizeof err);
    if (!ps)
        fail_msg("%s", err);

    memset(&st, 0, sizeof st);
    st.cfg = cfg;
    st.ps = ps;
    snprintf(ready, sizeof ready, "%s/ready", dir);
    st.o.stop = &st.stop;
    st.o.ready_file = ready;
    assert_int_equal(pthread_create(&st.th, NULL, sim_main, &st), 0);
    for (int i = 0; i < 500 && access(ready, F_OK) != 0; i++)
        usleep(10000);
    assert_int_equal(access(ready, F_OK), 0);

    tcp_out = scan_to_string(&cfg->sites[0].buses[0], ps, 1, 8, &found_tcp);
    rtu_out = scan_to_string(&cfg->sites[0].buses[1], ps, 1, 3, &found_rtu);
    st.stop = 1;
    pthread_join(st.th, NULL);
    assert_int_equal(st.rc, 0);

    /* Units 1, 4 and 7 are there; the gateway answers the others with exception 0x0B, which
     * is an answer from the gateway but no device: it must not be reported as one. */
    assert_non_null(strstr(tcp_out, "unit = 1; profile = \"eastron-sdm630\""));
    assert_non_null(strstr(tcp_out, "unit = 4; profile = \"sunspec-203\""));
    assert_non_null(strstr(tcp_out, "unit = 7; profile = \"eastron-sdm120\""));
    assert_non_null(strstr(tcp_out, "SunSpec marker, model 203"));
    assert_null(strstr(tcp_out, "unit 2"));
    assert_int_equal(found_tcp, 3);
    assert_null(strstr(rtu_out, "unit = 1;"));
    assert_non_null(strstr(rtu_out, "unit = 2; profile = \"netio-powerpdu-8ks\""));
    assert_int_equal(found_rtu, 1);

    /* Only reads went out. */
    for (int fc = 0; fc < 128; fc++)
        if (fc != 3 && fc != 4)
            assert_int_equal(st.stats.by_fc[fc], 0);
    assert_true(st.stats.by_fc[3] + st.stats.by_fc[4] > 0);

    /* What it printed is config: paste both buses into a site and check it. */
    snprintf(conf, sizeof conf, "sites = ( { id = \"found\"; buses = (\n%s,\n%s ); } );\n", tcp_out,
             rtu_out);
    pasted = siteconf_parse(conf, "pasted.conf", err, sizeof err);
    if (!pasted)
        fail_msg("pasted scan output does not parse: %s\n%s", err, conf);
    if (collect_check(pasted, ps, err, sizeof err) != 0)
        fail_msg("pasted scan output fails check-config: %s", err);
    assert_int_equal(siteconf_count_devices(pasted), 4);

    siteconf_free(pasted);
    free(tcp_out);
    free(rtu_out);
    profile_set_free(ps);
    siteconf_free(cfg);
    snprintf(conf, sizeof conf, "rm -rf '%s'", dir);
    assert_int_equal(system(conf), 0);
}

static void test_scan_bad_args(void **state)
{
    sc_bus_t bus;
    scan_opts_t o = {10, 5, 100};
    char err[256];
    (void)state;
    memset(&bus, 0, sizeof bus);
    assert_int_equal(scan_bus(&bus, NULL, &o, stdout, err, sizeof err), -1);
    assert_int_equal(errno, EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scan_sim),
        cmocka_unit_test(test_scan_bad_args),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
