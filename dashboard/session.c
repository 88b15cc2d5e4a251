/* Sessions: random ids (256 bits from libsodium's CSPRNG) kept in memory, each with its own
 * CSRF token.  A visitor gets a session before logging in so that the login form carries a
 * token too; logging in replaces it with a new id (no session fixation). */
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "dashboard/dash-private.h"

struct dash_sessions {
    pthread_mutex_t lock;
    int idle_s;
    size_t max;
    dash_session_t *s; /* id[0] == '\0' = free */
};

dash_sessions_t *ds_new(size_t max, int idle_s)
{
    dash_sessions_t *s = calloc(1, sizeof *s);
    if (!s || !(s->s = calloc(max, sizeof *s->s))) {
        free(s);
        return NULL;
    }
    pthread_mutex_init(&s->lock, NULL);
    s->max = max;
    s->idle_s = idle_s;
    return s;
}

void ds_free(dash_sessions_t *s)
{
    if (!s)
        return;
    sodium_memzero(s->s, s->max * sizeof *s->s);
    free(s->s);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

static void new_token(char *out)
{
    unsigned char raw[DS_TOKEN_LEN / 2];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2hex(out, DS_TOKEN_LEN + 1, raw, sizeof raw);
}

int ds_token_equal(const char *a, const char *b)
{
    return dp_is_token(a) && dp_is_token(b) && sodium_memcmp(a, b, DS_TOKEN_LEN) == 0;
}

int ds_create(dash_sessions_t *s, const char *user, dash_role_t role, const char *lang, int64_t now,
              dash_session_t *out)
{
    pthread_mutex_lock(&s->lock);
    dash_session_t *slot = NULL, *lru = &s->s[0];
    for (size_t i = 0; i < s->max; i++) {
        dash_session_t *x = &s->s[i];
        if (!x->id[0] || now - x->last > s->idle_s) {
            slot = x;
            break;
        }
        /* Visitors go before users when the table is full. */
        if ((x->user[0] == '\0') > (lru->user[0] == '\0') ||
            ((x->user[0] == '\0') == (lru->user[0] == '\0') && x->last < lru->last))
            lru = x;
    }
    if (!slot)
        slot = lru;
    memset(slot, 0, sizeof *slot);
    new_token(slot->id);
    new_token(slot->csrf);
    wa_strlcpy(slot->user, user ? user : "", sizeof slot->user);
    slot->role = role;
    wa_strlcpy(slot->lang, lang ? lang : "en", sizeof slot->lang);
    slot->created = slot->last = now;
    *out = *slot;
    pthread_mutex_unlock(&s->lock);
    return 0;
}

static dash_session_t *find(dash_sessions_t *s, const char *id)
{
    if (!dp_is_token(id))
        return NULL;
    for (size_t i = 0; i < s->max; i++)
        if (s->s[i].id[0] && sodium_memcmp(s->s[i].id, id, DS_TOKEN_LEN) == 0)
            return &s->s[i];
    return NULL;
}

int ds_lookup(dash_sessions_t *s, const char *id, int64_t now, dash_session_t *out)
{
    pthread_mutex_lock(&s->lock);
    dash_session_t *x = find(s, id);
    int ok = 0;
    if (x && now - x->last > s->idle_s)
        memset(x, 0, sizeof *x);
    else if (x) {
        x->last = now;
        *out = *x;
        ok = 1;
    }
    pthread_mutex_unlock(&s->lock);
    return ok;
}

int ds_set_lang(dash_sessions_t *s, const char *id, const char *lang)
{
    pthread_mutex_lock(&s->lock);
    dash_session_t *x = find(s, id);
    if (x)
        wa_strlcpy(x->lang, lang, sizeof x->lang);
    pthread_mutex_unlock(&s->lock);
    return x ? 0 : -1;
}

void ds_destroy(dash_sessions_t *s, const char *id)
{
    pthread_mutex_lock(&s->lock);
    dash_session_t *x = find(s, id);
    if (x)
        memset(x, 0, sizeof *x);
    pthread_mutex_unlock(&s->lock);
}
