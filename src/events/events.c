#include "events/events.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/arena.h"
#include "common/buf.h"
#include "common/mem.h"
#include "common/uri.h"
#include "events/evjson.h"
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
    arena strs; /* the fast path's decoded strings, reset per document */
} walk;

static int emit(walk *w, event_rec *r)
{
    if (w->stop) return w->stop;
    w->stop = w->cb(w->ctx, r);
    return w->stop;
}

/* out = where + sep + s, cut to cap - 1 bytes like snprintf: a record's
 * "where" is made for every record, and snprintf's was an eighth of the
 * reading thread's time. */
static void here_join(char *out, size_t cap, const char *where, const char *sep, const char *s)
{
    const char *parts[3] = {where, sep, s};
    size_t n = 0;
    for (int k = 0; k < 3; k++) {
        size_t len = strlen(parts[k]);
        if (len > cap - 1 - n) len = cap - 1 - n;
        memcpy(out + n, parts[k], len);
        n += len;
    }
    out[n] = '\0';
}

/* here_join with ", record N" (N counted from 1). */
static void here_record(char *out, size_t cap, const char *where, size_t i)
{
    char num[24], *p = num + sizeof num;
    *--p = '\0';
    do *--p = (char)('0' + i % 10);
    while ((i /= 10) > 0);
    here_join(out, cap, where, ", record ", p);
}

static int emit_error(walk *w, const char *msgid, const char *where, const char *fmt, const char *arg)
{
    char msg[512];
    snprintf(msg, sizeof msg, fmt, arg);
    event_rec r = {.kind = EVENT_ERROR, .message_id = msgid, .where = where, .message = msg};
    return emit(w, &r);
}

/* The rules an object's fields must meet, for both parsers: what is wrong,
 * or NULL. name and key are NULL when absent or not strings. */
static const char *check_object(const char *name, const char *key, bool has_size, bool size_whole, int64_t size)
{
    if (!name || !*name) return "missing bucket name";
    if (!key) return "missing object key";
    if (!has_size) return "missing object size";
    if (!size_whole) return "object size is not a whole number";
    if (size < 0) return "object size is negative";
    if (size > EVENTS_MAX_SIZE) return "object size is larger than 5 TiB";
    return NULL;
}

/* bucket name, raw key and size of an object; NULL on a missing field. */
static const char *object_fields(json_t *bucket, json_t *object, const char **b, const char **k, int64_t *size)
{
    json_t *name = json_object_get(bucket, "name");
    json_t *key = json_object_get(object, "key");
    json_t *sz = json_object_get(object, "size");
    *b = json_is_string(name) ? json_string_value(name) : NULL;
    *k = json_is_string(key) ? json_string_value(key) : NULL;
    *size = json_is_integer(sz) ? json_integer_value(sz) : 0;
    return check_object(*b, *k, sz != NULL, json_is_integer(sz), *size);
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

/* An S3 record without a name, or of another event than ObjectCreated,
 * ends here: true, with *rc from reporting it. */
static bool s3_not_created(walk *w, const char *msgid, const char *where, const char *name, int *rc)
{
    if (!name) {
        *rc = emit_error(w, msgid, where, "%s", "S3 record without eventName");
        return true;
    }
    if (strncmp(name, "ObjectCreated:", 14) != 0) {
        event_rec ig = {.kind = EVENT_IGNORED, .message_id = msgid, .where = where, .event_name = name,
                        .message = "not an ObjectCreated event"};
        *rc = emit(w, &ig);
        return true;
    }
    return false;
}

static int s3_record(walk *w, json_t *r, const char *msgid, const char *where)
{
    json_t *s3 = json_object_get(r, "s3");
    json_t *en = json_object_get(r, "eventName");
    const char *name = json_is_string(en) ? json_string_value(en) : NULL;
    int rc;
    if (s3_not_created(w, msgid, where, name, &rc)) return rc;
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
                here_join(here, sizeof here, where, ", SQS message ", id ? id : "(no messageId)");
                if (!id) {
                    if (emit_error(w, NULL, here, "%s", "SQS record without messageId")) return w->stop;
                    continue;
                }
                if (handle_body(w, json_string_value(body), id, here, depth)) return w->stop;
            } else if (json_is_object(r) && json_object_get(r, "s3")) {
                here_record(here, sizeof here, where, i + 1);
                if (s3_record(w, r, msgid, here)) return w->stop;
            } else {
                here_record(here, sizeof here, where, i + 1);
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

/* ---- The fast path: evjson over a document it validated. It mirrors
 * handle_doc, s3_record, object_fields and handle_body above, which stay as
 * the path for everything evjson does not vouch for; tests compare both. */

/* Decoded string value v into room for cap bytes; the NUL is included.
 * *len (if len) is its length. */
static const char *fast_str_in(walk *w, const char *v, const char *end, size_t cap, bool *oom, size_t *len)
{
    char *out = (char *)arena_reserve(&w->strs, cap);
    if (!out) {
        *oom = true;
        return NULL;
    }
    size_t n = evjson_decode(v, end, out);
    arena_commit(&w->strs, n + 1);
    if (len) *len = n;
    return out;
}

/* Decoded string value v; NULL if v is not a string. *oom on failure. */
static const char *fast_str(walk *w, const char *v, const char *end, bool *oom)
{
    if (evjson_type_of(v) != EVJSON_STRING) return NULL;
    return fast_str_in(w, v, end, evjson_raw_len(v, end) + 1, oom, NULL);
}

static const evjson_key OBJ_NAME[] = {EVJSON_KEY("name")};
static const evjson_key OBJ_KEYS[] = {EVJSON_KEY("key"), EVJSON_KEY("size")};

static const char *fast_object_fields(walk *w, const char *bucket, const char *object, const char *end,
                                      const char **b, const char **k, int64_t *size)
{
    const char *name = NULL, *ov[2] = {NULL, NULL};
    bool oom = false;
    if (evjson_type_of(bucket) == EVJSON_OBJECT) evjson_get(bucket, end, OBJ_NAME, 1, &name);
    if (evjson_type_of(object) == EVJSON_OBJECT) evjson_get(object, end, OBJ_KEYS, 2, ov);
    const char *nm = fast_str(w, name, end, &oom);
    const char *key = fast_str(w, ov[0], end, &oom);
    if (oom) return "out of memory";
    bool whole = ov[1] && evjson_type_of(ov[1]) == EVJSON_INT;
    *b = nm;
    *k = key;
    *size = whole ? evjson_int(ov[1]) : 0;
    return check_object(nm, key, ov[1] != NULL, whole, *size);
}

static const evjson_key S3_PARTS[] = {EVJSON_KEY("bucket"), EVJSON_KEY("object")};

/* s3 and event_name: the record's members, as fast_doc found them (one
 * walk over the record for all it needs). */
static int fast_s3_record(walk *w, const char *s3, const char *event_name, const char *end, const char *msgid,
                          const char *where)
{
    const char *v[2] = {s3, event_name}, *parts[2] = {NULL, NULL};
    bool oom = false;
    const char *name = fast_str(w, v[1], end, &oom);
    if (oom) return emit_error(w, msgid, where, "%s", "out of memory");
    int rc;
    if (s3_not_created(w, msgid, where, name, &rc)) return rc;
    const char *b, *k;
    int64_t size;
    if (evjson_type_of(v[0]) == EVJSON_OBJECT) evjson_get(v[0], end, S3_PARTS, 2, parts);
    const char *bad = fast_object_fields(w, parts[0], parts[1], end, &b, &k, &size);
    if (bad) return emit_error(w, msgid, where, "%s", bad);
    return object_event(w, msgid, where, name, b, k, size, true);
}

static const evjson_key DOC_KEYS[] = {EVJSON_KEY("Records"), EVJSON_KEY("Event"), EVJSON_KEY("detail-type"),
                                      EVJSON_KEY("detail"), EVJSON_KEY("Type"), EVJSON_KEY("Message")};
enum { D_RECORDS, D_EVENT, D_DTYPE, D_DETAIL, D_TYPE, D_MESSAGE, D_N };

/* d: the document's members DOC_KEYS, as evjson_check captured them. */
static int fast_doc(walk *w, const char **d, const char *end, const char *msgid, const char *where, int depth);

/* A message body (an SQS body or SNS Message): parsed as json_loads would,
 * one value and nothing but whitespace after it. The body string ends
 * before lim, which bounds its decoded size without scanning it first. */
static int fast_body(walk *w, const char *v, const char *end, const char *lim, const char *msgid,
                     const char *where, int depth)
{
    bool oom = false;
    size_t len = 0; /* evjson refuses \u0000: no NUL inside */
    const char *text = lim ? fast_str_in(w, v, end, (size_t)(lim - v), &oom, &len) : fast_str(w, v, end, &oom);
    if (!text) return emit_error(w, msgid, where, "%s", "out of memory");
    if (!lim) len = strlen(text);
    size_t i = 0;
    while (i < len && (text[i] == ' ' || text[i] == '\t' || text[i] == '\r' || text[i] == '\n')) i++;
    const char *d[D_N];
    size_t n = evjson_check(text + i, len - i, DOC_KEYS, D_N, d);
    size_t j = i + n;
    while (n && j < len && (text[j] == ' ' || text[j] == '\t' || text[j] == '\r' || text[j] == '\n')) j++;
    if (!n || j != len) return handle_body(w, text, msgid, where, depth);
    return fast_doc(w, d, text + i + n, msgid, where, depth + 1);
}

static const evjson_key REC_KEYS[] = {EVJSON_KEY("body"), EVJSON_KEY("messageId"), EVJSON_KEY("s3"),
                                      EVJSON_KEY("eventName")};

static int fast_doc(walk *w, const char **d, const char *end, const char *msgid, const char *where, int depth)
{
    if (depth > 4) return emit_error(w, msgid, where, "%s", "envelopes nested too deep");
    bool oom = false;
    if (evjson_type_of(d[D_RECORDS]) == EVJSON_ARRAY) {
        size_t i = 0;
        const char *rend;
        for (const char *r = evjson_first(d[D_RECORDS], end); r; r = evjson_next(rend, end), i++) {
            char here[256];
            const char *rv[4] = {NULL, NULL, NULL, NULL};
            bool is_obj = evjson_type_of(r) == EVJSON_OBJECT;
            rend = is_obj ? evjson_get(r, end, REC_KEYS, 4, rv) : evjson_skip(r, end);
            if (is_obj && evjson_type_of(rv[0]) == EVJSON_STRING) {
                const char *id = fast_str(w, rv[1], end, &oom);
                if (oom) {
                    if (emit_error(w, msgid, where, "%s", "out of memory")) return w->stop;
                    continue;
                }
                here_join(here, sizeof here, where, ", SQS message ", id ? id : "(no messageId)");
                if (!id) {
                    if (emit_error(w, NULL, here, "%s", "SQS record without messageId")) return w->stop;
                    continue;
                }
                if (fast_body(w, rv[0], end, rend, id, here, depth)) return w->stop;
            } else if (is_obj && rv[2]) {
                here_record(here, sizeof here, where, i + 1);
                if (fast_s3_record(w, rv[2], rv[3], end, msgid, here)) return w->stop;
            } else {
                here_record(here, sizeof here, where, i + 1);
                if (emit_error(w, msgid, here, "%s", "record is neither an SQS message nor an S3 record"))
                    return w->stop;
            }
        }
        return w->stop;
    }
    const char *ev = fast_str(w, d[D_EVENT], end, &oom);
    const char *t = fast_str(w, d[D_DTYPE], end, &oom);
    const char *type = fast_str(w, d[D_TYPE], end, &oom);
    if (oom) return emit_error(w, msgid, where, "%s", "out of memory");
    if (ev && strcmp(ev, "s3:TestEvent") == 0) {
        event_rec ig = {.kind = EVENT_IGNORED, .message_id = msgid, .where = where, .event_name = "s3:TestEvent",
                        .message = "s3:TestEvent"};
        return emit(w, &ig);
    }
    if (t) {
        if (strcmp(t, "Object Created") != 0) {
            event_rec ig = {.kind = EVENT_IGNORED, .message_id = msgid, .where = where, .event_name = t,
                            .message = "not an Object Created event"};
            return emit(w, &ig);
        }
        const char *parts[2] = {NULL, NULL};
        const char *b, *k;
        int64_t size;
        if (evjson_type_of(d[D_DETAIL]) == EVJSON_OBJECT) evjson_get(d[D_DETAIL], end, S3_PARTS, 2, parts);
        const char *bad = fast_object_fields(w, parts[0], parts[1], end, &b, &k, &size);
        if (bad) return emit_error(w, msgid, where, "%s", bad);
        /* EventBridge carries keys as they are, not form-encoded. */
        return object_event(w, msgid, where, "Object Created", b, k, size, false);
    }
    if (type && strcmp(type, "Notification") == 0 && evjson_type_of(d[D_MESSAGE]) == EVJSON_STRING)
        return fast_body(w, d[D_MESSAGE], end, NULL, msgid, where, depth);
    return emit_error(w, msgid, where, "%s", "unrecognised document (not an S3, SQS or EventBridge event)");
}

/* A document read up to the end of the piece may go on in the next one.
 * jansson reports an error a few bytes short of what it looked at (a NUL,
 * a UTF-8 sequence), so a failure that near the end waits as well: waiting
 * costs only a second parse. */
#define EVENTS_ERROR_SLACK 16

static bool may_continue(size_t end, size_t len, bool eof) { return !eof && end >= len; }

static int parse_stream(events_stream *st, const char *data, size_t len, bool eof, size_t *used, event_cb cb,
                        void *ctx, bool fast)
{
    walk w = {cb, ctx, 0, {0}};
    arena_init(&w.strs, 1 << 16);
    size_t pos = 0;
    while (pos < len && !w.stop) {
        while (pos < len && (data[pos] == ' ' || data[pos] == '\t' || data[pos] == '\r' || data[pos] == '\n'))
            pos++;
        if (pos >= len) break;
        char where[64];
        snprintf(where, sizeof where, "document %u", st->docno + 1);
        const char *d[D_N];
        size_t n = fast ? evjson_check(data + pos, len - pos, DOC_KEYS, D_N, d) : 0;
        if (n) {
            /* jansson would read exactly this object and stop after it. */
            st->docno++;
            fast_doc(&w, d, data + pos + n, NULL, where, 0);
            arena_reset(&w.strs);
            pos += n;
            continue;
        }
        json_error_t je;
        json_t *doc = json_loadb(data + pos, len - pos, JSON_DISABLE_EOF_CHECK | JSON_DECODE_ANY, &je);
        if (!doc) {
            /* Resume at the line after the bad document's first line, so a
             * truncated document never swallows a good one below it. */
            const char *nl = memchr(data + pos, '\n', len - pos);
            if (may_continue(pos + (size_t)je.position + EVENTS_ERROR_SLACK, len, eof) || (!nl && !eof)) break;
            st->docno++;
            emit_error(&w, NULL, where, "invalid JSON: %s", je.text);
            pos = nl ? (size_t)(nl - data) + 1 : len;
            continue;
        }
        if (may_continue(pos + (size_t)je.position, len, eof)) {
            json_decref(doc);
            break;
        }
        st->docno++;
        pos += (size_t)je.position;
        handle_doc(&w, doc, NULL, where, 0);
        json_decref(doc);
    }
    arena_free(&w.strs);
    *used = pos;
    return w.stop;
}

int events_parse_part(events_stream *st, const char *data, size_t len, bool eof, size_t *used, event_cb cb,
                      void *ctx)
{
    return parse_stream(st, data, len, eof, used, cb, ctx, true);
}

static int parse_whole(const char *data, size_t len, event_cb cb, void *ctx, bool fast)
{
    events_stream st = {0};
    size_t used;
    return parse_stream(&st, data, len, true, &used, cb, ctx, fast);
}

int events_parse(const char *data, size_t len, event_cb cb, void *ctx, err_t *e)
{
    (void)e;
    return parse_whole(data, len, cb, ctx, true);
}

int events_parse_jansson(const char *data, size_t len, event_cb cb, void *ctx, err_t *e)
{
    (void)e;
    return parse_whole(data, len, cb, ctx, false);
}

int events_read(int fd, const char *path, size_t piece, events_piece_cb take, void *ctx, err_t *e)
{
    size_t cap = piece, len = 0;
    char *d = mem_resize(NULL, 0, cap);
    RETURN_ERROR_IF(!d, e, ERR_NOMEM, "out of memory");
    int rc = 0;
    for (bool eof = false; rc == 0 && !eof;) {
        if (len == cap) {
            char *nd = mem_resize(d, cap, cap * 2);
            if (!nd) {
                rc = err_set(e, ERR_NOMEM, "out of memory");
                break;
            }
            d = nd;
            cap *= 2;
        }
        ssize_t r = read(fd, d + len, cap - len);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            rc = err_sys(e, ERR_IO, "cannot read events from %s", path);
            break;
        }
        eof = r == 0;
        len += (size_t)r;
        if (len < cap && !eof) continue; /* a pipe gives little at a time */
        size_t used = 0;
        rc = take(ctx, d, len, eof, &used);
        memmove(d, d + used, len - used);
        len -= used;
    }
    mem_release(d, cap);
    return rc;
}
