/* common: time parsing in named zones, the shared clock across two mappings, error texts. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/common.h"

static void test_time_parse(void **state)
{
    static const struct {
        const char *text, *tz;
        int ok;
        int64_t want;
    } cases[] = {
        /* 2026-11-02 14:00 in Shanghai (UTC+8, no DST) is 06:00Z. */
        {"2026-11-02T14:00", "Asia/Shanghai", 1, 1793599200},
        {"2026-11-02 14:00:00", "Asia/Shanghai", 1, 1793599200},
        {"2026-11-02T06:00Z", "Asia/Shanghai", 1, 1793599200},
        {"2026-11-02T14:00+08:00", "UTC", 1, 1793599200},
        {"2026-11-02T01:00-05:00", NULL, 1, 1793599200},
        {"2026-11-02", "UTC", 1, 1793577600},
        {"1793599200", NULL, 1, 1793599200},
        /* Europe/Berlin is UTC+1 in November. */
        {"2026-11-02T07:00", "Europe/Berlin", 1, 1793599200},
        {"2026-13-02", "UTC", 0, 0},
        {"2026-02-31", "UTC", 0, 0},
        {"2026-11-02T25:00", "UTC", 0, 0},
        {"2026-11-02T14", "UTC", 0, 0},
        {"yesterday", "UTC", 0, 0},
        {"", "UTC", 0, 0},
        {"2026-11-02T14:00+0800junk", "UTC", 0, 0},
    };
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t t = -1;
        int r = wa_time_parse(cases[i].text, cases[i].tz, &t);
        if (cases[i].ok) {
            assert_int_equal(r, 0);
            assert_int_equal(t, cases[i].want);
        } else {
            assert_int_equal(r, -1);
            assert_int_equal(errno, EINVAL);
        }
    }
}

/* A held zone gives what a per-call switch gives, across a DST change, and the process's zone
 * comes back when it is released. */
static void test_time_parse_held(void **state)
{
    (void)state;
    static const char *const zones[] = {"Asia/Shanghai", "America/New_York", "UTC"};
    static const char *const times[] = {"2026-03-08 01:30", "2026-03-08 03:30",
                                        "2026-11-01 01:30", "2026-07-01T12:00:05",
                                        "2026-07-01T12:00+02:00", "1700000000", "2026-02-31"};
    char before[64];
    snprintf(before, sizeof before, "%s", getenv("TZ") ? getenv("TZ") : "(unset)");
    for (size_t z = 0; z < sizeof zones / sizeof zones[0]; z++) {
        for (size_t i = 0; i < sizeof times / sizeof times[0]; i++) {
            int64_t a = 0, b = 0;
            int ra = wa_time_parse(times[i], zones[z], &a);
            wa_tz_hold_t h;
            wa_tz_hold(zones[z], &h);
            int rb = wa_time_parse_held(times[i], &b);
            wa_tz_release(&h);
            assert_int_equal(ra, rb);
            if (ra == 0)
                assert_true(a == b);
        }
    }
    int64_t ny = 0;
    wa_tz_hold_t h;
    wa_tz_hold("America/New_York", &h);
    assert_int_equal(wa_time_parse_held("2026-01-01 00:00", &ny), 0);
    wa_tz_release(&h);
    assert_true(ny == INT64_C(1767243600)); /* 2026-01-01 05:00 UTC */
    assert_string_equal(getenv("TZ") ? getenv("TZ") : "(unset)", before);
}

static void test_time_local(void **state)
{
    struct tm tm;
    char buf[32];
    (void)state;
    assert_int_equal(wa_time_local(1793599200, "Asia/Shanghai", &tm), 0);
    assert_int_equal(tm.tm_hour, 14);
    assert_int_equal(tm.tm_wday, 1); /* Monday */
    assert_int_equal(wa_time_local(1793599200, "UTC", &tm), 0);
    assert_int_equal(tm.tm_hour, 6);
    assert_string_equal(wa_time_format(1793599200, "Asia/Shanghai", buf, sizeof buf),
                        "2026-11-02 14:00");
}

static void test_clock_shared(void **state)
{
    char path[] = "/tmp/wa-clock-XXXXXX";
    int fd = mkstemp(path);
    wa_clock_t *owner, *reader, *real;
    (void)state;
    assert_true(fd >= 0);
    close(fd);
    owner = wa_clock_create_stepped(path, 1000);
    assert_non_null(owner);
    reader = wa_clock_open(path);
    assert_non_null(reader);
    assert_true(wa_clock_is_stepped(reader));
    assert_true(wa_clock_now(reader) == 1000.0);
    assert_int_equal(wa_clock_set(owner, 1060.5), 0);
    assert_true(wa_clock_now(reader) == 1060.5);
    /* Time never runs backwards, and a reader cannot move it. */
    assert_int_equal(wa_clock_set(owner, 1000), -1);
    assert_int_equal(wa_clock_set(reader, 2000), -1);
    assert_true(wa_clock_now(reader) == 1060.5);
    wa_clock_close(reader);
    wa_clock_close(owner);

    owner = wa_clock_create_scaled(path, 5000, 3600.0);
    assert_non_null(owner);
    reader = wa_clock_open(path);
    assert_non_null(reader);
    assert_false(wa_clock_is_stepped(reader));
    usleep(20000);
    /* 20 ms at 3600x is 72 s of simulated time. */
    assert_true(wa_clock_now(reader) > 5000 + 60);
    assert_true(wa_clock_now(reader) < 5000 + 3600);
    wa_clock_close(reader);
    wa_clock_close(owner);

    /* A file that is not a clock is refused. */
    fd = open(path, O_WRONLY | O_TRUNC);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "not a clock, just some text here....", 36), 36);
    close(fd);
    assert_null(wa_clock_open(path));
    unlink(path);

    real = wa_clock_real();
    assert_true(wa_clock_now(real) > 1.7e9);
    assert_int_equal(wa_clock_set(real, 1), -1);
    wa_clock_close(real);
    wa_clock_close(NULL);
}

static void test_errors(void **state)
{
    char err[16];
    (void)state;
    assert_string_equal(wa_strerror(WA_EWRITEFC),
                        "refused: wattaudit only sends read function codes");
    assert_string_equal(wa_strerror(ENOENT), strerror(ENOENT));
    assert_int_equal(wa_err(err, sizeof err, "%s", "a long message that is cut"), -1);
    assert_int_equal(strlen(err), sizeof err - 1);
    assert_int_equal(wa_strlcpy(err, "0123456789abcdefXYZ", sizeof err), -1);
    assert_int_equal(errno, ENAMETOOLONG);
}

static void test_write_atomic(void **state)
{
    char dir[] = "/tmp/wa-atomic-XXXXXX", path[128], buf[64], err[256];
    FILE *f;
    size_t n;
    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/status.json", dir);
    assert_int_equal(wa_file_write_atomic(path, "first", 5, err, sizeof err), 0);
    assert_int_equal(wa_file_write_atomic(path, "second", 6, err, sizeof err), 0);
    f = fopen(path, "r");
    assert_non_null(f);
    n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    assert_int_equal(n, 6);
    assert_memory_equal(buf, "second", 6);
    /* A folder that does not exist: an error naming the file, and no temporary left. */
    snprintf(path, sizeof path, "%s/missing/status.json", dir);
    assert_int_equal(wa_file_write_atomic(path, "x", 1, err, sizeof err), -1);
    assert_int_equal(errno, ENOENT);
    assert_non_null(strstr(err, "missing/status.json"));
    snprintf(path, sizeof path, "%s/status.json", dir);
    unlink(path);
    assert_int_equal(rmdir(dir), 0); /* empty: no temporary file was left behind */
}

static void test_file_read(void **state)
{
    char dir[] = "/tmp/wa-read-XXXXXX", path[128], err[256];
    size_t len = 0;
    char *buf;
    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/f", dir);
    /* 5000 bytes, more than the first buffer, with a NUL inside */
    {
        char data[5000];
        for (size_t i = 0; i < sizeof data; i++)
            data[i] = (char)('a' + i % 26);
        data[100] = '\0';
        assert_int_equal(wa_file_write_atomic(path, data, sizeof data, err, sizeof err), 0);
        buf = wa_file_read(path, 5000, &len, err, sizeof err);
        assert_non_null(buf);
        assert_int_equal(len, 5000);
        assert_memory_equal(buf, data, sizeof data);
        assert_int_equal(buf[5000], '\0');
        free(buf);
    }
    /* One byte over the limit is refused, naming the file. */
    assert_null(wa_file_read(path, 4999, &len, err, sizeof err));
    assert_int_equal(errno, EFBIG);
    assert_non_null(strstr(err, "larger than 4999 bytes"));
    assert_int_equal(unlink(path), 0);
    assert_null(wa_file_read(path, 10, &len, NULL, 0));
    assert_int_equal(errno, ENOENT);
    assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_time_parse),
        cmocka_unit_test(test_time_parse_held),
        cmocka_unit_test(test_time_local),
        cmocka_unit_test(test_clock_shared),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_write_atomic),
        cmocka_unit_test(test_file_read),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
