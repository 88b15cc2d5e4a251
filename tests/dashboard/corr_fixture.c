/* The lab site of corr_fixture.h: what its computers do and what its circuits draw. */
#include "corr_fixture.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "storage/storage.h"

#define TZ_OFFSET (8 * 3600) /* Asia/Shanghai has no DST */

const dcf_host_t dcf_hosts[DCF_NH] = {
    {"gpu01", "pdu/o1", "gpu_node", "10.0.1.1", 200, 800, 1},
    {"gpu02", "pdu/o1", "gpu_node", NULL, 200, 800, 1},
    {"srv0", "pdu/o2", "server", "10.0.2.1", 150, 250, 0},
    {"gpu07", "pdu/o3", "gpu_node", "10.0.3.7", 180, 900, 1},
    {"web", "pdu/o3", "server", NULL, 120, 200, 0},
    {"pc0", "dist/l1", "office_pc", NULL, 40, 100, 0},
    {"pc1", "dist/l1", "office_pc", "10.0.4.2", 40, 100, 0},
    {"pc2", "dist/l1", "office_pc", NULL, 40, 100, 0},
};
const char *const dcf_circuits[DCF_NC] = {"pdu/o1", "pdu/o2", "pdu/o3", "dist/l1", "pdu/o4"};
#define POLLED_CIRCUIT 3
#define PRINTER_W 300.0

/* Slurm jobs: short ones in the reference week give the fit its slopes; 4410 is still
 * running at the end (End "Unknown"). */
static const struct {
    const char *id, *nodes, *sacct_nodes;
    int64_t from, to;
} jobs[] = {
    {"4401", "gpu01,gpu02", "gpu[01-02]", DCF_DAY(1) + 10 * 3600, DCF_DAY(1) + 16 * 3600},
    {"4402", "gpu01", "gpu01", DCF_DAY(3) + 8 * 3600, DCF_DAY(3) + 20 * 3600},
    {"4403", "gpu02", "gpu02", DCF_DAY(4) + 8 * 3600, DCF_DAY(4) + 20 * 3600},
    {"4410", "gpu01,gpu02", "gpu[01-02]", DCF_DAY(9), INT64_MAX},
};

/* Deterministic noise: every run writes the same files. */
static double urand(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return (double)(*s >> 11) / 9007199254740992.0;
}

/* Local calendar of the step ending at t. */
static int weekend(int64_t t)
{
    int d = (int)((t - 1 - DCF_T0) / 86400) % 7;
    return d == 5 || d == 6;
}
static int hour(int64_t t)
{
    return (int)(((t - 1 - DCF_T0) % 86400) / 3600);
}
static int workhours(int64_t t)
{
    return !weekend(t) && hour(t) >= 8 && hour(t) < 18;
}
static double office_day(int64_t t, uint64_t *s)
{
    return workhours(t) ? 0.2 + 0.5 * urand(s) : 0.02 + 0.02 * urand(s);
}

/* Host k's utilisation over the step ending at t. */
static double util(size_t k, int64_t t, uint64_t *s)
{
    const char *id = dcf_hosts[k].id;
    if (!strcmp(id, "gpu01") || !strcmp(id, "gpu02")) {
        for (size_t j = 0; j < sizeof jobs / sizeof jobs[0]; j++)
            if (t > jobs[j].from && t <= jobs[j].to && strstr(jobs[j].nodes, id))
                return 0.95 + 0.05 * urand(s);
        return 0.03 * urand(s);
    }
    if (!strcmp(id, "gpu07"))
        return t > DCF_EVENTS_FROM ? 0.97 + 0.03 * urand(s)
                                   : (workhours(t) && urand(s) < 0.5 ? 0.3 + 0.3 * urand(s) : 0.02);
    if (!strncmp(id, "pc", 2))
        return t > DCF_EVENTS_FROM && !workhours(t) ? 0.95 + 0.05 * urand(s) : office_day(t, s);
    return office_day(t, s);
}

static int64_t t_of(size_t i)
{
    return DCF_T0 + (int64_t)(i + 1) * DCF_STEP; /* the end of step i: RRD's stamp */
}

static void blank(storage_sample_t *s)
{
    for (int d = 0; d < STORAGE_DS_COUNT_; d++)
        s->v[d] = NAN;
}

static int write_rrd(const char *data, dcf_truth_t *tr, char *err, size_t errlen)
{
    storage_t *st = storage_open(data, NULL, err, errlen);
    if (!st)
        return -1;
    /* The config's storage block says the same (mid_step 3600, long_step 86400). */
    const storage_layout_t lay = {.step_s = DCF_STEP,
                                  .full_days = 30,
                                  .mid_step_s = 3600,
                                  .mid_days = 60,
                                  .long_step_s = 86400,
                                  .long_days = 400,
                                  .no_quality = 1};
    uint64_t rng = 0x9e3779b97f4a7c15ull;
    int rc = -1;
    memset(tr, 0, sizeof *tr);
    for (size_t k = 0; k < DCF_NH; k++) {
        size_t c = 0;
        while (strcmp(dcf_circuits[c], dcf_hosts[k].circuit))
            c++;
        char rel[128];
        snprintf(rel, sizeof rel, "lab/hosts/%s", dcf_hosts[k].id);
        if (storage_ensure_host(st, rel, &lay, DCF_T0, err, errlen) < 0)
            goto out;
        for (size_t i = 0; i < DCF_N; i++) {
            double u = util(k, t_of(i), &rng);
            storage_sample_t s;
            blank(&s);
            s.v[STORAGE_HOST_CPU] = dcf_hosts[k].gpu ? 0.05 + 0.3 * u : u;
            if (dcf_hosts[k].gpu)
                s.v[STORAGE_HOST_GPU] = u;
            tr->u[k][i] = fmax(s.v[STORAGE_HOST_CPU], dcf_hosts[k].gpu ? u : 0);
            tr->w[c][i] += dcf_hosts[k].idle + dcf_hosts[k].slope * u;
            if (storage_put(st, rel, t_of(i), &s) < 0) {
                wa_err(err, errlen, "storage_put %s", rel);
                goto out;
            }
        }
    }
    for (size_t c = 0; c < DCF_NC; c++) {
        char rel[128];
        snprintf(rel, sizeof rel, "lab/%s", dcf_circuits[c]);
        if (storage_ensure(st, rel, &lay, DCF_T0, err, errlen) < 0)
            goto out;
        for (size_t i = 0; i < DCF_N; i++) {
            tr->w[c][i] += (c == 1 && t_of(i) > DCF_RIG_FROM ? DCF_RIG_W : 0) +
                           (c == 4 ? PRINTER_W : 0) + 15 * (urand(&rng) + urand(&rng) - 1.0);
        }
        double wh = 0;
        for (size_t i = 0; i < DCF_N; i++) {
            storage_sample_t s;
            blank(&s);
            if (c == POLLED_CIRCUIT) {
                /* A meter's reading at T holds until the next poll: the row stamped T is the
                 * step after it (docs/analysis-json.md, "Readings"), and the register counts
                 * up to T. */
                wh += tr->w[c][i] * DCF_STEP / 3600.0;
                if (i + 1 == DCF_N)
                    break;
                s.v[STORAGE_DS_POWER] = tr->w[c][i + 1];
                s.v[STORAGE_DS_ENERGY] = wh;
            } else {
                s.v[STORAGE_DS_POWER] = tr->w[c][i];
            }
            if (storage_put(st, rel, t_of(i), &s) < 0) {
                wa_err(err, errlen, "storage_put %s", rel);
                goto out;
            }
        }
    }
    if (storage_flush(st, err, errlen) < 0)
        goto out;
    storage_stats_t ss;
    storage_get_stats(st, &ss);
    if (ss.failed || ss.dropped_old) {
        wa_err(err, errlen, "storage: %llu failed, %llu dropped", (unsigned long long)ss.failed,
               (unsigned long long)ss.dropped_old);
        goto out;
    }
    rc = 0;
out:
    storage_close(st);
    return rc;
}

static int write_text(const char *dir, const char *name, const char *text, char *err, size_t errlen)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f)
        return wa_err(err, errlen, "%s: cannot create", path);
    fputs(text, f);
    return fclose(f) == 0 ? 0 : wa_err(err, errlen, "%s: write failed", path);
}

static void local_iso(int64_t t, char *buf, size_t len)
{
    wa_time_format(t, "Asia/Shanghai", buf, len); /* "YYYY-MM-DD HH:MM" */
    if (strlen(buf) > 10)
        buf[10] = 'T';
}

static int write_declarations(const char *dir, char *err, size_t errlen)
{
    char sacct[2048] = "JobID|User|NodeList|Start|End|State\n", line[256], a[32], b[32];
    for (size_t j = 0; j < sizeof jobs / sizeof jobs[0]; j++) {
        local_iso(jobs[j].from, a, sizeof a);
        if (jobs[j].to == INT64_MAX)
            snprintf(b, sizeof b, "Unknown");
        else
            local_iso(jobs[j].to, b, sizeof b);
        snprintf(line, sizeof line, "%s|li|%s|%s|%s|%s\n%s.batch||gpu01|%s|%s|X\n", jobs[j].id,
                 jobs[j].sacct_nodes, a, b, jobs[j].to == INT64_MAX ? "RUNNING" : "COMPLETED",
                 jobs[j].id, a, b);
        strcat(sacct, line);
    }
    if (write_text(dir, "sacct.txt", sacct, err, errlen) < 0)
        return -1;
    return write_text(dir, "flagged.csv",
                      "# from the provider's monitoring\n"
                      "10.0.1.1,2026-11-13T03:00\n"
                      "10.0.2.1,2026-11-14T02:30\n"
                      "10.0.3.7,2026-11-12T04:00\n"
                      "10.0.4.2,2026-11-14T23:00\n"
                      "203.0.113.9,2026-11-15T01:00\n",
                      err, errlen);
}

static int write_config(const char *dir, char *err, size_t errlen)
{
    char *c = malloc(8192);
    if (!c)
        return wa_err(err, errlen, "out of memory");
    int n = snprintf(
        c, 8192,
        "timezone = \"Asia/Shanghai\";\n"
        "storage = { data_dir = \"%s/data\"; mid_step = 3600; long_step = 86400; };\n"
        "sites = ( { id = \"lab\"; name = \"Physics lab\";\n"
        "  slurm_file = \"%s/sacct.txt\"; flagged_ips_file = \"%s/flagged.csv\";\n"
        "  buses = ( { id = \"gw\"; tcp = \"127.0.0.1:1502\"; devices = (\n"
        "    { id = \"pdu\"; unit = 1; profile = \"netio-powerpdu-8ks\"; channels = (\n"
        "      { id = \"o1\"; name = \"GPU research\"; }, { id = \"o2\"; name = \"storage\"; },\n"
        "      { id = \"o3\"; name = \"gpu07 and web\"; }, { id = \"o4\"; name = \"printers\"; } "
        "); },\n"
        "    { id = \"dist\"; unit = 2; profile = \"netio-powerpdu-8ks\"; channels = (\n"
        "      { id = \"l1\"; name = \"office floor\"; } ); } ); } );\n"
        "  hosts = (\n",
        dir, dir, dir);
    for (size_t k = 0; k < DCF_NH; k++) {
        const dcf_host_t *h = &dcf_hosts[k];
        char ips[64] = "";
        if (h->ip)
            snprintf(ips, sizeof ips, " ips = [ \"%s\" ];", h->ip);
        n += snprintf(c + n, 8192 - (size_t)n,
                      "    { id = \"%s\"; channel = \"%s\"; role = \"%s\";%s%s }%s\n", h->id,
                      h->circuit, h->role, ips,
                      !strcmp(h->id, "gpu07") ? " idle_w = 180.0; max_w = 1080.0;" : "",
                      k + 1 < DCF_NH ? "," : "");
    }
    snprintf(c + n, 8192 - (size_t)n, "  ); } );\n");
    int rc = write_text(dir, "site.conf", c, err, errlen);
    free(c);
    return rc;
}

int dcf_write(const char *dir, dcf_truth_t *truth, char *err, size_t errlen)
{
    char data[512];
    dcf_truth_t *tr = truth ? truth : malloc(sizeof *tr);
    if (!tr)
        return wa_err(err, errlen, "out of memory");
    snprintf(data, sizeof data, "%s/data", dir);
    int rc = write_rrd(data, tr, err, errlen) < 0 || write_declarations(dir, err, errlen) < 0 ||
                     write_config(dir, err, errlen) < 0
                 ? -1
                 : 0;
    if (!truth)
        free(tr);
    return rc;
}
