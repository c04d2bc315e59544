/* log.c — one line per message on stderr: "2024-05-01T12:00:00.123Z INFO message".
 *
 * The whole line is formatted first and written with one fwrite, so lines from a node
 * and from its sanitizers or children never interleave mid-line. */
#include "causalkv/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LINE_STACK_BYTES 1024
#define TIMESTAMP_BYTES 64

int ckv_log_level = CKV_LOG_INFO;

static const char *const level_names[] = {"error", "warn", "info", "debug"};
static const char *const level_words[] = {"ERROR", "WARN", "INFO", "DEBUG"};
#define LEVEL_COUNT (int)(sizeof(level_names) / sizeof(level_names[0]))

static char lower_ascii(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* Case-insensitive so that LOG_LEVEL=INFO works as well as info. */
static int equal_ignore_case(const char *a, const char *b)
{
    while (*a && lower_ascii(*a) == lower_ascii(*b)) {
        a++;
        b++;
    }
    return lower_ascii(*a) == lower_ascii(*b);
}

int ckv_log_level_parse(const char *s)
{
    if (s == NULL)
        return -1;
    for (int i = 0; i < LEVEL_COUNT; i++)
        if (equal_ignore_case(s, level_names[i]))
            return i;
    return -1;
}

static void format_timestamp(char *out, size_t len)
{
    struct timespec now;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    size_t n = strftime(out, len, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, len - n, ".%03dZ", (int)(now.tv_nsec / 1000000L) % 1000);
}

void ckv_log_write(int level, const char *fmt, ...)
{
    char ts[TIMESTAMP_BYTES];
    format_timestamp(ts, sizeof(ts));
    const char *word = (level >= 0 && level < LEVEL_COUNT) ? level_words[level] : "LOG";

    char stack[LINE_STACK_BYTES];
    int prefix = snprintf(stack, sizeof(stack), "%s %s ", ts, word);

    va_list ap, again;
    va_start(ap, fmt);
    va_copy(again, ap);
    int body = vsnprintf(stack + prefix, sizeof(stack) - (size_t)prefix, fmt, ap);
    va_end(ap);
    if (body < 0)
        body = 0;

    /* Long messages (a big view, a long error) get a heap line rather than truncation. */
    char *line = stack;
    size_t need = (size_t)prefix + (size_t)body + 2; /* newline and NUL */
    if (need > sizeof(stack)) {
        line = malloc(need);
        if (line != NULL) {
            memcpy(line, stack, (size_t)prefix);
            vsnprintf(line + prefix, need - (size_t)prefix, fmt, again);
        } else {
            line = stack; /* fall back to the truncated text */
            need = sizeof(stack);
        }
    }
    va_end(again);

    size_t len = strlen(line);
    if (len == 0 || line[len - 1] != '\n') { /* callers may or may not end with \n */
        if (len + 1 < need) {
            line[len++] = '\n';
            line[len] = '\0';
        } else {
            line[len - 1] = '\n';
        }
    }
    fwrite(line, 1, len, stderr);
    if (line != stack)
        free(line);
}
