/* libFuzzer target: arbitrary bytes as a HID report descriptor (what a USB device hands us).
 * The parser must return fields that keep their promises, or fail with a "byte N: " message;
 * it must never crash, leak or read out of bounds.  Parsed descriptors are bound to the
 * quantities under each vendor's quirks and decoded from reports cut from the same bytes. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "meters/usbhid/usbhid-private.h"
#include "meters/usbhid/usbhid.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The vendors with quirk rows, and one without. */
static const uint16_t vids[][2] = {
    {0x051d, 0x0003}, {0x0764, 0x0501}, {0x0463, 0xffff}, {0x09ae, 0x3016}, {0x1234, 0x5678},
};

static void check(const usbhid_desc_t *d, const uint8_t *data, size_t size)
{
    char path[160];
    int ids = usbhid_desc_has_ids(d);
    for (size_t i = 0; i < usbhid_desc_count(d); i++) {
        const usbhid_field_t *f = usbhid_desc_field(d, i);
        size_t len = usbhid_report_len(d, f->type, f->report_id);
        if (f->bit_size < 1 || f->bit_size > 32 || f->depth > USBHID_PATH_MAX ||
            f->type < USBHID_INPUT || f->type > USBHID_FEATURE ||
            (!ids && f->report_id != 0) || len == 0 || len > 1025 ||
            (uint64_t)f->bit_offset + f->bit_size > (uint64_t)(len - (ids ? 1 : 0)) * 8)
            abort();
        usbhid_path_format(f, path, sizeof path);
        if (strlen(path) >= sizeof path)
            abort();
        /* A report of the field's length, from the input's own bytes. */
        uint8_t rep[1025] = {0};
        for (size_t k = 0; k < len; k++)
            rep[k] = size ? data[(k * 31 + i) % size] : 0;
        if (ids)
            rep[0] = f->report_id;
        int64_t raw;
        if (usbhid_field_raw(f, rep, len, &raw) != 0)
            abort();
        (void)usbhid_field_value(f, raw, USBHID_NO_EXP);
    }
    for (size_t v = 0; v < sizeof vids / sizeof vids[0]; v++) {
        usbhid_binding_t b;
        usbhid_report_ref_t plan[USBHID_Q_COUNT_];
        usbhid_report_t reps[USBHID_Q_COUNT_];
        uint8_t bufs[USBHID_Q_COUNT_][1025];
        usbhid_bind(d, vids[v][0], vids[v][1], &b);
        size_t n = usbhid_plan(d, &b, plan, USBHID_Q_COUNT_);
        for (size_t k = 0; k < n; k++) {
            size_t len = usbhid_report_len(d, plan[k].type, plan[k].id);
            if (len == 0)
                abort();
            for (size_t j = 0; j < len; j++)
                bufs[k][j] = size ? data[(j * 7 + k) % size] : 0;
            if (ids)
                bufs[k][0] = plan[k].id;
            /* Short reports happen (devices answer with less); decode must cope. */
            reps[k] = (usbhid_report_t){plan[k].type, bufs[k], len - (size & 1), 0};
        }
        usbhid_rating_t r = {size & 2 ? 900 : 0, 0};
        usbhid_sample_t s = {0};
        usbhid_decode(d, &b, reps, n, &r, &s);
        if (s.estimated & ~((1u << USBHID_Q_POWER_W) | (1u << USBHID_Q_POWER_VA)))
            abort();
        if (strlen(s.how) >= sizeof s.how)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256];
    errno = 0;
    usbhid_desc_t *d = usbhid_desc_parse(data, size, err, sizeof err);
    if (!d) {
        int msg_ok = strncmp(err, "byte ", 5) == 0 || strcmp(err, "out of memory") == 0;
        if ((errno != EINVAL && errno != ENOMEM) || !msg_ok)
            abort();
        return 0;
    }
    check(d, data, size);
    usbhid_desc_free(d);
    return 0;
}
