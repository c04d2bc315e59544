/* backup_api.c — a consistent snapshot over HTTP, written by a forked child (see
 * backup_api.h). */
#define _GNU_SOURCE /* pipe2 */
#include "backup_api.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "causalkv/log.h"

#define READ_CHUNK (256u << 10)

struct ckv_backup {
    ckv_node *n;
    ckv_req *req;
    pid_t pid;
    int fd;
    struct event *ev;
    ckv_sbuf data;
    uint64_t start_us;
};

static void backup_free(ckv_node *n, ckv_backup *b)
{
    if (b->ev != NULL)
        event_free(b->ev);
    if (b->fd >= 0)
        close(b->fd);
    ckv_sbuf_free(&b->data);
    free(b);
    n->backup = NULL;
}

/* Answers once the child has written everything and exited well. */
static void finish(ckv_backup *b)
{
    ckv_node *n = b->n;
    int status = 0;
    pid_t got;
    while ((got = waitpid(b->pid, &status, 0)) < 0 && errno == EINTR)
        ;
    bool ok = got == b->pid && WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
              !ckv_sbuf_failed(&b->data);
    if (ok) {
        log_info("backup: %.1f MB sent after %.2f s", (double)b->data.len / 1e6,
                 (double)(ckv_mono_us() - b->start_us) / 1e6);
        ckv_reply_typed(b->req, 200, "application/octet-stream", &b->data);
    } else {
        log_error("backup failed (%s)",
                  ckv_sbuf_failed(&b->data) ? "out of memory" : "the snapshot child failed");
        ckv_node_reply_error(n, b->req, 503, "Unable to satisfy request");
    }
    backup_free(n, b);
}

static void on_readable(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    ckv_backup *b = arg;
    char *chunk = malloc(READ_CHUNK);
    ssize_t got = chunk != NULL ? read(fd, chunk, READ_CHUNK) : -1;
    if (got > 0)
        ckv_sbuf_add(&b->data, chunk, (size_t)got);
    free(chunk);
    if (got > 0 || (got < 0 && (errno == EAGAIN || errno == EINTR)))
        return;
    finish(b); /* EOF: the child is done (or died) */
}

/* In the child: the snapshot into the pipe, then out without running any teardown. */
static void child_main(ckv_node *n, int fd, pid_t parent)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(1);
    _exit(ckv_snapshot_write(fd, &n->r, 0) == CKV_OK ? 0 : 1);
}

static int start(ckv_node *n, ckv_backup *b)
{
    int pipefd[2];
    if (pipe2(pipefd, O_CLOEXEC) != 0)
        return CKV_ERROR;
    pid_t parent = getpid();
    b->pid = fork();
    if (b->pid == 0) {
        close(pipefd[0]);
        child_main(n, pipefd[1], parent);
    }
    close(pipefd[1]);
    b->fd = pipefd[0];
    if (b->pid < 0 || fcntl(b->fd, F_SETFL, O_NONBLOCK) != 0)
        return CKV_ERROR;
    b->ev = event_new(n->base, b->fd, EV_READ | EV_PERSIST, on_readable, b);
    return b->ev != NULL && event_add(b->ev, NULL) == 0 ? CKV_OK : CKV_ERROR;
}

void ckv_backup_serve(ckv_node *n, ckv_req *req)
{
    if (n->backup != NULL) {
        ckv_node_reply_error(n, req, 503, "A backup is already in progress");
        return;
    }
    ckv_backup *b = calloc(1, sizeof(*b));
    if (b == NULL) {
        ckv_node_reply_error(n, req, 503, "Unable to satisfy request");
        return;
    }
    b->n = n;
    b->req = req;
    b->fd = -1;
    b->start_us = ckv_mono_us();
    ckv_sbuf_init(&b->data);
    n->backup = b;
    if (start(n, b) != CKV_OK) {
        log_error("backup: cannot start: %s", strerror(errno));
        if (b->pid > 0) {
            kill(b->pid, SIGKILL);
            waitpid(b->pid, NULL, 0);
        }
        ckv_node_reply_error(n, req, 503, "Unable to satisfy request");
        backup_free(n, b);
        return;
    }
    log_info("backup: writing a snapshot of %zu keys (pid %d)",
             ckv_store_live_count(n->r.store) + ckv_store_tombstone_count(n->r.store), (int)b->pid);
}

void ckv_backup_abort(ckv_node *n)
{
    ckv_backup *b = n->backup;
    if (b == NULL)
        return;
    kill(b->pid, SIGKILL);
    waitpid(b->pid, NULL, 0);
    ckv_node_reply_error(n, b->req, 503, "Unable to satisfy request");
    backup_free(n, b);
}
