/* view_change.c — temporary: view change lands in its own commit. */
#include "causalkv/node.h"

void ckv_view_change_client(ckv_node *n, struct evhttp_request *req)
{
    ckv_context ctx;
    ckv_request_context(n, req, &ctx);
    ckv_reply_error(n, req, 503, "View change failed: not available yet", &ctx);
}
void ckv_view_change_internal(ckv_node *n, struct evhttp_request *req, const char *op)
{
    (void)op;
    ckv_context ctx;
    ckv_request_context(n, req, &ctx);
    ckv_reply_error(n, req, 404, "Not found", &ctx);
}
void ckv_view_change_tick(ckv_node *n)
{
    (void)n;
}
void ckv_view_change_free(ckv_node *n)
{
    (void)n;
}
bool ckv_view_change_knows_ip(const ckv_node *n, const char *ip)
{
    (void)n;
    (void)ip;
    return false;
}
