/*
 * Usage names and usage paths in NUT's notation ("UPS.PowerConverter.Output.ActivePower"), so
 * that rule and quirk tables read like the NUT subdriver tables they cite.
 */
#include "meters/usbhid/usbhid-private.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct name {
    uint32_t usage;
    const char *name;
} name_t;

/* Names from "Universal Serial Bus Usage Tables for HID Power Devices" 1.0, tables 4.1 and
 * 4.2, spelled as NUT's drivers/usbhid-ups.c hid_usage_lkp spells them. */
static const name_t names[] = {
    {0x00840001, "iName"},           {0x00840002, "PresentStatus"},
    {0x00840003, "ChangedStatus"},   {0x00840004, "UPS"},
    {0x00840005, "PowerSupply"},     {0x00840010, "BatterySystem"},
    {0x00840011, "BatterySystemID"}, {0x00840012, "Battery"},
    {0x00840013, "BatteryID"},       {0x00840014, "Charger"},
    {0x00840015, "ChargerID"},       {0x00840016, "PowerConverter"},
    {0x00840017, "PowerConverterID"}, {0x00840018, "OutletSystem"},
    {0x00840019, "OutletSystemID"},  {0x0084001a, "Input"},
    {0x0084001b, "InputID"},         {0x0084001c, "Output"},
    {0x0084001d, "OutputID"},        {0x0084001e, "Flow"},
    {0x0084001f, "FlowID"},          {0x00840020, "Outlet"},
    {0x00840021, "OutletID"},        {0x00840022, "Gang"},
    {0x00840023, "GangID"},          {0x00840024, "PowerSummary"},
    {0x00840025, "PowerSummaryID"},  {0x00840030, "Voltage"},
    {0x00840031, "Current"},         {0x00840032, "Frequency"},
    {0x00840033, "ApparentPower"},   {0x00840034, "ActivePower"},
    {0x00840035, "PercentLoad"},     {0x00840036, "Temperature"},
    {0x00840037, "Humidity"},        {0x00840038, "BadCount"},
    {0x00840040, "ConfigVoltage"},   {0x00840041, "ConfigCurrent"},
    {0x00840042, "ConfigFrequency"}, {0x00840043, "ConfigApparentPower"},
    {0x00840044, "ConfigActivePower"}, {0x00840045, "ConfigPercentLoad"},
    {0x00840046, "ConfigTemperature"}, {0x00840047, "ConfigHumidity"},
    {0x00840053, "LowVoltageTransfer"}, {0x00840054, "HighVoltageTransfer"},
    {0x00840055, "DelayBeforeReboot"}, {0x00840056, "DelayBeforeStartup"},
    {0x00840057, "DelayBeforeShutdown"}, {0x00840058, "Test"},
    {0x0084005a, "AudibleAlarmControl"}, {0x00840060, "Present"},
    {0x00840061, "Good"},            {0x00840062, "InternalFailure"},
    {0x00840065, "Overload"},        {0x00840069, "ShutdownImminent"},
    {0x0084006e, "Boost"},           {0x0084006f, "Buck"},
    {0x00840073, "CommunicationLost"}, {0x008400fd, "iManufacturer"},
    {0x008400fe, "iProduct"},        {0x008400ff, "iSerialNumber"},
    {0x00850029, "RemainingCapacityLimit"}, {0x0085002a, "RemainingTimeLimit"},
    {0x0085002c, "CapacityMode"},    {0x00850042, "BelowRemainingCapacityLimit"},
    {0x00850043, "RemainingTimeLimitExpired"}, {0x00850044, "Charging"},
    {0x00850045, "Discharging"},     {0x00850046, "FullyCharged"},
    {0x00850047, "FullyDischarged"}, {0x0085004b, "NeedReplacement"},
    {0x00850066, "RemainingCapacity"}, {0x00850067, "FullChargeCapacity"},
    {0x00850068, "RunTimeToEmpty"},  {0x00850083, "DesignCapacity"},
    {0x00850085, "ManufacturerDate"}, {0x00850089, "iDeviceChemistry"},
    {0x0085008b, "Rechargeable"},    {0x0085008c, "WarningCapacityLimit"},
    {0x0085008f, "iOEMInformation"}, {0x008500d0, "ACPresent"},
    {0x008500d1, "BatteryPresent"},
};

const char *usbhid_usage_name(uint32_t usage)
{
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (names[i].usage == usage)
            return names[i].name;
    return NULL;
}

uint32_t usbhid_usage_parse(const char *name)
{
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(names[i].name, name) == 0)
            return names[i].usage;
    if (strlen(name) == 8 && strspn(name, "0123456789abcdefABCDEF") == 8)
        return (uint32_t)strtoul(name, NULL, 16);
    return 0;
}

int usbhid_pattern_parse(const char *s, usbhid_pattern_t *p)
{
    char tok[64];
    uint32_t elems[USBHID_PATH_MAX + 1];
    uint8_t inst[USBHID_PATH_MAX + 1];
    int n = 0;
    if (!s || !p) {
        errno = EINVAL;
        return -1;
    }
    memset(p, 0, sizeof *p);
    while (*s) {
        size_t len = strcspn(s, ".");
        if (len == 0 || len >= sizeof tok) {
            errno = EINVAL;
            return -1;
        }
        memcpy(tok, s, len);
        tok[len] = '\0';
        s += len;
        if (*s == '.')
            s++;
        if (tok[0] == '[') {
            char *end;
            unsigned long k = strtoul(tok + 1, &end, 10);
            if (n == 0 || strcmp(end, "]") != 0 || k == 0 || k > 255) {
                errno = EINVAL;
                return -1;
            }
            inst[n - 1] = (uint8_t)k;
            continue;
        }
        if (n > USBHID_PATH_MAX) {
            errno = EINVAL;
            return -1;
        }
        uint32_t u = usbhid_usage_parse(tok);
        if (u == 0) {
            errno = EINVAL;
            return -1;
        }
        elems[n] = u;
        inst[n] = 0;
        n++;
    }
    if (n < 1) {
        errno = EINVAL;
        return -1;
    }
    p->depth = (uint8_t)(n - 1);
    for (int i = 0; i < n - 1; i++) {
        p->path[i] = elems[i];
        p->inst[i] = inst[i];
    }
    p->usage = elems[n - 1];
    return 0;
}

int usbhid_pattern_match(const usbhid_pattern_t *p, const usbhid_field_t *f)
{
    if (p->depth != f->depth || p->usage != f->usage)
        return 0;
    for (int i = 0; i < p->depth; i++) {
        if (p->path[i] != f->path[i])
            return 0;
        if (p->inst[i] && p->inst[i] != f->inst[i])
            return 0;
    }
    return 1;
}

static size_t put(char *buf, size_t len, size_t at, uint32_t usage, uint8_t inst)
{
    const char *nm = usbhid_usage_name(usage);
    int w;
    if (at >= len)
        return at;
    if (nm)
        w = snprintf(buf + at, len - at, "%s%s", at ? "." : "", nm);
    else
        w = snprintf(buf + at, len - at, "%s%08x", at ? "." : "", usage);
    if (w < 0)
        return at;
    at += (size_t)w;
    if (inst > 0 && at < len) {
        w = snprintf(buf + at, len - at, ".[%u]", inst);
        if (w > 0)
            at += (size_t)w;
    }
    return at;
}

char *usbhid_path_format(const usbhid_field_t *f, char *buf, size_t len)
{
    size_t at = 0;
    if (!buf || len == 0)
        return buf;
    buf[0] = '\0';
    if (!f)
        return buf;
    for (int i = 0; i < f->depth; i++)
        at = put(buf, len, at, f->path[i], f->inst[i]);
    put(buf, len, at, f->usage, 0);
    return buf;
}
