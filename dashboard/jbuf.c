/* A growing buffer for the JSON of long number arrays (series), written directly: building a
 * cJSON node per value and printing it (with its round-trip check) costs several times more
 * than the file reads behind a chart. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dashboard/dash-private.h"

void jb_put(jbuf_t *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 4096;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *np = realloc(b->p, cap);
        if (!np) {
            b->oom = 1;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void jb_puts(jbuf_t *b, const char *s)
{
    jb_put(b, s, strlen(s));
}

void jb_num(jbuf_t *b, double v)
{
    char s[40];
    /* 9 significant digits: every value a meter register or RRD holds comes through as read. */
    int n = isfinite(v) ? snprintf(s, sizeof s, "%.9g", v) : snprintf(s, sizeof s, "null");
    jb_put(b, s, (size_t)n);
}

void jb_array(jbuf_t *b, const char *name, const double *v, size_t n)
{
    jb_put(b, "\"", 1);
    jb_puts(b, name);
    jb_put(b, "\":[", 3);
    for (size_t i = 0; i < n; i++) {
        if (i)
            jb_put(b, ",", 1);
        jb_num(b, v[i]);
    }
    jb_put(b, "]", 1);
}
