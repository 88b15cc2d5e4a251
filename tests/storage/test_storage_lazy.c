/* storage loads librrd only when it writes or reads files itself: this program does not link
 * librrd, writes through a real rrdcached (create, update, resume), and checks in
 * /proc/self/maps that librrd was never loaded; then writes one file directly and checks that
 * it was. */
/* nftw() is XSI */
#define _XOPEN_SOURCE 700

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common/common.h"
#include "storage/storage.h"
#include "daemon.h"

#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

/* 1 if a mapping of this process is a librrd file. */
static int librrd_loaded(void)
{
    size_t len;
    char *maps = wa_file_read("/proc/self/maps", 64u << 20, &len, NULL, 0);
    assert_non_null(maps);
    int found = strstr(maps, "/librrd.so") != NULL;
    free(maps);
    return found;
}

/* The folder and the daemon, stopped and removed by teardown whatever the test did. */
struct fx {
    char dir[64], data[PATH_MAX], sock[PATH_MAX], addr[PATH_MAX + 8];
    pid_t daemon;
};

static int setup(void **state)
{
    struct fx *fx = calloc(1, sizeof *fx);
    char pidfile[PATH_MAX], log[PATH_MAX], why[512];
    if (!fx)
        return -1;
    snprintf(fx->dir, sizeof fx->dir, "/tmp/wa-storage-lazy-XXXXXX");
    if (!mkdtemp(fx->dir)) {
        free(fx);
        return -1;
    }
    snprintf(fx->data, sizeof fx->data, "%s/data", fx->dir);
    snprintf(fx->sock, sizeof fx->sock, "%s/rrdcached.sock", fx->dir);
    snprintf(fx->addr, sizeof fx->addr, "unix:%s", fx->sock);
    snprintf(pidfile, sizeof pidfile, "%s/rrdcached.pid", fx->dir);
    snprintf(log, sizeof log, "%s/rrdcached.log", fx->dir);
    fx->daemon = test_daemon_start(fx->sock, fx->data, pidfile, log, why, sizeof why);
    *state = fx;
    if (fx->daemon < 0) {
        fprintf(stderr, "%s\n", why);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    struct fx *fx = *state;
    test_daemon_stop(fx->daemon);
    nftw(fx->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(fx);
    return 0;
}

static void test_lazy(void **state)
{
    struct fx *fx = *state;
    char err[512];
    const char *data = fx->data, *addr = fx->addr;
    const storage_layout_t lay = {.step_s = 60, .full_days = 2, .mid_step_s = 300, .mid_days = 2,
                                  .long_step_s = 3600, .long_days = 2};
    const int64_t t0 = 1700000000;
    storage_t *st = storage_open(data, addr, err, sizeof err);
    assert_non_null(st);
    assert_int_equal(storage_ensure(st, "s/d/c", &lay, t0, err, sizeof err), 0);
    assert_int_equal(storage_ensure_host(st, "s/hosts/h", &lay, t0, err, sizeof err), 0);
    storage_sample_t s = {{[STORAGE_DS_POWER] = 1200.5, [STORAGE_DS_ENERGY] = 4000.25,
                           [STORAGE_DS_ENERGY_RAW] = 4000.25}};
    for (int i = 1; i <= 5; i++)
        assert_int_equal(storage_put(st, "s/d/c", t0 + 60 * i, &s), 0);
    assert_int_equal(storage_flush(st, err, sizeof err), 0);
    storage_close(st);

    st = storage_open(data, addr, err, sizeof err);
    assert_non_null(st);
    int64_t t;
    storage_sample_t got;
    assert_int_equal(storage_resume(st, "s/d/c", &t, &got, err, sizeof err), 0);
    assert_int_equal(t, t0 + 300);
    assert_true(got.v[STORAGE_DS_ENERGY] == 4000.25);
    s.v[STORAGE_DS_ENERGY] += 10;
    assert_int_equal(storage_put(st, "s/d/c", t0 + 360, &s), 0);
    assert_int_equal(storage_flush(st, err, sizeof err), 0);
    storage_close(st);
    assert_false(librrd_loaded());

    /* Direct writes need it, and load it. */
    st = storage_open(data, NULL, err, sizeof err);
    assert_non_null(st);
    assert_int_equal(storage_ensure(st, "s/d/direct", &lay, t0, err, sizeof err), 0);
    assert_true(librrd_loaded());
    storage_close(st);

}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test_setup_teardown(test_lazy, setup, teardown)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
