/* The Prometheus text exposition format, version 0.0.4 (prometheus.io/docs/instrumenting/
 * exposition_formats): one sample per line, `name{label="value",...} value [timestamp]`,
 * '#' lines are comments (HELP and TYPE among them).  Names follow the data model's
 * [a-zA-Z_:][a-zA-Z0-9_:]* (labels without ':'); label values escape \\, \" and \n. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "meters/prom/prom.h"

struct prom_set {
    prom_sample_t *v;
    size_t n, cap;
};

typedef struct cursor {
    const char *p, *end; /* the current line, without its '\n' */
    const char *file;
    size_t line;
    char *err;
    size_t errlen;
} cursor_t;

static int fail(cursor_t *c, int e, const char *what)
{
    wa_err(c->err, c->errlen, "%s:%zu: %s", c->file, c->line, what);
    errno = e;
    return -1;
}

static void skip_blank(cursor_t *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t'))
        c->p++;
}

static int name_char(char ch, int first, int colon)
{
    if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_' || (colon && ch == ':'))
        return 1;
    return !first && ch >= '0' && ch <= '9';
}

/* Reads a name into a new string. */
static int read_name(cursor_t *c, int colon, char **out)
{
    const char *s = c->p;
    while (c->p < c->end && name_char(*c->p, c->p == s, colon))
        c->p++;
    size_t n = (size_t)(c->p - s);
    if (n == 0)
        return fail(c, WA_EPROTO, colon ? "expected a metric name" : "expected a label name");
    if (n >= PROM_NAME_MAX)
        return fail(c, WA_ERANGE, "name too long");
    *out = strndup(s, n);
    return *out ? 0 : fail(c, ENOMEM, "out of memory");
}

static int read_label_value(cursor_t *c, char **out)
{
    if (c->p >= c->end || *c->p != '"')
        return fail(c, WA_EPROTO, "expected '\"' to open a label value");
    c->p++;
    char buf[PROM_VALUE_MAX];
    size_t n = 0;
    for (;;) {
        if (c->p >= c->end)
            return fail(c, WA_EPROTO, "label value not closed");
        char ch = *c->p++;
        if (ch == '"')
            break;
        if (ch == '\\') {
            if (c->p >= c->end)
                return fail(c, WA_EPROTO, "label value not closed");
            char e = *c->p++;
            ch = e == 'n' ? '\n' : e;
            if (e != 'n' && e != '\\' && e != '"')
                return fail(c, WA_EPROTO, "unknown escape in a label value");
        }
        if (n + 1 >= sizeof buf)
            return fail(c, WA_ERANGE, "label value too long");
        buf[n++] = ch;
    }
    *out = strndup(buf, n);
    return *out ? 0 : fail(c, ENOMEM, "out of memory");
}

/* The format's float: Go's ParseFloat syntax, plus NaN, +Inf and -Inf. */
static int read_float(cursor_t *c, double *out, const char *what)
{
    const char *s = c->p;
    while (c->p < c->end && *c->p != ' ' && *c->p != '\t')
        c->p++;
    size_t n = (size_t)(c->p - s);
    char tok[64];
    if (n == 0 || n >= sizeof tok)
        return fail(c, WA_EPROTO, what);
    memcpy(tok, s, n);
    tok[n] = '\0';
    if (!strcmp(tok, "NaN")) {
        *out = NAN;
        return 0;
    }
    if (!strcmp(tok, "+Inf") || !strcmp(tok, "Inf")) {
        *out = INFINITY;
        return 0;
    }
    if (!strcmp(tok, "-Inf")) {
        *out = -INFINITY;
        return 0;
    }
    /* strtod alone would take hex, "infinity" and "nan(...)": allow decimal characters only. */
    for (size_t i = 0; i < n; i++)
        if (!strchr("0123456789.eE+-", tok[i]))
            return fail(c, WA_EPROTO, what);
    char *end;
    errno = 0;
    double v = strtod(tok, &end);
    if (*end != '\0' || end == tok)
        return fail(c, WA_EPROTO, what);
    *out = v; /* overflow gives +-HUGE_VAL, which the format's Go parser also returns */
    return 0;
}

static void sample_clear(prom_sample_t *m)
{
    free(m->name);
    for (size_t i = 0; i < m->n_labels; i++) {
        free(m->labels[i].name);
        free(m->labels[i].value);
    }
    free(m->labels);
    memset(m, 0, sizeof *m);
}

static int read_labels(cursor_t *c, prom_sample_t *m)
{
    c->p++; /* '{' */
    for (;;) {
        skip_blank(c);
        if (c->p < c->end && *c->p == '}') {
            c->p++;
            return 0;
        }
        if (m->n_labels == PROM_LABELS_MAX)
            return fail(c, WA_ERANGE, "too many labels");
        if ((m->n_labels & 3) == 0) { /* grow by four: most samples carry few labels */
            prom_label_t *v = realloc(m->labels, (m->n_labels + 4) * sizeof *v);
            if (!v)
                return fail(c, ENOMEM, "out of memory");
            m->labels = v;
        }
        prom_label_t *l = &m->labels[m->n_labels];
        l->value = NULL;
        if (read_name(c, 0, &l->name) < 0)
            return -1;
        m->n_labels++;
        skip_blank(c);
        if (c->p >= c->end || *c->p != '=')
            return fail(c, WA_EPROTO, "expected '=' after a label name");
        c->p++;
        skip_blank(c);
        if (read_label_value(c, &l->value) < 0)
            return -1;
        for (size_t i = 0; i + 1 < m->n_labels; i++)
            if (!strcmp(m->labels[i].name, l->name))
                return fail(c, WA_EPROTO, "label given twice");
        skip_blank(c);
        if (c->p < c->end && *c->p == ',') {
            c->p++;
            continue;
        }
        if (c->p < c->end && *c->p == '}') {
            c->p++;
            return 0;
        }
        return fail(c, WA_EPROTO, "expected ',' or '}' after a label");
    }
}

static int read_sample(cursor_t *c, prom_sample_t *m)
{
    if (read_name(c, 1, &m->name) < 0)
        return -1;
    skip_blank(c);
    if (c->p < c->end && *c->p == '{' && read_labels(c, m) < 0)
        return -1;
    skip_blank(c);
    if (read_float(c, &m->value, "expected a sample value") < 0)
        return -1;
    skip_blank(c);
    if (c->p < c->end) {
        int neg = *c->p == '-';
        if (neg)
            c->p++;
        int64_t ts = 0;
        if (c->p >= c->end || *c->p < '0' || *c->p > '9')
            return fail(c, WA_EPROTO, "expected a timestamp in ms");
        while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
            if (ts > (INT64_MAX - 9) / 10)
                return fail(c, WA_ERANGE, "timestamp out of range");
            ts = ts * 10 + (*c->p++ - '0');
        }
        m->ts_ms = neg ? -ts : ts;
        skip_blank(c);
        if (c->p < c->end)
            return fail(c, WA_EPROTO, "text after the timestamp");
    }
    return 0;
}

/* A comment's syntax: "# HELP name text" and "# TYPE name type" must name a metric. */
static int read_comment(cursor_t *c)
{
    c->p++;
    skip_blank(c);
    size_t left = (size_t)(c->end - c->p);
    int help = left >= 4 && !memcmp(c->p, "HELP", 4);
    int type = left >= 4 && !memcmp(c->p, "TYPE", 4);
    if (!help && !type)
        return 0;
    c->p += 4;
    if (c->p < c->end && *c->p != ' ' && *c->p != '\t')
        return 0; /* "# HELPER" is a plain comment */
    skip_blank(c);
    char *name = NULL;
    if (read_name(c, 1, &name) < 0)
        return -1;
    free(name);
    if (type) {
        static const char *const kinds[] = {"counter", "gauge",   "histogram",
                                            "summary", "untyped", NULL};
        skip_blank(c);
        size_t n = (size_t)(c->end - c->p);
        while (n && (c->p[n - 1] == ' ' || c->p[n - 1] == '\t'))
            n--;
        for (size_t i = 0; kinds[i]; i++)
            if (strlen(kinds[i]) == n && !memcmp(kinds[i], c->p, n))
                return 0;
        return fail(c, WA_EPROTO, "unknown metric type");
    }
    return 0;
}

prom_set_t *prom_parse(const char *text, size_t len, const char *name, char *err, size_t errlen)
{
    if (!text && len) {
        errno = EINVAL;
        wa_err(err, errlen, "prom_parse: no text");
        return NULL;
    }
    prom_set_t *s = calloc(1, sizeof *s);
    if (!s) {
        wa_err(err, errlen, "out of memory");
        return NULL;
    }
    cursor_t c = {.file = name ? name : "exposition", .err = err, .errlen = errlen};
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *eol = nl ? nl : end;
        c.line++;
        c.p = p;
        c.end = eol;
        p = nl ? nl + 1 : end;
        skip_blank(&c);
        if (c.p == c.end)
            continue;
        if (*c.p == '#') {
            if (read_comment(&c) < 0)
                goto fail;
            continue;
        }
        if (s->n == PROM_SAMPLES_MAX) {
            fail(&c, WA_ERANGE, "too many samples");
            goto fail;
        }
        if (s->n == s->cap) {
            size_t cap = s->cap ? s->cap * 2 : 64;
            prom_sample_t *v = realloc(s->v, cap * sizeof *v);
            if (!v) {
                fail(&c, ENOMEM, "out of memory");
                goto fail;
            }
            s->v = v;
            s->cap = cap;
        }
        prom_sample_t *m = &s->v[s->n];
        memset(m, 0, sizeof *m);
        if (read_sample(&c, m) < 0) {
            sample_clear(m);
            goto fail;
        }
        s->n++;
    }
    return s;
fail: {
    int e = errno;
    prom_set_free(s);
    errno = e;
    return NULL;
}
}

void prom_set_free(prom_set_t *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++)
        sample_clear(&s->v[i]);
    free(s->v);
    free(s);
}

size_t prom_set_count(const prom_set_t *s)
{
    return s ? s->n : 0;
}

const prom_sample_t *prom_set_sample(const prom_set_t *s, size_t i)
{
    return s && i < s->n ? &s->v[i] : NULL;
}

const char *prom_sample_label(const prom_sample_t *m, const char *name)
{
    for (size_t i = 0; m && name && i < m->n_labels; i++)
        if (!strcmp(m->labels[i].name, name))
            return m->labels[i].value;
    return NULL;
}
