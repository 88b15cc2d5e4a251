/*
 * CSV: one row per channel, then one per site and one for all sites, so that a spreadsheet can
 * check every sum.  Columns are fixed (docs/analysis-json.md, "CSV"); unknown numbers are empty.
 */
#include "analysis/site-private.h"

#include "common/common.h"

#include <errno.h>
#include <math.h>
#include <string.h>

void an_csv_field(FILE *out, const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, out);
        return;
    }
    fputc('"', out);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', out);
        fputc(*s, out);
    }
    fputc('"', out);
}

static void num(FILE *out, double v)
{
    fputc(',', out);
    if (isfinite(v))
        fprintf(out, "%.10g", v);
}

static void text(FILE *out, const char *s)
{
    fputc(',', out);
    an_csv_field(out, s);
}

static void savings(FILE *out, const an_savings_t *s)
{
    num(out, s->kwh_per_day);
    num(out, s->kgce_per_day);
    num(out, s->tce_per_year);
    num(out, s->tco2_per_year);
    num(out, s->cost_per_year);
}

/* The rig estimates of a channel's findings, "step_up: 2-3 asic, or 4-5 gpu_rig; ...", one
 * field (findings without an estimate, the explained ones, are left out). */
static void rigs(FILE *out, const an_channel_result_t *c)
{
    char cell[1024], fits[256];
    size_t used = 0;
    cell[0] = '\0';
    for (size_t k = 0; k < c->ch.n_findings && used < sizeof cell; k++) {
        const an_finding_t *fd = &c->ch.findings[k];
        if (!fd->n_rig_fits)
            continue;
        an_rig_fits_format(fd, fits, sizeof fits);
        int w = snprintf(cell + used, sizeof cell - used, "%s%s: %s", used ? "; " : "",
                         an_kind_name(fd->kind), fits);
        if (w < 0)
            break;
        used += (size_t)w;
    }
    text(out, cell);
}

/* ---- the correlation's columns (added in 1.2, after rigs) ---- */

/* The columns after rigs.  Rows of the levels that came before 1.2 leave the ones they do
 * not use empty; the levels correlation, host and flagged_ip leave the columns before rigs
 * empty except level, site, channel (and coverage for a host). */
typedef struct tail {
    const char *classes;
    const an_corr_t *fit;
    const char *kind, *host, *ip;
    int64_t seen, onset; /* 0 = empty */
    const char *cls;
    double size_w;
    int has_count, count_min, count_max;
    double util;
    const char *why;
} tail_t;

static void tail(FILE *out, const tail_t *t)
{
    const an_corr_t *c = t->fit && t->fit->fitted ? t->fit : NULL;
    text(out, t->classes ? t->classes : "");
    num(out, c ? c->idle_w : NAN);
    num(out, c ? c->r2 : NAN);
    num(out, c ? c->pearson : NAN);
    num(out, c ? c->spearman : NAN);
    num(out, c ? (double)c->best_lag_s : NAN);
    text(out, t->kind ? t->kind : "");
    text(out, t->host ? t->host : "");
    text(out, t->ip ? t->ip : "");
    num(out, t->seen ? (double)t->seen : NAN);
    text(out, t->cls ? t->cls : "");
    num(out, t->onset ? (double)t->onset : NAN);
    num(out, t->size_w);
    num(out, t->has_count ? t->count_min : NAN);
    num(out, t->has_count ? t->count_max : NAN);
    num(out, t->util);
    text(out, t->why ? t->why : "");
}

static const tail_t no_tail = {.size_w = NAN, .util = NAN};

/* "step_up: deliberate; off_hours: passive": each finding's class, one field. */
static void classes(const an_channel_result_t *c, char *cell, size_t len)
{
    size_t used = 0;
    cell[0] = '\0';
    for (size_t k = 0; k < c->ch.n_findings && used < len; k++) {
        const an_finding_t *f = &c->ch.findings[k];
        int w = snprintf(cell + used, len - used, "%s%s: %s", used ? "; " : "",
                         an_kind_name(f->kind), an_class_name(f->cls));
        if (w < 0)
            break;
        used += (size_t)w;
    }
}

/* Before 1.2's columns: level, site, channel, then empty cells up to rigs. */
static void head(FILE *out, const char *level, const char *site, const char *channel,
                 double coverage)
{
    fputs(level, out);
    text(out, site);
    text(out, channel);
    fputs(",,,,,,", out); /* role, counted, from, to, kwh, method */
    num(out, coverage);
    fputs(",,,,,,,,,,,,,,,", out); /* gap_hours .. rigs */
}

static void correlation_rows(FILE *out, const an_site_result_t *site)
{
    for (size_t i = 0; i < site->n_channels; i++) {
        const an_channel_result_t *c = &site->channels[i];
        for (size_t k = 0; c->corr && k < c->corr->n_findings; k++) {
            const an_corr_finding_t *f = &c->corr->findings[k];
            char why[600];
            snprintf(why, sizeof why, "%s%s%s", f->why, f->explained_by[0] ? "; jobs " : "",
                     f->explained_by);
            tail_t t = no_tail;
            t.kind = an_corr_kind_name(f->kind);
            t.host = f->host;
            t.cls = an_class_name(f->cls);
            t.onset = f->onset;
            t.size_w = f->w;
            t.has_count = 1;
            t.count_min = f->count_min;
            t.count_max = f->count_max;
            t.why = why;
            head(out, "correlation", site->id, c->id, NAN);
            tail(out, &t);
            fputc('\n', out);
        }
    }
    for (size_t k = 0; k < site->n_hosts; k++) {
        const an_host_t *h = &site->hosts[k];
        char ips[SC_HOST_IPS_MAX * 47] = "";
        for (size_t a = 0; a < h->n_ips && a < SC_HOST_IPS_MAX; a++)
            snprintf(ips + strlen(ips), sizeof ips - strlen(ips), "%s%s", a ? " " : "", h->ips[a]);
        tail_t t = no_tail;
        t.kind = h->source;
        t.host = h->id;
        t.ip = ips;
        t.util = h->mean_util;
        t.why = h->note;
        head(out, "host", site->id, h->channel, h->read ? h->coverage : NAN);
        tail(out, &t);
        fputc('\n', out);
    }
    for (size_t k = 0; k < site->n_flagged; k++) {
        const an_flagged_ip_t *ip = &site->flagged[k];
        an_ip_answer_t a;
        an_ip_answer(site, ip, &a);
        tail_t t = no_tail;
        t.kind = a.kind;
        t.host = ip->host;
        t.ip = ip->ip;
        t.seen = ip->seen;
        t.cls = an_class_name(a.cls);
        t.onset = a.since;
        t.size_w = a.w;
        t.has_count = a.cls != AN_CLASS_NONE;
        t.count_min = a.count_min;
        t.count_max = a.count_max;
        t.why = a.why;
        head(out, "flagged_ip", site->id, ip->channel, NAN);
        tail(out, &t);
        fputc('\n', out);
    }
}

int an_output_csv(const an_result_t *r, FILE *out, char *err, size_t errlen)
{
    fputs("level,site,channel,role,counted,from,to,kwh,method,coverage,gap_hours,"
          "unbridged_gap_hours,mean_w,findings,unexplained,excess_kwh,kgce,kgco2,"
          "kwh_per_day_saved,kgce_per_day_saved,tce_per_year_saved,tco2_per_year_saved,"
          "cost_per_year_saved,factors,rigs,classes,idle_w,fit_r2,pearson,spearman,best_lag_s,"
          "kind,host,ip,seen,class,onset,size_w,count_min,count_max,util,why\n",
          out);
    const an_factors_t *f = &r->factors;
    for (size_t s = 0; s < r->n_sites; s++) {
        const an_site_result_t *site = &r->sites[s];
        for (size_t i = 0; i < site->n_channels; i++) {
            const an_channel_result_t *c = &site->channels[i];
            size_t unexplained = 0;
            for (size_t k = 0; k < c->ch.n_findings; k++)
                unexplained += c->ch.findings[k].explained_by[0] == '\0';
            an_savings_t sv;
            an_savings_compute(c->active_kwh_per_day, 1.0, f, &sv);
            fputs("channel", out);
            text(out, site->id);
            text(out, c->id);
            text(out, an_role_name(c->role));
            fprintf(out, ",%d,%lld,%lld", c->counted, (long long)site->from, (long long)site->to);
            num(out, c->energy.kwh);
            text(out, an_energy_method_name(c->energy.method));
            num(out, c->energy.coverage);
            num(out, c->energy.gap_hours);
            num(out, c->energy.unbridged_gap_hours);
            num(out, c->energy.mean_w);
            fprintf(out, ",%zu,%zu", c->ch.n_findings, unexplained);
            num(out, c->excess_kwh);
            num(out, c->energy.kwh * f->kgce_per_kwh);
            num(out, c->energy.kwh * f->kgco2_per_kwh);
            savings(out, &sv);
            text(out, f->name);
            rigs(out, c);
            char cl[512];
            classes(c, cl, sizeof cl);
            tail_t t = no_tail;
            t.classes = cl;
            t.fit = c->corr;
            tail(out, &t);
            fputc('\n', out);
        }
        correlation_rows(out, site);
        fputs("site", out);
        text(out, site->id);
        fputs(",,,", out);
        fprintf(out, ",%lld,%lld", (long long)site->from, (long long)site->to);
        num(out, site->kwh);
        fputs(",,,,,,,", out);
        num(out, site->excess_kwh);
        num(out, site->kgce);
        num(out, site->kgco2);
        savings(out, &site->savings);
        text(out, f->name);
        fputs(",", out);
        tail(out, &no_tail);
        fputc('\n', out);
    }
    fprintf(out, "total,,,,,%lld,%lld", (long long)r->from, (long long)r->to);
    num(out, r->kwh);
    fputs(",,,,,,,", out);
    num(out, r->excess_kwh);
    num(out, r->kgce);
    num(out, r->kgco2);
    savings(out, &r->savings);
    text(out, f->name);
    fputs(",", out);
    tail(out, &no_tail);
    fputc('\n', out);
    if (fflush(out) != 0 || ferror(out)) {
        errno = EIO;
        return wa_err(err, errlen, "cannot write the CSV output");
    }
    return 0;
}
