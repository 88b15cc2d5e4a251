#include "test_usbhid.h"
int tu_run_nut(void) { return 0; }
