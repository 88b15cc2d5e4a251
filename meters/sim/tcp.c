/*
 * tcp.c: Modbus TCP, one listener per gateway address and many clients at once.
 *
 * libmodbus opens the listener and frames every reply (modbus_reply, modbus_reply_exception
 * on the client's socket).  Requests are framed here from the MBAP header's length rather than
 * with modbus_receive(): that call blocks until a frame is complete, which would let one slow
 * or hostile client stall every other one, and it restarts on EINTR so the stop flag would go
 * unseen.  Here a socket is read only when poll() says so and never blocks.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "meters/sim/sim-private.h"

/* Modbus Messaging on TCP/IP Implementation Guide V1.0b, 3.1.3: the MBAP header is 7 bytes
 * (transaction id 2, protocol id 2 = 0 for Modbus, length 2, unit id 1); its length field
 * counts the unit id and the PDU, and a PDU is at most 253 bytes. */
#define MBAP_LEN 7
#define MBAP_LENGTH_MAX (1 + 253)

static void close_client(sim_bus_t *b, size_t i)
{
    close(b->clients[i].fd);
    b->clients[i] = b->clients[b->n_clients - 1];
    b->n_clients--;
}

int sim_tcp_open(sim_bus_t *b, char *err, size_t errlen)
{
    char service[16];
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    char host[NI_MAXHOST], serv[NI_MAXSERV];
    struct in_addr v4;

    snprintf(service, sizeof service, "%d", b->cfg->port);
    /* The protocol-independent context resolves names and IPv6 literals as well. */
    b->ctx = modbus_new_tcp_pi(b->cfg->host[0] ? b->cfg->host : NULL, service);
    if (!b->ctx)
        return wa_err(err, errlen, "bus %s: %s:%d: %s", b->cfg->id, b->cfg->host, b->cfg->port,
                      modbus_strerror(errno));
    b->lfd = modbus_tcp_pi_listen(b->ctx, 16);
    if (b->lfd < 0 && errno != EADDRINUSE && inet_pton(AF_INET, b->cfg->host, &v4) == 1) {
        /* getaddrinfo() with AI_ADDRCONFIG, as libmodbus asks, finds nothing on a host whose
         * only IPv4 address is loopback; an IPv4 literal needs no lookup. */
        modbus_free(b->ctx);
        b->ctx = modbus_new_tcp(b->cfg->host, b->cfg->port);
        b->lfd = b->ctx ? modbus_tcp_listen(b->ctx, 16) : -1;
    }
    if (b->lfd < 0) {
        int e = errno;
        if (b->ctx)
            modbus_free(b->ctx);
        b->ctx = NULL;
        errno = e;
        return wa_err(err, errlen, "bus %s: cannot listen on %s:%d: %s", b->cfg->id, b->cfg->host,
                      b->cfg->port, modbus_strerror(e));
    }
    fcntl(b->lfd, F_SETFL, fcntl(b->lfd, F_GETFL) | O_NONBLOCK);
    fcntl(b->lfd, F_SETFD, FD_CLOEXEC);
    if (getsockname(b->lfd, (struct sockaddr *)&ss, &sl) == 0 &&
        getnameinfo((struct sockaddr *)&ss, sl, host, sizeof host, serv, sizeof serv,
                    NI_NUMERICHOST | NI_NUMERICSERV) == 0)
        snprintf(b->bound, sizeof b->bound, ss.ss_family == AF_INET6 ? "[%s]:%s" : "%s:%s", host,
                 serv);
    else
        snprintf(b->bound, sizeof b->bound, "%s:%d", b->cfg->host, b->cfg->port);
    return 0;
}

void sim_tcp_close(sim_bus_t *b)
{
    while (b->n_clients)
        close_client(b, b->n_clients - 1);
    if (b->lfd >= 0)
        close(b->lfd);
    b->lfd = -1;
    if (b->ctx) {
        /* The context's socket is whichever client it last answered, closed above. */
        modbus_set_socket(b->ctx, -1);
        modbus_free(b->ctx);
        b->ctx = NULL;
    }
}

size_t sim_tcp_fds(const sim_bus_t *b, struct pollfd *pfd, size_t max)
{
    size_t n = 0;
    if (max == 0)
        return 0;
    pfd[n++] = (struct pollfd){.fd = b->lfd, .events = POLLIN};
    for (size_t i = 0; i < b->n_clients && n < max; i++)
        pfd[n++] = (struct pollfd){.fd = b->clients[i].fd, .events = POLLIN};
    return n;
}

static void accept_clients(sim_bus_t *b)
{
    for (;;) {
        int one = 1;
        int fd = accept(b->lfd, NULL, NULL);
        if (fd < 0)
            return;
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
        fcntl(fd, F_SETFD, FD_CLOEXEC);
        if (b->n_clients >= SIM_TCP_CLIENTS) {
            close(fd);
            continue;
        }
        /* Replies are small and come one per request: do not let Nagle hold them. */
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        b->clients[b->n_clients].fd = fd;
        b->clients[b->n_clients].len = 0;
        b->n_clients++;
    }
}

/* Answers one complete frame.  Returns -1 if the connection must close. */
static int answer(sim_bus_t *b, int fd, const uint8_t *f, size_t len, const sim_serve_t *sv)
{
    sim_request_t req = {0};
    sim_answer_t ans;
    modbus_mapping_t map;

    req.unit = f[6];
    req.fc = f[7];
    req.pdu_len = len - MBAP_LEN;
    if (req.pdu_len >= 5) {
        req.addr = (uint16_t)(f[8] << 8 | f[9]);
        req.count = (uint16_t)(f[10] << 8 | f[11]);
    }
    sim_dev_answer(sim_bus_find(b, req.unit), &req, wa_clock_now(sv->o->clock), &ans, sv->st);
    modbus_set_socket(b->ctx, fd);
    switch (ans.kind) {
    case SIM_ANSWER_REPLY:
        /* A mapping that is exactly the registers asked for: libmodbus copies them out. */
        memset(&map, 0, sizeof map);
        map.start_registers = map.start_input_registers = req.addr;
        map.nb_registers = map.nb_input_registers = req.count;
        map.tab_registers = map.tab_input_registers = ans.words;
        return modbus_reply(b->ctx, f, (int)len, &map) < 0 ? -1 : 0;
    case SIM_ANSWER_EXCEPTION:
        return modbus_reply_exception(b->ctx, f, (unsigned)ans.exception) < 0 ? -1 : 0;
    case SIM_ANSWER_SILENT:
        return 0;
    case SIM_ANSWER_DROP:
        return -1;
    }
    return 0;
}

/* Reads what the client sent and answers every complete frame.  -1: close the client. */
static int serve_client(sim_bus_t *b, sim_client_t *c, const sim_serve_t *sv)
{
    ssize_t got = recv(c->fd, c->buf + c->len, sizeof c->buf - c->len, 0);
    if (got == 0)
        return -1;
    if (got < 0)
        return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -1;
    c->len += (size_t)got;
    while (c->len >= MBAP_LEN) {
        unsigned proto = (unsigned)(c->buf[2] << 8 | c->buf[3]);
        unsigned mlen = (unsigned)(c->buf[4] << 8 | c->buf[5]);
        size_t flen = 6 + (size_t)mlen;
        /* Not Modbus, or a length no frame can have: the stream cannot be resynchronised. */
        if (proto != 0 || mlen < 2 || mlen > MBAP_LENGTH_MAX)
            return -1;
        if (c->len < flen)
            break;
        if (answer(b, c->fd, c->buf, flen, sv) < 0)
            return -1;
        memmove(c->buf, c->buf + flen, c->len - flen);
        c->len -= flen;
    }
    return 0;
}

void sim_tcp_service(sim_bus_t *b, const struct pollfd *pfd, size_t n, const sim_serve_t *sv)
{
    /* Clients first, by fd: accepting may reorder the array the poll entries point into. */
    for (size_t k = 1; k < n; k++) {
        if (!(pfd[k].revents & (POLLIN | POLLHUP | POLLERR)))
            continue;
        for (size_t i = 0; i < b->n_clients; i++) {
            if (b->clients[i].fd != pfd[k].fd)
                continue;
            if (serve_client(b, &b->clients[i], sv) < 0)
                close_client(b, i);
            break;
        }
    }
    if (n > 0 && (pfd[0].revents & POLLIN))
        accept_clients(b);
}
