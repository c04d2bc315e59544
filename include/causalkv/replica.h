/* replica.h — this node's causal state and every rule that changes it.
 *
 * A replica holds the view in force (shard map, this node's place in it), the store, the
 * clock of this node's shard, the Lamport time and the log of this node's own writes.
 * Nothing outside replica.c writes these fields; the glue reads them. The rules:
 *  - epoch: causality holds within an epoch; a context of an older one counts as empty,
 *    one of a newer epoch is not ready here;
 *  - readiness: an operation runs only when ctx[r] <= clock[r] for every replica r of
 *    this shard (and the serving gates below are open);
 *  - local write: dot (self, clock[self] + 1), Lamport time above both this node's and the
 *    key's current one, dependencies = the writer's context; the reply context gains the
 *    dot;
 *  - read: the reply context merges the version's dot and its dependencies;
 *  - push: a peer's own write is applied only when it is the next of its origin, so
 *    clock[origin] stays exact;
 *  - anti-entropy: any version joins; once every chunk of a peer's answer is in, the clock
 *    merges the peer's clock;
 *  - a new epoch: a new map, clock and log at zero, the store replaced by the epoch's
 *    base state (whose Lamport times are kept, so later writes still win).
 * The join (store.c) orders versions of one key by (Lamport time, origin): commutative,
 * associative and idempotent, so replicas that saw the same versions agree.
 *
 * Serving gates: what the node may serve at all, whatever the context says. The rules
 * here set them when the map changes; the glue that learns the facts (membership,
 * catch-up from replicas, a view change preparing) opens and closes them through the
 * calls below. */
#ifndef CAUSALKV_REPLICA_H
#define CAUSALKV_REPLICA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "causalkv/journal_codec.h"
#include "causalkv/shard_map.h"
#include "causalkv/store.h"
#include "causalkv/vclock.h"
#include "causalkv/wlog.h"

typedef enum ckv_op { CKV_OP_GET, CKV_OP_PUT, CKV_OP_DELETE } ckv_op;

/* What a peer's pushed version did (ckv_replica_apply_push). */
typedef enum ckv_push_result {
    CKV_PUSH_APPLIED,   /* the next write of its origin: applied, clock advanced */
    CKV_PUSH_DUPLICATE, /* already reflected here */
    CKV_PUSH_REFUSED,   /* a gap, or not the sender's own write: anti-entropy repairs */
} ckv_push_result;

typedef struct ckv_replica ckv_replica;

/* Who hears of every change to the state a restart must find again (persistence), in the
 * order the changes happen, so that any prefix of what it heard is a state this replica
 * was in. version: a version installed (advances: it was its origin's next write here, so
 * clock[origin] = its seq); clock: the clock after a merge; epoch: a new map is in force,
 * the store now holds the epoch's base (or nothing, to be fetched); base_held: the base
 * state arrived. The callbacks run inside the replica's calls: they may only record. */
typedef struct ckv_replica_journal {
    void (*version)(void *arg, const ckv_version *v, bool advances);
    void (*clock)(void *arg, const ckv_vclock *clock);
    void (*epoch)(void *arg, const ckv_replica *r);
    void (*base_held)(void *arg);
    void *arg;
} ckv_replica_journal;

struct ckv_replica {
    ckv_shard_map map; /* the view in force */
    uint64_t map_gen;  /* counts maps installed, so late replies to an older one are known */
    int self;          /* index of this node in map.view; -1 when not a member (standby) */
    uint32_t shard;    /* this node's shard; 0 when not a member */
    ckv_store *store;
    ckv_vclock clock; /* writes of each replica of this shard reflected here, this epoch */
    uint64_t lamport; /* the highest Lamport time seen */
    ckv_wlog *wlog;   /* own recent writes, for pushing (kept when the shard has peers) */
    /* serving gates (see above) */
    bool view_confirmed;  /* the view in force: installed by a change, or agreed by peers */
    bool has_base;        /* holds the state this epoch started from */
    bool bootstrapping;   /* reads wait: no replica has answered a full sync yet */
    bool counter_pending; /* writes wait: not every replica has told us our own counter */
    bool writes_paused;   /* a view change is preparing */
    char self_addr[CKV_ADDR_MAX];
    const ckv_replica_journal *journal; /* NULL: in memory only */
};

/* Starts at epoch 0 of map, empty, with every gate as a fresh start leaves it: the view
 * unconfirmed, the (empty) base held, and, when the shard has other replicas, reads and
 * writes waiting for them. CKV_NOMEM on allocation failure (free it anyway). */
int ckv_replica_init(ckv_replica *r, const ckv_shard_map *map, const char *self_addr,
                     size_t log_entries);
void ckv_replica_free(ckv_replica *r);

/* True when this node is a replica of its shard with other replicas to talk to. */
bool ckv_replica_has_peers(const ckv_replica *r);
/* The shard that owns key under the view in force. */
uint32_t ckv_replica_owner(const ckv_replica *r, const char *key, size_t len);

/* A context of an older epoch becomes the empty context of the epoch in force. */
void ckv_replica_normalise(const ckv_replica *r, ckv_context *ctx);
/* Whether op under ctx (normalised) may run here now. A read needs the history (below);
 * a write needs it only when the context does not carry its Lamport time (an older
 * node's context): otherwise its Lamport time orders it after that history anyway. */
bool ckv_replica_ready(const ckv_replica *r, const ckv_context *ctx, ckv_op op);
/* Whether the serving gates are open for op: a member, its view confirmed, the base
 * state held, caught up after a start; for writes also no view change preparing and
 * its own counter known. */
bool ckv_replica_serving(const ckv_replica *r, ckv_op op);
/* Whether this replica holds every write of its shard that ctx (normalised) covers. */
bool ckv_replica_has_history(const ckv_replica *r, const ckv_context *ctx);

/* What a write found. Without the writer's whole history (partial), replaced says what
 * this replica held, which may be older than what the writer saw. */
typedef struct ckv_write_info {
    bool replaced; /* the key held a live value here */
    bool partial;  /* this replica lacked part of the history ctx covers */
} ckv_write_info;

/* A local write (a value, or a tombstone when tombstone): the next own dot, a Lamport time
 * above the node's, the key's and the context's, the context as dependencies; ctx gains
 * the dot. *out (borrowed, may be NULL) is the new version, for replication; *info (may
 * be NULL) says what the write found. Deleting a key that holds none here writes nothing
 * when this replica holds the writer's history: CKV_DECLINED, with ctx bound to the
 * delete it saw (as a read); without that history the tombstone is written. CKV_NOMEM on
 * failure. */
int ckv_replica_write(ckv_replica *r, const char *key, size_t klen, const char *value, size_t vlen,
                      bool tombstone, ckv_context *ctx, const ckv_version **out,
                      ckv_write_info *info);
/* The key's current version (NULL when never written; may be a tombstone), its dot and
 * dependencies merged into ctx. Borrowed, valid until the key changes. */
const ckv_version *ckv_replica_read(const ckv_replica *r, const char *key, size_t klen,
                                    ckv_context *ctx);

/* A version pushed by the replica `from` of this shard. */
ckv_push_result ckv_replica_apply_push(ckv_replica *r, uint32_t from, ckv_version *v);
/* A version from anti-entropy or a view change collect: the join, and the Lamport time.
 * True when it was installed. */
bool ckv_replica_apply(ckv_replica *r, ckv_version *v);
/* A peer's whole answer is in: clock = max(clock, theirs). When this node's own counter
 * moved (learnt after a restart), its log continues from there. True when any entry of
 * the clock advanced. */
bool ckv_replica_merge_clock(ckv_replica *r, const ckv_vclock *theirs);

/* Installs a committed view change: the new map, clock and log at zero, base (owned
 * from now; NULL for an empty one) as the store, the Lamport time raised to base_lamport.
 * The node took part in the change: it holds the base, its counters start at zero and
 * the view is confirmed. */
void ckv_replica_enter_epoch(ckv_replica *r, const ckv_shard_map *map, ckv_store *base,
                             uint64_t base_lamport);
/* The first full answer of a replica carried the epoch's base state. */
void ckv_replica_hold_base(ckv_replica *r);

/* The gates the glue opens and closes as it learns the facts: the members agree on the
 * view in force (a doubt closes it again); reads may go, a replica having answered in
 * full (or the causal timeout having passed, with the base held); every replica has told
 * this node its own counter; a view change prepares (writes wait) or ends. */
void ckv_replica_confirm_view(ckv_replica *r, bool confirmed);
void ckv_replica_reads_caught_up(ckv_replica *r);
void ckv_replica_counter_known(ckv_replica *r);
void ckv_replica_pause_writes(ckv_replica *r, bool paused);

/* Recovery: replays one record of a journal or snapshot (with no journal attached), in
 * the order they were written. CKV_ERROR when the record cannot belong to this state (a
 * clock or origin outside the map in force): the journal is damaged. */
int ckv_replica_replay(ckv_replica *r, const ckv_jrec *rec);
/* After the last record: the log of own writes continues from the recovered counter, and
 * the gates are those of any restart (view to confirm, replicas to hear from). */
void ckv_replica_recovered(ckv_replica *r);

/* Joins a view learnt from a member (a change this node missed, or the view in force when
 * its own was never confirmed): the store is dropped, and the epoch's base state must be
 * fetched from the new shard's replicas (when it has any and the epoch is not 0). */
void ckv_replica_adopt_view(ckv_replica *r, const ckv_shard_map *map);

#endif
