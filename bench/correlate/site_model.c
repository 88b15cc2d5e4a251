/* The correlation benchmark's site and its series (site_model.h). */
#include "site_model.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DAY 86400
#define HOUR 3600
/* Hidden things begin between these days of the data: after the analyzer's 7-day reference
 * period with a week to spare, and early enough to last past its 3-day and 5-day persistence
 * rules. */
#define ONSET_DAY_MIN 14
#define ONSET_DAYS_BEFORE_END 10

/* ---- random numbers: xoshiro256** seeded through splitmix64 (Vigna, prng.di.unimi.it) ---- */

typedef struct rng {
    uint64_t s[4];
    int have_spare;
    double spare;
} rng_t;

static uint64_t splitmix(uint64_t *x)
{
    uint64_t z = (*x += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static void rng_seed(rng_t *r, uint64_t seed, uint64_t stream)
{
    uint64_t x = seed ^ (stream * UINT64_C(0xd1342543de82ef95));
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix(&x);
    r->have_spare = 0;
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t rng_next(rng_t *r)
{
    uint64_t *s = r->s, out = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return out;
}

/* Uniform in [0, 1). */
static double unif(rng_t *r)
{
    return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

static double range(rng_t *r, double a, double b)
{
    return a + (b - a) * unif(r);
}

static int pick(rng_t *r, int n)
{
    return (int)(unif(r) * n);
}

/* Standard normal (Box-Muller, both values used). */
static double normal(rng_t *r)
{
    if (r->have_spare) {
        r->have_spare = 0;
        return r->spare;
    }
    double u = 1.0 - unif(r), v = unif(r), m = sqrt(-2.0 * log(u));
    r->spare = m * sin(2 * M_PI * v);
    r->have_spare = 1;
    return m * cos(2 * M_PI * v);
}

static void shuffle(rng_t *r, int *v, int n)
{
    for (int i = n - 1; i > 0; i--) {
        int j = pick(r, i + 1), t = v[i];
        v[i] = v[j];
        v[j] = t;
    }
}

/* ---- the plan ---- */

const char *cb_role_name(cb_role_t r)
{
    static const char *const n[] = {"server", "storage", "gpu_node", "office_pc"};
    return (unsigned)r < 4 ? n[r] : "other";
}

int cb_off_hours(int64_t t)
{
    int64_t local = t + CB_TZ_OFFSET_S, day = local / DAY;
    int hour = (int)((local - day * DAY) / HOUR), wday = (int)((day + 4) % 7); /* 1970-01-01: Thu */
    return wday == 0 || wday == 6 || hour >= 22 || hour < 6;
}

/* A time on a random day of the window where hidden things begin, at hour h (-1: any). */
static int64_t onset(rng_t *r, const cb_site_t *s, int h)
{
    int d = ONSET_DAY_MIN + pick(r, s->days - ONSET_DAYS_BEFORE_END - ONSET_DAY_MIN + 1);
    int64_t sec = h >= 0 ? (int64_t)h * HOUR : (int64_t)pick(r, 1440) * 60;
    return s->t0 + (int64_t)d * DAY + sec;
}

static void host_params(rng_t *r, cb_host_t *h, const cb_site_t *s)
{
    switch (h->role) {
    case CB_SERVER:
        h->idle_w = range(r, 90, 180);
        h->slope_w = range(r, 120, 300);
        h->declared = unif(r) < 0.3;
        break;
    case CB_STORAGE:
        h->idle_w = range(r, 150, 250);
        h->slope_w = range(r, 60, 150);
        h->declared = unif(r) < 0.3;
        break;
    case CB_GPU_NODE: /* four data-centre GPUs of 250-300 W at full load, or so */
        h->idle_w = range(r, 150, 300);
        h->slope_w = range(r, 700, 1300);
        h->declared = unif(r) < 0.7;
        break;
    case CB_OFFICE_PC:
        h->idle_w = range(r, 20, 35);
        h->slope_w = range(r, 35, 80);
        h->declared = unif(r) < 0.5;
        break;
    }
    h->base = range(r, 0.05, 0.2);
    h->amp = range(r, 0.2, 0.5);
    h->phase_h = range(r, -2, 2);
    if (unif(r) < 0.25) {
        h->n_out = 1 + pick(r, CB_OUTAGES_MAX);
        for (int k = 0; k < h->n_out; k++) {
            h->out_from[k] = s->t0 + (int64_t)pick(r, (int)(s->t_end - s->t0 - 9 * HOUR));
            h->out_to[k] = h->out_from[k] + (int64_t)range(r, 1, 8) * HOUR;
        }
    }
}

static int cmp_job(const void *a, const void *b)
{
    const cb_job_t *x = a, *y = b;
    return (x->from > y->from) - (x->from < y->from);
}

static int push_job(cb_site_t *s, int *cap, const cb_job_t *j)
{
    if (s->nj == *cap) {
        int nc = *cap ? 2 * *cap : 256;
        cb_job_t *p = realloc(s->jobs, (size_t)nc * sizeof *p);
        if (!p)
            return -1;
        s->jobs = p;
        *cap = nc;
    }
    s->jobs[s->nj++] = *j;
    return 0;
}

/* The research jobs of one circuit's GPU nodes: one after another on each node, now and then
 * on two neighbours at once, with gaps; none on a node once it mines; on some circuits a last
 * job that started a week or more before the end and still runs (to the power alone, a
 * persistent new load). */
static int plan_jobs(rng_t *r, cb_site_t *s, const cb_circuit_t *c, int *cap)
{
    static const char *const users[] = {"li.wei",    "zhang.min", "chen.jie",
                                        "wang.fang", "liu.yang",  "zhao.lei"};
    int g[CB_HOSTS_PER_CIRCUIT_MAX], k = 0, fin = -1;
    int64_t free_at[CB_HOSTS_PER_CIRCUIT_MAX], stop_at[CB_HOSTS_PER_CIRCUIT_MAX], fin_from = 0;
    for (int j = 0; j < c->n_hosts; j++)
        if (s->h[c->host0 + j].role == CB_GPU_NODE)
            g[k++] = c->host0 + j;
    if (k == 0)
        return 0;
    for (int a = 0; a < k; a++) {
        free_at[a] = s->t0 + (int64_t)range(r, 0, DAY);
        stop_at[a] = s->h[g[a]].mine_from ? s->h[g[a]].mine_from : s->t_end;
    }
    if (unif(r) < 1.0 / 3) {
        fin = pick(r, k);
        if (s->h[g[fin]].mine_from)
            fin = -1;
        else
            stop_at[fin] = fin_from = s->t_end - (int64_t)range(r, 6, 12) * DAY;
    }
    for (;;) {
        int a = -1;
        for (int b = 0; b < k; b++)
            if (free_at[b] < stop_at[b] && (a < 0 || free_at[b] < free_at[a]))
                a = b;
        if (a < 0)
            break;
        int pair =
            a + 1 < k && g[a + 1] == g[a] + 1 && free_at[a + 1] < stop_at[a + 1] && unif(r) < 0.2;
        int64_t start = free_at[a], limit = stop_at[a];
        if (pair) {
            start = start > free_at[a + 1] ? start : free_at[a + 1];
            limit = limit < stop_at[a + 1] ? limit : stop_at[a + 1];
        }
        start += (int64_t)range(r, 1, 36) * HOUR;
        int64_t end = start + (int64_t)exp(range(r, log(4.0 * HOUR), log(72.0 * HOUR)));
        if (end > limit && (limit < s->t_end || start >= s->t_end)) {
            free_at[a] = stop_at[a]; /* no room before it stops: done */
            continue;
        }
        cb_job_t j = {.host = g[a],
                      .n_hosts = 1 + pair,
                      .from = start,
                      .to = end,
                      .running = end > s->t_end,
                      .user = users[pick(r, 6)]};
        if (push_job(s, cap, &j) < 0)
            return -1;
        free_at[a] = end;
        if (pair)
            free_at[a + 1] = end;
    }
    if (fin >= 0) {
        cb_job_t j = {.host = g[fin],
                      .n_hosts = 1,
                      .from = fin_from,
                      .to = s->t_end + 30 * DAY,
                      .running = 1,
                      .user = users[pick(r, 6)]};
        if (push_job(s, cap, &j) < 0)
            return -1;
    }
    return 0;
}

int cb_site_make(int circuits, int hosts, int days, uint64_t seed, cb_site_t *s)
{
    /* A floor of racks, GPU racks, office floors and labs, in a fixed pattern of ten. */
    static const cb_kind_t pattern[10] = {CB_SERVERS, CB_SERVERS, CB_GPU,     CB_OFFICE, CB_SERVERS,
                                          CB_OFFICE,  CB_GPU,     CB_SERVERS, CB_OFFICE, CB_MIXED};
    static const cb_role_t mixed[5] = {CB_SERVER, CB_SERVER, CB_GPU_NODE, CB_GPU_NODE,
                                       CB_OFFICE_PC};
    static const char *const kind_names[] = {"servers", "GPU rack", "office floor", "lab"};
    rng_t r;
    int n_role[4] = {0, 0, 0, 0}, cap = 0;
    int *cand = NULL;

    memset(s, 0, sizeof *s);
    if (circuits < 10 || hosts < circuits || days < 28 ||
        (hosts + circuits - 1) / circuits > CB_HOSTS_PER_CIRCUIT_MAX) {
        errno = EINVAL;
        return -1;
    }
    s->days = days;
    s->seed = seed;
    s->t0 = CB_T0;
    s->t_end = CB_T0 + (int64_t)days * DAY;
    s->n_steps = (size_t)days * DAY / CB_STEP;
    s->nc = circuits;
    s->nh = hosts;
    s->c = calloc((size_t)circuits, sizeof *s->c);
    s->h = calloc((size_t)hosts, sizeof *s->h);
    cand = malloc((size_t)(hosts > circuits ? hosts : circuits) * sizeof *cand);
    if (!s->c || !s->h || !cand)
        goto oom;
    rng_seed(&r, seed, 0);

    int next = 0;
    for (int ci = 0; ci < circuits; ci++) {
        cb_circuit_t *c = &s->c[ci];
        c->kind = pattern[ci % 10];
        snprintf(c->dev, sizeof c->dev, "panel-%03d", ci / 3 + 1);
        snprintf(c->ch, sizeof c->ch, "l%d", ci % 3 + 1);
        snprintf(c->name, sizeof c->name, "%s %03d", kind_names[c->kind], ci + 1);
        c->base_w = range(&r, 40, 150);
        c->office_w = c->kind == CB_OFFICE ? range(&r, 400, 1500) : 0;
        c->host0 = next;
        c->n_hosts = hosts / circuits + (ci < hosts % circuits);
        for (int j = 0; j < c->n_hosts; j++) {
            cb_host_t *h = &s->h[next++];
            static const char *const prefix[] = {"srv", "sto", "gpu", "pc"};
            static const int width[] = {4, 4, 3, 4};
            h->circuit = ci;
            h->role = c->kind == CB_SERVERS  ? (j == c->n_hosts - 1 ? CB_STORAGE : CB_SERVER)
                      : c->kind == CB_GPU    ? CB_GPU_NODE
                      : c->kind == CB_OFFICE ? CB_OFFICE_PC
                                             : mixed[j % 5];
            snprintf(h->id, sizeof h->id, "%s%0*d", prefix[h->role], width[h->role],
                     ++n_role[h->role] % 100000);
            snprintf(h->ip, sizeof h->ip, "10.%d.%d.%d", (1 + (next - 1) / 62500) % 256,
                     ((next - 1) / 250) % 250, 1 + (next - 1) % 250);
            host_params(&r, h, s);
        }
    }

    /* Hidden rigs: about 4% of the circuits, none on an office floor. */
    int n = 0, want = (circuits * 4 + 50) / 100;
    for (int ci = 0; ci < circuits; ci++)
        if (s->c[ci].kind != CB_OFFICE)
            cand[n++] = ci;
    shuffle(&r, cand, n);
    for (int k = 0; k < n && k < (want > 0 ? want : 1); k++) {
        cb_circuit_t *c = &s->c[cand[k]];
        c->rigs = 1 + pick(&r, 3);
        c->rig_w = range(&r, 1100, 1400);
        c->rig_from = onset(&r, s, -1);
    }
    /* Hosts mining at full load: about 0.5% of them, servers and GPU nodes on other circuits. */
    n = 0;
    want = (hosts * 5 + 500) / 1000;
    for (int hi = 0; hi < hosts; hi++)
        if ((s->h[hi].role == CB_SERVER || s->h[hi].role == CB_GPU_NODE) &&
            !s->c[s->h[hi].circuit].rigs)
            cand[n++] = hi;
    shuffle(&r, cand, n);
    for (int k = 0; k < n && k < (want > 0 ? want : 1); k++)
        s->h[cand[k]].mine_from = onset(&r, s, -1);
    /* A trojan on office floors (about 2% of the circuits): most PCs of the floor from one
     * night on, at least two. */
    n = 0;
    want = (circuits * 2 + 50) / 100;
    for (int ci = 0; ci < circuits; ci++)
        if (s->c[ci].kind == CB_OFFICE && s->c[ci].n_hosts >= 2)
            cand[n++] = ci;
    shuffle(&r, cand, n);
    for (int k = 0; k < n && k < (want > 0 ? want : 1); k++) {
        const cb_circuit_t *c = &s->c[cand[k]];
        int64_t from = onset(&r, s, 22);
        int got = 0;
        for (int j = 0; j < c->n_hosts; j++)
            if (unif(&r) < 0.6 || c->n_hosts - j <= 2 - got) {
                s->h[c->host0 + j].trojan_from = from;
                got++;
            }
    }
    for (int ci = 0; ci < circuits; ci++)
        if (plan_jobs(&r, s, &s->c[ci], &cap) < 0)
            goto oom;
    qsort(s->jobs, (size_t)s->nj, sizeof *s->jobs, cmp_job);
    for (int k = 0; k < s->nj; k++)
        s->jobs[k].id = 41001 + k;
    free(cand);
    return 0;
oom:
    free(cand);
    cb_site_free(s);
    errno = ENOMEM;
    return -1;
}

void cb_site_free(cb_site_t *s)
{
    if (!s)
        return;
    free(s->c);
    free(s->h);
    free(s->jobs);
    memset(s, 0, sizeof *s);
}

/* ---- the series ---- */

struct hstate {
    const cb_host_t *h;
    double ar;
    int64_t day; /* office PCs: the local day drawn for */
    int present;
    double arrive_h, leave_h;
    int64_t burst_until;
    double burst;
    int64_t *jf, *jt; /* its jobs, in order */
    int nj, jk;
};

struct cb_gen {
    const cb_site_t *s;
    const cb_circuit_t *c;
    rng_t r;
    struct hstate hs[CB_HOSTS_PER_CIRCUIT_MAX];
};

cb_gen_t *cb_gen_open(const cb_site_t *s, int circuit)
{
    cb_gen_t *g = calloc(1, sizeof *g);
    if (!g)
        return NULL;
    g->s = s;
    g->c = &s->c[circuit];
    rng_seed(&g->r, s->seed, (uint64_t)circuit + 1);
    for (int k = 0; k < g->c->n_hosts; k++) {
        struct hstate *x = &g->hs[k];
        int hi = g->c->host0 + k, n = 0;
        x->h = &s->h[hi];
        x->day = -1;
        for (int j = 0; j < s->nj; j++)
            n += hi >= s->jobs[j].host && hi < s->jobs[j].host + s->jobs[j].n_hosts;
        if (!n)
            continue;
        x->jf = malloc((size_t)n * sizeof *x->jf);
        x->jt = malloc((size_t)n * sizeof *x->jt);
        if (!x->jf || !x->jt) {
            cb_gen_close(g);
            errno = ENOMEM;
            return NULL;
        }
        for (int j = 0; j < s->nj; j++)
            if (hi >= s->jobs[j].host && hi < s->jobs[j].host + s->jobs[j].n_hosts) {
                x->jf[x->nj] = s->jobs[j].from;
                x->jt[x->nj++] = s->jobs[j].to;
            }
    }
    return g;
}

void cb_gen_close(cb_gen_t *g)
{
    if (!g)
        return;
    for (int k = 0; k < CB_HOSTS_PER_CIRCUIT_MAX; k++) {
        free(g->hs[k].jf);
        free(g->hs[k].jt);
    }
    free(g);
}

static double clamp(double v, double lo, double hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* A working day's load shape over local hours 7..23, peaking mid-afternoon: 0..1. */
static double bump(double hl)
{
    hl = fmod(hl + 24.0, 24.0);
    return hl >= 7 && hl < 23 ? 0.5 - 0.5 * cos(2 * M_PI * (hl - 7) / 16) : 0;
}

static int in_job(struct hstate *x, int64_t t)
{
    while (x->jk < x->nj && x->jt[x->jk] <= t)
        x->jk++;
    return x->jk < x->nj && x->jf[x->jk] <= t;
}

void cb_gen_step(cb_gen_t *g, size_t i, cb_row_t *rows, double *power_w)
{
    const cb_site_t *s = g->s;
    const cb_circuit_t *c = g->c;
    rng_t *r = &g->r;
    int64_t ta = s->t0 + (int64_t)i * CB_STEP, tb = ta + CB_STEP;
    int64_t local = ta + CB_STEP / 2 + CB_TZ_OFFSET_S, day = local / DAY;
    double hl = (double)(local - day * DAY) / HOUR;
    int wday = (int)((day + 4) % 7), weekend = wday == 0 || wday == 6, off = cb_off_hours(tb);
    double p = c->base_w;

    if (c->office_w > 0)
        p += c->office_w * (!weekend && hl >= 8 && hl < 18 ? 1.0 : 0.15);
    for (int k = 0; k < c->n_hosts; k++) {
        struct hstate *x = &g->hs[k];
        const cb_host_t *h = x->h;
        cb_row_t *row = &rows[k];
        double u;
        row->gpu = row->gpu_w = NAN;
        switch (h->role) {
        case CB_SERVER:
        case CB_STORAGE:
            x->ar = 0.97 * x->ar + 0.01 * normal(r);
            if (ta >= x->burst_until && unif(r) < 1.0 / (3 * 1440)) { /* an ad-hoc batch */
                x->burst_until = ta + (int64_t)range(r, 20, 90) * 60;
                x->burst = range(r, 0.1, 0.25);
            }
            u = h->base + h->amp * bump(hl - h->phase_h) * (weekend ? 0.5 : 1) + x->ar;
            if (ta < x->burst_until)
                u += x->burst;
            if (h->role == CB_STORAGE && hl >= 2 && hl < 3) /* the nightly backup */
                u += 0.35;
            u = clamp(u, 0.01, 0.78);
            if (h->mine_from && ta >= h->mine_from)
                u = 0.96 + 0.04 * unif(r);
            row->cpu = u;
            break;
        case CB_GPU_NODE:
            if (h->mine_from && ta >= h->mine_from) {
                row->gpu = 0.97 + 0.03 * unif(r);
                row->cpu = 0.25 + 0.05 * unif(r);
            } else if (in_job(x, ta)) {
                row->gpu = 0.9 + 0.08 * unif(r);
                row->cpu = 0.18 + 0.1 * unif(r);
            } else {
                row->gpu = 0.02 * unif(r);
                row->cpu = 0.02 + 0.04 * unif(r);
            }
            u = fmax(row->cpu, row->gpu);
            row->gpu_w = 4 * 40.0 + 0.8 * h->slope_w * row->gpu;
            break;
        case CB_OFFICE_PC:
        default:
            if (day != x->day) {
                x->day = day;
                x->present = !weekend && unif(r) < 0.85;
                x->arrive_h = range(r, 7.8, 9.5);
                x->leave_h = range(r, 17, 19.5);
            }
            if (x->present && hl >= x->arrive_h && hl < x->leave_h) {
                x->ar = 0.9 * x->ar + 0.06 * normal(r);
                u = clamp((0.06 + fabs(x->ar)) * (hl >= 12 && hl < 13 ? 0.3 : 1), 0.01, 0.65);
            } else {
                u = 0.01 + 0.015 * unif(r);
            }
            if (h->trojan_from && ta >= h->trojan_from && off)
                u = fmax(u, 0.88 + 0.1 * unif(r));
            row->cpu = u;
            break;
        }
        p += h->idle_w + h->slope_w * u;
        for (int o = 0; o < h->n_out; o++)
            if (tb > h->out_from[o] && tb <= h->out_to[o])
                row->cpu = row->gpu = row->gpu_w = NAN;
    }
    if (c->rigs && ta >= c->rig_from)
        p += c->rigs * c->rig_w * (1 + 0.01 * normal(r));
    p += (5 + 0.004 * p) * normal(r);
    *power_w = p > 0 ? p : 0;
}
