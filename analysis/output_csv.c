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

int an_output_csv(const an_result_t *r, FILE *out, char *err, size_t errlen)
{
    fputs("level,site,channel,role,counted,from,to,kwh,method,coverage,gap_hours,"
          "unbridged_gap_hours,mean_w,findings,unexplained,excess_kwh,kgce,kgco2,"
          "kwh_per_day_saved,kgce_per_day_saved,tce_per_year_saved,tco2_per_year_saved,"
          "cost_per_year_saved,factors,rigs\n",
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
            fputc('\n', out);
        }
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
    fputc('\n', out);
    if (fflush(out) != 0 || ferror(out)) {
        errno = EIO;
        return wa_err(err, errlen, "cannot write the CSV output");
    }
    return 0;
}
