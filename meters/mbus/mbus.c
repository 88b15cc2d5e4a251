/*
 * The Modbus client door.  This is the only file in wattaudit (besides the simulator's server
 * side) that hands a request to libmodbus, and it only ever calls libmodbus's two register
 * read functions, behind mbus_fc_allowed().  tests/meters/mbus scans the other sources for
 * libmodbus's write calls.
 *
 * A handle belongs to one thread at a time (the collector's bus thread); nothing here locks.
 */
#include "meters/mbus/mbus.h"

#include <errno.h>
#include <modbus.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"

struct mbus {
    const sc_bus_t *bus;
    modbus_t *ctx;
    int connected;
    int ever_connected;
    mbus_stats_t st;
};

/* Modbus Application Protocol V1.1b3, 6.3 and 6.4: 0x03 Read Holding Registers and 0x04 Read
 * Input Registers.  Every other code either writes, or reads something a meter profile never
 * uses; refusing them keeps "only ever read" a property of one line. */
int mbus_fc_allowed(int fc)
{
    return fc == 3 || fc == 4;
}

mbus_t *mbus_new(const sc_bus_t *bus, char *err, size_t errlen)
{
    mbus_t *m;
    char port[16];

    if (!bus) {
        errno = EINVAL;
        wa_err(err, errlen, "mbus_new: no bus");
        return NULL;
    }
    m = calloc(1, sizeof *m);
    if (!m) {
        wa_err(err, errlen, "bus %s: out of memory", bus->id);
        return NULL;
    }
    m->bus = bus;
    if (bus->kind == SC_BUS_TCP) {
        snprintf(port, sizeof port, "%d", bus->port);
        /* _pi: the host may be a name or an IPv6 address, not only dotted IPv4. */
        m->ctx = modbus_new_tcp_pi(bus->host, port);
    } else {
        m->ctx = modbus_new_rtu(bus->device, bus->baud, bus->parity, bus->data_bits,
                                bus->stop_bits);
    }
    if (!m->ctx) {
        int e = errno ? errno : EINVAL;
        wa_err(err, errlen, "bus %s: %s", bus->id, modbus_strerror(e));
        free(m);
        errno = e;
        return NULL;
    }
    return m;
}

void mbus_free(mbus_t *m)
{
    if (!m)
        return;
    mbus_close(m);
    modbus_free(m->ctx);
    free(m);
}

void mbus_close(mbus_t *m)
{
    if (m && m->connected) {
        modbus_close(m->ctx);
        m->connected = 0;
    }
}

static int is_exception(int e)
{
    return e >= EMBXILFUN && e <= EMBXGTAR;
}

/* Errors after which the next reply cannot be trusted to belong to the next request: a late
 * reply to a timed-out TCP request would arrive in place of the following one, and a frame
 * libmodbus could not parse leaves the stream at an unknown position. */
static int desyncs(int e)
{
    return e == ETIMEDOUT || e == EMBBADCRC || e == EMBBADDATA || e == EMBBADEXC ||
           e == EMBUNKEXC || e == EMBMDATA || e == EMBBADSLAVE;
}

static void set_timeout(modbus_t *ctx, int timeout_ms)
{
    uint32_t sec = (uint32_t)(timeout_ms / 1000), usec = (uint32_t)(timeout_ms % 1000) * 1000;
    modbus_set_response_timeout(ctx, sec, usec);
    /* A reply that stops half-way is as dead as one that never starts: bound the wait between
     * bytes by the same budget so that one request never costs more than about twice it. */
    modbus_set_byte_timeout(ctx, sec, usec);
}

static int fail(mbus_t *m, int unit, int e, char *err, size_t errlen)
{
    const char *text = e >= WA_ENOBASE && e < WA_ENOBASE + 1000 ? wa_strerror(e)
                                                                : modbus_strerror(e);
    wa_err(err, errlen, "bus %s unit %d: %s", m->bus->id, unit, text);
    errno = e;
    return -1;
}

int mbus_read(mbus_t *m, int unit, int fc, uint16_t addr, uint16_t n, int timeout_ms,
              uint16_t *dst, char *err, size_t errlen)
{
    int rc, e;

    if (!m || !dst) {
        errno = EINVAL;
        return wa_err(err, errlen, "mbus_read: missing handle or buffer");
    }
    if (!mbus_fc_allowed(fc)) {
        m->st.refused++;
        return fail(m, unit, WA_EWRITEFC, err, errlen);
    }
    /* Modbus Application Protocol V1.1b3, 6.3/6.4: quantity 1..125 (0x7D), and the block must
     * not run past address 0xFFFF. */
    if (n < 1 || n > 125 || (uint32_t)addr + n > 0x10000u || timeout_ms <= 0) {
        errno = EINVAL;
        return wa_err(err, errlen, "bus %s unit %d: bad read of %u registers at %u", m->bus->id,
                      unit, (unsigned)n, (unsigned)addr);
    }
    set_timeout(m->ctx, timeout_ms);
    if (modbus_set_slave(m->ctx, unit) != 0)
        return fail(m, unit, errno, err, errlen);
    if (!m->connected) {
        if (modbus_connect(m->ctx) != 0) {
            e = errno ? errno : ECONNREFUSED;
            modbus_close(m->ctx);
            if (e == ETIMEDOUT || e == EINPROGRESS)
                m->st.timeouts++;
            return fail(m, unit, e, err, errlen);
        }
        if (m->ever_connected)
            m->st.reconnects++;
        m->ever_connected = 1;
        m->connected = 1;
    }
    m->st.requests++;
    errno = 0;
    rc = fc == 3 ? modbus_read_registers(m->ctx, addr, n, dst)
                 : modbus_read_input_registers(m->ctx, addr, n, dst);
    if (rc == n) {
        m->st.replies++;
        return 0;
    }
    e = rc < 0 && errno ? errno : EMBMDATA;
    if (is_exception(e)) {
        m->st.replies++;
        m->st.exceptions++;
        return fail(m, unit, e, err, errlen);
    }
    if (e == ETIMEDOUT)
        m->st.timeouts++;
    if (m->bus->kind == SC_BUS_SERIAL && desyncs(e)) {
        /* A serial line has no connection to lose: drop whatever is left of a late or
         * broken frame so the next reply starts clean. */
        modbus_flush(m->ctx);
    } else {
        mbus_close(m);
    }
    return fail(m, unit, e, err, errlen);
}

void mbus_get_stats(const mbus_t *m, mbus_stats_t *out)
{
    if (!out)
        return;
    if (!m) {
        memset(out, 0, sizeof *out);
        return;
    }
    *out = m->st;
}
