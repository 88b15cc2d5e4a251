/* The server's own messages in English and Simplified Chinese.  The pages carry their own
 * strings (www/i18n.js); these are the errors the API returns, in the asker's language. */
#include <string.h>

#include "dashboard/dash-private.h"

static const struct {
    const char *en, *zh;
} messages[I18N_COUNT_] = {
    [I18N_BAD_PARAM] = {"parameter '%s' has a value that is not allowed here",
                        "参数“%s”的值不合法"},
    [I18N_UNKNOWN_PARAM] = {"parameter '%s' is not known to this endpoint", "此接口不接受参数“%s”"},
    [I18N_NOT_FOUND] = {"no such page or endpoint: %s", "没有此页面或接口：%s"},
    [I18N_NO_SUCH_CHANNEL] = {"no such channel: %s", "没有此通道：%s"},
    [I18N_NO_SUCH_FINDING] = {"no such finding: %s", "没有此发现：%s"},
    [I18N_NO_SUCH_SITE] = {"no such site: %s", "没有此站点：%s"},
    [I18N_LOGIN_REQUIRED] = {"log in first", "请先登录"},
    [I18N_FORBIDDEN] = {"your role may not do this (needs %s)", "您的角色无权执行此操作（需要%s）"},
    [I18N_CSRF] = {"the form's security token is missing or wrong; reload the page",
                   "表单安全令牌缺失或错误，请刷新页面"},
    [I18N_BAD_LOGIN] = {"wrong user name or password", "用户名或密码错误"},
    [I18N_RATE_LIMITED] = {"too many failed logins; try again in %s s",
                           "登录失败次数过多，请 %s 秒后再试"},
    [I18N_METHOD] = {"method not allowed here", "此处不允许该请求方法"},
    [I18N_TOO_LARGE] = {"request body too large", "请求内容过大"},
    [I18N_BAD_FORM] = {"form field '%s' is missing, repeated, unknown or badly encoded",
                       "表单字段“%s”缺失、重复、未知或编码错误"},
    [I18N_NO_DATA] = {"no data for this request: %s", "此请求没有数据：%s"},
    [I18N_INTERNAL] = {"internal error: %s", "内部错误：%s"},
    [I18N_BAD_ORIGIN] = {"request from another origin refused", "拒绝来自其他来源的请求"},
    [I18N_NO_SUCH_ADDRESS] = {"no such flagged address at this site: %s",
                              "此站点没有此被标记的地址：%s"},
    [I18N_NO_HOSTS] = {"no monitored host draws from channel %s", "没有受监控的主机接在通道 %s 上"},
};

const char *i18n_msg(i18n_msg_t m, const char *lang)
{
    if ((unsigned)m >= I18N_COUNT_)
        m = I18N_INTERNAL;
    return lang && strcmp(lang, "zh-CN") == 0 ? messages[m].zh : messages[m].en;
}
