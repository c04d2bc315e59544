/* membership.h — which view is in force (see membership.c). */
#ifndef CAUSALKV_MEMBERSHIP_H
#define CAUSALKV_MEMBERSHIP_H

#include "node_state.h"

void ckv_membership_tick(ckv_node *n); /* from the housekeeping timer */
void ckv_membership_unconfirm(ckv_node *n, const char *why);
/* Unconfirms the view when the loop has not run for a while (SIGSTOP, starvation). */
void ckv_membership_check_stall(ckv_node *n, uint64_t now_ms);
void ckv_membership_serve(ckv_node *n, ckv_req *req); /* /internal/view */

#endif
