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
};

static void bed_start(struct bed *b)
{
    memset(b, 0, sizeof *b);
    b->tb = umockdev_testbed_new();
    assert_non_null(b->tb);
    snprintf(b->dir, sizeof b->dir, "%s/usbhid-emu-XXXXXX", tu_tmpdir());
    assert_non_null(mkdtemp(b->dir));
}

static void bed_stop(struct bed *b)
{
    g_object_unref(b->tb);
    tu_rmtree(b->dir);
}

/* Adds the device (announcing it with an "add" uevent when announce is set) and loads the
 * recording from the pcap writer's file. */
static void bed_add(struct bed *b, const emu_dev_t *d, const char *pcap, int announce)
{
    GError *e = NULL;
    char *text = emu_umockdev_text(d, b->syspath, sizeof b->syspath);
    assert_non_null(text);
    if (!umockdev_testbed_add_from_string(b->tb, text, &e))
        fail_msg("umockdev add: %s", e ? e->message : "?");
    free(text);
    if (!umockdev_testbed_load_pcap(b->tb, b->syspath, pcap, &e))
        fail_msg("umockdev pcap: %s", e ? e->message : "?");
    if (announce)
        umockdev_testbed_uevent(b->tb, b->syspath, "add");
}

__attribute__((unused)) static void bed_remove(struct bed *b)
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
    struct bed b;
    emu_dev_t d;
    dbuild_t db;
    emu_pcap_t p;
    char pcap[300], err[256];
    usbhid_sample_t s;
    usbhid_info_t info;
    (void)state;
    bed_start(&b);
    eaton_dev(&d, &db, 5);
    pcap_path(&b, pcap, sizeof pcap);
    assert_int_equal(emu_pcap_open(&p, pcap, d.bus, d.addr), 0);
    emu_open_sequence(&p, &d);
    eaton_poll(&p);
    eaton_poll(&p);
    emu_pcap_close(&p);
    bed_add(&b, &d, pcap, 0);

    usbhid_match_t m = {.vid = 0x0463, .pid = 0xffff};
    usbhid_opts_t o = quick_opts();
    usbhid_dev_t *u = usbhid_new(&m, &o, err, sizeof err);
    assert_non_null(u);
    for (int i = 0; i < 2; i++) {
        if (usbhid_read(u, &s, err, sizeof err) != 0)
            fail_msg("read %d: %s", i, err);
        assert_float_equal(s.v[USBHID_Q_POWER_W], 378, 1e-9);
        assert_float_equal(s.v[USBHID_Q_POWER_VA], 450, 1e-9);
        assert_float_equal(s.v[USBHID_Q_LOAD], 42, 1e-9);
        assert_float_equal(s.v[USBHID_Q_VOLTAGE], 230.0, 1e-9);
        assert_float_equal(s.v[USBHID_Q_CURRENT], 1.96, 1e-9);
        assert_float_equal(s.v[USBHID_Q_NOMINAL_VA], 1000, 1e-9);
        assert_float_equal(s.v[USBHID_Q_NOMINAL_W], 900, 1e-9);
        assert_int_equal(s.estimated, 0);
        assert_int_equal(s.stale, 0);
    }
    assert_int_equal(usbhid_get_info(u, &info), 0);
    assert_string_equal(info.dev.serial, "G118F00001");
    assert_string_equal(info.dev.manufacturer, "EATON");
    assert_string_equal(info.dev.path, "1-2");
    assert_string_equal(info.paths[USBHID_Q_NOMINAL_VA], "UPS.Flow.[4].ConfigApparentPower");
    usbhid_free(u);
    bed_stop(&b);
}

int tu_run_emu(void)
{
    const struct CMUnitTest t[] = {
        cmocka_unit_test(test_emu_reads_eaton),
    };
    if (!getenv("LD_PRELOAD") || !strstr(getenv("LD_PRELOAD"), "umockdev")) {
        fprintf(stderr, "--umockdev: run under umockdev-wrapper\n");
        return 1;
    }
    return cmocka_run_group_tests_name("usbhid_umockdev", t, NULL, NULL);
}
