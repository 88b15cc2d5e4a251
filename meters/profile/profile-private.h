/*
 * profile-private.h: what profile.c, set.c and the module's own tests and fuzzer share.
 * Not for other modules.
 */
#ifndef WA_PROFILE_PRIVATE_H
#define WA_PROFILE_PRIVATE_H

#include <stddef.h>

#include "meters/profile/profile.h"

/* Profile files are a few kilobytes; anything far larger is a mistake, not a register map. */
#define PROFILE_FILE_MAX (1024 * 1024)

/* Parses the text of a profile file.  name becomes the profile's name, file is used in
 * messages ("file:line: what") and copied into p->file.  The text is not kept.  Returns a
 * profile to free with profile_free(), or NULL with errno (WA_ECONFIG for content errors,
 * ENAMETOOLONG, ENOMEM) and a message in err. */
profile_t *profile_parse_text(const char *text, const char *name, const char *file, char *err,
                              size_t errlen);

#endif
