/* libFuzzer target: the NDJSON scanner feeding the Parquet writer.
 *
 * The input is the content of one NDJSON file.
 * 1. Split into lines the way the worker does ('\n', a trailing '\r'
 *    dropped) and each line run through scanner_parse. Checked: the result
 *    is OK, BLANK (exactly for whitespace-only lines) or CORRUPT, a corrupt line has a reason and a position inside
 *    the line, every field slice is readable, keys and string values are
 *    valid UTF-8, and the verdict agrees with jansson (a line jansson reads
 *    as an object must scan OK; a line that scans OK must be one jansson
 *    reads, except where jansson is stricter by design: big numbers, lone
 *    surrogate escapes, NUL in keys, nesting depth). String values and the
 *    last value of each key must decode to jansson's bytes; nested values
 *    must parse back to jansson's. Lines holding a raw NUL byte skip the
 *    comparison (jansson's reader drops NUL bytes).
 * 2. The whole conversion job in-process on the input as a file
 *    (threads = 1, small row groups and pages, codec and sizes picked from
 *    a hash of the input so they are fixed per input): it must succeed,
 *    count one record per non-blank line, leave exactly the input and the
 *    output file, and write a Parquet file whose footer (read with the
 *    unit tests' independent Thrift decoder) holds that many rows and
 *    columns. */
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../unit/decoders.h"
#include "common/arena.h"
#include "common/log.h"
#include "convert/job.h"
#include "ndjson/scanner.h"
#include "ndjson/utf8.h"
#include "fuzz_common.h"

static scanner sc;
static arena ar;
static char in_path[600], out_path[600];

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    log_set_level(LOG_OFF); /* corrupt lines would each log a warning */
    scanner_init(&sc);
    arena_init(&ar, 64u << 10);
    snprintf(in_path, sizeof in_path, "%s/in.ndjson", fuzz_dir());
    snprintf(out_path, sizeof out_path, "%s/out.parquet", fuzz_dir());
    return 0;
}

static bool is_blank(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r' && p[i] != '\n') return false;
    return true;
}

/* jansson errors where it is stricter than ndpq by design. */
static bool jansson_stricter(const char *text)
{
    static const char *ok[] = {"too big", "overflow", "maximum parsing depth",
                               "invalid Unicode", "NUL byte in object key", "\\u0000"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        if (strstr(text, ok[i])) return true;
    return false;
}

static bool has_lone_surrogate_escape(const uint8_t *p, size_t n)
{
    /* Coarse: any \uD800..\uDFFF escape; jansson rejects lone ones, ndpq
     * replaces them with U+FFFD, so values with any are not compared. */
    for (size_t i = 0; i + 5 < n; i++)
        if (p[i] == '\\' && p[i + 1] == 'u' && (p[i + 2] == 'd' || p[i + 2] == 'D') &&
            p[i + 3] && strchr("89abcdefABCDEF", p[i + 3]))
            return true;
    return false;
}

/* The line being compared, printed when a check fails. */
static const uint8_t *cur_line;
static size_t cur_len;

static void dump_line(void)
{
    fprintf(stderr, "line (%zu bytes): \"", cur_len);
    for (size_t i = 0; i < cur_len && i < 400; i++) {
        uint8_t ch = cur_line[i];
        if (ch >= 0x20 && ch < 0x7f && ch != '\\' && ch != '"') fputc(ch, stderr);
        else fprintf(stderr, "\\x%02x", ch);
    }
    fprintf(stderr, "%s\"\n", cur_len > 400 ? "..." : "");
}

#define DIFF_CHECK(cond, ...)                                                                  \
    do {                                                                                       \
        if (!(cond)) dump_line();                                                              \
        FUZZ_CHECK(cond, __VA_ARGS__);                                                         \
    } while (0)

static void check_line(const uint8_t *line, size_t len)
{
    arena_mark m = arena_get_mark(&ar);
    scan_result r = scanner_parse(&sc, line, len, &ar);
    FUZZ_CHECK(r == SCAN_OK || r == SCAN_BLANK || r == SCAN_CORRUPT, "scanner_parse returned %d", (int)r);
    FUZZ_CHECK((r == SCAN_BLANK) == is_blank(line, len), "blank verdict %d for a line of %zu bytes",
               (int)r, len);
    if (r == SCAN_CORRUPT) {
        FUZZ_CHECK(sc.reason && *sc.reason, "corrupt line without a reason");
        FUZZ_CHECK(sc.err_pos <= len, "error position %zu past the line (%zu bytes)", sc.err_pos, len);
        fuzz_sink += fuzz_touch_str(sc.reason);
        arena_rollback(&ar, m);
    }
    if (r == SCAN_OK) {
        for (uint32_t i = 0; i < sc.n; i++) {
            const scan_field *f = &sc.fields[i];
            fuzz_sink += fuzz_touch_mem(f->kp, f->klen);
            FUZZ_CHECK(utf8_valid(f->kp, f->klen), "field %u: key is not valid UTF-8", i);
            if (f->vp) {
                fuzz_sink += fuzz_touch_mem(f->vp, f->vlen);
                FUZZ_CHECK(utf8_valid(f->vp, f->vlen), "field %u: value is not valid UTF-8", i);
            }
        }
    }

    /* Differential check against jansson. Skipped for lines with a NUL
     * byte: jansson's reader drops raw NUL bytes (it takes them for the end
     * of its look-ahead buffer), so it accepts lines that are not JSON. */
    if (r == SCAN_BLANK || memchr(line, 0, len)) return;
    cur_line = line;
    cur_len = len;
    json_error_t je;
    json_t *doc = json_loadb((const char *)line, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
    bool jobj = doc && json_is_object(doc);
    if (jobj)
        DIFF_CHECK(r == SCAN_OK, "jansson reads the line as an object, the scanner says corrupt: %s at %zu",
                   sc.reason, sc.err_pos);
    if (r == SCAN_OK && !doc)
        DIFF_CHECK(jansson_stricter(je.text), "the scanner accepts a line jansson rejects: %s", je.text);
    if (r == SCAN_OK && jobj && !has_lone_surrogate_escape(line, len)) {
        /* Last occurrence of each key holds jansson's value. */
        for (uint32_t i = 0; i < sc.n; i++) {
            const scan_field *f = &sc.fields[i];
            bool last = true;
            for (uint32_t k = i + 1; k < sc.n && last; k++)
                last = !(sc.fields[k].klen == f->klen && memcmp(sc.fields[k].kp, f->kp, f->klen) == 0);
            if (!last || memchr(f->kp, 0, f->klen)) continue;
            char *key = fuzz_cstr(f->kp, f->klen);
            json_t *v = json_object_get(doc, key);
            DIFF_CHECK(v != NULL, "key '%s' missing from jansson's object", key);
            if (json_is_string(v)) {
                DIFF_CHECK(f->vp && f->vlen == json_string_length(v) &&
                               memcmp(f->vp, json_string_value(v), f->vlen) == 0,
                           "key '%s': string value differs from jansson's", key);
            } else if (json_is_null(v)) {
                DIFF_CHECK(!f->vp, "key '%s': null has a value", key);
            } else if (json_is_true(v) || json_is_false(v)) {
                const char *t = json_is_true(v) ? "true" : "false";
                DIFF_CHECK(f->vp && f->vlen == strlen(t) && memcmp(f->vp, t, f->vlen) == 0,
                           "key '%s': literal differs", key);
            } else if (json_is_object(v) || json_is_array(v)) {
                /* Compact text of a nested value must parse back to an equal value. */
                json_t *back = json_loadb((const char *)f->vp, f->vlen, JSON_ALLOW_NUL, &je);
                DIFF_CHECK(back && json_equal(back, v), "key '%s': nested text does not round-trip: %.*s",
                           key, (int)f->vlen, (const char *)f->vp);
                json_decref(back);
            }
            free(key);
        }
    }
    json_decref(doc);
}

static uint64_t fnv(const uint8_t *p, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

/* Reads the Parquet footer; checks rows, columns and row groups. */
static void check_parquet(const char *path, uint64_t rows, uint32_t ncolumns)
{
    FILE *f = fopen(path, "rb");
    FUZZ_CHECK(f != NULL, "output %s missing", path);
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    FUZZ_CHECK(size >= 12, "output of %ld bytes", size);
    uint8_t *b = malloc((size_t)size);
    FUZZ_CHECK(b && fread(b, 1, (size_t)size, f) == (size_t)size, "cannot read %s", path);
    fclose(f);
    FUZZ_CHECK(memcmp(b, "PAR1", 4) == 0 && memcmp(b + size - 4, "PAR1", 4) == 0, "no PAR1 magic");
    uint32_t flen = (uint32_t)b[size - 8] | (uint32_t)b[size - 7] << 8 | (uint32_t)b[size - 6] << 16 |
                    (uint32_t)b[size - 5] << 24;
    FUZZ_CHECK(flen <= (uint64_t)size - 12, "footer length %u in a file of %ld bytes", flen, size);
    tnode md;
    size_t used = tc_parse_struct(b + size - 8 - flen, flen, &md);
    FUZZ_CHECK(used == flen, "footer: parsed %zu of %u bytes", used, flen);
    FUZZ_CHECK(tc_int(&md, 3, -1) == (int64_t)rows, "footer num_rows %lld, records %llu",
               (long long)tc_int(&md, 3, -1), (unsigned long long)rows);
    const tnode *schema = tc_field(&md, 2);
    FUZZ_CHECK(schema && schema->nkids == (size_t)ncolumns + 1, "schema has %zu elements for %u columns",
               schema ? schema->nkids : 0, ncolumns);
    const tnode *rgs = tc_field(&md, 4);
    int64_t sum = 0;
    for (size_t i = 0; rgs && i < rgs->nkids; i++) {
        const tnode *rg = &rgs->kids[i];
        const tnode *cols = tc_field(rg, 1);
        FUZZ_CHECK(cols && cols->nkids == ncolumns, "row group %zu has %zu column chunks for %u columns", i,
                   cols ? cols->nkids : 0, ncolumns);
        int64_t n = tc_int(rg, 3, -1);
        FUZZ_CHECK(n > 0, "row group %zu has %lld rows", i, (long long)n);
        sum += n;
        /* Every chunk lies inside the file. */
        for (size_t c = 0; c < cols->nkids; c++) {
            const tnode *meta = tc_field(&cols->kids[c], 3);
            FUZZ_CHECK(meta != NULL, "row group %zu column %zu without metadata", i, c);
            int64_t off = tc_int(meta, 11, tc_int(meta, 9, -1)), len = tc_int(meta, 7, -1);
            FUZZ_CHECK(off >= 4 && len > 0 && off + len <= size - 8 - (int64_t)flen,
                       "row group %zu column %zu: chunk at %lld+%lld outside the data", i, c, (long long)off,
                       (long long)len);
        }
    }
    FUZZ_CHECK(sum == (int64_t)rows, "row groups hold %lld rows, records %llu", (long long)sum,
               (unsigned long long)rows);
    tc_free(&md);
    free(b);
}

static void run_job(const uint8_t *data, size_t size)
{
    /* Lines the job must count: non-blank ones, after a leading BOM. */
    const uint8_t *p = data, *end = data + size;
    if (size >= 3 && p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF) p += 3;
    uint64_t want = 0;
    while (p < end) {
        const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
        const uint8_t *le = nl ? nl : end;
        if (!is_blank(p, (size_t)(le - p))) want++;
        p = nl ? nl + 1 : end;
    }

    static const codec_id codecs[] = {CODEC_SNAPPY, CODEC_ZSTD, CODEC_GZIP, CODEC_LZ4_RAW, CODEC_NONE};
    uint64_t h = fnv(data, size);
    job_opts o;
    job_opts_default(&o);
    o.threads = 1;
    o.codec = codecs[h % 5];
    o.row_group_bytes = 16 + (size_t)((h >> 8) % 512);
    o.page_bytes = 8 + (size_t)((h >> 20) % 256);
    o.dict_limit = (h >> 32) % 4 == 0 ? 0 : 16 + (size_t)((h >> 34) % 1024);
    o.metadata = (h >> 50) % 4 != 0;

    fuzz_write_file(in_path, data, size);
    const char *inputs[] = {in_path};
    job_spec s = {.inputs = inputs, .ninputs = 1, .out_file = out_path, .manifest = "fuzz.json"};
    job_report r;
    int rc = job_run(&o, &s, &r);
    FUZZ_CHECK(rc == 0 && r.ok, "job failed: %s", r.err.msg);
    FUZZ_CHECK(r.records == want, "job counted %llu records, the input has %llu non-blank lines",
               (unsigned long long)r.records, (unsigned long long)want);
    FUZZ_CHECK(r.corrupt <= r.records, "corrupt %llu > records %llu", (unsigned long long)r.corrupt,
               (unsigned long long)r.records);
    FUZZ_CHECK(r.bytes_in == size, "bytes_in %llu, input %zu", (unsigned long long)r.bytes_in, size);
    FUZZ_CHECK(r.nparts == 1, "%u parts for one output file", r.nparts);
    for (uint32_t i = 0; i < r.ncolumns; i++) fuzz_sink += fuzz_touch_mem(r.columns[i], r.column_lens[i]);
    for (uint32_t i = 0; i < r.nsamples; i++) {
        FUZZ_CHECK(r.samples[i].line >= 1, "sample %u at line 0", i);
        fuzz_sink += fuzz_touch_str(r.samples[i].file) + fuzz_touch_str(r.samples[i].reason);
    }
    /* The report renders. */
    buf out = {0};
    job_report_json(&r, &o, &s, &out);
    FUZZ_CHECK(buf_ok(&out) && out.len > 0, "empty report");
    json_error_t je;
    json_t *rep = json_loadb((const char *)out.data, out.len, JSON_ALLOW_NUL, &je); /* column names may hold NUL */
    FUZZ_CHECK(rep != NULL, "report is not valid JSON: %s", je.text);
    json_decref(rep);
    buf_free(&out);

    char first[256] = "";
    int left = fuzz_dir_count(first, sizeof first);
    FUZZ_CHECK(left == 2, "%d files left in the job's folder (one is %s)", left, first);
    check_parquet(out_path, r.records, r.ncolumns);
    job_report_free(&r);
    unlink(out_path);
    unlink(in_path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    arena_reset(&ar);
    const uint8_t *p = data, *end = data + size;
    while (p < end) {
        const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
        const uint8_t *le = nl ? nl : end;
        size_t len = (size_t)(le - p);
        if (len && p[len - 1] == '\r') len--;
        /* A copy of exactly the line, so reading past it is caught. */
        uint8_t *line = malloc(len ? len : 1);
        if (len) memcpy(line, p, len);
        check_line(line, len);
        free(line);
        p = nl ? nl + 1 : end;
    }
    run_job(data, size);
    return 0;
}
