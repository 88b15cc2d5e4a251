/* /api/session, /api/login, /api/logout, /api/prefs and /api/users. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/common.h"
#include "dashboard/dash-private.h"

static cJSON *session_json(const dash_session_t *s)
{
    cJSON *j = cJSON_CreateObject();
    if (s->user[0]) {
        cJSON_AddStringToObject(j, "user", s->user);
        cJSON_AddStringToObject(j, "role", dash_role_name(s->role));
    } else {
        cJSON_AddNullToObject(j, "user");
        cJSON_AddNullToObject(j, "role");
    }
    cJSON_AddStringToObject(j, "lang", s->lang);
    cJSON_AddStringToObject(j, "csrf", s->csrf);
    cJSON *can = cJSON_AddObjectToObject(j, "can");
    int in = s->user[0] != '\0';
    cJSON_AddBoolToObject(can, "view", in);
    cJSON_AddBoolToObject(can, "findings", in && s->role >= DASH_ROLE_MANAGER);
    cJSON_AddBoolToObject(can, "report", in && s->role >= DASH_ROLE_OFFICER);
    cJSON_AddBoolToObject(can, "users", in && s->role >= DASH_ROLE_ADMIN);
    return j;
}

enum MHD_Result rt_session(dash_req_t *r)
{
    /* A visitor gets a session here, so that the login form has a CSRF token to send. */
    if (!r->has_session) {
        if (ds_create(r->d->sessions, NULL, DASH_ROLE_VIEWER, r->lang, (int64_t)time(NULL),
                      &r->sess) < 0)
            return dr_error(r, 500, I18N_INTERNAL, "session");
        r->has_session = 1;
        dr_session_cookie(r, r->sess.id);
    }
    return dr_json(r, 200, session_json(&r->sess));
}

enum MHD_Result rt_login(dash_req_t *r)
{
    static const char *const fields[] = {"user", "password", "csrf", NULL};
    char bad[64], user[128], pw[DP_VALUE_MAX], key[160];
    if (!r->body || dp_form_check(r->body, r->body_len, fields, bad, sizeof bad) < 0)
        return dr_error(r, 400, I18N_BAD_FORM, r->body ? bad : "user");
    if (dp_form_get(r->body, r->body_len, "user", user, sizeof user) != 1)
        return dr_error(r, 400, I18N_BAD_FORM, "user");
    if (dp_form_get(r->body, r->body_len, "password", pw, sizeof pw) != 1)
        return dr_error(r, 400, I18N_BAD_FORM, "password");
    int64_t now = (int64_t)time(NULL);
    char ipkey[96];
    snprintf(ipkey, sizeof ipkey, "ip:%s", r->ip);
    snprintf(key, sizeof key, "user:%.100s", user);
    int wait = dl_blocked(r->d->limiter, ipkey, now), w2 = dl_blocked(r->d->limiter, key, now);
    if (w2 > wait)
        wait = w2;
    if (wait > 0) {
        char s[16];
        snprintf(s, sizeof s, "%d", wait);
        r->retry_after = wait;
        sodium_memzero(pw, sizeof pw);
        return dr_error(r, 429, I18N_RATE_LIMITED, s);
    }
    du_user_t u;
    int ok = du_check(r->d->users, user, pw, &u);
    sodium_memzero(pw, sizeof pw);
    if (ok != 1) {
        dl_fail(r->d->limiter, ipkey, now);
        dl_fail(r->d->limiter, key, now);
        return dr_error(r, 401, I18N_BAD_LOGIN, NULL);
    }
    dl_reset(r->d->limiter, ipkey);
    dl_reset(r->d->limiter, key);
    /* A new id at login: a session id known before it (fixation) is worth nothing after. */
    ds_destroy(r->d->sessions, r->sess.id);
    if (ds_create(r->d->sessions, u.name, u.role, u.lang, now, &r->sess) < 0)
        return dr_error(r, 500, I18N_INTERNAL, "session");
    r->lang = r->sess.lang;
    dr_session_cookie(r, r->sess.id);
    return dr_json(r, 200, session_json(&r->sess));
}

enum MHD_Result rt_logout(dash_req_t *r)
{
    ds_destroy(r->d->sessions, r->sess.id);
    dr_session_cookie(r, NULL);
    cJSON *j = cJSON_CreateObject();
    cJSON_AddBoolToObject(j, "ok", 1);
    return dr_json(r, 200, j);
}

enum MHD_Result rt_prefs(dash_req_t *r)
{
    static const char *const fields[] = {"lang", "csrf", NULL};
    char bad[64], lang[32];
    if (dp_form_check(r->body, r->body_len, fields, bad, sizeof bad) < 0)
        return dr_error(r, 400, I18N_BAD_FORM, bad);
    if (dp_form_get(r->body, r->body_len, "lang", lang, sizeof lang) != 1)
        return dr_error(r, 400, I18N_BAD_FORM, "lang");
    const char *l = dp_lang_parse(lang);
    if (!l)
        return dr_error(r, 400, I18N_BAD_PARAM, "lang");
    ds_set_lang(r->d->sessions, r->sess.id, l);
    wa_strlcpy(r->sess.lang, l, sizeof r->sess.lang);
    r->lang = r->sess.lang;
    return dr_json(r, 200, session_json(&r->sess));
}

enum MHD_Result rt_users(dash_req_t *r)
{
    du_user_t *u;
    int n = du_list(r->d->users, &u);
    if (n < 0)
        return dr_error(r, 500, I18N_INTERNAL, "users");
    cJSON *j = cJSON_CreateObject(), *a = cJSON_AddArrayToObject(j, "users");
    for (int i = 0; i < n; i++) {
        cJSON *x = cJSON_CreateObject();
        cJSON_AddStringToObject(x, "name", u[i].name);
        cJSON_AddStringToObject(x, "role", dash_role_name(u[i].role));
        cJSON_AddStringToObject(x, "lang", u[i].lang);
        cJSON_AddItemToArray(a, x);
    }
    free(u);
    return dr_json(r, 200, j);
}
