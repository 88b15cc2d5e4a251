/*
 * sunspec: finding a SunSpec model in a device's register map, with read requests only.
 *
 * The reads go through the caller's reader, so that the collector keeps its retries and the
 * scan its own bookkeeping; this module sends nothing itself.
 */
#ifndef WA_SUNSPEC_H
#define WA_SUNSPEC_H

#include <stddef.h>
#include <stdint.h>

/* Reads n holding registers at addr: 0, or -1 with errno (a Modbus exception is EMBXILADD
 * etc., libmodbus's codes). */
typedef int (*sunspec_read_fn)(void *arg, uint16_t addr, uint16_t n, uint16_t *dst, char *err,
                               size_t errlen);

/* Finds model `model` (0: the first meter model, 201-204 or 211-214) behind the "SunS" marker
 * at 40000, 0 or 50000 (SunSpec Information Model Specification, "Device Modbus map"), walking
 * the chain of (ID, length) headers.  0 with *model_addr = the address of the model's ID
 * register and *found_model (may be NULL) = its id; -1 with errno: WA_EPROFILE when there is no
 * marker or no such model (err says which models there are), or the reader's errno when a read
 * failed other than by a Modbus exception. */
int sunspec_find(sunspec_read_fn rd, void *arg, int model, int *found_model,
                 uint16_t *model_addr, char *err, size_t errlen);

#endif
