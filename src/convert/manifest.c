#include "convert/manifest.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "common/hash.h"

void manifest_free(manifest *m)
{
    for (uint32_t i = 0; i < m->n; i++) free(m->uris[i]);
    free(m->uris);
    memset(m, 0, sizeof *m);
}

/* Set of entries seen, to drop repeats in O(1) each. */
typedef struct {
    uint32_t *slots; /* index + 1 into m->uris */
    uint32_t mask;
} seen_set;

static int seen_grow(seen_set *h, const manifest *m)
{
    uint32_t n = h->mask ? (h->mask + 1) * 2 : 1024;
    uint32_t *s = calloc(n, sizeof *s);
    if (!s) return -1;
    for (uint32_t i = 0; i < m->n; i++) {
        uint32_t j = (uint32_t)hash_bytes(m->uris[i], strlen(m->uris[i])) & (n - 1);
        while (s[j]) j = (j + 1) & (n - 1);
        s[j] = i + 1;
    }
    free(h->slots);
    h->slots = s;
    h->mask = n - 1;
    return 0;
}

static int add_uri(manifest *m, seen_set *h, const char *s, err_t *e)
{
    if ((uint64_t)(m->n + 1) * 2 > (uint64_t)h->mask + 1)
        RETURN_ERROR_IF(seen_grow(h, m) != 0, e, ERR_NOMEM, "out of memory");
    uint32_t j = (uint32_t)hash_bytes(s, strlen(s)) & h->mask;
    for (; h->slots[j]; j = (j + 1) & h->mask)
        if (strcmp(m->uris[h->slots[j] - 1], s) == 0) { m->duplicates++; return 0; }
    char **u = realloc(m->uris, (m->n + 1) * sizeof *u);
    RETURN_ERROR_IF(!u, e, ERR_NOMEM, "out of memory");
    m->uris = u;
    m->uris[m->n] = strdup(s);
    RETURN_ERROR_IF(!m->uris[m->n], e, ERR_NOMEM, "out of memory");
    h->slots[j] = ++m->n;
    return 0;
}

int manifest_parse(const char *text, size_t len, const char *source, manifest *m, err_t *e)
{
    memset(m, 0, sizeof *m);
    seen_set seen = {0};
    json_error_t je;
    json_t *root = json_loadb(text, len, 0, &je);
    RETURN_ERROR_IF(!root, e, ERR_INPUT, "manifest %s is not valid JSON (line %d: %s)", source,
                    je.line, je.text);
    int rc = 0;
    json_t *locs = json_is_object(root) ? json_object_get(root, "fileLocations") : NULL;
    if (!json_is_array(locs)) {
        rc = err_set(e, ERR_INPUT, "manifest %s has no \"fileLocations\" list", source);
        goto out;
    }
    size_t i, k;
    json_t *loc, *uri;
    json_array_foreach(locs, i, loc) {
        json_t *list = json_is_object(loc) ? json_object_get(loc, "URIPrefixes") : NULL;
        if (!json_is_array(list)) {
            rc = err_set(e, ERR_INPUT, "manifest %s: fileLocations[%zu] has no \"URIPrefixes\" list",
                         source, i);
            goto out;
        }
        json_array_foreach(list, k, uri) {
            if (!json_is_string(uri) || json_string_length(uri) == 0 ||
                strlen(json_string_value(uri)) != json_string_length(uri)) {
                rc = err_set(e, ERR_INPUT, "manifest %s: fileLocations[%zu].URIPrefixes[%zu] is not a valid URI string",
                             source, i, k);
                goto out;
            }
            if ((rc = add_uri(m, &seen, json_string_value(uri), e)) != 0) goto out;
        }
    }
out:
    free(seen.slots);
    json_decref(root);
    if (rc != 0) manifest_free(m);
    return rc;
}

int manifest_load(const char *path, manifest *m, err_t *e)
{
    FILE *f = fopen(path, "rb");
    RETURN_SYSERR_IF(!f, e, ERR_INPUT, "cannot open manifest %s", path);
    char *data = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (cap - len < 65536) {
            cap = cap ? cap * 2 : 65536;
            char *d = realloc(data, cap);
            if (!d) {
                free(data);
                fclose(f);
                return err_set(e, ERR_NOMEM, "out of memory");
            }
            data = d;
        }
        size_t n = fread(data + len, 1, cap - len, f);
        len += n;
        if (n == 0) break;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(data);
        return err_set(e, ERR_INPUT, "cannot read manifest %s", path);
    }
    int rc = manifest_parse(data, len, path, m, e);
    free(data);
    return rc;
}
