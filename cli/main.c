/* wattaudit: the command line.  Parses arguments and calls module functions; nothing more.
 *
 * The commands live in three programs built from this file, so that a long-running collector
 * does not carry the analyzer's and the dashboard's libraries (GSL, libmicrohttpd, GnuTLS,
 * libsodium: about 3 MB resident, docs/install.md):
 *   wattaudit            check-config, profiles, collect, sim, scan, help
 *   wattaudit-analysis   analyze, import, report             (GSL)
 *   wattaudit-dashboard  serve, useradd, demo                (all of the above, libmicrohttpd...)
 * Each knows the whole table.  A command it does not have is handed to the program that has
 * it, as git does with its helpers: looked up beside this program (the build tree) and then in
 * the installed helper folder, and exec'd with the same arguments. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"

#ifdef WA_CLI_CORE
#define CORE(f) f
#else
#define CORE(f) NULL
#endif
#ifdef WA_CLI_ANALYSIS
#define ANALYSIS(f) f
#else
#define ANALYSIS(f) NULL
#endif
#ifdef WA_CLI_DASHBOARD
#define DASHBOARD(f) f
#else
#define DASHBOARD(f) NULL
#endif

static const struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *program; /* the program that has it */
    const char *help;
} commands[] = {
    {"check-config", CORE(cli_check_config), "wattaudit",
     "FILE: validate a site config and its profiles, touching no meter"},
    {"profiles", CORE(cli_profiles), "wattaudit", "[--profiles DIR]...: list the device profiles that load"},
    {"collect", CORE(cli_collect), "wattaudit", "--config FILE: poll every device and store its channels in RRD"},
    {"sim", CORE(cli_sim), "wattaudit", "--config FILE: serve the config's buses as simulated meters"},
    {"scan", CORE(cli_scan), "wattaudit", "--tcp HOST:PORT | --serial DEV: find devices with read-only requests"},
    {"demo", DASHBOARD(cli_demo), "wattaudit-dashboard",
     "[--days N]: run the built-in simulated site through the collector"},
    {"analyze", ANALYSIS(cli_analyze), "wattaudit-analysis",
     "--config FILE | --data DIR: find unexplained loads; kWh, coal, CO2"},
    {"import", ANALYSIS(cli_import), "wattaudit-analysis",
     "--data DIR --channel ID FILE.csv: load interval data into RRD"},
    {"report", ANALYSIS(cli_report), "wattaudit-analysis",
     "--config FILE | --data DIR: the officer's savings statement"},
    {"serve", DASHBOARD(cli_serve), "wattaudit-dashboard",
     "--config FILE --users FILE [--port N]: the dashboard (web)"},
    {"useradd", DASHBOARD(cli_useradd), "wattaudit-dashboard",
     "--users FILE --role ROLE NAME: add a dashboard user (Argon2id)"},
    {"help", NULL, NULL, "list the commands"},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: wattaudit COMMAND [ARGS]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-13s %s\n", commands[i].name, commands[i].help);
}

/* Runs program with argv: from this program's folder, else from the installed helpers'
 * folder (WA_PROGRAM_DIR: the installed wattaudit is in bin/, its helpers in libexec/).
 * Returns only on failure. */
static int hand_over(const char *program, char **argv)
{
    char self[PATH_MAX], path[PATH_MAX + 64];
    const char *dirs[2] = {NULL, WA_PROGRAM_DIR};
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n > 0) {
        self[n] = '\0';
        char *slash = strrchr(self, '/');
        if (slash) {
            *slash = '\0';
            dirs[0] = self;
        }
    }
    for (size_t i = 0; i < 2; i++) {
        if (!dirs[i])
            continue;
        snprintf(path, sizeof path, "%s/%s", dirs[i], program);
        if (access(path, X_OK) == 0) {
            execv(path, argv);
            fprintf(stderr, "wattaudit: cannot run %s: %s\n", path, strerror(errno));
            return 1;
        }
    }
    fprintf(stderr, "wattaudit: '%s' is not installed (looked beside %s and in %s)\n", program,
            dirs[0] ? dirs[0] : "this program", WA_PROGRAM_DIR);
    return 1;
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        const struct command *c = &commands[i];
        if (!c->program || strcmp(argv[1], c->name) != 0)
            continue;
        if (c->run)
            return c->run(argc - 1, argv + 1);
        return hand_over(c->program, argv);
    }
    fprintf(stderr, "wattaudit: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
