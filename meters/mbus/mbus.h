/*
 * mbus: the one door through which wattaudit talks Modbus to a meter.
 *
 * Every request any part of wattaudit sends to a device goes through mbus_read(), and
 * mbus_read() sends only the read function codes listed in mbus_fc_allowed().  A meter is only
 * ever read.  tests/meters/readonly checks both that and that no other source calls a libmodbus
 * write function.
 */
#ifndef WA_MBUS_H
#define WA_MBUS_H

#include <stddef.h>
#include <stdint.h>

#include "siteconf/siteconf.h"

typedef struct mbus mbus_t;

/* 1 if fc is a read function code wattaudit may send (3: holding, 4: input), else 0. */
int mbus_fc_allowed(int fc);

/* A connection to one bus (TCP gateway or serial line); not connected until first use.
 * NULL with errno.  The bus struct must outlive the handle. */
mbus_t *mbus_new(const sc_bus_t *bus, char *err, size_t errlen);
void mbus_free(mbus_t *m);

/* Reads n (1..125) registers with function fc from unit at addr into dst.  Connects if needed.
 * timeout_ms bounds the wait for the reply.  Returns 0, or -1 with errno: WA_EWRITEFC for a
 * function not allowed (nothing is sent), EMBXILADD etc. for a Modbus exception (libmodbus's
 * codes), ETIMEDOUT, or a connection error, after which the connection is closed and re-made
 * on the next call.  err gets "bus <id> unit <u>: <libmodbus text>". */
int mbus_read(mbus_t *m, int unit, int fc, uint16_t addr, uint16_t n, int timeout_ms,
              uint16_t *dst, char *err, size_t errlen);

/* Closes the connection (the next read re-opens it). */
void mbus_close(mbus_t *m);

/* Requests sent and replies received since mbus_new, for status and benchmarks. */
typedef struct mbus_stats {
    uint64_t requests, replies, exceptions, timeouts, reconnects, refused;
} mbus_stats_t;
void mbus_get_stats(const mbus_t *m, mbus_stats_t *out);

#endif
