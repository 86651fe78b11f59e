/* instance.c — type-id interning, instantiation and the standalone-object constructors.
 *
 * Strategy.  Instantiation follows the spec's order: bind imports, create the defined memories,
 * tables and globals, evaluate global initialisers (generated `init_globals`, under trap
 * protection: a GC allocation in one may trap), materialise every element segment into an array
 * of references, then — under trap protection — run the active segments (generated
 * `init_segments`, which first evaluates element items the descriptor cannot describe) and the
 * start function.  The instance is handed out even when a step traps, because the spec keeps the
 * effects on imported memories and tables.  From its creation it is a root of GC (gc.c).
 *
 * Import *type* checks (signatures, limits) are the embedder's job (Python side, main.c); here we
 * only refuse what would crash: missing import objects or an unknown ABI version.
 *
 * Type ids are interned signature strings, process-wide, so ids agree across modules; 0 is never
 * handed out, so a zeroed record never passes a call_indirect check.
 */
#include "wasmc_rt.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- type ids --------------------------------------------------------------------------------- */

static char **sigs; /* sigs[id - 1] */
static uint32_t num_sigs, cap_sigs;

uint32_t wasmc_rt_type_id(const char *sig) {
    for (uint32_t i = 0; i < num_sigs; i++)
        if (strcmp(sigs[i], sig) == 0) return i + 1;
    if (num_sigs == cap_sigs) {
        uint32_t cap = cap_sigs ? cap_sigs * 2 : 64;
        char **s = realloc(sigs, cap * sizeof *s);
        if (!s) abort(); /* out of memory while interning: nothing sensible to return */
        sigs = s;
        cap_sigs = cap;
    }
    char *copy = strdup(sig);
    if (!copy) abort();
    sigs[num_sigs++] = copy;
    return num_sigs;
}

/* GC's declared subtypes, by canonical id: supers[id - 1] is the id of its supertype, or 0.  Ids are
 * canonical (equal structure, equal id), so every module that declares a type declares the same
 * supertype for it, and the relation is recorded once for the process. */
static uint32_t *supers;
static uint32_t cap_supers;

static void record_super(uint32_t id, uint32_t super) {
    if (id > cap_supers) {
        uint32_t cap = cap_supers ? cap_supers : 64;
        while (cap < id) cap *= 2;
        uint32_t *s = realloc(supers, cap * sizeof *s);
        if (!s) abort(); /* out of memory while instantiating: nothing sensible to return */
        memset(s + cap_supers, 0, (cap - cap_supers) * sizeof *s);
        supers = s;
        cap_supers = cap;
    }
    supers[id - 1] = super;
}

int32_t wasmc_rt_type_sub(uint32_t sub, uint32_t super) {
    for (uint32_t id = sub; id != 0; id = id <= cap_supers ? supers[id - 1] : 0)
        if (id == super) return 1;
    return 0;
}

/* ---- standalone objects ----------------------------------------------------------------------- */

wasmc_global_cell *wasmc_rt_global_new(void) {
    return calloc(1, sizeof(wasmc_global_cell));
}

wasmc_funcref *wasmc_rt_funcref_new(void *code, void *instance, const char *sig, uint32_t flags) {
    wasmc_funcref *f = malloc(sizeof *f);
    if (!f) return NULL;
    *f = (wasmc_funcref){code, instance, wasmc_rt_type_id(sig), flags};
    return f;
}

/* ---- instances -------------------------------------------------------------------------------- */

/* The public instance plus what only the runtime needs to free it. */
typedef struct instance_priv {
    wasmc_instance pub; /* first, so a wasmc_instance* is an instance_priv* */
    wasmc_funcref *own_funcs; /* one slot per function; used for defined and bind-caller imports */
    uint32_t *own_type_ids;
    wasmc_tag *own_tags;      /* one per tag; the defined ones are this instance's identities */
} instance_priv;

static int fail(char *err, size_t errlen, const char *fmt, ...) {
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static const char *const kind_names[] = {"func", "table", "memory", "global", "tag"};

/* Bind the imports to the first slots of each index space, in import order. */
static int bind_imports(instance_priv *p, const wasmc_import *imports, char *err, size_t errlen) {
    wasmc_instance *inst = &p->pub;
    const wasmc_module *m = inst->module;
    uint32_t nf = 0, nt = 0, nm = 0, ng = 0, nx = 0;
    for (uint32_t k = 0; k < m->num_imports; k++) {
        const wasmc_import_desc *d = &m->imports[k];
        const wasmc_import *im = &imports[k];
        const void *obj = d->kind == 0 ? (const void *)im->func
                        : d->kind == 1 ? (const void *)im->table
                        : d->kind == 2 ? (const void *)im->memory
                        : d->kind == 3 ? (const void *)im->global
                        : d->kind == 4 ? (const void *)im->tag : NULL;
        if (!obj)
            return fail(err, errlen, "unknown import: %s.%s (%s)", d->module, d->name,
                        d->kind < 5 ? kind_names[d->kind] : "?");
        switch (d->kind) {
        case 0:
            if (im->func->flags & WASMC_FUNCREF_BIND_CALLER) {
                /* e.g. WASI: the host function works on the *importing* instance's memory. */
                p->own_funcs[nf] = *im->func;
                p->own_funcs[nf].instance = inst;
                inst->funcs[nf] = &p->own_funcs[nf];
            } else {
                inst->funcs[nf] = im->func;
            }
            nf++;
            break;
        case 1: inst->tables[nt++] = im->table; break;
        case 2: inst->memories[nm++] = im->memory; break;
        case 3: inst->globals[ng++] = im->global; break;
        case 4: inst->tags[nx++] = im->tag; break;
        }
    }
    if (nf != m->num_imported_funcs || nt != m->num_imported_tables || nm != m->num_imported_memories ||
        ng != m->num_imported_globals || nx != m->num_imported_tags)
        return fail(err, errlen, "module descriptor: import counts disagree");
    return 0;
}

static int create_defined(instance_priv *p, char *err, size_t errlen) {
    wasmc_instance *inst = &p->pub;
    const wasmc_module *m = inst->module;
    for (uint32_t i = m->num_imported_funcs; i < m->num_funcs; i++) {
        p->own_funcs[i] = (wasmc_funcref){m->func_code[i - m->num_imported_funcs], inst,
                                          inst->type_ids[m->func_types[i]], 0};
        inst->funcs[i] = &p->own_funcs[i];
    }
    for (uint32_t i = m->num_imported_memories; i < m->num_memories; i++) {
        const wasmc_limits_desc *l = &m->memories[i];
        uint32_t index64 = (l->flags & WASMC_LIMITS_INDEX64) != 0;
        uint64_t max = l->flags & WASMC_LIMITS_HAS_MAX ? l->max : UINT64_MAX;
        if (i == 0 && m->wide_address_folds && max > 65535) max = 65535; /* see wasmc_rt.h */
        uint32_t shared = l->flags & WASMC_LIMITS_SHARED ? WASMC_MEMORY_SHARED : 0;
        inst->memories[i] = wasmc_rt_memory_new(l->min, max, index64 | shared);
        if (!inst->memories[i]) return fail(err, errlen, "cannot allocate memory %u", i);
    }
    for (uint32_t i = m->num_imported_tables; i < m->num_tables; i++) {
        const wasmc_limits_desc *l = &m->tables[i];
        uint32_t max = l->flags & WASMC_LIMITS_HAS_MAX && l->max < 0xFFFFFFFFu ? (uint32_t)l->max
                                                                               : 0xFFFFFFFFu;
        inst->tables[i] = l->min <= 0xFFFFFFFFu
                              ? wasmc_rt_table_new(l->elemtype, (uint32_t)l->min, max) : NULL;
        if (!inst->tables[i]) return fail(err, errlen, "cannot allocate table %u", i);
    }
    for (uint32_t i = m->num_imported_globals; i < m->num_globals; i++) {
        inst->globals[i] = wasmc_rt_global_new();
        if (!inst->globals[i]) return fail(err, errlen, "out of memory");
    }
    for (uint32_t i = m->num_imported_tags; i < m->num_tags; i++) {
        p->own_tags[i].type_id = inst->type_ids[m->tag_types[i]];
        inst->tags[i] = &p->own_tags[i];
    }
    return 0;
}

static int materialise_segments(wasmc_instance *inst, char *err, size_t errlen) {
    const wasmc_module *m = inst->module;
    for (uint32_t s = 0; s < m->num_elems; s++) {
        const wasmc_elem_desc *e = &m->elems[s];
        void **items = calloc(e->len ? e->len : 1, sizeof *items);
        if (!items) return fail(err, errlen, "out of memory");
        for (uint32_t k = 0; k < e->len; k++) {
            const wasmc_elem_item *it = &e->items[k];
            items[k] = it->kind == 1   ? (void *)inst->funcs[it->index]
                       : it->kind == 2 ? inst->globals[it->index]->value.ref
                       : it->kind == 3 ? (void *)(uintptr_t)(((uint64_t)(it->index & 0x7FFFFFFFu) << 1) | 1)
                                       : NULL; /* 0; 4: init_segments stores it */
        }
        inst->elem_segs[s] = (wasmc_segment){items, e->len, 0};
    }
    for (uint32_t s = 0; s < m->num_datas; s++)
        inst->data_segs[s] = (wasmc_segment){m->datas[s].bytes, m->datas[s].len, 0};
    return 0;
}

static void run_init_globals(void *arg) {
    wasmc_instance *inst = arg;
    inst->module->init_globals(inst);
}

static void run_init(void *arg) {
    wasmc_instance *inst = arg;
    const wasmc_module *m = inst->module;
    if (m->init_segments) m->init_segments(inst);
    if (m->start_func >= 0) {
        /* A start function has no params or results, but give the entry a slot anyway. */
        wasmc_val vals[1] = {{0}};
        m->func_entries[m->start_func](inst, vals);
    }
}

/* calloc that never returns NULL for n == 0, so NULL always means failure. */
static void *alloc_array(size_t n, size_t size) {
    return calloc(n ? n : 1, size);
}

int32_t wasmc_rt_instantiate(const wasmc_module *m, const wasmc_import *imports, void *host_data,
                             wasmc_instance **out, char *err, size_t errlen) {
    *out = NULL;
    if (m->abi_version != WASMC_ABI_VERSION)
        return fail(err, errlen, "module ABI version %u, runtime expects %u", m->abi_version,
                    WASMC_ABI_VERSION);
    wasmc_rt_signals_init();
    wasmc_rt_register_module(m);
    instance_priv *p = calloc(1, sizeof *p);
    if (!p) return fail(err, errlen, "out of memory");
    wasmc_instance *inst = &p->pub;
    inst->module = m;
    inst->host_data = host_data;
    inst->memories = alloc_array(m->num_memories, sizeof(wasmc_memory *));
    inst->tables = alloc_array(m->num_tables, sizeof(wasmc_table *));
    inst->globals = alloc_array(m->num_globals, sizeof(wasmc_global_cell *));
    inst->funcs = alloc_array(m->num_funcs, sizeof(wasmc_funcref *));
    inst->data_segs = alloc_array(m->num_datas, sizeof(wasmc_segment));
    inst->elem_segs = alloc_array(m->num_elems, sizeof(wasmc_segment));
    p->own_funcs = alloc_array(m->num_funcs, sizeof(wasmc_funcref));
    p->own_type_ids = alloc_array(m->num_types, sizeof(uint32_t));
    inst->type_ids = p->own_type_ids;
    inst->tags = alloc_array(m->num_tags, sizeof(wasmc_tag *));
    p->own_tags = alloc_array(m->num_tags, sizeof(wasmc_tag));
    int rc = -1;
    if (!inst->memories || !inst->tables || !inst->globals || !inst->funcs || !inst->data_segs ||
        !inst->elem_segs || !p->own_funcs || !p->own_type_ids || !inst->tags || !p->own_tags) {
        fail(err, errlen, "out of memory");
        goto error;
    }
    for (uint32_t t = 0; t < m->num_types; t++) p->own_type_ids[t] = wasmc_rt_type_id(m->type_sigs[t]);
    for (uint32_t t = 0; t < m->num_types; t++)
        if (m->type_supers && m->type_supers[t] >= 0)
            record_super(p->own_type_ids[t], p->own_type_ids[m->type_supers[t]]);
    if (bind_imports(p, imports, err, errlen) != 0 || create_defined(p, err, errlen) != 0)
        goto error;
    if (m->num_memories > 0) inst->mem0_base = inst->memories[0]->base;
    *out = inst;
    /* Global initialisers may allocate GC objects, which may trap (too large) or collect. */
    wasmc_rt_gc_add_instance(inst);
    int32_t trap = m->init_globals ? wasmc_rt_protected(run_init_globals, inst) : 0;
    if (trap != 0) return trap;
    if (materialise_segments(inst, err, errlen) != 0) {
        *out = NULL;
        goto error;
    }
    return wasmc_rt_protected(run_init, inst);
error:
    wasmc_rt_instance_free(inst);
    return rc;
}

void wasmc_rt_instance_free(wasmc_instance *inst) {
    if (!inst) return;
    wasmc_rt_gc_remove_instance(inst);
    instance_priv *p = (instance_priv *)inst;
    const wasmc_module *m = inst->module;
    /* Only the objects this instance defined; imported ones belong to someone else. */
    if (inst->memories)
        for (uint32_t i = m->num_imported_memories; i < m->num_memories; i++)
            wasmc_rt_memory_free(inst->memories[i]);
    if (inst->tables)
        for (uint32_t i = m->num_imported_tables; i < m->num_tables; i++)
            wasmc_rt_table_free(inst->tables[i]);
    if (inst->globals)
        for (uint32_t i = m->num_imported_globals; i < m->num_globals; i++) free(inst->globals[i]);
    if (inst->elem_segs)
        for (uint32_t s = 0; s < m->num_elems; s++) free((void *)inst->elem_segs[s].items);
    free(inst->memories);
    free(inst->tables);
    free(inst->globals);
    free(inst->funcs);
    free(inst->data_segs);
    free(inst->elem_segs);
    free(p->own_funcs);
    free(p->own_type_ids);
    free(inst->tags);
    free(p->own_tags);
    free(p);
}
