/* gc.c — GC's heap objects (Wasm 3.0): allocation, and the array instructions that move many
 * elements (compiler/lower/gcobjects.py inlines the rest).
 *
 * Strategy.  An object is one calloc'd block with a 16-byte header (wasmc_object); malloc's
 * 16-byte alignment keeps a reference's low two bits 00, which tell objects from i31s and host
 * values (compiler/lower/gcrefs.py).  Objects are never freed: there is no collector yet, so a
 * program that allocates without bound runs out of memory (README, known limitations).
 *
 * Every helper checks what the spec checks, in its order: a null array first, then the array's
 * range, then the segment's; lengths and offsets are added in 64 bits so no sum wraps.  Like
 * wasmtime, an object of 4 GiB or more is refused ("allocation size too large") before any
 * memory is asked for.
 */
#include "wasmc_rt.h"

#include <stdlib.h>
#include <string.h>

#define MAX_OBJECT_BYTES 0xFFFFFFFFull

void *wasmc_rt_gc_alloc(wasmc_instance *inst, uint64_t size, uint32_t type_id, uint32_t kind) {
    (void)inst;
    if (size > MAX_OBJECT_BYTES) wasmc_rt_trap(WASMC_TRAP_ALLOCATION_TOO_LARGE);
    wasmc_object *obj = calloc(1, size < sizeof *obj ? sizeof *obj : size);
    if (!obj) wasmc_rt_trap(WASMC_TRAP_OUT_OF_MEMORY);
    obj->type_id = type_id;
    obj->kind = kind;
    return obj;
}

/* Copy one element's bytes into `n` consecutive elements: the first one, then copies of what is
 * done so far, doubling (log n memcpy calls of growing size, not n small ones). */
static void repeat(uint8_t *at, const void *value, uint32_t n, uint32_t size) {
    if (n == 0) return;
    if (size == 1) {
        memset(at, *(const uint8_t *)value, n);
        return;
    }
    memcpy(at, value, size);
    uint64_t done = size, total = (uint64_t)n * size;
    while (done < total) {
        uint64_t k = done < total - done ? done : total - done;
        memcpy(at + done, at, k);
        done += k;
    }
}

static int all_zero(const uint8_t *value, uint32_t size) {
    for (uint32_t i = 0; i < size; i++)
        if (value[i]) return 0;
    return 1;
}

void *wasmc_rt_array_new(wasmc_instance *inst, uint32_t type_id, uint32_t len, uint32_t size,
                         const void *init) {
    wasmc_object *a = wasmc_rt_gc_alloc(inst, sizeof *a + (uint64_t)len * size, type_id,
                                        WASMC_OBJECT_ARRAY);
    a->len = len;
    if (init && !all_zero(init, size)) repeat(a->data, init, len, size); /* calloc's are zeros */
    return a;
}

static void check_array(const wasmc_object *a, uint32_t at, uint32_t n) {
    if (!a) wasmc_rt_trap(WASMC_TRAP_NULL_REFERENCE);
    if ((uint64_t)at + n > a->len) wasmc_rt_trap(WASMC_TRAP_ARRAY_OOB);
}

/* Bytes s..s+n*size of data segment `seg` (a dropped segment has length 0). */
static const uint8_t *data_range(const wasmc_segment *seg, uint32_t s, uint32_t n, uint32_t size) {
    if ((uint64_t)s + (uint64_t)n * size > seg->len) wasmc_rt_trap(WASMC_TRAP_MEMORY_OOB);
    return (const uint8_t *)seg->items + s;
}

/* References s..s+n of element segment `seg`. */
static void *const *elem_range(const wasmc_segment *seg, uint32_t s, uint32_t n) {
    if ((uint64_t)s + n > seg->len) wasmc_rt_trap(WASMC_TRAP_TABLE_OOB);
    return (void *const *)seg->items + s;
}

void *wasmc_rt_array_new_data(wasmc_instance *inst, uint32_t type_id, uint32_t seg, uint32_t s,
                              uint32_t n, uint32_t size) {
    const uint8_t *from = data_range(&inst->data_segs[seg], s, n, size);
    wasmc_object *a = wasmc_rt_array_new(inst, type_id, n, size, NULL);
    memcpy(a->data, from, (size_t)n * size);
    return a;
}

void *wasmc_rt_array_new_elem(wasmc_instance *inst, uint32_t type_id, uint32_t seg, uint32_t s,
                              uint32_t n) {
    void *const *from = elem_range(&inst->elem_segs[seg], s, n);
    wasmc_object *a = wasmc_rt_array_new(inst, type_id, n, sizeof(void *), NULL);
    memcpy(a->data, from, (size_t)n * sizeof(void *));
    return a;
}

void wasmc_rt_array_fill(wasmc_instance *inst, wasmc_object *a, uint32_t d, const void *value,
                         uint32_t n, uint32_t size) {
    (void)inst;
    check_array(a, d, n);
    repeat(a->data + (uint64_t)d * size, value, n, size);
}

void wasmc_rt_array_copy(wasmc_instance *inst, wasmc_object *dst, uint32_t d, wasmc_object *src,
                         uint32_t s, uint32_t n, uint32_t size) {
    (void)inst;
    if (!dst || !src) wasmc_rt_trap(WASMC_TRAP_NULL_REFERENCE);
    check_array(dst, d, n);
    check_array(src, s, n);
    memmove(dst->data + (uint64_t)d * size, src->data + (uint64_t)s * size, (size_t)n * size);
}

void wasmc_rt_array_init_data(wasmc_instance *inst, wasmc_object *a, uint32_t d, uint32_t seg,
                              uint32_t s, uint32_t n, uint32_t size) {
    check_array(a, d, n);
    const uint8_t *from = data_range(&inst->data_segs[seg], s, n, size);
    memcpy(a->data + (uint64_t)d * size, from, (size_t)n * size);
}

void wasmc_rt_array_init_elem(wasmc_instance *inst, wasmc_object *a, uint32_t d, uint32_t seg,
                              uint32_t s, uint32_t n) {
    check_array(a, d, n);
    void *const *from = elem_range(&inst->elem_segs[seg], s, n);
    memcpy(a->data + (uint64_t)d * sizeof(void *), from, (size_t)n * sizeof(void *));
}
