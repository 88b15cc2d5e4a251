/* Findings of both layers seen alike: the channel layer's power findings (flat_24x7, step_up,
 * off_hours) and the correlation's (unexplained_residual, host_full_load, host_off_hours,
 * host_research; docs/correlate.md), so that one list, one filter and one page serve both. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "dashboard/dash-private.h"

int dd_finding_active(const an_channel_result_t *c, const an_finding_t *f)
{
    int64_t slack = 2 * (int64_t)c->step > 3600 ? 2 * (int64_t)c->step : 3600;
    return f->end >= c->data_end - slack;
}

void dd_finding_id(const an_channel_result_t *c, int corr, size_t idx, char *buf, size_t len)
{
    snprintf(buf, len, "%s:%s%zu", c->id, corr ? "c" : "", idx);
}

int dd_kind_known(const char *name)
{
    static const an_kind_t power[] = {AN_FLAT_24X7, AN_STEP_UP, AN_OFF_HOURS};
    static const an_corr_kind_t corr[] = {AN_CORR_RESIDUAL, AN_CORR_HOST_FULL,
                                          AN_CORR_HOST_OFF_HOURS, AN_CORR_HOST_RESEARCH};
    for (size_t i = 0; i < sizeof power / sizeof power[0]; i++)
        if (strcmp(name, an_kind_name(power[i])) == 0)
            return 1;
    for (size_t i = 0; i < sizeof corr / sizeof corr[0]; i++)
        if (strcmp(name, an_corr_kind_name(corr[i])) == 0)
            return 1;
    return 0;
}

void dd_view(const dd_snap_t *s, const dd_finding_ref_t *ref, dd_view_t *v)
{
    memset(v, 0, sizeof *v);
    v->site = &s->r.sites[ref->site];
    v->channel = &v->site->channels[ref->channel];
    v->corr = ref->corr;
    if (!ref->corr) {
        const an_finding_t *f = &v->channel->ch.findings[ref->finding];
        v->power = f;
        v->kind = an_kind_name(f->kind);
        v->onset = f->onset;
        v->w = f->step_w;
        v->w_lo = f->step_lo;
        v->w_hi = f->step_hi;
        v->excess_kwh = f->excess_kwh;
        v->score = f->score;
        v->explained_by = f->explained_by;
        v->cls = f->cls;
        v->why = f->cls_why;
        v->units = f->rig_kind;
        v->count_min = f->rigs_min;
        v->count_max = f->rigs_max;
        v->active = dd_finding_active(v->channel, f);
        v->evidence = f->evidence;
        v->n_evidence = f->n_evidence < AN_EVIDENCE_MAX ? f->n_evidence : AN_EVIDENCE_MAX;
        return;
    }
    const an_corr_finding_t *f = &v->channel->corr->findings[ref->finding];
    v->cf = f;
    v->kind = an_corr_kind_name(f->kind);
    v->onset = f->onset;
    v->w = f->w;
    v->w_lo = v->w_hi = v->excess_kwh = v->score = NAN;
    v->explained_by = f->explained_by;
    v->cls = f->cls;
    v->why = f->why;
    v->units = f->host[0] ? "host" : "gpu_rig";
    v->count_min = f->count_min;
    v->count_max = f->count_max;
    /* The residual and a host's full or off-hours load are, by their definition, there from
     * their onset to the end of the data (docs/correlate.md, "Findings"); a research host's
     * load need not be. */
    v->active = f->kind == AN_CORR_HOST_RESEARCH ? -1 : 1;
    v->evidence = f->evidence;
    v->n_evidence = f->n_evidence < AN_EVIDENCE_MAX ? f->n_evidence : AN_EVIDENCE_MAX;
}
