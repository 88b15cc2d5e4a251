/* A real rrdcached for the storage tests, on a UNIX socket, values held until flushed. */
#ifndef WA_TEST_STORAGE_DAEMON_H
#define WA_TEST_STORAGE_DAEMON_H

#include <stddef.h>
#include <sys/types.h>

/* Starts rrdcached (RRDCACHED_BIN) listening on sock with base folder base (-B: nothing
 * outside it), -w 3600 so that values stay in the daemon until flushed (the tests tell the
 * cache from the file), -F to write them out on SIGTERM; its output goes to log.  Waits until
 * it answers PING.  Returns its pid, or -1 with the reason in why. */
pid_t test_daemon_start(const char *sock, const char *base, const char *pidfile, const char *log,
                        char *why, size_t len);
/* SIGTERM and wait; accepts pid <= 0. */
void test_daemon_stop(pid_t pid);

#endif
