/*
 * The collector with USB UPSes: collect_run() in real time against emulated devices
 * (umockdev, in-process testbed, recordings built from the device models) next to a Modbus
 * meter served by the simulator over loopback.
 *
 *   - an Eaton-like UPS that reports active power: stored as measured;
 *   - an APC-like UPS that reports only load and rating: power = load x rating, stored and
 *     marked estimated in the channel's sidecar and the status file;
 *   - a UPS that stops answering, and one that is not attached: failed polls with libusb's
 *     words in the status, while the others keep their 1 s polls;
 *   - power and energy read back with storage_fetch(): every stored power is a served one, in
 *     order, and energy is the trapezoid of the served values at the stored times;
 *   - a second run continues the energy counter from the file and keeps the sidecar.
 *
 * Runs inside umockdev's preload (ctest starts it through umockdev-wrapper); exits 77
 * (skipped) in a build without libumockdev.
 */
#include <stdio.h>

#ifndef WA_HAVE_UMOCKDEV
int main(void)
{
    fprintf(stderr, "test_collect_usb: built without libumockdev (umockdev-1.0); skipped\n");
    return 77;
}
#else

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <umockdev.h>

#include "common/common.h"
#include "emu.h"
#include "meters/collect/collect.h"
#include "meters/profile/profile.h"
#include "meters/sim/sim.h"
#include "models.h"
#include "siteconf/siteconf.h"
#include "storage/storage.h"

/* cmocka's assert_float_equal passes for NaN; this one does not. */
#define assert_val(x, want, eps)                                                               \
    do {                                                                                       \
        double x_ = (x);                                                                       \
        if (!(fabs(x_ - (want)) <= (eps)))                                                     \
            fail_msg("%s = %.9g, want %.9g", #x, x_, (double)(want));                          \
    } while (0)

#define POLLS_RECORDED 12 /* more than a run of about 5 s at 1 s polls can use */
#define RUN_S 5

/* ---- small helpers ------------------------------------------------------------------------ */

static void rm_tree(const char *dir)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
}

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = calloc(1, (size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    return buf;
}

static cJSON *read_json(const char *path)
{
    char *t = read_text(path);
    cJSON *j;
    if (!t)
        fail_msg("cannot read %s", path);
    j = cJSON_Parse(t);
    free(t);
    if (!j)
        fail_msg("%s is not JSON", path);
    return j;
}

static const char *jstr(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsString(v))
        fail_msg("\"%s\" is not a string", key);
    return v->valuestring;
}

static double jnum(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsNumber(v))
        fail_msg("\"%s\" is not a number", key);
    return v->valuedouble;
}

static siteconf_t *load_config(const char *dir, const char *name, const char *text)
{
    char path[400], err[1024];
    FILE *f;
    siteconf_t *c;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    c = siteconf_load(path, err, sizeof err);
    if (!c)
        fail_msg("%s: %s", name, err);
    return c;
}

/* ---- the testbed ----------------------------------------------------------------------------- */

struct bed {
    UMockdevTestbed *tb;
    int have_parents;
    int n_pcap;
    char dir[256];
};

static void bed_new(struct bed *b)
{
    b->tb = umockdev_testbed_new();
    assert_non_null(b->tb);
    b->have_parents = 0;
}

static void bed_free(struct bed *b)
{
    if (b->tb)
        g_object_unref(b->tb);
    b->tb = NULL;
}

static void bed_add(struct bed *b, const emu_dev_t *d, const char *pcap)
{
    GError *e = NULL;
    char syspath[128];
    char *text = emu_umockdev_text(d, !b->have_parents, syspath, sizeof syspath);
    b->have_parents = 1;
    assert_non_null(text);
    if (!umockdev_testbed_add_from_string(b->tb, text, &e))
        fail_msg("umockdev add: %s", e ? e->message : "?");
    free(text);
    if (!umockdev_testbed_load_pcap(b->tb, syspath, pcap, &e))
        fail_msg("umockdev pcap: %s", e ? e->message : "?");
}

static void pcap_open(struct bed *b, emu_pcap_t *p, const emu_dev_t *d, char *path, size_t len)
{
    snprintf(path, len, "%s/rec%d.pcap", b->dir, b->n_pcap++);
    assert_int_equal(emu_pcap_open(p, path, d->bus, d->addr), 0);
}

/* ---- the devices ----------------------------------------------------------------------------- */

static void eaton_dev(emu_dev_t *d, dbuild_t *db, uint8_t addr, const char *port,
                      const char *serial)
{
    model_eaton(db);
    memset(d, 0, sizeof *d);
    d->vid = 0x0463;
    d->pid = 0xffff;
    d->bcd = 0x0100;
    d->bus = 1;
    d->addr = addr;
    d->port = port;
    d->manufacturer = "EATON";
    d->product = "5E 1500i";
    d->serial = serial;
    d->rdesc = db->b;
    d->rdesc_len = db->n;
    d->ep_in = 0x81;
    d->ep_size = 8;
}

static void apc_dev(emu_dev_t *d, dbuild_t *db)
{
    model_apc(db);
    memset(d, 0, sizeof *d);
    d->vid = 0x051d;
    d->pid = 0x0002;
    d->bcd = 0x0106;
    d->bus = 1;
    d->addr = 12;
    d->port = "3";
    d->manufacturer = "American Power Conversion";
    d->product = "Back-UPS ES 700";
    d->serial = "4B1234P56789";
    d->rdesc = db->b;
    d->rdesc_len = db->n;
    d->ep_in = 0x81;
    d->ep_size = 8;
}

/* What the Eaton serves at its k-th poll of run `run`: active power, W (whole watts, as the
 * model's 1 W resolution carries them).  In run 2 it stalls the request for its power at
 * polls 1 to 3 (NaN here): four seconds without power, more than the 3 intervals integrated. */
static double eaton_w(int run, int k)
{
    if (run == 1 && k >= 1 && k <= 3)
        return NAN;
    return run == 0 ? 300 + 20 * k : 700 - 10 * k;
}

/* The APC's load at its k-th poll, %.  Its own rating is 600 W; run 2's configuration says
 * nominal_w = 500. */
static int apc_load(int run, int k)
{
    return run == 0 ? 20 + 5 * k : 60 - 3 * k;
}

static double apc_rating(int run)
{
    return run == 0 ? 600 : 500;
}

/* One poll of the Eaton model as usbhid_read() sends it: feature reports 1, 2, 3, 0x14. */
static void eaton_poll(emu_pcap_t *p, double w)
{
    uint16_t wi = isnan(w) ? 0 : (uint16_t)w;
    const uint8_t r1[] = {0x01, 42};                                        /* load 42 % */
    const uint8_t r2[] = {0x02, (uint8_t)wi, (uint8_t)(wi >> 8), 0xc2, 0x01}; /* W, 450 VA */
    const uint8_t r3[] = {0x03, 0xfc, 0x08, 0xc4, 0x00};                    /* 230.0 V, 1.96 A */
    const uint8_t r14[] = {0x14, 4, 0xe8, 0x03, 0x84, 0x03};                /* 1000 VA, 900 W */
    emu_get_report(p, 3, 0x01, 2, r1, sizeof r1);
    if (isnan(w)) /* one request stalled: power unknown this time, the rest is read */
        emu_ctrl_stall(p, 0xA1, 0x01, 0x0302, 0, 5);
    else
        emu_get_report(p, 3, 0x02, 5, r2, sizeof r2);
    emu_get_report(p, 3, 0x03, 5, r3, sizeof r3);
    emu_get_report(p, 3, 0x14, 6, r14, sizeof r14);
}

/* One poll of the APC model: load, 230 V, rating 600 W. */
static void apc_poll(emu_pcap_t *p, int load)
{
    const uint8_t r0c[] = {0x0C, (uint8_t)load};
    const uint8_t r0d[] = {0x0D, 0xE6, 0x00};
    const uint8_t r0e[] = {0x0E, 0x58, 0x02};
    emu_get_report(p, 3, 0x0C, 2, r0c, sizeof r0c);
    emu_get_report(p, 3, 0x0D, 3, r0d, sizeof r0d);
    emu_get_report(p, 3, 0x0E, 3, r0e, sizeof r0e);
}

/* The two UPSes that answer, with POLLS_RECORDED polls each of run `run`. */
static void add_good_devices(struct bed *b, int run)
{
    emu_dev_t d;
    dbuild_t db;
    emu_pcap_t p;
    char pcap[300];
    eaton_dev(&d, &db, 5, "2", "G118F00001");
    pcap_open(b, &p, &d, pcap, sizeof pcap);
    emu_open_sequence(&p, &d);
    for (int k = 0; k < POLLS_RECORDED; k++)
        eaton_poll(&p, eaton_w(run, k));
    emu_pcap_close(&p);
    bed_add(b, &d, pcap);

    apc_dev(&d, &db);
    pcap_open(b, &p, &d, pcap, sizeof pcap);
    emu_open_sequence(&p, &d);
    for (int k = 0; k < POLLS_RECORDED; k++)
        apc_poll(&p, apc_load(run, k));
    emu_pcap_close(&p);
    bed_add(b, &d, pcap);
}

/* An Eaton that opens, then leaves its requests unanswered (a wedged UPS). */
static void add_stuck_device(struct bed *b)
{
    emu_dev_t d;
    dbuild_t db;
    emu_pcap_t p;
    char pcap[300];
    eaton_dev(&d, &db, 6, "4", "G118F00002");
    pcap_open(b, &p, &d, pcap, sizeof pcap);
    emu_open_sequence(&p, &d);
    emu_ctrl_silent(&p, 0xA1, 0x01, 0x0301, 0, 2);
    emu_ctrl_silent(&p, 0xA1, 0x01, 0x0302, 0, 5);
    emu_pcap_close(&p);
    bed_add(b, &d, pcap);
}

/* ---- the simulated Modbus meter ------------------------------------------------------------- */

struct simthread {
    siteconf_t *cfg;
    const profile_set_t *ps;
    sim_opts_t o;
    sim_stats_t stats;
    volatile sig_atomic_t stop;
    pthread_t th;
    int rc;
    char err[1024], ready[400];
};

static void *sim_main(void *arg)
{
    struct simthread *s = arg;
    s->rc = sim_run(s->cfg, s->ps, &s->o, &s->stats, s->err, sizeof s->err);
    return NULL;
}

/* Starts the simulator on an ephemeral loopback port; returns the port. */
static int sim_start(struct simthread *s, const char *dir, const profile_set_t *ps)
{
    static const char text[] =
        "timezone = \"UTC\";\n"
        "sites = ( { id = \"srv\"; buses = ( { id = \"gw\"; tcp = \"127.0.0.1:1\";\n"
        "  devices = ( { id = \"meter\"; unit = 1; profile = \"eastron-sdm120\"; } ); } ); } );\n";
    char *ready = NULL, *at;
    memset(s, 0, sizeof *s);
    s->cfg = load_config(dir, "sim.conf", text);
    s->cfg->sites[0].buses[0].port = 0; /* the kernel picks a free port; the ready file says it */
    s->ps = ps;
    snprintf(s->ready, sizeof s->ready, "%s/sim.ready", dir);
    s->o.stop = &s->stop;
    s->o.ready_file = s->ready;
    /* Energy registers start an hour ago: integrating from 1970 would stall the simulator. */
    s->o.energy_origin = floor(wa_clock_now(NULL)) - 3600;
    assert_int_equal(pthread_create(&s->th, NULL, sim_main, s), 0);
    for (int i = 0; i < 200 && !(ready = read_text(s->ready)); i++)
        usleep(50000);
    if (!ready) {
        s->stop = 1;
        pthread_join(s->th, NULL);
        fail_msg("simulator did not start: %s", s->err);
    }
    at = strstr(ready, "tcp gw 127.0.0.1:");
    assert_non_null(at);
    int port = atoi(at + strlen("tcp gw 127.0.0.1:"));
    free(ready);
    assert_true(port > 0);
    return port;
}

static void sim_stop(struct simthread *s)
{
    s->stop = 1;
    pthread_join(s->th, NULL);
    siteconf_free(s->cfg);
    if (s->rc != 0)
        fail_msg("simulator: %s", s->err);
}

/* ---- reading back ------------------------------------------------------------------------------ */

static const collect_device_status_t *dev_status(const collect_result_t *res, const char *id)
{
    for (size_t i = 0; i < res->n_devices; i++)
        if (strcmp(res->devices[i].device, id) == 0)
            return &res->devices[i];
    fail_msg("no status for device %s", id);
    return NULL;
}

/* The updates of a channel file after `from` up to `to` (RRD rows cover (t - step, t], so the
 * first row is the one ending at from + 1): RRD repeats an update's value over
 * every step it covers (GAUGE), so runs of one value are one update, at the run's last step.
 * The served values differ from poll to poll, so runs are told apart by power. */
typedef struct upd {
    int64_t t;
    double w, wh;
} upd_t;

static size_t updates(const char *file, int64_t from, int64_t to, upd_t *out, size_t max)
{
    storage_series_t p = {0}, e = {0};
    char err[512];
    size_t n = 0;
    if (storage_fetch(file, "power", "AVERAGE", from, to, 1, NULL, &p, err, sizeof err) != 0 ||
        storage_fetch(file, "energy", "AVERAGE", from, to, 1, NULL, &e, err, sizeof err) != 0)
        fail_msg("fetch: %s", err);
    assert_int_equal(p.step, 1);
    assert_int_equal(p.n, e.n);
    for (size_t i = 0; i < p.n; i++) {
        if (isnan(p.v[i]))
            continue;
        int64_t t = p.start + (int64_t)(i + 1) * p.step;
        if (n > 0 && p.v[i] == out[n - 1].w && t - out[n - 1].t <= 2) {
            out[n - 1].t = t; /* the same update, held over a skipped step */
            continue;
        }
        assert_true(n < max);
        out[n++] = (upd_t){t, p.v[i], e.v[i]};
    }
    free(p.v);
    free(e.v);
    return n;
}

/* Every update is the next value served with power, and energy is the trapezoid of those
 * values at the stored times, over intervals of at most 3 s (3 intervals, the RRD heartbeat;
 * longer ones are gaps and add nothing), starting from e0 and, when prev is given (the last
 * update of an earlier run), from there. */
static void check_series(const char *name, const upd_t *u, size_t n, double (*served)(int, int),
                         int run, double e0, const upd_t *prev)
{
    double e = e0, last_w = prev ? prev->w : NAN;
    int64_t last_t = prev ? prev->t : 0;
    int k = 0;
    for (size_t i = 0; i < n; i++, k++) {
        double w;
        while (isnan(w = served(run, k)))
            k++;
        if (fabs(u[i].w - w) > 1e-6)
            fail_msg("%s update %zu at %lld: power %.6f, served %.6f", name, i,
                     (long long)u[i].t, u[i].w, w);
        if (!isnan(last_w) && u[i].t - last_t <= 3)
            e += (last_w + w) / 2 * (double)(u[i].t - last_t) / 3600;
        if (fabs(u[i].wh - e) > 1e-6)
            fail_msg("%s update %zu at %lld: energy %.9f Wh, trapezoid %.9f Wh", name, i,
                     (long long)u[i].t, u[i].wh, e);
        last_w = w;
        last_t = u[i].t;
    }
}

static double eaton_served(int run, int k)
{
    return eaton_w(run, k);
}

static double apc_served(int run, int k)
{
    return apc_load(run, k) / 100.0 * apc_rating(run);
}

static void file_of(const char *dir, const char *rel, const char *ext, char *buf, size_t len)
{
    snprintf(buf, len, "%s/data/%s%s", dir, rel, ext);
}

static const cJSON *status_dev(const cJSON *st, const char *id)
{
    const cJSON *d;
    cJSON_ArrayForEach(d, cJSON_GetObjectItemCaseSensitive(st, "devices"))
    if (strcmp(jstr(d, "device"), id) == 0)
        return d;
    fail_msg("status file has no device %s", id);
    return NULL;
}

/* ---- the cases -------------------------------------------------------------------------------- */

/* The UPSes that answer get a generous timeout: under ASan and a busy machine an emulated
 * reply can take a while, and a late one would be a missing value. */
static const char usb_bus[] =
    "  { id = \"usb\"; usb = { }; devices = (\n"
    "    { id = \"ups-eaton\"; usb_id = \"0463:ffff\"; usb_path = \"1-2\"; interval = 1;\n"
    "      timeout_ms = 2000; },\n"
    "    { id = \"ups-apc\"; usb_id = \"051d:0002\"; interval = 1; timeout_ms = 2000;%s\n"
    "      channels = ( { id = \"output\"; name = \"Rack A UPS\"; } ); }%s ) }\n";
static const char more_usb[] =
    ",\n    { id = \"ups-stuck\"; usb_path = \"1-4\"; interval = 1; timeout_ms = 900; },\n"
    "    { id = \"ups-absent\"; usb_id = \"09ae:3016\"; interval = 1; timeout_ms = 500; }";

static void run_collector(const siteconf_t *cfg, const profile_set_t *ps, collect_result_t *res)
{
    collect_opts_t o = {0};
    wa_log_t log = {stderr, getenv("WA_TEST_LOG") ? WA_LOG_DEBUG : WA_LOG_ERROR};
    char err[1024];
    o.log = &log;
    /* Start just after a second begins, so that RUN_S seconds hold RUN_S polls. */
    double now = wa_clock_now(NULL);
    usleep((useconds_t)((ceil(now) - now) * 1e6) + 20000);
    o.until = floor(wa_clock_now(NULL)) + RUN_S;
    if (collect_run(cfg, ps, &o, res, err, sizeof err) != 0)
        fail_msg("collect_run: %s", err);
}

static void test_collect_usb(void **state)
{
    const char *dirs[] = {WA_SOURCE_DIR "/profiles"};
    char dir[256], err[1024], text[4096], usb[2048], file[600];
    struct bed b = {0};
    struct simthread sim;
    collect_result_t res;
    profile_set_t *ps;
    siteconf_t *cfg;
    upd_t eaton[64], apc[64], eaton2[64], apc2[64];
    size_t ne, na, ne2, na2;
    int64_t t_begin;
    (void)state;

    snprintf(dir, sizeof dir, "%s/collect-usb-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    assert_non_null(mkdtemp(dir));
    wa_strlcpy(b.dir, dir, sizeof b.dir);
    ps = profile_set_load(dirs, 1, err, sizeof err);
    if (!ps)
        fail_msg("profiles: %s", err);

    /* ---- run 1: four UPSes and a Modbus meter -------------------------------------------- */
    bed_new(&b);
    add_good_devices(&b, 0);
    add_stuck_device(&b);
    int port = sim_start(&sim, dir, ps);
    snprintf(usb, sizeof usb, usb_bus, "", more_usb);
    snprintf(text, sizeof text,
             "timezone = \"UTC\";\nstatus_file = \"%s/status.json\";\n"
             "storage = { data_dir = \"%s/data\"; full_days = 1; mid_days = 1; long_days = 1; };\n"
             "sites = ( { id = \"srv\"; buses = (\n"
             "  { id = \"gw\"; tcp = \"127.0.0.1:%d\"; devices = (\n"
             "    { id = \"meter\"; unit = 1; profile = \"eastron-sdm120\"; interval = 1; } ) },\n"
             "%s) } );\n",
             dir, dir, port, usb);
    cfg = load_config(dir, "site.conf", text);
    t_begin = (int64_t)floor(wa_clock_now(NULL));
    run_collector(cfg, ps, &res);
    sim_stop(&sim);

    const collect_device_status_t *me = dev_status(&res, "meter"), *ea = dev_status(&res, "ups-eaton"),
                                  *ap = dev_status(&res, "ups-apc"), *stk = dev_status(&res, "ups-stuck"),
                                  *ab = dev_status(&res, "ups-absent");
    printf("  meter %llu/%llu ok, eaton %llu/%llu, apc %llu/%llu, stuck %llu polls %llu errors "
           "(%s), absent %llu errors (%s)\n",
           (unsigned long long)me->ok, (unsigned long long)me->polls, (unsigned long long)ea->ok,
           (unsigned long long)ea->polls, (unsigned long long)ap->ok, (unsigned long long)ap->polls,
           (unsigned long long)stk->polls, (unsigned long long)stk->errors, stk->last_error,
           (unsigned long long)ab->errors, ab->last_error);
    /* 1 s polls for RUN_S seconds: the wedged UPS (900 ms per unanswered request) delays
     * neither the Modbus meter nor the other UPSes. */
    assert_true(me->ok >= RUN_S - 1);
    assert_int_equal(me->usb, 0);
    assert_true(ea->ok >= RUN_S - 1);
    assert_int_equal(ea->errors, 0);
    assert_int_equal(ea->usb, 1);
    assert_int_equal(ea->estimated, 0);
    assert_int_equal(ea->gaps, 0);
    assert_int_equal(ea->stale, 0);
    assert_true(ap->ok >= RUN_S - 1);
    assert_int_equal(ap->errors, 0);
    assert_int_equal(ap->estimated, 1);
    assert_int_equal(stk->ok, 0);
    assert_true(stk->errors >= 1 && stk->errors == stk->polls);
    assert_non_null(strstr(stk->last_error, "timed out"));
    assert_true(ab->errors >= RUN_S - 1 && ab->errors == ab->polls);
    assert_non_null(strstr(ab->last_error, "no matching device"));

    /* Power and energy as stored. */
    file_of(dir, "srv/ups-eaton/output", ".rrd", file, sizeof file);
    ne = updates(file, t_begin - 2, t_begin + RUN_S + 4, eaton, 64);
    assert_true(ne >= RUN_S - 1 && ne == ea->ok);
    check_series("eaton", eaton, ne, eaton_served, 0, 0, NULL);
    file_of(dir, "srv/ups-apc/output", ".rrd", file, sizeof file);
    na = updates(file, t_begin - 2, t_begin + RUN_S + 4, apc, 64);
    assert_true(na >= RUN_S - 1 && na == ap->ok);
    check_series("apc", apc, na, apc_served, 0, 0, NULL);
    {
        int64_t lt;
        storage_sample_t last;
        assert_int_equal(storage_last(file, &lt, &last, err, sizeof err), 0);
        assert_int_equal(lt, apc[na - 1].t);
        assert_val(last.v[STORAGE_DS_VOLTAGE], 230, 1e-9);
        assert_true(isnan(last.v[STORAGE_DS_ENERGY_RAW])); /* a UPS has no energy register */
    }

    /* The estimate is marked in the data: the sidecar of each channel. */
    {
        cJSON *m;
        const cJSON *p;
        file_of(dir, "srv/ups-apc/output", ".meta.json", file, sizeof file);
        m = read_json(file);
        assert_int_equal((int)jnum(m, "version"), 1);
        assert_string_equal(jstr(m, "source"), "usb-hid");
        assert_string_equal(jstr(m, "channel"), "srv/ups-apc/output");
        assert_string_equal(jstr(m, "energy"), "integrated");
        assert_string_equal(jstr(m, "power"), "estimated");
        assert_string_equal(jstr(m, "how"), "load % x nominal 600 W (device)");
        assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(m, "periods")), 1);
        p = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(m, "periods"), 0);
        assert_int_equal((int64_t)jnum(p, "from"), apc[0].t);
        assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(p, "to")));
        assert_string_equal(jstr(p, "power"), "estimated");
        assert_string_equal(jstr(p, "device"),
                            "American Power Conversion Back-UPS ES 700 (051d:0002, serial "
                            "4B1234P56789)");
        cJSON_Delete(m);
        file_of(dir, "srv/ups-eaton/output", ".meta.json", file, sizeof file);
        m = read_json(file);
        assert_string_equal(jstr(m, "power"), "measured");
        assert_string_equal(jstr(m, "how"), "");
        p = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(m, "periods"), 0);
        assert_string_equal(jstr(p, "device"), "EATON 5E 1500i (0463:ffff, serial G118F00001)");
        cJSON_Delete(m);
        /* A UPS that never answered has a file but no sidecar yet. */
        file_of(dir, "srv/ups-stuck/output", ".meta.json", file, sizeof file);
        assert_int_equal(access(file, F_OK), -1);
    }

    /* ... and in the status file. */
    {
        char path[400];
        cJSON *st;
        const cJSON *d, *u;
        snprintf(path, sizeof path, "%s/status.json", dir);
        st = read_json(path);
        d = status_dev(st, "ups-apc");
        assert_string_equal(jstr(d, "kind"), "usb");
        assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(d, "unit")));
        u = cJSON_GetObjectItemCaseSensitive(d, "usb");
        assert_non_null(u);
        assert_string_equal(jstr(u, "power"), "estimated");
        assert_non_null(strstr(jstr(u, "how"), "x nominal 600 W (device)"));
        assert_string_equal(jstr(u, "usb_id"), "051d:0002");
        assert_string_equal(jstr(u, "usb_path"), "1-3");
        assert_string_equal(jstr(u, "match"), "usb_id 051d:0002");
        assert_val(jnum(u, "energy_wh"), apc[na - 1].wh, 1e-6);
        assert_val(jnum(u, "estimated_wh"), apc[na - 1].wh, 1e-6);
        assert_val(jnum(u, "gaps"), 0, 0);
        d = status_dev(st, "ups-eaton");
        u = cJSON_GetObjectItemCaseSensitive(d, "usb");
        assert_string_equal(jstr(u, "power"), "measured");
        assert_val(jnum(u, "estimated_wh"), 0, 0);
        assert_string_equal(jstr(u, "match"), "usb_id 0463:ffff usb_path 1-2");
        d = status_dev(st, "ups-stuck");
        u = cJSON_GetObjectItemCaseSensitive(d, "usb");
        assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(u, "power")));
        assert_false(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(u, "open")));
        /* two unanswered requests end its first poll; each later one times out opening */
        assert_true(jnum(cJSON_GetObjectItemCaseSensitive(u, "io"), "timeouts") >= 2);
        assert_true(jnum(cJSON_GetObjectItemCaseSensitive(u, "io"), "opens") == 1);
        d = status_dev(st, "meter");
        assert_string_equal(jstr(d, "kind"), "modbus");
        assert_val(jnum(d, "unit"), 1, 0);
        cJSON_Delete(st);
    }
    free(res.devices);
    siteconf_free(cfg);
    bed_free(&b);

    /* ---- run 2: the two good UPSes again; energy continues from the files ------------------- */
    bed_new(&b);
    add_good_devices(&b, 1);
    snprintf(usb, sizeof usb, usb_bus, " nominal_w = 500;", "");
    snprintf(text, sizeof text,
             "timezone = \"UTC\";\nstatus_file = \"%s/status.json\";\n"
             "storage = { data_dir = \"%s/data\"; full_days = 1; mid_days = 1; long_days = 1; };\n"
             "sites = ( { id = \"srv\"; buses = (\n%s) } );\n",
             dir, dir, usb);
    cfg = load_config(dir, "site2.conf", text);
    run_collector(cfg, ps, &res);
    ea = dev_status(&res, "ups-eaton");
    ap = dev_status(&res, "ups-apc");
    assert_true(ea->ok >= RUN_S - 1 && ap->ok >= RUN_S - 1);
    assert_int_equal(ea->errors, 0); /* a poll that reads something is not a failed one */
    file_of(dir, "srv/ups-eaton/output", ".rrd", file, sizeof file);
    ne2 = updates(file, eaton[ne - 1].t, eaton[ne - 1].t + 3 * RUN_S, eaton2, 64);
    if (ne2 != ea->ok - 3 || ea->stale != 3)
        fail_msg("eaton run 2: %zu updates with power, %llu polls ok, %llu stale (want ok - 3 "
                 "and 3)", ne2, (unsigned long long)ea->ok, (unsigned long long)ea->stale);
    /* The first reading of a new run closes the interval since the stored one: integrated when
     * no longer than 3 intervals, else a gap; the 4 s without power in the run is a gap. */
    check_series("eaton run 2", eaton2, ne2, eaton_served, 1, eaton[ne - 1].wh, &eaton[ne - 1]);
    int restart_gap = eaton2[0].t - eaton[ne - 1].t > 3;
    assert_int_equal(ea->stale, 3);
    assert_int_equal(ea->gaps, 1 + restart_gap);
    file_of(dir, "srv/ups-apc/output", ".rrd", file, sizeof file);
    na2 = updates(file, apc[na - 1].t, apc[na - 1].t + 3 * RUN_S, apc2, 64);
    assert_int_equal(na2, ap->ok);
    check_series("apc run 2", apc2, na2, apc_served, 1, apc[na - 1].wh, &apc[na - 1]);
    printf("  run 2 resumed after %lld s: eaton %.4f -> %.4f Wh, apc %.4f -> %.4f Wh\n",
           (long long)(eaton2[0].t - eaton[ne - 1].t), eaton[ne - 1].wh, eaton2[0].wh,
           apc[na - 1].wh, apc2[0].wh);
    {
        /* The APC's rating now comes from the configuration: a new period from run 2's first
         * sample; the Eaton's one period goes on. */
        char path[400];
        cJSON *m, *st;
        const cJSON *per, *p, *u;
        file_of(dir, "srv/ups-apc/output", ".meta.json", file, sizeof file);
        m = read_json(file);
        per = cJSON_GetObjectItemCaseSensitive(m, "periods");
        assert_int_equal(cJSON_GetArraySize(per), 2);
        p = cJSON_GetArrayItem(per, 0);
        assert_int_equal((int64_t)jnum(p, "from"), apc[0].t);
        assert_int_equal((int64_t)jnum(p, "to"), apc2[0].t);
        assert_string_equal(jstr(p, "how"), "load % x nominal 600 W (device)");
        p = cJSON_GetArrayItem(per, 1);
        assert_int_equal((int64_t)jnum(p, "from"), apc2[0].t);
        assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(p, "to")));
        assert_string_equal(jstr(p, "power"), "estimated");
        assert_string_equal(jstr(p, "how"), "load % x nominal 500 W (config)");
        assert_string_equal(jstr(m, "how"), "load % x nominal 500 W (config)");
        cJSON_Delete(m);
        file_of(dir, "srv/ups-eaton/output", ".meta.json", file, sizeof file);
        m = read_json(file);
        assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(m, "periods")), 1);
        cJSON_Delete(m);
        snprintf(path, sizeof path, "%s/status.json", dir);
        st = read_json(path);
        u = cJSON_GetObjectItemCaseSensitive(status_dev(st, "ups-eaton"), "usb");
        assert_val(jnum(u, "gaps"), 1 + restart_gap, 0);
        assert_true(jnum(u, "gap_s") >= 4);
        assert_val(jnum(u, "stale"), 3, 0);
        assert_val(jnum(u, "energy_wh"), eaton2[ne2 - 1].wh, 1e-6);
        cJSON_Delete(st);
    }
    free(res.devices);
    siteconf_free(cfg);
    bed_free(&b);
    profile_set_free(ps);
    rm_tree(dir);
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

int main(void)
{
    const struct CMUnitTest t[] = {
        cmocka_unit_test(test_collect_usb),
    };
    if (!getenv("LD_PRELOAD") || !strstr(getenv("LD_PRELOAD"), "umockdev")) {
        fprintf(stderr, "test_collect_usb: run under umockdev-wrapper\n");
        return 1;
    }
    g_log_set_default_handler(quiet, NULL);
    return cmocka_run_group_tests_name("usbhid_collect", t, NULL, NULL);
}

#endif
