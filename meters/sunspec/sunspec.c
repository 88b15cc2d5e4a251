/*
 * SunSpec discovery, with read requests only: find the "SunS" marker, then walk the chain of
 * model headers to the model a profile describes.  Shared by the collector and the scan.
 */
#include "meters/sunspec/sunspec.h"

#include "common/common.h"

#include <errno.h>
#include <modbus.h>
#include <string.h>

/* SunSpec Information Model Specification (v1.0), "Device Modbus map": the map starts with
 * the well-known value 0x53756e53 ("SunS") at holding register 40000 (the usual base), 0 or
 * 50000; models follow as (ID, L) headers, each model L registers long after its header, and
 * the chain ends with ID 0xFFFF. */
static const uint16_t sunspec_bases[] = {40000, 0, 50000};
#define SUNSPEC_MARK_HI 0x5375
#define SUNSPEC_MARK_LO 0x6e53
#define SUNSPEC_END 0xFFFF
/* A real map holds a handful of models; a chain longer than this is a device answering
 * every address with the same words. */
#define SUNSPEC_MAX_MODELS 64

/* An exception at a candidate base only means "not here". */
static int is_exception(int e)
{
    return e >= EMBXILFUN && e <= EMBXGTAR;
}

/* SunSpec meter models: 201-204 (integer + scale factor), 211-214 (float). */
static int is_meter_model(unsigned id)
{
    return (id >= 201 && id <= 204) || (id >= 211 && id <= 214);
}

int sunspec_find(sunspec_read_fn rd, void *arg, int model, int *found_model,
                 uint16_t *model_addr, char *err, size_t errlen)
{
    uint16_t w[2];
    char seen[256] = "";
    size_t off = 0;
    int found = -1;

    for (size_t i = 0; i < sizeof sunspec_bases / sizeof sunspec_bases[0]; i++) {
        if (rd(arg, sunspec_bases[i], 2, w, err, errlen) != 0) {
            if (is_exception(errno))
                continue;
            return -1;
        }
        if (w[0] == SUNSPEC_MARK_HI && w[1] == SUNSPEC_MARK_LO) {
            found = sunspec_bases[i];
            break;
        }
    }
    if (found < 0) {
        errno = WA_EPROFILE;
        return wa_err(err, errlen, "no SunSpec marker \"SunS\" at 40000, 0 or 50000");
    }
    uint32_t p = (uint32_t)found + 2;
    for (int k = 0; k < SUNSPEC_MAX_MODELS && p + 2 <= 0x10000u; k++) {
        if (rd(arg, (uint16_t)p, 2, w, err, errlen) != 0) {
            if (is_exception(errno)) {
                int e = errno;
                wa_err(err, errlen, "SunSpec model chain at %d breaks off at %u (%s)", found,
                       (unsigned)p, modbus_strerror(e));
                errno = WA_EPROFILE;
            }
            return -1;
        }
        if (w[0] == SUNSPEC_END)
            break;
        if (model ? w[0] == model : is_meter_model(w[0])) {
            *model_addr = (uint16_t)p;
            if (found_model)
                *found_model = w[0];
            return 0;
        }
        if (off < sizeof seen - 8)
            off += (size_t)snprintf(seen + off, sizeof seen - off, "%s%u", off ? ", " : "",
                                    (unsigned)w[0]);
        p += 2u + w[1];
    }
    errno = WA_EPROFILE;
    if (model)
        return wa_err(err, errlen, "SunSpec model %d not found behind the marker at %d (models: %s)",
                      model, found, off ? seen : "none");
    return wa_err(err, errlen, "no SunSpec meter model behind the marker at %d (models: %s)",
                  found, off ? seen : "none");
}
