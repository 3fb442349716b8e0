/* The event parser's fast path (src/events/evjson + events_parse) against
 * jansson, its reference: evjson_check must accept exactly what jansson's
 * loader accepts (or, for what it does not vouch for, decline), decode
 * strings to the same bytes, and events_parse must report the same records
 * as events_parse_jansson, on tricky inputs and on random mutations. */
#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "events/events.h"
#include "events/evjson.h"
#include "test.h"

/* jansson's verdict as events_parse asks for it: the length of the one
 * value it reads from p[0..len), 0 if it fails. */
static size_t jansson_len(const char *p, size_t len)
{
    json_error_t je;
    json_t *v = json_loadb(p, len, JSON_DISABLE_EOF_CHECK | JSON_DECODE_ANY, &je);
    if (!v) return 0;
    json_decref(v);
    return (size_t)je.position;
}

static size_t check_len(const char *p, size_t len) { return evjson_check(p, len, NULL, 0, NULL); }

/* evjson_check agrees with jansson on an object. What it accepts, jansson
 * must accept alike; with unsure it may decline what jansson accepts (the
 * caller then asks jansson). */
static void agree(const char *p, size_t len, bool unsure)
{
    size_t a = check_len(p, len), b = jansson_len(p, len);
    if (a == b || (unsure && a == 0)) return;
    char shown[120];
    snprintf(shown, sizeof shown, "%.*s", (int)(len < 100 ? len : 100), p);
    FAILF("evjson_check %zu, jansson %zu on '%s'", a, b, shown);
}

#define AGREE(lit) agree(lit, sizeof(lit) - 1, false)

static void test_evjson_check_cases(void)
{
    static const char *cases[] = {
        "{}", "{ }", "{\"a\":1}", "{\"a\":1,}", "{\"a\" 1}", "{\"a\":}", "{,}", "{\"a\":1 \"b\":2}",
        "{\"a\":[1,2,]}", "{\"a\":[,]}", "{\"a\":[]}", "{\"a\":[[[]]]}", "{\"a\":{\"b\":{}}}",
        "{\"a\":true}", "{\"a\":false}", "{\"a\":null}", "{\"a\":tru}", "{\"a\":nulll}", "{\"a\":True}",
        "{\"a\":truex}", "{\"a\":true1}", "{\"a\":-0}", "{\"a\":-}", "{\"a\":01}", "{\"a\":0.}",
        "{\"a\":.5}", "{\"a\":1.5}", "{\"a\":1e}", "{\"a\":1e+}", "{\"a\":1E5}", "{\"a\":1e-5}",
        "{\"a\":1.5e+10}", "{\"a\":+1}", "{\"a\":0x10}", "{\"a\":1.5.3}", "{\"a\":1-2}",
        "{\"a\":9223372036854775807}", "{\"a\":9223372036854775808}", "{\"a\":-9223372036854775808}",
        "{\"a\":-9223372036854775809}", "{\"a\":123456789012345678}", "{\"a\":1234567890123456789}",
        "{\"a\":99999999999999999999}", "{\"a\":1e308}", "{\"a\":1e309}", "{\"a\":-1e309}",
        "{\"a\":1e-400}", "{\"a\":0e999999}", "{\"a\":1.7976931348623157e308}", "{\"a\":1.8e308}",
        "{\"a\":\"\\u0000\"}", "{\"\\u0000\":1}", "{\"a\":\"\\u0001\"}", "{\"a\":\"\\ud83d\\ude00\"}",
        "{\"a\":\"\\ud83d\"}", "{\"a\":\"\\ude00\"}", "{\"a\":\"\\ud83dx\"}", "{\"a\":\"\\ud83d\\u0041\"}",
        "{\"a\":\"\\ud83d\\n\"}", "{\"a\":\"\\uDBFF\\uDFFF\"}", "{\"a\":\"\\uD800\\uDC00\"}", "{\"a\":\"\\u12\"}",
        "{\"a\":\"\\u12G4\"}", "{\"a\":\"\\x\"}", "{\"a\":\"\\'\"}", "{\"a\":\"\\/\\b\\f\\n\\r\\t\\\"\\\\\"}",
        "{\"a\":\"tab\there\"}", "{\"a\":\"nl\nhere\"}", "{\"a\":\"\x7f\"}", "{\"a\":\"\xc3\xa9\"}",
        "{\"a\":\"\xc3\"}", "{\"a\":\"\xc0\xaf\"}", "{\"a\":\"\xed\xa0\x80\"}", "{\"a\":\"\xf4\x90\x80\x80\"}",
        "{\"a\":\"\xf0\x9f\x98\x80\"}", "{\"a\":\"\xe2\x82\"}", "{\"a\":\"\xff\"}", "{\"a\":1}\xff",
        "{\"a\":\"x\"} trailing", "{\"a\":1}{\"b\":2}", "{\"a\"", "{\"a\":", "{\"a\":1", "{\"a\":\"x",
        "{\"a\":[1", "{\"a\":{", "{\xc3\xa9:1}", "{'a':1}", "{a:1}", "{\"a\":1}\n", "{\t\"a\"\r\n:\n1 }",
        "{\"a\":1,\"a\":2}", "{\"a\":\"\\", "{\"a\":\"\\u", "{\"a\":\"\\ud83d\\", "{\"a\":\"\\ud83d\\u",
        "{\"a\":\f1}", "{\"a\":\v1}", "{\"a\":\"\x00\"}", "{\"a\":[1,{\"b\":[true,null]}]}",
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) agree(cases[i], strlen(cases[i]), false);
    AGREE("{\"a\":\"\x00\"}");
    /* jansson drops a NUL byte it read ahead and put back (after a number),
     * and reports a position one short: evjson declines, jansson decides. */
    agree("{\"a\":1\x00}", 8, true);
    agree("{\"a\":1\x00,\"b\":2}", 14, true);
    agree("{\"a\":true\x00}", 11, true);
    /* A document that is not an object is left to jansson. */
    CHECK_EQ_INT(check_len("[1]", 3), 0);
    CHECK_EQ_INT(check_len("", 0), 0);
}

/* Deep nesting: evjson declines past EVJSON_MAX_DEPTH, jansson decides. */
static void test_evjson_check_depth(void)
{
    char doc[8192];
    for (int depth = 1; depth < 3000; depth = depth < 70 ? depth + 1 : depth * 2) {
        size_t n = 0;
        n += (size_t)snprintf(doc + n, sizeof doc - n, "{\"a\":");
        int inner = depth - 1;
        if ((size_t)inner * 2 + 16 >= sizeof doc) break;
        for (int i = 0; i < inner; i++) doc[n++] = '[';
        doc[n++] = '1';
        for (int i = 0; i < inner; i++) doc[n++] = ']';
        doc[n++] = '}';
        agree(doc, n, depth > EVJSON_MAX_DEPTH - 1);
        if (depth < EVJSON_MAX_DEPTH) CHECK(check_len(doc, n) == n);
    }
}

/* Random strings built from the pieces that matter (escapes, quotes, UTF-8,
 * control bytes), long enough to cross the 64-byte blocks at every offset,
 * so the block scanner's carries are exercised. */
static const char *const PIECES[] = {
    "a", "bc", "\\\"", "\\\\", "\\n", "\\/", "\\u0041", "\\u00e9", "\\ud83d\\ude00", "\\ud83d", "\\ude00",
    "\\u0000", "\\x", "\\", "\"", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\xc3", "\xff", "\x01",
    "\t", " ", "{", "}", "[", "]", ":", ",", "\\\\\\\"", "\\\\\\\\", "0123456789abcdef",
};

static size_t random_string(test_rng *r, char *out, size_t cap, bool clean)
{
    size_t n = 0;
    uint32_t pieces = test_rng_below(r, 80);
    for (uint32_t i = 0; i < pieces; i++) {
        /* clean: only pieces that keep the string valid */
        uint32_t k = test_rng_below(r, clean ? 10 : (uint32_t)(sizeof PIECES / sizeof PIECES[0]));
        if (clean && k == 9) k = 15; /* a lone surrogate: use UTF-8 instead */
        size_t l = strlen(PIECES[k]);
        if (n + l + 1 >= cap) break;
        memcpy(out + n, PIECES[k], l);
        n += l;
    }
    out[n] = '\0';
    return n;
}

static void test_evjson_strings_random(void)
{
    test_rng r;
    test_rng_seed(&r, 6);
    char s[2048], doc[4096], dec[4096];
    for (int iter = 0; iter < 20000; iter++) {
        bool clean = iter % 2 == 0;
        size_t pad = test_rng_below(&r, 70); /* shifts the string across block offsets */
        size_t sl = random_string(&r, s, sizeof s, clean);
        int n = snprintf(doc, sizeof doc, "{\"%*s\":\"%s\",\"b\":[\"%s\"]}", (int)pad, "", s, s);
        if (n < 0 || (size_t)n >= sizeof doc) continue;
        size_t a = check_len(doc, (size_t)n), b = jansson_len(doc, (size_t)n);
        if (a != b) {
            FAILF("iteration %d: evjson_check %zu, jansson %zu on string '%s' (%zu bytes, pad %zu)", iter, a, b, s,
                  sl, pad);
            continue;
        }
        if (a != (size_t)n) continue; /* invalid, or a stray quote ended the object early */
        /* The decoded value and the member look-up match jansson's. */
        json_error_t je;
        json_t *j = json_loadb(doc, (size_t)n, 0, &je);
        if (!j) {
            FAILF("iteration %d: jansson: %s on '%s'", iter, je.text, doc);
            continue;
        }
        char key[80];
        snprintf(key, sizeof key, "%*s", (int)pad, "");
        const char *want = json_string_value(json_object_get(j, key));
        const evjson_key keys[] = {{key, pad}, EVJSON_KEY("b")};
        const char *v[2];
        const char *end = evjson_get(doc, doc + n, keys, 2, v);
        CHECK(end == doc + n);
        if (CHECK(want && v[0] && evjson_type_of(v[0]) == EVJSON_STRING)) {
            CHECK(evjson_raw_len(v[0], doc + n) == sl);
            size_t dl = evjson_decode(v[0], doc + n, dec);
            if (dl != strlen(want) || memcmp(dec, want, dl) != 0)
                FAILF("iteration %d: decoded '%s', jansson '%s'", iter, dec, want);
        }
        if (CHECK(evjson_type_of(v[1]) == EVJSON_ARRAY)) {
            const char *el = evjson_first(v[1], doc + n);
            CHECK(el && evjson_type_of(el) == EVJSON_STRING);
            if (el) CHECK(evjson_next(evjson_skip(el, doc + n), doc + n) == NULL);
        }
        json_decref(j);
    }
}

static void test_evjson_get(void)
{
    static const char doc[] = "{\"a\":1,\"b\":{\"a\":[2,{\"x\":\"}\"}]},\"\\u0061\":\"last\",\"c\":-12,\"d\":1.0,"
                              "\"e\":1e2,\"f\":null,\"g\":[]}";
    size_t n = sizeof doc - 1;
    CHECK_EQ_INT(check_len(doc, n), n);
    const evjson_key keys[] = {EVJSON_KEY("a"), EVJSON_KEY("b"), EVJSON_KEY("c"), EVJSON_KEY("d"),
                               EVJSON_KEY("e"), EVJSON_KEY("f"), EVJSON_KEY("g"), EVJSON_KEY("zz")};
    const char *v[8];
    CHECK(evjson_get(doc, doc + n, keys, 8, v) == doc + n);
    /* "\u0061" is "a" and comes last: jansson keeps the last value. */
    CHECK_EQ_INT(evjson_type_of(v[0]), EVJSON_STRING);
    CHECK_EQ_INT(evjson_type_of(v[1]), EVJSON_OBJECT);
    CHECK_EQ_INT(evjson_type_of(v[2]), EVJSON_INT);
    CHECK_EQ_INT(evjson_int(v[2]), -12);
    CHECK_EQ_INT(evjson_type_of(v[3]), EVJSON_REAL);
    CHECK_EQ_INT(evjson_type_of(v[4]), EVJSON_REAL);
    CHECK_EQ_INT(evjson_type_of(v[5]), EVJSON_LITERAL);
    CHECK_EQ_INT(evjson_type_of(v[6]), EVJSON_ARRAY);
    CHECK(v[7] == NULL);
    CHECK(evjson_first(v[6], doc + n) == NULL);
    const char *cap[8];
    CHECK_EQ_INT(evjson_check(doc, n, keys, 8, cap), n);
    for (int i = 0; i < 8; i++) CHECK(cap[i] == v[i]);
    static const char big[] = "{\"n\":9223372036854775807,\"m\":-9223372036854775808}";
    const evjson_key nk[] = {EVJSON_KEY("n"), EVJSON_KEY("m")};
    CHECK_EQ_INT(evjson_check(big, sizeof big - 1, nk, 2, cap), sizeof big - 1);
    CHECK(evjson_int(cap[0]) == INT64_MAX);
    CHECK(evjson_int(cap[1]) == INT64_MIN);
}

/* ---- events_parse against events_parse_jansson ---- */

static int record(void *ctx, const event_rec *r)
{
    buf *b = ctx;
    char line[4096];
    snprintf(line, sizeof line, "%d|%s|%s|%s|%s|%lld|%s|%s\n", (int)r->kind, r->message_id ? r->message_id : "-",
             r->where ? r->where : "-", r->bucket ? r->bucket : "-", r->key ? r->key : "-", (long long)r->size,
             r->event_name ? r->event_name : "-", r->message ? r->message : "-");
    buf_append(b, line, strlen(line));
    return 0;
}

/* The stream handed to events_parse_part in pieces, the way ndpq ingest
 * reads a file or a pipe: reads of up to `read` bytes into a buffer of
 * `piece`, parsed when it is full or at the end, the rest moved to the
 * front, and the buffer doubled when a document fills it. */
static void parse_in_pieces(const char *p, size_t len, size_t piece, size_t read, buf *out)
{
    events_stream st = {0};
    size_t cap = piece, n = 0, off = 0;
    char *d = malloc(cap);
    for (bool eof = false; !eof;) {
        if (n == cap) d = realloc(d, cap *= 2);
        size_t r = cap - n < read ? cap - n : read;
        if (r > len - off) r = len - off;
        memcpy(d + n, p + off, r);
        off += r;
        n += r;
        eof = r == 0;
        if (n < cap && !eof) continue;
        size_t used = 0;
        events_parse_part(&st, d, n, eof, &used, record, out);
        memmove(d, d + used, n - used);
        n -= used;
    }
    free(d);
}

static bool same_text(const buf *a, const buf *b, const char *what, const char *an, const char *bn)
{
    bool same = a->len == b->len && (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
    if (!same) {
        FAILF("%s: records differ\n%s:\n%.*s\n%s:\n%.*s", what, an, (int)(a->len < 1500 ? a->len : 1500),
              (char *)a->data, bn, (int)(b->len < 1500 ? b->len : 1500), (char *)b->data);
    }
    return same;
}

/* The fast path against jansson, and in pieces against whole. */
static bool same_records(const char *p, size_t len, const char *what)
{
    buf a = {0}, b = {0};
    err_t e = {0};
    events_parse(p, len, record, &a, &e);
    events_parse_jansson(p, len, record, &b, &e);
    bool same = same_text(&a, &b, what, "fast", "jansson");
    static const size_t sizes[][2] = {{1, 1}, {7, 3}, {16, 16}, {64, 5}};
    for (size_t i = 0; same && i < sizeof sizes / sizeof sizes[0]; i++) {
        buf c = {0};
        parse_in_pieces(p, len, sizes[i][0], sizes[i][1], &c);
        same = same_text(&a, &c, what, "whole", "in pieces");
        buf_free(&c);
    }
    buf_free(&a);
    buf_free(&b);
    return same;
}

#define SAME(lit) same_records(lit, sizeof(lit) - 1, lit)

static const char S3_NOTE[] =
    "{\"Records\":[{\"eventSource\":\"aws:s3\",\"eventName\":\"ObjectCreated:Put\",\"s3\":{\"bucket\":{\"name\":"
    "\"input\"},\"object\":{\"key\":\"dt%3D2025-06-15/a+b.ndjson\",\"size\":123}}}]}";

static void test_events_same_as_jansson(void)
{
    SAME("");
    SAME("   \n  ");
    SAME("{}");
    SAME("[]");
    SAME("42");
    SAME("\"str\"");
    SAME("null true");
    SAME("{\"Records\":[]}");
    SAME("{\"Records\":{}}");
    SAME("{\"Records\":[1,\"x\",null,[],{}]}");
    same_records(S3_NOTE, sizeof S3_NOTE - 1, "s3 note");
    SAME("{\"Records\":[{\"eventName\":\"ObjectRemoved:Delete\",\"s3\":{}}]}");
    SAME("{\"Records\":[{\"s3\":null}]}");
    SAME("{\"Records\":[{\"eventName\":5,\"s3\":{}}]}");
    SAME("{\"Records\":[{\"eventName\":\"ObjectCreated:Put\",\"s3\":{\"bucket\":{\"name\":\"\"},\"object\":{}}}]}");
    SAME("{\"Records\":[{\"eventName\":\"ObjectCreated:Put\",\"s3\":{\"bucket\":{\"name\":\"in\"},\"object\":{\"key\":\"k\"}}}]}");
    SAME("{\"Records\":[{\"eventName\":\"ObjectCreated:Put\",\"s3\":{\"bucket\":{\"name\":\"in\"},\"object\":{\"key\":\"k\",\"size\":1.0}}}]}");
    SAME("{\"Records\":[{\"eventName\":\"ObjectCreated:Put\",\"s3\":{\"bucket\":{\"name\":\"in\"},\"object\":{\"key\":\"k\",\"size\":1e3}}}]}");
    SAME("{\"Records\":[{\"eventName\":\"ObjectCreated:Put\",\"s3\":{\"bucket\":{\"name\":\"in\"},\"object\":{\"key\":\"k\",\"size\":-1}}}]}");
    SAME("{\"Records\":[{\"eventName\":\"ObjectCreated:Put\",\"s3\":{\"bucket\":{\"name\":\"in\"},\"object\":{\"key\":\"k\",\"size\":5497558138881}}}]}");
    SAME("{\"Records\":[{\"eventName\":\"ObjectCreated:Put\",\"s3\":{\"bucket\":{\"name\":\"in\"},\"object\":{\"key\":\"k\",\"size\":\"1\"}}}]}");
    SAME("{\"Records\":[{\"eventName\":\"ObjectCreated:Put\",\"s3\":{\"bucket\":{\"name\":\"in\"},\"object\":{\"key\":\"a/../b\",\"size\":1}}}]}");
    SAME("{\"Records\":[{\"eventName\":\"ObjectCreated:Put\",\"s3\":{\"bucket\":{\"name\":\"in\"},\"object\":{\"key\":\"a%2\",\"size\":1}}}]}");
    SAME("{\"Records\":[{\"eventName\":\"ObjectCreated:Put\",\"s3\":{\"bucket\":{\"name\":\"in\"},\"object\":{\"key\":\"a%00b\",\"size\":1}}}]}");
    SAME("{\"Records\":[{\"eventName\":\"ObjectCreated:Put\",\"s3\":{\"bucket\":\"in\",\"object\":[]}}]}");
    SAME("{\"Records\":[{\"eventName\":\"ObjectCreated:Put\",\"eventName\":\"ObjectRemoved:x\",\"s3\":{}}]}");
    SAME("{\"Records\":[{\"body\":\"{}\"}]}");
    SAME("{\"Records\":[{\"body\":\"{}\",\"messageId\":7}]}");
    SAME("{\"Records\":[{\"body\":\"{}\",\"messageId\":\"m-1\"}]}");
    SAME("{\"Records\":[{\"body\":\"not json\",\"messageId\":\"m-1\"}]}");
    SAME("{\"Records\":[{\"body\":\" {} \",\"messageId\":\"m-1\"}]}");
    SAME("{\"Records\":[{\"body\":\"{} x\",\"messageId\":\"m-1\"}]}");
    SAME("{\"Records\":[{\"body\":\"[1]\",\"messageId\":\"m-1\"}]}");
    SAME("{\"Records\":[{\"body\":\"\",\"messageId\":\"m-1\"}]}");
    SAME("{\"Records\":[{\"body\":\"{\\\"Event\\\":\\\"s3:TestEvent\\\"}\",\"messageId\":\"m\\u00e9\"}]}");
    SAME("{\"Records\":[{\"body\":\"{\\\"Records\\\":[{\\\"body\\\":\\\"{}\\\",\\\"messageId\\\":\\\"inner\\\"}]}\","
         "\"messageId\":\"outer\"}]}");
    SAME("{\"Records\":[{\"body\":\"{\\\"a\\\":\\\"\\\\ud83d\\\\ude00\\\"}\",\"messageId\":\"m\"}]}");
    SAME("{\"Records\":[{\"body\":\"{\\\"a\\\":\\\"\\\\ud83d\\\"}\",\"messageId\":\"m\"}]}");
    SAME("{\"Records\":[{\"body\":\"{\\\"a\\\":1e999}\",\"messageId\":\"m\"}]}");
    SAME("{\"Records\":[{\"body\":\"\\ud83d\\ude00\",\"messageId\":\"m\"}]}");
    SAME("{\"Event\":\"s3:TestEvent\"}");
    SAME("{\"Event\":\"s3:Other\"}");
    SAME("{\"Event\":\"s3:TestEvent\",\"Records\":5}");
    SAME("{\"detail-type\":\"Object Deleted\"}");
    SAME("{\"detail-type\":\"Object Created\"}");
    SAME("{\"detail-type\":\"Object Created\",\"detail\":{\"bucket\":{\"name\":\"in\"},\"object\":{\"key\":\"a b+c.ndjson\",\"size\":9}}}");
    SAME("{\"detail-type\":\"Object Created\",\"detail\":{\"bucket\":{\"name\":\"in\"},\"object\":{\"key\":\"/abs\",\"size\":9}}}");
    SAME("{\"Type\":\"Notification\",\"Message\":\"{\\\"Event\\\":\\\"s3:TestEvent\\\"}\"}");
    SAME("{\"Type\":\"Notification\",\"Message\":5}");
    SAME("{\"Type\":\"Other\",\"Message\":\"{}\"}");
    /* Envelopes nested past the limit, and the stream around bad documents. */
    SAME("{\"Type\":\"Notification\",\"Message\":\"{\\\"Type\\\":\\\"Notification\\\",\\\"Message\\\":\\\"{\\\\\\\"Type\\\\\\\":"
         "\\\\\\\"Notification\\\\\\\",\\\\\\\"Message\\\\\\\":\\\\\\\"{}\\\\\\\"}\\\"}\"}");
    SAME("{\"Records\":[}\n{\"Event\":\"s3:TestEvent\"}\n");
    SAME("{\"a\":1}{\"Event\":\"s3:TestEvent\"} {\"b\":\"\\u0000\"}\n{\"Event\":\"s3:TestEvent\"}");
    SAME("{\"Event\":\"s3:TestEvent\"}\xff{\"Event\":\"s3:TestEvent\"}");
    SAME("{\"Event\":\"s3:TestEvent\"}12 {\"Event\":\"s3:TestEvent\"}");
    /* Across pieces: pretty-printed documents, a number or a bad document
     * cut by a piece's end, a last line without LF. */
    SAME("{\n  \"Event\": \"s3:TestEvent\"\n}\n{\n  \"Records\": [\n  ]\n}\n");
    SAME("123456789 {\"Event\":\"s3:TestEvent\"} 98765");
    SAME("{\"Records\":[\n{\"Event\":\"s3:TestEvent\"}\n{\"Records\":[}\n{\"Event\":\"s3:TestEvent\"}");
    SAME("{\"Event\":\"s3:TestEvent\"}\n{\"Event\":\"s3:Test");
}

/* The fuzz corpus, each document as it is and with random damage. */
static void test_events_corpus_mutations(void)
{
    const char *dir = "tests/fuzz/corpus/fuzz_events";
    DIR *d = opendir(dir);
    if (!d) return; /* run from elsewhere: the cases above still ran */
    test_rng r;
    test_rng_seed(&r, 42);
    struct dirent *de;
    int files = 0;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.') continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        FILE *f = fopen(path, "rb");
        if (!f) continue;
        char data[16384];
        size_t n = fread(data, 1, sizeof data, f);
        fclose(f);
        files++;
        if (!same_records(data, n, de->d_name)) continue;
        char m[16384 + 16];
        static const char bytes[] = "\"\\{}[],:0123456789-.eEtfnu \n\xc3\xa9\xff\x00";
        for (int iter = 0; iter < 300; iter++) {
            memcpy(m, data, n);
            size_t len = n;
            for (int k = 1 + (int)test_rng_below(&r, 3); k > 0 && len > 0; k--) {
                size_t at = test_rng_below(&r, (uint32_t)len);
                char c = bytes[test_rng_below(&r, sizeof bytes - 1)];
                switch (test_rng_below(&r, 3)) {
                case 0: m[at] = c; break;
                case 1: memmove(m + at + 1, m + at, len - at); m[at] = c; len++; break;
                default: memmove(m + at, m + at + 1, len - at - 1); len--; break;
                }
            }
            char what[300];
            snprintf(what, sizeof what, "%s mutation %d", de->d_name, iter);
            if (!same_records(m, len, what)) break;
        }
    }
    closedir(d);
    CHECK(files > 0);
}

/* Each record is named by its place (counted from 1, any number of
 * digits) or its SQS message id, in both parsers. */
static void test_events_where(void)
{
    static const char head[] = "{\"Records\":[1", tail[] = "]}\n{\"Records\":[{\"messageId\":\"m-7\",\"body\":\"[]\"}]}\n";
    buf src = {0};
    buf_append(&src, head, strlen(head));
    for (int i = 1; i < 12; i++) buf_append(&src, ",1", 2);
    buf_append(&src, tail, strlen(tail));
    for (int jansson = 0; jansson < 2; jansson++) {
        buf out = {0};
        err_t e = {0};
        (jansson ? events_parse_jansson : events_parse)((const char *)src.data, src.len, record, &out, &e);
        CHECK(buf_cstr(&out) != NULL);
        const char *t = (const char *)out.data;
        CHECK(strstr(t, "|document 1, record 1|") != NULL);
        CHECK(strstr(t, "|document 1, record 10|") != NULL);
        CHECK(strstr(t, "|document 1, record 12|") != NULL);
        CHECK(strstr(t, "|document 2, SQS message m-7|") != NULL);
        CHECK(strstr(t, "record 13") == NULL);
        buf_free(&out);
    }
    buf_free(&src);
}

void register_events_tests(void)
{
    TEST_ADD(test_evjson_check_cases);
    TEST_ADD(test_evjson_check_depth);
    TEST_ADD(test_evjson_strings_random);
    TEST_ADD(test_evjson_get);
    TEST_ADD(test_events_same_as_jansson);
    TEST_ADD(test_events_corpus_mutations);
    TEST_ADD(test_events_where);
}
