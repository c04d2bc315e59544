/* dashboard_assets.h — the dashboard's static files, compiled into the binary.
 *
 * The table is generated at build time by cmake/dashboard.cmake from dashboard/ (each
 * file's bytes as a C array), so the node serves the page with no file on disk, no
 * network and no build step at run time. */
#ifndef CAUSALKV_DASHBOARD_ASSETS_H
#define CAUSALKV_DASHBOARD_ASSETS_H

#include <stddef.h>

typedef struct ckv_asset {
    const char *name; /* file name under dashboard/, e.g. "index.html" */
    const char *content_type;
    const unsigned char *data;
    size_t len;
} ckv_asset;

extern const ckv_asset ckv_dashboard_assets[];
extern const size_t ckv_dashboard_asset_count;

#endif
