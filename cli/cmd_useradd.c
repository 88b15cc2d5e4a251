/* wattaudit useradd: adds or replaces a dashboard user with an Argon2id password hash. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cli/cli.h"
#include "dashboard/dashboard.h"

static void usage(FILE *out)
{
    fputs("usage: wattaudit useradd --users FILE --role ROLE [--lang en|zh-CN] NAME\n"
          "  ROLE is viewer, manager (facilities), officer (reporting) or admin.\n"
          "  The password is read from the terminal twice, or as one line from standard input.\n",
          out);
}

/* One line from stdin, without echo when it is a terminal. */
static int read_password(const char *prompt, char *buf, size_t len)
{
    struct termios old, quiet;
    int tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &old) == 0;
    if (tty) {
        fputs(prompt, stderr);
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    }
    char *ok = fgets(buf, (int)len, stdin);
    if (tty) {
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
        fputc('\n', stderr);
    }
    if (!ok)
        return -1;
    buf[strcspn(buf, "\r\n")] = '\0';
    return 0;
}

int cli_useradd(int argc, char **argv)
{
    static const struct option longs[] = {{"users", required_argument, NULL, 'u'},
                                          {"role", required_argument, NULL, 'r'},
                                          {"lang", required_argument, NULL, 'l'},
                                          {"help", no_argument, NULL, 'h'},
                                          {NULL, 0, NULL, 0}};
    const char *users = NULL, *role = NULL, *lang = "en";
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
        switch (opt) {
        case 'u':
            users = optarg;
            break;
        case 'r':
            role = optarg;
            break;
        case 'l':
            lang = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    dash_role_t r;
    if (!users || !role || optind != argc - 1) {
        usage(stderr);
        return 2;
    }
    if (dash_role_parse(role, &r) < 0) {
        fprintf(stderr, "wattaudit useradd: role \"%s\": viewer, manager, officer or admin\n",
                role);
        return 2;
    }
    char pw[256], again[256], err[512];
    if (read_password("password: ", pw, sizeof pw) < 0) {
        fprintf(stderr, "wattaudit useradd: no password given\n");
        return 1;
    }
    if (isatty(STDIN_FILENO) &&
        (read_password("again: ", again, sizeof again) < 0 || strcmp(pw, again) != 0)) {
        fprintf(stderr, "wattaudit useradd: the passwords differ\n");
        return 1;
    }
    int rc = dash_user_add(users, argv[optind], r, lang, pw, err, sizeof err);
    memset(pw, 0, sizeof pw);
    memset(again, 0, sizeof again);
    if (rc < 0) {
        fprintf(stderr, "wattaudit useradd: %s\n", err);
        return 1;
    }
    printf("wattaudit useradd: %s is %s in %s\n", argv[optind], dash_role_name(r), users);
    return 0;
}
