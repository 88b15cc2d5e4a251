/* libFuzzer target: arbitrary bytes as a Slurm accounting export (sacct --parsable2) or a jobs
 * schedule, then as a flagged-address list.  Both must parse or refuse with a message naming
 * the line; never crash, leak or read past the length. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/correlate-private.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256];
    char *text = malloc(size ? size : 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    cr_job_t *j = NULL;
    err[0] = '\0';
    int n = cr_jobs_parse("fuzz", text, size, "UTC", &j, err, sizeof err);
    if (n < 0 && err[0] == '\0')
        abort();
    for (int i = 0; i < n; i++)
        if (j[i].to < j[i].from || memchr(j[i].hosts, '\0', sizeof j[i].hosts) == NULL)
            abort();
    free(j);
    cr_flagged_t *f = NULL;
    err[0] = '\0';
    n = cr_flagged_parse("fuzz", text, size, "UTC", &f, err, sizeof err);
    if (n < 0 && err[0] == '\0')
        abort();
    free(f);
    free(text);
    return 0;
}
