/* memory.c — linear memories and the bulk-memory helpers.
 *
 * Strategy.  A memory is a fixed WASMC_MEMORY_RESERVATION of PROT_NONE address space whose first
 * `bytes` are read-write; memory.grow mprotects more of it in place, so the base never moves and
 * generated code needs no bounds checks (a fault in the reservation is the out-of-bounds trap, see
 * trap.c).  Every reservation is recorded in a registry that the fault handler scans; the registry
 * only changes outside Wasm execution, so the handler may read it without locking.
 *
 * Sandbox-critical: the helpers below check bounds up front in 64-bit arithmetic before touching
 * memory, exactly as the spec orders it (a zero-length access at offset == size is in bounds).
 */
#include "wasmc_rt.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define MAX_PAGES 65536u

/* ---- the reservation registry ----------------------------------------------------------------- */

static wasmc_memory **registry;
static size_t registry_len, registry_cap;

static int registry_add(wasmc_memory *m) {
    if (registry_len == registry_cap) {
        size_t cap = registry_cap ? registry_cap * 2 : 16;
        wasmc_memory **r = realloc(registry, cap * sizeof *r);
        if (!r) return -1;
        registry = r;
        registry_cap = cap;
    }
    registry[registry_len++] = m;
    return 0;
}

static void registry_remove(wasmc_memory *m) {
    for (size_t i = 0; i < registry_len; i++) {
        if (registry[i] == m) {
            registry[i] = registry[--registry_len];
            return;
        }
    }
}

int wasmc_rt_reservation_contains(const void *addr) {
    const uint8_t *a = addr;
    for (size_t i = 0; i < registry_len; i++) {
        const wasmc_memory *m = registry[i];
        if (a >= m->base && a < m->base + m->reserved) return 1;
    }
    return 0;
}

/* ---- memories --------------------------------------------------------------------------------- */

wasmc_memory *wasmc_rt_memory_new(uint64_t min_pages, uint64_t max_pages, uint32_t flags) {
    uint32_t index64 = flags & WASMC_MEMORY_INDEX64;
    uint64_t cap = index64 ? WASMC_MEMORY64_MAX_PAGES : MAX_PAGES;
    if (max_pages > cap) max_pages = cap;
    if (min_pages > max_pages) return NULL;
    wasmc_rt_signals_init();
    wasmc_memory *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    /* An i32 memory: the guard reservation.  An i64 one: room to grow to its maximum (one page
     * when that is 0, since mmap cannot reserve nothing). */
    uint64_t reserve = !index64 ? WASMC_MEMORY_RESERVATION
                                : (max_pages ? max_pages : 1) * (uint64_t)WASMC_PAGE_SIZE;
    void *base = mmap(NULL, reserve, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (base == MAP_FAILED) goto fail;
    m->base = base;
    m->reserved = reserve;
    m->max_pages = max_pages;
    m->bytes = min_pages * WASMC_PAGE_SIZE;
    m->flags = flags & (WASMC_MEMORY_INDEX64 | WASMC_MEMORY_SHARED);
    if (m->bytes && mprotect(base, m->bytes, PROT_READ | PROT_WRITE) != 0) goto fail;
    if (registry_add(m) != 0) goto fail;
    return m;
fail:
    if (m->base) munmap(m->base, m->reserved);
    free(m);
    return NULL;
}

void wasmc_rt_memory_free(wasmc_memory *m) {
    if (!m) return;
    registry_remove(m);
    munmap(m->base, m->reserved);
    free(m);
}

int64_t wasmc_rt_memory_grow_mem(wasmc_memory *m, uint64_t delta_pages) {
    uint64_t old = m->bytes / WASMC_PAGE_SIZE;
    if (delta_pages > m->max_pages - old) return -1;
    if (delta_pages == 0) return (int64_t)old;
    uint64_t add = delta_pages * WASMC_PAGE_SIZE;
    if (mprotect(m->base + m->bytes, add, PROT_READ | PROT_WRITE) != 0) return -1;
    m->bytes += add;
    return (int64_t)old;
}

int64_t wasmc_rt_memory_grow(wasmc_instance *inst, uint32_t mem, uint64_t delta_pages) {
    return wasmc_rt_memory_grow_mem(inst->memories[mem], delta_pages);
}

/* ---- bulk memory ------------------------------------------------------------------------------ */

/* [at, at + n) within size, without wrapping (a memory64 address and length can each be 2^64-1). */
static void check_range(uint64_t at, uint64_t n, uint64_t size) {
    if (n > size || at > size - n) wasmc_rt_trap(WASMC_TRAP_MEMORY_OOB);
}

void wasmc_rt_memory_fill(wasmc_instance *inst, uint32_t mem, uint64_t d, uint32_t val, uint64_t n) {
    wasmc_memory *m = inst->memories[mem];
    check_range(d, n, m->bytes);
    memset(m->base + d, (int)(uint8_t)val, n);
}

void wasmc_rt_memory_copy(wasmc_instance *inst, uint32_t dmem, uint32_t smem, uint64_t d, uint64_t s,
                          uint64_t n) {
    wasmc_memory *dm = inst->memories[dmem], *sm = inst->memories[smem];
    check_range(s, n, sm->bytes);
    check_range(d, n, dm->bytes);
    memmove(dm->base + d, sm->base + s, n);
}

void wasmc_rt_memory_init(wasmc_instance *inst, uint32_t mem, uint32_t seg, uint64_t d, uint32_t s,
                          uint32_t n) {
    wasmc_memory *m = inst->memories[mem];
    const wasmc_segment *sg = &inst->data_segs[seg];
    check_range(s, n, sg->len);
    check_range(d, n, m->bytes);
    if (n) memcpy(m->base + d, (const uint8_t *)sg->items + s, n);
}

void wasmc_rt_data_drop(wasmc_instance *inst, uint32_t seg) {
    inst->data_segs[seg].len = 0;
}

/* ---- the threads proposal's wait and notify ----------------------------------------------- */
/* Wasm runs on one thread here, so nobody can notify a waiter: a wait whose value matches sleeps
 * for its timeout and reports it timed out, and a notify wakes nobody. */
int32_t wasmc_rt_atomic_wait(wasmc_instance *inst, uint32_t mem, const void *p, uint64_t expected,
                             int64_t timeout, uint32_t width) {
    if (!(inst->memories[mem]->flags & WASMC_MEMORY_SHARED)) wasmc_rt_trap(WASMC_TRAP_WAIT_UNSHARED);
    uint64_t actual = width == 4 ? __atomic_load_n((const uint32_t *)p, __ATOMIC_SEQ_CST)
                                 : __atomic_load_n((const uint64_t *)p, __ATOMIC_SEQ_CST);
    if (actual != expected) return 1;
    if (timeout < 0) {
        for (;;) pause(); /* no other thread exists to wake it */
    }
    struct timespec ts = {(time_t)(timeout / 1000000000), (long)(timeout % 1000000000)};
    while (nanosleep(&ts, &ts) != 0) {
    }
    return 2;
}

int32_t wasmc_rt_atomic_notify(wasmc_instance *inst, uint32_t mem, const void *p, uint32_t count) {
    (void)inst, (void)mem, (void)p, (void)count;
    return 0;
}
