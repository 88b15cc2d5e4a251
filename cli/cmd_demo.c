/*
 * wattaudit demo: the main job on the built-in simulated site.
 *
 * The simulator serves the site's meters and PDUs on loopback (Modbus TCP, and RTU on a
 * pseudo-terminal) and its hosts' node and DCGM exporters (HTTP); the real collector polls and
 * scrapes them over those sockets on a stepped clock that both share, so weeks of data pass in
 * seconds; then each channel's kWh is read back from its RRD file and set beside the
 * simulator's ground truth, and the analyzer sets the power against the hosts' load, the
 * Slurm jobs and the flagged addresses.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "analysis/analysis.h"
#include "cli/cli.h"
#include "dashboard/dashboard.h"
#include "common/common.h"
#include "meters/collect/collect.h"
#include "meters/sim/sim.h"

struct sim_thread {
    const siteconf_t *cfg;
    const profile_set_t *ps;
    sim_opts_t opts;
    int rc;
    char err[512];
};

static void *sim_main(void *arg)
{
    struct sim_thread *st = arg;
    st->rc = sim_run(st->cfg, st->ps, &st->opts, NULL, st->err, sizeof st->err);
    return NULL;
}

/* A free loopback port, from the kernel. */
static int free_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;
    if (fd < 0)
        return -1;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    close(fd);
    return port;
}

/* Moves a loopback exporter URL's port to a free one: the same port in the config, the same
 * new port (hosts share a listener; the URL's path tells them apart).  moved[] pairs old and
 * new ports; *n_moved counts them.  0, or -1 when no port is free or the URL is too long. */
#define DEMO_PORTS_MAX 64
static int move_exporter(char *url, size_t len, int moved[][2], size_t *n_moved)
{
    static const char prefix[] = "http://127.0.0.1:";
    char rest[SC_PATH_MAX], *end;
    long port;
    int to = -1;
    if (strncmp(url, prefix, sizeof prefix - 1) != 0)
        return 0; /* another machine's, or no port: the simulator does not serve it */
    port = strtol(url + sizeof prefix - 1, &end, 10);
    if (end == url + sizeof prefix - 1)
        return 0;
    for (size_t i = 0; i < *n_moved && to < 0; i++)
        if (moved[i][0] == (int)port)
            to = moved[i][1];
    if (to < 0) {
        if (*n_moved == DEMO_PORTS_MAX || (to = free_port()) < 0)
            return -1;
        moved[*n_moved][0] = (int)port;
        moved[(*n_moved)++][1] = to;
    }
    wa_strlcpy(rest, end, sizeof rest);
    return snprintf(url, len, "%s%d%s", prefix, to, rest) < (int)len ? 0 : -1;
}

/* Points the site's buses, hosts' exporters, storage and status at the demo folder. */
static int relocate(siteconf_t *cfg, const char *dir)
{
    int tty = 0, moved[DEMO_PORTS_MAX][2];
    size_t n_moved = 0;
    snprintf(cfg->storage.data_dir, sizeof cfg->storage.data_dir, "%s/data", dir);
    snprintf(cfg->status_file, sizeof cfg->status_file, "%s/status.json", dir);
    cfg->storage.rrdcached[0] = '\0';
    for (size_t s = 0; s < cfg->n_sites; s++)
        for (size_t b = 0; b < cfg->sites[s].n_buses; b++) {
            sc_bus_t *bus = &cfg->sites[s].buses[b];
            if (bus->kind == SC_BUS_TCP) {
                wa_strlcpy(bus->host, "127.0.0.1", sizeof bus->host);
                if ((bus->port = free_port()) < 0)
                    return -1;
            } else if (bus->kind == SC_BUS_SERIAL) {
                snprintf(bus->device, sizeof bus->device, "%s/ttyWA%d", dir, tty++);
                /* A pseudo-terminal has no line to let settle: the RS-485 pause would only
                 * stretch the demo (4 weeks of polls x requests x pause). */
                bus->inter_frame_ms = 0;
            }
        }
    for (size_t s = 0; s < cfg->n_sites; s++)
        for (size_t h = 0; h < cfg->sites[s].n_hosts; h++) {
            sc_host_t *host = &cfg->sites[s].hosts[h];
            if (move_exporter(host->exporter, sizeof host->exporter, moved, &n_moved) != 0 ||
                move_exporter(host->gpu_exporter, sizeof host->gpu_exporter, moved,
                              &n_moved) != 0)
                return -1;
        }
    return 0;
}

static void shift_span(int64_t *from, int64_t *to, int64_t by)
{
    if (*from != INT64_MIN)
        *from += by;
    if (*to != INT64_MAX)
        *to += by;
}

/* Copies the text of src to dst with every time in it ("2026-10-23T09:00[:00]", the form of
 * sacct --parsable2 and of the flagged addresses' file) moved by `by` seconds, local time in
 * tz.  0, or -1 with the reason in err. */
static int shift_file(const char *src, const char *dst, const char *tz, int64_t by, char *err,
                      size_t errlen)
{
    size_t len, cap;
    char *in = wa_file_read(src, 16u << 20, &len, err, errlen), *out;
    size_t o = 0;
    int rc;
    if (!in)
        return -1;
    cap = len + len / 2 + 64; /* a time keeps its length: room to spare */
    if (!(out = malloc(cap))) {
        free(in);
        return wa_err(err, errlen, "%s: out of memory", src);
    }
    for (size_t i = 0; i < len;) {
        /* YYYY-MM-DDTHH:MM, and :SS if there */
        static const char shape[] = "dddd-dd-ddTdd:dd";
        size_t k = 0, n;
        while (k < sizeof shape - 1 && i + k < len &&
               (shape[k] == 'd' ? in[i + k] >= '0' && in[i + k] <= '9' : in[i + k] == shape[k]))
            k++;
        if (k < sizeof shape - 1 || (i > 0 && in[i - 1] >= '0' && in[i - 1] <= '9')) {
            out[o++] = in[i++];
            continue;
        }
        n = k;
        if (i + n + 2 < len && in[i + n] == ':' && in[i + n + 1] >= '0' && in[i + n + 1] <= '9' &&
            in[i + n + 2] >= '0' && in[i + n + 2] <= '9')
            n += 3;
        char stamp[24];
        int64_t t;
        struct tm tm;
        memcpy(stamp, in + i, n);
        stamp[n] = '\0';
        if (wa_time_parse(stamp, tz, &t) != 0 || wa_time_local(t + by, tz, &tm) != 0) {
            memcpy(out + o, in + i, n);
        } else {
            char moved[24];
            strftime(moved, sizeof moved, n > 16 ? "%Y-%m-%dT%H:%M:%S" : "%Y-%m-%dT%H:%M", &tm);
            memcpy(out + o, moved, n);
        }
        o += n;
        i += n;
    }
    rc = wa_file_write_atomic(dst, out, o, err, errlen);
    free(out);
    free(in);
    return rc;
}

/* Moves the scenario's story by `by` seconds: the simulated loads, the declared loads, and
 * the job and flagged-address files (copied into dir, moved, and pointed at). */
static int shift_story(siteconf_t *cfg, int64_t by, const char *dir, char *err, size_t errlen)
{
    for (size_t s = 0; s < cfg->n_sites; s++) {
        sc_site_t *site = &cfg->sites[s];
        char *const files[] = {site->jobs_file, site->slurm_file, site->flagged_ips_file};
        for (size_t b = 0; b < site->n_buses; b++)
            for (size_t d = 0; d < site->buses[b].n_devices; d++) {
                sc_device_t *dev = &site->buses[b].devices[d];
                for (size_t c = 0; c < dev->n_channels; c++) {
                    sc_channel_t *ch = &dev->channels[c];
                    for (size_t l = 0; l < ch->sim.n_loads; l++)
                        shift_span(&ch->sim.loads[l].from, &ch->sim.loads[l].to, by);
                    for (size_t k = 0; k < ch->n_declared; k++)
                        shift_span(&ch->declared[k].from, &ch->declared[k].to, by);
                }
            }
        for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
            char dst[SC_PATH_MAX];
            const char *base;
            if (!files[f][0])
                continue;
            base = strrchr(files[f], '/') ? strrchr(files[f], '/') + 1 : files[f];
            if (snprintf(dst, sizeof dst, "%s/%s-%s", dir, site->id, base) >= (int)sizeof dst)
                return wa_err(err, errlen, "%s: path too long", dst);
            if (shift_file(files[f], dst, site->timezone, by, err, errlen) != 0) {
                if (errno != ENOENT)
                    return -1;
                /* An installed demo without the files beside its config still runs. */
                fprintf(stderr, "wattaudit demo: %s; going on without it\n", err);
                files[f][0] = '\0';
                continue;
            }
            wa_strlcpy(files[f], dst, SC_PATH_MAX);
        }
    }
    return 0;
}

static int wait_file(const char *path, int ms)
{
    struct stat sb;
    for (int i = 0; i < ms / 10; i++) {
        if (stat(path, &sb) == 0)
            return 0;
        usleep(10000);
    }
    return -1;
}

/* The simulator's rule: a channel named so, without loads of its own, sums its device. */
static int is_total(const sc_channel_t *ch)
{
    return strcmp(ch->source, "total") == 0 || strcmp(ch->source, "inlet") == 0 ||
           strcmp(ch->source, "inlet1") == 0;
}

static double truth_kwh(const siteconf_t *cfg, const sc_site_t *site, const sc_device_t *dev,
                        const sc_channel_t *ch, double t0, double t1)
{
    double wh = 0;
    (void)cfg;
    if (ch->sim.enabled)
        return sim_energy(&ch->sim, site->timezone, t0, t1) / 1000.0;
    if (!is_total(ch))
        return NAN;
    for (size_t i = 0; i < dev->n_channels; i++)
        if (dev->channels[i].sim.enabled)
            wh += sim_energy(&dev->channels[i].sim, site->timezone, t0, t1);
    return wh / 1000.0;
}

/* The config's channel behind a result id "site/device/channel"; 0 if found. */
static int config_channel(const siteconf_t *cfg, const char *id, const sc_site_t **site,
                          const sc_device_t **dev, const sc_channel_t **ch)
{
    char want[256];
    for (size_t s = 0; s < cfg->n_sites; s++)
        for (size_t b = 0; b < cfg->sites[s].n_buses; b++)
            for (size_t d = 0; d < cfg->sites[s].buses[b].n_devices; d++) {
                const sc_device_t *dv = &cfg->sites[s].buses[b].devices[d];
                for (size_t c = 0; c < dv->n_channels; c++) {
                    snprintf(want, sizeof want, "%s/%s/%s", cfg->sites[s].id, dv->id,
                             dv->channels[c].id);
                    if (strcmp(want, id) == 0) {
                        *site = &cfg->sites[s];
                        *dev = dv;
                        *ch = &dv->channels[c];
                        return 0;
                    }
                }
            }
    return -1;
}

/* Each channel's kWh as the analyzer measured it, beside the simulator's ground truth. */
static void report(const siteconf_t *cfg, const an_result_t *r)
{
    char a[32], b[32];
    for (size_t s = 0; s < r->n_sites; s++) {
        const an_site_result_t *sr = &r->sites[s];
        printf("\nPer-channel energy, %s to %s (%s):\n",
               wa_time_format(sr->from, sr->tz, a, sizeof a),
               wa_time_format(sr->to, sr->tz, b, sizeof b), sr->tz);
        printf("  %-34s %12s %12s %9s  %-8s %s\n", "channel", "kWh", "sim truth", "coverage",
               "method", "label");
        for (size_t i = 0; i < sr->n_channels; i++) {
            const an_channel_result_t *c = &sr->channels[i];
            const sc_site_t *site;
            const sc_device_t *dev;
            const sc_channel_t *ch;
            double truth = NAN;
            if (config_channel(cfg, c->id, &site, &dev, &ch) == 0)
                truth = truth_kwh(cfg, site, dev, ch, (double)c->from, (double)sr->to);
            printf("  %-34s %12.1f %12.1f %8.1f%%  %-8s %s\n", c->id, c->energy.kwh, truth,
                   c->energy.coverage * 100, an_energy_method_name(c->energy.method), c->name);
        }
    }
    printf("\nData: %s/<site>/<device>/<channel>.rrd (layout: docs/rrd-layout.md)\n",
           cfg->storage.data_dir);
    printf("Collector status: %s\n", cfg->status_file);
}

/* The analyzer over what was collected: findings per channel, then the savings statement an
 * officer would hand on, also written to DIR/report.md and DIR/analysis.json. */
static int analyse(const siteconf_t *cfg, const char *dir, int64_t from, int64_t to)
{
    an_run_opts_t o;
    an_result_t r;
    an_report_opts_t ro = {AN_REPORT_MARKDOWN, NULL, NULL, NULL};
    char err[1024], path[1024];
    FILE *f;
    int rc = 1;

    memset(&o, 0, sizeof o);
    o.cfg = cfg;
    o.from = from;
    o.to = to;
    o.format = AN_FMT_TEXT;
    if (an_factors_find("cn-popular", &o.factors) != 0 ||
        an_collect(&o, &r, err, sizeof err) != 0) {
        fprintf(stderr, "wattaudit demo: analysis: %s\n", err);
        return 1;
    }
    report(cfg, &r);
    printf("\n");
    if (an_write(&r, AN_FMT_TEXT, stdout, err, sizeof err) != 0)
        goto out;
    snprintf(path, sizeof path, "%s/analysis.json", dir);
    if (!(f = fopen(path, "w")) || an_write(&r, AN_FMT_JSON, f, err, sizeof err) != 0) {
        if (f)
            fclose(f);
        goto out;
    }
    fclose(f);
    snprintf(path, sizeof path, "%s/report.md", dir);
    if (!(f = fopen(path, "w")) || an_report_write(&r, &ro, f, err, sizeof err) != 0) {
        if (f)
            fclose(f);
        goto out;
    }
    fclose(f);
    printf("\nFindings as JSON: %s/analysis.json\nSavings statement: %s\n", dir, path);
    rc = 0;
out:
    if (rc)
        fprintf(stderr, "wattaudit demo: analysis: %s\n", err[0] ? err : strerror(errno));
    an_result_free(&r);
    return rc;
}

/* A demo login: user "demo", admin, with a fresh random password printed once. */
static int demo_user(const char *dir, char *users, size_t ulen, char *pw, size_t pwlen)
{
    static const char alphabet[] = "abcdefghijkmnpqrstuvwxyzACDEFGHJKLMNPQRTUVWXY346789";
    unsigned char raw[16];
    char err[512];
    FILE *r = fopen("/dev/urandom", "rb");
    size_t n = pwlen - 1 < sizeof raw ? pwlen - 1 : sizeof raw;
    if (!r || fread(raw, 1, n, r) != n) {
        if (r)
            fclose(r);
        return -1;
    }
    fclose(r);
    for (size_t i = 0; i < n; i++)
        pw[i] = alphabet[raw[i] % (sizeof alphabet - 1)];
    pw[n] = '\0';
    snprintf(users, ulen, "%s/users", dir);
    unlink(users);
    if (dash_user_add(users, "demo", DASH_ROLE_ADMIN, "en", pw, err, sizeof err) != 0) {
        fprintf(stderr, "wattaudit demo: %s\n", err);
        return -1;
    }
    return 0;
}

/* Serves the dashboard over the demo's data until Ctrl-C. */
static int serve(const siteconf_t *cfg, const char *dir, int port, volatile sig_atomic_t *stop)
{
    dash_opts_t o;
    char users[1024], pw[13], err[1024];
    if (demo_user(dir, users, sizeof users, pw, sizeof pw) != 0)
        return 1;
    memset(&o, 0, sizeof o);
    o.cfg = cfg;
    o.users_file = users;
    o.www_dir = cli_www_dir();
    o.port = port;
    o.factors = "cn-popular";
    printf("\nDashboard: log in as demo / %s (Ctrl-C stops it)\n", pw);
    fflush(stdout);
    if (dash_serve(&o, stop, stdout, err, sizeof err) != 0) {
        fprintf(stderr, "wattaudit demo: dashboard: %s\n", err);
        return 1;
    }
    return 0;
}

int cli_demo(int argc, char **argv)
{
    static const struct option longs[] = {{"config", required_argument, NULL, 'c'},
                                          {"dir", required_argument, NULL, 'd'},
                                          {"days", required_argument, NULL, 'n'},
                                          {"verbose", no_argument, NULL, 'v'},
                                          {"port", required_argument, NULL, 'p'},
                                          {"no-serve", no_argument, NULL, 'N'},
                                          {NULL, 0, NULL, 0}};
    const char *config = access(WA_DEMO_CONFIG, R_OK) == 0 ? WA_DEMO_CONFIG : WA_SOURCE_DEMO_CONFIG;
    const char *dir = "wattaudit-demo";
    char err[1024], clock_path[1024], ready[1024], cmd[1200];
    int days = 28, opt, rc = 1, port = 8080, no_serve = 0;
    wa_log_t log = {stderr, WA_LOG_WARN};
    siteconf_t *cfg = NULL;
    profile_set_t *ps = NULL;
    wa_clock_t *clk = NULL, *sim_clk = NULL;
    struct sim_thread st;
    pthread_t tid;
    volatile sig_atomic_t sim_stop = 0;
    volatile sig_atomic_t *stop;
    collect_opts_t co;
    collect_result_t res = {0};
    int64_t now, from;
    struct timespec t0, t1;

    optind = 1;
    while ((opt = getopt_long(argc, argv, "c:d:n:v", longs, NULL)) != -1) {
        switch (opt) {
        case 'c': config = optarg; break;
        case 'd': dir = optarg; break;
        case 'n': days = atoi(optarg); break;
        case 'v': log.level = WA_LOG_INFO; break;
        case 'p': port = atoi(optarg); break;
        case 'N': no_serve = 1; break;
        default:
            fprintf(stderr, "usage: wattaudit demo [--config FILE] [--dir DIR] [--days N] "
                            "[--port N | --no-serve] [-v]\n");
            return 2;
        }
    }
    if (port < 0 || port > 65535) {
        fprintf(stderr, "wattaudit demo: --port must be 0..65535 (0: any free port)\n");
        return 2;
    }
    if (days < 1 || days > 400) {
        fprintf(stderr, "wattaudit demo: --days must be 1..400\n");
        return 2;
    }
    stop = cli_stop_flag();
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "wattaudit demo: cannot create %s: %s\n", dir, strerror(errno));
        return 1;
    }
    if (!(cfg = siteconf_load(config, err, sizeof err)) ||
        !(ps = cli_load_profiles(cfg, NULL, 0, err, sizeof err)) ||
        collect_check(cfg, ps, err, sizeof err) != 0) {
        fprintf(stderr, "wattaudit demo: %s\n", err);
        goto out;
    }
    if (relocate(cfg, dir) != 0) {
        fprintf(stderr, "wattaudit demo: no free loopback port: %s\n", strerror(errno));
        goto out;
    }
    /* A fresh run: old files would hold later timestamps than the new simulated weeks. */
    snprintf(cmd, sizeof cmd, "rm -rf -- '%s/data' '%s/status.json'", dir, dir);
    if (strchr(dir, '\'') || system(cmd) != 0) {
        fprintf(stderr, "wattaudit demo: cannot clear %s/data\n", dir);
        goto out;
    }
    now = (int64_t)time(NULL) / 3600 * 3600;
    from = now - (int64_t)days * 86400;
    if (cfg->sim_start) {
        /* Move the scenario's story to start near the window's start, by whole weeks so that
         * its weekdays stay weekdays. */
        int64_t weeks = (from - cfg->sim_start + 302400) / 604800;
        if (from - cfg->sim_start + 302400 < 0)
            weeks--;
        if (shift_story(cfg, weeks * 604800, dir, err, sizeof err) != 0) {
            fprintf(stderr, "wattaudit demo: %s\n", err);
            goto out;
        }
    }
    snprintf(clock_path, sizeof clock_path, "%s/clock", dir);
    snprintf(ready, sizeof ready, "%s/sim.ready", dir);
    unlink(ready);
    if (!(clk = wa_clock_create_stepped(clock_path, from)) ||
        !(sim_clk = wa_clock_open(clock_path))) {
        fprintf(stderr, "wattaudit demo: clock %s: %s\n", clock_path, strerror(errno));
        goto out;
    }
    memset(&st, 0, sizeof st);
    st.cfg = cfg;
    st.ps = ps;
    st.opts.log = &log;
    st.opts.clock = sim_clk;
    st.opts.energy_origin = (double)from;
    st.opts.stop = &sim_stop;
    st.opts.ready_file = ready;
    if (pthread_create(&tid, NULL, sim_main, &st) != 0) {
        fprintf(stderr, "wattaudit demo: cannot start the simulator\n");
        goto out;
    }
    if (wait_file(ready, 10000) != 0) {
        sim_stop = 1;
        pthread_join(tid, NULL);
        fprintf(stderr, "wattaudit demo: simulator did not start: %s\n", st.err);
        goto out;
    }
    {
        size_t hosts = 0;
        for (size_t i = 0; i < cfg->n_sites; i++)
            hosts += cfg->sites[i].n_hosts;
        printf("Simulated site from %s: %zu devices and %zu hosts; collecting %d days of data "
               "over loopback...\n",
               config, siteconf_count_devices(cfg), hosts, days);
    }
    fflush(stdout);
    memset(&co, 0, sizeof co);
    co.log = &log;
    co.clock = clk;
    co.until = (double)now;
    co.stop = stop;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    rc = collect_run(cfg, ps, &co, &res, err, sizeof err) == 0 ? 0 : 1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    sim_stop = 1;
    pthread_join(tid, NULL);
    if (rc != 0) {
        fprintf(stderr, "wattaudit demo: collector: %s\n", err);
        goto out;
    }
    printf("Collected %llu samples in %llu Modbus transactions over %llu poll cycles in %.1f s.\n",
           (unsigned long long)res.stored, (unsigned long long)res.transactions,
           (unsigned long long)res.cycles,
           (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
    for (size_t i = 0; i < res.n_devices; i++) {
        const collect_device_status_t *d = &res.devices[i];
        printf("  %s/%s/%s unit %d: %llu polls, %llu ok, %llu errors, %llu rejected%s%s%s\n",
               d->site, d->bus, d->device, d->unit, (unsigned long long)d->polls,
               (unsigned long long)d->ok, (unsigned long long)d->errors,
               (unsigned long long)d->rejected, d->quarantined ? ", quarantined" : "",
               d->last_error[0] ? "; last error: " : "", d->last_error);
    }
    for (size_t i = 0; i < res.n_hosts; i++) {
        const collect_host_status_t *h = &res.hosts[i];
        printf("  %s/hosts/%s: %llu scrapes, %llu ok, %llu errors%s%s\n", h->site, h->host,
               (unsigned long long)h->scrapes, (unsigned long long)h->ok,
               (unsigned long long)h->errors, h->last_error[0] ? "; last error: " : "",
               h->last_error);
    }
    rc = analyse(cfg, dir, from, now);
    if (rc == 0 && !no_serve && !*stop)
        rc = serve(cfg, dir, port, stop);
out:
    free(res.devices);
    wa_clock_close(sim_clk);
    wa_clock_close(clk);
    profile_set_free(ps);
    siteconf_free(cfg);
    return rc;
}
