/* dashboard internals shared by its sources; not for other modules. */
#ifndef WA_DASH_PRIVATE_H
#define WA_DASH_PRIVATE_H

#include <microhttpd.h>
#include <pthread.h>
#include <sodium.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "analysis/analysis.h"
#include "dashboard/dashboard.h"

/* ---- parse.c: request text into values; every function is total on any input (fuzzed) ---- */

#define DP_VALUE_MAX 1024

/* Decodes application/x-www-form-urlencoded text ('+' is a space, %XX a byte) into out.
 * Returns the length, or -1 for a bad escape, a NUL byte or no room. */
int dp_urldecode(const char *in, size_t len, char *out, size_t outlen);
/* Finds key in a form body.  1 found (decoded into out), 0 absent, -1 malformed or too long. */
int dp_form_get(const char *body, size_t len, const char *key, char *out, size_t outlen);
/* Checks that every key of the body is in allowed (NULL-terminated) and appears once, and that
 * every pair decodes.  0, or -1 with the first offending key (or "") in bad. */
int dp_form_check(const char *body, size_t len, const char *const *allowed, char *bad,
                  size_t badlen);
/* Value of cookie name in a Cookie header.  1 found, 0 absent, -1 too long. */
int dp_cookie_get(const char *header, const char *name, char *out, size_t outlen);
/* 1 if s is a site, device or channel id part: 1-63 of [A-Za-z0-9._-], not "." or "..". */
int dp_is_id(const char *s);
/* 1 if s is a channel id "a/b/c..." whose parts are ids, at most 255 bytes. */
int dp_is_channel_id(const char *s);
/* Whole-string integer / number in [lo, hi].  0, or -1. */
int dp_parse_long(const char *s, long lo, long hi, long *out);
int dp_parse_double(const char *s, double lo, double hi, double *out);
/* "en" or "zh-CN" from an Accept-Language header by its q values; NULL header = "en". */
const char *dp_lang_negotiate(const char *accept_language);
/* "en" or "zh-CN" if s names one (also "zh", "zh-cn", "en-US"...), else NULL. */
const char *dp_lang_parse(const char *s);
/* Splits a comma list of ids into items (each checked with dp_is_id).  Count, or -1. */
int dp_id_list(const char *s, char (*items)[SC_ID_MAX], size_t max);
/* 64 hex characters of a session or CSRF token. */
int dp_is_token(const char *s);

/* ---- i18n.c: the server's own messages in both languages ---- */

typedef enum {
    I18N_BAD_PARAM,
    I18N_UNKNOWN_PARAM,
    I18N_NOT_FOUND,
    I18N_NO_SUCH_CHANNEL,
    I18N_NO_SUCH_FINDING,
    I18N_NO_SUCH_SITE,
    I18N_LOGIN_REQUIRED,
    I18N_FORBIDDEN,
    I18N_CSRF,
    I18N_BAD_LOGIN,
    I18N_RATE_LIMITED,
    I18N_METHOD,
    I18N_TOO_LARGE,
    I18N_BAD_FORM,
    I18N_NO_DATA,
    I18N_INTERNAL,
    I18N_BAD_ORIGIN,
    I18N_NO_SUCH_ADDRESS,
    I18N_NO_HOSTS,
    I18N_COUNT_
} i18n_msg_t;
/* The message in lang ("en" or "zh-CN"; anything else = "en").  Static string, may contain
 * one %s for a parameter name. */
const char *i18n_msg(i18n_msg_t m, const char *lang);

/* ---- auth.c: users file, password checks, login rate limits ---- */

typedef struct du_user {
    char name[64];
    dash_role_t role;
    char lang[8];
    char hash[crypto_pwhash_STRBYTES];
} du_user_t;

typedef struct dash_users dash_users_t;
/* Loads path (reloaded by du_check when its mtime changes).  NULL with errno and err. */
dash_users_t *du_open(const char *path, char *err, size_t errlen);
void du_close(dash_users_t *u);
/* Verifies name and password (Argon2id; an unknown name costs the same time).  1 with the
 * user copied to out, 0 wrong, -1 on error. */
int du_check(dash_users_t *u, const char *name, const char *password, du_user_t *out);
/* Copies the users without hashes into a new array the caller frees.  Count, or -1. */
int du_list(dash_users_t *u, du_user_t **out);

typedef struct dash_limiter dash_limiter_t;
dash_limiter_t *dl_new(int max_failures, int window_s);
void dl_free(dash_limiter_t *l);
/* 0 if key may try now, else the seconds until it may. */
int dl_blocked(dash_limiter_t *l, const char *key, int64_t now);
void dl_fail(dash_limiter_t *l, const char *key, int64_t now);
void dl_reset(dash_limiter_t *l, const char *key);

/* ---- session.c ---- */

#define DS_TOKEN_LEN 64
typedef struct dash_session {
    char id[DS_TOKEN_LEN + 1];
    char csrf[DS_TOKEN_LEN + 1];
    char user[64]; /* "" = not logged in (a visitor who may log in) */
    dash_role_t role;
    char lang[8];
    int64_t created, last;
} dash_session_t;

typedef struct dash_sessions dash_sessions_t;
dash_sessions_t *ds_new(size_t max, int idle_s);
void ds_free(dash_sessions_t *s);
/* A new session with fresh random id and CSRF token, copied to out.  When full, the least
 * recently used session ends.  0, or -1. */
int ds_create(dash_sessions_t *s, const char *user, dash_role_t role, const char *lang, int64_t now,
              dash_session_t *out);
/* 1 found (copied to out, last use updated), 0 absent or expired. */
int ds_lookup(dash_sessions_t *s, const char *id, int64_t now, dash_session_t *out);
int ds_set_lang(dash_sessions_t *s, const char *id, const char *lang);
void ds_destroy(dash_sessions_t *s, const char *id);
/* Constant-time comparison of two tokens: 1 equal. */
int ds_token_equal(const char *a, const char *b);

/* ---- data.c: the analysis, kept fresh, and the collector's status ---- */

/* A finding of the analysis: the channel layer's (an_finding_t, id "<channel id>:<index>") or
 * the correlation's (an_corr_finding_t in the channel's corr, id "<channel id>:c<index>"). */
typedef struct dd_finding_ref {
    char id[300];
    size_t site, channel, finding;
    int corr;
} dd_finding_ref_t;

/* One analysis of all sites; immutable once published, freed when its last user releases it. */
typedef struct dd_snap {
    an_result_t r;
    dd_finding_ref_t *findings;
    size_t n_findings;
    int64_t computed;    /* real time of the analysis */
    time_t newest_mtime; /* newest channel file it saw */
    uint64_t gen;
    int refs; /* guarded by the data's lock */
} dd_snap_t;

typedef struct dash_data dash_data_t;
typedef struct dd_opts {
    const siteconf_t *cfg;
    const char *data_dir, *status_file, *factors, *tz;
    int refresh_s;
    FILE *log;
} dd_opts_t;
dash_data_t *dd_open(const dd_opts_t *o, char *err, size_t errlen);
void dd_close(dash_data_t *d);
dd_snap_t *dd_acquire(dash_data_t *d);
void dd_release(dash_data_t *d, dd_snap_t *s);
/* The channel of id in s, or NULL. */
const an_channel_result_t *dd_channel(const dd_snap_t *s, const char *id, size_t *site);
const dd_finding_ref_t *dd_finding(const dd_snap_t *s, const char *id);
/* Runs a fresh analysis of the sites named (all if n == 0) over [from, to] with factors.
 * 0, or -1 with errno (ENOENT: a site is unknown) and err. */
int dd_run(dash_data_t *d, char (*sites)[SC_ID_MAX], size_t n, int64_t from, int64_t to,
           const an_factors_t *f, an_result_t *out, char *err, size_t errlen);
/* The collector's health per site as a cJSON object (caller deletes), or NULL without a
 * status file.  Cached until the file changes. */
struct cJSON;
struct cJSON *dd_health(dash_data_t *d);
const char *dd_default_factors(const dash_data_t *d);
/* "sec.nsec" of the status file's mtime, or "none": part of cache keys of what shows health. */
void dd_status_stamp(dash_data_t *d, char *buf, size_t len);
/* Cached series responses (keyed by the request's text and the file's mtime). */
char *dd_cache_get(dash_data_t *d, const char *key, time_t mtime, size_t *len);
void dd_cache_put(dash_data_t *d, const char *key, time_t mtime, const char *body, size_t len);

/* ---- view.c: findings of both sources seen alike ---- */

/* What the lists, filters and pages need of a finding, whichever layer found it.  Pointers
 * point into the snapshot the reference came from. */
typedef struct dd_view {
    int corr; /* 1: a correlation finding */
    const an_site_result_t *site;
    const an_channel_result_t *channel;
    const an_finding_t *power;   /* corr == 0 */
    const an_corr_finding_t *cf; /* corr == 1 */
    const char *kind;            /* an_kind_name() or an_corr_kind_name() */
    int64_t onset;
    double w, w_lo, w_hi;     /* size; lo and hi NaN for a correlation finding */
    double excess_kwh, score; /* NaN for a correlation finding */
    const char *explained_by; /* "" = unexplained */
    an_class_t cls;
    const char *why;   /* the class's reason as the analyzer words it */
    const char *units; /* power: the rig kind; correlation: "host" or "gpu_rig" */
    int count_min, count_max;
    int active; /* 1 still running at the end of the data, 0 ended, -1 not
                   known (a research host's load) */
    const an_evidence_t *evidence;
    size_t n_evidence;
} dd_view_t;
void dd_view(const dd_snap_t *s, const dd_finding_ref_t *ref, dd_view_t *out);
/* Still running at the end of the data: the analyzer's rule (docs/analysis-json.md, "Sums and
 * savings"): its end within two steps, at least an hour, of the last known power step. */
int dd_finding_active(const an_channel_result_t *c, const an_finding_t *f);
/* The id of finding idx of channel c ("<channel>:<idx>", or ":c<idx>" for corr) into buf. */
void dd_finding_id(const an_channel_result_t *c, int corr, size_t idx, char *buf, size_t len);
/* 1 if name is a kind of either layer. */
int dd_kind_known(const char *name);

/* ---- server.c: requests and responses ---- */

struct dash {
    struct MHD_Daemon *mhd;
    dash_users_t *users;
    dash_sessions_t *sessions;
    dash_limiter_t *limiter;
    dash_data_t *data;
    char www_dir[SC_PATH_MAX];
    char bind[64];
    int port, tls;
    char *tls_cert, *tls_key;
    FILE *log;
    pthread_mutex_t log_lock;
};

typedef struct dash_req {
    dash_t *d;
    struct MHD_Connection *conn;
    const char *method, *path;
    const char *body;
    size_t body_len;
    int has_session;
    dash_session_t sess;
    const char *lang;
    char ip[64];
    int status;        /* what was sent, for the log */
    char cookie[200];  /* a Set-Cookie to send with the response, or "" */
    int retry_after;   /* seconds for a Retry-After header, or 0 */
    const char *allow; /* methods for an Allow header (405), or NULL */
} dash_req_t;

/* Sends body (copied) with status and content type; adds the security headers.  MHD_YES/NO. */
enum MHD_Result dr_send(dash_req_t *r, unsigned status, const char *ctype, const char *body,
                        size_t len);
/* Takes ownership of a malloc'd body. */
enum MHD_Result dr_send_owned(dash_req_t *r, unsigned status, const char *ctype, char *body,
                              size_t len, const char *disposition);
/* {"error": code, "message": text in the request's language, "param": param}. */
enum MHD_Result dr_error(dash_req_t *r, unsigned status, i18n_msg_t m, const char *param);
struct cJSON;
/* Prints and deletes j. */
enum MHD_Result dr_json(dash_req_t *r, unsigned status, struct cJSON *j);
/* A query argument, or NULL. */
const char *dr_arg(dash_req_t *r, const char *name);
/* Sets (id) or clears (NULL) the session cookie on the response to come. */
void dr_session_cookie(dash_req_t *r, const char *id);

/* ---- jbuf.c: JSON of long number arrays, written directly ---- */

typedef struct jbuf {
    char *p; /* NUL-terminated; the caller frees (or hands it to dr_send_owned) */
    size_t len, cap;
    int oom; /* set when a growth failed; later writes do nothing */
} jbuf_t;
void jb_put(jbuf_t *b, const char *s, size_t n);
void jb_puts(jbuf_t *b, const char *s);
/* v to 9 significant digits, or null when not finite. */
void jb_num(jbuf_t *b, double v);
/* "name":[v0,v1,...] */
void jb_array(jbuf_t *b, const char *name, const double *v, size_t n);

/* ---- routes_*.c ---- */

typedef enum MHD_Result (*dash_route_fn)(dash_req_t *r);
enum MHD_Result rt_session(dash_req_t *r);
enum MHD_Result rt_login(dash_req_t *r);
enum MHD_Result rt_logout(dash_req_t *r);
enum MHD_Result rt_prefs(dash_req_t *r);
enum MHD_Result rt_users(dash_req_t *r);
enum MHD_Result rt_sites(dash_req_t *r);
enum MHD_Result rt_channels(dash_req_t *r);
enum MHD_Result rt_findings(dash_req_t *r);
enum MHD_Result rt_finding(dash_req_t *r);
enum MHD_Result rt_series(dash_req_t *r);
enum MHD_Result rt_factors(dash_req_t *r);
enum MHD_Result rt_report(dash_req_t *r);
enum MHD_Result rt_compute(dash_req_t *r);
enum MHD_Result rt_flagged(dash_req_t *r);

/* JSON helpers (routes_sites.c): a number, or null when not finite. */
struct cJSON *rj_num(double v);
struct cJSON *rj_channel(const an_channel_result_t *c);
struct cJSON *rj_finding(const dd_snap_t *s, const dd_finding_ref_t *f, int detail);
/* "deliberate", "passive", "research" or null. */
struct cJSON *rj_class(an_class_t c);
/* A channel's fit against its hosts (routes_compute.c): statistics, the hosts' table and the
 * correlation findings with their ids; null without hosts. */
struct cJSON *rj_corr(const an_site_result_t *site, const an_channel_result_t *c);
/* Parses a time argument in tz: 0 absent, 1 parsed, -1 bad. */
int rj_time_arg(dash_req_t *r, const char *name, const char *tz, int64_t *out);

#endif
