/* http_framing.c — request framing checks, fed incrementally (see http_framing.h). */
#include "causalkv/http_framing.h"

#include <string.h>
#include <strings.h>

#include "causalkv/common.h"

enum {
    ST_REQUEST_LINE, /* empty lines before a request line are skipped */
    ST_HEADER,
    ST_BODY,
    ST_CHUNK_SIZE,
    ST_CHUNK_DATA,
    ST_CHUNK_END, /* the line ending after a chunk's data */
    ST_TRAILER,
    ST_ERROR,
};

#define LENGTH_DIGITS_MAX 18 /* a Content-Length below 10^18: no overflow below */
#define CHUNK_DIGITS_MAX 15

void ckv_framing_init(ckv_framing *f)
{
    memset(f, 0, sizeof(*f));
    f->state = ST_REQUEST_LINE;
}

static int fail(ckv_framing *f, const char *why)
{
    f->state = ST_ERROR;
    f->error = why;
    return CKV_ERROR;
}

static bool is_ows(char c)
{
    return c == ' ' || c == '\t';
}

/* The value of a header line "name: value" when its name is `name`, trimmed; NULL when
 * the line names another header. */
static const char *header_value(const char *line, size_t len, const char *name, size_t *vlen)
{
    size_t nl = strlen(name);
    if (len <= nl || line[nl] != ':' || strncasecmp(line, name, nl) != 0)
        return NULL;
    const char *v = line + nl + 1, *end = line + len;
    while (v < end && is_ows(*v))
        v++;
    while (end > v && is_ows(end[-1]))
        end--;
    *vlen = (size_t)(end - v);
    return v;
}

static int take_length(ckv_framing *f, const char *v, size_t len)
{
    if (len == 0 || len > LENGTH_DIGITS_MAX)
        return fail(f, "invalid Content-Length");
    uint64_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (v[i] < '0' || v[i] > '9')
            return fail(f, "invalid Content-Length");
        n = n * 10 + (uint64_t)(v[i] - '0');
    }
    if (f->has_length && f->length != n)
        return fail(f, "conflicting Content-Length headers");
    f->has_length = true;
    f->length = n;
    return CKV_OK;
}

/* Each comma-separated coding counts; only a single "chunked" is something evhttp reads. */
static int take_codings(ckv_framing *f, const char *v, size_t len)
{
    size_t i = 0;
    while (i <= len) {
        size_t end = i;
        while (end < len && v[end] != ',')
            end++;
        size_t a = i, b = end;
        while (a < b && is_ows(v[a]))
            a++;
        while (b > a && is_ows(v[b - 1]))
            b--;
        if (b > a) {
            f->te_codings++;
            f->te_chunked = b - a == 7 && strncasecmp(v + a, "chunked", 7) == 0;
        }
        i = end + 1;
    }
    return CKV_OK;
}

static int take_header(ckv_framing *f, const char *line, size_t len)
{
    if (is_ows(line[0]))
        return fail(f, "obsolete line folding");
    const char *colon = memchr(line, ':', len);
    if (colon != NULL && colon > line && is_ows(colon[-1]))
        return fail(f, "whitespace before a header's colon");
    char first = (char)(line[0] | 0x20); /* most headers are neither: skip them cheaply */
    if (first != 'c' && first != 't')
        return CKV_OK;
    size_t vlen;
    const char *v = header_value(line, len, "Content-Length", &vlen);
    if (v != NULL)
        return f->line_cut ? fail(f, "invalid Content-Length") : take_length(f, v, vlen);
    v = header_value(line, len, "Transfer-Encoding", &vlen);
    if (v != NULL)
        return f->line_cut ? fail(f, "unsupported Transfer-Encoding") : take_codings(f, v, vlen);
    return CKV_OK;
}

/* The empty line after the headers: how long is the body? */
static int end_of_headers(ckv_framing *f)
{
    bool te = f->te_codings > 0;
    if (te && f->http10)
        return fail(f, "Transfer-Encoding in an HTTP/1.0 request");
    if (te && f->has_length)
        return fail(f, "both Content-Length and Transfer-Encoding");
    if (te && (f->te_codings != 1 || !f->te_chunked))
        return fail(f, "unsupported Transfer-Encoding");
    if (f->no_body)
        f->state = ST_REQUEST_LINE;
    else if (te)
        f->state = ST_CHUNK_SIZE;
    else if (f->has_length && f->length > 0) {
        f->state = ST_BODY;
        f->remaining = f->length;
    } else
        f->state = ST_REQUEST_LINE;
    return CKV_OK;
}

static void start_request(ckv_framing *f, const char *line, size_t len)
{
    f->no_body =
        (len >= 5 && memcmp(line, "HEAD ", 5) == 0) || (len >= 6 && memcmp(line, "TRACE ", 6) == 0);
    if (f->line_cut) /* the tail may end in the line's CR */
        f->http10 =
            memcmp(f->tail, "HTTP/1.0\r", 9) == 0 || memcmp(f->tail + 1, "HTTP/1.0", 8) == 0;
    else
        f->http10 = len >= 8 && memcmp(line + len - 8, "HTTP/1.0", 8) == 0;
    f->has_length = false;
    f->length = 0;
    f->te_codings = 0;
    f->te_chunked = false;
    f->state = ST_HEADER;
}

static int take_chunk_size(ckv_framing *f, const char *line, size_t len)
{
    size_t i = 0;
    uint64_t size = 0;
    for (; i < len && ckv_hex_digit(line[i]) >= 0; i++) {
        if (i == CHUNK_DIGITS_MAX)
            return fail(f, "invalid chunk size");
        size = size * 16 + (uint64_t)ckv_hex_digit(line[i]);
    }
    if (i == 0 || f->line_cut)
        return fail(f, "invalid chunk size");
    while (i < len && is_ows(line[i]))
        i++;
    if (i < len && line[i] != ';')
        return fail(f, "invalid chunk size");
    f->state = size == 0 ? ST_TRAILER : ST_CHUNK_DATA;
    f->remaining = size;
    return CKV_OK;
}

/* One complete line (without its CR LF, cut at CKV_FRAMING_LINE_MAX). */
static int take_line(ckv_framing *f, const char *line, size_t len)
{
    switch (f->state) {
    case ST_REQUEST_LINE:
        if (len > 0)
            start_request(f, line, len);
        return CKV_OK;
    case ST_HEADER:
        return len == 0 ? end_of_headers(f) : take_header(f, line, len);
    case ST_CHUNK_SIZE:
        return len == 0 && !f->line_cut ? CKV_OK : take_chunk_size(f, line, len);
    case ST_CHUNK_END:
        f->state = ST_CHUNK_SIZE;
        return CKV_OK;
    case ST_TRAILER:
        if (len == 0)
            f->state = ST_REQUEST_LINE;
        return CKV_OK;
    default:
        return CKV_OK;
    }
}

static void line_add(ckv_framing *f, const char *p, size_t n)
{
    /* the tail slides over the whole line: exact for the lines that do not fit */
    size_t keep = sizeof(f->tail);
    if (n >= keep) {
        memcpy(f->tail, p + n - keep, keep);
    } else {
        memmove(f->tail, f->tail + n, keep - n);
        memcpy(f->tail + keep - n, p, n);
    }
    size_t room = sizeof(f->line) - f->line_len;
    if (n > room) {
        n = room;
        f->line_cut = true;
    }
    memcpy(f->line + f->line_len, p, n);
    f->line_len = (uint16_t)(f->line_len + n);
}

int ckv_framing_feed(ckv_framing *f, const char *data, size_t len)
{
    size_t i = 0;
    while (i < len) {
        if (f->state == ST_ERROR)
            return CKV_ERROR;
        if (f->state == ST_BODY || f->state == ST_CHUNK_DATA) {
            size_t take = len - i < f->remaining ? len - i : (size_t)f->remaining;
            f->remaining -= take;
            i += take;
            if (f->remaining == 0)
                f->state = f->state == ST_BODY ? ST_REQUEST_LINE : ST_CHUNK_END;
            continue;
        }
        const char *nl = memchr(data + i, '\n', len - i);
        size_t n = nl != NULL ? (size_t)(nl - (data + i)) : len - i;
        line_add(f, data + i, n);
        i += n;
        if (nl == NULL)
            break;
        i++; /* the LF */
        size_t ll = f->line_len;
        if (ll > 0 && f->line[ll - 1] == '\r' && !f->line_cut)
            ll--;
        int rc = take_line(f, f->line, ll);
        f->line_len = 0;
        f->line_cut = false;
        if (rc != CKV_OK)
            return rc;
    }
    return f->state == ST_ERROR ? CKV_ERROR : CKV_OK;
}
