/*
 * Bus scan: which unit ids answer, and which profile each one fits.  Only read requests go out,
 * through mbus_read().  A unit is recognised by the SunSpec marker and model chain, or by a
 * profile's fingerprint register reading a value in the range a real device shows (a mains
 * voltage, say).  Candidates are ranked by how many of their rows read a plausible non-zero
 * value: maps overlap (an SDM120's is a subset of an SDM630's), and a register a device does not
 * have usually reads 0 or fails, so the larger map wins only on the device that fills it.
 */
#include "meters/scan/scan.h"

#include <errno.h>
#include <math.h>
#include <modbus.h>
#include <string.h>

#include "common/common.h"
#include "meters/mbus/mbus.h"
#include "meters/sunspec/sunspec.h"

/* A gateway's own exceptions 0x0A/0x0B (Modbus Application Protocol V1.1b3, 7) say that no
 * device answered behind it: that unit id is empty, not a device that refuses. */
static int device_answered(int e)
{
    return e > MODBUS_ENOBASE && e != EMBXGPATH && e != EMBXGTAR;
}

struct candidate {
    const profile_t *p;
    int plausible;
    double fp_value;
};

struct probe {
    mbus_t *m;
    int unit, timeout_ms, answered;
};

/* The reader sunspec_find() calls.  A unit with nobody behind it (a timeout, or a gateway's
 * own exception) ends the walk at once instead of trying the other bases. */
static int probe_read(void *arg, uint16_t addr, uint16_t n, uint16_t *dst, char *err,
                      size_t errlen)
{
    struct probe *pr = arg;
    if (mbus_read(pr->m, pr->unit, 3, addr, n, pr->timeout_ms, dst, err, errlen) == 0) {
        pr->answered = 1;
        return 0;
    }
    if (device_answered(errno)) {
        pr->answered = 1;
    } else if (errno == EMBXGPATH || errno == EMBXGTAR) {
        errno = EHOSTUNREACH;
    }
    return -1;
}

/* The first SunSpec meter model (201-204, 211-214) the unit presents: its id, 0 if none, -1
 * if the unit did not answer at all. */
static int probe_sunspec(mbus_t *m, int unit, int timeout_ms, int *answered)
{
    struct probe pr = {m, unit, timeout_ms, 0};
    char err[256];
    uint16_t addr;
    int model = 0;
    int rc = sunspec_find(probe_read, &pr, 0, &model, &addr, err, sizeof err);
    *answered = pr.answered;
    if (rc == 0)
        return model;
    return pr.answered ? 0 : -1;
}

static int read_row(mbus_t *m, int unit, const profile_reg_t *r, int timeout_ms, double *v)
{
    uint16_t w[4];
    char err[256];
    unsigned n = profile_type_words(r->type);
    profile_reg_t loose = *r;
    loose.min = NAN;
    loose.max = NAN;
    if (mbus_read(m, unit, (int)r->fn, r->address, (uint16_t)n, timeout_ms, w, err, sizeof err) != 0)
        return -1;
    return profile_decode(&loose, w, 0, v);
}

static int plausible(const profile_reg_t *r, double v)
{
    return (isnan(r->min) || v >= r->min) && (isnan(r->max) || v <= r->max);
}

/* Entries are held back one step: libconfig lists take commas between elements, not after the
 * last, and the comment must come after the comma. */
struct pending {
    FILE *out;
    int has;
    char entry[256], comment[PROFILE_TEXT_MAX * 2 + 800];
};

static void flush_entry(struct pending *pe, int more)
{
    if (pe->has)
        fprintf(pe->out, "          %s%s  # %s\n", pe->entry, more ? "," : "", pe->comment);
    pe->has = 0;
}

static void print_entry(struct pending *pe, int unit, const profile_t *p, const char *why)
{
    flush_entry(pe, 1);
    snprintf(pe->entry, sizeof pe->entry,
             "{ id = \"unit%d\"; unit = %d; profile = \"%s\"; interval = 60; }", unit, unit,
             p->name);
    snprintf(pe->comment, sizeof pe->comment, "%s %s; %s", p->vendor, p->model, why);
    pe->has = 1;
}

static int scan_unit(mbus_t *m, int unit, const profile_set_t *ps, const scan_opts_t *o,
                     struct pending *pe)
{
    struct candidate best = {0}, cands[32];
    size_t nc = 0;
    int answered = 0, model = probe_sunspec(m, unit, o->timeout_ms, &answered);
    char why[768];

    if (model < 0)
        return 0;
    if (model > 0) {
        for (size_t i = 0; i < profile_set_count(ps); i++) {
            const profile_t *p = profile_set_at(ps, i);
            if (p->sunspec_model == model) {
                snprintf(why, sizeof why, "SunSpec marker, model %d", model);
                print_entry(pe, unit, p, why);
                return 1;
            }
        }
        fprintf(pe->out, "          # unit %d: SunSpec meter model %d, no profile for it\n", unit,
                model);
        return 1;
    }
    for (size_t i = 0; i < profile_set_count(ps) && nc < 32; i++) {
        const profile_t *p = profile_set_at(ps, i);
        const profile_reg_t *fp;
        double v;
        if (p->sunspec_model || p->fingerprint_reg < 0)
            continue;
        fp = &p->regs[p->fingerprint_reg];
        if (read_row(m, unit, fp, o->timeout_ms, &v) != 0) {
            if (!device_answered(errno) && !answered)
                return 0;
            answered |= device_answered(errno);
            continue;
        }
        answered = 1;
        if (v < p->fingerprint_min || v > p->fingerprint_max)
            continue;
        cands[nc] = (struct candidate){p, 0, v};
        for (size_t r = 0; r < p->n_regs; r++)
            if (read_row(m, unit, &p->regs[r], o->timeout_ms, &v) == 0 && v != 0 &&
                plausible(&p->regs[r], v))
                cands[nc].plausible++;
        if (!best.p || cands[nc].plausible > best.plausible)
            best = cands[nc];
        nc++;
    }
    if (!best.p) {
        if (answered)
            fprintf(pe->out, "          # unit %d answers but fits no profile\n", unit);
        return answered;
    }
    snprintf(why, sizeof why, "%s/%s = %.1f, %d of %zu rows plausible and non-zero",
             best.p->regs[best.p->fingerprint_reg].channel, profile_quantity_name(best.p->regs[best.p->fingerprint_reg].quantity),
             best.fp_value, best.plausible, best.p->n_regs);
    for (size_t i = 0; i < nc; i++) {
        size_t len = strlen(why);
        if (cands[i].p != best.p && len < sizeof why)
            snprintf(why + len, sizeof why - len, "; also fits %s (%d of %zu)", cands[i].p->name,
                     cands[i].plausible, cands[i].p->n_regs);
    }
    print_entry(pe, unit, best.p, why);
    return 1;
}

int scan_bus(const sc_bus_t *bus, const profile_set_t *ps, const scan_opts_t *o, FILE *out,
             char *err, size_t errlen)
{
    scan_opts_t opts = {1, 247, 300};
    mbus_t *m;
    int found = 0;
    struct pending pe = {out, 0, "", ""};

    if (!bus || !ps || !out) {
        errno = EINVAL;
        return wa_err(err, errlen, "scan: missing bus, profiles or output");
    }
    if (o) {
        opts = *o;
        if (opts.first_unit <= 0)
            opts.first_unit = 1;
        if (opts.last_unit <= 0 || opts.last_unit > 247)
            opts.last_unit = 247;
        if (opts.timeout_ms <= 0)
            opts.timeout_ms = 300;
    }
    if (opts.first_unit > opts.last_unit) {
        errno = EINVAL;
        return wa_err(err, errlen, "scan: first unit %d is after last unit %d", opts.first_unit,
                      opts.last_unit);
    }
    if (!(m = mbus_new(bus, err, errlen)))
        return -1;
    fprintf(out, "      {\n        id = \"%s\";\n", bus->id);
    if (bus->kind == SC_BUS_TCP)
        fprintf(out, "        tcp = \"%s:%d\";\n", bus->host, bus->port);
    else
        fprintf(out, "        serial = { device = \"%s\"; baud = %d; parity = \"%s\"; };\n",
                bus->device, bus->baud,
                bus->parity == 'E' ? "even" : bus->parity == 'O' ? "odd" : "none");
    fprintf(out, "        devices = (\n");
    for (int unit = opts.first_unit; unit <= opts.last_unit; unit++)
        found += scan_unit(m, unit, ps, &opts, &pe);
    flush_entry(&pe, 0);
    fprintf(out, "        );\n      }\n");
    mbus_free(m);
    return found;
}
