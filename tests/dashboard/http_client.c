/* libcurl helpers the dashboard's tests share (http_client.h). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dashboard/dash-private.h"
#include "http_client.h"

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
    resp_t *r = arg;
    char *nb = realloc(r->body, r->len + size * n + 1);
    if (!nb)
        return 0;
    memcpy(nb + r->len, p, size * n);
    r->len += size * n;
    nb[r->len] = '\0';
    r->body = nb;
    return size * n;
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
    resp_t *r = arg;
    size_t len = size * n;
    if (r->hlen + len + 1 < sizeof r->headers) {
        memcpy(r->headers + r->hlen, p, len);
        r->hlen += len;
        r->headers[r->hlen] = '\0';
    }
    return len;
}

void resp_free(resp_t *r)
{
    free(r->body);
    memset(r, 0, sizeof *r);
}

/* One request.  session: a session id or NULL; csrf: sent as X-CSRF-Token if not NULL;
 * extra: one more header or NULL. */
long http_ex(const char *base, const char *method, const char *path, const char *session,
             const char *csrf, const char *body, const char *extra, const char *cafile, resp_t *out)
{
    memset(out, 0, sizeof *out);
    CURL *c = curl_easy_init();
    char url[2048], cookie[128], tok[128];
    snprintf(url, sizeof url, "%s%s", base, path);
    struct curl_slist *h = NULL;
    if (csrf) {
        snprintf(tok, sizeof tok, "X-CSRF-Token: %s", csrf);
        h = curl_slist_append(h, tok);
    }
    if (extra)
        h = curl_slist_append(h, extra);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
    if (session) {
        snprintf(cookie, sizeof cookie, "wa_session=%s", session);
        curl_easy_setopt(c, CURLOPT_COOKIE, cookie);
    }
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    }
    if (h)
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    if (cafile)
        curl_easy_setopt(c, CURLOPT_CAINFO, cafile);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, out);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    CURLcode rc = curl_easy_perform(c);
    if (rc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
    else
        out->status = -1;
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return out->status;
}

/* The session id a response set, or "" */
void set_cookie(const resp_t *r, char *id)
{
    const char *p = strstr(r->headers, "wa_session=");
    id[0] = '\0';
    if (p && strlen(p + 11) >= DS_TOKEN_LEN && p[11] != ';') {
        memcpy(id, p + 11, DS_TOKEN_LEN);
        id[DS_TOKEN_LEN] = '\0';
    }
}

cJSON *json_of(const resp_t *r)
{
    cJSON *j = r->body ? cJSON_Parse(r->body) : NULL;
    assert_non_null(j);
    return j;
}

void http_visit(const char *base, char *sid, char *csrf)
{
    resp_t r;
    assert_int_equal(http_ex(base, "GET", "/api/session", NULL, NULL, NULL, NULL, NULL, &r), 200);
    set_cookie(&r, sid);
    assert_int_equal(strlen(sid), DS_TOKEN_LEN);
    cJSON *j = json_of(&r);
    strcpy(csrf, cJSON_GetObjectItem(j, "csrf")->valuestring);
    cJSON_Delete(j);
    resp_free(&r);
}

long http_login(const char *base, const char *user, const char *pw, char *sid_out, char *csrf_out)
{
    char sid[DS_TOKEN_LEN + 1], csrf[DS_TOKEN_LEN + 1], body[256];
    http_visit(base, sid, csrf);
    snprintf(body, sizeof body, "user=%s&password=%s&csrf=%s", user, pw, csrf);
    for (char *p = body; *p; p++)
        if (*p == ' ')
            *p = '+';
    resp_t r;
    long st = http_ex(base, "POST", "/api/login", sid, NULL, body, NULL, NULL, &r);
    if (st == 200) {
        set_cookie(&r, sid_out);
        assert_string_not_equal(sid_out, sid); /* a new id at login */
        cJSON *j = json_of(&r);
        if (csrf_out)
            strcpy(csrf_out, cJSON_GetObjectItem(j, "csrf")->valuestring);
        cJSON_Delete(j);
    }
    resp_free(&r);
    return st;
}

cJSON *http_get_json(const char *base, const char *session, const char *path)
{
    resp_t r;
    long st = http_ex(base, "GET", path, session, NULL, NULL, NULL, NULL, &r);
    if (st != 200)
        fail_msg("%s: %ld %s", path, st, r.body ? r.body : "");
    cJSON *j = json_of(&r);
    resp_free(&r);
    return j;
}
