/* fuzz_config_file.c — libFuzzer target: the text of a `causalkv --config FILE`.
 *
 * The input is the file's bytes, parsed with the node's own ckv_config_is_variable.
 *
 * Invariants (abort on violation):
 *  - the parse returns CKV_OK or CKV_ERROR; on error, err is one non-empty line that
 *    starts "line N: " (N within the input's line count) or says the file is too long;
 *  - on success every entry has a distinct, known name and a value without a newline,
 *    and ckv_config_file_get returns exactly the entries' values;
 *  - parsing is deterministic (a second parse gives the same entries), also with a
 *    tiny or missing error buffer. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "causalkv/config.h"
#include "causalkv/config_file.h"

static void check_err(const char *err, size_t errlen, const uint8_t *data, size_t size)
{
    CHECK(memchr(err, '\0', errlen) != NULL);
    CHECK(err[0] != '\0');
    CHECK(strchr(err, '\n') == NULL);
    if (strncmp(err, "line ", 5) == 0) {
        unsigned long n = strtoul(err + 5, NULL, 10);
        size_t lines = 1;
        for (size_t i = 0; i + 1 < size; i++)
            lines += data[i] == '\n';
        CHECK(n >= 1 && n <= lines);
    } else {
        CHECK(strncmp(err, "longer than", 11) == 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = size > 0 ? (const char *)data : "";
    ckv_config_file cf;
    char err[256];
    memset(err, 0, sizeof(err));
    int rc = ckv_config_file_parse(&cf, text, size, ckv_config_is_variable, err, sizeof(err));
    CHECK(rc == CKV_OK || rc == CKV_ERROR);
    if (rc == CKV_OK) {
        for (size_t i = 0; i < cf.n; i++) {
            CHECK(ckv_config_is_variable(cf.entries[i].name));
            CHECK(strchr(cf.entries[i].value, '\n') == NULL);
            CHECK(ckv_config_file_get(&cf, cf.entries[i].name) == cf.entries[i].value);
            for (size_t j = 0; j < i; j++)
                CHECK(strcmp(cf.entries[i].name, cf.entries[j].name) != 0);
        }
    } else {
        check_err(err, sizeof(err), data, size);
    }

    ckv_config_file again;
    char small[8];
    memset(small, 'X', sizeof(small));
    int rc2 =
        ckv_config_file_parse(&again, text, size, ckv_config_is_variable, small, sizeof(small));
    CHECK(rc2 == rc);
    if (rc == CKV_OK) {
        CHECK(again.n == cf.n);
        for (size_t i = 0; i < cf.n; i++) {
            CHECK(strcmp(again.entries[i].name, cf.entries[i].name) == 0);
            CHECK(strcmp(again.entries[i].value, cf.entries[i].value) == 0);
        }
    } else {
        CHECK(memchr(small, '\0', sizeof(small)) != NULL);
    }
    ckv_config_file_free(&again);
    ckv_config_file none;
    CHECK(ckv_config_file_parse(&none, text, size, ckv_config_is_variable, NULL, 0) == rc);
    ckv_config_file_free(&none);
    ckv_config_file_free(&cf);
    return 0;
}
