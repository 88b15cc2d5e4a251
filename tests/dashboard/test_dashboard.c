/* The dashboard over real sockets: libcurl against dash_start() on a loopback port, over RRD
 * files written through storage/ and a collector status file.  Every endpoint, with bad input,
 * missing or wrong sessions, roles, CSRF tokens and origins, the login rate limit, and HTTPS
 * with a self-signed certificate made by openssl. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dashboard/dash-private.h"
#include "dashboard/dashboard.h"
#include "storage/storage.h"
#include "http_client.h"

#define STEP 300
#define DAYS 21
#define N_STEPS (DAYS * 86400 / STEP)
#define T0 1790000400LL /* 2026-09-21 16:20 UTC, a whole number of steps */
#define STEP_AT (T0 + 10 * 86400LL)
#define STEP_W 1350.0
#define PASSWORD "correct horse battery"

typedef struct fixture {
    char dir[64], data[128], users[128], status[128];
    dash_t *d;
    char base[64];
    char admin[DS_TOKEN_LEN + 1], viewer[DS_TOKEN_LEN + 1], manager[DS_TOKEN_LEN + 1],
        officer[DS_TOKEN_LEN + 1];
    char csrf_admin[DS_TOKEN_LEN + 1];
} fixture_t;

static long http(fixture_t *f, const char *method, const char *path, const char *session,
                 const char *csrf, const char *body, resp_t *out)
{
    return http_ex(f->base, method, path, session, csrf, body, NULL, NULL, out);
}

static long login(fixture_t *f, const char *user, const char *pw, char *sid_out, char *csrf_out)
{
    return http_login(f->base, user, pw, sid_out, csrf_out);
}

static void visit(fixture_t *f, char *sid, char *csrf)
{
    http_visit(f->base, sid, csrf);
}

static double power_at(const char *ch, int64_t t)
{
    if (strcmp(ch, "outlet1") == 0)
        return 300.0 + (t > STEP_AT ? STEP_W : 0.0);
    return 200.0 + 5.0 * sin((double)t / 7200.0);
}

static void write_data(fixture_t *f)
{
    char err[512];
    storage_t *st = storage_open(f->data, NULL, err, sizeof err);
    assert_non_null(st);
    const storage_layout_t lay = {.step_s = STEP,
                                  .full_days = 35,
                                  .mid_step_s = 3600,
                                  .mid_days = 40,
                                  .long_step_s = 86400,
                                  .long_days = 60};
    static const char *const rel[] = {"alpha/pdu/outlet1", "alpha/pdu/outlet2", "beta/meter/total"};
    static const char *const ch[] = {"outlet1", "outlet2", "total"};
    for (int c = 0; c < 3; c++)
        assert_int_equal(storage_ensure(st, rel[c], &lay, T0, err, sizeof err), 0);
    double wh[3] = {0};
    for (int i = 0; i < N_STEPS; i++) {
        int64_t t = T0 + (int64_t)(i + 1) * STEP;
        for (int c = 0; c < 3; c++) {
            storage_sample_t s;
            for (int k = 0; k < STORAGE_DS_COUNT_; k++)
                s.v[k] = NAN;
            s.v[STORAGE_DS_POWER] = power_at(ch[c], t);
            wh[c] += s.v[STORAGE_DS_POWER] * STEP / 3600.0;
            s.v[STORAGE_DS_ENERGY] = wh[c];
            assert_int_equal(storage_put(st, rel[c], t, &s), 0);
        }
    }
    assert_int_equal(storage_flush(st, err, sizeof err), 0);
    storage_close(st);
    int64_t end = T0 + (int64_t)N_STEPS * STEP;
    FILE *sf = fopen(f->status, "w");
    assert_non_null(sf);
    /* The collector's status (docs/collector.md): one device up, one stale, one quarantined. */
    fprintf(sf,
            "{\"version\":1,\"written\":%lld,\"clock\":%lld,\"stepped\":true,\"devices\":["
            "{\"site\":\"alpha\",\"device\":\"pdu\",\"interval\":300,\"last_ok\":%lld,"
            "\"quarantined\":false,\"errors\":0,\"last_error\":\"\"},"
            "{\"site\":\"alpha\",\"device\":\"ups\",\"interval\":60,\"last_ok\":%lld,"
            "\"quarantined\":false,\"errors\":3,\"last_error\":\"timeout\"},"
            "{\"site\":\"beta\",\"device\":\"meter\",\"interval\":60,\"last_ok\":null,"
            "\"quarantined\":true,\"errors\":9,\"last_error\":\"Connection refused\"}]}",
            (long long)end, (long long)end, (long long)end, (long long)(end - 3600));
    fclose(sf);
}

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    char err[1024];
    strcpy(f->dir, "/tmp/wa-dash-test-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->data, sizeof f->data, "%s/data", f->dir);
    snprintf(f->users, sizeof f->users, "%s/users", f->dir);
    snprintf(f->status, sizeof f->status, "%s/status.json", f->dir);
    write_data(f);
    static const struct {
        const char *name;
        dash_role_t role;
        const char *lang;
    } users[] = {{"ada", DASH_ROLE_ADMIN, "en"},
                 {"vic", DASH_ROLE_VIEWER, "zh-CN"},
                 {"max", DASH_ROLE_MANAGER, "en"},
                 {"ola", DASH_ROLE_OFFICER, "en"}};
    for (size_t i = 0; i < sizeof users / sizeof users[0]; i++)
        assert_int_equal(dash_user_add(f->users, users[i].name, users[i].role, users[i].lang,
                                       PASSWORD, err, sizeof err),
                         0);
    struct stat sb;
    assert_int_equal(stat(f->users, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    dash_opts_t o = {.data_dir = f->data,
                     .status_file = f->status,
                     .users_file = f->users,
                     .www_dir = WA_SOURCE_WWW_DIR,
                     .tz = "UTC",
                     .login_max_failures = 3,
                     .login_window_s = 60,
                     .threads = 2};
    f->d = dash_start(&o, err, sizeof err);
    if (!f->d)
        fail_msg("dash_start: %s", err);
    snprintf(f->base, sizeof f->base, "http://127.0.0.1:%d", dash_port(f->d));
    assert_int_equal(login(f, "ada", PASSWORD, f->admin, f->csrf_admin), 200);
    assert_int_equal(login(f, "vic", PASSWORD, f->viewer, NULL), 200);
    assert_int_equal(login(f, "max", PASSWORD, f->manager, NULL), 200);
    assert_int_equal(login(f, "ola", PASSWORD, f->officer, NULL), 200);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    char cmd[256];
    dash_stop(f->d);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    if (system(cmd) != 0)
        return -1;
    free(f);
    return 0;
}

/* ---- Without a session ---- */

static void test_anonymous(void **state)
{
    fixture_t *f = *state;
    static const struct {
        const char *method, *path;
        long status;
        const char *error; /* the JSON error code, or NULL for a page */
    } cases[] = {
        {"GET", "/", 200, NULL},
        {"GET", "/www/app.js", 200, NULL},
        {"GET", "/www/app.css", 200, NULL},
        {"GET", "/www/nosuch.js", 404, "not_found"},
        {"GET", "/www/../dashboard.h", 404, "not_found"},
        {"GET", "/www/..%2fdashboard.h", 404, "not_found"},
        {"GET", "/www/.hidden", 404, "not_found"},
        {"POST", "/", 405, "method_not_allowed"},
        {"DELETE", "/www/app.js", 405, "method_not_allowed"},
        {"GET", "/api/nosuch", 404, "not_found"},
        {"GET", "/etc/passwd", 404, "not_found"},
        {"GET", "/api/sites", 401, "login_required"},
        {"GET", "/api/channels", 401, "login_required"},
        {"GET", "/api/series?channel=alpha/pdu/outlet1", 401, "login_required"},
        {"GET", "/api/factors", 401, "login_required"},
        {"GET", "/api/findings", 401, "login_required"},
        {"GET", "/api/finding?id=alpha/pdu/outlet1:0", 401, "login_required"},
        {"GET", "/api/report", 401, "login_required"},
        {"GET", "/api/users", 401, "login_required"},
        {"POST", "/api/sites", 405, "method_not_allowed"},
        {"GET", "/api/login", 405, "method_not_allowed"},
        {"POST", "/api/login", 403, "csrf"},
        {"POST", "/api/logout", 401, "login_required"},
        {"POST", "/api/prefs", 403, "csrf"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        resp_t r;
        long st = http(f, cases[i].method, cases[i].path, NULL, NULL,
                       strcmp(cases[i].method, "POST") == 0 ? "" : NULL, &r);
        if (st != cases[i].status)
            fail_msg("%s %s: %ld, expected %ld: %s", cases[i].method, cases[i].path, st,
                     cases[i].status, r.body ? r.body : "");
        if (cases[i].error) {
            cJSON *j = json_of(&r);
            assert_string_equal(cJSON_GetObjectItem(j, "error")->valuestring, cases[i].error);
            assert_true(cJSON_IsString(cJSON_GetObjectItem(j, "message")));
            cJSON_Delete(j);
        }
        /* Every response carries the security headers. */
        assert_non_null(strstr(r.headers, "Content-Security-Policy: default-src 'self'"));
        assert_non_null(strstr(r.headers, "X-Content-Type-Options: nosniff"));
        resp_free(&r);
    }
}

/* ---- Login, CSRF, origin, rate limit, logout ---- */

static void test_login_csrf(void **state)
{
    fixture_t *f = *state;
    char sid[DS_TOKEN_LEN + 1], csrf[DS_TOKEN_LEN + 1], body[512], other[DS_TOKEN_LEN + 1];
    resp_t r;
    visit(f, sid, csrf);
    /* The cookie is HttpOnly and SameSite. */
    assert_int_equal(http(f, "GET", "/api/session", NULL, NULL, NULL, &r), 200);
    assert_non_null(strstr(r.headers, "HttpOnly"));
    assert_non_null(strstr(r.headers, "SameSite=Strict"));
    resp_free(&r);

    static const struct {
        const char *body; /* %s = the right token */
        const char *header_csrf;
        const char *extra;
        long status;
        const char *error;
    } cases[] = {
        {"user=ada&password=" PASSWORD, NULL, NULL, 403, "csrf"},
        {"user=ada&password=x&csrf="
         "0000000000000000000000000000000000000000000000000000000000000000",
         NULL, NULL, 403, "csrf"},
        {"user=ada&password=x&csrf=zz", NULL, NULL, 403, "csrf"},
        {"user=ada&password=x&csrf=%s", NULL, "Origin: http://evil.example", 403, "bad_origin"},
        {"user=ada&csrf=%s", NULL, NULL, 400, "bad_form"},
        {"password=x&csrf=%s", NULL, NULL, 400, "bad_form"},
        {"user=ada&user=bob&password=x&csrf=%s", NULL, NULL, 400, "bad_form"},
        {"user=ada&password=x&csrf=%s&admin=1", NULL, NULL, 400, "bad_form"},
        {"user=ada&password=%zz&csrf=%s", NULL, NULL, 400, "bad_form"},
        {"user=nobody&password=whatever&csrf=%s", NULL, NULL, 401, "bad_login"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        /* "%s" in the case is the right token (replaced by hand: the case is data). */
        const char *at = strstr(cases[i].body, "%s");
        if (at)
            snprintf(body, sizeof body, "%.*s%s%s", (int)(at - cases[i].body), cases[i].body, csrf,
                     at + 2);
        else
            snprintf(body, sizeof body, "%s", cases[i].body);
        for (char *p = body; *p; p++)
            if (*p == ' ')
                *p = '+';
        long st = http_ex(f->base, "POST", "/api/login", sid, cases[i].header_csrf, body,
                          cases[i].extra, NULL, &r);
        if (st != cases[i].status)
            fail_msg("case %zu: %ld: %s", i, st, r.body ? r.body : "");
        cJSON *j = json_of(&r);
        assert_string_equal(cJSON_GetObjectItem(j, "error")->valuestring, cases[i].error);
        cJSON_Delete(j);
        resp_free(&r);
    }
    /* The token in a header does as well as in the form, from our own origin. */
    snprintf(body, sizeof body, "user=max&password=%s", "correct+horse+battery");
    char origin[128];
    snprintf(origin, sizeof origin, "Origin: %s", f->base);
    assert_int_equal(http_ex(f->base, "POST", "/api/login", sid, csrf, body, origin, NULL, &r),
                     200);
    set_cookie(&r, other);
    resp_free(&r);
    /* The visitor's id died at login (no fixation); the new one works. */
    assert_int_equal(http(f, "GET", "/api/sites", sid, NULL, NULL, &r), 401);
    resp_free(&r);
    assert_int_equal(http(f, "GET", "/api/sites", other, NULL, NULL, &r), 200);
    resp_free(&r);
    /* Logout needs the CSRF token too, then the session is gone. */
    assert_int_equal(http(f, "POST", "/api/logout", other, NULL, "", &r), 403);
    resp_free(&r);
    assert_int_equal(http(f, "GET", "/api/session", other, NULL, NULL, &r), 200);
    cJSON *j = json_of(&r);
    char tok[DS_TOKEN_LEN + 1];
    strcpy(tok, cJSON_GetObjectItem(j, "csrf")->valuestring);
    cJSON_Delete(j);
    resp_free(&r);
    assert_int_equal(http(f, "POST", "/api/logout", other, tok, "", &r), 200);
    assert_non_null(strstr(r.headers, "Max-Age=0"));
    resp_free(&r);
    assert_int_equal(http(f, "GET", "/api/sites", other, NULL, NULL, &r), 401);
    resp_free(&r);
    /* A forged or malformed cookie is no session. */
    assert_int_equal(http(f, "GET", "/api/sites", "abc", NULL, NULL, &r), 401);
    resp_free(&r);
}

static void test_rate_limit(void **state)
{
    fixture_t *f = *state;
    char sid[DS_TOKEN_LEN + 1], csrf[DS_TOKEN_LEN + 1];
    /* login_max_failures = 3 in this fixture: the 4th try is refused before the password is
     * checked, even a right one, and says when to come back. */
    for (int i = 0; i < 3; i++)
        assert_int_equal(login(f, "ola", "wrong-password", sid, csrf), 401);
    char body[256];
    visit(f, sid, csrf);
    snprintf(body, sizeof body, "user=ola&password=correct+horse+battery&csrf=%s", csrf);
    resp_t r;
    assert_int_equal(http(f, "POST", "/api/login", sid, NULL, body, &r), 429);
    assert_non_null(strstr(r.headers, "Retry-After: "));
    cJSON *j = json_of(&r);
    assert_string_equal(cJSON_GetObjectItem(j, "error")->valuestring, "rate_limited");
    cJSON_Delete(j);
    resp_free(&r);
}

/* ---- Roles ---- */

static void test_roles(void **state)
{
    fixture_t *f = *state;
    const char *who[4] = {f->viewer, f->manager, f->officer, f->admin};
    static const struct {
        const char *path;
        dash_role_t least;
    } cases[] = {
        {"/api/sites", DASH_ROLE_VIEWER},
        {"/api/channels", DASH_ROLE_VIEWER},
        {"/api/series?channel=alpha/pdu/outlet2", DASH_ROLE_VIEWER},
        {"/api/factors", DASH_ROLE_VIEWER},
        {"/api/findings", DASH_ROLE_MANAGER},
        {"/api/finding?id=alpha/pdu/outlet1:0", DASH_ROLE_MANAGER},
        {"/api/report?format=csv", DASH_ROLE_OFFICER},
        {"/api/users", DASH_ROLE_ADMIN},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        for (int role = 0; role < 4; role++) {
            resp_t r;
            long want = role >= (int)cases[i].least ? 200 : 403;
            long st = http(f, "GET", cases[i].path, who[role], NULL, NULL, &r);
            if (st != want)
                fail_msg("%s as %s: %ld, expected %ld: %s", cases[i].path,
                         dash_role_name((dash_role_t)role), st, want, r.body ? r.body : "");
            resp_free(&r);
        }
}

/* ---- Bad input: a clear 4xx naming the parameter ---- */

static void test_bad_input(void **state)
{
    fixture_t *f = *state;
    static const struct {
        const char *path;
        long status;
        const char *param;
    } cases[] = {
        {"/api/sites?x=1", 400, "x"},
        {"/api/channels?site=../etc", 400, "site"},
        {"/api/channels?site=nosuch", 404, "nosuch"},
        {"/api/channels?site=alpha&site=beta", 400, "site"},
        {"/api/series", 400, "channel"},
        {"/api/series?channel=", 400, "channel"},
        {"/api/series?channel=../../etc/passwd", 400, "channel"},
        {"/api/series?channel=alpha/pdu/outlet1/..", 400, "channel"},
        {"/api/series?channel=alpha/pdu/nosuch", 404, "alpha/pdu/nosuch"},
        {"/api/series?channel=alpha/pdu/outlet1&ds=bogus", 400, "ds"},
        {"/api/series?channel=alpha/pdu/outlet1&ds=util", 404, "util"},
        {"/api/series?channel=alpha/pdu/outlet1&points=1", 400, "points"},
        {"/api/series?channel=alpha/pdu/outlet1&points=1e3", 400, "points"},
        {"/api/series?channel=alpha/pdu/outlet1&from=yesterday", 400, "from"},
        {"/api/series?channel=alpha/pdu/outlet1&from=2026-10-05&to=2026-10-01", 400, "to"},
        {"/api/series?channel=alpha/pdu/outlet1&to=99999999999", 400, "to"},
        {"/api/findings?sort=bogus", 400, "sort"},
        {"/api/findings?order=up", 400, "order"},
        {"/api/findings?kind=mining", 400, "kind"},
        {"/api/findings?status=maybe", 400, "status"},
        {"/api/findings?min_w=-1", 400, "min_w"},
        {"/api/findings?max_w=abc", 400, "max_w"},
        {"/api/findings?min_w=nan", 400, "min_w"},
        {"/api/findings?limit=0", 400, "limit"},
        {"/api/findings?offset=-3", 400, "offset"},
        {"/api/findings?onset_from=2026-13-45", 400, "onset_from"},
        {"/api/findings?site=nosuch", 404, "nosuch"},
        {"/api/finding", 400, "id"},
        {"/api/finding?id=alpha/pdu/outlet1", 400, "id"},
        {"/api/finding?id=alpha/pdu/outlet1:x", 400, "id"},
        {"/api/finding?id=alpha/pdu/outlet1:99", 404, "alpha/pdu/outlet1:99"},
        {"/api/report?format=pdf", 400, "format"},
        {"/api/report?factors=nosuch", 400, "factors"},
        {"/api/report?tariff=-1", 400, "tariff"},
        {"/api/report?currency=yuan&tariff=0.6", 400, "currency"},
        {"/api/report?currency=CNY", 400, "tariff"},
        {"/api/report?sites=alpha,alpha", 400, "sites"},
        {"/api/report?sites=alpha,", 400, "sites"},
        {"/api/report?sites=nosuch", 404, NULL},
        {"/api/report?download=yes", 400, "download"},
        {"/api/report?from=2026-10-05&to=2026-10-01", 400, "to"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        resp_t r;
        long st = http(f, "GET", cases[i].path, f->admin, NULL, NULL, &r);
        if (st != cases[i].status)
            fail_msg("%s: %ld, expected %ld: %s", cases[i].path, st, cases[i].status,
                     r.body ? r.body : "");
        cJSON *j = json_of(&r);
        cJSON *p = cJSON_GetObjectItem(j, "param");
        if (cases[i].param && (!cJSON_IsString(p) || strcmp(p->valuestring, cases[i].param) != 0))
            fail_msg("%s: param %s, expected %s", cases[i].path,
                     cJSON_IsString(p) ? p->valuestring : "(none)", cases[i].param);
        cJSON_Delete(j);
        resp_free(&r);
    }
    /* A body over the limit is refused whole. */
    size_t big = 20000;
    char *body = malloc(big + 1);
    memset(body, 'a', big);
    body[big] = '\0';
    resp_t r;
    assert_int_equal(http(f, "POST", "/api/prefs", f->admin, f->csrf_admin, body, &r), 413);
    resp_free(&r);
    free(body);
    assert_int_equal(http(f, "POST", "/api/prefs", f->admin, f->csrf_admin, "lang=fr", &r), 400);
    resp_free(&r);
    assert_int_equal(http(f, "POST", "/api/prefs", f->admin, f->csrf_admin, "lang=en&x=1", &r),
                     400);
    resp_free(&r);
}

/* ---- What the endpoints say ---- */

static cJSON *get_json(fixture_t *f, const char *session, const char *path)
{
    resp_t r;
    long st = http(f, "GET", path, session, NULL, NULL, &r);
    if (st != 200)
        fail_msg("%s: %ld %s", path, st, r.body ? r.body : "");
    cJSON *j = json_of(&r);
    resp_free(&r);
    return j;
}

static void test_sites_channels(void **state)
{
    fixture_t *f = *state;
    cJSON *j = get_json(f, f->viewer, "/api/sites");
    cJSON *sites = cJSON_GetObjectItem(j, "sites");
    assert_int_equal(cJSON_GetArraySize(sites), 2);
    cJSON *alpha = cJSON_GetArrayItem(sites, 0);
    assert_string_equal(cJSON_GetObjectItem(alpha, "site")->valuestring, "alpha");
    /* The kWh is the sum of the two outlets' integrated power. */
    double want = 0;
    for (int i = 0; i < N_STEPS; i++) {
        int64_t t = T0 + (int64_t)(i + 1) * STEP;
        want += (power_at("outlet1", t) + power_at("outlet2", t)) * STEP / 3.6e6;
    }
    double kwh = cJSON_GetObjectItem(alpha, "kwh")->valuedouble;
    assert_true(fabs(kwh - want) < 0.01 * want);
    cJSON *fs = cJSON_GetObjectItem(alpha, "findings");
    assert_true(cJSON_GetObjectItem(fs, "total")->valueint >= 1);
    assert_non_null(cJSON_GetObjectItem(cJSON_GetObjectItem(fs, "by_kind"), "step_up"));
    cJSON *h = cJSON_GetObjectItem(alpha, "health");
    assert_int_equal(cJSON_GetObjectItem(h, "up")->valueint, 1);
    assert_int_equal(cJSON_GetObjectItem(h, "stale")->valueint, 1);
    assert_int_equal(cJSON_GetObjectItem(h, "quarantined")->valueint, 0);
    cJSON *hb = cJSON_GetObjectItem(cJSON_GetArrayItem(sites, 1), "health");
    assert_int_equal(cJSON_GetObjectItem(hb, "quarantined")->valueint, 1);
    cJSON_Delete(j);

    j = get_json(f, f->viewer, "/api/channels?site=beta");
    cJSON *ch = cJSON_GetObjectItem(j, "channels");
    assert_int_equal(cJSON_GetArraySize(ch), 1);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(ch, 0), "id")->valuestring,
                        "beta/meter/total");
    cJSON_Delete(j);
    j = get_json(f, f->viewer, "/api/channels");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "channels")), 3);
    cJSON_Delete(j);
    j = get_json(f, f->viewer, "/api/factors");
    assert_true(cJSON_GetArraySize(cJSON_GetObjectItem(j, "presets")) >= 2);
    assert_string_equal(cJSON_GetObjectItem(j, "default")->valuestring, "cn-grid-2022");
    cJSON_Delete(j);
    j = get_json(f, f->admin, "/api/users");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "users")), 4);
    char *text = cJSON_PrintUnformatted(j);
    assert_null(strstr(text, "argon2"));
    free(text);
    cJSON_Delete(j);
}

static void test_findings(void **state)
{
    fixture_t *f = *state;
    cJSON *j = get_json(f, f->manager, "/api/findings?site=alpha&kind=step_up");
    cJSON *arr = cJSON_GetObjectItem(j, "findings");
    assert_int_equal(cJSON_GetArraySize(arr), 1);
    cJSON *x = cJSON_GetArrayItem(arr, 0);
    assert_string_equal(cJSON_GetObjectItem(x, "channel")->valuestring, "alpha/pdu/outlet1");
    /* The step's onset and size as written into the file. */
    assert_true(llabs((long long)cJSON_GetObjectItem(x, "onset")->valuedouble - STEP_AT) <=
                2 * STEP);
    assert_true(fabs(cJSON_GetObjectItem(x, "step_w")->valuedouble - STEP_W) < 20);
    char id[300];
    strcpy(id, cJSON_GetObjectItem(x, "id")->valuestring);
    cJSON_Delete(j);

    /* Filters that exclude it, and sorting both ways. */
    j = get_json(f, f->manager, "/api/findings?kind=step_up&min_w=2000");
    assert_int_equal(cJSON_GetObjectItem(j, "total")->valueint, 0);
    cJSON_Delete(j);
    j = get_json(f, f->manager, "/api/findings?kind=step_up&onset_to=2026-09-25");
    assert_int_equal(cJSON_GetObjectItem(j, "total")->valueint, 0);
    cJSON_Delete(j);
    for (int asc = 0; asc < 2; asc++) {
        j = get_json(f, f->manager,
                     asc ? "/api/findings?sort=size&order=asc"
                         : "/api/findings?sort=size&order=desc");
        arr = cJSON_GetObjectItem(j, "findings");
        for (int i = 1; i < cJSON_GetArraySize(arr); i++) {
            double a = cJSON_GetObjectItem(cJSON_GetArrayItem(arr, i - 1), "step_w")->valuedouble;
            double b = cJSON_GetObjectItem(cJSON_GetArrayItem(arr, i), "step_w")->valuedouble;
            assert_true(asc ? a <= b : a >= b);
        }
        cJSON_Delete(j);
    }
    /* The finding's evidence. */
    char path[400];
    snprintf(path, sizeof path, "/api/finding?id=%s", id);
    j = get_json(f, f->manager, path);
    assert_true(cJSON_GetArraySize(cJSON_GetObjectItem(j, "evidence")) >= 3);
    cJSON *detail = cJSON_GetObjectItem(j, "channel_detail");
    assert_non_null(cJSON_GetObjectItem(cJSON_GetObjectItem(detail, "shape"), "near_base_w"));
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(j, "residual_w")));
    assert_true(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "rigs"), "min")->valueint >= 1);
    cJSON_Delete(j);
}

static void test_series(void **state)
{
    fixture_t *f = *state;
    /* The full resolution over one day: values exactly as written. */
    char path[256];
    int64_t from = STEP_AT - 43200, to = STEP_AT + 43200;
    snprintf(path, sizeof path, "/api/series?channel=alpha/pdu/outlet1&from=%lld&to=%lld",
             (long long)from, (long long)to);
    cJSON *j = get_json(f, f->viewer, path);
    assert_int_equal(cJSON_GetObjectItem(j, "step")->valueint, STEP);
    cJSON *avg = cJSON_GetObjectItem(j, "avg");
    int64_t start = (int64_t)cJSON_GetObjectItem(j, "start")->valuedouble;
    int n = cJSON_GetArraySize(avg);
    assert_true(n >= 86400 / STEP - 1);
    for (int i = 0; i < n; i++) {
        int64_t t = start + (int64_t)(i + 1) * STEP;
        cJSON *v = cJSON_GetArrayItem(avg, i);
        if (t <= T0 + (int64_t)N_STEPS * STEP)
            assert_true(fabs(v->valuedouble - power_at("outlet1", t)) < 1e-6);
    }
    assert_null(cJSON_GetObjectItem(j, "min")); /* one value per point: no band */
    cJSON_Delete(j);
    /* The whole window in 100 points: grouped, with the extremes of each group. */
    j = get_json(f, f->viewer, "/api/series?channel=alpha/pdu/outlet1&points=100");
    n = cJSON_GetArraySize(cJSON_GetObjectItem(j, "avg"));
    assert_true(n <= 100 && n >= 50);
    cJSON *mx = cJSON_GetObjectItem(j, "max"), *mn = cJSON_GetObjectItem(j, "min");
    if (mx) {
        double top = 0, bottom = 1e9;
        for (int i = 0; i < n; i++) {
            cJSON *a = cJSON_GetArrayItem(mx, i), *b = cJSON_GetArrayItem(mn, i);
            if (cJSON_IsNumber(a) && a->valuedouble > top)
                top = a->valuedouble;
            if (cJSON_IsNumber(b) && b->valuedouble < bottom)
                bottom = b->valuedouble;
        }
        assert_true(fabs(top - (300 + STEP_W)) < 1e-6 && fabs(bottom - 300) < 1e-6);
    }
    cJSON_Delete(j);
    /* The energy register, and a second identical request served the same (cached). */
    resp_t a, b;
    assert_int_equal(
        http(f, "GET", "/api/series?channel=beta/meter/total&ds=energy", f->viewer, NULL, NULL, &a),
        200);
    assert_int_equal(
        http(f, "GET", "/api/series?channel=beta/meter/total&ds=energy", f->viewer, NULL, NULL, &b),
        200);
    assert_int_equal(a.len, b.len);
    assert_memory_equal(a.body, b.body, a.len);
    resp_free(&a);
    resp_free(&b);
}

static void test_report(void **state)
{
    fixture_t *f = *state;
    resp_t r;
    assert_int_equal(
        http(f, "GET", "/api/report?sites=alpha&format=csv&download=1", f->officer, NULL, NULL, &r),
        200);
    assert_non_null(strstr(r.headers, "Content-Type: text/csv"));
    assert_non_null(
        strstr(r.headers, "Content-Disposition: attachment; filename=\"wattaudit-savings-"));
    assert_non_null(strstr(r.body, "alpha,"));
    assert_null(strstr(r.body, "beta,")); /* only the site chosen */
    resp_free(&r);
    cJSON *j = get_json(f, f->officer,
                        "/api/report?sites=alpha,beta&factors=cn-grid-2022&tariff=0.65&"
                        "currency=CNY&from=2026-09-25&to=2026-10-10");
    assert_string_equal(cJSON_GetObjectItem(j, "schema")->valuestring, "wattaudit.analysis/1");
    assert_non_null(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "report"), "statement"));
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "sites")), 2);
    cJSON *fac = cJSON_GetObjectItem(j, "factors");
    assert_string_equal(cJSON_GetObjectItem(fac, "currency")->valuestring, "CNY");
    cJSON_Delete(j);
    static const char *const fmts[] = {"md", "html"};
    for (int i = 0; i < 2; i++) {
        char path[128];
        snprintf(path, sizeof path, "/api/report?format=%s", fmts[i]);
        assert_int_equal(http(f, "GET", path, f->officer, NULL, NULL, &r), 200);
        assert_true(r.len > 200);
        resp_free(&r);
    }
}

/* The language follows the user, can be switched, and errors come in it. */
static void test_language(void **state)
{
    fixture_t *f = *state;
    cJSON *j = get_json(f, f->viewer, "/api/session");
    assert_string_equal(cJSON_GetObjectItem(j, "lang")->valuestring, "zh-CN");
    char csrf[DS_TOKEN_LEN + 1];
    strcpy(csrf, cJSON_GetObjectItem(j, "csrf")->valuestring);
    cJSON_Delete(j);
    resp_t r;
    assert_int_equal(http(f, "GET", "/api/series", f->viewer, NULL, NULL, &r), 400);
    assert_non_null(strstr(r.body, "参数"));
    resp_free(&r);
    assert_int_equal(http(f, "POST", "/api/prefs", f->viewer, csrf, "lang=en", &r), 200);
    resp_free(&r);
    assert_int_equal(http(f, "GET", "/api/series", f->viewer, NULL, NULL, &r), 400);
    assert_non_null(strstr(r.body, "parameter 'channel'"));
    resp_free(&r);
    /* A visitor's language comes from Accept-Language. */
    assert_int_equal(http_ex(f->base, "GET", "/api/sites", NULL, NULL, NULL,
                             "Accept-Language: zh-CN,zh;q=0.9,en;q=0.8", NULL, &r),
                     401);
    assert_non_null(strstr(r.body, "请先登录"));
    resp_free(&r);
}

/* HTTPS with a certificate made the way docs/dashboard.md says. */
static void test_tls(void **state)
{
    fixture_t *f = *state;
    char cmd[1024], cert[160], key[160], err[1024];
    snprintf(cert, sizeof cert, "%s/cert.pem", f->dir);
    snprintf(key, sizeof key, "%s/key.pem", f->dir);
    snprintf(cmd, sizeof cmd,
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
             "-keyout '%s' -out '%s' -days 2 -subj /CN=127.0.0.1 "
             "-addext subjectAltName=IP:127.0.0.1 2>/dev/null",
             key, cert);
    if (system(cmd) != 0) {
        skip();
        return;
    }
    dash_opts_t o = {.data_dir = f->data,
                     .users_file = f->users,
                     .www_dir = WA_SOURCE_WWW_DIR,
                     .tls_cert = cert,
                     .tls_key = key,
                     .status_file = ""};
    dash_t *d = dash_start(&o, err, sizeof err);
    if (!d)
        fail_msg("dash_start with TLS: %s", err);
    char base[64], url[128];
    snprintf(base, sizeof base, "https://127.0.0.1:%d", dash_port(d));
    char want[80];
    snprintf(want, sizeof want, "%s/", base);
    assert_string_equal(dash_url(d, url, sizeof url), want);
    resp_t r;
    assert_int_equal(http_ex(base, "GET", "/api/session", NULL, NULL, NULL, NULL, cert, &r), 200);
    assert_non_null(strstr(r.headers, "; Secure"));
    assert_non_null(strstr(r.headers, "Strict-Transport-Security"));
    resp_free(&r);
    /* Plain HTTP to the TLS port gets nothing useful. */
    snprintf(base, sizeof base, "http://127.0.0.1:%d", dash_port(d));
    assert_int_not_equal(http_ex(base, "GET", "/api/session", NULL, NULL, NULL, NULL, NULL, &r),
                         200);
    resp_free(&r);
    dash_stop(d);
}

/* The parsers, from a table (fuzz/fuzz_http.c runs them on arbitrary bytes). */
static void test_parsers(void **state)
{
    (void)state;
    char out[64];
    static const struct {
        const char *in;
        int len;
        const char *out;
    } dec[] = {
        {"a+b%20c", 5, "a b c"}, {"%e5%8f%82", 3, "\xe5\x8f\x82"},
        {"%2", -1, NULL},        {"%zz", -1, NULL},
        {"%00", -1, NULL},       {"", 0, ""},
    };
    for (size_t i = 0; i < sizeof dec / sizeof dec[0]; i++) {
        int n = dp_urldecode(dec[i].in, strlen(dec[i].in), out, sizeof out);
        assert_int_equal(n, dec[i].len);
        if (dec[i].out)
            assert_string_equal(out, dec[i].out);
    }
    static const struct {
        const char *header;
        int found;
        const char *value;
    } cookies[] = {
        {"wa_session=abc", 1, "abc"},
        {"x=1; wa_session=abc; y=2", 1, "abc"},
        {"xwa_session=abc", 0, ""},
        {"wa_session_x=1", 0, ""},
        {"", 0, ""},
        {"wa_session=0123456789012345678901234567890123456789012345678901234567890123456789", -1,
         ""},
    };
    for (size_t i = 0; i < sizeof cookies / sizeof cookies[0]; i++) {
        char v[65];
        assert_int_equal(dp_cookie_get(cookies[i].header, "wa_session", v, sizeof v),
                         cookies[i].found);
        if (cookies[i].found == 1)
            assert_string_equal(v, cookies[i].value);
    }
    static const struct {
        const char *h, *lang;
    } langs[] = {
        {"zh-CN,zh;q=0.9,en;q=0.8", "zh-CN"},
        {"en-US,en;q=0.9", "en"},
        {"fr-FR, zh;q=0.5, en;q=0.4", "zh-CN"},
        {"de", "en"},
        {"zh-TW", "en"},
        {"en;q=0.1, zh;q=x", "en"},
        {";;;,,,q=", "en"},
    };
    for (size_t i = 0; i < sizeof langs / sizeof langs[0]; i++)
        assert_string_equal(dp_lang_negotiate(langs[i].h), langs[i].lang);
    static const struct {
        const char *id;
        int ok;
    } ids[] = {{"campus/pdu-a/outlet7", 1},
               {"a/b", 1},
               {"a", 0},
               {"a//b", 0},
               {"a/../b", 0},
               {"/a/b", 0},
               {"a/b/", 0},
               {"a/b c", 0},
               {"a/b%2f", 0}};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++)
        assert_int_equal(dp_is_channel_id(ids[i].id), ids[i].ok);
    char items[4][SC_ID_MAX];
    assert_int_equal(dp_id_list("a,b,c", items, 4), 3);
    assert_int_equal(dp_id_list("a,,c", items, 4), -1);
    assert_int_equal(dp_id_list("a,b,c,d,e", items, 4), -1);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_anonymous),
        cmocka_unit_test(test_login_csrf),
        cmocka_unit_test(test_roles),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_sites_channels),
        cmocka_unit_test(test_findings),
        cmocka_unit_test(test_series),
        cmocka_unit_test(test_report),
        cmocka_unit_test(test_language),
        cmocka_unit_test(test_rate_limit),
        cmocka_unit_test(test_tls),
        cmocka_unit_test(test_parsers),
    };
    int rc = cmocka_run_group_tests(tests, setup, teardown);
    rc += corr_tests_run();
    curl_global_cleanup();
    return rc;
}
