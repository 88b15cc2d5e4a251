/* One HTTP/1.0 GET over a plain socket.  HTTP/1.0 (RFC 1945) keeps the reply simple: no
 * chunked transfer coding, and the server closes the connection after the body, so the body
 * ends at EOF.  We send no Accept-Encoding, so Go's net/http exporters answer uncompressed. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/common.h"
#include "meters/prom/prom.h"

/* Head of the reply we accept before the body starts. */
#define HEAD_MAX 8192

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int split_url(const char *url, char *host, size_t hl, char *port, size_t pl, char *path,
                     size_t ptl)
{
    if (strncmp(url, "http://", 7))
        return -1;
    const char *h = url + 7;
    const char *slash = strchr(h, '/');
    const char *hend = slash ? slash : h + strlen(h);
    const char *colon = memchr(h, ':', (size_t)(hend - h));
    const char *nend = colon ? colon : hend;
    if (nend == h || (size_t)(nend - h) >= hl)
        return -1;
    memcpy(host, h, (size_t)(nend - h));
    host[nend - h] = '\0';
    if (colon) {
        size_t n = (size_t)(hend - colon - 1);
        if (n == 0 || n >= pl || strspn(colon + 1, "0123456789") < n)
            return -1;
        memcpy(port, colon + 1, n);
        port[n] = '\0';
    } else if (wa_strlcpy(port, "80", pl) < 0) {
        return -1;
    }
    return wa_strlcpy(path, slash ? slash : "/", ptl);
}

/* Waits for fd to become ready for `events` until the deadline. */
static int wait_fd(int fd, short events, int64_t deadline)
{
    for (;;) {
        int64_t left = deadline - now_ms();
        if (left <= 0) {
            errno = ETIMEDOUT;
            return -1;
        }
        struct pollfd p = {.fd = fd, .events = events};
        int r = poll(&p, 1, (int)left);
        if (r > 0)
            return 0;
        if (r == 0) {
            errno = ETIMEDOUT;
            return -1;
        }
        if (errno != EINTR)
            return -1;
    }
}

static int dial(const char *host, const char *port, int64_t deadline, char *err, size_t errlen)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai;
    int rc = getaddrinfo(host, port, &hints, &ai);
    if (rc != 0) {
        errno = EHOSTUNREACH;
        wa_err(err, errlen, "%s:%s: %s", host, port, gai_strerror(rc));
        return -1;
    }
    int fd = -1, e = ECONNREFUSED;
    for (struct addrinfo *a = ai; a; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0) {
            e = errno;
            continue;
        }
        if (connect(fd, a->ai_addr, a->ai_addrlen) == 0)
            break;
        if (errno == EINPROGRESS && wait_fd(fd, POLLOUT, deadline) == 0) {
            int soerr = 0;
            socklen_t sl = sizeof soerr;
            if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr == 0)
                break;
            e = soerr ? soerr : errno;
        } else {
            e = errno;
        }
        close(fd);
        fd = -1;
    }
    freeaddrinfo(ai);
    if (fd < 0) {
        errno = e;
        wa_err(err, errlen, "%s:%s: connect: %s", host, port, strerror(e));
    }
    return fd;
}

static int send_all(int fd, const char *buf, size_t n, int64_t deadline)
{
    while (n) {
        if (wait_fd(fd, POLLOUT, deadline) < 0)
            return -1;
        ssize_t w = send(fd, buf, n, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            return -1;
        }
        buf += w;
        n -= (size_t)w;
    }
    return 0;
}

int prom_scrape(const char *url, int timeout_ms, size_t max_bytes, char **body, size_t *len,
                char *err, size_t errlen)
{
    char host[256], port[8], path[1024];
    if (!url || !body || !len || timeout_ms <= 0 ||
        split_url(url, host, sizeof host, port, sizeof port, path, sizeof path) < 0) {
        errno = EINVAL;
        return wa_err(err, errlen, "%s: not an http://host[:port]/path URL", url ? url : "(null)");
    }
    if (max_bytes == 0)
        max_bytes = PROM_BODY_MAX;
    int64_t deadline = now_ms() + timeout_ms;
    int fd = dial(host, port, deadline, err, errlen);
    if (fd < 0)
        return -1;
    char req[1400];
    int n = snprintf(req, sizeof req,
                     "GET %s HTTP/1.0\r\nHost: %s\r\nAccept: text/plain;version=0.0.4\r\n"
                     "User-Agent: wattaudit\r\nConnection: close\r\n\r\n",
                     path, host);
    char *buf = NULL;
    size_t have = 0, cap = 0, limit = max_bytes + HEAD_MAX;
    if (n < 0 || (size_t)n >= sizeof req) {
        errno = EINVAL;
        wa_err(err, errlen, "%s: URL too long", url);
        goto fail;
    }
    if (send_all(fd, req, (size_t)n, deadline) < 0) {
        wa_err(err, errlen, "%s: send: %s", url, strerror(errno));
        goto fail;
    }
    for (;;) {
        if (have + 4096 + 1 > cap) {
            size_t nc = cap ? cap * 2 : 16384;
            char *nb = realloc(buf, nc);
            if (!nb) {
                wa_err(err, errlen, "%s: out of memory", url);
                goto fail;
            }
            buf = nb;
            cap = nc;
        }
        if (wait_fd(fd, POLLIN, deadline) < 0) {
            wa_err(err, errlen, "%s: no complete answer in %d ms", url, timeout_ms);
            goto fail;
        }
        ssize_t r = recv(fd, buf + have, cap - have - 1, 0);
        if (r < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            wa_err(err, errlen, "%s: recv: %s", url, strerror(errno));
            goto fail;
        }
        if (r == 0)
            break;
        have += (size_t)r;
        if (have > limit) {
            errno = EFBIG;
            wa_err(err, errlen, "%s: answer larger than %zu bytes", url, max_bytes);
            goto fail;
        }
    }
    close(fd);
    fd = -1;
    if (!buf) {
        errno = WA_EPROTO;
        return wa_err(err, errlen, "%s: empty answer", url);
    }
    buf[have] = '\0';
    int status = 0;
    if (sscanf(buf, "HTTP/1.%*1[01] %3d", &status) != 1) {
        errno = WA_EPROTO;
        wa_err(err, errlen, "%s: not an HTTP answer", url);
        goto fail;
    }
    if (status != 200) {
        errno = WA_EPROTO;
        wa_err(err, errlen, "%s: HTTP status %d", url, status);
        goto fail;
    }
    char *sep = strstr(buf, "\r\n\r\n");
    if (!sep || sep - buf > HEAD_MAX) {
        errno = WA_EPROTO;
        wa_err(err, errlen, "%s: no end of headers", url);
        goto fail;
    }
    sep += 4;
    size_t blen = have - (size_t)(sep - buf);
    if (blen > max_bytes) {
        errno = EFBIG;
        wa_err(err, errlen, "%s: answer larger than %zu bytes", url, max_bytes);
        goto fail;
    }
    memmove(buf, sep, blen);
    buf[blen] = '\0';
    *body = buf;
    *len = blen;
    return 0;
fail: {
    int e = errno;
    if (fd >= 0)
        close(fd);
    free(buf);
    errno = e;
    return -1;
}
}
