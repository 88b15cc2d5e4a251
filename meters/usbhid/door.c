/*
 * The read-only door: the only file that hands a transfer to libusb.
 *
 * A UPS obeys SET_REPORT writes to its control usages (shutdown delays, beeper, battery
 * test), so nothing but reads may ever leave this module.  tests/meters/usbhid checks the
 * tables below and that no other source in the tree calls a libusb transfer function.
 */
#include "meters/usbhid/usbhid-private.h"

int usbhid_request_allowed(uint8_t bm_request_type, uint8_t b_request, uint16_t w_value)
{
    uint8_t kind = (uint8_t)(w_value >> 8);
    switch (bm_request_type) {
    case USBHID_RT_CLASS_IFACE_IN:
        /* HID 1.11, 7.2.1: wValue high byte is the report type, 1 input, 3 feature. */
        return b_request == USBHID_REQ_GET_REPORT && (kind == USBHID_INPUT ||
                                                      kind == USBHID_FEATURE);
    case USBHID_RT_STD_DEVICE_IN:
        return b_request == USBHID_REQ_GET_DESCRIPTOR && kind == USBHID_DT_STRING;
    case USBHID_RT_STD_IFACE_IN:
        return b_request == USBHID_REQ_GET_DESCRIPTOR &&
               (kind == USBHID_DT_HID || kind == USBHID_DT_REPORT);
    default:
        return 0;
    }
}

int usbhid_endpoint_allowed(uint8_t ep)
{
    /* USB 2.0, 9.6.6: bit 7 of the endpoint address is the direction, 1 = IN. */
    return (ep & LIBUSB_ENDPOINT_DIR_MASK) == LIBUSB_ENDPOINT_IN && (ep & 0x0F) != 0;
}

int usbhid_door_control_in(libusb_device_handle *h, uint8_t bm_request_type, uint8_t b_request,
                           uint16_t w_value, uint16_t w_index, uint8_t *buf, uint16_t len,
                           unsigned timeout_ms)
{
    if (!usbhid_request_allowed(bm_request_type, b_request, w_value))
        return LIBUSB_ERROR_ACCESS;
    return libusb_control_transfer(h, bm_request_type, b_request, w_value, w_index, buf, len,
                                   timeout_ms);
}

int usbhid_door_interrupt_in(libusb_device_handle *h, uint8_t ep, uint8_t *buf, int len,
                             int *got, unsigned timeout_ms)
{
    if (!usbhid_endpoint_allowed(ep))
        return LIBUSB_ERROR_ACCESS;
    return libusb_interrupt_transfer(h, ep, buf, len, got, timeout_ms);
}
