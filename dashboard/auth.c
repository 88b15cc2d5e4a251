/* Users, roles and passwords, and the login rate limit.
 *
 * The users file has one user a line, "name:role:lang:hash", where hash is libsodium's
 * crypto_pwhash_str() string for Argon2id (RFC 9106) at the library's interactive limits.
 * '#' starts a comment line.  The file is re-read when its mtime changes, so users added with
 * `wattaudit useradd` can log in without a restart. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/common.h"
#include "dashboard/dash-private.h"

static const char *const role_names[DASH_ROLE_COUNT_] = {"viewer", "manager", "officer", "admin"};

const char *dash_role_name(dash_role_t r)
{
    return (unsigned)r < DASH_ROLE_COUNT_ ? role_names[r] : "?";
}

int dash_role_parse(const char *s, dash_role_t *out)
{
    if (!s)
        goto bad;
    for (int i = 0; i < DASH_ROLE_COUNT_; i++)
        if (strcmp(s, role_names[i]) == 0) {
            *out = (dash_role_t)i;
            return 0;
        }
    if (strcmp(s, "facilities_manager") == 0) {
        *out = DASH_ROLE_MANAGER;
        return 0;
    }
    if (strcmp(s, "reporting_officer") == 0) {
        *out = DASH_ROLE_OFFICER;
        return 0;
    }
bad:
    errno = EINVAL;
    return -1;
}

static int name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 63)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '@' || c == '-'))
            return 0;
    }
    return 1;
}

/* Parses the file into a new array.  Count, or -1 with err ("FILE:LINE: what"). */
static int parse_users(const char *path, du_user_t **out, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return wa_err(err, errlen, "%s: %s", path, strerror(errno));
    du_user_t *u = NULL;
    size_t n = 0, cap = 0;
    char line[512];
    int lineno = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0] == '\0' || line[0] == '#')
            continue;
        char *name = line, *role = strchr(name, ':');
        char *lang = role ? strchr(role + 1, ':') : NULL;
        char *hash = lang ? strchr(lang + 1, ':') : NULL;
        if (!hash)
            goto bad_line;
        *role++ = *lang++ = *hash++ = '\0';
        if (n == cap) {
            du_user_t *nu = realloc(u, (cap = cap ? cap * 2 : 8) * sizeof *u);
            if (!nu) {
                errno = ENOMEM;
                wa_err(err, errlen, "%s: out of memory", path);
                goto fail;
            }
            u = nu;
        }
        du_user_t *x = &u[n];
        memset(x, 0, sizeof *x);
        if (!name_ok(name) || dash_role_parse(role, &x->role) < 0 || !dp_lang_parse(lang) ||
            strncmp(hash, "$argon2id$", 10) != 0 || strlen(hash) >= sizeof x->hash)
            goto bad_line;
        wa_strlcpy(x->name, name, sizeof x->name);
        wa_strlcpy(x->lang, dp_lang_parse(lang), sizeof x->lang);
        wa_strlcpy(x->hash, hash, sizeof x->hash);
        for (size_t i = 0; i < n; i++)
            if (strcmp(u[i].name, x->name) == 0) {
                errno = WA_ECONFIG;
                wa_err(err, errlen, "%s:%d: user \"%s\" appears twice", path, lineno, name);
                goto fail;
            }
        n++;
        continue;
    bad_line:
        errno = WA_ECONFIG;
        wa_err(err, errlen,
               "%s:%d: expected name:role:lang:$argon2id$... (roles viewer, manager, officer, "
               "admin; lang en or zh-CN)",
               path, lineno);
        goto fail;
    }
    fclose(f);
    *out = u;
    return (int)n;
fail:
    fclose(f);
    free(u);
    return -1;
}

struct dash_users {
    pthread_mutex_t lock;
    char path[SC_PATH_MAX];
    struct timespec mtime;
    du_user_t *u;
    size_t n;
    char dummy_hash[crypto_pwhash_STRBYTES]; /* verified against for unknown names */
};

static int reload(dash_users_t *u, char *err, size_t errlen)
{
    struct stat sb;
    if (stat(u->path, &sb) < 0)
        return wa_err(err, errlen, "%s: %s", u->path, strerror(errno));
    if (u->u && sb.st_mtim.tv_sec == u->mtime.tv_sec && sb.st_mtim.tv_nsec == u->mtime.tv_nsec)
        return 0;
    du_user_t *nu;
    int n = parse_users(u->path, &nu, err, errlen);
    if (n < 0)
        return -1;
    free(u->u);
    u->u = nu;
    u->n = (size_t)n;
    u->mtime = sb.st_mtim;
    return 0;
}

dash_users_t *du_open(const char *path, char *err, size_t errlen)
{
    if (sodium_init() < 0) {
        errno = EIO;
        wa_err(err, errlen, "libsodium failed to initialise");
        return NULL;
    }
    dash_users_t *u = calloc(1, sizeof *u);
    if (!u || wa_strlcpy(u->path, path, sizeof u->path) < 0) {
        free(u);
        wa_err(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    pthread_mutex_init(&u->lock, NULL);
    /* A hash of random bytes, so that an unknown name takes as long as a wrong password. */
    char junk[32];
    randombytes_buf(junk, sizeof junk);
    if (reload(u, err, errlen) < 0 ||
        crypto_pwhash_str_alg(u->dummy_hash, junk, sizeof junk, crypto_pwhash_OPSLIMIT_INTERACTIVE,
                              crypto_pwhash_MEMLIMIT_INTERACTIVE,
                              crypto_pwhash_ALG_ARGON2ID13) != 0) {
        if (!err[0])
            wa_err(err, errlen, "Argon2id: out of memory");
        du_close(u);
        return NULL;
    }
    return u;
}

void du_close(dash_users_t *u)
{
    if (!u)
        return;
    pthread_mutex_destroy(&u->lock);
    free(u->u);
    free(u);
}

int du_check(dash_users_t *u, const char *name, const char *password, du_user_t *out)
{
    char err[256], hash[crypto_pwhash_STRBYTES];
    du_user_t found = {0};
    int known = 0;
    pthread_mutex_lock(&u->lock);
    if (reload(u, err, sizeof err) < 0) {
        /* Keep the users we had: a half-written file must not lock everyone out. */
    }
    for (size_t i = 0; i < u->n; i++)
        if (strcmp(u->u[i].name, name) == 0) {
            found = u->u[i];
            known = 1;
        }
    wa_strlcpy(hash, known ? found.hash : u->dummy_hash, sizeof hash);
    pthread_mutex_unlock(&u->lock);
    /* The slow part runs outside the lock so that logins do not queue behind each other. */
    int ok = crypto_pwhash_str_verify(hash, password, strlen(password)) == 0;
    if (!ok || !known)
        return 0;
    *out = found;
    sodium_memzero(out->hash, sizeof out->hash);
    return 1;
}

int du_list(dash_users_t *u, du_user_t **out)
{
    char err[256];
    pthread_mutex_lock(&u->lock);
    reload(u, err, sizeof err);
    du_user_t *c = malloc((u->n ? u->n : 1) * sizeof *c);
    size_t n = u->n;
    if (c) {
        memcpy(c, u->u, n * sizeof *c);
        for (size_t i = 0; i < n; i++)
            memset(c[i].hash, 0, sizeof c[i].hash);
    }
    pthread_mutex_unlock(&u->lock);
    if (!c)
        return -1;
    *out = c;
    return (int)n;
}

int dash_user_add(const char *path, const char *name, dash_role_t role, const char *lang,
                  const char *password, char *err, size_t errlen)
{
    if (!path || !name || !password || !name_ok(name) || (unsigned)role >= DASH_ROLE_COUNT_) {
        errno = EINVAL;
        return wa_err(err, errlen, "user names are 1-63 of A-Z a-z 0-9 . _ @ -");
    }
    const char *l = dp_lang_parse(lang ? lang : "en");
    if (!l) {
        errno = EINVAL;
        return wa_err(err, errlen, "language \"%s\": use en or zh-CN", lang);
    }
    if (strlen(password) < 8) {
        errno = EINVAL;
        return wa_err(err, errlen, "passwords have at least 8 characters");
    }
    if (sodium_init() < 0) {
        errno = EIO;
        return wa_err(err, errlen, "libsodium failed to initialise");
    }
    du_user_t *u = NULL;
    int n = 0;
    if (access(path, F_OK) == 0 && (n = parse_users(path, &u, err, errlen)) < 0)
        return -1;
    char hash[crypto_pwhash_STRBYTES];
    if (crypto_pwhash_str_alg(hash, password, strlen(password), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                              crypto_pwhash_MEMLIMIT_INTERACTIVE,
                              crypto_pwhash_ALG_ARGON2ID13) != 0) {
        free(u);
        errno = ENOMEM;
        return wa_err(err, errlen, "Argon2id: out of memory");
    }
    char tmp[SC_PATH_MAX + 32];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        free(u);
        errno = e;
        return wa_err(err, errlen, "%s: %s", tmp, strerror(e));
    }
    fprintf(f, "# wattaudit dashboard users: name:role:lang:argon2id-hash (docs/dashboard.md)\n");
    int replaced = 0;
    for (int i = 0; i < n; i++) {
        if (strcmp(u[i].name, name) == 0) {
            fprintf(f, "%s:%s:%s:%s\n", name, dash_role_name(role), l, hash);
            replaced = 1;
        } else
            fprintf(f, "%s:%s:%s:%s\n", u[i].name, dash_role_name(u[i].role), u[i].lang, u[i].hash);
    }
    if (!replaced)
        fprintf(f, "%s:%s:%s:%s\n", name, dash_role_name(role), l, hash);
    free(u);
    int rc = fflush(f) == 0 && fsync(fileno(f)) == 0 ? 0 : -1;
    int e = errno;
    if (fclose(f) != 0)
        rc = -1, e = errno;
    if (rc == 0 && rename(tmp, path) < 0)
        rc = -1, e = errno;
    if (rc < 0) {
        unlink(tmp);
        errno = e;
        return wa_err(err, errlen, "%s: %s", path, strerror(e));
    }
    return 0;
}

/* ---- Login rate limit: failures per key in a fixed window ---- */

#define DL_SLOTS 1024
struct dl_slot {
    char key[96];
    int failures;
    int64_t window_start;
};

struct dash_limiter {
    pthread_mutex_t lock;
    int max, window;
    struct dl_slot slots[DL_SLOTS];
};

dash_limiter_t *dl_new(int max_failures, int window_s)
{
    dash_limiter_t *l = calloc(1, sizeof *l);
    if (!l)
        return NULL;
    pthread_mutex_init(&l->lock, NULL);
    l->max = max_failures;
    l->window = window_s;
    return l;
}

void dl_free(dash_limiter_t *l)
{
    if (!l)
        return;
    pthread_mutex_destroy(&l->lock);
    free(l);
}

/* The key's slot, or when absent a free or stale one (NULL only if want is 0). */
static struct dl_slot *slot(dash_limiter_t *l, const char *key, int64_t now, int want)
{
    struct dl_slot *free_slot = NULL, *oldest = &l->slots[0];
    for (size_t i = 0; i < DL_SLOTS; i++) {
        struct dl_slot *s = &l->slots[i];
        if (s->key[0] && strcmp(s->key, key) == 0)
            return s;
        if (!free_slot && (!s->key[0] || now - s->window_start >= l->window))
            free_slot = s;
        if (s->window_start < oldest->window_start)
            oldest = s;
    }
    if (!want)
        return NULL;
    struct dl_slot *s = free_slot ? free_slot : oldest;
    memset(s, 0, sizeof *s);
    wa_strlcpy(s->key, key, sizeof s->key);
    s->window_start = now;
    return s;
}

int dl_blocked(dash_limiter_t *l, const char *key, int64_t now)
{
    pthread_mutex_lock(&l->lock);
    struct dl_slot *s = slot(l, key, now, 0);
    int wait = 0;
    if (s && now - s->window_start < l->window && s->failures >= l->max)
        wait = (int)(s->window_start + l->window - now);
    pthread_mutex_unlock(&l->lock);
    return wait;
}

void dl_fail(dash_limiter_t *l, const char *key, int64_t now)
{
    pthread_mutex_lock(&l->lock);
    struct dl_slot *s = slot(l, key, now, 1);
    if (now - s->window_start >= l->window) {
        s->window_start = now;
        s->failures = 0;
    }
    s->failures++;
    pthread_mutex_unlock(&l->lock);
}

void dl_reset(dash_limiter_t *l, const char *key)
{
    pthread_mutex_lock(&l->lock);
    for (size_t i = 0; i < DL_SLOTS; i++)
        if (strcmp(l->slots[i].key, key) == 0)
            memset(&l->slots[i], 0, sizeof l->slots[i]);
    pthread_mutex_unlock(&l->lock);
}
