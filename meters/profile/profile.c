/*
 * profile.c: reads one profile file (docs/profiles.md) into a profile_t.
 *
 * libconfig parses the text into a tree; the walk below checks every key with a typed getter
 * and rejects keys it does not know, and the checks that involve several fields (register
 * spans, duplicates, the fingerprint) run after it.  Every message starts "file:line: ".
 */
#include <errno.h>
#include <libconfig.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "meters/profile/profile-private.h"
#include "meters/profile/profile.h"

/* Modbus Application Protocol Specification V1.1b3, 6.3 and 6.4: a read of holding or input
 * registers asks for 1 to 125 (0x7D) of them. */
#define MODBUS_READ_MAX 125
#define MAX_REGS_DEFAULT 100
/* SunSpec Information Model Specification: model ids are 16-bit and 0xFFFF marks the end of
 * the model chain, so it is never a model to read. */
#define SUNSPEC_MODEL_MAX 0xFFFE
/* Far more rows than any meter or PDU has (a 48-outlet PDU needs about 250); it bounds the
 * quadratic duplicate check on hostile input. */
#define ROWS_MAX 4096

typedef struct parse {
    const char *file;
    char *err;
    size_t errlen;
} parse_t;

/* The row fields that defaults may supply; has_* say whether they did. */
typedef struct row_defaults {
    int has_fn, has_type, has_order, has_unit;
    profile_fn_t fn;
    profile_type_t type;
    profile_order_t order;
    const char *unit;
    double scale;
} row_defaults_t;

typedef struct unit {
    const char *name;
    double factor; /* to the canonical unit of profile.h */
    unsigned quantities;
} unit_t;

#define QBIT(q) (1u << (q))
#define Q_ENERGY (QBIT(Q_ENERGY_IMPORT) | QBIT(Q_ENERGY_EXPORT))

/* The empty unit is the plain ratio a power factor is reported in. */
static const unit_t units[] = {
    {"W", 1.0, QBIT(Q_POWER)},     {"kW", 1e3, QBIT(Q_POWER)},     {"MW", 1e6, QBIT(Q_POWER)},
    {"Wh", 1.0, Q_ENERGY},         {"kWh", 1e3, Q_ENERGY},         {"MWh", 1e6, Q_ENERGY},
    {"V", 1.0, QBIT(Q_VOLTAGE)},   {"kV", 1e3, QBIT(Q_VOLTAGE)},   {"A", 1.0, QBIT(Q_CURRENT)},
    {"mA", 1e-3, QBIT(Q_CURRENT)}, {"Hz", 1.0, QBIT(Q_FREQUENCY)}, {"%", 1e-2, QBIT(Q_PF)},
    {"", 1.0, QBIT(Q_PF)},
};

static const char *const top_keys[] = {"vendor",      "model",         "source",
                                       "max_regs",    "sunspec_model", "defaults",
                                       "fingerprint", "registers",     NULL};
static const char *const default_keys[] = {"function", "type", "order", "unit", "scale", NULL};
static const char *const fingerprint_keys[] = {"register", "min", "max", NULL};
static const char *const row_keys[] = {"channel", "quantity", "address", "function", "type",
                                       "order",   "unit",     "scale",   "sf",       "min",
                                       "max",     "na",       NULL};

static int fail(const parse_t *ps, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(const parse_t *ps, int line, const char *fmt, ...)
{
    if (ps->err && ps->errlen > 0) {
        int n = snprintf(ps->err, ps->errlen, "%s:%d: ", ps->file, line > 0 ? line : 1);
        if (n >= 0 && (size_t)n < ps->errlen) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(ps->err + n, ps->errlen - (size_t)n, fmt, ap);
            va_end(ap);
        }
    }
    errno = WA_ECONFIG;
    return -1;
}

static int line_of(const config_setting_t *s)
{
    return (int)config_setting_source_line(s);
}

static const unit_t *unit_find(const char *name)
{
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (strcmp(units[i].name, name) == 0)
            return &units[i];
    return NULL;
}

static int check_keys(const parse_t *ps, const config_setting_t *g, const char *const *keys,
                      const char *where)
{
    for (int i = 0; i < config_setting_length(g); i++) {
        const config_setting_t *m = config_setting_get_elem(g, (unsigned)i);
        size_t k = 0;
        while (keys[k] && strcmp(keys[k], config_setting_name(m)) != 0)
            k++;
        if (!keys[k])
            return fail(ps, line_of(m), "unknown key '%s' in %s", config_setting_name(m), where);
    }
    return 0;
}

/*
 * Typed getters: 1 when the key is there and valid, 0 when it is absent, -1 (message set)
 * when it is there but wrong.
 */
static int get_string(const parse_t *ps, const config_setting_t *g, const char *key,
                      const char **out)
{
    const config_setting_t *s = config_setting_get_member(g, key);
    if (!s)
        return 0;
    if (config_setting_type(s) != CONFIG_TYPE_STRING)
        return fail(ps, line_of(s), "'%s' must be a string in double quotes", key);
    *out = config_setting_get_string(s);
    return 1;
}

/* libconfig 1.5 stores integers as int, or as int64 when written with the L suffix.  A decimal
 * too large for 32 bits and written without L wraps inside libconfig, where we cannot see it;
 * most such typos still land outside lo..hi. */
static int get_int(const parse_t *ps, const config_setting_t *g, const char *key, long long lo,
                   long long hi, long long *out)
{
    const config_setting_t *s = config_setting_get_member(g, key);
    if (!s)
        return 0;
    int t = config_setting_type(s);
    if (t != CONFIG_TYPE_INT && t != CONFIG_TYPE_INT64)
        return fail(ps, line_of(s), "'%s' must be a whole number", key);
    long long v = config_setting_get_int64(s);
    if (v < lo || v > hi)
        return fail(ps, line_of(s), "'%s' = %lld is out of range %lld..%lld", key, v, lo, hi);
    *out = v;
    return 1;
}

/* Integers are accepted where a number is wanted: "max = 500;" means what it says. */
static int get_number(const parse_t *ps, const config_setting_t *g, const char *key, double *out)
{
    const config_setting_t *s = config_setting_get_member(g, key);
    if (!s)
        return 0;
    int t = config_setting_type(s);
    if (t == CONFIG_TYPE_FLOAT)
        *out = config_setting_get_float(s);
    else if (t == CONFIG_TYPE_INT || t == CONFIG_TYPE_INT64)
        *out = (double)config_setting_get_int64(s);
    else
        return fail(ps, line_of(s), "'%s' must be a number", key);
    if (!isfinite(*out))
        return fail(ps, line_of(s), "'%s' must be finite", key);
    return 1;
}

static int get_text(const parse_t *ps, const config_setting_t *g, const char *key, char *dst,
                    size_t n)
{
    const char *s = NULL;
    int rc = get_string(ps, g, key, &s);
    if (rc <= 0)
        return rc;
    if (!*s)
        return fail(ps, line_of(config_setting_get_member(g, key)), "'%s' must not be empty", key);
    if (strlen(s) >= n)
        return fail(ps, line_of(config_setting_get_member(g, key)),
                    "'%s' is too long (at most %zu characters)", key, n - 1);
    memcpy(dst, s, strlen(s) + 1);
    return 1;
}

static int get_fn(const parse_t *ps, const config_setting_t *g, profile_fn_t *out)
{
    const char *s = NULL;
    int rc = get_string(ps, g, "function", &s);
    if (rc <= 0)
        return rc;
    if (strcmp(s, "input") == 0)
        *out = PROFILE_FN_INPUT;
    else if (strcmp(s, "holding") == 0)
        *out = PROFILE_FN_HOLDING;
    else
        return fail(ps, line_of(config_setting_get_member(g, "function")),
                    "unknown function \"%s\" (input or holding)", s);
    return 1;
}

static int get_type(const parse_t *ps, const config_setting_t *g, profile_type_t *out)
{
    const char *s = NULL;
    int rc = get_string(ps, g, "type", &s);
    if (rc <= 0)
        return rc;
    if (profile_type_parse(s, out) < 0)
        return fail(ps, line_of(config_setting_get_member(g, "type")),
                    "unknown type \"%s\" (u16, s16, u32, s32, u64, s64, float32, float64)", s);
    return 1;
}

static int get_order(const parse_t *ps, const config_setting_t *g, profile_order_t *out)
{
    const char *s = NULL;
    int rc = get_string(ps, g, "order", &s);
    if (rc <= 0)
        return rc;
    if (profile_order_parse(s, out) < 0)
        return fail(ps, line_of(config_setting_get_member(g, "order")),
                    "unknown order \"%s\" (ABCD, CDAB, BADC or DCBA)", s);
    return 1;
}

static int get_unit(const parse_t *ps, const config_setting_t *g, const char **out)
{
    int rc = get_string(ps, g, "unit", out);
    if (rc <= 0)
        return rc;
    if (!unit_find(*out))
        return fail(ps, line_of(config_setting_get_member(g, "unit")),
                    "unknown unit \"%s\" (W, kW, MW, Wh, kWh, MWh, V, kV, A, mA, Hz, %%, \"\")",
                    *out);
    return 1;
}

static int get_scale(const parse_t *ps, const config_setting_t *g, double *out)
{
    int rc = get_number(ps, g, "scale", out);
    if (rc > 0 && *out == 0.0)
        return fail(ps, line_of(config_setting_get_member(g, "scale")), "'scale' must not be 0");
    return rc;
}

static int parse_defaults(const parse_t *ps, const config_setting_t *root, row_defaults_t *d)
{
    const config_setting_t *g = config_setting_get_member(root, "defaults");

    d->scale = 1.0;
    if (!g)
        return 0;
    if (!config_setting_is_group(g))
        return fail(ps, line_of(g), "'defaults' must be a group { ... }");
    if (check_keys(ps, g, default_keys, "defaults") < 0)
        return -1;
    if ((d->has_fn = get_fn(ps, g, &d->fn)) < 0 || (d->has_type = get_type(ps, g, &d->type)) < 0 ||
        (d->has_order = get_order(ps, g, &d->order)) < 0 ||
        (d->has_unit = get_unit(ps, g, &d->unit)) < 0 || get_scale(ps, g, &d->scale) < 0)
        return -1;
    return 0;
}

/* Channel names end up in file names and in "channel/quantity" references. */
static int channel_name_ok(const char *s)
{
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_' || *s == '-'))
            return 0;
    return 1;
}

/* na = [ ... ]: patterns are written as the register holds them; a negative number stands
 * for its two's complement in a signed type, and a hex number without the L suffix (which
 * libconfig stores in 32 bits) for its 32 bits as written. */
static int parse_na(const parse_t *ps, const config_setting_t *row, profile_reg_t *r)
{
    const config_setting_t *a = config_setting_get_member(row, "na");
    if (!a)
        return 0;
    if (!config_setting_is_array(a) && !config_setting_is_list(a))
        return fail(ps, line_of(a), "'na' must be an array [ ... ] of integers");
    int n = config_setting_length(a);
    if (n > PROFILE_SENTINELS_MAX)
        return fail(ps, line_of(a), "'na' has %d patterns (at most %d)", n, PROFILE_SENTINELS_MAX);

    unsigned bits = 16 * profile_type_words(r->type);
    uint64_t mask = bits == 64 ? UINT64_MAX : ((uint64_t)1 << bits) - 1;
    int is_signed =
        r->type == PROFILE_T_S16 || r->type == PROFILE_T_S32 || r->type == PROFILE_T_S64;
    for (int i = 0; i < n; i++) {
        const config_setting_t *e = config_setting_get_elem(a, (unsigned)i);
        int t = config_setting_type(e);
        if (t != CONFIG_TYPE_INT && t != CONFIG_TYPE_INT64)
            return fail(ps, line_of(e), "'na' must hold integers (raw bit patterns)");
        long long v = config_setting_get_int64(e);
        uint64_t pattern;
        if (t == CONFIG_TYPE_INT && config_setting_get_format(e) == CONFIG_FORMAT_HEX)
            pattern = (uint32_t)config_setting_get_int(e);
        else
            pattern = (uint64_t)v; /* two's complement, defined by C11 6.3.1.3 */
        int fits = (pattern & ~mask) == 0 || (is_signed && v < 0 && bits < 64 &&
                                              v >= -(long long)((uint64_t)1 << (bits - 1)));
        if (!fits && config_setting_get_format(e) == CONFIG_FORMAT_HEX)
            return fail(ps, line_of(e), "na pattern 0x%llX does not fit type %s",
                        (unsigned long long)pattern, profile_type_name(r->type));
        if (!fits)
            return fail(ps, line_of(e), "na pattern %lld does not fit type %s", v,
                        profile_type_name(r->type));
        r->sentinels[r->n_sentinels++] = pattern & mask;
    }
    return 0;
}

static int parse_row(const parse_t *ps, const config_setting_t *row, const row_defaults_t *d,
                     profile_reg_t *r)
{
    const char *s = NULL;
    long long v = 0;
    int rc;

    r->line = line_of(row);
    if (!config_setting_is_group(row))
        return fail(ps, r->line, "a register row must be a group { ... }");
    if (check_keys(ps, row, row_keys, "register row") < 0)
        return -1;

    if ((rc = get_text(ps, row, "channel", r->channel, sizeof r->channel)) <= 0)
        return rc < 0 ? -1 : fail(ps, r->line, "missing required key 'channel' in register row");
    if (!channel_name_ok(r->channel))
        return fail(ps, r->line, "channel \"%s\": use letters, digits, _ and - only", r->channel);

    if ((rc = get_string(ps, row, "quantity", &s)) <= 0)
        return rc < 0 ? -1 : fail(ps, r->line, "missing required key 'quantity' in register row");
    if (profile_quantity_parse(s, &r->quantity) < 0)
        return fail(ps, line_of(config_setting_get_member(row, "quantity")),
                    "unknown quantity \"%s\" (power, energy_import, energy_export, voltage, "
                    "current, pf, frequency)",
                    s);

    if ((rc = get_int(ps, row, "address", 0, 65535, &v)) <= 0)
        return rc < 0 ? -1 : fail(ps, r->line, "missing required key 'address' in register row");
    r->address = (uint16_t)v;

    if ((rc = get_fn(ps, row, &r->fn)) < 0)
        return -1;
    if (rc == 0 && !d->has_fn)
        return fail(ps, r->line,
                    "missing key 'function' in register row (set it here or in defaults)");
    if (rc == 0)
        r->fn = d->fn;
    if ((rc = get_type(ps, row, &r->type)) < 0)
        return -1;
    if (rc == 0 && !d->has_type)
        return fail(ps, r->line, "missing key 'type' in register row (set it here or in defaults)");
    if (rc == 0)
        r->type = d->type;
    if ((rc = get_order(ps, row, &r->order)) < 0)
        return -1;
    if (rc == 0 && !d->has_order)
        return fail(ps, r->line,
                    "missing key 'order' in register row (set it here or in defaults)");
    if (rc == 0)
        r->order = d->order;

    /* A pf row without a unit is a ratio whatever the defaults say: a default unit is for the
     * rows that have one. */
    const char *unit = NULL;
    if ((rc = get_unit(ps, row, &unit)) < 0)
        return -1;
    if (rc == 0)
        unit = r->quantity == Q_PF ? "" : d->has_unit ? d->unit : NULL;
    if (!unit)
        return fail(ps, r->line, "missing key 'unit' in register row (set it here or in defaults)");
    const unit_t *u = unit_find(unit);
    if (!(u->quantities & QBIT(r->quantity)))
        return fail(ps, r->line, "unit \"%s\"%s does not fit quantity %s", unit,
                    rc == 0 ? " (from defaults)" : "", profile_quantity_name(r->quantity));
    r->unit_factor = u->factor;

    r->scale = d->scale;
    if (get_scale(ps, row, &r->scale) < 0)
        return -1;
    r->sf_address = -1;
    if ((rc = get_int(ps, row, "sf", 0, 65535, &v)) < 0)
        return -1;
    if (rc > 0)
        r->sf_address = (int)v;

    r->min = r->max = NAN;
    if (get_number(ps, row, "min", &r->min) < 0 || get_number(ps, row, "max", &r->max) < 0)
        return -1;
    if (r->min > r->max)
        return fail(ps, r->line, "'min' %g is above 'max' %g", r->min, r->max);
    return parse_na(ps, row, r);
}

/* Checks that need the whole row or all rows: spans, duplicates. */
static int check_rows(const parse_t *ps, const profile_t *p)
{
    for (size_t i = 0; i < p->n_regs; i++) {
        const profile_reg_t *r = &p->regs[i];
        unsigned words = profile_type_words(r->type);
        if ((unsigned)r->address + words - 1 > 65535)
            return fail(ps, r->line, "%s at address %u needs %u registers and runs past 65535",
                        profile_type_name(r->type), r->address, words);
        if ((int)words > p->max_regs)
            return fail(ps, r->line, "%s needs %u registers, more than max_regs = %d",
                        profile_type_name(r->type), words, p->max_regs);
        for (size_t j = 0; j < i; j++) {
            if (p->regs[j].quantity == r->quantity && strcmp(p->regs[j].channel, r->channel) == 0)
                return fail(ps, r->line, "second row for %s/%s (the first is at line %d)",
                            r->channel, profile_quantity_name(r->quantity), p->regs[j].line);
        }
    }
    return 0;
}

static void collect_channels(profile_t *p)
{
    for (size_t i = 0; i < p->n_regs; i++) {
        size_t j = 0;
        while (j < p->n_channels && strcmp(p->channels[j], p->regs[i].channel) != 0)
            j++;
        if (j == p->n_channels)
            memcpy(p->channels[p->n_channels++], p->regs[i].channel, PROFILE_NAME_MAX);
    }
}

static int parse_fingerprint(const parse_t *ps, const config_setting_t *root, profile_t *p)
{
    const config_setting_t *g = config_setting_get_member(root, "fingerprint");
    const char *ref = NULL;

    p->fingerprint_reg = -1;
    p->fingerprint_min = p->fingerprint_max = NAN;
    if (!g)
        return 0;
    if (!config_setting_is_group(g))
        return fail(ps, line_of(g),
                    "'fingerprint' must be a group { register = ...; "
                    "min = ...; max = ...; }");
    if (check_keys(ps, g, fingerprint_keys, "fingerprint") < 0)
        return -1;
    int rc;
    if ((rc = get_string(ps, g, "register", &ref)) <= 0)
        return rc < 0 ? -1 : fail(ps, line_of(g), "missing required key 'register' in fingerprint");
    if ((rc = get_number(ps, g, "min", &p->fingerprint_min)) <= 0)
        return rc < 0 ? -1 : fail(ps, line_of(g), "missing required key 'min' in fingerprint");
    if ((rc = get_number(ps, g, "max", &p->fingerprint_max)) <= 0)
        return rc < 0 ? -1 : fail(ps, line_of(g), "missing required key 'max' in fingerprint");
    if (p->fingerprint_min > p->fingerprint_max)
        return fail(ps, line_of(g), "fingerprint 'min' %g is above 'max' %g", p->fingerprint_min,
                    p->fingerprint_max);

    int ref_line = line_of(config_setting_get_member(g, "register"));
    const char *slash = strrchr(ref, '/');
    profile_quantity_t q;
    if (!slash || profile_quantity_parse(slash + 1, &q) < 0)
        return fail(ps, ref_line, "fingerprint register \"%s\" is not \"channel/quantity\"", ref);
    for (size_t i = 0; i < p->n_regs; i++) {
        const profile_reg_t *r = &p->regs[i];
        if (r->quantity == q && strlen(r->channel) == (size_t)(slash - ref) &&
            strncmp(r->channel, ref, (size_t)(slash - ref)) == 0) {
            p->fingerprint_reg = (int)i;
            return 0;
        }
    }
    return fail(ps, ref_line, "fingerprint register \"%s\" names no row of this profile", ref);
}

static int parse_top(const parse_t *ps, const config_setting_t *root, profile_t *p)
{
    long long v = 0;
    int rc;

    if (check_keys(ps, root, top_keys, "profile") < 0)
        return -1;
    if ((rc = get_text(ps, root, "vendor", p->vendor, sizeof p->vendor)) <= 0)
        return rc < 0 ? -1 : fail(ps, 1, "missing required key 'vendor'");
    if ((rc = get_text(ps, root, "model", p->model, sizeof p->model)) <= 0)
        return rc < 0 ? -1 : fail(ps, 1, "missing required key 'model'");
    if ((rc = get_text(ps, root, "source", p->source, sizeof p->source)) <= 0)
        return rc < 0 ? -1 : fail(ps, 1, "missing required key 'source'");

    p->max_regs = MAX_REGS_DEFAULT;
    if ((rc = get_int(ps, root, "max_regs", 1, MODBUS_READ_MAX, &v)) < 0)
        return -1;
    if (rc > 0)
        p->max_regs = (int)v;
    if ((rc = get_int(ps, root, "sunspec_model", 1, SUNSPEC_MODEL_MAX, &v)) < 0)
        return -1;
    p->sunspec_model = rc > 0 ? (int)v : 0;

    row_defaults_t d = {0};
    if (parse_defaults(ps, root, &d) < 0)
        return -1;

    const config_setting_t *list = config_setting_get_member(root, "registers");
    if (!list)
        return fail(ps, 1, "missing required key 'registers'");
    if (!config_setting_is_list(list))
        return fail(ps, line_of(list), "'registers' must be a list ( { ... }, ... )");
    int n = config_setting_length(list);
    if (n == 0)
        return fail(ps, line_of(list), "'registers' is empty");
    if (n > ROWS_MAX)
        return fail(ps, line_of(list), "'registers' has %d rows (at most %d)", n, ROWS_MAX);
    p->regs = calloc((size_t)n, sizeof *p->regs);
    p->channels = calloc((size_t)n, sizeof *p->channels);
    if (!p->regs || !p->channels) {
        errno = ENOMEM;
        return wa_err(ps->err, ps->errlen, "%s: out of memory", ps->file);
    }
    for (int i = 0; i < n; i++) {
        if (parse_row(ps, config_setting_get_elem(list, (unsigned)i), &d, &p->regs[i]) < 0)
            return -1;
        p->n_regs++;
    }
    if (check_rows(ps, p) < 0)
        return -1;
    collect_channels(p);
    return parse_fingerprint(ps, root, p);
}

/* libconfig follows @include directives even when reading from a string; a profile is one
 * self-contained file, and a fuzzer must not be able to make us open /dev/zero. */
static int reject_include(const parse_t *ps, const char *text)
{
    int line = 1;
    for (const char *s = text; *s; line++) {
        s += strspn(s, " \t");
        if (strncmp(s, "@include", 8) == 0)
            return fail(ps, line, "@include is not allowed in a profile");
        s = strchr(s, '\n');
        if (!s)
            break;
        s++;
    }
    return 0;
}

profile_t *profile_parse_text(const char *text, const char *name, const char *file, char *err,
                              size_t errlen)
{
    parse_t ps = {file ? file : "(profile)", err, errlen};
    profile_t *p = NULL;
    config_t cfg;

    if (!text || !name) {
        errno = EINVAL;
        wa_err(err, errlen, "profile_parse_text: no text or name");
        return NULL;
    }
    if (!*name || strlen(name) >= PROFILE_NAME_MAX || strlen(ps.file) >= sizeof p->file) {
        errno = ENAMETOOLONG;
        wa_err(err, errlen, "%s: profile name \"%s\" is empty or too long", ps.file, name);
        return NULL;
    }
    if (reject_include(&ps, text) < 0)
        return NULL;

    config_init(&cfg);
    if (!config_read_string(&cfg, text)) {
        const char *why = config_error_text(&cfg);
        fail(&ps, config_error_line(&cfg), "%s", why ? why : "cannot parse");
        goto out;
    }
    p = calloc(1, sizeof *p);
    if (!p) {
        errno = ENOMEM;
        wa_err(err, errlen, "%s: out of memory", ps.file);
        goto out;
    }
    memcpy(p->name, name, strlen(name) + 1);
    memcpy(p->file, ps.file, strlen(ps.file) + 1);
    if (parse_top(&ps, config_root_setting(&cfg), p) < 0) {
        int saved = errno;
        profile_free(p);
        p = NULL;
        errno = saved;
    }
out:
    config_destroy(&cfg);
    return p;
}

void profile_free(profile_t *p)
{
    if (!p)
        return;
    free(p->regs);
    free(p->channels);
    free(p);
}
