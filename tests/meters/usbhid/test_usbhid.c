/*
 * usbhid: descriptor parsing and value decoding from tables of captured bytes, the quirk
 * tables, the read-only door, energy integration, and a scan of the sources for libusb
 * transfer calls outside the door.
 *
 *   test_usbhid                       the cases below
 *   test_usbhid --scan-sources ROOT   the source scan alone (its own ctest)
 *   test_usbhid --umockdev            the libusb path on emulated devices (test_emu.c)
 *   test_usbhid --nut                 NUT's usbhid-ups on the same devices (test_nut.c)
 *   test_usbhid --write-corpus DIR    the descriptors below as fuzzer seeds
 */
#include <dirent.h>
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

#include "common/common.h"
#include "meters/usbhid/usbhid-private.h"
#include "models.h"
#include "test_usbhid.h"

/* ---- helpers ------------------------------------------------------------------------------ */

const char *tu_tmpdir(void)
{
    const char *t = getenv("TMPDIR");
    return t && *t ? t : "/tmp";
}

double tu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void tu_rmtree(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char p[1024];
    if (!d)
        return;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        if (unlink(p) != 0)
            tu_rmtree(p);
    }
    closedir(d);
    rmdir(dir);
}

static const usbhid_field_t *field_at(const usbhid_desc_t *d, const char *path, uint8_t type)
{
    char buf[128];
    for (size_t i = 0; i < usbhid_desc_count(d); i++) {
        const usbhid_field_t *f = usbhid_desc_field(d, i);
        if (f->type == type && strcmp(usbhid_path_format(f, buf, sizeof buf), path) == 0)
            return f;
    }
    return NULL;
}

/* ---- captured descriptors ------------------------------------------------------------------ */

/* PowerWalker VI 3000 RT HID (CyberPower-made): the first 213 of its 1365 bytes as
 * usbhid-ups -DDDD printed them in NUT issue #1824
 * (https://github.com/networkupstools/nut/issues/1824), cut after the last whole item the
 * quoted log shows.  Real bytes: vendor page 0xffff usages, constant features with usages
 * (0x83), a 4-byte logical maximum, numbered Flow collections (0x81), volt and hertz units. */
static const uint8_t powerwalker_1824[] = {
    0x05, 0x84, 0x09, 0x04, 0xa1, 0x01, 0x09, 0x10, 0xa1, 0x00, 0x09, 0x12, 0xa1, 0x00, 0x09,
    0x13, 0x85, 0x20, 0x75, 0x08, 0x95, 0x01, 0x15, 0x00, 0x26, 0xff, 0x00, 0x65, 0x00, 0x55,
    0x00, 0xb1, 0x03, 0x06, 0xff, 0xff, 0x09, 0x90, 0x85, 0x21, 0xb1, 0x82, 0x05, 0x84, 0x09,
    0x02, 0xa1, 0x02, 0x09, 0x60, 0x85, 0x27, 0x75, 0x08, 0x26, 0xff, 0x00, 0x65, 0x00, 0xb1,
    0x83, 0x09, 0x60, 0x81, 0x83, 0x06, 0xff, 0xff, 0x09, 0x74, 0xb1, 0x83, 0x09, 0x74, 0x81,
    0x83, 0xc0, 0x05, 0x84, 0x09, 0x58, 0x85, 0x24, 0xb1, 0x82, 0x06, 0xff, 0xff, 0x09, 0xe3,
    0x85, 0xe3, 0xb1, 0x82, 0x09, 0x45, 0x85, 0x25, 0x75, 0x20, 0x27, 0xff, 0xff, 0xff, 0x7f,
    0x66, 0x01, 0x10, 0xb1, 0x82, 0xc0, 0x05, 0x84, 0x09, 0x11, 0x85, 0x20, 0x75, 0x08, 0x26,
    0xff, 0x00, 0x65, 0x00, 0xb1, 0x03, 0x09, 0x14, 0xa1, 0x00, 0x09, 0x15, 0xb1, 0x03, 0x06,
    0xff, 0xff, 0x09, 0x94, 0x85, 0x26, 0xb1, 0x83, 0x05, 0x84, 0x09, 0x02, 0xa1, 0x02, 0x06,
    0xff, 0xff, 0x09, 0x79, 0x85, 0x27, 0xb1, 0x83, 0x09, 0x79, 0x81, 0x83, 0x05, 0x84, 0x09,
    0x62, 0xb1, 0x83, 0x09, 0x62, 0x81, 0x83, 0x09, 0x6d, 0xb1, 0x83, 0x09, 0x6d, 0x81, 0x83,
    0xc0, 0xc0, 0xc0, 0x05, 0x84, 0x09, 0x1e, 0xa1, 0x81, 0x09, 0x42, 0x85, 0x14, 0x66, 0x01,
    0xf0, 0xb1, 0x83, 0x09, 0x40, 0x85, 0x15, 0x67, 0x21, 0xd1, 0xf0, 0x00, 0x55, 0x07, 0xb1,
    0x83, 0x09, 0x1f,
};

/* MGE Ellipse (0463:ffff), NUT 2.4.3 usbhid-ups -DDD log quoted in a 2011 blog post about
 * udev permissions: the log shows 39 of 769 bytes and stops inside a 4-byte usage item. */
static const uint8_t mge_ellipse_cut[] = {
    0x05, 0x84, 0x09, 0x04, 0xa1, 0x01, 0x09, 0x24, 0xa1, 0x00, 0x09, 0x02, 0xa1,
    0x00, 0x55, 0x00, 0x65, 0x00, 0x85, 0x01, 0x75, 0x01, 0x95, 0x05, 0x15, 0x00,
    0x25, 0x01, 0x05, 0x85, 0x09, 0xd0, 0x09, 0x44, 0x09, 0x45, 0x09, 0x42, 0x0b,
};

/* CyberPower CP1500PFCRM2U (0764:0501): the first 31 bytes of its sysfs report_descriptor
 * (od -tx1), quoted in a public project's HID parsing notes; string-index features. */
static const uint8_t cps_cp1500pfcrm2u_head[] = {
    0x05, 0x84, 0x09, 0x04, 0xa1, 0x01, 0x09, 0x24, 0xa1, 0x00, 0x85, 0x1d, 0x09, 0xfe, 0x75, 0x08,
    0x95, 0x01, 0x15, 0x00, 0x26, 0xff, 0x00, 0xb1, 0x22, 0x85, 0x03, 0x09, 0xfd, 0xb1, 0x22,
};

static void test_powerwalker_fragment(void **state)
{
    char err[128];
    (void)state;
    usbhid_desc_t *d = usbhid_desc_parse(powerwalker_1824, sizeof powerwalker_1824, err,
                                         sizeof err);
    if (!d)
        fail_msg("%s", err);
    assert_true(usbhid_desc_is_power(d));
    assert_true(usbhid_desc_has_ids(d));
    static const struct {
        const char *path;
        uint8_t type, id;
        uint32_t bit, unit;
        int8_t exp;
        int32_t lmax;
    } want[] = {
        {"UPS.BatterySystem.Battery.BatteryID", USBHID_FEATURE, 0x20, 0, 0, 0, 255},
        {"UPS.BatterySystem.Battery.ffff0090", USBHID_FEATURE, 0x21, 0, 0, 0, 255},
        {"UPS.BatterySystem.Battery.PresentStatus.Present", USBHID_FEATURE, 0x27, 0, 0, 0, 255},
        {"UPS.BatterySystem.Battery.PresentStatus.Present", USBHID_INPUT, 0x27, 0, 0, 0, 255},
        {"UPS.BatterySystem.Battery.PresentStatus.ffff0074", USBHID_FEATURE, 0x27, 8, 0, 0, 255},
        {"UPS.BatterySystem.Battery.Test", USBHID_FEATURE, 0x24, 0, 0, 0, 255},
        {"UPS.BatterySystem.Battery.ffff0045", USBHID_FEATURE, 0x25, 0, 0x1001, 0, INT32_MAX},
        {"UPS.BatterySystem.BatterySystemID", USBHID_FEATURE, 0x20, 8, 0, 0, 255},
        {"UPS.BatterySystem.Charger.ChargerID", USBHID_FEATURE, 0x20, 16, 0, 0, 255},
        {"UPS.BatterySystem.Charger.PresentStatus.InternalFailure", USBHID_INPUT, 0x27, 24, 0, 0,
         255},
        {"UPS.Flow.[1].ConfigFrequency", USBHID_FEATURE, 0x14, 0, 0xF001, 0, 255},
        {"UPS.Flow.[1].ConfigVoltage", USBHID_FEATURE, 0x15, 0, USBHID_UNIT_VOLT, 7, 255},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const usbhid_field_t *f = field_at(d, want[i].path, want[i].type);
        if (!f)
            fail_msg("no %s (type %u)", want[i].path, want[i].type);
        assert_int_equal(f->report_id, want[i].id);
        assert_int_equal(f->bit_offset, want[i].bit);
        assert_int_equal(f->bit_size, want[i].path[strlen(want[i].path) - 1] == '5' ? 32 : 8);
        assert_int_equal(f->unit, want[i].unit);
        assert_int_equal(f->unit_exp, want[i].exp);
        assert_int_equal(f->logical_max, want[i].lmax);
    }
    /* Report 0x20 holds BatteryID, BatterySystemID and ChargerID: 3 bytes and the ID. */
    assert_int_equal(usbhid_report_len(d, USBHID_FEATURE, 0x20), 4);
    /* Report 0x27 spans two PresentStatus collections: 5 bytes and the ID, both types. */
    assert_int_equal(usbhid_report_len(d, USBHID_FEATURE, 0x27), 6);
    assert_int_equal(usbhid_report_len(d, USBHID_INPUT, 0x27), 6);
    /* The rating in volts: a raw 230 with the volt unit and exponent 7 is 230 V. */
    const usbhid_field_t *cv = field_at(d, "UPS.Flow.[1].ConfigVoltage", USBHID_FEATURE);
    assert_val(usbhid_field_value(cv, 230, USBHID_NO_EXP), 230.0, 1e-9);
    usbhid_desc_free(d);
}

static void test_truncated_captures(void **state)
{
    char err[128];
    (void)state;
    /* The Ellipse log stops inside an item: refused, naming the offset. */
    errno = 0;
    assert_null(usbhid_desc_parse(mge_ellipse_cut, sizeof mge_ellipse_cut, err, sizeof err));
    assert_int_equal(errno, EINVAL);
    assert_string_equal(err, "byte 38: item runs past the end");
    /* Cut before that item it parses; no main item yet, so no fields. */
    usbhid_desc_t *d = usbhid_desc_parse(mge_ellipse_cut, sizeof mge_ellipse_cut - 1, err,
                                         sizeof err);
    assert_non_null(d);
    assert_int_equal(usbhid_desc_count(d), 0);
    usbhid_desc_free(d);
    d = usbhid_desc_parse(cps_cp1500pfcrm2u_head, sizeof cps_cp1500pfcrm2u_head, err,
                          sizeof err);
    assert_non_null(d);
    assert_int_equal(usbhid_desc_count(d), 2);
    const usbhid_field_t *f = field_at(d, "UPS.PowerSummary.iProduct", USBHID_FEATURE);
    assert_non_null(f);
    assert_int_equal(f->report_id, 0x1d);
    f = field_at(d, "UPS.PowerSummary.iManufacturer", USBHID_FEATURE);
    assert_non_null(f);
    assert_int_equal(f->report_id, 0x03);
    usbhid_desc_free(d);
}

/* Malformed descriptors: each refused with EINVAL and the offset of the fault. */
static void test_malformed(void **state)
{
    static const struct {
        const char *name;
        uint8_t b[16];
        size_t n;
        const char *err;
    } t[] = {
        {"pop without push", {0xB4}, 1, "byte 0: pop without push"},
        {"report ID 0", {0x85, 0x00}, 2, "byte 0: report ID 0"},
        {"long item past end", {0xFE, 0x05, 0x00, 0x01}, 4, "byte 0: long item runs past the end"},
        {"4-byte item cut", {0x05, 0x84, 0x27, 0xff, 0xff}, 5, "byte 2: item runs past the end"},
        {"40-bit variable",
         {0x09, 0x30, 0x75, 0x28, 0x95, 0x01, 0xb1, 0x02},
         8,
         "byte 6: a variable field of 40 bits"},
        {"report over 1024 bytes",
         {0x09, 0x30, 0x75, 0x20, 0x96, 0x01, 0x01, 0xb1, 0x02},
         9,
         "byte 7: report 0 longer than 1024 bytes"},
    };
    char err[128];
    (void)state;
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        errno = 0;
        usbhid_desc_t *d = usbhid_desc_parse(t[i].b, t[i].n, err, sizeof err);
        if (d)
            fail_msg("%s: parsed", t[i].name);
        assert_int_equal(errno, EINVAL);
        if (strcmp(err, t[i].err) != 0)
            fail_msg("%s: \"%s\"", t[i].name, err);
    }
    /* Push deeper than 8. */
    uint8_t deep[9];
    memset(deep, 0xA4, sizeof deep);
    assert_null(usbhid_desc_parse(deep, sizeof deep, err, sizeof err));
    assert_string_equal(err, "byte 8: push deeper than 8");
    /* Empty: a descriptor with nothing in it, not an error (and not a power device). */
    usbhid_desc_t *d = usbhid_desc_parse(NULL, 0, err, sizeof err);
    assert_non_null(d);
    assert_false(usbhid_desc_is_power(d));
    usbhid_desc_free(d);
}

/* Items the models do not use: push/pop, usage ranges, 4-byte usages, long items, padding,
 * arrays, and the single byte 0xFF as a logical maximum. */
static void test_items(void **state)
{
    static const uint8_t b[] = {
        0x05, 0x84, 0x09, 0x04, 0xa1, 0x01,       /* UPS application */
        0xfe, 0x01, 0x00, 0x55,                   /* a long item, skipped */
        0x85, 0x05, 0x15, 0x00, 0x25, 0xff,       /* ID 5, logical 0..0xFF as one byte */
        0x75, 0x08, 0x95, 0x01, 0xa4,             /* size 8, count 1, push */
        0x0b, 0x35, 0x00, 0x84, 0x00,             /* Usage 0x00840035 (4 bytes) */
        0xb1, 0x02, 0xb4,                         /* feature, pop */
        0x75, 0x04, 0xb1, 0x03,                   /* 4 bits of padding */
        0x05, 0x85, 0x19, 0x44, 0x29, 0x46,       /* Charging..FullyCharged */
        0x75, 0x01, 0x95, 0x03, 0x25, 0x01, 0x81, 0x02, /* three 1-bit inputs */
        0x09, 0xd0, 0x75, 0x08, 0x95, 0x02, 0x81, 0x00, /* an array: no field */
        0xc0,
    };
    char err[128];
    (void)state;
    usbhid_desc_t *d = usbhid_desc_parse(b, sizeof b, err, sizeof err);
    if (!d)
        fail_msg("%s", err);
    assert_int_equal(usbhid_desc_count(d), 4);
    const usbhid_field_t *f = field_at(d, "UPS.PercentLoad", USBHID_FEATURE);
    assert_non_null(f);
    assert_int_equal(f->logical_max, 255);
    assert_true(f->logmax_unsigned);
    static const char *bits[] = {"UPS.Charging", "UPS.Discharging", "UPS.FullyCharged"};
    for (int i = 0; i < 3; i++) {
        f = field_at(d, bits[i], USBHID_INPUT);
        assert_non_null(f);
        assert_int_equal(f->bit_offset, i);
        assert_int_equal(f->bit_size, 1);
    }
    /* feature 5: 8 + 4 bits; input 5: 3 bits + 16 bits of array */
    assert_int_equal(usbhid_report_len(d, USBHID_FEATURE, 5), 3);
    assert_int_equal(usbhid_report_len(d, USBHID_INPUT, 5), 4);
    assert_int_equal(usbhid_report_len(d, USBHID_OUTPUT, 5), 0);
    usbhid_desc_free(d);
}

/* ---- value decoding -------------------------------------------------------------------------- */

static void test_values(void **state)
{
    static const struct {
        const char *name;
        usbhid_field_t f;
        uint8_t rep[8];
        size_t len;
        int64_t raw;
        double v;
    } t[] = {
        {"u8 load", {.report_id = 1, .bit_size = 8, .logical_max = 100}, {1, 42}, 2, 42, 42},
        {"u16 LE watts, unit W exp 7",
         {.report_id = 2, .bit_size = 16, .logical_max = 65535, .unit = USBHID_UNIT_WATT,
          .unit_exp = 7},
         {2, 0x7a, 0x01}, 3, 378, 378},
        {"volts in 0.1 V (exp 6)",
         {.report_id = 3, .bit_size = 16, .logical_max = 65535, .unit = USBHID_UNIT_VOLT,
          .unit_exp = 6},
         {3, 0xfd, 0x08}, 3, 2301, 230.1},
        {"amperes, exp -2: no CGS bias",
         {.report_id = 3, .bit_offset = 16, .bit_size = 16, .logical_max = 65535,
          .unit = USBHID_UNIT_AMPERE, .unit_exp = -2},
         {3, 0, 0, 0x09, 0x01}, 5, 265, 2.65},
        {"no unit, exp -1",
         {.bit_size = 16, .logical_max = 65535, .unit_exp = -1}, {0xe8, 0x03}, 2, 1000, 100},
        {"signed 16, negative",
         {.report_id = 4, .bit_size = 16, .logical_min = -32768, .logical_max = 32767},
         {4, 0x18, 0xfc}, 3, -1000, -1000},
        {"bit 3 of a status byte",
         {.report_id = 7, .bit_offset = 3, .bit_size = 1, .logical_max = 1}, {7, 0x08}, 2, 1, 1},
        {"12 bits across bytes",
         {.report_id = 9, .bit_offset = 4, .bit_size = 12, .logical_max = 4095},
         {9, 0x30, 0xab}, 3, 0xab3, 0xab3},
        {"physical scaling 0..255 -> 0..100",
         {.bit_size = 8, .logical_max = 255, .physical_max = 100}, {51}, 1, 51, 20},
        {"outside the logical range: null",
         {.report_id = 1, .bit_size = 8, .logical_max = 100}, {1, 200}, 2, 200, NAN},
        {"32-bit seconds", {.report_id = 0x25, .bit_size = 32, .logical_max = INT32_MAX,
                            .unit = 0x1001},
         {0x25, 0x10, 0x0e, 0, 0}, 5, 3600, 3600},
    };
    (void)state;
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        int64_t raw;
        if (usbhid_field_raw(&t[i].f, t[i].rep, t[i].len, &raw) != 0)
            fail_msg("%s: %s", t[i].name, strerror(errno));
        if (raw != t[i].raw)
            fail_msg("%s: raw %lld", t[i].name, (long long)raw);
        double v = usbhid_field_value(&t[i].f, raw, USBHID_NO_EXP);
        if (isnan(t[i].v) ? !isnan(v) : !(fabs(v - t[i].v) < 1e-9))
            fail_msg("%s: %.9g, want %.9g", t[i].name, v, t[i].v);
    }
    /* Errors: wrong report ID, short report; and the exponent override of a quirk. */
    usbhid_field_t f = {.report_id = 2, .bit_size = 16, .logical_max = 65535,
                        .unit = USBHID_UNIT_VOLT, .unit_exp = 2};
    uint8_t rep[] = {3, 0xe6, 0x00};
    int64_t raw;
    assert_int_equal(usbhid_field_raw(&f, rep, 3, &raw), -1);
    assert_int_equal(errno, EINVAL);
    rep[0] = 2;
    assert_int_equal(usbhid_field_raw(&f, rep, 2, &raw), -1);
    assert_int_equal(errno, EMSGSIZE);
    assert_int_equal(usbhid_field_raw(&f, rep, 3, &raw), 0);
    assert_val(usbhid_field_value(&f, raw, USBHID_NO_EXP), 230e-5, 1e-15);
    assert_val(usbhid_field_value(&f, raw, 0), 230, 1e-12);
}

static void test_paths(void **state)
{
    static const struct {
        const char *s;
        int ok;
        uint8_t depth;
        uint32_t usage;
    } t[] = {
        {"UPS.Output.ActivePower", 1, 2, 0x00840034},
        {"UPS.Flow.[4].ConfigApparentPower", 1, 2, 0x00840043},
        {"UPS.ffff0010.[1].ffff007c", 1, 2, 0xffff007c},
        {"UPS.PowerSummary.RunTimeToEmpty", 1, 2, 0x00850068},
        {"UPS.NoSuchThing", 0, 0, 0},
        {"[4].UPS", 0, 0, 0},
        {"UPS..Output", 0, 0, 0},
        {"UPS.Flow.[0].ConfigVoltage", 0, 0, 0},
        {"", 0, 0, 0},
    };
    (void)state;
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        usbhid_pattern_t p;
        int rc = usbhid_pattern_parse(t[i].s, &p);
        if ((rc == 0) != t[i].ok)
            fail_msg("\"%s\": rc %d", t[i].s, rc);
        if (rc == 0) {
            assert_int_equal(p.depth, t[i].depth);
            assert_int_equal(p.usage, t[i].usage);
        }
    }
    /* Formatting is the inverse on a field. */
    usbhid_field_t f = {.usage = 0x00840043, .depth = 2,
                        .path = {0x00840004, 0x0084001e}, .inst = {0, 4}};
    char buf[64];
    assert_string_equal(usbhid_path_format(&f, buf, sizeof buf),
                        "UPS.Flow.[4].ConfigApparentPower");
    usbhid_pattern_t p;
    assert_int_equal(usbhid_pattern_parse("UPS.Flow.ConfigApparentPower", &p), 0);
    assert_true(usbhid_pattern_match(&p, &f)); /* no index in the pattern: any */
    assert_int_equal(usbhid_pattern_parse("UPS.Flow.[3].ConfigApparentPower", &p), 0);
    assert_false(usbhid_pattern_match(&p, &f));
    /* A short buffer is cut, not overrun. */
    char small[8];
    assert_string_equal(usbhid_path_format(&f, small, sizeof small), "UPS.Flo");
}

/* ---- the door ------------------------------------------------------------------------------ */

static void test_door(void **state)
{
    static const struct {
        const char *what;
        uint8_t rt, req;
        uint16_t value;
        int allowed;
    } t[] = {
        {"GET_REPORT feature", 0xA1, 0x01, 0x0314, 1},
        {"GET_REPORT input", 0xA1, 0x01, 0x0101, 1},
        {"GET_REPORT output", 0xA1, 0x01, 0x0201, 0},
        {"GET_REPORT type 0", 0xA1, 0x01, 0x0001, 0},
        {"GET_DESCRIPTOR string", 0x80, 0x06, 0x0303, 1},
        {"GET_DESCRIPTOR device", 0x80, 0x06, 0x0100, 0},
        {"GET_DESCRIPTOR report (interface)", 0x81, 0x06, 0x2200, 1},
        {"GET_DESCRIPTOR HID (interface)", 0x81, 0x06, 0x2100, 1},
        {"GET_DESCRIPTOR string (interface)", 0x81, 0x06, 0x0303, 0},
        /* HID 1.11, 7.2: the class requests that change a device. */
        {"SET_REPORT feature", 0x21, 0x09, 0x0314, 0},
        {"SET_REPORT output", 0x21, 0x09, 0x0201, 0},
        {"SET_IDLE", 0x21, 0x0A, 0x0000, 0},
        {"SET_PROTOCOL", 0x21, 0x0B, 0x0001, 0},
        {"GET_IDLE", 0xA1, 0x02, 0x0000, 0},
        /* USB 2.0, 9.4: standard requests that change state. */
        {"SET_CONFIGURATION", 0x00, 0x09, 0x0001, 0},
        {"SET_INTERFACE", 0x01, 0x0B, 0x0000, 0},
        {"CLEAR_FEATURE endpoint", 0x02, 0x01, 0x0000, 0},
        {"SET_FEATURE remote wakeup", 0x00, 0x03, 0x0001, 0},
        {"SET_ADDRESS", 0x00, 0x05, 0x0002, 0},
        {"vendor IN", 0xC0, 0x01, 0x0000, 0},
        {"vendor OUT", 0x40, 0x01, 0x0000, 0},
        {"GET_REPORT to the device recipient", 0xA0, 0x01, 0x0301, 0},
    };
    (void)state;
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (usbhid_request_allowed(t[i].rt, t[i].req, t[i].value) != t[i].allowed)
            fail_msg("%s: %s", t[i].what, t[i].allowed ? "refused" : "allowed");
    /* Every setup byte combination: only the three shapes above get through. */
    int n = 0;
    for (int rt = 0; rt < 256; rt++)
        for (int req = 0; req < 256; req++)
            for (int hi = 0; hi < 256; hi++)
                n += usbhid_request_allowed((uint8_t)rt, (uint8_t)req, (uint16_t)(hi << 8));
    assert_int_equal(n, 2 + 1 + 2);
    for (int ep = 0; ep < 256; ep++)
        assert_int_equal(usbhid_endpoint_allowed((uint8_t)ep), (ep & 0x80) && (ep & 0x0F));
    /* The door refuses before libusb sees anything: with no handle at all. */
    uint8_t buf[8];
    int got;
    assert_int_equal(usbhid_door_control_in(NULL, 0x21, 0x09, 0x0301, 0, buf, 1, 10),
                     LIBUSB_ERROR_ACCESS);
    assert_int_equal(usbhid_door_interrupt_in(NULL, 0x01, buf, 8, &got, 10),
                     LIBUSB_ERROR_ACCESS);
}

/* ---- quirks and binding ------------------------------------------------------------------------ */

static void test_quirk_table(void **state)
{
    size_t n;
    const usbhid_quirk_t *q = usbhid_quirks(&n);
    int vendors[4] = {0};
    (void)state;
    assert_true(n > 0);
    for (size_t i = 0; i < n; i++) {
        usbhid_pattern_t p;
        if (!q[i].source || strlen(q[i].source) < 10)
            fail_msg("row %zu: no source", i);
        if (!usbhid_vendor_name(q[i].vid))
            fail_msg("row %zu: vendor %04x has no name", i, q[i].vid);
        if ((q[i].kind == USBHID_QK_PATH || q[i].kind == USBHID_QK_LOGICAL) &&
            usbhid_pattern_parse(q[i].path, &p) != 0)
            fail_msg("row %zu: path \"%s\"", i, q[i].path);
        if (q[i].kind == USBHID_QK_SCALE && !(q[i].arg > 0))
            fail_msg("row %zu: scale %g", i, q[i].arg);
        if (q[i].kind == USBHID_QK_LOGICAL && !(q[i].lmin < q[i].lmax))
            fail_msg("row %zu: range", i);
        vendors[0] |= q[i].vid == 0x051d;
        vendors[1] |= q[i].vid == 0x0764;
        vendors[2] |= q[i].vid == 0x0463;
        vendors[3] |= q[i].vid == 0x09ae;
    }
    /* The four vendors at least. */
    for (int i = 0; i < 4; i++)
        assert_true(vendors[i]);
    size_t nr;
    const usbhid_rule_t *r = usbhid_rules(&nr);
    for (size_t i = 0; i < nr; i++) {
        usbhid_pattern_t p;
        if (usbhid_pattern_parse(r[i].path, &p) != 0)
            fail_msg("rule \"%s\"", r[i].path);
    }
}

/* A model, a vendor:product, the reports it answers with (captured bytes), and what must come
 * out: values, estimated and stale bits, which quirk fired. */
typedef struct decode_case {
    const char *name;
    void (*model)(dbuild_t *);
    uint16_t vid, pid;
    uint8_t reps[6][8];
    size_t lens[6];
    uint8_t types[6];
    usbhid_rating_t rating;
    double v[USBHID_Q_COUNT_];
    unsigned estimated, stale;
    const char *how;
    int quirk_q;            /* quantity whose source must name a quirk, -1 none */
    const char *paths[USBHID_Q_COUNT_];
} decode_case_t;

#define N NAN
static const decode_case_t decode_cases[] = {
    {"eaton", model_eaton, 0x0463, 0xffff,
     {{0x01, 42}, {0x02, 0x7a, 0x01, 0xc2, 0x01}, {0x03, 0xfc, 0x08, 0xc4, 0x00},
      {0x14, 4, 0xe8, 0x03, 0x84, 0x03}},
     {2, 5, 5, 6}, {3, 3, 3, 3}, {0, 0},
     {378, 450, 42, 230.0, 1.96, 1000, 900}, 0, 0, "", -1,
     {"UPS.PowerConverter.Output.ActivePower", "UPS.PowerConverter.Output.ApparentPower",
      "UPS.PowerSummary.PercentLoad", "UPS.PowerConverter.Output.Voltage",
      "UPS.PowerConverter.Output.Current", "UPS.Flow.[4].ConfigApparentPower",
      "UPS.Flow.[4].ConfigActivePower"}},
    {"eaton, report 3 missing", model_eaton, 0x0463, 0xffff,
     {{0x01, 42}, {0x02, 0x7a, 0x01, 0xc2, 0x01}, {0x14, 4, 0xe8, 0x03, 0x84, 0x03}},
     {2, 5, 6}, {3, 3, 3}, {0, 0},
     {378, 450, 42, N, N, 1000, 900}, 0, (1u << USBHID_Q_VOLTAGE) | (1u << USBHID_Q_CURRENT),
     "", -1, {0}},
    {"eaton, load from its input twin", model_eaton, 0x0463, 0xffff,
     {{0x01, 57}, {0x02, 0x7a, 0x01, 0xc2, 0x01}, {0x03, 0xfc, 0x08, 0xc4, 0x00},
      {0x14, 4, 0xe8, 0x03, 0x84, 0x03}},
     {2, 5, 5, 6}, {1, 3, 3, 3}, {0, 0},
     {378, 450, 57, 230.0, 1.96, 1000, 900}, 0, 0, "", -1, {0}},
    /* 120 V lies outside the 140..150 the output voltage inherited from HighVoltageTransfer. */
    {"cyberpower, copied voltage range", model_cps, 0x0764, 0x0501,
     {{0x12, 0x78, 0x00}, {0x13, 18}, {0x14, 0xa2, 0x00, 0xb4, 0x00},
      {0x18, 0x84, 0x03, 0xdc, 0x05}},
     {3, 2, 5, 5}, {3, 3, 3, 3}, {0, 0},
     {162, 180, 18, 120, N, 1500, 900}, 0, 0, "", USBHID_Q_VOLTAGE,
     {"UPS.Output.ActivePower", "UPS.Output.ApparentPower", "UPS.Output.PercentLoad",
      "UPS.Output.Voltage", "", "UPS.Output.ConfigApparentPower",
      "UPS.Output.ConfigActivePower"}},
    /* The same descriptor on another vendor: no quirk, and the voltage is out of range. */
    {"cyberpower layout, other vendor", model_cps, 0x1234, 0x0001,
     {{0x12, 0x78, 0x00}, {0x13, 18}, {0x14, 0xa2, 0x00, 0xb4, 0x00},
      {0x18, 0x84, 0x03, 0xdc, 0x05}},
     {3, 2, 5, 5}, {3, 3, 3, 3}, {0, 0},
     {162, 180, 18, N, N, 1500, 900}, 0, 0, "", -1, {0}},
    {"apc, load only", model_apc, 0x051d, 0x0002,
     {{0x0C, 25}, {0x0D, 0xE6, 0x00}, {0x0E, 0x58, 0x02}},
     {2, 3, 3}, {3, 3, 3}, {0, 0},
     {150, N, 25, 230, N, N, 600}, 1u << USBHID_Q_POWER_W, 0,
     "load 25.0 % x nominal 600 W (device)", -1,
     {"", "", "UPS.Output.PercentLoad", "UPS.Output.Voltage", "", "",
      "UPS.Output.ConfigActivePower"}},
    {"apc, ratings from the site config", model_apc, 0x051d, 0x0002,
     {{0x0C, 25}, {0x0D, 0xE6, 0x00}, {0x0E, 0x58, 0x02}},
     {2, 3, 3}, {3, 3, 3}, {540, 900},
     {135, 225, 25, 230, N, 900, 600},
     (1u << USBHID_Q_POWER_W) | (1u << USBHID_Q_POWER_VA), 0,
     "load 25.0 % x nominal 540 W (config)", -1, {0}},
    {"apc, load missing", model_apc, 0x051d, 0x0002,
     {{0x0D, 0xE6, 0x00}, {0x0E, 0x58, 0x02}},
     {3, 3}, {3, 3}, {0, 0},
     {N, N, N, 230, N, N, 600}, 0, 1u << USBHID_Q_LOAD, "", -1, {0}},
    /* SMART1500LCDT: exponent 2 on the voltage, corrected by the 10^5 NUT applies. */
    {"tripp lite smart1500lcdt", model_tripplite, 0x09ae, 0x3016,
     {{0x30, 0xE6, 0x00}, {0x31, 0x2c, 0x01, 40}, {0x32, 0xdc, 0x05}},
     {3, 4, 3}, {3, 3, 3}, {0, 0},
     {300, 600, 40, 230, N, 1500, N}, 1u << USBHID_Q_POWER_VA, 0,
     "load 40.0 % x nominal 1500 VA (device)", USBHID_Q_VOLTAGE,
     {"UPS.OutletSystem.Outlet.ActivePower", "", "UPS.OutletSystem.Outlet.PercentLoad",
      "UPS.PowerSummary.Voltage", "", "UPS.Flow.ConfigApparentPower", ""}},
    {"tripp lite, another product: no scale", model_tripplite, 0x09ae, 0x2005,
     {{0x30, 0xE6, 0x00}, {0x31, 0x2c, 0x01, 40}, {0x32, 0xdc, 0x05}},
     {3, 4, 3}, {3, 3, 3}, {0, 0},
     {300, 600, 40, 230e-5, N, 1500, N}, 1u << USBHID_Q_POWER_VA, 0,
     "load 40.0 % x nominal 1500 VA (device)", -1, {0}},
};
#undef N

static void test_decode(void **state)
{
    char err[128], path[128];
    (void)state;
    for (size_t c = 0; c < sizeof decode_cases / sizeof decode_cases[0]; c++) {
        const decode_case_t *k = &decode_cases[c];
        dbuild_t db;
        usbhid_binding_t b;
        usbhid_report_t reps[6];
        usbhid_sample_t s = {0};
        size_t n = 0;
        k->model(&db);
        usbhid_desc_t *d = usbhid_desc_parse(db.b, db.n, err, sizeof err);
        if (!d)
            fail_msg("%s: %s", k->name, err);
        usbhid_bind(d, k->vid, k->pid, &b);
        for (; n < 6 && k->lens[n]; n++)
            reps[n] = (usbhid_report_t){k->types[n], k->reps[n], k->lens[n], 0};
        usbhid_decode(d, &b, reps, n, &k->rating, &s);
        for (int q = 0; q < USBHID_Q_COUNT_; q++) {
            double want = k->v[q], got = s.v[q];
            if (isnan(want) ? !isnan(got) : !(fabs(got - want) < 1e-9))
                fail_msg("%s: %s = %.9g, want %.9g", k->name, usbhid_qty_name(q), got, want);
            if (k->paths[0]) {
                const usbhid_field_t *f =
                    b.q[q].field >= 0 ? usbhid_desc_field(d, (size_t)b.q[q].field) : NULL;
                usbhid_path_format(f, path, sizeof path);
                if (strcmp(path, k->paths[q]) != 0)
                    fail_msg("%s: %s at \"%s\", want \"%s\"", k->name, usbhid_qty_name(q),
                             path, k->paths[q]);
            }
        }
        if (s.estimated != k->estimated || s.stale != k->stale)
            fail_msg("%s: estimated %x stale %x", k->name, s.estimated, s.stale);
        if (strcmp(s.how, k->how) != 0)
            fail_msg("%s: how \"%s\"", k->name, s.how);
        for (int q = 0; q < USBHID_Q_COUNT_; q++)
            if ((b.q[q].quirk != NULL) != (q == k->quirk_q))
                fail_msg("%s: quirk on %s: %s", k->name, usbhid_qty_name(q),
                         b.q[q].quirk ? b.q[q].quirk : "none");
        usbhid_desc_free(d);
    }
}

static void test_plan(void **state)
{
    dbuild_t db;
    usbhid_binding_t b;
    usbhid_report_ref_t r[USBHID_Q_COUNT_];
    char err[128];
    (void)state;
    model_eaton(&db);
    usbhid_desc_t *d = usbhid_desc_parse(db.b, db.n, err, sizeof err);
    assert_non_null(d);
    assert_int_equal(usbhid_bind(d, 0x0463, 0xffff, &b), USBHID_Q_COUNT_);
    assert_int_equal(usbhid_plan(d, &b, r, USBHID_Q_COUNT_), 4);
    static const uint8_t ids[] = {0x01, 0x02, 0x03, 0x14};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(r[i].id, ids[i]);
        assert_int_equal(r[i].type, USBHID_FEATURE);
    }
    assert_int_equal(usbhid_plan(d, &b, r, 2), 2);
    assert_false(b.no_interrupt);
    usbhid_bind(d, 0x051d, 0x0003, &b); /* APC 5G: interrupt pipe left alone */
    assert_true(b.no_interrupt);
    usbhid_desc_free(d);
}

/* ---- energy --------------------------------------------------------------------------------------- */

static void test_energy(void **state)
{
    static const struct {
        const char *name;
        double t[6], w[6];
        int est[6];
        size_t n;
        double wh, wh_est;
        uint64_t gaps;
        double gap_s;
    } t[] = {
        {"constant 360 W for 10 min", {0, 300, 600}, {360, 360, 360}, {0}, 3, 60, 0, 0, 0},
        {"ramp: trapezoid", {0, 300}, {0, 120}, {0}, 2, 5, 0, 0, 0},
        {"interval over max gap", {0, 60, 1000, 1060}, {600, 600, 600, 600}, {0}, 4, 20, 0, 1,
         940},
        {"unknown power", {0, 60, 120, 180}, {600, NAN, 600, 600}, {0}, 4, 10, 0, 2, 120},
        {"estimated share", {0, 60, 120}, {600, 600, 600}, {0, 1, 1}, 3, 20, 20, 0, 0},
        {"time going back is ignored", {0, 60, 30, 120}, {600, 600, 600, 600}, {0}, 4, 20, 0,
         0, 0},
    };
    (void)state;
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        usbhid_energy_t e;
        usbhid_energy_init(&e, 1000, 300);
        for (size_t k = 0; k < t[i].n; k++)
            usbhid_energy_add(&e, t[i].t[k], t[i].w[k], t[i].est[k]);
        if (fabs(e.wh - 1000 - t[i].wh) > 1e-9 || fabs(e.wh_estimated - t[i].wh_est) > 1e-9 ||
            e.gaps != t[i].gaps || fabs(e.gap_s - t[i].gap_s) > 1e-9)
            fail_msg("%s: %.6g Wh (%.6g estimated), %llu gaps over %g s", t[i].name,
                     e.wh - 1000, e.wh_estimated, (unsigned long long)e.gaps, e.gap_s);
    }
}

/* ---- matching ---------------------------------------------------------------------------------------- */

static void test_match_parse(void **state)
{
    usbhid_match_t m = {0};
    (void)state;
    assert_int_equal(usbhid_match_parse_id(&m, "0463:ffff"), 0);
    assert_int_equal(m.vid, 0x0463);
    assert_int_equal(m.pid, 0xffff);
    static const char *bad[] = {"0463", "0463:", "x463:ffff", "0463:ffff0", "0463:fff g", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        errno = 0;
        assert_int_equal(usbhid_match_parse_id(&m, bad[i]), -1);
        assert_int_equal(errno, EINVAL);
    }
    /* No device attached here: a handle anyway, and reads say ENODEV, bounded. */
    usbhid_match_t none = {.vid = 0xfffe, .pid = 0xfffe};
    usbhid_opts_t o = {.timeout_ms = 100, .no_hotplug = 1};
    char err[256];
    usbhid_dev_t *u = usbhid_new(&none, &o, err, sizeof err);
    if (!u) {
        /* A build machine without usbfs: libusb cannot start, which is reported. */
        assert_true(err[0] != '\0');
        return;
    }
    usbhid_sample_t s;
    assert_int_equal(usbhid_read(u, &s, err, sizeof err), -1);
    assert_int_equal(errno, ENODEV);
    usbhid_info_t info;
    assert_int_equal(usbhid_get_info(u, &info), -1);
    usbhid_free(u);
    usbhid_free(NULL);
}

/* ---- the source scan ------------------------------------------------------------------------------------- */

/* libusb calls that put something on the bus, or change the device's state. */
static const char *const transfer_calls[] = {
    "libusb_control_transfer",      "libusb_interrupt_transfer",
    "libusb_bulk_transfer",         "libusb_submit_transfer",
    "libusb_fill_control_transfer", "libusb_fill_interrupt_transfer",
    "libusb_fill_bulk_transfer",    "libusb_fill_iso_transfer",
    "libusb_set_configuration",     "libusb_set_interface_alt_setting",
    "libusb_clear_halt",            "libusb_reset_device",
    "libusb_get_string_descriptor", "libusb_get_descriptor",
    "hid_send_feature_report",      "hid_write",
};

struct scan {
    char root[512];
    int hits;
    char first[1200];
};

static void scan_file(struct scan *sc, const char *path, const char *rel)
{
    FILE *f = fopen(path, "r");
    char line[1024];
    int ln = 0;
    if (!f)
        return;
    /* The door is where transfers are made; the checks it makes are tested above. */
    int door = strcmp(rel, "meters/usbhid/door.c") == 0;
    while (fgets(line, sizeof line, f)) {
        ln++;
        for (size_t i = 0; i < sizeof transfer_calls / sizeof transfer_calls[0]; i++) {
            const char *p = strstr(line, transfer_calls[i]);
            if (!p || (door && (i == 0 || i == 1)))
                continue;
            const char *q = p + strlen(transfer_calls[i]);
            while (*q == ' ')
                q++;
            if (*q != '(')
                continue;
            if (sc->hits++ == 0)
                snprintf(sc->first, sizeof sc->first, "%s:%d: %s", rel, ln, transfer_calls[i]);
        }
    }
    fclose(f);
}

static void scan_dir(struct scan *sc, const char *rel)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", sc->root, rel);
    DIR *d = opendir(path);
    struct dirent *e;
    if (!d)
        return;
    while ((e = readdir(d))) {
        char sub[1024], full[2048];
        struct stat st;
        if (e->d_name[0] == '.' || strncmp(e->d_name, "build", 5) == 0)
            continue;
        snprintf(sub, sizeof sub, "%s%s%s", rel, *rel ? "/" : "", e->d_name);
        /* This test names the calls it looks for. */
        if (strcmp(sub, "tests/meters/usbhid") == 0)
            continue;
        snprintf(full, sizeof full, "%s/%s", sc->root, sub);
        if (stat(full, &st) != 0)
            continue;
        size_t n = strlen(e->d_name);
        if (S_ISDIR(st.st_mode))
            scan_dir(sc, sub);
        else if (n > 2 && (!strcmp(e->d_name + n - 2, ".c") || !strcmp(e->d_name + n - 2, ".h")))
            scan_file(sc, full, sub);
    }
    closedir(d);
}

static int scan_tree(const char *root, char *first, size_t len)
{
    struct scan sc = {0};
    snprintf(sc.root, sizeof sc.root, "%s", root);
    scan_dir(&sc, "");
    if (first && len) {
        size_t k = strnlen(sc.first, len - 1);
        memcpy(first, sc.first, k);
        first[k] = '\0';
    }
    return sc.hits;
}

static void test_scan_finds_planted(void **state)
{
    char dir[256], p[512], first[512];
    (void)state;
    snprintf(dir, sizeof dir, "%s/usbhid-scan-XXXXXX", tu_tmpdir());
    assert_non_null(mkdtemp(dir));
    snprintf(p, sizeof p, "%s/meters", dir);
    mkdir(p, 0700);
    snprintf(p, sizeof p, "%s/meters/usbhid", dir);
    mkdir(p, 0700);
    snprintf(p, sizeof p, "%s/meters/usbhid/door.c", dir);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs("int a(void) { return libusb_control_transfer(h, 0xA1, 1, 0, 0, b, 1, 1); }\n", f);
    fclose(f);
    assert_int_equal(scan_tree(dir, first, sizeof first), 0);
    snprintf(p, sizeof p, "%s/meters/usbhid/poll.c", dir);
    f = fopen(p, "w");
    assert_non_null(f);
    fputs("/* one */\nint b(void) { return libusb_control_transfer (h, 0x21, 9, 0, 0, b, 1, 1); }\n",
          f);
    fclose(f);
    assert_int_equal(scan_tree(dir, first, sizeof first), 1);
    assert_string_equal(first, "meters/usbhid/poll.c:2: libusb_control_transfer");
    tu_rmtree(dir);
}

static int run_scan(const char *root)
{
    char first[1200];
    int n = scan_tree(root, first, sizeof first);
    if (n) {
        fprintf(stderr, "%d libusb transfer call(s) outside meters/usbhid/door.c; first: %s\n",
                n, first);
        return 1;
    }
    printf("no libusb transfer call outside meters/usbhid/door.c under %s\n", root);
    return 0;
}

/* ---- fuzzer seeds ---------------------------------------------------------------------------------------- */

static int write_corpus(const char *dir)
{
    static void (*const models[])(dbuild_t *) = {model_eaton, model_cps, model_apc,
                                                 model_tripplite, model_single,
                                                 model_single_mge};
    static const char *const names[] = {"model-eaton", "model-cps", "model-apc",
                                        "model-tripplite", "model-single-cps",
                                        "model-single-mge"};
    char p[600];
    for (size_t i = 0; i < sizeof models / sizeof models[0]; i++) {
        dbuild_t db;
        models[i](&db);
        snprintf(p, sizeof p, "%s/%s.bin", dir, names[i]);
        FILE *f = fopen(p, "wb");
        if (!f || fwrite(db.b, 1, db.n, f) != db.n)
            return 1;
        fclose(f);
    }
    static const struct {
        const char *name;
        const uint8_t *b;
        size_t n;
    } real[] = {
        {"nut-issue-1824-powerwalker-head", powerwalker_1824, sizeof powerwalker_1824},
        {"mge-ellipse-head-cut", mge_ellipse_cut, sizeof mge_ellipse_cut},
        {"cps-cp1500pfcrm2u-head", cps_cp1500pfcrm2u_head, sizeof cps_cp1500pfcrm2u_head},
    };
    for (size_t i = 0; i < sizeof real / sizeof real[0]; i++) {
        snprintf(p, sizeof p, "%s/%s.bin", dir, real[i].name);
        FILE *f = fopen(p, "wb");
        if (!f || fwrite(real[i].b, 1, real[i].n, f) != real[i].n)
            return 1;
        fclose(f);
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 2 && !strcmp(argv[1], "--scan-sources"))
        return run_scan(argv[2]);
#ifdef WA_HAVE_UMOCKDEV
    if (argc > 1 && !strcmp(argv[1], "--umockdev"))
        return tu_run_emu();
    if (argc > 1 && !strcmp(argv[1], "--nut"))
        return tu_run_nut();
#else
    if (argc > 1 && (!strcmp(argv[1], "--umockdev") || !strcmp(argv[1], "--nut")))
        return 77; /* built without libumockdev */
#endif
    if (argc > 2 && !strcmp(argv[1], "--write-corpus"))
        return write_corpus(argv[2]);
    const struct CMUnitTest t[] = {
        cmocka_unit_test(test_powerwalker_fragment),
        cmocka_unit_test(test_truncated_captures),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_items),
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_paths),
        cmocka_unit_test(test_door),
        cmocka_unit_test(test_quirk_table),
        cmocka_unit_test(test_decode),
        cmocka_unit_test(test_plan),
        cmocka_unit_test(test_energy),
        cmocka_unit_test(test_match_parse),
        cmocka_unit_test(test_scan_finds_planted),
    };
    return cmocka_run_group_tests_name("usbhid", t, NULL, NULL);
}
