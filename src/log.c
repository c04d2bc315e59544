/* log.c — one line per message on stderr, as text or as JSON (see log.h).
 *
 * The whole line is formatted first and written with one fwrite, so lines from a node
 * and from its sanitizers or children never interleave mid-line. */
#include "causalkv/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MSG_STACK_BYTES 1024
#define TIMESTAMP_BYTES 64
#define NODE_BYTES 300

int ckv_log_level = CKV_LOG_INFO;
int ckv_log_format = CKV_LOG_TEXT;
static char log_node[NODE_BYTES];

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

int ckv_log_format_parse(const char *s)
{
    if (s == NULL)
        return -1;
    if (equal_ignore_case(s, "text"))
        return CKV_LOG_TEXT;
    if (equal_ignore_case(s, "json"))
        return CKV_LOG_JSON;
    return -1;
}

void ckv_log_set_node(const char *addr)
{
    snprintf(log_node, sizeof(log_node), "%s", addr != NULL ? addr : "");
}

/* A JSON string literal of any bytes: a byte outside a well-formed UTF-8 character
 * becomes U+FFFD, control characters and DEL become \uXXXX (\n, \t and the like too). */
static void add_json_text(ckv_sbuf *b, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    ckv_sbuf_addc(b, '"');
    size_t i = 0;
    while (i < len) {
        unsigned char c = (unsigned char)s[i];
        size_t n = ckv_utf8_sequence_len(s + i, len - i);
        if (n == 0) {
            ckv_sbuf_adds(b, "\\ufffd");
            n = 1;
        } else if (c == '"' || c == '\\') {
            char esc[2] = {'\\', (char)c};
            ckv_sbuf_add(b, esc, 2);
        } else if (c < 0x20 || c == 0x7f) {
            char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            ckv_sbuf_add(b, esc, sizeof(esc));
        } else {
            ckv_sbuf_add(b, s + i, n);
        }
        i += n;
    }
    ckv_sbuf_addc(b, '"');
}

static const char *level_name(int level)
{
    return (level >= 0 && level < LEVEL_COUNT) ? level_names[level] : "log";
}

static void format_json(ckv_sbuf *out, const ckv_log_fields *f, size_t msg_len)
{
    ckv_sbuf_adds(out, "{\"ts\":");
    add_json_text(out, f->ts, strlen(f->ts));
    ckv_sbuf_adds(out, ",\"level\":\"");
    ckv_sbuf_adds(out, level_name(f->level));
    ckv_sbuf_addc(out, '"');
    if (f->node != NULL && f->node[0] != '\0') {
        ckv_sbuf_adds(out, ",\"node\":");
        add_json_text(out, f->node, strlen(f->node));
    }
    ckv_sbuf_adds(out, ",\"msg\":");
    add_json_text(out, f->msg, msg_len);
    if (f->request_id != NULL) {
        ckv_sbuf_adds(out, ",\"request_id\":");
        add_json_text(out, f->request_id, strlen(f->request_id));
    }
    ckv_sbuf_adds(out, "}\n");
}

/* Today's format, byte for byte: "ts LEVEL message", the request id as "[id] ". */
static void format_text(ckv_sbuf *out, const ckv_log_fields *f, size_t msg_len)
{
    ckv_sbuf_adds(out, f->ts);
    ckv_sbuf_addc(out, ' ');
    ckv_sbuf_adds(out, (f->level >= 0 && f->level < LEVEL_COUNT) ? level_words[f->level] : "LOG");
    ckv_sbuf_addc(out, ' ');
    if (f->request_id != NULL) {
        ckv_sbuf_addc(out, '[');
        ckv_sbuf_adds(out, f->request_id);
        ckv_sbuf_adds(out, "] ");
    }
    ckv_sbuf_add(out, f->msg, msg_len);
    ckv_sbuf_addc(out, '\n');
}

void ckv_log_format_line(ckv_sbuf *out, int format, const ckv_log_fields *f)
{
    size_t len = f->msg_len;
    if (len > 0 && f->msg[len - 1] == '\n') /* callers may or may not end with \n */
        len--;
    if (format == CKV_LOG_JSON)
        format_json(out, f, len);
    else
        format_text(out, f, len);
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

/* Formats the message (a heap copy when it outgrows the stack: a big view, a long
 * error, rather than truncation), then the line, and writes it at once. */
__attribute__((format(printf, 3, 0))) static void log_vwrite(int level, const char *request_id,
                                                             const char *fmt, va_list ap)
{
    char stack[MSG_STACK_BYTES];
    va_list again;
    va_copy(again, ap);
    int len = vsnprintf(stack, sizeof(stack), fmt, ap);
    char *msg = stack;
    if (len < 0) {
        len = 0;
        stack[0] = '\0';
    } else if ((size_t)len >= sizeof(stack)) {
        msg = malloc((size_t)len + 1);
        if (msg != NULL)
            vsnprintf(msg, (size_t)len + 1, fmt, again);
        else
            msg = stack, len = (int)sizeof(stack) - 1; /* the truncated text */
    }
    va_end(again);
    char ts[TIMESTAMP_BYTES];
    format_timestamp(ts, sizeof(ts));
    ckv_log_fields f = {ts, level, log_node, request_id, msg, (size_t)len};
    ckv_sbuf line;
    ckv_sbuf_init(&line);
    ckv_log_format_line(&line, ckv_log_format, &f);
    if (!ckv_sbuf_failed(&line))
        fwrite(line.data, 1, line.len, stderr);
    ckv_sbuf_free(&line);
    if (msg != stack)
        free(msg);
}

void ckv_log_write(int level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vwrite(level, NULL, fmt, ap);
    va_end(ap);
}

void ckv_log_write_req(int level, const char *request_id, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vwrite(level, request_id, fmt, ap);
    va_end(ap);
}
