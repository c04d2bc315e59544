/* node.h — starting and stopping one node (the composition root, node.c). */
#ifndef CAUSALKV_NODE_H
#define CAUSALKV_NODE_H

#include "causalkv/config.h"

typedef struct ckv_node ckv_node;

ckv_node *ckv_node_new(const ckv_config *cfg);
int ckv_node_run(ckv_node *n);
void ckv_node_free(ckv_node *n);

#endif
