/* sbuf.c — growable byte buffer, JSON string escaping and UTF-8 validation.
 *
 * Values reach 1 MiB and almost all of their bytes need no escaping, so both the escaper
 * and the validator look at eight bytes at a time and copy clean runs with one memcpy.
 *
 * The data is kept NUL-terminated (one spare byte) whenever it is allocated, so a
 * stolen buffer is also a C string. */
#include "causalkv/sbuf.h"

#include <stdlib.h>
#include <string.h>

/* Most buffers are replies and messages that live for one request. Starting at 512 bytes
 * they take one allocation, from a size class the stored versions (160-byte chunks) never
 * share: with 64 (and the growth through 128 and 256) the freed reply buffers were split
 * for versions and left holes, and a node holding 200,000 keys used 107 bytes per key
 * beyond key and value instead of 79 (measured with bench/load.lua). */
#define SBUF_MIN_CAPACITY 512

/* ---- the buffer -------------------------------------------------------------------- */

void ckv_sbuf_init(ckv_sbuf *b)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->failed = false;
}

void ckv_sbuf_free(ckv_sbuf *b)
{
    free(b->data);
    ckv_sbuf_init(b);
}

char *ckv_sbuf_steal(ckv_sbuf *b, size_t *len)
{
    char *data = b->data;
    size_t n = b->len;
    if (b->failed) {
        free(data);
        data = NULL;
        n = 0;
    } else if (data == NULL) {
        /* Callers treat NULL as failure, so an empty buffer still hands out a string. */
        data = calloc(1, 1);
    }
    ckv_sbuf_init(b);
    if (len != NULL)
        *len = n;
    return data;
}

/* Room for extra more bytes plus the terminating NUL; false (and failed) otherwise. */
static bool reserve(ckv_sbuf *b, size_t extra)
{
    if (b->failed)
        return false;
    if (extra < b->cap - b->len) /* b->cap > b->len whenever cap != 0 */
        return true;
    if (extra > SIZE_MAX - 1 - b->len) {
        b->failed = true;
        return false;
    }
    size_t need = b->len + extra + 1;
    size_t cap = b->cap < SBUF_MIN_CAPACITY ? SBUF_MIN_CAPACITY : b->cap;
    /* Doubling keeps a long run of small appends linear. */
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    char *data = realloc(b->data, cap);
    if (data == NULL) {
        b->failed = true;
        return false;
    }
    b->data = data;
    b->cap = cap;
    return true;
}

/* Appends without reserving; the caller reserved len bytes. */
static void put(ckv_sbuf *b, const void *data, size_t len)
{
    memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
}

void ckv_sbuf_add(ckv_sbuf *b, const void *data, size_t len)
{
    if (len == 0 || !reserve(b, len))
        return;
    put(b, data, len);
}

void ckv_sbuf_adds(ckv_sbuf *b, const char *s)
{
    ckv_sbuf_add(b, s, strlen(s));
}

void ckv_sbuf_addc(ckv_sbuf *b, char c)
{
    ckv_sbuf_add(b, &c, 1);
}

void ckv_sbuf_add_u64(ckv_sbuf *b, uint64_t v)
{
    char digits[20]; /* UINT64_MAX has 20 */
    size_t i = sizeof(digits);
    do {
        digits[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    ckv_sbuf_add(b, digits + i, sizeof(digits) - i);
}

/* ---- word-at-a-time byte tests ----------------------------------------------------- */

#define ONES 0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL

static uint64_t load_word(const unsigned char *p)
{
    uint64_t w;
    memcpy(&w, p, sizeof(w)); /* unaligned and endian-neutral for "any byte" tests */
    return w;
}

/* Nonzero when some byte of w is below n (n <= 128). Exact for "any", whatever the byte
 * order. */
static uint64_t has_byte_below(uint64_t w, uint64_t n)
{
    return (w - ONES * n) & ~w & HIGHS;
}

static uint64_t has_byte_equal(uint64_t w, unsigned char c)
{
    return has_byte_below(w ^ (ONES * c), 1);
}

static bool word_needs_json_escape(uint64_t w)
{
    return has_byte_below(w, 0x20) || has_byte_equal(w, '"') || has_byte_equal(w, '\\');
}

/* ---- JSON strings ------------------------------------------------------------------ */

/* For each byte: 0 when copied as is, else the letter after the backslash ('u' for the
 * \u00XX form). */
static const char json_escape[256] = {
    'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'b',         't',           'n', 'u',
    'f', 'r', 'u', 'u', 'u', 'u', 'u', 'u', 'u',         'u',           'u', 'u',
    'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', ['"'] = '"', ['\\'] = '\\',
};

static void add_escape(ckv_sbuf *b, unsigned char c)
{
    static const char hex[] = "0123456789abcdef";
    char esc = json_escape[c];
    if (esc != 'u') {
        char two[2] = {'\\', esc};
        ckv_sbuf_add(b, two, sizeof(two));
        return;
    }
    char six[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 0xf]};
    ckv_sbuf_add(b, six, sizeof(six));
}

/* Length of the leading run of p[0..len) that needs no escaping. */
static size_t clean_run(const unsigned char *p, size_t len)
{
    size_t i = 0;
    while (i + 8 <= len && !word_needs_json_escape(load_word(p + i)))
        i += 8;
    while (i < len && json_escape[p[i]] == 0)
        i++;
    return i;
}

void ckv_sbuf_add_json_str(ckv_sbuf *b, const char *s, size_t len)
{
    /* One reservation covers the common case of nothing to escape. */
    if (len > SIZE_MAX - 2 || !reserve(b, len + 2))
        return;
    put(b, "\"", 1);
    const unsigned char *p = (const unsigned char *)s;
    while (len > 0) {
        size_t run = clean_run(p, len);
        ckv_sbuf_add(b, p, run);
        if (run == len)
            break;
        add_escape(b, p[run]);
        p += run + 1;
        len -= run + 1;
    }
    ckv_sbuf_addc(b, '"');
}

/* ---- UTF-8 ------------------------------------------------------------------------- */

static bool in_range(unsigned char c, unsigned char lo, unsigned char hi)
{
    return c >= lo && c <= hi;
}

/* Bytes taken by the well-formed sequence at p (Unicode table 3-7), or 0 when it is
 * not one: overlong, surrogate, above U+10FFFF or truncated. */
static size_t utf8_sequence_len(const unsigned char *p, size_t avail)
{
    unsigned char c = p[0];
    /* Allowed range of the second byte; the others are always 80..BF. */
    unsigned char lo = 0x80, hi = 0xBF;
    size_t n;
    if (in_range(c, 0xC2, 0xDF)) {
        n = 2;
    } else if (c == 0xE0) {
        n = 3;
        lo = 0xA0; /* below: overlong */
    } else if (c == 0xED) {
        n = 3;
        hi = 0x9F; /* above: surrogates D800..DFFF */
    } else if (in_range(c, 0xE1, 0xEF)) {
        n = 3;
    } else if (c == 0xF0) {
        n = 4;
        lo = 0x90; /* below: overlong */
    } else if (in_range(c, 0xF1, 0xF3)) {
        n = 4;
    } else if (c == 0xF4) {
        n = 4;
        hi = 0x8F; /* above: beyond U+10FFFF */
    } else {
        return 0; /* 80..C1 and F5..FF never start a sequence */
    }
    if (avail < n || !in_range(p[1], lo, hi))
        return 0;
    for (size_t i = 2; i < n; i++) {
        if (!in_range(p[i], 0x80, 0xBF))
            return 0;
    }
    return n;
}

size_t ckv_utf8_sequence_len(const char *p, size_t avail)
{
    if (avail == 0)
        return 0;
    return (unsigned char)p[0] < 0x80 ? 1 : utf8_sequence_len((const unsigned char *)p, avail);
}

bool ckv_utf8_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        if (i + 8 <= len && (load_word(p + i) & HIGHS) == 0) {
            i += 8;
        } else if (p[i] < 0x80) {
            i++;
        } else {
            size_t n = utf8_sequence_len(p + i, len - i);
            if (n == 0)
                return false;
            i += n;
        }
    }
    return true;
}
