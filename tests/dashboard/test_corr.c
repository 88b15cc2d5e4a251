/* The dashboard's correlation pages over real sockets: the lab site of corr_fixture.h (channel
 * and host RRD files written through storage/, a site config with its hosts, a Slurm export,
 * flagged addresses) served by dash_start() with the config, and libcurl against it.
 * /api/compute's series are checked against the utilisation and power written and the fit's
 * own coefficients; /api/flagged's answers against what the site was built to show; the
 * findings list, a finding's page and the overview against both; and bad input, unknown
 * addresses and sites, and every role. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "corr_fixture.h"
#include "dashboard/dash-private.h"
#include "dashboard/dashboard.h"
#include "http_client.h"
#include "siteconf/siteconf.h"

#define PASSWORD "correct horse battery"

typedef struct cfx {
    char dir[64], users[128], conf[128];
    dcf_truth_t *truth;
    siteconf_t *cfg;
    dash_t *d;
    char base[64];
    char viewer[DS_TOKEN_LEN + 1], manager[DS_TOKEN_LEN + 1], officer[DS_TOKEN_LEN + 1],
        zh[DS_TOKEN_LEN + 1];
} cfx_t;

static int setup(void **state)
{
    cfx_t *f = calloc(1, sizeof *f);
    char err[1024];
    strcpy(f->dir, "/tmp/wa-dash-corr-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    f->truth = malloc(sizeof *f->truth);
    assert_non_null(f->truth);
    if (dcf_write(f->dir, f->truth, err, sizeof err) < 0)
        fail_msg("fixture: %s", err);
    snprintf(f->users, sizeof f->users, "%s/users", f->dir);
    snprintf(f->conf, sizeof f->conf, "%s/site.conf", f->dir);
    static const struct {
        const char *name;
        dash_role_t role;
        const char *lang;
    } users[] = {{"vic", DASH_ROLE_VIEWER, "en"},
                 {"max", DASH_ROLE_MANAGER, "en"},
                 {"ola", DASH_ROLE_OFFICER, "en"},
                 {"wang", DASH_ROLE_MANAGER, "zh-CN"}};
    for (size_t i = 0; i < sizeof users / sizeof users[0]; i++)
        assert_int_equal(dash_user_add(f->users, users[i].name, users[i].role, users[i].lang,
                                       PASSWORD, err, sizeof err),
                         0);
    if (!(f->cfg = siteconf_load(f->conf, err, sizeof err)))
        fail_msg("config: %s", err);
    dash_opts_t o = {.cfg = f->cfg,
                     .status_file = "",
                     .users_file = f->users,
                     .www_dir = WA_SOURCE_WWW_DIR,
                     .threads = 2};
    if (!(f->d = dash_start(&o, err, sizeof err)))
        fail_msg("dash_start: %s", err);
    snprintf(f->base, sizeof f->base, "http://127.0.0.1:%d", dash_port(f->d));
    assert_int_equal(http_login(f->base, "vic", PASSWORD, f->viewer, NULL), 200);
    assert_int_equal(http_login(f->base, "max", PASSWORD, f->manager, NULL), 200);
    assert_int_equal(http_login(f->base, "ola", PASSWORD, f->officer, NULL), 200);
    assert_int_equal(http_login(f->base, "wang", PASSWORD, f->zh, NULL), 200);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    cfx_t *f = *state;
    char cmd[256];
    dash_stop(f->d);
    siteconf_free(f->cfg);
    free(f->truth);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    int rc = getenv("WA_KEEP") ? 0 : system(cmd); /* WA_KEEP=1: keep the site to look at */
    free(f);
    return rc == 0 ? 0 : -1;
}

static cJSON *get(cfx_t *f, const char *session, const char *path)
{
    return http_get_json(f->base, session, path);
}

static const char *str(const cJSON *o, const char *k)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(x) ? x->valuestring : NULL;
}

static double numk(const cJSON *o, const char *k)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(x) ? x->valuedouble : NAN;
}

static int near(double a, double b, double tol)
{
    return fabs(a - b) <= tol;
}

/* ---- Roles and bad input ---- */

static void test_corr_roles(void **state)
{
    cfx_t *f = *state;
    const char *who[3] = {f->viewer, f->manager, f->officer};
    static const struct {
        const char *path;
        dash_role_t least;
    } cases[] = {
        {"/api/compute?channel=lab/pdu/o2", DASH_ROLE_VIEWER},
        {"/api/flagged?site=lab", DASH_ROLE_MANAGER},
        {"/api/flagged", DASH_ROLE_MANAGER},
        {"/api/findings?source=correlation", DASH_ROLE_MANAGER},
        {"/api/finding?id=lab/pdu/o2:c0", DASH_ROLE_MANAGER},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        resp_t r;
        /* Without a session: a login first, whatever the role. */
        assert_int_equal(http_ex(f->base, "GET", cases[i].path, NULL, NULL, NULL, NULL, NULL, &r),
                         401);
        resp_free(&r);
        for (int role = 0; role < 3; role++) {
            long want = role >= (int)cases[i].least ? 200 : 403;
            long st = http_ex(f->base, "GET", cases[i].path, who[role], NULL, NULL, NULL, NULL, &r);
            if (st != want)
                fail_msg("%s as %s: %ld, expected %ld: %s", cases[i].path,
                         dash_role_name((dash_role_t)role), st, want, r.body ? r.body : "");
            if (want == 403) {
                cJSON *j = json_of(&r);
                assert_string_equal(str(j, "error"), "forbidden");
                cJSON_Delete(j);
            }
            resp_free(&r);
        }
    }
    resp_t r;
    assert_int_equal(http_ex(f->base, "POST", "/api/flagged", f->manager, NULL, "", NULL, NULL, &r),
                     405);
    resp_free(&r);
}

static void test_corr_bad_input(void **state)
{
    cfx_t *f = *state;
    static const struct {
        const char *path;
        long status;
        const char *error, *param;
    } cases[] = {
        {"/api/flagged?site=nosuch", 404, "no_such_site", "nosuch"},
        {"/api/flagged?site=../lab", 400, "bad_param", "site"},
        {"/api/flagged?site=lab&site=lab", 400, "bad_param", "site"},
        {"/api/flagged?host=gpu07", 400, "unknown_param", "host"},
        {"/api/flagged?site=lab&ip=10.0.0.9", 404, "no_such_address", "10.0.0.9"},
        {"/api/flagged?ip=2001:db8::1", 404, "no_such_address", "2001:db8::1"},
        {"/api/flagged?site=lab&ip=gpu07", 400, "bad_param", "ip"},
        {"/api/flagged?site=lab&ip=10.0.3.7.1", 400, "bad_param", "ip"},
        {"/api/flagged?site=lab&ip=", 400, "bad_param", "ip"},
        {"/api/compute", 400, "bad_param", "channel"},
        {"/api/compute?channel=../../etc/passwd", 400, "bad_param", "channel"},
        {"/api/compute?channel=lab/pdu/nosuch", 404, "no_such_channel", "lab/pdu/nosuch"},
        {"/api/compute?channel=lab/pdu/o4", 404, "no_hosts", "lab/pdu/o4"},
        {"/api/compute?channel=lab/pdu/o2&points=5", 400, "bad_param", "points"},
        {"/api/compute?channel=lab/pdu/o2&from=yesterday", 400, "bad_param", "from"},
        {"/api/compute?channel=lab/pdu/o2&from=2026-11-10&to=2026-11-05", 400, "bad_param", "to"},
        {"/api/compute?channel=lab/pdu/o2&ds=power", 400, "unknown_param", "ds"},
        {"/api/findings?load_class=evil", 400, "bad_param", "load_class"},
        {"/api/findings?source=guess", 400, "bad_param", "source"},
        {"/api/findings?kind=mining", 400, "bad_param", "kind"},
        {"/api/findings?channel=lab/pdu/nosuch", 404, "no_such_channel", "lab/pdu/nosuch"},
        {"/api/findings?channel=lab", 400, "bad_param", "channel"},
        {"/api/findings?sort=loadclass", 400, "bad_param", "sort"},
        {"/api/finding?id=lab/pdu/o2:c9", 404, "no_such_finding", "lab/pdu/o2:c9"},
        {"/api/finding?id=lab/pdu/o2:cx", 400, "bad_param", "id"},
        {"/api/finding?id=lab/pdu/o2:c-1", 400, "bad_param", "id"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        resp_t r;
        long st = http_ex(f->base, "GET", cases[i].path, f->manager, NULL, NULL, NULL, NULL, &r);
        if (st != cases[i].status)
            fail_msg("%s: %ld, expected %ld: %s", cases[i].path, st, cases[i].status,
                     r.body ? r.body : "");
        cJSON *j = json_of(&r);
        if (strcmp(str(j, "error"), cases[i].error) != 0 || !str(j, "param") ||
            strcmp(str(j, "param"), cases[i].param) != 0)
            fail_msg("%s: %s", cases[i].path, r.body);
        cJSON_Delete(j);
        resp_free(&r);
    }
    /* The messages in the asker's language. */
    static const struct {
        const char *path, *zh;
    } zh[] = {
        {"/api/compute?channel=lab/pdu/o4", "没有受监控的主机"},
        {"/api/flagged?site=lab&ip=10.0.0.9", "没有此被标记的地址"},
    };
    for (size_t i = 0; i < sizeof zh / sizeof zh[0]; i++) {
        resp_t r;
        assert_int_equal(http_ex(f->base, "GET", zh[i].path, f->zh, NULL, NULL, NULL, NULL, &r),
                         404);
        assert_non_null(strstr(r.body, zh[i].zh));
        resp_free(&r);
    }
}

/* ---- /api/compute against what was written ---- */

/* Index into the fixture's truth of the step ending at t. */
static size_t step_of(int64_t t)
{
    return (size_t)((t - DCF_T0) / DCF_STEP) - 1;
}

static const cJSON *fit_host(const cJSON *fit, const char *id)
{
    const cJSON *h;
    cJSON_ArrayForEach(h,
                       cJSON_GetObjectItem(fit, "hosts")) if (!strcmp(str(h, "id"), id)) return h;
    fail_msg("no host %s in the fit", id);
    return NULL;
}

/* Every step of a window at full resolution: power as written, explained = idle + slope x
 * utilisation with the fit's own idle and slopes and the utilisation written, residual their
 * difference.  Returns the largest |residual| over [t_a, t_b). */
static double check_window(cfx_t *f, size_t c, int64_t from, int64_t to, int64_t t_a, int64_t t_b)
{
    char path[256], chan[64];
    snprintf(chan, sizeof chan, "lab/%s", dcf_circuits[c]);
    snprintf(path, sizeof path, "/api/compute?channel=%s&from=%lld&to=%lld", chan, (long long)from,
             (long long)to);
    cJSON *j = get(f, f->viewer, path);
    assert_int_equal((int)numk(j, "step"), DCF_STEP);
    const cJSON *fit = cJSON_GetObjectItem(j, "fit");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(fit, "fitted")));
    double idle = numk(fit, "idle_w");
    double slope[DCF_NH] = {0};
    for (size_t k = 0; k < DCF_NH; k++)
        if (!strcmp(dcf_hosts[k].circuit, dcf_circuits[c]))
            slope[k] = numk(fit_host(fit, dcf_hosts[k].id), "slope_w");
    const cJSON *pw = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "power"), "avg");
    const cJSON *ex = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "explained"), "avg");
    const cJSON *rs = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "residual"), "avg");
    assert_null(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "power"), "min")); /* no groups */
    int64_t start = (int64_t)numk(j, "start");
    int n = cJSON_GetArraySize(pw), checked = 0;
    double worst = 0;
    assert_int_equal(cJSON_GetArraySize(ex), n);
    assert_int_equal(cJSON_GetArraySize(rs), n);
    for (int i = 0; i < n; i++) {
        int64_t t = start + (int64_t)(i + 1) * DCF_STEP;
        if (t <= DCF_T0 + DCF_STEP || t > DCF_T0 + (int64_t)DCF_N * DCF_STEP - DCF_STEP)
            continue;
        size_t s = step_of(t);
        double want = idle;
        for (size_t k = 0; k < DCF_NH; k++)
            want += slope[k] * f->truth->u[k][s];
        double p = cJSON_GetArrayItem(pw, i)->valuedouble,
               e = cJSON_GetArrayItem(ex, i)->valuedouble;
        double r = cJSON_GetArrayItem(rs, i)->valuedouble;
        if (!near(p, f->truth->w[c][s], 1e-6 * fmax(1, p)) || !near(e, want, 1e-6 * fmax(1, e)) ||
            !near(r, p - e, 1e-5 * fmax(1, fabs(p))))
            fail_msg("%s at %lld: power %.9g (written %.9g), explained %.9g (want %.9g), residual "
                     "%.9g",
                     chan, (long long)t, p, f->truth->w[c][s], e, want, r);
        if (t > t_a && t <= t_b && fabs(r) > worst)
            worst = fabs(r);
        checked++;
    }
    assert_true(checked > 100);
    cJSON_Delete(j);
    return worst;
}

static void test_corr_compute(void **state)
{
    cfx_t *f = *state;
    /* pdu/o2 over two days around the rig's start: the residual is the noise before it and
     * the rig's 1,200 W after it; srv0's slope is the 250 W it was built with. */
    double before = check_window(f, 1, DCF_RIG_FROM - 86400, DCF_RIG_FROM + 86400,
                                 DCF_RIG_FROM - 86400, DCF_RIG_FROM);
    assert_true(before < 40);
    cJSON *j = get(f, f->viewer, "/api/compute?channel=lab/pdu/o2&points=100");
    const cJSON *fit = cJSON_GetObjectItem(j, "fit");
    assert_true(near(numk(fit_host(fit, "srv0"), "slope_w"), 250, 10));
    assert_true(numk(fit, "r2") > 0.99);
    assert_true(near(numk(fit, "threshold_w"), 100, 1e-9)); /* max(100 W, 6 x a 2 W scale) */
    assert_int_equal((long long)numk(fit, "ref_from"), DCF_T0);
    /* Grouped to at most 100 points: each group's mean within its extremes, and the residual
     * at the end the rig's. */
    const cJSON *res = cJSON_GetObjectItem(j, "residual");
    int n = cJSON_GetArraySize(cJSON_GetObjectItem(res, "avg"));
    assert_true(n <= 100 && n >= 50);
    for (int i = 0; i < n; i++) {
        double a = cJSON_GetArrayItem(cJSON_GetObjectItem(res, "avg"), i)->valuedouble;
        double lo = cJSON_GetArrayItem(cJSON_GetObjectItem(res, "min"), i)->valuedouble;
        double hi = cJSON_GetArrayItem(cJSON_GetObjectItem(res, "max"), i)->valuedouble;
        assert_true(lo <= a + 1e-9 && a <= hi + 1e-9);
    }
    const cJSON *last = NULL, *v;
    cJSON_ArrayForEach(v, cJSON_GetObjectItem(res, "avg")) if (cJSON_IsNumber(v)) last = v;
    assert_non_null(last);
    if (!near(last->valuedouble, DCF_RIG_W, 60))
        fail_msg("the last residual: %.1f W", last->valuedouble);
    cJSON_Delete(j);
    int64_t after = DCF_RIG_FROM + 3 * 86400;
    double w = check_window(f, 1, after, after + 86400, after, after + 86400);
    assert_true(w < DCF_RIG_W + 60);

    /* The office floor's meter is polled: its row stamped T is the step after T.  Only set
     * against the hosts that way does the residual stay at the noise; a step off, the PCs'
     * five-minute swings (up to 150 W) would show in it. */
    j = get(f, f->viewer, "/api/compute?channel=lab/dist/l1&points=100");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(j, "polled")));
    cJSON_Delete(j);
    assert_true(check_window(f, 3, DCF_DAY(2), DCF_DAY(4), DCF_DAY(2), DCF_DAY(4)) < 40);

    /* The same request twice: the same bytes (cached). */
    resp_t a, b;
    const char *p = "/api/compute?channel=lab/pdu/o3&points=300";
    assert_int_equal(http_ex(f->base, "GET", p, f->viewer, NULL, NULL, NULL, NULL, &a), 200);
    assert_int_equal(http_ex(f->base, "GET", p, f->viewer, NULL, NULL, NULL, NULL, &b), 200);
    assert_int_equal(a.len, b.len);
    assert_memory_equal(a.body, b.body, a.len);
    resp_free(&a);
    resp_free(&b);
}

/* ---- /api/flagged: the inspectors' three answers ---- */

static void test_corr_flagged(void **state)
{
    cfx_t *f = *state;
    static const struct {
        const char *ip, *host, *channel, *cls, *kind, *unit;
        int64_t since; /* 0: none */
        double w;      /* NaN: none */
    } want[] = {
        {"10.0.1.1", "gpu01", "lab/pdu/o1", "research", "host_research", "host",
         DCF_DAY(1) + 10 * 3600, 800}, /* its first declared job, 4401 */
        {"10.0.2.1", "srv0", "lab/pdu/o2", "deliberate", "unexplained_residual", "gpu_rig",
         DCF_RIG_FROM, DCF_RIG_W},
        {"10.0.3.7", "gpu07", "lab/pdu/o3", "deliberate", "host_full_load", "host", DCF_EVENTS_FROM,
         900},
        {"10.0.4.2", "pc1", "lab/dist/l1", "passive", "host_off_hours", "host", DCF_EVENTS_FROM,
         100},
        {"203.0.113.9", NULL, NULL, NULL, "", "", 0, NAN},
    };
    cJSON *j = get(f, f->manager, "/api/flagged?site=lab");
    const cJSON *site = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "sites"), 0);
    assert_string_equal(str(site, "site"), "lab");
    assert_int_equal((int)numk(site, "hosts"), DCF_NH);
    const cJSON *fl = cJSON_GetObjectItem(site, "flagged");
    assert_int_equal(cJSON_GetArraySize(fl), 5); /* in the file's order, the unmapped one too */
    for (int i = 0; i < 5; i++) {
        const cJSON *x = cJSON_GetArrayItem(fl, i), *a = cJSON_GetObjectItem(x, "answer");
        assert_string_equal(str(x, "ip"), want[i].ip);
        if (!want[i].host) {
            assert_false(cJSON_IsTrue(cJSON_GetObjectItem(x, "mapped")));
            assert_true(cJSON_IsNull(cJSON_GetObjectItem(x, "host")));
            assert_true(cJSON_IsNull(cJSON_GetObjectItem(x, "channel")));
            assert_true(cJSON_IsNull(cJSON_GetObjectItem(a, "load_class")));
            assert_true(cJSON_IsNull(cJSON_GetObjectItem(a, "finding")));
            assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(x, "findings")), 0);
            assert_non_null(strstr(str(a, "why"), "unmapped"));
            continue;
        }
        assert_true(cJSON_IsTrue(cJSON_GetObjectItem(x, "mapped")));
        assert_string_equal(str(x, "host"), want[i].host);
        assert_string_equal(str(x, "channel"), want[i].channel);
        assert_string_equal(str(a, "load_class"), want[i].cls);
        assert_string_equal(str(a, "kind"), want[i].kind);
        assert_string_equal(str(a, "unit"), want[i].unit);
        assert_true(strlen(str(a, "why")) > 10);
        /* Onsets on the fit's hourly grid (the config's mid_step). */
        if (!near(numk(a, "since"), (double)want[i].since, 3600))
            fail_msg("%s: since %.0f, built %lld", want[i].ip, numk(a, "since"),
                     (long long)want[i].since);
        if (!near(numk(a, "w"), want[i].w, 0.1 * want[i].w))
            fail_msg("%s: %.0f W, built %.0f", want[i].ip, numk(a, "w"), want[i].w);
        assert_true(numk(a, "count_min") >= 1 && numk(a, "count_max") >= numk(a, "count_min"));
        /* The answer links to its evidence: a finding of the same kind and class. */
        char path[400];
        snprintf(path, sizeof path, "/api/finding?id=%s", str(a, "finding"));
        cJSON *fd = get(f, f->manager, path);
        assert_string_equal(str(fd, "kind"), want[i].kind);
        assert_string_equal(str(fd, "load_class"), want[i].cls);
        assert_string_equal(str(fd, "channel"), want[i].channel);
        if (!strcmp(want[i].unit, "host"))
            assert_string_equal(str(fd, "host"), want[i].host);
        assert_true(cJSON_GetArraySize(cJSON_GetObjectItem(fd, "evidence")) >= 1);
        cJSON_Delete(fd);
        /* And every finding on its circuit is listed, each with its class and its own link. */
        const cJSON *fs = cJSON_GetObjectItem(x, "findings"), *e;
        int found = 0;
        assert_true(cJSON_GetArraySize(fs) >= 1);
        cJSON_ArrayForEach(e, fs)
        {
            assert_string_equal(str(e, "channel"), want[i].channel);
            assert_non_null(str(e, "id"));
            found |= !strcmp(str(e, "id"), str(a, "finding"));
        }
        assert_true(found);
    }
    cJSON_Delete(j);
    /* Served again from the cache: the same bytes. */
    resp_t a, b;
    assert_int_equal(
        http_ex(f->base, "GET", "/api/flagged?site=lab", f->manager, NULL, NULL, NULL, NULL, &a),
        200);
    assert_int_equal(
        http_ex(f->base, "GET", "/api/flagged?site=lab", f->manager, NULL, NULL, NULL, NULL, &b),
        200);
    assert_int_equal(a.len, b.len);
    assert_memory_equal(a.body, b.body, a.len);
    resp_free(&a);
    resp_free(&b);
    /* One address, as a mapped IPv6 spelling of it. */
    j = get(f, f->manager, "/api/flagged?site=lab&ip=::ffff:10.0.3.7");
    fl = cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "sites"), 0), "flagged");
    assert_int_equal(cJSON_GetArraySize(fl), 1);
    assert_string_equal(str(cJSON_GetArrayItem(fl, 0), "host"), "gpu07");
    cJSON_Delete(j);
}

/* ---- Findings of both layers, with their class ---- */

static void test_corr_findings(void **state)
{
    cfx_t *f = *state;
    /* Every correlation kind is in the list, each classed as the site was built. */
    static const struct {
        const char *kind, *cls;
        int n;
    } kinds[] = {
        {"unexplained_residual", "deliberate", 1},
        {"host_full_load", "deliberate", 1},
        {"host_off_hours", "passive", 3},
        {"host_research", "research", 2},
    };
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        char path[128];
        snprintf(path, sizeof path, "/api/findings?kind=%s", kinds[i].kind);
        cJSON *j = get(f, f->manager, path);
        const cJSON *x;
        assert_int_equal((int)numk(j, "total"), kinds[i].n);
        cJSON_ArrayForEach(x, cJSON_GetObjectItem(j, "findings"))
        {
            assert_string_equal(str(x, "source"), "correlation");
            assert_string_equal(str(x, "load_class"), kinds[i].cls);
            assert_true(strlen(str(x, "load_class_why")) > 10);
        }
        cJSON_Delete(j);
    }
    /* Research is explained: out of "unexplained", in "explained", and the power finding it
     * explains on the research circuit is research too. */
    cJSON *j = get(f, f->manager, "/api/findings?load_class=research&status=unexplained");
    assert_int_equal((int)numk(j, "total"), 0);
    cJSON_Delete(j);
    j = get(f, f->manager, "/api/findings?channel=lab/pdu/o1&source=power");
    assert_int_equal((int)numk(j, "total"), 1);
    const cJSON *x = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "findings"), 0);
    assert_string_equal(str(x, "load_class"), "research");
    assert_non_null(strstr(str(x, "explained_by"), "4410"));
    cJSON_Delete(j);
    /* The rig's step on the storage circuit is deliberate because no host accounts for it. */
    j = get(f, f->manager, "/api/findings?channel=lab/pdu/o2&source=power");
    assert_int_equal((int)numk(j, "total"), 1);
    x = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "findings"), 0);
    assert_string_equal(str(x, "load_class"), "deliberate");
    assert_non_null(strstr(str(x, "load_class_why"), "no monitored host"));
    cJSON_Delete(j);
    /* Sorted by class, both ways. */
    for (int asc = 0; asc < 2; asc++) {
        j = get(f, f->manager,
                asc ? "/api/findings?sort=load_class&order=asc"
                    : "/api/findings?sort=load_class&order=desc");
        const cJSON *arr = cJSON_GetObjectItem(j, "findings");
        for (int i = 1; i < cJSON_GetArraySize(arr); i++) {
            const char *a = str(cJSON_GetArrayItem(arr, i - 1), "load_class");
            const char *b = str(cJSON_GetArrayItem(arr, i), "load_class");
            int c = strcmp(a ? a : "", b ? b : "");
            assert_true(asc ? c <= 0 : c >= 0);
        }
        cJSON_Delete(j);
    }
    /* A finding's page: its class, the circuit's fit and hosts, the residual. */
    j = get(f, f->manager, "/api/finding?id=lab/pdu/o2:c0");
    assert_string_equal(str(j, "kind"), "unexplained_residual");
    assert_string_equal(str(j, "residual_code"), "fitted");
    assert_true(near(numk(j, "residual_w"), DCF_RIG_W * 0.6, DCF_RIG_W * 0.2)); /* 5.5 of 9 d */
    const cJSON *corr = cJSON_GetObjectItem(j, "correlation");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(corr, "fitted")));
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(corr, "hosts")), 1);
    assert_true(near(numk(fit_host(corr, "srv0"), "coverage"), 1, 1e-9));
    int names = 0;
    cJSON_ArrayForEach(x, cJSON_GetObjectItem(j, "evidence")) names +=
        !strcmp(str(x, "name"), "residual_w") || !strcmp(str(x, "name"), "threshold_w");
    assert_int_equal(names, 2);
    cJSON_Delete(j);
    /* A channel without hosts says why its residual is unknown. */
    j = get(f, f->manager, "/api/finding?id=lab/pdu/o4:0");
    assert_string_equal(str(j, "residual_code"), "no_hosts");
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(j, "residual_w")));
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(j, "correlation")));
    cJSON_Delete(j);

    /* The overview counts them by class, and names the hosts and flagged addresses. */
    j = get(f, f->viewer, "/api/sites");
    const cJSON *s = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "sites"), 0);
    assert_int_equal((int)numk(s, "hosts"), DCF_NH);
    assert_int_equal((int)numk(s, "flagged"), 5);
    const cJSON *by = cJSON_GetObjectItem(cJSON_GetObjectItem(s, "findings"), "by_load_class");
    assert_true(numk(by, "research") >= 3 && numk(by, "passive") >= 4 &&
                numk(by, "deliberate") >= 3);
    cJSON_Delete(j);
    j = get(f, f->viewer, "/api/channels?site=lab");
    cJSON_ArrayForEach(x, cJSON_GetObjectItem(j, "channels"))
    {
        int hosts = !strcmp(str(x, "id"), "lab/pdu/o4")    ? 0
                    : !strcmp(str(x, "id"), "lab/dist/l1") ? 3
                    : !strcmp(str(x, "id"), "lab/pdu/o2")  ? 1
                                                           : 2;
        assert_int_equal((int)numk(x, "hosts"), hosts);
    }
    cJSON_Delete(j);
}

/* The savings report carries each finding's class; research is explained, so not a saving. */
static void test_corr_report(void **state)
{
    cfx_t *f = *state;
    cJSON *j = get(f, f->officer, "/api/report?format=json");
    const cJSON *site = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "sites"), 0), *c, *x;
    int research = 0;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(site, "channels"))
        cJSON_ArrayForEach(x, cJSON_GetObjectItem(c, "findings"))
    {
        assert_non_null(str(x, "class"));
        if (!strcmp(str(x, "class"), "research")) {
            research++;
            assert_non_null(str(x, "explained_by"));
        }
    }
    assert_int_equal(research, 1);
    cJSON_Delete(j);
}

int corr_tests_run(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_corr_roles),    cmocka_unit_test(test_corr_bad_input),
        cmocka_unit_test(test_corr_compute),  cmocka_unit_test(test_corr_flagged),
        cmocka_unit_test(test_corr_findings), cmocka_unit_test(test_corr_report),
    };
    return cmocka_run_group_tests_name("dashboard_correlation", tests, setup, teardown);
}
