/*
 * The sidecar of a USB channel: DATA_DIR/<site>/<device>/<channel>.meta.json says, period by
 * period, whether the channel's power was measured or estimated from load x rating, and by
 * which UPS.  An RRD file has no place for such a flag per value, and findings built on an
 * estimate must say so (docs/rrd-layout.md has the format; the analyzer reads it).
 *
 * The state of a USB channel changes only when its device or its rating does, so the file is
 * rewritten rarely: when a period ends.  It is written to a temporary name beside it and
 * renamed over it, so a reader sees the old history or the new one, never half of one.
 */
#include "meters/collect/collect-private.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Bumped when a field changes meaning or goes away; new fields do not bump it. */
#define META_VERSION 1
/* A sidecar is a few hundred bytes per period; anything much larger is not one of ours. */
#define META_MAX_BYTES (4 * 1024 * 1024)

void meta_free(meta_t *m)
{
    if (!m)
        return;
    free(m->p);
    m->p = NULL;
    m->n = m->cap = 0;
}

int meta_current(const meta_t *m)
{
    return m->n ? m->p[m->n - 1].estimated : -1;
}

static int grow(meta_t *m)
{
    if (m->n < m->cap)
        return 0;
    size_t cap = m->cap ? 2 * m->cap : 4;
    meta_period_t *p = realloc(m->p, cap * sizeof *p);
    if (!p) {
        errno = ENOMEM;
        return -1;
    }
    m->p = p;
    m->cap = cap;
    return 0;
}

static const char *str_or(const cJSON *o, const char *key, const char *dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : dflt;
}

/* 0 with the periods in m, or -1 with the reason in err. */
static int parse(meta_t *m, const char *text, char *err, size_t errlen)
{
    cJSON *root = cJSON_Parse(text), *ver, *periods, *it;
    int rc = -1;
    if (!root)
        return wa_err(err, errlen, "not JSON");
    ver = cJSON_GetObjectItemCaseSensitive(root, "version");
    periods = cJSON_GetObjectItemCaseSensitive(root, "periods");
    if (!cJSON_IsNumber(ver) || ver->valueint != META_VERSION) {
        wa_err(err, errlen, "version is not %d", META_VERSION);
        goto out;
    }
    if (!cJSON_IsArray(periods)) {
        wa_err(err, errlen, "no \"periods\" array");
        goto out;
    }
    cJSON_ArrayForEach(it, periods)
    {
        const cJSON *from = cJSON_GetObjectItemCaseSensitive(it, "from");
        const cJSON *to = cJSON_GetObjectItemCaseSensitive(it, "to");
        const char *power = str_or(it, "power", "");
        meta_period_t *p;
        if (!cJSON_IsNumber(from) || !(cJSON_IsNumber(to) || cJSON_IsNull(to)) ||
            (strcmp(power, "measured") != 0 && strcmp(power, "estimated") != 0)) {
            wa_err(err, errlen, "period %zu lacks from, to or power", m->n + 1);
            goto out;
        }
        if (grow(m) < 0) {
            wa_err(err, errlen, "out of memory");
            goto out;
        }
        p = &m->p[m->n++];
        memset(p, 0, sizeof *p);
        p->from = (int64_t)from->valuedouble;
        p->to = cJSON_IsNumber(to) ? (int64_t)to->valuedouble : 0;
        p->estimated = strcmp(power, "estimated") == 0;
        wa_strlcpy(p->how, str_or(it, "how", ""), sizeof p->how);
        wa_strlcpy(p->device, str_or(it, "device", ""), sizeof p->device);
    }
    rc = 0;
out:
    cJSON_Delete(root);
    return rc;
}

int meta_load(meta_t *m, const char *path, const char *rel, char *err, size_t errlen)
{
    char *text, bad[sizeof m->path + 8], why[160];
    size_t len = 0;
    memset(m, 0, sizeof *m);
    if (wa_strlcpy(m->path, path, sizeof m->path) != 0 ||
        wa_strlcpy(m->rel, rel, sizeof m->rel) != 0)
        return wa_err(err, errlen, "%s: path too long", path);
    text = wa_file_read(path, META_MAX_BYTES, &len, NULL, 0);
    if (!text) {
        int e = errno;
        if (e == ENOENT)
            return 0;
        if (e != EFBIG) { /* cannot read it: not a reason to move it */
            wa_err(err, errlen, "%s: %s", path, strerror(e));
            errno = e;
            return -1;
        }
        snprintf(why, sizeof why, "larger than %d bytes", META_MAX_BYTES);
    } else {
        int rc = strlen(text) == len ? parse(m, text, why, sizeof why) : -1;
        if (rc != 0 && strlen(text) != len)
            snprintf(why, sizeof why, "contains a NUL byte");
        free(text);
        if (rc == 0)
            return 0;
        meta_free(m);
    }
    /* Kept, not deleted: it may be the only record of which data were estimated. */
    snprintf(bad, sizeof bad, "%s.bad", path);
    if (rename(path, bad) != 0) {
        int e = errno;
        wa_err(err, errlen, "%s: unreadable (%s), and cannot be moved aside: %s", path, why,
               strerror(e));
        errno = e;
        return -1;
    }
    wa_err(err, errlen, "%s: unreadable (%s); moved to %s, history starts again", path, why,
           bad);
    return 1;
}

static cJSON *to_json(const meta_t *m)
{
    cJSON *root = cJSON_CreateObject(), *arr;
    const meta_period_t *last = m->n ? &m->p[m->n - 1] : NULL;
    if (!root)
        return NULL;
    cJSON_AddNumberToObject(root, "version", META_VERSION);
    cJSON_AddStringToObject(root, "source", "usb-hid");
    cJSON_AddStringToObject(root, "channel", m->rel);
    /* Energy is the collector's integral of power, not a meter's register: time the power
     * was unknown adds nothing (docs/rrd-layout.md). */
    cJSON_AddStringToObject(root, "energy", "integrated");
    cJSON_AddStringToObject(root, "power",
                            !last ? "unknown" : last->estimated ? "estimated" : "measured");
    cJSON_AddStringToObject(root, "how", last ? last->how : "");
    arr = cJSON_AddArrayToObject(root, "periods");
    for (size_t i = 0; arr && i < m->n; i++) {
        const meta_period_t *p = &m->p[i];
        cJSON *o = cJSON_CreateObject();
        if (!o)
            break;
        cJSON_AddNumberToObject(o, "from", (double)p->from);
        if (p->to)
            cJSON_AddNumberToObject(o, "to", (double)p->to);
        else
            cJSON_AddNullToObject(o, "to");
        cJSON_AddStringToObject(o, "power", p->estimated ? "estimated" : "measured");
        cJSON_AddStringToObject(o, "how", p->how);
        cJSON_AddStringToObject(o, "device", p->device);
        cJSON_AddItemToArray(arr, o);
    }
    return root;
}

static int write_file(const meta_t *m, char *err, size_t errlen)
{
    char *text;
    cJSON *root = to_json(m);
    int rc;
    if (!root) {
        errno = ENOMEM;
        return wa_err(err, errlen, "out of memory");
    }
    text = cJSON_Print(root);
    cJSON_Delete(root);
    if (!text) {
        errno = ENOMEM;
        return wa_err(err, errlen, "out of memory");
    }
    rc = wa_file_write_atomic(m->path, text, strlen(text), err, errlen);
    free(text);
    return rc;
}

int meta_note(meta_t *m, int64_t t, int estimated, const char *how, const char *device,
              char *err, size_t errlen)
{
    meta_period_t *last = m->n ? &m->p[m->n - 1] : NULL;
    if (!how)
        how = "";
    if (!device)
        device = "";
    if (last && !last->to && last->estimated == !!estimated && strcmp(last->how, how) == 0 &&
        strcmp(last->device, device) == 0)
        return 0;
    if (last && t < last->from)
        return 0; /* the clock went back: the sample will be dropped by storage anyway */
    if (grow(m) < 0)
        return wa_err(err, errlen, "out of memory");
    if (m->n && !m->p[m->n - 1].to)
        m->p[m->n - 1].to = t;
    meta_period_t *p = &m->p[m->n++];
    memset(p, 0, sizeof *p);
    p->from = t;
    p->estimated = !!estimated;
    wa_strlcpy(p->how, how, sizeof p->how);
    wa_strlcpy(p->device, device, sizeof p->device);
    return write_file(m, err, errlen) == 0 ? 1 : -1;
}
