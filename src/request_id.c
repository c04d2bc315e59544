/* request_id.c — request id rules and generation (see request_id.h). */
#include "causalkv/request_id.h"

#include <string.h>

static bool id_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.' || c == ':' || c == '/' || c == '+' || c == '=';
}

bool ckv_request_id_valid(const char *s, size_t len)
{
    if (s == NULL || len == 0 || len > CKV_REQUEST_ID_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!id_char((unsigned char)s[i]))
            return false;
    return true;
}

/* splitmix64's finaliser: every seed bit reaches every prefix digit. */
static uint64_t mix(uint64_t x)
{
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

void ckv_request_ids_init(ckv_request_ids *g, uint64_t seed)
{
    static const char hex[] = "0123456789abcdef";
    uint64_t h = mix(seed);
    for (int i = 0; i < CKV_REQUEST_ID_PREFIX_LEN; i++)
        g->prefix[i] = hex[(h >> (4 * i)) & 15];
    g->prefix[CKV_REQUEST_ID_PREFIX_LEN] = '\0';
    g->next = 1;
}

size_t ckv_request_id_next(ckv_request_ids *g, char out[CKV_REQUEST_ID_MAX + 1])
{
    char digits[20];
    size_t nd = 0;
    uint64_t v = g->next++;
    do {
        digits[nd++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    memcpy(out, g->prefix, CKV_REQUEST_ID_PREFIX_LEN);
    size_t len = CKV_REQUEST_ID_PREFIX_LEN;
    out[len++] = '-';
    while (nd > 0)
        out[len++] = digits[--nd];
    out[len] = '\0';
    return len;
}
