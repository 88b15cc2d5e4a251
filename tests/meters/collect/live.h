/* The live halves of test_collect: groups run by argument, and the helpers they share
 * (defined in test_collect_live.c). */
#ifndef WA_TEST_COLLECT_LIVE_H
#define WA_TEST_COLLECT_LIVE_H

#include <pthread.h>
#include <signal.h>
#include <stddef.h>

#include "meters/collect/collect.h"
#include "meters/sim/sim.h"
#include "storage/storage.h"

/* Runs `sim [TEST]`, `child WATTAUDIT` or `interop`; returns the exit code. */
int live_main(int argc, char **argv);
/* Runs `hosts [TEST]` (test_collect_hosts.c); returns the exit code. */
int hosts_main(int argc, char **argv);

/* A simulator in a thread of the test. */
struct simthread {
    const siteconf_t *cfg;
    const profile_set_t *ps;
    sim_opts_t o;
    sim_stats_t stats;
    volatile sig_atomic_t stop;
    wa_clock_t *clock;
    pthread_t th;
    int rc;
    char err[1024], ready[600];
};

/* A fresh folder under /tmp into dir; rm_tree removes it with everything in it. */
void make_tmp(char *dir, size_t n);
void rm_tree(const char *dir);
/* A whole text file (caller frees), or NULL. */
char *read_text(const char *path);
/* 0 once path is readable, -1 after `seconds`. */
int wait_file(const char *path, double seconds);
/* The shipped profiles. */
profile_set_t *profiles(void);
/* Writes DIR/site.conf with body after a header naming DIR/status.json and DIR/data, and
 * loads it. */
siteconf_t *config_days(const char *dir, const char *body, int full_days);
/* Starts the simulator on the clock file (NULL = real time) and waits until it listens. */
void sim_start(struct simthread *s, const siteconf_t *cfg, const profile_set_t *ps, const char *dir,
               const char *clock_path, double origin);
void sim_stop(struct simthread *s);
/* The result's status of a device by id (fails the test if absent). */
const collect_device_status_t *dev_status(const collect_result_t *res, const char *id);
/* Fetches DIR/data/<rel>.rrd's data source ds (AVERAGE) at step. */
void fetch(const char *dir, const char *rel, const char *ds, double from, double to, int step,
           storage_series_t *out);
/* The value of a series at time t (NaN if outside or unknown). */
double at(const storage_series_t *s, double t);

#endif
