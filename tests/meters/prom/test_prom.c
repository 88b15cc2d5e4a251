/* prom: the exposition parser from a table of texts, recorded DCGM output, and the real
 * prometheus-node-exporter (Debian) started on loopback and scraped twice. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/common.h"
#include "meters/prom/prom.h"

#ifndef WA_TEST_DIR
#error WA_TEST_DIR must name this folder
#endif

typedef struct parse_case {
    const char *text;
    int ok;           /* 1 = parses */
    int err;          /* errno on failure */
    size_t n;         /* samples on success */
    double first;     /* value of the first sample */
    const char *msg;  /* substring of the message on failure */
} parse_case_t;

static const parse_case_t parse_cases[] = {
    {"a 1\n", 1, 0, 1, 1, NULL},
    {"a{} 2", 1, 0, 1, 2, NULL},
    {"# HELP a some text\n# TYPE a gauge\na{x=\"1\",y=\"2\",} 3.5e2 1700000000000\n", 1, 0, 1,
     350, NULL},
    {"a NaN\nb +Inf\nc -Inf\n", 1, 0, 3, NAN, NULL},
    {"a{v=\"q\\\"\\\\\\n\"} 1\n", 1, 0, 1, 1, NULL},
    {"\n\n   \n# just a comment\n", 1, 0, 0, 0, NULL},
    {"ns:sub_name 7\r", 0, WA_EPROTO, 0, 0, ":1: expected a sample value"},
    {"a 0x10\n", 0, WA_EPROTO, 0, 0, ":1: expected a sample value"},
    {"a nan\n", 0, WA_EPROTO, 0, 0, "sample value"},
    {"a{x=1} 1\n", 0, WA_EPROTO, 0, 0, "open a label value"},
    {"a{x=\"1\" 1\n", 0, WA_EPROTO, 0, 0, "',' or '}'"},
    {"a{x=\"1\",x=\"2\"} 1\n", 0, WA_EPROTO, 0, 0, "label given twice"},
    {"a{x=\"\\t\"} 1\n", 0, WA_EPROTO, 0, 0, "unknown escape"},
    {"ok 1\n9bad 1\n", 0, WA_EPROTO, 0, 0, ":2: expected a metric name"},
    {"a 1 12x\n", 0, WA_EPROTO, 0, 0, "after the timestamp"},
    {"a 1 99999999999999999999\n", 0, WA_ERANGE, 0, 0, "timestamp out of range"},
    {"# TYPE a gaugez\n", 0, WA_EPROTO, 0, 0, "unknown metric type"},
    {"a{x=\"unterminated} 1\n", 0, WA_EPROTO, 0, 0, "not closed"},
};

static void test_parse_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof parse_cases / sizeof parse_cases[0]; i++) {
        const parse_case_t *t = &parse_cases[i];
        char err[256] = "";
        errno = 0;
        prom_set_t *s = prom_parse(t->text, strlen(t->text), "t", err, sizeof err);
        if (t->ok) {
            if (!s)
                fail_msg("case %zu: %s", i, err);
            assert_int_equal(prom_set_count(s), t->n);
            if (t->n) {
                double v = prom_set_sample(s, 0)->value;
                if (isnan(t->first))
                    assert_true(isnan(v));
                else
                    assert_true(fabs(v - t->first) < 1e-9);
            }
            prom_set_free(s);
        } else {
            if (s)
                fail_msg("case %zu parsed: %s", i, t->text);
            assert_int_equal(errno, t->err);
            if (!strstr(err, t->msg))
                fail_msg("case %zu: message \"%s\" lacks \"%s\"", i, err, t->msg);
        }
    }
}

static void test_labels_and_bounds(void **state)
{
    (void)state;
    const char *t = "m{a=\"x\\\"y\",b=\"line\\nbreak\"} 4 -5\n";
    char err[256];
    prom_set_t *s = prom_parse(t, strlen(t), "t", err, sizeof err);
    assert_non_null(s);
    const prom_sample_t *m = prom_set_sample(s, 0);
    assert_string_equal(prom_sample_label(m, "a"), "x\"y");
    assert_string_equal(prom_sample_label(m, "b"), "line\nbreak");
    assert_null(prom_sample_label(m, "c"));
    assert_int_equal(m->ts_ms, -5);
    prom_set_free(s);

    /* Too many labels, too long a name: refused with WA_ERANGE, never truncated. */
    char big[4096];
    size_t n = (size_t)snprintf(big, sizeof big, "m{");
    for (int i = 0; i <= PROM_LABELS_MAX; i++)
        n += (size_t)snprintf(big + n, sizeof big - n, "l%d=\"v\",", i);
    snprintf(big + n, sizeof big - n, "} 1\n");
    assert_null(prom_parse(big, strlen(big), "t", err, sizeof err));
    assert_int_equal(errno, WA_ERANGE);
    memset(big, 'a', PROM_NAME_MAX);
    snprintf(big + PROM_NAME_MAX, sizeof big - PROM_NAME_MAX, " 1\n");
    assert_null(prom_parse(big, strlen(big), "t", err, sizeof err));
    assert_int_equal(errno, WA_ERANGE);
    /* The parser takes a length: bytes after it are not read. */
    s = prom_parse("a 1\nb 2\n", 4, "t", err, sizeof err);
    assert_non_null(s);
    assert_int_equal(prom_set_count(s), 1);
    prom_set_free(s);
}

static char *slurp(const char *name, size_t *len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", WA_TEST_DIR, name);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char *buf = malloc(1 << 20);
    assert_non_null(buf);
    *len = fread(buf, 1, (1 << 20) - 1, f);
    buf[*len] = '\0';
    fclose(f);
    return buf;
}

static void test_dcgm_recorded(void **state)
{
    (void)state;
    char err[256];
    size_t len;
    char *txt = slurp("dcgm-v100-issue250.prom", &len);
    prom_set_t *s = prom_parse(txt, len, "v100", err, sizeof err);
    if (!s)
        fail_msg("%s", err);
    assert_int_equal(prom_set_count(s), 9);
    prom_load_t l;
    prom_load_read(s, "DCGM_FI_DEV_POWER_MGMT_LIMIT", &l);
    assert_true(l.gpu_util == 0);
    assert_true(isnan(l.gpu_power_w)); /* not in the capture */
    assert_true(isnan(l.cpu_total));
    assert_true(fabs(l.gauge - 600) < 1e-9);
    prom_set_free(s);
    free(txt);

    txt = slurp("dcgm-a30-mig-issue317.prom", &len);
    s = prom_parse(txt, len, "a30", err, sizeof err);
    if (!s)
        fail_msg("%s", err);
    prom_load_read(s, NULL, &l);
    /* Two boards; each board's repeats (one per MIG instance) averaged, not added. */
    double want = (52.636 * 2 + 52.746 * 2) / 4 + (56.121 + 56.127) / 2;
    assert_true(fabs(l.gpu_power_w - want) < 1e-6);
    double sum, mean;
    size_t n;
    assert_int_equal(prom_gauge(s, "DCGM_FI_DEV_POWER_USAGE", NULL, &sum, &mean, &n), 0);
    assert_int_equal(n, 6); /* without a key, every series counts */
    assert_int_equal(prom_gauge(s, "nothing", NULL, &sum, &mean, &n), -1);
    assert_int_equal(errno, ENOENT);
    prom_set_free(s);
    free(txt);
}

static void test_cpu_busy(void **state)
{
    (void)state;
    assert_true(fabs(prom_cpu_busy(100, 80, 200, 130) - 0.5) < 1e-12);
    assert_true(isnan(prom_cpu_busy(100, 80, 100, 80)));  /* no time passed */
    assert_true(isnan(prom_cpu_busy(100, 80, 50, 40)));   /* reboot */
    const char *t = "node_cpu_seconds_total{cpu=\"0\",mode=\"idle\"} 90\n"
                    "node_cpu_seconds_total{cpu=\"0\",mode=\"iowait\"} 5\n"
                    "node_cpu_seconds_total{cpu=\"0\",mode=\"user\"} 5\n"
                    "node_cpu_seconds_total{cpu=\"1\",mode=\"idle\"} 50\n"
                    "node_cpu_seconds_total{cpu=\"1\",mode=\"system\"} 50\n";
    char err[128];
    prom_set_t *s = prom_parse(t, strlen(t), "t", err, sizeof err);
    assert_non_null(s);
    double tot, idle;
    assert_int_equal(prom_cpu_seconds(s, &tot, &idle), 0);
    assert_true(tot == 200 && idle == 145);
    prom_set_free(s);
}

/* ---- a loopback server for the scraper's failure paths ---- */

typedef struct srv {
    int lfd;
    int port;
    const char *reply; /* NULL = accept and say nothing */
    pthread_t th;
} srv_t;

static void *srv_main(void *arg)
{
    srv_t *s = arg;
    int fd = accept(s->lfd, NULL, NULL);
    if (fd < 0)
        return NULL;
    char buf[2048];
    (void)!recv(fd, buf, sizeof buf, 0);
    if (s->reply)
        (void)!send(fd, s->reply, strlen(s->reply), MSG_NOSIGNAL);
    else
        usleep(600 * 1000);
    close(fd);
    return NULL;
}

static int listen_any(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, 4) < 0 ||
        getsockname(fd, (struct sockaddr *)&a, &al) < 0)
        return -1;
    *port = ntohs(a.sin_port);
    return fd;
}

static void test_scrape_failures(void **state)
{
    (void)state;
    static const struct {
        const char *reply;
        int timeout_ms;
        size_t max;
        int err;
        const char *msg;
    } cases[] = {
        {"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\na 1\n", 2000, 0, 0, NULL},
        {"HTTP/1.1 404 Not Found\r\n\r\n", 2000, 0, WA_EPROTO, "HTTP status 404"},
        {"SSH-2.0-OpenSSH\r\n", 2000, 0, WA_EPROTO, "not an HTTP answer"},
        {"HTTP/1.0 200 OK\r\n\r\n0123456789012345678901234567890123456789", 2000, 16, EFBIG,
         "larger than"},
        {NULL, 200, 0, ETIMEDOUT, "no complete answer in 200 ms"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        srv_t s = {.reply = cases[i].reply};
        s.lfd = listen_any(&s.port);
        assert_true(s.lfd >= 0);
        assert_int_equal(pthread_create(&s.th, NULL, srv_main, &s), 0);
        char url[64], err[256] = "", *body = NULL;
        size_t len = 0;
        snprintf(url, sizeof url, "http://127.0.0.1:%d/metrics", s.port);
        int rc = prom_scrape(url, cases[i].timeout_ms, cases[i].max, &body, &len, err, sizeof err);
        int e = errno;
        pthread_join(s.th, NULL);
        close(s.lfd);
        if (cases[i].err == 0) {
            if (rc != 0)
                fail_msg("case %zu: %s", i, err);
            assert_string_equal(body, "a 1\n");
            assert_int_equal(len, 4);
            free(body);
        } else {
            assert_int_equal(rc, -1);
            assert_int_equal(e, cases[i].err);
            if (!strstr(err, cases[i].msg))
                fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err, cases[i].msg);
        }
    }
    char err[128];
    char *body;
    size_t len;
    static const char *const bad[] = {"https://x/", "http://", "http://h:99999999/", "ftp://a"};
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(prom_scrape(bad[i], 100, 0, &body, &len, err, sizeof err), -1);
        assert_int_equal(errno, EINVAL);
    }
}

/* ---- the real node_exporter ---- */

static pid_t start_node_exporter(int *port)
{
    /* A free port from the kernel; the exporter binds it right after we let it go.  A clash
     * shows up as a failed scrape below, not as a wrong result. */
    int fd = listen_any(port);
    assert_true(fd >= 0);
    close(fd);
    char addr[64];
    snprintf(addr, sizeof addr, "--web.listen-address=127.0.0.1:%d", *port);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        if (null >= 0) {
            dup2(null, 1);
            dup2(null, 2);
        }
        execlp("prometheus-node-exporter", "prometheus-node-exporter", addr,
               "--collector.disable-defaults", "--collector.cpu", "--collector.loadavg",
               (char *)NULL);
        _exit(127);
    }
    return pid;
}

static void test_node_exporter(void **state)
{
    (void)state;
    if (system("command -v prometheus-node-exporter >/dev/null 2>&1") != 0) {
        print_message("prometheus-node-exporter not installed (apt-get install "
                      "prometheus-node-exporter)\n");
        fail();
    }
    int port;
    pid_t pid = start_node_exporter(&port);
    char url[64], err[256] = "";
    snprintf(url, sizeof url, "http://127.0.0.1:%d/metrics", port);
    char *body = NULL;
    size_t len = 0;
    int rc = -1;
    for (int i = 0; i < 100 && rc != 0; i++) { /* up to 5 s for it to listen */
        rc = prom_scrape(url, 1000, 0, &body, &len, err, sizeof err);
        if (rc != 0)
            usleep(50 * 1000);
    }
    if (rc != 0) {
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
        fail_msg("scrape: %s", err);
    }
    prom_set_t *s = prom_parse(body, len, url, err, sizeof err);
    if (!s)
        fail_msg("node_exporter's own output: %s", err);
    prom_load_t l0, l1;
    prom_load_read(s, "node_load1", &l0);
    assert_true(l0.cpu_total > 0 && l0.cpu_idle > 0 && l0.cpu_idle <= l0.cpu_total);
    assert_true(l0.gauge >= 0);
    assert_true(isnan(l0.gpu_util));
    prom_set_free(s);
    free(body);

    /* Burn a CPU between the scrapes so the busy fraction has something to show. */
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    volatile double sink = 0;
    do {
        for (int i = 0; i < 100000; i++)
            sink += i * 0.5;
        clock_gettime(CLOCK_MONOTONIC, &t1);
    } while ((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000 < 1200);
    assert_int_equal(prom_scrape(url, 2000, 0, &body, &len, err, sizeof err), 0);
    s = prom_parse(body, len, url, err, sizeof err);
    assert_non_null(s);
    prom_load_read(s, NULL, &l1);
    double busy = prom_cpu_busy(l0.cpu_total, l0.cpu_idle, l1.cpu_total, l1.cpu_idle);
    /* One of this machine's CPUs was busy: at least a share of 1/ncpu, with margin for the
     * kernel's 10 ms tick accounting. */
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    print_message("node_exporter on port %d: busy %.3f over %ld CPUs\n", port, busy, ncpu);
    assert_true(busy > 0.5 / (double)ncpu && busy <= 1.0);
    prom_set_free(s);
    free(body);

    kill(pid, SIGTERM);
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    /* Stopped: the port answers no more. */
    assert_int_equal(prom_scrape(url, 500, 0, &body, &len, err, sizeof err), -1);
    assert_int_equal(errno, ECONNREFUSED);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest unit[] = {
        cmocka_unit_test(test_parse_table),    cmocka_unit_test(test_labels_and_bounds),
        cmocka_unit_test(test_dcgm_recorded),  cmocka_unit_test(test_cpu_busy),
        cmocka_unit_test(test_scrape_failures),
    };
    const struct CMUnitTest live[] = {cmocka_unit_test(test_node_exporter)};
    if (argc > 1 && !strcmp(argv[1], "node_exporter"))
        return cmocka_run_group_tests(live, NULL, NULL);
    return cmocka_run_group_tests(unit, NULL, NULL);
}
