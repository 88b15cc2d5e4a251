/*
 * scan: finds what answers on a bus with read-only requests (wattaudit scan) and prints
 * ready-to-use config entries.
 */
#ifndef WA_SCAN_H
#define WA_SCAN_H

#include <stdio.h>

#include "meters/profile/profile.h"
#include "siteconf/siteconf.h"

typedef struct scan_opts {
    int first_unit, last_unit; /* default 1..247 */
    int timeout_ms;            /* per request, default 300 */
} scan_opts_t;

/* Probes each unit on bus: the SunSpec "SunS" marker at 0, 40000 and 50000, then every
 * profile's fingerprint register.  Writes one device entry per find to out in the config
 * format.  Returns the number of devices found, or -1 with errno and err. */
int scan_bus(const sc_bus_t *bus, const profile_set_t *ps, const scan_opts_t *o, FILE *out,
             char *err, size_t errlen);

#endif
