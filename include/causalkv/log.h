/* log.h — a level-gated logger: the level is checked before any formatting happens.
 *
 * Two line formats (LOG_FORMAT): text, "2024-05-01T12:00:00.123Z INFO message", and
 * json, one object per line:
 *   {"ts":"2024-05-01T12:00:00.123Z","level":"info","node":"10.0.0.1:13800",
 *    "msg":"message"[,"request_id":"..."]}
 * "node" is left out until ckv_log_set_node names one. In JSON every string is escaped
 * (quotes, backslashes, control characters as \uXXXX); a byte that is not part of a
 * well-formed UTF-8 character becomes U+FFFD, so each line parses as JSON whatever a
 * message quotes (a client's key, a peer's reply). */
#ifndef CAUSALKV_LOG_H
#define CAUSALKV_LOG_H

#include <stddef.h>

#include "causalkv/sbuf.h"

enum { CKV_LOG_ERROR = 0, CKV_LOG_WARN = 1, CKV_LOG_INFO = 2, CKV_LOG_DEBUG = 3 };
enum { CKV_LOG_TEXT = 0, CKV_LOG_JSON = 1 };

extern int ckv_log_level;
extern int ckv_log_format; /* CKV_LOG_TEXT (default) or CKV_LOG_JSON */

/* Parses "error", "warn", "info", "debug"; -1 when unknown. */
int ckv_log_level_parse(const char *s);
/* Parses "text", "json" (any case); -1 when unknown. */
int ckv_log_format_parse(const char *s);
/* The node's address, put in every JSON line from now on ("" or NULL: none). */
void ckv_log_set_node(const char *addr);

/* One line's parts, for the formatter. node and request_id may be NULL. */
typedef struct ckv_log_fields {
    const char *ts; /* ISO 8601 UTC */
    int level;
    const char *node;
    const char *request_id;
    const char *msg;
    size_t msg_len;
} ckv_log_fields;

/* Appends one whole line (newline included) in format to out; a message's trailing
 * newline is dropped first. Pure: the tests call it. */
void ckv_log_format_line(ckv_sbuf *out, int format, const ckv_log_fields *f);

void ckv_log_write(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The same, for a line about one request: its id goes in "request_id" (json) or after
 * the level as "[id]" (text). */
void ckv_log_write_req(int level, const char *request_id, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define CKV_LOG(level, ...)                                                                        \
    do {                                                                                           \
        if ((level) <= ckv_log_level)                                                              \
            ckv_log_write((level), __VA_ARGS__);                                                   \
    } while (0)
#define CKV_LOG_REQ(level, request_id, ...)                                                        \
    do {                                                                                           \
        if ((level) <= ckv_log_level)                                                              \
            ckv_log_write_req((level), (request_id), __VA_ARGS__);                                 \
    } while (0)
#define log_error(...) CKV_LOG(CKV_LOG_ERROR, __VA_ARGS__)
#define log_warn(...) CKV_LOG(CKV_LOG_WARN, __VA_ARGS__)
#define log_info(...) CKV_LOG(CKV_LOG_INFO, __VA_ARGS__)
#define log_debug(...) CKV_LOG(CKV_LOG_DEBUG, __VA_ARGS__)

#endif
