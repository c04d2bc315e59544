/* errmsg.h — filling a caller's error buffer (err, errlen), the way every parser that
 * explains a refusal reports it. A NULL or empty buffer means the caller does not want
 * the text. */
#ifndef CAUSALKV_ERRMSG_H
#define CAUSALKV_ERRMSG_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

static inline void ckv_set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static inline void ckv_set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (err == NULL || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

#endif
