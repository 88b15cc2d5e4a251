/* Error texts, message formatting and the logger. */
#include "common/common.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

const char *wa_strerror(int errnum)
{
    switch (errnum) {
    case WA_ECONFIG: return "invalid configuration";
    case WA_EPROFILE: return "device profile not found or unusable";
    case WA_ERANGE: return "value outside its plausible range";
    case WA_ESENTINEL: return "meter reports the value as not available";
    case WA_ESTALE: return "data is stale";
    case WA_EQUARANTINE: return "device is quarantined";
    case WA_EWRITEFC: return "refused: wattaudit only sends read function codes";
    case WA_ERRD: return "RRD storage error";
    case WA_EPROTO: return "protocol error";
    default: return strerror(errnum);
    }
}

int wa_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

int wa_strlcpy(char *dst, const char *src, size_t n)
{
    size_t len = strlen(src);
    if (n == 0)
        return -1;
    if (len >= n) {
        memcpy(dst, src, n - 1);
        dst[n - 1] = '\0';
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(dst, src, len + 1);
    return 0;
}

void wa_log(const wa_log_t *log, wa_log_level_t level, const char *fmt, ...)
{
    static const char *const names[] = {"error", "warn", "info", "debug"};
    char line[2048];
    struct timespec now;
    struct tm tm;
    size_t off;
    va_list ap;

    if (!log || !log->stream || level > log->level)
        return;
    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    off = strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%SZ ", &tm);
    off += (size_t)snprintf(line + off, sizeof line - off, "%s: ", names[level]);
    va_start(ap, fmt);
    vsnprintf(line + off, sizeof line - off, fmt, ap);
    va_end(ap);
    off = strlen(line);
    if (off + 1 < sizeof line) {
        line[off] = '\n';
        line[off + 1] = '\0';
    }
    fputs(line, log->stream);
    fflush(log->stream);
}

static int write_replace(const char *path, const void *data, size_t len, int durable, char *err,
                         size_t errlen)
{
    char tmp[4096];
    FILE *f;
    int e;

    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= sizeof tmp) {
        errno = ENAMETOOLONG;
        return wa_err(err, errlen, "%s: path too long", path);
    }
    if (!(f = fopen(tmp, "w")))
        goto fail;
    if ((len && fwrite(data, 1, len, f) != len) || fflush(f) != 0 ||
        (durable && fsync(fileno(f)) != 0)) {
        e = errno;
        fclose(f);
        errno = e;
        goto fail;
    }
    if (fclose(f) != 0 || rename(tmp, path) != 0)
        goto fail;
    return 0;
fail:
    e = errno;
    unlink(tmp);
    errno = e;
    return wa_err(err, errlen, "%s: %s", path, strerror(e));
}

int wa_file_write_atomic(const char *path, const void *data, size_t len, char *err,
                         size_t errlen)
{
    return write_replace(path, data, len, 1, err, errlen);
}

int wa_file_write_atomic_nosync(const char *path, const void *data, size_t len, char *err,
                                size_t errlen)
{
    return write_replace(path, data, len, 0, err, errlen);
}

char *wa_file_read(const char *path, size_t max, size_t *len, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    size_t cap = 4096, n = 0;
    char *buf = NULL, *nb;
    int e;

    if (!f) {
        e = errno;
        wa_err(err, errlen, "%s: %s", path, strerror(e));
        errno = e;
        return NULL;
    }
    for (;;) {
        if (cap > max + 1)
            cap = max + 1;
        if (!(nb = realloc(buf, cap + 1))) {
            e = ENOMEM;
            goto fail;
        }
        buf = nb;
        n += fread(buf + n, 1, cap - n, f);
        if (ferror(f)) {
            e = EIO;
            goto fail;
        }
        if (n > max) {
            e = EFBIG;
            goto fail;
        }
        if (n < cap)
            break; /* end of file */
        cap *= 2;
    }
    fclose(f);
    buf[n] = '\0';
    *len = n;
    return buf;
fail:
    fclose(f);
    free(buf);
    if (e == EFBIG)
        wa_err(err, errlen, "%s: larger than %zu bytes", path, max);
    else
        wa_err(err, errlen, "%s: %s", path, strerror(e));
    errno = e;
    return NULL;
}
