/*
 * collect scraping hosts' exporters: the collector, run for real, against the real
 * prometheus-node-exporter (Debian) and a small HTTP server in this test that serves DCGM
 * exporter text (recorded in dcgm-exporter issues #250 and #317, tests/meters/prom/), beside a
 * Modbus meter of the simulator.  The host files are read back with storage_fetch.
 *
 *   real time     real node_exporter, recorded DCGM pages, a refused port, a page that does
 *                 not parse, an exporter that never answers; the meter keeps its polls
 *   stepped time  the test's server reads the collector's clock and serves counters that are
 *                 functions of it, so every stored value shows the time it was scraped at
 *   simulator     stepped, against the simulator's own exporters, compared with its ground
 *                 truth (sim_host_cpu_busy, sim_host_load)
 *
 * Loopback only: the exporters on kernel-chosen ports, the simulator on 29100-29199.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "meters/collect/collect.h"
#include "meters/prom/prom.h"
#include "tests/meters/collect/live.h"

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* 2026-11-02T00:00Z, a Monday: a multiple of every period below. */
#define T0 1793577600.0

/* ---- a small HTTP/1.0 server ---------------------------------------------------------------- */

/* A page's text for a path (malloc'd), NULL for a 404, or HANG to keep the connection open and
 * say nothing until the server stops. */
static char hang_mark;
#define HANG (&hang_mark)

typedef struct websrv websrv_t;
typedef char *(*page_fn)(websrv_t *w, const char *path);

struct websrv {
    int lfd, port;
    pthread_t th;
    atomic_int stop;
    page_fn page;
    wa_clock_t *clock; /* for pages that depend on the collector's clock */
    int hung[32];
    size_t n_hung;
    atomic_uint requests;
};

static int listen_any(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    if (fd < 0)
        return -1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, 16) < 0 ||
        getsockname(fd, (struct sockaddr *)&a, &al) < 0) {
        close(fd);
        return -1;
    }
    *port = ntohs(a.sin_port);
    return fd;
}

/* Reads a request's head; the path into path.  0, or -1. */
static int read_request(int fd, char *path, size_t len)
{
    char buf[2048];
    size_t n = 0;
    buf[0] = '\0';
    while (n < sizeof buf - 1 && !strstr(buf, "\r\n\r\n")) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        ssize_t r;
        if (poll(&p, 1, 2000) <= 0 || (r = recv(fd, buf + n, sizeof buf - 1 - n, 0)) <= 0)
            return -1;
        n += (size_t)r;
        buf[n] = '\0';
    }
    return sscanf(buf, "GET %1023s HTTP/1.", path) == 1 && strlen(path) < len ? 0 : -1;
}

static void send_all(int fd, const char *s, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
        if (w <= 0)
            return;
        s += w;
        n -= (size_t)w;
    }
}

static void *web_main(void *arg)
{
    websrv_t *w = arg;
    while (!atomic_load(&w->stop)) {
        struct pollfd p = {.fd = w->lfd, .events = POLLIN};
        char path[1024];
        if (poll(&p, 1, 50) <= 0)
            continue;
        int fd = accept(w->lfd, NULL, NULL);
        if (fd < 0)
            continue;
        if (read_request(fd, path, sizeof path) != 0) {
            close(fd);
            continue;
        }
        atomic_fetch_add(&w->requests, 1);
        char *body = w->page(w, path);
        if (body == HANG && w->n_hung < N_OF(w->hung)) {
            w->hung[w->n_hung++] = fd;
            continue;
        }
        if (body && body != HANG) {
            static const char head[] =
                "HTTP/1.0 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\n\r\n";
            send_all(fd, head, sizeof head - 1);
            send_all(fd, body, strlen(body));
            free(body);
        } else {
            static const char nf[] = "HTTP/1.0 404 Not Found\r\n\r\n";
            send_all(fd, nf, sizeof nf - 1);
        }
        close(fd);
    }
    for (size_t i = 0; i < w->n_hung; i++)
        close(w->hung[i]);
    return NULL;
}

static void web_start(websrv_t *w, page_fn page, wa_clock_t *clock)
{
    memset(w, 0, sizeof *w);
    w->page = page;
    w->clock = clock;
    w->lfd = listen_any(&w->port);
    assert_true(w->lfd >= 0);
    assert_int_equal(pthread_create(&w->th, NULL, web_main, w), 0);
}

static void web_stop(websrv_t *w)
{
    atomic_store(&w->stop, 1);
    pthread_join(w->th, NULL);
    close(w->lfd);
}

/* A loopback port nothing listens on: the kernel's pick, let go at once. */
static int refused_port(void)
{
    int port, fd = listen_any(&port);
    assert_true(fd >= 0);
    close(fd);
    return port;
}

/* ---- the real node_exporter (as tests/meters/prom/test_prom.c starts it) ------------------- */

static pid_t node_exporter_start(int *port, char *url, size_t len)
{
    char addr[64], err[256], *body = NULL;
    size_t n;
    int fd = listen_any(port), rc = -1;
    pid_t pid;
    if (system("command -v prometheus-node-exporter >/dev/null 2>&1") != 0)
        fail_msg("prometheus-node-exporter not installed (apt-get install "
                 "prometheus-node-exporter)");
    assert_true(fd >= 0);
    close(fd);
    snprintf(addr, sizeof addr, "--web.listen-address=127.0.0.1:%d", *port);
    snprintf(url, len, "http://127.0.0.1:%d/metrics", *port);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        if (null >= 0) {
            dup2(null, 1);
            dup2(null, 2);
        }
        execlp("prometheus-node-exporter", "prometheus-node-exporter", addr,
               "--collector.disable-defaults", "--collector.cpu", "--collector.loadavg",
               (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 100 && rc != 0; i++) { /* up to 5 s for it to listen */
        rc = prom_scrape(url, 1000, 0, &body, &n, err, sizeof err);
        if (rc != 0)
            usleep(50 * 1000);
    }
    free(body);
    if (rc != 0) {
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
        fail_msg("node_exporter did not answer: %s", err);
    }
    return pid;
}

static void node_exporter_stop(pid_t pid)
{
    int st;
    kill(pid, SIGTERM);
    assert_int_equal(waitpid(pid, &st, 0), pid);
}

/* ---- helpers --------------------------------------------------------------------------------- */

/* DIR/site.conf: body after a header naming DIR/status.json and DIR/data, with archives of a
 * day each, so that making the files costs little of a test's few seconds. */
static siteconf_t *config_small(const char *dir, const char *body)
{
    char path[256], err[1024], *text;
    size_t n = strlen(body) + 2 * strlen(dir) + 512;
    siteconf_t *cfg;
    FILE *f;
    text = malloc(n);
    assert_non_null(text);
    snprintf(text, n,
             "timezone = \"UTC\";\nstatus_file = \"%s/status.json\";\n"
             "storage = { data_dir = \"%s/data\"; full_days = 1; mid_days = 1; long_days = 1; "
             "};\n%s",
             dir, dir, body);
    snprintf(path, sizeof path, "%s/site.conf", dir);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    free(text);
    cfg = siteconf_load(path, err, sizeof err);
    if (!cfg)
        fail_msg("config: %s", err);
    return cfg;
}

static char *recorded(const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/meters/prom/%s", WA_SOURCE_DIR, name);
    char *text = read_text(path);
    if (!text)
        fail_msg("cannot read %s", path);
    return text;
}

static const collect_host_status_t *host_status(const collect_result_t *res, const char *id)
{
    for (size_t i = 0; i < res->n_hosts; i++)
        if (strcmp(res->hosts[i].host, id) == 0)
            return &res->hosts[i];
    fail_msg("no host %s in the result", id);
    return NULL;
}

/* Every known value of ds in host's file between from and to: how many, each checked by want
 * (NaN: every value must be unknown). */
static size_t check_host(const char *dir, const char *site, const char *host, const char *ds,
                         double from, double to, int step, double want, double tol)
{
    char rel[256];
    storage_series_t s;
    size_t known = 0;
    snprintf(rel, sizeof rel, "%s/hosts/%s", site, host);
    fetch(dir, rel, ds, from, to, step, &s);
    for (size_t i = 0; i < s.n; i++) {
        if (isnan(s.v[i]))
            continue;
        known++;
        if (isnan(want) || fabs(s.v[i] - want) > tol)
            fail_msg("%s %s at %lld: %.9g, want %.9g", host, ds,
                     (long long)(s.start + (int64_t)(i + 1) * s.step), s.v[i], want);
    }
    free(s.v);
    return known;
}

/* The status file's host entry by id. */
static const cJSON *status_host(const cJSON *root, const char *id)
{
    const cJSON *h;
    cJSON_ArrayForEach(h, cJSON_GetObjectItemCaseSensitive(root, "hosts"))
    {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(h, "host");
        if (cJSON_IsString(name) && strcmp(name->valuestring, id) == 0)
            return h;
    }
    fail_msg("no host %s in the status file", id);
    return NULL;
}

static double jnum(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

/* ---- real time ------------------------------------------------------------------------------ */

/* Two boards in DCGM's format, written for this test: utilisation 37 % and 81 %, board power
 * 250.5 W and 101.25 W; the second board's power repeated on a MIG instance's series (as in
 * issue #317), which must count once. */
static const char dcgm_two[] =
    "# HELP DCGM_FI_DEV_GPU_UTIL GPU utilization (in %).\n"
    "# TYPE DCGM_FI_DEV_GPU_UTIL gauge\n"
    "DCGM_FI_DEV_GPU_UTIL{gpu=\"0\",UUID=\"GPU-aaaa\",device=\"nvidia0\"} 37\n"
    "DCGM_FI_DEV_GPU_UTIL{gpu=\"1\",UUID=\"GPU-bbbb\",device=\"nvidia1\"} 81\n"
    "# HELP DCGM_FI_DEV_POWER_USAGE Power draw (in W).\n"
    "# TYPE DCGM_FI_DEV_POWER_USAGE gauge\n"
    "DCGM_FI_DEV_POWER_USAGE{gpu=\"0\",UUID=\"GPU-aaaa\",device=\"nvidia0\"} 250.5\n"
    "DCGM_FI_DEV_POWER_USAGE{gpu=\"1\",UUID=\"GPU-bbbb\",device=\"nvidia1\",GPU_I_ID=\"1\"} "
    "101.25\n"
    "DCGM_FI_DEV_POWER_USAGE{gpu=\"1\",UUID=\"GPU-bbbb\",device=\"nvidia1\",GPU_I_ID=\"2\"} "
    "101.25\n";

static char *real_page(websrv_t *w, const char *path)
{
    (void)w;
    if (strcmp(path, "/a30") == 0)
        return recorded("dcgm-a30-mig-issue317.prom");
    if (strcmp(path, "/v100") == 0)
        return recorded("dcgm-v100-issue250.prom");
    if (strcmp(path, "/two") == 0)
        return strdup(dcgm_two);
    if (strcmp(path, "/garbage") == 0)
        return strdup("node_cpu_seconds_total{cpu=\"0\",mode=\"idle\"} 12\nthis is not it\n");
    if (strcmp(path, "/hang") == 0)
        return HANG;
    return NULL;
}

static void test_hosts_realtime(void **state)
{
    char dir[64], simdir[96], body[4096], url[128], status[160], err[1024], path[256];
    int ne_port, refused = refused_port();
    pid_t ne = node_exporter_start(&ne_port, url, sizeof url);
    websrv_t web;
    struct simthread sim;
    profile_set_t *ps = profiles();
    siteconf_t *cfg, *simcfg;
    collect_opts_t o = {0};
    collect_result_t res;
    wa_log_t log = {stderr, getenv("WA_TEST_LOG") ? WA_LOG_DEBUG : WA_LOG_ERROR};
    double t0, t1;
    struct stat sb;
    static const char bus[] = "sites = ( { id = \"lab\"; buses = (\n"
                              "  { id = \"gw\"; tcp = \"127.0.0.1:29101\"; devices = (\n"
                              "    { id = \"meter\"; unit = 1; profile = \"eastron-sdm120\"; "
                              "interval = 1; } ) } )%s } );\n";
    (void)state;

    web_start(&web, real_page, NULL);
    make_tmp(dir, sizeof dir);
    snprintf(simdir, sizeof simdir, "%s/sim", dir);
    assert_int_equal(mkdir(simdir, 0755), 0);
    /* The simulator gets the buses only: it would serve loopback exporters of its own. */
    snprintf(body, sizeof body, bus, "");
    simcfg = config_small(simdir, body);
    {
        char hosts[3072];
        snprintf(
            hosts, sizeof hosts,
            ";\n  hosts = (\n"
            "    { id = \"node\"; exporter = \"%s\"; gpu_exporter = "
            "\"http://127.0.0.1:%d/two\"; gauge = \"node_load1\"; interval = 1; },\n"
            "    { id = \"a30\"; gpu_exporter = \"http://127.0.0.1:%d/a30\"; interval = 1; },\n"
            "    { id = \"v100\"; gpu_exporter = \"http://127.0.0.1:%d/v100\"; "
            "gauge = \"DCGM_FI_DEV_POWER_MGMT_LIMIT\"; interval = 2; },\n"
            "    { id = \"down\"; exporter = \"http://127.0.0.1:%d/metrics\"; interval = 1; },\n"
            "    { id = \"bad\"; exporter = \"http://127.0.0.1:%d/garbage\"; interval = 1; },\n"
            "    { id = \"mute\"; gpu_exporter = \"http://127.0.0.1:%d/hang\"; interval = 1; },\n"
            "    { id = \"inventory\"; ips = [ \"10.0.3.9\" ]; role = \"office_pc\"; }\n"
            "  )",
            url, web.port, web.port, web.port, refused, web.port, web.port);
        snprintf(body, sizeof body, bus, hosts);
    }
    cfg = config_small(dir, body);
    sim_start(&sim, simcfg, ps, simdir, NULL, floor(wa_clock_now(NULL)) - 3600);

    o.log = &log;
    t0 = wa_clock_now(NULL);
    o.until = floor(t0) + 7;
    if (collect_run(cfg, ps, &o, &res, err, sizeof err) != 0)
        fail_msg("collect_run: %s", err);
    t1 = wa_clock_now(NULL);
    sim_stop(&sim);
    web_stop(&web);
    node_exporter_stop(ne);

    assert_int_equal(res.n_hosts, 6); /* the host without exporters is not scraped */
    for (size_t i = 0; i < res.n_hosts; i++) {
        const collect_host_status_t *h = &res.hosts[i];
        printf("  %-5s scrapes %llu ok %llu errors %llu%s%s\n", h->host,
               (unsigned long long)h->scrapes, (unsigned long long)h->ok,
               (unsigned long long)h->errors, h->last_error[0] ? ": " : "", h->last_error);
    }
    printf("  meter: %llu polls, %llu ok; %u requests to the test's exporter\n",
           (unsigned long long)dev_status(&res, "meter")->polls,
           (unsigned long long)dev_status(&res, "meter")->ok, atomic_load(&web.requests));

    /* The meter kept its 1 s polls beside a hung exporter and a refused one: the first at once,
     * then on each second. */
    uint64_t polls = dev_status(&res, "meter")->polls;
    assert_true(polls >= 5);
    assert_int_equal(dev_status(&res, "meter")->ok, polls);
    /* The hosts kept pace with it.  A slot or two may be lost to a busy machine, and one to the
     * mute exporter: its first scrape, at once and off the grid, overruns the next second. */
    static const struct {
        const char *host;
        int ok;          /* 1: every scrape good; 0: every scrape failed */
        int interval;    /* s */
        const char *msg; /* in last_error */
    } want[] = {
        {"node", 1, 1, NULL},          {"a30", 1, 1, NULL},
        {"v100", 1, 2, NULL},          {"down", 0, 1, "Connection refused"},
        {"bad", 0, 1, "/garbage:2: "}, {"mute", 0, 1, "no complete answer in 500 ms"},
    };
    for (size_t i = 0; i < N_OF(want); i++) {
        const collect_host_status_t *h = host_status(&res, want[i].host);
        if (h->scrapes + 2 < polls / (uint64_t)want[i].interval)
            fail_msg("%s: %llu scrapes beside %llu polls", h->host, (unsigned long long)h->scrapes,
                     (unsigned long long)polls);
        assert_int_equal(h->ok + h->errors, h->scrapes);
        if (want[i].ok) {
            assert_int_equal(h->errors, 0);
            assert_true(h->last_ok >= floor(t0) && h->last_ok <= t1);
            assert_string_equal(h->last_error, "");
        } else {
            assert_int_equal(h->ok, 0);
            assert_true(h->last_error_time >= floor(t0) && h->last_error_time <= t1);
            if (!strstr(h->last_error, want[i].msg) || strncmp(h->last_error, "http://", 7) != 0)
                fail_msg("%s: last error \"%s\" lacks \"%s\"", h->host, h->last_error, want[i].msg);
        }
    }

    /* The files, read back.  node: CPU busy within 0..1 from the second scrape on, the load
     * average, and the two boards: mean 59 % and 250.5 + 101.25 W. */
    double from = floor(t0) - 2, to = floor(t1) + 2;
    storage_series_t s;
    fetch(dir, "lab/hosts/node", "cpu", from, to, 1, &s);
    size_t n_cpu = 0;
    for (size_t i = 0; i < s.n; i++)
        if (!isnan(s.v[i])) {
            n_cpu++;
            if (!(s.v[i] >= 0 && s.v[i] <= 1))
                fail_msg("cpu %g", s.v[i]);
        }
    free(s.v);
    printf("  node: %zu cpu values\n", n_cpu);
    assert_true(n_cpu >= 3);
    assert_true(check_host(dir, "lab", "node", "gpu", from, to, 1, 0.59, 1e-12) >= 4);
    assert_true(check_host(dir, "lab", "node", "gpu_w", from, to, 1, 351.75, 1e-9) >= 4);
    fetch(dir, "lab/hosts/node", "gauge", from, to, 1, &s);
    size_t n_gauge = 0;
    for (size_t i = 0; i < s.n; i++)
        n_gauge += s.v[i] >= 0;
    free(s.v);
    assert_true(n_gauge >= 4);
    /* a30 (issue #317): two boards, each board's MIG repeats averaged; no utilisation there */
    assert_true(check_host(dir, "lab", "a30", "gpu_w", from, to, 1,
                           (52.636 * 2 + 52.746 * 2) / 4 + (56.121 + 56.127) / 2, 1e-9) >= 4);
    assert_int_equal(check_host(dir, "lab", "a30", "gpu", from, to, 1, NAN, 0), 0);
    assert_int_equal(check_host(dir, "lab", "a30", "cpu", from, to, 1, NAN, 0), 0);
    /* v100 (issue #250): one board at 0 %, its power limit 2 x 300 W as the gauge, no power */
    assert_true(check_host(dir, "lab", "v100", "gpu", from, to, 2, 0, 0) >= 2);
    assert_true(check_host(dir, "lab", "v100", "gauge", from, to, 2, 600, 1e-9) >= 2);
    assert_int_equal(check_host(dir, "lab", "v100", "gpu_w", from, to, 2, NAN, 0), 0);
    /* failures leave unknown values, but the file and its samples are there */
    static const char *const dead[] = {"down", "bad", "mute"};
    for (size_t i = 0; i < N_OF(dead); i++)
        for (int d = 0; d < STORAGE_HOST_DS_COUNT_; d++)
            assert_int_equal(check_host(dir, "lab", dead[i],
                                        storage_host_ds_name((storage_host_ds_t)d), from, to, 1,
                                        NAN, 0),
                             0);
    snprintf(path, sizeof path, "%s/data/lab/hosts/down.rrd", dir);
    {
        int64_t last;
        assert_int_equal(storage_last(path, &last, NULL, err, sizeof err), 0);
        assert_true(last >= (int64_t)floor(t0) + 4);
    }
    snprintf(path, sizeof path, "%s/data/lab/hosts/inventory.rrd", dir);
    assert_int_equal(stat(path, &sb), -1);
    /* the meter's channel was stored all along */
    fetch(dir, "lab/meter/total", "power", from, to, 1, &s);
    size_t n_power = 0;
    for (size_t i = 0; i < s.n; i++)
        n_power += !isnan(s.v[i]);
    free(s.v);
    assert_true(n_power >= 5);

    /* the status file */
    snprintf(status, sizeof status, "%s/status.json", dir);
    char *text = read_text(status);
    assert_non_null(text);
    cJSON *root = cJSON_Parse(text);
    assert_non_null(root);
    const cJSON *hj = status_host(root, "node");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(hj, "site")->valuestring, "lab");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(hj, "exporter")->valuestring, url);
    assert_true(jnum(hj, "scrapes") == (double)host_status(&res, "node")->scrapes);
    assert_true(jnum(hj, "errors") == 0);
    assert_true(jnum(cJSON_GetObjectItemCaseSensitive(hj, "last"), "gpu_w") == 351.75);
    hj = status_host(root, "down");
    assert_true(jnum(hj, "ok") == 0 && jnum(hj, "errors") >= 4);
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(hj, "last_ok")));
    assert_true(cJSON_IsNull(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(hj, "last"), "cpu")));
    assert_non_null(
        strstr(cJSON_GetObjectItemCaseSensitive(hj, "last_error")->valuestring, "refused"));
    cJSON_Delete(root);
    free(text);

    free(res.devices); /* the hosts too: one allocation */
    siteconf_free(cfg);
    siteconf_free(simcfg);
    profile_set_free(ps);
    rm_tree(dir);
}

/* ---- stepped time --------------------------------------------------------------------------- */

/* The simulated host's true load at clock time t: its CPU busy 0.2 for 10 minutes, then 0.8 for
 * 10, and so on; its GPU utilisation a whole percent that moves every 30 s. */
#define PERIOD 1200.0
static double busy_at(double t)
{
    return fmod(t - T0, PERIOD) < PERIOD / 2 ? 0.2 : 0.8;
}

/* Busy CPU seconds from T0 - 1 day to t. */
static double busy_integral(double t)
{
    double from = T0 - 86400, x = t - from, periods = floor(x / PERIOD);
    double part = x - periods * PERIOD;
    double half = PERIOD / 2;
    return periods * (0.2 + 0.8) * half +
           (part < half ? 0.2 * part : 0.2 * half + 0.8 * (part - half));
}

static int util_at(double t)
{
    return (int)fmod(floor((t - T0) / 30), 101);
}

/* Pages for the clock's time: node_exporter's counters and load average, DCGM's gauges. */
static char *stepped_page(websrv_t *w, const char *path)
{
    double t = wa_clock_now(w->clock), total = t - (T0 - 86400), busy = busy_integral(t);
    char *out = malloc(1024);
    assert_non_null(out);
    if (strcmp(path, "/node") == 0) {
        snprintf(out, 1024,
                 "# TYPE node_cpu_seconds_total counter\n"
                 "node_cpu_seconds_total{cpu=\"0\",mode=\"idle\"} %.17g\n"
                 "node_cpu_seconds_total{cpu=\"0\",mode=\"iowait\"} 0\n"
                 "node_cpu_seconds_total{cpu=\"0\",mode=\"user\"} %.17g\n"
                 "# TYPE node_load1 gauge\nnode_load1 %d\n",
                 total - busy, busy, util_at(t));
        return out;
    }
    if (strcmp(path, "/dcgm") == 0) {
        snprintf(out, 1024,
                 "DCGM_FI_DEV_GPU_UTIL{gpu=\"0\",UUID=\"GPU-aaaa\"} %d\n"
                 "DCGM_FI_DEV_POWER_USAGE{gpu=\"0\",UUID=\"GPU-aaaa\"} %d.5\n",
                 util_at(t), 60 + 3 * util_at(t));
        return out;
    }
    free(out);
    return NULL;
}

static void test_hosts_stepped(void **state)
{
    const double until = T0 + 3 * 3600;
    char dir[64], simdir[96], body[4096], clock_path[128], err[1024];
    int refused = refused_port();
    websrv_t web;
    struct simthread sim;
    profile_set_t *ps = profiles();
    siteconf_t *cfg, *simcfg;
    collect_opts_t o = {0};
    collect_result_t res;
    wa_log_t log = {stderr, getenv("WA_TEST_LOG") ? WA_LOG_DEBUG : WA_LOG_ERROR};
    wa_clock_t *clk, *reader;
    static const char bus[] =
        "sites = ( { id = \"lab\"; buses = (\n"
        "  { id = \"gw\"; tcp = \"127.0.0.1:29111\"; devices = (\n"
        "    { id = \"meter\"; unit = 1; profile = \"eastron-sdm120\"; interval = 60; } ) } )%s } "
        ");\n";
    (void)state;

    make_tmp(dir, sizeof dir);
    snprintf(simdir, sizeof simdir, "%s/sim", dir);
    assert_int_equal(mkdir(simdir, 0755), 0);
    snprintf(clock_path, sizeof clock_path, "%s/clock", dir);
    clk = wa_clock_create_stepped(clock_path, (int64_t)T0);
    assert_non_null(clk);
    reader = wa_clock_open(clock_path);
    assert_non_null(reader);
    web_start(&web, stepped_page, reader);
    snprintf(body, sizeof body, bus, "");
    simcfg = config_small(simdir, body);
    {
        char hosts[1024];
        /* Scraped every 30 s, between the meter's 60 s polls too. */
        snprintf(
            hosts, sizeof hosts,
            ";\n  hosts = (\n"
            "    { id = \"sim1\"; exporter = \"http://127.0.0.1:%d/node\"; gpu_exporter = "
            "\"http://127.0.0.1:%d/dcgm\"; gauge = \"node_load1\"; interval = 30; },\n"
            "    { id = \"down\"; exporter = \"http://127.0.0.1:%d/metrics\"; interval = 60; }\n"
            "  )",
            web.port, web.port, refused);
        snprintf(body, sizeof body, bus, hosts);
    }
    cfg = config_small(dir, body);
    sim_start(&sim, simcfg, ps, simdir, clock_path, T0 - 86400);
    o.log = &log;
    o.clock = clk;
    o.until = until;
    double m0 = wa_clock_now(NULL);
    if (collect_run(cfg, ps, &o, &res, err, sizeof err) != 0)
        fail_msg("collect_run: %s", err);
    double secs = wa_clock_now(NULL) - m0;
    sim_stop(&sim);
    web_stop(&web);
    wa_clock_close(reader);
    wa_clock_close(clk);

    const collect_host_status_t *h = host_status(&res, "sim1"), *d = host_status(&res, "down");
    printf("  3 h stepped in %.2f s: %llu cycles; sim1 %llu scrapes, down %llu; meter %llu polls; "
           "%u requests\n",
           secs, (unsigned long long)res.cycles, (unsigned long long)h->scrapes,
           (unsigned long long)d->scrapes, (unsigned long long)dev_status(&res, "meter")->polls,
           atomic_load(&web.requests));
    /* T0 to until, exclusive: 360 scrapes at 30 s, 180 at 60 s, 180 polls; the cycles are the
     * host's times, the meter's a subset of them. */
    assert_int_equal(h->scrapes, 360);
    assert_int_equal(h->ok, 360);
    assert_int_equal(d->scrapes, 180);
    assert_int_equal(d->errors, 180);
    assert_non_null(strstr(d->last_error, "refused"));
    assert_int_equal(dev_status(&res, "meter")->ok, 180);
    assert_int_equal(res.cycles, 360);
    assert_int_equal(atomic_load(&web.requests), 2 * 360);
    assert_true(h->last_ok == until - 30);

    /* Every value shows the moment it was scraped: the CPU's busy fraction over exactly the
     * step before, the GPU's utilisation and power, the gauge. */
    storage_series_t cpu, gpu, gpu_w, gauge, dead, power;
    fetch(dir, "lab/hosts/sim1", "cpu", T0 - 60, until, 30, &cpu);
    fetch(dir, "lab/hosts/sim1", "gpu", T0 - 60, until, 30, &gpu);
    fetch(dir, "lab/hosts/sim1", "gpu_w", T0 - 60, until, 30, &gpu_w);
    fetch(dir, "lab/hosts/sim1", "gauge", T0 - 60, until, 30, &gauge);
    fetch(dir, "lab/hosts/down", "cpu", T0, until, 60, &dead);
    fetch(dir, "lab/meter/total", "power", T0, until, 60, &power);
    assert_true(isnan(at(&cpu, T0))); /* the first scrape only primes the counters */
    assert_true(at(&gpu, T0) == 0);
    for (double t = T0 + 30; t < until; t += 30) {
        double want = busy_at(t - 1); /* constant over (t - 30, t] */
        if (!(fabs(at(&cpu, t) - want) < 1e-6))
            fail_msg("cpu at T0 + %.0f: %.9g, want %g", t - T0, at(&cpu, t), want);
        /* RRD's rate arithmetic (value x seconds / seconds) may move the last bit. */
        if (!(fabs(at(&gpu, t) - util_at(t) / 100.0) < 1e-12) ||
            !(fabs(at(&gpu_w, t) - (60 + 3 * util_at(t) + 0.5)) < 1e-9) ||
            !(fabs(at(&gauge, t) - util_at(t)) < 1e-9))
            fail_msg("T0 + %.0f: gpu %g gpu_w %g gauge %g, want util %d", t - T0, at(&gpu, t),
                     at(&gpu_w, t), at(&gauge, t), util_at(t));
    }
    for (double t = T0 + 60; t < until; t += 60) {
        assert_true(isnan(at(&dead, t)));
        assert_false(isnan(at(&power, t)));
    }
    free(cpu.v);
    free(gpu.v);
    free(gpu_w.v);
    free(gauge.v);
    free(dead.v);
    free(power.v);
    free(res.devices);
    siteconf_free(cfg);
    siteconf_free(simcfg);
    profile_set_free(ps);
    rm_tree(dir);
}

/* ---- against the simulator's exporters ----------------------------------------------------- */

/* One config for both: the simulator serves the hosts' loopback exporters (docs/simulator.md,
 * "Simulated hosts") on the clock the collector drives.  gpu07 is a GPU node whose rig starts
 * at 06:00 on its DCGM exporter; pc1 an office PC that mines on its CPU until 07:00. */
static const char sim_hosts_conf[] =
    "sites = ( { id = \"lab\"; buses = (\n"
    "  { id = \"gw\"; tcp = \"127.0.0.1:29131\"; devices = (\n"
    "    { id = \"pdu\"; unit = 1; profile = \"netio-powerpdu-8ks\"; interval = 60; channels = (\n"
    "      { id = \"o1\"; source = \"outlet1\"; simulate = { noise = 0.0; loads = (\n"
    "          { model = \"server\"; w = 180.0; host = \"gpu07\"; },\n"
    "          { model = \"gpu_rig\"; w = 900.0; host = \"gpu07\"; from = \"2026-11-02T06:00\"; }\n"
    "          ); }; },\n"
    "      { id = \"o2\"; source = \"outlet2\"; simulate = { noise = 0.0; loads = (\n"
    "          { model = \"constant\"; w = 30.0; host = \"pc1\"; },\n"
    "          { model = \"pc_mining\"; w = 40.0; host = \"pc1\"; } ); }; } ); } ) } );\n"
    "  hosts = (\n"
    "    { id = \"gpu07\"; channel = \"pdu/o1\"; role = \"gpu_node\";\n"
    "      exporter = \"http://127.0.0.1:29132/gpu07/metrics\";\n"
    "      gpu_exporter = \"http://127.0.0.1:29132/gpu07/dcgm\"; },\n"
    "    { id = \"pc1\"; channel = \"pdu/o2\"; role = \"office_pc\";\n"
    "      exporter = \"http://127.0.0.1:29132/pc1\"; }\n"
    "  ); } );\n";

static void test_hosts_simulator(void **state)
{
    const double from = T0 + 5 * 3600, until = T0 + 9 * 3600;
    char dir[64], clock_path[128], err[1024];
    struct simthread sim;
    profile_set_t *ps = profiles();
    siteconf_t *cfg;
    collect_opts_t o = {0};
    collect_result_t res;
    wa_log_t log = {stderr, getenv("WA_TEST_LOG") ? WA_LOG_DEBUG : WA_LOG_ERROR};
    wa_clock_t *clk;
    storage_series_t pc_cpu, g_cpu, g_gpu, g_w;
    size_t n = 0;
    (void)state;

    make_tmp(dir, sizeof dir);
    snprintf(clock_path, sizeof clock_path, "%s/clock", dir);
    clk = wa_clock_create_stepped(clock_path, (int64_t)from);
    assert_non_null(clk);
    cfg = config_small(dir, sim_hosts_conf);
    sim_start(&sim, cfg, ps, dir, clock_path, T0 - 86400);
    o.log = &log;
    o.clock = clk;
    o.until = until;
    double m0 = wa_clock_now(NULL);
    if (collect_run(cfg, ps, &o, &res, err, sizeof err) != 0)
        fail_msg("collect_run: %s", err);
    double secs = wa_clock_now(NULL) - m0;
    sim_stop(&sim);
    wa_clock_close(clk);
    printf("  4 h stepped against the simulator in %.2f s: %llu cycles, %llu HTTP requests\n", secs,
           (unsigned long long)res.cycles, (unsigned long long)sim.stats.http_requests);
    assert_int_equal(host_status(&res, "gpu07")->ok, 240);
    assert_int_equal(host_status(&res, "pc1")->ok, 240);
    assert_int_equal(host_status(&res, "gpu07")->errors + host_status(&res, "pc1")->errors, 0);
    assert_int_equal(sim.stats.http_requests, 3 * 240);

    fetch(dir, "lab/hosts/pc1", "cpu", from, until, 60, &pc_cpu);
    fetch(dir, "lab/hosts/gpu07", "cpu", from, until, 60, &g_cpu);
    fetch(dir, "lab/hosts/gpu07", "gpu", from, until, 60, &g_gpu);
    fetch(dir, "lab/hosts/gpu07", "gpu_w", from, until, 60, &g_w);
    for (double t = from + 60; t < until; t += 60) {
        const sc_site_t *site = &cfg->sites[0];
        sim_host_load_t hl;
        double pc = sim_host_cpu_busy(site, "pc1", t - 60, t);
        double g = sim_host_cpu_busy(site, "gpu07", t - 60, t);
        assert_int_equal(sim_host_load(site, "gpu07", t, &hl), 0);
        /* The counters are printed with two decimals over 4 CPUs, as node_exporter does. */
        if (!(fabs(at(&pc_cpu, t) - pc) < 3e-3) || !(fabs(at(&g_cpu, t) - g) < 3e-3))
            fail_msg("T0 + %.0f: cpu pc1 %.6f (truth %.6f), gpu07 %.6f (truth %.6f)", t - T0,
                     at(&pc_cpu, t), pc, at(&g_cpu, t), g);
        if (!(fabs(at(&g_gpu, t) - hl.gpu) < 1e-9) || !(fabs(at(&g_w, t) - hl.gpu_w) < 1e-3))
            fail_msg("T0 + %.0f: gpu %.6f gpu_w %.6f, truth %.6f %.6f", t - T0, at(&g_gpu, t),
                     at(&g_w, t), hl.gpu, hl.gpu_w);
        n++;
    }
    /* The story is in the files: the PC mines until 07:00, the rig from 06:00. */
    assert_true(at(&pc_cpu, T0 + 6 * 3600) > 0.5 && at(&pc_cpu, T0 + 8 * 3600) < 0.01);
    assert_true(at(&g_gpu, T0 + 5 * 3600 + 1800) == 0 && at(&g_gpu, T0 + 8 * 3600) == 1);
    assert_int_equal(n, 239);
    free(pc_cpu.v);
    free(g_cpu.v);
    free(g_gpu.v);
    free(g_w.v);
    free(res.devices);
    siteconf_free(cfg);
    profile_set_free(ps);
    rm_tree(dir);
}

int hosts_main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hosts_realtime),
        cmocka_unit_test(test_hosts_stepped),
        cmocka_unit_test(test_hosts_simulator),
    };
    signal(SIGPIPE, SIG_IGN);
    if (argc == 3)
        cmocka_set_test_filter(argv[2]);
    return cmocka_run_group_tests_name("collect-hosts", tests, NULL, NULL);
}
