/* config_file.c — VARIABLE=value lines → a table (see config_file.h for the format). */
#include "causalkv/config_file.h"
#include "causalkv/errmsg.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ECHO_MAX 64 /* bytes of a bad name quoted back in an error message */

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

static bool name_start(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static bool name_char(char c)
{
    return name_start(c) || (c >= '0' && c <= '9');
}

static char *copy(const char *s, size_t len)
{
    char *out = malloc(len + 1);
    if (out != NULL) {
        memcpy(out, s, len);
        out[len] = '\0';
    }
    return out;
}

/* Takes ownership of name and value (frees them on failure). */
static int put(ckv_config_file *cf, char *name, char *value)
{
    for (size_t i = 0; i < cf->n; i++) {
        if (strcmp(cf->entries[i].name, name) == 0) {
            free(cf->entries[i].value);
            cf->entries[i].value = value;
            free(name);
            return CKV_OK;
        }
    }
    if (cf->n == cf->cap) {
        size_t cap = cf->cap ? cf->cap * 2 : 16;
        ckv_config_file_entry *e = realloc(cf->entries, cap * sizeof(*e));
        if (e == NULL) {
            free(name);
            free(value);
            return CKV_NOMEM;
        }
        cf->entries = e;
        cf->cap = cap;
    }
    cf->entries[cf->n].name = name;
    cf->entries[cf->n].value = value;
    cf->n++;
    return CKV_OK;
}

/* The value part of a line, [p, end): unquoted (trimmed), "double" or 'single' quoted.
 * Sets *out to a new string, or returns CKV_ERROR with why. */
static int parse_value(const char *p, const char *end, char **out, const char **why)
{
    while (p < end && is_blank(*p))
        p++;
    while (end > p && is_blank(end[-1]))
        end--;
    *out = NULL;
    if (p == end || (*p != '"' && *p != '\'')) {
        *out = copy(p, (size_t)(end - p));
        return *out != NULL ? CKV_OK : CKV_NOMEM;
    }
    char quote = *p++;
    char *buf = malloc((size_t)(end - p) + 1);
    if (buf == NULL)
        return CKV_NOMEM;
    size_t n = 0;
    bool closed = false;
    while (p < end) {
        char c = *p++;
        if (c == quote) {
            closed = true;
            break;
        }
        if (quote == '"' && c == '\\' && p < end && (*p == '"' || *p == '\\'))
            c = *p++;
        buf[n++] = c;
    }
    if (!closed || p != end) {
        free(buf);
        *why = closed ? "text after the closing quote" : "a quote is not closed";
        return CKV_ERROR;
    }
    buf[n] = '\0';
    *out = buf;
    return CKV_OK;
}

/* One line without its '\n'. */
static int parse_line(ckv_config_file *cf, const char *p, const char *end, unsigned lineno,
                      ckv_config_known_fn known, char *err, size_t errlen)
{
    while (p < end && is_blank(*p))
        p++;
    if (p == end || *p == '#' || *p == ';')
        return CKV_OK;
    const char *eq = memchr(p, '=', (size_t)(end - p));
    if (eq == NULL) {
        ckv_set_err(err, errlen, "line %u: not VARIABLE=value", lineno);
        return CKV_ERROR;
    }
    const char *name_end = eq;
    while (name_end > p && is_blank(name_end[-1]))
        name_end--;
    size_t name_len = (size_t)(name_end - p);
    bool valid = name_len > 0 && name_start(p[0]);
    for (size_t i = 1; valid && i < name_len; i++)
        valid = name_char(p[i]);
    int shown = name_len > ECHO_MAX ? ECHO_MAX : (int)name_len;
    if (!valid) {
        ckv_set_err(err, errlen, "line %u: '%.*s' is not a variable name", lineno, shown, p);
        return CKV_ERROR;
    }
    char *name = copy(p, name_len);
    if (name == NULL)
        return CKV_NOMEM;
    if (known != NULL && !known(name)) {
        ckv_set_err(err, errlen, "line %u: unknown variable %.*s (causalkv --help lists them)",
                    lineno, shown, name);
        free(name);
        return CKV_ERROR;
    }
    char *value;
    const char *why = NULL;
    int rc = parse_value(eq + 1, end, &value, &why);
    if (rc != CKV_OK) {
        if (rc == CKV_ERROR)
            ckv_set_err(err, errlen, "line %u: %s: %s", lineno, name, why);
        free(name);
        return rc;
    }
    return put(cf, name, value);
}

int ckv_config_file_parse(ckv_config_file *cf, const char *text, size_t len,
                          ckv_config_known_fn known, char *err, size_t errlen)
{
    memset(cf, 0, sizeof(*cf));
    if (len > CKV_CONFIG_FILE_MAX_BYTES) {
        ckv_set_err(err, errlen, "longer than %u bytes", CKV_CONFIG_FILE_MAX_BYTES);
        return CKV_ERROR;
    }
    const char *p = text, *end = text + len;
    unsigned lineno = 0;
    while (p < end) {
        lineno++;
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *line_end = nl != NULL ? nl : end;
        if (memchr(p, '\0', (size_t)(line_end - p)) != NULL) {
            ckv_set_err(err, errlen, "line %u: a NUL byte", lineno);
            return CKV_ERROR;
        }
        int rc = parse_line(cf, p, line_end, lineno, known, err, errlen);
        if (rc != CKV_OK)
            return rc;
        p = nl != NULL ? nl + 1 : end;
    }
    return CKV_OK;
}

const char *ckv_config_file_get(const ckv_config_file *cf, const char *name)
{
    for (size_t i = 0; i < cf->n; i++)
        if (strcmp(cf->entries[i].name, name) == 0)
            return cf->entries[i].value;
    return NULL;
}

void ckv_config_file_free(ckv_config_file *cf)
{
    for (size_t i = 0; i < cf->n; i++) {
        free(cf->entries[i].name);
        free(cf->entries[i].value);
    }
    free(cf->entries);
    memset(cf, 0, sizeof(*cf));
}
