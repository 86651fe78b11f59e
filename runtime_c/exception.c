/* exception.c — Wasm 3.0 exception handling: throwing, and the handler stack (see wasmc_rt.h).
 *
 * Strategy.  setjmp/longjmp, not table-driven unwinding: a `try_table` costs one _setjmp when it
 * is entered, and a throw is a longjmp to the innermost handler, whose generated code picks the
 * catch clause.  Generated code keeps the handler stack itself (pushing on entry, storing the
 * enclosing top back at every place control leaves a try_table), so the runtime only reads it.
 *
 * An exception is never freed: an exnref to it may be kept anywhere (a local, a global, a table,
 * a GC object) and the collector does not trace exnrefs, so each throw costs 16 + 16 bytes per
 * payload value for the rest of the run (README, known limitations), and its payload is a root.
 */
#include "wasmc_rt.h"

#include <stdlib.h>
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
    wasmc_exception *exn = malloc(sizeof *exn + (size_t)count * sizeof(wasmc_val));
    if (!exn) wasmc_rt_trap(WASMC_TRAP_HOST); /* out of memory */
    exn->tag = tag;
    exn->count = count;
    exn->pad = 0;
    if (count) memcpy(exn->values, vals, (size_t)count * sizeof(wasmc_val));
    wasmc_rt_gc_add_exception(exn); /* its payload may hold GC objects: roots from now on */
    wasmc_rt_throw_ref(inst, exn);
}

wasmc_exception *wasmc_rt_caught(void) {
    return in_flight;
}
