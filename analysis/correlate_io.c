/* Declarations read at analysis time: research jobs (a schedule file or a Slurm accounting
 * export in `sacct --parsable2` form) and the flagged addresses from network monitoring.
 * Both are outside input: lengths are given, fields bounded, every refusal names the line. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/correlate-private.h"
#include "common/common.h"

#define FIELDS_MAX 64

static int bad(const char *name, size_t line, int e, char *err, size_t errlen, const char *what)
{
    wa_err(err, errlen, "%s:%zu: %s", name, line, what);
    errno = e;
    return -1;
}

/* Splits line (NUL-terminated, modified) at sep into at most FIELDS_MAX fields. */
static size_t split(char *line, char sep, char **f)
{
    size_t n = 0;
    for (char *p = line;;) {
        if (n == FIELDS_MAX)
            return n + 1; /* too many */
        f[n++] = p;
        char *e = strchr(p, sep);
        if (!e)
            return n;
        *e = '\0';
        p = e + 1;
    }
}

/* Slurm's hostlist form "gpu[01-03,07],cpu1" to "gpu01,gpu02,gpu03,gpu07,cpu1". */
static int expand_nodes(const char *in, char *out, size_t cap)
{
    size_t o = 0;
    out[0] = '\0';
    for (const char *p = in; *p;) {
        const char *br = strpbrk(p, "[,");
        if (!br || *br == ',') {
            size_t l = br ? (size_t)(br - p) : strlen(p);
            if (o + l + 2 > cap)
                return -1;
            if (o)
                out[o++] = ',';
            memcpy(out + o, p, l);
            o += l;
            out[o] = '\0';
            p += l + (br ? 1 : 0);
            continue;
        }
        size_t pl = (size_t)(br - p);
        const char *close = strchr(br, ']');
        if (!close || pl >= 64)
            return -1;
        for (const char *q = br + 1; q < close;) {
            char *e;
            long a = strtol(q, &e, 10), b = a;
            int width = (int)(e - q);
            if (e == q || width > 9)
                return -1;
            if (*e == '-') {
                const char *q2 = e + 1;
                b = strtol(q2, &e, 10);
                if (e == q2 || b < a || b - a > 4096)
                    return -1;
            }
            for (long v = a; v <= b; v++) {
                char one[96];
                int l = snprintf(one, sizeof one, "%.*s%0*ld", (int)pl, p, width, v);
                if (l < 0 || o + (size_t)l + 2 > cap)
                    return -1;
                if (o)
                    out[o++] = ',';
                memcpy(out + o, one, (size_t)l + 1);
                o += (size_t)l;
            }
            if (*e == ',')
                e++;
            else if (e != close)
                return -1;
            q = e;
        }
        p = close + 1;
        if (*p == ',')
            p++;
    }
    return 0;
}

/* Room for one more of n items of size bytes in v: doubles *cap (from 16) when full.  NULL,
 * with v freed, when out of memory. */
static void *grow(void *v, size_t n, size_t *cap, size_t size)
{
    if (n < *cap)
        return v;
    size_t nc = *cap ? *cap * 2 : 16;
    void *nv = realloc(v, nc * size);
    if (!nv) {
        free(v);
        return NULL;
    }
    *cap = nc;
    return nv;
}

/* Iterates the lines of text; line is a NUL-terminated copy without '\r' or '\n'. */
typedef struct lines {
    const char *p, *end;
    size_t no;
    char buf[4096];
} lines_t;

static int next_line(lines_t *l, int *too_long)
{
    *too_long = 0;
    if (l->p >= l->end)
        return 0;
    const char *nl = memchr(l->p, '\n', (size_t)(l->end - l->p));
    const char *e = nl ? nl : l->end;
    size_t n = (size_t)(e - l->p);
    if (n && l->p[n - 1] == '\r')
        n--;
    l->no++;
    if (n >= sizeof l->buf || memchr(l->p, '\0', n)) {
        *too_long = 1;
        n = 0;
    }
    memcpy(l->buf, l->p, n);
    l->buf[n] = '\0';
    l->p = nl ? nl + 1 : l->end;
    return 1;
}

static int jobs_parse(const char *name, const char *text, size_t len, cr_job_t **out, char *err,
                      size_t errlen)
{
    lines_t l = {.p = text, .end = text + len};
    int col_id = -1, col_user = -1, col_nodes = -1, col_start = -1, col_end = -1, tl;
    size_t n = 0, cap = 0;
    cr_job_t *v = NULL;
    char *f[FIELDS_MAX + 1];
    *out = NULL;
    while (next_line(&l, &tl)) {
        if (tl) {
            free(v);
            return bad(name, l.no, WA_EPROTO, err, errlen, "line too long or holds a NUL");
        }
        if (!l.buf[0] || l.buf[0] == '#')
            continue;
        size_t nf = split(l.buf, '|', f);
        if (nf > FIELDS_MAX) {
            free(v);
            return bad(name, l.no, WA_EPROTO, err, errlen, "too many fields");
        }
        if (col_id < 0) {
            for (size_t i = 0; i < nf; i++) {
                if (!strcmp(f[i], "JobID"))
                    col_id = (int)i;
                else if (!strcmp(f[i], "User"))
                    col_user = (int)i;
                else if (!strcmp(f[i], "NodeList"))
                    col_nodes = (int)i;
                else if (!strcmp(f[i], "Start"))
                    col_start = (int)i;
                else if (!strcmp(f[i], "End"))
                    col_end = (int)i;
            }
            if (col_id < 0 || col_nodes < 0 || col_start < 0 || col_end < 0)
                return bad(name, l.no, WA_EPROTO, err, errlen,
                           "header must name JobID, NodeList, Start and End (sacct --parsable2 "
                           "--format=JobID,User,NodeList,Start,End)");
            continue;
        }
        int need = col_id;
        if (col_nodes > need)
            need = col_nodes;
        if (col_start > need)
            need = col_start;
        if (col_end > need)
            need = col_end;
        if (col_user > need)
            need = col_user;
        if ((int)nf <= need) {
            free(v);
            return bad(name, l.no, WA_EPROTO, err, errlen, "fewer fields than the header");
        }
        if (strchr(f[col_id], '.'))
            continue; /* a job step (123.batch, 123.0): its job's row covers it */
        if (!strcmp(f[col_start], "Unknown") || !strcmp(f[col_start], "None"))
            continue; /* pending: never ran */
        cr_job_t j = {0};
        if (wa_strlcpy(j.id, f[col_id], sizeof j.id) < 0 ||
            (col_user >= 0 && wa_strlcpy(j.user, f[col_user], sizeof j.user) < 0)) {
            free(v);
            return bad(name, l.no, WA_EPROTO, err, errlen, "job id or user too long");
        }
        if (expand_nodes(f[col_nodes], j.hosts, sizeof j.hosts) < 0) {
            free(v);
            return bad(name, l.no, WA_EPROTO, err, errlen, "node list not understood");
        }
        if (wa_time_parse_held(f[col_start], &j.from) < 0) {
            free(v);
            return bad(name, l.no, WA_EPROTO, err, errlen, "Start is not a time");
        }
        if (!strcmp(f[col_end], "Unknown") || !f[col_end][0])
            j.to = INT64_MAX;
        else if (wa_time_parse_held(f[col_end], &j.to) < 0 || j.to < j.from) {
            free(v);
            return bad(name, l.no, WA_EPROTO, err, errlen, "End is not a time after Start");
        }
        if (!(v = grow(v, n, &cap, sizeof *v)))
            return bad(name, l.no, ENOMEM, err, errlen, "out of memory");
        v[n++] = j;
    }
    *out = v;
    return (int)n;
}

static int flagged_parse(const char *name, const char *text, size_t len, cr_flagged_t **out,
                         char *err, size_t errlen)
{
    lines_t l = {.p = text, .end = text + len};
    size_t n = 0, cap = 0;
    int tl;
    cr_flagged_t *v = NULL;
    char *f[FIELDS_MAX + 1];
    *out = NULL;
    while (next_line(&l, &tl)) {
        if (tl) {
            free(v);
            return bad(name, l.no, WA_EPROTO, err, errlen, "line too long or holds a NUL");
        }
        if (!l.buf[0] || l.buf[0] == '#')
            continue;
        if (split(l.buf, ',', f) != 2) {
            free(v);
            return bad(name, l.no, WA_EPROTO, err, errlen, "expected \"address,seen\"");
        }
        cr_flagged_t x = {0};
        unsigned char bin[16];
        if (wa_strlcpy(x.ip, f[0], sizeof x.ip) < 0 ||
            (inet_pton(AF_INET, x.ip, bin) != 1 && inet_pton(AF_INET6, x.ip, bin) != 1)) {
            free(v);
            return bad(name, l.no, WA_EPROTO, err, errlen, "not an IPv4 or IPv6 address");
        }
        if (wa_time_parse_held(f[1], &x.seen) < 0) {
            free(v);
            return bad(name, l.no, WA_EPROTO, err, errlen, "'seen' is not a time");
        }
        if (!(v = grow(v, n, &cap, sizeof *v)))
            return bad(name, l.no, ENOMEM, err, errlen, "out of memory");
        v[n++] = x;
    }
    *out = v;
    return (int)n;
}

const sc_host_t *cr_host_by_ip(const sc_site_t *s, const char *ip)
{
    for (size_t i = 0; s && i < s->n_hosts; i++)
        for (size_t k = 0; k < s->hosts[i].n_ips; k++)
            if (!strcmp(s->hosts[i].ips[k], ip))
                return &s->hosts[i];
    return NULL;
}

/* The zone is held for the whole file: switching it for each of a Slurm export's thousands of
 * times cost more than the rest of the correlation (bench/README.md, "correlate"). */
int cr_jobs_parse(const char *name, const char *text, size_t len, const char *tz,
                  cr_job_t **out, char *err, size_t errlen)
{
    wa_tz_hold_t h;
    wa_tz_hold(tz, &h);
    int rc = jobs_parse(name, text, len, out, err, errlen);
    int e = errno;
    wa_tz_release(&h);
    errno = e;
    return rc;
}

int cr_flagged_parse(const char *name, const char *text, size_t len, const char *tz,
                     cr_flagged_t **out, char *err, size_t errlen)
{
    wa_tz_hold_t h;
    wa_tz_hold(tz, &h);
    int rc = flagged_parse(name, text, len, out, err, errlen);
    int e = errno;
    wa_tz_release(&h);
    errno = e;
    return rc;
}
