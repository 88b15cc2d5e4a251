/* libcurl helpers the dashboard's tests share: one request over a real loopback socket, its
 * status, headers and body; a visitor session and a login as a browser does them. */
#ifndef WA_TESTS_DASH_HTTP_CLIENT_H
#define WA_TESTS_DASH_HTTP_CLIENT_H

#include <stddef.h>

struct cJSON;

typedef struct resp {
    long status;
    char *body;
    size_t len;
    char headers[8192];
    size_t hlen;
} resp_t;

/* One request to base + path.  session: a session id or NULL; csrf: sent as X-CSRF-Token if
 * not NULL; body: POSTed if not NULL; extra: one more header or NULL; cafile: for HTTPS.
 * Returns the status (-1 if no response); the caller frees out with resp_free. */
long http_ex(const char *base, const char *method, const char *path, const char *session,
             const char *csrf, const char *body, const char *extra, const char *cafile,
             resp_t *out);
void resp_free(resp_t *r);
/* The session id a response set into id (DS_TOKEN_LEN + 1 bytes), or "". */
void set_cookie(const resp_t *r, char *id);
/* The body parsed (the test fails if it is not JSON); caller deletes. */
struct cJSON *json_of(const resp_t *r);
/* A visitor session and its CSRF token. */
void http_visit(const char *base, char *sid, char *csrf);
/* Logs in as the login form does; the new session id and CSRF token (csrf_out may be NULL).
 * Returns the status. */
long http_login(const char *base, const char *user, const char *pw, char *sid_out, char *csrf_out);
/* GET path as session, expecting 200; its JSON (caller deletes). */
struct cJSON *http_get_json(const char *base, const char *session, const char *path);

/* The correlation pages' tests (test_corr.c), their own group with their own server. */
int corr_tests_run(void);

#endif
