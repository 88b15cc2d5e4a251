/* The subcommands: each parses its arguments and calls into the modules.  Exit codes: 0 ok,
 * 1 failure, 2 usage. */
#ifndef WA_CLI_H
#define WA_CLI_H

#include <signal.h>
#include <stddef.h>
#include <stdio.h>

#include "analysis/analysis.h"
#include "meters/profile/profile.h"
#include "siteconf/siteconf.h"

int cli_check_config(int argc, char **argv);
int cli_profiles(int argc, char **argv);
int cli_collect(int argc, char **argv);
int cli_sim(int argc, char **argv);
int cli_scan(int argc, char **argv);
int cli_demo(int argc, char **argv);
int cli_analyze(int argc, char **argv);
int cli_import(int argc, char **argv);
int cli_report(int argc, char **argv);
int cli_serve(int argc, char **argv);
int cli_useradd(int argc, char **argv);
/* The dashboard's pages: the installed folder if present, else the source tree's. */
const char *cli_www_dir(void);

/* Options `analyze` and `report` share (cmd_analyze.c): getopt values and their parse. */
enum { CLI_AN_CONFIG = 1000, CLI_AN_DATA, CLI_AN_FROM, CLI_AN_TO, CLI_AN_FACTORS, CLI_AN_TZ,
       CLI_AN_RRDCACHED };
typedef struct cli_analysis_args {
    const char *config, *data, *from, *to, *factors, *tz, *rrdcached;
} cli_analysis_args_t;
void cli_analysis_usage(FILE *out);
/* 1 if opt was one of the shared options (arg is kept, not copied), else 0. */
int cli_analysis_option(cli_analysis_args_t *a, int opt, const char *arg);
/* Loads the config and fills o.  0: ready (the caller frees *cfg with siteconf_free);
 * 1: failed, 2: usage error (both said why on stderr); 3: nothing more to do (a listing). */
int cli_analysis_prepare(const char *cmd, const cli_analysis_args_t *a, an_run_opts_t *o,
                         siteconf_t **cfg);

/* Installs SIGTERM/SIGINT handlers and returns the flag they set. */
volatile sig_atomic_t *cli_stop_flag(void);

/* The shipped profiles' folder: the installed one if present, else the source tree's. */
const char *cli_builtin_profile_dir(void);

/* Loads profiles from the built-in folder, then the config's profile_dirs (cfg may be NULL),
 * then extra folders; later folders override earlier ones.  See profile_set_load(). */
profile_set_t *cli_load_profiles(const siteconf_t *cfg, const char *const *extra, size_t n_extra,
                                 char *err, size_t errlen);

#endif
