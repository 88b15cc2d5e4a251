/*
 * wa_bench_runmeter: runs one command and reports what it cost.
 *
 *   wa_bench_runmeter OUT -- COMMAND [ARGS...]
 *
 * Starts COMMAND as a child, forwards SIGTERM and SIGINT to it, and when it ends writes one
 * line to OUT: "pid P utime_s U stime_s S maxrss_kb M status X".  On each SIGUSR1 it appends
 * the child's CPU time so far to OUT.mark ("cpu_s C"), read from the child's CPU-time clock
 * (clock_getcpuclockid), so that a caller can split a run's cost at moments: after start-up,
 * and just before it asks the child to stop.  The times and the peak
 * resident set come from wait4()'s rusage, which covers every thread the child ever had,
 * including threads that exited before it; /proc sampling would miss those.  Exits with the
 * child's status (128+signal when it was killed).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Appends the child's CPU time so far to OUT.mark; 0, or -1 with errno. */
static int mark(const char *out, pid_t child)
{
    clockid_t cid;
    struct timespec ts;
    char path[4096];
    int e = clock_getcpuclockid(child, &cid);
    if (e != 0) {
        errno = e;
        return -1;
    }
    if (clock_gettime(cid, &ts) != 0)
        return -1;
    if (snprintf(path, sizeof path, "%s.mark", out) >= (int)sizeof path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    FILE *o = fopen(path, "a");
    if (!o)
        return -1;
    fprintf(o, "cpu_s %.6f\n", (double)ts.tv_sec + ts.tv_nsec / 1e9);
    return fclose(o);
}

int main(int argc, char **argv)
{
    if (argc < 4 || strcmp(argv[2], "--") != 0) {
        fputs("usage: wa_bench_runmeter OUT -- COMMAND [ARGS...]\n", stderr);
        return 2;
    }
    const char *out = argv[1];

    /* Signals stay blocked in this process and are taken with sigtimedwait, so none is lost
     * between a check and a wait and no handler or global is needed. */
    sigset_t sigs, old;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGCHLD);
    sigaddset(&sigs, SIGUSR1);
    sigprocmask(SIG_BLOCK, &sigs, &old);

    pid_t child = fork();
    if (child < 0) {
        perror("fork");
        return 1;
    }
    if (child == 0) {
        sigprocmask(SIG_SETMASK, &old, NULL);
        execvp(argv[3], argv + 3);
        fprintf(stderr, "wa_bench_runmeter: %s: %s\n", argv[3], strerror(errno));
        _exit(127);
    }

    int status = 0;
    struct rusage ru;
    for (;;) {
        pid_t w = wait4(child, &status, WNOHANG, &ru);
        if (w == child)
            break;
        if (w < 0 && errno != EINTR) {
            perror("wait4");
            return 1;
        }
        struct timespec tick = {0, 200 * 1000 * 1000};
        int sig = sigtimedwait(&sigs, NULL, &tick);
        if (sig == SIGTERM || sig == SIGINT)
            kill(child, sig);
        else if (sig == SIGUSR1 && mark(out, child) < 0)
            perror("wa_bench_runmeter: mark");
    }

    FILE *o = fopen(out, "w");
    if (!o) {
        perror(out);
        return 1;
    }
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    fprintf(o, "pid %d utime_s %.6f stime_s %.6f maxrss_kb %ld status %d\n", (int)child,
            (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6,
            (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6, ru.ru_maxrss, code);
    if (fclose(o) != 0) {
        perror(out);
        return 1;
    }
    return code;
}
