/* schema: the job-wide column registry (name -> column id), shared by the
 * worker threads. Ids are dense and never change; output order is decided
 * at the end (data columns sorted by UTF-8 bytes, then metadata columns). */
#ifndef NDPQ_SCHEMA_H
#define NDPQ_SCHEMA_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/arena.h"
#include "parquet/writer.h"

#define SCHEMA_TS_NAME "_processing_timestamp"
#define SCHEMA_SRC_NAME "_source_file"
#define SCHEMA_CORRUPT_NAME "_corrupt_record"

typedef struct {
    const uint8_t *name;
    uint32_t len;
    uint64_t hash;
} schema_col;

typedef struct {
    pthread_mutex_t mu;
    schema_col *cols;
    uint32_t n, cap;
    uint32_t *slots; /* id + 1 */
    uint32_t mask;
    arena names;
    bool metadata;          /* metadata columns on: ids 0 and 1 */
    uint32_t corrupt_id;    /* UINT32_MAX until a corrupt line shows up */
} schema;

#define SCHEMA_TS_ID 0u
#define SCHEMA_SRC_ID 1u

int schema_init(schema *s, bool metadata);
void schema_free(schema *s);
/* Id of the column, registering it if new; -1 on allocation failure. */
int64_t schema_intern(schema *s, const uint8_t *name, uint32_t len, uint64_t hash);
uint32_t schema_count(schema *s);
/* Output order. fields must hold schema_count() entries. */
void schema_order(schema *s, writer_field *fields);
static inline bool schema_is_metadata(const schema *s, uint32_t id)
{
    return s->metadata && (id == SCHEMA_TS_ID || id == SCHEMA_SRC_ID);
}

#endif
