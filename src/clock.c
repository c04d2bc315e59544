/* clock.c — wall-clock milliseconds and monotonic microseconds (see clock.h). */
#include "causalkv/clock.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>
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

void ckv_http_date(int64_t t, char out[CKV_HTTP_DATE_SIZE])
{
    /* fixed English names: strftime's would follow the locale */
    static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    time_t tt = (time_t)t;
    struct tm tm;
    char text[64]; /* room for any int the compiler cannot bound */
    int n = -1;
    if (gmtime_r(&tt, &tm) != NULL && tm.tm_year + 1900 >= 0 && tm.tm_year + 1900 <= 9999)
        n = snprintf(text, sizeof(text), "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday],
                     tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                     tm.tm_sec);
    /* a time no four-digit year can say: the epoch, never a longer string */
    memcpy(out, n == CKV_HTTP_DATE_SIZE - 1 ? text : "Thu, 01 Jan 1970 00:00:00 GMT",
           CKV_HTTP_DATE_SIZE);
}
