/* backup_api.h — GET /kv-store/backup: this node's state (its shard) as a snapshot file,
 * consistent at one instant, while the node goes on serving.
 *
 * A forked child writes the snapshot into a pipe (copy-on-write gives it a frozen image);
 * the loop reads the pipe without blocking and answers once the child has finished, with
 * the bytes a DATA_DIR's snapshot.ckv holds. One backup at a time; the node owns it. */
#ifndef CAUSALKV_BACKUP_API_H
#define CAUSALKV_BACKUP_API_H

#include "node_state.h"

void ckv_backup_serve(ckv_node *n, ckv_req *req);
/* Shutdown: stops a backup in progress and answers its client 503. */
void ckv_backup_abort(ckv_node *n);

#endif
