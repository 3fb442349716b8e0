#include "events/events.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/uri.h"
#include "store/store.h"

/* S3's largest object. */
#define EVENTS_MAX_SIZE (5LL * 1024 * 1024 * 1024 * 1024)

int events_decode_key(const char *raw, char **out, err_t *e)
{
    buf b = {0};
    if (uri_decode(raw, strlen(raw), true, &b, e) != 0) {
        buf_free(&b);
        return err_wrap(e, "object key '%s'", raw);
    }
    if (!buf_cstr(&b)) {
        buf_free(&b);
        return err_set(e, ERR_NOMEM, "out of memory");
    }
    if (!store_key_safe((char *)b.data, b.len)) {
        buf_free(&b);
        return err_set(e, ERR_INPUT, "object key '%s' is not safe (empty, absolute, or has '.', '..' or empty segments)",
                       raw);
    }
    *out = (char *)b.data;
    return 0;
}

typedef struct {
    event_cb cb;
    void *ctx;
    int stop;
} walk;

static int emit(walk *w, event_rec *r)
{
    if (w->stop) return w->stop;
    w->stop = w->cb(w->ctx, r);
    return w->stop;
}

static int emit_error(walk *w, const char *msgid, const char *where, const char *fmt, const char *arg)
{
    char msg[512];
    snprintf(msg, sizeof msg, fmt, arg);
    event_rec r = {.kind = EVENT_ERROR, .message_id = msgid, .where = where, .message = msg};
    return emit(w, &r);
}

/* bucket name, raw key and size of an object; NULL on a missing field. */
static const char *object_fields(json_t *bucket, json_t *object, const char **b, const char **k, int64_t *size)
{
    json_t *name = json_object_get(bucket, "name");
    json_t *key = json_object_get(object, "key");
    json_t *sz = json_object_get(object, "size");
    if (!json_is_string(name) || !*json_string_value(name)) return "missing bucket name";
    if (!json_is_string(key)) return "missing object key";
    if (!sz) return "missing object size";
    if (!json_is_integer(sz)) return "object size is not a whole number";
    json_int_t v = json_integer_value(sz);
    if (v < 0) return "object size is negative";
    if (v > EVENTS_MAX_SIZE) return "object size is larger than 5 TiB";
    *b = json_string_value(name);
    *k = json_string_value(key);
    *size = v;
    return NULL;
}

static int object_event(walk *w, const char *msgid, const char *where, const char *name, const char *b,
                        const char *rawkey, int64_t size, bool form_encoded)
{
    char *key = NULL;
    err_t e = {0};
    if (form_encoded) {
        if (events_decode_key(rawkey, &key, &e) != 0) return emit_error(w, msgid, where, "%s", e.msg);
    } else {
        if (!store_key_safe(rawkey, strlen(rawkey)))
            return emit_error(w, msgid, where, "object key '%s' is not safe", rawkey);
        key = strdup(rawkey);
        if (!key) return emit_error(w, msgid, where, "%s", "out of memory");
    }
    event_rec r = {.kind = EVENT_OBJECT, .message_id = msgid, .where = where, .bucket = b, .key = key,
                   .size = size, .event_name = name};
    int rc = emit(w, &r);
    free(key);
    return rc;
}

static int handle_doc(walk *w, json_t *doc, const char *msgid, const char *where, int depth);

static int handle_body(walk *w, const char *text, const char *msgid, const char *where, int depth)
{
    json_error_t je;
    json_t *body = json_loads(text, 0, &je);
    if (!body) return emit_error(w, msgid, where, "message body is not valid JSON: %s", je.text);
    int rc = handle_doc(w, body, msgid, where, depth + 1);
    json_decref(body);
    return rc;
}

static int s3_record(walk *w, json_t *r, const char *msgid, const char *where)
{
    json_t *s3 = json_object_get(r, "s3");
    json_t *en = json_object_get(r, "eventName");
    const char *name = json_is_string(en) ? json_string_value(en) : NULL;
    if (!name) return emit_error(w, msgid, where, "%s", "S3 record without eventName");
    if (strncmp(name, "ObjectCreated:", 14) != 0) {
        event_rec ig = {.kind = EVENT_IGNORED, .message_id = msgid, .where = where, .event_name = name,
                        .message = "not an ObjectCreated event"};
        return emit(w, &ig);
    }
    const char *b, *k;
    int64_t size;
    const char *bad = object_fields(json_object_get(s3, "bucket"), json_object_get(s3, "object"), &b, &k, &size);
    if (bad) return emit_error(w, msgid, where, "%s", bad);
    return object_event(w, msgid, where, name, b, k, size, true);
}

static int handle_doc(walk *w, json_t *doc, const char *msgid, const char *where, int depth)
{
    if (depth > 4) return emit_error(w, msgid, where, "%s", "envelopes nested too deep");
    if (!json_is_object(doc)) return emit_error(w, msgid, where, "%s", "document is not a JSON object");
    json_t *records = json_object_get(doc, "Records");
    if (json_is_array(records)) {
        size_t i;
        json_t *r;
        json_array_foreach(records, i, r) {
            char here[256];
            json_t *body = json_object_get(r, "body");
            json_t *mid = json_object_get(r, "messageId");
            if (json_is_object(r) && json_is_string(body)) {
                const char *id = json_is_string(mid) ? json_string_value(mid) : NULL;
                snprintf(here, sizeof here, "%s, SQS message %s", where, id ? id : "(no messageId)");
                if (!id) {
                    if (emit_error(w, NULL, here, "%s", "SQS record without messageId")) return w->stop;
                    continue;
                }
                if (handle_body(w, json_string_value(body), id, here, depth)) return w->stop;
            } else if (json_is_object(r) && json_object_get(r, "s3")) {
                snprintf(here, sizeof here, "%s, record %zu", where, i + 1);
                if (s3_record(w, r, msgid, here)) return w->stop;
            } else {
                snprintf(here, sizeof here, "%s, record %zu", where, i + 1);
                if (emit_error(w, msgid, here, "%s", "record is neither an SQS message nor an S3 record"))
                    return w->stop;
            }
        }
        return w->stop;
    }
    json_t *ev = json_object_get(doc, "Event");
    if (json_is_string(ev) && strcmp(json_string_value(ev), "s3:TestEvent") == 0) {
        event_rec ig = {.kind = EVENT_IGNORED, .message_id = msgid, .where = where, .event_name = "s3:TestEvent",
                        .message = "s3:TestEvent"};
        return emit(w, &ig);
    }
    json_t *dt = json_object_get(doc, "detail-type");
    if (json_is_string(dt)) {
        const char *t = json_string_value(dt);
        if (strcmp(t, "Object Created") != 0) {
            event_rec ig = {.kind = EVENT_IGNORED, .message_id = msgid, .where = where, .event_name = t,
                            .message = "not an Object Created event"};
            return emit(w, &ig);
        }
        json_t *d = json_object_get(doc, "detail");
        const char *b, *k;
        int64_t size;
        const char *bad = object_fields(json_object_get(d, "bucket"), json_object_get(d, "object"), &b, &k, &size);
        if (bad) return emit_error(w, msgid, where, "%s", bad);
        /* EventBridge carries keys as they are, not form-encoded. */
        return object_event(w, msgid, where, "Object Created", b, k, size, false);
    }
    json_t *type = json_object_get(doc, "Type"), *m = json_object_get(doc, "Message");
    if (json_is_string(type) && strcmp(json_string_value(type), "Notification") == 0 && json_is_string(m))
        return handle_body(w, json_string_value(m), msgid, where, depth);
    return emit_error(w, msgid, where, "%s", "unrecognised document (not an S3, SQS or EventBridge event)");
}

int events_parse(const char *data, size_t len, event_cb cb, void *ctx, err_t *e)
{
    walk w = {cb, ctx, 0};
    size_t pos = 0;
    unsigned docno = 0;
    (void)e;
    while (pos < len && !w.stop) {
        while (pos < len && (data[pos] == ' ' || data[pos] == '\t' || data[pos] == '\r' || data[pos] == '\n'))
            pos++;
        if (pos >= len) break;
        docno++;
        char where[64];
        snprintf(where, sizeof where, "document %u", docno);
        json_error_t je;
        json_t *doc = json_loadb(data + pos, len - pos, JSON_DISABLE_EOF_CHECK | JSON_DECODE_ANY, &je);
        if (!doc) {
            emit_error(&w, NULL, where, "invalid JSON: %s", je.text);
            /* Resume at the line after the bad document's first line, so a
             * truncated document never swallows a good one below it. */
            const char *nl = memchr(data + pos, '\n', len - pos);
            pos = nl ? (size_t)(nl - data) + 1 : len;
            continue;
        }
        pos += (size_t)je.position;
        handle_doc(&w, doc, NULL, where, 0);
        json_decref(doc);
    }
    return w.stop;
}
