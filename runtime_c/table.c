/* table.c — tables and the table instructions that are not inlined.
 *
 * Strategy.  A table is a heap array of `void *` references (NULL is ref.null; funcrefs point to
 * wasmc_funcref records, externrefs are opaque host values).  table.grow reallocates the array,
 * which is why generated code reloads `elems` after any call.  Growth beyond MAX_ELEMS fails with -1
 * (the spec lets grow fail at any time) so a hostile module cannot make us allocate gigabytes.
 *
 * Sandbox-critical: every helper checks bounds up front in 64-bit arithmetic, as the spec orders.
 */
#include "wasmc_rt.h"

#include <stdlib.h>
#include <string.h>

#define MAX_ELEMS 10000000u

wasmc_table *wasmc_rt_table_new(uint32_t elemtype, uint32_t min, uint32_t max) {
    if (min > max || min > MAX_ELEMS) return NULL;
    wasmc_table *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    /* calloc(0) may return NULL; keep a valid pointer so "elems == NULL" never means failure. */
    t->elems = calloc(min ? min : 1, sizeof(void *));
    if (!t->elems) {
        free(t);
        return NULL;
    }
    t->size = min;
    t->max = max;
    t->elemtype = (uint8_t)elemtype;
    return t;
}

void wasmc_rt_table_free(wasmc_table *t) {
    if (!t) return;
    free(t->elems);
    free(t);
}

int64_t wasmc_rt_table_grow_tab(wasmc_table *t, void *init, uint64_t delta) {
    uint64_t old = t->size;
    if (delta > MAX_ELEMS) return -1;
    uint64_t new_size = old + delta;
    if (new_size > t->max || new_size > MAX_ELEMS) return -1;
    if (delta == 0) return (int64_t)old;
    void **e = realloc(t->elems, new_size * sizeof *e);
    if (!e) return -1;
    for (uint64_t i = old; i < new_size; i++) e[i] = init;
    t->elems = e;
    t->size = (uint32_t)new_size;
    return (int64_t)old;
}

int64_t wasmc_rt_table_grow(wasmc_instance *inst, uint32_t table, void *init, uint64_t delta) {
    return wasmc_rt_table_grow_tab(inst->tables[table], init, delta);
}

/* [at, at + n) within size, without wrapping (a table64 index and length can each be 2^64-1). */
static void check_range(uint64_t at, uint64_t n, uint64_t size) {
    if (n > size || at > size - n) wasmc_rt_trap(WASMC_TRAP_TABLE_OOB);
}

void *wasmc_rt_table_get(wasmc_instance *inst, uint32_t table, uint64_t i) {
    wasmc_table *t = inst->tables[table];
    if (i >= t->size) wasmc_rt_trap(WASMC_TRAP_TABLE_OOB);
    return t->elems[i];
}

void wasmc_rt_table_set(wasmc_instance *inst, uint32_t table, uint64_t i, void *ref) {
    wasmc_table *t = inst->tables[table];
    if (i >= t->size) wasmc_rt_trap(WASMC_TRAP_TABLE_OOB);
    t->elems[i] = ref;
}

void wasmc_rt_table_fill(wasmc_instance *inst, uint32_t table, uint64_t i, void *ref, uint64_t n) {
    wasmc_table *t = inst->tables[table];
    check_range(i, n, t->size);
    for (uint64_t k = 0; k < n; k++) t->elems[i + k] = ref;
}

void wasmc_rt_table_copy(wasmc_instance *inst, uint32_t dtab, uint32_t stab, uint64_t d, uint64_t s,
                         uint64_t n) {
    wasmc_table *dt = inst->tables[dtab], *st = inst->tables[stab];
    check_range(s, n, st->size);
    check_range(d, n, dt->size);
    if (n) memmove(dt->elems + d, st->elems + s, (size_t)n * sizeof(void *));
}

void wasmc_rt_table_init(wasmc_instance *inst, uint32_t table, uint32_t seg, uint64_t d, uint32_t s,
                         uint32_t n) {
    wasmc_table *t = inst->tables[table];
    const wasmc_segment *sg = &inst->elem_segs[seg];
    check_range(s, n, sg->len);
    check_range(d, n, t->size);
    if (n) memcpy(t->elems + d, (void *const *)sg->items + s, (size_t)n * sizeof(void *));
}

void wasmc_rt_elem_drop(wasmc_instance *inst, uint32_t seg) {
    inst->elem_segs[seg].len = 0;
}
