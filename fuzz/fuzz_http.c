/* libFuzzer target for the dashboard's request parsers (dashboard/parse.c): form bodies,
 * cookies, URL escapes, Accept-Language, ids and numbers, on arbitrary bytes. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dashboard/dash-private.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const allowed[] = {"user", "password", "csrf", "lang", NULL};
    char *s = malloc(size + 1), out[DP_VALUE_MAX], bad[64];
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    /* As a body (with its NUL bytes), then as header text up to the first NUL. */
    dp_urldecode(s, size, out, sizeof out);
    dp_form_check(s, size, allowed, bad, sizeof bad);
    for (size_t i = 0; allowed[i]; i++)
        dp_form_get(s, size, allowed[i], out, sizeof out);
    dp_cookie_get(s, "wa_session", out, 65);
    dp_lang_negotiate(s);
    dp_lang_parse(s);
    dp_is_id(s);
    dp_is_channel_id(s);
    dp_is_token(s);
    long l;
    double d;
    dp_parse_long(s, -1000, 1000, &l);
    dp_parse_double(s, 0, 1e9, &d);
    char items[8][SC_ID_MAX];
    dp_id_list(s, items, 8);
    free(s);
    return 0;
}
