/* Thrift compact protocol writer: bytes hand-computed from
 * apache/thrift doc/specs/thrift-compact-protocol.md. */
#include <stdlib.h>
#include <string.h>

#include "decoders.h"
#include "parquet/thrift.h"
#include "test.h"

static void tw_begin(thrift_w *w, buf *b)
{
    memset(b, 0, sizeof *b);
    thrift_init(w, b);
    thrift_struct_begin(w);
}

static void test_thrift_zigzag(void)
{
    CHECK_EQ_U64(thrift_zigzag64(0), 0);
    CHECK_EQ_U64(thrift_zigzag64(-1), 1);
    CHECK_EQ_U64(thrift_zigzag64(1), 2);
    CHECK_EQ_U64(thrift_zigzag64(-2), 3);
    CHECK_EQ_U64(thrift_zigzag64(2), 4);
    CHECK_EQ_U64(thrift_zigzag64(-64), 127);
    CHECK_EQ_U64(thrift_zigzag64(64), 128);
    CHECK_EQ_U64(thrift_zigzag64(INT32_MAX), 0xFFFFFFFEull);
    CHECK_EQ_U64(thrift_zigzag64(INT32_MIN), 0xFFFFFFFFull);
    CHECK_EQ_U64(thrift_zigzag64(INT64_MAX), 0xFFFFFFFFFFFFFFFEull);
    CHECK_EQ_U64(thrift_zigzag64(INT64_MIN), 0xFFFFFFFFFFFFFFFFull);
}

static void test_thrift_short_field_header(void)
{
    buf b;
    thrift_w w;
    tw_begin(&w, &b);
    thrift_field_i32(&w, 1, 1);   /* delta 1, type 5: 0x15; zigzag(1) = 2 */
    thrift_field_i32(&w, 2, -1);  /* delta 1: 0x15; zigzag(-1) = 1 */
    thrift_field_i64(&w, 17, 0);  /* delta 15: 0xF6; 0 */
    thrift_struct_end(&w);
    CHECK_BYTES(b.data, b.len, "\x15\x02\x15\x01\xF6\x00\x00");
    buf_free(&b);

    /* First field with id 15: delta from 0 is 15, still short. */
    tw_begin(&w, &b);
    thrift_field_i32(&w, 15, 3);
    thrift_struct_end(&w);
    CHECK_BYTES(b.data, b.len, "\xF5\x06\x00");
    buf_free(&b);
}

static void test_thrift_long_field_header(void)
{
    buf b;
    thrift_w w;
    /* Delta 16 (> 15): type byte, then zigzag varint of the id. */
    tw_begin(&w, &b);
    thrift_field_i32(&w, 1, 0);
    thrift_field_i32(&w, 17, -1);
    thrift_struct_end(&w);
    CHECK_BYTES(b.data, b.len, "\x15\x00" "\x05\x22\x01" "\x00");
    buf_free(&b);

    /* First field 16: delta 16 from 0. */
    tw_begin(&w, &b);
    thrift_field_i64(&w, 16, 5);
    thrift_struct_end(&w);
    CHECK_BYTES(b.data, b.len, "\x06\x20\x0A\x00");
    buf_free(&b);

    /* Negative delta (5 then 3) and zero delta (3 then 3). */
    tw_begin(&w, &b);
    thrift_field_i32(&w, 5, 1);
    thrift_field_i32(&w, 3, 1);
    thrift_field_i32(&w, 3, 2);
    thrift_struct_end(&w);
    CHECK_BYTES(b.data, b.len, "\x55\x02" "\x05\x06\x02" "\x05\x06\x04" "\x00");
    buf_free(&b);

    /* A large id: zigzag(300) = 600 = 0x258 -> D8 04. */
    tw_begin(&w, &b);
    thrift_field_bool(&w, 300, true);
    thrift_field_bool(&w, 301, false);
    thrift_struct_end(&w);
    CHECK_BYTES(b.data, b.len, "\x01\xD8\x04" "\x12" "\x00");
    buf_free(&b);

    /* The exposed primitive directly, at depth 0. */
    tw_begin(&w, &b);
    thrift_put_field_header(&w, 20, THRIFT_BINARY);
    thrift_put_field_header(&w, 21, THRIFT_I32);
    CHECK_BYTES(b.data, b.len, "\x08\x28" "\x15");
    buf_free(&b);
}

static void test_thrift_varint_values(void)
{
    buf b;
    thrift_w w;
    tw_begin(&w, &b);
    thrift_field_i64(&w, 1, INT64_MAX);
    thrift_field_i64(&w, 2, INT64_MIN);
    thrift_field_i32(&w, 3, INT32_MAX);
    thrift_field_i32(&w, 4, INT32_MIN);
    thrift_field_i64(&w, 5, -64);
    thrift_field_i64(&w, 6, 64);
    thrift_field_i32(&w, 7, 25199); /* zigzag 50398 = 0xC4DE -> DE 89 03 */
    thrift_struct_end(&w);
    CHECK_BYTES(b.data, b.len,
                "\x16\xFE\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\x01"
                "\x16\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\x01"
                "\x15\xFE\xFF\xFF\xFF\x0F"
                "\x15\xFF\xFF\xFF\xFF\x0F"
                "\x16\x7F"
                "\x16\x80\x01"
                "\x15\xDE\x89\x03"
                "\x00");
    buf_free(&b);
}

static void test_thrift_binary_and_bool(void)
{
    buf b;
    thrift_w w;
    tw_begin(&w, &b);
    thrift_field_binary(&w, 4, "a\0c", 3);
    thrift_field_string(&w, 5, "");
    thrift_field_bool(&w, 6, true);
    thrift_field_bool(&w, 7, false);
    thrift_field_string(&w, 8, "xyz");
    thrift_struct_end(&w);
    CHECK_BYTES(b.data, b.len, "\x48\x03" "a\0c" "\x18\x00" "\x11" "\x12" "\x18\x03xyz" "\x00");
    buf_free(&b);

    /* A 200-byte binary: length varint C8 01. */
    char big[200];
    memset(big, 'q', sizeof big);
    tw_begin(&w, &b);
    thrift_field_binary(&w, 1, big, sizeof big);
    thrift_struct_end(&w);
    CHECK_EQ_INT(b.len, 1 + 2 + 200 + 1);
    if (CHECK(b.len == 204)) {
        CHECK_BYTES(b.data, 3, "\x18\xC8\x01");
        CHECK(memcmp(b.data + 3, big, 200) == 0);
        CHECK_EQ_INT(b.data[203], 0);
    }
    buf_free(&b);
}

static void test_thrift_lists(void)
{
    buf b;
    thrift_w w;
    tw_begin(&w, &b);
    thrift_field_list_begin(&w, 2, THRIFT_I32, 3);
    thrift_list_i32(&w, 0);
    thrift_list_i32(&w, 3);
    thrift_list_i32(&w, -8);
    thrift_field_list_begin(&w, 3, THRIFT_BINARY, 1);
    thrift_list_binary(&w, "ab", 2);
    thrift_field_list_begin(&w, 4, THRIFT_I32, 0);
    thrift_struct_end(&w);
    CHECK_BYTES(b.data, b.len, "\x29\x35\x00\x06\x0F" "\x19\x18\x02" "ab" "\x19\x05" "\x00");
    buf_free(&b);

    /* 14 elements: short form (0xE5); 15: long form (0xF5 then varint 15). */
    tw_begin(&w, &b);
    thrift_field_list_begin(&w, 1, THRIFT_I32, 14);
    for (int i = 0; i < 14; i++) thrift_list_i32(&w, 1);
    CHECK_EQ_INT(b.len, 2 + 14);
    CHECK_BYTES(b.data, 2, "\x19\xE5");
    buf_free(&b);

    tw_begin(&w, &b);
    thrift_field_list_begin(&w, 1, THRIFT_I32, 15);
    for (int i = 0; i < 15; i++) thrift_list_i32(&w, 1);
    CHECK_EQ_INT(b.len, 3 + 15);
    CHECK_BYTES(b.data, 3, "\x19\xF5\x0F");
    buf_free(&b);

    tw_begin(&w, &b);
    thrift_field_list_begin(&w, 1, THRIFT_STRUCT, 300);
    CHECK_BYTES(b.data, b.len, "\x19\xFC\xAC\x02");
    buf_free(&b);
}

static void test_thrift_nested_struct_ids(void)
{
    buf b;
    thrift_w w;
    tw_begin(&w, &b);
    thrift_field_i32(&w, 1, 5);
    thrift_field_struct_begin(&w, 2); /* delta 1, type 12: 0x1C */
    thrift_field_i32(&w, 1, 7);       /* ids restart at 0 inside: 0x15 */
    thrift_field_i64(&w, 20, 1);      /* delta 19: long form 06 28 */
    thrift_struct_end(&w);
    thrift_field_i32(&w, 3, 1);       /* outer continues from 2: 0x15 */
    thrift_struct_end(&w);
    CHECK_BYTES(b.data, b.len,
                "\x15\x0A" "\x1C" "\x15\x0E" "\x06\x28\x02" "\x00" "\x15\x02" "\x00");
    buf_free(&b);

    /* Structs as list elements: each element starts from id 0 again. */
    tw_begin(&w, &b);
    thrift_field_list_begin(&w, 4, THRIFT_STRUCT, 2); /* 0x49 0x2C */
    thrift_struct_begin(&w);
    thrift_field_i32(&w, 3, 1);
    thrift_struct_end(&w);
    thrift_struct_begin(&w);
    thrift_field_i32(&w, 3, 2);
    thrift_field_struct_begin(&w, 4);
    thrift_struct_end(&w);
    thrift_struct_end(&w);
    thrift_field_i32(&w, 5, 9); /* delta from 4: 0x15 */
    thrift_struct_end(&w);
    CHECK_BYTES(b.data, b.len,
                "\x49\x2C" "\x35\x02\x00" "\x35\x04\x1C\x00\x00" "\x15\x12" "\x00");
    buf_free(&b);
}

/* Writes a random struct tree and reads it back with the independent
 * reader: ids, types and values must round-trip. */
static void test_thrift_roundtrip_random(void)
{
    test_rng r;
    test_rng_seed(&r, 42);
    for (int iter = 0; iter < 200; iter++) {
        buf b = {0};
        thrift_w w;
        thrift_init(&w, &b);
        thrift_struct_begin(&w);
        int16_t ids[40];
        int64_t vals[40];
        int nf = (int)test_rng_below(&r, 40);
        int16_t id = 0;
        for (int i = 0; i < nf; i++) {
            /* Mostly increasing ids, sometimes jumps and decreases. */
            int step = (int)test_rng_below(&r, 40) - 8;
            if (step == 0) step = 1;
            id = (int16_t)(id + step);
            if (id <= 0) id = (int16_t)(1 + test_rng_below(&r, 5));
            ids[i] = id;
            vals[i] = (int64_t)test_rng_next(&r) >> test_rng_below(&r, 64);
            thrift_field_i64(&w, id, vals[i]);
        }
        thrift_struct_end(&w);
        tnode t;
        size_t used = tc_parse_struct(b.data, b.len, &t);
        if (CHECK_EQ_INT(used, b.len) && CHECK_EQ_INT(t.nkids, nf)) {
            for (int i = 0; i < nf; i++) {
                CHECK_EQ_INT(t.kids[i].id, ids[i]);
                CHECK_EQ_INT(t.kids[i].type, TC_I64);
                CHECK_EQ_INT(t.kids[i].i, vals[i]);
            }
        }
        tc_free(&t);
        buf_free(&b);
    }
}

void register_thrift_tests(void)
{
    TEST_ADD(test_thrift_zigzag);
    TEST_ADD(test_thrift_short_field_header);
    TEST_ADD(test_thrift_long_field_header);
    TEST_ADD(test_thrift_varint_values);
    TEST_ADD(test_thrift_binary_and_bool);
    TEST_ADD(test_thrift_lists);
    TEST_ADD(test_thrift_nested_struct_ids);
    TEST_ADD(test_thrift_roundtrip_random);
}
