/* wasmc_rt.h — the whole wasmc runtime API, in one header.
 *
 * Strategy.  Compiled Wasm code is plain native code that receives a pointer to its instance
 * (`wasmc_instance`, the "vmctx") as the first argument of every function.  There are no
 * module-level globals in generated code, so one process can hold many instances of many modules
 * and link them to each other (imports are bound at instantiation, never at link time).
 *
 *  - Linear memory is a fixed reservation of WASMC_MEMORY_RESERVATION bytes of address space
 *    (PROT_NONE), of which the live part is made read-write and grown in place with mprotect.  The
 *    base never moves, so generated code computes `base + zext(addr) + offset` with no bounds check:
 *    any such address lands inside the reservation, and a fault there is turned into the
 *    "out of bounds memory access" trap by a SIGSEGV/SIGBUS handler on an alternate signal stack.
 *  - Every other trap is an explicit check in generated code that calls `wasmc_rt_trap(kind)`
 *    (noreturn).  A trap unwinds with siglongjmp to the innermost `wasmc_rt_invoke`, which returns
 *    the trap kind to the embedder.
 *  - Call-stack exhaustion is an explicit check: every generated function that makes calls compares
 *    its stack pointer with `wasmc_rt_stack_limit` in its prologue.
 *  - A function reference (funcref) is a pointer to a `wasmc_funcref` record {code, instance, type
 *    id}.  Tables hold such pointers (or externref values); `call_indirect` compares the record's
 *    canonical type id with the caller's `type_ids[typeidx]` and calls `code(instance, args...)`.
 *    Type ids are canonical process-wide (interned signature strings), so ids agree across modules.
 *
 * Layout of `wasmc_instance` and the records below is read directly by generated code: offsets are
 * part of the ABI and checked with static asserts.  Everything here is prefixed `wasmc_rt_` or
 * `wasmc_`; C11.
 */
#ifndef WASMC_RT_H
#define WASMC_RT_H

#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------------------------
 * Values.  Signatures are strings "params:results" with one letter per value type:
 *   i=i32 l=i64 f=f32 d=f64 v=v128 F=funcref E=externref       e.g. "ii:l"
 * Values cross the host boundary in 16-byte slots.
 * ------------------------------------------------------------------------------------------- */
typedef union wasmc_val {
    int32_t i32;
    int64_t i64;
    float f32;
    double f64;
    void *ref; /* funcref: wasmc_funcref*, externref: opaque host pointer; NULL is ref.null */
    uint8_t v128[16];
} wasmc_val;

/* ---------------------------------------------------------------------------------------------
 * Traps: one enum, one message each (the spec test suite's wording).
 * ------------------------------------------------------------------------------------------- */
typedef enum wasmc_trap {
    WASMC_TRAP_NONE = 0,
    WASMC_TRAP_UNREACHABLE = 1,          /* "unreachable" */
    WASMC_TRAP_MEMORY_OOB = 2,           /* "out of bounds memory access" */
    WASMC_TRAP_TABLE_OOB = 3,            /* "out of bounds table access" */
    WASMC_TRAP_UNDEFINED_ELEMENT = 4,    /* "undefined element" (call_indirect index >= size) */
    WASMC_TRAP_UNINITIALIZED_ELEMENT = 5,/* "uninitialized element" (call_indirect on null) */
    WASMC_TRAP_INDIRECT_CALL_TYPE = 6,   /* "indirect call type mismatch" */
    WASMC_TRAP_INT_DIV_BY_ZERO = 7,      /* "integer divide by zero" */
    WASMC_TRAP_INT_OVERFLOW = 8,         /* "integer overflow" */
    WASMC_TRAP_INVALID_CONVERSION = 9,   /* "invalid conversion to integer" */
    WASMC_TRAP_STACK_EXHAUSTED = 10,     /* "call stack exhausted" */
    WASMC_TRAP_NULL_REFERENCE = 11,      /* "null reference" (call_ref, ref.as_non_null, throw_ref) */
    WASMC_TRAP_HOST = 12,                /* a host function failed; message from the host */
    WASMC_TRAP_EXIT = 13,                /* WASI proc_exit: not an error, code in wasmc_rt_exit_code */
    WASMC_TRAP_EXCEPTION = 14,           /* "thrown Wasm exception" (uncaught, as wasmtime words it) */
    WASMC_TRAP_CAST = 15,                /* "cast failure" (ref.cast) */
    WASMC_TRAP_ARRAY_OOB = 16,           /* "out of bounds array access" */
    WASMC_TRAP_ALLOCATION_TOO_LARGE = 17,/* "allocation size too large" (an object of 4 GiB or more) */
    WASMC_TRAP_OUT_OF_MEMORY = 18,       /* "GC heap out of memory" */
    WASMC_TRAP_UNALIGNED_ATOMIC = 19,    /* "unaligned atomic" */
    WASMC_TRAP_WAIT_UNSHARED = 20,       /* "atomic wait on non-shared memory" (wasmtime's words) */
    WASMC_TRAP_COUNT
} wasmc_trap;

const char *wasmc_rt_trap_message(int32_t trap);

/* Raise a trap from generated code or a host function: unwinds to the innermost wasmc_rt_invoke. */
_Noreturn void wasmc_rt_trap(int32_t trap);
/* Raise WASMC_TRAP_EXIT with an exit code (WASI proc_exit). */
_Noreturn void wasmc_rt_exit(int32_t code);
extern int32_t wasmc_rt_exit_code;

/* Lowest address the native stack may reach while running Wasm; checked in function prologues.
 * Set by the outermost wasmc_rt_invoke to (its stack pointer - wasmc_rt_stack_budget). */
extern void *wasmc_rt_stack_limit;
extern size_t wasmc_rt_stack_budget; /* default 1 MiB; env WASMC_STACK_BUDGET overrides */

/* ---------------------------------------------------------------------------------------------
 * Runtime objects.
 * ------------------------------------------------------------------------------------------- */
#define WASMC_PAGE_SIZE 65536u
#define WASMC_MEMORY_RESERVATION ((8ull << 30) + (1ull << 20)) /* zext(i32) + u32 offset + width,
                                               plus folded constants (lower/addressing.py) */
/* Memory64: a 64-bit address fits no guard region, so generated code checks every access against
 * `bytes` and the reservation is just the largest size the memory may reach: its declared maximum,
 * capped at this many pages (64 GiB; memory.grow fails beyond, as the spec allows). */
#define WASMC_MEMORY64_MAX_PAGES (1ull << 20)

typedef struct wasmc_memory {
    uint8_t *base;      /* 0: start of the reservation; never moves */
    uint64_t bytes;     /* 8: current size in bytes (pages * 64 KiB) */
    uint64_t max_pages; /* 16: declared maximum (capped at 65536, or WASMC_MEMORY64_MAX_PAGES) */
    uint64_t reserved;  /* 24: bytes of address space reserved */
    uint32_t flags;     /* 32: WASMC_MEMORY_INDEX64, WASMC_MEMORY_SHARED */
    uint32_t pad;
} wasmc_memory;
#define WASMC_MEMORY_INDEX64 1u /* wasmc_rt_memory_new's flags too */
#define WASMC_MEMORY_SHARED 2u

typedef struct wasmc_funcref {
    void *code;       /* 0: native function: ret code(void *instance, params...) */
    void *instance;   /* 8: first argument for `code` */
    uint32_t type_id; /* 16: canonical signature id (wasmc_rt_type_id) */
    uint32_t flags;   /* 20: WASMC_FUNCREF_BIND_CALLER: `instance` becomes the importing instance */
} wasmc_funcref;
#define WASMC_FUNCREF_BIND_CALLER 1u

typedef struct wasmc_table {
    void **elems;     /* 0: size entries; reallocated by grow, so code reloads it after calls */
    uint32_t size;    /* 8 */
    uint32_t max;     /* 12: declared maximum, or 0xFFFFFFFF */
    uint8_t elemtype; /* 16: 'F' or 'E' */
} wasmc_table;

/* Exception handling (Wasm 3.0; exception.c).  A tag is an identity: `catch` compares tag
 * pointers.  An exception is a heap object {tag, payload}; an exnref points to one.  Handlers are
 * records in the frames of functions inside a `try_table`, linked through `prev` from
 * wasmc_rt_handler_top: generated code pushes one and calls _setjmp on its `buf` on entering the
 * try_table, and stores the enclosing top back wherever control leaves it.  A throw longjmps to
 * the top handler, whose code compares the tag with its catch clauses (rethrowing if none
 * matches).  wasmc_rt_protected (hence every invoke) starts with no handler and restores the
 * caller's, so an exception no Wasm code catches is the trap WASMC_TRAP_EXCEPTION. */
typedef struct wasmc_tag {
    uint32_t type_id; /* canonical id of its parameter signature */
} wasmc_tag;

/* GC's objects (Wasm 3.0; gc.c, compiler/lower/gcobjects.py): a 16-byte header, then a struct's
 * fields at their natural alignment or an array's `len` elements at their natural size. */
typedef struct wasmc_object {
    uint32_t type_id;  /* 0: canonical id of its defined type */
    uint32_t kind;     /* 4: WASMC_OBJECT_STRUCT or WASMC_OBJECT_ARRAY */
    uint32_t len;      /* 8: an array's length (never changes); a struct's size in bytes */
    uint8_t flags;     /* 12: the collector's (gc.c) */
    uint8_t refs;      /* 13: whether its fields or elements may hold references */
    uint8_t elem_size; /* 14: an array's element size */
    uint8_t pad;
    _Alignas(16) uint8_t data[]; /* 16 */
} wasmc_object;
#define WASMC_OBJECT_STRUCT 1u
#define WASMC_OBJECT_ARRAY 2u
#define WASMC_OBJECT_EXCEPTION 3u
#define WASMC_OBJECT_HAS_REFS 0x100u /* or'ed into wasmc_rt_gc_alloc's kind */
_Static_assert(offsetof(wasmc_object, data) == 16, "ABI");

/* An exception (exception.c) is a GC object too, traced like a struct (every word after the
 * header), so it is freed once no exnref reaches it. */
typedef struct wasmc_exception {
    wasmc_object head; /* 0: kind WASMC_OBJECT_EXCEPTION, len its size in bytes */
    const wasmc_tag *tag; /* 16 */
    uint64_t count;       /* 24: payload values */
    wasmc_val values[];   /* 32: the payload, one slot per parameter */
} wasmc_exception;

/* A generated function's GC roots (gc.c): linked into wasmc_rt_gc_frames on entry, unlinked on
 * exit; before each call or allocation the function stores the references it holds in slots. */
typedef struct wasmc_gc_frame {
    struct wasmc_gc_frame *prev;
    uint64_t count;
    void *slots[];
} wasmc_gc_frame;
extern wasmc_gc_frame *wasmc_rt_gc_frames;

typedef struct wasmc_handler {
    struct wasmc_handler *prev; /* 0 */
    uint64_t pad;
    jmp_buf buf;                /* 16: generated code calls _setjmp on it */
} wasmc_handler;
#define WASMC_HANDLER_SIZE 256 /* bytes the compiler reserves per handler (16-aligned) */
_Static_assert(sizeof(wasmc_handler) <= WASMC_HANDLER_SIZE, "ABI");
_Static_assert(offsetof(wasmc_handler, buf) == 16, "ABI");
_Static_assert(offsetof(wasmc_exception, tag) == 16, "ABI");
_Static_assert(offsetof(wasmc_exception, values) == 32, "ABI");

extern wasmc_handler *wasmc_rt_handler_top;

/* A passive segment as an instance sees it: after data.drop / elem.drop its length is 0. */
typedef struct wasmc_segment {
    const void *items; /* data: bytes; elem: void*[len] references */
    uint32_t len;
    uint32_t pad;
} wasmc_segment;

typedef struct wasmc_global_cell {
    wasmc_val value; /* 16 bytes; an exported/imported global is shared by pointer to its cell */
} wasmc_global_cell;

/* ---------------------------------------------------------------------------------------------
 * The instance context.  Generated code reads these fields at fixed offsets.
 * ------------------------------------------------------------------------------------------- */
typedef struct wasmc_module wasmc_module;

typedef struct wasmc_instance {
    uint8_t *mem0_base;              /* 0: memories[0]->base, cached (it never moves) */
    wasmc_memory **memories;         /* 8 */
    wasmc_table **tables;            /* 16 */
    wasmc_global_cell **globals;     /* 24: every global, imports first */
    wasmc_funcref **funcs;           /* 32: every function, imports first */
    const uint32_t *type_ids;        /* 40: canonical id of each type index */
    wasmc_segment *data_segs;        /* 48 */
    wasmc_segment *elem_segs;        /* 56 */
    const wasmc_module *module;      /* 64 */
    void *host_data;                 /* 72: embedder state (e.g. the WASI context) */
    uint64_t load_witness;           /* 80: sum of loaded values, so LLVM keeps every load (and
                                        its out-of-bounds trap); never read */
    struct wasmc_tag **tags;         /* 88: every tag, imports first (exception handling) */
    /* runtime-private fields may follow */
} wasmc_instance;

_Static_assert(offsetof(wasmc_instance, mem0_base) == 0, "ABI");
_Static_assert(offsetof(wasmc_instance, memories) == 8, "ABI");
_Static_assert(offsetof(wasmc_instance, tables) == 16, "ABI");
_Static_assert(offsetof(wasmc_instance, globals) == 24, "ABI");
_Static_assert(offsetof(wasmc_instance, funcs) == 32, "ABI");
_Static_assert(offsetof(wasmc_instance, type_ids) == 40, "ABI");
_Static_assert(offsetof(wasmc_instance, data_segs) == 48, "ABI");
_Static_assert(offsetof(wasmc_instance, elem_segs) == 56, "ABI");
_Static_assert(offsetof(wasmc_instance, load_witness) == 80, "ABI");
_Static_assert(offsetof(wasmc_instance, tags) == 88, "ABI");
_Static_assert(sizeof(wasmc_funcref) == 24, "ABI");
_Static_assert(sizeof(wasmc_val) == 16, "ABI");

/* ---------------------------------------------------------------------------------------------
 * The module descriptor: the one symbol a compiled module exports (`wasmc_module_desc`).
 * Generated by the compiler as constant data.
 * ------------------------------------------------------------------------------------------- */
typedef void (*wasmc_entry_fn)(wasmc_instance *inst, wasmc_val *vals); /* args in, results out */
typedef void (*wasmc_init_fn)(wasmc_instance *inst);

/* Host functions written in another language: called through a per-type stub generated in the
 * importing module.  The stub receives the wasmc_host_func* as its instance argument, stores the
 * parameters in vals[0..], calls `callback(env, vals)`, traps with the returned kind if non-zero,
 * and returns the results from vals[0..]. */
typedef int32_t (*wasmc_host_callback)(void *env, wasmc_val *vals);
typedef struct wasmc_host_func {
    wasmc_host_callback callback;
    void *env;
} wasmc_host_func;

typedef struct wasmc_import_desc {
    const char *module;
    const char *name;
    uint32_t kind;  /* 0 func, 1 table, 2 memory, 3 global, 4 tag */
    uint32_t index; /* func: type index; table/memory/global: index into the tables below */
} wasmc_import_desc;

typedef struct wasmc_export_desc {
    const char *name;
    uint32_t kind;
    uint32_t index; /* in the kind's index space */
} wasmc_export_desc;

typedef struct wasmc_limits_desc {
    uint64_t min;
    uint64_t max;      /* valid if flags & WASMC_LIMITS_HAS_MAX */
    uint32_t flags;
    uint32_t elemtype; /* tables: 'F' or 'E' */
} wasmc_limits_desc;
#define WASMC_LIMITS_HAS_MAX 1u
#define WASMC_LIMITS_INDEX64 2u /* address type i64 (memory64, table64) */
#define WASMC_LIMITS_SHARED 4u  /* a shared memory (threads) */

typedef struct wasmc_global_desc {
    uint32_t valtype; /* letter */
    uint32_t mutable_;
} wasmc_global_desc;

/* One element-segment item: a constant expression, already reduced to its kind. */
typedef struct wasmc_elem_item {
    uint32_t kind;  /* 0: ref.null, 1: ref.func index, 2: global.get index, 3: ref.i31 of index,
                       4: evaluated by the module's init_segments code (any constant expression) */
    uint32_t index;
} wasmc_elem_item;

typedef struct wasmc_elem_desc {
    const wasmc_elem_item *items;
    uint32_t len;
    uint32_t elemtype; /* 'F' or 'E' */
} wasmc_elem_desc;

typedef struct wasmc_data_desc {
    const uint8_t *bytes;
    uint32_t len;
    uint32_t pad;
} wasmc_data_desc;

struct wasmc_module {
    uint32_t abi_version;                 /* WASMC_ABI_VERSION */
    uint32_t num_types;
    const char *const *type_sigs;         /* "params:results" per type index */
    uint32_t num_imports;
    const wasmc_import_desc *imports;
    uint32_t num_funcs;                   /* imports included */
    uint32_t num_imported_funcs;
    const uint32_t *func_types;           /* type index of every function */
    void *const *func_code;               /* native code of every defined function (C ABI) */
    const wasmc_entry_fn *func_entries;   /* array-call entry per function, NULL if none */
    const void *const *host_stubs;        /* host-function stub per type index, NULL if unused */
    uint32_t num_tables, num_imported_tables;
    const wasmc_limits_desc *tables;      /* every table, imports first */
    uint32_t num_memories, num_imported_memories;
    const wasmc_limits_desc *memories;    /* every memory, imports first (limits in pages) */
    uint32_t num_globals, num_imported_globals;
    const wasmc_global_desc *globals;     /* every global, imports first */
    uint32_t num_exports;
    const wasmc_export_desc *exports;
    uint32_t num_elems;
    const wasmc_elem_desc *elems;
    uint32_t num_datas;
    const wasmc_data_desc *datas;
    wasmc_init_fn init_globals;           /* evaluates defined globals' initialisers */
    wasmc_init_fn init_segments;          /* active elem/data segments (table.init/memory.init) */
    int32_t start_func;                   /* function index, or -1 */
    const char *const *func_names;        /* for backtraces; may be NULL */
    /* Backtraces: generated Wasm functions live in the section `wasmc_text`, whose bounds the
     * linker provides, so a return address maps to the defined function with the nearest start. */
    const void *code_start;
    const void *code_end;
    const uint32_t *func_offsets;         /* module byte offset of each defined function's body */
    const char *module_name;              /* from the name section, or NULL */
    /* Non-NULL when the module's code folds `p + C` into addresses in a way that is exact only if
     * memory 0 stays below 4 GiB - 64 KiB (compiler/lower/addressing.py): it then stops growing
     * one page short of 4 GiB.  A weak reference, defined by whichever partition folds so. */
    const char *wide_address_folds;
    uint32_t num_tags, num_imported_tags; /* exception handling: every tag, imports first */
    const uint32_t *tag_types;            /* type index of each tag */
    const int32_t *type_supers;           /* GC: each type's declared supertype's index, or -1 */
};
#define WASMC_ABI_VERSION 3u /* 2: element items of kind 4; 3: exceptions are GC objects */

/* ---------------------------------------------------------------------------------------------
 * Embedding API (used by the executable's main and, through ctypes, by the Python side).
 * ------------------------------------------------------------------------------------------- */

/* Canonical id of a signature string (interned; equal strings give equal ids). */
uint32_t wasmc_rt_type_id(const char *sig);

/* One resolved import, in import order. */
typedef union wasmc_import {
    wasmc_funcref *func;
    wasmc_table *table;
    wasmc_memory *memory;
    wasmc_global_cell *global;
    wasmc_tag *tag;
} wasmc_import;

/* Create memories/tables/globals, bind imports, evaluate globals and element segments, run active
 * segments and the start function.  Returns 0, or a trap kind if initialisation trapped; *out is set
 * whenever an instance was created (even after a trap, since the spec keeps earlier effects on
 * imported objects).  Link errors (bad limits etc.) write a message to err and return -1. */
int32_t wasmc_rt_instantiate(const wasmc_module *m, const wasmc_import *imports, void *host_data,
                             wasmc_instance **out, char *err, size_t errlen);
void wasmc_rt_instance_free(wasmc_instance *inst);

/* Call function `funcidx` of `inst` through its entry: vals holds the arguments on entry and the
 * results on return.  Returns 0 or the trap kind; traps inside are caught here.  Returns -1 if the
 * function has no entry (funcidx out of range or not exported by the compiler). */
int32_t wasmc_rt_invoke(wasmc_instance *inst, uint32_t funcidx, wasmc_val *vals);

/* The Wasm call chain of the most recent trap, captured when it was raised (no cost until then),
 * formatted like wasmtime's "wasm backtrace:" block.  Returns the length written (0 if none). */
size_t wasmc_rt_last_backtrace(char *buf, size_t len);
void wasmc_rt_capture_backtrace(void);     /* runtime-internal: called as a trap is raised */
void wasmc_rt_register_module(const wasmc_module *m); /* runtime-internal: at instantiation */

/* Standalone objects (for the spectest module and host embedders). */
/* max_pages: the declared maximum, or anything at least the cap (65536, or with
 * WASMC_MEMORY_INDEX64 WASMC_MEMORY64_MAX_PAGES) for none; flags: WASMC_MEMORY_*. */
wasmc_memory *wasmc_rt_memory_new(uint64_t min_pages, uint64_t max_pages, uint32_t flags);
wasmc_table *wasmc_rt_table_new(uint32_t elemtype, uint32_t min, uint32_t max);
wasmc_global_cell *wasmc_rt_global_new(void);
wasmc_funcref *wasmc_rt_funcref_new(void *code, void *instance, const char *sig, uint32_t flags);

/* ---------------------------------------------------------------------------------------------
 * Out-of-line helpers called by generated code.  Each checks bounds and traps like the spec.
 * ------------------------------------------------------------------------------------------- */
/* Addresses, indices and lengths are u64 whatever the address type (generated code zero-extends
 * an i32's); growth returns the old size or -1 (generated code truncates it for an i32 memory). */
int64_t wasmc_rt_memory_grow(wasmc_instance *inst, uint32_t mem, uint64_t delta_pages); /* -1 */
int64_t wasmc_rt_memory_grow_mem(wasmc_memory *m, uint64_t delta_pages);
void wasmc_rt_memory_fill(wasmc_instance *inst, uint32_t mem, uint64_t d, uint32_t val, uint64_t n);
void wasmc_rt_memory_copy(wasmc_instance *inst, uint32_t dmem, uint32_t smem, uint64_t d, uint64_t s,
                          uint64_t n);
void wasmc_rt_memory_init(wasmc_instance *inst, uint32_t mem, uint32_t seg, uint64_t d, uint32_t s,
                          uint32_t n);
void wasmc_rt_data_drop(wasmc_instance *inst, uint32_t seg);
/* The threads proposal's wait and notify on memory `mem` at `p` (checked by generated code):
 * wait compares `width` bytes with `expected` (1: not equal), else sleeps for `timeout` ns
 * (negative: for ever) and returns 2 (timed out); notify returns how many waiters it woke. */
int32_t wasmc_rt_atomic_wait(wasmc_instance *inst, uint32_t mem, const void *p, uint64_t expected,
                             int64_t timeout, uint32_t width);
int32_t wasmc_rt_atomic_notify(wasmc_instance *inst, uint32_t mem, const void *p, uint32_t count);
void *wasmc_rt_table_get(wasmc_instance *inst, uint32_t table, uint64_t i);
void wasmc_rt_table_set(wasmc_instance *inst, uint32_t table, uint64_t i, void *ref);
int64_t wasmc_rt_table_grow(wasmc_instance *inst, uint32_t table, void *init, uint64_t delta);
int64_t wasmc_rt_table_grow_tab(wasmc_table *t, void *init, uint64_t delta);
void wasmc_rt_table_fill(wasmc_instance *inst, uint32_t table, uint64_t i, void *ref, uint64_t n);
void wasmc_rt_table_copy(wasmc_instance *inst, uint32_t dtab, uint32_t stab, uint64_t d, uint64_t s,
                         uint64_t n);
void wasmc_rt_table_init(wasmc_instance *inst, uint32_t table, uint32_t seg, uint64_t d, uint32_t s,
                         uint32_t n);
void wasmc_rt_elem_drop(wasmc_instance *inst, uint32_t seg);
/* throw: a new exception of `tag` with `count` payload values; never returns. */
_Noreturn void wasmc_rt_throw(wasmc_instance *inst, const wasmc_tag *tag, const wasmc_val *vals,
                              uint32_t count);
/* throw_ref: throw `exn` again (null: the trap "null reference", as wasmtime words it). */
_Noreturn void wasmc_rt_throw_ref(wasmc_instance *inst, wasmc_exception *exn);
/* In a handler, after _setjmp returned non-zero: the exception being caught (the last one
 * thrown, which the collector keeps alive until the next throw). */
wasmc_exception *wasmc_rt_caught(void);
/* GC's declared subtypes: 1 if canonical type id `sub` is `super` or declared below it (the
 * relations every instantiated module's type_supers recorded), else 0. */
int32_t wasmc_rt_type_sub(uint32_t sub, uint32_t super);
/* GC's objects (gc.c): a zeroed object of `size` bytes whose 16-byte header is {type_id, kind,
 * ...}; `kind` may carry WASMC_OBJECT_HAS_REFS.  May collect first; traps if memory runs out. */
void *wasmc_rt_gc_alloc(wasmc_instance *inst, uint64_t size, uint32_t type_id, uint32_t kind);
void wasmc_rt_gc_collect(void);
uint64_t wasmc_rt_gc_live_objects(void);
/* Keep the object `ref` refers to (if any) for the rest of the run: the host was handed it. */
void wasmc_rt_gc_pin(void *ref);
void wasmc_rt_gc_add_instance(wasmc_instance *inst); /* runtime-internal: roots */
void wasmc_rt_gc_remove_instance(wasmc_instance *inst);
/* GC's arrays of `size`-byte elements.  Null arrays trap "null reference"; ranges are checked as
 * the spec orders them.  `init`/`value` point at one element's bytes (NULL: zeros); `refs`: the
 * elements are references (traced by the collector). */
void *wasmc_rt_array_new(wasmc_instance *inst, uint32_t type_id, uint32_t len, uint32_t size,
                         const void *init, uint32_t refs);
void *wasmc_rt_array_new_data(wasmc_instance *inst, uint32_t type_id, uint32_t seg, uint32_t s,
                              uint32_t n, uint32_t size);
void *wasmc_rt_array_new_elem(wasmc_instance *inst, uint32_t type_id, uint32_t seg, uint32_t s,
                              uint32_t n);
void wasmc_rt_array_fill(wasmc_instance *inst, wasmc_object *a, uint32_t d, const void *value,
                         uint32_t n, uint32_t size);
void wasmc_rt_array_copy(wasmc_instance *inst, wasmc_object *dst, uint32_t d, wasmc_object *src,
                         uint32_t s, uint32_t n, uint32_t size);
void wasmc_rt_array_init_data(wasmc_instance *inst, wasmc_object *a, uint32_t d, uint32_t seg,
                              uint32_t s, uint32_t n, uint32_t size);
void wasmc_rt_array_init_elem(wasmc_instance *inst, wasmc_object *a, uint32_t d, uint32_t seg,
                              uint32_t s, uint32_t n);

/* Embedder helpers beyond the core API.  Freeing is the embedder's job and only safe when nothing
 * (another instance's table, an import) still refers to the object. */
void wasmc_rt_memory_free(wasmc_memory *m);
void wasmc_rt_table_free(wasmc_table *t);
/* Run fn(arg) with trap protection (as wasmc_rt_invoke does): returns 0 or the trap kind. */
int32_t wasmc_rt_protected(void (*fn)(void *arg), void *arg);

/* Runtime-private, shared between the runtime's own files (trap.c, memory.c, ...). */
int wasmc_rt_reservation_contains(const void *addr); /* async-signal-safe */
void wasmc_rt_signals_init(void);                    /* idempotent; per-thread sigaltstack */

/* ---------------------------------------------------------------------------------------------
 * WASI preview1 (wasi.c).  Every function is bound with WASMC_FUNCREF_BIND_CALLER, so its instance
 * argument is the calling instance, whose memory 0 holds the guest buffers.
 * ------------------------------------------------------------------------------------------- */
typedef struct wasmc_wasi_config {
    int argc;
    const char *const *argv;
    int envc;
    const char *const *envp;            /* "NAME=VALUE" */
    int ndirs;
    const char *const *dir_host;        /* host directory of each grant */
    const char *const *dir_guest;       /* the name the guest sees */
} wasmc_wasi_config;

void *wasmc_wasi_new(const wasmc_wasi_config *cfg);
/* The host function implementing wasi_snapshot_preview1.<name>, with its signature; NULL if none. */
void *wasmc_wasi_lookup(const char *name, const char **sig);

/* wasmc_wasi_new returns NULL if a granted directory cannot be opened (errno says why).
 * Test hook: WASMC_WASI_NO_OPENAT2=1 makes path resolution use the portable fallback walk. */

/* Compile-time grants of an executable (main.c): NULL-terminated "--dir=HOST::GUEST",
 * "--dir=HOST", "--env=NAME=VALUE" or "--env=NAME" strings.  Optional (weak in main.c); run-time
 * grants come from the environment variable WASMC_GRANTS, one grant per line. */
extern const char *const wasmc_default_grants[];

#ifdef __cplusplus
}
#endif
#endif /* WASMC_RT_H */
