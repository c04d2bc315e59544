/* membership.h — which view is in force (see membership.c). */
#ifndef CAUSALKV_MEMBERSHIP_H
#define CAUSALKV_MEMBERSHIP_H

#include "node_state.h"

/* The state of the rounds of questions, owned by the node (n->membership). */
ckv_membership *ckv_membership_new(void);
void ckv_membership_free(ckv_membership *m); /* NULL-safe */

void ckv_membership_tick(ckv_node *n); /* from the housekeeping timer */
void ckv_membership_unconfirm(ckv_node *n, const char *why);
/* On every turn of the housekeeping timer: unconfirms the view when the loop had not run
 * for a while before it (SIGSTOP, starvation). */
void ckv_membership_check_stall(ckv_node *n, uint64_t now_ms);
void ckv_membership_serve(ckv_node *n, ckv_req *req); /* /internal/view */

#endif
