/* test_sbuf.c — the byte buffer, JSON string escaping and strict UTF-8 validation. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "causalkv/sbuf.h"

static void assert_contents(const ckv_sbuf *b, const char *expect, size_t len)
{
    assert_false(ckv_sbuf_failed(b));
    assert_int_equal(b->len, len);
    if (len > 0)
        assert_memory_equal(b->data, expect, len);
}

#define ASSERT_CONTENTS(b, lit) assert_contents((b), (lit), sizeof(lit) - 1)

static void test_basic_appends(void **state)
{
    (void)state;
    ckv_sbuf b;
    ckv_sbuf_init(&b);
    assert_int_equal(b.len, 0);
    assert_false(ckv_sbuf_failed(&b));
    ckv_sbuf_adds(&b, "abc");
    ckv_sbuf_addc(&b, '-');
    ckv_sbuf_add(&b, "x\0y", 3);
    ckv_sbuf_add(&b, NULL, 0);
    ckv_sbuf_adds(&b, "");
    ASSERT_CONTENTS(&b, "abc-x\0y");
    ckv_sbuf_free(&b);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    ckv_sbuf_free(&b); /* freeing twice is harmless */
}

static void test_u64(void **state)
{
    (void)state;
    static const struct {
        uint64_t v;
        const char *text;
    } cases[] = {
        {0, "0"},
        {7, "7"},
        {10, "10"},
        {1234567890, "1234567890"},
        {UINT32_MAX, "4294967295"},
        {(uint64_t)UINT32_MAX + 1, "4294967296"},
        {10000000000000000000ULL, "10000000000000000000"},
        {UINT64_MAX, "18446744073709551615"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ckv_sbuf b;
        ckv_sbuf_init(&b);
        ckv_sbuf_add_u64(&b, cases[i].v);
        assert_contents(&b, cases[i].text, strlen(cases[i].text));
        ckv_sbuf_free(&b);
    }
}

static void test_steal(void **state)
{
    (void)state;
    ckv_sbuf b;
    ckv_sbuf_init(&b);
    ckv_sbuf_adds(&b, "hello");
    size_t len = 0;
    char *s = ckv_sbuf_steal(&b, &len);
    assert_non_null(s);
    assert_int_equal(len, 5);
    assert_string_equal(s, "hello"); /* also NUL-terminated */
    free(s);

    /* The buffer is empty and reusable afterwards. */
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    ckv_sbuf_adds(&b, "again");
    ASSERT_CONTENTS(&b, "again");
    ckv_sbuf_free(&b);

    /* An empty buffer still hands out a (empty) string, not NULL. */
    ckv_sbuf_init(&b);
    s = ckv_sbuf_steal(&b, &len);
    assert_non_null(s);
    assert_int_equal(len, 0);
    assert_string_equal(s, "");
    free(s);
    s = ckv_sbuf_steal(&b, NULL);
    assert_non_null(s);
    free(s);
}

static void test_failed_buffer(void **state)
{
    (void)state;
    ckv_sbuf b;
    ckv_sbuf_init(&b);
    ckv_sbuf_adds(&b, "abc");
    /* A size no allocator can satisfy marks the buffer failed... */
    ckv_sbuf_add(&b, "x", SIZE_MAX - 1);
    assert_true(ckv_sbuf_failed(&b));
    /* ...and later appends are no-ops. */
    ckv_sbuf_adds(&b, "def");
    ckv_sbuf_add_u64(&b, 5);
    ckv_sbuf_add_json_str(&b, "x", 1);
    assert_int_equal(b.len, 3);
    size_t len = 99;
    assert_null(ckv_sbuf_steal(&b, &len));
    assert_int_equal(len, 0);
    assert_false(ckv_sbuf_failed(&b));
    ckv_sbuf_free(&b);
}

static void test_large_appends(void **state)
{
    (void)state;
    size_t big = (1u << 20) + 3;
    char *chunk = malloc(big);
    assert_non_null(chunk);
    for (size_t i = 0; i < big; i++)
        chunk[i] = (char)('a' + i % 26);

    ckv_sbuf b;
    ckv_sbuf_init(&b);
    ckv_sbuf_add(&b, chunk, big);
    ckv_sbuf_add(&b, chunk, big);
    for (size_t i = 0; i < 100000; i++)
        ckv_sbuf_addc(&b, (char)('0' + i % 10));
    assert_false(ckv_sbuf_failed(&b));
    assert_int_equal(b.len, 2 * big + 100000);
    assert_memory_equal(b.data, chunk, big);
    assert_memory_equal(b.data + big, chunk, big);
    for (size_t i = 0; i < 100000; i++)
        assert_int_equal(b.data[2 * big + i], '0' + i % 10);
    assert_true(b.cap > b.len);
    ckv_sbuf_free(&b);

    /* A 1 MiB value with nothing to escape comes out as itself in quotes. */
    ckv_sbuf_init(&b);
    ckv_sbuf_add_json_str(&b, chunk, big);
    assert_false(ckv_sbuf_failed(&b));
    assert_int_equal(b.len, big + 2);
    assert_int_equal(b.data[0], '"');
    assert_memory_equal(b.data + 1, chunk, big);
    assert_int_equal(b.data[big + 1], '"');
    ckv_sbuf_free(&b);
    free(chunk);
}

/* The JSON literal of s[0..len). */
static void assert_json(const char *s, size_t len, const char *expect)
{
    ckv_sbuf b;
    ckv_sbuf_init(&b);
    ckv_sbuf_add_json_str(&b, s, len);
    assert_false(ckv_sbuf_failed(&b));
    assert_int_equal(b.len, strlen(expect));
    assert_memory_equal(b.data, expect, b.len);
    ckv_sbuf_free(&b);
}

#define ASSERT_JSON(lit, expect) assert_json((lit), sizeof(lit) - 1, (expect))

static void test_json_escape_table(void **state)
{
    (void)state;
    ASSERT_JSON("", "\"\"");
    ASSERT_JSON("plain", "\"plain\"");
    ASSERT_JSON("\"", "\"\\\"\"");
    ASSERT_JSON("\\", "\"\\\\\"");
    ASSERT_JSON("\n", "\"\\n\"");
    ASSERT_JSON("\r", "\"\\r\"");
    ASSERT_JSON("\t", "\"\\t\"");
    ASSERT_JSON("\b", "\"\\b\"");
    ASSERT_JSON("\f", "\"\\f\"");
    ASSERT_JSON("\0", "\"\\u0000\"");
    ASSERT_JSON("\x01", "\"\\u0001\"");
    ASSERT_JSON("\x0b", "\"\\u000b\"");
    ASSERT_JSON("\x1f", "\"\\u001f\"");
    ASSERT_JSON(" ", "\" \"");
    ASSERT_JSON("/", "\"/\"");
    ASSERT_JSON("\x7f", "\"\x7f\"");
    ASSERT_JSON("a\"b\\c\nd\0e", "\"a\\\"b\\\\c\\nd\\u0000e\"");
    /* Escapes at every offset within and across 8-byte words. */
    ASSERT_JSON("0123456\"89abcdef\n", "\"0123456\\\"89abcdef\\n\"");
    ASSERT_JSON("01234567\\9abcdef\x1f", "\"01234567\\\\9abcdef\\u001f\"");
    ASSERT_JSON("\"\"\"\"\"\"\"\"\"", "\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\"");
}

static void test_json_every_byte(void **state)
{
    (void)state;
    for (unsigned c = 0; c < 256; c++) {
        char in[17];
        memset(in, 'a', sizeof(in));
        in[9] = (char)c; /* inside the second word */
        char expect[32];
        const char *esc;
        char u[7];
        switch (c) {
        case '"':
            esc = "\\\"";
            break;
        case '\\':
            esc = "\\\\";
            break;
        case '\n':
            esc = "\\n";
            break;
        case '\r':
            esc = "\\r";
            break;
        case '\t':
            esc = "\\t";
            break;
        case '\b':
            esc = "\\b";
            break;
        case '\f':
            esc = "\\f";
            break;
        default:
            if (c < 0x20) {
                snprintf(u, sizeof(u), "\\u%04x", c);
                esc = u;
            } else {
                u[0] = (char)c;
                u[1] = '\0';
                esc = u;
            }
        }
        snprintf(expect, sizeof(expect), "\"aaaaaaaaa%saaaaaaa\"", esc);
        assert_json(in, sizeof(in), expect);
    }
}

static void test_json_unicode_passthrough(void **state)
{
    (void)state;
    ASSERT_JSON("caf\xc3\xa9", "\"caf\xc3\xa9\"");
    ASSERT_JSON("\xe2\x82\xac 5", "\"\xe2\x82\xac 5\"");
    ASSERT_JSON("\xf0\x9f\x98\x80\n\xe6\x97\xa5\xe6\x9c\xac",
                "\"\xf0\x9f\x98\x80\\n\xe6\x97\xa5\xe6\x9c\xac\"");
    ASSERT_JSON("\xe2\x80\xa8", "\"\xe2\x80\xa8\""); /* U+2028 is valid in JSON */
}

static void assert_utf8(const char *s, size_t len, bool valid)
{
    if (ckv_utf8_valid(s, len) != valid)
        fail_msg("ckv_utf8_valid(\"%.*s\") != %d", (int)len, s, valid);
    /* Validity must not depend on where the sequence sits relative to 8-byte words. */
    char padded[64];
    assert_true(len + 16 <= sizeof(padded));
    for (size_t pad = 1; pad < 16; pad++) {
        memset(padded, 'x', pad);
        memcpy(padded + pad, s, len);
        assert_int_equal(ckv_utf8_valid(padded, pad + len), valid);
    }
}

#define VALID(lit) assert_utf8((lit), sizeof(lit) - 1, true)
#define INVALID(lit) assert_utf8((lit), sizeof(lit) - 1, false)

static void test_utf8_valid(void **state)
{
    (void)state;
    VALID("");
    VALID("plain ascii");
    VALID("\0 nul is a character");
    VALID("\x7f");
    VALID("\xc2\x80");         /* U+0080, smallest two-byte */
    VALID("\xdf\xbf");         /* U+07FF */
    VALID("\xe0\xa0\x80");     /* U+0800, smallest three-byte */
    VALID("\xed\x9f\xbf");     /* U+D7FF, just below the surrogates */
    VALID("\xee\x80\x80");     /* U+E000, just above */
    VALID("\xef\xbf\xbf");     /* U+FFFF */
    VALID("\xf0\x90\x80\x80"); /* U+10000, smallest four-byte */
    VALID("\xf4\x8f\xbf\xbf"); /* U+10FFFF, the last code point */
    VALID("\xf3\xbf\xbf\xbf");
    VALID("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
}

static void test_utf8_invalid(void **state)
{
    (void)state;
    INVALID("\x80"); /* lone continuation */
    INVALID("\xbf");
    INVALID("\xc0\x80");     /* overlong NUL */
    INVALID("\xc1\xbf");     /* overlong */
    INVALID("\xe0\x80\x80"); /* overlong three-byte */
    INVALID("\xe0\x9f\xbf");
    INVALID("\xf0\x80\x80\x80"); /* overlong four-byte */
    INVALID("\xf0\x8f\xbf\xbf");
    INVALID("\xed\xa0\x80");             /* U+D800 */
    INVALID("\xed\xbf\xbf");             /* U+DFFF */
    INVALID("\xed\xa0\xbd\xed\xb8\x80"); /* a CESU-8 surrogate pair */
    INVALID("\xf4\x90\x80\x80");         /* U+110000 */
    INVALID("\xf5\x80\x80\x80");
    INVALID("\xf8\x88\x80\x80\x80");
    INVALID("\xfe");
    INVALID("\xff");
    INVALID("\xc3"); /* truncated */
    INVALID("\xe2\x82");
    INVALID("\xf0\x9f\x98");
    INVALID("\xc3x"); /* bad continuation */
    INVALID("\xe2\x82x");
    INVALID("\xf0\x9f\x98x");
    INVALID("\xe2\xc3\xa9");
    INVALID("ok so far \xc3\xa9 then \xff");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic_appends),   cmocka_unit_test(test_u64),
        cmocka_unit_test(test_steal),           cmocka_unit_test(test_failed_buffer),
        cmocka_unit_test(test_large_appends),   cmocka_unit_test(test_json_escape_table),
        cmocka_unit_test(test_json_every_byte), cmocka_unit_test(test_json_unicode_passthrough),
        cmocka_unit_test(test_utf8_valid),      cmocka_unit_test(test_utf8_invalid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
