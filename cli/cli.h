/* The subcommands: each parses its arguments and calls into the modules.  Exit codes: 0 ok,
 * 1 failure, 2 usage. */
#ifndef WA_CLI_H
#define WA_CLI_H

int cli_check_config(int argc, char **argv);
int cli_profiles(int argc, char **argv);
int cli_collect(int argc, char **argv);
int cli_sim(int argc, char **argv);
int cli_scan(int argc, char **argv);
int cli_demo(int argc, char **argv);

#endif
