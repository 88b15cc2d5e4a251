/*
 * wa_bench_mbfarm: a farm of simulated Modbus TCP gateways for the collection benchmark.
 *
 * Listens on 127.0.0.1 ports FIRST..FIRST+COUNT-1, answers read holding (03) and read input
 * (04) requests for any unit id with IEEE 754 float32 values in ABCD order (register 2k is the
 * high word of value k), and counts what it is asked.  Both collectors in bench/collect/run.sh
 * poll the same farm, so the request counts are taken the same way for both: at the server.
 * Everything else gets exception 01.  One thread, epoll; it stops on SIGTERM/SIGINT or after
 * --max-seconds, so a forgotten farm never outlives the benchmark for long.
 *
 * Frame layout: Modbus Messaging on TCP/IP Implementation Guide V1.0b, 3.1.3 (MBAP header:
 * transaction id, protocol id 0, length, unit id); Modbus Application Protocol V1.1b3, 6.3/6.4
 * (03/04 request: address, quantity 1..125; response: byte count, data) and 7 (exceptions).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MBAP_LEN 7          /* MBAP header, TCP implementation guide 3.1.3 */
#define PDU_MAX 253         /* Application protocol 4.1: PDU at most 253 bytes */
#define READ_MAX 125        /* Application protocol 6.3: quantity 1..125 (0x7D) */
#define PORTS_MAX 256
#define FDS_MAX 4096

typedef struct conn {
    int port_index; /* -1: unused */
    size_t len;
    uint8_t buf[MBAP_LEN + PDU_MAX];
} conn_t;

typedef struct farm_stats {
    uint64_t requests, registers, fc03, fc04, exceptions, at_zero, connections, closed;
} farm_stats_t;

typedef struct farm {
    int epfd;
    int first_port, n_ports;
    int listen_fd[PORTS_MAX];
    conn_t *conns; /* indexed by fd */
    farm_stats_t st;
} farm_t;

/* A plausible outlet load in W: a fixed level per (gateway, unit, register pair) and a slow
 * swing, so that consecutive polls differ and no value is NaN. */
static float farm_value(int port_index, int unit, int k, time_t now)
{
    double level = 20.0 + (double)((port_index * 7919 + unit * 104729 + k * 1299709) % 400);
    return (float)(level * (1.0 + 0.05 * sin((double)now / 30.0 + k)));
}

static void put_u16(uint8_t *p, unsigned v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static unsigned get_u16(const uint8_t *p)
{
    return (unsigned)p[0] << 8 | p[1];
}

static void reply_exception(farm_t *f, int fd, const uint8_t *req, int fc, int code)
{
    uint8_t out[MBAP_LEN + 2];
    memcpy(out, req, 4); /* transaction and protocol id echo the request */
    put_u16(out + 4, 3);
    out[6] = req[6];
    out[7] = (uint8_t)(fc | 0x80);
    out[8] = (uint8_t)code;
    f->st.exceptions++;
    if (write(fd, out, sizeof out) < 0)
        f->st.closed++;
}

static void serve_frame(farm_t *f, int fd, const conn_t *c, const uint8_t *req, size_t pdu_len)
{
    int fc = req[MBAP_LEN];
    f->st.requests++;
    if ((fc != 3 && fc != 4) || pdu_len != 5) {
        reply_exception(f, fd, req, fc, 1); /* illegal function */
        return;
    }
    unsigned addr = get_u16(req + MBAP_LEN + 1), qty = get_u16(req + MBAP_LEN + 3);
    if (qty < 1 || qty > READ_MAX || addr + qty > 0x10000u) {
        reply_exception(f, fd, req, fc, 3); /* illegal data value */
        return;
    }
    if (fc == 3)
        f->st.fc03++;
    else
        f->st.fc04++;
    f->st.registers += qty;
    if (addr == 0)
        f->st.at_zero++;

    uint8_t out[MBAP_LEN + 2 + 2 * READ_MAX];
    memcpy(out, req, 4);
    put_u16(out + 4, 3 + 2 * qty);
    out[6] = req[6];
    out[7] = (uint8_t)fc;
    out[8] = (uint8_t)(2 * qty);
    time_t now = time(NULL);
    for (unsigned i = 0; i < qty; i++) {
        unsigned reg = addr + i;
        float v = farm_value(c->port_index, req[6], (int)(reg / 2), now);
        uint32_t bits;
        memcpy(&bits, &v, sizeof bits);
        put_u16(out + 9 + 2 * i, reg % 2 == 0 ? bits >> 16 : bits & 0xFFFFu);
    }
    size_t n = MBAP_LEN + 2 + 2 * qty;
    if (write(fd, out, n) != (ssize_t)n)
        f->st.closed++;
}

static void conn_close(farm_t *f, int fd)
{
    epoll_ctl(f->epfd, EPOLL_CTL_DEL, fd, NULL);
    close(fd);
    f->conns[fd].port_index = -1;
    f->conns[fd].len = 0;
}

static void conn_read(farm_t *f, int fd)
{
    conn_t *c = &f->conns[fd];
    for (;;) {
        ssize_t r = read(fd, c->buf + c->len, sizeof c->buf - c->len);
        if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
            conn_close(f, fd);
            return;
        }
        if (r < 0)
            return;
        c->len += (size_t)r;
        while (c->len >= MBAP_LEN) {
            unsigned len = get_u16(c->buf + 4); /* unit id + PDU */
            if (get_u16(c->buf + 2) != 0 || len < 2 || len > PDU_MAX + 1) {
                conn_close(f, fd);
                return;
            }
            size_t need = 6 + (size_t)len;
            if (c->len < need)
                break;
            serve_frame(f, fd, c, c->buf, len - 1);
            memmove(c->buf, c->buf + need, c->len - need);
            c->len -= need;
        }
    }
}

static void farm_accept(farm_t *f, int port_index)
{
    for (;;) {
        int fd = accept(f->listen_fd[port_index], NULL, NULL);
        if (fd < 0)
            return;
        if (fd >= FDS_MAX || fcntl(fd, F_SETFL, O_NONBLOCK) < 0) {
            close(fd);
            continue;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
        if (epoll_ctl(f->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
            close(fd);
            continue;
        }
        f->conns[fd].port_index = port_index;
        f->conns[fd].len = 0;
        f->st.connections++;
    }
}

static int farm_listen(farm_t *f, char *err, size_t errlen)
{
    for (int i = 0; i < f->n_ports; i++) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        int one = 1;
        struct sockaddr_in sa = {.sin_family = AF_INET,
                                 .sin_port = htons((uint16_t)(f->first_port + i)),
                                 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
            bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 64) < 0) {
            snprintf(err, errlen, "127.0.0.1:%d: %s", f->first_port + i, strerror(errno));
            if (fd >= 0)
                close(fd);
            return -1;
        }
        f->listen_fd[i] = fd;
        /* data.fd carries -1-i for listeners so that one epoll set holds both kinds */
        struct epoll_event ev = {.events = EPOLLIN, .data.fd = -1 - i};
        if (epoll_ctl(f->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
            snprintf(err, errlen, "epoll: %s", strerror(errno));
            return -1;
        }
    }
    return 0;
}

static int write_stats(const farm_t *f, const char *path)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *o = fopen(tmp, "w");
    if (!o)
        return -1;
    fprintf(o,
            "requests %llu\nregisters %llu\nfc03 %llu\nfc04 %llu\nexceptions %llu\n"
            "at_zero %llu\nconnections %llu\nshort_writes %llu\n",
            (unsigned long long)f->st.requests, (unsigned long long)f->st.registers,
            (unsigned long long)f->st.fc03, (unsigned long long)f->st.fc04,
            (unsigned long long)f->st.exceptions, (unsigned long long)f->st.at_zero,
            (unsigned long long)f->st.connections, (unsigned long long)f->st.closed);
    if (fclose(o) != 0)
        return -1;
    return rename(tmp, path);
}

static void usage(void)
{
    fputs("usage: wa_bench_mbfarm --ports FIRST:COUNT --stats FILE [--ready FILE]"
          " [--max-seconds S]\n"
          "  SIGUSR1 writes the counters to the stats file; SIGTERM writes them and exits.\n",
          stderr);
}

int main(int argc, char **argv)
{
    farm_t f = {.epfd = -1};
    const char *stats = NULL, *ready = NULL;
    long max_s = 1800;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--ports") == 0 && i + 1 < argc) {
            if (sscanf(argv[++i], "%d:%d", &f.first_port, &f.n_ports) != 2) {
                usage();
                return 2;
            }
        } else if (strcmp(argv[i], "--stats") == 0 && i + 1 < argc) {
            stats = argv[++i];
        } else if (strcmp(argv[i], "--ready") == 0 && i + 1 < argc) {
            ready = argv[++i];
        } else if (strcmp(argv[i], "--max-seconds") == 0 && i + 1 < argc) {
            max_s = strtol(argv[++i], NULL, 10);
        } else {
            usage();
            return 2;
        }
    }
    if (!stats || f.first_port < 1 || f.n_ports < 1 || f.n_ports > PORTS_MAX ||
        f.first_port + f.n_ports > 65536 || max_s < 1) {
        usage();
        return 2;
    }

    /* Signals are taken synchronously through a signalfd-free path: blocked, then polled with
     * sigtimedwait between epoll waits, so no handler and no global are needed. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGUSR1);
    sigprocmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    char err[256];
    f.conns = calloc(FDS_MAX, sizeof *f.conns);
    f.epfd = epoll_create1(EPOLL_CLOEXEC);
    if (!f.conns || f.epfd < 0) {
        perror("wa_bench_mbfarm");
        return 1;
    }
    for (int i = 0; i < FDS_MAX; i++)
        f.conns[i].port_index = -1;
    if (farm_listen(&f, err, sizeof err) < 0) {
        fprintf(stderr, "wa_bench_mbfarm: %s\n", err);
        return 1;
    }
    if (ready) {
        FILE *r = fopen(ready, "w");
        if (!r || fprintf(r, "%d\n", (int)getpid()) < 0 || fclose(r) != 0) {
            perror(ready);
            return 1;
        }
    }

    time_t end = time(NULL) + max_s;
    int running = 1;
    while (running && time(NULL) < end) {
        struct epoll_event ev[64];
        int n = epoll_wait(f.epfd, ev, 64, 100);
        for (int i = 0; i < n; i++) {
            if (ev[i].data.fd < 0)
                farm_accept(&f, -1 - ev[i].data.fd);
            else
                conn_read(&f, ev[i].data.fd);
        }
        struct timespec zero = {0, 0};
        int sig;
        while ((sig = sigtimedwait(&sigs, NULL, &zero)) > 0) {
            if (write_stats(&f, stats) < 0)
                perror(stats);
            if (sig != SIGUSR1)
                running = 0;
        }
    }
    if (write_stats(&f, stats) < 0)
        perror(stats);
    for (int fd = 0; fd < FDS_MAX; fd++)
        if (f.conns[fd].port_index >= 0)
            close(fd);
    for (int i = 0; i < f.n_ports; i++)
        close(f.listen_fd[i]);
    close(f.epfd);
    free(f.conns);
    return 0;
}
