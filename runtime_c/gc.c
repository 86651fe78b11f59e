/* gc.c — GC's heap objects (Wasm 3.0): allocation, the collector, and the array instructions
 * that move many elements (compiler/lower/gcobjects.py inlines the rest).
 *
 * Strategy.  An object is one calloc'd block with a 16-byte header (wasmc_object); malloc's
 * 16-byte alignment keeps a reference's low four bits 0, which tells objects from i31s and host
 * values (compiler/lower/gcrefs.py).  Every object is recorded (a vector for sweeping, a hash set
 * for "is this word an object?"), and the collector is a non-moving mark and sweep:
 *   - Roots are exact, never a scan of the native stack (where LLVM may keep only a pointer
 *     derived from an object, which a conservative scan would miss): each generated function
 *     that may hold references across a call links a frame of root slots into
 *     wasmc_rt_gc_frames and stores every reference it holds (locals, operand stack, the call's
 *     arguments) into them before each call or allocation (compiler/lower/function.py,
 *     gc_point); objects never move, so nothing is reloaded after.  The other roots are every
 *     live instance's globals, tables and element segments, the exception in flight, and the
 *     references the host was handed (wasmc_rt_gc_pin).  Exceptions are objects too (kind
 *     WASMC_OBJECT_EXCEPTION, traced like structs), so a throw may collect.
 *   - A word counts as a reference if, with bit 63 cleared (an `any` made extern keeps its word
 *     with bit 63 set), it is the address of a recorded object.  Fields are traced the same way
 *     (every 8-byte word of a struct with reference fields, every element of an array of
 *     references), so a number that happens to equal an object's address keeps it alive, which
 *     is safe; an object is never freed while a reference to it exists.
 *   - A collection runs when the bytes allocated since the last one exceed the live bytes it left
 *     (at least 64 MiB); WASMC_GC_STRESS=N collects every N allocations instead, and poisons
 *     what it frees (tests).
 *
 * Every array helper checks what the spec checks, in its order: a null array first, then the
 * array's range, then the segment's; lengths and offsets are added in 64 bits so no sum wraps.
 * Like wasmtime, an object of 4 GiB or more is refused ("allocation size too large") before any
 * memory is asked for.
 */
#include "wasmc_rt.h"

#include <stdlib.h>
#include <string.h>

#include <stdio.h>

#define MAX_OBJECT_BYTES 0xFFFFFFFFull
#define MIN_GC_BYTES (64ull << 20)
#define MARKED 1u /* wasmc_object.flags */
#define PINNED 2u

wasmc_gc_frame *wasmc_rt_gc_frames;

/* ---- growable vectors of pointers --------------------------------------------------------- */
typedef struct vec {
    void **items;
    size_t len, cap;
} vec;

static void vec_push(vec *v, void *p) {
    if (v->len == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 256;
        void **items = realloc(v->items, cap * sizeof *items);
        if (!items) wasmc_rt_trap(WASMC_TRAP_OUT_OF_MEMORY);
        v->items = items;
        v->cap = cap;
    }
    v->items[v->len++] = p;
}

static void vec_remove(vec *v, void *p) {
    for (size_t i = 0; i < v->len; i++)
        if (v->items[i] == p) {
            v->items[i] = v->items[--v->len];
            return;
        }
}

/* ---- the object registry ------------------------------------------------------------------ */
static vec objects;            /* every live object */
static void **set;             /* open addressing, linear probing; NULL is empty */
static size_t set_cap;         /* a power of two, at least twice objects.len */
static uint64_t live_bytes;    /* after the last collection */
static uint64_t since_bytes;   /* allocated since */
static uint64_t stress_every, stress_count;
static int stress_read;
static vec instances, mark_stack;
static vec pins;     /* words the host was handed (maybe objects: checked when marking) */

static unsigned set_bits; /* set_cap == 1 << set_bits */

/* Fibonacci hashing: the product's high bits, which depend on every bit of the address. */
static size_t slot_of(const void *p) {
    return (size_t)((((uintptr_t)p >> 4) * 0x9E3779B97F4A7C15ull) >> (64 - set_bits));
}

static void set_insert(void *p) {
    size_t i = slot_of(p);
    while (set[i]) i = (i + 1) & (set_cap - 1);
    set[i] = p;
}

/* Re-index every recorded object in a table of at least twice as many slots (the same memory
 * when its size suits: no fresh pages to fault in after each collection). */
static void set_rebuild(size_t want) {
    size_t cap = 1024;
    unsigned bits = 10;
    while (cap < 2 * want + 2) {
        cap *= 2;
        bits++;
    }
    if (cap != set_cap || !set) {
        void **fresh = calloc(cap, sizeof *fresh);
        if (!fresh) wasmc_rt_trap(WASMC_TRAP_OUT_OF_MEMORY);
        free(set);
        set = fresh;
        set_cap = cap;
        set_bits = bits;
    } else {
        memset(set, 0, cap * sizeof *set);
    }
    for (size_t k = 0; k < objects.len; k++) set_insert(objects.items[k]);
}

/* The object `word` refers to, or NULL.  Only while collecting: the index is built from `objects`
 * when a collection starts (allocation stays a calloc and a push, with no random access into a
 * big table) and is stale once the sweep has freed objects. */
static wasmc_object *object_at(uint64_t word) {
    word &= ~(1ull << 63);
    if (!word || (word & 15) || !set_cap) return NULL;
    void *p = (void *)(uintptr_t)word;
    for (size_t i = slot_of(p); set[i]; i = (i + 1) & (set_cap - 1))
        if (set[i] == p) return p;
    return NULL;
}

static void mark_word(uint64_t word) {
    wasmc_object *o = object_at(word);
    if (o && !(o->flags & MARKED)) {
        o->flags |= MARKED;
        vec_push(&mark_stack, o);
    }
}

static void mark_words(const void *at, size_t n) {
    const uint64_t *w = at;
    for (size_t i = 0; i < n; i++) mark_word(w[i]);
}

static uint64_t object_bytes(const wasmc_object *o) {
    return o->kind == WASMC_OBJECT_ARRAY ? sizeof *o + (uint64_t)o->len * o->elem_size : o->len;
}

static void trace(const wasmc_object *o) {
    if (!o->refs) return;
    if (o->kind == WASMC_OBJECT_ARRAY)
        mark_words(o->data, o->len); /* elements of a reference type: one word each */
    else
        mark_words(o->data, (o->len - sizeof *o) / 8); /* every 8-byte word of the fields */
}

static void mark_instance(const wasmc_instance *inst) {
    const wasmc_module *m = inst->module;
    if (inst->globals)
        for (uint32_t i = 0; i < m->num_globals; i++)
            if (inst->globals[i]) mark_words(&inst->globals[i]->value, 2);
    if (inst->tables)
        for (uint32_t i = 0; i < m->num_tables; i++) {
            const wasmc_table *t = inst->tables[i];
            if (t) mark_words(t->elems, t->size);
        }
    if (inst->elem_segs)
        for (uint32_t s = 0; s < m->num_elems; s++)
            mark_words(inst->elem_segs[s].items, inst->elem_segs[s].len);
}

/* Free a dead object -- under WASMC_GC_STRESS after a quarantine: it is poisoned and kept for
 * the next QUARANTINE frees, so a use after free reads the poison instead of whatever object
 * malloc put in its place (which could hide the bug). */
#define QUARANTINE 4096
static void *quarantine[QUARANTINE];
static size_t quarantine_next;

static void release(wasmc_object *o) {
    if (!stress_every) {
        free(o);
        return;
    }
    memset(o, 0xA5, object_bytes(o));
    free(quarantine[quarantine_next]);
    quarantine[quarantine_next] = o;
    quarantine_next = (quarantine_next + 1) % QUARANTINE;
}

void wasmc_rt_gc_collect(void) {
    set_rebuild(objects.len); /* the index exists only while collecting (see object_at) */
    for (const wasmc_gc_frame *f = wasmc_rt_gc_frames; f; f = f->prev)
        mark_words(f->slots, f->count);
    for (size_t i = 0; i < instances.len; i++) mark_instance(instances.items[i]);
    mark_word((uintptr_t)wasmc_rt_caught()); /* the exception in flight (exception.c) */
    /* Pins: keep each object once (the host may be handed one many times), drop non-objects. */
    size_t kept_pins = 0;
    for (size_t i = 0; i < pins.len; i++) {
        wasmc_object *o = object_at((uintptr_t)pins.items[i]);
        if (o && !(o->flags & PINNED)) {
            o->flags |= PINNED;
            pins.items[kept_pins++] = o;
        }
    }
    pins.len = kept_pins;
    for (size_t i = 0; i < pins.len; i++) {
        ((wasmc_object *)pins.items[i])->flags &= ~PINNED;
        mark_word((uintptr_t)pins.items[i]);
    }
    while (mark_stack.len) trace(mark_stack.items[--mark_stack.len]);

    size_t kept = 0;
    live_bytes = 0;
    for (size_t i = 0; i < objects.len; i++) {
        wasmc_object *o = objects.items[i];
        if (o->flags & MARKED) {
            o->flags &= ~MARKED;
            live_bytes += object_bytes(o);
            objects.items[kept++] = o;
        } else {
            release(o);
        }
    }
    objects.len = kept;
    since_bytes = 0;
}

uint64_t wasmc_rt_gc_live_objects(void) {
    return objects.len;
}

static void maybe_collect(uint64_t size) {
    if (!stress_read) {
        const char *s = getenv("WASMC_GC_STRESS");
        stress_every = s ? strtoull(s, NULL, 10) : 0;
        stress_read = 1;
    }
    since_bytes += size;
    if (stress_every ? ++stress_count % stress_every == 0
                     : since_bytes >= (live_bytes > MIN_GC_BYTES ? live_bytes : MIN_GC_BYTES))
        wasmc_rt_gc_collect();
}

void *wasmc_rt_gc_alloc(wasmc_instance *inst, uint64_t size, uint32_t type_id, uint32_t kind) {
    (void)inst;
    if (size > MAX_OBJECT_BYTES) wasmc_rt_trap(WASMC_TRAP_ALLOCATION_TOO_LARGE);
    maybe_collect(size);
    wasmc_object *obj = calloc(1, size < sizeof *obj ? sizeof *obj : size);
    if (!obj) wasmc_rt_trap(WASMC_TRAP_OUT_OF_MEMORY);
    obj->type_id = type_id;
    obj->kind = kind & 0xFF;
    obj->refs = (kind & WASMC_OBJECT_HAS_REFS) != 0;
    obj->len = (uint32_t)size; /* a struct's size; an array's length is set by its constructor */
    vec_push(&objects, obj);
    return obj;
}

void wasmc_rt_gc_pin(void *ref) {
    if (ref) vec_push(&pins, ref);
}

void wasmc_rt_gc_add_instance(wasmc_instance *inst) {
    vec_push(&instances, inst);
}

void wasmc_rt_gc_remove_instance(wasmc_instance *inst) {
    vec_remove(&instances, inst);
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
                         const void *init, uint32_t refs) {
    wasmc_object *a = wasmc_rt_gc_alloc(inst, sizeof *a + (uint64_t)len * size, type_id,
                                        WASMC_OBJECT_ARRAY | (refs ? WASMC_OBJECT_HAS_REFS : 0));
    a->len = len;
    a->elem_size = (uint8_t)size;
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
    wasmc_object *a = wasmc_rt_array_new(inst, type_id, n, size, NULL, 0);
    memcpy(a->data, from, (size_t)n * size);
    return a;
}

void *wasmc_rt_array_new_elem(wasmc_instance *inst, uint32_t type_id, uint32_t seg, uint32_t s,
                              uint32_t n) {
    void *const *from = elem_range(&inst->elem_segs[seg], s, n);
    wasmc_object *a = wasmc_rt_array_new(inst, type_id, n, sizeof(void *), NULL, 1);
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
    check_array(dst, d, n); /* wasmtime's order: the destination (null, range), then the source */
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
