/* persist.h — the replica on disk: an append-only journal and snapshots in DATA_DIR.
 *
 * Opening loads the newest snapshot and replays the journal segments after it into the
 * replica (a torn tail is cut with a warning; damage before the end stops the start
 * unless load_truncated), then attaches itself as the replica's journal: every change
 * becomes a record in a buffer that is written once per loop iteration, before any reply
 * of that iteration leaves. Writes' replies go through ckv_persist_reply, which holds
 * them until their records are written (FSYNC=everysec, no) or on disk (always). A
 * background thread does the fsyncs; a forked child writes each snapshot (copy-on-write
 * gives it a consistent image while the node goes on serving), after which the segments
 * it covers are deleted. When the disk refuses a write the journal keeps the records in
 * memory, refuses new writes (ckv_persist_accepting) and retries each second.
 *
 * Owns its files, thread and child; the replica stays the caller's. */
#ifndef CAUSALKV_PERSIST_H
#define CAUSALKV_PERSIST_H

#include <event2/event.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "causalkv/config.h"
#include "causalkv/replica.h"
#include "causalkv/sbuf.h"
#include "net/http_reply.h"

typedef struct ckv_persist ckv_persist;

typedef struct ckv_persist_stats {
    uint64_t journal_bytes;       /* segments not yet folded into a snapshot */
    uint64_t snapshot_bytes;      /* the current snapshot file */
    uint64_t snapshots;           /* written since start */
    double last_snapshot_unix;    /* 0: none since start */
    double last_snapshot_seconds; /* how long the last one took */
    uint64_t fsyncs;
    double fsync_seconds_sum, fsync_seconds_max;
    uint64_t write_errors; /* failed writes of the journal (disk full, I/O error) */
    bool failing;          /* the journal cannot be written now */
    uint64_t recovered_versions;
} ckv_persist_stats;

/* Loads cfg->data_dir into r (fresh from ckv_replica_init with the configured view) and
 * attaches. NULL with err set on failure; the node must not start then. */
ckv_persist *ckv_persist_open(struct event_base *base, const ckv_config *cfg, ckv_replica *r,
                              char *err, size_t errlen);
/* Writes and syncs what is buffered, waits for a snapshot child, detaches. NULL-safe. */
void ckv_persist_close(ckv_persist *p);

/* False while the journal cannot be written: new writes are answered 503. */
bool ckv_persist_accepting(const ckv_persist *p);
/* Answers req (a write's reply, body consumed) once the records so far are as durable as
 * FSYNC asks; 503 instead when the journal failed before that. */
void ckv_persist_reply(ckv_persist *p, ckv_req *req, int status, ckv_sbuf *body);
/* Once a second: everysec fsync, snapshot start and reaping, retry after a failure. */
void ckv_persist_cron(ckv_persist *p);
void ckv_persist_get_stats(const ckv_persist *p, ckv_persist_stats *out);

/* The replica as a snapshot file's bytes, written to fd (blocking; for a forked child):
 * what DATA_DIR/snapshot.ckv holds, and what a backup is. CKV_OK or CKV_ERROR. */
int ckv_snapshot_write(int fd, const ckv_replica *r, uint64_t next_segment);

#endif
