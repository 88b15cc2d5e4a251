/* wattaudit scan: finds devices on a Modbus TCP gateway or serial line, read-only. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/common.h"
#include "meters/scan/scan.h"

static int usage(void)
{
    fprintf(stderr,
            "usage: wattaudit scan (--tcp HOST:PORT | --serial DEVICE [--baud N] [--parity even|odd|none])\n"
            "                      [--units FIRST-LAST] [--timeout MS] [--profiles DIR]...\n");
    return 2;
}

int cli_scan(int argc, char **argv)
{
    static const struct option longs[] = {
        {"tcp", required_argument, NULL, 't'},      {"serial", required_argument, NULL, 's'},
        {"baud", required_argument, NULL, 'b'},     {"parity", required_argument, NULL, 'P'},
        {"units", required_argument, NULL, 'u'},    {"timeout", required_argument, NULL, 'T'},
        {"profiles", required_argument, NULL, 'p'}, {NULL, 0, NULL, 0}};
    sc_bus_t bus;
    scan_opts_t o = {1, 247, 300};
    const char *extra[32];
    size_t n_extra = 0;
    char err[1024], *end;
    profile_set_t *ps;
    int opt, found, have = 0;

    memset(&bus, 0, sizeof bus);
    wa_strlcpy(bus.id, "scan", sizeof bus.id);
    bus.baud = 9600;
    bus.parity = 'E';
    bus.data_bits = 8;
    bus.stop_bits = 1;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "", longs, NULL)) != -1) {
        switch (opt) {
        case 't': {
            const char *c = strrchr(optarg, ':');
            if (!c || c == optarg || (size_t)(c - optarg) >= sizeof bus.host)
                return usage();
            memcpy(bus.host, optarg, (size_t)(c - optarg));
            bus.port = (int)strtol(c + 1, &end, 10);
            if (*end || bus.port < 1 || bus.port > 65535)
                return usage();
            bus.kind = SC_BUS_TCP;
            have = 1;
            break;
        }
        case 's':
            bus.kind = SC_BUS_SERIAL;
            if (wa_strlcpy(bus.device, optarg, sizeof bus.device) != 0)
                return usage();
            have = 1;
            break;
        case 'b': bus.baud = atoi(optarg); break;
        case 'P':
            bus.parity = strcmp(optarg, "odd") == 0 ? 'O' : strcmp(optarg, "none") == 0 ? 'N' : 'E';
            break;
        case 'u':
            if (sscanf(optarg, "%d-%d", &o.first_unit, &o.last_unit) != 2)
                return usage();
            break;
        case 'T': o.timeout_ms = atoi(optarg); break;
        case 'p':
            if (n_extra < 32)
                extra[n_extra++] = optarg;
            break;
        default: return usage();
        }
    }
    if (!have || o.first_unit < 1 || o.last_unit > 247 || o.first_unit > o.last_unit)
        return usage();
    if (!(ps = cli_load_profiles(NULL, extra, n_extra, err, sizeof err))) {
        fprintf(stderr, "wattaudit: %s\n", err);
        return 1;
    }
    printf("# wattaudit scan of units %d-%d (read-only); paste into a site's buses list.\n",
           o.first_unit, o.last_unit);
    found = scan_bus(&bus, ps, &o, stdout, err, sizeof err);
    profile_set_free(ps);
    if (found < 0) {
        fprintf(stderr, "wattaudit scan: %s\n", err);
        return 1;
    }
    fprintf(stderr, "wattaudit scan: %d unit%s answered\n", found, found == 1 ? "" : "s");
    return 0;
}
