/* test_log.c — the line formatter: today's text lines, and JSON lines that parse
 * whatever bytes a message holds (quotes, control characters, invalid UTF-8). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "causalkv/log.h"

#define TS "2024-05-01T12:00:00.123Z"

static char *format(int fmt, int level, const char *node, const char *rid, const char *msg,
                    size_t len)
{
    ckv_log_fields f = {TS, level, node, rid, msg, len};
    ckv_sbuf b;
    ckv_sbuf_init(&b);
    ckv_log_format_line(&b, fmt, &f);
    ckv_sbuf_addc(&b, '\0');
    assert_false(ckv_sbuf_failed(&b));
    return ckv_sbuf_steal(&b, NULL);
}

/* The line is one JSON object ending in one newline; returns it parsed. */
static json_t *parse_line(const char *line)
{
    size_t len = strlen(line);
    assert_true(len > 0 && line[len - 1] == '\n');
    assert_null(memchr(line, '\n', len - 1));
    json_error_t err;
    json_t *js = json_loadb(line, len - 1, 0, &err);
    if (js == NULL)
        fail_msg("not JSON (%s): %s", err.text, line);
    assert_true(json_is_object(js));
    return js;
}

static const char *field(const json_t *js, const char *name)
{
    return json_string_value(json_object_get(js, name));
}

static void test_text_is_todays_format(void **state)
{
    (void)state;
    char *line = format(CKV_LOG_TEXT, CKV_LOG_INFO, "n:1", NULL, "hello\n", 6);
    assert_string_equal(line, TS " INFO hello\n");
    free(line);
    line = format(CKV_LOG_TEXT, CKV_LOG_DEBUG, NULL, "abc-1", "GET /x", 6);
    assert_string_equal(line, TS " DEBUG [abc-1] GET /x\n");
    free(line);
}

static void test_json_fields(void **state)
{
    (void)state;
    char *line = format(CKV_LOG_JSON, CKV_LOG_WARN, "127.0.0.1:13800", "r-7", "peer down\n", 10);
    json_t *js = parse_line(line);
    assert_string_equal(field(js, "ts"), TS);
    assert_string_equal(field(js, "level"), "warn");
    assert_string_equal(field(js, "node"), "127.0.0.1:13800");
    assert_string_equal(field(js, "msg"), "peer down");
    assert_string_equal(field(js, "request_id"), "r-7");
    assert_int_equal(json_object_size(js), 5);
    json_decref(js);
    free(line);
    line = format(CKV_LOG_JSON, CKV_LOG_ERROR, "", NULL, "x", 1);
    js = parse_line(line);
    assert_string_equal(field(js, "level"), "error");
    assert_null(json_object_get(js, "node"));
    assert_null(json_object_get(js, "request_id"));
    json_decref(js);
    free(line);
}

static void test_json_escapes_quotes_and_controls(void **state)
{
    (void)state;
    static const char msg[] = "a \"quoted\" \\ back\tslash\r\nnext\x01\x1f\x7f end";
    char *line = format(CKV_LOG_JSON, CKV_LOG_INFO, NULL, NULL, msg, sizeof(msg) - 1);
    json_t *js = parse_line(line);
    assert_string_equal(field(js, "msg"), msg);
    json_decref(js);
    free(line);
}

static void test_json_nul_inside_message(void **state)
{
    (void)state;
    static const char msg[] = "before\0after";
    char *line = format(CKV_LOG_JSON, CKV_LOG_INFO, NULL, NULL, msg, sizeof(msg) - 1);
    assert_non_null(strstr(line, "before\\u0000after"));
    free(line);
}

/* Invalid bytes become U+FFFD; well-formed multi-byte characters pass unchanged. */
static void test_json_invalid_utf8(void **state)
{
    (void)state;
    static const char msg[] =
        "ok \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 bad \xff\xc0\xaf \xed\xa0\x80 "
        "cut \xe2\x82";
    char *line = format(CKV_LOG_JSON, CKV_LOG_INFO, NULL, NULL, msg, sizeof(msg) - 1);
    json_t *js = parse_line(line); /* jansson rejects invalid UTF-8: this parse is the check */
    const char *got = field(js, "msg");
    assert_non_null(got);
    assert_non_null(strstr(got, "ok \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 bad "));
    assert_non_null(strstr(got, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"));
    assert_string_equal(got + strlen(got) - 10, "cut \xef\xbf\xbd\xef\xbf\xbd");
    json_decref(js);
    free(line);
}

static void test_json_escapes_node_and_request_id(void **state)
{
    (void)state;
    char *line = format(CKV_LOG_JSON, CKV_LOG_DEBUG, "a\"b", "x\\y\n\xfe", "m", 1);
    json_t *js = parse_line(line);
    assert_string_equal(field(js, "node"), "a\"b");
    assert_string_equal(field(js, "request_id"), "x\\y\n\xef\xbf\xbd");
    json_decref(js);
    free(line);
}

static void test_long_message(void **state)
{
    (void)state;
    size_t len = 100000;
    char *msg = malloc(len);
    assert_non_null(msg);
    memset(msg, 'v', len);
    char *line = format(CKV_LOG_JSON, CKV_LOG_INFO, NULL, NULL, msg, len);
    json_t *js = parse_line(line);
    assert_int_equal(strlen(field(js, "msg")), len);
    json_decref(js);
    free(line);
    free(msg);
}

static void test_format_parse(void **state)
{
    (void)state;
    assert_int_equal(ckv_log_format_parse("text"), CKV_LOG_TEXT);
    assert_int_equal(ckv_log_format_parse("Json"), CKV_LOG_JSON);
    assert_int_equal(ckv_log_format_parse("jsonl"), -1);
    assert_int_equal(ckv_log_format_parse(""), -1);
    assert_int_equal(ckv_log_format_parse(NULL), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text_is_todays_format),
        cmocka_unit_test(test_json_fields),
        cmocka_unit_test(test_json_escapes_quotes_and_controls),
        cmocka_unit_test(test_json_nul_inside_message),
        cmocka_unit_test(test_json_invalid_utf8),
        cmocka_unit_test(test_json_escapes_node_and_request_id),
        cmocka_unit_test(test_long_message),
        cmocka_unit_test(test_format_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
