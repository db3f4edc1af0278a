/* strmap.h — an open-addressing hash map from borrowed C strings to size_t,
 * used for name lookups (tensor names, node names).  Keys are not copied:
 * they must outlive the map. */
#ifndef OQ_STRMAP_H
#define OQ_STRMAP_H

#include <stddef.h>

typedef struct oq_strmap {
    const char **keys; /* NULL = empty slot */
    size_t *vals;
    size_t cap;        /* power of two, or 0 */
    size_t len;
} oq_strmap;

/* Returns 1 and sets *val if key is present, else 0. */
int oq_strmap_get(const oq_strmap *m, const char *key, size_t *val);
/* Inserts or replaces.  Returns 0, or -1 on out of memory. */
int oq_strmap_put(oq_strmap *m, const char *key, size_t val);
void oq_strmap_clear(oq_strmap *m);

#endif
