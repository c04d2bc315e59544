/* dashboard_api.c — serves the dashboard's files from the table compiled into the binary
 * (dashboard_assets.h). The page is static: everything it shows it polls from the nodes
 * (GET /kv-store/status on each member), so serving it costs one memory copy. */
#include "dashboard_api.h"
#include "dashboard_assets.h"

#include <string.h>

/* The page runs only its own script and style; it may call any node (the members). */
#define DASHBOARD_CSP                                                                              \
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "              \
    "connect-src http: https:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

static const ckv_asset *find_asset(const char *name, size_t len)
{
    for (size_t i = 0; i < ckv_dashboard_asset_count; i++) {
        const ckv_asset *a = &ckv_dashboard_assets[i];
        if (strlen(a->name) == len && memcmp(a->name, name, len) == 0)
            return a;
    }
    return NULL;
}

void ckv_dashboard_serve(ckv_node *n, ckv_req *req, const char *name, size_t len)
{
    const ckv_asset *a = len == 0 ? find_asset("index.html", 10) : find_asset(name, len);
    if (a == NULL) {
        ckv_node_reply_error(n, req, 404, "Not found");
        return;
    }
    ckv_sbuf b;
    ckv_sbuf_init(&b);
    ckv_sbuf_add(&b, a->data, a->len);
    ckv_req_add_header(req, "Cache-Control", "no-cache");
    ckv_req_add_header(req, "X-Content-Type-Options", "nosniff");
    ckv_req_add_header(req, "Content-Security-Policy", DASHBOARD_CSP);
    ckv_reply_typed(req, 200, a->content_type, &b);
}
