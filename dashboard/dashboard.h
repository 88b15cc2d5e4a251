/*
 * dashboard: `wattaudit serve`, the web face of the analyzer (docs/dashboard.md, docs/api.md).
 *
 * An HTTP(S) server on libmicrohttpd that serves a JSON API over the analyzer's results and the
 * collector's status file, and the static pages under www/ that use the same API.  It reads RRD
 * files through analysis/ and storage/ and never talks to a meter: nothing here links the
 * meters modules, and no request can write to a device.  Users, roles and Argon2id password
 * hashes come from a users file (docs/dashboard.md, "Users").
 */
#ifndef WA_DASHBOARD_H
#define WA_DASHBOARD_H

#include <signal.h>
#include <stddef.h>
#include <stdio.h>

#include "siteconf/siteconf.h"

/* Roles, least to most trusted.  Each role may do what the ones before it may. */
typedef enum {
    DASH_ROLE_VIEWER,  /* overview, channels and their charts */
    DASH_ROLE_MANAGER, /* facilities manager: + findings and their evidence */
    DASH_ROLE_OFFICER, /* reporting officer: + the savings report and its downloads */
    DASH_ROLE_ADMIN,   /* + the list of users */
    DASH_ROLE_COUNT_
} dash_role_t;

/* "viewer", "manager", "officer", "admin".  Static strings. */
const char *dash_role_name(dash_role_t r);
/* Also accepts "facilities_manager" and "reporting_officer".  0, or -1 with errno EINVAL. */
int dash_role_parse(const char *s, dash_role_t *out);

typedef struct dash_opts {
    const siteconf_t *cfg;   /* borrowed for the server's life; NULL = data_dir alone */
    const char *data_dir;    /* overrides cfg's storage.data_dir; required without cfg */
    const char *status_file; /* collector status (docs/collector.md); NULL = cfg's, "" = none */
    const char *users_file;  /* required (docs/dashboard.md, "Users") */
    const char *www_dir;     /* static pages and assets; required */
    const char *bind;        /* address to listen on; NULL = "127.0.0.1" */
    int port;                /* 0 = a free port chosen by the kernel (see dash_port) */
    const char *tls_cert;    /* PEM files; both or neither.  With them, HTTPS only */
    const char *tls_key;
    const char *factors;    /* default factor preset; NULL = "cn-grid-2022" */
    const char *tz;         /* zone for sites without one; NULL = the config's, else TZ */
    int refresh_s;          /* how often to look for new data; 0 = 30 */
    int threads;            /* worker threads; 0 = 4 */
    int login_max_failures; /* failed logins per address or user name before 429; 0 = 5 */
    int login_window_s;     /* ... within this many seconds; 0 = 900 */
    int session_idle_s;     /* idle sessions end after this; 0 = 8 h */
    FILE *log;              /* one line per request and per event; NULL = none */
} dash_opts_t;

typedef struct dash dash_t;

/* Loads users, runs the first analysis and starts listening.  Strings in o are copied; cfg is
 * borrowed.  Returns the server (stop with dash_stop), or NULL with errno and the reason in err. */
dash_t *dash_start(const dash_opts_t *o, char *err, size_t errlen);
/* The port the server listens on (useful with port 0). */
int dash_port(const dash_t *d);
/* "http://127.0.0.1:8080/" into buf; returns buf. */
char *dash_url(const dash_t *d, char *buf, size_t len);
/* Stops listening, waits for requests in flight and frees.  Accepts NULL. */
void dash_stop(dash_t *d);

/* dash_start, then serves until *stop becomes non-zero, then dash_stop.  Prints the address to
 * `announce` (if not NULL) once listening.  0, or -1 with errno and err. */
int dash_serve(const dash_opts_t *o, volatile sig_atomic_t *stop, FILE *announce, char *err,
               size_t errlen);

/* Adds or replaces user `name` in the users file (created with mode 0600 if missing), with an
 * Argon2id hash of password (libsodium's interactive limits) and a language ("en", "zh-CN").
 * The file is rewritten atomically.  Names are 1-63 of [A-Za-z0-9._@-].  0, or -1 with errno
 * (EINVAL, or a system errno) and err. */
int dash_user_add(const char *users_file, const char *name, dash_role_t role, const char *lang,
                  const char *password, char *err, size_t errlen);

#endif
