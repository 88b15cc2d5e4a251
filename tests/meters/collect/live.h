/* The live half of test_collect (test_collect_live.c): groups run by argument. */
#ifndef WA_TEST_COLLECT_LIVE_H
#define WA_TEST_COLLECT_LIVE_H

/* Runs `sim [TEST]`, `child WATTAUDIT` or `interop`; returns the exit code. */
int live_main(int argc, char **argv);

#endif
