/*
 * collect internals, shared by the files of this module and its tests; no other module
 * includes this.
 *
 *   plan.c     which registers to read and in which requests (pure functions)
 *   energy.c   the continuous energy counter (pure functions)
 *   device.c   setting up one device: channels, rows, resume from storage
 *   poll.c     one bounded poll of one device
 *   usb.c      USB HID power devices: setup, one poll, energy from power
 *   meta.c     the sidecar that marks a USB channel's power as measured or estimated
 *   hosts.c    compute load: scraping the hosts' exporters into their host files
 *   sched.c    bus threads, real and stepped time
 *   status.c   the status file and the log summary
 *   collect.c  collect_run and collect_check
 */
#ifndef WA_COLLECT_PRIVATE_H
#define WA_COLLECT_PRIVATE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "meters/collect/collect.h"
#include "meters/mbus/mbus.h"
#include "meters/sunspec/sunspec.h"
#include "meters/usbhid/usbhid.h"
#include "storage/storage.h"

/* Modbus Application Protocol V1.1b3, 6.3/6.4: at most 125 registers in one read. */
#define PLAN_MAX_REGS 125

/* ---- the request planner (plan.c) ---------------------------------------------------------- */

/* A register row to read: function, absolute start address and width in registers. */
typedef struct plan_item {
    uint8_t fn;
    uint16_t addr;
    uint8_t words;
} plan_item_t;

/* One read request.  `rejected` and `retry_poll` belong to the device's learned plan: a
 * single-row request the device refused is skipped until poll number retry_poll. */
typedef struct plan_req {
    uint8_t fn;
    uint16_t addr;
    uint16_t n;
    int rejected;
    uint64_t retry_poll;
} plan_req_t;

/* Limit on the span of one request: min(device max_regs or else profile max_regs, 125). */
int plan_limit(int device_max_regs, int profile_max_regs);

/* Groups items by function, sorts them by address and coalesces neighbours into the fewest
 * requests such that no request spans more than max_regs registers and no two consecutive
 * items in it are separated by more than max_gap unread registers.  An item wider than
 * max_regs still gets a request of its own width.  Duplicate and overlapping items are
 * read once.  out must hold n requests; returns the number written (0 for n = 0), or -1 with
 * errno EINVAL (an item of width 0, or running past 0xFFFF) or ENOMEM. */
int plan_build(const plan_item_t *items, size_t n, int max_gap, int max_regs, plan_req_t *out);

/* Splits req between the items it covers: the first half of its distinct item addresses and
 * the rest, each request spanning only its items.  Returns 2 with out[0..1] set, or 0 if req
 * covers a single item (nothing left to split), or -1 with errno ENOMEM. */
int plan_split(const plan_item_t *items, size_t n, const plan_req_t *req, plan_req_t out[2]);

/* 1 if item lies wholly inside req. */
int plan_covers(const plan_req_t *req, const plan_item_t *item);

/* ---- energy continuity (energy.c) ----------------------------------------------------------- */

/* The state behind one channel's continuous `energy`: energy = raw + offset, re-based when the
 * meter's counter goes backwards or jumps further than the channel could draw. */
typedef struct energy_state {
    int have;           /* last_* hold an accepted reading */
    double last_raw;    /* Wh, the meter's register at last_t */
    double last_t;
    double last_energy; /* Wh, continuous, at last_t */
    double offset;      /* energy - raw */
    double last_power;  /* W at last_t, NaN if unknown */
    double max_power;   /* largest |power| seen, W; 0 = none */
    int pending;        /* an implausible reading waits for the next one to confirm it */
    double pend_raw, pend_t;
} energy_state_t;

typedef enum {
    ENERGY_FIRST, /* first reading: energy = raw + offset */
    ENERGY_OK,    /* a plausible step */
    ENERGY_HELD,  /* implausible: held back until the next reading confirms or refutes it */
    ENERGY_RESET, /* confirmed counter reset or meter change: re-based, energy continues */
} energy_event_t;

/* A fresh state; resume with the last stored energy and energy_raw at time t when both are
 * known (else pass NaN), so that a restart continues the series. */
void energy_init(energy_state_t *s, double t, double last_energy, double last_raw);

/* Accepts the meter's counter raw (Wh) read at time t, with the channel's power from the same
 * poll (W, NaN if none) and its rated power (W, 0 = unknown).  *energy gets the continuous
 * value, or NaN when the reading is held. */
energy_event_t energy_update(energy_state_t *s, double t, double raw, double power,
                             double rated_w, double *energy);


/* ---- the sidecar of a USB channel (meta.c; the format is in docs/rrd-layout.md) ---------- */

/* One stretch of a channel's data in one state.  Samples at from <= t < to are in it. */
typedef struct meta_period {
    int64_t from, to;   /* Unix seconds; to = 0 while the period is open */
    int estimated;      /* power = load x rating, not measured */
    char how[96];       /* the method ("load % x nominal 600 W (device)"); "" when measured */
    char device[320];   /* the UPS that gave the data: "EATON 5E 1500i (0463:ffff, serial X)" */
} meta_period_t;

typedef struct meta {
    char path[SC_PATH_MAX + 3 * SC_ID_MAX + 32]; /* DATA_DIR/<site>/<device>/<channel>.meta.json */
    char rel[3 * SC_ID_MAX + 3];
    meta_period_t *p;
    size_t n, cap;
} meta_t;

/* Reads the sidecar at path; a missing file is an empty history.  A file that does not parse
 * as one is moved aside to path.bad and the history starts empty: returns 1 with the reason in
 * err.  0, 1, or -1 with errno and err (the file cannot be read or moved). */
int meta_load(meta_t *m, const char *path, const char *rel, char *err, size_t errlen);
/* The sample stored at t was in this state.  When the state (estimated, how, device) differs
 * from the open period's, that period ends at t, a new one opens at t, and the file is
 * rewritten atomically (temporary file, fsync, rename).  Returns 1 if it wrote, 0 if nothing
 * changed, -1 with errno and err if the write failed (the change is kept in memory and written
 * with the next change). */
int meta_note(meta_t *m, int64_t t, int estimated, const char *how, const char *device,
              char *err, size_t errlen);
/* The open period's state: 1 estimated, 0 measured, -1 none yet. */
int meta_current(const meta_t *m);
void meta_free(meta_t *m);

/* ---- the running collector (device.c, poll.c, usb.c, sched.c, status.c) -------------------- */

typedef struct collector collector_t;
typedef struct cbus cbus_t;
typedef struct hosts hosts_t;

/* What a USB device's thread publishes for the status file. */
typedef struct cusb_status {
    int bound;                /* dev holds the device last bound to (after a first open) */
    int open;                 /* the handle is open now */
    usbhid_found_t dev;
    int power;                /* -1 not known yet, 0 measured, 1 estimated */
    char how[96];             /* the last estimate, with its load ("load 25.0 % x ...") */
    double energy_wh, estimated_wh; /* the integrated counter, and its estimated part (this run) */
    uint64_t gaps, stale;     /* intervals not integrated; polls without a fresh power */
    double gap_s;
    usbhid_stats_t io;
} cusb_status_t;

/* A USB HID power device, owned by its own thread (usb.c). */
typedef struct cusb {
    usbhid_dev_t *u;          /* NULL until libusb starts (retried each poll) */
    usbhid_match_t m;
    usbhid_opts_t o;
    usbhid_energy_t energy;
    meta_t meta;
    uint64_t opens_seen;
    int warned_no_w;
    cusb_status_t work, st;   /* st: the published copy, guarded by bus->mu */
} cusb_t;

/* One register value to read and store: a row of the profile for one recorded channel. */
typedef struct crow {
    const profile_reg_t *reg;
    size_t chan;        /* index into the device's channels */
    storage_ds_t ds;
    size_t item;        /* index into the device's items */
    long sf_item;       /* index of the sunssf item, or -1 */
    int unavailable;    /* the device rejects this row on its own; reported */
} crow_t;

/* One register range the device's rows need, with the words of the current poll. */
typedef struct citem {
    plan_item_t it;
    int have;
    uint16_t w[4];
} citem_t;

typedef struct cchan {
    const char *id;
    double rated_w;
    char rel[3 * SC_ID_MAX + 3]; /* site/device/channel */
    int has_energy;
    energy_state_t energy;
} cchan_t;

typedef struct cdev {
    collector_t *c;
    cbus_t *bus;
    const sc_site_t *site;
    const sc_device_t *cfg;
    const profile_t *prof;
    char label[3 * SC_ID_MAX + 48]; /* "site S bus B unit U (device D)" for messages */
    int max_regs;
    cchan_t *chans;
    size_t n_chans;
    crow_t *rows;
    size_t n_rows;
    citem_t *items;
    size_t n_items;
    plan_req_t *plan;
    size_t n_plan, cap_plan;
    int planned;
    int base_known;     /* SunSpec: model_addr found */
    uint16_t model_addr;
    double next_due;
    int fails;          /* consecutive failed polls */
    double q_backoff;   /* seconds, while quarantined */
    int was_failing;    /* the last poll failed (for logging changes only) */
    collect_device_status_t work; /* the bus thread's counters */
    collect_device_status_t st;   /* their published copy, guarded by bus->mu */
    cusb_t *usb;        /* a USB HID power device (no profile, rows or plan), else NULL */
} cdev_t;

struct cbus {
    collector_t *c;
    const sc_site_t *site;
    const sc_bus_t *cfg;
    int usb;                 /* one USB device with a thread of its own, on the real clock */
    mbus_t *mb;              /* Modbus buses only */
    cdev_t **devs;
    size_t n_devs;
    pthread_t th;
    int started;
    pthread_mutex_t mu;      /* guards the devices' st */
    double last_req_mono;    /* when the last request on this bus ended (CLOCK_MONOTONIC) */
    double next_due;         /* stepped mode: the earliest due time after a cycle */
    uint64_t polled_cycles;  /* rounds in which this bus polled something */
};

struct collector {
    const siteconf_t *cfg;
    const profile_set_t *ps;
    const collect_opts_t *o;
    const wa_log_t *log;
    wa_clock_t *clock;       /* NULL = real time */
    storage_t *st;
    hosts_t *hosts;          /* the hosts with an exporter (hosts.c); never NULL once set up */
    const char *status_file; /* "" = none */
    cdev_t *devs;
    size_t n_devs;
    cbus_t *buses;
    size_t n_buses;
    size_t n_stepped;        /* buses that take part in stepped cycles (not USB ones) */
    atomic_int quit;
    atomic_ullong stored;
    double started_real;
    double last_flush;       /* CLOCK_MONOTONIC of the last periodic storage flush */
    uint64_t cycles;
    /* stepped mode: the barrier between the driver and the bus threads */
    pthread_mutex_t mu;
    pthread_cond_t go, done;
    /* real time: sleepers wait on wake (CLOCK_MONOTONIC), broadcast when quit is set */
    pthread_mutex_t wake_mu;
    pthread_cond_t wake;
    uint64_t cycle;
    double cycle_t;
    size_t n_done;
};

/* Seconds on CLOCK_MONOTONIC, for pacing and real-time intervals. */
double collect_mono(void);
/* The collector's clock (the stepped or shared clock, else real time). */
double collect_now(const collector_t *c);

/* device.c: builds dev for cfg on its bus (channels, rows, items; no I/O); resumes energy
 * state from storage when st is given.  0, or -1 with errno and "file:line: what" in err. */
int device_setup(collector_t *c, cdev_t *dev, cbus_t *bus, const sc_site_t *site,
                 const sc_device_t *cfg, char *err, size_t errlen);
/* Resolves addresses (after SunSpec discovery) and plans the reads.  0, or -1 with err. */
int device_build_plan(cdev_t *dev, char *err, size_t errlen);
/* Creates the device's channel files and resumes its energy counters from them. */
int device_open_storage(cdev_t *dev, int64_t start, char *err, size_t errlen);
void device_free(cdev_t *dev);
/* The DS a quantity is stored in, or -1 for one that is not stored (exported energy). */
int device_quantity_ds(profile_quantity_t q);

/* poll.c: one poll of dev at clock time t; stores what it read.  Updates counters,
 * quarantine and dev->next_due.  Returns 1 if the device was polled, 0 if skipped. */
int poll_device(cdev_t *dev, double t);
/* The first due time at or after t for a device with this interval (aligned to it). */
double poll_align(double t, int interval_s);

/* usb.c: the USB side of device_setup (the match and options; libusb starts here), of
 * device_open_storage (files, energy and sidecar resumed), of device_free; one poll at real
 * time t (stores, integrates, updates the sidecar and the counters; sets next_due). */
int usb_setup(cdev_t *dev, char *err, size_t errlen);
int usb_open_storage(cdev_t *dev, int64_t start, char *err, size_t errlen);
int usb_poll(cdev_t *dev, double t);
void usb_free(cdev_t *dev);
/* Copies the device's USB status under its bus lock. */
void usb_snapshot(cdev_t *dev, cusb_status_t *out);

/* hosts.c: every host of the config with an exporter, scraped by worker threads of its own.
 * hosts_new builds the list (no I/O; NULL with errno ENOMEM and err).  hosts_open_storage
 * creates the host files and sets the first due times from t0, as collect_run does for the
 * devices.  hosts_start starts the workers (0, or -1 with err); in real time they scrape on
 * their own, in stepped time only inside hosts_cycle, which scrapes every host due at t in
 * parallel and returns when all are done.  hosts_stop joins the workers once c->quit is set.
 * The counters are published under the hosts' own lock. */
hosts_t *hosts_new(collector_t *c, char *err, size_t errlen);
int hosts_open_storage(hosts_t *h, double t0, char *err, size_t errlen);
int hosts_start(hosts_t *h, int stepped, char *err, size_t errlen);
/* Returns the earliest next due time of any host after the cycle (INFINITY: none). */
double hosts_cycle(hosts_t *h, double t);
double hosts_next_due(hosts_t *h);
void hosts_stop(hosts_t *h);
void hosts_free(hosts_t *h);
size_t hosts_count(const hosts_t *h);
/* Copies host i's counters; its exporter URLs and interval into the optional cfg. */
void hosts_snapshot(hosts_t *h, size_t i, collect_host_status_t *out, const sc_host_t **cfg);

/* sched.c */
int sched_run(collector_t *c, char *err, size_t errlen);
/* Sleeps until clock (NULL: real time) reaches t or c->quit is set (the stop wakes it). */
void sched_wait_until(collector_t *c, const wa_clock_t *clock, double t);

/* status.c: writes the status file atomically (no-op for ""); logs per-device summaries. */
int status_write(collector_t *c, char *err, size_t errlen);
void status_log_summary(collector_t *c, wa_log_level_t level);
/* Copies one device's counters under its bus lock. */
void status_snapshot(cdev_t *dev, collect_device_status_t *out);

#endif
