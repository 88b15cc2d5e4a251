/*
 * Per-vendor quirk tables: data, one row per fact, each citing where it is documented.
 *
 * PATH rows say where a vendor puts a quantity; they are tried before the generic rules in
 * map.c, in table order.  The other kinds correct what a vendor's descriptor gets wrong.
 * docs/usb-ups.md explains how to add a vendor.  The references are NUT's subdriver tables
 * (networkupstools/nut, drivers/<vendor>-hid.c): facts taken from there, not code.
 */
#include "meters/usbhid/usbhid-private.h"

/* USB vendor IDs as NUT's subdrivers list them (the *_VENDORID defines). */
#define VID_APC 0x051d
#define VID_CPS 0x0764
#define VID_MGE 0x0463
#define VID_TRIPPLITE 0x09ae
#define VID_HP 0x03f0

#define APC "NUT drivers/apc-hid.c, apc_hid2nut"
#define CPS "NUT drivers/cps-hid.c, cps_hid2nut"
#define MGE "NUT drivers/mge-hid.c, mge_hid2nut"
#define TL "NUT drivers/tripplite-hid.c, tripplite_hid2nut"

static const usbhid_quirk_t quirks[] = {
    /* APC: the tables name no output ActivePower or ApparentPower at all, only the load and
     * the rating, so APC units are "load only": power is estimated (docs/usb-ups.md). */
    {VID_APC, 0, USBHID_QK_PATH, USBHID_Q_LOAD, "UPS.Output.PercentLoad", 0, 0, 0,
     APC " (ups.load)"},
    {VID_APC, 0, USBHID_QK_PATH, USBHID_Q_LOAD, "UPS.PowerConverter.PercentLoad", 0, 0, 0,
     APC " (ups.load)"},
    {VID_APC, 0, USBHID_QK_PATH, USBHID_Q_NOMINAL_W, "UPS.PowerConverter.ConfigActivePower", 0,
     0, 0, APC " (ups.realpower.nominal)"},
    {VID_APC, 0, USBHID_QK_PATH, USBHID_Q_NOMINAL_W, "UPS.Output.ConfigActivePower", 0, 0, 0,
     APC " (ups.realpower.nominal)"},
    {VID_APC, 0, USBHID_QK_PATH, USBHID_Q_VOLTAGE, "UPS.Output.Voltage", 0, 0, 0,
     APC " (output.voltage)"},
    {VID_APC, 0, USBHID_QK_PATH, USBHID_Q_CURRENT, "UPS.Output.Current", 0, 0, 0,
     APC " (output.current)"},
    /* "Don't use interrupt pipe on 5G models (used by proprietary protocol)". */
    {VID_APC, 0x0003, USBHID_QK_NO_INTERRUPT, USBHID_Q_POWER_W, NULL, 0, 0, 0,
     "NUT drivers/apc-hid.c, apc_usb_device_table: disable_interrupt_pipe for 051d:0003"},

    /* CyberPower: everything under UPS.Output. */
    {VID_CPS, 0, USBHID_QK_PATH, USBHID_Q_POWER_W, "UPS.Output.ActivePower", 0, 0, 0,
     CPS " (ups.realpower)"},
    {VID_CPS, 0, USBHID_QK_PATH, USBHID_Q_POWER_VA, "UPS.Output.ApparentPower", 0, 0, 0,
     CPS " (ups.power)"},
    {VID_CPS, 0, USBHID_QK_PATH, USBHID_Q_LOAD, "UPS.Output.PercentLoad", 0, 0, 0,
     CPS " (ups.load)"},
    {VID_CPS, 0, USBHID_QK_PATH, USBHID_Q_NOMINAL_VA, "UPS.Output.ConfigApparentPower", 0, 0, 0,
     CPS " (ups.power.nominal)"},
    {VID_CPS, 0, USBHID_QK_PATH, USBHID_Q_NOMINAL_W, "UPS.Output.ConfigActivePower", 0, 0, 0,
     CPS " (ups.realpower.nominal)"},
    {VID_CPS, 0, USBHID_QK_PATH, USBHID_Q_VOLTAGE, "UPS.Output.Voltage", 0, 0, 0,
     CPS " (output.voltage)"},
    /* CP900EPFCLCD, CP1500PFCLCDa and others: the output voltage field keeps the logical
     * limits of the HighVoltageTransfer field before it (report 17 was deleted), so normal
     * voltages fall outside them; NUT resets them to 0..511. */
    {VID_CPS, 0x0501, USBHID_QK_LOGICAL, USBHID_Q_VOLTAGE, "UPS.Input.HighVoltageTransfer", 0,
     0, 511, "NUT drivers/cps-hid.c, cps_fix_report_desc (issue #439, PR #1245)"},
    {VID_CPS, 0x0601, USBHID_QK_LOGICAL, USBHID_Q_VOLTAGE, "UPS.Input.HighVoltageTransfer", 0,
     0, 511, "NUT drivers/cps-hid.c, cps_fix_report_desc (issue #439, PR #1245)"},

    /* Eaton / MGE: power under PowerConverter.Output, ratings on the fourth Flow (output). */
    {VID_MGE, 0, USBHID_QK_PATH, USBHID_Q_POWER_W, "UPS.PowerConverter.Output.ActivePower", 0,
     0, 0, MGE " (ups.realpower)"},
    {VID_MGE, 0, USBHID_QK_PATH, USBHID_Q_POWER_VA, "UPS.PowerConverter.Output.ApparentPower",
     0, 0, 0, MGE " (ups.power)"},
    {VID_MGE, 0, USBHID_QK_PATH, USBHID_Q_LOAD, "UPS.PowerSummary.PercentLoad", 0, 0, 0,
     MGE " (ups.load)"},
    {VID_MGE, 0, USBHID_QK_PATH, USBHID_Q_NOMINAL_VA, "UPS.Flow.[4].ConfigApparentPower", 0, 0,
     0, MGE " (ups.power.nominal)"},
    {VID_MGE, 0, USBHID_QK_PATH, USBHID_Q_NOMINAL_W, "UPS.Flow.[4].ConfigActivePower", 0, 0, 0,
     MGE " (ups.realpower.nominal)"},
    {VID_MGE, 0, USBHID_QK_PATH, USBHID_Q_VOLTAGE, "UPS.PowerConverter.Output.Voltage", 0, 0, 0,
     MGE " (output.voltage)"},
    {VID_MGE, 0, USBHID_QK_PATH, USBHID_Q_CURRENT, "UPS.PowerConverter.Output.Current", 0, 0, 0,
     MGE " (output.current)"},

    /* Tripp Lite (and HP units built on it): power on the outlet, rating on the Flow, and
     * the output voltage under PowerSummary (where other vendors put the battery's). */
    {VID_TRIPPLITE, 0, USBHID_QK_PATH, USBHID_Q_POWER_W, "UPS.OutletSystem.Outlet.ActivePower",
     0, 0, 0, TL " (ups.power)"},
    {VID_TRIPPLITE, 0, USBHID_QK_PATH, USBHID_Q_POWER_W, "UPS.PowerConverter.Output.ActivePower",
     0, 0, 0, TL " (ups.power)"},
    {VID_TRIPPLITE, 0, USBHID_QK_PATH, USBHID_Q_LOAD, "UPS.OutletSystem.Outlet.PercentLoad", 0,
     0, 0, TL " (ups.load)"},
    {VID_TRIPPLITE, 0, USBHID_QK_PATH, USBHID_Q_NOMINAL_VA, "UPS.Flow.ConfigApparentPower", 0,
     0, 0, TL " (ups.power.nominal)"},
    {VID_TRIPPLITE, 0, USBHID_QK_PATH, USBHID_Q_VOLTAGE, "UPS.PowerConverter.Output.Voltage", 0,
     0, 0, TL " (output.voltage)"},
    {VID_TRIPPLITE, 0, USBHID_QK_PATH, USBHID_Q_VOLTAGE, "UPS.PowerSummary.Voltage", 0, 0, 0,
     TL " (output.voltage)"},
    {VID_TRIPPLITE, 0, USBHID_QK_PATH, USBHID_Q_CURRENT, "UPS.PowerConverter.Output.Current", 0,
     0, 0, TL " (output.current)"},
    /* SMART1500LCDT (newer unit): voltages come out 10^5 too small and currents 10^2 too
     * large; NUT applies io_voltage_scale = 100000 and io_current_scale = 0.01. */
    {VID_TRIPPLITE, 0x3016, USBHID_QK_SCALE, USBHID_Q_VOLTAGE, NULL, 100000.0, 0, 0,
     "NUT drivers/tripplite-hid.c, smart1500lcdt_scale"},
    {VID_TRIPPLITE, 0x3016, USBHID_QK_SCALE, USBHID_Q_CURRENT, NULL, 0.01, 0, 0,
     "NUT drivers/tripplite-hid.c, smart1500lcdt_scale"},
    {VID_HP, 0, USBHID_QK_PATH, USBHID_Q_POWER_W, "UPS.OutletSystem.Outlet.ActivePower", 0, 0, 0,
     TL " (HP units share the Tripp Lite subdriver)"},
    {VID_HP, 0, USBHID_QK_PATH, USBHID_Q_LOAD, "UPS.OutletSystem.Outlet.PercentLoad", 0, 0, 0,
     TL " (HP units share the Tripp Lite subdriver)"},
    {VID_HP, 0, USBHID_QK_PATH, USBHID_Q_NOMINAL_VA, "UPS.Flow.ConfigApparentPower", 0, 0, 0,
     TL " (HP units share the Tripp Lite subdriver)"},
};

static const struct {
    uint16_t vid;
    const char *name;
} vendors[] = {
    {VID_APC, "APC"},
    {VID_CPS, "CyberPower"},
    {VID_MGE, "Eaton/MGE"},
    {VID_TRIPPLITE, "Tripp Lite"},
    {VID_HP, "HP (Tripp Lite based)"},
};

const usbhid_quirk_t *usbhid_quirks(size_t *n)
{
    if (n)
        *n = sizeof quirks / sizeof quirks[0];
    return quirks;
}

const char *usbhid_vendor_name(uint16_t vid)
{
    for (size_t i = 0; i < sizeof vendors / sizeof vendors[0]; i++)
        if (vendors[i].vid == vid)
            return vendors[i].name;
    return NULL;
}
