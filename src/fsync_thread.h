/* fsync_thread.h — one background thread that makes journal files durable, so that an
 * fsync (milliseconds, at times seconds) never stalls the event loop. The only thread
 * of a node; it touches nothing but the file descriptors it is handed.
 *
 * Jobs run in order. Each names the journal position it makes durable (a byte count
 * that only grows, across files); when one finishes the thread writes a byte to the
 * notify descriptor, and the loop collects the results. A job with close_after closes
 * its descriptor once synced (a segment the journal has moved past); dir_fd >= 0 is
 * synced too, so a file just created is found after a power loss. */
#ifndef CAUSALKV_FSYNC_THREAD_H
#define CAUSALKV_FSYNC_THREAD_H

#include <stdbool.h>
#include <stdint.h>

typedef struct ckv_fsync_thread ckv_fsync_thread;

typedef struct ckv_fsync_result {
    uint64_t durable_pos; /* every byte before it is on disk */
    uint64_t fsyncs;      /* finished since start */
    double seconds_sum, seconds_max;
    uint64_t errors; /* fsyncs that failed: what they covered may be lost */
    int last_errno;
} ckv_fsync_result;

ckv_fsync_thread *ckv_fsync_thread_start(void);
int ckv_fsync_thread_notify_fd(const ckv_fsync_thread *t);
/* CKV_OK, or CKV_ERROR when the queue is full (the caller tries again later). A job for
 * the same file as the last queued one and not closing is merged into it. */
int ckv_fsync_thread_submit(ckv_fsync_thread *t, int fd, int dir_fd, uint64_t pos,
                            bool close_after);
/* Drains the notify descriptor and copies the results so far. */
void ckv_fsync_thread_collect(ckv_fsync_thread *t, ckv_fsync_result *out);
/* Waits until every queued job has run (shutdown, before a fork). */
void ckv_fsync_thread_drain(ckv_fsync_thread *t);
/* Runs what is queued, then ends the thread. NULL-safe. */
void ckv_fsync_thread_stop(ckv_fsync_thread *t);

#endif
