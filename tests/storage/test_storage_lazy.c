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

static void test_lazy(void **state)
{
    (void)state;
    char dir[] = "/tmp/wa-storage-lazy-XXXXXX", data[PATH_MAX], sock[PATH_MAX], addr[PATH_MAX + 8],
         pidfile[PATH_MAX], log[PATH_MAX], why[512], err[512];
    assert_non_null(mkdtemp(dir));
    snprintf(data, sizeof data, "%s/data", dir);
    snprintf(sock, sizeof sock, "%s/rrdcached.sock", dir);
    snprintf(addr, sizeof addr, "unix:%s", sock);
    snprintf(pidfile, sizeof pidfile, "%s/rrdcached.pid", dir);
    snprintf(log, sizeof log, "%s/rrdcached.log", dir);
    pid_t daemon = test_daemon_start(sock, data, pidfile, log, why, sizeof why);
    if (daemon < 0)
        fail_msg("%s", why);

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

    test_daemon_stop(daemon);
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_lazy)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
