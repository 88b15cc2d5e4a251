/* The HTTP(S) server: libmicrohttpd with an internal thread pool, one dispatch table for the
 * API, static files from www/, and the checks every request passes before a route runs:
 * known path and method, known and single query parameters, a session where one is needed,
 * the role, and a CSRF token and same origin on every POST. */
#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/common.h"
#include "dashboard/dash-private.h"

#define BODY_MAX 16384
#define MAX_SESSIONS 4096

enum { NO_LOGIN = 0, LOGIN = 1 };
enum { NO_CSRF = 0, CSRF = 1 };

static const char *const p_none[] = {NULL};
static const char *const p_channels[] = {"site", NULL};
static const char *const p_series[] = {"channel", "ds", "from", "to", "points", NULL};
static const char *const p_findings[] = {
    "site", "kind",  "class", "status", "min_w",   "max_w",      "onset_from", "onset_to",
    "sort", "order", "limit", "offset", "channel", "load_class", "source",     NULL};
static const char *const p_compute[] = {"channel", "from", "to", "points", NULL};
static const char *const p_flagged[] = {"site", "ip", NULL};
static const char *const p_finding[] = {"id", NULL};
static const char *const p_report[] = {"sites",    "from",   "to",       "factors", "tariff",
                                       "currency", "format", "download", NULL};

static const struct route {
    const char *method, *path;
    int login;
    dash_role_t role;
    int csrf;
    const char *const *params;
    dash_route_fn fn;
} routes[] = {
    {"GET", "/api/session", NO_LOGIN, DASH_ROLE_VIEWER, NO_CSRF, p_none, rt_session},
    {"POST", "/api/login", NO_LOGIN, DASH_ROLE_VIEWER, CSRF, p_none, rt_login},
    {"POST", "/api/logout", LOGIN, DASH_ROLE_VIEWER, CSRF, p_none, rt_logout},
    {"POST", "/api/prefs", NO_LOGIN, DASH_ROLE_VIEWER, CSRF, p_none, rt_prefs},
    {"GET", "/api/sites", LOGIN, DASH_ROLE_VIEWER, NO_CSRF, p_none, rt_sites},
    {"GET", "/api/channels", LOGIN, DASH_ROLE_VIEWER, NO_CSRF, p_channels, rt_channels},
    {"GET", "/api/series", LOGIN, DASH_ROLE_VIEWER, NO_CSRF, p_series, rt_series},
    {"GET", "/api/factors", LOGIN, DASH_ROLE_VIEWER, NO_CSRF, p_none, rt_factors},
    {"GET", "/api/findings", LOGIN, DASH_ROLE_MANAGER, NO_CSRF, p_findings, rt_findings},
    {"GET", "/api/finding", LOGIN, DASH_ROLE_MANAGER, NO_CSRF, p_finding, rt_finding},
    {"GET", "/api/compute", LOGIN, DASH_ROLE_VIEWER, NO_CSRF, p_compute, rt_compute},
    {"GET", "/api/flagged", LOGIN, DASH_ROLE_MANAGER, NO_CSRF, p_flagged, rt_flagged},
    {"GET", "/api/report", LOGIN, DASH_ROLE_OFFICER, NO_CSRF, p_report, rt_report},
    {"GET", "/api/users", LOGIN, DASH_ROLE_ADMIN, NO_CSRF, p_none, rt_users},
};

/* Content Security Policy: the pages load only their own scripts and styles, nothing inline,
 * nothing from elsewhere (the issue: nothing is fetched at run time). */
#define CSP                                                                                        \
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "              \
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

static void add_headers(dash_req_t *r, struct MHD_Response *resp, int api)
{
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "X-Frame-Options", "DENY");
    MHD_add_response_header(resp, "Referrer-Policy", "same-origin");
    MHD_add_response_header(resp, "Content-Security-Policy", CSP);
    MHD_add_response_header(resp, "Cache-Control", api ? "no-store" : "no-cache");
    if (r->d->tls)
        MHD_add_response_header(resp, "Strict-Transport-Security", "max-age=31536000");
    if (r->cookie[0])
        MHD_add_response_header(resp, "Set-Cookie", r->cookie);
    if (r->retry_after > 0) {
        char s[16];
        snprintf(s, sizeof s, "%d", r->retry_after);
        MHD_add_response_header(resp, "Retry-After", s);
    }
    if (r->allow)
        MHD_add_response_header(resp, "Allow", r->allow);
}

static enum MHD_Result queue(dash_req_t *r, unsigned status, struct MHD_Response *resp,
                             const char *ctype, const char *disposition, int api)
{
    if (!resp)
        return MHD_NO;
    if (ctype)
        MHD_add_response_header(resp, "Content-Type", ctype);
    if (disposition)
        MHD_add_response_header(resp, "Content-Disposition", disposition);
    add_headers(r, resp, api);
    enum MHD_Result rc = MHD_queue_response(r->conn, status, resp);
    MHD_destroy_response(resp);
    r->status = (int)status;
    return rc;
}

enum MHD_Result dr_send(dash_req_t *r, unsigned status, const char *ctype, const char *body,
                        size_t len)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    return queue(r, status, resp, ctype, NULL, 1);
}

enum MHD_Result dr_send_owned(dash_req_t *r, unsigned status, const char *ctype, char *body,
                              size_t len, const char *disposition)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    if (!resp)
        free(body);
    return queue(r, status, resp, ctype, disposition, 1);
}

enum MHD_Result dr_json(dash_req_t *r, unsigned status, cJSON *j)
{
    char *s = j ? cJSON_PrintUnformatted(j) : NULL;
    cJSON_Delete(j);
    if (!s)
        return dr_send(r, 500, "application/json", "{\"error\":\"internal\"}", 20);
    return dr_send_owned(r, status, "application/json; charset=utf-8", s, strlen(s), NULL);
}

static const char *const msg_codes[I18N_COUNT_] = {
    [I18N_BAD_PARAM] = "bad_param",
    [I18N_UNKNOWN_PARAM] = "unknown_param",
    [I18N_NOT_FOUND] = "not_found",
    [I18N_NO_SUCH_CHANNEL] = "no_such_channel",
    [I18N_NO_SUCH_FINDING] = "no_such_finding",
    [I18N_NO_SUCH_SITE] = "no_such_site",
    [I18N_LOGIN_REQUIRED] = "login_required",
    [I18N_FORBIDDEN] = "forbidden",
    [I18N_CSRF] = "csrf",
    [I18N_BAD_LOGIN] = "bad_login",
    [I18N_RATE_LIMITED] = "rate_limited",
    [I18N_METHOD] = "method_not_allowed",
    [I18N_TOO_LARGE] = "too_large",
    [I18N_BAD_FORM] = "bad_form",
    [I18N_NO_DATA] = "no_data",
    [I18N_INTERNAL] = "internal",
    [I18N_BAD_ORIGIN] = "bad_origin",
    [I18N_NO_SUCH_ADDRESS] = "no_such_address",
    [I18N_NO_HOSTS] = "no_hosts",
};

enum MHD_Result dr_error(dash_req_t *r, unsigned status, i18n_msg_t m, const char *param)
{
    /* The message's one "%s" is replaced by hand: the text is data, not a format string. */
    const char *fmt = i18n_msg(m, r->lang);
    const char *at = strstr(fmt, "%s");
    char text[1024];
    if (at)
        snprintf(text, sizeof text, "%.*s%.200s%s", (int)(at - fmt), fmt, param ? param : "",
                 at + 2);
    else
        wa_strlcpy(text, fmt, sizeof text);
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "error", msg_codes[m] ? msg_codes[m] : "error");
    cJSON_AddStringToObject(j, "message", text);
    if (param)
        cJSON_AddStringToObject(j, "param", param);
    return dr_json(r, status, j);
}

const char *dr_arg(dash_req_t *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

void dr_session_cookie(dash_req_t *r, const char *id)
{
    const char *secure = r->d->tls ? "; Secure" : "";
    if (id)
        snprintf(r->cookie, sizeof r->cookie, "wa_session=%s; Path=/; HttpOnly; SameSite=Strict%s",
                 id, secure);
    else
        snprintf(r->cookie, sizeof r->cookie,
                 "wa_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0%s", secure);
}

/* ---- Static files ---- */

static const char *content_type(const char *name)
{
    static const struct {
        const char *ext, *type;
    } types[] = {
        {".html", "text/html; charset=utf-8"}, {".js", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},   {".svg", "image/svg+xml"},
        {".json", "application/json"},         {".png", "image/png"},
        {".txt", "text/plain; charset=utf-8"}, {".ico", "image/x-icon"},
    };
    const char *dot = strrchr(name, '.');
    for (size_t i = 0; dot && i < sizeof types / sizeof types[0]; i++)
        if (strcmp(dot, types[i].ext) == 0)
            return types[i].type;
    return "application/octet-stream";
}

static enum MHD_Result serve_file(dash_req_t *r, const char *name)
{
    char path[SC_PATH_MAX + 128];
    struct stat sb;
    /* One plain name inside www/: no folders, nothing hidden, so no way out of it. */
    if (!dp_is_id(name) || name[0] == '.')
        return dr_error(r, 404, I18N_NOT_FOUND, r->path);
    snprintf(path, sizeof path, "%s/%s", r->d->www_dir, name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
        if (fd >= 0)
            close(fd);
        return dr_error(r, 404, I18N_NOT_FOUND, r->path);
    }
    struct MHD_Response *resp = MHD_create_response_from_fd((uint64_t)sb.st_size, fd);
    if (!resp) {
        close(fd);
        return MHD_NO;
    }
    return queue(r, 200, resp, content_type(name), NULL, 0);
}

/* ---- Dispatch ---- */

struct conn_state {
    char *body;
    size_t len;
    int too_large;
};

struct arg_check {
    const char *const *allowed;
    unsigned seen;
    const char *bad;
    int dup;
};

static enum MHD_Result check_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                 const char *value)
{
    struct arg_check *a = cls;
    (void)kind;
    size_t i = 0;
    for (; a->allowed[i]; i++)
        if (strcmp(a->allowed[i], key) == 0)
            break;
    if (!a->allowed[i]) {
        a->bad = key;
        return MHD_NO;
    }
    if ((a->seen & (1u << i)) || (value && strlen(value) > DP_VALUE_MAX)) {
        a->bad = key;
        a->dup = 1;
        return MHD_NO;
    }
    a->seen |= 1u << i;
    return MHD_YES;
}

static void client_ip(struct MHD_Connection *c, char *out, size_t len)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    out[0] = '\0';
    if (!ci || !ci->client_addr)
        return;
    if (ci->client_addr->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)ci->client_addr)->sin_addr, out,
                  (socklen_t)len);
    else if (ci->client_addr->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ci->client_addr)->sin6_addr, out,
                  (socklen_t)len);
}

/* A POST must come from our own pages: its Origin, when the browser sends one, names this
 * host (Fetch standard, "Origin" header), and it carries the session's CSRF token. */
static int same_origin(dash_req_t *r)
{
    const char *origin = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Origin");
    const char *host = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Host");
    if (!origin)
        return 1;
    if (!host)
        return 0;
    char want[300];
    snprintf(want, sizeof want, "%s://%s", r->d->tls ? "https" : "http", host);
    return strcmp(origin, want) == 0;
}

static int csrf_ok(dash_req_t *r)
{
    const char *tok = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "X-CSRF-Token");
    char form[DS_TOKEN_LEN + 2];
    if (!tok && r->body && dp_form_get(r->body, r->body_len, "csrf", form, sizeof form) == 1)
        tok = form;
    return r->has_session && tok && ds_token_equal(tok, r->sess.csrf);
}

static enum MHD_Result dispatch(dash_req_t *r)
{
    if (strcmp(r->path, "/") == 0 || strcmp(r->path, "/index.html") == 0)
        return strcmp(r->method, "GET") == 0 || strcmp(r->method, "HEAD") == 0
                   ? serve_file(r, "index.html")
                   : (r->allow = "GET, HEAD", dr_error(r, 405, I18N_METHOD, NULL));
    if (strncmp(r->path, "/www/", 5) == 0) {
        if (strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") != 0) {
            r->allow = "GET, HEAD";
            return dr_error(r, 405, I18N_METHOD, NULL);
        }
        return serve_file(r, r->path + 5);
    }
    const struct route *rt = NULL;
    int path_known = 0;
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++)
        if (strcmp(routes[i].path, r->path) == 0) {
            path_known = 1;
            if (strcmp(routes[i].method, r->method) == 0)
                rt = &routes[i];
            else
                r->allow = routes[i].method;
        }
    if (!path_known)
        return dr_error(r, 404, I18N_NOT_FOUND, r->path);
    if (!rt)
        return dr_error(r, 405, I18N_METHOD, NULL);
    struct arg_check a = {rt->params, 0, NULL, 0};
    MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, check_arg, &a);
    if (a.bad)
        return dr_error(r, 400, a.dup ? I18N_BAD_PARAM : I18N_UNKNOWN_PARAM, a.bad);
    if (rt->login && (!r->has_session || !r->sess.user[0]))
        return dr_error(r, 401, I18N_LOGIN_REQUIRED, NULL);
    if (rt->login && r->sess.role < rt->role)
        return dr_error(r, 403, I18N_FORBIDDEN, dash_role_name(rt->role));
    if (rt->csrf && !same_origin(r))
        return dr_error(r, 403, I18N_BAD_ORIGIN, NULL);
    if (rt->csrf && !csrf_ok(r))
        return dr_error(r, 403, I18N_CSRF, NULL);
    return rt->fn(r);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    dash_t *d = cls;
    (void)version;
    struct conn_state *cs = *con_cls;
    if (!cs) {
        if (!(cs = calloc(1, sizeof *cs)))
            return MHD_NO;
        *con_cls = cs;
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        if (!cs->too_large) {
            if (cs->len + *upload_data_size > BODY_MAX) {
                cs->too_large = 1;
            } else {
                char *nb = realloc(cs->body, cs->len + *upload_data_size + 1);
                if (!nb)
                    return MHD_NO;
                memcpy(nb + cs->len, upload_data, *upload_data_size);
                cs->len += *upload_data_size;
                nb[cs->len] = '\0';
                cs->body = nb;
            }
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    dash_req_t r = {
        .d = d, .conn = conn, .method = method, .path = url, .body = cs->body, .body_len = cs->len};
    client_ip(conn, r.ip, sizeof r.ip);
    int64_t now = (int64_t)time(NULL);
    char sid[DS_TOKEN_LEN + 2];
    const char *cookie = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Cookie");
    if (dp_cookie_get(cookie, "wa_session", sid, sizeof sid) == 1)
        r.has_session = ds_lookup(d->sessions, sid, now, &r.sess);
    r.lang = r.has_session ? r.sess.lang
                           : dp_lang_negotiate(MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                                           "Accept-Language"));
    enum MHD_Result rc = cs->too_large ? dr_error(&r, 413, I18N_TOO_LARGE, NULL) : dispatch(&r);
    if (d->log) {
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
        char when[32];
        pthread_mutex_lock(&d->log_lock);
        fprintf(d->log, "%s %s %s %s %d %.2f ms %s\n",
                wa_time_format(now, "UTC", when, sizeof when), r.ip, method, url, r.status, ms,
                r.has_session && r.sess.user[0] ? r.sess.user : "-");
        fflush(d->log);
        pthread_mutex_unlock(&d->log_lock);
    }
    return rc;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    struct conn_state *cs = *con_cls;
    if (cs) {
        free(cs->body);
        free(cs);
        *con_cls = NULL;
    }
}

static char *slurp(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        wa_err(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    char *buf = malloc(1 << 16);
    size_t n = buf ? fread(buf, 1, (1 << 16) - 1, f) : 0;
    fclose(f);
    if (!buf || n == 0) {
        free(buf);
        errno = EINVAL;
        wa_err(err, errlen, "%s: empty or unreadable", path);
        return NULL;
    }
    buf[n] = '\0';
    return buf;
}

static void mhd_log(void *cls, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    dash_t *d = cls;
    char line[512];
    if (!d->log)
        return;
    vsnprintf(line, sizeof line, fmt, ap);
    pthread_mutex_lock(&d->log_lock);
    fprintf(d->log, "dashboard: libmicrohttpd: %s", line);
    fflush(d->log);
    pthread_mutex_unlock(&d->log_lock);
}

dash_t *dash_start(const dash_opts_t *o, char *err, size_t errlen)
{
    if (!o || !o->users_file || !o->www_dir || (!o->cfg && !o->data_dir) ||
        !o->tls_cert != !o->tls_key || o->port < 0 || o->port > 65535) {
        errno = EINVAL;
        wa_err(err, errlen,
               "a users file, a www folder, a config or data folder, and both or "
               "neither of the TLS certificate and key are needed");
        return NULL;
    }
    dash_t *d = calloc(1, sizeof *d);
    if (!d) {
        wa_err(err, errlen, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&d->log_lock, NULL);
    d->log = o->log;
    wa_strlcpy(d->www_dir, o->www_dir, sizeof d->www_dir);
    wa_strlcpy(d->bind, o->bind ? o->bind : "127.0.0.1", sizeof d->bind);
    struct stat sb;
    char index[SC_PATH_MAX + 16];
    snprintf(index, sizeof index, "%s/index.html", d->www_dir);
    if (stat(index, &sb) < 0) {
        wa_err(err, errlen, "%s: %s (the dashboard's pages)", index, strerror(errno));
        goto fail;
    }
    if (!(d->users = du_open(o->users_file, err, errlen)))
        goto fail;
    d->sessions = ds_new(MAX_SESSIONS, o->session_idle_s > 0 ? o->session_idle_s : 8 * 3600);
    d->limiter = dl_new(o->login_max_failures > 0 ? o->login_max_failures : 5,
                        o->login_window_s > 0 ? o->login_window_s : 900);
    if (!d->sessions || !d->limiter) {
        wa_err(err, errlen, "out of memory");
        goto fail;
    }
    dd_opts_t dopt = {o->cfg, o->data_dir, o->status_file, o->factors, o->tz, o->refresh_s, o->log};
    if (!(d->data = dd_open(&dopt, err, errlen)))
        goto fail;

    struct sockaddr_in a4 = {.sin_family = AF_INET, .sin_port = htons((uint16_t)o->port)};
    struct sockaddr_in6 a6 = {.sin6_family = AF_INET6, .sin6_port = htons((uint16_t)o->port)};
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO;
    const struct sockaddr *sa = (const struct sockaddr *)&a4;
    if (inet_pton(AF_INET, d->bind, &a4.sin_addr) != 1) {
        if (inet_pton(AF_INET6, d->bind, &a6.sin6_addr) != 1) {
            errno = EINVAL;
            wa_err(err, errlen, "--bind \"%s\" is not an IPv4 or IPv6 address", d->bind);
            goto fail;
        }
        sa = (const struct sockaddr *)&a6;
        flags |= MHD_USE_IPv6;
    }
    if (d->log)
        flags |= MHD_USE_ERROR_LOG;
    if (o->tls_cert) {
        if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
            errno = ENOTSUP;
            wa_err(err, errlen, "this libmicrohttpd was built without TLS");
            goto fail;
        }
        if (!(d->tls_cert = slurp(o->tls_cert, err, errlen)) ||
            !(d->tls_key = slurp(o->tls_key, err, errlen)))
            goto fail;
        flags |= MHD_USE_TLS;
        d->tls = 1;
    }
    struct MHD_OptionItem tls_opts[] = {
        {d->tls ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0, d->tls_cert},
        {d->tls ? MHD_OPTION_HTTPS_MEM_KEY : MHD_OPTION_END, 0, d->tls_key},
        {MHD_OPTION_END, 0, NULL},
    };
    d->mhd =
        MHD_start_daemon(flags, 0, NULL, NULL, on_request, d, MHD_OPTION_EXTERNAL_LOGGER, mhd_log,
                         d, MHD_OPTION_SOCK_ADDR, sa, MHD_OPTION_THREAD_POOL_SIZE,
                         (unsigned)(o->threads > 0 ? o->threads : 4), MHD_OPTION_CONNECTION_LIMIT,
                         512u, MHD_OPTION_CONNECTION_TIMEOUT, 60u, MHD_OPTION_NOTIFY_COMPLETED,
                         on_completed, d, MHD_OPTION_ARRAY, tls_opts, MHD_OPTION_END);
    if (!d->mhd) {
        errno = EADDRINUSE;
        wa_err(err, errlen, "cannot listen on %s port %d (in use, or not allowed)", d->bind,
               o->port);
        goto fail;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(d->mhd, MHD_DAEMON_INFO_BIND_PORT);
    d->port = di ? di->port : o->port;
    return d;
fail:
    dash_stop(d);
    return NULL;
}

int dash_port(const dash_t *d)
{
    return d ? d->port : -1;
}

char *dash_url(const dash_t *d, char *buf, size_t len)
{
    int v6 = strchr(d->bind, ':') != NULL;
    const char *host = strcmp(d->bind, "0.0.0.0") == 0 ? "127.0.0.1" : d->bind;
    snprintf(buf, len, "%s://%s%s%s:%d/", d->tls ? "https" : "http", v6 ? "[" : "", host,
             v6 ? "]" : "", d->port);
    return buf;
}

void dash_stop(dash_t *d)
{
    if (!d)
        return;
    if (d->mhd)
        MHD_stop_daemon(d->mhd);
    dd_close(d->data);
    ds_free(d->sessions);
    dl_free(d->limiter);
    du_close(d->users);
    free(d->tls_cert);
    free(d->tls_key);
    pthread_mutex_destroy(&d->log_lock);
    free(d);
}

int dash_serve(const dash_opts_t *o, volatile sig_atomic_t *stop, FILE *announce, char *err,
               size_t errlen)
{
    dash_t *d = dash_start(o, err, errlen);
    if (!d)
        return -1;
    if (announce) {
        char url[128];
        fprintf(announce, "wattaudit serve: dashboard at %s\n", dash_url(d, url, sizeof url));
        fflush(announce);
    }
    while (!*stop)
        usleep(100000);
    dash_stop(d);
    return 0;
}
