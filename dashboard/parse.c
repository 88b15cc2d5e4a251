/* Request text into values.  Everything a client sends passes through here or through
 * libmicrohttpd's own query parser; each function bounds its output and rejects rather than
 * guesses (fuzz/fuzz_http.c runs them on arbitrary bytes). */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "dashboard/dash-private.h"

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int dp_urldecode(const char *in, size_t len, char *out, size_t outlen)
{
    size_t o = 0;
    if (!out || outlen == 0)
        return -1;
    for (size_t i = 0; i < len; i++) {
        int c = (unsigned char)in[i];
        if (c == '+')
            c = ' ';
        else if (c == '%') {
            if (i + 2 >= len)
                return -1;
            int h = hexval((unsigned char)in[i + 1]), l = hexval((unsigned char)in[i + 2]);
            if (h < 0 || l < 0)
                return -1;
            c = h * 16 + l;
            i += 2;
        }
        if (c == 0 || o + 1 >= outlen)
            return -1;
        out[o++] = (char)c;
    }
    out[o] = '\0';
    return (int)o;
}

/* Calls fn for each key=value pair; stops at the first non-zero return and returns it.
 * Pairs are split on '&'; a pair without '=' has an empty value. */
typedef int (*pair_fn)(const char *k, size_t kl, const char *v, size_t vl, void *arg);
static int each_pair(const char *body, size_t len, pair_fn fn, void *arg)
{
    size_t i = 0;
    while (i < len) {
        size_t j = i;
        while (j < len && body[j] != '&')
            j++;
        if (j > i) {
            const char *eq = memchr(body + i, '=', j - i);
            size_t kl = eq ? (size_t)(eq - (body + i)) : j - i;
            const char *v = eq ? eq + 1 : body + j;
            size_t vl = eq ? (size_t)(body + j - v) : 0;
            int rc = fn(body + i, kl, v, vl, arg);
            if (rc)
                return rc;
        }
        i = j + 1;
    }
    return 0;
}

struct get_arg {
    const char *key;
    char *out;
    size_t outlen;
};

static int get_pair(const char *k, size_t kl, const char *v, size_t vl, void *arg)
{
    struct get_arg *g = arg;
    char key[64];
    if (dp_urldecode(k, kl, key, sizeof key) < 0 || strcmp(key, g->key) != 0)
        return 0;
    return dp_urldecode(v, vl, g->out, g->outlen) < 0 ? -1 : 1;
}

int dp_form_get(const char *body, size_t len, const char *key, char *out, size_t outlen)
{
    if (!body || !key || !out || outlen == 0)
        return -1;
    struct get_arg g = {key, out, outlen};
    out[0] = '\0';
    return each_pair(body, len, get_pair, &g);
}

struct check_arg {
    const char *const *allowed;
    unsigned seen;
    char *bad;
    size_t badlen;
};

static int check_pair(const char *k, size_t kl, const char *v, size_t vl, void *arg)
{
    struct check_arg *c = arg;
    char key[64], val[DP_VALUE_MAX];
    if (dp_urldecode(k, kl, key, sizeof key) < 0) {
        wa_strlcpy(c->bad, "", c->badlen);
        return -1;
    }
    size_t i = 0;
    for (; c->allowed[i]; i++)
        if (strcmp(c->allowed[i], key) == 0)
            break;
    if (!c->allowed[i] || i >= 32 || (c->seen & (1u << i)) ||
        dp_urldecode(v, vl, val, sizeof val) < 0) {
        wa_strlcpy(c->bad, key, c->badlen);
        return -1;
    }
    c->seen |= 1u << i;
    return 0;
}

int dp_form_check(const char *body, size_t len, const char *const *allowed, char *bad,
                  size_t badlen)
{
    char dummy[1];
    if (!bad || badlen == 0) {
        bad = dummy;
        badlen = sizeof dummy;
    }
    bad[0] = '\0';
    if (!body || !allowed)
        return -1;
    struct check_arg c = {allowed, 0, bad, badlen};
    return each_pair(body, len, check_pair, &c) ? -1 : 0;
}

int dp_cookie_get(const char *header, const char *name, char *out, size_t outlen)
{
    if (!header || !name || !out || outlen == 0)
        return 0;
    size_t nl = strlen(name);
    const char *p = header;
    out[0] = '\0';
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ';')
            p++;
        const char *end = strchr(p, ';');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len > nl && strncmp(p, name, nl) == 0 && p[nl] == '=') {
            size_t vl = len - nl - 1;
            while (vl > 0 && (p[nl + 1 + vl - 1] == ' ' || p[nl + 1 + vl - 1] == '\t'))
                vl--;
            if (vl + 1 > outlen)
                return -1;
            memcpy(out, p + nl + 1, vl);
            out[vl] = '\0';
            return 1;
        }
        if (!end)
            break;
        p = end + 1;
    }
    return 0;
}

static int id_char(int c)
{
    return isalnum(c) || c == '.' || c == '_' || c == '-';
}

int dp_is_id(const char *s)
{
    size_t n = 0;
    if (!s)
        return 0;
    for (; s[n]; n++)
        if (!id_char((unsigned char)s[n]) || n >= SC_ID_MAX - 1)
            return 0;
    return n > 0 && strcmp(s, ".") != 0 && strcmp(s, "..") != 0;
}

int dp_is_channel_id(const char *s)
{
    char part[SC_ID_MAX];
    size_t n = 0, parts = 0;
    if (!s || strlen(s) > 255)
        return 0;
    for (const char *p = s;; p++) {
        if (*p == '/' || *p == '\0') {
            part[n] = '\0';
            if (!dp_is_id(part))
                return 0;
            parts++;
            n = 0;
            if (!*p)
                break;
        } else if (n + 1 >= sizeof part)
            return 0;
        else
            part[n++] = *p;
    }
    return parts >= 2;
}

int dp_parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    if (!s || !*s || isspace((unsigned char)*s))
        return -1;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

int dp_parse_double(const char *s, double lo, double hi, double *out)
{
    char *end;
    if (!s || !*s || isspace((unsigned char)*s))
        return -1;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end || !isfinite(v) || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

const char *dp_lang_parse(const char *s)
{
    if (!s)
        return NULL;
    if (strncasecmp(s, "zh", 2) == 0 && (s[2] == '\0' || s[2] == '-' || s[2] == '_'))
        return strncasecmp(s, "zh-tw", 5) == 0 || strncasecmp(s, "zh-hk", 5) == 0 ? NULL : "zh-CN";
    if (strncasecmp(s, "en", 2) == 0 && (s[2] == '\0' || s[2] == '-' || s[2] == '_'))
        return "en";
    return NULL;
}

const char *dp_lang_negotiate(const char *h)
{
    /* RFC 9110 section 12.5.4: a list of language ranges with optional ";q=" weights. */
    const char *best = "en";
    double best_q = -1;
    if (!h)
        return best;
    const char *p = h;
    for (int items = 0; *p && items < 32; items++) {
        char tag[32];
        size_t n = 0;
        while (*p == ' ' || *p == ',')
            p++;
        while (*p && *p != ',' && *p != ';' && *p != ' ' && n + 1 < sizeof tag)
            tag[n++] = *p++;
        tag[n] = '\0';
        double q = 1;
        while (*p && *p != ',') {
            if (strncmp(p, ";q=", 3) == 0) {
                char *end;
                q = strtod(p + 3, &end);
                if (end == p + 3 || !(q >= 0 && q <= 1))
                    q = 0;
                p = end > p + 3 ? end : p + 3;
            } else
                p++;
        }
        const char *l = dp_lang_parse(tag);
        if (l && q > best_q) {
            best = l;
            best_q = q;
        }
    }
    return best;
}

int dp_id_list(const char *s, char (*items)[SC_ID_MAX], size_t max)
{
    size_t n = 0;
    if (!s || !*s)
        return -1;
    for (const char *p = s;;) {
        const char *c = strchr(p, ',');
        size_t len = c ? (size_t)(c - p) : strlen(p);
        if (n >= max || len >= SC_ID_MAX)
            return -1;
        memcpy(items[n], p, len);
        items[n][len] = '\0';
        if (!dp_is_id(items[n]))
            return -1;
        for (size_t i = 0; i < n; i++)
            if (strcmp(items[i], items[n]) == 0)
                return -1;
        n++;
        if (!c)
            break;
        p = c + 1;
    }
    return (int)n;
}

int dp_is_token(const char *s)
{
    size_t n = 0;
    if (!s)
        return 0;
    for (; s[n]; n++)
        if (n >= DS_TOKEN_LEN || !isxdigit((unsigned char)s[n]) || isupper((unsigned char)s[n]))
            return 0;
    return n == DS_TOKEN_LEN;
}
