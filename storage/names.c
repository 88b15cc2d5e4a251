/* Channel names and the folders that hold them. */
#include "storage/storage-private.h"

#include "common/common.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int storage_rel_check(const char *rel, char *err, size_t errlen)
{
    errno = EINVAL;
    if (rel == NULL || rel[0] == '\0')
        return wa_err(err, errlen, "empty channel name");
    if (rel[0] == '/')
        return wa_err(err, errlen, "channel name '%s' is absolute; want site/device/channel", rel);
    if (strlen(rel) >= PATH_MAX / 2)
        return wa_err(err, errlen, "channel name '%.40s...' is too long", rel);
    for (const char *p = rel; *p; p++) {
        unsigned char ch = (unsigned char)*p;
        if (ch <= ' ' || ch == 0x7f)
            return wa_err(err, errlen, "channel name '%s' holds whitespace or a control character",
                          rel);
    }
    const char *comp = rel;
    for (;;) {
        const char *end = strchr(comp, '/');
        size_t n = end ? (size_t)(end - comp) : strlen(comp);
        if (n == 0)
            return wa_err(err, errlen, "channel name '%s' has an empty component", rel);
        if ((n == 1 && comp[0] == '.') || (n == 2 && comp[0] == '.' && comp[1] == '.'))
            return wa_err(err, errlen, "channel name '%s' has a '%.*s' component", rel, (int)n,
                          comp);
        if (!end)
            break;
        comp = end + 1;
    }
    errno = 0;
    return 0;
}

/* Creates one folder; an existing folder is fine, an existing non-folder is ENOTDIR. */
static int mkdir_one(const char *dir, char *err, size_t errlen)
{
    struct stat sb;
    if (mkdir(dir, 0755) == 0)
        return 0;
    int e = errno;
    if (e == EEXIST && stat(dir, &sb) == 0) {
        if (S_ISDIR(sb.st_mode))
            return 0;
        e = ENOTDIR;
    }
    errno = e;
    return wa_err(err, errlen, "cannot create folder '%s': %s", dir, strerror(e));
}

/* mkdir -p over the first n bytes of path. */
static int mkdirs_prefix(const char *path, size_t n, char *err, size_t errlen)
{
    char buf[PATH_MAX];
    if (n == 0)
        return 0;
    if (n >= sizeof buf) {
        errno = ENAMETOOLONG;
        return wa_err(err, errlen, "path '%.60s...' is too long", path);
    }
    memcpy(buf, path, n);
    buf[n] = '\0';
    for (size_t i = 1; i <= n; i++) {
        if (i < n && buf[i] != '/')
            continue;
        if (buf[i - 1] == '/')
            continue; /* "//" or a trailing slash */
        char saved = buf[i];
        buf[i] = '\0';
        int rc = mkdir_one(buf, err, errlen);
        buf[i] = saved;
        if (rc < 0)
            return -1;
    }
    return 0;
}

int storage_mkdirs(const char *dir, char *err, size_t errlen)
{
    return mkdirs_prefix(dir, strlen(dir), err, errlen);
}

int storage_mkdirs_for(const char *path, char *err, size_t errlen)
{
    const char *slash = strrchr(path, '/');
    return slash ? mkdirs_prefix(path, (size_t)(slash - path), err, errlen) : 0;
}
