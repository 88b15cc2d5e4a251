/*
 * Emulated USB HID power devices for umockdev (see emu.h).
 *
 * The pcap format is libpcap's (file header 24 bytes, record header 16 bytes), link type 220
 * LINKTYPE_USB_LINUX_MMAPPED; each record is the kernel's 64-byte struct usbmon_packet
 * (Documentation/usb/usbmon.rst, "binary interface") followed by the captured data.
 */
#include "emu.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* libpcap file format: magic, version 2.4, link type 220 (USB_LINUX_MMAPPED). */
#define PCAP_MAGIC 0xa1b2c3d4u
#define LINKTYPE_USB_LINUX_MMAPPED 220
#define USBMON_HDR 64
/* usbmon transfer types (usbmon.rst): 1 interrupt, 2 control. */
#define XFER_INTR 1
#define XFER_CTRL 2
#define EPIPE_STATUS (-32)
#define EINPROGRESS_STATUS (-115)

static void put16(uint8_t *b, uint16_t v)
{
    b[0] = (uint8_t)v;
    b[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *b, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        b[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *b, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(v >> (8 * i));
}

size_t emu_descriptors(const emu_dev_t *d, uint8_t *o, size_t max)
{
    size_t n = 0;
    int have_ep = d->ep_in != 0;
    uint16_t total = (uint16_t)(9 + 9 + 9 + (have_ep ? 7 : 0));
    if (max < 18u + total)
        return 0;
    /* USB 2.0, 9.6.1 device descriptor. */
    uint8_t dev[18] = {18, 1, 0x00, 0x02, 0, 0, 0, 64};
    put16(&dev[8], d->vid);
    put16(&dev[10], d->pid);
    put16(&dev[12], d->bcd);
    dev[14] = d->manufacturer ? 1 : 0;
    dev[15] = d->product ? 2 : 0;
    dev[16] = d->serial ? 3 : 0;
    dev[17] = 1;
    memcpy(o, dev, 18);
    n = 18;
    /* 9.6.3 configuration, 9.6.5 interface (class 3), HID 1.11 6.2.1 HID, 9.6.6 endpoint. */
    uint8_t cfg[9] = {9, 2, 0, 0, 1, 1, 0, 0xC0, 1};
    put16(&cfg[2], total);
    memcpy(o + n, cfg, 9);
    n += 9;
    uint8_t itf[9] = {9, 4, 0, 0, (uint8_t)(have_ep ? 1 : 0), 3, 0, 0, 0};
    memcpy(o + n, itf, 9);
    n += 9;
    uint8_t hid[9] = {9, 0x21, 0x11, 0x01, 0, 1, 0x22, 0, 0};
    put16(&hid[7], (uint16_t)d->rdesc_len);
    memcpy(o + n, hid, 9);
    n += 9;
    if (have_ep) {
        uint8_t ep[7] = {7, 5, d->ep_in, 3, 0, 0, 10};
        put16(&ep[4], d->ep_size);
        memcpy(o + n, ep, 7);
        n += 7;
    }
    return n;
}

static void hex(char *dst, const uint8_t *b, size_t n)
{
    static const char x[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        dst[2 * i] = x[b[i] >> 4];
        dst[2 * i + 1] = x[b[i] & 15];
    }
    dst[2 * n] = '\0';
}

char *emu_umockdev_text(const emu_dev_t *d, int with_parents, char *syspath, size_t syspath_len)
{
    uint8_t desc[128];
    char dh[260];
    /* The root hub: a Linux 2.0 root hub (1d6b:0002), class 9, as in umockdev's own
     * devices/input/usbkbd.pcap.umockdev; it has no HID interface and is skipped. */
    static const uint8_t hub[] = {0x12, 0x01, 0x00, 0x02, 0x09, 0x00, 0x01, 0x40, 0x6b, 0x1d,
                                  0x02, 0x00, 0x12, 0x05, 0x03, 0x02, 0x01, 0x01, 0x09, 0x02,
                                  0x19, 0x00, 0x01, 0x01, 0x00, 0xe0, 0x00, 0x09, 0x04, 0x00,
                                  0x00, 0x01, 0x09, 0x00, 0x00, 0x00, 0x07, 0x05, 0x81, 0x03,
                                  0x04, 0x00, 0x0c};
    char hh[sizeof hub * 2 + 1];
    size_t n = emu_descriptors(d, desc, sizeof desc);
    size_t cap = 8192;
    char *s = malloc(cap);
    if (!s || n == 0) {
        free(s);
        return NULL;
    }
    hex(dh, desc, n);
    hex(hh, hub, sizeof hub);
    char name[32];
    snprintf(name, sizeof name, "%u-%s", d->bus, d->port);
    if (syspath)
        snprintf(syspath, syspath_len, "/sys/devices/pci0000:00/0000:00:14.0/usb%u/%s", d->bus,
                 name);
    int w = snprintf(
        s, cap,
        "P: /devices/pci0000:00/0000:00:14.0/usb%u/%s\n"
        "N: bus/usb/%03u/%03u=%s\n"
        "E: DEVNAME=/dev/bus/usb/%03u/%03u\nE: DEVTYPE=usb_device\nE: DRIVER=usb\n"
        "E: PRODUCT=%x/%x/%x\nE: TYPE=0/0/0\nE: BUSNUM=%03u\nE: DEVNUM=%03u\n"
        "E: MAJOR=189\nE: MINOR=%u\nE: SUBSYSTEM=usb\n"
        "A: authorized=1\nA: bConfigurationValue=1\nA: bDeviceClass=00\nA: bMaxPacketSize0=64\n"
        "A: bNumConfigurations=1\nA: bNumInterfaces= 1\nA: bcdDevice=%04x\nA: busnum=%u\n"
        "H: descriptors=%s\nA: dev=189:%u\nA: devnum=%u\nA: devpath=%s\n"
        "A: idProduct=%04x\nA: idVendor=%04x\nA: manufacturer=%s\nA: product=%s\n"
        "A: serial=%s\nA: speed=12\nA: version= 2.00\n\n%s"
        "P: /devices/pci0000:00/0000:00:14.0/usb%u\n"
        "N: bus/usb/%03u/001=%s\n"
        "E: DEVNAME=/dev/bus/usb/%03u/001\nE: DEVTYPE=usb_device\nE: DRIVER=usb\n"
        "E: PRODUCT=1d6b/2/512\nE: TYPE=9/0/1\nE: BUSNUM=%03u\nE: DEVNUM=001\nE: MAJOR=189\n"
        "E: MINOR=%u\nE: SUBSYSTEM=usb\n"
        "A: authorized=1\nA: bConfigurationValue=1\nA: bDeviceClass=09\nA: bMaxPacketSize0=64\n"
        "A: bNumConfigurations=1\nA: bNumInterfaces= 1\nA: busnum=%u\nH: descriptors=%s\n"
        "A: dev=189:%u\nA: devnum=1\nA: devpath=0\nA: idProduct=0002\nA: idVendor=1d6b\n"
        "A: maxchild=12\nA: speed=480\nA: version= 2.00\n\n"
        "P: /devices/pci0000:00/0000:00:14.0\nE: DRIVER=xhci_hcd\nE: SUBSYSTEM=pci\n"
        "A: class=0x0c0330\nA: vendor=0x8086\nA: device=0x9ded\n",
        d->bus, name, d->bus, d->addr, dh, d->bus, d->addr, d->vid, d->pid, d->bcd, d->bus,
        d->addr, (unsigned)((d->bus - 1) * 128 + d->addr - 1), d->bcd, d->bus, dh,
        (unsigned)((d->bus - 1) * 128 + d->addr - 1), d->addr, d->port, d->pid, d->vid,
        d->manufacturer ? d->manufacturer : "", d->product ? d->product : "",
        d->serial ? d->serial : "", with_parents ? "" : "\x01", d->bus, d->bus, hh, d->bus, d->bus,
        (unsigned)((d->bus - 1) * 128), d->bus, hh, (unsigned)((d->bus - 1) * 128));
    if (w < 0 || (size_t)w >= cap) {
        free(s);
        return NULL;
    }
    /* Without parents: cut at the marker placed after the device's own block. */
    char *cut = strchr(s, '\x01');
    if (cut)
        *cut = '\0';
    return s;
}

int emu_pcap_open(emu_pcap_t *p, const char *path, uint8_t bus, uint8_t addr)
{
    uint8_t h[24];
    memset(p, 0, sizeof *p);
    p->f = fopen(path, "wb");
    if (!p->f)
        return -1;
    p->bus = bus;
    p->addr = addr;
    p->next_id = 0xffff888000001000ull;
    p->t = 1700000000.0;
    put32(h, PCAP_MAGIC);
    put16(h + 4, 2);
    put16(h + 6, 4);
    put32(h + 8, 0);
    put32(h + 12, 0);
    put32(h + 16, 65535);
    put32(h + 20, LINKTYPE_USB_LINUX_MMAPPED);
    return fwrite(h, sizeof h, 1, p->f) == 1 ? 0 : -1;
}

int emu_pcap_close(emu_pcap_t *p)
{
    int rc = p->f ? fclose(p->f) : 0;
    p->f = NULL;
    return rc;
}

/* One usbmon record.  setup may be NULL (flag_setup '-'). */
static void record(emu_pcap_t *p, uint64_t id, char ev, uint8_t xfer, uint8_t ep,
                   const uint8_t *setup, int32_t status, uint32_t urb_len, const uint8_t *data,
                   uint32_t data_len)
{
    uint8_t r[16 + USBMON_HDR];
    memset(r, 0, sizeof r);
    p->t += 0.001;
    uint32_t sec = (uint32_t)p->t, usec = (uint32_t)((p->t - sec) * 1e6);
    put32(r, sec);
    put32(r + 4, usec);
    put32(r + 8, USBMON_HDR + data_len);
    put32(r + 12, USBMON_HDR + data_len);
    uint8_t *m = r + 16;
    put64(m, id);
    m[8] = (uint8_t)ev;
    m[9] = xfer;
    m[10] = ep;
    m[11] = p->addr;
    put16(m + 12, p->bus);
    m[14] = setup ? 0 : '-';
    m[15] = data_len ? 0 : (ev == 'S' ? '<' : '>');
    put64(m + 16, sec);
    put32(m + 24, usec);
    put32(m + 28, (uint32_t)status);
    put32(m + 32, urb_len);
    put32(m + 36, data_len);
    if (setup)
        memcpy(m + 40, setup, 8);
    fwrite(r, sizeof r, 1, p->f);
    if (data_len)
        fwrite(data, data_len, 1, p->f);
}

static void setup8(uint8_t s[8], uint8_t rt, uint8_t req, uint16_t value, uint16_t index,
                   uint16_t wlength)
{
    s[0] = rt;
    s[1] = req;
    put16(s + 2, value);
    put16(s + 4, index);
    put16(s + 6, wlength);
}

void emu_ctrl_in(emu_pcap_t *p, uint8_t rt, uint8_t req, uint16_t value, uint16_t index,
                 uint16_t wlength, const uint8_t *data, size_t len)
{
    uint8_t s[8];
    uint64_t id = p->next_id++;
    setup8(s, rt, req, value, index, wlength);
    if (len > wlength)
        len = wlength;
    record(p, id, 'S', XFER_CTRL, 0x80, s, EINPROGRESS_STATUS, wlength, NULL, 0);
    record(p, id, 'C', XFER_CTRL, 0x80, NULL, 0, (uint32_t)len, data, (uint32_t)len);
}

void emu_ctrl_stall(emu_pcap_t *p, uint8_t rt, uint8_t req, uint16_t value, uint16_t index,
                    uint16_t wlength)
{
    uint8_t s[8];
    uint64_t id = p->next_id++;
    setup8(s, rt, req, value, index, wlength);
    record(p, id, 'S', XFER_CTRL, 0x80, s, EINPROGRESS_STATUS, wlength, NULL, 0);
    record(p, id, 'C', XFER_CTRL, 0x80, NULL, EPIPE_STATUS, 0, NULL, 0);
}

void emu_ctrl_silent(emu_pcap_t *p, uint8_t rt, uint8_t req, uint16_t value, uint16_t index,
                     uint16_t wlength)
{
    uint8_t s[8];
    setup8(s, rt, req, value, index, wlength);
    record(p, p->next_id++, 'S', XFER_CTRL, 0x80, s, EINPROGRESS_STATUS, wlength, NULL, 0);
}

void emu_intr_in(emu_pcap_t *p, uint8_t ep, uint16_t buflen, const uint8_t *data, size_t len)
{
    uint64_t id = p->next_id++;
    record(p, id, 'S', XFER_INTR, ep, NULL, EINPROGRESS_STATUS, buflen, NULL, 0);
    record(p, id, 'C', XFER_INTR, ep, NULL, 0, (uint32_t)len, data, (uint32_t)len);
}

static void string_reply(emu_pcap_t *p, uint8_t idx, uint16_t lang, const char *s)
{
    uint8_t b[255];
    size_t n = 2;
    for (size_t i = 0; s[i] && n + 2 <= sizeof b; i++) {
        b[n++] = (uint8_t)s[i];
        b[n++] = 0;
    }
    b[0] = (uint8_t)n;
    b[1] = 3;
    emu_ctrl_in(p, 0x80, 0x06, (uint16_t)(0x0300 | idx), lang, 255, b, n);
}

void emu_open_sequence(emu_pcap_t *p, const emu_dev_t *d)
{
    static const uint8_t lang[4] = {4, 3, 0x09, 0x04};
    emu_ctrl_in(p, 0x81, 0x06, 0x2200, 0, (uint16_t)d->rdesc_len, d->rdesc, d->rdesc_len);
    emu_ctrl_in(p, 0x80, 0x06, 0x0300, 0, 4, lang, sizeof lang);
    if (d->serial)
        string_reply(p, 3, 0x0409, d->serial);
    if (d->manufacturer)
        string_reply(p, 1, 0x0409, d->manufacturer);
    if (d->product)
        string_reply(p, 2, 0x0409, d->product);
}

void emu_get_report(emu_pcap_t *p, uint8_t type, uint8_t id, uint16_t wlength,
                    const uint8_t *rep, size_t len)
{
    emu_ctrl_in(p, 0xA1, 0x01, (uint16_t)(type << 8 | id), 0, wlength, rep, len);
}
