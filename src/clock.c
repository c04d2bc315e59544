/* clock.c — wall-clock milliseconds (see clock.h). */
#include "causalkv/clock.h"

#include <stddef.h>
#include <sys/time.h>

uint64_t ckv_now_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (uint64_t)tv.tv_sec * 1000u + (uint64_t)tv.tv_usec / 1000u;
}
