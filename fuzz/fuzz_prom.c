/* libFuzzer target: arbitrary bytes as a Prometheus text exposition.  The parser must return a
 * set or refuse with a message; never crash, leak or read past the length it was given. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "meters/prom/prom.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256];
    err[0] = '\0';
    /* A private copy of exactly size bytes, so ASan sees any read past the end. */
    char *text = malloc(size ? size : 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    prom_set_t *s = prom_parse(text, size, "fuzz", err, sizeof err);
    if (!s && err[0] == '\0')
        abort(); /* every refusal must say why */
    if (s) {
        prom_load_t l;
        prom_load_read(s, "node_load1", &l);
        for (size_t i = 0; i < prom_set_count(s); i++) {
            const prom_sample_t *m = prom_set_sample(s, i);
            if (!m->name || strlen(m->name) >= PROM_NAME_MAX || m->n_labels > PROM_LABELS_MAX)
                abort();
            (void)prom_sample_label(m, "gpu");
        }
        prom_set_free(s);
    }
    free(text);
    return 0;
}
