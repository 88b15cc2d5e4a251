/*
 * The site configuration: libconfig parses the file into a tree; this file walks the tree with
 * typed getters that name the file and line of whatever is wrong, rejects unknown keys, and
 * runs the checks that involve several fields after the walk.
 */
#include "siteconf/siteconf.h"

#include <errno.h>
#include <libconfig.h>
#include <limits.h>
#include <math.h>
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/common.h"

struct walk {
    const char *file;
    const char *dir; /* folder relative paths resolve against */
    char *err;
    size_t errlen;
};

static int line_of(const config_setting_t *s)
{
    return s ? (int)config_setting_source_line(s) : 0;
}

static int fail(struct walk *w, const config_setting_t *s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(struct walk *w, const config_setting_t *s, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    wa_err(w->err, w->errlen, "%s:%d: %s", w->file, line_of(s), msg);
    errno = WA_ECONFIG;
    return -1;
}

static int check_keys(struct walk *w, const config_setting_t *grp, const char *const *allowed,
                      const char *what)
{
    int n = config_setting_length(grp);
    if (!config_setting_is_group(grp))
        return fail(w, grp, "%s must be a group { ... }", what);
    for (int i = 0; i < n; i++) {
        const config_setting_t *m = config_setting_get_elem(grp, (unsigned)i);
        const char *name = config_setting_name(m);
        int ok = 0;
        for (const char *const *a = allowed; *a; a++)
            if (strcmp(*a, name) == 0)
                ok = 1;
        if (!ok)
            return fail(w, m, "unknown key '%s' in %s", name, what);
    }
    return 0;
}

/* Typed getters: 0 if found and valid, 1 if absent and optional, -1 on error. */
static int get_str(struct walk *w, const config_setting_t *g, const char *key, char *dst,
                   size_t n, int required)
{
    const config_setting_t *s = config_setting_get_member(g, key);
    const char *v;
    if (!s) {
        if (required)
            return fail(w, g, "missing required key '%s'", key);
        return 1;
    }
    if (config_setting_type(s) != CONFIG_TYPE_STRING)
        return fail(w, s, "'%s' must be a string in double quotes", key);
    v = config_setting_get_string(s);
    if (wa_strlcpy(dst, v, n) != 0)
        return fail(w, s, "'%s' is too long (at most %zu characters)", key, n - 1);
    return 0;
}

static int get_int(struct walk *w, const config_setting_t *g, const char *key, int *dst, int lo,
                   int hi, int required)
{
    const config_setting_t *s = config_setting_get_member(g, key);
    long long v;
    if (!s) {
        if (required)
            return fail(w, g, "missing required key '%s'", key);
        return 1;
    }
    if (config_setting_type(s) != CONFIG_TYPE_INT && config_setting_type(s) != CONFIG_TYPE_INT64)
        return fail(w, s, "'%s' must be a whole number", key);
    v = config_setting_get_int64(s);
    if (v < lo || v > hi)
        return fail(w, s, "'%s' = %lld is out of range %d..%d", key, v, lo, hi);
    *dst = (int)v;
    return 0;
}

static int get_double(struct walk *w, const config_setting_t *g, const char *key, double *dst,
                      double lo, double hi, int required)
{
    const config_setting_t *s = config_setting_get_member(g, key);
    double v;
    if (!s) {
        if (required)
            return fail(w, g, "missing required key '%s'", key);
        return 1;
    }
    switch (config_setting_type(s)) {
    case CONFIG_TYPE_FLOAT: v = config_setting_get_float(s); break;
    case CONFIG_TYPE_INT:
    case CONFIG_TYPE_INT64: v = (double)config_setting_get_int64(s); break;
    default: return fail(w, s, "'%s' must be a number", key);
    }
    if (!(v >= lo && v <= hi))
        return fail(w, s, "'%s' = %g is out of range %g..%g", key, v, lo, hi);
    *dst = v;
    return 0;
}

static int get_time(struct walk *w, const config_setting_t *g, const char *key, const char *tz,
                    int64_t *dst)
{
    char buf[64];
    int r = get_str(w, g, key, buf, sizeof buf, 0);
    if (r != 0)
        return r;
    if (wa_time_parse(buf, tz, dst) != 0)
        return fail(w, config_setting_get_member(g, key),
                    "'%s' = \"%s\" is not a time (YYYY-MM-DD[THH:MM[:SS]][Z|+HH:MM])", key, buf);
    return 0;
}

static int valid_id(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_' || *s == '-' || *s == '.'))
            return 0;
    return 1;
}

static int get_id(struct walk *w, const config_setting_t *g, const char *key, char *dst, size_t n,
                  int required)
{
    int r = get_str(w, g, key, dst, n, required);
    if (r == 0 && (!valid_id(dst) || strcmp(dst, ".") == 0 || strcmp(dst, "..") == 0))
        return fail(w, config_setting_get_member(g, key),
                    "'%s' = \"%s\": use letters, digits, '_', '-' and '.' only (it names files)",
                    key, dst);
    return r;
}

static int check_tz(struct walk *w, const config_setting_t *g, const char *key, const char *tz)
{
    char path[SC_PATH_MAX + 32];
    struct stat sb;
    if (!*tz)
        return 0;
    snprintf(path, sizeof path, "/usr/share/zoneinfo/%s", tz);
    if (strstr(tz, "..") || stat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
        return fail(w, config_setting_get_member(g, key),
                    "unknown time zone \"%s\" (an IANA name such as \"Asia/Shanghai\")", tz);
    return 0;
}

static void resolve(const struct walk *w, char *path, size_t n)
{
    char tmp[SC_PATH_MAX];
    if (path[0] == '/' || !w->dir[0])
        return;
    snprintf(tmp, sizeof tmp, "%s/%s", w->dir, path);
    wa_strlcpy(path, tmp, n);
}

/* A list element must be a group; lists of groups are written ( { ... }, { ... } ). */
static const config_setting_t *list_of_groups(struct walk *w, const config_setting_t *g,
                                              const char *key, int required, int *count)
{
    const config_setting_t *l = config_setting_get_member(g, key);
    *count = 0;
    if (!l) {
        if (required)
            fail(w, g, "missing required list '%s'", key);
        else
            errno = 0;
        return NULL;
    }
    if (!config_setting_is_list(l)) {
        fail(w, l, "'%s' must be a list ( { ... }, ... )", key);
        return NULL;
    }
    *count = config_setting_length(l);
    for (int i = 0; i < *count; i++)
        if (!config_setting_is_group(config_setting_get_elem(l, (unsigned)i))) {
            fail(w, config_setting_get_elem(l, (unsigned)i), "each entry of '%s' must be a group { ... }",
                 key);
            return NULL;
        }
    return l;
}

static int walk_load(struct walk *w, const config_setting_t *g, const char *tz, sc_load_t *ld)
{
    static const char *const keys[] = {"model", "w",  "base_w", "count",
                                       "from",  "to", "host",   NULL};
    static const char *const models[] = {"office", "server", "gpu_rig", "asic", "research_job",
                                         "pc_mining", "constant", NULL};
    int ok = 0;
    memset(ld, 0, sizeof *ld);
    ld->count = 1;
    ld->from = INT64_MIN;
    ld->to = INT64_MAX;
    ld->line = line_of(g);
    if (check_keys(w, g, keys, "a simulated load") || get_str(w, g, "model", ld->model,
                                                               sizeof ld->model, 1) < 0)
        return -1;
    for (const char *const *m = models; *m; m++)
        ok |= strcmp(*m, ld->model) == 0;
    if (!ok)
        return fail(w, config_setting_get_member(g, "model"),
                    "unknown load model \"%s\" (office, server, gpu_rig, asic, research_job, "
                    "pc_mining, constant)", ld->model);
    if (get_double(w, g, "w", &ld->w, 0, 1e7, 0) < 0 ||
        get_double(w, g, "base_w", &ld->base_w, 0, 1e7, 0) < 0 ||
        get_int(w, g, "count", &ld->count, 1, 100000, 0) < 0 ||
        get_time(w, g, "from", tz, &ld->from) < 0 || get_time(w, g, "to", tz, &ld->to) < 0 ||
        get_id(w, g, "host", ld->host, sizeof ld->host, 0) < 0)
        return -1;
    if (ld->from >= ld->to)
        return fail(w, g, "'from' must be before 'to'");
    return 0;
}

static int walk_sim(struct walk *w, const config_setting_t *g, const char *tz, sc_sim_t *sim)
{
    static const char *const keys[] = {"noise", "seed", "loads", NULL};
    const config_setting_t *l;
    int n, seed = -1;
    sim->enabled = 1;
    sim->noise = 0.01;
    if (check_keys(w, g, keys, "'simulate'") ||
        get_double(w, g, "noise", &sim->noise, 0, 1, 0) < 0 ||
        get_int(w, g, "seed", &seed, 0, INT_MAX, 0) < 0)
        return -1;
    if (seed >= 0)
        sim->seed = (uint32_t)seed;
    l = list_of_groups(w, g, "loads", 1, &n);
    if (!l)
        return -1;
    if ((size_t)n > SC_LOADS_MAX)
        return fail(w, l, "at most %d loads per channel", SC_LOADS_MAX);
    for (int i = 0; i < n; i++)
        if (walk_load(w, config_setting_get_elem(l, (unsigned)i), tz, &sim->loads[i]) < 0)
            return -1;
    sim->n_loads = (size_t)n;
    return 0;
}

static uint32_t fnv1a(const char *s, uint32_t h)
{
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u; /* FNV-1a 32-bit prime */
    return h;
}

static int walk_declared(struct walk *w, const config_setting_t *g, const char *tz,
                         sc_declared_t *d)
{
    static const char *const keys[] = {"id", "kind", "note", "w", "w_min", "w_max", "from",
                                       "to", NULL};
    static const char *const kinds[] = {"research", "server", "storage", "network", "hvac",
                                        "other", NULL};
    double watts = NAN;
    int ok = 0;
    memset(d, 0, sizeof *d);
    d->line = line_of(g);
    d->from = INT64_MIN;
    d->to = INT64_MAX;
    d->w_min = d->w_max = NAN;
    wa_strlcpy(d->kind, "other", sizeof d->kind);
    if (check_keys(w, g, keys, "a declared load") ||
        get_id(w, g, "id", d->id, sizeof d->id, 1) < 0 ||
        get_str(w, g, "kind", d->kind, sizeof d->kind, 0) < 0 ||
        get_str(w, g, "note", d->note, sizeof d->note, 0) < 0 ||
        get_double(w, g, "w", &watts, 0, 1e8, 0) < 0 ||
        get_double(w, g, "w_min", &d->w_min, 0, 1e8, 0) < 0 ||
        get_double(w, g, "w_max", &d->w_max, 0, 1e8, 0) < 0 ||
        get_time(w, g, "from", tz, &d->from) < 0 || get_time(w, g, "to", tz, &d->to) < 0)
        return -1;
    for (const char *const *k = kinds; *k; k++)
        ok |= strcmp(*k, d->kind) == 0;
    if (!ok)
        return fail(w, config_setting_get_member(g, "kind"),
                    "kind \"%s\" must be research, server, storage, network, hvac or other",
                    d->kind);
    if (!isnan(watts)) {
        if (!isnan(d->w_min) || !isnan(d->w_max))
            return fail(w, g, "give either 'w' or 'w_min' and 'w_max', not both");
        /* A declared figure is a nameplate or a job's estimate: allow a quarter either way. */
        d->w_min = watts * 0.75;
        d->w_max = watts * 1.25;
    } else if (isnan(d->w_min) || isnan(d->w_max)) {
        return fail(w, g, "declared load \"%s\" needs 'w', or 'w_min' and 'w_max'", d->id);
    } else if (d->w_min > d->w_max) {
        return fail(w, g, "'w_min' must not exceed 'w_max'");
    }
    if (d->from >= d->to)
        return fail(w, g, "'from' must be before 'to'");
    return 0;
}

static int walk_channel(struct walk *w, const config_setting_t *g, const char *tz,
                        sc_channel_t *ch)
{
    static const char *const keys[] = {"id", "source", "name", "rated_w", "simulate",
                                       "declared", NULL};
    const config_setting_t *l;
    int n;
    const config_setting_t *s;
    ch->line = line_of(g);
    if (check_keys(w, g, keys, "a channel") ||
        get_id(w, g, "id", ch->id, sizeof ch->id, 1) < 0 ||
        get_str(w, g, "source", ch->source, sizeof ch->source, 0) < 0 ||
        get_str(w, g, "name", ch->name, sizeof ch->name, 0) < 0 ||
        get_double(w, g, "rated_w", &ch->rated_w, 0, 1e8, 0) < 0)
        return -1;
    if (!ch->source[0])
        wa_strlcpy(ch->source, ch->id, sizeof ch->source);
    if (!ch->name[0])
        wa_strlcpy(ch->name, ch->id, sizeof ch->name);
    if ((s = config_setting_get_member(g, "simulate")) != NULL) {
        if (walk_sim(w, s, tz, &ch->sim) < 0)
            return -1;
        if (!config_setting_get_member(s, "seed"))
            ch->sim.seed = fnv1a(ch->id, 2166136261u); /* FNV-1a 32-bit offset basis */
    }
    l = list_of_groups(w, g, "declared", 0, &n);
    if (!l && errno == WA_ECONFIG)
        return -1;
    if (n > 0) {
        if (!(ch->declared = calloc((size_t)n, sizeof *ch->declared)))
            return -1;
        for (int i = 0; i < n; i++) {
            if (walk_declared(w, config_setting_get_elem(l, (unsigned)i), tz,
                              &ch->declared[i]) < 0)
                return -1;
            ch->n_declared++;
            for (int j = 0; j < i; j++)
                if (strcmp(ch->declared[j].id, ch->declared[i].id) == 0)
                    return fail(w, config_setting_get_elem(l, (unsigned)i),
                                "declared load \"%s\" already declared on this channel (line %d)",
                                ch->declared[i].id, ch->declared[j].line);
        }
    }
    return 0;
}

static int walk_faults(struct walk *w, const config_setting_t *g, sc_faults_t *f)
{
    static const char *const keys[] = {"timeout", "exception", "garbage", "drop", "dead",
                                       "reject_over", NULL};
    const config_setting_t *d;
    if (check_keys(w, g, keys, "'faults'") ||
        get_double(w, g, "timeout", &f->timeout, 0, 1, 0) < 0 ||
        get_double(w, g, "exception", &f->exception, 0, 1, 0) < 0 ||
        get_double(w, g, "garbage", &f->garbage, 0, 1, 0) < 0 ||
        get_double(w, g, "drop", &f->drop, 0, 1, 0) < 0 ||
        get_int(w, g, "reject_over", &f->reject_over, 0, 125, 0) < 0)
        return -1;
    if ((d = config_setting_get_member(g, "dead")) != NULL) {
        if (config_setting_type(d) != CONFIG_TYPE_BOOL)
            return fail(w, d, "'dead' must be true or false");
        f->dead = config_setting_get_bool(d);
    }
    return 0;
}

/* Keys that belong to one kind of bus only, with what to say when they show up on the other. */
static const char *const modbus_only[] = {"unit", "profile", "retries", "max_regs", "max_gap",
                                          "quarantine_after", "quarantine_max", "faults", NULL};
static const char *const usb_only[] = {"usb_id", "serial", "usb_path", "nominal_w",
                                       "nominal_va", NULL};

static int in_list(const char *const *l, const char *name)
{
    for (; *l; l++)
        if (strcmp(*l, name) == 0)
            return 1;
    return 0;
}

/* A clearer message than "unknown key" for a key of the other kind of bus. */
static int check_kind_keys(struct walk *w, const config_setting_t *g, sc_bus_kind_t kind)
{
    int n = config_setting_length(g);
    for (int i = 0; i < n; i++) {
        const config_setting_t *m = config_setting_get_elem(g, (unsigned)i);
        const char *name = config_setting_name(m);
        if (kind == SC_BUS_USB && in_list(modbus_only, name))
            return fail(w, m, "'%s' is a Modbus key: a device on a usb bus has no unit or "
                              "profile and is found by usb_id, serial or usb_path", name);
        if (kind != SC_BUS_USB && in_list(usb_only, name))
            return fail(w, m, "'%s' is for devices on a usb bus (usb = { };)%s", name,
                        strcmp(name, "serial") == 0
                            ? "; a Modbus serial line is the bus's serial = { ... }"
                            : "");
    }
    return 0;
}

static int is_hex4(const char *s)
{
    for (int i = 0; i < 4; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') ||
              (s[i] >= 'A' && s[i] <= 'F')))
            return 0;
    return 1;
}

/* "vvvv:pppp", four hex digits each, as lsusb prints them. */
static int parse_usb_id(const char *s, uint16_t *vid, uint16_t *pid)
{
    if (strlen(s) != 9 || s[4] != ':' || !is_hex4(s) || !is_hex4(s + 5))
        return -1;
    *vid = (uint16_t)strtoul(s, NULL, 16);
    *pid = (uint16_t)strtoul(s + 5, NULL, 16);
    return *vid ? 0 : -1;
}

/* "<bus>-<port>[.<port>...]" as the kernel names USB devices in /sys/bus/usb/devices; a hub
 * chain is at most 7 ports deep (USB 2.0, 4.1.1: 7 tiers including the root). */
static int valid_usb_path(const char *s)
{
    int ports = 0;
    const char *p = s;
    if (!(*p >= '1' && *p <= '9'))
        return 0;
    while (*p >= '0' && *p <= '9')
        p++;
    if (*p++ != '-')
        return 0;
    for (;;) {
        if (!(*p >= '1' && *p <= '9'))
            return 0;
        while (*p >= '0' && *p <= '9')
            p++;
        if (++ports > 7)
            return 0;
        if (*p == '\0')
            return 1;
        if (*p++ != '.')
            return 0;
    }
}

static int walk_usb_device(struct walk *w, const config_setting_t *g, sc_device_t *d)
{
    char id[16] = "";
    sc_usb_t *u = &d->usb;
    int r;
    if ((r = get_str(w, g, "usb_id", id, sizeof id, 0)) < 0)
        return -1;
    if (r == 0 && parse_usb_id(id, &u->vid, &u->pid) != 0)
        return fail(w, config_setting_get_member(g, "usb_id"),
                    "usb_id = \"%s\" is not \"vvvv:pppp\" (vendor and product id, four hex "
                    "digits each, as lsusb shows them)", id);
    if (get_str(w, g, "serial", u->serial, sizeof u->serial, 0) < 0 ||
        get_str(w, g, "usb_path", u->path, sizeof u->path, 0) < 0 ||
        get_double(w, g, "nominal_w", &u->nominal_w, 1, 1e7, 0) < 0 ||
        get_double(w, g, "nominal_va", &u->nominal_va, 1, 1e7, 0) < 0)
        return -1;
    if (config_setting_get_member(g, "serial") && !u->serial[0])
        return fail(w, config_setting_get_member(g, "serial"), "'serial' is empty");
    if (u->path[0] && !valid_usb_path(u->path))
        return fail(w, config_setting_get_member(g, "usb_path"),
                    "usb_path = \"%s\" is not a USB port path such as \"1-1.4\" (bus-port.port..., "
                    "as in /sys/bus/usb/devices)", u->path);
    if (!u->vid && !u->serial[0] && !u->path[0])
        return fail(w, g, "device \"%s\" on a usb bus needs at least one of usb_id, serial or "
                          "usb_path to find its UPS", d->id);
    return 0;
}

/* A USB device records one channel.  Before the channels are walked: at most one, and no
 * simulated loads. */
static int usb_channels_precheck(struct walk *w, const config_setting_t *l, int n,
                                 const sc_device_t *d)
{
    const config_setting_t *s;
    if (n > 1)
        return fail(w, config_setting_get_elem(l, 1), "device \"%s\" on a usb bus has one "
                    "channel, \"%s\"", d->id, SC_USB_CHANNEL);
    if (n == 1 && (s = config_setting_get_member(config_setting_get_elem(l, 0), "simulate")))
        return fail(w, s, "'simulate' is for Modbus channels: the simulator has no USB devices");
    return 0;
}

/* After them: the channel's source is "output"; without a channel, "output" is made. */
static int usb_channel(struct walk *w, const config_setting_t *l, sc_device_t *d)
{
    if (d->n_channels == 1) {
        sc_channel_t *ch = &d->channels[0];
        if (strcmp(ch->source, SC_USB_CHANNEL) != 0) {
            const config_setting_t *g = config_setting_get_elem(l, 0);
            if (config_setting_get_member(g, "source"))
                return fail(w, config_setting_get_member(g, "source"),
                            "source \"%s\": a device on a usb bus has one channel, \"%s\"",
                            ch->source, SC_USB_CHANNEL);
            wa_strlcpy(ch->source, SC_USB_CHANNEL, sizeof ch->source); /* id given, no source */
        }
        return 0;
    }
    d->channels = calloc(1, sizeof *d->channels);
    if (!d->channels)
        return -1;
    d->n_channels = 1;
    wa_strlcpy(d->channels[0].id, SC_USB_CHANNEL, sizeof d->channels[0].id);
    wa_strlcpy(d->channels[0].source, SC_USB_CHANNEL, sizeof d->channels[0].source);
    wa_strlcpy(d->channels[0].name, SC_USB_CHANNEL, sizeof d->channels[0].name);
    d->channels[0].line = d->line;
    return 0;
}

static int walk_device(struct walk *w, const config_setting_t *g, const char *tz,
                       sc_bus_kind_t kind, sc_device_t *d)
{
    static const char *const keys[] = {"id", "unit", "profile", "interval", "timeout_ms",
                                       "retries", "max_regs", "max_gap", "quarantine_after",
                                       "quarantine_max", "channels", "faults", NULL};
    static const char *const usb_keys[] = {"id", "usb_id", "serial", "usb_path", "nominal_w",
                                           "nominal_va", "interval", "timeout_ms", "channels",
                                           NULL};
    const config_setting_t *l, *f;
    int n, usb = kind == SC_BUS_USB, serial = kind == SC_BUS_SERIAL;
    d->line = line_of(g);
    d->interval_s = 60;
    d->timeout_ms = 1000;
    d->retries = 2;
    d->max_regs = 0; /* 0 = the profile's */
    d->max_gap = 8;
    d->quarantine_after = 3;
    d->quarantine_max_s = 600;
    if (check_kind_keys(w, g, kind) || check_keys(w, g, usb ? usb_keys : keys, "a device") ||
        get_id(w, g, "id", d->id, sizeof d->id, 1) < 0)
        return -1;
    if (strcmp(d->id, SC_HOSTS_DIR) == 0)
        return fail(w, config_setting_get_member(g, "id"),
                    "device id \"%s\" is reserved: DATA/<site>/%s/ holds the hosts' files",
                    d->id, SC_HOSTS_DIR);
    if (usb ? walk_usb_device(w, g, d) < 0
            : (get_int(w, g, "unit", &d->unit, serial ? 1 : 0, serial ? 247 : 255, 1) < 0 ||
               get_str(w, g, "profile", d->profile, sizeof d->profile, 1) < 0))
        return -1;
    if (get_int(w, g, "interval", &d->interval_s, 1, 86400, 0) < 0 ||
        get_int(w, g, "timeout_ms", &d->timeout_ms, 10, 60000, 0) < 0 ||
        get_int(w, g, "retries", &d->retries, 0, 10, 0) < 0 ||
        get_int(w, g, "max_regs", &d->max_regs, 1, 125, 0) < 0 ||
        get_int(w, g, "max_gap", &d->max_gap, 0, 125, 0) < 0 ||
        get_int(w, g, "quarantine_after", &d->quarantine_after, 1, 1000, 0) < 0 ||
        get_int(w, g, "quarantine_max", &d->quarantine_max_s, 1, 86400, 0) < 0)
        return -1;
    if ((f = config_setting_get_member(g, "faults")) != NULL && walk_faults(w, f, &d->faults) < 0)
        return -1;
    l = list_of_groups(w, g, "channels", 0, &n);
    if (!l && errno == WA_ECONFIG)
        return -1;
    if (usb && usb_channels_precheck(w, l, n, d) < 0)
        return -1;
    if (n > 0) {
        d->channels = calloc((size_t)n, sizeof *d->channels);
        if (!d->channels)
            return -1;
        d->n_channels = (size_t)n;
        for (int i = 0; i < n; i++) {
            if (walk_channel(w, config_setting_get_elem(l, (unsigned)i), tz, &d->channels[i]) < 0)
                return -1;
            for (int j = 0; j < i; j++) {
                if (strcmp(d->channels[j].id, d->channels[i].id) == 0)
                    return fail(w, config_setting_get_elem(l, (unsigned)i),
                                "channel id \"%s\" already used in device \"%s\" (line %d)",
                                d->channels[i].id, d->id, d->channels[j].line);
                if (strcmp(d->channels[j].source, d->channels[i].source) == 0)
                    return fail(w, config_setting_get_elem(l, (unsigned)i),
                                "profile channel \"%s\" already stored as \"%s\" (line %d)",
                                d->channels[i].source, d->channels[j].id, d->channels[j].line);
            }
        }
    }
    if (usb)
        return usb_channel(w, l, d);
    return 0;
}

static int parse_hostport(const char *s, char *host, size_t hn, int *port)
{
    const char *c = strrchr(s, ':');
    char *end;
    long p;
    if (!c || c == s || (size_t)(c - s) >= hn)
        return -1;
    p = strtol(c + 1, &end, 10);
    if (*end || end == c + 1 || p < 1 || p > 65535)
        return -1;
    memcpy(host, s, (size_t)(c - s));
    host[c - s] = '\0';
    if (host[0] == '[' && host[strlen(host) - 1] == ']') { /* [::1]:502 */
        memmove(host, host + 1, strlen(host));
        host[strlen(host) - 1] = '\0';
    }
    *port = (int)p;
    return 0;
}

static int walk_serial(struct walk *w, const config_setting_t *g, sc_bus_t *b)
{
    static const char *const keys[] = {"device", "baud", "parity", "data_bits", "stop_bits", NULL};
    char parity[16] = "even";
    if (check_keys(w, g, keys, "'serial'") ||
        get_str(w, g, "device", b->device, sizeof b->device, 1) < 0 ||
        get_int(w, g, "baud", &b->baud, 300, 1000000, 1) < 0 ||
        get_str(w, g, "parity", parity, sizeof parity, 0) < 0 ||
        get_int(w, g, "data_bits", &b->data_bits, 7, 8, 0) < 0 ||
        get_int(w, g, "stop_bits", &b->stop_bits, 1, 2, 0) < 0)
        return -1;
    if (strcmp(parity, "even") == 0)
        b->parity = 'E';
    else if (strcmp(parity, "odd") == 0)
        b->parity = 'O';
    else if (strcmp(parity, "none") == 0)
        b->parity = 'N';
    else
        return fail(w, config_setting_get_member(g, "parity"),
                    "parity \"%s\" must be \"even\" (the Modbus default), \"odd\" or \"none\"",
                    parity);
    return 0;
}

static int walk_bus(struct walk *w, const config_setting_t *g, const char *tz, sc_bus_t *b)
{
    static const char *const keys[] = {"id", "tcp", "serial", "usb", "inter_frame_ms", "devices",
                                       NULL};
    static const char *const no_keys[] = {NULL};
    const config_setting_t *l, *ser, *tcp, *usb;
    char hp[SC_NAME_MAX + 8];
    int n;
    b->line = line_of(g);
    b->data_bits = 8;
    b->stop_bits = 1;
    b->parity = 'E';
    if (check_keys(w, g, keys, "a bus") || get_id(w, g, "id", b->id, sizeof b->id, 1) < 0)
        return -1;
    tcp = config_setting_get_member(g, "tcp");
    ser = config_setting_get_member(g, "serial");
    usb = config_setting_get_member(g, "usb");
    if (!!tcp + !!ser + !!usb != 1)
        return fail(w, g, "bus \"%s\" needs exactly one of 'tcp = \"host:port\"', "
                          "'serial = { ... }' or 'usb = { };'", b->id);
    if (tcp) {
        b->kind = SC_BUS_TCP;
        if (get_str(w, g, "tcp", hp, sizeof hp, 1) < 0)
            return -1;
        if (parse_hostport(hp, b->host, sizeof b->host, &b->port) != 0)
            return fail(w, tcp, "tcp = \"%s\" is not host:port (port 1..65535)", hp);
    } else if (ser) {
        b->kind = SC_BUS_SERIAL;
        b->inter_frame_ms = 5;
        if (walk_serial(w, ser, b) < 0)
            return -1;
    } else {
        /* A group, so that bus-wide USB settings can come later without a new syntax. */
        b->kind = SC_BUS_USB;
        if (check_keys(w, usb, no_keys, "'usb'") < 0)
            return -1;
        if (config_setting_get_member(g, "inter_frame_ms"))
            return fail(w, config_setting_get_member(g, "inter_frame_ms"),
                        "'inter_frame_ms' is for Modbus buses; each USB device is polled on "
                        "its own");
    }
    if (get_int(w, g, "inter_frame_ms", &b->inter_frame_ms, 0, 10000, 0) < 0)
        return -1;
    l = list_of_groups(w, g, "devices", 1, &n);
    if (!l)
        return -1;
    if (n == 0)
        return fail(w, l, "bus \"%s\" has no devices", b->id);
    b->devices = calloc((size_t)n, sizeof *b->devices);
    if (!b->devices)
        return -1;
    b->n_devices = (size_t)n;
    for (int i = 0; i < n; i++) {
        if (walk_device(w, config_setting_get_elem(l, (unsigned)i), tz, b->kind,
                        &b->devices[i]) < 0)
            return -1;
        for (int j = 0; j < i; j++) {
            if (strcmp(b->devices[j].id, b->devices[i].id) == 0)
                return fail(w, config_setting_get_elem(l, (unsigned)i),
                            "device id \"%s\" already used on bus \"%s\" (line %d)",
                            b->devices[i].id, b->id, b->devices[j].line);
            if (b->kind != SC_BUS_USB && b->devices[j].unit == b->devices[i].unit)
                return fail(w, config_setting_get_elem(l, (unsigned)i),
                            "unit id %d already used on bus \"%s\" by device \"%s\" (line %d)",
                            b->devices[i].unit, b->id, b->devices[j].id, b->devices[j].line);
        }
    }
    return 0;
}

/* An exporter URL as prom_scrape takes it: plain http, a host, an optional port. */
static int valid_http_url(const char *u)
{
    return strncmp(u, "http://", 7) == 0 && u[7] && u[7] != '/' && !strpbrk(u, " \t\r\n");
}

static int walk_host(struct walk *w, const config_setting_t *g, sc_host_t *h)
{
    static const char *const keys[] = {"id",     "ips",      "channel",      "role",
                                       "idle_w", "max_w",    "exporter",     "gpu_exporter",
                                       "gauge",  "interval", NULL};
    static const char *const roles[] = {"server", "storage", "network", "gpu_node", "office_pc",
                                        "other",  NULL};
    const config_setting_t *ips;
    h->line = line_of(g);
    h->interval_s = 60;
    wa_strlcpy(h->role, "other", sizeof h->role);
    if (check_keys(w, g, keys, "a host") || get_id(w, g, "id", h->id, sizeof h->id, 1) < 0 ||
        get_str(w, g, "channel", h->channel, sizeof h->channel, 0) < 0 ||
        get_str(w, g, "role", h->role, sizeof h->role, 0) < 0 ||
        get_double(w, g, "idle_w", &h->idle_w, 0, 1e6, 0) < 0 ||
        get_double(w, g, "max_w", &h->max_w, 0, 1e6, 0) < 0 ||
        get_str(w, g, "exporter", h->exporter, sizeof h->exporter, 0) < 0 ||
        get_str(w, g, "gpu_exporter", h->gpu_exporter, sizeof h->gpu_exporter, 0) < 0 ||
        get_str(w, g, "gauge", h->gauge, sizeof h->gauge, 0) < 0 ||
        get_int(w, g, "interval", &h->interval_s, 1, 86400, 0) < 0)
        return -1;
    if (!in_list(roles, h->role))
        return fail(w, config_setting_get_member(g, "role"),
                    "host \"%s\": role \"%s\" is not one of server, storage, network, gpu_node, "
                    "office_pc, other", h->id, h->role);
    if (h->max_w > 0 && h->idle_w > h->max_w)
        return fail(w, g, "host \"%s\": idle_w %g is above max_w %g", h->id, h->idle_w, h->max_w);
    if (h->channel[0]) {
        const char *sl = strchr(h->channel, '/');
        if (!sl || sl == h->channel || !sl[1] || strchr(sl + 1, '/'))
            return fail(w, config_setting_get_member(g, "channel"),
                        "host \"%s\": channel \"%s\" must be \"device/channel\"", h->id,
                        h->channel);
    }
    if ((h->exporter[0] && !valid_http_url(h->exporter)) ||
        (h->gpu_exporter[0] && !valid_http_url(h->gpu_exporter)))
        return fail(w, g, "host \"%s\": exporters are http://host[:port]/path URLs", h->id);
    if ((ips = config_setting_get_member(g, "ips")) != NULL) {
        int n = config_setting_length(ips);
        if (!config_setting_is_array(ips) && !config_setting_is_list(ips))
            return fail(w, ips, "host \"%s\": 'ips' must be an array of strings [ \"10.0.0.5\" ]",
                        h->id);
        if (n > SC_HOST_IPS_MAX)
            return fail(w, ips, "host \"%s\": at most %d addresses", h->id, SC_HOST_IPS_MAX);
        for (int i = 0; i < n; i++) {
            const config_setting_t *e = config_setting_get_elem(ips, (unsigned)i);
            const char *v = config_setting_get_string(e);
            unsigned char bin[16];
            if (!v || (inet_pton(AF_INET, v, bin) != 1 && inet_pton(AF_INET6, v, bin) != 1))
                return fail(w, e, "host \"%s\": \"%s\" is not an IPv4 or IPv6 address", h->id,
                            v ? v : "(not a string)");
            wa_strlcpy(h->ips[i], v, sizeof h->ips[i]);
        }
        h->n_ips = (size_t)n;
    }
    return 0;
}

/* Hosts of a site, and the declaration files read at analysis time (paths only here). */
static int walk_hosts(struct walk *w, const config_setting_t *g, sc_site_t *s)
{
    const config_setting_t *l;
    int n;
    if (get_str(w, g, "jobs_file", s->jobs_file, sizeof s->jobs_file, 0) < 0 ||
        get_str(w, g, "slurm_file", s->slurm_file, sizeof s->slurm_file, 0) < 0 ||
        get_str(w, g, "flagged_ips_file", s->flagged_ips_file, sizeof s->flagged_ips_file, 0) < 0)
        return -1;
    if (s->jobs_file[0])
        resolve(w, s->jobs_file, sizeof s->jobs_file);
    if (s->slurm_file[0])
        resolve(w, s->slurm_file, sizeof s->slurm_file);
    if (s->flagged_ips_file[0])
        resolve(w, s->flagged_ips_file, sizeof s->flagged_ips_file);
    l = list_of_groups(w, g, "hosts", 0, &n);
    if (!l)
        return errno == 0 ? 0 : -1;
    s->hosts = calloc((size_t)(n ? n : 1), sizeof *s->hosts);
    if (!s->hosts)
        return -1;
    s->n_hosts = (size_t)n;
    for (int i = 0; i < n; i++) {
        const config_setting_t *e = config_setting_get_elem(l, (unsigned)i);
        sc_host_t *h = &s->hosts[i];
        if (walk_host(w, e, h) < 0)
            return -1;
        for (int j = 0; j < i; j++) {
            if (strcmp(s->hosts[j].id, h->id) == 0)
                return fail(w, e, "host id \"%s\" already used in site \"%s\" (line %d)", h->id,
                            s->id, s->hosts[j].line);
            for (size_t a = 0; a < h->n_ips; a++)
                for (size_t b = 0; b < s->hosts[j].n_ips; b++)
                    if (strcmp(h->ips[a], s->hosts[j].ips[b]) == 0)
                        return fail(w, e, "host \"%s\": address %s is host \"%s\"'s (line %d)",
                                    h->id, h->ips[a], s->hosts[j].id, s->hosts[j].line);
        }
    }
    return 0;
}

/* A host's channel names a device of its site, and one of its channels when they are listed. */
static int check_host_channels(struct walk *w, const sc_site_t *s)
{
    for (size_t i = 0; i < s->n_hosts; i++) {
        const sc_host_t *h = &s->hosts[i];
        if (!h->channel[0])
            continue;
        const char *sl = strchr(h->channel, '/');
        size_t dl = (size_t)(sl - h->channel);
        int found = 0;
        for (size_t b = 0; b < s->n_buses && !found; b++)
            for (size_t d = 0; d < s->buses[b].n_devices && !found; d++) {
                const sc_device_t *dev = &s->buses[b].devices[d];
                if (strlen(dev->id) != dl || strncmp(dev->id, h->channel, dl) != 0)
                    continue;
                found = dev->n_channels == 0 ? 1 : -1;
                for (size_t k = 0; k < dev->n_channels; k++)
                    if (strcmp(dev->channels[k].id, sl + 1) == 0)
                        found = 1;
            }
        if (found != 1)
            return wa_err(w->err, w->errlen, "%s:%d: host \"%s\": channel \"%s\" is not %s", w->file,
                          h->line, h->id, h->channel,
                          found ? "a channel of that device" : "on a device of this site");
    }
    return 0;
}

/* A simulated load that names a host runs on it: the host is in the site and draws from the
 * load's channel, so that the power the simulator serves and the host's utilisation agree. */
static int check_load_hosts(struct walk *w, const sc_site_t *s)
{
    for (size_t b = 0; b < s->n_buses; b++)
        for (size_t d = 0; d < s->buses[b].n_devices; d++) {
            const sc_device_t *dev = &s->buses[b].devices[d];
            for (size_t c = 0; c < dev->n_channels; c++) {
                const sc_channel_t *ch = &dev->channels[c];
                char here[2 * SC_ID_MAX + 2];
                snprintf(here, sizeof here, "%s/%s", dev->id, ch->id);
                for (size_t l = 0; l < ch->sim.n_loads; l++) {
                    const sc_load_t *ld = &ch->sim.loads[l];
                    const sc_host_t *h = NULL;
                    if (!ld->host[0])
                        continue;
                    for (size_t k = 0; k < s->n_hosts && !h; k++)
                        if (strcmp(s->hosts[k].id, ld->host) == 0)
                            h = &s->hosts[k];
                    if (!h)
                        return wa_err(w->err, w->errlen,
                                      "%s:%d: load \"%s\" on %s: host \"%s\" is not in site "
                                      "\"%s\"'s hosts",
                                      w->file, ld->line, ld->model, here, ld->host, s->id);
                    if (!h->channel[0])
                        return wa_err(w->err, w->errlen,
                                      "%s:%d: load \"%s\" on %s: host \"%s\" (line %d) has no "
                                      "channel; give it channel = \"%s\"",
                                      w->file, ld->line, ld->model, here, h->id, h->line, here);
                    if (strcmp(h->channel, here) != 0)
                        return wa_err(w->err, w->errlen,
                                      "%s:%d: load \"%s\" on %s: host \"%s\" draws from \"%s\" "
                                      "(line %d), not from this channel",
                                      w->file, ld->line, ld->model, here, h->id, h->channel,
                                      h->line);
                }
            }
        }
    return 0;
}

static int walk_site(struct walk *w, const config_setting_t *g, const char *default_tz,
                     sc_site_t *s)
{
    static const char *const keys[] = {"id",        "name",       "timezone",         "buses",
                                       "hosts",     "jobs_file",  "slurm_file",
                                       "flagged_ips_file", NULL};
    const config_setting_t *l;
    int n;
    s->line = line_of(g);
    if (check_keys(w, g, keys, "a site") || get_id(w, g, "id", s->id, sizeof s->id, 1) < 0 ||
        get_str(w, g, "name", s->name, sizeof s->name, 0) < 0 ||
        get_str(w, g, "timezone", s->timezone, sizeof s->timezone, 0) < 0 ||
        check_tz(w, g, "timezone", s->timezone) < 0)
        return -1;
    if (!s->name[0])
        wa_strlcpy(s->name, s->id, sizeof s->name);
    if (!s->timezone[0])
        wa_strlcpy(s->timezone, default_tz, sizeof s->timezone);
    l = list_of_groups(w, g, "buses", 1, &n);
    if (!l)
        return -1;
    s->buses = calloc((size_t)(n ? n : 1), sizeof *s->buses);
    if (!s->buses)
        return -1;
    s->n_buses = (size_t)n;
    for (int i = 0; i < n; i++) {
        if (walk_bus(w, config_setting_get_elem(l, (unsigned)i), s->timezone, &s->buses[i]) < 0)
            return -1;
        for (int j = 0; j < i; j++)
            if (strcmp(s->buses[j].id, s->buses[i].id) == 0)
                return fail(w, config_setting_get_elem(l, (unsigned)i),
                            "bus id \"%s\" already used in site \"%s\" (line %d)",
                            s->buses[i].id, s->id, s->buses[j].line);
    }
    if (walk_hosts(w, g, s) < 0 || check_host_channels(w, s) < 0 || check_load_hosts(w, s) < 0) {
        errno = WA_ECONFIG;
        return -1;
    }
    return 0;
}

static int walk_storage(struct walk *w, const config_setting_t *g, sc_storage_t *st)
{
    static const char *const keys[] = {"data_dir",  "rrdcached",      "full_days",
                                       "mid_step",  "mid_days",       "long_step",
                                       "long_days", "flush_interval", "quality",   NULL};
    const config_setting_t *q;
    if (check_keys(w, g, keys, "'storage'") ||
        get_str(w, g, "data_dir", st->data_dir, sizeof st->data_dir, 0) < 0 ||
        get_str(w, g, "rrdcached", st->rrdcached, sizeof st->rrdcached, 0) < 0 ||
        get_int(w, g, "full_days", &st->full_days, 1, 3660, 0) < 0 ||
        get_int(w, g, "mid_step", &st->mid_step_s, 1, 86400, 0) < 0 ||
        get_int(w, g, "mid_days", &st->mid_days, 1, 3660, 0) < 0 ||
        get_int(w, g, "long_step", &st->long_step_s, 1, 86400 * 7, 0) < 0 ||
        get_int(w, g, "long_days", &st->long_days, 1, 36600, 0) < 0 ||
        get_int(w, g, "flush_interval", &st->flush_s, 1, 3600, 0) < 0)
        return -1;
    if ((q = config_setting_get_member(g, "quality")) != NULL) {
        if (config_setting_type(q) != CONFIG_TYPE_BOOL)
            return fail(w, q, "'quality' must be true or false");
        st->quality = config_setting_get_bool(q);
    }
    if (st->long_step_s <= st->mid_step_s)
        return fail(w, g, "long_step (%d s) must be longer than mid_step (%d s)",
                    st->long_step_s, st->mid_step_s);
    return 0;
}

/* Which match criteria a USB device gives: bit 0 usb_id, 1 serial, 2 usb_path. */
static unsigned usb_fields(const sc_usb_t *u)
{
    return (u->vid ? 1u : 0u) | (u->serial[0] ? 2u : 0u) | (u->path[0] ? 4u : 0u);
}

/* 1 if a and b could pick the same UPS and neither says more than the other: every criterion
 * both give is equal, and one gives no criterion the other lacks.  (Devices that use different
 * criteria, one usb_path and one usb_id, cannot be told apart before the devices are seen.) */
static int usb_overlap(const sc_usb_t *a, const sc_usb_t *b)
{
    unsigned fa = usb_fields(a), fb = usb_fields(b), both = fa & fb;
    if ((both & 1u) && (a->vid != b->vid || a->pid != b->pid))
        return 0;
    if ((both & 2u) && strcmp(a->serial, b->serial) != 0)
        return 0;
    if ((both & 4u) && strcmp(a->path, b->path) != 0)
        return 0;
    return (fa & fb) == fa || (fa & fb) == fb;
}

static int usb_seen_before(struct walk *w, const siteconf_t *c, const sc_device_t *a)
{
    for (size_t k = 0; k < c->n_sites; k++)
        for (size_t e = 0; e < c->sites[k].n_buses; e++) {
            const sc_bus_t *y = &c->sites[k].buses[e];
            for (size_t f = 0; y->kind == SC_BUS_USB && f < y->n_devices; f++) {
                const sc_device_t *o = &y->devices[f];
                if (o == a)
                    return 0;
                if (!usb_overlap(&a->usb, &o->usb))
                    continue;
                errno = WA_ECONFIG;
                if (usb_fields(&a->usb) == usb_fields(&o->usb))
                    return wa_err(w->err, w->errlen,
                                  "%s:%d: device \"%s\" has the same usb_id, serial and usb_path "
                                  "as device \"%s\" (line %d): both would read one UPS",
                                  w->file, a->line, a->id, o->id, o->line);
                return wa_err(w->err, w->errlen,
                              "%s:%d: device \"%s\" could read the same UPS as device \"%s\" "
                              "(line %d): the criteria they share agree and one gives no "
                              "other; tell them apart with serial or usb_path",
                              w->file, a->line, a->id, o->id, o->line);
            }
        }
    return 0;
}

/* USB devices are the host's, whatever site they are listed under: no two may pick one UPS. */
static int check_usb(struct walk *w, const siteconf_t *c)
{
    for (size_t i = 0; i < c->n_sites; i++)
        for (size_t b = 0; b < c->sites[i].n_buses; b++) {
            const sc_bus_t *x = &c->sites[i].buses[b];
            for (size_t d = 0; x->kind == SC_BUS_USB && d < x->n_devices; d++)
                if (usb_seen_before(w, c, &x->devices[d]) < 0)
                    return -1;
        }
    return 0;
}

/* Checks that need the whole tree: endpoints used twice across sites. */
static int check_whole(struct walk *w, const siteconf_t *c)
{
    if (check_usb(w, c) < 0)
        return -1;
    for (size_t i = 0; i < c->n_sites; i++) {
        for (size_t j = 0; j < i; j++)
            if (strcmp(c->sites[i].id, c->sites[j].id) == 0)
                return wa_err(w->err, w->errlen, "%s:%d: site id \"%s\" already used (line %d)",
                              w->file, c->sites[i].line, c->sites[i].id, c->sites[j].line);
        for (size_t b = 0; b < c->sites[i].n_buses; b++) {
            const sc_bus_t *x = &c->sites[i].buses[b];
            for (size_t k = 0; k <= i; k++)
                for (size_t e = 0; e < c->sites[k].n_buses; e++) {
                    const sc_bus_t *y = &c->sites[k].buses[e];
                    if (y == x)
                        goto next;
                    if (x->kind == y->kind &&
                        ((x->kind == SC_BUS_TCP && x->port == y->port &&
                          strcmp(x->host, y->host) == 0) ||
                         (x->kind == SC_BUS_SERIAL && strcmp(x->device, y->device) == 0)))
                        return wa_err(w->err, w->errlen,
                                      "%s:%d: bus \"%s\" uses the same %s as bus \"%s\" (line %d); "
                                      "put both buses' devices on one bus",
                                      w->file, x->line, x->id,
                                      x->kind == SC_BUS_TCP ? "gateway address" : "serial device",
                                      y->id, y->line);
                }
        next:;
        }
    }
    return 0;
}

static siteconf_t *walk_root(struct walk *w, const config_setting_t *root)
{
    static const char *const keys[] = {"timezone", "status_file", "profile_dirs", "storage",
                                       "simulation_start", "sites", NULL};
    siteconf_t *c = calloc(1, sizeof *c);
    const config_setting_t *l, *pd, *st;
    int n;

    if (!c)
        return NULL;
    wa_strlcpy(c->file, w->file, sizeof c->file);
    c->storage.full_days = 35;
    c->storage.mid_step_s = 300;
    c->storage.mid_days = 400;
    c->storage.long_step_s = 3600;
    c->storage.long_days = 1830;
    c->storage.quality = 1;
    wa_strlcpy(c->storage.data_dir, "data", sizeof c->storage.data_dir);
    if (check_keys(w, root, keys, "the file") ||
        get_str(w, root, "timezone", c->timezone, sizeof c->timezone, 0) < 0 ||
        check_tz(w, root, "timezone", c->timezone) < 0 ||
        get_str(w, root, "status_file", c->status_file, sizeof c->status_file, 0) < 0)
        goto bad;
    if (c->status_file[0])
        resolve(w, c->status_file, sizeof c->status_file);
    if (get_time(w, root, "simulation_start", c->timezone, &c->sim_start) < 0)
        goto bad;
    if ((st = config_setting_get_member(root, "storage")) && walk_storage(w, st, &c->storage) < 0)
        goto bad;
    resolve(w, c->storage.data_dir, sizeof c->storage.data_dir);
    /* librrd maps, updates and unmaps a file per call whatever the number of samples, so
     * direct writes are batched for a minute; rrdcached already holds them in memory. */
    if (c->storage.flush_s == 0)
        c->storage.flush_s = c->storage.rrdcached[0] ? 5 : 60;
    if ((pd = config_setting_get_member(root, "profile_dirs")) != NULL) {
        if (!config_setting_is_array(pd) && !config_setting_is_list(pd)) {
            fail(w, pd, "'profile_dirs' must be an array of strings [ \"dir\", ... ]");
            goto bad;
        }
        n = config_setting_length(pd);
        c->profile_dirs = calloc((size_t)(n ? n : 1), sizeof *c->profile_dirs);
        if (!c->profile_dirs)
            goto bad;
        for (int i = 0; i < n; i++) {
            const config_setting_t *e = config_setting_get_elem(pd, (unsigned)i);
            if (config_setting_type(e) != CONFIG_TYPE_STRING ||
                wa_strlcpy(c->profile_dirs[i], config_setting_get_string(e), SC_PATH_MAX) != 0) {
                fail(w, e, "each of 'profile_dirs' must be a folder name in double quotes");
                goto bad;
            }
            resolve(w, c->profile_dirs[i], SC_PATH_MAX);
        }
        c->n_profile_dirs = (size_t)n;
    }
    l = list_of_groups(w, root, "sites", 1, &n);
    if (!l)
        goto bad;
    if (n == 0) {
        fail(w, l, "no sites");
        goto bad;
    }
    c->sites = calloc((size_t)n, sizeof *c->sites);
    if (!c->sites)
        goto bad;
    c->n_sites = (size_t)n;
    for (int i = 0; i < n; i++)
        if (walk_site(w, config_setting_get_elem(l, (unsigned)i), c->timezone, &c->sites[i]) < 0)
            goto bad;
    if (check_whole(w, c) < 0) {
        errno = WA_ECONFIG;
        goto bad;
    }
    return c;
bad: {
    int e = errno ? errno : WA_ECONFIG;
    siteconf_free(c);
    errno = e;
    return NULL;
}
}

static siteconf_t *parse_with(config_t *lc, int ok, struct walk *w)
{
    siteconf_t *c;
    if (!ok) {
        if (config_error_type(lc) == CONFIG_ERR_FILE_IO) {
            int e = errno;
            wa_err(w->err, w->errlen, "%s: cannot read: %s", w->file, strerror(e ? e : EIO));
            errno = e ? e : EIO;
        } else {
            wa_err(w->err, w->errlen, "%s:%d: %s", w->file, config_error_line(lc),
                   config_error_text(lc));
            errno = WA_ECONFIG;
        }
        return NULL;
    }
    c = walk_root(w, config_root_setting(lc));
    return c;
}

siteconf_t *siteconf_load(const char *path, char *err, size_t errlen)
{
    config_t lc;
    char dir[SC_PATH_MAX];
    const char *slash;
    struct walk w = {path, dir, err, errlen};
    siteconf_t *c;
    int ok, e;

    if (!path) {
        errno = EINVAL;
        return NULL;
    }
    slash = strrchr(path, '/');
    dir[0] = '\0';
    if (slash) {
        size_t n = (size_t)(slash - path);
        if (n == 0)
            n = 1; /* "/site.conf" */
        if (n >= sizeof dir) {
            errno = ENAMETOOLONG;
            wa_err(err, errlen, "%s: path too long", path);
            return NULL;
        }
        memcpy(dir, path, n);
        dir[n] = '\0';
    }
    config_init(&lc);
    errno = 0;
    ok = config_read_file(&lc, path) == CONFIG_TRUE;
    c = parse_with(&lc, ok, &w);
    e = errno;
    config_destroy(&lc);
    errno = e;
    return c;
}

siteconf_t *siteconf_parse(const char *text, const char *name, char *err, size_t errlen)
{
    config_t lc;
    struct walk w = {name ? name : "<string>", "", err, errlen};
    siteconf_t *c;
    int ok, e;
    if (!text) {
        errno = EINVAL;
        return NULL;
    }
    config_init(&lc);
    ok = config_read_string(&lc, text) == CONFIG_TRUE;
    c = parse_with(&lc, ok, &w);
    e = errno;
    config_destroy(&lc);
    errno = e;
    return c;
}

void siteconf_free(siteconf_t *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n_sites; i++) {
        for (size_t b = 0; b < c->sites[i].n_buses; b++) {
            for (size_t d = 0; d < c->sites[i].buses[b].n_devices; d++) {
                sc_device_t *dev = &c->sites[i].buses[b].devices[d];
                for (size_t k = 0; k < dev->n_channels; k++)
                    free(dev->channels[k].declared);
                free(dev->channels);
            }
            free(c->sites[i].buses[b].devices);
        }
        free(c->sites[i].buses);
        free(c->sites[i].hosts);
    }
    free(c->sites);
    free(c->profile_dirs);
    free(c);
}

size_t siteconf_count_devices(const siteconf_t *c)
{
    size_t n = 0;
    for (size_t i = 0; c && i < c->n_sites; i++)
        for (size_t b = 0; b < c->sites[i].n_buses; b++)
            n += c->sites[i].buses[b].n_devices;
    return n;
}
