/*
 * CSV import of interval data (docs/import.md): the long format (time, value[, more columns])
 * and the wide one (a date and 24, 48 or 96 values a day, the "96-point load curve").  Parsing
 * builds the whole series in memory first, so that a bad row refuses the file before anything
 * is written; writing goes to a temporary file beside the target, renamed only when complete.
 */
#include "analysis/site-private.h"

#include "common/common.h"
#include "storage/storage.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_FIELDS 128
#define MAX_STEPS (20u * 1000 * 1000) /* 20 years at one minute: far beyond any export */
#define MAX_BAD_LISTED 50
/* More steps than this many per row (beyond a margin) is not interval data with gaps. */
#define SPARSE_RATIO 50
#define SPARSE_SLACK 10000
/* Times outside 1970..2199 are taken as typing errors, and int64 arithmetic stays safe. */
#define T_MIN INT64_C(0)
#define T_MAX INT64_C(7258118400)

const char *an_unit_name(an_unit_t u)
{
    static const char *const names[] = {"auto", "kW", "W", "kWh", "Wh", "%", "fraction"};
    return (unsigned)u < sizeof names / sizeof names[0] ? names[u] : "?";
}

int an_unit_parse(const char *s, an_unit_t *out)
{
    static const struct {
        const char *name;
        an_unit_t u;
    } units[] = {{"kW", AN_UNIT_KW},
                 {"W", AN_UNIT_W},
                 {"kWh", AN_UNIT_KWH},
                 {"Wh", AN_UNIT_WH},
                 {"%", AN_UNIT_PERCENT},
                 {"percent", AN_UNIT_PERCENT},
                 {"fraction", AN_UNIT_FRACTION}};
    for (size_t i = 0; s && i < sizeof units / sizeof units[0]; i++)
        if (strcasecmp(s, units[i].name) == 0) {
            *out = units[i].u;
            return 0;
        }
    errno = EINVAL;
    return -1;
}

/* ---- lines and fields ---- */

struct line {
    const char *p;
    size_t len;
    long no;
};

/* Next line of the buffer (without its \r\n); 0 at the end. */
static int next_line(const char **cur, const char *end, struct line *ln)
{
    if (*cur >= end)
        return 0;
    const char *s = *cur;
    const char *nl = memchr(s, '\n', (size_t)(end - s));
    const char *e = nl ? nl : end;
    *cur = nl ? nl + 1 : end;
    if (e > s && e[-1] == '\r')
        e--;
    ln->p = s;
    ln->len = (size_t)(e - s);
    ln->no++;
    return 1;
}

/* Splits a line into fields on sep, with RFC 4180 quotes; fields are copied into store (which
 * is len + 1 bytes or more) and trimmed.  Returns the count, or -1 for an unclosed quote. */
static int split(const struct line *ln, char sep, char *store, char **f, int max)
{
    int n = 0;
    size_t i = 0, o = 0;
    for (;;) {
        if (n == max)
            return n;
        f[n++] = store + o;
        int quoted = 0;
        while (i < ln->len && (ln->p[i] == ' ' || ln->p[i] == '\t') && ln->p[i] != sep)
            i++;
        if (i < ln->len && ln->p[i] == '"') {
            quoted = 1;
            i++;
            for (;;) {
                if (i >= ln->len)
                    return -1;
                if (ln->p[i] == '"') {
                    if (i + 1 < ln->len && ln->p[i + 1] == '"') {
                        store[o++] = '"';
                        i += 2;
                        continue;
                    }
                    i++;
                    break;
                }
                store[o++] = ln->p[i++];
            }
        }
        size_t start = o;
        while (i < ln->len && ln->p[i] != sep)
            store[o++] = ln->p[i++];
        /* Trim the unquoted tail. */
        while (o > start && (store[o - 1] == ' ' || store[o - 1] == '\t'))
            o--;
        (void)quoted;
        store[o++] = '\0';
        if (i >= ln->len)
            return n;
        i++; /* the separator */
    }
}

static int blank(const struct line *ln)
{
    for (size_t i = 0; i < ln->len; i++)
        if (!isspace((unsigned char)ln->p[i]))
            return 0;
    return 1;
}

/* ---- times ---- */

struct stamp {
    int y, mo, d, h, mi, s;
    int has_time;
    int has_off, off_s;
    int unix_s;
    int64_t t; /* with unix_s */
};

static int num(const char **p, int min_d, int max_d, int *out)
{
    int v = 0, n = 0;
    while (isdigit((unsigned char)**p) && n < max_d) {
        v = v * 10 + (**p - '0');
        (*p)++;
        n++;
    }
    if (n < min_d)
        return -1;
    *out = v;
    return 0;
}

/* "2024-01-31", "2024/01/31", "1/31/2024" (US month first, as in the OpenEIS exports),
 * "20240131"; then optionally " 13:45[:00]" or "T13:45[:00]", then "Z" or "+08:00". */
static int parse_stamp(const char *s, struct stamp *st)
{
    memset(st, 0, sizeof *st);
    const char *p = s;
    size_t len = strlen(s);
    if (len > 0 && len <= 12 && strspn(s, "0123456789") == len && len != 8) {
        long long v = strtoll(s, NULL, 10);
        if (v < T_MIN || v >= T_MAX)
            return -1;
        st->unix_s = 1;
        st->t = v;
        return 0;
    }
    int a, b, c;
    if (num(&p, 1, 4, &a) < 0)
        return -1;
    if (p - s == 4 && (*p == '-' || *p == '/')) {
        char sep = *p++;
        if (num(&p, 1, 2, &b) < 0 || *p++ != sep || num(&p, 1, 2, &c) < 0)
            return -1;
        st->y = a, st->mo = b, st->d = c;
    } else if (p - s <= 2 && *p == '/') {
        p++;
        if (num(&p, 1, 2, &b) < 0 || *p++ != '/' || num(&p, 4, 4, &c) < 0)
            return -1;
        st->mo = a, st->d = b, st->y = c;
    } else if (p - s == 4 && isdigit((unsigned char)*p)) {
        /* 8 digits: YYYYMMDD */
        if (num(&p, 2, 2, &b) < 0 || num(&p, 2, 2, &c) < 0)
            return -1;
        st->y = a, st->mo = b, st->d = c;
    } else {
        return -1;
    }
    if (*p == ' ' || *p == 'T') {
        p++;
        while (*p == ' ')
            p++;
        if (num(&p, 1, 2, &st->h) < 0 || *p++ != ':' || num(&p, 2, 2, &st->mi) < 0)
            return -1;
        if (*p == ':' && (p++, num(&p, 2, 2, &st->s) < 0))
            return -1;
        if (*p == '.') /* fractions of a second: dropped */
            for (p++; isdigit((unsigned char)*p); p++)
                ;
        st->has_time = 1;
    }
    while (*p == ' ')
        p++;
    if (*p == 'Z') {
        st->has_off = 1;
        p++;
    } else if (st->has_time && (*p == '+' || *p == '-')) {
        int sign = *p++ == '+' ? 1 : -1, oh, om = 0;
        if (num(&p, 2, 2, &oh) < 0)
            return -1;
        if (*p == ':')
            p++;
        if (isdigit((unsigned char)*p) && num(&p, 2, 2, &om) < 0)
            return -1;
        if (oh > 18 || om > 59)
            return -1;
        st->has_off = 1;
        st->off_s = sign * (oh * 3600 + om * 60);
    }
    if (*p != '\0')
        return -1;
    /* 24:00 closes a day in some exports; it is the next day's 00:00. */
    if (st->y < 1970 || st->y > 2199 || st->mo < 1 || st->mo > 12 || st->d < 1 || st->d > 31 ||
        st->h > 24 || (st->h == 24 && (st->mi || st->s)) || st->mi > 59 || st->s > 60)
        return -1;
    return 0;
}

/* The zone's offset over one local day, so that a day's rows cost two zone look-ups, not one
 * each (a look-up switches TZ and reloads the zone: about 40 us).  A day with a clock change
 * is not uniform and its rows are converted one by one. */
struct day_cache {
    int y, mo, d;
    int uniform;
    int64_t offset; /* local minus UTC, s */
};

/* The local midnight of y-mo-d in tz, as Unix seconds, and the wall-clock midnight as if UTC. */
static int local_midnight(int y, int mo, int d, const char *tz, int64_t *t, int64_t *wall)
{
    char iso[48];
    struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d};
    *wall = (int64_t)timegm(&tm);
    snprintf(iso, sizeof iso, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
    return wa_time_parse(iso, tz, t);
}

static void day_cache_fill(struct day_cache *dc, const struct stamp *st, const char *tz)
{
    int64_t t0, w0, t1, w1;
    dc->y = st->y, dc->mo = st->mo, dc->d = st->d;
    dc->uniform = local_midnight(st->y, st->mo, st->d, tz, &t0, &w0) == 0 &&
                  local_midnight(st->y, st->mo, st->d + 1, tz, &t1, &w1) == 0 && t1 - t0 == w1 - w0;
    dc->offset = w0 - t0;
}

/* Unix seconds of a parsed stamp; local times in tz.  -1 with EINVAL for a date that does not
 * exist (31 April) or a local time skipped by a clock change. */
static int stamp_time(const struct stamp *st, const char *tz, struct day_cache *dc, int64_t *out)
{
    if (st->unix_s) {
        *out = st->t;
        return 0;
    }
    int extra = 0, h = st->h;
    if (h == 24) {
        h = 0;
        extra = 86400;
    }
    struct tm tm = {.tm_year = st->y - 1900,
                    .tm_mon = st->mo - 1,
                    .tm_mday = st->d,
                    .tm_hour = h,
                    .tm_min = st->mi,
                    .tm_sec = st->s};
    time_t wall = timegm(&tm);
    if (tm.tm_mday != st->d)
        return -1;
    if (st->has_off) {
        *out = (int64_t)wall - st->off_s + extra;
        return 0;
    }
    if (dc->y != st->y || dc->mo != st->mo || dc->d != st->d)
        day_cache_fill(dc, st, tz);
    if (dc->uniform) {
        *out = (int64_t)wall - dc->offset + extra;
        return 0;
    }
    char iso[32];
    snprintf(iso, sizeof iso, "%04d-%02d-%02d %02d:%02d:%02d", st->y, st->mo, st->d, h, st->mi,
             st->s);
    if (wa_time_parse(iso, tz, out) < 0)
        return -1;
    *out += extra;
    return 0;
}

/* ---- the parse ---- */

struct rec {
    int64_t t; /* start of the interval */
    double v;  /* in the file's unit; NaN = no value */
    long line;
};

struct parse {
    const char *name;
    const an_import_opts_t *o;
    FILE *warn;
    struct rec *r;
    size_t n, cap;
    size_t bad;
    char first_bad[256];
};

static void bad_row(struct parse *ps, long line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void bad_row(struct parse *ps, long line, const char *fmt, ...)
{
    char what[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (ps->bad == 0)
        snprintf(ps->first_bad, sizeof ps->first_bad, "%s:%ld: %s", ps->name, line, what);
    if (ps->bad < MAX_BAD_LISTED)
        fprintf(ps->warn, "%s:%ld: %s\n", ps->name, line, what);
    else if (ps->bad == MAX_BAD_LISTED)
        fprintf(ps->warn, "%s: more bad rows follow; only the first %d are listed\n", ps->name,
                MAX_BAD_LISTED);
    ps->bad++;
}

static int push(struct parse *ps, int64_t t, double v, long line)
{
    if (ps->n == ps->cap) {
        size_t cap = ps->cap ? ps->cap * 2 : 4096;
        if (cap > MAX_STEPS)
            return -1;
        struct rec *r = realloc(ps->r, cap * sizeof *r);
        if (!r)
            return -1;
        ps->r = r;
        ps->cap = cap;
    }
    ps->r[ps->n++] = (struct rec){t, v, line};
    return 0;
}

/* A value cell: a number, or empty / "nan" / "NA" / "null" / "-" for no value (a gap, never
 * a zero).  -1 for anything else. */
static int parse_value(const char *s, double *v)
{
    static const char *const missing[] = {"", "nan", "na", "n/a", "null", "none", "-", "--"};
    for (size_t i = 0; i < sizeof missing / sizeof missing[0]; i++)
        if (strcasecmp(s, missing[i]) == 0) {
            *v = NAN;
            return 0;
        }
    char *end;
    errno = 0;
    double d = strtod(s, &end);
    if (end == s || *end != '\0' || errno == ERANGE || !isfinite(d))
        return -1;
    *v = d;
    return 0;
}

/* The unit a column header states: "[kW]", "(kWh)", "kW" as a word... AUTO if none. */
static an_unit_t header_unit(const char *h)
{
    char low[128];
    size_t n = 0;
    for (; h[n] && n < sizeof low - 1; n++)
        low[n] = (char)tolower((unsigned char)h[n]);
    low[n] = '\0';
    static const struct {
        const char *tok;
        an_unit_t u;
    } toks[] = {{"kwh", AN_UNIT_KWH}, {"kw", AN_UNIT_KW}, {"wh", AN_UNIT_WH},
                {"[w]", AN_UNIT_W},   {"(w)", AN_UNIT_W}, {"_w", AN_UNIT_W}};
    for (size_t i = 0; i < sizeof toks / sizeof toks[0]; i++) {
        const char *p = strstr(low, toks[i].tok);
        if (!p)
            continue;
        /* "kw" inside "kwh" was caught above; a word must not run on in letters. */
        const char *after = p + strlen(toks[i].tok);
        int before_ok = p == low || !isalpha((unsigned char)p[-1]) || toks[i].tok[0] == '[' ||
                        toks[i].tok[0] == '(' || toks[i].tok[0] == '_';
        if (before_ok && !isalpha((unsigned char)*after))
            return toks[i].u;
    }
    return AN_UNIT_AUTO;
}

static int is_util_unit(an_unit_t u)
{
    return u == AN_UNIT_PERCENT || u == AN_UNIT_FRACTION;
}

/* The unit of a utilisation column's header: "%" anywhere, or the word "fraction". */
static an_unit_t header_util_unit(const char *h)
{
    if (strchr(h, '%'))
        return AN_UNIT_PERCENT;
    for (const char *p = h; *p; p++)
        if (strncasecmp(p, "fraction", 8) == 0)
            return AN_UNIT_FRACTION;
    return AN_UNIT_AUTO;
}

/* strstr, ASCII letters compared without case (other bytes, such as UTF-8 CJK, exactly). */
static int contains_nocase(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; hay++)
        if (strncasecmp(hay, needle, n) == 0)
            return 1;
    return 0;
}

/* A utilisation column: named after the source ("cpu", "gpu"), or "util", "busy", "load". */
static int looks_like_util(const char *h, const char *source)
{
    static const char *const words[] = {"util", "busy", "load", "利用率", "使用率"};
    if (contains_nocase(h, source))
        return 1;
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (contains_nocase(h, words[i]))
            return 1;
    return 0;
}

static int looks_like_power(const char *h)
{
    static const char *const words[] = {"power", "load", "demand", "energy", "elec",
                                        "功率",  "负荷", "电量",   "用电"};
    if (header_unit(h) != AN_UNIT_AUTO)
        return 1;
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (contains_nocase(h, words[i]))
            return 1;
    return 0;
}

/* Watts from a value in unit u over an interval of step seconds. */
static double to_watts(double v, an_unit_t u, int step)
{
    switch (u) {
    case AN_UNIT_KW:
        return v * 1000.0;
    case AN_UNIT_W:
        return v;
    case AN_UNIT_KWH:
        return v * 1000.0 * 3600.0 / step;
    case AN_UNIT_WH:
        return v * 3600.0 / step;
    case AN_UNIT_PERCENT:
        return v / 100.0;
    case AN_UNIT_FRACTION:
        return v;
    case AN_UNIT_AUTO:
        break;
    }
    return NAN;
}

/* A utilisation outside 0..100 % (0..1) is a typing or export error, not a load. */
static int util_in_range(double v, an_unit_t u)
{
    return isnan(v) || (v >= 0 && v <= (u == AN_UNIT_PERCENT ? 100.0 : 1.0));
}

static const char *util_range(an_unit_t u)
{
    return u == AN_UNIT_PERCENT ? "0..100 %" : "0..1 (a fraction)";
}

static int cmp_rec(const void *a, const void *b)
{
    const struct rec *x = a, *y = b;
    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    return x->line < y->line ? -1 : x->line > y->line;
}

static char pick_sep(const struct line *ln)
{
    size_t c = 0, sc = 0, tab = 0;
    for (size_t i = 0; i < ln->len; i++) {
        c += ln->p[i] == ',';
        sc += ln->p[i] == ';';
        tab += ln->p[i] == '\t';
    }
    if (c >= sc && c >= tab)
        return ',';
    return sc >= tab ? ';' : '\t';
}

/* The most common positive difference between consecutive times: the interval. */
static int64_t common_step(const struct rec *r, size_t n)
{
    int64_t best = 0;
    size_t best_n = 0;
    for (size_t i = 1; i < n && i < 4096; i++) {
        int64_t d = r[i].t - r[i - 1].t;
        if (d <= 0)
            continue;
        size_t cnt = 0;
        for (size_t j = 1; j < n && j < 4096; j++)
            cnt += r[j].t - r[j - 1].t == d;
        /* Ties go to a step that divides a day (the usual meter intervals), then the shorter. */
        int day = 86400 % d == 0, best_day = best > 0 && 86400 % best == 0;
        if (cnt > best_n || (cnt == best_n && (day > best_day || (day == best_day && d < best)))) {
            best = d;
            best_n = cnt;
        }
    }
    return best;
}

int an_import_parse(const char *name, const char *text, size_t len, const an_import_opts_t *o,
                    an_import_series_t *out, char *err, size_t errlen)
{
    an_import_opts_t defaults = {0};
    if (!o)
        o = &defaults;
    if (!name)
        name = "(csv)";
    memset(out, 0, sizeof *out);
    if (!text) {
        errno = EINVAL;
        return wa_err(err, errlen, "%s: no text", name);
    }
    struct parse ps = {.name = name, .o = o, .warn = o->warn ? o->warn : stderr};
    char *store = malloc(len + 2);
    char **f = malloc(MAX_FIELDS * sizeof *f);
    int rc = -1, e = EINVAL;
    char header[MAX_FIELDS][64];
    int n_header = 0;
    if (!store || !f) {
        e = ENOMEM;
        wa_err(err, errlen, "%s: out of memory", name);
        goto out;
    }

    const char *cur = text, *end = text + len;
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) /* UTF-8 byte order mark */
        cur += 3;
    struct line ln = {0};
    char sep = 0;
    int wide = -1; /* unknown until the first data row */
    int col = -1;  /* value column (long format), 0-based */
    int n_cols = 0;
    an_unit_t unit = o->unit;
    int step = o->step;
    struct day_cache dc = {0};
    const int util = o->util_source != NULL;
    if (unit != AN_UNIT_AUTO && util != is_util_unit(unit)) {
        wa_err(err, errlen,
               util ? "%s: a utilisation is in %% or a fraction, not %s"
                    : "%s: %s is a host's utilisation; power is in kW, W, kWh or Wh",
               name, an_unit_name(unit));
        goto out;
    }

    while (next_line(&cur, end, &ln)) {
        if (blank(&ln) || (ln.len && ln.p[0] == '#'))
            continue;
        if (!sep)
            sep = pick_sep(&ln);
        int n = split(&ln, sep, store, f, MAX_FIELDS);
        if (n < 0) {
            bad_row(&ps, ln.no, "a quote is not closed");
            continue;
        }
        struct stamp st;
        if (parse_stamp(f[0], &st) < 0) {
            if (wide < 0 && n_header == 0 && ps.n == 0 && ps.bad == 0) {
                /* The header: the first line that does not start with a time. */
                for (int i = 0; i < n; i++)
                    wa_strlcpy(header[i], f[i], sizeof header[i]);
                n_header = n;
                continue;
            }
            bad_row(&ps, ln.no, "'%.40s' is not a time or date", f[0]);
            continue;
        }
        if (wide < 0) {
            /* The first data row decides the format. */
            int k = n - 1;
            wide = !st.has_time && !st.unix_s && (k == 24 || k == 48 || k == 96);
            if (!wide && !st.has_time && !st.unix_s) {
                wa_err(err, errlen,
                       "%s:%ld: a date without a time and %d values: a day's row needs 24, 48 "
                       "or 96 values (docs/import.md)",
                       name, ln.no, k);
                goto out;
            }
            n_cols = n;
            if (wide) {
                if (step && step != 86400 / k) {
                    wa_err(err, errlen, "%s:%ld: %d values a day means a %d s step, not %d", name,
                           ln.no, k, 86400 / k, step);
                    goto out;
                }
                step = 86400 / k;
                if (unit == AN_UNIT_AUTO) {
                    wa_err(err, errlen,
                           "%s: a day-per-row file does not say its unit: give --unit %s", name,
                           util ? "percent or fraction" : "kW, W, kWh or Wh");
                    goto out;
                }
            } else {
                if (n < 2) {
                    wa_err(err, errlen, "%s:%ld: a row needs a time and a value", name, ln.no);
                    goto out;
                }
                if (o->column) {
                    char *cend;
                    long c = strtol(o->column, &cend, 10);
                    if (*cend == '\0' && c >= 2 && c <= n)
                        col = (int)c - 1;
                    for (int i = 1; col < 0 && i < n_header; i++)
                        if (strcasecmp(header[i], o->column) == 0)
                            col = i;
                    if (col < 0) {
                        wa_err(err, errlen,
                               "%s: no value column '%s' (give a header name or a number from 2 "
                               "to %d)",
                               name, o->column, n);
                        goto out;
                    }
                } else if (n == 2) {
                    col = 1;
                } else {
                    for (int i = 1; col < 0 && i < n_header && i < n; i++)
                        if (util ? looks_like_util(header[i], o->util_source)
                                 : looks_like_power(header[i]))
                            col = i;
                    if (col < 0) {
                        wa_err(err, errlen,
                               "%s: %d value columns and none is named like %s: choose one with "
                               "--column",
                               name, n - 1, util ? o->util_source : "power or energy");
                        goto out;
                    }
                }
                if (unit == AN_UNIT_AUTO && col < n_header)
                    unit = util ? header_util_unit(header[col]) : header_unit(header[col]);
                if (unit == AN_UNIT_AUTO) {
                    wa_err(err, errlen,
                           "%s: the unit of column %d%s%s%s is not stated: give --unit %s", name,
                           col + 1, col < n_header ? " ('" : "", col < n_header ? header[col] : "",
                           col < n_header ? "')" : "",
                           util ? "percent or fraction" : "kW, W, kWh or Wh");
                    goto out;
                }
                wa_strlcpy(out->column, col < n_header ? header[col] : "", sizeof out->column);
                if (!out->column[0])
                    snprintf(out->column, sizeof out->column, "%d", col + 1);
            }
        }
        int64_t t;
        if (stamp_time(&st, o->tz, &dc, &t) < 0) {
            bad_row(&ps, ln.no, "'%.40s' is not a time that exists in %s", f[0],
                    o->tz && *o->tz ? o->tz : "the local zone");
            continue;
        }
        if (wide) {
            if (st.has_time) {
                bad_row(&ps, ln.no, "a day-per-row file has a time in its date '%.40s'", f[0]);
                continue;
            }
            if (n != n_cols) {
                bad_row(&ps, ln.no, "%d values where the file has %d a day", n - 1, n_cols - 1);
                continue;
            }
            int ok = 1;
            for (int j = 1; j < n && ok; j++) {
                double v;
                if (parse_value(f[j], &v) < 0) {
                    bad_row(&ps, ln.no, "value %d '%.30s' is not a number", j, f[j]);
                    ok = 0;
                } else if (util && !util_in_range(v, unit)) {
                    bad_row(&ps, ln.no, "value %d, %g, is outside %s", j, v, util_range(unit));
                    ok = 0;
                }
            }
            for (int j = 1; j < n && ok; j++) {
                double v = NAN;
                parse_value(f[j], &v);
                if (push(&ps, t + (int64_t)(j - 1) * step, v, ln.no) < 0) {
                    e = ENOMEM;
                    wa_err(err, errlen, "%s:%ld: too many values", name, ln.no);
                    goto out;
                }
            }
            continue;
        }
        if (!st.has_time && !st.unix_s) {
            bad_row(&ps, ln.no, "'%.40s' has no time of day", f[0]);
            continue;
        }
        if (n <= col) {
            bad_row(&ps, ln.no, "%d fields; the value column is %d", n, col + 1);
            continue;
        }
        double v;
        if (parse_value(f[col], &v) < 0) {
            bad_row(&ps, ln.no, "'%.30s' is not a number", f[col]);
            continue;
        }
        if (util && !util_in_range(v, unit)) {
            bad_row(&ps, ln.no, "%g is outside %s", v, util_range(unit));
            continue;
        }
        if (push(&ps, t, v, ln.no) < 0) {
            e = ENOMEM;
            wa_err(err, errlen, "%s:%ld: too many rows", name, ln.no);
            goto out;
        }
    }
    if (ps.n == 0) {
        wa_err(err, errlen, "%s: no data rows%s%s", name, ps.bad ? "; first bad row: " : "",
               ps.bad ? ps.first_bad : "");
        goto out;
    }

    /* Order by time; a time given twice is a bad row (the second one), whatever the order. */
    qsort(ps.r, ps.n, sizeof *ps.r, cmp_rec);
    size_t w = 0;
    for (size_t i = 0; i < ps.n; i++) {
        if (w > 0 && ps.r[i].t == ps.r[w - 1].t) {
            char when[32];
            bad_row(&ps, ps.r[i].line, "time %s repeats line %ld",
                    wa_time_format(ps.r[i].t, "UTC", when, sizeof when), ps.r[w - 1].line);
            continue;
        }
        ps.r[w++] = ps.r[i];
    }
    ps.n = w;
    if (ps.bad && !o->skip_bad) {
        wa_err(err, errlen, "%s (%zu bad row%s in all; nothing was imported)", ps.first_bad, ps.bad,
               ps.bad == 1 ? "" : "s");
        goto out;
    }
    if (!step) {
        int64_t s = common_step(ps.r, ps.n);
        if (s <= 0 || s > 86400) {
            wa_err(err, errlen, "%s: cannot tell the interval from the times; give --step", name);
            goto out;
        }
        step = (int)s;
    }
    if (o->stamp_end && !wide)
        for (size_t i = 0; i < ps.n; i++)
            ps.r[i].t -= step;
    /* Every time must fall on the grid of the first one; the grid's span is bounded. */
    int64_t t0 = ps.r[0].t, span = ps.r[ps.n - 1].t - t0;
    if (span / step + 1 > (int64_t)MAX_STEPS) {
        wa_err(err, errlen, "%s: %lld s of data at a %d s step is more than %u steps", name,
               (long long)span, step, MAX_STEPS);
        goto out;
    }
    /* Rows that would leave almost every step a gap mean a wrong step or a stray time. */
    if (span / step + 1 > (int64_t)(SPARSE_SLACK + SPARSE_RATIO * ps.n)) {
        wa_err(err, errlen,
               "%s: %zu rows spread over %lld steps of %d s: almost all would be gaps; check "
               "the times or give --step",
               name, ps.n, (long long)(span / step + 1), step);
        goto out;
    }
    for (size_t i = 0; i < ps.n; i++)
        if ((ps.r[i].t - t0) % step != 0)
            bad_row(&ps, ps.r[i].line, "time is off the %d s grid that the first row sets", step);
    if (ps.bad && !o->skip_bad) {
        wa_err(err, errlen, "%s (%zu bad row%s in all; nothing was imported)", ps.first_bad, ps.bad,
               ps.bad == 1 ? "" : "s");
        goto out;
    }

    out->n = (size_t)(span / step) + 1;
    out->v = malloc(out->n * sizeof *out->v);
    if (!out->v) {
        e = ENOMEM;
        wa_err(err, errlen, "%s: out of memory for %zu steps", name, out->n);
        goto out;
    }
    for (size_t i = 0; i < out->n; i++)
        out->v[i] = NAN;
    for (size_t i = 0; i < ps.n; i++)
        if ((ps.r[i].t - t0) % step == 0)
            out->v[(ps.r[i].t - t0) / step] = to_watts(ps.r[i].v, unit, step);
    out->start = t0;
    out->step = step;
    out->rows = ps.n;
    out->bad_rows = ps.bad;
    out->wide = wide == 1;
    out->unit = unit;
    rc = 0;
out:
    free(store);
    free(f);
    free(ps.r);
    if (rc < 0) {
        free(out->v);
        memset(out, 0, sizeof *out);
        errno = e;
    }
    return rc;
}

/* Writes what is queued, checks that storage took all n values, closes it (*st = NULL) and
 * renames the temporary file over the target: the import's last step, all or nothing.  0, or
 * -1 with *e and err (the caller removes the temporary file). */
static int commit(storage_t **st, size_t n, const char *tmp_path, const char *target, int *e,
                  char *err, size_t errlen)
{
    storage_stats_t ss;
    if (storage_flush(*st, err, errlen) < 0) {
        *e = errno;
        return -1;
    }
    storage_get_stats(*st, &ss);
    if (ss.written != n || ss.failed || ss.dropped_old) {
        *e = WA_ERRD;
        wa_err(err, errlen, "import: librrd took %llu of %zu values (%llu failed, %llu dropped)",
               (unsigned long long)ss.written, n, (unsigned long long)ss.failed,
               (unsigned long long)ss.dropped_old);
        return -1;
    }
    storage_close(*st);
    *st = NULL;
    if (rename(tmp_path, target) < 0) {
        *e = errno;
        wa_err(err, errlen, "import: cannot rename %s to %s: %s", tmp_path, target, strerror(*e));
        return -1;
    }
    return 0;
}

/* ---- writing ---- */

int an_import_file(const char *csv_path, const char *data_dir, const char *rel, int replace,
                   const an_import_opts_t *o, an_import_series_t *stats, char *err, size_t errlen)
{
    if (!csv_path || !data_dir || !rel) {
        errno = EINVAL;
        return wa_err(err, errlen, "import: a CSV file, a data folder and a channel are needed");
    }
    char tmp_rel[PATH_MAX / 2], target[PATH_MAX], tmp_path[PATH_MAX] = "";
    const char *slash = strrchr(rel, '/');
    int dir_len = slash ? (int)(slash - rel) + 1 : 0;
    snprintf(tmp_rel, sizeof tmp_rel, "%.*s.import-%ld-%s", dir_len, rel, (long)getpid(),
             slash ? slash + 1 : rel);

    size_t len = 0;
    char *text = wa_file_read(csv_path, (size_t)1 << 30, &len, err, errlen);
    if (!text)
        return -1;
    an_import_series_t s;
    int rc = an_import_parse(csv_path, text, len, o, &s, err, errlen);
    free(text);
    if (rc < 0)
        return -1;

    rc = -1;
    int e = 0;
    storage_t *st = storage_open(data_dir, NULL, err, errlen);
    if (!st) {
        e = errno;
        goto out;
    }
    if (storage_path(st, rel, target, sizeof target) < 0 ||
        storage_path(st, tmp_rel, tmp_path, sizeof tmp_path) < 0) {
        e = EINVAL;
        wa_err(err, errlen, "import: '%s' is not a channel name (site/device/channel)", rel);
        goto out;
    }
    struct stat sb;
    if (!replace && stat(target, &sb) == 0) {
        e = EEXIST;
        wa_err(err, errlen, "%s exists; import into a new channel, or replace it explicitly",
               target);
        goto out;
    }
    /* One archive at the data's own step that holds all of it: nothing is averaged away. */
    int64_t days = ((int64_t)s.n * s.step + 86399) / 86400 + 1;
    storage_layout_t lay = {.step_s = s.step, .full_days = days > INT_MAX ? INT_MAX : (int)days};
    if (storage_ensure(st, tmp_rel, &lay, s.start, err, errlen) < 0) {
        e = errno;
        goto out;
    }
    for (size_t i = 0; i < s.n; i++) {
        storage_sample_t smp;
        for (int k = 0; k < STORAGE_DS_COUNT_; k++)
            smp.v[k] = NAN;
        smp.v[STORAGE_DS_POWER] = s.v[i]; /* NaN is written as unknown: gaps stay gaps */
        if (storage_put(st, tmp_rel, s.start + (int64_t)(i + 1) * s.step, &smp) < 0) {
            e = errno;
            wa_err(err, errlen, "import: cannot queue a value: %s", strerror(e));
            goto out;
        }
    }
    if (commit(&st, s.n, tmp_path, target, &e, err, errlen) < 0)
        goto out;
    rc = 0;
out:
    storage_close(st);
    if (rc < 0) {
        if (tmp_path[0])
            unlink(tmp_path);
        errno = e ? e : EIO;
    }
    if (stats && rc == 0) {
        *stats = s;
        stats->v = NULL;
    }
    free(s.v);
    return rc;
}

/* ---- a host's utilisation ---- */

/* Days probed back from a host file's last update for its first data: the mid archive's
 * default length (docs/rrd-layout.md), longer than any import's history. */
#define PROBE_DAYS 400
#define HOST_DS 4

static const char *const host_ds[HOST_DS] = {"cpu", "gpu", "gpu_w", "gauge"};

/* The first and last step with a known value in any data source of an existing host file,
 * from a daily look over the last PROBE_DAYS (its coarsest archive answers it cheaply).
 * 0 (first = 0 when it holds nothing), or -1 with err. */
static int host_span(const char *file, int64_t *first, int64_t *last, char *err, size_t errlen)
{
    storage_sample_t ls;
    *first = 0;
    if (storage_last(file, last, &ls, err, errlen) < 0)
        return -1;
    for (int k = 0; k < HOST_DS; k++) {
        storage_series_t p;
        if (storage_fetch(file, host_ds[k], "AVERAGE", *last - PROBE_DAYS * 86400, *last, 86400,
                          NULL, &p, err, errlen) < 0)
            return -1;
        for (size_t i = 0; i < p.n; i++)
            if (!isnan(p.v[i])) {
                int64_t t = p.start + (int64_t)i * p.step;
                if (!*first || t < *first)
                    *first = t;
                break;
            }
        free(p.v);
    }
    return 0;
}

/* The existing file's data sources on the grid (t0, step, n): v[k * n + i], NaN where none. */
static int host_values(const char *file, int64_t t0, int step, size_t n, double *v, char *err,
                       size_t errlen)
{
    for (int k = 0; k < HOST_DS; k++) {
        storage_series_t p;
        if (storage_fetch(file, host_ds[k], "AVERAGE", t0, t0 + (int64_t)n * step, step, NULL, &p,
                          err, errlen) < 0)
            return -1;
        an_regrid(p.v, p.n, p.start, p.step, v + (size_t)k * n, n, t0, step);
        free(p.v);
    }
    return 0;
}

int an_import_host_file(const char *csv_path, const char *data_dir, const char *host_rel,
                        int replace, const an_import_opts_t *o, an_import_series_t *stats,
                        char *err, size_t errlen)
{
    const char *slash = host_rel ? strchr(host_rel, '/') : NULL;
    int target_k = -1;
    for (int k = 0; o && o->util_source && k < 2; k++)
        if (strcmp(o->util_source, host_ds[k]) == 0)
            target_k = k;
    if (!csv_path || !data_dir || !slash || slash == host_rel || !slash[1] ||
        strchr(slash + 1, '/') || target_k < 0) {
        errno = EINVAL;
        return wa_err(err, errlen,
                      "import: a CSV file, a data folder, a host as SITE/HOST and "
                      "its source (cpu or gpu) are needed");
    }
    char rel[PATH_MAX / 2], tmp_rel[PATH_MAX / 2], target[PATH_MAX], tmp_path[PATH_MAX] = "";
    snprintf(rel, sizeof rel, "%.*s/hosts/%s", (int)(slash - host_rel), host_rel, slash + 1);
    snprintf(tmp_rel, sizeof tmp_rel, "%.*s/hosts/.import-%ld-%s", (int)(slash - host_rel),
             host_rel, (long)getpid(), slash + 1);

    size_t len = 0;
    char *text = wa_file_read(csv_path, (size_t)1 << 30, &len, err, errlen);
    if (!text)
        return -1;
    an_import_series_t s;
    int rc = an_import_parse(csv_path, text, len, o, &s, err, errlen);
    free(text);
    if (rc < 0)
        return -1;

    rc = -1;
    int e = 0;
    double *v = NULL;
    storage_t *st = storage_open(data_dir, NULL, err, errlen);
    if (!st) {
        e = errno;
        goto out;
    }
    if (storage_path(st, rel, target, sizeof target) < 0 ||
        storage_path(st, tmp_rel, tmp_path, sizeof tmp_path) < 0) {
        e = EINVAL;
        wa_err(err, errlen, "import: '%s' is not a host name (SITE/HOST)", host_rel);
        goto out;
    }
    /* The new file's grid: the import's step, over the import and whatever the host file
     * already holds. */
    int64_t t0 = s.start, t1 = s.start + (int64_t)s.n * s.step, first = 0, last = 0;
    struct stat sb;
    int exists = stat(target, &sb) == 0;
    if (exists && host_span(target, &first, &last, err, errlen) < 0) {
        e = errno;
        goto out;
    }
    if (exists && first) {
        if (first < t0)
            t0 -= (t0 - first + s.step - 1) / s.step * s.step;
        if (last > t1)
            t1 += (last - t1 + s.step - 1) / s.step * s.step;
    }
    size_t n = (size_t)((t1 - t0) / s.step), off = (size_t)((s.start - t0) / s.step);
    if (n > MAX_STEPS) {
        e = EFBIG;
        wa_err(err, errlen, "import: %s and %s together span %zu steps of %d s, more than %u",
               target, csv_path, n, s.step, MAX_STEPS);
        goto out;
    }
    v = malloc((size_t)HOST_DS * n * sizeof *v);
    if (!v) {
        e = ENOMEM;
        wa_err(err, errlen, "import: out of memory for %zu steps", n);
        goto out;
    }
    for (size_t i = 0; i < (size_t)HOST_DS * n; i++)
        v[i] = NAN;
    if (exists && first && host_values(target, t0, s.step, n, v, err, errlen) < 0) {
        e = errno;
        goto out;
    }
    double *tv = v + (size_t)target_k * n;
    for (size_t i = 0; i < n && !replace; i++)
        if (!isnan(tv[i])) {
            char when[32];
            e = EEXIST;
            wa_err(err, errlen,
                   "%s already has %s data (from %s UTC); give --replace to drop it for the "
                   "import's",
                   target, host_ds[target_k],
                   wa_time_format(t0 + (int64_t)i * s.step, "UTC", when, sizeof when));
            goto out;
        }
    for (size_t i = 0; i < n; i++)
        tv[i] = i >= off && i - off < s.n ? s.v[i - off] : NAN;

    int64_t days = ((int64_t)n * s.step + 86399) / 86400 + 1;
    storage_layout_t lay = {.step_s = s.step, .full_days = days > INT_MAX ? INT_MAX : (int)days};
    if (storage_ensure_host(st, tmp_rel, &lay, t0, err, errlen) < 0) {
        e = errno;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        storage_sample_t smp;
        for (int k = 0; k < STORAGE_DS_COUNT_; k++)
            smp.v[k] = k < HOST_DS ? v[(size_t)k * n + i] : NAN;
        if (storage_put(st, tmp_rel, t0 + (int64_t)(i + 1) * s.step, &smp) < 0) {
            e = errno;
            wa_err(err, errlen, "import: cannot queue a value: %s", strerror(e));
            goto out;
        }
    }
    if (commit(&st, n, tmp_path, target, &e, err, errlen) < 0)
        goto out;
    rc = 0;
out:
    storage_close(st);
    free(v);
    if (rc < 0) {
        if (tmp_path[0])
            unlink(tmp_path);
        errno = e ? e : EIO;
    }
    if (stats && rc == 0) {
        *stats = s;
        stats->v = NULL;
    }
    free(s.v);
    return rc;
}
