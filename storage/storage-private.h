/*
 * storage internals shared by the files of this module; no other module includes this.
 *
 * layout.c builds and creates channel files, rrdc.c speaks the rrdcached text protocol,
 * read.c serves storage_last and storage_fetch, storage.c owns the queue and the flush.
 */
#ifndef WA_STORAGE_PRIVATE_H
#define WA_STORAGE_PRIVATE_H

#include "storage/storage.h"

#include <stddef.h>
#include <stdint.h>

#include <rrd.h>

/* librrd's functions, from the library loaded on first use (rrdlib.c): a collector writing
 * through rrdcached never loads it.  Every librrd call in this module goes through here. */
typedef struct rrdlib {
    __typeof__(rrd_create_r2) *create_r2;
    __typeof__(rrd_update_r) *update_r;
    __typeof__(rrd_lastupdate_r) *lastupdate_r;
    __typeof__(rrd_last_r) *last_r;
    __typeof__(rrd_fetch_r) *fetch_r;
    __typeof__(rrd_get_error) *get_error;
    __typeof__(rrd_clear_error) *clear_error;
    __typeof__(rrd_freemem) *freemem;
} rrdlib_t;

/* The table, loading the library the first time.  NULL with errno WA_ERRD and err when it
 * cannot be loaded. */
const rrdlib_t *rrdlib(char *err, size_t errlen);

/* 0 if rel is a usable relative name: not empty, not absolute, no empty, "." or ".."
 * component, no whitespace or control character (the rrdcached protocol splits fields on
 * spaces).  Else -1 with errno EINVAL and the reason in err. */
int storage_rel_check(const char *rel, char *err, size_t errlen);

/* mkdir -p of every folder in path up to its last '/', mode 0755.  0, or -1 with errno and
 * err naming the folder that failed. */
int storage_mkdirs_for(const char *path, char *err, size_t errlen);

/* mkdir -p of dir itself.  Same contract. */
int storage_mkdirs(const char *dir, char *err, size_t errlen);

/* The data-source and archive definitions of a file made with lay (host: the host layout),
 * "DS:power:GAUGE:6:U:U", "RRA:AVERAGE:0.5:1:43200"...: returns their count (at most
 * STORAGE_DEFS_MAX), or -1 with errno EINVAL and err (naming path) for a bad layout. */
#define STORAGE_DEFS_MAX (STORAGE_DS_COUNT_ + 8) /* up to 7 DS and 1 + 3 + 4 RRAs */
#define STORAGE_DEF_MAX 80
int storage_layout_defs(const char *path, const storage_layout_t *lay, int host,
                        char defs[][STORAGE_DEF_MAX], char *err, size_t errlen);

/* Creates path with the channel layout (host: the host layout), never replacing an existing
 * file.  0 if created; -1 with errno EEXIST if it was there already (err untouched); -1 with
 * errno EINVAL for a bad layout, WA_ERRD for librrd's refusals, err naming the file. */
int storage_layout_create(const char *path, const storage_layout_t *lay, int host, int64_t start,
                          char *err, size_t errlen);

/* Formats "t:v:v:..." for the first n_ds values of one sample (NaN and infinities as "U")
 * into buf; returns the length, or -1 (errno ENOSPC) if it did not fit. */
int storage_format_update(char *buf, size_t len, int64_t t, const storage_sample_t *s, int n_ds);

/* The number of data sources of a file made with lay (host: a host file). */
int storage_layout_n_ds(const storage_layout_t *lay, int host);

/* A file's last values, its data sources named names[0..n) with values vals[0..n) as
 * rrd_lastupdate gives them ("U" = unknown), into s by storage's data-source order (a host
 * file's in v[0..STORAGE_HOST_DS_COUNT_)); the rest NaN. */
void storage_last_fill(char **names, char **vals, unsigned long n, storage_sample_t *s);

/* How many data sources of a file, named names[0..n), storage writes positionally: a prefix of
 * the channel ones, or exactly the host ones.  -1 for any other file. */
int storage_known_ds(char **names, unsigned long n);

/*
 * A connection to rrdcached.  Not thread-safe: the owner serialises calls.  Connects lazily
 * and again after any failure.  Every function returning int gives 0 when the daemon
 * answered (whatever it answered) and -1 with errno when the connection failed or the peer
 * spoke the protocol wrongly (WA_EPROTO); the connection is then closed.
 */
typedef struct rrdc_conn rrdc_conn_t;

/* rrd_client.h RRD_CMD_MAX: the daemon reads commands into buffers of this size, so every
 * line sent, newline included, stays below it. */
#define RRDC_LINE_MAX 4096

/* addr as rrdtool takes it: "unix:/path", "/path", "host", "host:port", "[v6]:port".
 * NULL with errno EINVAL and err for a malformed address; nothing is connected yet. */
rrdc_conn_t *rrdc_conn_new(const char *addr, char *err, size_t errlen);
void rrdc_conn_free(rrdc_conn_t *c);
const char *rrdc_conn_addr(const rrdc_conn_t *c);

/* Sends one command line (no newline) and reads the status line; lines that follow a positive
 * status are read and discarded.  *status gets the daemon's code, msg its text. */
int rrdc_conn_command(rrdc_conn_t *c, const char *line, int *status, char *msg, size_t msglen,
                      char *err, size_t errlen);

/* The same, handing each line that follows a positive status to on_line (NULL: discarded);
 * the line is only valid during the call. */
typedef void (*rrdc_line_fn)(void *arg, const char *line);
int rrdc_conn_query(rrdc_conn_t *c, const char *line, int *status, char *msg, size_t msglen,
                    rrdc_line_fn on_line, void *arg, char *err, size_t errlen);

/* Called once per command the daemon reported failed in a batch: index is 0-based in the
 * order sent. */
typedef void (*rrdc_batch_error_fn)(void *arg, size_t index, const char *msg);

/* Runs cmds (n_cmds lines, each ending in '\n', in one buffer of len bytes) as one BATCH.
 * Returns 0 with *n_errors set once the daemon's summary is read. */
int rrdc_conn_batch(rrdc_conn_t *c, const char *cmds, size_t len, size_t n_cmds,
                    rrdc_batch_error_fn on_error, void *arg, size_t *n_errors, char *err,
                    size_t errlen);

/* FLUSH for one file, on a connection of its own: for readers that hold no storage_t.
 * 0 when the file was written out or had nothing pending; -1 with errno (WA_ERRD when the
 * daemon refused) and err naming the file and the daemon. */
int rrdc_flush_once(const char *addr, const char *file, char *err, size_t errlen);

#endif
