/*
 * load.c: profiles from files, and the set of several directories' profiles, later
 * directories overriding earlier ones.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/common.h"
#include "meters/profile/profile-private.h"
#include "meters/profile/profile.h"

/* The whole file is read first so that files and the fuzzer share one parser, and so that a
 * NUL byte (which would silently end the text) is caught. */
static char *read_text(const char *path, char *err, size_t errlen)
{
    size_t n;
    char *buf = wa_file_read(path, PROFILE_FILE_MAX, &n, err, errlen);
    const char *nul;

    if (!buf) {
        if (errno == EFBIG) {
            errno = WA_ECONFIG;
            wa_err(err, errlen, "%s:1: larger than %d bytes, not a profile", path,
                   PROFILE_FILE_MAX);
        }
        return NULL;
    }
    if ((nul = memchr(buf, '\0', n)) != NULL) {
        int line = 1;
        for (const char *s = buf; s < nul; s++)
            line += *s == '\n';
        free(buf);
        errno = WA_ECONFIG;
        wa_err(err, errlen, "%s:%d: NUL byte in the text", path, line);
        return NULL;
    }
    return buf;
}

profile_t *profile_load_file(const char *path, char *err, size_t errlen)
{
    char name[PROFILE_NAME_MAX];

    if (!path) {
        errno = EINVAL;
        wa_err(err, errlen, "profile_load_file: no path");
        return NULL;
    }
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t len = strlen(base);
    if (len > 5 && strcmp(base + len - 5, ".conf") == 0)
        len -= 5;
    if (len == 0 || len >= sizeof name) {
        errno = ENAMETOOLONG;
        wa_err(err, errlen, "%s: the file name makes no profile name of 1..%d characters", path,
               PROFILE_NAME_MAX - 1);
        return NULL;
    }
    memcpy(name, base, len);
    name[len] = '\0';

    char *text = read_text(path, err, errlen);
    if (!text)
        return NULL;
    profile_t *p = profile_parse_text(text, name, path, err, errlen);
    int saved = errno;
    free(text);
    errno = saved;
    return p;
}

struct profile_set {
    profile_t **items; /* sorted by name once loading is done */
    size_t n;
};

/* Names compare byte by byte, not by locale, so the order is the same on every machine. */
static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_profile(const void *a, const void *b)
{
    return strcmp((*(profile_t *const *)a)->name, (*(profile_t *const *)b)->name);
}

static int is_conf_name(const char *s)
{
    size_t len = strlen(s);
    return s[0] != '.' && len > 5 && strcmp(s + len - 5, ".conf") == 0;
}

static void free_names(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

/* Sets *names to the *.conf file names of dir, sorted, and *count to their number; the
 * caller frees with free_names().  0, or -1 with errno and err. */
static int list_dir(const char *dir, char ***names, size_t *count, char *err, size_t errlen)
{
    DIR *d = opendir(dir);
    char **v = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;

    *names = NULL;
    *count = 0;
    if (!d) {
        int saved = errno;
        wa_err(err, errlen, "%s: cannot open profile directory: %s", dir, strerror(saved));
        errno = saved;
        return -1;
    }
    while ((e = readdir(d)) != NULL) {
        if (!is_conf_name(e->d_name))
            continue;
        if (n == cap) {
            size_t ncap = cap ? 2 * cap : 16;
            char **grown = realloc(v, ncap * sizeof *v);
            if (!grown)
                goto nomem;
            v = grown;
            cap = ncap;
        }
        if (!(v[n] = strdup(e->d_name)))
            goto nomem;
        n++;
    }
    closedir(d);
    if (n > 1)
        qsort(v, n, sizeof *v, cmp_str);
    *names = v;
    *count = n;
    return 0;
nomem:
    closedir(d);
    free_names(v, n);
    errno = ENOMEM;
    return wa_err(err, errlen, "%s: out of memory", dir);
}

/* Adds p, replacing (and freeing) a profile of the same name from an earlier directory. */
static int set_put(profile_set_t *ps, profile_t *p)
{
    for (size_t i = 0; i < ps->n; i++) {
        if (strcmp(ps->items[i]->name, p->name) == 0) {
            profile_free(ps->items[i]);
            ps->items[i] = p;
            return 0;
        }
    }
    profile_t **grown = realloc(ps->items, (ps->n + 1) * sizeof *grown);
    if (!grown)
        return -1;
    ps->items = grown;
    ps->items[ps->n++] = p;
    return 0;
}

static int load_dir(profile_set_t *ps, const char *dir, char *err, size_t errlen)
{
    char **names = NULL;
    size_t n = 0;
    char path[4096];
    int rc = -1;

    if (list_dir(dir, &names, &n, err, errlen) < 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        struct stat st;
        if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, names[i]) >= sizeof path) {
            errno = ENAMETOOLONG;
            wa_err(err, errlen, "%s/%s: path too long", dir, names[i]);
            goto out;
        }
        /* A folder that happens to end in .conf is not a profile. */
        if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
            continue;
        profile_t *p = profile_load_file(path, err, errlen);
        if (!p)
            goto out;
        if (set_put(ps, p) < 0) {
            profile_free(p);
            errno = ENOMEM;
            wa_err(err, errlen, "%s: out of memory", path);
            goto out;
        }
    }
    rc = 0;
out:
    free_names(names, n);
    return rc;
}

profile_set_t *profile_set_load(const char *const *dirs, size_t n_dirs, char *err, size_t errlen)
{
    if (!dirs && n_dirs > 0) {
        errno = EINVAL;
        wa_err(err, errlen, "profile_set_load: no directories");
        return NULL;
    }
    profile_set_t *ps = calloc(1, sizeof *ps);
    if (!ps) {
        errno = ENOMEM;
        wa_err(err, errlen, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < n_dirs; i++) {
        if (load_dir(ps, dirs[i], err, errlen) < 0) {
            int saved = errno;
            profile_set_free(ps);
            errno = saved;
            return NULL;
        }
    }
    if (ps->n > 1)
        qsort(ps->items, ps->n, sizeof *ps->items, cmp_profile);
    return ps;
}

void profile_set_free(profile_set_t *ps)
{
    if (!ps)
        return;
    for (size_t i = 0; i < ps->n; i++)
        profile_free(ps->items[i]);
    free(ps->items);
    free(ps);
}

const profile_t *profile_set_find(const profile_set_t *ps, const char *name)
{
    for (size_t i = 0; ps && name && i < ps->n; i++)
        if (strcmp(ps->items[i]->name, name) == 0)
            return ps->items[i];
    errno = WA_EPROFILE;
    return NULL;
}

size_t profile_set_count(const profile_set_t *ps)
{
    return ps ? ps->n : 0;
}

const profile_t *profile_set_at(const profile_set_t *ps, size_t i)
{
    if (!ps || i >= ps->n) {
        errno = EINVAL;
        return NULL;
    }
    return ps->items[i];
}
