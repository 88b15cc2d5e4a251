/*
 * The write side: a queue of samples filled by any thread and written out in batches, per file
 * in time order, directly with librrd or through rrdcached (docs/rrd-layout.md).
 *
 * Locks: io_lock serialises flushes, file creation and the rrdcached connection; lock guards
 * the file table, the queue and the counters.  io_lock is always taken first.  A file's
 * last-written time and forget flag are touched under io_lock only.
 */
#include "storage/storage-private.h"

#include "common/common.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct sfile {
    char *rel, *path;
    int64_t last; /* newest time in the file; meaningful when last_known */
    int last_known;
    int forget;         /* rrdcached has to FORGET the name before the next update */
    int n_ds;           /* data sources in the file, 0 = not read yet; set under both locks */
    struct sfile *next; /* hash chain */
};

/* Power, energy and energy_raw travel in the item; voltage, current, pf and frequency, absent
 * from files made with no_quality and from most PDUs' profiles, in a side pool.  An item is
 * then 56 bytes instead of 88, and a direct-mode queue holds a minute of every channel.  A host
 * file's samples are positional: cpu, gpu and gpu_w in the item, gauge in the pool. */
#define N_HEAD STORAGE_DS_VOLTAGE
#define N_QUAL (STORAGE_DS_COUNT_ - STORAGE_DS_VOLTAGE)
#define NO_Q UINT32_MAX

struct qvals {
    double v[N_QUAL];
};

struct item {
    struct sfile *f;
    int64_t t;
    uint64_t seq; /* put order: of two samples at one time the first is kept */
    uint32_t q;   /* index of the quality values in the pool; NO_Q: all unknown */
    int retry;    /* was sent in a batch whose connection failed */
    double v[N_HEAD];
};

struct storage {
    char *data_dir;
    rrdc_conn_t *conn; /* NULL: write with librrd directly */
    pthread_mutex_t io_lock, lock;
    struct sfile **buckets;
    size_t n_buckets, n_files;
    struct item *q;
    size_t q_len, q_cap;
    struct qvals *qp; /* the quality values of queued items */
    size_t qp_len, qp_cap;
    uint64_t seq;
    storage_stats_t stats;
};

/* Samples in one "t:v:..." argument: 20 digits of time and seven 24-character numbers. */
#define UPDATE_ARG_MAX 256

storage_t *storage_open(const char *data_dir, const char *rrdcached, char *err, size_t errlen)
{
    char abs[PATH_MAX];
    if (!data_dir || !*data_dir) {
        errno = EINVAL;
        wa_err(err, errlen, "storage: no data folder given");
        return NULL;
    }
    if (storage_mkdirs(data_dir, err, errlen) < 0)
        return NULL;
    if (!realpath(data_dir, abs)) {
        int e = errno;
        wa_err(err, errlen, "storage: data folder '%s': %s", data_dir, strerror(e));
        errno = e;
        return NULL;
    }
    if (rrdcached && *rrdcached && strpbrk(abs, " \t\r\n")) {
        errno = EINVAL;
        wa_err(err, errlen,
               "storage: data folder '%s' holds whitespace, which rrdcached's "
               "protocol cannot carry",
               abs);
        return NULL;
    }
    storage_t *st = calloc(1, sizeof *st);
    if (!st)
        goto nomem;
    st->n_buckets = 64;
    st->buckets = calloc(st->n_buckets, sizeof *st->buckets);
    st->data_dir = strdup(abs);
    if (!st->buckets || !st->data_dir)
        goto nomem;
    if (rrdcached && *rrdcached && !(st->conn = rrdc_conn_new(rrdcached, err, errlen))) {
        int e = errno;
        free(st->buckets);
        free(st->data_dir);
        free(st);
        errno = e;
        return NULL;
    }
    pthread_mutex_init(&st->io_lock, NULL);
    pthread_mutex_init(&st->lock, NULL);
    return st;
nomem:
    if (st) {
        free(st->buckets);
        free(st->data_dir);
        free(st);
    }
    errno = ENOMEM;
    wa_err(err, errlen, "storage: out of memory");
    return NULL;
}

void storage_close(storage_t *st)
{
    if (!st)
        return;
    storage_flush(st, NULL, 0);
    for (size_t b = 0; b < st->n_buckets; b++) {
        for (struct sfile *f = st->buckets[b], *next; f; f = next) {
            next = f->next;
            free(f->rel);
            free(f->path);
            free(f);
        }
    }
    free(st->buckets);
    free(st->q);
    free(st->qp);
    rrdc_conn_free(st->conn);
    free(st->data_dir);
    pthread_mutex_destroy(&st->io_lock);
    pthread_mutex_destroy(&st->lock);
    free(st);
}

int storage_path(const storage_t *st, const char *rel, char *buf, size_t len)
{
    if (!st || !buf || storage_rel_check(rel, NULL, 0) < 0) {
        errno = EINVAL;
        return -1;
    }
    int n = snprintf(buf, len, "%s/%s.rrd", st->data_dir, rel);
    if (n < 0 || (size_t)n >= len) {
        errno = ENAMETOOLONG;
        return -1;
    }
    return 0;
}

/* FNV-1a, 32 bits (Fowler, Noll, Vo; offset basis 2166136261, prime 16777619). */
static size_t hash_name(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 16777619u;
    }
    return h;
}

static void grow_table(storage_t *st)
{
    size_t n = st->n_buckets * 2;
    struct sfile **b = calloc(n, sizeof *b);
    if (!b)
        return; /* longer chains, still correct */
    for (size_t i = 0; i < st->n_buckets; i++) {
        for (struct sfile *f = st->buckets[i], *next; f; f = next) {
            next = f->next;
            size_t h = hash_name(f->rel) % n;
            f->next = b[h];
            b[h] = f;
        }
    }
    free(st->buckets);
    st->buckets = b;
    st->n_buckets = n;
}

/* Finds or adds the file of rel (already checked).  Call with lock held.  NULL: ENOMEM or
 * ENAMETOOLONG. */
static struct sfile *file_get(storage_t *st, const char *rel)
{
    size_t h = hash_name(rel) % st->n_buckets;
    for (struct sfile *f = st->buckets[h]; f; f = f->next)
        if (strcmp(f->rel, rel) == 0)
            return f;
    char path[PATH_MAX];
    if (storage_path(st, rel, path, sizeof path) < 0)
        return NULL;
    struct sfile *f = calloc(1, sizeof *f);
    if (!f || !(f->rel = strdup(rel)) || !(f->path = strdup(path))) {
        if (f)
            free(f->rel);
        free(f);
        errno = ENOMEM;
        return NULL;
    }
    f->next = st->buckets[h];
    st->buckets[h] = f;
    if (++st->n_files > st->n_buckets)
        grow_table(st);
    return f;
}

static struct sfile *file_lookup(storage_t *st, const char *rel)
{
    pthread_mutex_lock(&st->lock);
    struct sfile *f = file_get(st, rel);
    pthread_mutex_unlock(&st->lock);
    return f;
}

/* Reads a file's last update, the count of data sources it is written with and (s not NULL)
 * its last values, in one librrd call.  0, or -1
 * with the reason in *why (librrd's message, or a file that is not ours). */
static int read_last(const char *path, int64_t *last_out, int *n_ds_out, storage_sample_t *s,
                     char *why, size_t len)
{
    const rrdlib_t *R = rrdlib(why, len);
    if (!R)
        return -1;
    time_t last = 0;
    unsigned long n = 0;
    char **names = NULL, **vals = NULL;
    R->clear_error();
    if (R->lastupdate_r(path, &last, &n, &names, &vals) != 0) {
        const char *msg = R->get_error();
        snprintf(why, len, "%s", msg && *msg ? msg : "unreadable");
        R->clear_error();
        return -1;
    }
    int n_ds = storage_known_ds(names, n);
    if (s && n_ds >= 0)
        storage_last_fill(names, vals, n, s);
    for (unsigned long i = 0; i < n; i++) {
        R->freemem(names[i]);
        R->freemem(vals[i]);
    }
    R->freemem(names);
    R->freemem(vals);
    if (n_ds < 0) {
        snprintf(why, len, "its data sources are not a channel or host file's (docs/rrd-layout.md)");
        return -1;
    }
    *last_out = (int64_t)last;
    *n_ds_out = n_ds;
    return 0;
}

/* What rrdcached's INFO says of a file: "last_update 1 N", "ds[NAME].index 1 K",
 * "ds[NAME].last_ds 2 V" (rrd_info's keys, with a type code between key and value). */
#define INFO_DS_MAX 16
struct info {
    int64_t last;
    int have_last;
    unsigned long n;                 /* 1 + the highest index seen */
    char names[INFO_DS_MAX][64];
    char vals[INFO_DS_MAX][64];
    int bad;                         /* a ds index out of range or a name too long */
};

/* "ds[NAME].FIELD" -> NAME into name, FIELD's start into *field; 0, or -1 if not a ds key. */
static int info_ds_key(const char *key, char *name, size_t cap, const char **field)
{
    if (strncmp(key, "ds[", 3) != 0)
        return -1;
    const char *close = strchr(key + 3, ']');
    if (!close || close[1] != '.' || (size_t)(close - key - 3) >= cap)
        return -1;
    memcpy(name, key + 3, (size_t)(close - key - 3));
    name[close - key - 3] = '\0';
    *field = close + 2;
    return 0;
}

static void info_line(void *arg, const char *line)
{
    struct info *in = arg;
    char key[128], type[8], value[64], name[64];
    const char *field;
    if (sscanf(line, "%127s %7s %63s", key, type, value) != 3)
        return;
    if (strcmp(key, "last_update") == 0) {
        char *end;
        long long v = strtoll(value, &end, 10);
        if (end != value && *end == '\0') {
            in->last = v;
            in->have_last = 1;
        }
        return;
    }
    if (info_ds_key(key, name, sizeof name, &field) < 0)
        return;
    if (strcmp(field, "index") == 0) {
        char *end;
        long k = strtol(value, &end, 10);
        if (end == value || k < 0 || k >= INFO_DS_MAX) {
            in->bad = 1;
            return;
        }
        snprintf(in->names[k], sizeof in->names[k], "%s", name);
        if ((unsigned long)k + 1 > in->n)
            in->n = (unsigned long)k + 1;
    } else if (strcmp(field, "last_ds") == 0) {
        /* rrd_info lists a DS's fields together, index first: the latest index names it. */
        for (unsigned long k = 0; k < in->n; k++)
            if (strcmp(in->names[k], name) == 0)
                snprintf(in->vals[k], sizeof in->vals[k], "%s", value);
    }
}

/* Asks rrdcached about path: FLUSH first (its pending updates are newer than the file), then
 * INFO.  io_lock held.  0 with *in filled, or -1 with the reason in why. */
static int daemon_info(storage_t *st, const char *path, struct info *in, char *why, size_t len)
{
    char line[PATH_MAX + 16], msg[256];
    int status;
    memset(in, 0, sizeof *in);
    for (size_t k = 0; k < INFO_DS_MAX; k++)
        snprintf(in->vals[k], sizeof in->vals[k], "U");
    snprintf(line, sizeof line, "FLUSH %s", path);
    if (rrdc_conn_command(st->conn, line, &status, msg, sizeof msg, why, len) < 0)
        return -1;
    snprintf(line, sizeof line, "INFO %s", path);
    if (rrdc_conn_query(st->conn, line, &status, msg, sizeof msg, info_line, in, why, len) < 0)
        return -1;
    if (status < 0) {
        snprintf(why, len, "rrdcached at %s: %s", rrdc_conn_addr(st->conn), msg);
        return -1;
    }
    if (!in->have_last || in->n == 0 || in->bad) {
        snprintf(why, len, "rrdcached at %s: INFO did not describe the file",
                 rrdc_conn_addr(st->conn));
        return -1;
    }
    return 0;
}

/* The last update and the data sources storage writes, from the daemon or the file. */
static int last_of(storage_t *st, const char *path, int64_t *last, int *n_ds,
                   storage_sample_t *s, char *why, size_t len)
{
    if (!st->conn) {
        return read_last(path, last, n_ds, s, why, len);
    }
    struct info in;
    char *names[INFO_DS_MAX], *vals[INFO_DS_MAX];
    if (daemon_info(st, path, &in, why, len) < 0)
        return -1;
    for (unsigned long k = 0; k < in.n; k++) {
        names[k] = in.names[k];
        vals[k] = in.vals[k];
    }
    *n_ds = storage_known_ds(names, in.n);
    if (*n_ds < 0) {
        snprintf(why, len, "its data sources are not a channel or host file's (docs/rrd-layout.md)");
        return -1;
    }
    *last = in.last;
    if (s)
        storage_last_fill(names, vals, in.n, s);
    return 0;
}

/* Makes the file through the daemon: CREATE ... -O (never over an existing file).  io_lock
 * held.  0 if made; -1 with errno EEXIST if it was there; else -1 with errno and err. */
static int daemon_create(storage_t *st, const char *path, const storage_layout_t *lay, int host,
                         int64_t start, char *err, size_t errlen)
{
    char defs[STORAGE_DEFS_MAX][STORAGE_DEF_MAX], line[RRDC_LINE_MAX], msg[256];
    int status, argc = storage_layout_defs(path, lay, host, defs, err, errlen);
    if (argc < 0)
        return -1;
    if (access(path, F_OK) == 0) {
        errno = EEXIST;
        return -1;
    }
    /* The daemon makes no folders unless started with -R: ours are made here. */
    if (storage_mkdirs_for(path, err, errlen) < 0)
        return -1;
    int used = snprintf(line, sizeof line, "CREATE %s -s %d -b %lld -O", path, lay->step_s,
                        (long long)start);
    for (int i = 0; i < argc && used > 0 && (size_t)used < sizeof line; i++)
        used += snprintf(line + used, sizeof line - (size_t)used, " %s", defs[i]);
    if (used < 0 || (size_t)used >= sizeof line) {
        errno = ENAMETOOLONG;
        return wa_err(err, errlen, "%s: CREATE line too long for rrdcached", path);
    }
    if (rrdc_conn_command(st->conn, line, &status, msg, sizeof msg, err, errlen) < 0)
        return -1;
    if (status >= 0)
        return 0;
    if (access(path, F_OK) == 0) { /* made meanwhile, by us earlier or by someone else */
        errno = EEXIST;
        return -1;
    }
    errno = WA_ERRD;
    return wa_err(err, errlen, "%s: cannot create through rrdcached at %s: %s", path,
                  rrdc_conn_addr(st->conn), msg);
}

static int ensure(storage_t *st, const char *rel, const storage_layout_t *lay, int host,
                  int64_t start, char *err, size_t errlen)
{
    if (!st || !lay) {
        errno = EINVAL;
        return wa_err(err, errlen, "storage_ensure: storage and layout are required");
    }
    if (storage_rel_check(rel, err, errlen) < 0)
        return -1;
    struct sfile *f = file_lookup(st, rel);
    if (!f)
        return wa_err(err, errlen, "%s: %s", rel, strerror(errno));

    pthread_mutex_lock(&st->io_lock);
    int rc = 0;
    if (access(f->path, F_OK) == 0) {
        /* Direct writes: learnt now, when the caller is starting up anyway, rather than in
         * the first flush (which would otherwise open every file once more).  A file that
         * cannot be read is left for the flush to report.  With rrdcached the daemon may
         * hold newer updates than the file: the flush asks it to write them out first. */
        int64_t last;
        int n_ds;
        char why[256];
        if (!st->conn && !(f->last_known && f->n_ds > 0) &&
            read_last(f->path, &last, &n_ds, NULL, why, sizeof why) == 0) {
            pthread_mutex_lock(&st->lock);
            f->n_ds = n_ds;
            pthread_mutex_unlock(&st->lock);
            f->last = last;
            f->last_known = 1;
        }
        goto out;
    }
    int made = -1, up = 0;
    if (st->conn) {
        /* rrdcached keeps the last update time of a name it has seen; a file made anew
         * under that name would have its first updates refused as too old. */
        char line[PATH_MAX + 16], msg[256];
        int status;
        snprintf(line, sizeof line, "FORGET %s", f->path);
        if (rrdc_conn_command(st->conn, line, &status, msg, sizeof msg, NULL, 0) < 0)
            f->forget = 1; /* daemon unreachable: forget before the next update instead */
        else
            up = 1;
    }
    if (up)
        made = daemon_create(st, f->path, lay, host, start, err, errlen);
    else /* direct writes, or a daemon not up yet: librrd makes it here */
        made = storage_layout_create(f->path, lay, host, start, err, errlen);
    if (made == 0) {
        f->last = start;
        f->last_known = 1;
        pthread_mutex_lock(&st->lock);
        f->n_ds = storage_layout_n_ds(lay, host);
        pthread_mutex_unlock(&st->lock);
    } else if (errno != EEXIST) {
        rc = -1;
    }
out:
    pthread_mutex_unlock(&st->io_lock);
    return rc;
}

int storage_ensure(storage_t *st, const char *rel, const storage_layout_t *lay, int64_t start,
                   char *err, size_t errlen)
{
    return ensure(st, rel, lay, 0, start, err, errlen);
}

int storage_ensure_host(storage_t *st, const char *rel, const storage_layout_t *lay, int64_t start,
                        char *err, size_t errlen)
{
    return ensure(st, rel, lay, 1, start, err, errlen);
}

/* Appends q to the pool; its index, or NO_Q when there is no room (call with lock held). */
int storage_resume(storage_t *st, const char *rel, int64_t *t, storage_sample_t *s, char *err,
                   size_t errlen)
{
    if (!st || !t || !s) {
        errno = EINVAL;
        return wa_err(err, errlen, "storage_resume: storage, t and s are required");
    }
    if (storage_rel_check(rel, err, errlen) < 0)
        return -1;
    struct sfile *f = file_lookup(st, rel);
    if (!f)
        return wa_err(err, errlen, "%s: %s", rel, strerror(errno));
    pthread_mutex_lock(&st->io_lock);
    int64_t last;
    int n_ds;
    char why[512];
    int rc = last_of(st, f->path, &last, &n_ds, s, why, sizeof why);
    if (rc == 0) {
        *t = last;
        pthread_mutex_lock(&st->lock);
        f->n_ds = n_ds;
        pthread_mutex_unlock(&st->lock);
        f->last = last;
        f->last_known = 1;
    } else {
        int e = errno ? errno : WA_ERRD;
        wa_err(err, errlen, "%s: %s", f->path, why);
        errno = e;
    }
    pthread_mutex_unlock(&st->io_lock);
    return rc;
}

static uint32_t pool_add(storage_t *st, const double *q)
{
    if (st->qp_len == st->qp_cap) {
        size_t cap = st->qp_cap ? st->qp_cap * 2 : 64;
        struct qvals *p = cap < NO_Q ? realloc(st->qp, cap * sizeof *p) : NULL;
        if (!p)
            return NO_Q;
        st->qp = p;
        st->qp_cap = cap;
    }
    memcpy(st->qp[st->qp_len].v, q, sizeof st->qp[0].v);
    return (uint32_t)st->qp_len++;
}

int storage_put(storage_t *st, const char *rel, int64_t t, const storage_sample_t *s)
{
    if (!st || !s || storage_rel_check(rel, NULL, 0) < 0) {
        errno = EINVAL;
        return -1;
    }
    pthread_mutex_lock(&st->lock);
    int rc = -1;
    struct sfile *f = file_get(st, rel);
    if (!f)
        goto out;
    if (st->q_len == st->q_cap) {
        size_t cap = st->q_cap ? st->q_cap * 2 : 256;
        struct item *q = realloc(st->q, cap * sizeof *q);
        if (!q) {
            errno = ENOMEM;
            goto out;
        }
        st->q = q;
        st->q_cap = cap;
    }
    struct item *it = &st->q[st->q_len];
    *it = (struct item){.f = f, .t = t, .seq = st->seq, .q = NO_Q};
    memcpy(it->v, s->v, sizeof it->v);
    if (f->n_ds == 0 || f->n_ds > N_HEAD) {
        for (int i = N_HEAD; i < STORAGE_DS_COUNT_; i++)
            if (!isnan(s->v[i])) {
                if ((it->q = pool_add(st, s->v + N_HEAD)) == NO_Q) {
                    errno = ENOMEM;
                    goto out;
                }
                break;
            }
    }
    st->q_len++;
    st->seq++;
    st->stats.queued++;
    rc = 0;
out:
    pthread_mutex_unlock(&st->lock);
    return rc;
}

void storage_get_stats(const storage_t *st, storage_stats_t *out)
{
    if (!st || !out)
        return;
    /* The lock is not part of the value the caller sees as const. */
    pthread_mutex_t *lock = (pthread_mutex_t *)&st->lock;
    pthread_mutex_lock(lock);
    *out = st->stats;
    pthread_mutex_unlock(lock);
}

/* Shortest of %.15g and %.17g that reads back as the same double. */
static int format_value(char *buf, size_t len, double v)
{
    if (!isfinite(v))
        return snprintf(buf, len, ":U");
    int n = snprintf(buf, len, ":%.15g", v);
    if (n > 0 && (size_t)n < len && strtod(buf + 1, NULL) == v)
        return n;
    return snprintf(buf, len, ":%.17g", v);
}

int storage_format_update(char *buf, size_t len, int64_t t, const storage_sample_t *s, int n_ds)
{
    int used = snprintf(buf, len, "%lld", (long long)t);
    for (int i = 0; i < n_ds && i < STORAGE_DS_COUNT_ && used >= 0 && (size_t)used < len; i++) {
        int n = format_value(buf + used, len - (size_t)used, s->v[i]);
        used = n < 0 ? -1 : used + n;
    }
    if (used < 0 || (size_t)used >= len) {
        errno = ENOSPC;
        return -1;
    }
    return used;
}

/* ---- flush ---- */

/* What one flush learned, applied to the counters at its end. */
struct flush {
    storage_t *st;
    struct item *items;
    size_t n;
    struct qvals *qp; /* the items' quality values */
    uint64_t written, dropped, failed, batches;
    size_t n_failures; /* files or commands that failed */
    char *err;
    size_t errlen;
};

static int item_cmp(const void *a, const void *b)
{
    const struct item *x = a, *y = b;
    uintptr_t fx = (uintptr_t)x->f, fy = (uintptr_t)y->f;
    if (fx != fy)
        return fx < fy ? -1 : 1;
    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* The end of the run of items of one file starting at i. */
static size_t group_end(const struct flush *fl, size_t i)
{
    size_t j = i;
    while (j < fl->n && fl->items[j].f == fl->items[i].f)
        j++;
    return j;
}

/* Keeps the first failure's message; later ones are counted. */
static void note_failure(struct flush *fl, const char *path, const char *what, const char *msg)
{
    if (fl->n_failures++ == 0)
        wa_err(fl->err, fl->errlen, "%s: %s: %s", path, what, msg);
}

/* Reads the file's last update and data sources into f when not known yet.  -1: file
 * unreadable or not a channel file (counted). */
static int learn_last(struct flush *fl, struct sfile *f, size_t count)
{
    if (f->last_known && f->n_ds > 0)
        return 0;
    int64_t last;
    int n_ds;
    char why[256];
    if (last_of(fl->st, f->path, &last, &n_ds, NULL, why, sizeof why) != 0) {
        note_failure(fl, f->path, "cannot write", why);
        fl->failed += count;
        return -1;
    }
    pthread_mutex_lock(&fl->st->lock);
    f->n_ds = n_ds;
    pthread_mutex_unlock(&fl->st->lock);
    f->last = last;
    f->last_known = 1;
    return 0;
}

/* The whole sample an item carries. */
static void item_sample(const struct flush *fl, const struct item *it, storage_sample_t *s)
{
    memcpy(s->v, it->v, sizeof it->v);
    for (int i = 0; i < N_QUAL; i++)
        s->v[N_HEAD + i] = it->q == NO_Q ? NAN : fl->qp[it->q].v[i];
}

/* Drops the samples of items[i, j) at or before the file's last update, and all but the first
 * of equal times, moving the rest to the front.  Returns how many are kept.  A sample resent
 * after a lost connection that the file already holds reached it: written, not dropped. */
static size_t filter_group(struct flush *fl, size_t i, size_t j)
{
    struct sfile *f = fl->items[i].f;
    int64_t newest = f->last;
    size_t k = i;
    for (size_t m = i; m < j; m++) {
        struct item *it = &fl->items[m];
        if (it->t <= newest) {
            if (it->retry && it->t <= f->last)
                fl->written++;
            else
                fl->dropped++;
            continue;
        }
        newest = it->t;
        fl->items[k++] = *it;
    }
    return k - i;
}

/* Formats items[i, i + n) as update arguments: argv points into buf. */
static int format_args(const struct flush *fl, struct item *items, size_t n, char *buf,
                       const char **argv)
{
    for (size_t m = 0; m < n; m++) {
        storage_sample_t s;
        item_sample(fl, &items[m], &s);
        argv[m] = buf + m * UPDATE_ARG_MAX;
        if (storage_format_update(buf + m * UPDATE_ARG_MAX, UPDATE_ARG_MAX, items[m].t, &s,
                                  items[m].f->n_ds) < 0)
            return -1;
    }
    return 0;
}

static void write_direct(struct flush *fl, struct sfile *f, struct item *items, size_t n)
{
    char *buf = malloc(n * UPDATE_ARG_MAX);
    const char **argv = malloc(n * sizeof *argv);
    if (!buf || !argv || format_args(fl, items, n, buf, argv) < 0) {
        note_failure(fl, f->path, "cannot write", strerror(errno));
        fl->failed += n;
        goto out;
    }
    char why[256];
    const rrdlib_t *R = rrdlib(why, sizeof why);
    if (!R) {
        note_failure(fl, f->path, "cannot write", why);
        fl->failed += n;
        goto out;
    }
    R->clear_error();
    fl->batches++;
    if (R->update_r(f->path, NULL, (int)n, argv) == 0) {
        fl->written += n;
        f->last = items[n - 1].t;
        goto out;
    }
    note_failure(fl, f->path, "cannot write", R->get_error());
    R->clear_error();
    /* librrd stops at the first bad argument; what came before it is in the file. */
    time_t last = R->last_r(f->path);
    R->clear_error();
    f->last_known = last != (time_t)-1;
    f->last = (int64_t)last;
    for (size_t m = 0; m < n; m++) {
        if (f->last_known && items[m].t <= f->last)
            fl->written++;
        else
            fl->failed++;
    }
out:
    free(buf);
    free(argv);
}

/* One command of a batch and the samples it carries. */
struct batch_cmd {
    struct sfile *f;
    struct item *items; /* NULL for FORGET */
    size_t n;
    int failed;
};

struct batch {
    char *buf;
    size_t len, cap;
    struct batch_cmd *cmds;
    size_t n_cmds, cap_cmds;
};

static int batch_reserve(struct batch *b, size_t more)
{
    if (b->len + more > b->cap) {
        size_t cap = b->cap ? b->cap : 65536;
        while (cap < b->len + more)
            cap *= 2;
        char *p = realloc(b->buf, cap);
        if (!p)
            return -1;
        b->buf = p;
        b->cap = cap;
    }
    if (b->n_cmds == b->cap_cmds) {
        size_t cap = b->cap_cmds ? b->cap_cmds * 2 : 256;
        struct batch_cmd *c = realloc(b->cmds, cap * sizeof *c);
        if (!c)
            return -1;
        b->cmds = c;
        b->cap_cmds = cap;
    }
    return 0;
}

/* Appends UPDATE lines for one file, each below the daemon's line limit. */
static int batch_add_file(const struct flush *fl, struct batch *b, struct sfile *f,
                          struct item *items, size_t n)
{
    char arg[UPDATE_ARG_MAX];
    size_t head = strlen(f->path) + 8; /* "UPDATE " path ... "\n" */
    if (head + UPDATE_ARG_MAX >= RRDC_LINE_MAX) {
        errno = ENAMETOOLONG;
        return -1;
    }
    if (f->forget) {
        if (batch_reserve(b, head + 1) < 0)
            return -1;
        b->len += (size_t)sprintf(b->buf + b->len, "FORGET %s\n", f->path);
        b->cmds[b->n_cmds++] = (struct batch_cmd){.f = f};
    }
    size_t m = 0;
    while (m < n) {
        if (batch_reserve(b, RRDC_LINE_MAX) < 0)
            return -1;
        size_t line = b->len, first = m;
        b->len += (size_t)sprintf(b->buf + b->len, "UPDATE %s", f->path);
        for (; m < n; m++) {
            storage_sample_t s;
            item_sample(fl, &items[m], &s);
            int w = storage_format_update(arg, sizeof arg, items[m].t, &s, f->n_ds);
            if (w < 0)
                return -1;
            if (b->len - line + (size_t)w + 2 >= RRDC_LINE_MAX)
                break;
            b->buf[b->len++] = ' ';
            memcpy(b->buf + b->len, arg, (size_t)w);
            b->len += (size_t)w;
        }
        b->buf[b->len++] = '\n';
        b->cmds[b->n_cmds++] = (struct batch_cmd){.f = f, .items = items + first, .n = m - first};
    }
    return 0;
}

struct batch_errors {
    struct batch *b;
    struct flush *fl;
};

static void on_batch_error(void *arg, size_t index, const char *msg)
{
    struct batch_errors *be = arg;
    struct batch_cmd *c = &be->b->cmds[index];
    c->failed = 1;
    if (c->items) /* a FORGET of a name the daemon never saw fails harmlessly */
        note_failure(be->fl, c->f->path, "rrdcached refused the update", msg);
}

/* Puts items back at the queue's end for the next flush, their quality values (from qp) back
 * in the pool; sent: they may have reached the daemon. */
static void requeue(storage_t *st, const struct qvals *qp, struct item *items, size_t n, int sent)
{
    pthread_mutex_lock(&st->lock);
    if (st->q_len + n > st->q_cap) {
        size_t cap = st->q_cap ? st->q_cap : 256;
        while (cap < st->q_len + n)
            cap *= 2;
        struct item *q = realloc(st->q, cap * sizeof *q);
        if (!q) {
            st->stats.failed += n; /* nowhere to keep them */
            pthread_mutex_unlock(&st->lock);
            return;
        }
        st->q = q;
        st->q_cap = cap;
    }
    for (size_t i = 0; i < n; i++) {
        items[i].retry |= sent;
        /* No room for the quality values: power and energy are kept, those go unknown. */
        if (items[i].q != NO_Q)
            items[i].q = pool_add(st, qp[items[i].q].v);
        st->q[st->q_len++] = items[i];
    }
    pthread_mutex_unlock(&st->lock);
}

/* Asks the daemon to write out the files whose last update we have not read yet, so that the
 * file tells the truth; one BATCH of FLUSH commands saves a round trip per file.  A FLUSH the
 * daemon refuses (no such file) is left for rrd_last_r to report.  -1 only when the
 * connection failed. */
static int flush_unknown(struct flush *fl)
{
    char *buf = NULL;
    size_t len = 0, cap = 0, n_cmds = 0, n_errors;
    int rc = 0;
    for (size_t i = 0; i < fl->n; i = group_end(fl, i)) {
        struct sfile *f = fl->items[i].f;
        if (f->last_known)
            continue;
        size_t need = strlen(f->path) + 8; /* "FLUSH " path "\n" NUL */
        if (len + need > cap) {
            size_t ncap = cap ? cap * 2 : 16384;
            while (ncap < len + need)
                ncap *= 2;
            char *p = realloc(buf, ncap);
            if (!p) {
                errno = ENOMEM;
                rc = wa_err(fl->err, fl->errlen, "storage: out of memory");
                goto out;
            }
            buf = p;
            cap = ncap;
        }
        len += (size_t)sprintf(buf + len, "FLUSH %s\n", f->path);
        n_cmds++;
    }
    if (n_cmds > 0)
        rc = rrdc_conn_batch(fl->st->conn, buf, len, n_cmds, NULL, NULL, &n_errors, fl->err,
                             fl->errlen);
out:
    free(buf);
    return rc;
}

/* Sends everything kept as one BATCH.  -1 on a connection failure, after requeueing. */
static int write_cached(struct flush *fl, size_t kept)
{
    struct batch b = {0};
    int rc = 0;
    for (size_t i = 0, j; i < kept; i = j) {
        j = group_end(fl, i);
        if (batch_add_file(fl, &b, fl->items[i].f, fl->items + i, j - i) < 0) {
            /* out of memory or an impossible name: nothing sent yet, keep it all */
            int e = errno;
            wa_err(fl->err, fl->errlen, "storage: cannot build the rrdcached batch: %s",
                   strerror(e));
            requeue(fl->st, fl->qp, fl->items, kept, 0);
            errno = e;
            rc = -1;
            goto out;
        }
    }
    struct batch_errors be = {&b, fl};
    size_t n_errors;
    if (b.n_cmds == 0)
        goto out;
    if (rrdc_conn_batch(fl->st->conn, b.buf, b.len, b.n_cmds, on_batch_error, &be, &n_errors,
                        fl->err, fl->errlen) < 0) {
        int e = errno;
        /* Some commands may have reached the daemon: learn each file's state anew. */
        for (size_t c = 0; c < b.n_cmds; c++)
            b.cmds[c].f->last_known = 0;
        requeue(fl->st, fl->qp, fl->items, kept, 1);
        errno = e;
        rc = -1;
        goto out;
    }
    fl->batches++;
    for (size_t c = 0; c < b.n_cmds; c++) {
        struct batch_cmd *cmd = &b.cmds[c];
        if (!cmd->items) {
            cmd->f->forget = 0;
        } else if (cmd->failed) {
            fl->failed += cmd->n;
            cmd->f->last_known = 0;
        } else {
            fl->written += cmd->n;
            if (cmd->items[cmd->n - 1].t > cmd->f->last)
                cmd->f->last = cmd->items[cmd->n - 1].t;
        }
    }
out:
    free(b.buf);
    free(b.cmds);
    return rc;
}

int storage_flush(storage_t *st, char *err, size_t errlen)
{
    if (!st) {
        errno = EINVAL;
        return wa_err(err, errlen, "storage_flush: no storage");
    }
    pthread_mutex_lock(&st->io_lock);
    pthread_mutex_lock(&st->lock);
    struct flush fl = {
        .st = st, .items = st->q, .n = st->q_len, .qp = st->qp, .err = err, .errlen = errlen};
    st->q = NULL;
    st->q_len = st->q_cap = 0;
    st->qp = NULL;
    st->qp_len = st->qp_cap = 0;
    pthread_mutex_unlock(&st->lock);

    int rc = 0, e = 0;
    if (fl.n == 0)
        goto out;
    qsort(fl.items, fl.n, sizeof *fl.items, item_cmp);
    if (st->conn && flush_unknown(&fl) < 0) {
        e = errno;
        requeue(st, fl.qp, fl.items, fl.n, 0);
        rc = -1;
        goto out;
    }
    /* Filter every file's run in place, packing the kept samples to the front. */
    size_t kept = 0;
    for (size_t i = 0, j; i < fl.n; i = j) {
        j = group_end(&fl, i);
        if (learn_last(&fl, fl.items[i].f, j - i) < 0)
            continue;
        size_t k = filter_group(&fl, i, j);
        memmove(fl.items + kept, fl.items + i, k * sizeof *fl.items);
        kept += k;
    }
    fl.n = kept; /* group_end must not run past the kept samples */
    if (st->conn) {
        if (write_cached(&fl, kept) < 0) {
            e = errno;
            rc = -1;
        }
    } else {
        for (size_t i = 0, j; i < kept; i = j) {
            j = group_end(&fl, i);
            write_direct(&fl, fl.items[i].f, fl.items + i, j - i);
        }
    }
out:
    pthread_mutex_lock(&st->lock);
    st->stats.written += fl.written;
    st->stats.dropped_old += fl.dropped;
    st->stats.failed += fl.failed;
    st->stats.batches += fl.batches;
    pthread_mutex_unlock(&st->lock);
    pthread_mutex_unlock(&st->io_lock);
    free(fl.items);
    free(fl.qp);
    if (rc == 0 && fl.n_failures > 0) {
        if (fl.n_failures > 1 && err && errlen > 0) {
            size_t used = strlen(err);
            snprintf(err + used, errlen - used, " (and %zu more failures)", fl.n_failures - 1);
        }
        errno = WA_ERRD;
        return -1;
    }
    if (rc < 0)
        errno = e;
    return rc;
}
