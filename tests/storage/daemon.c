#include "daemon.h"

#include <errno.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int daemon_answers(const char *sock)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", sock);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0)
        return 0;
    char buf[64] = "";
    int ok = connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0 && write(fd, "PING\n", 5) == 5 &&
             read(fd, buf, sizeof buf - 1) > 0 && strncmp(buf, "0 PONG", 6) == 0;
    close(fd);
    return ok;
}

pid_t test_daemon_start(const char *sock, const char *base, const char *pidfile, const char *log,
                        char *why, size_t len)
{
    char addr[160];
    snprintf(addr, sizeof addr, "unix:%s", sock);
    mkdir(base, 0755);
    unlink(sock);
    unlink(pidfile);
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(why, len, "fork: %s", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execl(RRDCACHED_BIN, "rrdcached", "-g", "-l", addr, "-b", base, "-B", "-p", pidfile, "-w",
              "3600", "-F", (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 500; i++) { /* up to 5 s */
        if (daemon_answers(sock))
            return pid;
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            snprintf(why, len, "rrdcached exited early; see %s", log);
            return -1;
        }
        nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    snprintf(why, len, "rrdcached did not answer on %s", sock);
    return -1;
}

void test_daemon_stop(pid_t pid)
{
    if (pid <= 0)
        return;
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
}
