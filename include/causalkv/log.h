/* log.h — a level-gated logger: the level is checked before any formatting happens. */
#ifndef CAUSALKV_LOG_H
#define CAUSALKV_LOG_H

enum { CKV_LOG_ERROR = 0, CKV_LOG_WARN = 1, CKV_LOG_INFO = 2, CKV_LOG_DEBUG = 3 };

extern int ckv_log_level;

/* Parses "error", "warn", "info", "debug"; -1 when unknown. */
int ckv_log_level_parse(const char *s);

void ckv_log_write(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define CKV_LOG(level, ...)                                                                        \
    do {                                                                                           \
        if ((level) <= ckv_log_level)                                                              \
            ckv_log_write((level), __VA_ARGS__);                                                   \
    } while (0)
#define log_error(...) CKV_LOG(CKV_LOG_ERROR, __VA_ARGS__)
#define log_warn(...) CKV_LOG(CKV_LOG_WARN, __VA_ARGS__)
#define log_info(...) CKV_LOG(CKV_LOG_INFO, __VA_ARGS__)
#define log_debug(...) CKV_LOG(CKV_LOG_DEBUG, __VA_ARGS__)

#endif
