/* /api/report: the officer's savings statement for chosen sites, period and factor preset, in
 * the analyzer's own formats (docs/report.md), to show, print or download. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "dashboard/dash-private.h"

#define MAX_REPORT_SITES 64

static const struct {
    const char *name, *ctype, *ext;
    an_report_format_t fmt;
} formats[] = {
    {"json", "application/json; charset=utf-8", "json", AN_REPORT_JSON},
    {"csv", "text/csv; charset=utf-8", "csv", AN_REPORT_CSV},
    {"md", "text/markdown; charset=utf-8", "md", AN_REPORT_MARKDOWN},
    {"html", "text/html; charset=utf-8", "html", AN_REPORT_HTML},
};

static int preset_known(const char *name)
{
    size_t n;
    const an_factors_t *p = an_factors_presets(&n);
    for (size_t i = 0; i < n; i++)
        if (strcmp(p[i].name, name) == 0)
            return 1;
    return 0;
}

enum MHD_Result rt_report(dash_req_t *r)
{
    char(*chosen)[SC_ID_MAX] = NULL;
    int n_sites = 0;
    const char *fmt_name = dr_arg(r, "format") ? dr_arg(r, "format") : "json";
    size_t fi = 0;
    while (fi < sizeof formats / sizeof formats[0] && strcmp(formats[fi].name, fmt_name) != 0)
        fi++;
    if (fi == sizeof formats / sizeof formats[0])
        return dr_error(r, 400, I18N_BAD_PARAM, "format");
    const char *dl = dr_arg(r, "download");
    if (dl && strcmp(dl, "0") != 0 && strcmp(dl, "1") != 0)
        return dr_error(r, 400, I18N_BAD_PARAM, "download");
    const char *preset =
        dr_arg(r, "factors") ? dr_arg(r, "factors") : dd_default_factors(r->d->data);
    if (dr_arg(r, "factors") && (!dp_is_id(preset) || !preset_known(preset)))
        return dr_error(r, 400, I18N_BAD_PARAM, "factors");
    double tariff = 0;
    const char *cur = dr_arg(r, "currency");
    if (dr_arg(r, "tariff") && dp_parse_double(dr_arg(r, "tariff"), 0, 1000, &tariff) < 0)
        return dr_error(r, 400, I18N_BAD_PARAM, "tariff");
    if (cur && (strlen(cur) != 3 || cur[0] < 'A' || cur[0] > 'Z' || cur[1] < 'A' || cur[1] > 'Z' ||
                cur[2] < 'A' || cur[2] > 'Z'))
        return dr_error(r, 400, I18N_BAD_PARAM, "currency");
    if (cur && tariff <= 0)
        return dr_error(r, 400, I18N_BAD_PARAM, "tariff");
    char spec[700], err[1024];
    int off = snprintf(spec, sizeof spec, "%s", preset);
    if (tariff > 0)
        off += snprintf(spec + off, sizeof spec - (size_t)off, ",tariff=%.9g", tariff);
    if (cur)
        snprintf(spec + off, sizeof spec - (size_t)off, ",currency=%s", cur);
    an_factors_t f;
    if (an_factors_parse(spec, &f, err, sizeof err) < 0)
        return dr_error(r, 400, I18N_BAD_PARAM, "factors");

    if (dr_arg(r, "sites")) {
        if (!(chosen = calloc(MAX_REPORT_SITES, sizeof *chosen)))
            return dr_error(r, 500, I18N_INTERNAL, "memory");
        if ((n_sites = dp_id_list(dr_arg(r, "sites"), chosen, MAX_REPORT_SITES)) < 0) {
            free(chosen);
            return dr_error(r, 400, I18N_BAD_PARAM, "sites");
        }
    }
    /* Dates are read in the first chosen site's zone (else the first site's). */
    dd_snap_t *s = dd_acquire(r->d->data);
    char tz[SC_ID_MAX] = "";
    for (size_t i = 0; i < s->r.n_sites; i++)
        if (!tz[0] || (n_sites > 0 && strcmp(s->r.sites[i].id, chosen[0]) == 0))
            wa_strlcpy(tz, s->r.sites[i].tz, sizeof tz);
    dd_release(r->d->data, s);
    int64_t from = 0, to = 0;
    if (rj_time_arg(r, "from", tz, &from) < 0) {
        free(chosen);
        return dr_error(r, 400, I18N_BAD_PARAM, "from");
    }
    if (rj_time_arg(r, "to", tz, &to) < 0 || (from && to && to <= from)) {
        free(chosen);
        return dr_error(r, 400, I18N_BAD_PARAM, "to");
    }
    an_result_t res;
    if (dd_run(r->d->data, chosen, (size_t)n_sites, from, to, &f, &res, err, sizeof err) < 0) {
        int e = errno;
        free(chosen);
        if (e == ENOENT)
            return dr_error(r, 404, I18N_NO_SUCH_SITE, err);
        return dr_error(r, 422, I18N_NO_DATA, err);
    }
    free(chosen);
    char *body = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&body, &len);
    an_report_opts_t ro = {.format = formats[fi].fmt};
    int rc = out ? an_report_write(&res, &ro, out, err, sizeof err) : -1;
    if (out)
        fclose(out);
    char when_from[32], when_to[32], disp[160];
    wa_time_format(res.from, "UTC", when_from, sizeof when_from);
    wa_time_format(res.to, "UTC", when_to, sizeof when_to);
    when_from[10] = when_to[10] = '\0'; /* the dates of "YYYY-MM-DD HH:MM" */
    an_result_free(&res);
    if (rc < 0) {
        free(body);
        return dr_error(r, 500, I18N_INTERNAL, "report");
    }
    snprintf(disp, sizeof disp, "attachment; filename=\"wattaudit-savings-%s-%s.%s\"", when_from,
             when_to, formats[fi].ext);
    /* The HTML statement has its own inline style: it is only ever a download. */
    int attach = (dl && strcmp(dl, "1") == 0) || formats[fi].fmt == AN_REPORT_HTML;
    return dr_send_owned(r, 200, formats[fi].ctype, body, len, attach ? disp : NULL);
}
