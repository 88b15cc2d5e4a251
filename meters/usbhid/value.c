/*
 * Raw bits and physical values of a field.
 *
 * HID reports are little-endian bit streams (HID 1.11, 5.8 and 8.4): a field of n bits at
 * bit offset o occupies bits o..o+n-1 counting from bit 0 of the first data byte.
 */
#include "meters/usbhid/usbhid-private.h"

#include <errno.h>
#include <math.h>

int usbhid_field_raw(const usbhid_field_t *f, const uint8_t *rep, size_t len, int64_t *raw)
{
    if (!f || !rep || !raw || f->bit_size == 0 || f->bit_size > 32) {
        errno = EINVAL;
        return -1;
    }
    size_t skip = 0;
    if (f->report_id != 0) {
        if (len < 1 || rep[0] != f->report_id) {
            errno = EINVAL;
            return -1;
        }
        skip = 1;
    }
    uint64_t end = (uint64_t)f->bit_offset + f->bit_size;
    if ((end + 7) / 8 > len - skip) {
        errno = EMSGSIZE;
        return -1;
    }
    uint64_t v = 0;
    for (unsigned k = 0; k < f->bit_size; k++) {
        uint64_t bit = (uint64_t)f->bit_offset + k;
        if ((rep[skip + bit / 8] >> (bit % 8)) & 1u)
            v |= (uint64_t)1 << k;
    }
    if (f->logical_min < 0 && f->bit_size < 64 && (v >> (f->bit_size - 1)) & 1u)
        *raw = (int64_t)v - ((int64_t)1 << f->bit_size);
    else
        *raw = (int64_t)v;
    return 0;
}

static int unit_bias(uint32_t unit)
{
    return unit == USBHID_UNIT_VOLT || unit == USBHID_UNIT_WATT ? USBHID_UNIT_CGS_BIAS : 0;
}

double usbhid_field_value(const usbhid_field_t *f, int64_t raw, int exp_override)
{
    if (!f)
        return NAN;
    int64_t lmin = f->logical_min, lmax = f->logical_max;
    /* HID 1.11, 5.10: a value outside the logical range means "no data" (null state). */
    if (lmin < lmax && (raw < lmin || raw > lmax))
        return NAN;
    double v = (double)raw;
    if ((f->physical_min != 0 || f->physical_max != 0) && lmax != lmin)
        v = ((double)(raw - lmin)) * ((double)f->physical_max - f->physical_min) /
                ((double)(lmax - lmin)) + f->physical_min;
    int e = exp_override != USBHID_NO_EXP ? exp_override : f->unit_exp - unit_bias(f->unit);
    if (e != 0)
        v *= pow(10.0, e);
    return v;
}
