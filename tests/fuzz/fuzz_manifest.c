/* libFuzzer target: manifest_parse, the batch manifest reader. The input is
 * the manifest text. On success every entry is a non-empty string with no
 * NUL, no entry repeats, and entries + dropped duplicates equal the strings
 * jansson finds in fileLocations[*].URIPrefixes[*]. On failure the manifest
 * is empty and the error names the source. */
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "convert/manifest.h"
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

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Number of entries per jansson, or -1 when the manifest should be refused. */
static long expected_entries(const char *text, size_t len)
{
    json_error_t je;
    json_t *root = json_loadb(text, len, 0, &je);
    if (!root) return -1;
    long n = 0;
    json_t *locs = json_object_get(root, "fileLocations");
    if (!json_is_array(locs)) n = -1;
    for (size_t i = 0; n >= 0 && i < json_array_size(locs); i++) {
        json_t *list = json_object_get(json_array_get(locs, i), "URIPrefixes");
        if (!json_is_array(list)) { n = -1; break; }
        for (size_t k = 0; k < json_array_size(list); k++) {
            json_t *u = json_array_get(list, k);
            if (!json_is_string(u) || json_string_length(u) == 0 ||
                strlen(json_string_value(u)) != json_string_length(u)) {
                n = -1;
                break;
            }
            n++;
        }
    }
    json_decref(root);
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *copy = malloc(size ? size : 1);
    if (size) memcpy(copy, data, size);
    manifest m;
    err_t e = {0};
    int rc = manifest_parse(copy, size, "fuzz.json", &m, &e);
    long want = expected_entries(copy, size);
    if (rc == 0) {
        FUZZ_CHECK(want >= 0, "manifest accepted, jansson finds it invalid");
        FUZZ_CHECK((long)m.n + (long)m.duplicates == want, "%u entries + %u duplicates, %ld strings listed",
                   m.n, m.duplicates, want);
        FUZZ_CHECK(m.n == 0 || m.uris, "entries without a list");
        char **sorted = malloc((m.n ? m.n : 1) * sizeof *sorted);
        for (uint32_t i = 0; i < m.n; i++) {
            FUZZ_CHECK(m.uris[i] && m.uris[i][0], "entry %u empty", i);
            fuzz_sink += fuzz_touch_str(m.uris[i]);
            sorted[i] = m.uris[i];
        }
        qsort(sorted, m.n, sizeof *sorted, cmp_str);
        for (uint32_t i = 1; i < m.n; i++)
            FUZZ_CHECK(strcmp(sorted[i - 1], sorted[i]) != 0, "entry '%s' listed twice", sorted[i]);
        free(sorted);
        manifest_free(&m);
    } else {
        FUZZ_CHECK(rc == -1, "manifest_parse returned %d", rc);
        FUZZ_CHECK(want < 0, "manifest refused (%s), jansson finds %ld valid entries", e.msg, want);
        FUZZ_CHECK(m.n == 0 && m.uris == NULL, "a refused manifest kept %u entries", m.n);
        FUZZ_CHECK(strstr(e.msg, "fuzz.json") != NULL, "error does not name the manifest: %s", e.msg);
    }
    free(copy);
    return 0;
}
