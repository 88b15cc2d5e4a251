/*
 * Report descriptor items into fields (HID 1.11, 6.2.2 "Report Descriptor").
 *
 * The descriptor comes from a device we do not control, so every length is checked, every
 * table is bounded, and the parser always moves forward.  Only variable fields are kept:
 * array fields (selectors) carry no measurement of a power device.
 */
#include "meters/usbhid/usbhid-private.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"

/* Bounds on what we accept.  A real UPS descriptor holds a few hundred fields (the 1365-byte
 * PowerWalker descriptor in NUT issue #1824 is among the largest published); reports are at
 * most 64 bytes on full-speed interrupt endpoints (USB 2.0, 5.7.3) and rarely longer as
 * features.  Anything beyond these limits is treated as hostile. */
#define MAX_FIELDS 4096
#define MAX_REPORT_BYTES 1024
#define MAX_USAGES 256    /* locals before one main item, ranges expanded */
#define MAX_STACK 8       /* Push depth */
#define MAX_DEPTH 32      /* collection nesting we track (paths keep USBHID_PATH_MAX) */

/* HID 1.11, 6.2.2.2: short item prefix; 0xFE introduces a long item (6.2.2.3). */
#define ITEM_LONG 0xFE
enum { TYPE_MAIN = 0, TYPE_GLOBAL = 1, TYPE_LOCAL = 2 };
/* HID 1.11, 6.2.2.4 (main), 6.2.2.7 (global), 6.2.2.8 (local) item tags. */
enum { MAIN_INPUT = 0x8, MAIN_OUTPUT = 0x9, MAIN_COLLECTION = 0xA, MAIN_FEATURE = 0xB,
       MAIN_END = 0xC };
enum { G_PAGE = 0x0, G_LMIN = 0x1, G_LMAX = 0x2, G_PMIN = 0x3, G_PMAX = 0x4, G_UEXP = 0x5,
       G_UNIT = 0x6, G_RSIZE = 0x7, G_RID = 0x8, G_RCOUNT = 0x9, G_PUSH = 0xA, G_POP = 0xB };
enum { L_USAGE = 0x0, L_UMIN = 0x1, L_UMAX = 0x2 };

typedef struct globals {
    uint16_t page;
    int32_t lmin, lmax;
    uint32_t lmax_uraw;   /* the logical maximum's bytes read unsigned */
    int32_t pmin, pmax;
    uint32_t unit;
    int8_t uexp;
    uint32_t rsize, rcount;
    uint8_t rid;
} globals_t;

typedef struct level {
    uint32_t usage;
    uint8_t inst;
} level_t;

struct usbhid_desc {
    usbhid_field_t *f;
    size_t n, cap;
    int has_ids;
    uint32_t first_app_usage;   /* usage of the first application collection */
    uint32_t bits[3][256];      /* length so far of each report, by type and ID */
};

typedef struct parser {
    usbhid_desc_t *d;
    globals_t g;
    globals_t stack[MAX_STACK];
    int sp;
    uint32_t usages[MAX_USAGES];
    size_t n_usages;
    int have_umin;
    uint32_t umin;
    level_t lv[MAX_DEPTH + 1];  /* lv[1..depth] are the open collections */
    int depth;
} parser_t;

static int32_t sign_extend(uint32_t v, int bytes)
{
    switch (bytes) {
    case 1: return (int32_t)(int8_t)(uint8_t)v;
    case 2: return (int32_t)(int16_t)(uint16_t)v;
    case 4: return (int32_t)v;
    default: return 0;
    }
}

/* HID 1.11, 6.2.2.7: the unit exponent is a 4-bit two's complement nibble.  Some devices
 * write it as a whole signed byte (0xFE for -2); that reads the same way here. */
static int8_t unit_exponent(uint32_t v, int bytes)
{
    if (v <= 0x0F)
        return (int8_t)(v >= 8 ? (int)v - 16 : (int)v);
    int32_t s = sign_extend(v, bytes);
    if (s >= -8 && s <= 7)
        return (int8_t)s;
    return 0;
}

static int add_usage(parser_t *p, uint32_t u)
{
    if (p->n_usages >= MAX_USAGES)
        return 0; /* extra usages would only repeat the last; dropping them is harmless */
    p->usages[p->n_usages++] = u;
    return 0;
}

static uint32_t full_usage(const parser_t *p, uint32_t v, int bytes)
{
    /* HID 1.11, 6.2.2.8: a 4-byte usage carries its own page. */
    if (bytes == 4)
        return v;
    return USBHID_U(p->g.page, v & 0xFFFF);
}

static int push_field(parser_t *p, uint8_t type, uint16_t flags, uint32_t bit, uint32_t usage)
{
    usbhid_desc_t *d = p->d;
    if (p->depth > USBHID_PATH_MAX)
        return 0;
    if (d->n >= MAX_FIELDS) {
        errno = EINVAL;
        return -1;
    }
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 64;
        usbhid_field_t *nf = realloc(d->f, cap * sizeof *nf);
        if (!nf)
            return -1;
        d->f = nf;
        d->cap = cap;
    }
    usbhid_field_t *f = &d->f[d->n++];
    memset(f, 0, sizeof *f);
    f->report_id = p->g.rid;
    f->type = type;
    f->flags = flags;
    f->bit_offset = bit;
    f->bit_size = (uint8_t)p->g.rsize;
    f->logical_min = p->g.lmin;
    f->logical_max = p->g.lmax;
    /* HID 1.11 says logical limits are signed, but many UPS descriptors write 255 as the
     * single byte 0xFF (NUT issues #1189, #1512: APC Back-UPS, CyberPower), which reads -1
     * below a minimum of 0.  A maximum below a non-negative minimum can only mean that. */
    if (p->g.lmin >= 0 && p->g.lmax < p->g.lmin) {
        f->logical_max = p->g.lmax_uraw > INT32_MAX ? INT32_MAX : (int32_t)p->g.lmax_uraw;
        f->logmax_unsigned = 1;
    }
    f->physical_min = p->g.pmin;
    f->physical_max = p->g.pmax;
    f->unit = p->g.unit;
    f->unit_exp = p->g.uexp;
    f->usage = usage;
    f->depth = (uint8_t)p->depth;
    for (int i = 0; i < p->depth; i++) {
        f->path[i] = p->lv[i + 1].usage;
        f->inst[i] = p->lv[i + 1].inst;
    }
    return 0;
}

static int main_field(parser_t *p, int tag, uint32_t data, size_t at, char *err, size_t errlen)
{
    usbhid_desc_t *d = p->d;
    uint8_t type = tag == MAIN_INPUT ? USBHID_INPUT : tag == MAIN_OUTPUT ? USBHID_OUTPUT
                                                                         : USBHID_FEATURE;
    uint32_t *bits = &d->bits[type - 1][p->g.rid];
    uint64_t span = (uint64_t)p->g.rsize * p->g.rcount;
    if (p->g.rsize > 32 && p->g.rcount > 0 && (data & 0x02)) {
        errno = EINVAL;
        return wa_err(err, errlen, "byte %zu: a variable field of %u bits", at, p->g.rsize);
    }
    if ((uint64_t)*bits + span > (uint64_t)MAX_REPORT_BYTES * 8) {
        errno = EINVAL;
        return wa_err(err, errlen, "byte %zu: report %u longer than %d bytes", at, p->g.rid,
                      MAX_REPORT_BYTES);
    }
    uint32_t start = *bits;
    *bits += (uint32_t)span;
    /* Arrays (bit 1 clear) carry selectors, not values; a constant without a usage is
     * padding.  A constant with a usage is a read-only value: power devices declare their
     * ratings that way (Feature 0x83, Cnst,Var,Abs,Vol, in NUT issue #1824's descriptor). */
    if (!(data & 0x02) || p->g.rsize == 0 || p->n_usages == 0)
        return 0;
    for (uint32_t i = 0; i < p->g.rcount; i++) {
        /* HID 1.11, 6.2.2.8: the last usage applies to the remaining fields. */
        uint32_t u = p->usages[i < p->n_usages ? i : p->n_usages - 1];
        if (push_field(p, type, (uint16_t)data, start + i * p->g.rsize, u) < 0) {
            if (errno == EINVAL)
                return wa_err(err, errlen, "byte %zu: more than %d fields", at, MAX_FIELDS);
            return wa_err(err, errlen, "out of memory");
        }
    }
    return 0;
}

static void open_collection(parser_t *p, uint32_t kind)
{
    uint32_t u = p->n_usages ? p->usages[0] : 0;
    if (p->depth == 0 && p->d->first_app_usage == 0)
        p->d->first_app_usage = u;
    p->depth++;
    if (p->depth <= MAX_DEPTH) {
        level_t *lv = &p->lv[p->depth];
        lv->usage = u;
        /* HID 1.11, 6.2.2.6: collection types 0x80-0xFF are vendor-defined.  MGE/Eaton use
         * them to number collections of the same kind (Flow 1..4, Outlet 1..n) and NUT reads
         * the low 7 bits as that index (its "UPS.Flow.[4]" paths). */
        lv->inst = kind >= 0x80 && kind <= 0xFF ? (uint8_t)(kind & 0x7F) : 0;
    }
}

static int item(parser_t *p, int type, int tag, uint32_t v, int bytes, size_t at, char *err,
                size_t errlen)
{
    switch (type) {
    case TYPE_MAIN:
        switch (tag) {
        case MAIN_INPUT:
        case MAIN_OUTPUT:
        case MAIN_FEATURE:
            if (main_field(p, tag, v, at, err, errlen) < 0)
                return -1;
            break;
        case MAIN_COLLECTION: open_collection(p, v); break;
        case MAIN_END:
            if (p->depth > 0)
                p->depth--;
            break;
        default: break;
        }
        p->n_usages = 0;
        p->have_umin = 0;
        return 0;
    case TYPE_GLOBAL:
        switch (tag) {
        case G_PAGE: p->g.page = (uint16_t)v; break;
        case G_LMIN: p->g.lmin = sign_extend(v, bytes); break;
        case G_LMAX:
            p->g.lmax = sign_extend(v, bytes);
            p->g.lmax_uraw = v;
            break;
        case G_PMIN: p->g.pmin = sign_extend(v, bytes); break;
        case G_PMAX: p->g.pmax = sign_extend(v, bytes); break;
        case G_UEXP: p->g.uexp = unit_exponent(v, bytes); break;
        case G_UNIT: p->g.unit = v; break;
        case G_RSIZE: p->g.rsize = v; break;
        case G_RCOUNT: p->g.rcount = v; break;
        case G_RID:
            if (v == 0 || v > 255) {
                errno = EINVAL;
                return wa_err(err, errlen, "byte %zu: report ID %u", at, v);
            }
            p->g.rid = (uint8_t)v;
            p->d->has_ids = 1;
            break;
        case G_PUSH:
            if (p->sp >= MAX_STACK) {
                errno = EINVAL;
                return wa_err(err, errlen, "byte %zu: push deeper than %d", at, MAX_STACK);
            }
            p->stack[p->sp++] = p->g;
            break;
        case G_POP:
            if (p->sp == 0) {
                errno = EINVAL;
                return wa_err(err, errlen, "byte %zu: pop without push", at);
            }
            p->g = p->stack[--p->sp];
            break;
        default: break;
        }
        return 0;
    case TYPE_LOCAL:
        switch (tag) {
        case L_USAGE: return add_usage(p, full_usage(p, v, bytes));
        case L_UMIN:
            p->umin = full_usage(p, v, bytes);
            p->have_umin = 1;
            return 0;
        case L_UMAX:
            if (p->have_umin) {
                uint32_t umax = full_usage(p, v, bytes);
                for (uint32_t u = p->umin; u <= umax && p->n_usages < MAX_USAGES; u++) {
                    add_usage(p, u);
                    if (u == UINT32_MAX)
                        break;
                }
                p->have_umin = 0;
            }
            return 0;
        default: return 0;
        }
    default: return 0;
    }
}

usbhid_desc_t *usbhid_desc_parse(const uint8_t *buf, size_t len, char *err, size_t errlen)
{
    if (!buf && len) {
        errno = EINVAL;
        wa_err(err, errlen, "no descriptor");
        return NULL;
    }
    parser_t *p = calloc(1, sizeof *p);
    usbhid_desc_t *d = calloc(1, sizeof *d);
    if (!p || !d) {
        free(p);
        free(d);
        errno = ENOMEM;
        wa_err(err, errlen, "out of memory");
        return NULL;
    }
    p->d = d;
    size_t i = 0;
    while (i < len) {
        uint8_t b = buf[i];
        if (b == ITEM_LONG) {
            /* HID 1.11, 6.2.2.3: 0xFE, bDataSize, bLongItemTag, data; no long items are
             * defined, so they are skipped. */
            if (i + 2 >= len || i + 3 + (size_t)buf[i + 1] > len) {
                errno = EINVAL;
                wa_err(err, errlen, "byte %zu: long item runs past the end", i);
                goto fail;
            }
            i += 3 + (size_t)buf[i + 1];
            continue;
        }
        int bytes = (b & 0x03) == 3 ? 4 : (b & 0x03);
        int type = (b >> 2) & 0x03;
        int tag = b >> 4;
        if (i + 1 + (size_t)bytes > len) {
            errno = EINVAL;
            wa_err(err, errlen, "byte %zu: item runs past the end", i);
            goto fail;
        }
        uint32_t v = 0;
        for (int k = 0; k < bytes; k++)
            v |= (uint32_t)buf[i + 1 + k] << (8 * k);
        if (item(p, type, tag, v, bytes, i, err, errlen) < 0)
            goto fail;
        i += 1 + (size_t)bytes;
    }
    free(p);
    return d;
fail:
    free(p);
    usbhid_desc_free(d);
    return NULL;
}

void usbhid_desc_free(usbhid_desc_t *d)
{
    if (!d)
        return;
    free(d->f);
    free(d);
}

size_t usbhid_desc_count(const usbhid_desc_t *d)
{
    return d ? d->n : 0;
}

const usbhid_field_t *usbhid_desc_field(const usbhid_desc_t *d, size_t i)
{
    return d && i < d->n ? &d->f[i] : NULL;
}

int usbhid_desc_has_ids(const usbhid_desc_t *d)
{
    return d ? d->has_ids : 0;
}

size_t usbhid_report_len(const usbhid_desc_t *d, uint8_t type, uint8_t id)
{
    if (!d || type < 1 || type > 3)
        return 0;
    uint32_t bits = d->bits[type - 1][id];
    if (bits == 0)
        return 0;
    return (bits + 7) / 8 + (d->has_ids ? 1 : 0);
}

int usbhid_desc_is_power(const usbhid_desc_t *d)
{
    if (!d)
        return 0;
    uint32_t page = d->first_app_usage >> 16;
    return page == USBHID_PAGE_POWER || page == USBHID_PAGE_BATTERY;
}
