/*
 * The same emulated UPS read by NUT's usbhid-ups (Debian nut-server) and by usbhid_read():
 * both must report the same power, load, voltage and ratings.
 *
 * umockdev's pcap replay is strictly in order and NUT's request order is NUT's business, so
 * the emulated device keeps every value in one feature report: whatever NUT asks for, the
 * next request is the same GET_REPORT, and the recording simply repeats it.  Standard
 * requests (string and HID descriptors) are recorded in the order NUT's libusb1.c sends
 * them; umockdev skips recorded standard requests that a program does not send.
 *
 * Runs inside umockdev's preload (ctest: umockdev-wrapper test_usbhid --nut); NUT runs as a
 * child process and inherits the testbed.  Skipped (exit 77) when usbhid-ups is missing.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <umockdev.h>

#include "emu.h"
#include "meters/usbhid/usbhid.h"
#include "models.h"
#include "test_usbhid.h"

#define NUT_DRIVER "/lib/nut/usbhid-ups"
#define NUT_REPEATS 200

/* What NUT is compared on: a variable of its dump ("ups.realpower"), or the value NUT's HID
 * layer decoded for a usage path ("path:UPS.Output.ActivePower", from its debug log; used
 * where NUT 2.8.0's subdriver maps no variable to the path). */
typedef struct nut_pair {
    const char *nut;
    usbhid_qty_t q;
    double want;
} nut_pair_t;

typedef struct nut_case {
    const char *name;
    uint16_t vid, pid;
    const char *vendor_arg;   /* NUT's -x vendorid */
    void (*model)(dbuild_t *);
    const uint8_t *rep;       /* feature report 1, with its ID */
    size_t rep_len;
    nut_pair_t pairs[8];
    size_t n_pairs;
} nut_case_t;

/* CyberPower layout, report 1: V 230.1 (0.1 V units), load 37 %, 333 W, 370 VA, rated 900 W
 * and 1500 VA. */
static const uint8_t rep_cps[] = {0x01, 0xfd, 0x08, 37, 0x4d, 0x01, 0x72, 0x01, 0x84, 0x03,
                                  0xdc, 0x05};
/* Eaton/MGE layout, report 1: load 61 %, 549 W, 610 VA, 229.6 V, 2.65 A, flow IDs 1..4,
 * rated 1000 VA and 900 W on Flow 4. */
static const uint8_t rep_mge[] = {0x01, 61,   0x25, 0x02, 0x62, 0x02, 0xf8, 0x08, 0x09, 0x01,
                                  1,    2,    3,    4,    0xe8, 0x03, 0x84, 0x03};

static const nut_case_t cases[] = {
    {"cyberpower", 0x0764, 0x0501, "0764", model_single, rep_cps, sizeof rep_cps,
     {{"path:UPS.Output.ActivePower", USBHID_Q_POWER_W, 333},
      {"path:UPS.Output.ApparentPower", USBHID_Q_POWER_VA, 370},
      {"ups.load", USBHID_Q_LOAD, 37},
      {"output.voltage", USBHID_Q_VOLTAGE, 230.1},
      {"ups.realpower.nominal", USBHID_Q_NOMINAL_W, 900},
      {"path:UPS.Output.ConfigApparentPower", USBHID_Q_NOMINAL_VA, 1500}},
     6},
    {"eaton", 0x0463, 0xffff, "0463", model_single_mge, rep_mge, sizeof rep_mge,
     {{"ups.realpower", USBHID_Q_POWER_W, 549},
      {"ups.power", USBHID_Q_POWER_VA, 610},
      {"ups.load", USBHID_Q_LOAD, 61},
      {"output.voltage", USBHID_Q_VOLTAGE, 229.6},
      {"output.current", USBHID_Q_CURRENT, 2.65},
      {"ups.power.nominal", USBHID_Q_NOMINAL_VA, 1000},
      {"path:UPS.Flow.[4].ConfigActivePower", USBHID_Q_NOMINAL_W, 900}},
     7},
};

static void case_dev(const nut_case_t *c, emu_dev_t *d, dbuild_t *db, uint8_t addr)
{
    c->model(db);
    memset(d, 0, sizeof *d);
    d->vid = c->vid;
    d->pid = c->pid;
    d->bcd = 0x0200;
    d->bus = 1;
    d->addr = addr;
    d->port = "4";
    d->manufacturer = c->name;
    d->product = "emulated UPS";
    d->serial = "WA0000000001";
    d->rdesc = db->b;
    d->rdesc_len = db->n;
    d->ep_in = 0x81;
    d->ep_size = 8;
}

static void string_pair(emu_pcap_t *p, uint8_t idx, const char *s)
{
    static const uint8_t lang[4] = {4, 3, 0x09, 0x04};
    uint8_t b[255];
    size_t n = 2;
    emu_ctrl_in(p, 0x80, 0x06, 0x0300, 0, 4, lang, sizeof lang);
    for (size_t i = 0; s[i] && n + 2 <= sizeof b; i++) {
        b[n++] = (uint8_t)s[i];
        b[n++] = 0;
    }
    b[0] = (uint8_t)n;
    b[1] = 3;
    emu_ctrl_in(p, 0x80, 0x06, (uint16_t)(0x0300 | idx), 0x0409, 255, b, n);
}

/* What NUT 2.8.0's libusb1.c sends on open, as far as the recording needs it: the three
 * strings through libusb_get_string_descriptor_ascii (LANGID table, then the string), the
 * HID descriptor, the report descriptor; then the GET_REPORTs. */
static void nut_recording(emu_pcap_t *p, const emu_dev_t *d, const nut_case_t *c)
{
    uint8_t hid[9] = {9, 0x21, 0x11, 0x01, 0, 1, 0x22, (uint8_t)d->rdesc_len,
                      (uint8_t)(d->rdesc_len >> 8)};
    string_pair(p, 1, d->manufacturer);
    string_pair(p, 2, d->product);
    string_pair(p, 3, d->serial);
    emu_ctrl_in(p, 0x81, 0x06, 0x2100, 0, 9, hid, sizeof hid);
    emu_ctrl_in(p, 0x81, 0x06, 0x2200, 0, (uint16_t)d->rdesc_len, d->rdesc, d->rdesc_len);
    /* NUT asks for the report's length including the ID byte, as usbhid_read() does. */
    for (int i = 0; i < NUT_REPEATS; i++)
        emu_get_report(p, 3, 0x01, (uint16_t)c->rep_len, c->rep, c->rep_len);
}

/* Runs NUT with -d 1 (dump the data after one update and exit) and reads its dump. */
static int run_nut(const char *dir, const char *vendor, char *out, size_t outlen)
{
    char state[400], conf[400], log[400];
    snprintf(state, sizeof state, "%s/state", dir);
    snprintf(conf, sizeof conf, "%s/conf", dir);
    snprintf(log, sizeof log, "%s/nut.out", dir);
    mkdir(state, 0700);
    mkdir(conf, 0700);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        setenv("NUT_STATEPATH", state, 1);
        setenv("NUT_CONFPATH", conf, 1);
        char vid[32];
        snprintf(vid, sizeof vid, "vendorid=%s", vendor);
        /* -D: NUT's debug level 1 logs every value its HID layer decodes ("Path: ..."). */
        execl(NUT_DRIVER, NUT_DRIVER, getenv("WA_NUT_DEBUG") ? "-DDDDD" : "-D", "-u", "root",
              "-s", "wa", "-x", "port=auto", "-x", vid, "-x", "pollonly", "-d", "1",
              (char *)NULL);
        _exit(127);
    }
    int st = 0;
    /* Bounded: the replay either answers at once or NUT times out and gives up. */
    for (int i = 0; i < 600; i++) {
        if (waitpid(pid, &st, WNOHANG) == pid)
            break;
        usleep(100000);
        if (i == 599) {
            kill(pid, 9);
            waitpid(pid, &st, 0);
        }
    }
    FILE *f = fopen(log, "r");
    size_t n = f ? fread(out, 1, outlen - 1, f) : 0;
    if (f)
        fclose(f);
    out[n] = '\0';
    if (getenv("WA_NUT_DEBUG"))
        fprintf(stderr, "---- NUT ----\n%s\n---- exit %d ----\n", out, st);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The value of "name: value" in NUT's dump, or of "Path: <path>, ... Value: v" in its debug
 * log for "path:<path>"; NaN if absent. */
static double nut_var(const char *dump, const char *name)
{
    char key[160];
    if (strncmp(name, "path:", 5) == 0) {
        snprintf(key, sizeof key, "Path: %s, ", name + 5);
        const char *p = strstr(dump, key);
        const char *v = p ? strstr(p, "Value: ") : NULL;
        const char *eol = p ? strchr(p, '\n') : NULL;
        return v && (!eol || v < eol) ? strtod(v + 7, NULL) : NAN;
    }
    snprintf(key, sizeof key, "\n%s: ", name);
    const char *p = strstr(dump, key);
    if (!p && strncmp(dump, key + 1, strlen(key + 1)) == 0)
        p = dump - 1;
    return p ? strtod(p + strlen(key), NULL) : NAN;
}

static void compare(const nut_case_t *c, UMockdevTestbed *tb, const char *dir, uint8_t addr,
                    int first)
{
    emu_dev_t d;
    dbuild_t db;
    emu_pcap_t p;
    char pcap[300], pcap2[300], sys[128], sys2[128], err[256];
    static char dump[1 << 20];
    GError *e = NULL;

    /* NUT's turn. */
    case_dev(c, &d, &db, addr);
    snprintf(pcap, sizeof pcap, "%s/%s-nut.pcap", dir, c->name);
    assert_int_equal(emu_pcap_open(&p, pcap, d.bus, d.addr), 0);
    nut_recording(&p, &d, c);
    emu_pcap_close(&p);
    char *text = emu_umockdev_text(&d, first, sys, sizeof sys);
    assert_true(umockdev_testbed_add_from_string(tb, text, &e));
    free(text);
    assert_true(umockdev_testbed_load_pcap(tb, sys, pcap, &e));
    int rc = run_nut(dir, c->vendor_arg, dump, sizeof dump);
    if (rc != 0)
        fail_msg("%s: usbhid-ups exited %d:\n%s", c->name, rc, dump);
    umockdev_testbed_remove_device(tb, sys);

    /* Ours, on the same device (a fresh node: replay positions are per node). */
    d.addr = (uint8_t)(addr + 1);
    snprintf(pcap2, sizeof pcap2, "%s/%s-ours.pcap", dir, c->name);
    assert_int_equal(emu_pcap_open(&p, pcap2, d.bus, d.addr), 0);
    emu_open_sequence(&p, &d);
    emu_get_report(&p, 3, 0x01, (uint16_t)c->rep_len, c->rep, c->rep_len);
    emu_pcap_close(&p);
    text = emu_umockdev_text(&d, 0, sys2, sizeof sys2);
    assert_true(umockdev_testbed_add_from_string(tb, text, &e));
    free(text);
    assert_true(umockdev_testbed_load_pcap(tb, sys2, pcap2, &e));
    usbhid_match_t m = {.vid = c->vid, .pid = c->pid};
    usbhid_opts_t o = {.timeout_ms = 500, .no_hotplug = 1, .no_interrupt = 1};
    usbhid_dev_t *u = usbhid_new(&m, &o, err, sizeof err);
    assert_non_null(u);
    usbhid_sample_t s;
    rc = usbhid_read(u, &s, err, sizeof err);
    usbhid_free(u);
    umockdev_testbed_remove_device(tb, sys2);
    if (rc != 0)
        fail_msg("%s: usbhid_read: %s", c->name, err);

    for (size_t i = 0; i < c->n_pairs; i++) {
        const nut_pair_t *pr = &c->pairs[i];
        double nut = nut_var(dump, pr->nut);
        if (isnan(nut))
            fail_msg("%s: NUT did not report %s:\n%s", c->name, pr->nut, dump);
        /* NUT prints with %.0f or %.1f: agree to its last printed digit. */
        if (fabs(nut - s.v[pr->q]) > 0.051)
            fail_msg("%s: %s: NUT %g, usbhid %g", c->name, pr->nut, nut, s.v[pr->q]);
        assert_val(s.v[pr->q], pr->want, 1e-9);
        printf("  %-10s %-40s NUT %-8g usbhid %g\n", c->name, pr->nut, nut, s.v[pr->q]);
    }
}

static void test_nut_reads_the_same(void **state)
{
    char dir[256];
    (void)state;
    snprintf(dir, sizeof dir, "%s/usbhid-nut-XXXXXX", tu_tmpdir());
    assert_non_null(mkdtemp(dir));
    UMockdevTestbed *tb = umockdev_testbed_new();
    assert_non_null(tb);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        compare(&cases[i], tb, dir, (uint8_t)(20 + 2 * i), i == 0);
    g_object_unref(tb);
    tu_rmtree(dir);
}

int tu_run_nut(void)
{
    const struct CMUnitTest t[] = {
        cmocka_unit_test(test_nut_reads_the_same),
    };
    if (access(NUT_DRIVER, X_OK) != 0) {
        fprintf(stderr, "%s not installed (Debian nut-server): skipped\n", NUT_DRIVER);
        return 77;
    }
    if (!getenv("LD_PRELOAD") || !strstr(getenv("LD_PRELOAD"), "umockdev")) {
        fprintf(stderr, "--nut: run under umockdev-wrapper\n");
        return 1;
    }
    return cmocka_run_group_tests_name("usbhid_nut", t, NULL, NULL);
}
