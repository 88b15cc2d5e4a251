/*
 * ISO 8601 local times in a named zone.  The C library only converts in the process's zone,
 * so a conversion in another zone switches TZ under a lock and switches it back.
 */
#include "common/common.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static pthread_mutex_t tz_lock = PTHREAD_MUTEX_INITIALIZER;

typedef wa_tz_hold_t tz_saved_t;

static void tz_enter(const char *tz, tz_saved_t *sv)
{
    const char *cur;
    pthread_mutex_lock(&tz_lock);
    sv->switched = 0;
    if (!tz || !*tz)
        return;
    cur = getenv("TZ");
    sv->had = cur != NULL;
    if (cur)
        wa_strlcpy(sv->old, cur, sizeof sv->old);
    setenv("TZ", tz, 1);
    tzset();
    sv->switched = 1;
}

static void tz_leave(tz_saved_t *sv)
{
    if (sv->switched) {
        if (sv->had)
            setenv("TZ", sv->old, 1);
        else
            unsetenv("TZ");
        tzset();
    }
    pthread_mutex_unlock(&tz_lock);
}

static int digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i]))
            return -1;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return 0;
}

void wa_tz_hold(const char *tz, wa_tz_hold_t *h)
{
    tz_enter(tz, h);
}

void wa_tz_release(wa_tz_hold_t *h)
{
    tz_leave(h);
}

/* held: the caller holds the zone (tz is then unused). */
static int parse(const char *s, const char *tz, int held, int64_t *out)
{
    struct tm tm = {0};
    int y, mo, d, h = 0, mi = 0, sec = 0, off_sign = 0, oh = 0, om = 0;
    const char *p = s;
    char *end;

    if (!s || !out)
        goto bad;
    /* Plain Unix seconds: all digits, at most one leading minus. */
    if (*s && strspn(s + (*s == '-'), "0123456789") == strlen(s + (*s == '-')) &&
        s[*s == '-'] != '\0') {
        long long v;
        errno = 0;
        v = strtoll(s, &end, 10);
        if (errno != 0)
            goto bad;
        *out = v;
        return 0;
    }
    if (digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &mo) || *p++ != '-' ||
        digits(&p, 2, &d))
        goto bad;
    if (*p == 'T' || *p == ' ') {
        p++;
        if (digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &mi))
            goto bad;
        if (*p == ':') {
            p++;
            if (digits(&p, 2, &sec))
                goto bad;
        }
    }
    if (*p == 'Z') {
        off_sign = 1;
        p++;
    } else if (*p == '+' || *p == '-') {
        off_sign = *p == '+' ? 1 : -1;
        p++;
        if (digits(&p, 2, &oh))
            goto bad;
        if (*p == ':')
            p++;
        if (digits(&p, 2, &om))
            goto bad;
    }
    if (*p != '\0' || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60 ||
        oh > 23 || om > 59)
        goto bad;
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    if (off_sign) {
        time_t t = timegm(&tm);
        if (tm.tm_mday != d) /* 2026-02-31 normalises to March: reject */
            goto bad;
        *out = (int64_t)t - off_sign * (oh * 3600 + om * 60);
        return 0;
    } else {
        tz_saved_t sv;
        time_t t;
        tm.tm_isdst = -1;
        if (!held)
            tz_enter(tz, &sv);
        t = mktime(&tm);
        if (!held)
            tz_leave(&sv);
        if (t == (time_t)-1 || tm.tm_mday != d)
            goto bad;
        *out = (int64_t)t;
        return 0;
    }
bad:
    errno = EINVAL;
    return -1;
}

int wa_time_parse(const char *s, const char *tz, int64_t *out)
{
    return parse(s, tz, 0, out);
}

int wa_time_parse_held(const char *s, int64_t *out)
{
    return parse(s, NULL, 1, out);
}

char *wa_time_format(int64_t t, const char *tz, char *buf, size_t len)
{
    tz_saved_t sv;
    struct tm tm;
    time_t tt = (time_t)t;
    tz_enter(tz, &sv);
    localtime_r(&tt, &tm);
    tz_leave(&sv);
    if (len > 0 && strftime(buf, len, "%Y-%m-%d %H:%M", &tm) == 0)
        buf[0] = '\0';
    return buf;
}

int wa_time_local(int64_t t, const char *tz, struct tm *out)
{
    tz_saved_t sv;
    time_t tt = (time_t)t;
    struct tm *r;
    tz_enter(tz, &sv);
    r = localtime_r(&tt, out);
    tz_leave(&sv);
    if (!r) {
        errno = EOVERFLOW;
        return -1;
    }
    return 0;
}
