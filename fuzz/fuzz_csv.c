/* libFuzzer target: arbitrary bytes as a CSV export for `wattaudit import`.  The parser must
 * return a series or an error naming the file and line; never crash, leak or read out of
 * bounds.  The first byte picks the options, so every combination is reached. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/analysis.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const zones[] = {NULL, "UTC", "Asia/Shanghai", "America/Los_Angeles"};
    static const an_unit_t units[] = {AN_UNIT_AUTO, AN_UNIT_KW, AN_UNIT_W, AN_UNIT_KWH};
    if (size < 1)
        return 0;
    uint8_t sel = data[0];
    an_import_opts_t o = {.tz = zones[sel & 3],
                          .unit = units[(sel >> 2) & 3],
                          .stamp_end = (sel >> 4) & 1,
                          .skip_bad = (sel >> 5) & 1,
                          .column = (sel >> 6) & 1 ? "3" : NULL};
    FILE *devnull = fopen("/dev/null", "w");
    if (!devnull)
        return 0;
    o.warn = devnull;
    char err[512];
    err[0] = '\0';
    an_import_series_t s;
    /* Not NUL-terminated on purpose: the parser takes a length. */
    int rc = an_import_parse("fuzz.csv", (const char *)data + 1, size - 1, &o, &s, err, sizeof err);
    if (rc < 0 && err[0] == '\0')
        abort(); /* every refusal must say why */
    if (rc == 0) {
        if (s.n == 0 || s.step <= 0 || !s.v)
            abort();
        size_t known = 0;
        for (size_t i = 0; i < s.n; i++)
            known += !isnan(s.v[i]);
        if (known > s.rows)
            abort(); /* a value nobody wrote */
        free(s.v);
    }
    fclose(devnull);
    return 0;
}
