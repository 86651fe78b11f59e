/* exception.c — Wasm 3.0 exception handling: throwing, and the handler stack (see wasmc_rt.h).
 *
 * Strategy.  setjmp/longjmp, not table-driven unwinding: a `try_table` costs one _setjmp when it
 * is entered, and a throw is a longjmp to the innermost handler, whose generated code picks the
 * catch clause.  Generated code keeps the handler stack itself (pushing on entry, storing the
 * enclosing top back at every place control leaves a try_table), so the runtime only reads it.
 *
 * An exception is a GC object (gc.c): the collector frees it once nothing reaches it -- no exnref
 * in a root slot of generated code (functions that hold exnrefs, or a legacy catch's exception,
 * link a root frame), a global, a table, a field or another exception's payload, and it is not
 * the one in flight.  Its payload is traced like a struct's fields.
 */
#include "wasmc_rt.h"

#include <string.h>

wasmc_handler *wasmc_rt_handler_top;
static wasmc_exception *in_flight;

_Noreturn void wasmc_rt_throw_ref(wasmc_instance *inst, wasmc_exception *exn) {
    (void)inst;
    if (!exn) wasmc_rt_trap(WASMC_TRAP_NULL_REFERENCE);
    in_flight = exn;
    wasmc_handler *h = wasmc_rt_handler_top;
    if (!h) wasmc_rt_trap(WASMC_TRAP_EXCEPTION); /* no try_table since the invoke: uncaught */
    _longjmp(h->buf, 1);
}

_Noreturn void wasmc_rt_throw(wasmc_instance *inst, const wasmc_tag *tag,
                              const wasmc_val *vals, uint32_t count) {
    /* May collect: the thrower stored its references, the payload's too, in its root slots. */
    wasmc_exception *exn = wasmc_rt_gc_alloc(inst, sizeof *exn + (uint64_t)count * sizeof(wasmc_val),
                                             0, WASMC_OBJECT_EXCEPTION | WASMC_OBJECT_HAS_REFS);
    exn->tag = tag;
    exn->count = count;
    if (count) memcpy(exn->values, vals, (size_t)count * sizeof(wasmc_val));
    wasmc_rt_throw_ref(inst, exn);
}

wasmc_exception *wasmc_rt_caught(void) {
    return in_flight;
}
