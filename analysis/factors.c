/*
 * Factor presets, the officers' savings form and their sentence.  docs/factors.md gives each
 * figure's source in full; the comments below name it so that a reader of the table need not
 * look elsewhere.
 */
#include "analysis/analysis.h"

#include "common/common.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DAYS_PER_YEAR 365.0 /* the officers' year (the published 21,900 t = 60 t x 365) */

/* GB/T 2589-2020 "General rules for calculation of the comprehensive energy consumption",
 * appendix A: electricity by its calorific equivalent (当量值), 3600 kJ/kWh over standard coal's
 * 29307 kJ/kgce = 0.1229 kgce/kWh. */
#define KGCE_CALORIFIC 0.1229

/* MEE and NBS, "关于发布2022年电力二氧化碳排放因子的公告" (announcement of 2024-12-20,
 * published 2024-12-23): national and regional average grid factors for 2022, kg CO2/kWh.  The
 * regional figures as listed from its attachment by 新京报, 2024-12-27. */
#define MEE_2022 "MEE/NBS announcement of 2024-12-20, 2022 electricity CO2 emission factors"

static const an_factors_t presets[] = {
    /* The pair behind most Chinese "one kWh saved" statements: 0.404 kgce/kWh (coal burnt per
     * kWh supplied, the equivalent value 等价值) and 0.997 kg CO2/kWh (= 0.4 kgce x 2.493 kg
     * CO2/kgce), as quoted for example by Zhongguo Qingnian Wang, 2017-08-04 ("每节约1度电...约400
     * 克标准煤...997克二氧化碳").  No primary official document for the pair was found; see
     * docs/factors.md. */
    {"cn-popular", 0.404, 0.997, 0, "",
     "popular Chinese savings factors: 0.404 kgce/kWh "
     "(supply coal, equivalent value) and 0.997 kg CO2/kWh (0.4 kgce x 2.493 kg CO2/kgce); "
     "no primary official source, see docs/factors.md"},
    {"cn-grid-2022", KGCE_CALORIFIC, 0.5366, 0, "",
     MEE_2022 ", national average 0.5366 kg CO2/kWh; coal by calorific value, GB/T 2589-2020"},
    {"cn-grid-north", KGCE_CALORIFIC, 0.6776, 0, "",
     MEE_2022 ", North China grid 0.6776 kg CO2/kWh; coal by calorific value, GB/T 2589-2020"},
    {"cn-grid-northeast", KGCE_CALORIFIC, 0.5564, 0, "",
     MEE_2022 ", Northeast grid 0.5564 kg CO2/kWh; coal by calorific value, GB/T 2589-2020"},
    {"cn-grid-east", KGCE_CALORIFIC, 0.5617, 0, "",
     MEE_2022 ", East China grid 0.5617 kg CO2/kWh; coal by calorific value, GB/T 2589-2020"},
    {"cn-grid-central", KGCE_CALORIFIC, 0.5395, 0, "",
     MEE_2022 ", Central China grid 0.5395 kg CO2/kWh; coal by calorific value, GB/T 2589-2020"},
    {"cn-grid-northwest", KGCE_CALORIFIC, 0.5857, 0, "",
     MEE_2022 ", Northwest grid 0.5857 kg CO2/kWh; coal by calorific value, GB/T 2589-2020"},
    {"cn-grid-south", KGCE_CALORIFIC, 0.3869, 0, "",
     MEE_2022 ", South grid 0.3869 kg CO2/kWh; coal by calorific value, GB/T 2589-2020"},
    {"cn-grid-southwest", KGCE_CALORIFIC, 0.2268, 0, "",
     MEE_2022 ", Southwest grid 0.2268 kg CO2/kWh; coal by calorific value, GB/T 2589-2020"},
    /* Coal by calorific value with the national grid factor for CO2: the pair for a statement
     * in the statistical convention of GB/T 2589 (当量值). */
    {"cn-calorific", KGCE_CALORIFIC, 0.5366, 0, "",
     "GB/T 2589-2020 appendix A, electricity 0.1229 kgce/kWh by calorific value (3600 kJ / "
     "29307 kJ/kgce); CO2: " MEE_2022 ", national average 0.5366"},
};

const an_factors_t *an_factors_presets(size_t *n)
{
    if (n)
        *n = sizeof presets / sizeof presets[0];
    return presets;
}

int an_factors_find(const char *name, an_factors_t *out)
{
    if (!name || !out) {
        errno = EINVAL;
        return -1;
    }
    for (size_t i = 0; i < sizeof presets / sizeof presets[0]; i++)
        if (strcmp(presets[i].name, name) == 0) {
            *out = presets[i];
            return 0;
        }
    errno = ENOENT;
    return -1;
}

/* A factor must be a finite number >= 0 (0 is allowed: a tariff of 0 means no cost). */
static int parse_num(const char *key, const char *v, double *out, char *err, size_t errlen)
{
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    if (end == v || *end != '\0' || errno != 0 || !isfinite(d) || d < 0) {
        errno = EINVAL;
        return wa_err(err, errlen, "factors: %s='%s' is not a number >= 0", key, v);
    }
    *out = d;
    return 0;
}

int an_factors_parse(const char *spec, an_factors_t *out, char *err, size_t errlen)
{
    if (!spec || !out) {
        errno = EINVAL;
        return wa_err(err, errlen, "factors: no name given");
    }
    char buf[1024];
    if (wa_strlcpy(buf, spec, sizeof buf) < 0) {
        errno = EINVAL;
        return wa_err(err, errlen, "factors: the spec is longer than %zu bytes", sizeof buf - 1);
    }
    char *rest = strchr(buf, ',');
    if (rest)
        *rest++ = '\0';
    an_factors_t f;
    int custom = strcmp(buf, "custom") == 0;
    int have_kgce = 0, have_co2 = 0, have_source = 0;
    if (custom) {
        memset(&f, 0, sizeof f);
        wa_strlcpy(f.name, "custom", sizeof f.name);
    } else if (an_factors_find(buf, &f) < 0) {
        size_t n;
        const an_factors_t *p = an_factors_presets(&n);
        char names[512] = "";
        for (size_t i = 0; i < n; i++) {
            strncat(names, p[i].name, sizeof names - strlen(names) - 1);
            strncat(names, ", ", sizeof names - strlen(names) - 1);
        }
        errno = ENOENT;
        return wa_err(err, errlen, "factors: no preset '%s' (presets: %scustom)", buf, names);
    }
    while (rest && *rest) {
        char *item = rest;
        char *eq = strchr(item, '=');
        if (!eq) {
            errno = EINVAL;
            return wa_err(err, errlen, "factors: '%s' is not key=value", item);
        }
        *eq = '\0';
        char *val = eq + 1;
        if (strcmp(item, "source") == 0) {
            /* A source is prose: it may hold commas, so it takes the rest. */
            wa_strlcpy(f.source, val, sizeof f.source);
            have_source = 1;
            break;
        }
        rest = strchr(val, ',');
        if (rest)
            *rest++ = '\0';
        if (strcmp(item, "kgce") == 0) {
            if (parse_num(item, val, &f.kgce_per_kwh, err, errlen) < 0)
                return -1;
            have_kgce = 1;
        } else if (strcmp(item, "kgco2") == 0) {
            if (parse_num(item, val, &f.kgco2_per_kwh, err, errlen) < 0)
                return -1;
            have_co2 = 1;
        } else if (strcmp(item, "tariff") == 0) {
            if (parse_num(item, val, &f.tariff_per_kwh, err, errlen) < 0)
                return -1;
        } else if (strcmp(item, "currency") == 0) {
            if (wa_strlcpy(f.currency, val, sizeof f.currency) < 0) {
                errno = EINVAL;
                return wa_err(err, errlen, "factors: currency '%s' is too long", val);
            }
        } else {
            errno = EINVAL;
            return wa_err(err, errlen,
                          "factors: unknown key '%s' (kgce, kgco2, tariff, currency, source)",
                          item);
        }
    }
    if (custom && !(have_kgce && have_co2 && have_source)) {
        errno = EINVAL;
        return wa_err(err, errlen, "factors: a custom set needs kgce=, kgco2= and source=");
    }
    if (!custom && (have_kgce || have_co2)) {
        /* A changed preset is no longer the preset: say so wherever its name is printed. */
        char name[sizeof f.name];
        snprintf(name, sizeof name, "%.20s(adjusted)", f.name);
        memcpy(f.name, name, sizeof f.name);
        if (!have_source) {
            errno = EINVAL;
            return wa_err(err, errlen, "factors: changing kgce or kgco2 needs a source=");
        }
    }
    if (f.tariff_per_kwh > 0 && f.currency[0] == '\0')
        wa_strlcpy(f.currency, "CNY", sizeof f.currency);
    *out = f;
    return 0;
}

void an_savings_compute(double excess_kwh, double days, const an_factors_t *f, an_savings_t *out)
{
    memset(out, 0, sizeof *out);
    if (!f || !(days > 0) || !isfinite(excess_kwh))
        return;
    out->kwh_per_day = excess_kwh / days;
    out->kgce_per_day = out->kwh_per_day * f->kgce_per_kwh;
    out->tce_per_year = out->kgce_per_day * DAYS_PER_YEAR / 1000.0;
    out->tco2_per_year = out->kwh_per_day * f->kgco2_per_kwh * DAYS_PER_YEAR / 1000.0;
    out->cost_per_year = out->kwh_per_day * f->tariff_per_kwh * DAYS_PER_YEAR;
}

double an_round_sig(double v, int sig)
{
    if (v == 0 || !isfinite(v) || sig < 1)
        return v;
    int mag = (int)floor(log10(fabs(v))) + 1; /* digits before the point */
    double scale = pow(10.0, sig - mag);
    return round(v * scale) / scale;
}

char *an_format_sig(double v, int sig, char *buf, size_t len)
{
    if (len == 0)
        return buf;
    if (!isfinite(v)) {
        snprintf(buf, len, "n/a");
        return buf;
    }
    double r = an_round_sig(v, sig);
    int mag = r == 0 ? 1 : (int)floor(log10(fabs(r))) + 1;
    int decimals = sig - mag > 0 ? sig - mag : 0;
    char num[64];
    snprintf(num, sizeof num, "%.*f", decimals, fabs(r));
    char *dot = strchr(num, '.');
    if (dot) { /* no trailing zeros after the point */
        char *e = num + strlen(num) - 1;
        while (e > dot && *e == '0')
            *e-- = '\0';
        if (e == dot)
            *e = '\0';
    }
    size_t int_len = dot ? (size_t)(dot - num) : strlen(num);
    char out[96];
    size_t o = 0;
    if (r < 0)
        out[o++] = '-';
    for (size_t i = 0; num[i] && o < sizeof out - 1; i++) {
        if (i < int_len && i > 0 && (int_len - i) % 3 == 0)
            out[o++] = ',';
        out[o++] = num[i];
    }
    out[o] = '\0';
    snprintf(buf, len, "%s", out);
    return buf;
}

int an_statement(double kwh_per_day, const an_factors_t *f, char *buf, size_t len)
{
    an_savings_t s;
    char kwh[32], tce_d[32], tce_y[32], tco2_y[32], kgce[32], kgco2[32];
    an_savings_compute(kwh_per_day, 1.0, f, &s);
    /* Factors are printed as given (up to 4 significant figures, which every preset fits). */
    return snprintf(buf, len,
                    "%s kWh a day is %s t of standard coal a day, %s t a year, and %s t of CO2 a "
                    "year (%s kgce and %s kg CO2 per kWh)",
                    an_format_sig(kwh_per_day, 4, kwh, sizeof kwh),
                    an_format_sig(s.kgce_per_day / 1000.0, 3, tce_d, sizeof tce_d),
                    an_format_sig(s.tce_per_year, 3, tce_y, sizeof tce_y),
                    an_format_sig(s.tco2_per_year, 3, tco2_y, sizeof tco2_y),
                    an_format_sig(f->kgce_per_kwh, 4, kgce, sizeof kgce),
                    an_format_sig(f->kgco2_per_kwh, 4, kgco2, sizeof kgco2));
}
