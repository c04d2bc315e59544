/* fsync_thread.c — the journal's background fsyncs (see fsync_thread.h). */
#define _GNU_SOURCE /* pipe2 */
#include "fsync_thread.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "causalkv/common.h"

#define QUEUE_MAX 16

typedef struct job {
    int fd, dir_fd;
    uint64_t pos;
    bool close_after;
} job;

struct ckv_fsync_thread {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake, idle;
    job queue[QUEUE_MAX];
    unsigned head, count;
    bool running_job, stopping;
    int notify[2];
    ckv_fsync_result result; /* under lock */
};

static double seconds_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

static void run_job(ckv_fsync_thread *t, const job *j)
{
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = fdatasync(j->fd);
    int err = rc != 0 ? errno : 0;
    if (rc == 0 && j->dir_fd >= 0 && fsync(j->dir_fd) != 0)
        err = errno;
    if (j->close_after)
        close(j->fd);
    double secs = seconds_since(&t0);
    pthread_mutex_lock(&t->lock);
    t->result.fsyncs++;
    t->result.seconds_sum += secs;
    if (secs > t->result.seconds_max)
        t->result.seconds_max = secs;
    if (err != 0) {
        t->result.errors++;
        t->result.last_errno = err;
    } else if (j->pos > t->result.durable_pos) {
        t->result.durable_pos = j->pos;
    }
    pthread_mutex_unlock(&t->lock);
    char byte = 1;
    while (write(t->notify[1], &byte, 1) < 0 && errno == EINTR)
        ;
}

static void *thread_main(void *arg)
{
    ckv_fsync_thread *t = arg;
    pthread_mutex_lock(&t->lock);
    for (;;) {
        while (t->count == 0 && !t->stopping)
            pthread_cond_wait(&t->wake, &t->lock);
        if (t->count == 0)
            break;
        job j = t->queue[t->head];
        t->head = (t->head + 1) % QUEUE_MAX;
        t->count--;
        t->running_job = true;
        pthread_mutex_unlock(&t->lock);
        run_job(t, &j);
        pthread_mutex_lock(&t->lock);
        t->running_job = false;
        if (t->count == 0)
            pthread_cond_broadcast(&t->idle);
    }
    pthread_mutex_unlock(&t->lock);
    return NULL;
}

ckv_fsync_thread *ckv_fsync_thread_start(void)
{
    ckv_fsync_thread *t = calloc(1, sizeof(*t));
    if (t == NULL)
        return NULL;
    if (pipe2(t->notify, O_CLOEXEC | O_NONBLOCK) != 0) {
        free(t);
        return NULL;
    }
    pthread_mutex_init(&t->lock, NULL);
    pthread_cond_init(&t->wake, NULL);
    pthread_cond_init(&t->idle, NULL);
    if (pthread_create(&t->thread, NULL, thread_main, t) != 0) {
        close(t->notify[0]);
        close(t->notify[1]);
        free(t);
        return NULL;
    }
    return t;
}

int ckv_fsync_thread_notify_fd(const ckv_fsync_thread *t)
{
    return t->notify[0];
}

int ckv_fsync_thread_submit(ckv_fsync_thread *t, int fd, int dir_fd, uint64_t pos, bool close_after)
{
    pthread_mutex_lock(&t->lock);
    int rc = CKV_OK;
    job *last = t->count > 0 ? &t->queue[(t->head + t->count - 1) % QUEUE_MAX] : NULL;
    if (last != NULL && last->fd == fd && !last->close_after) {
        if (pos > last->pos)
            last->pos = pos;
        last->close_after = close_after;
        if (dir_fd >= 0)
            last->dir_fd = dir_fd;
    } else if (t->count == QUEUE_MAX) {
        rc = CKV_ERROR;
    } else {
        t->queue[(t->head + t->count) % QUEUE_MAX] =
            (job){.fd = fd, .dir_fd = dir_fd, .pos = pos, .close_after = close_after};
        t->count++;
        pthread_cond_signal(&t->wake);
    }
    pthread_mutex_unlock(&t->lock);
    return rc;
}

void ckv_fsync_thread_collect(ckv_fsync_thread *t, ckv_fsync_result *out)
{
    char buf[64];
    while (read(t->notify[0], buf, sizeof(buf)) > 0)
        ;
    pthread_mutex_lock(&t->lock);
    *out = t->result;
    pthread_mutex_unlock(&t->lock);
}

void ckv_fsync_thread_drain(ckv_fsync_thread *t)
{
    pthread_mutex_lock(&t->lock);
    while (t->count > 0 || t->running_job)
        pthread_cond_wait(&t->idle, &t->lock);
    pthread_mutex_unlock(&t->lock);
}

void ckv_fsync_thread_stop(ckv_fsync_thread *t)
{
    if (t == NULL)
        return;
    pthread_mutex_lock(&t->lock);
    t->stopping = true;
    pthread_cond_signal(&t->wake);
    pthread_mutex_unlock(&t->lock);
    pthread_join(t->thread, NULL);
    close(t->notify[0]);
    close(t->notify[1]);
    pthread_mutex_destroy(&t->lock);
    pthread_cond_destroy(&t->wake);
    pthread_cond_destroy(&t->idle);
    free(t);
}
