/* client_body.h — what a client's request body says: its value and causal context.
 *
 * json_codec.c fills it (ckv_client_body_parse), by json_scan.c's one-pass reader when the
 * body is of the usual shape and by jansson otherwise. Ownership: it owns the parsed JSON,
 * if jansson read it; value points into that JSON or, when the scanner read the body, into
 * the caller's buffer: it lives until ckv_client_body_free and no longer than that buffer. */
#ifndef CAUSALKV_CLIENT_BODY_H
#define CAUSALKV_CLIENT_BODY_H

#include <stdbool.h>
#include <stddef.h>

#include "causalkv/vclock.h"

typedef struct ckv_client_body {
    void *json;        /* the parsed body (private to json_codec.c); NULL when not kept */
    const char *value; /* "value" when it is a string (into json or buf), else NULL */
    size_t value_len;
    bool has_value;  /* "value" present and a string */
    ckv_context ctx; /* the causal context; empty when absent */
} ckv_client_body;

#endif
