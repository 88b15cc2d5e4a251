/*
 * usbhid internals, shared by the files of this module and its tests; no other module
 * includes this.
 *
 *   hidparse.c  report descriptor items into fields (pure)
 *   value.c     raw bits and physical values of a field (pure)
 *   names.c     usage names and usage paths in NUT's notation (pure)
 *   map.c       generic rules: which field is which quantity; decoding a sample (pure)
 *   quirks.c    per-vendor quirk tables (data)
 *   door.c      the one place that sends anything to a device (read-only)
 *   device.c    finding, opening and closing devices with libusb
 *   poll.c      one bounded poll; re-open, stale data, hotplug
 *   energy.c    energy from power, with gaps
 */
#ifndef WA_USBHID_PRIVATE_H
#define WA_USBHID_PRIVATE_H

#include <libusb.h>
#include <stddef.h>
#include <stdint.h>

#include "meters/usbhid/usbhid.h"

/* Usage pages and usages, "Universal Serial Bus Usage Tables for HID Power Devices" 1.0,
 * sections 4.1 (page 0x84) and 4.2 (page 0x85). */
#define USBHID_PAGE_POWER 0x84u
#define USBHID_PAGE_BATTERY 0x85u
#define USBHID_U(page, id) (((uint32_t)(page) << 16) | (uint32_t)(id))

/* HID 1.11, 7.2.1 (GET_REPORT) and USB 2.0, 9.4 (GET_DESCRIPTOR); descriptor types from HID
 * 1.11, 7.1 (0x21 HID, 0x22 report) and USB 2.0 table 9-5 (3 string). */
#define USBHID_REQ_GET_REPORT 0x01
#define USBHID_REQ_GET_DESCRIPTOR 0x06
#define USBHID_RT_CLASS_IFACE_IN 0xA1
#define USBHID_RT_STD_DEVICE_IN 0x80
#define USBHID_RT_STD_IFACE_IN 0x81
#define USBHID_DT_STRING 0x03
#define USBHID_DT_HID 0x21
#define USBHID_DT_REPORT 0x22

/* HID unit codes for the SI-linear system, HID Power Device Usage Tables 1.0, 3.2.3 (and HID
 * 1.11, 6.2.2.7): volt = kg m^2 s^-3 A^-1 and watt = kg m^2 s^-3, expressed in CGS, carry
 * an exponent of 7 that a device states along with its own power of ten. */
#define USBHID_UNIT_VOLT 0x00F0D121u
#define USBHID_UNIT_WATT 0x0000D121u
#define USBHID_UNIT_AMPERE 0x00100001u
#define USBHID_UNIT_CGS_BIAS 7

/* ---- names.c ------------------------------------------------------------------------------- */

/* NUT's name for a usage ("ActivePower"), or NULL for unnamed ones. */
const char *usbhid_usage_name(uint32_t usage);
/* The usage for a name, or 0.  Also accepts 8 hex digits ("ffff0010"). */
uint32_t usbhid_usage_parse(const char *name);

/* A usage path pattern parsed from NUT's notation, e.g. "UPS.Flow.[4].ConfigApparentPower":
 * collection usages, the index each must carry (0 = any), and the leaf usage. */
typedef struct usbhid_pattern {
    uint32_t path[USBHID_PATH_MAX];
    uint8_t inst[USBHID_PATH_MAX];
    uint8_t depth;
    uint32_t usage;
} usbhid_pattern_t;

/* 0, or -1 with errno EINVAL for an unknown name or a malformed path. */
int usbhid_pattern_parse(const char *s, usbhid_pattern_t *p);
/* 1 if field f is at pattern p exactly (same depth, same usages, instances where given). */
int usbhid_pattern_match(const usbhid_pattern_t *p, const usbhid_field_t *f);

/* ---- map.c ----------------------------------------------------------------------------------- */

/* A generic rule: quantity q may be found at path (in priority order within q). */
typedef struct usbhid_rule {
    usbhid_qty_t q;
    const char *path;
} usbhid_rule_t;
const usbhid_rule_t *usbhid_rules(size_t *n);

/* ---- door.c ---------------------------------------------------------------------------------- */

/* The only functions that transfer anything.  They check usbhid_request_allowed() /
 * usbhid_endpoint_allowed() first and return LIBUSB_ERROR_ACCESS without sending when the
 * check fails (the caller counts it as refused).  Otherwise libusb's return value. */
int usbhid_door_control_in(libusb_device_handle *h, uint8_t bm_request_type, uint8_t b_request,
                           uint16_t w_value, uint16_t w_index, uint8_t *buf, uint16_t len,
                           unsigned timeout_ms);
int usbhid_door_interrupt_in(libusb_device_handle *h, uint8_t ep, uint8_t *buf, int len,
                             int *got, unsigned timeout_ms);

/* ---- device.c -------------------------------------------------------------------------------- */

/* An opened device: handle, claimed interface, descriptor, binding. */
typedef struct usbhid_conn {
    libusb_device_handle *h;
    usbhid_found_t info;
    int iface;
    int claimed;
    int detached;          /* we detached the kernel's usbhid driver and give it back on close */
    uint8_t ep_in;         /* interrupt IN endpoint, 0 = none */
    uint16_t ep_in_size;
    usbhid_desc_t *desc;
    usbhid_binding_t binding;
} usbhid_conn_t;

/* libusb's path string for dev ("1-1.4"). */
void usbhid_dev_path(libusb_device *dev, char *buf, size_t len);
/* Finds the HID interface of dev with a power-device report descriptor, opens and claims it,
 * reads the report descriptor and binds.  0, or -1 with errno (ENODEV: not a power device or
 * vanished; EACCES; EBUSY; EIO) and err.  On failure c holds nothing to free. */
int usbhid_conn_open(libusb_device *dev, const usbhid_match_t *m, unsigned timeout_ms,
                     usbhid_conn_t *c, char *err, size_t errlen);
void usbhid_conn_close(usbhid_conn_t *c);
/* Opens the first attached device that matches m (usbhid_conn_open on each candidate).
 * 0, or -1 with errno (ENODEV when none matches) and the last candidate's error in err. */
int usbhid_find_and_open(libusb_context *ctx, const usbhid_match_t *m, unsigned timeout_ms,
                         usbhid_conn_t *c, char *err, size_t errlen);
/* Maps a libusb error to an errno value. */
int usbhid_errno(int libusb_err);

#endif
