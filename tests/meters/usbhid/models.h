/*
 * Report descriptors written for the tests, and the devices built on them.
 *
 * A small builder writes HID items (HID 1.11, 6.2.2) with the fewest bytes that carry each
 * value, so a model reads like a descriptor listing.  The models follow the layouts NUT's
 * subdriver tables describe for each vendor (the paths in meters/usbhid/quirks.c); the
 * values in their reports are chosen by the tests.
 */
#ifndef WA_TEST_USBHID_MODELS_H
#define WA_TEST_USBHID_MODELS_H

#include <stddef.h>
#include <stdint.h>

typedef struct dbuild {
    uint8_t b[1024];
    size_t n;
} dbuild_t;

void d_page(dbuild_t *d, uint16_t page);
void d_usage(dbuild_t *d, uint16_t id);
void d_coll(dbuild_t *d, uint8_t kind); /* 0 physical, 1 application, 2 logical */
void d_end(dbuild_t *d);
void d_rid(dbuild_t *d, uint8_t id);
void d_lmin(dbuild_t *d, int32_t v);
void d_lmax(dbuild_t *d, int32_t v);
void d_size(dbuild_t *d, uint8_t bits);
void d_count(dbuild_t *d, uint8_t n);
void d_unit(dbuild_t *d, uint32_t unit);
void d_uexp(dbuild_t *d, int8_t e);
void d_feature(dbuild_t *d);
void d_input(dbuild_t *d);
/* A variable field: usage, bits, logical range, unit and exponent, as Feature (and Input). */
void d_var(dbuild_t *d, uint16_t usage, uint8_t bits, int32_t lmin, int32_t lmax,
           uint32_t unit, int8_t uexp, int also_input);

/* The models.  Each fills d and returns the report layout it uses. */
void model_eaton(dbuild_t *d);      /* 0463: PowerConverter.Output, Flow.[4], PowerSummary */
void model_cps(dbuild_t *d);        /* 0764:0501: output voltage with HVT's copied range */
void model_apc(dbuild_t *d);        /* 051d: load and rating only */
void model_tripplite(dbuild_t *d);  /* 09ae:3016: Outlet power, PowerSummary.Voltage */
/* Every value in feature report 1, so that a replay does not depend on request order:
 * CyberPower's layout (UPS.Output.*) and Eaton/MGE's (PowerConverter.Output, Flow.[4]). */
void model_single(dbuild_t *d);
void model_single_mge(dbuild_t *d);

#endif
