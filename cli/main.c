/* wattaudit: the command line.  Parses arguments and calls module functions; nothing more. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static const struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *help;
} commands[] = {
    {"check-config", cli_check_config, "FILE: validate a site config and its profiles, touching no meter"},
    {"profiles", cli_profiles, "[--profiles DIR]...: list the device profiles that load"},
    {"collect", cli_collect, "--config FILE: poll every device and store its channels in RRD"},
    {"sim", cli_sim, "--config FILE: serve the config's buses as simulated meters"},
    {"scan", cli_scan, "--tcp HOST:PORT | --serial DEV: find devices with read-only requests"},
    {"demo", cli_demo, "[--days N]: run the built-in simulated site through the collector"},
    {"analyze", cli_analyze, "--config FILE | --data DIR: find unexplained loads; kWh, coal, CO2"},
    {"import", cli_import, "--data DIR --channel ID FILE.csv: load interval data into RRD"},
    {"report", cli_report, "--config FILE | --data DIR: the officer's savings statement"},
    {"serve", cli_serve, "--config FILE --users FILE [--port N]: the dashboard (web)"},
    {"useradd", cli_useradd, "--users FILE --role ROLE NAME: add a dashboard user (Argon2id)"},
    {"help", NULL, "list the commands"},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: wattaudit COMMAND [ARGS]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-13s %s\n", commands[i].name, commands[i].help);
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (commands[i].run && strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "wattaudit: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
