/*
 * Emulated USB HID power devices for umockdev: the device description (.umockdev text) and
 * the traffic to replay (a usbmon pcap, DLT 220), built from a model of the device.
 *
 * umockdev's pcap replay is strictly in order: each transfer the program submits must match
 * the next submission in the capture (type, endpoint, length, setup bytes); a completion
 * without a matching submission is skipped only for standard control requests.  So the
 * capture is written as a script of the transfers the program under test will make.
 */
#ifndef WA_TEST_USBHID_EMU_H
#define WA_TEST_USBHID_EMU_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct emu_dev {
    uint16_t vid, pid, bcd;
    uint8_t bus, addr;
    const char *port;          /* "1" for 1-1, "1.4" for 1-1.4 */
    const char *manufacturer, *product, *serial;
    const uint8_t *rdesc;      /* report descriptor */
    size_t rdesc_len;
    uint8_t ep_in;             /* 0x81; 0 = no interrupt endpoint */
    uint16_t ep_size;          /* wMaxPacketSize of ep_in */
} emu_dev_t;

/* The device, and with_parents its root hub and host controller, as umockdev-record would
 * print them.  Returns a malloc'ed string; syspath (if not NULL) gets the device's sysfs
 * path. */
char *emu_umockdev_text(const emu_dev_t *d, int with_parents, char *syspath,
                        size_t syspath_len);

/* Device and configuration descriptors as the kernel exposes them in sysfs "descriptors". */
size_t emu_descriptors(const emu_dev_t *d, uint8_t *out, size_t max);

typedef struct emu_pcap {
    FILE *f;
    uint8_t bus, addr;
    uint64_t next_id;
    double t;
} emu_pcap_t;

int emu_pcap_open(emu_pcap_t *p, const char *path, uint8_t bus, uint8_t addr);
int emu_pcap_close(emu_pcap_t *p);

/* A control IN transfer with this setup that completes with data (len bytes). */
void emu_ctrl_in(emu_pcap_t *p, uint8_t rt, uint8_t req, uint16_t value, uint16_t index,
                 uint16_t wlength, const uint8_t *data, size_t len);
/* ... that the device stalls (status -EPIPE). */
void emu_ctrl_stall(emu_pcap_t *p, uint8_t rt, uint8_t req, uint16_t value, uint16_t index,
                    uint16_t wlength);
/* ... that the device never answers (submission only: the program times out). */
void emu_ctrl_silent(emu_pcap_t *p, uint8_t rt, uint8_t req, uint16_t value, uint16_t index,
                     uint16_t wlength);
/* An interrupt IN transfer of buffer size buflen that delivers len bytes. */
void emu_intr_in(emu_pcap_t *p, uint8_t ep, uint16_t buflen, const uint8_t *data, size_t len);

/* The open sequence usbhid_conn_open() sends: report descriptor, LANGID, serial,
 * manufacturer, product strings. */
void emu_open_sequence(emu_pcap_t *p, const emu_dev_t *d);
/* A GET_REPORT answered with rep (which starts with its ID when the device uses IDs). */
void emu_get_report(emu_pcap_t *p, uint8_t type, uint8_t id, uint16_t wlength,
                    const uint8_t *rep, size_t len);

#endif
