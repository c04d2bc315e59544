/* http_framing.h — checks the message framing of HTTP/1.x requests as their bytes arrive
 * (RFC 9112 section 6), before the HTTP server reads a body by a length it cannot trust.
 *
 * evhttp takes the first of two Content-Length headers that disagree and waits for that
 * many bytes; a proxy in front that takes the last one would see a different request
 * boundary (request smuggling). The checker follows every request on a connection:
 * request line, header lines, then the body by Content-Length or chunked coding, and
 * reports the first framing error, after which the connection must be answered 400 and
 * closed. It refuses: Content-Length values that disagree or are not a number; both
 * Content-Length and Transfer-Encoding; a Transfer-Encoding other than exactly "chunked",
 * or in an HTTP/1.0 request; obsolete line folding; whitespace before a header's colon;
 * a malformed chunk size. Plain C, no I/O: the caller feeds it what it reads. */
#ifndef CAUSALKV_HTTP_FRAMING_H
#define CAUSALKV_HTTP_FRAMING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CKV_FRAMING_LINE_MAX 256 /* header lines are kept up to this; framing ones must fit */

typedef struct ckv_framing {
    uint8_t state;
    uint64_t remaining; /* body or chunk bytes still to skip */
    /* the line being read (its start; the rest is only scanned for its end) */
    char line[CKV_FRAMING_LINE_MAX];
    uint16_t line_len;
    bool line_cut;
    char tail[9]; /* the last bytes of a line: a long request line's version and CR */
    /* the request whose headers are being read */
    bool no_body;    /* HEAD or TRACE: evhttp reads no body whatever the headers say */
    bool http10;     /* HTTP/1.0 */
    bool has_length; /* a Content-Length header was seen */
    uint64_t length;
    uint32_t te_codings; /* codings listed by Transfer-Encoding headers */
    bool te_chunked;     /* ... and the last one is chunked */
    const char *error;   /* the first framing error, for the reply; NULL while fine */
} ckv_framing;

void ckv_framing_init(ckv_framing *f);

/* Feeds the next len bytes read from the connection. CKV_OK while the framing is sound;
 * CKV_ERROR (and f->error says why) from the first error on, for every later call. */
int ckv_framing_feed(ckv_framing *f, const char *data, size_t len);

#endif
