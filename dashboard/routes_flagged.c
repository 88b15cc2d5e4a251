/* /api/flagged: the addresses network monitoring flagged, per site, with the inspectors' three
 * answers (an_ip_answer, docs/correlate.md): which machine on which circuit (or unmapped), what
 * was found there since when and how many machines draw it, and the class with its reason;
 * each linked to the finding it rests on and listed with every finding on that circuit. */
#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "dashboard/dash-private.h"

/* An address as bytes, so that spellings of one address compare equal: IPv6 with or without
 * zeros left out, in either case, and an IPv4-mapped IPv6 address ("::ffff:10.0.3.7", RFC 4291
 * section 2.5.5.2) as the IPv4 address it maps.  Length (4 or 16), or 0 if s is no address. */
static size_t ip_bytes(const char *s, unsigned char *out)
{
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (inet_pton(AF_INET, s, out) == 1)
        return 4;
    if (inet_pton(AF_INET6, s, out) != 1)
        return 0;
    if (memcmp(out, mapped, sizeof mapped) == 0) {
        memmove(out, out + 12, 4);
        return 4;
    }
    return 16;
}

static int same_ip(const char *a, const char *b)
{
    unsigned char x[16], y[16];
    size_t n = ip_bytes(a, x), m = ip_bytes(b, y);
    return n ? n == m && memcmp(x, y, n) == 0 : strcmp(a, b) == 0;
}

/* The finding an answer rests on: the same kind and onset on the address's circuit (and for a
 * host's own load, that host).  Its id into id, or "" when the answer rests on none. */
static void answer_finding(const an_site_result_t *site, size_t ci, const an_flagged_ip_t *ip,
                           const an_ip_answer_t *a, char *id, size_t len)
{
    const an_channel_result_t *c = &site->channels[ci];
    id[0] = '\0';
    if (!a->kind[0])
        return;
    for (size_t i = 0; c->corr && i < c->corr->n_findings; i++) {
        const an_corr_finding_t *f = &c->corr->findings[i];
        int host_ok = strcmp(a->unit, "host") == 0 ? strcmp(f->host, ip->host) == 0 : !f->host[0];
        if (strcmp(an_corr_kind_name(f->kind), a->kind) == 0 && f->onset == a->since && host_ok) {
            dd_finding_id(c, 1, i, id, len);
            return;
        }
    }
    for (size_t i = 0; i < c->ch.n_findings; i++) {
        const an_finding_t *f = &c->ch.findings[i];
        if (strcmp(an_kind_name(f->kind), a->kind) == 0 && f->onset == a->since &&
            !f->explained_by[0]) {
            dd_finding_id(c, 0, i, id, len);
            return;
        }
    }
}

static cJSON *flagged_json(const dd_snap_t *s, size_t si, const an_flagged_ip_t *ip)
{
    const an_site_result_t *site = &s->r.sites[si];
    an_ip_answer_t a;
    an_ip_answer(site, ip, &a);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "ip", ip->ip);
    cJSON_AddNumberToObject(o, "seen", (double)ip->seen);
    cJSON_AddBoolToObject(o, "mapped", a.host != NULL);
    if (a.host) {
        cJSON_AddStringToObject(o, "host", a.host->id);
        cJSON_AddStringToObject(o, "role", a.host->role);
    } else {
        cJSON_AddNullToObject(o, "host");
        cJSON_AddNullToObject(o, "role");
    }
    if (a.channel) {
        cJSON_AddStringToObject(o, "channel", a.channel->id);
        cJSON_AddStringToObject(o, "channel_name", a.channel->name);
        cJSON_AddNumberToObject(o, "hosts_on_channel",
                                a.channel->corr ? (double)a.channel->corr->n_hosts : 0);
    } else {
        /* A host whose circuit is not known or was not read still names it. */
        if (ip->channel[0])
            cJSON_AddStringToObject(o, "channel", ip->channel);
        else
            cJSON_AddNullToObject(o, "channel");
        cJSON_AddNullToObject(o, "channel_name");
        cJSON_AddNumberToObject(o, "hosts_on_channel", 0);
    }
    cJSON *ans = cJSON_AddObjectToObject(o, "answer");
    cJSON_AddItemToObject(ans, "load_class", rj_class(a.cls));
    cJSON_AddStringToObject(ans, "why", a.why);
    cJSON_AddStringToObject(ans, "kind", a.kind);
    cJSON_AddItemToObject(ans, "since", rj_num(a.since ? (double)a.since : NAN));
    cJSON_AddItemToObject(ans, "w", rj_num(a.w));
    cJSON_AddNumberToObject(ans, "count_min", a.count_min);
    cJSON_AddNumberToObject(ans, "count_max", a.count_max);
    cJSON_AddStringToObject(ans, "unit", a.unit);
    cJSON *fs = cJSON_AddArrayToObject(o, "findings");
    if (!a.channel) {
        cJSON_AddNullToObject(ans, "finding");
        return o;
    }
    size_t ci = (size_t)(a.channel - site->channels);
    char id[300];
    answer_finding(site, ci, ip, &a, id, sizeof id);
    if (id[0])
        cJSON_AddStringToObject(ans, "finding", id);
    else
        cJSON_AddNullToObject(ans, "finding");
    /* Every finding on the circuit, the correlation's first (they name the hosts). */
    size_t nc = a.channel->corr ? a.channel->corr->n_findings : 0;
    for (size_t k = 0; k < nc + a.channel->ch.n_findings; k++) {
        dd_finding_ref_t ref = {.site = si, .channel = ci, .corr = k < nc};
        ref.finding = k < nc ? k : k - nc;
        dd_finding_id(a.channel, ref.corr, ref.finding, ref.id, sizeof ref.id);
        cJSON_AddItemToArray(fs, rj_finding(s, &ref, 0));
    }
    return o;
}

enum MHD_Result rt_flagged(dash_req_t *r)
{
    const char *site = dr_arg(r, "site"), *ip = dr_arg(r, "ip");
    unsigned char bytes[16];
    if (site && !dp_is_id(site))
        return dr_error(r, 400, I18N_BAD_PARAM, "site");
    if (ip && (strlen(ip) >= 46 || !ip_bytes(ip, bytes)))
        return dr_error(r, 400, I18N_BAD_PARAM, "ip");
    /* The answers change only with the analysis: served from the response cache, keyed by its
     * generation and the request (site and ip are checked above; ip is at most 45 bytes). */
    dd_snap_t *s = dd_acquire(r->d->data);
    char key[160];
    size_t len;
    snprintf(key, sizeof key, "flagged|%llu|%s|%s", (unsigned long long)s->gen, site ? site : "",
             ip ? ip : "");
    char *cached = dd_cache_get(r->d->data, key, 0, &len);
    if (cached) {
        dd_release(r->d->data, s);
        return dr_send_owned(r, 200, "application/json; charset=utf-8", cached, len, NULL);
    }
    int site_found = 0, ip_found = 0;
    cJSON *j = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(j, "sites");
    for (size_t i = 0; i < s->r.n_sites; i++) {
        const an_site_result_t *st = &s->r.sites[i];
        if (site && strcmp(st->id, site) != 0)
            continue;
        site_found = 1;
        cJSON *x = cJSON_CreateObject();
        cJSON_AddStringToObject(x, "site", st->id);
        cJSON_AddStringToObject(x, "name", st->name);
        cJSON_AddStringToObject(x, "tz", st->tz);
        cJSON_AddNumberToObject(x, "hosts", (double)st->n_hosts);
        cJSON_AddNumberToObject(x, "jobs", (double)st->n_jobs);
        cJSON *fl = cJSON_AddArrayToObject(x, "flagged");
        for (size_t k = 0; k < st->n_flagged; k++) {
            if (ip && !same_ip(ip, st->flagged[k].ip))
                continue;
            ip_found = 1;
            cJSON_AddItemToArray(fl, flagged_json(s, i, &st->flagged[k]));
        }
        cJSON_AddItemToArray(arr, x);
    }
    dd_release(r->d->data, s);
    if (!site_found) {
        cJSON_Delete(j);
        return dr_error(r, 404, I18N_NO_SUCH_SITE, site);
    }
    if (ip && !ip_found) {
        cJSON_Delete(j);
        return dr_error(r, 404, I18N_NO_SUCH_ADDRESS, ip);
    }
    char *text = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    if (!text)
        return dr_error(r, 500, I18N_INTERNAL, "memory");
    dd_cache_put(r->d->data, key, 0, text, strlen(text));
    return dr_send_owned(r, 200, "application/json; charset=utf-8", text, strlen(text), NULL);
}
