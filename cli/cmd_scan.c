/* wattaudit scan: placeholder until its owner lands it. */
#include <stdio.h>

#include "cli/cli.h"

int cli_scan(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fputs("wattaudit: this command is not built yet\n", stderr);
    return 1;
}
