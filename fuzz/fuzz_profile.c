/* libFuzzer target: arbitrary bytes as a device profile.  The parser must return a profile
 * whose fields keep their promises, or fail with a "fuzz.conf:LINE: " message; it must never
 * crash, leak or read out of bounds.  Rows that load are decoded and encoded too. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "meters/profile/profile-private.h"
#include "meters/profile/profile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_profile(const profile_t *p, const uint8_t *data, size_t size)
{
    uint16_t words[4] = {0};

    /* The input's first bytes double as register words, so decoding sees varied patterns. */
    for (size_t i = 0; i < 4 && 2 * i + 1 < size; i++)
        words[i] = (uint16_t)(data[2 * i] << 8 | data[2 * i + 1]);
    if (p->n_regs == 0 || p->n_channels == 0 || p->n_channels > p->n_regs || p->max_regs < 1 ||
        p->max_regs > 125 || p->fingerprint_reg >= (int)p->n_regs)
        abort();
    for (size_t i = 0; i < p->n_regs; i++) {
        const profile_reg_t *r = &p->regs[i];
        unsigned n = profile_type_words(r->type);
        double v;
        uint16_t back[4];
        if (n == 0 || (unsigned)r->address + n - 1 > 65535 || (int)n > p->max_regs ||
            r->n_sentinels > PROFILE_SENTINELS_MAX || r->channel[0] == '\0')
            abort();
        if (profile_decode(r, words, (int)(int16_t)words[0], &v) < 0 && errno != WA_ESENTINEL &&
            errno != WA_ERANGE)
            abort();
        /* encode is decode's inverse on the raw value for every type the row can have */
        profile_reg_t plain = *r;
        plain.scale = plain.unit_factor = 1.0;
        plain.sf_address = -1;
        plain.min = plain.max = NAN;
        plain.n_sentinels = 0;
        if (profile_decode(&plain, words, 0, &v) == 0) {
            if (profile_encode(v, r->type, r->order, back) != n)
                abort();
            if (r->type != PROFILE_T_U64 && r->type != PROFILE_T_S64 &&
                profile_raw(back, r->type, r->order) != profile_raw(words, r->type, r->order))
                abort();
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char prefix[] = "fuzz.conf:";
    char err[512];
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    err[0] = '\0';
    profile_t *p = profile_parse_text(text, "fuzz", "fuzz.conf", err, sizeof err);
    if (p)
        check_profile(p, data, size);
    else if (errno != WA_ECONFIG || strncmp(err, prefix, sizeof prefix - 1) != 0)
        abort(); /* every content error says where, as "file:line: what" */
    profile_free(p);
    free(text);
    return 0;
}
