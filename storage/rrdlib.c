/*
 * librrd, loaded when first needed.
 *
 * librrd carries rrdtool's graphing with it: cairo, pango, glib, libxml2, ICU, libstdc++, X11
 * client libraries, about 5.5 MB resident in a process that merely links it (measured from
 * /proc/PID/smaps of a collector).  A collector that writes through rrdcached needs none of it
 * (it creates, updates and asks about files in the daemon's protocol), so storage loads the
 * library with dlopen() on the first direct write, create or read, and never otherwise.
 *
 * The table is filled once (pthread_once) and never changes afterwards; the handle stays open
 * for the life of the process.
 */
#include "storage/storage-private.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "common/common.h"

struct loaded {
    rrdlib_t lib;
    int ok;
    char why[256];
};

static struct loaded loaded; /* written once under `once`, read-only afterwards */
static pthread_once_t once = PTHREAD_ONCE_INIT;

static int sym(void *h, const char *name, void *slot, size_t size)
{
    void *p = dlsym(h, name);
    if (!p) {
        snprintf(loaded.why, sizeof loaded.why, "%s has no %s", WA_LIBRRD_SONAME, name);
        return -1;
    }
    /* POSIX guarantees that a dlsym result converts to a function pointer. */
    memcpy(slot, &p, size);
    return 0;
}

static void load(void)
{
    void *h = dlopen(WA_LIBRRD_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *e = dlerror();
        snprintf(loaded.why, sizeof loaded.why, "cannot load %s: %s", WA_LIBRRD_SONAME,
                 e ? e : "unknown error");
        return;
    }
    rrdlib_t *l = &loaded.lib;
    if (sym(h, "rrd_create_r2", &l->create_r2, sizeof l->create_r2) ||
        sym(h, "rrd_update_r", &l->update_r, sizeof l->update_r) ||
        sym(h, "rrd_lastupdate_r", &l->lastupdate_r, sizeof l->lastupdate_r) ||
        sym(h, "rrd_last_r", &l->last_r, sizeof l->last_r) ||
        sym(h, "rrd_fetch_r", &l->fetch_r, sizeof l->fetch_r) ||
        sym(h, "rrd_get_error", &l->get_error, sizeof l->get_error) ||
        sym(h, "rrd_clear_error", &l->clear_error, sizeof l->clear_error) ||
        sym(h, "rrd_freemem", &l->freemem, sizeof l->freemem)) {
        dlclose(h);
        return;
    }
    loaded.ok = 1;
}

const rrdlib_t *rrdlib(char *err, size_t errlen)
{
    pthread_once(&once, load);
    if (loaded.ok)
        return &loaded.lib;
    errno = WA_ERRD;
    wa_err(err, errlen, "%s", loaded.why);
    return NULL;
}
