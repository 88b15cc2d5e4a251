/*
 * faults.c: what a device answers to one request -- the Modbus rules for a read, and the
 * faults its config injects.  Draws come from the device's own seeded generator, so a run
 * with the same requests fails the same way.
 */
#include <math.h>
#include <string.h>

#include "meters/sim/sim-private.h"

/* Modbus Application Protocol V1.1b3, section 7: exception codes. */
#define EXC_ILLEGAL_FUNCTION 0x01
#define EXC_ILLEGAL_ADDRESS 0x02
#define EXC_ILLEGAL_VALUE 0x03
#define EXC_DEVICE_FAILURE 0x04
#define EXC_GATEWAY_TARGET 0x0B

/* A raw bit pattern as the number profile_encode() turns back into that pattern. */
static double pattern_value(uint64_t bits, profile_type_t t)
{
    switch (t) {
    case PROFILE_T_S16:
        return (double)(int16_t)(uint16_t)bits;
    case PROFILE_T_S32:
        return (double)(int32_t)(uint32_t)bits;
    case PROFILE_T_S64:
        return (double)(int64_t)bits;
    case PROFILE_T_F32: {
        uint32_t b = (uint32_t)bits;
        float f;
        memcpy(&f, &b, sizeof f);
        return f;
    }
    case PROFILE_T_F64: {
        double d;
        memcpy(&d, &bits, sizeof d);
        return d;
    }
    default:
        return (double)bits;
    }
}

static int is_float(profile_type_t t)
{
    return t == PROFILE_T_F32 || t == PROFILE_T_F64;
}

void sim_garbage_row(const profile_reg_t *r, int sf, uint64_t pick, uint16_t *words)
{
    double cand[PROFILE_SENTINELS_MAX + 5];
    size_t n = 0;
    double f = r->unit_factor * r->scale * pow(10.0, r->sf_address >= 0 ? sf : 0);
    if (f == 0.0 || !isfinite(f))
        f = 1.0;
    for (size_t i = 0; i < r->n_sentinels && i < PROFILE_SENTINELS_MAX; i++)
        cand[n++] = pattern_value(r->sentinels[i], r->type);
    if (is_float(r->type)) {
        cand[n++] = NAN;
        cand[n++] = INFINITY;
    }
    /* Far outside the plausible range, on whichever side the type can express. */
    if (!isnan(r->min))
        cand[n++] = (r->min - (fabs(r->min) + 1.0) * 1000.0) / f;
    if (!isnan(r->max))
        cand[n++] = (r->max + (fabs(r->max) + 1.0) * 1000.0) / f;
    cand[n++] = 1e300; /* saturates to the type's largest value */
    for (size_t k = 0; k < n; k++) {
        double out;
        profile_encode(cand[(pick + k) % n], r->type, r->order, words);
        if (profile_decode(r, words, sf, &out) != 0)
            return;
    }
    profile_encode(1e300, r->type, r->order, words);
}

static void exception(sim_answer_t *ans, int code, sim_stats_t *st)
{
    ans->kind = SIM_ANSWER_EXCEPTION;
    ans->exception = code;
    st->exceptions++;
    st->replies++;
}

/* One uniform draw per configured probability, so a fault that is off costs no draw. */
static int happens(sim_dev_t *dev, double p)
{
    return p > 0.0 && sim_unit(sim_next64(&dev->rng)) < p;
}

void sim_dev_answer(sim_dev_t *dev, const sim_request_t *req, double now, sim_answer_t *ans,
                    sim_stats_t *st)
{
    const sc_faults_t *f;
    const sim_region_t *rg;

    memset(ans, 0, sizeof *ans);
    st->requests++;
    if (req->fc >= 0 && req->fc < 128)
        st->by_fc[req->fc]++;
    if (!dev) {
        exception(ans, EXC_GATEWAY_TARGET, st);
        return;
    }
    f = &dev->cfg->faults;
    if (f->dead || happens(dev, f->timeout)) {
        ans->kind = SIM_ANSWER_SILENT;
        st->timeouts++;
        return;
    }
    if (happens(dev, f->drop)) {
        ans->kind = SIM_ANSWER_DROP;
        st->dropped++;
        return;
    }
    /* The simulator is read-only: every other function, writes above all, is refused. */
    if (req->fc != PROFILE_FN_HOLDING && req->fc != PROFILE_FN_INPUT) {
        exception(ans, EXC_ILLEGAL_FUNCTION, st);
        return;
    }
    if (req->pdu_len < 5 || req->count < 1 || req->count > SIM_READ_MAX) {
        exception(ans, EXC_ILLEGAL_VALUE, st);
        return;
    }
    rg = &dev->region[req->fc == PROFILE_FN_INPUT ? 1 : 0];
    if (rg->count == 0 || req->addr < rg->start ||
        (uint32_t)req->addr + req->count > rg->start + rg->count) {
        exception(ans, EXC_ILLEGAL_ADDRESS, st);
        return;
    }
    /* A device that rejects blocks answers long reads as if the range did not exist. */
    if (f->reject_over > 0 && req->count > f->reject_over) {
        exception(ans, EXC_ILLEGAL_ADDRESS, st);
        return;
    }
    if (happens(dev, f->exception)) {
        exception(ans, EXC_DEVICE_FAILURE, st);
        return;
    }
    sim_dev_update(dev, now);
    memcpy(ans->words, rg->words + (req->addr - rg->start), req->count * sizeof(uint16_t));
    if (happens(dev, f->garbage)) {
        sim_regmap_garble(dev, req->fc, req->addr, req->count, ans->words);
        st->garbage++;
    }
    ans->kind = SIM_ANSWER_REPLY;
    st->replies++;
}
