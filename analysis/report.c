/*
 * The reporting officer's savings statement (docs/report.md): the sentence in the officers'
 * form, the figures per site behind it, the findings, the method, the factors with their
 * sources, the data gaps, and the population estimate with its assumptions.  Markdown and HTML
 * share one text through a small table of writers; CSV and JSON carry the same figures.
 */
#include "analysis/site-private.h"

#include "common/common.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- writers: Markdown and HTML ---- */

typedef struct doc_ops {
    void (*begin)(FILE *out, const char *title);
    void (*heading)(FILE *out, const char *text);
    void (*para)(FILE *out, const char *text);
    void (*list_begin)(FILE *out);
    void (*item)(FILE *out, const char *text);
    void (*list_end)(FILE *out);
    void (*table)(FILE *out, const char *const *cells, size_t n, int header);
    void (*table_end)(FILE *out);
    void (*end)(FILE *out);
} doc_ops_t;

/* Markdown: a "|" in a cell would split it. */
static void md_text(FILE *out, const char *s)
{
    for (; *s; s++) {
        if (*s == '|')
            fputc('\\', out);
        fputc(*s, out);
    }
}

static void md_begin(FILE *out, const char *title)
{
    fputs("# ", out);
    md_text(out, title);
    fputs("\n\n", out);
}

static void md_heading(FILE *out, const char *t)
{
    fprintf(out, "## %s\n\n", t);
}

static void md_para(FILE *out, const char *t)
{
    fprintf(out, "%s\n\n", t);
}

static void md_list_begin(FILE *out)
{
    (void)out;
}

static void md_item(FILE *out, const char *t)
{
    fprintf(out, "- %s\n", t);
}

static void md_list_end(FILE *out)
{
    fputc('\n', out);
}

static void md_table(FILE *out, const char *const *cells, size_t n, int header)
{
    fputc('|', out);
    for (size_t i = 0; i < n; i++) {
        fputc(' ', out);
        md_text(out, cells[i]);
        fputs(" |", out);
    }
    fputc('\n', out);
    if (header) {
        fputc('|', out);
        for (size_t i = 0; i < n; i++)
            fputs(i == 0 ? " --- |" : " ---: |", out);
        fputc('\n', out);
    }
}

static void md_table_end(FILE *out)
{
    fputc('\n', out);
}

static void md_end(FILE *out)
{
    (void)out;
}

static const doc_ops_t markdown = {md_begin,    md_heading, md_para,      md_list_begin, md_item,
                                   md_list_end, md_table,   md_table_end, md_end};

static void html_text(FILE *out, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<':
            fputs("&lt;", out);
            break;
        case '>':
            fputs("&gt;", out);
            break;
        case '&':
            fputs("&amp;", out);
            break;
        case '"':
            fputs("&quot;", out);
            break;
        default:
            fputc(*s, out);
        }
    }
}

static void html_begin(FILE *out, const char *title)
{
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>", out);
    html_text(out, title);
    fputs("</title>\n<style>\nbody{font-family:sans-serif;max-width:60em;margin:2em auto;"
          "line-height:1.4}\ntable{border-collapse:collapse;margin-bottom:1em}\n"
          "td,th{border:1px solid #999;padding:.2em .5em}\ntd.n{text-align:right}\n"
          ".statement{font-size:1.2em;font-weight:bold}\n</style>\n</head>\n<body>\n<h1>",
          out);
    html_text(out, title);
    fputs("</h1>\n", out);
}

static void html_heading(FILE *out, const char *t)
{
    fputs("<h2>", out);
    html_text(out, t);
    fputs("</h2>\n", out);
}

static void html_para(FILE *out, const char *t)
{
    fputs("<p>", out);
    html_text(out, t);
    fputs("</p>\n", out);
}

static void html_list_begin(FILE *out)
{
    fputs("<ul>\n", out);
}

static void html_item(FILE *out, const char *t)
{
    fputs("<li>", out);
    html_text(out, t);
    fputs("</li>\n", out);
}

static void html_list_end(FILE *out)
{
    fputs("</ul>\n", out);
}

static void html_table(FILE *out, const char *const *cells, size_t n, int header)
{
    /* A header row opens the table; table_end closes it. */
    if (header)
        fputs("<table>\n", out);
    fputs("<tr>", out);
    for (size_t i = 0; i < n; i++) {
        fputs(header ? "<th>" : (i == 0 ? "<td>" : "<td class=\"n\">"), out);
        html_text(out, cells[i]);
        fputs(header ? "</th>" : "</td>", out);
    }
    fputs("</tr>\n", out);
}

static void html_table_end(FILE *out)
{
    fputs("</table>\n", out);
}

static void html_end(FILE *out)
{
    fputs("</body>\n</html>\n", out);
}

static const doc_ops_t html = {html_begin,      html_heading,   html_para,
                               html_list_begin, html_item,      html_list_end,
                               html_table,      html_table_end, html_end};

/* ---- the statement's content ---- */

static const char *sig(double v, int s, char *buf, size_t len)
{
    return an_format_sig(v, s, buf, len);
}

static const char *fixed(double v, int decimals, char *buf, size_t len)
{
    if (!isfinite(v))
        snprintf(buf, len, "n/a");
    else
        snprintf(buf, len, "%.*f", decimals, v);
    return buf;
}

static void statement_text(const an_result_t *r, char *buf, size_t len)
{
    if (r->savings.kwh_per_day > 0) {
        char s[256];
        an_statement(r->savings.kwh_per_day, &r->factors, s, sizeof s);
        snprintf(buf, len, "Removing the unexplained loads found still running would save: %s.", s);
    } else {
        snprintf(buf, len,
                 "No unexplained load was found still running at the end of the "
                 "period: no savings are claimed.");
    }
}

static const char *count_text(const an_ip_answer_t *a, char *buf, size_t len)
{
    if (a->cls == AN_CLASS_NONE || !a->unit[0])
        snprintf(buf, len, "-");
    else if (a->count_min == a->count_max)
        snprintf(buf, len, "%d %s", a->count_min, a->unit);
    else
        snprintf(buf, len, "%d-%d %s", a->count_min, a->count_max, a->unit);
    return buf;
}

/* The inspectors' three questions for each flagged address: which machine on which circuit,
 * how many rigs since when, and deliberate, trojan (passive) or research.  Unmapped addresses
 * are listed too: dropping them would hide that the inventory is incomplete. */
static void flagged_section(const an_result_t *r, const doc_ops_t *d, FILE *out)
{
    size_t n = 0;
    for (size_t s = 0; s < r->n_sites; s++)
        n += r->sites[s].n_flagged;
    if (n == 0)
        return;
    d->heading(out, "Flagged addresses");
    d->para(out, "For each address network monitoring flagged: the machine and circuit it "
                 "belongs to, how many machines draw the load and since when, and whether it "
                 "looks deliberate, passive (a trojan on someone's computer) or research.");
    static const char *const head[] = {"Address",  "Seen (local)",  "Machine", "Circuit",
                                       "How many", "Since (local)", "Class",   "Why"};
    d->table(out, head, 8, 1);
    for (size_t s = 0; s < r->n_sites; s++) {
        const an_site_result_t *site = &r->sites[s];
        const char *tz = site->tz[0] ? site->tz : NULL;
        for (size_t i = 0; i < site->n_flagged; i++) {
            const an_flagged_ip_t *ip = &site->flagged[i];
            an_ip_answer_t a;
            char seen[32], mach[160], circ[400], cnt[64], since[32], cls[32];
            an_ip_answer(site, ip, &a);
            wa_time_format(ip->seen, tz, seen, sizeof seen);
            if (a.host)
                snprintf(mach, sizeof mach, "%s (%s)", a.host->id, a.host->role);
            else
                snprintf(mach, sizeof mach, "unmapped");
            if (a.channel && a.channel->name[0] && strcmp(a.channel->name, a.channel->id) != 0 &&
                !strstr(a.channel->id, a.channel->name))
                snprintf(circ, sizeof circ, "%s (%.100s)", a.channel->id, a.channel->name);
            else
                snprintf(circ, sizeof circ, "%s", ip->channel[0] ? ip->channel : "-");
            count_text(&a, cnt, sizeof cnt);
            if (a.cls != AN_CLASS_NONE && a.since)
                wa_time_format(a.since, tz, since, sizeof since);
            else
                snprintf(since, sizeof since, "-");
            snprintf(cls, sizeof cls, "%s",
                     a.cls != AN_CLASS_NONE ? an_class_name(a.cls) : "nothing found");
            const char *cells[8] = {ip->ip, seen, mach, circ, cnt, since, cls, a.why};
            d->table(out, cells, 8, 0);
        }
    }
    d->table_end(out);
}

static void write_doc(const an_result_t *r, const an_report_opts_t *o, const doc_ops_t *d,
                      FILE *out)
{
    char line[1024], a[48], b[48];
    const an_factors_t *f = &r->factors;
    d->begin(out, o->title ? o->title : "Unexplained electricity loads: savings statement");

    int same = 1;
    for (size_t s = 0; s < r->n_sites; s++)
        same &= r->sites[s].from == r->from && r->sites[s].to == r->to;
    snprintf(line, sizeof line, "Period: %s to %s UTC (%.1f days%s). Factors: %s.",
             wa_time_format(r->from, "UTC", a, sizeof a), wa_time_format(r->to, "UTC", b, sizeof b),
             (double)(r->to - r->from) / 86400.0,
             same ? "" : "; each site's own period is in the table", f->name);
    d->para(out, line);

    d->heading(out, "Statement");
    statement_text(r, line, sizeof line);
    d->para(out, line);
    if (o->scale) {
        const an_scale_t *sc = o->scale;
        char t[48], lo[48], hi[48], st[256];
        snprintf(line, sizeof line,
                 "Scaled to %s %s: about %s kWh a day (%.0f%% interval %s to %s), from %zu "
                 "audited sites; see \"Population estimate\".",
                 sig(sc->population_x, 6, a, sizeof a),
                 o->population_what ? o->population_what : "units", sig(sc->total, 3, t, sizeof t),
                 100 * sc->level, sig(sc->lo, 3, lo, sizeof lo), sig(sc->hi, 3, hi, sizeof hi),
                 sc->n);
        d->para(out, line);
        an_statement(sc->total, f, st, sizeof st);
        snprintf(line, sizeof line, "In the officers' form: %s.", st);
        d->para(out, line);
    }

    d->heading(out, "Figures per site");
    static const char *const head[] = {
        "Site",           "Period (UTC)", "kWh in period",        "Unexplained kWh",
        "Saving kWh/day", "kgce/day",     "t standard coal/year", "t CO2/year"};
    d->table(out, head, 8, 1);
    for (size_t s = 0; s <= r->n_sites; s++) {
        int total = s == r->n_sites;
        const an_site_result_t *site = total ? NULL : &r->sites[s];
        const an_savings_t *sv = total ? &r->savings : &site->savings;
        char c[8][64], p0[24], p1[24];
        snprintf(c[0], sizeof c[0], "%s", total ? "All sites" : site->id);
        snprintf(c[1], sizeof c[1], "%.10s to %.10s",
                 wa_time_format(total ? r->from : site->from, "UTC", p0, sizeof p0),
                 wa_time_format(total ? r->to : site->to, "UTC", p1, sizeof p1));
        fixed(total ? r->kwh : site->kwh, 1, c[2], sizeof c[2]);
        fixed(total ? r->excess_kwh : site->excess_kwh, 1, c[3], sizeof c[3]);
        fixed(sv->kwh_per_day, 1, c[4], sizeof c[4]);
        fixed(sv->kgce_per_day, 1, c[5], sizeof c[5]);
        fixed(sv->tce_per_year, 2, c[6], sizeof c[6]);
        fixed(sv->tco2_per_year, 2, c[7], sizeof c[7]);
        const char *cells[8] = {c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]};
        d->table(out, cells, 8, 0);
    }
    d->table_end(out);

    d->heading(out, "Findings");
    size_t n_findings = 0;
    for (size_t s = 0; s < r->n_sites; s++)
        for (size_t i = 0; i < r->sites[s].n_channels; i++) {
            const an_channel_result_t *c = &r->sites[s].channels[i];
            const char *tz = r->sites[s].tz[0] ? r->sites[s].tz : NULL;
            for (size_t k = 0; k < c->ch.n_findings; k++) {
                const an_finding_t *fd = &c->ch.findings[k];
                if (n_findings++ == 0) {
                    static const char *const fh[] = {"Channel", "Kind",  "Since (local)",
                                                     "Size W",  "Units", "kWh in period",
                                                     "Status",  "Class"};
                    d->table(out, fh, 8, 1);
                }
                char c1[48], c2[48], c3[256], c4[48], c5[160];
                wa_time_format(fd->onset, tz, c1, sizeof c1);
                snprintf(c2, sizeof c2, "%.0f", fd->step_w);
                /* Every kind that fits; none for an explained finding. */
                if (fd->n_rig_fits == 0 || an_rig_fits_format(fd, c3, sizeof c3) <= 0)
                    snprintf(c3, sizeof c3, "-");
                fixed(fd->excess_kwh, 1, c4, sizeof c4);
                if (fd->explained_by[0])
                    snprintf(c5, sizeof c5, "explained by %s", fd->explained_by);
                else
                    snprintf(c5, sizeof c5, "%s%s",
                             an_finding_active(c, fd) ? "unexplained, running"
                                                      : "unexplained, ended",
                             c->role == AN_ROLE_TOTAL && c->parts_cover
                                 ? "; counted on the device's parts"
                                 : "");
                char c6[256];
                snprintf(c6, sizeof c6, "%s%s%s", an_class_name(fd->cls),
                         fd->cls != AN_CLASS_NONE ? ": " : "", fd->cls_why);
                const char *cells[8] = {c->id, an_kind_name(fd->kind), c1, c2, c3, c4, c5, c6};
                d->table(out, cells, 8, 0);
            }
        }
    if (n_findings)
        d->table_end(out);
    else
        d->para(out, "None.");
    flagged_section(r, d, out);

    d->heading(out, "Method");
    d->list_begin(out);
    d->item(out, "Energy per channel: the difference of the meter's energy register where the "
                 "file has one (exact across collection gaps, as the meter keeps counting), "
                 "else the sum of the known power steps times their length. Gaps are listed "
                 "below and never filled.");
    d->item(out, "A device's total channel (total, inlet, main, incomer) is counted instead of "
                 "its parts. Its unexplained load is what its parts show when their energy adds "
                 "up to the total's within 2% (two class 1 meters), else the larger of what the "
                 "total and the parts show, so no load is counted twice.");
    d->item(out,
            "Units: every kind of the rig catalogue (built in: GPU rig 1,000-1,500 W, "
            "ASIC 1,300-3,500 W, office PC 40-120 W of mining load, each widened by 5%) of "
            "which a whole number draws the finding's size. Power alone seldom tells the kinds "
            "apart, so all of them are listed; the first needs the fewest units. Loads "
            "running outside working hours only are given as office PCs. Explained "
            "findings get no estimate.");
    d->item(out, "Class: deliberate (a machine run for the purpose: a load day and night), "
                 "passive (a machine mining behind its owner's back: busy at nights and weekends "
                 "only, a trojan's pattern) or research (a declared load or declared jobs cover "
                 "it). Where the site lists its computers, the circuit's power is fitted against "
                 "their CPU and GPU utilisation over a reference period (robust regression), and "
                 "a finding takes the class of whatever accounts for it: a host's load, its "
                 "declared jobs, or power no host accounts for. Elsewhere the class follows the "
                 "finding's shape (docs/correlate.md).");
    d->item(out, "Savings: for each unexplained finding still running at the end of the period, "
                 "its energy divided by the days it ran; ended findings and findings explained by "
                 "a declared load are not counted.");
    snprintf(line, sizeof line,
             "Standard coal = kWh x %g kgce/kWh; CO2 = kWh x %g kg/kWh; a year is 365 days.",
             f->kgce_per_kwh, f->kgco2_per_kwh);
    d->item(out, line);
    d->item(out, "Rounding in the statement: kWh a day to 4 significant figures, coal and CO2 to "
                 "3, as in the published form (148,500 kWh a day x 0.404 = 59,994 kg, stated "
                 "as 60 t). The table shows the unrounded figures.");
    d->list_end(out);

    d->heading(out, "Factors and their sources");
    snprintf(line, sizeof line, "%s: %g kgce per kWh, %g kg CO2 per kWh. Source: %s", f->name,
             f->kgce_per_kwh, f->kgco2_per_kwh, f->source);
    d->para(out, line);
    if (f->tariff_per_kwh > 0) {
        snprintf(line, sizeof line, "Tariff: %g %s per kWh; the saving is worth %s %s a year.",
                 f->tariff_per_kwh, f->currency, fixed(r->savings.cost_per_year, 0, a, sizeof a),
                 f->currency);
        d->para(out, line);
    }

    d->heading(out, "Data coverage");
    size_t listed = 0;
    for (size_t s = 0; s < r->n_sites; s++)
        for (size_t i = 0; i < r->sites[s].n_channels; i++) {
            const an_channel_result_t *c = &r->sites[s].channels[i];
            const an_energy_t *en = &c->energy;
            if (en->n_gaps == 0 && c->analyzed)
                continue;
            if (listed == 0)
                d->list_begin(out);
            char g[320];
            an_gaps_describe(c, r->sites[s].to, r->sites[s].tz[0] ? r->sites[s].tz : NULL, g,
                             sizeof g);
            char unb[96] = "";
            if (en->n_gaps && en->unbridged_gap_hours < 1.0)
                snprintf(unb, sizeof unb, "; %.0f min of it not bridged by the energy register",
                         en->unbridged_gap_hours * 60.0);
            else if (en->n_gaps)
                snprintf(unb, sizeof unb, "; %.1f h of it not bridged by the energy register",
                         en->unbridged_gap_hours);
            snprintf(line, sizeof line, "%s: %.1f%% of the period known (%s)%s%s%s%s%s", c->id,
                     100 * en->coverage, an_energy_method_name(en->method), en->n_gaps ? "; " : "",
                     g, unb, c->analyzed ? "" : "; not judged: ", c->analyzed ? "" : c->note);
            d->item(out, line);
            listed++;
        }
    if (listed)
        d->list_end(out);
    else
        d->para(out, "Every channel is complete over the period.");
    if (r->n_skipped) {
        snprintf(line, sizeof line,
                 "%zu file(s) could not be read and are left out (named in "
                 "the run's warnings).",
                 r->n_skipped);
        d->para(out, line);
    }

    if (o->scale) {
        const an_scale_t *sc = o->scale;
        char t[48], lo[48], hi[48], rt[48];
        d->heading(out, "Population estimate");
        snprintf(line, sizeof line,
                 "Ratio estimate: the audited sites save %s kWh a day over %s %s, %s kWh a day "
                 "per unit; times %s %s in the population gives %s kWh a day. %.0f%% interval "
                 "%s to %s kWh a day (percentile bootstrap, %u resamples of the %zu sites, GSL "
                 "mt19937 seed %lu: rerunning gives the same figures).",
                 sig(sc->sample_y, 4, a, sizeof a), sig(sc->sample_x, 6, b, sizeof b),
                 o->population_what ? o->population_what : "units",
                 sig(sc->ratio, 4, rt, sizeof rt), sig(sc->population_x, 6, t, sizeof t),
                 o->population_what ? o->population_what : "units",
                 sig(sc->total, 4, lo, sizeof lo), 100 * sc->level, sig(sc->lo, 3, hi, sizeof hi),
                 sig(sc->hi, 3, t, sizeof t), sc->replicates, sc->n, sc->seed);
        d->para(out, line);
        d->list_begin(out);
        d->item(out, "Assumed: the audited sites are a random sample of the population's units, "
                     "or at least not chosen for being worse than the rest.");
        d->item(out, "Assumed: saving is proportional to the unit count (the ratio y/x holds "
                     "across the population); flagged units that were not audited behave like "
                     "audited ones.");
        d->item(out, "The interval covers sampling variation among audited sites only, not "
                     "errors in the population count or in the factors.");
        if (sc->n < 10)
            d->item(out, "Fewer than 10 audited sites: the bootstrap interval is rough and "
                         "likely too narrow.");
        d->list_end(out);
    }
    d->end(out);
}

/* ---- CSV and JSON ---- */

static void write_csv(const an_result_t *r, const an_report_opts_t *o, FILE *out)
{
    const an_factors_t *f = &r->factors;
    fputs("scope,from,to,kwh,excess_kwh,kgce,kgco2,kwh_per_day_saved,kgce_per_day_saved,"
          "tce_per_year_saved,tco2_per_year_saved,cost_per_year_saved,factors,kgce_per_kwh,"
          "kgco2_per_kwh,source\n",
          out);
    for (size_t s = 0; s <= r->n_sites; s++) {
        int total = s == r->n_sites;
        const an_site_result_t *site = total ? NULL : &r->sites[s];
        const an_savings_t *sv = total ? &r->savings : &site->savings;
        an_csv_field(out, total ? "all sites" : site->id);
        fprintf(out, ",%lld,%lld,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%.2f,",
                (long long)(total ? r->from : site->from), (long long)(total ? r->to : site->to),
                total ? r->kwh : site->kwh, total ? r->excess_kwh : site->excess_kwh,
                total ? r->kgce : site->kgce, total ? r->kgco2 : site->kgco2, sv->kwh_per_day,
                sv->kgce_per_day, sv->tce_per_year, sv->tco2_per_year, sv->cost_per_year);
        an_csv_field(out, f->name);
        fprintf(out, ",%g,%g,", f->kgce_per_kwh, f->kgco2_per_kwh);
        an_csv_field(out, f->source);
        fputc('\n', out);
    }
    if (o->scale) {
        const an_scale_t *sc = o->scale;
        an_savings_t sv;
        an_savings_compute(sc->total, 1.0, f, &sv);
        fputs("population", out);
        fprintf(out, ",%lld,%lld,,,,,%.6f,%.6f,%.6f,%.6f,%.2f,", (long long)r->from,
                (long long)r->to, sv.kwh_per_day, sv.kgce_per_day, sv.tce_per_year,
                sv.tco2_per_year, sv.cost_per_year);
        an_csv_field(out, f->name);
        fprintf(out, ",%g,%g,", f->kgce_per_kwh, f->kgco2_per_kwh);
        char src[256];
        snprintf(src, sizeof src,
                 "ratio estimate over %zu audited sites; %.0f%% bootstrap interval %.6f to %.6f "
                 "kWh/day (seed %lu, %u resamples)",
                 sc->n, 100 * sc->level, sc->lo, sc->hi, sc->seed, sc->replicates);
        an_csv_field(out, src);
        fputc('\n', out);
    }
}

static int write_json(const an_result_t *r, const an_report_opts_t *o, FILE *out)
{
    cJSON *root = an_result_json(r);
    if (!root)
        return -1;
    cJSON *rep = cJSON_AddObjectToObject(root, "report");
    char line[512];
    statement_text(r, line, sizeof line);
    cJSON_AddStringToObject(rep, "statement", line);
    cJSON_AddStringToObject(rep, "rounding",
                            "kWh a day to 4 significant figures; coal and CO2 to 3");
    if (o->scale) {
        const an_scale_t *sc = o->scale;
        cJSON *s = cJSON_AddObjectToObject(rep, "population");
        cJSON_AddStringToObject(s, "what", o->population_what ? o->population_what : "units");
        cJSON_AddNumberToObject(s, "audited", (double)sc->n);
        cJSON_AddNumberToObject(s, "sample_kwh_per_day", sc->sample_y);
        cJSON_AddNumberToObject(s, "sample_units", sc->sample_x);
        cJSON_AddNumberToObject(s, "ratio_kwh_per_day_per_unit", sc->ratio);
        cJSON_AddNumberToObject(s, "population_units", sc->population_x);
        cJSON_AddNumberToObject(s, "kwh_per_day", sc->total);
        cJSON_AddNumberToObject(s, "lo", sc->lo);
        cJSON_AddNumberToObject(s, "hi", sc->hi);
        cJSON_AddNumberToObject(s, "level", sc->level);
        cJSON_AddNumberToObject(s, "replicates", sc->replicates);
        cJSON_AddNumberToObject(s, "seed", (double)sc->seed);
        an_savings_t sv;
        an_savings_compute(sc->total, 1.0, &r->factors, &sv);
        cJSON *x = cJSON_AddObjectToObject(s, "savings");
        cJSON_AddNumberToObject(x, "kwh_per_day", sv.kwh_per_day);
        cJSON_AddNumberToObject(x, "kgce_per_day", sv.kgce_per_day);
        cJSON_AddNumberToObject(x, "tce_per_year", sv.tce_per_year);
        cJSON_AddNumberToObject(x, "tco2_per_year", sv.tco2_per_year);
    }
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    if (!text)
        return -1;
    fputs(text, out);
    fputc('\n', out);
    free(text);
    return 0;
}

int an_report_write(const an_result_t *r, const an_report_opts_t *o, FILE *out, char *err,
                    size_t errlen)
{
    an_report_opts_t def = {0};
    if (!r || !out) {
        errno = EINVAL;
        return wa_err(err, errlen, "report: nothing to write");
    }
    if (!o)
        o = &def;
    switch (o->format) {
    case AN_REPORT_MARKDOWN:
        write_doc(r, o, &markdown, out);
        break;
    case AN_REPORT_HTML:
        write_doc(r, o, &html, out);
        break;
    case AN_REPORT_CSV:
        write_csv(r, o, out);
        break;
    case AN_REPORT_JSON:
        if (write_json(r, o, out) < 0) {
            errno = ENOMEM;
            return wa_err(err, errlen, "report: out of memory");
        }
        break;
    }
    if (fflush(out) != 0 || ferror(out)) {
        errno = EIO;
        return wa_err(err, errlen, "report: cannot write");
    }
    return 0;
}
