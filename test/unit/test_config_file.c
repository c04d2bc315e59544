/* Unit tests for config_file: the VARIABLE=value lines of `causalkv --config FILE` (the
 * format of systemd's EnvironmentFile=): comments, blanks, quotes, and the bad lines
 * that make the node exit 2 naming the line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "causalkv/config.h"
#include "causalkv/config_file.h"

static int parse(ckv_config_file *cf, const char *text, char *err, size_t errlen)
{
    return ckv_config_file_parse(cf, text, strlen(text), ckv_config_is_variable, err, errlen);
}

static void test_values_comments_quotes(void **state)
{
    (void)state;
    ckv_config_file cf;
    char err[256] = "";
    const char *text = "# a comment\n"
                       "\n"
                       "   ; another comment\n"
                       "ADDRESS=10.0.0.1:13800\n"
                       "  VIEW = 10.0.0.1:13800, 10.0.0.2:13800  \r\n"
                       "REPL_FACTOR=\"2\"\n"
                       "CLUSTER_SECRET='a b # not a comment'\n"
                       "DATA_DIR=\"/var/lib/\\\"q\\\\\"\n"
                       "LOG_LEVEL=\n"
                       "FSYNC=always\n"
                       "FSYNC=no"; /* the last line needs no newline; a later line wins */
    assert_int_equal(parse(&cf, text, err, sizeof(err)), CKV_OK);
    assert_string_equal(ckv_config_file_get(&cf, "ADDRESS"), "10.0.0.1:13800");
    assert_string_equal(ckv_config_file_get(&cf, "VIEW"), "10.0.0.1:13800, 10.0.0.2:13800");
    assert_string_equal(ckv_config_file_get(&cf, "REPL_FACTOR"), "2");
    assert_string_equal(ckv_config_file_get(&cf, "CLUSTER_SECRET"), "a b # not a comment");
    assert_string_equal(ckv_config_file_get(&cf, "DATA_DIR"), "/var/lib/\"q\\");
    assert_string_equal(ckv_config_file_get(&cf, "LOG_LEVEL"), "");
    assert_string_equal(ckv_config_file_get(&cf, "FSYNC"), "no");
    assert_null(ckv_config_file_get(&cf, "PORT"));
    assert_int_equal(cf.n, 7);
    ckv_config_file_free(&cf);
}

static void test_empty_file(void **state)
{
    (void)state;
    ckv_config_file cf;
    char err[64];
    assert_int_equal(parse(&cf, "", err, sizeof(err)), CKV_OK);
    assert_int_equal(cf.n, 0);
    assert_null(ckv_config_file_get(&cf, "ADDRESS"));
    ckv_config_file_free(&cf);
}

static void expect_error(const char *text, const char *want)
{
    ckv_config_file cf;
    char err[256] = "";
    assert_int_equal(parse(&cf, text, err, sizeof(err)), CKV_ERROR);
    if (strstr(err, want) == NULL)
        fail_msg("for %s: error '%s' does not contain '%s'", text, err, want);
    ckv_config_file_free(&cf);
}

static void test_bad_lines_name_the_line(void **state)
{
    (void)state;
    expect_error("ADDRESS=10.0.0.1:13800\nVEIW=10.0.0.1:13800\n", "line 2: unknown variable VEIW");
    expect_error("# ok\nADDRESS 10.0.0.1:13800\n", "line 2: not VARIABLE=value");
    expect_error("=x\n", "line 1: '' is not a variable name");
    expect_error("1VIEW=x\n", "line 1: '1VIEW' is not a variable name");
    expect_error("export VIEW=x\n", "line 1: 'export VIEW' is not a variable name");
    expect_error("\n\nVIEW=\"10.0.0.1:13800\n", "line 3: VIEW: a quote is not closed");
    expect_error("VIEW='a'b\n", "line 1: VIEW: text after the closing quote");
}

static void test_nul_byte(void **state)
{
    (void)state;
    ckv_config_file cf;
    char err[128] = "";
    const char text[] = "PORT=1\nVIEW=a\0b\n";
    assert_int_equal(ckv_config_file_parse(&cf, text, sizeof(text) - 1, ckv_config_is_variable, err,
                                           sizeof(err)),
                     CKV_ERROR);
    assert_non_null(strstr(err, "line 2: a NUL byte"));
    ckv_config_file_free(&cf);
}

static void test_every_known_variable(void **state)
{
    (void)state;
    assert_true(ckv_config_is_variable("ADDRESS"));
    assert_true(ckv_config_is_variable("CORS_ORIGINS"));
    assert_true(ckv_config_is_variable("DATA_DIR"));
    assert_false(ckv_config_is_variable("address"));
    assert_false(ckv_config_is_variable("CAUSALKV_NODE"));
    assert_false(ckv_config_is_variable(""));
}

static void test_too_long(void **state)
{
    (void)state;
    ckv_config_file cf;
    char err[128] = "";
    assert_int_equal(ckv_config_file_parse(&cf, "", CKV_CONFIG_FILE_MAX_BYTES + 1,
                                           ckv_config_is_variable, err, sizeof(err)),
                     CKV_ERROR);
    assert_non_null(strstr(err, "longer than"));
    ckv_config_file_free(&cf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_values_comments_quotes),  cmocka_unit_test(test_empty_file),
        cmocka_unit_test(test_bad_lines_name_the_line), cmocka_unit_test(test_nul_byte),
        cmocka_unit_test(test_every_known_variable),    cmocka_unit_test(test_too_long),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
