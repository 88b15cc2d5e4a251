/*
 * rtu.c: Modbus RTU on a pseudo-terminal standing in for an RS-485 line.
 *
 * The slave end is linked at the bus's `device` path, where a client opens it like a serial
 * adapter.  We keep one slave descriptor open ourselves: without it the master side reads EIO
 * whenever no client has the line open.  Replies are framed by libmodbus (an RTU context whose
 * socket is the master descriptor: modbus_reply only writes to it).  Requests are framed here:
 * libmodbus's receive answers a single unit id per context, and a line carries several.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "meters/sim/sim-private.h"

/* Longer than any client takes to read a reply that arrived while it waited for it. */
#define STALE_S 0.25

uint16_t sim_crc16(const uint8_t *buf, size_t len)
{
    /* Modbus over Serial Line V1.02, 6.2.2: CRC-16, initial 0xFFFF, reflected polynomial
     * 0xA001, sent low byte first. */
    uint16_t crc = 0xFFFF;
    for (size_t i = 0; i < len; i++) {
        crc ^= buf[i];
        for (int b = 0; b < 8; b++)
            crc = (crc & 1) ? (uint16_t)((crc >> 1) ^ 0xA001) : (uint16_t)(crc >> 1);
    }
    return crc;
}

int sim_rtu_frame_len(const uint8_t *buf, size_t len)
{
    /* Request layouts from the Modbus Application Protocol V1.1b3, section 6, plus the
     * address byte in front and the two CRC bytes behind. */
    if (len < 2)
        return 0;
    switch (buf[1]) {
    case 0x01:
    case 0x02:
    case 0x03:
    case 0x04:
    case 0x05:
    case 0x06:
    case 0x08:
        return 8;
    case 0x07:
    case 0x0B:
    case 0x0C:
    case 0x11:
        return 4;
    case 0x0F:
    case 0x10: /* address 2, quantity 2, byte count 1, data */
        return len < 7 ? 0 : 9 + buf[6];
    case 0x14:
    case 0x15: /* byte count 1, data */
        return len < 3 ? 0 : 5 + buf[2];
    case 0x16:
        return 10;
    case 0x17: /* read 4, write 4, byte count 1, data */
        return len < 11 ? 0 : 13 + buf[10];
    case 0x18:
        return 6;
    default:
        return -1;
    }
}

double sim_mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Modbus over Serial Line V1.02, 2.5.1.1: a frame ends after 3.5 character times of silence
 * (11 bits a character), fixed at 1.75 ms above 19200 baud.  A pseudo-terminal has no pacing,
 * so this only decides when a frame of unknown layout is complete. */
static double frame_gap(int baud)
{
    if (baud <= 0 || baud > 19200)
        return 0.00175;
    return 3.5 * 11.0 / baud;
}

static int link_slave(sim_bus_t *b, char *err, size_t errlen)
{
    const char *path = b->cfg->device;
    struct stat sb;
    if (lstat(path, &sb) == 0) {
        if (!S_ISLNK(sb.st_mode)) {
            errno = EEXIST;
            return wa_err(err, errlen, "bus %s: %s exists and is not a symlink; not replacing it",
                          b->cfg->id, path);
        }
        if (unlink(path) != 0)
            return wa_err(err, errlen, "bus %s: cannot remove the old link %s: %s", b->cfg->id,
                          path, strerror(errno));
    } else if (errno != ENOENT) {
        return wa_err(err, errlen, "bus %s: %s: %s", b->cfg->id, path, strerror(errno));
    }
    if (symlink(b->slave, path) != 0)
        return wa_err(err, errlen, "bus %s: cannot link %s to %s: %s", b->cfg->id, path, b->slave,
                      strerror(errno));
    b->linked = 1;
    return 0;
}

int sim_rtu_open(sim_bus_t *b, char *err, size_t errlen)
{
    struct termios tio;
    char parity = b->cfg->parity ? b->cfg->parity : 'E';

    if (openpty(&b->mfd, &b->sfd, NULL, NULL, NULL) != 0) {
        b->mfd = b->sfd = -1;
        return wa_err(err, errlen, "bus %s: openpty: %s", b->cfg->id, strerror(errno));
    }
    if (ttyname_r(b->sfd, b->slave, sizeof b->slave) != 0 || tcgetattr(b->sfd, &tio) != 0)
        return wa_err(err, errlen, "bus %s: pseudo-terminal: %s", b->cfg->id, strerror(errno));
    /* Raw bytes both ways: no echo, no line discipline, no CR/LF translation. */
    cfmakeraw(&tio);
    if (tcsetattr(b->sfd, TCSANOW, &tio) != 0)
        return wa_err(err, errlen, "bus %s: raw mode: %s", b->cfg->id, strerror(errno));
    fcntl(b->mfd, F_SETFL, fcntl(b->mfd, F_GETFL) | O_NONBLOCK);
    fcntl(b->mfd, F_SETFD, FD_CLOEXEC);
    fcntl(b->sfd, F_SETFD, FD_CLOEXEC);
    b->ctx = modbus_new_rtu(b->slave, b->cfg->baud > 0 ? b->cfg->baud : 9600, parity,
                            b->cfg->data_bits > 0 ? b->cfg->data_bits : 8,
                            b->cfg->stop_bits > 0 ? b->cfg->stop_bits : 1);
    if (!b->ctx)
        return wa_err(err, errlen, "bus %s: RTU context: %s", b->cfg->id, modbus_strerror(errno));
    /* Never connected: the context only frames replies onto the master descriptor. */
    modbus_set_socket(b->ctx, b->mfd);
    b->gap_s = frame_gap(b->cfg->baud);
    return link_slave(b, err, errlen);
}

void sim_rtu_close(sim_bus_t *b)
{
    char target[sizeof b->slave];
    ssize_t n;
    if (b->linked) {
        /* Remove the link only if it is still ours. */
        n = readlink(b->cfg->device, target, sizeof target - 1);
        if (n >= 0) {
            target[n] = '\0';
            if (strcmp(target, b->slave) == 0)
                unlink(b->cfg->device);
        }
        b->linked = 0;
    }
    if (b->ctx) {
        modbus_set_socket(b->ctx, -1);
        modbus_free(b->ctx);
        b->ctx = NULL;
    }
    if (b->mfd >= 0)
        close(b->mfd);
    if (b->sfd >= 0)
        close(b->sfd);
    b->mfd = b->sfd = -1;
}

size_t sim_rtu_fds(const sim_bus_t *b, struct pollfd *pfd, size_t max)
{
    if (max == 0)
        return 0;
    pfd[0] = (struct pollfd){.fd = b->mfd, .events = POLLIN};
    return 1;
}

int sim_rtu_wait_ms(const sim_bus_t *b)
{
    double left;
    if (b->rx_len == 0)
        return -1;
    left = b->rx_last + b->gap_s - sim_mono();
    return left <= 0 ? 0 : (int)(left * 1000.0) + 1;
}

static void answer(sim_bus_t *b, const uint8_t *f, size_t len, const sim_serve_t *sv)
{
    sim_request_t req = {0};
    sim_answer_t ans;
    modbus_mapping_t map;
    sim_dev_t *dev = sim_bus_find(b, f[0]);

    /* On a shared line only the addressed device speaks; broadcasts (0) get no reply. */
    if (!dev || f[0] == 0)
        return;
    req.unit = f[0];
    req.fc = f[1];
    req.pdu_len = len - 3;
    if (req.pdu_len >= 5) {
        req.addr = (uint16_t)(f[2] << 8 | f[3]);
        req.count = (uint16_t)(f[4] << 8 | f[5]);
    }
    sim_dev_answer(dev, &req, wa_clock_now(sv->o->clock), &ans, sv->st);
    if (ans.kind != SIM_ANSWER_REPLY && ans.kind != SIM_ANSWER_EXCEPTION)
        return; /* silence; a "drop" on a serial line is silence too */
    /* Bytes the client never read (a reply it gave up on) must not precede this one. */
    tcflush(b->sfd, TCIFLUSH);
    b->tx_last = sim_mono();
    modbus_set_socket(b->ctx, b->mfd);
    if (ans.kind == SIM_ANSWER_EXCEPTION) {
        modbus_reply_exception(b->ctx, f, (unsigned)ans.exception);
        return;
    }
    memset(&map, 0, sizeof map);
    map.start_registers = map.start_input_registers = req.addr;
    map.nb_registers = map.nb_input_registers = req.count;
    map.tab_registers = map.tab_input_registers = ans.words;
    modbus_reply(b->ctx, f, (int)len, &map);
}

static void consume(sim_bus_t *b, size_t n)
{
    memmove(b->rx, b->rx + n, b->rx_len - n);
    b->rx_len -= n;
}

/* Answers every complete frame at the front of the buffer.  A frame with a bad CRC throws
 * away everything received: a slave resynchronises on the next silence. */
static void parse(sim_bus_t *b, const sim_serve_t *sv)
{
    while (b->rx_len >= 4) {
        int fl = sim_rtu_frame_len(b->rx, b->rx_len);
        if (fl <= 0 || b->rx_len < (size_t)fl)
            return;
        if (sim_crc16(b->rx, (size_t)fl) != 0) { /* CRC over data and CRC is 0 when valid */
            b->rx_len = 0;
            return;
        }
        answer(b, b->rx, (size_t)fl, sv);
        consume(b, (size_t)fl);
    }
}

void sim_rtu_service(sim_bus_t *b, const struct pollfd *pfd, size_t n, const sim_serve_t *sv)
{
    if (n > 0 && (pfd[0].revents & POLLIN)) {
        ssize_t got;
        if (b->rx_len == sizeof b->rx)
            b->rx_len = 0; /* no frame is this long: noise */
        got = read(b->mfd, b->rx + b->rx_len, sizeof b->rx - b->rx_len);
        if (got > 0) {
            b->rx_len += (size_t)got;
            b->rx_last = sim_mono();
            parse(b, sv);
        }
    }
    /* A reply nobody read for a while was abandoned (a client reads as soon as its reply
     * comes): drop it before a client that opens the line later reads it as its own. */
    if (sim_mono() - b->tx_last > STALE_S) {
        int queued = 0;
        if (ioctl(b->sfd, TIOCINQ, &queued) == 0 && queued > 0)
            tcflush(b->sfd, TCIFLUSH);
    }
    /* After a silence, what is left is one frame of unknown layout, or noise. */
    if (b->rx_len > 0 && sim_rtu_wait_ms(b) == 0) {
        if (b->rx_len >= 4 && sim_crc16(b->rx, b->rx_len) == 0)
            answer(b, b->rx, b->rx_len, sv);
        b->rx_len = 0;
    }
}
