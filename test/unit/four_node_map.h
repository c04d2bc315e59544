/* four_node_map.h — the map the codec tests parse against: 10.0.0.1:80 … 10.0.0.4:80,
 * two shards (REPL_FACTOR 2), epoch 3. For cmocka test files only (asserts on failure). */
#ifndef CKV_TEST_FOUR_NODE_MAP_H
#define CKV_TEST_FOUR_NODE_MAP_H

#include "causalkv/shard_map.h"
#include "causalkv/view.h"

static inline ckv_shard_map test_map(void)
{
    ckv_view v;
    ckv_shard_map m;
    char err[128];
    assert_int_equal(
        ckv_view_parse_csv("10.0.0.1:80,10.0.0.2:80,10.0.0.3:80,10.0.0.4:80", &v, err, sizeof(err)),
        CKV_OK);
    assert_int_equal(ckv_shard_map_init(&m, &v, 2, 3, err, sizeof(err)), CKV_OK);
    return m;
}

#endif
