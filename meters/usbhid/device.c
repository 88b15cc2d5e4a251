/*
 * Finding, opening and closing devices with libusb.
 *
 * Opening sends nothing a UPS could act on: descriptors come from libusb's cached copies
 * (read by the kernel at enumeration) or through the door as GET_DESCRIPTOR.  Detaching the
 * kernel's usbhid driver is a host-side operation; it is given back on close.
 */
#include "meters/usbhid/usbhid-private.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"

/* Report descriptors longer than this are refused (the largest published UPS descriptor we
 * know of is 1365 bytes, NUT issue #1824). */
#define MAX_REPORT_DESC 4096
/* USB 2.0, 9.6.7: string descriptors are at most 255 bytes. */
#define MAX_STRING_DESC 255
/* USB 2.0, 9.6.7: LANGID 0x0409 (English, United States), used when string 0 is unreadable. */
#define LANGID_EN_US 0x0409

int usbhid_errno(int e)
{
    switch (e) {
    case LIBUSB_ERROR_TIMEOUT: return ETIMEDOUT;
    case LIBUSB_ERROR_PIPE: return EPIPE;
    case LIBUSB_ERROR_NO_DEVICE:
    case LIBUSB_ERROR_NOT_FOUND: return ENODEV;
    case LIBUSB_ERROR_ACCESS: return EACCES;
    case LIBUSB_ERROR_BUSY: return EBUSY;
    case LIBUSB_ERROR_NO_MEM: return ENOMEM;
    case LIBUSB_ERROR_OVERFLOW: return EOVERFLOW;
    case LIBUSB_ERROR_INTERRUPTED: return EINTR;
    case LIBUSB_ERROR_INVALID_PARAM: return EINVAL;
    default: return EIO;
    }
}

void usbhid_dev_path(libusb_device *dev, char *buf, size_t len)
{
    uint8_t ports[8];
    int n = libusb_get_port_numbers(dev, ports, (int)sizeof ports);
    int at = snprintf(buf, len, "%u-", libusb_get_bus_number(dev));
    if (n <= 0) {
        snprintf(buf, len, "%u-0", libusb_get_bus_number(dev));
        return;
    }
    for (int i = 0; i < n && at > 0 && (size_t)at < len; i++) {
        int w = snprintf(buf + at, len - (size_t)at, i ? ".%u" : "%u", ports[i]);
        if (w < 0)
            break;
        at += w;
    }
}

/* The first LANGID of string descriptor 0; 0 if the device did not answer in time (then no
 * string is asked for: a device that times out here would time out three more times). */
static uint16_t langid(libusb_device_handle *h, unsigned timeout_ms)
{
    uint8_t b[4];
    int rc = usbhid_door_control_in(h, USBHID_RT_STD_DEVICE_IN, USBHID_REQ_GET_DESCRIPTOR,
                                    USBHID_DT_STRING << 8, 0, b, sizeof b, timeout_ms);
    if (rc >= 4 && b[1] == USBHID_DT_STRING)
        return (uint16_t)(b[2] | b[3] << 8);
    return rc == LIBUSB_ERROR_TIMEOUT ? 0 : LANGID_EN_US;
}

/* Reads string idx into buf as ASCII ("" on any failure).  Returns 0, or -1 if the device
 * timed out (the caller asks for no more strings). */
static int string_desc(libusb_device_handle *h, uint16_t lang, uint8_t idx, char *buf,
                       size_t len, unsigned timeout_ms)
{
    uint8_t b[MAX_STRING_DESC];
    size_t o = 0;
    if (len)
        buf[0] = '\0';
    if (idx == 0 || len == 0 || lang == 0)
        return 0;
    int rc = usbhid_door_control_in(h, USBHID_RT_STD_DEVICE_IN, USBHID_REQ_GET_DESCRIPTOR,
                                    (uint16_t)(USBHID_DT_STRING << 8 | idx), lang, b, sizeof b,
                                    timeout_ms);
    if (rc < 2 || b[1] != USBHID_DT_STRING)
        return rc == LIBUSB_ERROR_TIMEOUT ? -1 : 0;
    int n = b[0] < rc ? b[0] : rc;
    /* USB 2.0, 9.6.7: UTF-16LE after the two header bytes; keep printable ASCII. */
    for (int i = 2; i + 1 < n && o + 1 < len; i += 2) {
        uint16_t c = (uint16_t)(b[i] | b[i + 1] << 8);
        buf[o++] = c >= 0x20 && c < 0x7F ? (char)c : '?';
    }
    while (o > 0 && buf[o - 1] == ' ')
        o--;
    buf[o] = '\0';
    return 0;
}

/* The first HID interface (class 3, USB HID 1.11 4.1) with a report descriptor: its number,
 * report descriptor length and interrupt IN endpoint.  -1 if there is none. */
static int hid_interface(libusb_device *dev, int *iface, uint16_t *rlen, uint8_t *ep,
                         uint16_t *ep_size)
{
    struct libusb_config_descriptor *cfg;
    int found = -1;
    if (libusb_get_active_config_descriptor(dev, &cfg) != 0 &&
        libusb_get_config_descriptor(dev, 0, &cfg) != 0)
        return -1;
    for (int i = 0; i < cfg->bNumInterfaces && found < 0; i++) {
        const struct libusb_interface *in = &cfg->interface[i];
        if (in->num_altsetting < 1)
            continue;
        const struct libusb_interface_descriptor *alt = &in->altsetting[0];
        if (alt->bInterfaceClass != LIBUSB_CLASS_HID)
            continue;
        /* HID 1.11, 6.2.1: bLength, 0x21, bcdHID, bCountryCode, bNumDescriptors, then
         * (bDescriptorType, wDescriptorLength) pairs. */
        const uint8_t *x = alt->extra;
        int xl = alt->extra_length;
        uint16_t len = 0;
        for (int o = 0; o + 1 < xl && x[o] >= 2 && len == 0; o += x[o]) {
            if (x[o + 1] != USBHID_DT_HID || o + 6 > xl)
                continue;
            int nd = x[o + 5];
            for (int k = 0; k < nd && o + 6 + 3 * k + 2 < xl && o + 6 + 3 * k + 2 < o + x[o];
                 k++) {
                const uint8_t *e = &x[o + 6 + 3 * k];
                if (e[0] == USBHID_DT_REPORT)
                    len = (uint16_t)(e[1] | e[2] << 8);
            }
        }
        if (len == 0)
            continue;
        *iface = alt->bInterfaceNumber;
        *rlen = len;
        *ep = 0;
        *ep_size = 0;
        for (int k = 0; k < alt->bNumEndpoints; k++) {
            const struct libusb_endpoint_descriptor *e = &alt->endpoint[k];
            if ((e->bmAttributes & 0x03) == LIBUSB_TRANSFER_TYPE_INTERRUPT &&
                (e->bEndpointAddress & LIBUSB_ENDPOINT_DIR_MASK) == LIBUSB_ENDPOINT_IN) {
                *ep = e->bEndpointAddress;
                *ep_size = e->wMaxPacketSize;
                break;
            }
        }
        found = 0;
    }
    libusb_free_config_descriptor(cfg);
    return found;
}

int usbhid_conn_open(libusb_device *dev, const usbhid_match_t *m, unsigned timeout_ms,
                     usbhid_conn_t *c, char *err, size_t errlen)
{
    struct libusb_device_descriptor dd;
    uint16_t rlen;
    uint8_t *rd = NULL;
    int rc;
    memset(c, 0, sizeof *c);
    if (libusb_get_device_descriptor(dev, &dd) != 0) {
        errno = EIO;
        return wa_err(err, errlen, "no device descriptor");
    }
    c->info.vid = dd.idVendor;
    c->info.pid = dd.idProduct;
    c->info.bus = libusb_get_bus_number(dev);
    c->info.addr = libusb_get_device_address(dev);
    usbhid_dev_path(dev, c->info.path, sizeof c->info.path);
    if (hid_interface(dev, &c->iface, &rlen, &c->ep_in, &c->ep_in_size) < 0) {
        errno = ENODEV;
        return wa_err(err, errlen, "%04x:%04x at %s: no HID interface", dd.idVendor,
                      dd.idProduct, c->info.path);
    }
    c->info.iface = c->iface;
    if (rlen > MAX_REPORT_DESC) {
        errno = EINVAL;
        return wa_err(err, errlen, "report descriptor of %u bytes", rlen);
    }
    rc = libusb_open(dev, &c->h);
    if (rc != 0) {
        errno = usbhid_errno(rc);
        return wa_err(err, errlen, "%04x:%04x at %s: open: %s", dd.idVendor, dd.idProduct,
                      c->info.path, libusb_strerror(rc));
    }
    if (libusb_kernel_driver_active(c->h, c->iface) == 1) {
        if (libusb_detach_kernel_driver(c->h, c->iface) == 0)
            c->detached = 1;
    }
    rc = libusb_claim_interface(c->h, c->iface);
    if (rc != 0) {
        errno = usbhid_errno(rc);
        wa_err(err, errlen, "%s: claim interface %d: %s", c->info.path, c->iface,
               libusb_strerror(rc));
        goto fail;
    }
    c->claimed = 1;
    rd = malloc(rlen);
    if (!rd) {
        errno = ENOMEM;
        wa_err(err, errlen, "out of memory");
        goto fail;
    }
    rc = usbhid_door_control_in(c->h, USBHID_RT_STD_IFACE_IN, USBHID_REQ_GET_DESCRIPTOR,
                                USBHID_DT_REPORT << 8, (uint16_t)c->iface, rd, rlen, timeout_ms);
    if (rc <= 0) {
        errno = rc < 0 ? usbhid_errno(rc) : EIO;
        wa_err(err, errlen, "%s: report descriptor: %s", c->info.path,
               rc < 0 ? libusb_strerror(rc) : "empty");
        goto fail;
    }
    c->desc = usbhid_desc_parse(rd, (size_t)rc, err, errlen);
    free(rd);
    rd = NULL;
    if (!c->desc)
        goto fail;
    if (!usbhid_desc_is_power(c->desc)) {
        errno = ENODEV;
        wa_err(err, errlen, "%04x:%04x at %s: not a HID power device", dd.idVendor,
               dd.idProduct, c->info.path);
        goto fail;
    }
    uint16_t lang = langid(c->h, timeout_ms);
    if (string_desc(c->h, lang, dd.iSerialNumber, c->info.serial, sizeof c->info.serial,
                    timeout_ms) < 0)
        lang = 0;
    if (string_desc(c->h, lang, dd.iManufacturer, c->info.manufacturer,
                    sizeof c->info.manufacturer, timeout_ms) < 0)
        lang = 0;
    string_desc(c->h, lang, dd.iProduct, c->info.product, sizeof c->info.product, timeout_ms);
    if (m && m->serial[0] && strcmp(m->serial, c->info.serial) != 0) {
        errno = ENODEV;
        wa_err(err, errlen, "%s: serial \"%s\" is not \"%s\"", c->info.path, c->info.serial,
               m->serial);
        goto fail;
    }
    usbhid_bind(c->desc, dd.idVendor, dd.idProduct, &c->binding);
    return 0;
fail:
    free(rd);
    usbhid_conn_close(c);
    return -1;
}

void usbhid_conn_close(usbhid_conn_t *c)
{
    if (!c)
        return;
    if (c->h) {
        if (c->claimed)
            libusb_release_interface(c->h, c->iface);
        if (c->detached)
            libusb_attach_kernel_driver(c->h, c->iface);
        libusb_close(c->h);
    }
    usbhid_desc_free(c->desc);
    c->h = NULL;
    c->desc = NULL;
    c->claimed = c->detached = 0;
}

int usbhid_match_parse_id(usbhid_match_t *m, const char *s)
{
    unsigned v, p;
    int n = 0;
    if (!m || !s || sscanf(s, "%4x:%4x%n", &v, &p, &n) != 2 || s[n] != '\0') {
        errno = EINVAL;
        return -1;
    }
    m->vid = (uint16_t)v;
    m->pid = (uint16_t)p;
    return 0;
}

static int matches_ids(libusb_device *dev, const usbhid_match_t *m)
{
    struct libusb_device_descriptor dd;
    char path[32];
    if (libusb_get_device_descriptor(dev, &dd) != 0)
        return 0;
    if (m && ((m->vid && m->vid != dd.idVendor) || (m->pid && m->pid != dd.idProduct)))
        return 0;
    if (m && m->path[0]) {
        usbhid_dev_path(dev, path, sizeof path);
        if (strcmp(path, m->path) != 0)
            return 0;
    }
    return 1;
}

int usbhid_list(const usbhid_match_t *m, int timeout_ms, usbhid_found_t **out, char *err,
                size_t errlen)
{
    libusb_context *ctx = NULL;
    libusb_device **list = NULL;
    usbhid_found_t *res = NULL;
    int n = 0, rc;
    if (!out) {
        errno = EINVAL;
        return wa_err(err, errlen, "no output");
    }
    *out = NULL;
    rc = libusb_init(&ctx);
    if (rc != 0) {
        errno = usbhid_errno(rc);
        return wa_err(err, errlen, "libusb: %s", libusb_strerror(rc));
    }
    ssize_t cnt = libusb_get_device_list(ctx, &list);
    if (cnt < 0) {
        errno = usbhid_errno((int)cnt);
        wa_err(err, errlen, "libusb device list: %s", libusb_strerror((int)cnt));
        libusb_exit(ctx);
        return -1;
    }
    res = calloc((size_t)cnt + 1, sizeof *res);
    if (!res) {
        errno = ENOMEM;
        wa_err(err, errlen, "out of memory");
        n = -1;
        goto out;
    }
    for (ssize_t i = 0; i < cnt; i++) {
        usbhid_conn_t c;
        char e2[128];
        if (!matches_ids(list[i], m))
            continue;
        if (usbhid_conn_open(list[i], m, timeout_ms > 0 ? (unsigned)timeout_ms : 1000, &c, e2,
                             sizeof e2) < 0)
            continue;
        res[n++] = c.info;
        usbhid_conn_close(&c);
    }
    *out = res;
    res = NULL;
out:
    free(res);
    libusb_free_device_list(list, 1);
    libusb_exit(ctx);
    return n;
}

int usbhid_find_and_open(libusb_context *ctx, const usbhid_match_t *m, unsigned timeout_ms,
                         usbhid_conn_t *c, char *err, size_t errlen)
{
    libusb_device **list = NULL;
    int ret = -1, last = ENODEV;
    char e2[256] = "";
    ssize_t cnt = libusb_get_device_list(ctx, &list);
    if (cnt < 0) {
        errno = usbhid_errno((int)cnt);
        return wa_err(err, errlen, "libusb device list: %s", libusb_strerror((int)cnt));
    }
    for (ssize_t i = 0; i < cnt && ret < 0; i++) {
        int iface;
        uint16_t rlen, eps;
        uint8_t ep;
        if (!matches_ids(list[i], m) || hid_interface(list[i], &iface, &rlen, &ep, &eps) < 0)
            continue;
        if (usbhid_conn_open(list[i], m, timeout_ms, c, e2, sizeof e2) == 0)
            ret = 0;
        else
            last = errno;
    }
    libusb_free_device_list(list, 1);
    if (ret < 0) {
        errno = last;
        if (e2[0])
            wa_err(err, errlen, "%s", e2);
        else
            wa_err(err, errlen, "no matching device attached");
    }
    return ret;
}
