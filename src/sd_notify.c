/* sd_notify.c — one datagram to $NOTIFY_SOCKET per state change (see sd_notify.h). */
#define _DEFAULT_SOURCE /* MSG_DONTWAIT, SOCK_CLOEXEC */
#include "sd_notify.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "causalkv/common.h"
#include "causalkv/log.h"

int ckv_sd_notify(const char *state)
{
    const char *path = getenv("NOTIFY_SOCKET");
    if (path == NULL || path[0] == '\0')
        return CKV_DECLINED;
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    size_t len = strlen(path);
    if ((path[0] != '/' && path[0] != '@') || len >= sizeof(sa.sun_path)) {
        log_warn("NOTIFY_SOCKET=%s is neither an absolute path nor @abstract (or too long)", path);
        return CKV_ERROR;
    }
    memcpy(sa.sun_path, path, len);
    socklen_t salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
    if (path[0] == '@')
        sa.sun_path[0] = '\0'; /* abstract: the name is exactly len bytes, no NUL */
    else
        salen++; /* a path: its terminating NUL included, as systemd does */
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        log_warn("sd_notify: socket: %s", strerror(errno));
        return CKV_ERROR;
    }
    ssize_t n = sendto(fd, state, strlen(state), MSG_DONTWAIT | MSG_NOSIGNAL,
                       (const struct sockaddr *)&sa, salen);
    int saved = errno;
    close(fd);
    if (n < 0) {
        log_warn("sd_notify to %s: %s", path, strerror(saved));
        return CKV_ERROR;
    }
    return CKV_OK;
}
