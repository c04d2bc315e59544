/* vc_participant.h — this node's part in a view change: the internal prepare, collect,
 * install, commit and abort messages, and what the coordinator on this same node may ask
 * of its own participant without a message. */
#ifndef CAUSALKV_VC_PARTICIPANT_H
#define CAUSALKV_VC_PARTICIPANT_H

#include "node_state.h"

/* POST /kv-store/internal/view/<op>: prepare, collect, install, commit, abort. */
void ckv_vc_participant_serve(ckv_node *n, ckv_req *req, const char *op);
void ckv_vc_participant_tick(ckv_node *n); /* aborts when the coordinator went silent */
void ckv_vc_participant_free(ckv_node *n);
/* True when ip belongs to a node of a view change in progress (internal-call check). */
bool ckv_vc_participant_knows_ip(const ckv_node *n, const char *ip);

/* For the coordinator on this node. */
bool ckv_vc_participant_busy(ckv_node *n);                  /* prepared for some change */
bool ckv_vc_participant_prepared(ckv_node *n, uint64_t id); /* ... for this one */
void ckv_vc_participant_keepalive(ckv_node *n, uint64_t id);
/* Joins every version this node holds into dst (its collect, without JSON). */
void ckv_vc_participant_collect_into(ckv_node *n, ckv_store *dst);
/* Stages one base-state version for after the commit (its install, without JSON). */
int ckv_vc_participant_stage(ckv_node *n, ckv_version *v);

#endif
