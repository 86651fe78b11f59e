/* backtrace.c — the Wasm call chain of a trap, at no cost until a trap happens.
 *
 * Strategy.  Generated code carries unwind tables (LLVM `uwtable`), so when a trap is raised
 * (wasmc_rt_trap, or the fault handler) we let glibc's backtrace() walk the native stack and keep
 * the return addresses.  Each compiled module puts its Wasm functions in the section `wasmc_text`
 * and records the section's bounds and every function's start in its descriptor; an address inside
 * a module's bounds belongs to the defined function with the greatest start not above it.  Names
 * come from the name section (func_names), offsets are the function bodies' module offsets.
 * Symbolisation happens only when an embedder asks for the text.
 */
#include "wasmc_rt.h"

#include <execinfo.h>
#include <stdio.h>
#include <string.h>

#define MAX_FRAMES 64
#define MAX_MODULES 4096

static void *frames[MAX_FRAMES];
static int nframes;
static const wasmc_module *modules[MAX_MODULES];
static int nmodules;

void wasmc_rt_register_module(const wasmc_module *m) {
    static int warmed;
    if (!warmed) {
        /* backtrace() loads libgcc's unwinder on first use, which is not safe in a signal
         * handler: do that now. */
        warmed = 1;
        void *tmp[1];
        backtrace(tmp, 1);
    }
    for (int i = 0; i < nmodules; i++)
        if (modules[i] == m) return;
    if (nmodules < MAX_MODULES && m->code_start) modules[nmodules++] = m;
}

void wasmc_rt_capture_backtrace(void) { nframes = backtrace(frames, MAX_FRAMES); }

/* The defined function of `m` containing `pc`, or -1. */
static long find_function(const wasmc_module *m, const char *pc) {
    if (pc < (const char *)m->code_start || pc >= (const char *)m->code_end) return -1;
    long best = -1;
    const char *best_start = NULL;
    uint32_t ndefined = m->num_funcs - m->num_imported_funcs;
    for (uint32_t i = 0; i < ndefined; i++) {
        const char *start = m->func_code[i];
        if (start <= pc && (!best_start || start > best_start)) {
            best = i;
            best_start = start;
        }
    }
    return best;
}

size_t wasmc_rt_last_backtrace(char *buf, size_t len) {
    if (len == 0) return 0;
    buf[0] = '\0';
    size_t used = 0;
    int depth = 0;
    for (int f = 0; f < nframes; f++) {
        /* A return address points after the call; look one byte back so a noreturn call at the
         * very end of a function is attributed to that function, not the next. */
        const char *pc = (const char *)frames[f] - (f > 0 ? 1 : 0);
        for (int k = 0; k < nmodules; k++) {
            const wasmc_module *m = modules[k];
            long i = find_function(m, pc);
            if (i < 0) continue;
            uint32_t idx = (uint32_t)i + m->num_imported_funcs;
            const char *name = m->func_names ? m->func_names[idx] : NULL;
            char fallback[32];
            if (!name || !*name) {
                snprintf(fallback, sizeof fallback, "<wasm function %u>", idx);
                name = fallback;
            }
            int n = snprintf(buf + used, len - used, "%s    %d: %#8x - %s!%s\n",
                             depth == 0 ? "wasm backtrace:\n" : "", depth,
                             m->func_offsets ? m->func_offsets[i] : 0,
                             m->module_name ? m->module_name : "<module>", name);
            if (n < 0 || (size_t)n >= len - used) return used;
            used += (size_t)n;
            depth++;
            break;
        }
    }
    return used;
}
