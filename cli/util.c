/* What several subcommands share: the profile search path and the stop flag. */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "common/common.h"

/* The one global the house allows: set by SIGTERM/SIGINT, read by the running command. */
static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

volatile sig_atomic_t *cli_stop_flag(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    return &stop_flag;
}

static int is_dir(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
}

const char *cli_builtin_profile_dir(void)
{
    /* An installed binary uses the installed profiles; one run from the build tree, the source's. */
    return is_dir(WA_PROFILE_DIR) ? WA_PROFILE_DIR : WA_SOURCE_PROFILE_DIR;
}

profile_set_t *cli_load_profiles(const siteconf_t *cfg, const char *const *extra, size_t n_extra,
                                 char *err, size_t errlen)
{
    const char *dirs[64];
    size_t n = 0;
    dirs[n++] = cli_builtin_profile_dir();
    for (size_t i = 0; cfg && i < cfg->n_profile_dirs && n < 64; i++)
        dirs[n++] = cfg->profile_dirs[i];
    for (size_t i = 0; i < n_extra && n < 64; i++)
        dirs[n++] = extra[i];
    return profile_set_load(dirs, n, err, errlen);
}
