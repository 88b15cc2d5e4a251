/*
 * common: what every wattaudit module shares and nothing more.
 *
 * Error codes, a logger that writes to a caller-chosen stream, ISO 8601 time
 * parsing, and the clock that lets the simulator and the collector share a
 * simulated time.  No function here keeps global state.
 */
#ifndef WA_COMMON_H
#define WA_COMMON_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Project errno values start far above the system's, like libmodbus's MODBUS_ENOBASE. */
#define WA_ENOBASE 200000
enum {
    WA_ECONFIG = WA_ENOBASE + 1, /* configuration or profile is invalid */
    WA_EPROFILE,                 /* profile not found or unusable */
    WA_ERANGE,                   /* value outside its plausible range */
    WA_ESENTINEL,                /* meter said "not available" */
    WA_ESTALE,                   /* data too old to trust */
    WA_EQUARANTINE,              /* device is quarantined */
    WA_EWRITEFC,                 /* a non-read Modbus function was refused */
    WA_ERRD,                     /* librrd or rrdcached reported an error */
    WA_EPROTO,                   /* peer spoke the protocol wrongly */
};

/* Returns a static, immutable description; falls back to strerror(). */
const char *wa_strerror(int errnum);

/* Formats into err (size errlen, always NUL-terminated when errlen > 0); returns -1 so that
 * callers can write `return wa_err(err, errlen, ...);`.  errno is left as the caller set it. */
int wa_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

typedef enum { WA_LOG_ERROR, WA_LOG_WARN, WA_LOG_INFO, WA_LOG_DEBUG } wa_log_level_t;

/* A logger is a value: stream and threshold.  Lines are written whole with one fputs so that
 * threads do not interleave within a line. */
typedef struct wa_log {
    FILE *stream;
    wa_log_level_t level;
} wa_log_t;

void wa_log(const wa_log_t *log, wa_log_level_t level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Parses "2026-11-02T14:00", "2026-11-02 14:00:05", "2026-11-02" (local time in tz, an IANA
 * name; NULL or "" = the process's TZ), with an optional trailing "Z" or "+08:00" offset, or a
 * plain integer of Unix seconds.  Returns 0 and sets *out, or -1 with errno EINVAL. */
int wa_time_parse(const char *s, const char *tz, int64_t *out);

/* Many conversions in one zone.  A conversion in a zone other than the process's switches TZ
 * and back, and glibc's tzset() reads the zone's file at each switch (about 35 us): a caller
 * with thousands of times to read (a Slurm export) holds the zone once instead.  While held,
 * the holder owns the process's zone (other conversions wait), and wa_time_parse_held() reads
 * local times in it.  Release on every path. */
typedef struct wa_tz_hold {
    int switched, had;
    char old[256];
} wa_tz_hold_t;
void wa_tz_hold(const char *tz, wa_tz_hold_t *h);
void wa_tz_release(wa_tz_hold_t *h);
/* wa_time_parse in the zone the caller holds. */
int wa_time_parse_held(const char *s, int64_t *out);

/* Formats t as "YYYY-MM-DD HH:MM" in tz (NULL = process TZ) into buf; returns buf. */
char *wa_time_format(int64_t t, const char *tz, char *buf, size_t len);

/* Breaks t down into local time in tz (NULL or "" = process TZ).  0, or -1 with errno. */
struct tm;
int wa_time_local(int64_t t, const char *tz, struct tm *out);

/* Reads a whole file of at most max bytes.  Returns a malloc'ed buffer with a NUL after the
 * data (the caller frees; the data may itself hold NULs) and its length in *len, or NULL with
 * errno (the open's errno, EFBIG when the file is larger than max, ENOMEM, EIO) and
 * "FILE: why" in err (err may be NULL). */
char *wa_file_read(const char *path, size_t max, size_t *len, char *err, size_t errlen);

/* Replaces path with len bytes of data so that readers see the old file or the new one, never
 * a part: writes path.tmp.PID, fsyncs, renames.  0, or -1 with errno and "FILE: why" in err
 * (the temporary file is removed). */
int wa_file_write_atomic(const char *path, const void *data, size_t len, char *err,
                         size_t errlen);
/* The same without the fsync, for a file rewritten every few seconds whose loss in a power cut
 * costs nothing (the collector's status file): readers still never see a part, but after a
 * crash the file may be the previous one or empty until the next rewrite.  The fsync is most of
 * the cost of a small rewrite. */
int wa_file_write_atomic_nosync(const char *path, const void *data, size_t len, char *err,
                                size_t errlen);

/* Copies src into dst of size n; returns -1 (errno ENAMETOOLONG) if it did not fit. */
int wa_strlcpy(char *dst, const char *src, size_t n);

/*
 * The clock.  A real clock reads CLOCK_REALTIME.  A shared clock lives in a small file that
 * several processes map: the simulator reads it, the collector drives it.  In stepped mode the
 * owner advances time explicitly (weeks pass in seconds, deterministically); in scaled mode time
 * runs at `speed` times real time from an origin.
 */
typedef struct wa_clock wa_clock_t;

/* Returns NULL with errno on failure. */
wa_clock_t *wa_clock_real(void);
/* Creates or truncates the clock file at path, stepped mode, starting at t0. */
wa_clock_t *wa_clock_create_stepped(const char *path, int64_t t0);
/* Creates the clock file in scaled mode: sim time t0 now, advancing speed sim-s per real s. */
wa_clock_t *wa_clock_create_scaled(const char *path, int64_t t0, double speed);
/* Opens an existing clock file read-only (the simulator's side). errno EPROTO if not a clock. */
wa_clock_t *wa_clock_open(const char *path);
void wa_clock_close(wa_clock_t *c);

/* Current time in Unix seconds, with sub-second part. */
double wa_clock_now(const wa_clock_t *c);
/* 1 if the clock is stepped (time only moves when the owner sets it). */
int wa_clock_is_stepped(const wa_clock_t *c);
/* Stepped clocks only: moves time to t (never backwards).  -1 with EINVAL otherwise. */
int wa_clock_set(wa_clock_t *c, double t);

#endif
