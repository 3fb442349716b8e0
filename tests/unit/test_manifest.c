/* Manifest parsing: the original's {"fileLocations":[{"URIPrefixes":[...]}]}. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "convert/manifest.h"
#include "test.h"

static int parse(const char *text, manifest *m, err_t *e)
{
    err_clear(e);
    return manifest_parse(text, strlen(text), "batch-7.json", m, e);
}

static void test_manifest_good(void)
{
    manifest m;
    err_t e;
    const char *t =
        "{\"fileLocations\":[{\"URIPrefixes\":[\"file:///d/a.ndjson\",\"file:///d/b%20c.ndjson\"]},"
        "{\"URIPrefixes\":[\"/plain/c.ndjson\"],\"extra\":42}],"
        "\"batchId\":\"x\",\"nested\":{\"fileLocations\":false},\"list\":[1,{\"a\":null}]}";
    if (!CHECK_EQ_INT(parse(t, &m, &e), 0)) {
        FAILF("error: %s", e.msg);
        return;
    }
    if (CHECK_EQ_INT(m.n, 3)) {
        CHECK_STR(m.uris[0], "file:///d/a.ndjson");
        CHECK_STR(m.uris[1], "file:///d/b%20c.ndjson"); /* kept as written; decoded later */
        CHECK_STR(m.uris[2], "/plain/c.ndjson");
    }
    CHECK_EQ_INT(m.duplicates, 0);
    manifest_free(&m);
    CHECK(m.uris == NULL && m.n == 0);

    /* Whitespace and an escaped string are fine. */
    t = " {\n \"fileLocations\" : [ { \"URIPrefixes\" : [ \"file:///d/\\u00e9.ndjson\" ] } ] }\n";
    if (CHECK_EQ_INT(parse(t, &m, &e), 0) && CHECK_EQ_INT(m.n, 1))
        CHECK_STR(m.uris[0], "file:///d/\xC3\xA9.ndjson");
    manifest_free(&m);

    /* An empty list is an empty batch, not an error. */
    if (CHECK_EQ_INT(parse("{\"fileLocations\":[]}", &m, &e), 0)) CHECK_EQ_INT(m.n, 0);
    manifest_free(&m);
    if (CHECK_EQ_INT(parse("{\"fileLocations\":[{\"URIPrefixes\":[]}]}", &m, &e), 0))
        CHECK_EQ_INT(m.n, 0);
    manifest_free(&m);
}

static void test_manifest_duplicates(void)
{
    manifest m;
    err_t e;
    const char *t = "{\"fileLocations\":[{\"URIPrefixes\":[\"/a\",\"/b\",\"/a\"]},"
                    "{\"URIPrefixes\":[\"/b\",\"/c\",\"/a\"]}]}";
    if (CHECK_EQ_INT(parse(t, &m, &e), 0) && CHECK_EQ_INT(m.n, 3)) {
        CHECK_STR(m.uris[0], "/a"); /* first occurrence order */
        CHECK_STR(m.uris[1], "/b");
        CHECK_STR(m.uris[2], "/c");
        CHECK_EQ_INT(m.duplicates, 3);
    }
    manifest_free(&m);
}

static void check_error(const char *text, int line)
{
    manifest m;
    err_t e;
    memset(&m, 0xAB, sizeof m);
    int rc = parse(text, &m, &e);
    test_check_int(rc, -1, __FILE__, line, "manifest_parse", "-1");
    if (rc == 0) {
        manifest_free(&m);
        return;
    }
    test_check_int(e.code, ERR_INPUT, __FILE__, line, "e.code", "ERR_INPUT");
    if (!strstr(e.msg, "batch-7.json"))
        test_failf(__FILE__, line, "message does not name the source: %s", e.msg);
    test_check(m.uris == NULL && m.n == 0, __FILE__, line, "nothing left allocated");
    manifest_free(&m);
}
#define CHECK_ERROR(text) check_error((text), __LINE__)

static void test_manifest_errors(void)
{
    CHECK_ERROR("");
    CHECK_ERROR("{");
    CHECK_ERROR("{\"fileLocations\":[{\"URIPrefixes\":[\"/a\"]}]");   /* malformed */
    CHECK_ERROR("{\"fileLocations\":[{\"URIPrefixes\":[\"/a\",]}]}"); /* trailing comma */
    CHECK_ERROR("not json");
    CHECK_ERROR("{}");                                               /* missing fileLocations */
    CHECK_ERROR("{\"filelocations\":[]}");                           /* case matters */
    CHECK_ERROR("[]");
    CHECK_ERROR("[{\"URIPrefixes\":[\"/a\"]}]");
    CHECK_ERROR("{\"fileLocations\":{\"URIPrefixes\":[\"/a\"]}}");  /* not a list */
    CHECK_ERROR("{\"fileLocations\":null}");
    CHECK_ERROR("{\"fileLocations\":[{}]}");                         /* no URIPrefixes */
    CHECK_ERROR("{\"fileLocations\":[{\"URIPrefixes\":\"/a\"}]}");
    CHECK_ERROR("{\"fileLocations\":[\"/a\"]}");
    CHECK_ERROR("{\"fileLocations\":[{\"URIPrefixes\":[1]}]}");       /* non-string entries */
    CHECK_ERROR("{\"fileLocations\":[{\"URIPrefixes\":[null]}]}");
    CHECK_ERROR("{\"fileLocations\":[{\"URIPrefixes\":[\"/a\",{\"u\":\"/b\"}]}]}");
    CHECK_ERROR("{\"fileLocations\":[{\"URIPrefixes\":[[\"/a\"]]}]}");
    CHECK_ERROR("{\"fileLocations\":[{\"URIPrefixes\":[\"\"]}]}");    /* empty string */
    CHECK_ERROR("{\"fileLocations\":[{\"URIPrefixes\":[\"/a\\u0000b\"]}]}"); /* embedded NUL */
    CHECK_ERROR("{\"fileLocations\":[{\"URIPrefixes\":[\"/ok\"]},{\"URIPrefixes\":[true]}]}");
}

static void test_manifest_load(void)
{
    char path[] = "/tmp/ndpq-unit-manifest-XXXXXX";
    int fd = mkstemp(path);
    if (!CHECK(fd >= 0)) return;
    const char *t = "{\"fileLocations\":[{\"URIPrefixes\":[\"/x/1.ndjson\",\"/x/2.ndjson\"]}]}";
    CHECK_EQ_INT(write(fd, t, strlen(t)), (long long)strlen(t));
    close(fd);
    manifest m;
    err_t e;
    err_clear(&e);
    if (CHECK_EQ_INT(manifest_load(path, &m, &e), 0) && CHECK_EQ_INT(m.n, 2)) {
        CHECK_STR(m.uris[0], "/x/1.ndjson");
        CHECK_STR(m.uris[1], "/x/2.ndjson");
    }
    manifest_free(&m);
    unlink(path);

    err_clear(&e);
    memset(&m, 0, sizeof m);
    CHECK_EQ_INT(manifest_load("/nonexistent/dir/m.json", &m, &e), -1);
    CHECK(strstr(e.msg, "/nonexistent/dir/m.json") != NULL);
}

void register_manifest_tests(void)
{
    TEST_ADD(test_manifest_good);
    TEST_ADD(test_manifest_duplicates);
    TEST_ADD(test_manifest_errors);
    TEST_ADD(test_manifest_load);
}
