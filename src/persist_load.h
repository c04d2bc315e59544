/* persist_load.h — recovery: the newest snapshot and the journal segments after it,
 * replayed into a replica, in the order they were written (so the state is a prefix of
 * the history: never a later change without the earlier ones).
 *
 * A torn tail (the last record of the last segment incomplete or failing its CRC) is cut
 * off with a warning. Damage anywhere else stops the load with an error naming the file
 * and offset, unless load_truncated: then the damaged record and everything after it
 * (later segments included) are dropped, with a warning. Plain file I/O; no event loop. */
#ifndef CAUSALKV_PERSIST_LOAD_H
#define CAUSALKV_PERSIST_LOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "causalkv/replica.h"

#define CKV_SNAPSHOT_FILE "snapshot.ckv"
#define CKV_SNAPSHOT_TMP "snapshot.tmp"
#define CKV_SEGMENT_FMT "journal-%08llu.ckv"

typedef struct ckv_load_result {
    bool found;             /* the directory held a snapshot or a segment */
    uint64_t last_segment;  /* the segment to append to (exists when found) */
    uint64_t first_segment; /* the oldest segment kept */
    uint64_t segment_bytes; /* size of the last segment after any cut */
    uint64_t journal_bytes; /* all kept segments */
    uint64_t snapshot_bytes;
    uint64_t versions; /* version records replayed */
    uint64_t dropped_bytes;
} ckv_load_result;

int ckv_persist_load(int dir_fd, const char *dir, bool load_truncated, ckv_replica *r,
                     ckv_load_result *out, char *err, size_t errlen);

/* The segment's file name (buf holds 32 bytes). */
void ckv_segment_name(uint64_t seg, char *buf, size_t len);

#endif
