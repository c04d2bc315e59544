/* clock.c — wall-clock milliseconds and monotonic microseconds (see clock.h). */
#include "causalkv/clock.h"

#include <stddef.h>
#include <sys/time.h>
#include <time.h>

uint64_t ckv_now_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (uint64_t)tv.tv_sec * 1000u + (uint64_t)tv.tv_usec / 1000u;
}

uint64_t ckv_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}
