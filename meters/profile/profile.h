/*
 * profile: device profiles (register maps as data files) and the decoding of register words.
 *
 * A profile is a libconfig file in a profile directory (docs/profiles.md).  Each register row
 * names a channel of the device, the quantity it carries, where it lives and how to decode it,
 * and where the map came from.  Users add a device by writing a file.
 *
 * Canonical units after decoding: W, Wh, V, A, Hz, and power factor as a plain ratio.
 */
#ifndef WA_PROFILE_H
#define WA_PROFILE_H

#include <stddef.h>
#include <stdint.h>

#define PROFILE_NAME_MAX 64
#define PROFILE_TEXT_MAX 256
#define PROFILE_SENTINELS_MAX 4

typedef enum { PROFILE_FN_HOLDING = 3, PROFILE_FN_INPUT = 4 } profile_fn_t;

typedef enum {
    PROFILE_T_U16, PROFILE_T_S16, PROFILE_T_U32, PROFILE_T_S32,
    PROFILE_T_U64, PROFILE_T_S64, PROFILE_T_F32, PROFILE_T_F64,
} profile_type_t;

/* Byte order of the value as it travels: A is the most significant byte.  ABCD is big-endian
 * words in big-endian order; CDAB swaps words; BADC swaps bytes within words; DCBA is fully
 * little-endian.  For 64-bit types the same rule applies to eight bytes. */
typedef enum { PROFILE_ABCD, PROFILE_CDAB, PROFILE_BADC, PROFILE_DCBA } profile_order_t;

typedef enum {
    Q_POWER,          /* active power, W */
    Q_ENERGY_IMPORT,  /* imported active energy, Wh */
    Q_ENERGY_EXPORT,  /* exported active energy, Wh */
    Q_VOLTAGE,        /* V */
    Q_CURRENT,        /* A */
    Q_PF,             /* power factor, ratio */
    Q_FREQUENCY,      /* Hz */
    Q_COUNT_
} profile_quantity_t;

typedef struct profile_reg {
    char channel[PROFILE_NAME_MAX]; /* e.g. "total", "L1", "outlet4" */
    profile_quantity_t quantity;
    profile_fn_t fn;
    uint16_t address;        /* absolute, or an offset in the SunSpec model when sunspec_model */
    profile_type_t type;
    profile_order_t order;
    double scale;            /* multiply raw by scale, then by the unit's factor */
    int sf_address;          /* -1, or the address of a SunSpec sunssf (s16 power of ten) */
    double unit_factor;      /* to canonical: kW -> 1000, kWh -> 1000, ... */
    double min, max;         /* plausible range in canonical units; NaN = unbounded */
    uint64_t sentinels[PROFILE_SENTINELS_MAX]; /* raw bit patterns meaning "not available" */
    size_t n_sentinels;
    int line;
} profile_reg_t;

typedef struct profile {
    char name[PROFILE_NAME_MAX];   /* the file name without .conf */
    char vendor[PROFILE_TEXT_MAX];
    char model[PROFILE_TEXT_MAX];
    char source[PROFILE_TEXT_MAX * 2]; /* the document the map comes from */
    int max_regs;                  /* largest read the device accepts; default 100 */
    int sunspec_model;             /* 0, or the SunSpec model id (base found via "SunS") */
    int fingerprint_reg;           /* index into regs of the row `scan` checks, or -1 */
    double fingerprint_min, fingerprint_max; /* range a real device shows there */
    profile_reg_t *regs;
    size_t n_regs;
    char (*channels)[PROFILE_NAME_MAX]; /* distinct channel names, in file order */
    size_t n_channels;
    char file[512];
} profile_t;

typedef struct profile_set profile_set_t;

/* Loads every *.conf in each directory.  A broken file fails the whole load with
 * "file:line: what" in err and errno WA_ECONFIG: a half-loaded set would hide meters.
 * A directory that cannot be opened fails it too, with the system's errno.
 * Directories are read in the order given, the files of one sorted by name; a profile in a
 * later directory replaces the one of the same name from an earlier directory, so users
 * override a shipped profile by putting their own file of that name in a later directory.
 * profile_set_at() lists the result sorted by name.
 * Caller frees with profile_set_free(). */
profile_set_t *profile_set_load(const char *const *dirs, size_t n_dirs, char *err, size_t errlen);
void profile_set_free(profile_set_t *ps);
/* Borrowed pointer valid until profile_set_free(); NULL (errno WA_EPROFILE) if absent. */
const profile_t *profile_set_find(const profile_set_t *ps, const char *name);
size_t profile_set_count(const profile_set_t *ps);
const profile_t *profile_set_at(const profile_set_t *ps, size_t i);

/* Loads one profile file.  NULL with errno and err as above.  Free with profile_free(). */
profile_t *profile_load_file(const char *path, char *err, size_t errlen);
void profile_free(profile_t *p);

/* Registers a type occupies: 1, 2 or 4. */
unsigned profile_type_words(profile_type_t t);

/* Reassembles the raw value of type t from words in order o (bits, zero-extended).  Built
 * with shifts, independent of host byte order; floats are made from these bits by memcpy. */
uint64_t profile_raw(const uint16_t *words, profile_type_t t, profile_order_t o);

/* Decodes one register row from the words at its address.  sf is the SunSpec scale factor
 * (ignored unless r->sf_address >= 0).  Returns 0 and the value in canonical units, or -1 with
 * errno WA_ESENTINEL (a "not available" pattern or NaN/Inf) or WA_ERANGE (outside min..max).
 * The sf must be in -10..10; 0x8000 (or -32768) is SunSpec's "not implemented" and gives
 * WA_ESENTINEL, any other value outside gives WA_ERANGE.  On WA_ERANGE from min..max, *out
 * still holds the decoded value (for the log); otherwise on error it is NaN. */
int profile_decode(const profile_reg_t *r, const uint16_t *words, int sf, double *out);

/* Encodes a value in the row's raw units (before scale) into words; the simulator's side.
 * Integers are rounded to nearest (halves away from zero) and saturated at the type's limits;
 * NaN becomes 0 for them.  A float32 saturates at +-FLT_MAX; NaN and infinities carry over.
 * Returns the number of words written (profile_type_words(t)), or 0 with errno EINVAL. */
unsigned profile_encode(double raw_value, profile_type_t t, profile_order_t o, uint16_t *words);

/* Name tables for messages and the file format. */
const char *profile_quantity_name(profile_quantity_t q);
int profile_quantity_parse(const char *s, profile_quantity_t *out);
const char *profile_type_name(profile_type_t t);
int profile_type_parse(const char *s, profile_type_t *out);
const char *profile_order_name(profile_order_t o);
int profile_order_parse(const char *s, profile_order_t *out);

#endif
