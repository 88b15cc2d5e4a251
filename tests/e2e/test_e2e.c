/*
 * End to end: the scenario of tests/e2e/site.conf, three weeks of stepped time.
 *
 * `wattaudit sim` runs as a process and serves the meters and the hosts' exporters on loopback;
 * the collector (collect_run, in this process) drives the shared stepped clock, polls the
 * meters and scrapes the exporters into the channel and host files; `wattaudit analyze
 * --format json` runs as a process over them.  The checks: the host files against the
 * simulator's ground truth, then the analyzer's class, onset and size for each case, the
 * flagged addresses' answers, and that nothing explained is flagged.
 *
 * Usage: test_e2e WATTAUDIT SCENARIO_DIR
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
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
#include <sys/wait.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "common/common.h"
#include "meters/collect/collect.h"
#include "meters/profile/profile.h"
#include "meters/sim/sim.h"
#include "siteconf/siteconf.h"
#include "storage/storage.h"

#define TZ "Asia/Shanghai"
#define FROM "2026-10-05T00:00" /* a Monday */
#define DAYS 21
#define STEP 300 /* every device's and host's interval in site.conf */

static const char *wattaudit_bin, *scenario_dir;

/* What the group's setup leaves for the tests. */
typedef struct e2e {
    char dir[256];
    siteconf_t *cfg;
    int64_t from, to;
    collect_result_t res;
    double collect_s;
    cJSON *json;
    const cJSON *site;
} e2e_t;

static int64_t at(const char *local)
{
    int64_t t;
    if (wa_time_parse(local, TZ, &t) != 0)
        return INT64_MIN;
    return t;
}

static int free_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;
    if (fd < 0)
        return -1;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    close(fd);
    return port;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long n;
    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (buf = malloc((size_t)n + 1)) && fread(buf, 1, (size_t)n, f) == (size_t)n) {
        buf[n] = '\0';
        if (len)
            *len = (size_t)n;
    } else {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    return buf;
}

static int spit(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    int ok;
    if (!f)
        return -1;
    ok = fputs(text, f) >= 0;
    return fclose(f) == 0 && ok ? 0 : -1;
}

/* Replaces every "from" in text with "to" into a new string. */
static char *replace(const char *text, const char *from, const char *to)
{
    size_t n = 0, fl = strlen(from), tl = strlen(to);
    for (const char *p = strstr(text, from); p; p = strstr(p + fl, from))
        n++;
    char *out = malloc(strlen(text) + n * (tl + 1) + 1), *o = out;
    if (!out)
        return NULL;
    for (const char *p = text, *q; (q = strstr(p, from)); p = q + fl) {
        memcpy(o, p, (size_t)(q - p));
        o += q - p;
        memcpy(o, to, tl);
        o += tl;
        text = q + fl;
    }
    strcpy(o, text);
    return out;
}

/* The scenario's files into dir, the site config's two ports moved to free ones. */
static int stage(const char *dir)
{
    static const char *const files[] = {"sacct.txt", "flagged.csv"};
    char src[512], dst[512], a[32], b[32];
    char *conf, *c1, *c2;
    int pm = free_port(), ph = free_port();
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char *t;
        snprintf(src, sizeof src, "%s/%s", scenario_dir, files[i]);
        snprintf(dst, sizeof dst, "%s/%s", dir, files[i]);
        if (!(t = slurp(src, NULL)) || spit(dst, t) != 0) {
            free(t);
            return -1;
        }
        free(t);
    }
    snprintf(src, sizeof src, "%s/site.conf", scenario_dir);
    if (pm < 0 || ph < 0 || !(conf = slurp(src, NULL)))
        return -1;
    snprintf(a, sizeof a, "127.0.0.1:%d", pm);
    snprintf(b, sizeof b, "127.0.0.1:%d", ph);
    c1 = replace(conf, "127.0.0.1:29201", a);
    c2 = c1 ? replace(c1, "127.0.0.1:29202", b) : NULL;
    snprintf(dst, sizeof dst, "%s/site.conf", dir);
    int rc = c2 && spit(dst, c2) == 0 ? 0 : -1;
    free(conf);
    free(c1);
    free(c2);
    return rc;
}

/* Runs argv with stdout into out_path (NULL: inherited); returns the child's pid. */
static pid_t spawn(char *const argv[], const char *out_path)
{
    pid_t pid = fork();
    if (pid == 0) {
        if (out_path) {
            int fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
            if (fd < 0)
                _exit(126);
            dup2(fd, 1);
            close(fd);
        }
        execv(argv[0], argv);
        _exit(127);
    }
    return pid;
}

static int wait_exit(pid_t pid)
{
    int st;
    if (waitpid(pid, &st, 0) != pid)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static profile_set_t *profiles(void)
{
    const char *dirs[] = {WA_SOURCE_PROFILE_DIR};
    char err[512];
    profile_set_t *ps = profile_set_load(dirs, 1, err, sizeof err);
    if (!ps)
        fprintf(stderr, "e2e: %s\n", err);
    return ps;
}

/* Simulator, collector, analyzer: everything the tests look at. */
static int setup(void **state)
{
    e2e_t *e = calloc(1, sizeof *e);
    char conf[300], clock_path[300], ready[300], json[300], err[1024], origin[32], data[300];
    profile_set_t *ps = NULL;
    wa_clock_t *clk = NULL;
    wa_log_t log = {stderr, WA_LOG_WARN};
    volatile sig_atomic_t stop = 0;
    collect_opts_t co;
    struct timespec t0, t1;
    pid_t sim = -1;
    int rc = -1;

    if (!e)
        return -1;
    *state = e;
    snprintf(e->dir, sizeof e->dir, "/tmp/wa-e2e-XXXXXX");
    if (!mkdtemp(e->dir) || stage(e->dir) != 0) {
        fprintf(stderr, "e2e: cannot stage the scenario in %s\n", e->dir);
        return -1;
    }
    e->from = at(FROM);
    e->to = e->from + (int64_t)DAYS * 86400;
    snprintf(conf, sizeof conf, "%s/site.conf", e->dir);
    snprintf(clock_path, sizeof clock_path, "%s/clock", e->dir);
    snprintf(ready, sizeof ready, "%s/sim.ready", e->dir);
    snprintf(json, sizeof json, "%s/analysis.json", e->dir);
    snprintf(origin, sizeof origin, "%lld", (long long)e->from);
    if (!(e->cfg = siteconf_load(conf, err, sizeof err)) || !(ps = profiles()) ||
        collect_check(e->cfg, ps, err, sizeof err) != 0) {
        fprintf(stderr, "e2e: %s\n", err);
        goto out;
    }
    /* The collector owns the stepped clock; the simulator maps it. */
    if (!(clk = wa_clock_create_stepped(clock_path, e->from))) {
        fprintf(stderr, "e2e: clock: %s\n", strerror(errno));
        goto out;
    }
    {
        char *argv[] = {(char *)wattaudit_bin, "sim",  "--config", conf,  "--clock", clock_path,
                        "--energy-origin",     origin, "--ready",  ready, NULL};
        sim = spawn(argv, NULL);
    }
    for (int i = 0; i < 1000 && access(ready, F_OK) != 0; i++) {
        if (waitpid(sim, NULL, WNOHANG) == sim) {
            sim = -1;
            break;
        }
        usleep(10000);
    }
    if (sim < 0 || access(ready, F_OK) != 0) {
        fprintf(stderr, "e2e: wattaudit sim did not start\n");
        goto out;
    }
    memset(&co, 0, sizeof co);
    co.log = &log;
    co.clock = clk;
    co.until = (double)e->to;
    co.stop = &stop;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (collect_run(e->cfg, ps, &co, &e->res, err, sizeof err) != 0) {
        fprintf(stderr, "e2e: collector: %s\n", err);
        goto out;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    e->collect_s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    kill(sim, SIGTERM);
    if (wait_exit(sim) != 0) {
        fprintf(stderr, "e2e: wattaudit sim did not stop cleanly\n");
        sim = -1;
        goto out;
    }
    sim = -1;
    {
        char f[32], t[32];
        snprintf(f, sizeof f, "%lld", (long long)e->from);
        snprintf(t, sizeof t, "%lld", (long long)e->to);
        char *argv[] = {(char *)wattaudit_bin,
                        "analyze",
                        "--config",
                        conf,
                        "--from",
                        f,
                        "--to",
                        t,
                        "--format",
                        "json",
                        NULL};
        if (wait_exit(spawn(argv, json)) != 0) {
            fprintf(stderr, "e2e: wattaudit analyze failed\n");
            goto out;
        }
    }
    {
        char *text = slurp(json, NULL);
        e->json = text ? cJSON_Parse(text) : NULL;
        free(text);
    }
    e->site = cJSON_GetArrayItem(cJSON_GetObjectItem(e->json, "sites"), 0);
    if (!e->site) {
        fprintf(stderr, "e2e: %s holds no site\n", json);
        goto out;
    }
    snprintf(data, sizeof data, "%s/data", e->dir);
    print_message("e2e: %d days of %zu devices and %zu hosts collected in %.1f s (%s)\n", DAYS,
                  e->res.n_devices, e->res.n_hosts, e->collect_s, e->dir);
    rc = 0;
out:
    if (sim > 0) {
        kill(sim, SIGTERM);
        wait_exit(sim);
    }
    wa_clock_close(clk);
    profile_set_free(ps);
    return rc;
}

static int teardown(void **state)
{
    e2e_t *e = *state;
    char cmd[400];
    int rc = 0;
    if (!e)
        return 0;
    /* Kept for a look when something failed: WA_E2E_KEEP=1. */
    if (!getenv("WA_E2E_KEEP") && e->dir[0]) {
        snprintf(cmd, sizeof cmd, "rm -rf -- '%s'", e->dir);
        rc = system(cmd) == 0 ? 0 : -1;
    }
    cJSON_Delete(e->json);
    free(e->res.devices);
    siteconf_free(e->cfg);
    free(e);
    return rc;
}

/* ---- JSON look-ups ----------------------------------------------------------------------- */

static const cJSON *channel(const e2e_t *e, const char *id)
{
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(e->site, "channels"))
    {
        const cJSON *i = cJSON_GetObjectItem(c, "id");
        if (cJSON_IsString(i) && strcmp(i->valuestring, id) == 0)
            return c;
    }
    fail_msg("no channel %s in the analysis", id);
    return NULL;
}

static const char *str(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItem(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double number(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItem(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static int same(const char *a, const char *b)
{
    return a && b ? strcmp(a, b) == 0 : a == b;
}

static const char *when(int64_t t, char *buf, size_t n)
{
    return wa_time_format(t, TZ, buf, n);
}

/* ---- the tests ----------------------------------------------------------------------------- */

/* Every poll and scrape answered; each host file holds what the simulator's exporters showed:
 * cpu at T the busy fraction over (T - step, T], gpu the utilisation at T. */
static void test_collected(void **state)
{
    e2e_t *e = *state;
    const sc_site_t *site = &e->cfg->sites[0];
    char err[512];
    size_t steps = (size_t)(e->to - e->from) / STEP;
    assert_int_equal(e->res.n_hosts, site->n_hosts);
    for (size_t i = 0; i < e->res.n_devices; i++) {
        const collect_device_status_t *d = &e->res.devices[i];
        if (d->ok + 1 < steps || d->errors > 0)
            fail_msg("device %s: %llu polls ok, %llu errors, of %zu", d->device,
                     (unsigned long long)d->ok, (unsigned long long)d->errors, steps);
    }
    for (size_t i = 0; i < e->res.n_hosts; i++) {
        const collect_host_status_t *h = &e->res.hosts[i];
        if (h->ok + 1 < steps || h->errors > 0)
            fail_msg("host %s: %llu scrapes ok, %llu errors (%s), of %zu", h->host,
                     (unsigned long long)h->ok, (unsigned long long)h->errors, h->last_error,
                     steps);
    }
    for (size_t k = 0; k < site->n_hosts; k++) {
        const sc_host_t *h = &site->hosts[k];
        static const char *const ds[] = {"cpu", "gpu"};
        char file[600];
        snprintf(file, sizeof file, "%s/data/%s/hosts/%s.rrd", e->dir, site->id, h->id);
        for (int d = 0; d < 2; d++) {
            storage_series_t s;
            size_t known = 0;
            double worst = 0;
            if (d == 1 && !h->gpu_exporter[0])
                continue;
            if (storage_fetch(file, ds[d], "AVERAGE", e->from, e->to, STEP, NULL, &s, err,
                              sizeof err) != 0)
                fail_msg("%s: %s", file, err);
            assert_int_equal(s.step, STEP);
            for (size_t i = 0; i < s.n; i++) {
                double t = (double)(s.start + (int64_t)(i + 1) * s.step), want;
                sim_host_load_t hl;
                if (isnan(s.v[i]) || t <= (double)e->from + STEP)
                    continue;
                if (d == 0) {
                    want = sim_host_cpu_busy(site, h->id, t - STEP, t);
                } else {
                    assert_int_equal(sim_host_load(site, h->id, t, &hl), 0);
                    want = hl.gpu;
                }
                if (fabs(s.v[i] - want) > worst)
                    worst = fabs(s.v[i] - want);
                known++;
            }
            free(s.v);
            /* Two decimals per CPU counter; GPU utilisation in whole percent. */
            if (known + 3 < steps || worst > 0.01)
                fail_msg("%s %s: %zu of %zu steps known, worst error %g", h->id, ds[d], known,
                         steps, worst);
        }
    }
}

/* The correlation's finding per case: kind, class, host, onset and size. */
static void test_cases(void **state)
{
    e2e_t *e = *state;
    /* Sizes: the residual is the hidden rigs' draw (2 x 1200 W, ripple and noise aside); a host
     * finding is what its load draws when it runs (docs/correlate.md): the miner's 900 W, a
     * trojan's 60 W at nights and weekends, a job's 1200 W. */
    static const struct {
        const char *channel, *kind, *cls, *host, *onset;
        double w;
        double w_tol;             /* relative */
        const char *explained_by; /* words the research finding's jobs include */
    } cases[] = {
        {"lab/pdu-a/outlet1", "unexplained_residual", "deliberate", NULL, "2026-10-14T02:00", 2400,
         0.05, NULL},
        {"lab/pdu-a/outlet5", "host_full_load", "deliberate", "gpu07", "2026-10-15T12:00", 900,
         0.05, NULL},
        {"lab/office-b/total", "host_off_hours", "passive", "pc-b01", "2026-10-17T00:00", 60, 0.1,
         NULL},
        {"lab/office-b/total", "host_off_hours", "passive", "pc-b02", "2026-10-17T00:00", 60, 0.1,
         NULL},
        {"lab/office-b/total", "host_off_hours", "passive", "pc-b03", "2026-10-17T00:00", 60, 0.1,
         NULL},
        {"lab/office-b/total", "host_off_hours", "passive", "pc-b04", "2026-10-17T00:00", 60, 0.1,
         NULL},
        {"lab/rack-l/l3", "host_research", "research", "gpu01", "2026-10-07T09:00", 1200, 0.1,
         "4410"},
        {"lab/rack-l/l3", "host_research", "research", "gpu02", "2026-10-09T10:00", 1200, 0.1,
         "4411"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const cJSON *corr = cJSON_GetObjectItem(channel(e, cases[i].channel), "correlation");
        const cJSON *f, *found = NULL;
        char a[32], b[32];
        if (!cJSON_IsObject(corr) || !cJSON_IsTrue(cJSON_GetObjectItem(corr, "fitted")))
            fail_msg("case %zu: %s has no fitted correlation (%s)", i, cases[i].channel,
                     str(corr, "note") ? str(corr, "note") : "no note");
        cJSON_ArrayForEach(f, cJSON_GetObjectItem(corr, "findings"))
        {
            if (same(str(f, "kind"), cases[i].kind) && same(str(f, "host"), cases[i].host))
                found = f;
        }
        if (!found)
            fail_msg("case %zu: no %s finding for %s on %s", i, cases[i].kind,
                     cases[i].host ? cases[i].host : "the residual", cases[i].channel);
        if (!same(str(found, "class"), cases[i].cls))
            fail_msg("case %zu (%s %s): class %s, want %s", i, cases[i].kind,
                     cases[i].host ? cases[i].host : "", str(found, "class"), cases[i].cls);
        /* The onset: the start of the first step that shows it; within one 5 min step. */
        int64_t want = at(cases[i].onset), got = (int64_t)number(found, "onset");
        if (got < want - STEP || got > want + STEP)
            fail_msg("case %zu (%s %s): onset %s, want %s", i, cases[i].kind,
                     cases[i].host ? cases[i].host : "", when(got, a, sizeof a),
                     when(want, b, sizeof b));
        double w = cases[i].w;
        if (!(fabs(number(found, "w") - w) <= cases[i].w_tol * w))
            fail_msg("case %zu (%s %s): %g W, want %g W +- %.0f%%", i, cases[i].kind,
                     cases[i].host ? cases[i].host : "", number(found, "w"), w,
                     100 * cases[i].w_tol);
        if (cases[i].explained_by && (!str(found, "explained_by") ||
                                      !strstr(str(found, "explained_by"), cases[i].explained_by)))
            fail_msg("case %zu: explained by \"%s\", want it to name %s", i,
                     str(found, "explained_by"), cases[i].explained_by);
        if (strcmp(cases[i].kind, "unexplained_residual") == 0 &&
            (number(found, "count_min") > 2 || number(found, "count_max") < 2))
            fail_msg("case %zu: %g-%g rigs, want 2 in the range", i, number(found, "count_min"),
                     number(found, "count_max"));
    }
}

/* The power findings of each channel take their class from the hosts: the rigs and the
 * miner deliberate, the trojan passive, the jobs research. */
static void test_power_classes(void **state)
{
    e2e_t *e = *state;
    static const struct {
        const char *channel, *cls;
        int need; /* at least one finding expected */
    } cases[] = {
        {"lab/pdu-a/outlet1", "deliberate", 1},
        {"lab/pdu-a/outlet5", "deliberate", 1},
        {"lab/office-b/total", "passive", 0},
        {"lab/rack-l/l3", "research", 1}, /* job 4431, running for the last week */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const cJSON *f;
        int n = 0;
        cJSON_ArrayForEach(f, cJSON_GetObjectItem(channel(e, cases[i].channel), "findings"))
        {
            char a[32];
            n++;
            if (!same(str(f, "class"), cases[i].cls))
                fail_msg("%s: %s finding from %s is %s (%s), want %s", cases[i].channel,
                         str(f, "kind"), when((int64_t)number(f, "onset"), a, sizeof a),
                         str(f, "class"), str(f, "class_why"), cases[i].cls);
        }
        if (n < cases[i].need)
            fail_msg("%s: no finding", cases[i].channel);
    }
}

/* The inspectors' questions about each flagged address. */
static void test_flagged(void **state)
{
    e2e_t *e = *state;
    static const struct {
        const char *ip, *host, *cls, *kind, *since;
    } cases[] = {
        {"10.0.5.7", "gpu07", "deliberate", "host_full_load", "2026-10-15T12:00"},
        {"10.0.7.21", "pc-b01", "passive", "host_off_hours", "2026-10-17T00:00"},
        {"10.0.3.1", "gpu01", "research", NULL, NULL},
        {"10.0.4.10", "store1", "deliberate", "unexplained_residual", "2026-10-14T02:00"},
        {"10.0.9.99", NULL, NULL, NULL, NULL}, /* no host has it: listed, unmapped */
    };
    const cJSON *list = cJSON_GetObjectItem(e->site, "flagged_ips");
    assert_int_equal(cJSON_GetArraySize(list), sizeof cases / sizeof cases[0]);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const cJSON *x, *f = NULL, *ans;
        cJSON_ArrayForEach(x, list)
        {
            if (same(str(x, "ip"), cases[i].ip))
                f = x;
        }
        if (!f)
            fail_msg("%s is not listed", cases[i].ip);
        if (cJSON_IsTrue(cJSON_GetObjectItem(f, "mapped")) != (cases[i].host != NULL) ||
            !same(str(f, "host"), cases[i].host))
            fail_msg("%s: mapped to %s, want %s", cases[i].ip, str(f, "host"), cases[i].host);
        ans = cJSON_GetObjectItem(f, "answer");
        if (!same(str(ans, "class"), cases[i].cls))
            fail_msg("%s: answered %s (%s), want %s", cases[i].ip, str(ans, "class"),
                     str(ans, "why"), cases[i].cls);
        if (cases[i].kind && !same(str(ans, "kind"), cases[i].kind))
            fail_msg("%s: rests on %s, want %s", cases[i].ip, str(ans, "kind"), cases[i].kind);
        if (cases[i].since) {
            int64_t want = at(cases[i].since), got = (int64_t)number(ans, "since");
            char a[32], b[32];
            if (got < want - STEP || got > want + STEP)
                fail_msg("%s: since %s, want %s", cases[i].ip, when(got, a, sizeof a),
                         when(want, b, sizeof b));
        }
    }
}

/* Nothing explained is flagged: a finding explained by jobs is research, every research
 * finding is explained, an explained load counts in no channel's excess nor in the savings,
 * and no research host's address is answered as mining. */
static void test_nothing_explained_flagged(void **state)
{
    e2e_t *e = *state;
    const cJSON *c;
    size_t research = 0;
    double active = 0;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(e->site, "channels"))
    {
        const cJSON *f;
        size_t n = 0, explained = 0;
        cJSON_ArrayForEach(f, cJSON_GetObjectItem(c, "findings"))
        {
            const char *by = str(f, "explained_by"), *cls = str(f, "class");
            if ((by && by[0]) != same(cls, "research"))
                fail_msg("%s: %s finding explained by \"%s\" is %s", str(c, "id"), str(f, "kind"),
                         by ? by : "", cls);
            research += same(cls, "research");
            explained += same(cls, "research");
            n++;
        }
        if (n && explained == n &&
            (number(c, "excess_kwh") != 0 || number(c, "active_kwh_per_day") != 0))
            fail_msg("%s: only explained findings, but %g kWh excess, %g kWh a day active",
                     str(c, "id"), number(c, "excess_kwh"), number(c, "active_kwh_per_day"));
        active += number(c, "active_kwh_per_day");
        cJSON_ArrayForEach(f,
                           cJSON_GetObjectItem(cJSON_GetObjectItem(c, "correlation"), "findings"))
        {
            const char *by = str(f, "explained_by"), *cls = str(f, "class");
            if ((by && by[0]) != same(cls, "research"))
                fail_msg("%s: correlation's %s of %s explained by \"%s\" is %s", str(c, "id"),
                         str(f, "kind"), str(f, "host"), by ? by : "", cls);
        }
    }
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(e->site, "flagged_ips"))
    {
        const char *h = str(c, "host");
        const char *cls = str(cJSON_GetObjectItem(c, "answer"), "class");
        if (h && (strcmp(h, "gpu01") == 0 || strcmp(h, "gpu02") == 0) &&
            (same(cls, "deliberate") || same(cls, "passive")))
            fail_msg("%s (%s, research jobs only) answered %s", str(c, "ip"), h, cls);
    }
    /* The savings are the unexplained loads' alone. */
    double saved = number(cJSON_GetObjectItem(e->site, "savings"), "kwh_per_day");
    if (!(fabs(saved - active) < 1e-6 * (1 + active)))
        fail_msg("savings %g kWh a day, but the channels' unexplained loads draw %g", saved,
                 active);
    if (research == 0)
        fail_msg("no power finding explained as research: the scenario's running job 4431 "
                 "should show as one");
    print_message("e2e: %zu power finding(s) explained as research\n", research);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_collected),
        cmocka_unit_test(test_cases),
        cmocka_unit_test(test_power_classes),
        cmocka_unit_test(test_flagged),
        cmocka_unit_test(test_nothing_explained_flagged),
    };
    if (argc != 3) {
        fprintf(stderr, "usage: test_e2e WATTAUDIT SCENARIO_DIR\n");
        return 2;
    }
    wattaudit_bin = argv[1];
    scenario_dir = argv[2];
    return cmocka_run_group_tests_name("e2e", tests, setup, teardown);
}
