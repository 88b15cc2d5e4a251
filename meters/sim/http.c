/*
 * http.c: the simulated hosts' exporters over HTTP, one listener per loopback address and port
 * named in the hosts' exporter URLs, the URL's path choosing host and exporter.
 *
 * Just enough of HTTP/1.0 (RFC 1945) for a scraper: GET of a known path answers 200 with the
 * exposition text, another path 404, another method 405, a request that is not HTTP/1.x 400, a
 * head beyond SIM_HTTP_HEAD_MAX 431 (RFC 6585, 5).  Every answer carries Content-Length and
 * closes the connection, so HTTP/1.0 and HTTP/1.1 clients both know where it ends.  Sockets never
 * block: a client is read when poll() says so, an answer the socket cannot take at once is sent
 * as it drains, and a client that sends no whole request within SIM_HTTP_IDLE_S is dropped, so
 * one slow client cannot stall the Modbus buses served by the same loop.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "meters/sim/sim-private.h"

/* After the answer, the connection is half-closed and read until the client closes it or this
 * long: closing with unread bytes would reset it and could lose the answer in flight. */
#define DRAIN_S 1.0

enum { READING, WRITING, DRAINING };

int sim_http_url(const char *url, char *addr, size_t an, int *port, char *path, size_t pn)
{
    const char *h, *end, *colon, *slash, *q;
    char host[64];
    struct in_addr a;
    size_t hl;
    long p = 80;

    if (!url || strncmp(url, "http://", 7) != 0)
        return -1;
    h = url + 7;
    slash = strchr(h, '/');
    end = slash ? slash : h + strlen(h);
    colon = memchr(h, ':', (size_t)(end - h));
    hl = (size_t)((colon ? colon : end) - h);
    if (hl == 0 || hl >= sizeof host)
        return -1;
    memcpy(host, h, hl);
    host[hl] = '\0';
    if (colon) {
        char *pe;
        p = strtol(colon + 1, &pe, 10);
        if (pe != end || pe == colon + 1 || p < 0 || p > 65535)
            return -1;
    }
    if (strcasecmp(host, "localhost") == 0)
        snprintf(host, sizeof host, "127.0.0.1");
    else if (inet_pton(AF_INET, host, &a) != 1 || (ntohl(a.s_addr) >> 24) != 127)
        return 0; /* another machine's exporter: not ours to serve */
    if (wa_strlcpy(addr, host, an) != 0)
        return -1;
    *port = (int)p;
    q = slash ? slash + strcspn(slash, "?#") : NULL;
    if (!slash)
        return wa_strlcpy(path, "/", pn) == 0 ? 1 : -1;
    if ((size_t)(q - slash) >= pn)
        return -1;
    memcpy(path, slash, (size_t)(q - slash));
    path[q - slash] = '\0';
    return 1;
}

int sim_http_open(sim_http_t *l, char *err, size_t errlen)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)l->port)};
    socklen_t sl = sizeof sa;
    int one = 1;

    l->lfd = -1;
    if (inet_pton(AF_INET, l->addr, &sa.sin_addr) != 1) {
        errno = EINVAL;
        return wa_err(err, errlen, "sim: exporter address %s is not an IPv4 address", l->addr);
    }
    l->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (l->lfd < 0)
        return wa_err(err, errlen, "sim: socket: %s", strerror(errno));
    setsockopt(l->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(l->lfd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(l->lfd, 16) != 0) {
        int e = errno;
        close(l->lfd);
        l->lfd = -1;
        errno = e;
        return wa_err(err, errlen, "sim: exporters: cannot listen on %s:%d: %s", l->addr, l->port,
                      strerror(e));
    }
    if (getsockname(l->lfd, (struct sockaddr *)&sa, &sl) == 0)
        l->port = ntohs(sa.sin_port);
    snprintf(l->bound, sizeof l->bound, "%s:%d", l->addr, l->port);
    return 0;
}

static void drop(sim_http_t *l, size_t i)
{
    close(l->conns[i].fd);
    free(l->conns[i].out);
    l->conns[i] = l->conns[l->n_conns - 1];
    l->n_conns--;
}

void sim_http_close(sim_http_t *l)
{
    while (l->n_conns)
        drop(l, l->n_conns - 1);
    if (l->lfd >= 0)
        close(l->lfd);
    l->lfd = -1;
}

size_t sim_http_fds(const sim_http_t *l, struct pollfd *pfd, size_t max)
{
    size_t n = 0;
    if (max == 0)
        return 0;
    pfd[n++] = (struct pollfd){.fd = l->lfd, .events = POLLIN};
    for (size_t i = 0; i < l->n_conns && n < max; i++)
        pfd[n++] = (struct pollfd){.fd = l->conns[i].fd,
                                   .events = l->conns[i].state == WRITING ? POLLOUT : POLLIN};
    return n;
}

static void accept_clients(sim_http_t *l)
{
    for (;;) {
        int fd = accept(l->lfd, NULL, NULL);
        if (fd < 0)
            return;
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
        fcntl(fd, F_SETFD, FD_CLOEXEC);
        if (l->n_conns >= SIM_HTTP_CLIENTS) {
            close(fd);
            continue;
        }
        memset(&l->conns[l->n_conns], 0, sizeof l->conns[l->n_conns]);
        l->conns[l->n_conns].fd = fd;
        l->conns[l->n_conns].state = READING;
        l->conns[l->n_conns].since = sim_mono();
        l->n_conns++;
    }
}

/* Sends what the socket takes; at the end half-closes and starts draining.  -1: drop it. */
static int flush_out(sim_http_conn_t *c)
{
    while (c->out_off < c->out_len) {
        ssize_t w = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
        }
        c->out_off += (size_t)w;
    }
    free(c->out);
    c->out = NULL;
    shutdown(c->fd, SHUT_WR);
    c->state = DRAINING;
    c->since = sim_mono();
    return 0;
}

/* Queues an answer: the head, then body (taken over and freed) if any. */
static int answer(sim_http_conn_t *c, int status, const char *reason, const char *extra,
                  const char *ctype, char *body, size_t blen)
{
    char head[512];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.0 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s"
                     "Connection: close\r\n\r\n",
                     status, reason, ctype, blen, extra ? extra : "");
    char *out = malloc((size_t)n + blen);
    if (!out) {
        free(body);
        return -1;
    }
    memcpy(out, head, (size_t)n);
    if (blen)
        memcpy(out + n, body, blen);
    free(body);
    c->out = out;
    c->out_len = (size_t)n + blen;
    c->out_off = 0;
    c->state = WRITING;
    c->since = sim_mono();
    return flush_out(c);
}

static int answer_text(sim_http_conn_t *c, int status, const char *reason, const char *extra)
{
    char msg[128];
    int n = snprintf(msg, sizeof msg, "%d %s\n", status, reason);
    char *body = malloc((size_t)n);
    if (!body)
        return -1;
    memcpy(body, msg, (size_t)n);
    return answer(c, status, reason, extra, "text/plain; charset=utf-8", body, (size_t)n);
}

static const sim_route_t *route(const sim_http_t *l, const char *path)
{
    for (size_t i = 0; i < l->n_routes; i++)
        if (strcmp(l->routes[i].path, path) == 0)
            return &l->routes[i];
    return NULL;
}

int sim_http_request(char *head, char *path, size_t pn)
{
    char method[16], target[SC_PATH_MAX], version[16];
    size_t eol = strcspn(head, "\r\n");
    const char *sp1, *sp2, *p;

    head[eol] = '\0';
    sp1 = strchr(head, ' ');
    sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
    if (!sp1 || !sp2 || strchr(sp2 + 1, ' ') || (size_t)(sp1 - head) >= sizeof method ||
        (size_t)(sp2 - sp1 - 1) >= sizeof target || strlen(sp2 + 1) >= sizeof version ||
        sp2 == sp1 + 1)
        return 400;
    memcpy(method, head, (size_t)(sp1 - head));
    method[sp1 - head] = '\0';
    memcpy(target, sp1 + 1, (size_t)(sp2 - sp1 - 1));
    target[sp2 - sp1 - 1] = '\0';
    strcpy(version, sp2 + 1);
    if (strncmp(version, "HTTP/1.", 7) != 0 || !version[7] || version[8])
        return 400;
    if (strcmp(method, "GET") != 0)
        return 405;
    target[strcspn(target, "?#")] = '\0';
    /* A proxy's absolute form names the path after the authority (RFC 7230, 5.3.2). */
    p = target;
    if (strncasecmp(p, "http://", 7) == 0) {
        p = strchr(p + 7, '/');
        if (!p)
            p = "/";
    }
    /* Origin form is an absolute path (RFC 7230, 5.3.1): "?x" or "*" names nothing here. */
    if (p[0] != '/' || strlen(p) >= pn)
        return 400;
    memcpy(path, p, strlen(p) + 1);
    return 0;
}

/* Answers one complete head. */
static int handle(sim_http_t *l, sim_http_conn_t *c, const sim_serve_t *sv)
{
    char path[SC_PATH_MAX];
    const sim_route_t *r;
    char *body;
    size_t blen;

    sv->st->http_requests++;
    switch (sim_http_request(c->in, path, sizeof path)) {
    case 0:
        break;
    case 405:
        sv->st->http_errors++;
        return answer_text(c, 405, "Method Not Allowed", "Allow: GET\r\n");
    default:
        sv->st->http_errors++;
        return answer_text(c, 400, "Bad Request", NULL);
    }
    if (!(r = route(l, path))) {
        sv->st->http_errors++;
        return answer_text(c, 404, "Not Found", NULL);
    }
    if (!(body = sim_host_render(r->host, r->kind, wa_clock_now(sv->o->clock), &blen)))
        return -1;
    return answer(c, 200, "OK", NULL, "text/plain; version=0.0.4; charset=utf-8", body, blen);
}

/* The head ends at an empty line; bare LF line ends are taken too (RFC 7230, 3.5). */
static int head_complete(const char *buf, size_t len)
{
    for (size_t i = 0; i + 1 < len; i++) {
        if (buf[i] == '\n' && buf[i + 1] == '\n')
            return 1;
        if (i + 3 < len && memcmp(buf + i, "\r\n\r\n", 4) == 0)
            return 1;
    }
    return 0;
}

/* -1: drop the client. */
static int serve_conn(sim_http_t *l, sim_http_conn_t *c, short revents, const sim_serve_t *sv)
{
    if (c->state == WRITING)
        return revents & (POLLOUT | POLLERR | POLLHUP) ? flush_out(c) : 0;
    if (c->state == DRAINING) {
        char scratch[1024];
        ssize_t got = recv(c->fd, scratch, sizeof scratch, 0);
        if (got == 0 || (got < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
            return -1;
        return 0;
    }
    /* Reading: one byte is kept for the terminator. */
    ssize_t got = recv(c->fd, c->in + c->in_len, sizeof c->in - 1 - c->in_len, 0);
    if (got == 0)
        return -1;
    if (got < 0)
        return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -1;
    c->in_len += (size_t)got;
    c->in[c->in_len] = '\0';
    if (head_complete(c->in, c->in_len)) {
        /* A NUL inside the head would hide the rest of it from the parse. */
        if (memchr(c->in, '\0', c->in_len)) {
            sv->st->http_errors++;
            return answer_text(c, 400, "Bad Request", NULL);
        }
        return handle(l, c, sv);
    }
    if (c->in_len == sizeof c->in - 1) {
        sv->st->http_requests++;
        sv->st->http_errors++;
        return answer_text(c, 431, "Request Header Fields Too Large", NULL);
    }
    return 0;
}

void sim_http_service(sim_http_t *l, const struct pollfd *pfd, size_t n, const sim_serve_t *sv)
{
    double now = sim_mono();
    for (size_t k = 1; k < n; k++) {
        if (!pfd[k].revents)
            continue;
        for (size_t i = 0; i < l->n_conns; i++) {
            if (l->conns[i].fd != pfd[k].fd)
                continue;
            if (serve_conn(l, &l->conns[i], pfd[k].revents, sv) < 0)
                drop(l, i);
            break;
        }
    }
    for (size_t i = l->n_conns; i-- > 0;) {
        const sim_http_conn_t *c = &l->conns[i];
        if (now - c->since > (c->state == DRAINING ? DRAIN_S : SIM_HTTP_IDLE_S))
            drop(l, i);
    }
    if (n > 0 && (pfd[0].revents & POLLIN))
        accept_clients(l);
}
