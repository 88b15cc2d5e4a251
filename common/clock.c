/*
 * The shared clock: a small file mapped by each process that uses it.  The collector owns a
 * stepped clock and moves it; the simulator maps it read-only and answers for that time.
 * Readers and the writer meet through C11 atomics on the mapped words.
 */
#include "common/common.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CLOCK_MAGIC 0x57415443u /* "WATC" */

enum { MODE_REAL, MODE_STEPPED, MODE_SCALED };

/* The mapped file.  Times are stored as microseconds to keep the atomics integral. */
struct clock_file {
    uint32_t magic;
    uint32_t mode;
    _Atomic int64_t now_us;    /* stepped: the current time */
    int64_t origin_sim_us;     /* scaled: sim time at origin_real */
    int64_t origin_real_us;
    double speed;
};

struct wa_clock {
    int mode;
    int writable;
    struct clock_file *f;
};

static int64_t real_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

wa_clock_t *wa_clock_real(void)
{
    wa_clock_t *c = calloc(1, sizeof *c);
    if (c)
        c->mode = MODE_REAL;
    return c;
}

static wa_clock_t *map_clock(const char *path, int create)
{
    int fd = create ? open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)
                    : open(path, O_RDONLY | O_CLOEXEC);
    struct stat sb;
    wa_clock_t *c;
    void *p;

    if (fd < 0)
        return NULL;
    if (create && ftruncate(fd, sizeof(struct clock_file)) != 0)
        goto fail;
    if (fstat(fd, &sb) != 0)
        goto fail;
    if ((size_t)sb.st_size < sizeof(struct clock_file)) {
        errno = EPROTO;
        goto fail;
    }
    p = mmap(NULL, sizeof(struct clock_file), create ? PROT_READ | PROT_WRITE : PROT_READ,
             MAP_SHARED, fd, 0);
    if (p == MAP_FAILED)
        goto fail;
    close(fd);
    c = calloc(1, sizeof *c);
    if (!c) {
        munmap(p, sizeof(struct clock_file));
        return NULL;
    }
    c->f = p;
    c->writable = create;
    return c;
fail: {
    int e = errno;
    close(fd);
    errno = e;
    return NULL;
}
}

wa_clock_t *wa_clock_create_stepped(const char *path, int64_t t0)
{
    wa_clock_t *c = map_clock(path, 1);
    if (!c)
        return NULL;
    c->mode = MODE_STEPPED;
    c->f->mode = MODE_STEPPED;
    atomic_store(&c->f->now_us, t0 * 1000000);
    c->f->magic = CLOCK_MAGIC;
    return c;
}

wa_clock_t *wa_clock_create_scaled(const char *path, int64_t t0, double speed)
{
    wa_clock_t *c;
    if (!(speed > 0)) {
        errno = EINVAL;
        return NULL;
    }
    c = map_clock(path, 1);
    if (!c)
        return NULL;
    c->mode = MODE_SCALED;
    c->f->mode = MODE_SCALED;
    c->f->origin_sim_us = t0 * 1000000;
    c->f->origin_real_us = real_us();
    c->f->speed = speed;
    c->f->magic = CLOCK_MAGIC;
    return c;
}

wa_clock_t *wa_clock_open(const char *path)
{
    wa_clock_t *c = map_clock(path, 0);
    if (!c)
        return NULL;
    if (c->f->magic != CLOCK_MAGIC ||
        (c->f->mode != MODE_STEPPED && c->f->mode != MODE_SCALED)) {
        wa_clock_close(c);
        errno = EPROTO;
        return NULL;
    }
    c->mode = (int)c->f->mode;
    return c;
}

void wa_clock_close(wa_clock_t *c)
{
    if (!c)
        return;
    if (c->f)
        munmap(c->f, sizeof(struct clock_file));
    free(c);
}

double wa_clock_now(const wa_clock_t *c)
{
    if (!c || c->mode == MODE_REAL)
        return (double)real_us() / 1e6;
    if (c->mode == MODE_STEPPED)
        return (double)atomic_load(&c->f->now_us) / 1e6;
    return ((double)c->f->origin_sim_us +
            (double)(real_us() - c->f->origin_real_us) * c->f->speed) / 1e6;
}

int wa_clock_is_stepped(const wa_clock_t *c)
{
    return c && c->mode == MODE_STEPPED;
}

int wa_clock_set(wa_clock_t *c, double t)
{
    int64_t us;
    if (!c || c->mode != MODE_STEPPED || !c->writable) {
        errno = EINVAL;
        return -1;
    }
    us = (int64_t)(t * 1e6 + (t >= 0 ? 0.5 : -0.5));
    if (us < atomic_load(&c->f->now_us)) {
        errno = EINVAL;
        return -1;
    }
    atomic_store(&c->f->now_us, us);
    return 0;
}
