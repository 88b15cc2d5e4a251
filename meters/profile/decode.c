/*
 * decode.c: register words to values and back.
 *
 * The raw bit pattern is assembled from the words with shifts, in the order the profile
 * names, so nothing depends on the host's byte order.  A float is then made from that
 * pattern by memcpy from a uint32_t or uint64_t: the one conversion C defines for this
 * (C11 7.24.2.1 copies the object representation; a pointer cast would break the aliasing
 * rule of C11 6.5p7).  It relies on float and double being IEEE 754 binary32 and binary64
 * (C11 Annex F), checked below, and on floats sharing the integers' byte order, which holds
 * on every target we build for (x86_64, aarch64, armhf).
 */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "common/common.h"
#include "meters/profile/profile.h"

#ifndef __STDC_IEC_559__
#error "decoding float registers needs IEEE 754 float and double (C11 Annex F)"
#endif
_Static_assert(sizeof(float) == sizeof(uint32_t), "float is not 32 bits");
_Static_assert(sizeof(double) == sizeof(uint64_t), "double is not 64 bits");

/* SunSpec "sunssf" registers: a power of ten in -10..10, and 0x8000 (as s16: -32768) for
 * "not implemented" (SunSpec Information Model Specification, data types "sunssf" and
 * "int16"). */
#define SUNSSF_MIN (-10)
#define SUNSSF_MAX 10
#define SUNSSF_NA_S16 (-32768)
#define SUNSSF_NA_U16 0x8000

static const double pow10_table[SUNSSF_MAX + 1] = {
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
};

unsigned profile_type_words(profile_type_t t)
{
    switch (t) {
    case PROFILE_T_U16:
    case PROFILE_T_S16:
        return 1;
    case PROFILE_T_U32:
    case PROFILE_T_S32:
    case PROFILE_T_F32:
        return 2;
    case PROFILE_T_U64:
    case PROFILE_T_S64:
    case PROFILE_T_F64:
        return 4;
    }
    return 0;
}

/* CDAB and DCBA put the least significant word first; BADC and DCBA swap the two bytes of
 * every word (docs/profiles.md, "Byte and word order"). */
static int words_reversed(profile_order_t o)
{
    return o == PROFILE_CDAB || o == PROFILE_DCBA;
}

static int bytes_swapped(profile_order_t o)
{
    return o == PROFILE_BADC || o == PROFILE_DCBA;
}

static uint16_t swap16(uint16_t w)
{
    return (uint16_t)((w >> 8) | (w << 8));
}

uint64_t profile_raw(const uint16_t *words, profile_type_t t, profile_order_t o)
{
    unsigned n = profile_type_words(t);
    uint64_t raw = 0;

    for (unsigned i = 0; i < n; i++) {
        /* Word i on the wire carries the value's word k, counted from the most significant. */
        unsigned k = words_reversed(o) ? n - 1 - i : i;
        uint16_t w = bytes_swapped(o) ? swap16(words[i]) : words[i];
        raw |= (uint64_t)w << (16 * (n - 1 - k));
    }
    return raw;
}

static void put_raw(uint64_t raw, unsigned n, profile_order_t o, uint16_t *words)
{
    for (unsigned i = 0; i < n; i++) {
        unsigned k = words_reversed(o) ? n - 1 - i : i;
        uint16_t w = (uint16_t)(raw >> (16 * (n - 1 - k)));
        words[i] = bytes_swapped(o) ? swap16(w) : w;
    }
}

/* Two's complement of the low `bits` bits, without relying on the implementation-defined
 * conversion of large unsigned values to signed types. */
static int64_t sign_extend(uint64_t raw, unsigned bits)
{
    uint64_t mask = bits == 64 ? UINT64_MAX : ((uint64_t)1 << bits) - 1;
    uint64_t sign = (uint64_t)1 << (bits - 1);

    raw &= mask;
    if (!(raw & sign))
        return (int64_t)raw;
    return -(int64_t)(~raw & mask) - 1;
}

static double raw_to_double(uint64_t raw, profile_type_t t)
{
    switch (t) {
    case PROFILE_T_U16:
    case PROFILE_T_U32:
    case PROFILE_T_U64:
        return (double)raw;
    case PROFILE_T_S16:
        return (double)sign_extend(raw, 16);
    case PROFILE_T_S32:
        return (double)sign_extend(raw, 32);
    case PROFILE_T_S64:
        return (double)sign_extend(raw, 64);
    case PROFILE_T_F32: {
        uint32_t bits = (uint32_t)raw;
        float f;
        memcpy(&f, &bits, sizeof f);
        return f;
    }
    case PROFILE_T_F64: {
        double d;
        memcpy(&d, &raw, sizeof d);
        return d;
    }
    }
    return NAN;
}

int profile_decode(const profile_reg_t *r, const uint16_t *words, int sf, double *out)
{
    if (!r || !words || !out) {
        errno = EINVAL;
        return -1;
    }
    *out = NAN;

    uint64_t raw = profile_raw(words, r->type, r->order);
    for (size_t i = 0; i < r->n_sentinels && i < PROFILE_SENTINELS_MAX; i++) {
        if (raw == r->sentinels[i]) {
            errno = WA_ESENTINEL;
            return -1;
        }
    }

    double v = raw_to_double(raw, r->type);
    if (!isfinite(v)) {
        errno = WA_ESENTINEL;
        return -1;
    }
    if (r->sf_address >= 0) {
        if (sf == SUNSSF_NA_S16 || sf == SUNSSF_NA_U16) {
            errno = WA_ESENTINEL;
            return -1;
        }
        if (sf < SUNSSF_MIN || sf > SUNSSF_MAX) {
            errno = WA_ERANGE;
            return -1;
        }
        /* Dividing by an exact power of ten keeps 2305 * 10^-1 at 230.5; multiplying by
         * 0.1, which has no exact binary form, would not. */
        v = sf >= 0 ? v * pow10_table[sf] : v / pow10_table[-sf];
    }
    v *= r->scale * r->unit_factor;
    if (!isfinite(v)) {
        errno = WA_ERANGE;
        return -1;
    }
    *out = v;
    if ((!isnan(r->min) && v < r->min) || (!isnan(r->max) && v > r->max)) {
        errno = WA_ERANGE;
        return -1;
    }
    return 0;
}

/* Rounds half away from zero and clamps to lo..hi; NaN becomes 0 (an integer register has
 * no "not a number", and the simulator writes sentinels itself when it means one). */
static double round_clamp(double v, double lo, double hi)
{
    if (isnan(v))
        return 0.0;
    v = round(v);
    return v < lo ? lo : v > hi ? hi : v;
}

unsigned profile_encode(double raw_value, profile_type_t t, profile_order_t o, uint16_t *words)
{
    unsigned n = profile_type_words(t);
    double v = raw_value;
    uint64_t raw = 0;

    if (!words || n == 0) {
        errno = EINVAL;
        return 0;
    }
    switch (t) {
    case PROFILE_T_U16:
        raw = (uint64_t)round_clamp(v, 0.0, 65535.0);
        break;
    case PROFILE_T_S16:
        raw = (uint64_t)(int64_t)round_clamp(v, -32768.0, 32767.0) & 0xFFFFu;
        break;
    case PROFILE_T_U32:
        raw = (uint64_t)round_clamp(v, 0.0, 4294967295.0);
        break;
    case PROFILE_T_S32:
        raw = (uint64_t)(int64_t)round_clamp(v, -2147483648.0, 2147483647.0) & 0xFFFFFFFFu;
        break;
    case PROFILE_T_U64:
        /* 2^64 - 1 has no double; compare against 2^64 itself, which does. */
        v = round_clamp(v, 0.0, 18446744073709551616.0);
        raw = v >= 18446744073709551616.0 ? UINT64_MAX : (uint64_t)v;
        break;
    case PROFILE_T_S64:
        v = round_clamp(v, -9223372036854775808.0, 9223372036854775808.0);
        raw = v >= 9223372036854775808.0 ? (uint64_t)INT64_MAX : (uint64_t)(int64_t)v;
        break;
    case PROFILE_T_F32: {
        /* A finite double beyond FLT_MAX has no float; converting it is undefined (C11
         * 6.3.1.5), so saturate.  NaN and infinities carry over. */
        if (isfinite(v) && fabs(v) > FLT_MAX)
            v = copysign(FLT_MAX, v);
        float f = (float)v;
        uint32_t bits;
        memcpy(&bits, &f, sizeof bits);
        raw = bits;
        break;
    }
    case PROFILE_T_F64:
        memcpy(&raw, &v, sizeof raw);
        break;
    }
    put_raw(raw, n, o, words);
    return n;
}
