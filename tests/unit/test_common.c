/* common/: date, uri, jsonw, buf, mem, arena, dio, log, proc. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <strings.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/arena.h"
#include "common/buf.h"
#include "common/dio.h"
#include "common/mem.h"
#include "common/bytes.h"
#include "common/date.h"
#include "common/err.h"
#include "common/jsonw.h"
#include "common/log.h"
#include "common/proc.h"
#include "common/uri.h"
#include "test.h"

/* ---- date ---- */

static bool find(const char *s, char *out)
{
    memset(out, 'X', 11);
    return date_find(s, strlen(s), out);
}

static void test_date_valid(void)
{
    CHECK(date_valid(2024, 2, 29));    /* leap year */
    CHECK(!date_valid(2023, 2, 29));
    CHECK(date_valid(2000, 2, 29));    /* divisible by 400 */
    CHECK(!date_valid(1900, 2, 29));   /* divisible by 100 only */
    CHECK(date_valid(2023, 2, 28));
    CHECK(date_valid(2024, 12, 31));
    CHECK(!date_valid(2024, 4, 31));
    CHECK(date_valid(2024, 4, 30));
    CHECK(!date_valid(2024, 13, 1));
    CHECK(!date_valid(2024, 0, 1));
    CHECK(!date_valid(2024, 1, 0));
    CHECK(!date_valid(2024, 1, 32));
    CHECK(date_is_ymd("2024-02-29", 10));
    CHECK(!date_is_ymd("2024-02-29", 9));
    CHECK(!date_is_ymd("2024/02/29", 10));
    CHECK(!date_is_ymd("2024-2-290", 10));
    CHECK(!date_is_ymd("2024-02-3x", 10));
}

static void test_date_find(void)
{
    char out[11];
    CHECK(find("s3://bucket/manifests/2024-02-29/batch.json", out));
    CHECK_STR(out, "2024-02-29");
    CHECK(find("2023-02-29_2023-03-01.json", out)); /* the first *valid* date */
    CHECK_STR(out, "2023-03-01");
    CHECK(find("/m/9999-99-99/2024-01-31", out));
    CHECK_STR(out, "2024-01-31");
    CHECK(find("2024-12-31", out));               /* the whole string */
    CHECK_STR(out, "2024-12-31");
    CHECK(find("x-2024-06-15", out));
    CHECK_STR(out, "2024-06-15");
    CHECK(!find("", out));
    CHECK(!find("no date here", out));
    CHECK(!find("2024-06-1", out));
    CHECK(!find("2024-13-01 2024-02-30 1900-02-29", out));
    /* n bounds the search. */
    CHECK(!date_find("2024-06-15", 9, out));
    CHECK(date_find("..2024-06-15..", 12, out));
    CHECK_STR(out, "2024-06-15");
}

/* ---- uri ---- */

static void test_uri_from_path(void)
{
    buf b = {0};
    uri_from_path("/data/in/a.ndjson", &b);
    CHECK_STR(buf_cstr(&b), "file:///data/in/a.ndjson");
    buf_reset(&b);
    uri_from_path("/a b/c%d#e?f", &b);
    CHECK_STR(buf_cstr(&b), "file:///a%20b/c%25d%23e%3Ff");
    buf_reset(&b);
    uri_from_path("/d/\xC3\xA9t\xC3\xA9.json", &b);
    CHECK_STR(buf_cstr(&b), "file:///d/%C3%A9t%C3%A9.json");
    buf_reset(&b);
    uri_from_path("/x/A-Z_a.z~0-9", &b);
    CHECK_STR(buf_cstr(&b), "file:///x/A-Z_a.z~0-9");
    buf_reset(&b);
    uri_from_path("/t\tn\n\"<>\\^`{|}", &b);
    CHECK_STR(buf_cstr(&b), "file:///t%09n%0A%22%3C%3E%5C%5E%60%7B%7C%7D");
    buf_free(&b);
}

static void check_to_path(const char *in, const char *want, int line)
{
    buf b = {0};
    err_t e;
    err_clear(&e);
    int rc = uri_to_path(in, &b, &e);
    if (test_check_int(rc, 0, __FILE__, line, "uri_to_path", "0"))
        test_check_str(buf_cstr(&b), want, __FILE__, line, "path", "want");
    else
        test_failf(__FILE__, line, "  for %s: %s", in, e.msg);
    buf_free(&b);
}
#define CHECK_TO_PATH(in, want) check_to_path((in), (want), __LINE__)

static void check_to_path_err(const char *in, err_code want, int line)
{
    buf b = {0};
    err_t e;
    err_clear(&e);
    int rc = uri_to_path(in, &b, &e);
    test_check_int(rc, -1, __FILE__, line, "uri_to_path", "-1");
    test_check_int(e.code, want, __FILE__, line, "e.code", "want");
    test_check(e.msg[0] != '\0', __FILE__, line, "error has a message");
    buf_free(&b);
}
#define CHECK_TO_PATH_ERR(in, code) check_to_path_err((in), (code), __LINE__)

static void test_uri_to_path(void)
{
    CHECK_TO_PATH("file:///a%20b", "/a b");
    CHECK_TO_PATH("file:///data/in/x.ndjson", "/data/in/x.ndjson");
    CHECK_TO_PATH("file://localhost/x", "/x");
    CHECK_TO_PATH("file:///%C3%A9%c3%a9", "/\xC3\xA9\xC3\xA9");
    CHECK_TO_PATH("file:///a+b", "/a+b");          /* no form decoding in file URIs */
    CHECK_TO_PATH("/abs/path.ndjson", "/abs/path.ndjson");
    CHECK_TO_PATH("/abs/with%20percent", "/abs/with%20percent"); /* plain paths are not decoded */

    char cwd[4096];
    if (CHECK(getcwd(cwd, sizeof cwd) != NULL)) {
        char want[4200];
        snprintf(want, sizeof want, "%s/rel/x.ndjson", strcmp(cwd, "/") ? cwd : "");
        CHECK_TO_PATH("rel/x.ndjson", want);
    }

    CHECK_TO_PATH_ERR("s3://bucket/key.ndjson", ERR_UNSUPPORTED);
    CHECK_TO_PATH_ERR("http://example.com/x", ERR_UNSUPPORTED);
    CHECK_TO_PATH_ERR("file:///a%zz", ERR_INPUT);
    CHECK_TO_PATH_ERR("file:///a%2", ERR_INPUT);
    CHECK_TO_PATH_ERR("file:///a%", ERR_INPUT);
    CHECK_TO_PATH_ERR("file:///a%00b", ERR_INPUT);
    CHECK_TO_PATH_ERR("file://otherhost/x", ERR_INPUT);

    /* Round trip through uri_from_path for awkward names. */
    const char *paths[] = {"/a b/c", "/100%/#1", "/\xC3\xA9/\xF0\x9F\x98\x80", "/q?x=1&y=2", "/+plus+"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        buf u = {0};
        uri_from_path(paths[i], &u);
        check_to_path(buf_cstr(&u), paths[i], __LINE__);
        buf_free(&u);
    }
}

/* A plain absolute path that happens to contain "://" is still a path: an
 * RFC 3986 scheme starts with a letter and has no '/'. */
static void test_uri_to_path_plain_path_with_colon_slashes(void)
{
    CHECK_TO_PATH("/data/odd://name.ndjson", "/data/odd://name.ndjson");
    char cwd[4096], want[4200];
    if (CHECK(getcwd(cwd, sizeof cwd) != NULL)) {
        const char *base = strcmp(cwd, "/") ? cwd : "";
        snprintf(want, sizeof want, "%s/rel/odd://x", base);
        CHECK_TO_PATH("rel/odd://x", want);
        snprintf(want, sizeof want, "%s/3s://x", base); /* a scheme starts with a letter */
        CHECK_TO_PATH("3s://x", want);
    }
}

static void check_decode(const char *in, bool plus, const char *want, size_t wlen, int line)
{
    buf b = {0};
    err_t e;
    err_clear(&e);
    int rc = uri_decode(in, strlen(in), plus, &b, &e);
    if (test_check_int(rc, 0, __FILE__, line, "uri_decode", "0"))
        test_check_mem(b.data, b.len, want, wlen, __FILE__, line, "decoded", "want");
    buf_free(&b);
}
#define CHECK_DECODE(in, plus, want) check_decode((in), (plus), (want), sizeof(want) - 1, __LINE__)

static void check_decode_err(const char *in, int line)
{
    buf b = {0};
    err_t e;
    err_clear(&e);
    int rc = uri_decode(in, strlen(in), false, &b, &e);
    test_check_int(rc, -1, __FILE__, line, "uri_decode", "-1");
    test_check(e.msg[0] != '\0', __FILE__, line, "error has a message");
    buf_free(&b);
}
#define CHECK_DECODE_ERR(in) check_decode_err((in), __LINE__)

static void test_uri_decode(void)
{
    CHECK_DECODE("", false, "");
    CHECK_DECODE("abc", false, "abc");
    CHECK_DECODE("%41%42%7e", false, "AB~");
    CHECK_DECODE("a+b%2Bc", true, "a b+c");
    CHECK_DECODE("a+b%2Bc", false, "a+b+c");
    CHECK_DECODE("%e2%82%AC", false, "\xE2\x82\xAC");
    CHECK_DECODE("%25%32%30", false, "%20"); /* decoded once only */
    CHECK_DECODE("%FF", false, "\xFF");
    CHECK_DECODE_ERR("%");
    CHECK_DECODE_ERR("%4");
    CHECK_DECODE_ERR("a%4");
    CHECK_DECODE_ERR("%G1");
    CHECK_DECODE_ERR("%1G");
    CHECK_DECODE_ERR("%zz");
    CHECK_DECODE_ERR("%00");
    CHECK_DECODE_ERR("x%00y");
    /* A NUL inside the given length is rejected too. */
    buf b = {0};
    err_t e;
    err_clear(&e);
    CHECK_EQ_INT(uri_decode("a\0b", 3, false, &b, &e), -1);
    buf_free(&b);
    /* n bounds the input: "%41" cut to "%4" is an error. */
    err_clear(&e);
    CHECK_EQ_INT(uri_decode("%41", 2, false, &b, &e), -1);
    buf_free(&b);
}

/* ---- jsonw ---- */

static void test_jsonw_document(void)
{
    buf b = {0};
    jsonw w;
    jsonw_init(&w, &b);
    jsonw_obj_begin(&w);
    jsonw_key(&w, "a");
    jsonw_int(&w, 1);
    jsonw_key(&w, "b");
    jsonw_str(&w, "x\"y");
    jsonw_key(&w, "c");
    jsonw_arr_begin(&w);
    jsonw_bool(&w, true);
    jsonw_bool(&w, false);
    jsonw_null(&w);
    jsonw_arr_begin(&w);
    jsonw_arr_end(&w);
    jsonw_obj_begin(&w);
    jsonw_key(&w, "k");
    jsonw_int(&w, -5);
    jsonw_obj_end(&w);
    jsonw_arr_end(&w);
    jsonw_key(&w, "d");
    jsonw_obj_begin(&w);
    jsonw_obj_end(&w);
    jsonw_key(&w, "e");
    jsonw_int(&w, INT64_MIN);
    jsonw_key(&w, "f");
    jsonw_str(&w, NULL);
    jsonw_key(&w, "g");
    jsonw_raw(&w, "[1,2]");
    jsonw_key(&w, "h");
    jsonw_strn(&w, "a\0b", 3);
    jsonw_obj_end(&w);
    CHECK_STR(buf_cstr(&b),
              "{\"a\":1,\"b\":\"x\\\"y\",\"c\":[true,false,null,[],{\"k\":-5}],\"d\":{},"
              "\"e\":-9223372036854775808,\"f\":null,\"g\":[1,2],\"h\":\"a\\u0000b\"}");
    json_error_t je;
    json_t *j = json_loadb((const char *)b.data, b.len, JSON_ALLOW_NUL, &je);
    CHECK(j != NULL);
    json_decref(j);
    buf_free(&b);
}

static void test_jsonw_escape(void)
{
    buf b = {0};
    jsonw_escape(&b, "q\"b\\n\nr\rt\t", 10);
    CHECK_STR(buf_cstr(&b), "\"q\\\"b\\\\n\\nr\\rt\\t\"");
    buf_reset(&b);
    jsonw_escape(&b, "\x01\x1F\x7F\xC3\xA9/", 6);
    /* hex digits of \u escapes may be either case */
    CHECK(strcasecmp(buf_cstr(&b), "\"\\u0001\\u001f\x7F\xC3\xA9/\"") == 0);
    buf_reset(&b);
    jsonw_escape(&b, "", 0);
    CHECK_STR(buf_cstr(&b), "\"\"");
    buf_reset(&b);
    /* \b and \f may be written short or as \u escapes. */
    jsonw_escape(&b, "\b\f", 2);
    const char *s = buf_cstr(&b);
    CHECK(strcmp(s, "\"\\b\\f\"") == 0 || strcmp(s, "\"\\u0008\\u000c\"") == 0 ||
          strcmp(s, "\"\\u0008\\u000C\"") == 0);
    buf_reset(&b);
    /* Every byte 0..31 is escaped and the result parses back to the same bytes. */
    uint8_t all[32];
    for (int i = 0; i < 32; i++) all[i] = (uint8_t)i;
    jsonw_escape(&b, all, 32);
    for (size_t i = 0; i < b.len; i++) CHECK(b.data[i] >= 0x20);
    json_error_t je;
    json_t *j = json_loadb((const char *)b.data, b.len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
    if (CHECK(j != NULL) && CHECK(json_is_string(j)))
        CHECK_MEM(json_string_value(j), json_string_length(j), all, 32);
    json_decref(j);
    buf_free(&b);
}

static void test_jsonw_doubles_and_top_level(void)
{
    buf b = {0};
    jsonw w;
    jsonw_init(&w, &b);
    jsonw_arr_begin(&w);
    jsonw_double(&w, 1.5);
    jsonw_double(&w, NAN);
    jsonw_double(&w, INFINITY);
    jsonw_arr_end(&w);
    json_error_t je;
    json_t *j = json_loadb((const char *)b.data, b.len, 0, &je);
    if (CHECK(j != NULL) && CHECK(json_array_size(j) == 3)) {
        CHECK(json_number_value(json_array_get(j, 0)) == 1.5);
        CHECK(json_is_null(json_array_get(j, 1)));
        CHECK(json_is_null(json_array_get(j, 2)));
    }
    json_decref(j);
    buf_free(&b);
}

/* ---- buf ---- */

static void test_buf_basics(void)
{
    buf b = {0};
    CHECK(buf_ok(&b));
    buf_append(&b, "ab", 2);
    buf_putc(&b, 'c');
    buf_puts(&b, "de");
    buf_append(&b, NULL, 0);
    CHECK_BYTES(b.data, b.len, "abcde");
    buf_put_u32le(&b, 0x12345678u);
    CHECK_BYTES(b.data + 5, b.len - 5, "\x78\x56\x34\x12");
    buf_reset(&b);
    CHECK_EQ_INT(b.len, 0);
    buf_put_varint(&b, 0);
    buf_put_varint(&b, 127);
    buf_put_varint(&b, 128);
    buf_put_varint(&b, 50399); /* thrift-compact-protocol.md: DF 89 03 */
    buf_put_varint(&b, UINT64_MAX);
    CHECK_BYTES(b.data, b.len, "\x00" "\x7F" "\x80\x01" "\xDF\x89\x03"
                               "\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\x01");
    buf_reset(&b);
    buf_appendf(&b, "%d-%s-%05.1f", 42, "x", 2.5);
    CHECK_BYTES(b.data, b.len, "42-x-002.5");
    buf_appendf(&b, "%s", "");
    CHECK_EQ_INT(b.len, 10);
    char *s = buf_cstr(&b);
    CHECK_EQ_INT(b.len, 10); /* the terminator is not counted */
    CHECK_STR(s, "42-x-002.5");
    /* Growth keeps the contents. */
    buf_reset(&b);
    for (int i = 0; i < 100000; i++) buf_putc(&b, (uint8_t)(i * 7));
    CHECK_EQ_INT(b.len, 100000);
    CHECK(b.cap >= b.len);
    int bad = 0;
    for (int i = 0; i < 100000; i++) bad += b.data[i] != (uint8_t)(i * 7);
    CHECK_EQ_INT(bad, 0);
    buf_free(&b);
    CHECK(b.data == NULL && b.len == 0 && b.cap == 0);
    buf_free(&b);
}

static void test_buf_oom_is_sticky(void)
{
    /* A size overflow fails without allocating and sets the sticky flag. */
    buf b = {0};
    b.len = SIZE_MAX - 4;
    CHECK(!buf_grow(&b, 10));
    CHECK(!buf_ok(&b));
    b.len = 0;
    CHECK(!buf_reserve(&b, 1));
    buf_append(&b, "abc", 3);
    buf_putc(&b, 'x');
    CHECK_EQ_INT(b.len, 0);
    CHECK(buf_cstr(&b) == NULL);
    buf_free(&b);
    CHECK(buf_ok(&b)); /* buf_free clears the flag */
    buf_puts(&b, "ok");
    CHECK_BYTES(b.data, b.len, "ok");
    buf_free(&b);
}

/* ---- bytes ---- */

static void test_bytes_eq_matches_memcmp(void)
{
    uint8_t a[48], b[48];
    for (size_t n = 0; n <= 40; n++) {
        for (size_t i = 0; i < n + 1; i++) {
            for (size_t k = 0; k < sizeof a; k++) a[k] = b[k] = (uint8_t)(k * 7 + 1);
            if (i < n) b[i] ^= 0x80; /* one differing byte at each position */
            bool want = memcmp(a, b, n) == 0;
            if (bytes_eq(a, b, n) != want) FAILF("bytes_eq n=%zu diff at %zu: got %d", n, i, !want);
        }
    }
}

/* Every length up to past the 16-byte path: exactly the n bytes land, and
 * the bytes around them stay; buf_put_lenval puts the length first. */
static void test_bytes_copy_and_lenval(void)
{
    uint8_t src[48], dst[64];
    for (size_t k = 0; k < sizeof src; k++) src[k] = (uint8_t)(k * 13 + 5);
    for (size_t n = 0; n <= 40; n++) {
        memset(dst, 0xEE, sizeof dst);
        bytes_copy(dst + 3, src + 1, n);
        if (memcmp(dst + 3, src + 1, n) != 0) FAILF("bytes_copy n=%zu: wrong bytes", n);
        for (size_t k = 0; k < sizeof dst; k++)
            if ((k < 3 || k >= 3 + n) && dst[k] != 0xEE) FAILF("bytes_copy n=%zu: byte %zu touched", n, k);
    }
    buf b = {0};
    buf_putc(&b, 'x');
    for (uint32_t n = 0; n <= 40; n++) buf_put_lenval(&b, src, n);
    size_t at = 1;
    bool ok = CHECK(buf_ok(&b)) && CHECK_EQ_INT(b.data[0], 'x');
    for (uint32_t n = 0; n <= 40 && ok; n++) {
        ok = CHECK_EQ_INT(b.data[at] | b.data[at + 1] << 8 | b.data[at + 2] << 16 | (uint32_t)b.data[at + 3] << 24, n) &&
             CHECK_MEM(b.data + at + 4, n, src, n);
        at += 4 + n;
    }
    CHECK_EQ_U64(b.len, at);
    buf_free(&b);
}

static void test_bytes_prefix_orders_like_memcmp(void)
{
    const char *v[] = {"", "a", "a\x01", "ab", "abcdefgh", "abcdefgi", "abcdefghZ", "b", "\xff", "zzzzzzzzzzzz"};
    size_t n = sizeof v / sizeof *v;
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < n; j++) {
            size_t li = strlen(v[i]), lj = strlen(v[j]), m = li < lj ? li : lj;
            int c = memcmp(v[i], v[j], m);
            if (!c) c = li < lj ? -1 : li > lj;
            uint64_t pi = bytes_prefix((const uint8_t *)v[i], li), pj = bytes_prefix((const uint8_t *)v[j], lj);
            /* Unequal prefixes must order the strings; equal ones decide nothing. */
            if (pi != pj && ((pi < pj) != (c < 0))) FAILF("prefix order of '%s' and '%s'", v[i], v[j]);
        }
    }
}

/* ---- mem ---- */

/* Bytes survive every crossing of the 2 MiB line, up and down, and a
 * huge buffer is released by buf_free (ASan/valgrind check the rest). */
static void test_mem_resize_keeps_bytes(void)
{
    size_t sizes[] = {100, MEM_HUGE - 1, MEM_HUGE, MEM_HUGE + 1, 3 * MEM_HUGE + 5, MEM_HUGE / 2, 64};
    uint8_t *p = NULL;
    size_t cap = 0;
    for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
        size_t n = sizes[k], keep = cap < n ? cap : n;
        p = mem_resize(p, cap, n);
        if (!CHECK(p)) return;
        for (size_t i = 0; i < keep; i += 4093)
            if (!CHECK_EQ_INT(p[i], (uint8_t)(i * 7 + 1))) break;
        for (size_t i = 0; i < n; i++) p[i] = (uint8_t)(i * 7 + 1);
        cap = n;
    }
    mem_release(p, cap);

    uint8_t *z = mem_zalloc(MEM_HUGE + 10);
    if (CHECK(z)) {
        CHECK_EQ_INT(z[0] | z[MEM_HUGE] | z[MEM_HUGE + 9], 0);
        mem_release(z, MEM_HUGE + 10);
    }

    buf b;
    buf_init_huge(&b);
    for (uint32_t i = 0; i < (3u << 20) / 4; i++) buf_put_u32le(&b, i);
    CHECK(buf_ok(&b));
    CHECK_EQ_U64(b.len, 3u << 20);
    CHECK(b.cap >= MEM_HUGE);
    uint32_t last;
    memcpy(&last, b.data + b.len - 4, 4);
    CHECK_EQ_INT(last, (3u << 20) / 4 - 1);
    buf_free(&b);
    CHECK(b.huge); /* the next growth is huge again */
    CHECK(b.data == NULL && b.cap == 0);
}

/* ---- arena ---- */

static void test_arena_stable_and_rollback(void)
{
    arena a;
    arena_init(&a, 64);
    CHECK_EQ_INT(a.total, 0);
    uint8_t *ptrs[100];
    for (int i = 0; i < 100; i++) {
        ptrs[i] = arena_alloc(&a, 10);
        if (!CHECK(ptrs[i] != NULL)) return;
        memset(ptrs[i], i, 10);
    }
    for (int i = 0; i < 100; i++) {
        int bad = 0;
        for (int k = 0; k < 10; k++) bad += ptrs[i][k] != (uint8_t)i;
        CHECK_EQ_INT(bad, 0);
    }
    /* reserve without commit does not advance */
    uint8_t *r1 = arena_reserve(&a, 8), *r2 = arena_reserve(&a, 8);
    CHECK(r1 == r2);
    arena_commit(&a, 3);
    uint8_t *r3 = arena_reserve(&a, 1);
    CHECK(r3 == r1 + 3);

    /* rollback within one block */
    arena_mark m = arena_get_mark(&a);
    size_t total = a.total;
    uint8_t *p = arena_alloc(&a, 5);
    arena_rollback(&a, m);
    CHECK(arena_alloc(&a, 5) == p);
    arena_rollback(&a, m);

    /* rollback across new blocks, including one bigger than the block size */
    for (int i = 0; i < 20; i++) arena_alloc(&a, 50);
    arena_alloc(&a, 1000);
    CHECK(a.total > total);
    arena_rollback(&a, m);
    CHECK_EQ_INT(a.total, total);
    CHECK(arena_alloc(&a, 5) == p);
    for (int k = 0; k < 10; k++) CHECK_EQ_INT(ptrs[99][k], 99); /* older data intact */

    /* big allocation gets its own block of exactly that size */
    size_t before = a.total;
    uint8_t *big = arena_alloc(&a, 5000);
    CHECK(big != NULL);
    CHECK_EQ_INT(a.total - before, 5000);
    memset(big, 1, 5000);

    /* reset keeps one standard block */
    arena_reset(&a);
    CHECK_EQ_INT(a.total, 64);
    CHECK(arena_alloc(&a, 64) != NULL);
    CHECK_EQ_INT(a.total, 64);
    arena_free(&a);
    CHECK_EQ_INT(a.total, 0);

    /* a mark taken on an empty arena rolls back to empty */
    arena_init(&a, 0);
    m = arena_get_mark(&a);
    CHECK(arena_alloc(&a, 100) != NULL);
    arena_rollback(&a, m);
    CHECK_EQ_INT(a.total, 0);
    CHECK(a.head == NULL);
    arena_free(&a);
}


/* The mapping (from /proc/self/smaps) that holds p: its name, and whether
 * it is advised for huge pages. False when not found. */
static bool smaps_of(uintptr_t p, char *name, size_t nn, bool *hg)
{
    FILE *f = fopen("/proc/self/smaps", "r");
    if (!f) return false;
    char line[512];
    bool in = false, found = false;
    while (fgets(line, sizeof line, f)) {
        unsigned long lo, hi;
        char nm[256] = "";
        if (sscanf(line, "%lx-%lx %*s %*s %*s %*s %255s", &lo, &hi, nm) >= 2) {
            in = p >= lo && p < hi;
            if (in) snprintf(name, nn, "%s", nm);
        } else if (in && strncmp(line, "VmFlags:", 8) == 0) {
            *hg = strstr(line, " hg") != NULL;
            found = true;
            break;
        }
    }
    fclose(f);
    return found;
}

/* A job's heap: glibc's blocks of a few MiB land on a heap advised for
 * huge pages. Under a sanitizer or valgrind, malloc is not glibc's and
 * nothing is advised; a user's own GLIBC_TUNABLES choice is left alone. */
static void test_mem_huge_heap(void)
{
    char *t = getenv("GLIBC_TUNABLES") ? strdup(getenv("GLIBC_TUNABLES")) : NULL;
    setenv("GLIBC_TUNABLES", "glibc.malloc.hugetlb=0", 1);
    CHECK_EQ_U64(mem_huge_heap(), 0);
    unsetenv("GLIBC_TUNABLES");
    size_t advised = mem_huge_heap();
    void *p = malloc(3u << 20); /* under the 4 MiB mmap threshold */
    char name[256] = "";
    bool hg = false;
    if (CHECK(p) && CHECK(smaps_of((uintptr_t)p, name, sizeof name, &hg))) {
        if (advised) {
            CHECK(advised >= MEM_HEAP_RESERVE);
            CHECK_STR(name, "[heap]");
            CHECK(hg);
        } else {
            /* Only where glibc's malloc is replaced. */
            CHECK(strcmp(name, "[heap]") != 0 || !hg);
        }
    }
    free(p);
    if (t) setenv("GLIBC_TUNABLES", t, 1);
    free(t);
}

/* What a worker thread saw of its own heap. */
typedef struct {
    pthread_barrier_t *both; /* an exited thread's arena goes to the next */
    void *block;
    char name[256];
    bool found, hg;
} heap_seen;

static void *thread_heap_main(void *arg)
{
    heap_seen *h = arg;
    mem_thread_heap();
    h->block = malloc(3u << 20);
    if (h->block) h->found = smaps_of((uintptr_t)h->block, h->name, sizeof h->name, &h->hg);
    pthread_barrier_wait(h->both);
    return NULL;
}

/* A worker thread's blocks come from an arena of its own, off the main
 * heap (its mallocs do not wait for another thread's page faults), and
 * that arena's heap is advised for huge pages as the main heap is. */
static void test_mem_thread_heap(void)
{
    /* The main heap is advised by test_mem_huge_heap, unless malloc is
     * not glibc's. */
    char name[256] = "";
    bool hg = false;
    void *mb = malloc(3u << 20);
    bool advised = mb && smaps_of((uintptr_t)mb, name, sizeof name, &hg) && hg && strcmp(name, "[heap]") == 0;
    free(mb);
    pthread_barrier_t both;
    pthread_barrier_init(&both, NULL, 2);
    heap_seen h[2];
    memset(h, 0, sizeof h);
    pthread_t th[2];
    for (int i = 0; i < 2; i++) {
        h[i].both = &both;
        if (pthread_create(&th[i], NULL, thread_heap_main, &h[i]) != 0) abort();
    }
    for (int i = 0; i < 2; i++) pthread_join(th[i], NULL);
    pthread_barrier_destroy(&both);
    for (int i = 0; i < 2; i++) {
        if (!CHECK(h[i].block) || !CHECK(h[i].found) || !advised) continue;
        CHECK(strcmp(h[i].name, "[heap]") != 0);
        CHECK(h[i].hg);
    }
    if (advised && h[0].block && h[1].block) /* two heaps, not one shared */
        CHECK((uintptr_t)h[0].block / MEM_THREAD_HEAP != (uintptr_t)h[1].block / MEM_THREAD_HEAP);
    for (int i = 0; i < 2; i++) free(h[i].block);
}

/* ---- dio ---- */

/* Finishes and closes f, then checks that path holds exactly want. */
static void finish_and_compare(dio_file *f, const char *path, const uint8_t *want, size_t total)
{
    CHECK_EQ_INT(dio_finish(f), DIO_OK);
    CHECK_EQ_INT(dio_close(f), 0);
    uint8_t *got = malloc(total + 1);
    FILE *in = got ? fopen(path, "rb") : NULL;
    size_t n = in ? fread(got, 1, total + 1, in) : 0;
    if (in) fclose(in);
    CHECK_EQ_U64(n, total);
    CHECK(got && memcmp(got, want, total) == 0);
    unlink(path);
    free(got);
}

/* Writes of every awkward size (a byte, just under and over a block and a
 * buffer, several buffers at once), syncs asked for in between, and with
 * the larger ring a settle part way: the file holds exactly the bytes
 * written, whether direct I/O was used or not. */
static void test_dio_writes_exact_bytes(void)
{
    static const size_t sizes[] = {1, 4095, 4096, 4097, 262143, 262144, 262145, 3u << 20, 7, 100000};
    const char *dirs[] = {"/tmp", "/dev/shm"};
    /* The least ring, and one of huge pages that never fills. */
    const size_t rings[] = {0, (size_t)8 << 20};
    for (size_t d = 0; d < 2 * sizeof dirs / sizeof *dirs; d++) {
        size_t ring = rings[d % 2];
        if (access(dirs[d / 2], W_OK) != 0) continue;
        char path[64];
        snprintf(path, sizeof path, "%s/ndpq-dio-%d", dirs[d / 2], (int)getpid());
        size_t total = 0;
        for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) total += sizes[i];
        uint8_t *want = malloc(total);
        if (!CHECK(want)) return;
        for (size_t i = 0; i < total; i++) want[i] = (uint8_t)(i * 2654435761u >> 13);
        dio_file f;
        if (!CHECK_EQ_INT(dio_open(&f, path, 0600, ring), 0)) return;
        size_t at = 0;
        for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
            CHECK_EQ_INT(dio_write(&f, want + at, sizes[i]), DIO_OK);
            at += sizes[i];
            if (i % 3 == 2) dio_sync_behind(&f);
            /* Once, part way: the rest goes out with ordinary writes. */
            if (i == 5 && d % 2 == 1) CHECK_EQ_INT(dio_settle(&f), DIO_OK);
        }
        finish_and_compare(&f, path, want, total);
        free(want);
    }
}

/* The device stalls (the I/O thread is held) while a caller writes more
 * than the ring holds: the caller does not wait, the buffers that would
 * fill the ring go through the page cache, and the file, written partly
 * each way and out of order, holds exactly the bytes written. */
static void test_dio_spills_when_the_device_is_behind(void)
{
    char path[64];
    snprintf(path, sizeof path, "/tmp/ndpq-dio-spill-%d", (int)getpid());
    const size_t total = (9u << 20) + 12345;
    uint8_t *want = malloc(total);
    if (!CHECK(want)) return;
    for (size_t i = 0; i < total; i++) want[i] = (uint8_t)(i * 2654435761u >> 11);
    dio_file f;
    if (!CHECK_EQ_INT(dio_open(&f, path, 0600, 0), 0)) return;
    /* Without direct I/O (tmpfs) or /proc there is nothing to test. */
    bool testable = f.io && access("/proc/self/fd", R_OK) == 0;
    if (testable) dio_hold(&f, 1);
    size_t at = 0, step = 100003;
    while (at < total) {
        size_t n = total - at < step ? total - at : step;
        CHECK_EQ_INT(dio_write(&f, want + at, n), DIO_OK);
        at += n;
        if (at > total / 2) dio_sync_behind(&f);
    }
    if (testable) {
        /* The least ring is four buffers of 256 KiB: three wait for the
         * device, the fourth is being filled, everything else spilled. */
        CHECK_EQ_U64(dio_spilled(&f), (9u << 20) - (3u << 18));
        dio_hold(&f, 0);
    }
    finish_and_compare(&f, path, want, total);
    free(want);
}

/* A file limit (RLIMIT_FSIZE) that the last block's padding would pass:
 * the direct write is cut short, and the exact bytes go out the ordinary
 * way, so the file is whole and the job would not fail. */
static void test_dio_padding_past_a_file_limit_falls_back(void)
{
    char path[64];
    snprintf(path, sizeof path, "/tmp/ndpq-dio-lim-%d", (int)getpid());
    enum { N = 10000 };
    uint8_t want[N], got[N + 1];
    for (size_t i = 0; i < N; i++) want[i] = (uint8_t)(i * 7 + 1);
    struct rlimit old;
    if (!CHECK_EQ_INT(getrlimit(RLIMIT_FSIZE, &old), 0)) return;
    void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
    struct rlimit lim = {N, old.rlim_max};
    dio_file f;
    int opened = -1, fin = -1;
    if (setrlimit(RLIMIT_FSIZE, &lim) == 0) {
        opened = dio_open(&f, path, 0600, 0);
        if (opened == 0) {
            CHECK_EQ_INT(dio_write(&f, want, N), DIO_OK);
            fin = dio_finish(&f);
            dio_close(&f);
        }
        setrlimit(RLIMIT_FSIZE, &old);
    }
    signal(SIGXFSZ, prev);
    CHECK_EQ_INT(opened, 0);
    CHECK_EQ_INT(fin, DIO_OK);
    FILE *in = fopen(path, "rb");
    size_t n = in ? fread(got, 1, sizeof got, in) : 0;
    if (in) fclose(in);
    CHECK_EQ_U64(n, N);
    CHECK(memcmp(got, want, N) == 0);
    unlink(path);
}

/* Doubling stops at the limit when that is room enough, and goes on past
 * it when not; the bytes survive each move. */
static void test_buf_grow_upto(void)
{
    buf b = {0};
    uint8_t v[3000];
    for (size_t i = 0; i < sizeof v; i++) v[i] = (uint8_t)(i * 7);
    buf_append(&b, v, 600);
    CHECK_EQ_INT(b.cap, 1024);
    CHECK(buf_grow_upto(&b, 500, 1200));
    CHECK_EQ_INT(b.cap, 1200);              /* not 2048 */
    buf_append(&b, v + 600, 500);
    CHECK_EQ_INT(b.cap, 1200);
    CHECK(buf_grow_upto(&b, 1900, 1200));    /* the limit is too small: doubling */
    CHECK_EQ_INT(b.cap, 4800);
    buf_append(&b, v + 1100, 1900);
    CHECK_MEM(b.data, b.len, v, sizeof v);
    CHECK(buf_grow_upto(&b, 1, 100));        /* room already: no change */
    CHECK_EQ_INT(b.cap, 4800);
    buf_free(&b);
}

/* Reads the writes waiting on a datagram socket (one message per write),
 * appending them to out; the count of writes, or -1 when one was over
 * PIPE_BUF or did not end a line. */
static int drain_writes(int fd, char *out, size_t cap, size_t *n)
{
    int writes = 0;
    for (ssize_t r; *n < cap && (r = read(fd, out + *n, cap - *n)) > 0; writes++) {
        if ((size_t)r > PIPE_BUF || out[*n + (size_t)r - 1] != '\n') return -1;
        *n += (size_t)r;
    }
    return writes;
}

/* log_hold keeps this thread's lines until log_release, and then writes
 * whole lines, each write at most PIPE_BUF (no interleaving with other
 * processes on a pipe); the level still filters; holds nest. */
static void test_log_hold_writes_whole_lines(void)
{
    int sv[2];
    if (!CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) == 0)) return;
    fcntl(sv[0], F_SETFL, O_NONBLOCK);
    int big = 1 << 20;
    setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    dup2(sv[1], STDERR_FILENO);
    log_level was = log_get_level();
    log_set_level(LOG_INFO);
    static char got[1 << 16];
    size_t n = 0;
    log_hold();
    log_hold();
    log_debug("not shown");
    for (int i = 0; i < 100; i++) log_info("line %03d %0100d", i, 0);
    log_release();
    /* Still held by the outer hold: what went out is only what the buffer
     * could not keep (100 lines of about 140 bytes), a few whole lines at
     * a time. */
    int during = drain_writes(sv[0], got, sizeof got - 1, &n);
    log_release();
    int after = drain_writes(sv[0], got, sizeof got - 1, &n);
    dup2(saved, STDERR_FILENO);
    close(saved);
    close(sv[0]);
    close(sv[1]);
    log_set_level(was);
    CHECK(during >= 2 && during <= 5);
    CHECK_EQ_INT(after, 1);
    got[n] = '\0';
    /* Every line, in order, once. */
    int lines = 0;
    for (char *l = got, *nl; (nl = strchr(l, '\n')); l = nl + 1, lines++) {
        char want[16];
        snprintf(want, sizeof want, "line %03d ", lines);
        if (!CHECK(strstr(l, want) != NULL && strstr(l, want) < nl)) break;
        CHECK(strstr(l, " INFO  [") != NULL);
    }
    CHECK_EQ_INT(lines, 100);
    CHECK(strstr(got, "not shown") == NULL);
}

/* proc_pid answers getpid(), in a forked child too. */
static void test_proc_pid_after_fork(void)
{
    CHECK_EQ_INT(proc_pid(), getpid());
    int p[2];
    if (!CHECK(pipe(p) == 0)) return;
    pid_t c = fork();
    if (c == 0) {
        int ok = proc_pid() == getpid() && proc_pid() != getppid();
        ssize_t w = write(p[1], ok ? "y" : "n", 1);
        _exit(w == 1 ? 0 : 1);
    }
    char a = 0;
    CHECK(read(p[0], &a, 1) == 1 && a == 'y');
    int st = 0;
    waitpid(c, &st, 0);
    close(p[0]);
    close(p[1]);
    CHECK_EQ_INT(proc_pid(), getpid());
}

void register_common_tests(void)
{
    TEST_ADD(test_buf_grow_upto);
    TEST_ADD(test_bytes_eq_matches_memcmp);
    TEST_ADD(test_bytes_copy_and_lenval);
    TEST_ADD(test_mem_huge_heap);
    TEST_ADD(test_mem_thread_heap); /* after it */
    TEST_ADD(test_bytes_prefix_orders_like_memcmp);
    TEST_ADD(test_date_valid);
    TEST_ADD(test_date_find);
    TEST_ADD(test_uri_from_path);
    TEST_ADD(test_uri_to_path);
    TEST_ADD(test_uri_to_path_plain_path_with_colon_slashes);
    TEST_ADD(test_uri_decode);
    TEST_ADD(test_jsonw_document);
    TEST_ADD(test_jsonw_escape);
    TEST_ADD(test_jsonw_doubles_and_top_level);
    TEST_ADD(test_buf_basics);
    TEST_ADD(test_buf_oom_is_sticky);
    TEST_ADD(test_mem_resize_keeps_bytes);
    TEST_ADD(test_arena_stable_and_rollback);
    TEST_ADD(test_dio_writes_exact_bytes);
    TEST_ADD(test_dio_padding_past_a_file_limit_falls_back);
    TEST_ADD(test_dio_spills_when_the_device_is_behind);
    TEST_ADD(test_log_hold_writes_whole_lines);
    TEST_ADD(test_proc_pid_after_fork);
}
