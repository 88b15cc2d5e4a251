/*
 * mbus: the read-only door, against real libmodbus servers over loopback TCP and over a
 * pseudo-terminal (RTU), and a scan of the sources for libmodbus write calls.
 *
 *   test_mbus                        the cases below
 *   test_mbus --scan-sources ROOT    the source scan alone (its own ctest)
 */
#define _XOPEN_SOURCE 700 /* posix_openpt, grantpt, ptsname */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <modbus.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/common.h"
#include "meters/mbus/mbus.h"
#include "meters/sim/sim.h"

/* ---- a libmodbus server in a thread ---------------------------------------------------- */

enum { SRV_OK, SRV_SILENT, SRV_DROP, SRV_GARBAGE };
#define SRV_REGS 200

struct server {
    int rtu;
    modbus_t *ctx;
    modbus_mapping_t *map;
    int listen_fd, port;
    int pty_master;
    char pty_path[128];
    atomic_int mode, stop, accepted;
    atomic_int by_fc[256];
    pthread_t th;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Answers one request as the mode says; returns -1 when the client should be dropped. */
static int serve_one(struct server *s, const uint8_t *q, int len)
{
    int hl = modbus_get_header_length(s->ctx);
    atomic_fetch_add(&s->by_fc[q[hl]], 1);
    switch (atomic_load(&s->mode)) {
    case SRV_SILENT: return 0;
    case SRV_DROP: return -1;
    case SRV_GARBAGE: {
        /* Same transaction id, but 1 register where more were asked: libmodbus's EMBBADDATA. */
        uint8_t r[11] = {q[0], q[1], 0, 0, 0, 5, q[6], q[7], 2, 0x12, 0x34};
        if (!s->rtu && write(modbus_get_socket(s->ctx), r, sizeof r) != (ssize_t)sizeof r)
            return -1;
        return 0;
    }
    default: modbus_reply(s->ctx, q, len, s->map); return 0;
    }
}

static void *server_main(void *arg)
{
    struct server *s = arg;
    uint8_t q[MODBUS_TCP_MAX_ADU_LENGTH];
    modbus_set_indication_timeout(s->ctx, 0, 50000);
    while (!atomic_load(&s->stop)) {
        if (!s->rtu && modbus_get_socket(s->ctx) < 0) {
            fd_set rd;
            struct timeval tv = {0, 50000};
            int fd;
            FD_ZERO(&rd);
            FD_SET(s->listen_fd, &rd);
            if (select(s->listen_fd + 1, &rd, NULL, NULL, &tv) <= 0)
                continue;
            fd = s->listen_fd;
            if (modbus_tcp_accept(s->ctx, &fd) < 0)
                continue;
            atomic_fetch_add(&s->accepted, 1);
        }
        int rc = modbus_receive(s->ctx, q);
        if (rc > 0) {
            if (serve_one(s, q, rc) < 0 && !s->rtu) {
                close(modbus_get_socket(s->ctx));
                modbus_set_socket(s->ctx, -1);
            }
        } else if (rc < 0 && errno != ETIMEDOUT && !s->rtu) {
            close(modbus_get_socket(s->ctx));
            modbus_set_socket(s->ctx, -1);
        }
    }
    return NULL;
}

static void server_start(struct server *s, int rtu)
{
    memset(s, 0, sizeof *s);
    s->rtu = rtu;
    s->map = modbus_mapping_new(0, 0, SRV_REGS, SRV_REGS);
    assert_non_null(s->map);
    for (int i = 0; i < SRV_REGS; i++) {
        s->map->tab_registers[i] = (uint16_t)(1000 + i);
        s->map->tab_input_registers[i] = (uint16_t)(2000 + i);
    }
    if (!rtu) {
        struct sockaddr_in sa;
        socklen_t sl = sizeof sa;
        s->ctx = modbus_new_tcp("127.0.0.1", 0); /* port 0: the kernel picks a free one */
        assert_non_null(s->ctx);
        s->listen_fd = modbus_tcp_listen(s->ctx, 4);
        assert_true(s->listen_fd >= 0);
        assert_int_equal(getsockname(s->listen_fd, (struct sockaddr *)&sa, &sl), 0);
        s->port = ntohs(sa.sin_port);
        modbus_set_socket(s->ctx, -1);
    } else {
        s->pty_master = posix_openpt(O_RDWR | O_NOCTTY);
        assert_true(s->pty_master >= 0);
        assert_int_equal(grantpt(s->pty_master), 0);
        assert_int_equal(unlockpt(s->pty_master), 0);
        assert_int_equal(wa_strlcpy(s->pty_path, ptsname(s->pty_master), sizeof s->pty_path), 0);
        /* The server speaks RTU on the master side of the pair; the device path only names it. */
        s->ctx = modbus_new_rtu(s->pty_path, 9600, 'E', 8, 1);
        assert_non_null(s->ctx);
        modbus_set_slave(s->ctx, 1);
        modbus_set_debug(s->ctx, getenv("MBDEBUG") != NULL);
        modbus_set_socket(s->ctx, s->pty_master);
    }
    assert_int_equal(pthread_create(&s->th, NULL, server_main, s), 0);
}

static void server_stop(struct server *s)
{
    atomic_store(&s->stop, 1);
    pthread_join(s->th, NULL);
    if (s->rtu) {
        close(s->pty_master);
    } else {
        if (modbus_get_socket(s->ctx) >= 0)
            close(modbus_get_socket(s->ctx));
        close(s->listen_fd);
    }
    modbus_free(s->ctx);
    modbus_mapping_free(s->map);
}

static int total_requests(struct server *s)
{
    int n = 0;
    for (int i = 0; i < 256; i++)
        n += atomic_load(&s->by_fc[i]);
    return n;
}

static void tcp_bus(sc_bus_t *b, int port)
{
    memset(b, 0, sizeof *b);
    wa_strlcpy(b->id, "gw-test", sizeof b->id);
    b->kind = SC_BUS_TCP;
    wa_strlcpy(b->host, "127.0.0.1", sizeof b->host);
    b->port = port;
}

/* ---- cases ------------------------------------------------------------------------------ */

static void test_fc_table(void **state)
{
    (void)state;
    for (int fc = -1; fc < 256; fc++)
        assert_int_equal(mbus_fc_allowed(fc), fc == 3 || fc == 4);
}

static void test_refuses_before_sending(void **state)
{
    /* Modbus Application Protocol V1.1b3, 6.1-6.21: the write and other non-register-read
     * codes, plus nonsense. */
    static const int refused[] = {0, 1, 2, 5, 6, 7, 8, 11, 15, 16, 17, 20, 21, 22, 23, 24, 43,
                                  65, 100, 131, -3};
    struct server s;
    sc_bus_t b;
    mbus_t *m;
    mbus_stats_t st;
    uint16_t r[4];
    char err[256];
    (void)state;
    server_start(&s, 0);
    tcp_bus(&b, s.port);
    m = mbus_new(&b, err, sizeof err);
    assert_non_null(m);
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        errno = 0;
        assert_int_equal(mbus_read(m, 1, refused[i], 0, 1, 200, r, err, sizeof err), -1);
        assert_int_equal(errno, WA_EWRITEFC);
        assert_non_null(strstr(err, "bus gw-test unit 1: refused"));
    }
    mbus_get_stats(m, &st);
    assert_int_equal(st.refused, sizeof refused / sizeof refused[0]);
    assert_int_equal(st.requests, 0);
    usleep(100000);
    /* Nothing reached the wire: not even a connection. */
    assert_int_equal(atomic_load(&s.accepted), 0);
    assert_int_equal(total_requests(&s), 0);
    mbus_free(m);
    server_stop(&s);
}

static void test_reads_tcp(void **state)
{
    static const struct {
        int fc;
        uint16_t addr, n;
        uint16_t first;
    } cases[] = {
        {3, 0, 1, 1000}, {3, 10, 125, 1010}, {4, 0, 2, 2000}, {4, 75, 125, 2075}, {3, 199, 1, 1199},
    };
    struct server s;
    sc_bus_t b;
    mbus_t *m;
    mbus_stats_t st;
    uint16_t r[125];
    char err[256];
    (void)state;
    server_start(&s, 0);
    tcp_bus(&b, s.port);
    m = mbus_new(&b, err, sizeof err);
    assert_non_null(m);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        memset(r, 0, sizeof r);
        assert_int_equal(mbus_read(m, 1, cases[i].fc, cases[i].addr, cases[i].n, 500, r, err,
                                   sizeof err), 0);
        for (unsigned k = 0; k < cases[i].n; k++)
            assert_int_equal(r[k], cases[i].first + k);
    }
    /* Outside the protocol's 1..125: refused locally. */
    assert_int_equal(mbus_read(m, 1, 3, 0, 126, 500, r, err, sizeof err), -1);
    assert_int_equal(errno, EINVAL);
    assert_int_equal(mbus_read(m, 1, 3, 0, 0, 500, r, err, sizeof err), -1);
    assert_int_equal(mbus_read(m, 1, 3, 0xFFFF, 2, 500, r, err, sizeof err), -1);
    mbus_get_stats(m, &st);
    assert_int_equal(st.requests, 5);
    assert_int_equal(st.replies, 5);
    assert_int_equal(st.reconnects, 0);
    assert_int_equal(atomic_load(&s.by_fc[3]), 3);
    assert_int_equal(atomic_load(&s.by_fc[4]), 2);
    assert_int_equal(total_requests(&s), 5);
    mbus_free(m);
    server_stop(&s);
}

static void test_tcp_faults(void **state)
{
    struct server s;
    sc_bus_t b;
    mbus_t *m;
    mbus_stats_t st;
    uint16_t r[10];
    char err[256];
    double t0, dt;
    (void)state;
    server_start(&s, 0);
    tcp_bus(&b, s.port);
    m = mbus_new(&b, err, sizeof err);
    assert_non_null(m);

    /* A Modbus exception is an answer: the connection stays. */
    assert_int_equal(mbus_read(m, 1, 3, 195, 10, 500, r, err, sizeof err), -1);
    assert_int_equal(errno, EMBXILADD);
    assert_non_null(strstr(err, "bus gw-test unit 1: Illegal data address"));
    assert_int_equal(mbus_read(m, 1, 3, 0, 1, 500, r, err, sizeof err), 0);
    assert_int_equal(atomic_load(&s.accepted), 1);

    /* No answer: a timeout within about the budget, and the connection is re-made. */
    atomic_store(&s.mode, SRV_SILENT);
    t0 = now_s();
    assert_int_equal(mbus_read(m, 1, 3, 0, 1, 150, r, err, sizeof err), -1);
    dt = now_s() - t0;
    assert_int_equal(errno, ETIMEDOUT);
    assert_true(dt >= 0.14 && dt < 0.6);
    atomic_store(&s.mode, SRV_OK);
    assert_int_equal(mbus_read(m, 1, 4, 5, 1, 500, r, err, sizeof err), 0);
    assert_int_equal(r[0], 2005);

    /* The peer hangs up: an error now, a fresh connection next time. */
    atomic_store(&s.mode, SRV_DROP);
    assert_int_equal(mbus_read(m, 1, 3, 0, 1, 500, r, err, sizeof err), -1);
    assert_true(errno == ECONNRESET || errno == EPIPE || errno == ETIMEDOUT);
    atomic_store(&s.mode, SRV_OK);
    assert_int_equal(mbus_read(m, 1, 3, 7, 1, 500, r, err, sizeof err), 0);
    assert_int_equal(r[0], 1007);

    /* A malformed reply. */
    atomic_store(&s.mode, SRV_GARBAGE);
    assert_int_equal(mbus_read(m, 1, 3, 0, 4, 500, r, err, sizeof err), -1);
    assert_int_equal(errno, EMBBADDATA);
    atomic_store(&s.mode, SRV_OK);
    assert_int_equal(mbus_read(m, 1, 3, 0, 4, 500, r, err, sizeof err), 0);
    assert_int_equal(r[3], 1003);

    mbus_get_stats(m, &st);
    assert_int_equal(st.exceptions, 1);
    assert_int_equal(st.timeouts, 1);
    assert_int_equal(st.reconnects, 3);
    assert_int_equal(atomic_load(&s.accepted), 4);
    assert_int_equal(total_requests(&s), 8);
    assert_int_equal(atomic_load(&s.by_fc[3]) + atomic_load(&s.by_fc[4]), 8);
    mbus_free(m);
    server_stop(&s);
}

static void test_unreachable(void **state)
{
    sc_bus_t b;
    mbus_t *m;
    uint16_t r[1];
    char err[256];
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof sa;
    (void)state;
    /* A port that was free a moment ago and has no listener. */
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
    close(fd);
    tcp_bus(&b, ntohs(sa.sin_port));
    m = mbus_new(&b, err, sizeof err);
    assert_non_null(m);
    assert_int_equal(mbus_read(m, 9, 3, 0, 1, 200, r, err, sizeof err), -1);
    assert_int_equal(errno, ECONNREFUSED);
    assert_non_null(strstr(err, "bus gw-test unit 9: Connection refused"));
    mbus_free(m);
    mbus_free(NULL);
}

static void test_reads_rtu(void **state)
{
    struct server s;
    sc_bus_t b;
    mbus_t *m;
    mbus_stats_t st;
    uint16_t r[125];
    char err[256];
    (void)state;
    server_start(&s, 1);
    memset(&b, 0, sizeof b);
    wa_strlcpy(b.id, "rs485", sizeof b.id);
    b.kind = SC_BUS_SERIAL;
    wa_strlcpy(b.device, s.pty_path, sizeof b.device);
    b.baud = 9600;
    b.parity = 'E';
    b.data_bits = 8;
    b.stop_bits = 1;
    m = mbus_new(&b, err, sizeof err);
    assert_non_null(m);
    assert_int_equal(mbus_read(m, 1, 4, 10, 20, 500, r, err, sizeof err), 0);
    for (int k = 0; k < 20; k++)
        assert_int_equal(r[k], 2010 + k);
    assert_int_equal(mbus_read(m, 1, 3, 0, 125, 500, r, err, sizeof err), 0);
    assert_int_equal(r[124], 1124);
    /* The unit stays silent: a timeout, after which the line is flushed and the next read
     * works.  (Not a silent second unit: libmodbus's RTU server then takes the next request
     * for that unit's reply and ignores it.) */
    atomic_store(&s.mode, SRV_SILENT);
    assert_int_equal(mbus_read(m, 1, 3, 0, 1, 100, r, err, sizeof err), -1);
    assert_int_equal(errno, ETIMEDOUT);
    assert_non_null(strstr(err, "bus rs485 unit 1:"));
    atomic_store(&s.mode, SRV_OK);
    assert_int_equal(mbus_read(m, 1, 3, 5, 1, 500, r, err, sizeof err), 0);
    assert_int_equal(r[0], 1005);
    assert_int_equal(mbus_read(m, 1, 6, 5, 1, 500, r, err, sizeof err), -1);
    assert_int_equal(errno, WA_EWRITEFC);
    mbus_get_stats(m, &st);
    assert_int_equal(st.requests, 4);
    assert_int_equal(st.replies, 3);
    assert_int_equal(st.timeouts, 1);
    assert_int_equal(st.refused, 1);
    assert_int_equal(atomic_load(&s.by_fc[3]) + atomic_load(&s.by_fc[4]), 4);
    assert_int_equal(total_requests(&s), 4);
    mbus_free(m);
    server_stop(&s);
}

/* ---- against the simulator: every function code tried, only reads arrive -------------------- */

struct simthread {
    siteconf_t *cfg;
    profile_set_t *ps;
    sim_opts_t o;
    sim_stats_t stats;
    volatile sig_atomic_t stop;
    int rc;
    char err[512];
};

static void *sim_main(void *arg)
{
    struct simthread *t = arg;
    t->rc = sim_run(t->cfg, t->ps, &t->o, &t->stats, t->err, sizeof t->err);
    return NULL;
}

static void test_sim_sees_only_reads(void **state)
{
    static const char conf[] =
        "sites = ( { id = \"s\"; buses = ( { id = \"gw\"; tcp = \"127.0.0.1:26190\"; devices = (\n"
        "  { id = \"m\"; unit = 1; profile = \"eastron-sdm630\"; } ) } ) } );\n";
    const char *dirs[] = {WA_SOURCE_DIR "/profiles"};
    char err[512], ready[] = "/tmp/wa-mbus-sim-ready-XXXXXX";
    struct simthread t;
    pthread_t th;
    mbus_t *m;
    mbus_stats_t st;
    uint16_t r[125];
    int fd, ok = 0;
    (void)state;
    memset(&t, 0, sizeof t);
    fd = mkstemp(ready);
    assert_true(fd >= 0);
    close(fd);
    unlink(ready);
    t.cfg = siteconf_parse(conf, "sim.conf", err, sizeof err);
    assert_non_null(t.cfg);
    t.ps = profile_set_load(dirs, 1, err, sizeof err);
    assert_non_null(t.ps);
    t.o.stop = &t.stop;
    t.o.ready_file = ready;
    t.o.energy_origin = wa_clock_now(NULL) - 3600;
    assert_int_equal(pthread_create(&th, NULL, sim_main, &t), 0);
    for (int i = 0; i < 500 && access(ready, R_OK) != 0; i++)
        usleep(10000);
    assert_int_equal(access(ready, R_OK), 0);
    m = mbus_new(&t.cfg->sites[0].buses[0], err, sizeof err);
    assert_non_null(m);
    /* The SDM630 has input registers only: fc 4 answers, fc 3 gets exception 02. */
    for (int fc = 0; fc < 128; fc++)
        if (mbus_read(m, 1, fc, 0, 2, 500, r, err, sizeof err) == 0 || errno == EMBXILADD)
            ok++;
    assert_int_equal(ok, 2);
    mbus_get_stats(m, &st);
    mbus_free(m);
    t.stop = 1;
    pthread_join(th, NULL);
    assert_int_equal(t.rc, 0);
    assert_int_equal(st.refused, 126);
    assert_int_equal(t.stats.requests, 2);
    for (int fc = 0; fc < 128; fc++)
        assert_int_equal(t.stats.by_fc[fc], fc == 3 || fc == 4 ? 1 : 0);
    profile_set_free(t.ps);
    siteconf_free(t.cfg);
}

/* ---- source scan -------------------------------------------------------------------------- */

/* libmodbus calls that write to a device or send arbitrary frames (libmodbus 3.1 modbus.h),
 * and the bit-packing helpers that only a writer needs. */
static const char *const forbidden[] = {
    "modbus_write_", "modbus_send_raw_request", "modbus_mask_write_register",
    "modbus_write_and_read_registers", "modbus_set_bits_from", NULL,
};

struct scan {
    const char *root;
    int files, hits;
    char first[1100];
};

static void scan_file(struct scan *sc, const char *path, const char *rel)
{
    FILE *f = fopen(path, "r");
    char line[4096];
    int no = 0;
    if (!f)
        return;
    sc->files++;
    while (fgets(line, sizeof line, f)) {
        no++;
        for (const char *const *p = forbidden; *p; p++)
            if (strstr(line, *p)) {
                fprintf(stderr, "%s:%d: calls %s... outside meters/mbus/ (wattaudit only reads)\n",
                        rel, no, *p);
                if (!sc->hits++)
                    snprintf(sc->first, sizeof sc->first, "%s:%d", rel, no);
                break;
            }
    }
    fclose(f);
}

static void scan_dir(struct scan *sc, const char *rel)
{
    char path[2048], sub[1024];
    DIR *d;
    struct dirent *e;
    snprintf(path, sizeof path, "%s/%s", sc->root, rel);
    /* The simulator is a server (it answers, it never sends requests) and mbus is the door. */
    if (strcmp(rel, "meters/sim") == 0 || strcmp(rel, "meters/mbus") == 0)
        return;
    if (!(d = opendir(path)))
        return;
    while ((e = readdir(d)) != NULL) {
        struct stat sb;
        size_t n = strlen(e->d_name);
        if (e->d_name[0] == '.')
            continue;
        snprintf(sub, sizeof sub, "%s/%s", rel, e->d_name);
        snprintf(path, sizeof path, "%s/%s", sc->root, sub);
        if (stat(path, &sb) != 0)
            continue;
        if (S_ISDIR(sb.st_mode))
            scan_dir(sc, sub);
        else if (n > 2 && (strcmp(e->d_name + n - 2, ".c") == 0 ||
                           strcmp(e->d_name + n - 2, ".h") == 0))
            scan_file(sc, path, sub);
    }
    closedir(d);
}

static void scan_tree(struct scan *sc, const char *root)
{
    static const char *const dirs[] = {"meters", "analysis", "dashboard", "firmware", "cli"};
    memset(sc, 0, sizeof *sc);
    sc->root = root;
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++)
        scan_dir(sc, dirs[i]);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* The scanner itself finds a planted call and names its line, and leaves mbus and sim alone. */
static void test_scan_finds_planted(void **state)
{
    char root[] = "/tmp/wa-mbus-scan-XXXXXX", p[512];
    struct scan sc;
    (void)state;
    assert_non_null(mkdtemp(root));
    snprintf(p, sizeof p, "%s/meters", root);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/meters/mbus", root);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/meters/sim", root);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/cli", root);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/meters/mbus/mbus.c", root);
    write_file(p, "modbus_write_register(ctx, 1, 2);\n");
    snprintf(p, sizeof p, "%s/meters/sim/sim.c", root);
    write_file(p, "modbus_set_bits_from_bytes(x);\n");
    snprintf(p, sizeof p, "%s/cli/ok.c", root);
    write_file(p, "int main(void) { return 0; }\n");
    snprintf(p, sizeof p, "%s/meters/evil.c", root);
    write_file(p, "/* reads */\nint f(void)\n{ return modbus_send_raw_request(c, r, 6); }\n");
    scan_tree(&sc, root);
    assert_int_equal(sc.files, 2);
    assert_int_equal(sc.hits, 1);
    assert_string_equal(sc.first, "meters/evil.c:3");
    snprintf(p, sizeof p, "rm -rf '%s'", root);
    assert_int_equal(system(p), 0);
}

static int scan_sources(const char *root)
{
    struct scan sc;
    scan_tree(&sc, root);
    if (sc.files < 5) {
        fprintf(stderr, "scan: only %d source files under %s: wrong root?\n", sc.files, root);
        return 1;
    }
    if (sc.hits) {
        fprintf(stderr, "scan: %d libmodbus write call(s) outside meters/mbus/, first at %s\n",
                sc.hits, sc.first);
        return 1;
    }
    printf("scan: %d source files, no libmodbus write call outside meters/mbus/\n", sc.files);
    return 0;
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fc_table),
        cmocka_unit_test(test_refuses_before_sending),
        cmocka_unit_test(test_reads_tcp),
        cmocka_unit_test(test_tcp_faults),
        cmocka_unit_test(test_unreachable),
        cmocka_unit_test(test_reads_rtu),
        cmocka_unit_test(test_sim_sees_only_reads),
        cmocka_unit_test(test_scan_finds_planted),
    };
    if (argc == 3 && strcmp(argv[1], "--scan-sources") == 0)
        return scan_sources(argv[2]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
