/* config_file.h — `causalkv --config FILE`: VARIABLE=value lines → a lookup table.
 *
 * The text is the format of systemd's EnvironmentFile= (so one file serves both):
 * one VARIABLE=value per line; blank lines and lines whose first non-blank character
 * is '#' or ';' are ignored; whitespace around the name and the value is trimmed; a
 * value may be wrapped in double quotes (where \" and \\ are escapes) or single quotes
 * (taken verbatim). A later line for the same variable replaces an earlier one.
 *
 * Plain module: the caller reads the file and hands over its bytes. Parsing stops at
 * the first bad line with CKV_ERROR and one message naming the line number: no '=',
 * a name that is not [A-Za-z_][A-Za-z0-9_]*, a name `known` refuses, an unterminated
 * quote, text after a closing quote, a NUL byte. Ownership: the table owns copies of
 * every name and value; ckv_config_file_get returns pointers into it, valid until
 * ckv_config_file_free. */
#ifndef CAUSALKV_CONFIG_FILE_H
#define CAUSALKV_CONFIG_FILE_H

#include <stdbool.h>
#include <stddef.h>

#include "causalkv/common.h"

#define CKV_CONFIG_FILE_MAX_BYTES (1u << 20) /* a longer file is refused */

typedef struct ckv_config_file_entry {
    char *name;
    char *value;
} ckv_config_file_entry;

typedef struct ckv_config_file {
    ckv_config_file_entry *entries;
    size_t n, cap;
} ckv_config_file;

/* Which variable names a file may set (pass ckv_config_is_variable). */
typedef bool (*ckv_config_known_fn)(const char *name);

/* Parses len bytes of text into *cf (initialised here; free it even on error).
 * Returns CKV_OK, CKV_ERROR (err: "line N: why") or CKV_NOMEM. */
int ckv_config_file_parse(ckv_config_file *cf, const char *text, size_t len,
                          ckv_config_known_fn known, char *err, size_t errlen);

/* The value the file gives name, or NULL when it sets none. */
const char *ckv_config_file_get(const ckv_config_file *cf, const char *name);

void ckv_config_file_free(ckv_config_file *cf);

#endif
