/*
 * usbhid: output power of a USB UPS or PDU through the HID Power Device class (libusb-1.0).
 *
 * Such devices describe their values in a HID report descriptor (usage pages 0x84 Power
 * Device and 0x85 Battery System, "Universal Serial Bus Usage Tables for HID Power Devices"
 * 1.0) and answer GET_REPORT on the control endpoint; many also send input reports on an
 * interrupt IN endpoint when a value changes.  This module parses the descriptor, finds the
 * fields for output power and its companions (by usage path, generic rules plus per-vendor
 * quirk tables, docs/usb-ups.md), and reads them.
 *
 * A UPS is only ever read.  Every transfer this module makes goes through one function that
 * lets through GET_REPORT (bmRequestType 0xA1, bRequest 0x01) for input and feature reports,
 * GET_DESCRIPTOR (bRequest 0x06, standard, device or interface recipient) and interrupt IN;
 * anything else is refused before it reaches libusb (usbhid_request_allowed()).  No
 * SET_REPORT, no SET_IDLE, no shutdown, beeper or test command, no port reset.
 */
#ifndef WA_USBHID_H
#define WA_USBHID_H

#include <stddef.h>
#include <stdint.h>

/* ---- the read-only door ------------------------------------------------------------------- */

/* 1 if a control request with this setup may be sent, else 0.  Allowed: GET_REPORT (0xA1,
 * 0x01) for an input (wValue high byte 1) or feature (3) report; GET_DESCRIPTOR (0x80 or
 * 0x81, 0x06) for a string (type 3, device recipient) or a HID or report descriptor (types
 * 0x21, 0x22, interface recipient). */
int usbhid_request_allowed(uint8_t bm_request_type, uint8_t b_request, uint16_t w_value);

/* 1 if endpoint address ep may be read by an interrupt transfer (an IN endpoint), else 0. */
int usbhid_endpoint_allowed(uint8_t ep);

/* ---- report descriptors --------------------------------------------------------------------- */

#define USBHID_PATH_MAX 8 /* collection levels kept; deeper fields are dropped */

typedef enum { USBHID_INPUT = 1, USBHID_OUTPUT = 2, USBHID_FEATURE = 3 } usbhid_report_type_t;

/* One value in a report, after the descriptor's global and local state has been applied.
 * Usages are 32-bit (page << 16 | id).  path[0..depth-1] are the usages of the enclosing
 * collections from the outermost; inst[i] is the index a collection carries in a
 * vendor-defined collection type (0x80 | n, as MGE/Eaton number their Flows; NUT writes
 * UPS.Flow.[4]), 0 for none. */
typedef struct usbhid_field {
    uint8_t report_id;          /* 0 when the descriptor declares no report IDs */
    uint8_t type;               /* usbhid_report_type_t */
    uint16_t flags;             /* the main item's data bits (bit 0 constant, bit 1 variable) */
    uint32_t bit_offset;        /* from the start of the report data, after the ID byte */
    uint8_t bit_size;           /* 1..32 */
    int32_t logical_min, logical_max;
    int32_t physical_min, physical_max; /* both 0: same as logical */
    uint32_t unit;              /* HID unit code (HID 1.11, 6.2.2.7) */
    int8_t unit_exp;            /* -8..7 from the nibble */
    uint8_t logmax_unsigned;    /* logical max re-read as unsigned (see hidparse.c) */
    uint32_t usage;
    uint32_t path[USBHID_PATH_MAX];
    uint8_t inst[USBHID_PATH_MAX];
    uint8_t depth;
} usbhid_field_t;

typedef struct usbhid_desc usbhid_desc_t;

/* Parses a report descriptor.  Variable fields only (array items carry no measurement).
 * Returns a new descriptor (caller frees with usbhid_desc_free), or NULL with errno EINVAL
 * (malformed: an item running past the end, a pop without push, more than 4096 fields, a
 * report over 1024 bytes) or ENOMEM, and a message naming the byte offset in err.
 * Collections left open at the end are closed silently (real devices do this). */
usbhid_desc_t *usbhid_desc_parse(const uint8_t *buf, size_t len, char *err, size_t errlen);
void usbhid_desc_free(usbhid_desc_t *d);

size_t usbhid_desc_count(const usbhid_desc_t *d);
/* The i-th field (descriptor order), or NULL past the end.  Valid while d lives. */
const usbhid_field_t *usbhid_desc_field(const usbhid_desc_t *d, size_t i);
/* 1 if the descriptor uses report IDs (every report then starts with its ID byte). */
int usbhid_desc_has_ids(const usbhid_desc_t *d);
/* Length in bytes of a report of this type and ID, including the ID byte if IDs are used;
 * 0 if the descriptor has no such report. */
size_t usbhid_report_len(const usbhid_desc_t *d, uint8_t type, uint8_t id);
/* 1 if the first application collection is on usage page 0x84 or 0x85 (a power device). */
int usbhid_desc_is_power(const usbhid_desc_t *d);

/* Writes the field's path in NUT's notation ("UPS.Output.ActivePower", vendor usages as
 * "ffff0010", collection indexes as ".[n]") into buf.  Returns buf. */
char *usbhid_path_format(const usbhid_field_t *f, char *buf, size_t len);

/* Extracts the field's raw value from a report (rep starts with the ID byte when the
 * descriptor uses IDs; rep[0] must then equal the field's report ID).  Sign-extends when
 * logical_min < 0.  0, or -1 with errno EINVAL (wrong ID) or EMSGSIZE (report too short). */
int usbhid_field_raw(const usbhid_field_t *f, const uint8_t *rep, size_t len, int64_t *raw);

/* The value in SI units (W, VA, V, A, %): physical scaling when physical limits are given
 * (HID 1.11, 6.2.2.7), then 10^(unit_exp - bias), where bias is 7 for volt and watt/VA
 * units (the HID unit system is CGS; HID Power Device Usage Tables 1.0, 3.2.3) and 0
 * otherwise.  exp_override (a quirk) replaces unit_exp - bias when != USBHID_NO_EXP.
 * NaN if raw lies outside the logical range (the HID "null" convention). */
#define USBHID_NO_EXP (-128)
double usbhid_field_value(const usbhid_field_t *f, int64_t raw, int exp_override);

/* ---- what is read --------------------------------------------------------------------------- */

typedef enum {
    USBHID_Q_POWER_W,    /* output active power, W */
    USBHID_Q_POWER_VA,   /* output apparent power, VA */
    USBHID_Q_LOAD,       /* output load, % of the rating */
    USBHID_Q_VOLTAGE,    /* output voltage, V */
    USBHID_Q_CURRENT,    /* output current, A */
    USBHID_Q_NOMINAL_VA, /* rated apparent power, VA */
    USBHID_Q_NOMINAL_W,  /* rated active power, W */
    USBHID_Q_COUNT_
} usbhid_qty_t;

const char *usbhid_qty_name(usbhid_qty_t q); /* "power_w", "power_va", "load", ... */

/* One poll.  v[q] is NaN when not known.  A bit (1u << q) in `estimated` means the value was
 * not measured but derived: power_w = load / 100 x nominal_w (and power_va likewise from
 * nominal_va) for devices that only report percent load; `how` then says from what
 * ("load 42.0 % x nominal 900 W (device)").  A bit in `stale` means the value came from an
 * interrupt report older than max_age_s or could not be read this time (v is then NaN). */
typedef struct usbhid_sample {
    double t;                 /* Unix seconds, when the reads finished */
    double v[USBHID_Q_COUNT_];
    unsigned estimated;
    unsigned stale;
    char how[96];
} usbhid_sample_t;

/* ---- binding fields to quantities (map.c, quirks.c) ------------------------------------------ */

/* Where one quantity comes from on a given device. */
typedef struct usbhid_source {
    int field;             /* index into the descriptor's fields, -1 = none */
    int twin;              /* an Input field at the same path as a Feature `field` (its
                              value also arrives by interrupt), -1 = none */
    int exp_override;      /* USBHID_NO_EXP, or the power of ten to use (a quirk) */
    double scale;          /* extra factor (a quirk), 1 normally */
    int32_t lmin, lmax;    /* logical range to use instead of the descriptor's if lmin < lmax */
    const char *quirk;     /* source of the quirk applied, or NULL */
} usbhid_source_t;

typedef struct usbhid_binding {
    uint16_t vid, pid;
    usbhid_source_t q[USBHID_Q_COUNT_];
    int no_interrupt;      /* the vendor uses the interrupt pipe for something else */
    const char *no_interrupt_why;
} usbhid_binding_t;

/* Chooses a field for each quantity for the device vid:pid: vendor rows of the quirk table
 * first, then the generic rules, each in table order; applies exponent, scale and
 * logical-range quirks.  Returns the number of quantities found (0 is not an error). */
int usbhid_bind(const usbhid_desc_t *d, uint16_t vid, uint16_t pid, usbhid_binding_t *b);

/* The reports (type, id) a poll must GET, ascending by ID then type, without duplicates.
 * Returns how many were written to out (at most max).  This order is the order of the
 * GET_REPORT requests usbhid_read() sends (the umockdev tests build recordings from it). */
typedef struct usbhid_report_ref {
    uint8_t type, id;
} usbhid_report_ref_t;
size_t usbhid_plan(const usbhid_desc_t *d, const usbhid_binding_t *b, usbhid_report_ref_t *out,
                   size_t max);

/* A report as received: type, bytes (starting with the ID byte when IDs are used). */
typedef struct usbhid_report {
    uint8_t type;
    const uint8_t *data;
    size_t len;
    int stale;             /* 1: an old copy, values from it are marked stale */
} usbhid_report_t;

/* Ratings from the site configuration; 0 = use the device's. */
typedef struct usbhid_rating {
    double nominal_w, nominal_va;
} usbhid_rating_t;

/* Decodes a sample from the reports given (any order; a missing report leaves its quantities
 * NaN and marks them stale; a missing Feature report is replaced by its Input twin's), then
 * derives estimated power from load when the device has no power field.  rating may be NULL.  Always succeeds; returns the number of known values. */
int usbhid_decode(const usbhid_desc_t *d, const usbhid_binding_t *b, const usbhid_report_t *reps,
                  size_t n, const usbhid_rating_t *rating, usbhid_sample_t *out);

/* ---- quirk tables (quirks.c) ------------------------------------------------------------------- */

typedef enum {
    USBHID_QK_PATH,        /* quantity q is at `path` on this vendor's devices (tried first) */
    USBHID_QK_EXPONENT,    /* quantity q: use 10^arg instead of the descriptor's exponent */
    USBHID_QK_SCALE,       /* quantity q: multiply by arg */
    USBHID_QK_LOGICAL,     /* quantity q: logical range lmin..lmax when the descriptor's range
                              equals that of the field at `path` (a copied range) */
    USBHID_QK_NO_INTERRUPT /* do not read the interrupt pipe */
} usbhid_quirk_kind_t;

typedef struct usbhid_quirk {
    uint16_t vid, pid;     /* pid 0 = every product of the vendor */
    usbhid_quirk_kind_t kind;
    usbhid_qty_t q;
    const char *path;
    double arg;
    int32_t lmin, lmax;
    const char *source;    /* where the quirk is documented */
} usbhid_quirk_t;

/* The built-in table; *n gets its length.  Static, immutable. */
const usbhid_quirk_t *usbhid_quirks(size_t *n);
/* Vendor name for a USB vendor ID in the quirk tables, or NULL. */
const char *usbhid_vendor_name(uint16_t vid);

/* ---- devices (device.c, poll.c) ----------------------------------------------------------------- */

/* What a site-configuration entry says to pick one device.  Every given criterion must
 * match; vid 0, pid 0, "" mean "any".  path is the USB port path as sysfs writes it,
 * "<bus>-<port>[.<port>...]" ("1-1.4"), stable across re-enumeration on the same port. */
typedef struct usbhid_match {
    uint16_t vid, pid;
    char serial[128];
    char path[32];
} usbhid_match_t;

/* Parses "vvvv:pppp" (hex) into m->vid, m->pid.  0, or -1 with errno EINVAL. */
int usbhid_match_parse_id(usbhid_match_t *m, const char *s);

typedef struct usbhid_opts {
    int timeout_ms;        /* per transfer, default 1000 */
    int interval_s;        /* poll interval, used for max_age_s's default; default 60 */
    double max_age_s;      /* interrupt values older than this are stale; default 2 x interval */
    usbhid_rating_t rating;
    int no_interrupt;      /* never read the interrupt pipe */
    int no_hotplug;        /* do not register for libusb hotplug events */
} usbhid_opts_t;

/* One found power device. */
typedef struct usbhid_found {
    uint16_t vid, pid;
    uint8_t bus, addr;
    char path[32];
    char serial[128], manufacturer[128], product[128];
    int iface;
} usbhid_found_t;

/* Lists attached HID power devices matching m (NULL = all).  Opens each candidate to read
 * its report descriptor and strings (read-only).  *out is malloc'ed, caller frees.  Returns
 * the count, or -1 with errno and err. */
int usbhid_list(const usbhid_match_t *m, int timeout_ms, usbhid_found_t **out, char *err,
                size_t errlen);

typedef struct usbhid_dev usbhid_dev_t;

/* A handle on the first device matching m.  The device need not be attached yet: the handle
 * is returned anyway and each usbhid_read() tries to open it.  Copies m and o (o may be
 * NULL).  NULL with errno only if libusb cannot start. */
usbhid_dev_t *usbhid_new(const usbhid_match_t *m, const usbhid_opts_t *o, char *err,
                         size_t errlen);
void usbhid_free(usbhid_dev_t *u);

/* One bounded poll: opens the device if needed (enumerate, match, read descriptors, bind),
 * drains at most 8 pending interrupt reports (20 ms wait each), then sends one GET_REPORT per
 * report in usbhid_plan() order; two timeouts in a row end it.  Worst case about 3 x
 * timeout_ms plus 0.2 s.  Returns 0 with *out filled when at least one value was read (values
 * not read are NaN with their stale bit set); -1 with errno when none was: ENODEV (not
 * attached), ETIMEDOUT, EPIPE (stalled), EIO, EACCES/EBUSY (cannot open or claim), WA_EPROTO
 * (nothing it reports is known).  After ENODEV, EIO or a poll of nothing but timeouts the
 * device is closed and opened again on the next call. */
int usbhid_read(usbhid_dev_t *u, usbhid_sample_t *out, char *err, size_t errlen);

/* Closes the device (the next read re-opens it). */
void usbhid_close(usbhid_dev_t *u);

typedef struct usbhid_info {
    int open;
    usbhid_found_t dev;
    usbhid_binding_t binding;
    char paths[USBHID_Q_COUNT_][96]; /* chosen usage path per quantity, "" if none */
} usbhid_info_t;
/* What the handle is bound to (after a successful open).  0, or -1 with errno ENODEV. */
int usbhid_get_info(const usbhid_dev_t *u, usbhid_info_t *out);

typedef struct usbhid_stats {
    uint64_t polls, ok, get_reports, interrupts, timeouts, stalls, errors;
    uint64_t opens, disconnects, hotplug_events, refused;
} usbhid_stats_t;
void usbhid_get_stats(const usbhid_dev_t *u, usbhid_stats_t *out);

/* ---- energy from power (energy.c) ----------------------------------------------------------------- */

/* A UPS reports power, not energy; energy is integrated here (trapezoid) and every interval
 * that could not be integrated is counted as a gap rather than guessed. */
typedef struct usbhid_energy {
    double wh;            /* integrated so far */
    double wh_estimated;  /* part of wh from estimated power */
    double last_t, last_w;
    int have;
    int last_estimated;
    double max_gap_s;     /* intervals longer than this are gaps */
    uint64_t gaps;
    double gap_s;         /* total time in gaps */
} usbhid_energy_t;

/* start_wh: where to continue from (the stored counter); max_gap_s: e.g. 3 x interval. */
void usbhid_energy_init(usbhid_energy_t *e, double start_wh, double max_gap_s);
/* Adds a power reading at time t (seconds).  w NaN means unknown: the interval up to the next
 * known reading is a gap.  Returns 1 if the interval ending at t was a gap, else 0. */
int usbhid_energy_add(usbhid_energy_t *e, double t, double w, int estimated);

#endif
