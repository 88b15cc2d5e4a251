/*
 * A site's inventory for the correlation (docs/correlate.md): its hosts indexed by id and by
 * channel, the research jobs each host ran (jobs_file, slurm_file), and the flagged addresses
 * mapped to hosts and circuits.  Built once per site and run, so that each channel finds its
 * hosts and each host its jobs by binary search: nothing here grows with hosts x channels or
 * hosts x jobs.
 */
#include "analysis/site-private.h"

#include "analysis/correlate-private.h"
#include "common/common.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Declaration files are text a person or sacct wrote: far below this. */
#define DECL_FILE_MAX ((size_t)256 << 20)

typedef struct key {
    const char *s;
    size_t idx;
} hkey_t;

struct an_site_corr {
    const sc_site_t *cfg;
    hkey_t *by_id;       /* host ids, sorted */
    hkey_t *by_channel;  /* hosts with a channel, by channel id then config order */
    size_t *channel_idx; /* by_channel's indexes alone, for an_site_corr_hosts_on() */
    size_t n_hosts, n_with_channel;
    cr_job_t *jobs;
    size_t n_jobs;
    size_t *job_off; /* host k's jobs are job_of[job_off[k] .. job_off[k+1]) */
    size_t *job_of;
};

const char *an_class_name(an_class_t c)
{
    switch (c) {
    case AN_CLASS_DELIBERATE:
        return "deliberate";
    case AN_CLASS_PASSIVE:
        return "passive";
    case AN_CLASS_RESEARCH:
        return "research";
    case AN_CLASS_NONE:
        break;
    }
    return "";
}

const char *an_corr_kind_name(an_corr_kind_t k)
{
    switch (k) {
    case AN_CORR_RESIDUAL:
        return "unexplained_residual";
    case AN_CORR_HOST_FULL:
        return "host_full_load";
    case AN_CORR_HOST_OFF_HOURS:
        return "host_off_hours";
    case AN_CORR_HOST_RESEARCH:
        return "host_research";
    }
    return "?";
}

static int cmp_key(const void *a, const void *b)
{
    const hkey_t *x = a, *y = b;
    int c = strcmp(x->s, y->s);
    return c ? c : (x->idx > y->idx) - (x->idx < y->idx);
}

/* The first entry of v[0..n) whose key is s, or n. */
static size_t lower_bound(const hkey_t *v, size_t n, const char *s)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(v[mid].s, s) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && strcmp(v[lo].s, s) == 0 ? lo : n;
}

/* An address in one spelling (inet_ntop's), so that "2001:db8::1" and "2001:0db8:0::1" meet.
 * Text that is no address is kept as it is. */
static void canonical_ip(const char *in, char *out, size_t len)
{
    unsigned char bin[16];
    if (inet_pton(AF_INET, in, bin) == 1 && inet_ntop(AF_INET, bin, out, (socklen_t)len))
        return;
    if (inet_pton(AF_INET6, in, bin) == 1 && inet_ntop(AF_INET6, bin, out, (socklen_t)len))
        return;
    wa_strlcpy(out, in, len);
}

void an_site_corr_close(an_site_corr_t *sc)
{
    if (!sc)
        return;
    free(sc->by_id);
    free(sc->by_channel);
    free(sc->channel_idx);
    free(sc->jobs);
    free(sc->job_off);
    free(sc->job_of);
    free(sc);
}

/* Appends the jobs of one file (jobs_file or slurm_file) to sc->jobs. */
static int read_jobs(an_site_corr_t *sc, const char *path, const char *tz, char *err, size_t errlen)
{
    size_t len;
    char *text = wa_file_read(path, DECL_FILE_MAX, &len, err, errlen);
    cr_job_t *v;
    if (!text)
        return -1;
    int n = cr_jobs_parse(path, text, len, tz, &v, err, errlen);
    free(text);
    if (n < 0)
        return -1;
    if (n > 0) {
        cr_job_t *all = realloc(sc->jobs, (sc->n_jobs + (size_t)n) * sizeof *all);
        if (!all) {
            free(v);
            errno = ENOMEM;
            return wa_err(err, errlen, "%s: out of memory", path);
        }
        memcpy(all + sc->n_jobs, v, (size_t)n * sizeof *v);
        sc->jobs = all;
        sc->n_jobs += (size_t)n;
    }
    free(v);
    return 0;
}

typedef struct pair {
    size_t host, job;
} pair_t;

static int cmp_pair(const void *a, const void *b)
{
    const pair_t *x = a, *y = b;
    if (x->host != y->host)
        return x->host < y->host ? -1 : 1;
    return (x->job > y->job) - (x->job < y->job);
}

/* Each host's jobs: every job's node list (expanded by cr_jobs_parse) looked up once. */
static int index_jobs(an_site_corr_t *sc)
{
    pair_t *p = NULL;
    size_t n = 0, cap = 0;
    sc->job_off = calloc(sc->n_hosts + 1, sizeof *sc->job_off);
    if (!sc->job_off)
        return -1;
    for (size_t j = 0; j < sc->n_jobs; j++) {
        for (const char *h = sc->jobs[j].hosts; *h;) {
            const char *e = strchr(h, ',');
            size_t l = e ? (size_t)(e - h) : strlen(h);
            char name[SC_ID_MAX];
            if (l && l < sizeof name) {
                memcpy(name, h, l);
                name[l] = '\0';
                size_t at = lower_bound(sc->by_id, sc->n_hosts, name);
                if (at < sc->n_hosts) {
                    if (n == cap) {
                        cap = cap ? 2 * cap : 64;
                        pair_t *q = realloc(p, cap * sizeof *q);
                        if (!q) {
                            free(p);
                            return -1;
                        }
                        p = q;
                    }
                    p[n++] = (pair_t){sc->by_id[at].idx, j};
                }
            }
            if (!e)
                break;
            h = e + 1;
        }
    }
    if (n)
        qsort(p, n, sizeof *p, cmp_pair);
    sc->job_of = malloc((n ? n : 1) * sizeof *sc->job_of);
    if (!sc->job_of) {
        free(p);
        return -1;
    }
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        if (i && p[i].host == p[i - 1].host && p[i].job == p[i - 1].job)
            continue; /* a node named twice in one job */
        sc->job_of[w++] = p[i].job;
        sc->job_off[p[i].host + 1]++;
    }
    for (size_t k = 0; k < sc->n_hosts; k++)
        sc->job_off[k + 1] += sc->job_off[k];
    free(p);
    return 0;
}

/* The flagged addresses, each mapped through an index of every host's addresses. */
static int read_flagged(const char *path, const char *tz, an_site_result_t *s, char *err,
                        size_t errlen)
{
    size_t len, n_ips = 0;
    char *text = wa_file_read(path, DECL_FILE_MAX, &len, err, errlen);
    cr_flagged_t *v;
    if (!text)
        return -1;
    int n = cr_flagged_parse(path, text, len, tz, &v, err, errlen);
    free(text);
    if (n < 0)
        return -1;
    for (size_t k = 0; k < s->n_hosts; k++)
        n_ips += s->hosts[k].n_ips;
    char(*canon)[INET6_ADDRSTRLEN] = malloc((n_ips ? n_ips : 1) * sizeof *canon);
    hkey_t *ips = malloc((n_ips ? n_ips : 1) * sizeof *ips);
    s->flagged = calloc(n ? (size_t)n : 1, sizeof *s->flagged);
    if (!canon || !ips || !s->flagged) {
        free(canon);
        free(ips);
        free(v);
        errno = ENOMEM;
        return wa_err(err, errlen, "%s: out of memory", path);
    }
    size_t m = 0;
    for (size_t k = 0; k < s->n_hosts; k++)
        for (size_t a = 0; a < s->hosts[k].n_ips; a++, m++) {
            canonical_ip(s->hosts[k].ips[a], canon[m], sizeof canon[m]);
            ips[m] = (hkey_t){canon[m], k};
        }
    qsort(ips, m, sizeof *ips, cmp_key);
    for (int i = 0; i < n; i++) {
        an_flagged_ip_t *f = &s->flagged[s->n_flagged++];
        char c[INET6_ADDRSTRLEN];
        wa_strlcpy(f->ip, v[i].ip, sizeof f->ip);
        f->seen = v[i].seen;
        canonical_ip(v[i].ip, c, sizeof c);
        size_t at = lower_bound(ips, m, c);
        if (at < m) {
            const an_host_t *h = &s->hosts[ips[at].idx];
            wa_strlcpy(f->host, h->id, sizeof f->host);
            wa_strlcpy(f->channel, h->channel, sizeof f->channel);
        }
    }
    free(canon);
    free(ips);
    free(v);
    return 0;
}

an_site_corr_t *an_site_corr_open(const sc_site_t *cfg, const char *data_dir, an_site_result_t *s,
                                  char *err, size_t errlen)
{
    an_site_corr_t *sc = calloc(1, sizeof *sc);
    const char *tz = s->tz[0] ? s->tz : NULL;
    if (!sc)
        goto oom;
    sc->cfg = cfg;
    sc->n_hosts = cfg->n_hosts;
    s->hosts = calloc(cfg->n_hosts ? cfg->n_hosts : 1, sizeof *s->hosts);
    sc->by_id = malloc((cfg->n_hosts ? cfg->n_hosts : 1) * sizeof *sc->by_id);
    sc->by_channel = malloc((cfg->n_hosts ? cfg->n_hosts : 1) * sizeof *sc->by_channel);
    sc->channel_idx = malloc((cfg->n_hosts ? cfg->n_hosts : 1) * sizeof *sc->channel_idx);
    if (!s->hosts || !sc->by_id || !sc->by_channel || !sc->channel_idx)
        goto oom;
    for (size_t k = 0; k < cfg->n_hosts; k++) {
        const sc_host_t *h = &cfg->hosts[k];
        an_host_t *o = &s->hosts[s->n_hosts++];
        wa_strlcpy(o->id, h->id, sizeof o->id);
        wa_strlcpy(o->role, h->role, sizeof o->role);
        if (h->channel[0])
            snprintf(o->channel, sizeof o->channel, "%s/%s", cfg->id, h->channel);
        memcpy(o->ips, h->ips, sizeof o->ips);
        o->n_ips = h->n_ips;
        snprintf(o->file, sizeof o->file, "%s/%s/hosts/%s.rrd", data_dir, cfg->id, h->id);
        o->mean_util = NAN;
        sc->by_id[k] = (hkey_t){o->id, k};
        if (o->channel[0])
            sc->by_channel[sc->n_with_channel++] = (hkey_t){o->channel, k};
        else
            snprintf(o->note, sizeof o->note, "no channel given: it cannot be set against power");
    }
    qsort(sc->by_id, sc->n_hosts, sizeof *sc->by_id, cmp_key);
    qsort(sc->by_channel, sc->n_with_channel, sizeof *sc->by_channel, cmp_key);
    for (size_t i = 0; i < sc->n_with_channel; i++)
        sc->channel_idx[i] = sc->by_channel[i].idx;

    if ((cfg->jobs_file[0] && read_jobs(sc, cfg->jobs_file, tz, err, errlen) < 0) ||
        (cfg->slurm_file[0] && read_jobs(sc, cfg->slurm_file, tz, err, errlen) < 0) ||
        (cfg->flagged_ips_file[0] && read_flagged(cfg->flagged_ips_file, tz, s, err, errlen) < 0)) {
        int e = errno;
        an_site_corr_close(sc);
        errno = e;
        return NULL;
    }
    s->n_jobs = sc->n_jobs;
    if (index_jobs(sc) < 0)
        goto oom;
    return sc;
oom:
    an_site_corr_close(sc);
    errno = ENOMEM;
    wa_err(err, errlen, "site %s: out of memory reading its hosts", cfg->id);
    return NULL;
}

const sc_host_t *an_site_corr_host(const an_site_corr_t *sc, size_t k)
{
    return &sc->cfg->hosts[k];
}

const size_t *an_site_corr_hosts_on(const an_site_corr_t *sc, const char *id, size_t *n)
{
    *n = 0;
    if (!sc)
        return NULL;
    size_t at = lower_bound(sc->by_channel, sc->n_with_channel, id);
    if (at == sc->n_with_channel)
        return NULL;
    size_t e = at;
    while (e < sc->n_with_channel && strcmp(sc->by_channel[e].s, id) == 0)
        e++;
    *n = e - at;
    return sc->channel_idx + at;
}

static int cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return (x > y) - (x < y);
}

int an_site_corr_jobs(const an_site_corr_t *sc, const size_t *hosts, size_t nh, int64_t from,
                      int64_t to, cr_job_t **out)
{
    size_t n = 0;
    *out = NULL;
    for (size_t k = 0; k < nh; k++)
        n += sc->job_off[hosts[k] + 1] - sc->job_off[hosts[k]];
    if (n == 0)
        return 0;
    size_t *idx = malloc(n * sizeof *idx);
    if (!idx)
        return -1;
    n = 0;
    for (size_t k = 0; k < nh; k++)
        for (size_t j = sc->job_off[hosts[k]]; j < sc->job_off[hosts[k] + 1]; j++)
            idx[n++] = sc->job_of[j];
    qsort(idx, n, sizeof *idx, cmp_size);
    cr_job_t *v = malloc(n * sizeof *v);
    if (!v) {
        free(idx);
        return -1;
    }
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        const cr_job_t *j = &sc->jobs[idx[i]];
        if ((i && idx[i] == idx[i - 1]) || j->to <= from || j->from >= to)
            continue;
        v[m++] = *j;
    }
    free(idx);
    *out = v;
    return (int)m;
}

void an_site_corr_finish(an_site_corr_t *sc, an_site_result_t *site)
{
    if (!sc)
        return;
    for (size_t k = 0; k < site->n_hosts; k++) {
        an_host_t *h = &site->hosts[k];
        if (!h->read && !h->note[0] && h->channel[0])
            snprintf(h->note, sizeof h->note, "its circuit %.200s was not read", h->channel);
    }
}

const an_channel_result_t *an_site_channel(const an_site_result_t *s, const char *id)
{
    for (size_t i = 0; id && id[0] && i < s->n_channels; i++)
        if (strcmp(s->channels[i].id, id) == 0)
            return &s->channels[i];
    return NULL;
}

/* ---- the inspectors' answer ---- */

static void answer_from_corr(const an_corr_finding_t *f, an_ip_answer_t *a, const char *lead)
{
    a->cls = f->cls;
    wa_strlcpy(a->kind, an_corr_kind_name(f->kind), sizeof a->kind);
    a->since = f->onset;
    a->w = f->w;
    a->count_min = f->count_min;
    a->count_max = f->count_max;
    wa_strlcpy(a->unit, f->host[0] ? "host" : "gpu_rig", sizeof a->unit);
    int l = snprintf(a->why, sizeof a->why, "%s", lead);
    if (l >= 0 && (size_t)l < sizeof a->why)
        wa_strlcpy(a->why + l, f->why, sizeof a->why - (size_t)l); /* cut if it must be */
}

void an_ip_answer(const an_site_result_t *s, const an_flagged_ip_t *ip, an_ip_answer_t *a)
{
    memset(a, 0, sizeof *a);
    a->w = NAN;
    for (size_t k = 0; ip->host[0] && k < s->n_hosts; k++)
        if (strcmp(s->hosts[k].id, ip->host) == 0)
            a->host = &s->hosts[k];
    if (!a->host) {
        snprintf(a->why, sizeof a->why, "unmapped: no host of the site has this address");
        return;
    }
    a->channel = an_site_channel(s, a->host->channel);
    if (!a->channel) {
        snprintf(a->why, sizeof a->why, "%s",
                 a->host->channel[0] ? "its circuit was not read" : "its circuit is not known");
        return;
    }
    const an_corr_t *c = a->channel->corr;
    /* The host's own load first: it is what the address points at. */
    for (size_t i = 0; c && i < c->n_findings; i++)
        if (strcmp(c->findings[i].host, ip->host) == 0) {
            answer_from_corr(&c->findings[i], a, "");
            return;
        }
    /* Else power on its circuit that no host accounts for: the address may front hidden
     * machines there (a NAT, a rig behind the PC). */
    for (size_t i = 0; c && i < c->n_findings; i++)
        if (c->findings[i].kind == AN_CORR_RESIDUAL) {
            answer_from_corr(&c->findings[i], a,
                             "the host's own load is ordinary, but its circuit carries ");
            return;
        }
    /* Else the channel layer's findings on the circuit. */
    for (size_t i = 0; i < a->channel->ch.n_findings; i++) {
        const an_finding_t *f = &a->channel->ch.findings[i];
        if (f->explained_by[0])
            continue;
        a->cls = f->cls;
        wa_strlcpy(a->kind, an_kind_name(f->kind), sizeof a->kind);
        a->since = f->onset;
        a->w = f->step_w;
        a->count_min = f->rigs_min;
        a->count_max = f->rigs_max;
        wa_strlcpy(a->unit, f->rig_kind, sizeof a->unit);
        snprintf(a->why, sizeof a->why, "on its circuit: %s", f->cls_why);
        return;
    }
    if (c && !c->fitted)
        snprintf(a->why, sizeof a->why,
                 "nothing found, but its circuit could not be fitted: %.180s", c->note);
    else if (a->host->read)
        snprintf(a->why, sizeof a->why,
                 "nothing unexplained: the host's load and its circuit's power are ordinary");
    else
        snprintf(a->why, sizeof a->why,
                 "nothing found on its circuit; the host's utilisation "
                 "was not read: %.170s",
                 a->host->note[0] ? a->host->note : "no file");
}
