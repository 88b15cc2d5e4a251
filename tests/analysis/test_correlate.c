/* correlate: simulated circuits whose hosts run known workloads.  Power follows a known model
 * (idle + slope x utilisation + noise) plus the hidden loads; the tests check each finding's
 * class, onset and size, that explained loads are not flagged, the flagged-IP mapping, and the
 * declaration parsers. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "analysis/correlate-private.h"
#include "common/common.h"
#include "siteconf/siteconf.h"

#define STEP 300
#define DAYS 14
#define N ((size_t)DAYS * 86400 / STEP)
/* Monday 2026-11-02 00:00 UTC: the week starts the data, so weekends fall on days 5-6, 12-13. */
#define T0 1793577600
#define DAY(d) ((int64_t)T0 + (int64_t)(d) * 86400)

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static double urand(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (double)(rng_state >> 11) / 9007199254740992.0;
}
static double noise(double sd)
{
    return sd * (urand() + urand() + urand() + urand() - 2.0) * 1.7320508;
}

static int64_t t_of(size_t i)
{
    return T0 + (int64_t)(i + 1) * STEP;
}
static int hour_of(size_t i)
{
    return (int)((t_of(i) % 86400) / 3600);
}
static int weekend(size_t i)
{
    int d = (int)((t_of(i) - T0) / 86400) % 7;
    return d == 5 || d == 6;
}
static int workhours(size_t i)
{
    return !weekend(i) && hour_of(i) >= 8 && hour_of(i) < 18;
}

typedef struct circuit {
    sc_host_t cfg[8];
    double *u[8];
    cr_host_t hosts[8];
    size_t nh;
    double w[N];
} circuit_t;

static circuit_t *circuit_new(void)
{
    circuit_t *c = calloc(1, sizeof *c);
    assert_non_null(c);
    return c;
}

static double *add_host(circuit_t *c, const char *id, const char *role, const char *ip,
                        const char *channel)
{
    sc_host_t *h = &c->cfg[c->nh];
    wa_strlcpy(h->id, id, sizeof h->id);
    wa_strlcpy(h->role, role, sizeof h->role);
    wa_strlcpy(h->ips[0], ip, sizeof h->ips[0]);
    wa_strlcpy(h->channel, channel, sizeof h->channel);
    h->n_ips = 1;
    c->u[c->nh] = calloc(N, sizeof(double));
    assert_non_null(c->u[c->nh]);
    c->hosts[c->nh] = (cr_host_t){h, c->u[c->nh]};
    return c->u[c->nh++];
}

static void circuit_free(circuit_t *c)
{
    for (size_t k = 0; k < c->nh; k++)
        free(c->u[k]);
    free(c);
}

/* Power = sum(idle + slope u) + extra + noise. */
static void power(circuit_t *c, const double *idle, const double *slope, double (*extra)(size_t))
{
    for (size_t i = 0; i < N; i++) {
        double p = 0;
        for (size_t k = 0; k < c->nh; k++)
            p += idle[k] + slope[k] * c->u[k][i];
        c->w[i] = p + (extra ? extra(i) : 0) + noise(15);
    }
}

static double office_day(size_t i)
{
    return workhours(i) ? 0.2 + 0.5 * urand() : 0.02 + 0.02 * urand();
}

static const cr_opts_t opts = {.ref_from = T0, .ref_to = T0 + 4 * 86400};

static const cr_finding_t *find(const cr_circuit_t *r, cr_kind_t k, const char *host)
{
    for (size_t i = 0; i < r->n_findings; i++)
        if (r->findings[i].kind == k && (!host || !strcmp(r->findings[i].host, host)))
            return &r->findings[i];
    return NULL;
}

static void analyze(circuit_t *c, const cr_job_t *jobs, size_t nj, cr_circuit_t *r)
{
    char err[256];
    if (cr_circuit_analyze(c->w, N, T0, STEP, c->hosts, c->nh, jobs, nj, &opts, r, err,
                           sizeof err) < 0)
        fail_msg("analyze: %s", err);
}

/* Declared research on two GPU nodes: research, nothing flagged. */
static void test_research(void **state)
{
    (void)state;
    circuit_t *c = circuit_new();
    double *a = add_host(c, "gpu01", "gpu_node", "10.0.1.1", "pdu/o1");
    double *b = add_host(c, "gpu02", "gpu_node", "10.0.1.2", "pdu/o1");
    const cr_job_t jobs[] = {
        {"4410", "li", "gpu01,gpu02", DAY(1) + 10 * 3600, DAY(1) + 16 * 3600},
        {"4411", "li", "gpu01", DAY(5), DAY(8)},
        {"4412", "wang", "gpu02", DAY(9), DAY(13)},
    };
    for (size_t i = 0; i < N; i++) {
        int64_t t = t_of(i);
        a[i] = 0.03 * urand();
        b[i] = 0.03 * urand();
        for (size_t j = 0; j < 3; j++)
            if (t >= jobs[j].from && t < jobs[j].to) {
                if (strstr(jobs[j].hosts, "gpu01"))
                    a[i] = 0.95 + 0.05 * urand();
                if (strstr(jobs[j].hosts, "gpu02"))
                    b[i] = 0.95 + 0.05 * urand();
            }
    }
    power(c, (double[]){200, 200}, (double[]){800, 800}, NULL);
    cr_circuit_t r;
    analyze(c, jobs, 3, &r);
    assert_int_equal(r.n_findings, 2);
    for (size_t i = 0; i < r.n_findings; i++) {
        assert_int_equal(r.findings[i].kind, CR_HOST_RESEARCH);
        assert_int_equal(r.findings[i].cls, CR_RESEARCH);
        assert_true(fabs(r.findings[i].w - 780) < 80);
    }
    const cr_finding_t *f = find(&r, CR_HOST_RESEARCH, "gpu02");
    assert_non_null(f);
    assert_string_equal(f->explained_by, "4410,4412");
    assert_true(fabs(r.idle_w - 400) < 20);
    assert_true(fabs(r.slope[0] - 800) < 40 && r.slope_fitted[0]);
    assert_true(r.r2 > 0.95 && r.pearson > 0.95 && r.spearman > 0.5);
    assert_int_equal(r.best_lag, 0);
    cr_circuit_free(&r);
    circuit_free(c);
}

static double hidden_rig(size_t i)
{
    return t_of(i) >= DAY(8) + 10 * 3600 ? 1200 : 0;
}

/* A rig with no host behind three ordinary servers: the residual, deliberate. */
static void test_hidden_rig(void **state)
{
    (void)state;
    circuit_t *c = circuit_new();
    for (int k = 0; k < 3; k++) {
        char id[16];
        snprintf(id, sizeof id, "srv%d", k);
        double *u = add_host(c, id, "server", k == 0 ? "10.0.2.1" : k == 1 ? "10.0.2.2" : "10.0.2.3",
                             "pdu/o2");
        for (size_t i = 0; i < N; i++)
            u[i] = office_day(i) + 0.1 * urand();
    }
    power(c, (double[]){150, 150, 150}, (double[]){250, 250, 250}, hidden_rig);
    cr_circuit_t r;
    analyze(c, NULL, 0, &r);
    assert_int_equal(r.n_findings, 1); /* nothing else: the servers are explained */
    const cr_finding_t *f = find(&r, CR_RESIDUAL, NULL);
    assert_non_null(f);
    assert_int_equal(f->cls, CR_DELIBERATE);
    assert_true(llabs(f->onset - (DAY(8) + 10 * 3600)) <= 2 * STEP);
    assert_true(fabs(f->w - 1200) < 60);
    assert_true(f->count_min <= 1 && f->count_max >= 1);
    assert_true(r.resid_mean_w > 500);
    cr_circuit_free(&r);
    circuit_free(c);
}

/* A monitored GPU node at full load day and night from day 5, no job: deliberate. */
static void test_host_mining(void **state)
{
    (void)state;
    circuit_t *c = circuit_new();
    double *g = add_host(c, "gpu07", "gpu_node", "10.0.3.7", "pdu/o3");
    double *s = add_host(c, "web", "server", "10.0.3.8", "pdu/o3");
    for (size_t i = 0; i < N; i++) {
        g[i] = t_of(i) >= DAY(5) ? 0.97 + 0.03 * urand()
                                 : (workhours(i) && urand() < 0.5 ? 0.3 + 0.3 * urand() : 0.02);
        s[i] = office_day(i);
    }
    power(c, (double[]){180, 120}, (double[]){900, 200}, NULL);
    cr_circuit_t r;
    analyze(c, NULL, 0, &r);
    assert_int_equal(r.n_findings, 1);
    const cr_finding_t *f = find(&r, CR_HOST_FULL, "gpu07");
    assert_non_null(f);
    assert_int_equal(f->cls, CR_DELIBERATE);
    assert_true(llabs(f->onset - DAY(5)) <= 2 * STEP);
    assert_true(fabs(f->w - 880) < 90);
    assert_int_equal(f->count_min, 1);
    cr_circuit_free(&r);
    circuit_free(c);
}

/* Five office PCs mining at night and at weekends from day 7: passive, one finding each. */
static void test_office_night(void **state)
{
    (void)state;
    circuit_t *c = circuit_new();
    double idle[5], slope[5];
    for (int k = 0; k < 5; k++) {
        char id[16], ip[16];
        snprintf(id, sizeof id, "pc%d", k);
        snprintf(ip, sizeof ip, "10.0.4.%d", k + 1);
        double *u = add_host(c, id, "office_pc", ip, "dist/l1");
        for (size_t i = 0; i < N; i++)
            u[i] = t_of(i) >= DAY(7) && !workhours(i) ? 0.95 + 0.05 * urand() : office_day(i);
        idle[k] = 40;
        slope[k] = 100;
    }
    power(c, idle, slope, NULL);
    cr_circuit_t r;
    analyze(c, NULL, 0, &r);
    assert_int_equal(r.n_findings, 5);
    for (size_t i = 0; i < r.n_findings; i++) {
        const cr_finding_t *f = &r.findings[i];
        assert_int_equal(f->kind, CR_HOST_OFF_HOURS);
        assert_int_equal(f->cls, CR_PASSIVE);
        assert_true(llabs(f->onset - DAY(7)) <= 2 * STEP);
        assert_true(fabs(f->w - 97) < 25);
    }
    cr_circuit_free(&r);
    circuit_free(c);
}

/* Two nodes that always run the same jobs: their loads move together, so the fit cannot tell
 * their slopes apart (the normal matrix is singular; the truncated SVD takes over), but their
 * sum, the circuit's idle and the absence of findings stand. */
static void test_hosts_in_lockstep(void **state)
{
    (void)state;
    circuit_t *c = circuit_new();
    double *a = add_host(c, "n1", "gpu_node", "10.0.5.1", "pdu/o5");
    double *b = add_host(c, "n2", "gpu_node", "10.0.5.2", "pdu/o5");
    for (size_t i = 0; i < N; i++)
        a[i] = b[i] = workhours(i) ? 0.3 + 0.6 * urand() : 0.05 * urand();
    power(c, (double[]){100, 100}, (double[]){600, 400}, NULL);
    cr_circuit_t r;
    analyze(c, NULL, 0, &r);
    assert_true(r.slope_fitted[0] && r.slope_fitted[1]);
    assert_true(fabs(r.slope[0] + r.slope[1] - 1000) < 30);
    assert_true(fabs(r.idle_w - 200) < 15);
    assert_int_equal(r.n_findings, 0);
    cr_circuit_free(&r);
    circuit_free(c);
}

static void test_stats(void **state)
{
    (void)state;
    double x[] = {1, 2, 3, 4, 5, NAN}, y[] = {2, 4, 6, 8, 100, 1};
    assert_true(fabs(cr_pearson(x, x, 6) - 1) < 1e-12);
    assert_true(fabs(cr_spearman(x, y, 6) - 1) < 1e-12); /* monotone, not linear */
    assert_true(cr_pearson(x, y, 6) < 0.9);
    assert_true(isnan(cr_pearson(x, y, 2)));
}

static void test_jobs_parse(void **state)
{
    (void)state;
    static const char sacct[] = "JobID|User|NodeList|Start|End|State\n"
                                "4410|li|gpu[01-03,07]|2026-11-02T10:00:00|2026-11-02T16:00:00|"
                                "COMPLETED\n"
                                "4410.batch||gpu01|2026-11-02T10:00:00|2026-11-02T16:00:00|X\n"
                                "4411|wang|cpu1|2026-11-03T00:00:00|Unknown|RUNNING\n"
                                "4412|zhao|None assigned|Unknown|Unknown|PENDING\n";
    cr_job_t *j;
    char err[256];
    int n = cr_jobs_parse("sacct.txt", sacct, strlen(sacct), "UTC", &j, err, sizeof err);
    if (n < 0)
        fail_msg("%s", err);
    assert_int_equal(n, 2);
    assert_string_equal(j[0].hosts, "gpu01,gpu02,gpu03,gpu07");
    assert_string_equal(j[0].user, "li");
    assert_int_equal(j[0].from, T0 + 10 * 3600);
    assert_int_equal(j[1].to, INT64_MAX);
    free(j);
    static const struct {
        const char *text;
        const char *words;
    } bad[] = {
        {"Job|Nodes\n1|a\n", "sacct.txt:1: header must name"},
        {"JobID|NodeList|Start|End\n1|a[1-|2026-11-02|2026-11-03\n", ":2: node list"},
        {"JobID|NodeList|Start|End\n1|a|yesterday|2026-11-03\n", ":2: Start is not a time"},
        {"JobID|NodeList|Start|End\n1|a|2026-11-03|2026-11-02\n", ":2: End is not a time after"},
        {"JobID|NodeList|Start|End\n1|a\n", ":2: fewer fields"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(cr_jobs_parse("sacct.txt", bad[i].text, strlen(bad[i].text), "UTC", &j,
                                       err, sizeof err),
                         -1);
        assert_int_equal(errno, WA_EPROTO);
        if (!strstr(err, bad[i].words))
            fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err, bad[i].words);
    }
}

/* Each flagged address: host, circuit, and that circuit's findings; unknown ones unmapped. */
static void test_flagged_ips(void **state)
{
    (void)state;
    static const char text[] = "# from the campus IDS\n10.0.1.1,2026-11-09T03:10\n"
                               "10.0.2.2,2026-11-10 12:00\n10.0.3.7,2026-11-08\n"
                               "10.0.4.3,2026-11-10T02:00\n203.0.113.9,2026-11-10\n";
    cr_flagged_t *f;
    char err[256];
    int n = cr_flagged_parse("ips.csv", text, strlen(text), "UTC", &f, err, sizeof err);
    if (n < 0)
        fail_msg("%s", err);
    assert_int_equal(n, 5);
    sc_host_t hosts[4] = {0};
    const char *ids[] = {"gpu01", "srv1", "gpu07", "pc2"};
    const char *ips[] = {"10.0.1.1", "10.0.2.2", "10.0.3.7", "10.0.4.3"};
    for (int k = 0; k < 4; k++) {
        wa_strlcpy(hosts[k].id, ids[k], sizeof hosts[k].id);
        wa_strlcpy(hosts[k].ips[0], ips[k], sizeof hosts[k].ips[0]);
        hosts[k].n_ips = 1;
    }
    sc_site_t site = {.hosts = hosts, .n_hosts = 4};
    for (int k = 0; k < 4; k++)
        assert_ptr_equal(cr_host_by_ip(&site, f[k].ip), &hosts[k]);
    assert_null(cr_host_by_ip(&site, f[4].ip)); /* listed as unmapped by the caller */
    assert_int_equal(f[1].seen, T0 + 8 * 86400 + 12 * 3600);
    free(f);
    assert_int_equal(cr_flagged_parse("ips.csv", "10.0.0.300,2026-11-10\n", 22, "UTC", &f, err,
                                      sizeof err),
                     -1);
    assert_non_null(strstr(err, "ips.csv:1: not an IPv4"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_research),          cmocka_unit_test(test_hidden_rig),
        cmocka_unit_test(test_host_mining),       cmocka_unit_test(test_office_night),
        cmocka_unit_test(test_hosts_in_lockstep), cmocka_unit_test(test_stats),
        cmocka_unit_test(test_jobs_parse),        cmocka_unit_test(test_flagged_ips),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
