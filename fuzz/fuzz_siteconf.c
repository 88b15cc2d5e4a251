/* libFuzzer target: arbitrary bytes as a site configuration.  The parser must either return a
 * tree or an error with a message; never crash, leak or read out of bounds. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "siteconf/siteconf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[512];
    char *text = malloc(size + 1);
    siteconf_t *c;
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    err[0] = '\0';
    c = siteconf_parse(text, "fuzz.conf", err, sizeof err);
    if (!c && err[0] == '\0')
        abort(); /* every failure must say why */
    siteconf_free(c);
    free(text);
    return 0;
}
