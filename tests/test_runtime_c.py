"""Unit tests of the C runtime and its ctypes embedding, without the compiler.

Strategy: a small C file stands in for generated code.  It defines a few "Wasm functions" by hand
(a load from linear memory, a trap, a recursion with the prologue stack check, memory.grow, a call
through an imported funcref), their array-call entries, a host stub and a hand-built `wasmc_module`
descriptor.  Built with a `main`, it is an executable that checks the runtime from C and prints "ok";
built without, it is a module `.so` that runtime.Instance loads with a hand-written Module IR.
"""

from __future__ import annotations

import subprocess

import pytest
from wasmc import link
from wasmc.errors import LinkError
from wasmc.module import (
    Export,
    ExternKind,
    FuncType,
    GlobalType,
    Import,
    Limits,
    MemType,
    Module,
    TableType,
)
from wasmc.module import (
    Global as GlobalDef,
)

MODULE_C = r"""
#include "wasmc_rt.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- "generated code" ---- */
static int32_t f_load(wasmc_instance *inst, uint32_t addr) {
    return *(volatile int32_t *)(inst->mem0_base + (uint64_t)addr);
}
static void f_trap(wasmc_instance *inst, int32_t kind) { (void)inst; wasmc_rt_trap(kind); }
static int32_t f_recurse(wasmc_instance *inst, int32_t n) {
    volatile char pad[128];
    pad[0] = 1;
    if ((void *)__builtin_frame_address(0) < wasmc_rt_stack_limit) wasmc_rt_trap(WASMC_TRAP_STACK_EXHAUSTED);
    if (n == 0) return 0;
    return f_recurse(inst, n - 1) + pad[0];
}
static int32_t f_grow(wasmc_instance *inst, int32_t d) { return wasmc_rt_memory_grow(inst, 0, (uint32_t)d); }
static int32_t f_call_import(wasmc_instance *inst, int32_t x) {
    wasmc_funcref *f = inst->funcs[0];
    return ((int32_t (*)(void *, int32_t))f->code)(f->instance, x);
}
static void f_start(wasmc_instance *inst) { (void)inst; wasmc_rt_trap(WASMC_TRAP_UNREACHABLE); }

static void e_load(wasmc_instance *i, wasmc_val *v) { v[0].i32 = f_load(i, (uint32_t)v[0].i32); }
static void e_trap(wasmc_instance *i, wasmc_val *v) { f_trap(i, v[0].i32); }
static void e_recurse(wasmc_instance *i, wasmc_val *v) { v[0].i32 = f_recurse(i, v[0].i32); }
static void e_grow(wasmc_instance *i, wasmc_val *v) { v[0].i32 = f_grow(i, v[0].i32); }
static void e_call_import(wasmc_instance *i, wasmc_val *v) { v[0].i32 = f_call_import(i, v[0].i32); }
static void e_start(wasmc_instance *i, wasmc_val *v) { (void)v; f_start(i); }

static int32_t stub_i_i(void *hf, int32_t x) {
    wasmc_host_func *h = hf;
    wasmc_val vals[1];
    vals[0].i32 = x;
    int32_t t = h->callback(h->env, vals);
    if (t) wasmc_rt_trap(t);
    return vals[0].i32;
}

static void init_globals(wasmc_instance *inst) { inst->globals[0]->value.i32 = 42; }
static void init_segments(wasmc_instance *inst) {
    wasmc_rt_memory_init(inst, 0, 0, 0, 0, 4);
    wasmc_rt_table_init(inst, 0, 0, 0, 0, 2);
}

/* types: 0 ":"  1 "i:i"  2 "i:" ; func 0 is the import host.cb */
static const char *const type_sigs[] = {":", "i:i", "i:"};
static const wasmc_import_desc imports[] = {{"host", "cb", 0, 1}};
static const uint32_t func_types[] = {1, 1, 2, 1, 1, 1, 0};
static void *const func_code[] = {(void *)f_load, (void *)f_trap, (void *)f_recurse, (void *)f_grow,
                                  (void *)f_call_import, (void *)f_start};
static const wasmc_entry_fn func_entries[] = {NULL, e_load, e_trap, e_recurse, e_grow, e_call_import,
                                              e_start};
static const void *const host_stubs[] = {NULL, (const void *)stub_i_i, NULL};
static const wasmc_limits_desc tables[] = {{2, 4, 1, 'F'}};
static const wasmc_limits_desc memories[] = {{1, 2, 1, 0}};
static const wasmc_global_desc globals[] = {{'i', 1}};
static const wasmc_elem_item elem0[] = {{1, 1}, {0, 0}};
static const wasmc_elem_desc elems[] = {{elem0, 2, 'F'}};
static const uint8_t data0[] = {1, 2, 3, 4, 5, 6};
static const wasmc_data_desc datas[] = {{data0, 6, 0}};

const wasmc_module wasmc_module_desc = {
    .abi_version = WASMC_ABI_VERSION, .num_types = 3, .type_sigs = type_sigs,
    .num_imports = 1, .imports = imports, .num_funcs = 7, .num_imported_funcs = 1,
    .func_types = func_types, .func_code = func_code, .func_entries = func_entries,
    .host_stubs = host_stubs, .num_tables = 1, .num_imported_tables = 0, .tables = tables,
    .num_memories = 1, .num_imported_memories = 0, .memories = memories,
    .num_globals = 1, .num_imported_globals = 0, .globals = globals,
    .num_exports = 0, .exports = NULL, .num_elems = 1, .elems = elems, .num_datas = 1, .datas = datas,
    .init_globals = init_globals, .init_segments = init_segments, .start_func = -1, .func_names = NULL,
};

#ifdef WITH_MAIN
#define CHECK(c) do { if (!(c)) { printf("FAIL line %d: %s\n", __LINE__, #c); exit(1); } } while (0)

/* The imported function: bound with BIND_CALLER, so `instance` is the importing instance.
 * x >= 0: nested invoke of `trap(x)`, return its result code; x < 0: trap with -x ourselves. */
static int32_t host_cb(void *instance, int32_t x) {
    if (x < 0) wasmc_rt_trap(-x);
    wasmc_val v[1];
    v[0].i32 = x;
    return wasmc_rt_invoke(instance, 2, v);
}

static int32_t call(wasmc_instance *inst, uint32_t f, int32_t arg, int32_t *result) {
    wasmc_val v[1];
    v[0].i32 = arg;
    int32_t rc = wasmc_rt_invoke(inst, f, v);
    if (result) *result = v[0].i32;
    return rc;
}

static wasmc_instance *T;
static uint32_t A[5];
static void t_table_get(void *p) { (void)p; wasmc_rt_table_get(T, 0, A[0]); }
static void t_table_fill(void *p) { (void)p; wasmc_rt_table_fill(T, 0, A[0], NULL, A[1]); }
static void t_table_copy(void *p) { (void)p; wasmc_rt_table_copy(T, 0, 0, A[0], A[1], A[2]); }
static void t_table_init(void *p) { (void)p; wasmc_rt_table_init(T, 0, 0, A[0], A[1], A[2]); }
static void t_mem_fill(void *p) { (void)p; wasmc_rt_memory_fill(T, 0, A[0], A[1], A[2]); }
static void t_mem_copy(void *p) { (void)p; wasmc_rt_memory_copy(T, 0, 0, A[0], A[1], A[2]); }
static void t_mem_init(void *p) { (void)p; wasmc_rt_memory_init(T, 0, 0, A[0], A[1], A[2]); }
static void t_exit(void *p) { (void)p; wasmc_rt_exit(3); }
static int *volatile crash_ptr = (int *)16;
static void t_crash(void *p) { (void)p; *crash_ptr = 1; }
#define RUN(fn, a, b, c) (A[0] = (a), A[1] = (b), A[2] = (c), wasmc_rt_protected(fn, NULL))

int main(int argc, char **argv) {
    /* type ids */
    uint32_t a = wasmc_rt_type_id("i:i"), b = wasmc_rt_type_id("i:l");
    CHECK(a != 0 && b != 0 && a != b && wasmc_rt_type_id("i:i") == a);

    wasmc_import imp[1];
    imp[0].func = wasmc_rt_funcref_new((void *)host_cb, NULL, "i:i", WASMC_FUNCREF_BIND_CALLER);
    wasmc_instance *inst;
    char err[200];
    CHECK(wasmc_rt_instantiate(&wasmc_module_desc, imp, NULL, &inst, err, sizeof err) == 0);
    T = inst;
    CHECK(inst->type_ids[1] == a);
    CHECK(inst->funcs[0] != imp[0].func && inst->funcs[0]->instance == inst);
    CHECK(inst->funcs[1]->code == (void *)f_load && inst->funcs[1]->type_id == a);
    CHECK(inst->globals[0]->value.i32 == 42);
    CHECK(inst->mem0_base == inst->memories[0]->base && inst->memories[0]->bytes == 65536);
    CHECK(inst->tables[0]->size == 2 && inst->tables[0]->elems[0] == inst->funcs[1]);
    CHECK(inst->tables[0]->elems[1] == NULL);
    if (argc > 1 && strcmp(argv[1], "crash") == 0) { RUN(t_crash, 0, 0, 0); return 0; }

    /* loads and the guard-page path */
    int32_t r;
    CHECK(call(inst, 1, 0, &r) == 0 && r == 0x04030201);
    CHECK(call(inst, 1, 65532, &r) == 0 && r == 0);
    CHECK(call(inst, 1, 65533, &r) == WASMC_TRAP_MEMORY_OOB);
    CHECK(call(inst, 1, 65536, &r) == WASMC_TRAP_MEMORY_OOB);
    CHECK(call(inst, 1, (int32_t)0xFFFFFFFC, &r) == WASMC_TRAP_MEMORY_OOB);
    /* memory.grow: old size, -1 past the max, in place */
    uint8_t *base = inst->mem0_base;
    CHECK(call(inst, 4, 0, &r) == 0 && r == 1);
    CHECK(call(inst, 4, 1, &r) == 0 && r == 1);
    CHECK(call(inst, 1, 65536, &r) == 0 && r == 0 && inst->mem0_base == base);
    CHECK(call(inst, 4, 1, &r) == 0 && r == -1);
    CHECK(call(inst, 4, 0, &r) == 0 && r == 2);
    CHECK(call(inst, 1, 131072, &r) == WASMC_TRAP_MEMORY_OOB);
    CHECK(wasmc_rt_memory_grow_mem(inst->memories[0], 0xFFFFFFFFull) == -1);
    /* explicit traps */
    CHECK(call(inst, 2, WASMC_TRAP_UNREACHABLE, NULL) == WASMC_TRAP_UNREACHABLE);
    CHECK(call(inst, 2, WASMC_TRAP_INT_OVERFLOW, NULL) == WASMC_TRAP_INT_OVERFLOW);
    CHECK(strcmp(wasmc_rt_trap_message(WASMC_TRAP_INT_DIV_BY_ZERO), "integer divide by zero") == 0);
    CHECK(call(inst, 7, 0, NULL) == -1); /* no such function */
    /* stack exhaustion, then the runtime is still usable */
    CHECK(call(inst, 3, 100, &r) == 0 && r == 100);
    CHECK(call(inst, 3, 100000000, &r) == WASMC_TRAP_STACK_EXHAUSTED);
    CHECK(call(inst, 3, 100, &r) == 0 && r == 100);
    /* nested invoke: the inner trap is caught by the inner invoke, the outer call goes on */
    CHECK(call(inst, 5, WASMC_TRAP_INT_DIV_BY_ZERO, &r) == 0 && r == WASMC_TRAP_INT_DIV_BY_ZERO);
    CHECK(call(inst, 5, -WASMC_TRAP_HOST, &r) == WASMC_TRAP_HOST);
    CHECK(call(inst, 1, 0, &r) == 0 && r == 0x04030201);
    /* exit */
    CHECK(wasmc_rt_protected(t_exit, NULL) == WASMC_TRAP_EXIT && wasmc_rt_exit_code == 3);

    /* tables: bounds checked up front, d == size with n == 0 is fine */
    CHECK(RUN(t_table_get, 1, 0, 0) == 0 && RUN(t_table_get, 2, 0, 0) == WASMC_TRAP_TABLE_OOB);
    CHECK(wasmc_rt_table_grow(inst, 0, inst->funcs[2], 2) == 2 && inst->tables[0]->size == 4);
    CHECK(inst->tables[0]->elems[3] == inst->funcs[2]);
    CHECK(wasmc_rt_table_grow(inst, 0, NULL, 1) == -1 && wasmc_rt_table_grow(inst, 0, NULL, 0) == 4);
    CHECK(RUN(t_table_fill, 4, 0, 0) == 0 && RUN(t_table_fill, 5, 0, 0) == WASMC_TRAP_TABLE_OOB);
    CHECK(RUN(t_table_fill, 3, 2, 0) == WASMC_TRAP_TABLE_OOB && inst->tables[0]->elems[3] != NULL);
    CHECK(RUN(t_table_copy, 1, 0, 3) == 0 && inst->tables[0]->elems[1] == inst->funcs[1]);
    CHECK(inst->tables[0]->elems[3] == inst->funcs[2]);
    CHECK(RUN(t_table_copy, 2, 0, 3) == WASMC_TRAP_TABLE_OOB);
    CHECK(RUN(t_table_init, 0, 2, 0) == 0 && RUN(t_table_init, 0, 1, 2) == WASMC_TRAP_TABLE_OOB);
    wasmc_rt_elem_drop(inst, 0);
    CHECK(RUN(t_table_init, 0, 0, 0) == 0 && RUN(t_table_init, 0, 0, 1) == WASMC_TRAP_TABLE_OOB);
    CHECK(RUN(t_table_init, 0, 1, 0) == WASMC_TRAP_TABLE_OOB);

    /* bulk memory */
    uint32_t size = (uint32_t)inst->memories[0]->bytes;
    CHECK(RUN(t_mem_fill, size, 7, 0) == 0 && RUN(t_mem_fill, size + 1, 7, 0) == WASMC_TRAP_MEMORY_OOB);
    CHECK(RUN(t_mem_fill, size - 1, 7, 2) == WASMC_TRAP_MEMORY_OOB && base[size - 1] == 0);
    CHECK(RUN(t_mem_fill, 0xFFFFFFFF, 7, 2) == WASMC_TRAP_MEMORY_OOB);
    CHECK(RUN(t_mem_fill, 10, 0x1FF, 3) == 0 && base[10] == 0xFF && base[12] == 0xFF && base[13] == 0);
    CHECK(RUN(t_mem_copy, 1, 0, 4) == 0 && memcmp(base, "\1\1\2\3\4", 5) == 0);
    CHECK(RUN(t_mem_copy, 0, 1, 4) == 0 && memcmp(base, "\1\2\3\4\4", 5) == 0);
    CHECK(RUN(t_mem_copy, size, 0, 1) == WASMC_TRAP_MEMORY_OOB);
    CHECK(RUN(t_mem_init, 100, 2, 4) == 0 && memcmp(base + 100, "\3\4\5\6", 4) == 0);
    CHECK(RUN(t_mem_init, 100, 3, 4) == WASMC_TRAP_MEMORY_OOB);
    wasmc_rt_data_drop(inst, 0);
    CHECK(RUN(t_mem_init, size, 0, 0) == 0 && RUN(t_mem_init, 0, 0, 1) == WASMC_TRAP_MEMORY_OOB);

    /* a trapping start function: the trap kind comes back and the instance exists */
    wasmc_module m2 = wasmc_module_desc;
    m2.start_func = 6;
    wasmc_instance *i2 = NULL;
    CHECK(wasmc_rt_instantiate(&m2, imp, NULL, &i2, err, sizeof err) == WASMC_TRAP_UNREACHABLE);
    CHECK(i2 != NULL && i2->mem0_base[0] == 1);
    wasmc_rt_instance_free(i2);
    /* a missing import is an error, not a crash */
    imp[0].func = NULL;
    CHECK(wasmc_rt_instantiate(&wasmc_module_desc, imp, NULL, &i2, err, sizeof err) == -1 && !i2);
    CHECK(strstr(err, "host.cb") != NULL);
    wasmc_rt_instance_free(inst);
    printf("ok\n");
    return 0;
}
#endif
"""


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    d = tmp_path_factory.mktemp("rt")
    src = d / "module.c"
    src.write_text(MODULE_C)
    rt_lib = link.runtime_shared_lib()
    inc = ["-I", str(link.runtime_source_dir())]
    exe = d / "rt_test"
    flags = [*link.CFLAGS]
    subprocess.run([link.CC, *flags, *inc, "-DWITH_MAIN", str(src), "-o", str(exe), "-L", str(rt_lib.parent),
                    "-lwasmc_rt", f"-Wl,-rpath,{rt_lib.parent}", "-lm"], check=True)
    obj = d / "module.o"
    subprocess.run([link.CC, *flags, *inc, "-c", str(src), "-o", str(obj)], check=True)
    so = link.link_shared(obj, d / "module.so")
    return exe, so


def test_runtime_from_c(built):
    exe, _ = built
    p = subprocess.run([str(exe)], capture_output=True, text=True, timeout=60, check=False)
    assert p.returncode == 0, p.stdout + p.stderr
    assert p.stdout.strip() == "ok"


def test_real_crash_stays_a_crash(built):
    exe, _ = built
    p = subprocess.run([str(exe), "crash"], capture_output=True, text=True, timeout=60, check=False)
    assert p.returncode == -11, (p.returncode, p.stdout, p.stderr)


def test_stack_budget_env(built):
    exe, _ = built
    p = subprocess.run([str(exe)], capture_output=True, text=True, timeout=60, check=False,
                       env={"WASMC_STACK_BUDGET": str(64 << 10)})
    assert p.returncode == 0, p.stdout + p.stderr


def hand_module() -> Module:
    F = ExternKind.FUNC
    return Module(
        types=[FuncType("", ""), FuncType("i", "i"), FuncType("i", "")],
        imports=[Import("host", "cb", F, 1)],
        funcs=[1, 2, 1, 1, 1, 0],
        tables=[TableType("F", Limits(2, 4))],
        mems=[MemType(Limits(1, 2))],
        globals=[GlobalDef(GlobalType("i", True), [])],
        exports=[Export("load", F, 1), Export("trap", F, 2), Export("recurse", F, 3),
                 Export("grow", F, 4), Export("call_import", F, 5), Export("cb", F, 0),
                 Export("mem", ExternKind.MEMORY, 0), Export("tab", ExternKind.TABLE, 0),
                 Export("g", ExternKind.GLOBAL, 0)],
    )


def test_python_embedding(built):
    from wasmc.runtime import (
        TRAP_HOST,
        TRAP_MEMORY_OOB,
        TRAP_STACK_EXHAUSTED,
        TRAP_TABLE_OOB,
        Func,
        Global,
        HostFunc,
        Instance,
        Memory,
        Table,
        Trap,
    )

    _, so = built
    calls = []
    holder = {}

    def cb(x):
        calls.append(x)
        if x == 99:
            raise ValueError("boom")
        if x < 0:
            raise Trap(-x)
        return holder["inst"].exports["load"](x) + 1  # nested invoke from a host function

    host = HostFunc("i", "i", cb)
    inst = Instance(so, hand_module(), {("host", "cb"): host})
    holder["inst"] = inst
    ex = inst.exports
    assert ex["load"](0) == 0x04030201
    assert ex["load"].call_raw([0]) == [0x04030201]
    with pytest.raises(Trap) as e:
        ex["load"](65536)
    assert e.value.kind == TRAP_MEMORY_OOB and e.value.message == "out of bounds memory access"
    with pytest.raises(Trap) as e:
        ex["recurse"](10**8)
    assert e.value.kind == TRAP_STACK_EXHAUSTED
    assert ex["recurse"](50) == 50
    assert ex["call_import"](0) == 0x04030201 + 1
    with pytest.raises(Trap) as e:
        ex["call_import"](-TRAP_TABLE_OOB)
    assert e.value.kind == TRAP_TABLE_OOB
    with pytest.raises(Trap) as e:
        ex["call_import"](99)
    assert e.value.kind == TRAP_HOST and "boom" in e.value.message
    assert ex["cb"] is host

    mem = ex["mem"]
    assert isinstance(mem, Memory) and mem.pages == 1 and mem.max == 2
    assert mem.read(0, 4) == b"\1\2\3\4"
    mem.write(8, b"\xff\xff\xff\x7f")
    assert ex["load"](8) == 0x7FFFFFFF
    assert mem.view()[8] == 0xFF
    assert ex["grow"](1) == 1 and mem.pages == 2 and mem.grow(1) == -1

    tab = ex["tab"]
    assert isinstance(tab, Table) and tab.size == 2 and tab.max == 4
    f = tab.get(0)
    assert isinstance(f, Func) and f is ex["load"] and tab.get(1) is None
    with pytest.raises(Trap):
        tab.get(2)
    assert tab.grow(1, ex["trap"]) == 2 and tab.get(2) is ex["trap"]

    g = ex["g"]
    assert isinstance(g, Global) and g.value == 42
    g.value = -1
    assert g.raw == 0xFFFFFFFF

    # import matching
    with pytest.raises(LinkError, match="unknown import"):
        Instance(so, hand_module(), {})
    with pytest.raises(LinkError, match="incompatible import type"):
        Instance(so, hand_module(), {("host", "cb"): HostFunc("i", "", cb)})
    with pytest.raises(LinkError, match="incompatible import type"):
        Instance(so, hand_module(), {("host", "cb"): Memory.new(1)})
    # an exported function can be imported by another instance
    inst2 = Instance(so, hand_module(), {("host", "cb"): ex["load"]})
    assert inst2.exports["call_import"](0) == 0x04030201
    assert Table.new("E", 1).get(0) is None
    t = Table.new("E", 1, 2)
    t.set(0, 0)
    assert t.get(0) == 0
    f32 = Global.new("f", False, 1.5)
    assert f32.value == 1.5 and f32.raw == 0x3FC00000
