/*
 * collect: polls every configured device and stores its channels (wattaudit collect).
 *
 * One thread per bus: TCP gateways are polled in parallel; devices that share a serial bus are
 * polled strictly one at a time with the bus's inter-frame pause.  Each USB HID power device
 * (a UPS) has a thread of its own and is polled on the real clock, whatever clock the Modbus
 * buses run on.  Each device has its own
 * timeout, retries and back-off, then quarantine (docs/collector.md).  A poll is one bounded
 * pass; failure closes the connection, marks the data stale and retries next cycle.
 * Hosts of a site's inventory with an exporter are scraped for their compute load by a few
 * threads of their own, on the collector's clock, into DATA/<site>/hosts/<host>.rrd.
 */
#ifndef WA_COLLECT_H
#define WA_COLLECT_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "common/common.h"
#include "meters/profile/profile.h"
#include "siteconf/siteconf.h"

typedef struct collect_opts {
    const wa_log_t *log;
    wa_clock_t *clock;          /* NULL = real time; a stepped clock is driven by the collector */
    double until;               /* stop when the clock reaches this (0 = run until stopped) */
    volatile sig_atomic_t *stop; /* set by a signal handler; checked between waits */
    const char *status_file;    /* overrides the config's; NULL = the config's ("" = none) */
} collect_opts_t;

/* Per-device counters, as written to the status file (docs/collector.md). */
typedef struct collect_device_status {
    char site[SC_ID_MAX], bus[SC_ID_MAX], device[SC_ID_MAX];
    int unit;
    uint64_t polls, ok, errors, rejected, resets, requests;
    int quarantined;
    double last_ok, last_error_time;
    char last_error[256];
    /* USB HID power devices (docs/usb-ups.md); 0 for Modbus devices: */
    int usb;                  /* 1: a USB device; unit is 0 and requests are GET_REPORTs */
    int estimated;            /* its power is load x rating (as of the last poll with power) */
    uint64_t gaps, stale;     /* intervals left out of the energy; polls without fresh power */
} collect_device_status_t;

/* Per-host scrape counters (the site's `hosts` with an exporter), as in the status file.  A
 * scrape is one due time of the host: its node_exporter and its DCGM exporter, each if set. */
typedef struct collect_host_status {
    char site[SC_ID_MAX], host[SC_ID_MAX];
    uint64_t scrapes, ok, errors; /* ok: every exporter answered with its metrics */
    double last_ok, last_error_time;
    char last_error[384];          /* "http://10.0.3.7:9100/metrics: ...": the URL first */
    double cpu, gpu, gpu_w, gauge; /* the last sample stored; NaN = unknown */
} collect_host_status_t;

typedef struct collect_result {
    collect_device_status_t *devices; /* caller frees with free() */
    size_t n_devices;
    uint64_t stored;                  /* samples handed to storage (host samples too) */
    uint64_t transactions;            /* Modbus requests sent */
    uint64_t cycles;
    /* In the same allocation as devices (free(devices) frees both); NULL when n_hosts is 0. */
    collect_host_status_t *hosts;
    size_t n_hosts;
} collect_result_t;

/* Runs until *stop, or until the clock reaches `until`.  On return everything read has been
 * flushed to storage.  0, or -1 with errno and err when it could not start (bad profile,
 * storage not writable); device failures never end the run.  res may be NULL. */
int collect_run(const siteconf_t *cfg, const profile_set_t *ps, const collect_opts_t *o,
                collect_result_t *res, char *err, size_t errlen);

/* The checks check-config runs against profiles: every device's profile exists, every
 * channel's source is a channel of it.  0, or -1 with "file:line: what" in err. */
int collect_check(const siteconf_t *cfg, const profile_set_t *ps, char *err, size_t errlen);

#endif
