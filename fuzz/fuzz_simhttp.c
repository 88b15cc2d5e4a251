/* The simulator's exporter endpoint reads request lines from any loopback client. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "meters/sim/sim-private.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[256];
    char *head = malloc(size + 1);
    if (!head)
        return 0;
    memcpy(head, data, size);
    head[size] = '\0';
    int rc = sim_http_request(head, path, sizeof path);
    if (rc == 0 && (path[0] == '\0' || strlen(path) >= sizeof path))
        abort(); /* a path is given only when it fits */
    if (rc != 0 && rc != 400 && rc != 405)
        abort();
    free(head);
    return 0;
}
