/*
 * The real libusb path against emulated devices (umockdev, in-process testbed): usbhid_read()
 * on recordings built from the device models, including stalls, silence, interrupt reports,
 * disconnects and re-enumeration, with samples written to RRD through storage.
 *
 * Runs only inside umockdev's preload (ctest starts it through umockdev-wrapper).
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
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <umockdev.h>

#include "common/common.h"
#include "emu.h"
#include "meters/usbhid/usbhid.h"
#include "models.h"
#include "storage/storage.h"
#include "test_usbhid.h"

struct bed {
    UMockdevTestbed *tb;
    char syspath[128];
    char dir[256];
    int n_pcap;
    int have_parents;
    usbhid_dev_t *u;
};

static int setup(void **state)
{
    struct bed *b = calloc(1, sizeof *b);
    if (!b)
        return -1;
    b->tb = umockdev_testbed_new();
    snprintf(b->dir, sizeof b->dir, "%s/usbhid-emu-XXXXXX", tu_tmpdir());
    if (!b->tb || !mkdtemp(b->dir))
        return -1;
    *state = b;
    return 0;
}

/* Runs even when a case fails, so that no libusb context (and its udev thread, which would
 * keep listening to this testbed) outlives the case. */
static int teardown(void **state)
{
    struct bed *b = *state;
    usbhid_free(b->u);
    g_object_unref(b->tb);
    tu_rmtree(b->dir);
    free(b);
    return 0;
}

/* Adds the device (announcing it with an "add" uevent when announce is set) and loads the
 * recording from the pcap writer's file. */
static void bed_add(struct bed *b, const emu_dev_t *d, const char *pcap, int announce)
{
    GError *e = NULL;
    char *text = emu_umockdev_text(d, !b->have_parents, b->syspath, sizeof b->syspath);
    b->have_parents = 1;
    assert_non_null(text);
    if (!umockdev_testbed_add_from_string(b->tb, text, &e))
        fail_msg("umockdev add: %s", e ? e->message : "?");
    free(text);
    if (!umockdev_testbed_load_pcap(b->tb, b->syspath, pcap, &e))
        fail_msg("umockdev pcap: %s", e ? e->message : "?");
    if (announce)
        umockdev_testbed_uevent(b->tb, b->syspath, "add");
}

static void bed_remove(struct bed *b)
{
    umockdev_testbed_uevent(b->tb, b->syspath, "remove");
    umockdev_testbed_remove_device(b->tb, b->syspath);
}

static void pcap_path(struct bed *b, char *buf, size_t len)
{
    snprintf(buf, len, "%s/rec%d.pcap", b->dir, b->n_pcap++);
}

/* ---- the Eaton-like model's reports ------------------------------------------------------ */

static const uint8_t eaton_r1[] = {0x01, 42};                   /* load 42 % */
static const uint8_t eaton_r2[] = {0x02, 0x7a, 0x01, 0xc2, 0x01}; /* 378 W, 450 VA */
static const uint8_t eaton_r3[] = {0x03, 0xfc, 0x08, 0xc4, 0x00}; /* 230.0 V, 1.96 A */
static const uint8_t eaton_r14[] = {0x14, 4, 0xe8, 0x03, 0x84, 0x03}; /* 1000 VA, 900 W */

static void eaton_dev(emu_dev_t *d, dbuild_t *db, uint8_t addr)
{
    model_eaton(db);
    memset(d, 0, sizeof *d);
    d->vid = 0x0463;
    d->pid = 0xffff;
    d->bcd = 0x0100;
    d->bus = 1;
    d->addr = addr;
    d->port = "2";
    d->manufacturer = "EATON";
    d->product = "5E 1500i";
    d->serial = "G118F00001";
    d->rdesc = db->b;
    d->rdesc_len = db->n;
    d->ep_in = 0x81;
    d->ep_size = 8;
}

/* One poll of the Eaton model as usbhid_read() sends it: feature reports 1, 2, 3, 0x14. */
static void eaton_poll(emu_pcap_t *p)
{
    emu_get_report(p, 3, 0x01, 2, eaton_r1, sizeof eaton_r1);
    emu_get_report(p, 3, 0x02, 5, eaton_r2, sizeof eaton_r2);
    emu_get_report(p, 3, 0x03, 5, eaton_r3, sizeof eaton_r3);
    emu_get_report(p, 3, 0x14, 6, eaton_r14, sizeof eaton_r14);
}

/* libusb learns of a new device from its udev monitor thread, a moment after the uevent:
 * give it a few polls, as the collector would. */
static int read_retry(usbhid_dev_t *u, usbhid_sample_t *s, char *err, size_t errlen)
{
    int rc = -1;
    for (int i = 0; i < 30 && rc != 0; i++) {
        rc = usbhid_read(u, s, err, errlen);
        if (rc != 0)
            usleep(100000);
    }
    return rc;
}

static usbhid_opts_t quick_opts(void)
{
    usbhid_opts_t o;
    memset(&o, 0, sizeof o);
    o.timeout_ms = 300;
    o.interval_s = 10;
    return o;
}

static void test_emu_reads_eaton(void **state)
{
    struct bed *b = *state;
    emu_dev_t d;
    dbuild_t db;
    emu_pcap_t p;
    char pcap[300], err[256];
    usbhid_sample_t s;
    usbhid_info_t info;
    eaton_dev(&d, &db, 5);
    pcap_path(b, pcap, sizeof pcap);
    assert_int_equal(emu_pcap_open(&p, pcap, d.bus, d.addr), 0);
    emu_open_sequence(&p, &d); /* usbhid_list */
    emu_open_sequence(&p, &d); /* usbhid_read */
    eaton_poll(&p);
    eaton_poll(&p);
    emu_pcap_close(&p);
    bed_add(b, &d, pcap, 0);

    usbhid_found_t *found = NULL;
    assert_int_equal(usbhid_list(NULL, 300, &found, err, sizeof err), 1);
    assert_int_equal(found[0].vid, 0x0463);
    assert_int_equal(found[0].pid, 0xffff);
    assert_int_equal(found[0].bus, 1);
    assert_int_equal(found[0].addr, 5);
    assert_string_equal(found[0].path, "1-2");
    assert_string_equal(found[0].serial, "G118F00001");
    assert_string_equal(found[0].product, "5E 1500i");
    free(found);

    usbhid_match_t m = {.vid = 0x0463, .pid = 0xffff};
    usbhid_opts_t o = quick_opts();
    b->u = usbhid_new(&m, &o, err, sizeof err);
    assert_non_null(b->u);
    usbhid_dev_t *u = b->u;
    for (int i = 0; i < 2; i++) {
        if (usbhid_read(u, &s, err, sizeof err) != 0)
            fail_msg("read %d: %s", i, err);
        assert_val(s.v[USBHID_Q_POWER_W], 378, 1e-9);
        assert_val(s.v[USBHID_Q_POWER_VA], 450, 1e-9);
        assert_val(s.v[USBHID_Q_LOAD], 42, 1e-9);
        assert_val(s.v[USBHID_Q_VOLTAGE], 230.0, 1e-9);
        assert_val(s.v[USBHID_Q_CURRENT], 1.96, 1e-9);
        assert_val(s.v[USBHID_Q_NOMINAL_VA], 1000, 1e-9);
        assert_val(s.v[USBHID_Q_NOMINAL_W], 900, 1e-9);
        assert_int_equal(s.estimated, 0);
        assert_int_equal(s.stale, 0);
    }
    assert_int_equal(usbhid_get_info(u, &info), 0);
    assert_string_equal(info.dev.serial, "G118F00001");
    assert_string_equal(info.dev.manufacturer, "EATON");
    assert_string_equal(info.dev.path, "1-2");
    assert_string_equal(info.paths[USBHID_Q_NOMINAL_VA], "UPS.Flow.[4].ConfigApparentPower");
}


/* An input report the device stalls on GET_REPORT comes from the interrupt pipe instead; when
 * the pipe has been quiet for longer than max_age_s, the value is given but marked stale. */
static void test_emu_interrupt_and_stall(void **state)
{
    struct bed *b = *state;
    emu_dev_t d;
    dbuild_t db;
    emu_pcap_t p;
    char pcap[300], err[256];
    usbhid_sample_t s;
    usbhid_stats_t st;
    static const uint8_t intr[] = {0x01, 55};
    eaton_dev(&d, &db, 7);
    pcap_path(b, pcap, sizeof pcap);
    assert_int_equal(emu_pcap_open(&p, pcap, d.bus, d.addr), 0);
    emu_open_sequence(&p, &d);
    /* poll 1: one interrupt report waiting, then report 1 stalls */
    emu_intr_in(&p, 0x81, 64, intr, sizeof intr);
    emu_ctrl_stall(&p, 0xA1, 0x01, 0x0301, 0, 2);
    emu_get_report(&p, 3, 0x02, 5, eaton_r2, sizeof eaton_r2);
    emu_get_report(&p, 3, 0x03, 5, eaton_r3, sizeof eaton_r3);
    emu_get_report(&p, 3, 0x14, 6, eaton_r14, sizeof eaton_r14);
    /* poll 2: nothing on the pipe, report 1 stalls again */
    emu_ctrl_stall(&p, 0xA1, 0x01, 0x0301, 0, 2);
    emu_get_report(&p, 3, 0x02, 5, eaton_r2, sizeof eaton_r2);
    emu_get_report(&p, 3, 0x03, 5, eaton_r3, sizeof eaton_r3);
    emu_get_report(&p, 3, 0x14, 6, eaton_r14, sizeof eaton_r14);
    emu_pcap_close(&p);
    bed_add(b, &d, pcap, 0);

    usbhid_match_t m = {.vid = 0x0463};
    usbhid_opts_t o = quick_opts();
    o.max_age_s = 0.2;
    b->u = usbhid_new(&m, &o, err, sizeof err);
    assert_non_null(b->u);
    usbhid_dev_t *u = b->u;
    if (usbhid_read(u, &s, err, sizeof err) != 0)
        fail_msg("read 1: %s", err);
    /* The load is declared as Feature and Input; Feature is read, it stalls, and the input
     * report from the pipe stands in. */
    assert_val(s.v[USBHID_Q_LOAD], 55, 1e-9);
    assert_int_equal(s.stale, 0);
    assert_val(s.v[USBHID_Q_POWER_W], 378, 1e-9);
    usleep(300000);
    if (usbhid_read(u, &s, err, sizeof err) != 0)
        fail_msg("read 2: %s", err);
    assert_val(s.v[USBHID_Q_LOAD], 55, 1e-9);
    assert_int_equal(s.stale, 1u << USBHID_Q_LOAD);
    usbhid_get_stats(u, &st);
    assert_int_equal(st.stalls, 2);
    assert_int_equal(st.interrupts, 1);
    assert_int_equal(st.refused, 0);
}

/* A request the device never answers costs one timeout and leaves its values unknown; two in
 * a row end the poll and close the handle; the next poll opens the device again.  (umockdev
 * skips recorded standard requests while a timed-out one is pending, so the device comes
 * back from a reset with a fresh recording, as a wedged UPS usually does.) */
static void test_emu_timeouts_and_reopen(void **state)
{
    struct bed *b = *state;
    emu_dev_t d;
    dbuild_t db;
    emu_pcap_t p;
    char pcap[300], pcap2[300], err[256];
    usbhid_sample_t s;
    usbhid_stats_t st;
    eaton_dev(&d, &db, 8);
    pcap_path(b, pcap, sizeof pcap);
    assert_int_equal(emu_pcap_open(&p, pcap, d.bus, d.addr), 0);
    emu_open_sequence(&p, &d);
    /* poll 1: report 2 unanswered */
    emu_get_report(&p, 3, 0x01, 2, eaton_r1, sizeof eaton_r1);
    emu_ctrl_silent(&p, 0xA1, 0x01, 0x0302, 0, 5);
    emu_get_report(&p, 3, 0x03, 5, eaton_r3, sizeof eaton_r3);
    emu_get_report(&p, 3, 0x14, 6, eaton_r14, sizeof eaton_r14);
    /* poll 2: the device goes quiet */
    emu_ctrl_silent(&p, 0xA1, 0x01, 0x0301, 0, 2);
    emu_ctrl_silent(&p, 0xA1, 0x01, 0x0302, 0, 5);
    emu_pcap_close(&p);
    bed_add(b, &d, pcap, 0);

    usbhid_match_t m = {.serial = "G118F00001"};
    usbhid_opts_t o = quick_opts();
    b->u = usbhid_new(&m, &o, err, sizeof err);
    assert_non_null(b->u);
    if (usbhid_read(b->u, &s, err, sizeof err) != 0)
        fail_msg("read 1: %s", err);
    assert_true(isnan(s.v[USBHID_Q_POWER_W]));
    assert_true(isnan(s.v[USBHID_Q_POWER_VA]));
    assert_int_equal(s.estimated, 0);
    assert_int_equal(s.stale, (1u << USBHID_Q_POWER_W) | (1u << USBHID_Q_POWER_VA));
    assert_val(s.v[USBHID_Q_VOLTAGE], 230.0, 1e-9);
    double t0 = tu_now();
    assert_int_equal(usbhid_read(b->u, &s, err, sizeof err), -1);
    assert_int_equal(errno, ETIMEDOUT);
    /* Bounded: two timeouts of 300 ms and a short drain, not one per report. */
    assert_true(tu_now() - t0 < 1.5);
    bed_remove(b);
    d.addr = 11; /* a reset device enumerates at a new address */
    pcap_path(b, pcap2, sizeof pcap2);
    assert_int_equal(emu_pcap_open(&p, pcap2, d.bus, d.addr), 0);
    emu_open_sequence(&p, &d);
    eaton_poll(&p);
    emu_pcap_close(&p);
    bed_add(b, &d, pcap2, 1);
    if (read_retry(b->u, &s, err, sizeof err) != 0)
        fail_msg("read after reset: %s", err);
    assert_val(s.v[USBHID_Q_POWER_W], 378, 1e-9);
    usbhid_get_stats(b->u, &st);
    assert_int_equal(st.opens, 2);
    assert_int_equal(st.timeouts, 3);
}

/* Unplugged: reads fail with ENODEV, nothing crashes; plugged in again at a new address (as
 * a UPS re-enumerates after a brown-out), the same handle finds it by its port path. */
static void test_emu_disconnect_reenumerate(void **state)
{
    struct bed *b = *state;
    emu_dev_t d;
    dbuild_t db;
    emu_pcap_t p;
    char pcap[300], pcap2[300], err[256];
    usbhid_sample_t s;
    usbhid_stats_t st;
    eaton_dev(&d, &db, 9);
    pcap_path(b, pcap, sizeof pcap);
    assert_int_equal(emu_pcap_open(&p, pcap, d.bus, d.addr), 0);
    emu_open_sequence(&p, &d);
    eaton_poll(&p);
    emu_pcap_close(&p);
    bed_add(b, &d, pcap, 0);

    usbhid_match_t m = {.vid = 0x0463, .pid = 0xffff, .path = "1-2"};
    usbhid_opts_t o = quick_opts();
    b->u = usbhid_new(&m, &o, err, sizeof err);
    assert_non_null(b->u);
    usbhid_dev_t *u = b->u;
    if (usbhid_read(u, &s, err, sizeof err) != 0)
        fail_msg("read 1: %s", err);
    bed_remove(b);
    int timed_out = 0;
    for (int i = 0; i < 2; i++) {
        /* The kernel would say ENODEV at once; umockdev leaves the old node silent, so the
         * first poll may time out instead.  Either way the handle is closed. */
        assert_int_equal(usbhid_read(u, &s, err, sizeof err), -1);
        assert_true(errno == ENODEV || errno == EIO || (i == 0 && errno == ETIMEDOUT));
        timed_out |= i == 0 && errno == ETIMEDOUT;
    }
    d.addr = 10;
    pcap_path(b, pcap2, sizeof pcap2);
    assert_int_equal(emu_pcap_open(&p, pcap2, d.bus, d.addr), 0);
    emu_open_sequence(&p, &d);
    eaton_poll(&p);
    emu_pcap_close(&p);
    bed_add(b, &d, pcap2, 1);
    if (read_retry(u, &s, err, sizeof err) != 0)
        fail_msg("read after re-enumeration: %s", err);
    assert_val(s.v[USBHID_Q_POWER_W], 378, 1e-9);
    usbhid_get_stats(u, &st);
    assert_int_equal(st.opens, 2);
    /* A fatal error on the open handle is a disconnect.  After a silent node the handle was
     * closed for its timeouts and the device was then not found: no disconnect was seen. */
    if (!timed_out)
        assert_true(st.disconnects >= 1);
}

/* An APC-like unit reports load and rating only: power is load x rating, marked estimated in
 * the sample; samples go to an RRD channel with energy integrated from them. */
static void test_emu_apc_estimated_into_rrd(void **state)
{
    struct bed *b = *state;
    emu_dev_t d;
    dbuild_t db;
    emu_pcap_t p;
    char pcap[300], err[256], data[300], file[600];
    usbhid_sample_t s;
    static const uint8_t r0c[] = {0x0C, 25}, r0d[] = {0x0D, 0xE6, 0x00}, r0e[] = {0x0E, 0x58, 0x02};
    model_apc(&db);
    memset(&d, 0, sizeof d);
    d.vid = 0x051d;
    d.pid = 0x0002;
    d.bcd = 0x0106;
    d.bus = 1;
    d.addr = 12;
    d.port = "3";
    d.manufacturer = "American Power Conversion";
    d.product = "Back-UPS ES 700";
    d.serial = "4B1234P56789";
    d.rdesc = db.b;
    d.rdesc_len = db.n;
    d.ep_in = 0x81;
    d.ep_size = 8;
    pcap_path(b, pcap, sizeof pcap);
    assert_int_equal(emu_pcap_open(&p, pcap, d.bus, d.addr), 0);
    emu_open_sequence(&p, &d);
    for (int i = 0; i < 3; i++) {
        emu_get_report(&p, 3, 0x0C, 2, r0c, sizeof r0c);
        emu_get_report(&p, 3, 0x0D, 3, r0d, sizeof r0d);
        emu_get_report(&p, 3, 0x0E, 3, r0e, sizeof r0e);
    }
    emu_pcap_close(&p);
    bed_add(b, &d, pcap, 0);

    snprintf(data, sizeof data, "%s/rrd", b->dir);
    storage_t *st = storage_open(data, NULL, err, sizeof err);
    assert_non_null(st);
    storage_layout_t lay = {60, 35, 300, 400, 3600, 1830, 0};
    int64_t t0 = 1767225600; /* 2026-01-01 00:00 UTC: a fixed time, so that RRD steps align */
    assert_int_equal(storage_ensure(st, "site/ups-apc/output", &lay, t0 - 60, err, sizeof err), 0);
    usbhid_energy_t e;
    usbhid_energy_init(&e, 0, 180);

    usbhid_match_t m = {.vid = 0x051d};
    usbhid_opts_t o = quick_opts();
    b->u = usbhid_new(&m, &o, err, sizeof err);
    assert_non_null(b->u);
    for (int i = 0; i < 3; i++) {
        if (usbhid_read(b->u, &s, err, sizeof err) != 0)
            fail_msg("read %d: %s", i, err);
        assert_val(s.v[USBHID_Q_POWER_W], 150, 1e-9);
        assert_int_equal(s.estimated, 1u << USBHID_Q_POWER_W);
        assert_string_equal(s.how, "load 25.0 % x nominal 600 W (device)");
        assert_true(isnan(s.v[USBHID_Q_POWER_VA]));
        assert_val(s.v[USBHID_Q_VOLTAGE], 230, 1e-9);
        int64_t t = t0 + 60 * i;
        usbhid_energy_add(&e, (double)t, s.v[USBHID_Q_POWER_W], 1);
        storage_sample_t ss;
        for (int k = 0; k < STORAGE_DS_COUNT_; k++)
            ss.v[k] = NAN;
        ss.v[STORAGE_DS_POWER] = s.v[USBHID_Q_POWER_W];
        ss.v[STORAGE_DS_ENERGY] = e.wh;
        ss.v[STORAGE_DS_VOLTAGE] = s.v[USBHID_Q_VOLTAGE];
        assert_int_equal(storage_put(st, "site/ups-apc/output", t, &ss), 0);
    }
    assert_int_equal(storage_flush(st, err, sizeof err), 0);
    assert_int_equal(storage_path(st, "site/ups-apc/output", file, sizeof file), 0);
    storage_close(st);
    int64_t lt;
    storage_sample_t last;
    assert_int_equal(storage_last(file, &lt, &last, err, sizeof err), 0);
    assert_int_equal(lt, t0 + 120);
    assert_val(last.v[STORAGE_DS_POWER], 150, 1e-6);
    /* 150 W for two minutes */
    assert_val(last.v[STORAGE_DS_ENERGY], 5.0, 1e-6);
    assert_val(e.wh_estimated, 5.0, 1e-9);
    assert_int_equal(e.gaps, 0);
}

/* umockdev reports every interrupt read that the recording does not answer (the drain's
 * normal outcome); those lines are dropped, everything else is passed on. */
static void quiet(const gchar *domain, GLogLevelFlags level, const gchar *msg, gpointer data)
{
    (void)data;
    if (msg && strstr(msg, "without corresponding submit"))
        return;
    g_log_default_handler(domain, level, msg, NULL);
}

int tu_run_emu(void)
{
    g_log_set_default_handler(quiet, NULL);
    const struct CMUnitTest t[] = {
        cmocka_unit_test_setup_teardown(test_emu_reads_eaton, setup, teardown),
        cmocka_unit_test_setup_teardown(test_emu_interrupt_and_stall, setup, teardown),
        cmocka_unit_test_setup_teardown(test_emu_timeouts_and_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_emu_disconnect_reenumerate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_emu_apc_estimated_into_rrd, setup, teardown),
    };
    if (!getenv("LD_PRELOAD") || !strstr(getenv("LD_PRELOAD"), "umockdev")) {
        fprintf(stderr, "--umockdev: run under umockdev-wrapper\n");
        return 1;
    }
    return cmocka_run_group_tests_name("usbhid_umockdev", t, NULL, NULL);
}
