/*
 * The usbhid test program's parts: unit cases (test_usbhid.c), the umockdev cases
 * (test_emu.c), the NUT comparison (test_nut.c) and shared helpers.
 */
#ifndef WA_TEST_USBHID_H
#define WA_TEST_USBHID_H

/* $TMPDIR or /tmp. */
const char *tu_tmpdir(void);
/* CLOCK_MONOTONIC seconds. */
double tu_now(void);
/* Removes a folder and what is in it (one level of subfolders). */
void tu_rmtree(const char *dir);

int tu_run_emu(void);
int tu_run_nut(void);

/* cmocka's assert_float_equal passes for NaN; this one does not. */
#define assert_val(x, want, eps)                                                               \
    do {                                                                                       \
        double x_ = (x);                                                                       \
        if (!(fabs(x_ - (want)) <= (eps)))                                                     \
            fail_msg("%s = %.9g, want %.9g", #x, x_, (double)(want));                          \
    } while (0)

#endif
