/* The text summary for a person at a terminal: per site, its channels, findings and savings. */
#include "analysis/site-private.h"

#include "common/common.h"

#include <errno.h>
#include <math.h>
#include <string.h>

static const char *fmt(double v, int sig, char *buf, size_t len)
{
    return isfinite(v) ? an_format_sig(v, sig, buf, len) : "n/a";
}

static void finding(FILE *out, const an_channel_result_t *c, const an_finding_t *f, const char *tz)
{
    char on[32], a[32], b[32], kwh[32];
    fprintf(out, "      %-10s since %s  +%s W", an_kind_name(f->kind),
            wa_time_format(f->onset, tz, on, sizeof on), fmt(f->step_w, 3, a, sizeof a));
    fprintf(out, "  %s kWh  score %.2f", fmt(f->excess_kwh, 3, kwh, sizeof kwh), f->score);
    if (f->explained_by[0])
        fprintf(out, "  explained by %s", f->explained_by);
    else if (!an_finding_active(c, f))
        fprintf(out, "  (ended %s)", wa_time_format(f->end, tz, b, sizeof b));
    fputc('\n', out);
    if (f->estimated)
        fprintf(out, "                 power estimated, not measured: %s\n",
                f->estimated_how[0] ? f->estimated_how : "see the channel's .meta.json");
    /* Every kind that fits, on a line of its own: power alone seldom tells them apart. */
    if (f->n_rig_fits) {
        char fits[256];
        an_rig_fits_format(f, fits, sizeof fits);
        fprintf(out, "                 could be %s (%s)\n", fits, an_rig_basis_text(f->rig_basis));
    }
    if (f->cls != AN_CLASS_NONE)
        fprintf(out, "                 %s: %s\n", an_class_name(f->cls), f->cls_why);
}

static const char *count_text(int lo, int hi, const char *what, char *buf, size_t len)
{
    if (!what[0])
        snprintf(buf, len, "-");
    else if (lo == hi)
        snprintf(buf, len, "%d %s%s", lo, what, lo == 1 ? "" : "s");
    else
        snprintf(buf, len, "%d-%d %ss", lo, hi, what);
    return buf;
}

/* v for "%.2f" without a "-0.00" for a value that rounds to zero. */
static double r2f(double v)
{
    return fabs(v) < 0.005 ? 0.0 : v;
}

/* The circuit's fit and the correlation's findings, under the channel's own. */
static void correlation(FILE *out, const an_corr_t *c, const char *tz)
{
    char a[32], b[32];
    fprintf(out, "    correlation with %zu host%s: ", c->n_hosts, c->n_hosts == 1 ? "" : "s");
    if (!c->fitted) {
        fprintf(out, "%s\n", c->note);
        return;
    }
    fprintf(out, "idle %s W, R2 %.2f, Pearson %.2f, Spearman %.2f, best lag %d min",
            fmt(c->idle_w, 3, a, sizeof a), r2f(c->r2), r2f(c->pearson), r2f(c->spearman),
            c->best_lag_s / 60);
    fprintf(out, " (reference %s", wa_time_format(c->ref_from, tz, a, sizeof a));
    fprintf(out, " .. %s)\n", wa_time_format(c->ref_to, tz, b, sizeof b));
    fputs("      slopes:", out);
    for (size_t k = 0; k < c->n_hosts; k++)
        fprintf(out, "%s %s %s W%s", k ? "," : "", c->hosts[k].id,
                fmt(c->hosts[k].slope_w, 3, a, sizeof a),
                c->hosts[k].slope_fitted ? "" : " (declared, not fitted)");
    fputc('\n', out);
    if (c->note[0])
        fprintf(out, "      %s\n", c->note);
    for (size_t i = 0; i < c->n_findings; i++) {
        const an_corr_finding_t *f = &c->findings[i];
        char cnt[48];
        fprintf(out, "      %-20s %-6s %-10s since %s  %s W  %s\n", an_corr_kind_name(f->kind),
                f->host, an_class_name(f->cls), wa_time_format(f->onset, tz, a, sizeof a),
                fmt(f->w, 3, b, sizeof b),
                count_text(f->count_min, f->count_max, f->host[0] ? "host" : "gpu_rig", cnt,
                           sizeof cnt));
        fprintf(out, "                 %s%s%s\n", f->why, f->explained_by[0] ? "; jobs " : "",
                f->explained_by);
    }
}

/* Hosts whose utilisation could not be used, at most this many named (1,000 hosts are read
 * through the JSON, not the terminal). */
#define HOSTS_NAMED 10

static void hosts(FILE *out, const an_site_result_t *site)
{
    size_t read = 0, named = 0;
    if (!site->n_hosts)
        return;
    for (size_t k = 0; k < site->n_hosts; k++)
        read += (size_t)site->hosts[k].read;
    fprintf(out, "  hosts: %zu in the inventory, %zu read; %zu research job%s declared\n",
            site->n_hosts, read, site->n_jobs, site->n_jobs == 1 ? "" : "s");
    for (size_t k = 0; k < site->n_hosts; k++) {
        const an_host_t *h = &site->hosts[k];
        if (h->read)
            continue;
        if (named++ == HOSTS_NAMED) {
            fprintf(out, "    and %zu more not read\n", site->n_hosts - read - HOSTS_NAMED);
            break;
        }
        fprintf(out, "    %s: %s\n", h->id, h->note[0] ? h->note : "not read");
    }
}

/* The inspectors' three questions, one address a line. */
static void flagged(FILE *out, const an_site_result_t *site, const char *tz)
{
    char a[32], b[32], cnt[48];
    if (!site->n_flagged)
        return;
    fprintf(out, "  flagged addresses: %zu\n", site->n_flagged);
    for (size_t i = 0; i < site->n_flagged; i++) {
        const an_flagged_ip_t *ip = &site->flagged[i];
        an_ip_answer_t ans;
        an_ip_answer(site, ip, &ans);
        fprintf(out, "    %s seen %s: ", ip->ip, wa_time_format(ip->seen, tz, a, sizeof a));
        if (!ans.host) {
            fprintf(out, "%s\n", ans.why);
            continue;
        }
        fprintf(out, "%s (%s) on %s", ans.host->id, ans.host->role,
                ip->channel[0] ? ip->channel : "an unknown circuit");
        if (ans.cls != AN_CLASS_NONE)
            fprintf(out, ": %s, %s since %s, %s W", an_class_name(ans.cls),
                    count_text(ans.count_min, ans.count_max, ans.unit, cnt, sizeof cnt),
                    wa_time_format(ans.since, tz, a, sizeof a), fmt(ans.w, 3, b, sizeof b));
        fprintf(out, "\n      %s\n", ans.why);
    }
}

/* 1 if every channel of the site has the same gaps, so that they are said once: a collection
 * that began after the window's start shows the same minute missing on every channel. */
static int same_gaps(const an_site_result_t *site)
{
    if (site->n_channels < 2 || !site->channels[0].energy.n_gaps)
        return 0;
    const an_energy_t *a = &site->channels[0].energy;
    if (a->n_gaps > AN_GAPS_LISTED)
        return 0;
    for (size_t i = 1; i < site->n_channels; i++) {
        const an_energy_t *b = &site->channels[i].energy;
        if (site->channels[i].from != site->channels[0].from || b->n_gaps != a->n_gaps)
            return 0;
        for (size_t g = 0; g < a->n_gaps; g++)
            if (b->gaps[g].from != a->gaps[g].from || b->gaps[g].to != a->gaps[g].to ||
                b->gaps[g].bridged != a->gaps[g].bridged)
                return 0;
    }
    return 1;
}

int an_output_text(const an_result_t *r, FILE *out, char *err, size_t errlen)
{
    char a[32], b[32], c1[32], d[32];
    const an_factors_t *f = &r->factors;
    fprintf(out, "wattaudit analysis  %s .. %s UTC\n", wa_time_format(r->from, "UTC", a, sizeof a),
            wa_time_format(r->to, "UTC", b, sizeof b));
    fprintf(out, "factors %s: %g kgce and %g kg CO2 per kWh (%s)\n\n", f->name, f->kgce_per_kwh,
            f->kgco2_per_kwh, f->source);
    for (size_t s = 0; s < r->n_sites; s++) {
        const an_site_result_t *site = &r->sites[s];
        const char *tz = site->tz[0] ? site->tz : NULL;
        fprintf(out, "site %s (%s): %s kWh in %.1f days, %s kgce, %s kg CO2", site->id, site->name,
                fmt(site->kwh, 4, a, sizeof a), site->days, fmt(site->kgce, 4, b, sizeof b),
                fmt(site->kgco2, 4, c1, sizeof c1));
        if (site->from != r->from || site->to != r->to)
            fprintf(out, "  (%s .. %s UTC)", wa_time_format(site->from, "UTC", a, sizeof a),
                    wa_time_format(site->to, "UTC", b, sizeof b));
        fputc('\n', out);
        int shared = same_gaps(site);
        if (shared) {
            char g[320];
            an_gaps_describe(&site->channels[0], site->to, tz, g, sizeof g);
            fprintf(out, "  every channel: %s\n", g);
        }
        for (size_t i = 0; i < site->n_channels; i++) {
            const an_channel_result_t *c = &site->channels[i];
            const an_energy_t *en = &c->energy;
            fprintf(out, "  %-32s %10s kWh  %-8s %5.1f%% known", c->id,
                    fmt(en->kwh, 4, a, sizeof a), an_energy_method_name(en->method),
                    100 * en->coverage);
            if (en->n_gaps && !shared) {
                char g[320];
                an_gaps_describe(c, site->to, tz, g, sizeof g);
                fprintf(out, "  %s", g);
            }
            if (c->role != AN_ROLE_METER)
                fprintf(out, "  [%s]", an_role_name(c->role));
            if (!c->analyzed)
                fprintf(out, "  not judged: %s", c->note);
            fputc('\n', out);
            for (size_t k = 0; k < c->ch.n_findings; k++)
                finding(out, c, &c->ch.findings[k], tz);
            if (c->corr)
                correlation(out, c->corr, tz);
        }
        hosts(out, site);
        flagged(out, site, tz);
        const an_savings_t *sv = &site->savings;
        if (sv->kwh_per_day > 0) {
            char st[256];
            an_statement(sv->kwh_per_day, f, st, sizeof st);
            fprintf(out, "  savings if the unexplained loads are removed: %s\n", st);
        } else {
            fprintf(out, "  no unexplained load still running\n");
        }
        fputc('\n', out);
    }
    fprintf(out, "all sites: %s kWh, %s kgce, %s kg CO2; unexplained %s kWh\n",
            fmt(r->kwh, 4, a, sizeof a), fmt(r->kgce, 4, b, sizeof b),
            fmt(r->kgco2, 4, c1, sizeof c1), fmt(r->excess_kwh, 4, d, sizeof d));
    if (r->savings.kwh_per_day > 0) {
        char st[256];
        an_statement(r->savings.kwh_per_day, f, st, sizeof st);
        fprintf(out, "savings in total: %s\n", st);
    }
    if (r->n_skipped)
        fprintf(out, "%zu file(s) skipped (see the warnings)\n", r->n_skipped);
    if (fflush(out) != 0 || ferror(out)) {
        errno = EIO;
        return wa_err(err, errlen, "cannot write the text output");
    }
    return 0;
}
