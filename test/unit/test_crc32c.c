/* Unit tests for crc32c: the published check values (the "123456789" check and the
 * iSCSI vectors of RFC 3720 B.4), agreement with a bit-at-a-time reference at every
 * length and alignment around the 8-byte steps, and chaining at every split point. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "causalkv/crc32c.h"

/* The definition itself, one bit at a time: independent of the tables under test. */
static uint32_t reference_crc32c(uint32_t crc, const unsigned char *p, size_t len)
{
    crc = ~crc;
    for (size_t i = 0; i < len; i++) {
        crc ^= p[i];
        for (int k = 0; k < 8; k++)
            crc = (crc & 1) ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
    }
    return ~crc;
}

/* Deterministic bytes that are not all alike (xorshift). */
static void fill(unsigned char *p, size_t len, uint32_t seed)
{
    uint32_t x = seed | 1;
    for (size_t i = 0; i < len; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        p[i] = (unsigned char)x;
    }
}

static void test_known_vectors(void **state)
{
    (void)state;
    unsigned char buf[32];
    assert_int_equal(ckv_crc32c(0, "123456789", 9), 0xE3069283u);
    assert_int_equal(ckv_crc32c(0, "a", 1), 0xC1D04330u);
    assert_int_equal(ckv_crc32c(0, "The quick brown fox jumps over the lazy dog", 43), 0x22620404u);

    /* RFC 3720 B.4 */
    memset(buf, 0, sizeof(buf));
    assert_int_equal(ckv_crc32c(0, buf, sizeof(buf)), 0x8A9136AAu);
    memset(buf, 0xff, sizeof(buf));
    assert_int_equal(ckv_crc32c(0, buf, sizeof(buf)), 0x62A8AB43u);
    for (int i = 0; i < 32; i++)
        buf[i] = (unsigned char)i;
    assert_int_equal(ckv_crc32c(0, buf, sizeof(buf)), 0x46DD794Eu);
    for (int i = 0; i < 32; i++)
        buf[i] = (unsigned char)(31 - i);
    assert_int_equal(ckv_crc32c(0, buf, sizeof(buf)), 0x113FDB5Cu);
}

static void test_empty_input_keeps_the_crc(void **state)
{
    (void)state;
    assert_int_equal(ckv_crc32c(0, NULL, 0), 0);
    assert_int_equal(ckv_crc32c(0xE3069283u, NULL, 0), 0xE3069283u);
    assert_int_equal(ckv_crc32c(0x12345678u, "", 0), 0x12345678u);
}

/* Every length up to a few words at every alignment: the word loop and the byte tail
 * must meet exactly. */
static void test_matches_reference_at_every_length_and_alignment(void **state)
{
    (void)state;
    unsigned char buf[200];
    fill(buf, sizeof(buf), 7);
    for (size_t off = 0; off < 8; off++)
        for (size_t len = 0; len + off <= sizeof(buf); len++)
            assert_int_equal(ckv_crc32c(0, buf + off, len), reference_crc32c(0, buf + off, len));
}

static void test_chaining_at_every_split(void **state)
{
    (void)state;
    unsigned char buf[1031];
    fill(buf, sizeof(buf), 42);
    uint32_t whole = ckv_crc32c(0, buf, sizeof(buf));
    assert_int_equal(whole, reference_crc32c(0, buf, sizeof(buf)));
    for (size_t cut = 0; cut <= sizeof(buf); cut++) {
        uint32_t first = ckv_crc32c(0, buf, cut);
        assert_int_equal(ckv_crc32c(first, buf + cut, sizeof(buf) - cut), whole);
    }
    /* three pieces too: chaining is not limited to one continuation */
    uint32_t c = ckv_crc32c(0, buf, 5);
    c = ckv_crc32c(c, buf + 5, 500);
    c = ckv_crc32c(c, buf + 505, sizeof(buf) - 505);
    assert_int_equal(c, whole);
}

static void test_large_buffer(void **state)
{
    (void)state;
    static unsigned char big[1 << 20];
    fill(big, sizeof(big), 99);
    assert_int_equal(ckv_crc32c(0, big, sizeof(big)), reference_crc32c(0, big, sizeof(big)));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_vectors),
        cmocka_unit_test(test_empty_input_keeps_the_crc),
        cmocka_unit_test(test_matches_reference_at_every_length_and_alignment),
        cmocka_unit_test(test_chaining_at_every_split),
        cmocka_unit_test(test_large_buffer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
