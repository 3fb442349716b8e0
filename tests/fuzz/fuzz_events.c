/* libFuzzer target: events_parse, the S3 / SQS / SNS / EventBridge event
 * parser. The input is the event stream. The callback reads every field of
 * every record and checks what each kind promises: an object has a bucket,
 * a safe decoded key and a size in 0..5 TiB; an error has a message; every
 * record says where it came from. A second pass stops at the first record
 * and must return the callback's value. The fast path must report exactly
 * the records of the jansson path (events_parse_jansson). The raw input is
 * also decoded as an object key. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "events/events.h"
#include "store/store.h"
#include "fuzz_common.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    log_set_level(LOG_OFF);
    return 0;
}

typedef struct {
    unsigned records, objects, ignored, errors;
    int stop_after; /* 0: never stop */
} tally;

static int on_event(void *ctx, const event_rec *r)
{
    tally *t = ctx;
    t->records++;
    FUZZ_CHECK(r->where && *r->where, "record without 'where'");
    size_t h = fuzz_touch_str(r->where) + fuzz_touch_str(r->message_id) + fuzz_touch_str(r->bucket) +
               fuzz_touch_str(r->key) + fuzz_touch_str(r->event_name) + fuzz_touch_str(r->message);
    fuzz_sink += h + (size_t)r->size;
    switch (r->kind) {
    case EVENT_OBJECT:
        t->objects++;
        FUZZ_CHECK(r->bucket && *r->bucket, "object without a bucket (%s)", r->where);
        FUZZ_CHECK(r->key, "object without a key (%s)", r->where);
        FUZZ_CHECK(store_key_safe(r->key, strlen(r->key)), "unsafe key '%s' reported as an object (%s)",
                   r->key, r->where);
        FUZZ_CHECK(r->size >= 0 && r->size <= 5LL * 1024 * 1024 * 1024 * 1024, "size %lld (%s)",
                   (long long)r->size, r->where);
        FUZZ_CHECK(r->event_name, "object without an event name (%s)", r->where);
        break;
    case EVENT_IGNORED:
        t->ignored++;
        FUZZ_CHECK(r->message, "ignored record without a message (%s)", r->where);
        break;
    case EVENT_ERROR:
        t->errors++;
        FUZZ_CHECK(r->message && *r->message, "error record without a message (%s)", r->where);
        break;
    default:
        FUZZ_CHECK(false, "record of kind %d", (int)r->kind);
    }
    if (t->stop_after && (int)t->records >= t->stop_after) return 42;
    return 0;
}

/* Every record as one line, to compare the two parsers. */
typedef struct {
    char *s;
    size_t len, cap;
} trace;

static int on_trace(void *ctx, const event_rec *r)
{
    trace *t = ctx;
    char line[8192];
    int n = snprintf(line, sizeof line, "%d|%s|%s|%s|%s|%lld|%s|%s\n", (int)r->kind,
                     r->message_id ? r->message_id : "-", r->where ? r->where : "-", r->bucket ? r->bucket : "-",
                     r->key ? r->key : "-", (long long)r->size, r->event_name ? r->event_name : "-",
                     r->message ? r->message : "-");
    size_t l = n < 0 ? 0 : (size_t)n < sizeof line ? (size_t)n : sizeof line - 1;
    if (t->len + l + 1 > t->cap) {
        t->cap = (t->len + l + 1) * 2;
        t->s = realloc(t->s, t->cap);
        FUZZ_CHECK(t->s != NULL, "out of memory");
    }
    memcpy(t->s + t->len, line, l);
    t->len += l;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* An exact-size copy, so reading past the end is caught. */
    char *copy = malloc(size ? size : 1);
    if (size) memcpy(copy, data, size);

    tally all = {0};
    err_t e = {0};
    int rc = events_parse(copy, size, on_event, &all, &e);
    FUZZ_CHECK(rc == 0, "events_parse returned %d with a callback that never stops", rc);

    tally first = {.stop_after = 1};
    rc = events_parse(copy, size, on_event, &first, &e);
    FUZZ_CHECK(first.records == (all.records ? 1u : 0u), "stopping callback saw %u records", first.records);
    FUZZ_CHECK(rc == (all.records ? 42 : 0), "events_parse returned %d after the callback stopped it", rc);

    trace fast = {0}, ref = {0};
    events_parse(copy, size, on_trace, &fast, &e);
    events_parse_jansson(copy, size, on_trace, &ref, &e);
    FUZZ_CHECK(fast.len == ref.len && (fast.len == 0 || memcmp(fast.s, ref.s, fast.len) == 0),
               "fast path and jansson differ:\n--- fast\n%.*s--- jansson\n%.*s", (int)fast.len,
               fast.s ? fast.s : "", (int)ref.len, ref.s ? ref.s : "");
    free(ref.s);

    /* In pieces (ndpq ingest reads a file a piece at a time): the same
     * records. The piece size comes from the input, so it varies. */
    trace parts = {0};
    events_stream st = {0};
    size_t piece = 1 + (size ? data[0] % 64 : 0), cap = piece, n = 0, off = 0;
    char *d = malloc(cap);
    for (bool eof = false; !eof;) {
        if (n == cap) d = realloc(d, cap *= 2);
        FUZZ_CHECK(d != NULL, "out of memory");
        size_t r = cap - n < size - off ? cap - n : size - off;
        memcpy(d + n, copy + off, r);
        off += r;
        n += r;
        eof = r == 0;
        size_t used = 0;
        events_parse_part(&st, d, n, eof, &used, on_trace, &parts);
        FUZZ_CHECK(used <= n, "events_parse_part used %zu of %zu bytes", used, n);
        memmove(d, d + used, n - used);
        n -= used;
    }
    free(d);
    FUZZ_CHECK(parts.len == fast.len && (fast.len == 0 || memcmp(fast.s, parts.s, fast.len) == 0),
               "whole and in pieces differ:\n--- whole\n%.*s--- pieces of %zu\n%.*s", (int)fast.len,
               fast.s ? fast.s : "", piece, (int)parts.len, parts.s ? parts.s : "");
    free(parts.s);
    free(fast.s);
    free(copy);

    /* The key decoder on the raw input. */
    char *raw = fuzz_cstr(data, size), *key = NULL;
    err_t ke = {0};
    if (events_decode_key(raw, &key, &ke) == 0) {
        FUZZ_CHECK(key && store_key_safe(key, strlen(key)), "decoded key is not safe");
        free(key);
    } else {
        FUZZ_CHECK(ke.msg[0], "key decode failed without a message");
    }
    free(raw);
    return 0;
}
