/*
 * Scheduling: one thread per bus, in real time or in stepped time.
 *
 * Real time: each bus thread polls what is due, then sleeps on a condition variable until its
 * next device is due or the collector stops: an idle collector does not wake up between polls
 * (on a shared clock running faster than real time, whose pace is measured as it goes, a
 * sleeper still looks every 100 ms).  Buses never wait for each other.  The main thread
 * sleeps until its next chore: it rewrites the status file every few seconds, flushes storage
 * every storage.flush_interval seconds (and once more when the collector stops), and looks at
 * the stop flag at least every 5 s.  SIGTERM and SIGINT are blocked in the other threads,
 * so that they reach the main thread and cut its sleep short.
 *
 * USB devices: each has a thread of its own that polls it on the real clock, whatever the
 * collector's clock is (a UPS reports the present), and takes no part in stepped cycles.
 *
 * Hosts (hosts.c): a few workers of their own scrape the hosts' exporters.
 *
 * Stepped time: the main thread owns the clock.  Each cycle it sets the clock to the earliest
 * due time of any device or host, lets every bus thread poll what is due then, has the hosts
 * due then scraped meanwhile, and waits for all of them (a barrier) before moving on.  The
 * simulator reads the same clock, so weeks of data pass as fast as the requests can be answered.
 */
#include "meters/collect/collect-private.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <time.h>

/* The status file is rewritten this often (real seconds): fresh enough for a monitoring
 * check.  Storage is flushed every storage.flush_interval seconds: at most that much is lost
 * to a crash (a stop flushes everything). */
#define HOUSEKEEP_S 5.0
/* In stepped time, also flush after this many cycles so that the queue stays small. */
#define FLUSH_CYCLES 2000
/* Per-device summary in the log this often (real seconds). */
#define SUMMARY_S 3600.0
/* On a shared clock whose pace is measured, the longest a sleeper goes without looking. */
#define WAKE_S 0.1
/* The longest the main thread goes without looking at the stop flag (a flag set by another
 * thread; a signal cuts the sleep short at once). */
#define STOP_CHECK_S 5.0

double collect_mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double collect_now(const collector_t *c)
{
    return wa_clock_now(c->clock);
}

/* Sleeps s seconds or until a signal arrives. */
static void sleep_s(double s)
{
    struct timespec ts;
    if (s <= 0)
        return;
    ts.tv_sec = (time_t)s;
    ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
    nanosleep(&ts, NULL);
}

/* Waits on c->wake for at most s seconds; c->wake_mu is held. */
static void wake_wait(collector_t *c, double s)
{
    struct timespec ts;
    double at = collect_mono() + s;
    ts.tv_sec = (time_t)at;
    ts.tv_nsec = (long)((at - (double)ts.tv_sec) * 1e9);
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&c->wake, &c->wake_mu, &ts);
}

/* Polls the bus's devices that are due at t (stepped) or now (real), in configuration order;
 * returns the earliest next due time on the bus. */
static double bus_poll_due(cbus_t *b, double t, int stepped)
{
    double next = INFINITY;
    int polled = 0;
    for (size_t i = 0; i < b->n_devs && !atomic_load(&b->c->quit); i++) {
        cdev_t *d = b->devs[i];
        double now = stepped ? t : collect_now(b->c);
        if (d->next_due <= now)
            polled |= poll_device(d, now);
    }
    for (size_t i = 0; i < b->n_devs; i++)
        if (b->devs[i]->next_due < next)
            next = b->devs[i]->next_due;
    if (polled)
        b->polled_cycles++;
    return next;
}

/* Sleeps until clock (NULL: real time) reaches t or the collector is told to quit (quit()
 * wakes it).  A shared clock may run faster than real time (a scaled clock), so its pace is
 * measured as it goes and the sleeper looks every WAKE_S. */
void sched_wait_until(collector_t *c, const wa_clock_t *clock, double t)
{
    double rate = 1.0;
    pthread_mutex_lock(&c->wake_mu);
    while (!atomic_load(&c->quit)) {
        double now = wa_clock_now(clock), m0 = collect_mono(), left = t - now, slice, dc, dm;
        if (left <= 0)
            break;
        slice = left / rate;
        if (clock && slice > WAKE_S)
            slice = WAKE_S;
        if (!(slice <= 3600)) /* nothing due (INFINITY): only quit() ends the wait */
            slice = 3600;
        if (slice < 0.001)
            slice = 0.001;
        wake_wait(c, slice);
        if (!clock)
            continue;
        dc = wa_clock_now(clock) - now;
        dm = collect_mono() - m0;
        if (dm > 0 && dc > 0)
            rate = dc / dm;
    }
    pthread_mutex_unlock(&c->wake_mu);
}

/* Tells every thread to stop, and wakes the sleepers. */
static void quit(collector_t *c)
{
    pthread_mutex_lock(&c->mu);
    atomic_store(&c->quit, 1);
    pthread_cond_broadcast(&c->go);
    pthread_mutex_unlock(&c->mu);
    pthread_mutex_lock(&c->wake_mu);
    pthread_cond_broadcast(&c->wake);
    pthread_mutex_unlock(&c->wake_mu);
}

static void *bus_real(void *arg)
{
    cbus_t *b = arg;
    while (!atomic_load(&b->c->quit))
        sched_wait_until(b->c, b->c->clock, bus_poll_due(b, 0, 0));
    return NULL;
}

static void *bus_usb(void *arg)
{
    cbus_t *b = arg;
    while (!atomic_load(&b->c->quit)) {
        double next = INFINITY;
        for (size_t i = 0; i < b->n_devs && !atomic_load(&b->c->quit); i++) {
            cdev_t *d = b->devs[i];
            double now = wa_clock_now(NULL);
            if (d->next_due <= now) {
                usb_poll(d, now);
                b->polled_cycles++;
            }
            if (d->next_due < next)
                next = d->next_due;
        }
        sched_wait_until(b->c, NULL, next);
    }
    return NULL;
}

static void *bus_stepped(void *arg)
{
    cbus_t *b = arg;
    collector_t *c = b->c;
    uint64_t seen = 0;
    pthread_mutex_lock(&c->mu);
    for (;;) {
        while (c->cycle == seen && !atomic_load(&c->quit))
            pthread_cond_wait(&c->go, &c->mu);
        if (atomic_load(&c->quit))
            break;
        seen = c->cycle;
        double t = c->cycle_t;
        pthread_mutex_unlock(&c->mu);
        double next = bus_poll_due(b, t, 1);
        pthread_mutex_lock(&c->mu);
        b->next_due = next;
        c->n_done++;
        pthread_cond_signal(&c->done);
    }
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

static void flush(collector_t *c)
{
    char err[512];
    if (storage_flush(c->st, err, sizeof err) != 0)
        wa_log(c->log, WA_LOG_WARN, "storage: %s (kept for the next flush)", err);
}

/* Storage is flushed this often (real seconds). */
static double flush_every(const collector_t *c)
{
    /* A config not made by siteconf_load may leave flush_s 0. */
    return c->cfg->storage.flush_s > 0 ? (double)c->cfg->storage.flush_s : HOUSEKEEP_S;
}

static void housekeep(collector_t *c, double *last_hk, double *last_sum)
{
    char err[512];
    double m = collect_mono();
    double every = flush_every(c);
    if (m - c->last_flush >= every) {
        c->last_flush = m;
        flush(c);
    }
    if (m - *last_hk >= HOUSEKEEP_S) {
        *last_hk = m;
        if (status_write(c, err, sizeof err) != 0)
            wa_log(c->log, WA_LOG_WARN, "status file: %s", err);
    }
    if (m - *last_sum >= SUMMARY_S) {
        *last_sum = m;
        status_log_summary(c, WA_LOG_INFO);
    }
}

static double earliest(const collector_t *c)
{
    double t = hosts_next_due(c->hosts);
    for (size_t i = 0; i < c->n_devs; i++)
        if (!c->devs[i].usb && c->devs[i].next_due < t)
            t = c->devs[i].next_due;
    return t;
}

static int stop_asked(const collector_t *c, double now)
{
    return (c->o->stop && *c->o->stop) || (c->o->until > 0 && now >= c->o->until);
}

static void drive_stepped(collector_t *c, double *last_hk, double *last_sum)
{
    double t = earliest(c);
    while (isfinite(t) && !stop_asked(c, t)) {
        if (wa_clock_set(c->clock, t) != 0) {
            wa_log(c->log, WA_LOG_ERROR, "clock: cannot move to %.0f: %s", t, wa_strerror(errno));
            break;
        }
        pthread_mutex_lock(&c->mu);
        c->cycle_t = t;
        c->n_done = 0;
        c->cycle++;
        pthread_cond_broadcast(&c->go);
        pthread_mutex_unlock(&c->mu);
        /* The hosts due now are scraped while the buses poll. */
        t = hosts_cycle(c->hosts, t);
        pthread_mutex_lock(&c->mu);
        while (c->n_done < c->n_stepped)
            pthread_cond_wait(&c->done, &c->mu);
        pthread_mutex_unlock(&c->mu);
        c->cycles++;
        for (size_t i = 0; i < c->n_buses; i++)
            if (!c->buses[i].usb && c->buses[i].next_due < t)
                t = c->buses[i].next_due;
        if (c->cycles % FLUSH_CYCLES == 0)
            flush(c);
        housekeep(c, last_hk, last_sum);
    }
}

/* Sleeps until the next chore (status, flush, summary), the stop time, or a signal, and at
 * most STOP_CHECK_S. */
static void drive_real(collector_t *c, double *last_hk, double *last_sum)
{
    double now;
    while (!stop_asked(c, now = collect_now(c))) {
        double m = collect_mono(), s = STOP_CHECK_S;
        double chores[3] = {*last_hk + HOUSEKEEP_S, c->last_flush + flush_every(c),
                            *last_sum + SUMMARY_S};
        for (size_t i = 0; i < 3; i++)
            if (chores[i] - m < s)
                s = chores[i] - m;
        /* On a shared clock running fast, `until` comes sooner than it seems: look often. */
        if (c->o->until > 0 && c->o->until - now < s)
            s = c->clock ? WAKE_S : c->o->until - now;
        sleep_s(s);
        housekeep(c, last_hk, last_sum);
    }
}

int sched_run(collector_t *c, char *err, size_t errlen)
{
    int stepped = wa_clock_is_stepped(c->clock);
    double last_hk = collect_mono(), last_sum = last_hk;
    int rc = 0;

    sigset_t stop_sigs, old_mask;

    c->last_flush = last_hk;
    /* The threads started here inherit a mask without SIGTERM and SIGINT: those reach the
     * main thread, whose sleep they end. */
    sigemptyset(&stop_sigs);
    sigaddset(&stop_sigs, SIGTERM);
    sigaddset(&stop_sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop_sigs, &old_mask);
    for (size_t i = 0; i < c->n_buses; i++) {
        cbus_t *b = &c->buses[i];
        if (pthread_create(&b->th, NULL, b->usb ? bus_usb : stepped ? bus_stepped : bus_real,
                           b) != 0) {
            rc = wa_err(err, errlen, "cannot start the thread of bus %s", b->cfg->id);
            break;
        }
        b->started = 1;
    }
    if (rc == 0)
        rc = hosts_start(c->hosts, stepped, err, errlen);
    pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
    if (rc == 0) {
        if (stepped)
            drive_stepped(c, &last_hk, &last_sum);
        else
            drive_real(c, &last_hk, &last_sum);
    }
    quit(c);
    hosts_stop(c->hosts);
    for (size_t i = 0; i < c->n_buses; i++)
        if (c->buses[i].started) {
            pthread_join(c->buses[i].th, NULL);
            c->buses[i].started = 0;
        }
    if (!stepped)
        for (size_t i = 0; i < c->n_buses; i++)
            c->cycles += c->buses[i].polled_cycles;
    return rc;
}
