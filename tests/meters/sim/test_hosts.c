/*
 * Tests for meters/sim's simulated hosts: load utilisation as tables, the hosts' ground truth,
 * then the exporters served by sim_run over real loopback sockets, scraped with meters/prom's
 * prom_scrape and prom_parse at stepped clock times and checked against the load models and
 * against the power the same simulator serves over Modbus at the same instant; raw sockets for
 * what no scraper sends; and, when Debian's prometheus is installed, a real Prometheus server
 * scraping the simulator.  Run as `test_sim hosts` and `test_sim prometheus`.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>
#include <modbus.h>

#include "common/common.h"
#include "meters/profile/profile.h"
#include "meters/prom/prom.h"
#include "meters/sim/sim-private.h"
#include "meters/sim/sim.h"
#include "siteconf/siteconf.h"

int sim_hosts_main(const char *group);

#define TZ "Asia/Shanghai"

static char hosts_dir[256];

static int64_t at(const char *local)
{
    int64_t t;
    assert_int_equal(wa_time_parse(local, TZ, &t), 0);
    return t;
}

static sc_load_t mk(const char *model, double w, double base_w, int count, int64_t from, int64_t to)
{
    sc_load_t ld;
    memset(&ld, 0, sizeof ld);
    snprintf(ld.model, sizeof ld.model, "%s", model);
    ld.w = w;
    ld.base_w = base_w;
    ld.count = count;
    ld.from = from;
    ld.to = to;
    return ld;
}

/* ---- utilisation of one load ------------------------------------------------------------- */

static void test_load_util(void **state)
{
    (void)state;
    /* wday: 0 Sunday .. 6 Saturday; hour local.  idle = what the load draws at util 0. */
    static const struct {
        const char *model;
        double w, base_w;
        int count;
        int64_t from, to;
        double hour;
        int wday;
        double t, util, span, idle;
        int gpus;
    } cases[] = {
        {"gpu_rig", 0, 0, 1, INT64_MIN, INT64_MAX, 3.0, 2, 0, 1, 1200, 0, 6}, /* a rig: full */
        {"gpu_rig", 900, 0, 2, 1000, INT64_MAX, 3.0, 2, 999, 0, 1800, 0, 12}, /* not yet there */
        {"gpu_rig", 900, 0, 2, 1000, INT64_MAX, 3.0, 2, 1000, 1, 1800, 0, 12},
        {"asic", 0, 0, 1, INT64_MIN, INT64_MAX, 12.0, 3, 0, 1, 3250, 0, 0},
        {"research_job", 1600, 0, 1, 5000, 9000, 10.0, 2, 4999, 0, 1600, 0, 4},
        {"research_job", 1600, 0, 1, 5000, 9000, 10.0, 2, 5000, 1, 1600, 0, 4}, /* running */
        {"research_job", 1600, 0, 2, 5000, 9000, 10.0, 2, 9000, 0, 3200, 0, 8}, /* ended */
        {"pc_mining", 40, 0, 1, INT64_MIN, INT64_MAX, 10.0, 2, 0, 0, 40, 0, 0}, /* at work */
        {"pc_mining", 40, 0, 1, INT64_MIN, INT64_MAX, 19.0, 2, 0, 1, 40, 0, 0}, /* evening */
        {"pc_mining", 40, 0, 1, INT64_MIN, INT64_MAX, 3.0, 3, 0, 1, 40, 0, 0},  /* night */
        {"pc_mining", 40, 0, 1, INT64_MIN, INT64_MAX, 12.0, 6, 0, 1, 40, 0, 0}, /* Saturday */
        {"pc_mining", 0, 0, 25, INT64_MIN, INT64_MAX, 23.0, 4, 0, 1, 1000, 0, 0},
        {"office", 5000, 800, 1, INT64_MIN, INT64_MAX, 10.0, 2, 0, 1, 4200, 800, 0},
        {"office", 5000, 800, 1, INT64_MIN, INT64_MAX, 8.0, 2, 0, 0.5, 4200, 800, 0},
        {"office", 5000, 800, 1, INT64_MIN, INT64_MAX, 12.75, 2, 0, 0.7, 4200, 800, 0},
        {"office", 5000, 800, 1, INT64_MIN, INT64_MAX, 3.0, 2, 0, 0, 4200, 800, 0},
        {"office", 5000, 800, 2, INT64_MIN, INT64_MAX, 10.0, 0, 0, 0, 8400, 1600, 0}, /* Sunday */
        {"server", 420, 0, 12, INT64_MIN, INT64_MAX, 10.0, 2, 0, 0, 0, 5040, 0}, /* idle draw */
        {"constant", 95, 0, 1, INT64_MIN, INT64_MAX, 10.0, 2, 0, 0, 0, 95, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sc_load_t ld = mk(cases[i].model, cases[i].w, cases[i].base_w, cases[i].count,
                          cases[i].from, cases[i].to);
        double span = -1, u = sim_load_util(&ld, cases[i].hour, cases[i].wday, cases[i].t, &span);
        double p = sim_load_power(&ld, cases[i].hour, cases[i].wday, cases[i].t);
        double tol = strcmp(cases[i].model, "gpu_rig") == 0 ? 0.015 * p : 1e-9;
        if (fabs(u - cases[i].util) > 1e-9 || fabs(span - cases[i].span) > 1e-9 ||
            sim_load_gpus(&ld) != cases[i].gpus)
            fail_msg("case %zu (%s at %.2f h, day %d): util %g span %g gpus %d, want %g %g %d", i,
                     cases[i].model, cases[i].hour, cases[i].wday, u, span, sim_load_gpus(&ld),
                     cases[i].util, cases[i].span, cases[i].gpus);
        /* Where the load is there at all, it draws idle + span x util: the power the meter
         * shows and the utilisation the host shows agree. */
        if (cases[i].t >= (double)cases[i].from && cases[i].t < (double)cases[i].to &&
            fabs(p - (cases[i].idle + span * u)) > tol)
            fail_msg("case %zu (%s): %g W, but idle %g + span %g x util %g", i, cases[i].model, p,
                     cases[i].idle, span, u);
    }
}

/* ---- a site with hosts --------------------------------------------------------------------- */

/* Ports: Modbus, then three HTTP listeners.  2026-11-04 is a Wednesday. */
#define HOSTS_CONF                                                                                 \
    "timezone = \"Asia/Shanghai\";\n"                                                              \
    "sites = ( { id = \"s\"; buses = (\n"                                                          \
    " { id = \"gw\"; tcp = \"127.0.0.1:%d\"; devices = (\n"                                        \
    "  { id = \"pdu\"; unit = 1; profile = \"netio-powerpdu-8ks\"; channels = (\n"                 \
    "    { id = \"o1\"; source = \"outlet1\"; simulate = { noise = 0.0; loads = (\n"               \
    "        { model = \"server\"; w = 180.0; host = \"gpu07\"; },\n"                              \
    "        { model = \"gpu_rig\"; w = 900.0; host = \"gpu07\"; from = \"2026-11-04T12:00\"; }\n" \
    "        ); }; },\n"                                                                           \
    "    { id = \"o2\"; source = \"outlet2\"; simulate = { noise = 0.0; loads = (\n"               \
    "        { model = \"constant\"; w = 30.0; host = \"pc1\"; },\n"                               \
    "        { model = \"pc_mining\"; w = 40.0; host = \"pc1\"; } ); }; },\n"                      \
    "    { id = \"o3\"; source = \"outlet3\"; simulate = { noise = 0.0; loads = (\n"               \
    "        { model = \"server\"; w = 300.0; host = \"node1\"; },\n"                              \
    "        { model = \"research_job\"; w = 1600.0; host = \"node1\";\n"                          \
    "          from = \"2026-11-04T09:00\"; to = \"2026-11-05T17:00\"; },\n"                       \
    "        { model = \"research_job\"; w = 1600.0; host = \"node1\";\n"                          \
    "          from = \"2026-11-06T09:00\"; to = \"2026-11-06T17:00\"; } ); }; },\n"               \
    "    { id = \"o4\"; source = \"outlet4\"; simulate = { noise = 0.0; loads = (\n"               \
    "        { model = \"gpu_rig\"; w = 1000.0; host = \"cpuonly\"; } ); }; },\n"                  \
    "    { id = \"o5\"; source = \"outlet5\"; simulate = { noise = 0.0; loads = (\n"               \
    "        { model = \"gpu_rig\"; w = 1100.0; } ); }; },\n"                                      \
    "    { id = \"o6\"; source = \"outlet6\"; simulate = { noise = 0.0; loads = (\n"               \
    "        { model = \"server\"; w = 100.0; host = \"batch\"; },\n"                              \
    "        { model = \"research_job\"; w = 800.0; host = \"batch\";\n"                           \
    "          from = \"2026-11-04T09:00\"; to = \"2026-11-04T12:00\"; },\n"                       \
    "        { model = \"research_job\"; w = 800.0; host = \"batch\";\n"                           \
    "          from = \"2026-11-04T14:00\"; to = \"2026-11-04T18:00\"; } ); }; } ); } ); } );\n"   \
    " hosts = (\n"                                                                                 \
    "  { id = \"gpu07\"; channel = \"pdu/o1\"; role = \"gpu_node\";\n"                             \
    "    exporter = \"http://127.0.0.1:%d/gpu07/metrics\";\n"                                      \
    "    gpu_exporter = \"http://127.0.0.1:%d/gpu07/dcgm\"; },\n"                                  \
    "  { id = \"pc1\"; channel = \"pdu/o2\"; role = \"office_pc\";\n"                              \
    "    exporter = \"http://localhost:%d/pc1?x=1\"; },\n"                                         \
    "  { id = \"node1\"; channel = \"pdu/o3\"; exporter = \"http://127.0.0.1:%d/metrics\";\n"      \
    "    gpu_exporter = \"http://127.0.0.1:%d/metrics\"; },\n"                                     \
    "  { id = \"cpuonly\"; channel = \"pdu/o4\"; exporter = \"http://127.0.0.1:%d/cpuonly\"; },\n" \
    "  { id = \"idle\"; exporter = \"http://127.0.0.1:%d/idle\";\n"                                \
    "    gpu_exporter = \"http://127.0.0.1:%d/idle-gpu\"; },\n"                                    \
    "  { id = \"batch\"; channel = \"pdu/o6\"; exporter = \"http://127.0.0.1:%d/batch\"; },\n"     \
    "  { id = \"remote\"; exporter = \"http://10.0.3.7:9100/metrics\"; }\n"                        \
    " ); } );\n"

static siteconf_t *parse(const char *text)
{
    char err[512];
    siteconf_t *c = siteconf_parse(text, "hosts.conf", err, sizeof err);
    if (!c)
        fail_msg("%s", err);
    return c;
}

static siteconf_t *hosts_conf(int pm, int pa, int pb, int pc)
{
    char text[8192];
    snprintf(text, sizeof text, HOSTS_CONF, pm, pa, pa, pa, pb, pc, pa, pa, pa, pa);
    return parse(text);
}

/* Ground truth straight from the config, no sockets. */
static void test_host_truth(void **state)
{
    (void)state;
    siteconf_t *c = hosts_conf(1, 2, 3, 4);
    const sc_site_t *s = &c->sites[0];
    double noon = (double)at("2026-11-04T12:00:30");
    double ripple = 1.0 + 0.015 * sin(2.0 * M_PI * fmod(noon, 97.0) / 97.0);
    static const struct {
        const char *host, *when;
        double cpu, gpu, gpu_w; /* gpu_w < 0: the rig's 0.8 x 900 W x ripple */
        size_t gpus;
    } cases[] = {
        {"gpu07", "2026-11-04T10:00", 0, 0, 0, 6}, /* rig not there yet: idle GPUs */
        {"gpu07", "2026-11-04T12:00:30", 0, 1, -1, 6},
        {"gpu07", "2026-11-08T03:00", 0, 1, -1, 6}, /* mines day and night */
        {"pc1", "2026-11-04T10:00", 0, NAN, NAN, 0},
        {"pc1", "2026-11-04T20:00", 1, NAN, NAN, 0},
        {"pc1", "2026-11-07T12:00", 1, NAN, NAN, 0}, /* Saturday */
        {"node1", "2026-11-04T08:59:59", 0, 0, 0, 4},
        {"node1", "2026-11-04T09:00", 0, 1, 1280, 4},
        {"node1", "2026-11-05T17:00", 0, 0, 0, 4},
        {"cpuonly", "2026-11-04T10:00", 1, NAN, NAN, 0}, /* no DCGM: the rig shows on the CPU */
        {"idle", "2026-11-04T10:00", 0, 0, 0, 1},
        /* Jobs one after another use the same GPUs, or the same CPUs: each shows it whole. */
        {"node1", "2026-11-06T10:00", 0, 1, 1280, 4},
        {"node1", "2026-11-06T08:00", 0, 0, 0, 4},
        {"batch", "2026-11-04T10:00", 1, NAN, NAN, 0},
        {"batch", "2026-11-04T13:00", 0, NAN, NAN, 0},
        {"batch", "2026-11-04T15:00", 1, NAN, NAN, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sim_host_load_t hl;
        double t = (double)at(cases[i].when);
        double want_w = cases[i].gpu_w < 0 ? 0.8 * 900.0 * ripple : cases[i].gpu_w;
        if (cases[i].gpu_w < 0)
            want_w = 0.8 * 900.0 * (1.0 + 0.015 * sin(2.0 * M_PI * fmod(t, 97.0) / 97.0));
        assert_int_equal(sim_host_load(s, cases[i].host, t, &hl), 0);
        if (fabs(hl.cpu - cases[i].cpu) > 1e-9 || hl.n_gpus != cases[i].gpus ||
            isnan(hl.gpu) != isnan(cases[i].gpu) ||
            (!isnan(hl.gpu) &&
             (fabs(hl.gpu - cases[i].gpu) > 1e-9 || fabs(hl.gpu_w - want_w) > 1e-6)))
            fail_msg("case %zu (%s at %s): cpu %g gpu %g %g W on %zu, want %g %g %g W on %zu", i,
                     cases[i].host, cases[i].when, hl.cpu, hl.gpu, hl.gpu_w, hl.n_gpus,
                     cases[i].cpu, cases[i].gpu, want_w, cases[i].gpus);
    }
    {
        sim_host_load_t hl;
        errno = 0;
        assert_int_equal(sim_host_load(s, "nobody", noon, &hl), -1);
        assert_int_equal(errno, ENOENT);
    }
    /* The counters' busy fraction between two scrapes is the mean utilisation, integrated on
     * the 10 s grid: a step at 19:00 (or 07:00) is a ramp over the 10 s before it. */
    static const struct {
        const char *host, *from, *to;
        double busy;
    } spans[] = {
        {"pc1", "2026-11-04T10:00", "2026-11-04T10:10", 0},
        {"pc1", "2026-11-04T20:00", "2026-11-04T20:10", 1},
        {"pc1", "2026-11-04T18:55", "2026-11-04T19:05", 305.0 / 600.0},
        /* up 5 s early at 19:00, down 5 s early at 07:00: 12 h all the same */
        {"pc1", "2026-11-04T18:00", "2026-11-05T09:00", 12.0 / 15.0},
        {"cpuonly", "2026-11-04T10:00", "2026-11-06T10:00", 1},
        {"gpu07", "2026-11-04T10:00", "2026-11-04T14:00", 0}, /* its rig is on the GPUs */
    };
    for (size_t i = 0; i < sizeof spans / sizeof spans[0]; i++) {
        double b =
            sim_host_cpu_busy(s, spans[i].host, (double)at(spans[i].from), (double)at(spans[i].to));
        if (fabs(b - spans[i].busy) > 1e-9)
            fail_msg("span %zu (%s %s..%s): busy %.9f, want %.9f", i, spans[i].host, spans[i].from,
                     spans[i].to, b, spans[i].busy);
    }
    assert_true(isnan(sim_host_cpu_busy(s, "idle", noon, noon))); /* no span */
    siteconf_free(c);
}

/* Counters integrated in pieces equal one integration over the whole span (the grid is fixed in
 * absolute time), whatever the scrape times. */
static void test_counters_incremental(void **state)
{
    (void)state;
    siteconf_t *c = hosts_conf(1, 2, 3, 4);
    const sc_site_t *s = &c->sites[0];
    const sc_host_t *pc = &s->hosts[1];
    double t0 = (double)at("2026-11-04T17:00") + 0.3, t1 = t0 + 3 * 86400.0;
    sim_host_t whole, parts;
    char err[128];
    uint64_t rng = 7;
    assert_int_equal(sim_host_init(&whole, s, pc, t0, err, sizeof err), 0);
    assert_int_equal(sim_host_init(&parts, s, pc, t0, err, sizeof err), 0);
    sim_host_advance(&whole, t1);
    for (double t = t0; t < t1;) {
        t += 1.0 + 900.0 * sim_unit(sim_next64(&rng));
        sim_host_advance(&parts, t < t1 ? t : t1);
        sim_host_advance(&parts, t - 500.0); /* earlier: nothing moves */
    }
    assert_true(fabs(whole.busy_s - parts.busy_s) < 1e-6);
    assert_true(fabs(whole.idle_s - parts.idle_s) < 1e-6);
    assert_true(fabs(whole.busy_s + whole.idle_s - (t1 - t0)) < 1e-6);
    siteconf_free(c);
}

static void test_url(void **state)
{
    (void)state;
    static const struct {
        const char *url;
        int want;
        const char *addr;
        int port;
        const char *path;
    } cases[] = {
        {"http://127.0.0.1:9100/metrics", 1, "127.0.0.1", 9100, "/metrics"},
        {"http://localhost:9400/a/b?x=1", 1, "127.0.0.1", 9400, "/a/b"},
        {"http://127.0.0.2:1", 1, "127.0.0.2", 1, "/"},
        {"http://127.0.0.1/metrics", 1, "127.0.0.1", 80, "/metrics"},
        {"http://10.0.3.7:9100/metrics", 0, "", 0, ""},
        {"http://gpu07.lab:9100/metrics", 0, "", 0, ""},
        {"http://127.0.0.1:70000/m", -1, "", 0, ""},
        {"http://127.0.0.1:x/m", -1, "", 0, ""},
        {"http://:9100/m", -1, "", 0, ""},
        {"https://127.0.0.1:9100/m", -1, "", 0, ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char addr[64] = "", path[256] = "";
        int port = 0, r = sim_http_url(cases[i].url, addr, sizeof addr, &port, path, sizeof path);
        if (r != cases[i].want ||
            (r == 1 &&
             (strcmp(addr, cases[i].addr) || port != cases[i].port || strcmp(path, cases[i].path))))
            fail_msg("case %zu (%s): %d %s %d %s", i, cases[i].url, r, addr, port, path);
    }
}

/* ---- the simulator, served ---------------------------------------------------------------- */

struct server {
    siteconf_t *cfg;
    profile_set_t *ps;
    wa_clock_t *clock_w, *clock_r;
    wa_log_t log;
    sim_opts_t o;
    sim_stats_t st;
    volatile sig_atomic_t stop;
    pthread_t tid;
    _Atomic int done;
    int rc, err_no;
    int pm, pa, pb, pc; /* Modbus and the three exporter ports */
    char err[512], ready[300], clock_path[300];
};

static void *server_main(void *arg)
{
    struct server *s = arg;
    s->rc = sim_run(s->cfg, s->ps, &s->o, &s->st, s->err, sizeof s->err);
    s->err_no = errno;
    s->done = 1;
    return NULL;
}

/* A port the kernel has just handed out and taken back: free unless someone races us, and
 * server_start retries then. */
static int free_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0), port;
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    port = ntohs(a.sin_port);
    close(fd);
    return port;
}

static profile_set_t *load_profiles(void)
{
    const char *dirs[] = {WA_SOURCE_PROFILE_DIR};
    char err[512];
    profile_set_t *ps = profile_set_load(dirs, 1, err, sizeof err);
    if (!ps)
        fail_msg("%s", err);
    return ps;
}

static void server_start(struct server *s, double t0, const wa_clock_t *real)
{
    memset(s, 0, sizeof *s);
    snprintf(s->clock_path, sizeof s->clock_path, "%s/clock", hosts_dir);
    snprintf(s->ready, sizeof s->ready, "%s/ready", hosts_dir);
    if (!real) {
        s->clock_w = wa_clock_create_stepped(s->clock_path, (int64_t)t0);
        assert_non_null(s->clock_w);
        assert_int_equal(wa_clock_set(s->clock_w, t0), 0);
        s->clock_r = wa_clock_open(s->clock_path);
        assert_non_null(s->clock_r);
    }
    s->ps = load_profiles();
    for (int attempt = 0; attempt < 20; attempt++) {
        s->pm = free_port();
        s->pa = free_port();
        s->pb = free_port();
        s->pc = free_port();
        s->cfg = hosts_conf(s->pm, s->pa, s->pb, s->pc);
        s->log = (wa_log_t){stderr, WA_LOG_WARN};
        s->o.log = &s->log;
        s->o.clock = real ? real : s->clock_r;
        s->o.energy_origin = t0;
        s->o.stop = &s->stop;
        s->o.ready_file = s->ready;
        s->stop = 0;
        s->done = 0;
        unlink(s->ready);
        assert_int_equal(pthread_create(&s->tid, NULL, server_main, s), 0);
        for (int i = 0; i < 500 && access(s->ready, F_OK) != 0 && !s->done; i++)
            usleep(10000);
        if (access(s->ready, F_OK) == 0)
            return;
        s->stop = 1;
        pthread_join(s->tid, NULL);
        siteconf_free(s->cfg);
        s->cfg = NULL;
        if (s->err_no != EADDRINUSE)
            fail_msg("simulator did not start: %s", s->err);
    }
    fail_msg("no free ports");
}

static void server_stop(struct server *s)
{
    s->stop = 1;
    pthread_join(s->tid, NULL);
    if (s->rc != 0)
        fail_msg("sim_run: %s", s->err);
    assert_int_equal(access(s->ready, F_OK), -1);
    siteconf_free(s->cfg);
    profile_set_free(s->ps);
    wa_clock_close(s->clock_r);
    wa_clock_close(s->clock_w);
}

static void set_clock(struct server *s, const char *local)
{
    assert_int_equal(wa_clock_set(s->clock_w, (double)at(local)), 0);
}

static prom_set_t *scrape(const char *url)
{
    char err[512], *body = NULL;
    size_t len = 0;
    prom_set_t *set;
    if (prom_scrape(url, 3000, 0, &body, &len, err, sizeof err) != 0)
        fail_msg("%s", err);
    set = prom_parse(body, len, url, err, sizeof err);
    free(body);
    if (!set)
        fail_msg("%s", err);
    return set;
}

static void url_of(const struct server *s, char *out, size_t n, int port, const char *path)
{
    snprintf(out, n, "http://127.0.0.1:%d%s", port, path);
}

/* Busy fraction between two node_exporter scrapes, as the collector computes it. */
static double busy_between(const prom_set_t *a, const prom_set_t *b)
{
    double t0, i0, t1, i1;
    assert_int_equal(prom_cpu_seconds(a, &t0, &i0), 0);
    assert_int_equal(prom_cpu_seconds(b, &t1, &i1), 0);
    return prom_cpu_busy(t0, i0, t1, i1);
}

/* One node_exporter's samples: 4 CPUs x 8 modes of node_cpu_seconds_total, and node_load1. */
static void check_node_shape(const prom_set_t *set)
{
    size_t cpu = 0;
    for (size_t i = 0; i < prom_set_count(set); i++) {
        const prom_sample_t *m = prom_set_sample(set, i);
        if (strcmp(m->name, "node_cpu_seconds_total") == 0) {
            assert_non_null(prom_sample_label(m, "cpu"));
            assert_non_null(prom_sample_label(m, "mode"));
            assert_true(m->value >= 0);
            cpu++;
        }
    }
    assert_int_equal(cpu, SIM_HOST_CPUS * 8);
}

/* Reads a channel's power from the simulated PDU over Modbus, as the collector would. */
static double modbus_power(const struct server *s, const char *channel)
{
    const profile_t *p = profile_set_find(s->ps, "netio-powerpdu-8ks");
    modbus_t *ctx = modbus_new_tcp("127.0.0.1", s->pm);
    uint16_t w[4];
    double v = NAN;
    assert_non_null(p);
    assert_non_null(ctx);
    assert_int_equal(modbus_connect(ctx), 0);
    modbus_set_slave(ctx, 1);
    modbus_set_response_timeout(ctx, 2, 0);
    for (size_t i = 0; i < p->n_regs; i++) {
        const profile_reg_t *r = &p->regs[i];
        if (r->quantity != Q_POWER || strcmp(r->channel, channel) != 0)
            continue;
        int n = (int)profile_type_words(r->type);
        int rc = r->fn == PROFILE_FN_INPUT ? modbus_read_input_registers(ctx, r->address, n, w)
                                           : modbus_read_registers(ctx, r->address, n, w);
        assert_int_equal(rc, n);
        assert_int_equal(profile_decode(r, w, 0, &v), 0);
    }
    modbus_close(ctx);
    modbus_free(ctx);
    return v;
}

static void test_exporters(void **state)
{
    (void)state;
    struct server s;
    char gpu07[128], gpu07_dcgm[128], pc1[128], cpuonly[128], node1[128], node1_gpu[128],
        idle_gpu[128], line[512];
    prom_set_t *a, *b;
    double sum, mean, busy;
    size_t n;
    FILE *f;
    int http_lines = 0;

    server_start(&s, (double)at("2026-11-04T10:00"), NULL);
    url_of(&s, gpu07, sizeof gpu07, s.pa, "/gpu07/metrics");
    url_of(&s, gpu07_dcgm, sizeof gpu07_dcgm, s.pa, "/gpu07/dcgm");
    url_of(&s, pc1, sizeof pc1, s.pa, "/pc1");
    url_of(&s, cpuonly, sizeof cpuonly, s.pa, "/cpuonly");
    url_of(&s, node1, sizeof node1, s.pb, "/metrics");
    url_of(&s, node1_gpu, sizeof node1_gpu, s.pc, "/metrics");
    url_of(&s, idle_gpu, sizeof idle_gpu, s.pa, "/idle-gpu");

    /* The ready file names every exporter served, and not the remote one. */
    assert_non_null(f = fopen(s.ready, "r"));
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "http ", 5) == 0)
            http_lines++;
        assert_null(strstr(line, "remote"));
    }
    fclose(f);
    assert_int_equal(http_lines, 9);

    /* 10:00 to 10:10 on a Wednesday: the office PC is not mining; the CPU-only rig host is. */
    {
        prom_set_t *pa0 = scrape(pc1), *ca0 = scrape(cpuonly), *ga0 = scrape(gpu07);
        check_node_shape(pa0);
        set_clock(&s, "2026-11-04T10:10");
        prom_set_t *pa1 = scrape(pc1), *ca1 = scrape(cpuonly), *ga1 = scrape(gpu07);
        assert_true(fabs(busy_between(pa0, pa1)) < 1e-3);
        assert_true(fabs(busy_between(ca0, ca1) - 1.0) < 1e-3);
        assert_true(fabs(busy_between(ga0, ga1)) < 1e-3);
        prom_set_free(pa0);
        prom_set_free(pa1);
        prom_set_free(ca0);
        prom_set_free(ca1);
        prom_set_free(ga0);
        prom_set_free(ga1);
    }
    /* Across the miner's start at 19:00, and at night: as the model and sim_host_cpu_busy. */
    static const struct {
        const char *from, *to;
        double busy;
    } spans[] = {
        {"2026-11-04T18:55", "2026-11-04T19:05", 305.0 / 600.0},
        {"2026-11-04T20:00", "2026-11-04T20:01", 1.0},
        {"2026-11-05T06:59", "2026-11-05T07:01", 55.0 / 120.0}, /* off at 07:00 */
    };
    for (size_t i = 0; i < sizeof spans / sizeof spans[0]; i++) {
        set_clock(&s, spans[i].from);
        a = scrape(pc1);
        set_clock(&s, spans[i].to);
        b = scrape(pc1);
        busy = busy_between(a, b);
        double truth = sim_host_cpu_busy(&s.cfg->sites[0], "pc1", (double)at(spans[i].from),
                                         (double)at(spans[i].to));
        /* Two decimals per counter, as node_exporter prints them. */
        if (fabs(busy - spans[i].busy) > 2e-3 || fabs(truth - spans[i].busy) > 1e-9)
            fail_msg("span %zu: scraped %.6f, truth %.6f, want %.6f", i, busy, truth,
                     spans[i].busy);
        prom_set_free(a);
        prom_set_free(b);
    }

    /* GPUs: gpu07's rig starts at 12:00 on 6 GPUs at 100%, board power 0.8 x the rig's. */
    set_clock(&s, "2026-11-05T11:59:50");
    a = scrape(gpu07_dcgm);
    assert_int_equal(prom_gauge(a, "DCGM_FI_DEV_GPU_UTIL", "UUID", &sum, &mean, &n), 0);
    assert_int_equal(n, 6);
    assert_true(mean == 100.0); /* the rig has run since yesterday noon */
    prom_set_free(a);
    {
        /* A fresh simulator for the onset: the rig is not there before 12:00 on day one. */
        server_stop(&s);
        server_start(&s, (double)at("2026-11-04T11:59:50"), NULL);
        url_of(&s, gpu07_dcgm, sizeof gpu07_dcgm, s.pa, "/gpu07/dcgm");
        url_of(&s, node1_gpu, sizeof node1_gpu, s.pc, "/metrics");
        url_of(&s, idle_gpu, sizeof idle_gpu, s.pa, "/idle-gpu");
        url_of(&s, gpu07, sizeof gpu07, s.pa, "/gpu07/metrics");
    }
    a = scrape(gpu07_dcgm);
    assert_int_equal(prom_gauge(a, "DCGM_FI_DEV_GPU_UTIL", "UUID", &sum, &mean, &n), 0);
    assert_true(n == 6 && mean == 0.0);
    assert_int_equal(prom_gauge(a, "DCGM_FI_DEV_POWER_USAGE", "UUID", &sum, &mean, &n), 0);
    assert_true(sum == 0.0);
    prom_set_free(a);
    static const char *const times[] = {"2026-11-04T12:00", "2026-11-04T12:00:31",
                                        "2026-11-04T12:01:17", "2026-11-04T15:42:05"};
    for (size_t i = 0; i < sizeof times / sizeof times[0]; i++) {
        double t = (double)at(times[i]);
        double rig = 900.0 * (1.0 + 0.015 * sin(2.0 * M_PI * fmod(t, 97.0) / 97.0));
        sim_host_load_t hl;
        set_clock(&s, times[i]);
        a = scrape(gpu07_dcgm);
        assert_int_equal(prom_gauge(a, "DCGM_FI_DEV_GPU_UTIL", "UUID", &sum, &mean, &n), 0);
        assert_true(n == 6 && mean == 100.0);
        assert_int_equal(prom_gauge(a, "DCGM_FI_DEV_POWER_USAGE", "UUID", &sum, &mean, &n), 0);
        assert_int_equal(sim_host_load(&s.cfg->sites[0], "gpu07", t, &hl), 0);
        if (fabs(sum - 0.8 * rig) > 1e-3 || fabs(sum - hl.gpu_w) > 1e-3)
            fail_msg("%s: GPU power %.6f, want %.6f", times[i], sum, 0.8 * rig);
        /* The outlet's power over Modbus at the same instant: the host's idle 180 W plus the
         * rig, which is what the GPUs' share says (whole watts on this PDU). */
        double p = modbus_power(&s, "outlet1");
        if (fabs(p - (180.0 + sum / 0.8)) > 1.0)
            fail_msg("%s: outlet %.1f W, host says 180 + %.1f W", times[i], p, sum / 0.8);
        /* Labels as dcgm-exporter has them; a GPU keeps its UUID from scrape to scrape. */
        for (size_t k = 0; k < prom_set_count(a); k++) {
            const prom_sample_t *m = prom_set_sample(a, k);
            assert_non_null(prom_sample_label(m, "gpu"));
            assert_non_null(prom_sample_label(m, "UUID"));
            assert_string_equal(prom_sample_label(m, "Hostname"), "gpu07");
        }
        prom_set_free(a);
    }
    /* The research node's 4 GPUs while its job runs, and a DCGM host with no GPU load. */
    a = scrape(node1_gpu);
    assert_int_equal(prom_gauge(a, "DCGM_FI_DEV_GPU_UTIL", "UUID", &sum, &mean, &n), 0);
    assert_true(n == 4 && mean == 100.0);
    assert_int_equal(prom_gauge(a, "DCGM_FI_DEV_POWER_USAGE", "UUID", &sum, &mean, &n), 0);
    assert_true(fabs(sum - 1280.0) < 1e-6);
    prom_set_free(a);
    a = scrape(idle_gpu);
    assert_int_equal(prom_gauge(a, "DCGM_FI_DEV_GPU_UTIL", "UUID", &sum, &mean, &n), 0);
    assert_true(n == 1 && mean == 0.0);
    prom_set_free(a);
    /* meters/prom's reading of a whole host. */
    {
        prom_load_t pl;
        a = scrape(gpu07);
        prom_load_read(a, "node_load1", &pl);
        assert_true(pl.cpu_total > 0 && isnan(pl.gpu_util) && pl.gauge == 0.0);
        prom_set_free(a);
    }
    server_stop(&s);
    assert_true(s.st.http_requests > 5); /* the second simulator's */
    assert_int_equal(s.st.http_errors, 0);
}

/* Sends raw bytes, reads the whole answer until the server closes. */
static size_t raw(int port, const char *req, size_t len, char *out, size_t n)
{
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    struct timeval tv = {3, 0};
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    size_t got = 0;
    assert_true(fd >= 0);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    if (len)
        assert_int_equal(send(fd, req, len, MSG_NOSIGNAL), (ssize_t)len);
    for (;;) {
        ssize_t r = recv(fd, out + got, n - 1 - got, 0);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    out[got] = '\0';
    close(fd);
    return got;
}

static void test_http_raw(void **state)
{
    (void)state;
    struct server s;
    static char big[12000];
    char out[16384], url[128];
    static const struct {
        const char *req, *status;
    } cases[] = {
        {"GET /pc1 HTTP/1.0\r\n\r\n", "HTTP/1.0 200 OK\r\n"},
        {"GET /pc1 HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\n", "HTTP/1.0 200 OK\r\n"},
        {"GET /pc1?debug=1 HTTP/1.1\nHost: x\n\n", "HTTP/1.0 200 OK\r\n"}, /* bare LF */
        {"GET http://127.0.0.1/pc1 HTTP/1.1\r\n\r\n", "HTTP/1.0 200 OK\r\n"},
        {"GET /pc1 HTTP/1.0\r\n\r\nleftover bytes", "HTTP/1.0 200 OK\r\n"},
        {"GET /nothing HTTP/1.0\r\n\r\n", "HTTP/1.0 404 Not Found\r\n"},
        {"GET /metrics HTTP/1.0\r\n\r\n", "HTTP/1.0 404 Not Found\r\n"}, /* another listener's */
        {"POST /pc1 HTTP/1.0\r\nContent-Length: 3\r\n\r\nabc", "HTTP/1.0 405 Method Not Allowed"},
        {"HEAD /pc1 HTTP/1.0\r\n\r\n", "HTTP/1.0 405 Method Not Allowed"},
        {"GET /pc1\r\n\r\n", "HTTP/1.0 400 Bad Request"},
        {"GET /pc1 SPDY/3\r\n\r\n", "HTTP/1.0 400 Bad Request"},
        {"GET  /pc1 HTTP/1.0\r\n\r\n", "HTTP/1.0 400 Bad Request"},
        {"\r\n\r\n", "HTTP/1.0 400 Bad Request"},
    };
    server_start(&s, (double)at("2026-11-04T20:00"), NULL);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        raw(s.pa, cases[i].req, strlen(cases[i].req), out, sizeof out);
        if (strncmp(out, cases[i].status, strlen(cases[i].status)) != 0)
            fail_msg("case %zu: answered \"%.60s\", want \"%s\"", i, out, cases[i].status);
        assert_non_null(strstr(out, "Connection: close\r\n"));
        if (strstr(cases[i].status, "405"))
            assert_non_null(strstr(out, "Allow: GET\r\n"));
        if (strstr(cases[i].status, "200")) {
            const char *body = strstr(out, "\r\n\r\n") + 4;
            size_t clen = 0;
            assert_non_null(strstr(out, "Content-Type: text/plain; version=0.0.4"));
            assert_int_equal(sscanf(strstr(out, "Content-Length: "), "Content-Length: %zu", &clen),
                             1);
            assert_int_equal(strlen(body), clen);
        }
    }
    /* A head that never ends within the bound: 431, not a growing buffer. */
    memcpy(big, "GET /pc1 HTTP/1.0\r\n", 19);
    for (size_t i = 19; i + 12 <= sizeof big; i += 12)
        memcpy(big + i, "X-Pad: abc\r\n", 12);
    raw(s.pa, big, SIM_HTTP_HEAD_MAX + 100, out, sizeof out);
    assert_non_null(strstr(out, "431 Request Header Fields Too Large"));
    /* A NUL in the head. */
    raw(s.pa, "GET /pc1\0 HTTP/1.0\r\n\r\n", 22, out, sizeof out);
    assert_non_null(strstr(out, "400 Bad Request"));
    /* A client that connects and says nothing, or half a request, holds nobody up. */
    {
        struct sockaddr_in a = {.sin_family = AF_INET,
                                .sin_port = htons((uint16_t)s.pa),
                                .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        int idle = socket(AF_INET, SOCK_STREAM, 0), half = socket(AF_INET, SOCK_STREAM, 0);
        struct timespec t0, t1;
        assert_int_equal(connect(idle, (struct sockaddr *)&a, sizeof a), 0);
        assert_int_equal(connect(half, (struct sockaddr *)&a, sizeof a), 0);
        assert_int_equal(send(half, "GET /pc1 HT", 11, MSG_NOSIGNAL), 11);
        clock_gettime(CLOCK_MONOTONIC, &t0);
        url_of(&s, url, sizeof url, s.pa, "/pc1");
        prom_set_free(scrape(url));
        clock_gettime(CLOCK_MONOTONIC, &t1);
        assert_true((double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9 <
                    1.0);
        /* The half request completes later and is answered. */
        assert_int_equal(send(half, "TP/1.0\r\n\r\n", 10, MSG_NOSIGNAL), 10);
        {
            size_t got = 0;
            struct timeval tv = {3, 0};
            setsockopt(half, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
            for (ssize_t r; (r = recv(half, out + got, sizeof out - 1 - got, 0)) > 0;)
                got += (size_t)r;
            out[got] = '\0';
            assert_non_null(strstr(out, "HTTP/1.0 200 OK"));
        }
        close(idle);
        close(half);
    }
    /* Many scrapes in a row, each on its own connection. */
    for (int i = 0; i < 200; i++) {
        url_of(&s, url, sizeof url, s.pa, i % 2 ? "/pc1" : "/gpu07/dcgm");
        prom_set_free(scrape(url));
    }
    server_stop(&s);
    assert_true(s.st.http_errors >= 10);
}

/* Two hosts' exporters at one URL: the simulator cannot serve both and says which. */
static void test_refused(void **state)
{
    (void)state;
    char text[2048], err[512], words[256];
    int port = free_port();
    snprintf(text, sizeof text,
             "sites = ( { id = \"s\"; buses = ( { id = \"gw\"; tcp = \"127.0.0.1:%d\";\n"
             " devices = ( { id = \"pdu\"; unit = 1; profile = \"netio-powerpdu-8ks\"; } ); } );\n"
             " hosts = (\n"
             "  { id = \"a\"; exporter = \"http://127.0.0.1:%d/m\"; },\n"
             "  { id = \"b\"; gpu_exporter = \"http://localhost:%d/m\"; } ); } );\n",
             free_port(), port, port);
    siteconf_t *c = siteconf_parse(text, "hosts.conf", err, sizeof err);
    if (!c)
        fail_msg("%s", err);
    profile_set_t *ps = load_profiles();
    volatile sig_atomic_t stop = 1;
    wa_log_t log = {stderr, WA_LOG_ERROR};
    sim_opts_t o = {.log = &log, .stop = &stop};
    errno = 0;
    assert_int_equal(sim_run(c, ps, &o, NULL, err, sizeof err), -1);
    assert_int_equal(errno, WA_ECONFIG);
    snprintf(words, sizeof words,
             "hosts.conf:5: host b: http://localhost:%d/m is also host a's node exporter (line 4)",
             port);
    if (!strstr(err, words))
        fail_msg("\"%s\" lacks \"%s\"", err, words);
    profile_set_free(ps);
    siteconf_free(c);
}

/* ---- a real Prometheus server --------------------------------------------------------------- */

/* Asks Prometheus's HTTP API for an instant query; returns the parsed JSON's result array
 * owner (the caller frees), or NULL while it has none. */
static cJSON *prom_query(int port, const char *q)
{
    char url[512], err[256], *body = NULL;
    size_t len;
    cJSON *j, *res;
    snprintf(url, sizeof url, "http://127.0.0.1:%d/api/v1/query?query=%s", port, q);
    if (prom_scrape(url, 2000, 0, &body, &len, err, sizeof err) != 0)
        return NULL;
    j = cJSON_Parse(body);
    free(body);
    res = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "data"), "result");
    if (!cJSON_IsArray(res) || cJSON_GetArraySize(res) == 0) {
        cJSON_Delete(j);
        return NULL;
    }
    return j;
}

static double first_value(const cJSON *j)
{
    const cJSON *r =
        cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "data"), "result"), 0);
    const cJSON *v = cJSON_GetArrayItem(cJSON_GetObjectItem(r, "value"), 1);
    return cJSON_IsString(v) ? strtod(v->valuestring, NULL) : NAN;
}

static void test_prometheus(void **state)
{
    (void)state;
    struct server s;
    char conf[512], data[512], listen[64], cmd[1024];
    static const char *const queries[] = {
        /* Every target up: Prometheus read both exporters' text. */
        "min(up)",
        "count(up)",
        /* gpu07's 6 GPUs at 100% since noon; node1's 4. */
        "avg(DCGM_FI_DEV_GPU_UTIL%7BHostname%3D%22gpu07%22%7D)",
        "count(DCGM_FI_DEV_GPU_UTIL)",
        "count(node_cpu_seconds_total)",
    };
    const double want[] = {1, 6, 100, 6 + 4 + 1, 3 * SIM_HOST_CPUS * 8};
    wa_clock_t *real = wa_clock_real();
    FILE *f;
    pid_t pid;
    int port, ok = 0, st;
    double got[5];

    if (access("/usr/bin/prometheus", X_OK) != 0) {
        print_message("no /usr/bin/prometheus (Debian package prometheus): skipped\n");
        skip();
    }
    server_start(&s, wa_clock_now(real), real);
    /* promtool reads what a scrape returned.  Its only complaints may be the ones it has about
     * the real dcgm-exporter too: the camelCase labels UUID, modelName, Hostname. */
    if (access("/usr/bin/promtool", X_OK) == 0 && access("/usr/bin/curl", X_OK) == 0) {
        static const char *const paths[] = {"/gpu07/dcgm", "/pc1", "/idle-gpu"};
        for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
            char line[512];
            FILE *p;
            int rc;
            snprintf(cmd, sizeof cmd,
                     "curl -sf http://127.0.0.1:%d%s | promtool check metrics 2>&1", s.pa,
                     paths[i]);
            assert_non_null(p = popen(cmd, "r"));
            while (fgets(line, sizeof line, p))
                if (!strstr(line, "should be written in 'snake_case' not 'camelCase'"))
                    fail_msg("promtool on %s: %s", paths[i], line);
            rc = pclose(p);
            /* promtool: 0 clean, 3 lint findings only, 1 an error. */
            assert_true(WIFEXITED(rc) && (WEXITSTATUS(rc) == 0 || WEXITSTATUS(rc) == 3));
        }
    }

    snprintf(conf, sizeof conf, "%s/prometheus.yml", hosts_dir);
    snprintf(data, sizeof data, "%s/tsdb", hosts_dir);
    assert_non_null(f = fopen(conf, "w"));
    fprintf(f,
            "global: { scrape_interval: 1s, scrape_timeout: 1s }\n"
            "scrape_configs:\n"
            "  - job_name: node\n"
            "    static_configs: [ { targets: [ '127.0.0.1:%d', '127.0.0.1:%d' ] } ]\n"
            "    metrics_path: /metrics\n"
            "  - job_name: hosts\n"
            "    metrics_path: /gpu07/metrics\n"
            "    static_configs: [ { targets: [ '127.0.0.1:%d' ] } ]\n"
            "  - job_name: pc1\n"
            "    metrics_path: /pc1\n"
            "    static_configs: [ { targets: [ '127.0.0.1:%d' ] } ]\n"
            "  - job_name: gpu07-dcgm\n"
            "    metrics_path: /gpu07/dcgm\n"
            "    static_configs: [ { targets: [ '127.0.0.1:%d' ] } ]\n"
            "  - job_name: idle\n"
            "    metrics_path: /idle-gpu\n"
            "    static_configs: [ { targets: [ '127.0.0.1:%d' ] } ]\n",
            s.pb, s.pc, s.pa, s.pa, s.pa, s.pa);
    fclose(f);
    /* node1's node and DCGM text are both at /metrics, on two listeners: one job. */
    port = free_port();
    snprintf(listen, sizeof listen, "--web.listen-address=127.0.0.1:%d", port);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        char tsdb[600], cfg[600];
        int devnull = open("/dev/null", O_WRONLY);
        snprintf(tsdb, sizeof tsdb, "--storage.tsdb.path=%s", data);
        snprintf(cfg, sizeof cfg, "--config.file=%s", conf);
        dup2(devnull, 1);
        dup2(devnull, 2);
        execl("/usr/bin/prometheus", "prometheus", cfg, tsdb, listen, "--log.level=error",
              (char *)NULL);
        _exit(127);
    }
    /* Up to 30 s for it to start and scrape everything at least once. */
    for (int i = 0; i < 300 && !ok; i++) {
        ok = 1;
        for (size_t q = 0; q < sizeof queries / sizeof queries[0]; q++) {
            cJSON *j = prom_query(port, queries[q]);
            got[q] = j ? first_value(j) : NAN;
            cJSON_Delete(j);
            if (got[q] != want[q])
                ok = 0;
        }
        if (!ok)
            usleep(100000);
    }
    kill(pid, SIGTERM);
    assert_int_equal(waitpid(pid, &st, 0), pid);
    server_stop(&s);
    wa_clock_close(real);
    if (!ok)
        fail_msg("Prometheus: up %g, targets %g, gpu07 util %g, GPUs %g, CPU series %g", got[0],
                 got[1], got[2], got[3], got[4]);
}

static int setup(void **state)
{
    (void)state;
    snprintf(hosts_dir, sizeof hosts_dir, "/tmp/wa-sim-hosts-XXXXXX");
    return mkdtemp(hosts_dir) ? 0 : -1;
}

static int teardown(void **state)
{
    char cmd[400];
    (void)state;
    snprintf(cmd, sizeof cmd, "rm -rf -- '%s'", hosts_dir);
    return system(cmd) == 0 ? 0 : -1;
}

int sim_hosts_main(const char *group)
{
    const struct CMUnitTest hosts[] = {
        cmocka_unit_test(test_load_util),
        cmocka_unit_test(test_host_truth),
        cmocka_unit_test(test_counters_incremental),
        cmocka_unit_test(test_url),
        cmocka_unit_test(test_exporters),
        cmocka_unit_test(test_http_raw),
        cmocka_unit_test(test_refused),
    };
    const struct CMUnitTest prometheus[] = {
        cmocka_unit_test(test_prometheus),
    };
    if (strcmp(group, "prometheus") == 0)
        return cmocka_run_group_tests_name("sim_prometheus", prometheus, setup, teardown);
    return cmocka_run_group_tests_name("sim_hosts", hosts, setup, teardown);
}
