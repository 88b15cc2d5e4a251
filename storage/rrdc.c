/*
 * A client for rrdcached's line protocol (rrdcached(1), "PROTOCOL"): a command line, then a
 * status line "<code> <text>" where a negative code is an error and a positive one counts the
 * lines that follow.  BATCH suppresses per-command answers and ends with one summary.
 *
 * librrd has its own client, but 1.7.2 exports no flush-all and no batch, and its rrdc_*
 * functions share one global connection; this one is a value its owner locks.
 */
#include "storage/storage-private.h"

#include "common/common.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

/* rrdcached(1), option -l: "The default port is 42217." */
#define RRDC_DEFAULT_PORT "42217"
/* Our choice, not the daemon's: FLUSH answers only once the file is on disk, which can take a
 * while behind a long write queue; a dead peer is still noticed within this. */
#define RRDC_TIMEOUT_MS 30000

struct rrdc_conn {
    char *addr;
    char *path; /* unix socket, or NULL */
    char *host, *port;
    int fd;
    int fresh; /* connected for the current call: a failure is not a stale socket */
    char rbuf[RRDC_LINE_MAX];
    size_t rpos, rlen;
};

const char *rrdc_conn_addr(const rrdc_conn_t *c)
{
    return c->addr;
}

static int parse_addr(rrdc_conn_t *c, const char *addr, char *err, size_t errlen)
{
    const char *p = addr;
    if (strncmp(p, "unix:", 5) == 0 || p[0] == '/') {
        if (p[0] != '/')
            p += 5;
        if (p[0] == '\0' || strlen(p) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
            errno = EINVAL;
            return wa_err(err, errlen, "rrdcached address '%s': bad unix socket path", addr);
        }
        c->path = strdup(p);
        return c->path ? 0 : -1;
    }
    const char *host = p, *port = NULL;
    size_t hostlen = strlen(p);
    if (p[0] == '[') {
        const char *close = strchr(p, ']');
        if (!close || (close[1] != '\0' && close[1] != ':')) {
            errno = EINVAL;
            return wa_err(err, errlen, "rrdcached address '%s': unbalanced '['", addr);
        }
        host = p + 1;
        hostlen = (size_t)(close - host);
        if (close[1] == ':')
            port = close + 2;
    } else {
        const char *colon = strchr(p, ':');
        if (colon && !strchr(colon + 1, ':')) { /* a bare IPv6 address has several */
            hostlen = (size_t)(colon - p);
            port = colon + 1;
        }
    }
    if (hostlen == 0 || (port && (port[0] == '\0' || strspn(port, "0123456789") != strlen(port)))) {
        errno = EINVAL;
        return wa_err(err, errlen, "rrdcached address '%s': want unix:/path or host[:port]", addr);
    }
    c->host = strndup(host, hostlen);
    c->port = strdup(port ? port : RRDC_DEFAULT_PORT);
    return c->host && c->port ? 0 : -1;
}

rrdc_conn_t *rrdc_conn_new(const char *addr, char *err, size_t errlen)
{
    rrdc_conn_t *c = calloc(1, sizeof *c);
    if (!c) {
        wa_err(err, errlen, "out of memory");
        return NULL;
    }
    c->fd = -1;
    c->addr = strdup(addr);
    if (!c->addr || parse_addr(c, addr, err, errlen) < 0) {
        int e = errno;
        if (e == ENOMEM)
            wa_err(err, errlen, "out of memory");
        rrdc_conn_free(c);
        errno = e;
        return NULL;
    }
    return c;
}

static void conn_close(rrdc_conn_t *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->rpos = c->rlen = 0;
}

void rrdc_conn_free(rrdc_conn_t *c)
{
    if (!c)
        return;
    conn_close(c);
    free(c->addr);
    free(c->path);
    free(c->host);
    free(c->port);
    free(c);
}

static void set_timeouts(int fd)
{
    struct timeval tv = {RRDC_TIMEOUT_MS / 1000, (RRDC_TIMEOUT_MS % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

static int connect_unix(rrdc_conn_t *c)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    memcpy(sa.sun_path, c->path, strlen(c->path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

/* Non-blocking connect so that an unreachable host costs the timeout, not the kernel's
 * minutes of SYN retries. */
static int connect_addrinfo(const struct addrinfo *ai)
{
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
    if (fd < 0)
        return -1;
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
        if (errno != EINPROGRESS)
            goto fail;
        struct pollfd pfd = {.fd = fd, .events = POLLOUT};
        int n = poll(&pfd, 1, RRDC_TIMEOUT_MS);
        if (n == 0)
            errno = ETIMEDOUT;
        if (n <= 0)
            goto fail;
        int soerr = 0;
        socklen_t sl = sizeof soerr;
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
            goto fail;
        if (soerr) {
            errno = soerr;
            goto fail;
        }
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0)
        goto fail;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
fail:;
    int e = errno;
    close(fd);
    errno = e;
    return -1;
}

static int connect_tcp(rrdc_conn_t *c, char *err, size_t errlen)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    int rc = getaddrinfo(c->host, c->port, &hints, &res);
    if (rc != 0) {
        int e = rc == EAI_SYSTEM ? errno : EHOSTUNREACH;
        wa_err(err, errlen, "rrdcached at %s: %s", c->addr, gai_strerror(rc));
        errno = e;
        return -1;
    }
    int fd = -1;
    errno = ECONNREFUSED;
    for (const struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next)
        fd = connect_addrinfo(ai);
    int e = errno;
    freeaddrinfo(res);
    if (fd < 0) {
        wa_err(err, errlen, "rrdcached at %s: cannot connect: %s", c->addr, strerror(e));
        errno = e;
    }
    return fd;
}

static int ensure_connected(rrdc_conn_t *c, char *err, size_t errlen)
{
    if (c->fd >= 0)
        return 0;
    c->rpos = c->rlen = 0;
    if (c->path) {
        c->fd = connect_unix(c);
        if (c->fd < 0) {
            int e = errno;
            wa_err(err, errlen, "rrdcached at %s: cannot connect: %s", c->addr, strerror(e));
            errno = e;
            return -1;
        }
    } else if ((c->fd = connect_tcp(c, err, errlen)) < 0) {
        return -1;
    }
    set_timeouts(c->fd);
    c->fresh = 1;
    return 0;
}

/* Closes the connection and fails with errno e. */
static int io_fail(rrdc_conn_t *c, int e, const char *what, char *err, size_t errlen)
{
    conn_close(c);
    if (e == EAGAIN || e == EWOULDBLOCK)
        e = ETIMEDOUT;
    wa_err(err, errlen, "rrdcached at %s: %s: %s", c->addr, what, strerror(e));
    errno = e;
    return -1;
}

static int send_all(rrdc_conn_t *c, const char *buf, size_t len, char *err, size_t errlen)
{
    while (len > 0) {
        ssize_t n = send(c->fd, buf, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return io_fail(c, n < 0 ? errno : EPIPE, "send", err, errlen);
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Reads one line without its newline into line (truncated to cap - 1). */
static int read_line(rrdc_conn_t *c, char *line, size_t cap, char *err, size_t errlen)
{
    size_t used = 0;
    for (;;) {
        if (c->rpos == c->rlen) {
            ssize_t n = recv(c->fd, c->rbuf, sizeof c->rbuf, 0);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                return io_fail(c, n < 0 ? errno : ECONNRESET,
                               n < 0 ? "receive" : "connection closed by the daemon", err, errlen);
            c->rpos = 0;
            c->rlen = (size_t)n;
        }
        char ch = c->rbuf[c->rpos++];
        if (ch == '\n')
            break;
        if (used + 1 < cap)
            line[used++] = ch;
    }
    if (used > 0 && line[used - 1] == '\r')
        used--;
    line[used] = '\0';
    return 0;
}

/* Reads "<code> <text>". */
static int read_status(rrdc_conn_t *c, int *status, char *msg, size_t msglen, char *err,
                       size_t errlen)
{
    char line[RRDC_LINE_MAX];
    if (read_line(c, line, sizeof line, err, errlen) < 0)
        return -1;
    char *end;
    errno = 0;
    long v = strtol(line, &end, 10);
    if (end == line || errno || v < -100000 || v > 100000000) {
        conn_close(c);
        errno = WA_EPROTO;
        return wa_err(err, errlen, "rrdcached at %s: unexpected answer '%.80s'", c->addr, line);
    }
    *status = (int)v;
    end += strspn(end, " ");
    if (msg && msglen)
        snprintf(msg, msglen, "%s", end);
    return 0;
}

/* Sends what and reads its status; a failure on a socket kept from an earlier call is
 * retried once on a new one, since the daemon may have closed it while we were idle. */
static int exchange(rrdc_conn_t *c, const char *what, size_t len, int *status, char *msg,
                    size_t msglen, char *err, size_t errlen)
{
    for (int attempt = 0;; attempt++) {
        c->fresh = 0;
        if (ensure_connected(c, err, errlen) < 0)
            return -1;
        if (send_all(c, what, len, err, errlen) == 0 &&
            read_status(c, status, msg, msglen, err, errlen) == 0)
            return 0;
        if (c->fresh || attempt > 0 || errno == WA_EPROTO)
            return -1;
    }
}

int rrdc_conn_query(rrdc_conn_t *c, const char *line, int *status, char *msg, size_t msglen,
                    rrdc_line_fn on_line, void *arg, char *err, size_t errlen)
{
    char buf[RRDC_LINE_MAX];
    int n = snprintf(buf, sizeof buf, "%s\n", line);
    if (n < 0 || (size_t)n >= sizeof buf) {
        errno = EINVAL;
        return wa_err(err, errlen, "rrdcached command too long (%zu bytes)", strlen(line));
    }
    if (exchange(c, buf, (size_t)n, status, msg, msglen, err, errlen) < 0)
        return -1;
    char got[RRDC_LINE_MAX];
    for (int i = 0; i < *status; i++) {
        if (read_line(c, got, sizeof got, err, errlen) < 0)
            return -1;
        if (on_line)
            on_line(arg, got);
    }
    return 0;
}

int rrdc_conn_command(rrdc_conn_t *c, const char *line, int *status, char *msg, size_t msglen,
                      char *err, size_t errlen)
{
    return rrdc_conn_query(c, line, status, msg, msglen, NULL, NULL, err, errlen);
}

int rrdc_conn_batch(rrdc_conn_t *c, const char *cmds, size_t len, size_t n_cmds,
                    rrdc_batch_error_fn on_error, void *arg, size_t *n_errors, char *err,
                    size_t errlen)
{
    int status;
    char msg[256];
    *n_errors = 0;
    if (exchange(c, "BATCH\n", 6, &status, msg, sizeof msg, err, errlen) < 0)
        return -1;
    if (status != 0) {
        /* Not in batch mode: whatever follows would be answered line by line. */
        conn_close(c);
        errno = WA_ERRD;
        return wa_err(err, errlen, "rrdcached at %s refused BATCH: %s", c->addr, msg);
    }
    if (send_all(c, cmds, len, err, errlen) < 0 || send_all(c, ".\n", 2, err, errlen) < 0)
        return -1;
    if (read_status(c, &status, msg, sizeof msg, err, errlen) < 0)
        return -1;
    if (status < 0) {
        conn_close(c);
        errno = WA_EPROTO;
        return wa_err(err, errlen, "rrdcached at %s: batch failed: %s", c->addr, msg);
    }
    char line[RRDC_LINE_MAX];
    for (int i = 0; i < status; i++) {
        if (read_line(c, line, sizeof line, err, errlen) < 0)
            return -1;
        char *end;
        unsigned long num = strtoul(line, &end, 10);
        end += strspn(end, " ");
        (*n_errors)++;
        if (num >= 1 && num <= n_cmds && on_error)
            on_error(arg, num - 1, end);
    }
    return 0;
}

int rrdc_flush_once(const char *addr, const char *file, char *err, size_t errlen)
{
    char line[RRDC_LINE_MAX], msg[256];
    int status;
    if (strpbrk(file, " \t\r\n")) {
        errno = EINVAL;
        return wa_err(err, errlen, "%s: rrdcached cannot name a file with whitespace", file);
    }
    rrdc_conn_t *c = rrdc_conn_new(addr, err, errlen);
    if (!c)
        return -1;
    int n = snprintf(line, sizeof line, "FLUSH %s", file);
    if (n < 0 || (size_t)n >= sizeof line) {
        rrdc_conn_free(c);
        errno = ENAMETOOLONG;
        return wa_err(err, errlen, "%s: name too long for rrdcached", file);
    }
    char inner[512] = "";
    int rc = rrdc_conn_command(c, line, &status, msg, sizeof msg, inner, sizeof inner);
    if (rc == 0 && status < 0) {
        errno = WA_ERRD;
        rc = wa_err(err, errlen, "%s: rrdcached at %s refused FLUSH: %s", file, addr, msg);
    } else if (rc < 0) {
        int e = errno;
        wa_err(err, errlen, "%s: cannot flush before reading: %s", file, inner);
        errno = e;
    }
    rrdc_conn_free(c);
    return rc;
}
