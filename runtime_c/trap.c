/* trap.c — traps, protected calls, stack limit and the fault handler.
 *
 * Strategy.  Every wasmc_rt_invoke (and the instantiation's init/start code) runs under a
 * sigsetjmp frame; the frames form a stack through `jmp_top` because calls nest (Wasm -> host
 * callback -> invoke again).  wasmc_rt_trap siglongjmps to the innermost frame, which returns the
 * trap kind.  savemask=1 restores the signal mask, so jumping out of the SIGSEGV handler is fine.
 *
 * Faults: a SIGSEGV/SIGBUS handler runs on an alternate signal stack (so it works after the native
 * stack overflowed).  A fault inside a linear-memory reservation is the out-of-bounds trap; a fault
 * just below the Wasm stack limit while Wasm runs is stack exhaustion; anything else is a real crash
 * and goes to the previous handler (or the default action), never swallowed.
 *
 * The runtime is single-threaded per process as far as Wasm is concerned (the stack limit is one
 * global read by generated code); only the signal stack is set up per thread.
 */
#include "wasmc_rt.h"

#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int32_t wasmc_rt_exit_code;
void *wasmc_rt_stack_limit;
size_t wasmc_rt_stack_budget = 1u << 20;

/* Room left below the stack limit: leaf functions (no prologue check) and host calls run there. */
#define GUARD_SLACK (64u << 10)
#define ALTSTACK_SIZE (64u << 10)

static const char *const trap_messages[WASMC_TRAP_COUNT] = {
    [WASMC_TRAP_NONE] = "no trap",
    [WASMC_TRAP_UNREACHABLE] = "unreachable",
    [WASMC_TRAP_MEMORY_OOB] = "out of bounds memory access",
    [WASMC_TRAP_TABLE_OOB] = "out of bounds table access",
    [WASMC_TRAP_UNDEFINED_ELEMENT] = "undefined element",
    [WASMC_TRAP_UNINITIALIZED_ELEMENT] = "uninitialized element",
    [WASMC_TRAP_INDIRECT_CALL_TYPE] = "indirect call type mismatch",
    [WASMC_TRAP_INT_DIV_BY_ZERO] = "integer divide by zero",
    [WASMC_TRAP_INT_OVERFLOW] = "integer overflow",
    [WASMC_TRAP_INVALID_CONVERSION] = "invalid conversion to integer",
    [WASMC_TRAP_STACK_EXHAUSTED] = "call stack exhausted",
    [WASMC_TRAP_NULL_REFERENCE] = "null reference",
    [WASMC_TRAP_HOST] = "host function failed",
    [WASMC_TRAP_EXIT] = "exit",
    [WASMC_TRAP_EXCEPTION] = "thrown Wasm exception",
    [WASMC_TRAP_CAST] = "cast failure",
    [WASMC_TRAP_ARRAY_OOB] = "out of bounds array access",
    [WASMC_TRAP_ALLOCATION_TOO_LARGE] = "allocation size too large",
    [WASMC_TRAP_OUT_OF_MEMORY] = "GC heap out of memory",
    [WASMC_TRAP_UNALIGNED_ATOMIC] = "unaligned atomic",
    [WASMC_TRAP_WAIT_UNSHARED] = "atomic wait on non-shared memory",
};

const char *wasmc_rt_trap_message(int32_t trap) {
    if (trap < 0 || trap >= WASMC_TRAP_COUNT) return "unknown trap";
    return trap_messages[trap];
}

/* ---- the stack of protected frames ------------------------------------------------------------ */

typedef struct jmp_frame {
    sigjmp_buf buf;
    struct jmp_frame *prev;
} jmp_frame;

static jmp_frame *jmp_top;
static char *outer_sp; /* stack pointer of the outermost protected call: top of the Wasm stack */

_Noreturn void wasmc_rt_trap(int32_t trap) {
    if (!jmp_top) {
        /* A trap with nobody to catch it is a runtime bug (or misuse); say so and stop. */
        fprintf(stderr, "wasmc: trap outside of wasmc_rt_invoke: %s\n", wasmc_rt_trap_message(trap));
        abort();
    }
    if (trap != WASMC_TRAP_EXIT) wasmc_rt_capture_backtrace();
    siglongjmp(jmp_top->buf, trap == 0 ? WASMC_TRAP_HOST : trap);
}

_Noreturn void wasmc_rt_exit(int32_t code) {
    wasmc_rt_exit_code = code;
    wasmc_rt_trap(WASMC_TRAP_EXIT);
}

static size_t stack_budget(void) {
    static int read_env;
    if (!read_env) {
        read_env = 1;
        const char *s = getenv("WASMC_STACK_BUDGET");
        if (s && *s) {
            char *end;
            unsigned long long v = strtoull(s, &end, 0);
            if (*end == '\0' && v >= 4096) wasmc_rt_stack_budget = (size_t)v;
        }
    }
    return wasmc_rt_stack_budget;
}

/* Lowest usable address of this thread's stack, or NULL if unknown.  Cached per thread because
 * pthread_getattr_np reads /proc/self/maps for the main thread. */
static char *thread_stack_low(void) {
    static _Thread_local int known;
    static _Thread_local char *low;
    if (!known) {
        known = 1;
        pthread_attr_t attr;
        if (pthread_getattr_np(pthread_self(), &attr) == 0) {
            void *addr;
            size_t size;
            if (pthread_attr_getstack(&attr, &addr, &size) == 0) low = addr;
            pthread_attr_destroy(&attr);
        }
    }
    return low;
}

/* The limit is `budget` below the outermost call, but never closer than 2*GUARD_SLACK to the real
 * end of the stack, so the explicit check fires before the guard page does. */
static void set_stack_limit(char *sp) {
    char *limit = sp - stack_budget();
    char *low = thread_stack_low();
    if (low && low + 2 * GUARD_SLACK < sp && limit < low + 2 * GUARD_SLACK) limit = low + 2 * GUARD_SLACK;
    if (limit > sp) limit = sp; /* wrapped around: no room at all */
    wasmc_rt_stack_limit = limit;
}

int32_t wasmc_rt_protected(void (*fn)(void *arg), void *arg) {
    wasmc_rt_signals_init();
    jmp_frame frame;
    frame.prev = jmp_top;
    int outermost = jmp_top == NULL;
    if (outermost) {
        outer_sp = __builtin_frame_address(0);
        set_stack_limit(outer_sp);
    }
    /* Exception handlers of the caller's Wasm frames are not ours to jump to: an exception
     * that leaves `fn` uncaught becomes a trap (exception.c). */
    wasmc_handler *handlers = wasmc_rt_handler_top;
    wasmc_rt_handler_top = NULL;
    /* A trap leaves the GC root frames of the Wasm frames it unwound linked: unlink them. */
    wasmc_gc_frame *gc_frames = wasmc_rt_gc_frames;
    int32_t trap = sigsetjmp(frame.buf, 1);
    if (trap == 0) {
        jmp_top = &frame;
        fn(arg);
    }
    /* Both paths: pop our frame (locals unchanged since sigsetjmp, so no volatile needed). */
    jmp_top = frame.prev;
    wasmc_rt_handler_top = handlers;
    wasmc_rt_gc_frames = gc_frames;
    return trap;
}

typedef struct invoke_args {
    wasmc_instance *inst;
    wasmc_entry_fn entry;
    wasmc_val *vals;
} invoke_args;

static void invoke_thunk(void *p) {
    invoke_args *a = p;
    a->entry(a->inst, a->vals);
}

int32_t wasmc_rt_invoke(wasmc_instance *inst, uint32_t funcidx, wasmc_val *vals) {
    const wasmc_module *m = inst->module;
    if (funcidx >= m->num_funcs || !m->func_entries || !m->func_entries[funcidx]) return -1;
    invoke_args a = {inst, m->func_entries[funcidx], vals};
    return wasmc_rt_protected(invoke_thunk, &a);
}

/* ---- the fault handler ------------------------------------------------------------------------ */

static struct sigaction old_segv, old_bus;

static void on_fault(int sig, siginfo_t *info, void *uctx) {
    (void)uctx;
    char *addr = info->si_addr;
    if (jmp_top) {
        if (wasmc_rt_reservation_contains(addr)) wasmc_rt_trap(WASMC_TRAP_MEMORY_OOB);
        char *limit = wasmc_rt_stack_limit;
        if (addr < outer_sp && addr >= limit - 2 * GUARD_SLACK) wasmc_rt_trap(WASMC_TRAP_STACK_EXHAUSTED);
    }
    /* Not ours: hand it to the previous handler, staying installed ourselves.  Other engines in
     * the same process (wasmtime uses guard pages too) handle their own faults this way; a real
     * crash reaches the default action (or Python's faulthandler, or a debugger). */
    const struct sigaction *old = sig == SIGSEGV ? &old_segv : &old_bus;
    if ((old->sa_flags & SA_SIGINFO) && old->sa_sigaction) {
        old->sa_sigaction(sig, info, uctx);
    } else if (!(old->sa_flags & SA_SIGINFO) && old->sa_handler != SIG_DFL &&
               old->sa_handler != SIG_IGN) {
        old->sa_handler(sig);
    } else {
        /* Default action: restore it and return; the faulting instruction runs again and dies. */
        signal(sig, SIG_DFL);
    }
}

/* The alternate signal stack is per thread; keep an existing one if it is big enough (Python's
 * faulthandler installs its own). */
static void ensure_altstack(void) {
    static _Thread_local int done;
    if (done) return;
    done = 1;
    stack_t cur;
    if (sigaltstack(NULL, &cur) == 0 && !(cur.ss_flags & SS_DISABLE) && cur.ss_size >= ALTSTACK_SIZE)
        return;
    stack_t ss = {.ss_sp = malloc(ALTSTACK_SIZE), .ss_size = ALTSTACK_SIZE, .ss_flags = 0};
    if (ss.ss_sp) sigaltstack(&ss, NULL);
}

void wasmc_rt_signals_init(void) {
    static int installed;
    ensure_altstack();
    if (installed) return;
    installed = 1;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_fault;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, &old_segv);
    sigaction(SIGBUS, &sa, &old_bus);
}
