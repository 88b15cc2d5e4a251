/*
 * wa_bench_corrgen: writes the correlation benchmark's site into DIR (bench/README.md,
 * "correlate"): 200 circuit files (power with an energy register) and 1,000 host files (cpu,
 * gpu, gpu_w, gauge: the hosts-layout contract) of 90 days at 1-minute steps, made through
 * storage/ and filled with librrd, a week of rows per rrd_update_r call; site.conf with the
 * hosts, the Slurm export and the flagged addresses, plain.conf with the same circuits and no
 * hosts; truth.txt, what is hidden in the site.  DIR/stamp records the parameters once every
 * file is complete: a second run with the same ones keeps the files.
 */
/* nftw() is XSI */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <rrd.h>

#include "site_model.h"
#include "storage/storage.h"

/* Bumped whenever the model or the files change, so that old data is not reused. */
#define GEN_VERSION 1
/* Rows per rrd_update_r call: a week at 1-minute steps.  librrd opens and maps the file once a
 * call, so beyond a few thousand rows the call's cost is the rows'. */
#define CHUNK 10080
#define ROW_MAX 80
#define MID_STEP 300
#define LONG_STEP 3600

typedef struct args {
    int circuits, hosts, days, workers, force;
    uint64_t seed;
    char dir[400];
} args_t;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- rows for rrd_update_r: fixed-point text, much cheaper than printf's %g ---- */

static char *put_int(char *p, uint64_t v)
{
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        *p++ = tmp[--n];
    return p;
}

/* ":v" with dec decimals, or ":U" for NaN. */
static char *put_val(char *p, double v, int dec)
{
    static const double scale[] = {1, 10, 100, 1000, 10000};
    *p++ = ':';
    if (isnan(v)) {
        *p++ = 'U';
        return p;
    }
    if (v < 0) {
        *p++ = '-';
        v = -v;
    }
    uint64_t s = (uint64_t)llround(v * scale[dec]), d = (uint64_t)scale[dec];
    p = put_int(p, s / d);
    if (dec) {
        uint64_t f = s % d;
        *p++ = '.';
        for (int k = dec - 1; k >= 0; k--) {
            p[k] = (char)('0' + f % 10);
            f /= 10;
        }
        p += dec;
    }
    return p;
}

/* ---- the RRD files of one circuit ---- */

typedef struct bufs {
    char *text; /* (CB_HOSTS_PER_CIRCUIT_MAX + 1) x CHUNK rows of ROW_MAX */
    const char **argv;
} bufs_t;

static int update(const char *path, int n, const char **argv)
{
    rrd_clear_error();
    if (rrd_update_r(path, NULL, n, argv) != 0) {
        fprintf(stderr, "corrgen: %s: %s\n", path, rrd_get_error());
        return -1;
    }
    return 0;
}

static int write_circuit(storage_t *st, const storage_layout_t *lay, const cb_site_t *s, int ci,
                         bufs_t *b)
{
    const cb_circuit_t *c = &s->c[ci];
    char rel[128], err[512], paths[CB_HOSTS_PER_CIRCUIT_MAX + 1][512];
    cb_row_t rows[CB_HOSTS_PER_CIRCUIT_MAX];
    int nf = c->n_hosts + 1, rc = -1;

    /* The circuit's file starts a step before the first reading, as the collector's do; a
     * host's value at t covers (t - step, t], so its file starts at t0. */
    snprintf(rel, sizeof rel, "%s/%s/%s", CB_SITE, c->dev, c->ch);
    if (storage_ensure(st, rel, lay, s->t0 - CB_STEP, err, sizeof err) < 0 ||
        storage_path(st, rel, paths[0], sizeof paths[0]) < 0)
        goto fail;
    for (int k = 0; k < c->n_hosts; k++) {
        snprintf(rel, sizeof rel, "%s/hosts/%s", CB_SITE, s->h[c->host0 + k].id);
        if (storage_ensure_host(st, rel, lay, s->t0, err, sizeof err) < 0 ||
            storage_path(st, rel, paths[k + 1], sizeof paths[k + 1]) < 0)
            goto fail;
    }
    cb_gen_t *g = cb_gen_open(s, ci);
    if (!g) {
        snprintf(err, sizeof err, "out of memory");
        goto fail;
    }
    /* The energy register: Wh since the meter was installed, read at each poll. */
    double e_wh = 2.0e6 + 1.0e4 * ci;
    for (size_t i0 = 0; i0 < s->n_steps; i0 += CHUNK) {
        size_t m = s->n_steps - i0 < CHUNK ? s->n_steps - i0 : CHUNK;
        for (size_t j = 0; j < m; j++) {
            size_t i = i0 + j;
            double p;
            cb_gen_step(g, i, rows, &p);
            /* The reading at T holds for (T, T + step]: the analyzer's reading of a polled
             * meter's file (docs/analysis-json.md, "Readings"). */
            uint64_t t = (uint64_t)(s->t0 + (int64_t)i * CB_STEP);
            char *q = b->text + (size_t)j * ROW_MAX;
            b->argv[j] = q;
            q = put_int(q, t);
            q = put_val(q, p, 1);
            q = put_val(q, e_wh, 3);
            q = put_val(q, e_wh, 3);
            *q = '\0';
            e_wh += p * CB_STEP / 3600.0;
            for (int k = 0; k < c->n_hosts; k++) {
                size_t at = (size_t)(k + 1) * CHUNK + j;
                q = b->text + at * ROW_MAX;
                b->argv[at] = q;
                q = put_int(q, t + CB_STEP);
                q = put_val(q, rows[k].cpu, 4);
                q = put_val(q, rows[k].gpu, 4);
                q = put_val(q, rows[k].gpu_w, 1);
                q = put_val(q, NAN, 0); /* no gauge configured */
                *q = '\0';
            }
        }
        for (int f = 0; f < nf; f++)
            if (update(paths[f], (int)m, b->argv + (size_t)f * CHUNK) < 0) {
                cb_gen_close(g);
                return -1;
            }
    }
    cb_gen_close(g);
    rc = 0;
    return rc;
fail:
    fprintf(stderr, "corrgen: %s\n", err);
    return rc;
}

/* A worker: circuits w, w + n, w + 2n, ...; a byte on fd for each one done. */
static int worker(const args_t *a, const cb_site_t *s, int w, int fd)
{
    char err[512], data[512];
    storage_layout_t lay = {.step_s = CB_STEP,
                            .full_days = s->days + 1,
                            .mid_step_s = MID_STEP,
                            .mid_days = s->days + 1,
                            .long_step_s = LONG_STEP,
                            .long_days = s->days + 1,
                            .no_quality = 1};
    bufs_t b;
    size_t rows = (size_t)(CB_HOSTS_PER_CIRCUIT_MAX + 1) * CHUNK;
    snprintf(data, sizeof data, "%s/data", a->dir);
    storage_t *st = storage_open(data, NULL, err, sizeof err);
    if (!st) {
        fprintf(stderr, "corrgen: %s\n", err);
        return -1;
    }
    b.text = malloc(rows * ROW_MAX);
    b.argv = malloc(rows * sizeof *b.argv);
    int rc = b.text && b.argv ? 0 : -1;
    for (int ci = w; rc == 0 && ci < s->nc; ci += a->workers) {
        rc = write_circuit(st, &lay, s, ci, &b);
        if (rc == 0 && write(fd, "", 1) != 1)
            rc = -1;
    }
    free(b.text);
    free(b.argv);
    storage_close(st);
    return rc;
}

/* ---- the text files ---- */

static void local_time(int64_t t, char *buf, size_t len)
{
    time_t lt = (time_t)(t + CB_TZ_OFFSET_S);
    struct tm tm;
    gmtime_r(&lt, &tm);
    strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
}

static const char *circuit_rel(const cb_site_t *s, int ci, char *buf, size_t len)
{
    snprintf(buf, len, "%s/%s/%s", CB_SITE, s->c[ci].dev, s->c[ci].ch);
    return buf;
}

static int write_config(const args_t *a, const cb_site_t *s, const char *name, int hosts)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", a->dir, name);
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fprintf(f,
            "# The correlation benchmark's site (bench/README.md, \"correlate\"), written by\n"
            "# wa_bench_corrgen -c %d -n %d -d %d -s %" PRIu64 ".  %s\n"
            "# The buses are never polled: the files under data/ were made by the generator.\n"
            "timezone = \"%s\";\nstatus_file = \"status.json\";\n"
            "storage = { data_dir = \"data\"; full_days = %d; mid_step = %d; mid_days = %d;\n"
            "            long_step = %d; long_days = %d; quality = false; };\n\n"
            "sites = (\n  {\n    id = \"%s\";\n    name = \"Campus data centre and offices\";\n",
            s->nc, s->nh, s->days, s->seed,
            hosts ? "With the hosts: the correlation." : "Without the hosts: plain analysis.",
            CB_TZ, s->days + 1, MID_STEP, s->days + 1, LONG_STEP, s->days + 1, CB_SITE);
    if (hosts)
        fprintf(f, "    slurm_file = \"sacct.txt\";\n    flagged_ips_file = \"flagged.csv\";\n");
    fprintf(f, "    buses = (\n");
    /* Three-phase panel meters, one circuit a phase, five meters behind each gateway. */
    int n_dev = (s->nc + 2) / 3;
    for (int d = 0; d < n_dev; d++) {
        if (d % 5 == 0)
            fprintf(f, "      { id = \"gw%02d\"; tcp = \"127.0.0.1:%d\"; devices = (\n", d / 5 + 1,
                    29300 + d / 5);
        fprintf(f,
                "        { id = \"%s\"; unit = %d; profile = \"eastron-sdm630\"; interval = %d;"
                " channels = (\n",
                s->c[3 * d].dev, d % 5 + 1, CB_STEP);
        for (int ci = 3 * d; ci < 3 * d + 3 && ci < s->nc; ci++)
            fprintf(f,
                    "            { id = \"%s\"; source = \"L%c\"; name = \"%s\"; rated_w = "
                    "11500.0; }%s\n",
                    s->c[ci].ch, s->c[ci].ch[1], s->c[ci].name,
                    ci + 1 < 3 * d + 3 && ci + 1 < s->nc ? "," : "");
        fprintf(f, "          ); }%s\n", d % 5 == 4 || d + 1 == n_dev ? "" : ",");
        if (d % 5 == 4 || d + 1 == n_dev)
            fprintf(f, "        ); }%s\n", d + 1 == n_dev ? "" : ",");
    }
    fprintf(f, "    );\n");
    if (hosts) {
        fprintf(f, "    hosts = (\n");
        for (int hi = 0; hi < s->nh; hi++) {
            const cb_host_t *h = &s->h[hi];
            const cb_circuit_t *c = &s->c[h->circuit];
            fprintf(f, "      { id = \"%s\"; ips = [ \"%s\" ]; channel = \"%s/%s\"; role = \"%s\";",
                    h->id, h->ip, c->dev, c->ch, cb_role_name(h->role));
            /* An inventory's figures are round and not quite right. */
            if (h->declared)
                fprintf(f, " idle_w = %.1f; max_w = %.1f;", 10 * round(h->idle_w / 10),
                        10 * round(h->idle_w / 10) + 50 * round(h->slope_w / 50));
            fprintf(f, "\n        exporter = \"http://%s:9100/metrics\";", h->ip);
            if (h->role == CB_GPU_NODE)
                fprintf(f, " gpu_exporter = \"http://%s:9400/metrics\";", h->ip);
            fprintf(f, " interval = %d; }%s\n", CB_STEP, hi + 1 < s->nh ? "," : "");
        }
        fprintf(f, "    );\n");
    }
    fprintf(f, "  }\n);\n");
    return fclose(f) == 0 ? 0 : -1;
}

/* Slurm's hostlist of a job's hosts: "gpu007" or "gpu[007-008]". */
static void nodelist(const cb_site_t *s, const cb_job_t *j, char *buf, size_t len)
{
    const char *a = s->h[j->host].id;
    if (j->n_hosts == 1) {
        snprintf(buf, len, "%s", a);
        return;
    }
    size_t pl = strcspn(a, "0123456789");
    snprintf(buf, len, "%.*s[%s-%s]", (int)pl, a, a + pl, s->h[j->host + j->n_hosts - 1].id + pl);
}

static int write_sacct(const args_t *a, const cb_site_t *s)
{
    char path[512], nl[64], from[32], to[32];
    snprintf(path, sizeof path, "%s/sacct.txt", a->dir);
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    /* sacct --parsable2 --format=JobID,User,NodeList,Start,End,State */
    fprintf(f, "JobID|User|NodeList|Start|End|State\n");
    for (int k = 0; k < s->nj; k++) {
        const cb_job_t *j = &s->jobs[k];
        nodelist(s, j, nl, sizeof nl);
        local_time(j->from, from, sizeof from);
        local_time(j->to, to, sizeof to);
        fprintf(f, "%d|%s|%s|%s|%s|%s\n", j->id, j->user, nl, from, j->running ? "Unknown" : to,
                j->running ? "RUNNING" : "COMPLETED");
        fprintf(f, "%d.batch||%s|%s|%s|%s\n", j->id, s->h[j->host].id, from,
                j->running ? "Unknown" : to, j->running ? "RUNNING" : "COMPLETED");
    }
    /* Queued at the end of the data: they never ran. */
    for (int k = 0; k < 3 && s->nj > 0; k++)
        fprintf(f, "%d|%s|%s|Unknown|Unknown|PENDING\n", s->jobs[s->nj - 1].id + 1 + k,
                s->jobs[k].user, s->h[s->jobs[k].host].id);
    return fclose(f) == 0 ? 0 : -1;
}

static void flag(FILE *f, const char *ip, int64_t seen)
{
    char t[32];
    local_time(seen, t, sizeof t);
    t[16] = '\0'; /* to the minute */
    fprintf(f, "%s,%s\n", ip, t);
}

static int write_flagged(const args_t *a, const cb_site_t *s)
{
    char path[512];
    int research = 0;
    snprintf(path, sizeof path, "%s/flagged.csv", a->dir);
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fprintf(f, "# Addresses the campus network monitoring flagged for connections to mining "
               "pools.\n");
    for (int hi = 0; hi < s->nh; hi++)
        if (s->h[hi].mine_from)
            flag(f, s->h[hi].ip, s->h[hi].mine_from + 86400);
    for (int ci = 0; ci < s->nc; ci++) {
        const cb_circuit_t *c = &s->c[ci];
        if (c->rigs) /* a host on the circuit: the rig behind it shares its network */
            flag(f, s->h[c->host0].ip, c->rig_from + 2 * 86400);
        for (int k = 0; k < c->n_hosts; k++)
            if (s->h[c->host0 + k].trojan_from) {
                flag(f, s->h[c->host0 + k].ip, s->h[c->host0 + k].trojan_from + 86400 + 3 * 3600);
                break;
            }
    }
    /* Research traffic mistaken for a pool's, and an address of no host of the site. */
    for (int k = 0; k < s->nj && research < 2; k += s->nj / 2 + 1, research++)
        flag(f, s->h[s->jobs[k].host].ip, s->jobs[k].from + 7200);
    flag(f, "10.255.255.254", s->t0 + 40 * 86400);
    return fclose(f) == 0 ? 0 : -1;
}

static int write_truth(const args_t *a, const cb_site_t *s)
{
    char path[512], rel[128];
    snprintf(path, sizeof path, "%s/truth.txt", a->dir);
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fprintf(f,
            "# What wa_bench_corrgen hid in the site: what the correlation should find.\n"
            "# kind channel host onset(unix s) W [rigs]\n"
            "window %" PRId64 " %" PRId64 "\ncircuits %d\nhosts %d\njobs %d\n",
            s->t0, s->t_end, s->nc, s->nh, s->nj);
    for (int ci = 0; ci < s->nc; ci++) {
        const cb_circuit_t *c = &s->c[ci];
        circuit_rel(s, ci, rel, sizeof rel);
        if (c->rigs)
            fprintf(f, "unexplained_residual %s - %" PRId64 " %.0f %d\n", rel, c->rig_from,
                    c->rigs * c->rig_w, c->rigs);
        for (int k = 0; k < c->n_hosts; k++) {
            const cb_host_t *h = &s->h[c->host0 + k];
            int64_t first = 0;
            if (h->mine_from)
                fprintf(f, "host_full_load %s %s %" PRId64 " %.0f\n", rel, h->id, h->mine_from,
                        0.98 * h->slope_w);
            if (h->trojan_from)
                fprintf(f, "host_off_hours %s %s %" PRId64 " %.0f\n", rel, h->id, h->trojan_from,
                        0.93 * h->slope_w);
            for (int j = 0; j < s->nj && !first; j++)
                if (c->host0 + k >= s->jobs[j].host &&
                    c->host0 + k < s->jobs[j].host + s->jobs[j].n_hosts)
                    first = s->jobs[j].from;
            if (first && !h->mine_from)
                fprintf(f, "host_research %s %s %" PRId64 " %.0f\n", rel, h->id, first,
                        0.94 * h->slope_w);
        }
    }
    return fclose(f) == 0 ? 0 : -1;
}

/* ---- reuse ---- */

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path) == 0 || errno == ENOENT ? 0 : -1;
}

static int read_stamp(const char *path, char *buf, size_t len)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, len - 1, f);
    buf[n] = '\0';
    fclose(f);
    return 0;
}

static void usage(void)
{
    fprintf(
        stderr,
        "usage: wa_bench_corrgen -D DIR [-c circuits] [-n hosts] [-d days] [-s seed] [-j workers] "
        "[-f]\n"
        "  -c 200    circuits (at least 10)\n  -n 1000   hosts on them\n"
        "  -d 90     days at 1-minute steps (at least 28)\n  -s 1      seed\n"
        "  -j 2      worker processes\n  -f        write the files again even if DIR/stamp "
        "matches\n");
}

int main(int argc, char **argv)
{
    args_t a = {200, 1000, 90, 2, 0, 1, ""};
    int opt;
    while ((opt = getopt(argc, argv, "c:n:d:s:j:D:fh")) != -1) {
        switch (opt) {
        case 'c':
            a.circuits = atoi(optarg);
            break;
        case 'n':
            a.hosts = atoi(optarg);
            break;
        case 'd':
            a.days = atoi(optarg);
            break;
        case 's':
            a.seed = strtoull(optarg, NULL, 10);
            break;
        case 'j':
            a.workers = atoi(optarg);
            break;
        case 'D':
            snprintf(a.dir, sizeof a.dir, "%s", optarg);
            break;
        case 'f':
            a.force = 1;
            break;
        default:
            usage();
            return opt == 'h' ? 0 : 2;
        }
    }
    if (!a.dir[0] || a.workers < 1) {
        usage();
        return 2;
    }
    cb_site_t s;
    if (cb_site_make(a.circuits, a.hosts, a.days, a.seed, &s) < 0) {
        fprintf(stderr, "corrgen: %s\n",
                errno == EINVAL ? "bad parameters (see -h)" : strerror(errno));
        return 2;
    }
    char stamp[256], old[256], path[512], data[512];
    snprintf(stamp, sizeof stamp,
             "wa_bench_corrgen %d circuits=%d hosts=%d days=%d seed=%" PRIu64 " step=%d\n",
             GEN_VERSION, a.circuits, a.hosts, a.days, a.seed, CB_STEP);
    snprintf(path, sizeof path, "%s/stamp", a.dir);
    snprintf(data, sizeof data, "%s/data", a.dir);
    if (!a.force && read_stamp(path, old, sizeof old) == 0 && strcmp(old, stamp) == 0) {
        printf("corrgen: reusing %s (%d circuits, %d hosts, %d days, seed %" PRIu64 ")\n", a.dir,
               a.circuits, a.hosts, a.days, a.seed);
        cb_site_free(&s);
        return 0;
    }
    /* Anything else there is stale or partial: librrd will not rewrite the past of a file. */
    if ((remove(path) < 0 && errno != ENOENT) ||
        (nftw(data, rm_entry, 16, FTW_DEPTH | FTW_PHYS) < 0 && errno != ENOENT) ||
        (mkdir(a.dir, 0755) < 0 && errno != EEXIST)) {
        fprintf(stderr, "corrgen: %s: %s\n", a.dir, strerror(errno));
        return 1;
    }
    if (write_config(&a, &s, "site.conf", 1) < 0 || write_config(&a, &s, "plain.conf", 0) < 0 ||
        write_sacct(&a, &s) < 0 || write_flagged(&a, &s) < 0 || write_truth(&a, &s) < 0) {
        fprintf(stderr, "corrgen: %s: %s\n", a.dir, strerror(errno));
        return 1;
    }
    printf("corrgen: %d circuits, %d hosts, %d jobs, %d days at %d s into %s (%d workers)\n", s.nc,
           s.nh, s.nj, s.days, CB_STEP, a.dir, a.workers);
    fflush(stdout);

    double t = now_s();
    int fds[2];
    if (pipe(fds) < 0) {
        perror("pipe");
        return 1;
    }
    pid_t *pids = calloc((size_t)a.workers, sizeof *pids);
    if (!pids) {
        perror("corrgen");
        return 1;
    }
    for (int w = 0; w < a.workers; w++) {
        pids[w] = fork();
        if (pids[w] < 0) {
            perror("fork");
            return 1;
        }
        if (pids[w] == 0) {
            close(fds[0]);
            _exit(worker(&a, &s, w, fds[1]) == 0 ? 0 : 1);
        }
    }
    close(fds[1]);
    char ch;
    int done = 0;
    while (read(fds[0], &ch, 1) == 1) {
        done++;
        if (done % 10 == 0 || done == s.nc) {
            double el = now_s() - t;
            fprintf(stderr, "\rcorrgen: %d/%d circuits, %.0f s, about %.0f s to go   ", done, s.nc,
                    el, el / done * (s.nc - done));
        }
    }
    fprintf(stderr, "\n");
    close(fds[0]);
    int ok = 1;
    for (int w = 0; w < a.workers; w++) {
        int st;
        if (waitpid(pids[w], &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
            ok = 0;
    }
    free(pids);
    if (!ok || done != s.nc) {
        fprintf(stderr, "corrgen: a worker failed; the files are incomplete (no stamp)\n");
        return 1;
    }
    double el = now_s() - t;
    double values = (double)(s.nc + s.nh) * (double)s.n_steps;
    printf("corrgen: %.0f rows in %d + %d files in %.0f s (%.0f rows/s)\n", values, s.nc, s.nh, el,
           values / el);
    FILE *f = fopen(path, "w");
    if (!f || fputs(stamp, f) < 0 || fclose(f) != 0) {
        perror(path);
        return 1;
    }
    cb_site_free(&s);
    return 0;
}
