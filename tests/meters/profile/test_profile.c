/*
 * profile: register words decode to the right values in every type and order, encode is their
 * inverse, bad profiles are refused with "file:LINE:" messages, and every shipped profile loads.
 */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/common.h"
#include "meters/profile/profile.h"

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* A row that only decodes: no scale, canonical unit, no range, no sentinels. */
static profile_reg_t plain_row(profile_type_t t, profile_order_t o)
{
    profile_reg_t r;
    memset(&r, 0, sizeof r);
    r.type = t;
    r.order = o;
    r.scale = 1.0;
    r.unit_factor = 1.0;
    r.sf_address = -1;
    r.min = r.max = NAN;
    return r;
}

/*
 * Words as they come off the wire.  Each value appears in all four orders; the words were
 * written out by hand from the byte layout of docs/profiles.md and checked against Python's
 * struct.pack, an independent encoder.
 */
static const struct {
    profile_type_t type;
    profile_order_t order;
    uint16_t words[4];
    uint64_t raw;
    double value;
} vectors[] = {
    {PROFILE_T_U16, PROFILE_ABCD, {0x1234}, 0x1234, 4660},
    {PROFILE_T_U16, PROFILE_CDAB, {0x1234}, 0x1234, 4660},
    {PROFILE_T_U16, PROFILE_BADC, {0x3412}, 0x1234, 4660},
    {PROFILE_T_U16, PROFILE_DCBA, {0x3412}, 0x1234, 4660},
    {PROFILE_T_S16, PROFILE_ABCD, {0xFFFE}, 0xFFFE, -2},
    {PROFILE_T_S16, PROFILE_CDAB, {0xFFFE}, 0xFFFE, -2},
    {PROFILE_T_S16, PROFILE_BADC, {0xFEFF}, 0xFFFE, -2},
    {PROFILE_T_S16, PROFILE_DCBA, {0xFEFF}, 0xFFFE, -2},
    {PROFILE_T_S16, PROFILE_ABCD, {0x8000}, 0x8000, -32768},
    {PROFILE_T_S16, PROFILE_ABCD, {0x7FFF}, 0x7FFF, 32767},
    {PROFILE_T_U32, PROFILE_ABCD, {0x1234, 0x5678}, 0x12345678, 305419896},
    {PROFILE_T_U32, PROFILE_CDAB, {0x5678, 0x1234}, 0x12345678, 305419896},
    {PROFILE_T_U32, PROFILE_BADC, {0x3412, 0x7856}, 0x12345678, 305419896},
    {PROFILE_T_U32, PROFILE_DCBA, {0x7856, 0x3412}, 0x12345678, 305419896},
    {PROFILE_T_U32, PROFILE_ABCD, {0xFFFF, 0xFFFF}, 0xFFFFFFFF, 4294967295.0},
    {PROFILE_T_S32, PROFILE_ABCD, {0xFFFE, 0x1DC0}, 0xFFFE1DC0, -123456},
    {PROFILE_T_S32, PROFILE_CDAB, {0x1DC0, 0xFFFE}, 0xFFFE1DC0, -123456},
    {PROFILE_T_S32, PROFILE_BADC, {0xFEFF, 0xC01D}, 0xFFFE1DC0, -123456},
    {PROFILE_T_S32, PROFILE_DCBA, {0xC01D, 0xFEFF}, 0xFFFE1DC0, -123456},
    {PROFILE_T_S32, PROFILE_ABCD, {0x8000, 0x0000}, 0x80000000, -2147483648.0},
    {PROFILE_T_U64, PROFILE_ABCD, {0x0123, 0x4567, 0x89AB, 0xCDEF}, 0x0123456789ABCDEF,
     81985529216486895.0},
    {PROFILE_T_U64, PROFILE_CDAB, {0xCDEF, 0x89AB, 0x4567, 0x0123}, 0x0123456789ABCDEF,
     81985529216486895.0},
    {PROFILE_T_U64, PROFILE_BADC, {0x2301, 0x6745, 0xAB89, 0xEFCD}, 0x0123456789ABCDEF,
     81985529216486895.0},
    {PROFILE_T_U64, PROFILE_DCBA, {0xEFCD, 0xAB89, 0x6745, 0x2301}, 0x0123456789ABCDEF,
     81985529216486895.0},
    {PROFILE_T_S64, PROFILE_ABCD, {0xFFFF, 0xFEE0, 0x8E04, 0xFB35}, 0xFFFFFEE08E04FB35,
     -1234567890123.0},
    {PROFILE_T_S64, PROFILE_CDAB, {0xFB35, 0x8E04, 0xFEE0, 0xFFFF}, 0xFFFFFEE08E04FB35,
     -1234567890123.0},
    {PROFILE_T_S64, PROFILE_BADC, {0xFFFF, 0xE0FE, 0x048E, 0x35FB}, 0xFFFFFEE08E04FB35,
     -1234567890123.0},
    {PROFILE_T_S64, PROFILE_DCBA, {0x35FB, 0x048E, 0xE0FE, 0xFFFF}, 0xFFFFFEE08E04FB35,
     -1234567890123.0},
    {PROFILE_T_S64, PROFILE_ABCD, {0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF}, UINT64_MAX, -1},
    {PROFILE_T_S64, PROFILE_ABCD, {0x8000, 0, 0, 0}, 0x8000000000000000, -9223372036854775808.0},
    /* 230.5 V as an SDM630-style float32 ABCD reads 0x4366 0x8000 (ENVIRONMENT.md); the BADC
     * words are what Debian's libmodbus 3.1.6 modbus_set_float_abcd() wrongly writes. */
    {PROFILE_T_F32, PROFILE_ABCD, {0x4366, 0x8000}, 0x43668000, 230.5},
    {PROFILE_T_F32, PROFILE_CDAB, {0x8000, 0x4366}, 0x43668000, 230.5},
    {PROFILE_T_F32, PROFILE_BADC, {0x6643, 0x0080}, 0x43668000, 230.5},
    {PROFILE_T_F32, PROFILE_DCBA, {0x0080, 0x6643}, 0x43668000, 230.5},
    /* IEEE 754 binary32: 50.0 Hz and a power factor of -0.5. */
    {PROFILE_T_F32, PROFILE_ABCD, {0x4248, 0x0000}, 0x42480000, 50.0},
    {PROFILE_T_F32, PROFILE_ABCD, {0xBF00, 0x0000}, 0xBF000000, -0.5},
    {PROFILE_T_F64, PROFILE_ABCD, {0xC132, 0xD687, 0xE418, 0x9375}, 0xC132D687E4189375,
     -1234567.891},
    {PROFILE_T_F64, PROFILE_CDAB, {0x9375, 0xE418, 0xD687, 0xC132}, 0xC132D687E4189375,
     -1234567.891},
    {PROFILE_T_F64, PROFILE_BADC, {0x32C1, 0x87D6, 0x18E4, 0x7593}, 0xC132D687E4189375,
     -1234567.891},
    {PROFILE_T_F64, PROFILE_DCBA, {0x7593, 0x18E4, 0x87D6, 0x32C1}, 0xC132D687E4189375,
     -1234567.891},
};

static void test_decode_vectors(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_OF(vectors); i++) {
        profile_reg_t r = plain_row(vectors[i].type, vectors[i].order);
        double v = 0;
        print_message("vector %zu: %s %s\n", i, profile_type_name(r.type),
                      profile_order_name(r.order));
        assert_true(profile_raw(vectors[i].words, r.type, r.order) == vectors[i].raw);
        assert_int_equal(profile_decode(&r, vectors[i].words, 0, &v), 0);
        assert_true(v == vectors[i].value);
    }
}

static void test_type_words(void **state)
{
    static const unsigned expect[] = {1, 1, 2, 2, 4, 4, 2, 4};
    (void)state;
    for (int t = PROFILE_T_U16; t <= PROFILE_T_F64; t++)
        assert_int_equal(profile_type_words((profile_type_t)t), expect[t]);
}

/* Rows as a profile would set them up: scale, unit factor, SunSpec sf, sentinels, ranges. */
static void test_decode_rows(void **state)
{
    static const struct {
        const char *what;
        profile_type_t type;
        profile_order_t order;
        double scale, unit_factor, min, max;
        int sf_address, sf;
        uint64_t na[2];
        size_t n_na;
        uint16_t words[4];
        int rc, err;
        double value;
    } cases[] = {
        {"tenths of a volt", PROFILE_T_U16, PROFILE_ABCD, 0.1, 1, NAN, NAN, -1, 0, {0}, 0,
         {2305}, 0, 0, 230.5},
        {"s16 kW, negative", PROFILE_T_S16, PROFILE_ABCD, 1, 1e3, NAN, NAN, -1, 0, {0}, 0,
         {0xFFF6}, 0, 0, -10000},
        {"u32 CDAB hundredths of kWh", PROFILE_T_U32, PROFILE_CDAB, 0.01, 1e3, NAN, NAN, -1, 0,
         {0}, 0, {0xD687, 0x0012}, 0, 0, 12345670},
        {"float32 kWh", PROFILE_T_F32, PROFILE_ABCD, 1, 1e3, 0, NAN, -1, 0, {0}, 0,
         {0x3FC0, 0x0000}, 0, 0, 1500},
        {"mA", PROFILE_T_U16, PROFILE_ABCD, 1, 1e-3, NAN, NAN, -1, 0, {0}, 0, {1500}, 0, 0, 1.5},
        {"pf in %", PROFILE_T_S16, PROFILE_ABCD, 1, 1e-2, -1, 1, -1, 0, {0}, 0, {0xFFCE}, 0, 0,
         -0.5},
        /* SunSpec: value * 10^sf, divided exactly so 2305 * 10^-1 is 230.5 to the bit. */
        {"sunssf -1", PROFILE_T_S16, PROFILE_ABCD, 1, 1, NAN, NAN, 10, -1, {0}, 0, {2305}, 0, 0,
         230.5},
        {"sunssf 2", PROFILE_T_U16, PROFILE_ABCD, 1, 1, NAN, NAN, 10, 2, {0}, 0, {23}, 0, 0,
         2300},
        {"sunssf 10", PROFILE_T_U16, PROFILE_ABCD, 1, 1, NAN, NAN, 10, 10, {0}, 0, {1}, 0, 0,
         1e10},
        {"sunssf -10", PROFILE_T_U16, PROFILE_ABCD, 1, 1, NAN, NAN, 10, -10, {0}, 0, {1}, 0, 0,
         1e-10},
        {"sunssf ignored without sf", PROFILE_T_U16, PROFILE_ABCD, 1, 1, NAN, NAN, -1, -32768,
         {0}, 0, {7}, 0, 0, 7},
        {"sunssf 0x8000 as s16", PROFILE_T_S16, PROFILE_ABCD, 1, 1, NAN, NAN, 10, -32768, {0}, 0,
         {2305}, -1, WA_ESENTINEL, 0},
        {"sunssf 0x8000 as u16", PROFILE_T_S16, PROFILE_ABCD, 1, 1, NAN, NAN, 10, 0x8000, {0}, 0,
         {2305}, -1, WA_ESENTINEL, 0},
        {"sunssf 11", PROFILE_T_S16, PROFILE_ABCD, 1, 1, NAN, NAN, 10, 11, {0}, 0, {1}, -1,
         WA_ERANGE, 0},
        {"sunssf -11", PROFILE_T_S16, PROFILE_ABCD, 1, 1, NAN, NAN, 10, -11, {0}, 0, {1}, -1,
         WA_ERANGE, 0},
        /* Sentinels are raw patterns, compared before the scale touches them. */
        {"u16 0xFFFF n/a", PROFILE_T_U16, PROFILE_ABCD, 0.1, 1, NAN, NAN, -1, 0, {0xFFFF}, 1,
         {0xFFFF}, -1, WA_ESENTINEL, 0},
        {"u16 next to n/a", PROFILE_T_U16, PROFILE_ABCD, 0.1, 1, NAN, NAN, -1, 0, {0xFFFF}, 1,
         {0xFFFE}, 0, 0, 6553.4},
        {"s16 0x8000 n/a byte-swapped", PROFILE_T_S16, PROFILE_BADC, 1, 1, NAN, NAN, -1, 0,
         {0x8000}, 1, {0x0080}, -1, WA_ESENTINEL, 0},
        {"s32 0x80000000 n/a word-swapped", PROFILE_T_S32, PROFILE_CDAB, 1, 1, NAN, NAN, -1, 0,
         {0x7FFFFFFF, 0x80000000}, 2, {0x0000, 0x8000}, -1, WA_ESENTINEL, 0},
        {"u64 all ones n/a", PROFILE_T_U64, PROFILE_DCBA, 1, 1, NAN, NAN, -1, 0,
         {0xFFFFFFFFFFFFFFFF}, 1, {0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF}, -1, WA_ESENTINEL, 0},
        {"float32 quiet NaN", PROFILE_T_F32, PROFILE_ABCD, 1, 1, NAN, NAN, -1, 0, {0}, 0,
         {0x7FC0, 0x0000}, -1, WA_ESENTINEL, 0},
        {"float32 +Inf", PROFILE_T_F32, PROFILE_ABCD, 1, 1, NAN, NAN, -1, 0, {0}, 0,
         {0x7F80, 0x0000}, -1, WA_ESENTINEL, 0},
        {"float32 -Inf CDAB", PROFILE_T_F32, PROFILE_CDAB, 1, 1, NAN, NAN, -1, 0, {0}, 0,
         {0x0000, 0xFF80}, -1, WA_ESENTINEL, 0},
        {"float64 NaN", PROFILE_T_F64, PROFILE_ABCD, 1, 1, NAN, NAN, -1, 0, {0}, 0,
         {0x7FF8, 0, 0, 0}, -1, WA_ESENTINEL, 0},
        {"float32 NaN as na pattern", PROFILE_T_F32, PROFILE_ABCD, 1, 1, NAN, NAN, -1, 0,
         {0x7FC00000}, 1, {0x7FC0, 0x0000}, -1, WA_ESENTINEL, 0},
        /* Ranges are in canonical units: after scale and unit factor. */
        {"at max", PROFILE_T_U16, PROFILE_ABCD, 1, 1, 0, 500, -1, 0, {0}, 0, {500}, 0, 0, 500},
        {"above max", PROFILE_T_U16, PROFILE_ABCD, 1, 1, 0, 500, -1, 0, {0}, 0, {600}, -1,
         WA_ERANGE, 600},
        {"below min", PROFILE_T_S16, PROFILE_ABCD, 1, 1, 0, 500, -1, 0, {0}, 0, {0xFFFF}, -1,
         WA_ERANGE, -1},
        {"kWh beyond a Wh max", PROFILE_T_F32, PROFILE_ABCD, 1, 1e3, 0, 1000, -1, 0, {0}, 0,
         {0x3FC0, 0x0000}, -1, WA_ERANGE, 1500},
        {"only min", PROFILE_T_S32, PROFILE_ABCD, 1, 1, -5, NAN, -1, 0, {0}, 0, {0x7FFF, 0xFFFF},
         0, 0, 2147483647.0},
        {"float32 huge times scale overflows", PROFILE_T_F32, PROFILE_ABCD, 1, 1e300, NAN, NAN,
         -1, 0, {0}, 0, {0x7F7F, 0xFFFF}, -1, WA_ERANGE, 0},
    };
    (void)state;
    for (size_t i = 0; i < N_OF(cases); i++) {
        profile_reg_t r = plain_row(cases[i].type, cases[i].order);
        double v = 0;
        print_message("row case %zu: %s\n", i, cases[i].what);
        r.scale = cases[i].scale;
        r.unit_factor = cases[i].unit_factor;
        r.min = cases[i].min;
        r.max = cases[i].max;
        r.sf_address = cases[i].sf_address;
        memcpy(r.sentinels, cases[i].na, sizeof cases[i].na);
        r.n_sentinels = cases[i].n_na;
        errno = 0;
        int rc = profile_decode(&r, cases[i].words, cases[i].sf, &v);
        assert_int_equal(rc, cases[i].rc);
        if (rc < 0) {
            assert_int_equal(errno, cases[i].err);
            if (cases[i].err == WA_ERANGE && cases[i].value != 0)
                assert_true(v == cases[i].value); /* kept for the log */
            else
                assert_true(isnan(v));
        } else {
            assert_true(fabs(v - cases[i].value) <= 1e-9 * fmax(1.0, fabs(cases[i].value)));
        }
    }
    /* The SunSpec case is exact, not merely close. */
    {
        profile_reg_t r = plain_row(PROFILE_T_S16, PROFILE_ABCD);
        uint16_t w = 2305;
        double v;
        r.sf_address = 3;
        assert_int_equal(profile_decode(&r, &w, -1, &v), 0);
        assert_true(v == 230.5);
    }
}

/* Fixed encodings, including rounding and saturation at each type's limits. */
static void test_encode(void **state)
{
    static const struct {
        double in;
        profile_type_t type;
        profile_order_t order;
        uint16_t words[4];
    } cases[] = {
        {230.5, PROFILE_T_F32, PROFILE_ABCD, {0x4366, 0x8000}},
        {230.5, PROFILE_T_F32, PROFILE_BADC, {0x6643, 0x0080}},
        {-1234567.891, PROFILE_T_F64, PROFILE_DCBA, {0x7593, 0x18E4, 0x87D6, 0x32C1}},
        {2.5, PROFILE_T_U16, PROFILE_ABCD, {3}},
        {2.49, PROFILE_T_U16, PROFILE_ABCD, {2}},
        {-2.5, PROFILE_T_S16, PROFILE_ABCD, {0xFFFD}},
        {-0.6, PROFILE_T_S16, PROFILE_BADC, {0xFFFF}},
        {70000, PROFILE_T_U16, PROFILE_ABCD, {0xFFFF}},
        {-5, PROFILE_T_U16, PROFILE_ABCD, {0x0000}},
        {40000, PROFILE_T_S16, PROFILE_ABCD, {0x7FFF}},
        {-40000, PROFILE_T_S16, PROFILE_ABCD, {0x8000}},
        {5e9, PROFILE_T_U32, PROFILE_CDAB, {0xFFFF, 0xFFFF}},
        {-1, PROFILE_T_U32, PROFILE_ABCD, {0x0000, 0x0000}},
        {3e9, PROFILE_T_S32, PROFILE_ABCD, {0x7FFF, 0xFFFF}},
        {-3e9, PROFILE_T_S32, PROFILE_CDAB, {0x0000, 0x8000}},
        {-123456, PROFILE_T_S32, PROFILE_DCBA, {0xC01D, 0xFEFF}},
        {1e30, PROFILE_T_U64, PROFILE_ABCD, {0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF}},
        {18446744073709551616.0, PROFILE_T_U64, PROFILE_ABCD, {0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF}},
        {-1, PROFILE_T_U64, PROFILE_ABCD, {0, 0, 0, 0}},
        {1e30, PROFILE_T_S64, PROFILE_ABCD, {0x7FFF, 0xFFFF, 0xFFFF, 0xFFFF}},
        {-1e30, PROFILE_T_S64, PROFILE_CDAB, {0, 0, 0, 0x8000}},
        {-1234567890123.0, PROFILE_T_S64, PROFILE_BADC, {0xFFFF, 0xE0FE, 0x048E, 0x35FB}},
        {NAN, PROFILE_T_U32, PROFILE_ABCD, {0, 0}},
        {NAN, PROFILE_T_S16, PROFILE_ABCD, {0}},
        {1e40, PROFILE_T_F32, PROFILE_ABCD, {0x7F7F, 0xFFFF}},  /* FLT_MAX */
        {-1e40, PROFILE_T_F32, PROFILE_ABCD, {0xFF7F, 0xFFFF}}, /* -FLT_MAX */
        {INFINITY, PROFILE_T_F32, PROFILE_ABCD, {0x7F80, 0x0000}},
    };
    (void)state;
    for (size_t i = 0; i < N_OF(cases); i++) {
        uint16_t w[4] = {0xAAAA, 0xAAAA, 0xAAAA, 0xAAAA};
        unsigned n = profile_encode(cases[i].in, cases[i].type, cases[i].order, w);
        print_message("encode case %zu: %g as %s %s\n", i, cases[i].in,
                      profile_type_name(cases[i].type), profile_order_name(cases[i].order));
        assert_int_equal(n, profile_type_words(cases[i].type));
        for (unsigned k = 0; k < n; k++)
            assert_int_equal(w[k], cases[i].words[k]);
        if (n < 4)
            assert_int_equal(w[n], 0xAAAA); /* nothing written past the value */
    }
    /* A float NaN stays NaN, which the decoder then reports as not available. */
    {
        uint16_t w[2];
        double v;
        profile_reg_t r = plain_row(PROFILE_T_F32, PROFILE_CDAB);
        assert_int_equal(profile_encode(NAN, PROFILE_T_F32, PROFILE_CDAB, w), 2);
        assert_int_equal(profile_decode(&r, w, 0, &v), -1);
        assert_int_equal(errno, WA_ESENTINEL);
    }
    errno = 0;
    assert_int_equal(profile_encode(1, PROFILE_T_U16, PROFILE_ABCD, NULL), 0);
    assert_int_equal(errno, EINVAL);
}

/* encode then decode gives the value back for every type and order. */
static void test_round_trip(void **state)
{
    static const double values[] = {0, 1, -1, 42, -42, 230.5, 1000.25, 32767, -32768, 65535,
                                    2147483647.0, -2147483648.0, 4294967295.0, 1e15, -1e15,
                                    9007199254740992.0, 3.0e-5};
    (void)state;
    for (int t = PROFILE_T_U16; t <= PROFILE_T_F64; t++) {
        for (int o = PROFILE_ABCD; o <= PROFILE_DCBA; o++) {
            profile_reg_t r = plain_row((profile_type_t)t, (profile_order_t)o);
            for (size_t i = 0; i < N_OF(values); i++) {
                uint16_t w[4];
                double in = values[i], expect, v;
                /* What the type can hold: integers round and saturate, float32 rounds. */
                switch (r.type) {
                case PROFILE_T_U16: expect = fmin(fmax(round(in), 0), 65535); break;
                case PROFILE_T_S16: expect = fmin(fmax(round(in), -32768), 32767); break;
                case PROFILE_T_U32: expect = fmin(fmax(round(in), 0), 4294967295.0); break;
                case PROFILE_T_S32:
                    expect = fmin(fmax(round(in), -2147483648.0), 2147483647.0);
                    break;
                case PROFILE_T_U64: expect = fmax(round(in), 0); break;
                case PROFILE_T_S64: expect = round(in); break;
                case PROFILE_T_F32: expect = (float)in; break;
                default: expect = in; break;
                }
                profile_encode(in, r.type, r.order, w);
                assert_int_equal(profile_decode(&r, w, 0, &v), 0);
                if (v != expect)
                    fail_msg("%s %s: %.17g came back as %.17g, expected %.17g",
                             profile_type_name(r.type), profile_order_name(r.order), in, v,
                             expect);
            }
        }
    }
}

static void test_names(void **state)
{
    profile_quantity_t q;
    profile_type_t t;
    profile_order_t o;
    (void)state;
    for (int i = 0; i < Q_COUNT_; i++) {
        assert_int_equal(profile_quantity_parse(profile_quantity_name((profile_quantity_t)i), &q),
                         0);
        assert_int_equal(q, i);
    }
    for (int i = PROFILE_T_U16; i <= PROFILE_T_F64; i++) {
        assert_int_equal(profile_type_parse(profile_type_name((profile_type_t)i), &t), 0);
        assert_int_equal(t, i);
    }
    for (int i = PROFILE_ABCD; i <= PROFILE_DCBA; i++) {
        assert_int_equal(profile_order_parse(profile_order_name((profile_order_t)i), &o), 0);
        assert_int_equal(o, i);
    }
    assert_string_equal(profile_type_name(PROFILE_T_F32), "float32");
    assert_int_equal(profile_type_parse("int16", &t), -1);
    assert_int_equal(errno, EINVAL);
    assert_int_equal(profile_order_parse("abcd", &o), -1);
    assert_int_equal(profile_quantity_parse("power_factor", &q), -1);
    assert_string_equal(profile_quantity_name(Q_COUNT_), "?");
}

/* --- files ---------------------------------------------------------------------------- */

typedef struct tmp {
    char dir[256];
} tmp_t;

static void tmp_make(tmp_t *t)
{
    const char *base = getenv("TMPDIR");
    snprintf(t->dir, sizeof t->dir, "%s/wa-profile-XXXXXX", base && *base ? base : "/tmp");
    assert_non_null(mkdtemp(t->dir));
}

/* Writes text to dir/name (dir relative to the temp dir, "" for itself); returns the path. */
static const char *tmp_write(const tmp_t *t, const char *sub, const char *name, const char *text,
                             size_t len, char *path, size_t n)
{
    char dir[512];
    snprintf(dir, sizeof dir, "%s%s%s", t->dir, *sub ? "/" : "", sub);
    if (*sub)
        mkdir(dir, 0700);
    if ((size_t)snprintf(path, n, "%s/%s", dir, name) >= n)
        fail_msg("path too long: %s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
    return path;
}

static void rm_tree(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[1024];
    if (!d)
        return;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (unlink(path) < 0)
            rm_tree(path);
    }
    closedir(d);
    rmdir(dir);
}

#define HEAD "vendor = \"V\";\nmodel = \"M\";\nsource = \"S\";\n" /* lines 1-3 */
#define R1 "channel = \"L1\"; quantity = \"voltage\"; "
#define R2 "function = \"input\"; type = \"u16\"; order = \"ABCD\"; unit = \"V\"; "
#define ROW(fields) "  { " fields " }"
#define GOOD ROW(R1 "address = 0; " R2)
/* registers = ( on line 4 when it follows HEAD, first row on line 5 */
#define REGS(rows) "registers = (\n" rows "\n);\n"

static void test_load_good(void **state)
{
    static const char text[] =
        "# a small but complete profile\n"
        HEAD
        "max_regs = 60;\n"
        "defaults = { function = \"holding\"; type = \"s16\"; order = \"CDAB\"; unit = \"kW\"; "
        "scale = 0.1; };\n"
        "fingerprint = { register = \"L2/voltage\"; min = 90; max = 270.0; };\n"
        "registers = (\n"
        "  { channel = \"total\"; quantity = \"power\"; address = 10; na = [ -32768 ]; },\n"
        "  { channel = \"L1\"; quantity = \"voltage\"; address = 0x0100; unit = \"V\"; type = "
        "\"float32\"; order = \"ABCD\"; function = \"input\"; scale = 1; min = 0.0; max = 500; },\n"
        "  { channel = \"L2\"; quantity = \"voltage\"; address = 0x0102; unit = \"V\"; },\n"
        "  { channel = \"L1\"; quantity = \"pf\"; address = 20; sf = 21; },\n"
        "  { channel = \"total\"; quantity = \"energy_import\"; address = 30; type = \"u64\"; "
        "unit = \"kWh\"; na = ( 0xFFFFFFFFFFFFFFFFL, 0xFFFFFFFF, 0 ); },\n"
        "  { channel = \"total\"; quantity = \"current\"; address = 40; type = \"s32\"; "
        "unit = \"mA\"; na = [ 0x80000000 ]; }\n"
        ");\n";
    char err[512] = "", path[512];
    tmp_t t;
    (void)state;
    tmp_make(&t);
    tmp_write(&t, "", "acme-x1.conf", text, strlen(text), path, sizeof path);
    profile_t *p = profile_load_file(path, err, sizeof err);
    if (!p)
        fail_msg("%s", err);
    assert_string_equal(p->name, "acme-x1");
    assert_string_equal(p->vendor, "V");
    assert_string_equal(p->file, path);
    assert_int_equal(p->max_regs, 60);
    assert_int_equal(p->sunspec_model, 0);
    assert_int_equal(p->n_regs, 6);
    assert_int_equal(p->fingerprint_reg, 2);
    assert_true(p->fingerprint_min == 90.0 && p->fingerprint_max == 270.0);

    const profile_reg_t *r = &p->regs[0]; /* all from defaults */
    assert_int_equal(r->fn, PROFILE_FN_HOLDING);
    assert_int_equal(r->type, PROFILE_T_S16);
    assert_int_equal(r->order, PROFILE_CDAB);
    assert_true(r->scale == 0.1 && r->unit_factor == 1000.0);
    assert_true(isnan(r->min) && isnan(r->max));
    assert_int_equal(r->sf_address, -1);
    assert_int_equal(r->n_sentinels, 1);
    assert_true(r->sentinels[0] == 0x8000); /* -32768 as an s16 pattern */
    assert_int_equal(r->line, 9);

    r = &p->regs[1]; /* everything overridden */
    assert_int_equal(r->address, 0x100);
    assert_int_equal(r->fn, PROFILE_FN_INPUT);
    assert_int_equal(r->type, PROFILE_T_F32);
    assert_true(r->scale == 1.0 && r->unit_factor == 1.0 && r->min == 0.0 && r->max == 500.0);

    r = &p->regs[3]; /* pf: a ratio despite the default unit */
    assert_int_equal(r->quantity, Q_PF);
    assert_true(r->unit_factor == 1.0);
    assert_int_equal(r->sf_address, 21);

    r = &p->regs[4];
    assert_int_equal(r->n_sentinels, 3);
    assert_true(r->sentinels[0] == UINT64_MAX);
    assert_true(r->sentinels[1] == 0xFFFFFFFF); /* hex without L: 32 bits as written */
    assert_true(r->sentinels[2] == 0);
    assert_true(p->regs[5].sentinels[0] == 0x80000000);
    assert_true(p->regs[5].unit_factor == 1e-3);

    assert_int_equal(p->n_channels, 3);
    assert_string_equal(p->channels[0], "total");
    assert_string_equal(p->channels[1], "L1");
    assert_string_equal(p->channels[2], "L2");

    /* The first row decodes as configured: -123.4 kW at 0.1 kW per count, CDAB on one word. */
    uint16_t w = (uint16_t)(65536 - 1234);
    double v;
    assert_int_equal(profile_decode(&p->regs[0], &w, 0, &v), 0);
    assert_true(fabs(v - -123400.0) < 1e-6);
    w = 0x8000;
    assert_int_equal(profile_decode(&p->regs[0], &w, 0, &v), -1);
    assert_int_equal(errno, WA_ESENTINEL);

    profile_free(p);
    profile_free(NULL);
    rm_tree(t.dir);
}

static void test_load_errors(void **state)
{
    static const struct {
        const char *text;
        int line;
        const char *words;
    } cases[] = {
        /* libconfig's own errors */
        {HEAD "registers = ( { channel = \"L1\" \n);\n", 5, "syntax error"},
        {"vendor = \"V\";\nvendor = \"W\";\n", 2, "duplicate setting"},
        {HEAD "@include \"/etc/passwd\"\n" REGS(GOOD), 4, "@include"},
        /* unknown keys, named */
        {HEAD "colour = 3;\n" REGS(GOOD), 4, "unknown key 'colour' in profile"},
        {HEAD "defaults = { function = \"input\"; speed = 9600; };\n" REGS(GOOD), 4,
         "unknown key 'speed' in defaults"},
        {HEAD "fingerprint = { register = \"L1/voltage\"; min = 1.0; max = 2.0; unit = 1; };\n"
              REGS(GOOD),
         4, "unknown key 'unit' in fingerprint"},
        {HEAD REGS(ROW(R1 "address = 0; " R2 "wordswap = true;")), 5,
         "unknown key 'wordswap' in register row"},
        /* missing keys */
        {"model = \"M\";\nsource = \"S\";\n" REGS(GOOD), 1, "missing required key 'vendor'"},
        {HEAD, 1, "missing required key 'registers'"},
        {HEAD REGS(ROW("quantity = \"voltage\"; address = 0; " R2)), 5,
         "missing required key 'channel'"},
        {HEAD REGS(ROW("channel = \"L1\"; address = 0; " R2)), 5,
         "missing required key 'quantity'"},
        {HEAD REGS(ROW(R1 R2)), 5, "missing required key 'address'"},
        {HEAD REGS(ROW(R1 "address = 0; type = \"u16\"; order = \"ABCD\"; unit = \"V\";")), 5,
         "missing key 'function'"},
        {HEAD REGS(ROW(R1 "address = 0; function = \"input\"; order = \"ABCD\"; unit = \"V\";")),
         5, "missing key 'type'"},
        {HEAD REGS(ROW(R1 "address = 0; function = \"input\"; type = \"u16\"; unit = \"V\";")), 5,
         "missing key 'order'"},
        {HEAD REGS(ROW(R1 "address = 0; function = \"input\"; type = \"u16\"; order = \"ABCD\";")),
         5, "missing key 'unit'"},
        {HEAD "fingerprint = { register = \"L1/voltage\"; min = 1.0; };\n" REGS(GOOD), 4,
         "missing required key 'max' in fingerprint"},
        /* wrong types */
        {"vendor = 3;\nmodel = \"M\";\nsource = \"S\";\n" REGS(GOOD), 1,
         "'vendor' must be a string"},
        {"vendor = \"\";\nmodel = \"M\";\nsource = \"S\";\n" REGS(GOOD), 1, "must not be empty"},
        {HEAD REGS(ROW(R1 "address = \"0x10\"; " R2)), 5, "'address' must be a whole number"},
        {HEAD REGS(ROW(R1 "address = 1.5; " R2)), 5, "'address' must be a whole number"},
        {HEAD REGS(ROW(R1 "address = 0; scale = \"0.1\"; " R2)), 5, "'scale' must be a number"},
        {HEAD REGS(ROW(R1 "address = 0; min = true; " R2)), 5, "'min' must be a number"},
        {HEAD "defaults = ( 1 );\n" REGS(GOOD), 4, "'defaults' must be a group"},
        {HEAD "registers = { a = 1; };\n", 4, "'registers' must be a list"},
        {HEAD "registers = ( 1 );\n", 4, "must be a group"},
        {HEAD "registers = ( );\n", 4, "'registers' is empty"},
        {HEAD REGS(ROW(R1 "address = 0; na = 65535; " R2)), 5, "'na' must be an array"},
        {HEAD REGS(ROW(R1 "address = 0; na = [ \"x\" ]; " R2)), 5, "'na' must hold integers"},
        /* out of range */
        {HEAD REGS(ROW(R1 "address = 70000; " R2)), 5,
         "'address' = 70000 is out of range 0..65535"},
        {HEAD REGS(ROW(R1 "address = -1; " R2)), 5, "out of range 0..65535"},
        {HEAD REGS(ROW(R1 "address = 65535; function = \"input\"; type = \"float32\"; order = "
                          "\"ABCD\"; unit = \"V\";")),
         5, "runs past 65535"},
        {HEAD REGS(ROW(R1 "address = 65533; function = \"input\"; type = \"u64\"; order = "
                          "\"ABCD\"; unit = \"V\";")),
         5, "runs past 65535"},
        {HEAD "max_regs = 0;\n" REGS(GOOD), 4, "'max_regs' = 0 is out of range 1..125"},
        {HEAD "max_regs = 126;\n" REGS(GOOD), 4, "out of range 1..125"},
        {HEAD "max_regs = 1;\n" REGS(ROW(R1 "address = 0; function = \"input\"; type = \"u32\"; "
                                            "order = \"ABCD\"; unit = \"V\";")),
         6, "more than max_regs = 1"},
        {HEAD "max_regs = 3;\n" REGS(ROW(R1 "address = 0; function = \"input\"; type = "
                                            "\"float64\"; order = \"ABCD\"; unit = \"V\";")),
         6, "needs 4 registers"},
        {HEAD "sunspec_model = 0;\n" REGS(GOOD), 4, "'sunspec_model' = 0 is out of range"},
        {HEAD "sunspec_model = 65535;\n" REGS(GOOD), 4, "out of range 1..65534"},
        {HEAD REGS(ROW(R1 "address = 0; sf = 65536; " R2)), 5, "'sf' = 65536 is out of range"},
        {HEAD REGS(ROW(R1 "address = 0; scale = 0; " R2)), 5, "'scale' must not be 0"},
        {HEAD REGS(ROW(R1 "address = 0; min = 10.0; max = 5.0; " R2)), 5, "above 'max'"},
        {HEAD REGS(ROW(R1 "address = 0; na = [ 0x10000 ]; " R2)), 5, "does not fit type u16"},
        {HEAD REGS(ROW(R1 "address = 0; na = [ -1 ]; " R2)), 5, "does not fit type u16"},
        {HEAD REGS(ROW(R1 "address = 0; na = [ 1, 2, 3, 4, 5 ]; " R2)), 5, "at most 4"},
        /* unknown names */
        {HEAD REGS(ROW("channel = \"L1\"; quantity = \"power_factor\"; address = 0; " R2)), 5,
         "unknown quantity \"power_factor\""},
        {HEAD REGS(ROW(R1 "address = 0; function = \"coil\"; type = \"u16\"; order = \"ABCD\"; "
                          "unit = \"V\";")),
         5, "unknown function \"coil\""},
        {HEAD REGS(ROW(R1 "address = 0; function = \"input\"; type = \"int16\"; order = "
                          "\"ABCD\"; unit = \"V\";")),
         5, "unknown type \"int16\""},
        {HEAD REGS(ROW(R1 "address = 0; function = \"input\"; type = \"u16\"; order = "
                          "\"ABDC\"; unit = \"V\";")),
         5, "unknown order \"ABDC\""},
        {HEAD REGS(ROW(R1 "address = 0; function = \"input\"; type = \"u16\"; order = "
                          "\"ABCD\"; unit = \"kVA\";")),
         5, "unknown unit \"kVA\""},
        {HEAD "defaults = { unit = \"volts\"; };\n" REGS(GOOD), 4, "unknown unit \"volts\""},
        {HEAD REGS(ROW("channel = \"L1/x\"; quantity = \"voltage\"; address = 0; " R2)), 5,
         "letters, digits"},
        /* unit against quantity */
        {HEAD REGS(ROW("channel = \"t\"; quantity = \"power\"; address = 0; function = "
                       "\"input\"; type = \"u16\"; order = \"ABCD\"; unit = \"kWh\";")),
         5, "unit \"kWh\" does not fit quantity power"},
        {HEAD REGS(ROW("channel = \"t\"; quantity = \"energy_import\"; address = 0; function = "
                       "\"input\"; type = \"u16\"; order = \"ABCD\"; unit = \"kW\";")),
         5, "does not fit quantity energy_import"},
        {HEAD REGS(ROW("channel = \"t\"; quantity = \"voltage\"; address = 0; function = "
                       "\"input\"; type = \"u16\"; order = \"ABCD\"; unit = \"%\";")),
         5, "does not fit quantity voltage"},
        {HEAD "defaults = { function = \"input\"; type = \"u16\"; order = \"ABCD\"; unit = \"W\"; "
              "};\n" REGS(ROW(R1 "address = 0;")),
         6, "\"W\" (from defaults) does not fit quantity voltage"},
        /* duplicates and references */
        {HEAD REGS(GOOD ",\n" ROW("channel = \"L2\"; quantity = \"voltage\"; address = 2; " R2)
                        ",\n" ROW(R1 "address = 4; " R2)),
         7, "second row for L1/voltage (the first is at line 5)"},
        {HEAD "fingerprint = { register = \"L2/voltage\"; min = 1.0; max = 2.0; };\n" REGS(GOOD),
         4, "\"L2/voltage\" names no row"},
        {HEAD "fingerprint = { register = \"L1/current\"; min = 1.0; max = 2.0; };\n" REGS(GOOD),
         4, "names no row"},
        {HEAD "fingerprint = { register = \"L1-voltage\"; min = 1.0; max = 2.0; };\n" REGS(GOOD),
         4, "is not \"channel/quantity\""},
        {HEAD "fingerprint = { register = \"L1/volts\"; min = 1.0; max = 2.0; };\n" REGS(GOOD),
         4, "is not \"channel/quantity\""},
        {HEAD "fingerprint = { register = \"L1/voltage\";\n min = 3.0; max = 2.0; };\n" REGS(GOOD),
         4, "fingerprint 'min' 3 is above 'max' 2"},
    };
    char err[512], path[512], prefix[600];
    tmp_t t;
    (void)state;
    tmp_make(&t);
    for (size_t i = 0; i < N_OF(cases); i++) {
        print_message("error case %zu: expect line %d, \"%s\"\n", i, cases[i].line,
                      cases[i].words);
        tmp_write(&t, "", "bad.conf", cases[i].text, strlen(cases[i].text), path, sizeof path);
        err[0] = '\0';
        errno = 0;
        profile_t *p = profile_load_file(path, err, sizeof err);
        if (p) {
            profile_free(p);
            fail_msg("case %zu loaded but should fail:\n%s", i, cases[i].text);
        }
        assert_int_equal(errno, WA_ECONFIG);
        snprintf(prefix, sizeof prefix, "%s:%d: ", path, cases[i].line);
        if (strncmp(err, prefix, strlen(prefix)) != 0 || !strstr(err, cases[i].words))
            fail_msg("case %zu: got \"%s\", want prefix \"%s\" and \"%s\"", i, err, prefix,
                     cases[i].words);
    }
    /* A NUL byte would end the text early in libconfig; it is an error on its line. */
    tmp_write(&t, "", "nul.conf", HEAD "x\0y", sizeof(HEAD "x\0y") - 1, path, sizeof path);
    assert_null(profile_load_file(path, err, sizeof err));
    assert_int_equal(errno, WA_ECONFIG);
    assert_non_null(strstr(err, "nul.conf:4: NUL byte"));
    /* A file that is not there keeps the system's errno. */
    snprintf(path, sizeof path, "%s/missing.conf", t.dir);
    assert_null(profile_load_file(path, err, sizeof err));
    assert_int_equal(errno, ENOENT);
    assert_non_null(strstr(err, "missing.conf"));
    rm_tree(t.dir);
}

#define SMALL(vendor) "vendor = \"" vendor "\";\nmodel = \"M\";\nsource = \"S\";\n" REGS(GOOD)

static void test_set(void **state)
{
    char err[1024] = "", path[1024], a[300], b[300];
    tmp_t t;
    (void)state;
    tmp_make(&t);
    tmp_write(&t, "a", "zeta.conf", SMALL("A"), strlen(SMALL("A")), path, sizeof path);
    tmp_write(&t, "a", "alpha.conf", SMALL("A"), strlen(SMALL("A")), path, sizeof path);
    tmp_write(&t, "a", "README.md", "not a profile", 13, path, sizeof path);
    tmp_write(&t, "b", "zeta.conf", SMALL("B"), strlen(SMALL("B")), path, sizeof path);
    tmp_write(&t, "b", "mid.conf", SMALL("B"), strlen(SMALL("B")), path, sizeof path);
    tmp_write(&t, "b", ".hidden.conf", "garbage", 7, path, sizeof path);
    snprintf(a, sizeof a, "%s/a", t.dir);
    snprintf(b, sizeof b, "%s/b", t.dir);

    const char *dirs[] = {a, b};
    profile_set_t *ps = profile_set_load(dirs, 2, err, sizeof err);
    if (!ps)
        fail_msg("%s", err);
    assert_int_equal(profile_set_count(ps), 3);
    assert_string_equal(profile_set_at(ps, 0)->name, "alpha");
    assert_string_equal(profile_set_at(ps, 1)->name, "mid");
    assert_string_equal(profile_set_at(ps, 2)->name, "zeta");
    assert_null(profile_set_at(ps, 3));
    /* b comes later, so its zeta overrides a's */
    assert_string_equal(profile_set_find(ps, "zeta")->vendor, "B");
    assert_string_equal(profile_set_find(ps, "alpha")->vendor, "A");
    errno = 0;
    assert_null(profile_set_find(ps, "omega"));
    assert_int_equal(errno, WA_EPROFILE);
    profile_set_free(ps);

    /* In the other order a's zeta wins. */
    const char *rev[] = {b, a};
    ps = profile_set_load(rev, 2, err, sizeof err);
    assert_non_null(ps);
    assert_string_equal(profile_set_find(ps, "zeta")->vendor, "A");
    profile_set_free(ps);
    profile_set_free(NULL);

    /* One broken file fails everything, naming its file and line. */
    tmp_write(&t, "b", "broken.conf", HEAD "colour = 1;\n", strlen(HEAD "colour = 1;\n"), path,
              sizeof path);
    assert_null(profile_set_load(dirs, 2, err, sizeof err));
    assert_int_equal(errno, WA_ECONFIG);
    snprintf(path, sizeof path, "%s/broken.conf:4: unknown key 'colour'", b);
    assert_non_null(strstr(err, path));

    /* So does a missing directory. */
    snprintf(path, sizeof path, "%s/nowhere", t.dir);
    const char *missing[] = {a, path};
    assert_null(profile_set_load(missing, 2, err, sizeof err));
    assert_int_equal(errno, ENOENT);

    ps = profile_set_load(NULL, 0, err, sizeof err);
    assert_non_null(ps);
    assert_int_equal(profile_set_count(ps), 0);
    profile_set_free(ps);
    rm_tree(t.dir);
}

/* The profile that came with the project, checked against its datasheet rows. */
static void test_eastron(void **state)
{
    char err[512] = "";
    (void)state;
    profile_t *p = profile_load_file(WA_PROFILES_DIR "/eastron-sdm630.conf", err, sizeof err);
    if (!p)
        fail_msg("%s", err);
    assert_string_equal(p->name, "eastron-sdm630");
    assert_int_equal(p->max_regs, 80); /* 40 parameters per request, protocol V1.8 1.1 */
    assert_true(p->fingerprint_reg >= 0);
    const profile_reg_t *r = &p->regs[p->fingerprint_reg];
    assert_string_equal(r->channel, "L1");
    assert_int_equal(r->quantity, Q_VOLTAGE);
    assert_int_equal(r->address, 0x0000);
    assert_int_equal(r->fn, PROFILE_FN_INPUT);
    assert_int_equal(r->type, PROFILE_T_F32);
    assert_int_equal(r->order, PROFILE_ABCD);
    uint16_t w[2] = {0x4366, 0x8000};
    double v;
    assert_int_equal(profile_decode(r, w, 0, &v), 0);
    assert_true(v == 230.5);
    assert_true(v >= p->fingerprint_min && v <= p->fingerprint_max);
    /* Energy in kWh comes out in Wh: 1.5 kWh. */
    const profile_reg_t *e = NULL;
    for (size_t i = 0; i < p->n_regs; i++)
        if (p->regs[i].quantity == Q_ENERGY_IMPORT && strcmp(p->regs[i].channel, "total") == 0)
            e = &p->regs[i];
    assert_non_null(e);
    assert_int_equal(e->address, 0x48);
    w[0] = 0x3FC0;
    w[1] = 0x0000;
    assert_int_equal(profile_decode(e, w, 0, &v), 0);
    assert_true(v == 1500.0);
    profile_free(p);
}

/* Every file others put in profiles/ must load: a broken one would stop the collector. */
static void test_shipped_profiles(void **state)
{
    char err[512], path[1024];
    DIR *d = opendir(WA_PROFILES_DIR);
    struct dirent *e;
    int files = 0, broken = 0;
    (void)state;
    assert_non_null(d);
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (e->d_name[0] == '.' || len <= 5 || strcmp(e->d_name + len - 5, ".conf") != 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", WA_PROFILES_DIR, e->d_name);
        profile_t *p = profile_load_file(path, err, sizeof err);
        files++;
        if (!p) {
            print_error("broken profile: %s\n", err);
            broken++;
            continue;
        }
        print_message("%s: %zu rows, %zu channels\n", p->name, p->n_regs, p->n_channels);
        profile_free(p);
    }
    closedir(d);
    assert_true(files >= 1);
    assert_int_equal(broken, 0);

    const char *dirs[] = {WA_PROFILES_DIR};
    profile_set_t *ps = profile_set_load(dirs, 1, err, sizeof err);
    if (!ps)
        fail_msg("%s", err);
    assert_int_equal(profile_set_count(ps), files);
    assert_non_null(profile_set_find(ps, "eastron-sdm630"));
    profile_set_free(ps);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_type_words),    cmocka_unit_test(test_decode_vectors),
        cmocka_unit_test(test_decode_rows),   cmocka_unit_test(test_encode),
        cmocka_unit_test(test_round_trip),    cmocka_unit_test(test_names),
        cmocka_unit_test(test_load_good),     cmocka_unit_test(test_load_errors),
        cmocka_unit_test(test_set),           cmocka_unit_test(test_eastron),
        cmocka_unit_test(test_shipped_profiles),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
