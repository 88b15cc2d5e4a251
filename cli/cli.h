/* The subcommands: each parses its arguments and calls into the modules.  Exit codes: 0 ok,
 * 1 failure, 2 usage. */
#ifndef WA_CLI_H
#define WA_CLI_H

#include <signal.h>
#include <stddef.h>

#include "meters/profile/profile.h"
#include "siteconf/siteconf.h"

int cli_check_config(int argc, char **argv);
int cli_profiles(int argc, char **argv);
int cli_collect(int argc, char **argv);
int cli_sim(int argc, char **argv);
int cli_scan(int argc, char **argv);
int cli_demo(int argc, char **argv);

/* Installs SIGTERM/SIGINT handlers and returns the flag they set. */
volatile sig_atomic_t *cli_stop_flag(void);

/* The shipped profiles' folder: the installed one if present, else the source tree's. */
const char *cli_builtin_profile_dir(void);

/* Loads profiles from the built-in folder, then the config's profile_dirs (cfg may be NULL),
 * then extra folders; later folders override earlier ones.  See profile_set_load(). */
profile_set_t *cli_load_profiles(const siteconf_t *cfg, const char *const *extra, size_t n_extra,
                                 char *err, size_t errlen);

#endif
