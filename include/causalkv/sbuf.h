/* sbuf.h — a growable byte buffer for building JSON replies and messages.
 *
 * The buffer owns its memory; ckv_sbuf_free releases it, ckv_sbuf_steal hands it to the
 * caller (who then frees it with free()). Appends never fail silently: on allocation
 * failure the buffer is marked failed, later appends are no-ops and ckv_sbuf_failed
 * says so, so a builder can check once at the end. */
#ifndef CAUSALKV_SBUF_H
#define CAUSALKV_SBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct ckv_sbuf {
    char *data;
    size_t len;
    size_t cap;
    bool failed;
} ckv_sbuf;

void ckv_sbuf_init(ckv_sbuf *b);
void ckv_sbuf_free(ckv_sbuf *b);
char *ckv_sbuf_steal(ckv_sbuf *b, size_t *len); /* leaves b empty */
static inline bool ckv_sbuf_failed(const ckv_sbuf *b)
{
    return b->failed;
}

void ckv_sbuf_add(ckv_sbuf *b, const void *data, size_t len);
void ckv_sbuf_adds(ckv_sbuf *b, const char *s); /* NUL-terminated */
void ckv_sbuf_addc(ckv_sbuf *b, char c);
void ckv_sbuf_add_u64(ckv_sbuf *b, uint64_t v);
/* A JSON string literal, quotes included; escapes ", \, control characters (\u00XX)
 * and NUL. The bytes must be valid UTF-8 (callers validate untrusted input first). */
void ckv_sbuf_add_json_str(ckv_sbuf *b, const char *s, size_t len);

/* True when s[0..len) is valid UTF-8 (no overlongs, no surrogates, <= U+10FFFF). */
bool ckv_utf8_valid(const char *s, size_t len);
/* Bytes of the well-formed UTF-8 character at p (1 for ASCII), or 0 when the bytes there
 * are not one (a stray continuation byte, an overlong form, a surrogate, truncated). */
size_t ckv_utf8_sequence_len(const char *p, size_t avail);

#endif
