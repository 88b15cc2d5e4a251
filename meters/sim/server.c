/*
 * server.c: sim_run -- builds every device and simulated host, opens every bus and exporter
 * listener, and serves them all from one poll loop until the stop flag is set.
 *
 * One thread serves everything, so devices need no locks and their state (energy, fault
 * draws) changes in the order requests arrive.  poll() waits at most 100 ms so that a stop
 * request is seen promptly (modbus_receive would restart on EINTR and never see it); poll
 * rather than select because select's fd_set cannot hold descriptors past FD_SETSIZE.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "meters/sim/sim-private.h"

#define WAIT_MS 100

struct server {
    sim_dev_t **devs;
    size_t n_devs;
    sim_bus_t *buses;
    size_t n_buses;
    sim_host_t *hosts; /* hosts with an exporter the simulator serves */
    size_t n_hosts;
    sim_http_t *http;  /* one listener per loopback address and port */
    size_t n_http;
};

sim_dev_t *sim_bus_find(const sim_bus_t *b, int unit)
{
    for (size_t i = 0; i < b->n_devs; i++)
        if (b->devs[i]->cfg->unit == unit)
            return b->devs[i];
    return NULL;
}

static void teardown(struct server *s)
{
    for (size_t i = 0; i < s->n_buses; i++) {
        if (s->buses[i].cfg->kind == SC_BUS_TCP)
            sim_tcp_close(&s->buses[i]);
        else
            sim_rtu_close(&s->buses[i]);
        free(s->buses[i].devs);
    }
    for (size_t i = 0; i < s->n_devs; i++)
        sim_dev_free(s->devs[i]);
    for (size_t i = 0; i < s->n_http; i++) {
        sim_http_close(&s->http[i]);
        free(s->http[i].routes);
    }
    free(s->http);
    free(s->hosts);
    free(s->buses);
    free(s->devs);
}

static int build(struct server *s, const siteconf_t *cfg, const profile_set_t *ps,
                 const sim_opts_t *o, char *err, size_t errlen)
{
    size_t nb = 0, nd = siteconf_count_devices(cfg);
    for (size_t i = 0; i < cfg->n_sites; i++)
        nb += cfg->sites[i].n_buses;
    s->devs = calloc(nd ? nd : 1, sizeof *s->devs);
    s->buses = calloc(nb ? nb : 1, sizeof *s->buses);
    if (!s->devs || !s->buses) {
        errno = ENOMEM;
        return wa_err(err, errlen, "sim: out of memory");
    }
    for (size_t i = 0; i < cfg->n_sites; i++) {
        const sc_site_t *site = &cfg->sites[i];
        for (size_t j = 0; j < site->n_buses; j++) {
            const sc_bus_t *bc = &site->buses[j];
            sim_bus_t *b;
            if (bc->kind == SC_BUS_USB) /* a USB UPS is not a Modbus device: nothing to serve */
                continue;
            b = &s->buses[s->n_buses++];
            b->cfg = bc;
            b->lfd = b->mfd = b->sfd = -1;
            if (!(b->devs = calloc(bc->n_devices ? bc->n_devices : 1, sizeof *b->devs))) {
                errno = ENOMEM;
                return wa_err(err, errlen, "sim: out of memory");
            }
            for (size_t k = 0; k < bc->n_devices; k++) {
                const sc_device_t *d = &bc->devices[k];
                const profile_t *p = profile_set_find(ps, d->profile);
                sim_dev_t *dev;
                if (!p) {
                    errno = WA_EPROFILE;
                    return wa_err(err, errlen, "%s:%d: device %s: no profile named \"%s\"",
                                  cfg->file, d->line, d->id, d->profile);
                }
                /* No origin: count from the clock's time at start.  Counting from 1970 would
                 * mean integrating decades at 10 s steps before the first answer. */
                dev = sim_dev_new(d, p, bc->id, site->timezone,
                                  o->energy_origin > 0 ? o->energy_origin : wa_clock_now(o->clock),
                                  err, errlen);
                if (!dev)
                    return -1;
                for (size_t c = 0; c < d->n_channels; c++)
                    if (d->channels[c].sim.enabled && !sim_dev_values(dev, d->channels[c].source))
                        wa_log(o->log, WA_LOG_WARN,
                               "%s:%d: device %s: profile %s has no channel \"%s\"; its "
                               "simulated loads are not served",
                               cfg->file, d->channels[c].line, d->id, p->name,
                               d->channels[c].source);
                s->devs[s->n_devs++] = dev;
                b->devs[b->n_devs++] = dev;
            }
        }
    }
    return 0;
}

/* The listener for addr:port, made if new.  Port 0 asks the kernel for one per URL. */
static sim_http_t *listener(struct server *s, const char *addr, int port)
{
    sim_http_t *l;
    for (size_t i = 0; port != 0 && i < s->n_http; i++)
        if (s->http[i].port == port && strcmp(s->http[i].addr, addr) == 0)
            return &s->http[i];
    l = &s->http[s->n_http++];
    memset(l, 0, sizeof *l);
    l->lfd = -1;
    wa_strlcpy(l->addr, addr, sizeof l->addr);
    l->port = port;
    return l;
}

/* Adds the route of one exporter URL of host h.  0 (also when another machine serves it), or
 * -1 with errno WA_ECONFIG or ENOMEM and err. */
static int add_route(struct server *s, const siteconf_t *cfg, sim_host_t *h, const char *url,
                     sim_exporter_t kind, const sim_opts_t *o, char *err, size_t errlen)
{
    char addr[64], path[SC_PATH_MAX];
    int port, r = sim_http_url(url, addr, sizeof addr, &port, path, sizeof path);
    sim_http_t *l;
    sim_route_t *nr;
    if (r == 0) {
        wa_log(o->log, WA_LOG_INFO, "sim: host %s: %s is another machine's, not served",
               h->cfg->id, url);
        return 0;
    }
    if (r < 0) {
        errno = WA_ECONFIG;
        return wa_err(err, errlen, "%s:%d: host %s: cannot serve %s", cfg->file, h->cfg->line,
                      h->cfg->id, url);
    }
    l = listener(s, addr, port);
    for (size_t i = 0; i < l->n_routes; i++)
        if (strcmp(l->routes[i].path, path) == 0) {
            errno = WA_ECONFIG;
            return wa_err(err, errlen,
                          "%s:%d: host %s: %s is also host %s's %s exporter (line %d)", cfg->file,
                          h->cfg->line, h->cfg->id, url, l->routes[i].host->cfg->id,
                          l->routes[i].kind == SIM_EXPORTER_NODE ? "node" : "GPU",
                          l->routes[i].host->cfg->line);
        }
    if (!(nr = realloc(l->routes, (l->n_routes + 1) * sizeof *nr))) {
        errno = ENOMEM;
        return wa_err(err, errlen, "sim: out of memory");
    }
    l->routes = nr;
    nr = &l->routes[l->n_routes++];
    wa_strlcpy(nr->path, path, sizeof nr->path);
    nr->host = h;
    nr->kind = kind;
    return 0;
}

/* Every host with an exporter URL on loopback becomes a simulated host. */
static int build_hosts(struct server *s, const siteconf_t *cfg, const sim_opts_t *o, double origin,
                       char *err, size_t errlen)
{
    size_t nh = 0;
    for (size_t i = 0; i < cfg->n_sites; i++)
        nh += cfg->sites[i].n_hosts;
    s->hosts = calloc(nh ? nh : 1, sizeof *s->hosts);
    s->http = calloc(nh ? 2 * nh : 1, sizeof *s->http);
    if (!s->hosts || !s->http) {
        errno = ENOMEM;
        return wa_err(err, errlen, "sim: out of memory");
    }
    for (size_t i = 0; i < cfg->n_sites; i++)
        for (size_t k = 0; k < cfg->sites[i].n_hosts; k++) {
            const sc_host_t *hc = &cfg->sites[i].hosts[k];
            sim_host_t *h = &s->hosts[s->n_hosts];
            if (!hc->exporter[0] && !hc->gpu_exporter[0])
                continue;
            if (sim_host_init(h, &cfg->sites[i], hc, origin, err, errlen) != 0)
                return -1;
            s->n_hosts++;
            if ((hc->exporter[0] &&
                 add_route(s, cfg, h, hc->exporter, SIM_EXPORTER_NODE, o, err, errlen) != 0) ||
                (hc->gpu_exporter[0] &&
                 add_route(s, cfg, h, hc->gpu_exporter, SIM_EXPORTER_DCGM, o, err, errlen) != 0))
                return -1;
        }
    return 0;
}

static int open_buses(struct server *s, const sim_opts_t *o, char *err, size_t errlen)
{
    for (size_t i = 0; i < s->n_http; i++) {
        if (sim_http_open(&s->http[i], err, errlen) != 0)
            return -1;
        for (size_t r = 0; r < s->http[i].n_routes; r++)
            wa_log(o->log, WA_LOG_INFO, "sim: host %s: %s exporter on http://%s%s",
                   s->http[i].routes[r].host->cfg->id,
                   s->http[i].routes[r].kind == SIM_EXPORTER_NODE ? "node" : "DCGM",
                   s->http[i].bound, s->http[i].routes[r].path);
    }
    for (size_t i = 0; i < s->n_buses; i++) {
        sim_bus_t *b = &s->buses[i];
        int rc = b->cfg->kind == SC_BUS_TCP ? sim_tcp_open(b, err, errlen)
                                            : sim_rtu_open(b, err, errlen);
        if (rc != 0)
            return -1;
        if (b->cfg->kind == SC_BUS_TCP)
            wa_log(o->log, WA_LOG_INFO, "sim: bus %s: Modbus TCP on %s, %zu device(s)", b->cfg->id,
                   b->bound, b->n_devs);
        else
            wa_log(o->log, WA_LOG_INFO,
                   "sim: bus %s: Modbus RTU on %s (linked at %s), %zu device(s)", b->cfg->id,
                   b->slave, b->cfg->device, b->n_devs);
    }
    return 0;
}

/* Written whole under a temporary name and renamed, so a watcher never reads half of it.
 * One line per bus says where it listens. */
static int write_ready(const struct server *s, const char *path, char *err, size_t errlen)
{
    char tmp[SC_PATH_MAX + 8];
    FILE *f;
    int ok;
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) {
        errno = ENAMETOOLONG;
        return wa_err(err, errlen, "sim: ready file name too long: %s", path);
    }
    if (!(f = fopen(tmp, "w")))
        return wa_err(err, errlen, "sim: cannot write %s: %s", tmp, strerror(errno));
    fprintf(f, "pid %ld\n", (long)getpid());
    for (size_t i = 0; i < s->n_buses; i++) {
        const sim_bus_t *b = &s->buses[i];
        if (b->cfg->kind == SC_BUS_TCP)
            fprintf(f, "tcp %s %s\n", b->cfg->id, b->bound);
        else
            fprintf(f, "rtu %s %s %s\n", b->cfg->id, b->cfg->device, b->slave);
    }
    for (size_t i = 0; i < s->n_http; i++)
        for (size_t r = 0; r < s->http[i].n_routes; r++)
            fprintf(f, "http %s %s %s %s\n", s->http[i].routes[r].host->cfg->id,
                    s->http[i].routes[r].kind == SIM_EXPORTER_NODE ? "node" : "dcgm",
                    s->http[i].bound, s->http[i].routes[r].path);
    ok = ferror(f) == 0;
    ok = fclose(f) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        errno = e;
        return wa_err(err, errlen, "sim: cannot write %s: %s", path, strerror(e));
    }
    return 0;
}

static int serve(struct server *s, const sim_opts_t *o, sim_stats_t *st, char *err, size_t errlen)
{
    static const volatile sig_atomic_t never = 0;
    const volatile sig_atomic_t *stop = o->stop ? o->stop : &never;
    size_t cap = 0, *first, *count;
    struct pollfd *pfd;
    sim_serve_t sv = {o, st};
    int rc = 0;

    for (size_t i = 0; i < s->n_buses; i++)
        cap += s->buses[i].cfg->kind == SC_BUS_TCP ? 1 + SIM_TCP_CLIENTS : 1;
    cap += s->n_http * (1 + SIM_HTTP_CLIENTS);
    /* first[] and count[]: the buses' poll entries, then the listeners'. */
    pfd = calloc(cap ? cap : 1, sizeof *pfd);
    first = calloc(s->n_buses + s->n_http + 1, sizeof *first);
    count = calloc(s->n_buses + s->n_http + 1, sizeof *count);
    if (!pfd || !first || !count) {
        errno = ENOMEM;
        rc = wa_err(err, errlen, "sim: out of memory");
        goto out;
    }
    while (!*stop) {
        size_t n = 0;
        int wait = WAIT_MS;
        for (size_t i = 0; i < s->n_buses; i++) {
            sim_bus_t *b = &s->buses[i];
            first[i] = n;
            if (b->cfg->kind == SC_BUS_TCP) {
                count[i] = sim_tcp_fds(b, pfd + n, cap - n);
            } else {
                int w = sim_rtu_wait_ms(b);
                count[i] = sim_rtu_fds(b, pfd + n, cap - n);
                if (w >= 0 && w < wait)
                    wait = w;
            }
            n += count[i];
        }
        for (size_t i = 0; i < s->n_http; i++) {
            first[s->n_buses + i] = n;
            count[s->n_buses + i] = sim_http_fds(&s->http[i], pfd + n, cap - n);
            n += count[s->n_buses + i];
        }
        if (poll(pfd, n, wait) < 0) {
            if (errno == EINTR)
                continue;
            rc = wa_err(err, errlen, "sim: poll: %s", strerror(errno));
            break;
        }
        for (size_t i = 0; i < s->n_buses; i++) {
            if (s->buses[i].cfg->kind == SC_BUS_TCP)
                sim_tcp_service(&s->buses[i], pfd + first[i], count[i], &sv);
            else
                sim_rtu_service(&s->buses[i], pfd + first[i], count[i], &sv);
        }
        for (size_t i = 0; i < s->n_http; i++)
            sim_http_service(&s->http[i], pfd + first[s->n_buses + i], count[s->n_buses + i],
                             &sv);
    }
out:
    free(pfd);
    free(first);
    free(count);
    return rc;
}

int sim_run(const siteconf_t *cfg, const profile_set_t *ps, const sim_opts_t *o, sim_stats_t *stats,
            char *err, size_t errlen)
{
    struct server s;
    sim_stats_t st;
    int rc, e, wrote_ready = 0;

    if (!cfg || !ps || !o) {
        errno = EINVAL;
        return wa_err(err, errlen, "sim: no config, profiles or options");
    }
    memset(&s, 0, sizeof s);
    memset(&st, 0, sizeof st);
    rc = build(&s, cfg, ps, o, err, errlen);
    if (rc == 0)
        rc = build_hosts(&s, cfg, o,
                         o->energy_origin > 0 ? o->energy_origin : wa_clock_now(o->clock), err,
                         errlen);
    if (rc == 0)
        rc = open_buses(&s, o, err, errlen);
    if (rc == 0 && o->ready_file && o->ready_file[0]) {
        rc = write_ready(&s, o->ready_file, err, errlen);
        wrote_ready = rc == 0;
    }
    if (rc == 0) {
        wa_log(o->log, WA_LOG_INFO,
               "sim: serving %zu device(s) on %zu bus(es), %zu host(s) on %zu HTTP listener(s)",
               s.n_devs, s.n_buses, s.n_hosts, s.n_http);
        rc = serve(&s, o, &st, err, errlen);
    }
    e = errno;
    /* The ready file says the buses are served; after this they are not. */
    if (wrote_ready)
        unlink(o->ready_file);
    teardown(&s);
    wa_log(o->log, WA_LOG_INFO,
           "sim: stopped after %llu requests: %llu replies, %llu exceptions, %llu timeouts, "
           "%llu drops, %llu garbled; %llu exporter requests (%llu refused)",
           (unsigned long long)st.requests, (unsigned long long)st.replies,
           (unsigned long long)st.exceptions, (unsigned long long)st.timeouts,
           (unsigned long long)st.dropped, (unsigned long long)st.garbage,
           (unsigned long long)st.http_requests, (unsigned long long)st.http_errors);
    if (stats)
        *stats = st;
    errno = e;
    return rc;
}
