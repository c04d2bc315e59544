/* journal_codec.h — the records of the durability log and of snapshots, as bytes.
 *
 * A record on disk is a frame:  u32 len | u32 crc | body[len]   (little endian)
 * where crc is the CRC32C (Castagnoli) of body, and body is one type byte followed by
 * that type's fields. Integers in bodies are unsigned LEB128 varints unless said
 * otherwise; strings are a varint length and the bytes. A file (log segment or snapshot)
 * starts with the 8 bytes CKV_JOURNAL_MAGIC, then frames.
 *
 *  VERSION   flags u8 (bit 0 tombstone, bit 1 advances: the version is its origin's next
 *            write here, so clock[origin] = seq after it; other bits 0), origin u16 LE,
 *            seq, lamport, key (u8 length, then the bytes), value (varint length, then
 *            the bytes),
 *            deps: count n (0 = none) then n entries
 *  CLOCK     the replica's clock after a merge: n, then n entries
 *  EPOCH     the replica enters a map: epoch, rf, n members (each a string), base_lamport,
 *            has_base u8 (0/1). The store and clock start empty; base versions follow.
 *  BASE_HELD has_base became true (empty body)
 *  SNAPSHOT  first record of a snapshot file: next_segment (the first log segment not
 *            contained in it), lamport
 *  END       last record of a snapshot file: count of VERSION records in it
 *
 * Plain module: no I/O. Decoding never reads past len and never trusts a length field. */
#ifndef CAUSALKV_JOURNAL_CODEC_H
#define CAUSALKV_JOURNAL_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "causalkv/sbuf.h"
#include "causalkv/shard_map.h"
#include "causalkv/store.h"
#include "causalkv/vclock.h"

#define CKV_JOURNAL_MAGIC "CKVJRN1\n" /* 8 bytes, no NUL written */
#define CKV_JOURNAL_MAGIC_LEN 8
#define CKV_JREC_HEADER 8             /* len + crc */
#define CKV_JREC_MAX_BODY (64u << 20) /* a larger len field is corrupt */
/* The largest value a VERSION record can frame, key and dependencies included. */
#define CKV_JOURNAL_MAX_VALUE (CKV_JREC_MAX_BODY - (4u << 10))

typedef enum ckv_jrec_type {
    CKV_JREC_VERSION = 1,
    CKV_JREC_CLOCK = 2,
    CKV_JREC_EPOCH = 3,
    CKV_JREC_BASE_HELD = 4,
    CKV_JREC_SNAPSHOT = 5,
    CKV_JREC_END = 6,
} ckv_jrec_type;

typedef struct ckv_jrec {
    ckv_jrec_type type;
    /* VERSION: decode hands over one reference (the caller unrefs it) */
    ckv_version *version;
    bool advances;
    /* CLOCK */
    ckv_vclock clock;
    /* EPOCH */
    ckv_shard_map map;
    uint64_t base_lamport;
    bool has_base;
    /* SNAPSHOT */
    uint64_t next_segment;
    uint64_t lamport;
    /* END */
    uint64_t count;
} ckv_jrec;

/* What ckv_jrec_decode found at the start of a buffer. */
typedef enum ckv_jrec_status {
    CKV_JREC_OK = 0,      /* one record decoded; *used = its frame's size */
    CKV_JREC_SHORT = 1,   /* the buffer ends inside the frame (a torn tail at end of file) */
    CKV_JREC_BAD_CRC = 2, /* the frame is complete but its CRC does not match */
    CKV_JREC_BAD = 3,     /* CRC matches but the body is not a valid record, or len is over
                             CKV_JREC_MAX_BODY, or the map/clock is out of range */
    CKV_JREC_NOMEM = 4,
} ckv_jrec_status;

/* Appends one framed VERSION record (the hot path: no ckv_jrec needed). CKV_OK,
 * CKV_NOMEM, or CKV_ERROR for a record the decoder would refuse: a body over
 * CKV_JREC_MAX_BODY (a value near 64 MiB; MAX_VALUE_BYTES allows more) or deps over
 * CKV_VIEW_MAX entries. On failure no byte of the record is left in b and b is marked
 * failed, like any failed sbuf append, so a builder may check ckv_sbuf_failed once. */
int ckv_jrec_put_version(ckv_sbuf *b, const ckv_version *v, bool advances);
/* Appends one framed record of any type (for VERSION: r->version, r->advances). Same
 * results; CKV_ERROR also for an unknown type, a VERSION without version, a clock over
 * CKV_VIEW_MAX entries, or a map that ckv_shard_map_init or ckv_view_add would refuse. */
int ckv_jrec_put(ckv_sbuf *b, const ckv_jrec *r);

/* Decodes the frame at buf[0..len). On CKV_JREC_OK *out holds the record (a VERSION owns
 * a reference) and *used its frame size; on any other status *out holds nothing to free
 * and *used is 0. */
ckv_jrec_status ckv_jrec_decode(const char *buf, size_t len, ckv_jrec *out, size_t *used);

#endif
