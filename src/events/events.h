/* events: parses a stream of JSON documents (one per line or concatenated)
 * into S3 object-created records. Accepted documents: a Lambda SQS event
 * (whose bodies hold S3 notifications, SNS envelopes or EventBridge events),
 * an S3 notification, an EventBridge "Object Created" event, and the
 * s3:TestEvent (ignored). Keys from S3 notifications are form-decoded. */
#ifndef NDPQ_EVENTS_H
#define NDPQ_EVENTS_H

#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"

typedef enum {
    EVENT_OBJECT,   /* an object was created: bucket/key/size are set */
    EVENT_IGNORED,  /* test event, removal, other notification */
    EVENT_ERROR     /* malformed: message says why */
} event_kind;

typedef struct {
    event_kind kind;
    const char *message_id;  /* SQS messageId, or NULL outside SQS */
    const char *where;       /* "document 3, record 2" for messages */
    const char *bucket;
    const char *key;         /* decoded */
    int64_t size;
    const char *event_name;
    const char *message;     /* why ignored or failed */
} event_rec;

/* Called once per record; a non-zero return stops parsing with that value. */
typedef int (*event_cb)(void *ctx, const event_rec *r);

/* Parses the whole stream; malformed documents are reported as EVENT_ERROR
 * records and parsing resumes at the next line. */
int events_parse(const char *data, size_t len, event_cb cb, void *ctx, err_t *e);
/* A stream handed over in pieces, so a large events file needs no more
 * memory than a piece. */
typedef struct {
    unsigned docno; /* documents parsed so far */
} events_stream;

/* Parses the documents complete in data[0..len). One that reaches len may
 * go on in the next piece, so it waits unless eof; *used is what was
 * consumed, and the caller puts the rest in front of the next piece. A
 * document larger than a piece needs a larger piece. */
int events_parse_part(events_stream *st, const char *data, size_t len, bool eof, size_t *used, event_cb cb,
                      void *ctx);
/* Reads fd to its end in pieces of about piece bytes (more for a document
 * larger than a piece, which a piece must hold whole) and hands each to
 * take, which parses it with events_parse_part and says how much it used;
 * the rest goes in front of the next piece. A non-zero take stops the
 * reading with that value; -1 when reading fails (path names fd). */
typedef int (*events_piece_cb)(void *ctx, const char *data, size_t len, bool eof, size_t *used);
int events_read(int fd, const char *path, size_t piece, events_piece_cb take, void *ctx, err_t *e);
/* The same with every document parsed by jansson: the reference that
 * events_parse's fast path (src/events/evjson) must match, for tests. */
int events_parse_jansson(const char *data, size_t len, event_cb cb, void *ctx, err_t *e);

/* S3 form decoding of a key ('+' is a space, %XX); rejects bad escapes,
 * NUL and unsafe keys ("..", "." or empty segments, leading '/'). */
int events_decode_key(const char *raw, char **out, err_t *e);

#endif
