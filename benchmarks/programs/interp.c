/* An interpreter loop: a small stack-based bytecode VM with switch dispatch, running a bytecode
 * program that counts primes below n by trial division and sums a Collatz walk for each one.
 * bench: test=3000 interp=2000
 */
#define BENCH_NAME "interp"
#define BENCH_DEFAULT_N 400000
#include "bench.h"

enum op {
    OP_PUSH, OP_LOAD, OP_STORE, OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_MOD, OP_LT, OP_EQ,
    OP_JMP, OP_JZ, OP_JNZ, OP_DUP, OP_POP, OP_INC, OP_AND, OP_SHR, OP_HALT,
};

static int64_t run_vm(const int32_t *code, int64_t *vars) {
    int64_t stack[64];
    int sp = 0;
    int pc = 0;
    for (;;) {
        int32_t op = code[pc++];
        switch (op) {
        case OP_PUSH: stack[sp++] = code[pc++]; break;
        case OP_LOAD: stack[sp++] = vars[code[pc++]]; break;
        case OP_STORE: vars[code[pc++]] = stack[--sp]; break;
        case OP_ADD: sp--; stack[sp - 1] += stack[sp]; break;
        case OP_SUB: sp--; stack[sp - 1] -= stack[sp]; break;
        case OP_MUL: sp--; stack[sp - 1] *= stack[sp]; break;
        case OP_DIV: sp--; stack[sp - 1] /= stack[sp]; break;
        case OP_MOD: sp--; stack[sp - 1] %= stack[sp]; break;
        case OP_LT: sp--; stack[sp - 1] = stack[sp - 1] < stack[sp]; break;
        case OP_EQ: sp--; stack[sp - 1] = stack[sp - 1] == stack[sp]; break;
        case OP_JMP: pc = code[pc]; break;
        case OP_JZ: pc = stack[--sp] == 0 ? code[pc] : pc + 1; break;
        case OP_JNZ: pc = stack[--sp] != 0 ? code[pc] : pc + 1; break;
        case OP_DUP: stack[sp] = stack[sp - 1]; sp++; break;
        case OP_POP: sp--; break;
        case OP_INC: vars[code[pc]] += 1; pc++; break;
        case OP_AND: sp--; stack[sp - 1] &= stack[sp]; break;
        case OP_SHR: sp--; stack[sp - 1] >>= stack[sp]; break;
        case OP_HALT: return sp > 0 ? stack[sp - 1] : 0;
        default: fprintf(stderr, "interp: bad opcode %d at %d\n", op, pc - 1); exit(1);
        }
    }
}

/* A tiny assembler with labels patched after emission. */
typedef struct {
    int32_t code[512];
    int len;
    int labels[32];
    int fixups[64][2];
    int nfix;
} assembler;

static void emit(assembler *a, int32_t v) { a->code[a->len++] = v; }
static void emit_jump(assembler *a, int32_t op, int label) {
    emit(a, op);
    a->fixups[a->nfix][0] = a->len;
    a->fixups[a->nfix][1] = label;
    a->nfix++;
    emit(a, 0);
}
static void bind(assembler *a, int label) { a->labels[label] = a->len; }
static void patch(assembler *a) {
    for (int i = 0; i < a->nfix; i++)
        a->code[a->fixups[i][0]] = a->labels[a->fixups[i][1]];
}

enum { V_N, V_I, V_D, V_PRIMES, V_ACC, V_X };
enum { L_OUTER, L_INNER, L_NOTPRIME, L_ISPRIME, L_NEXT, L_DONE, L_COLLATZ, L_EVEN, L_CDONE };

static uint64_t bench_run(int n) {
    assembler a = {0};
    /* for (i = 2; i < n; i++) { for (d = 2; d*d <= i; d++) if (i % d == 0) goto next;
     *   primes++; x = i; while (x != 1) { acc++; x = (x & 1) ? 3x+1 : x >> 1; } next: } */
    emit(&a, OP_PUSH); emit(&a, 2); emit(&a, OP_STORE); emit(&a, V_I);
    bind(&a, L_OUTER);
    emit(&a, OP_LOAD); emit(&a, V_I); emit(&a, OP_LOAD); emit(&a, V_N); emit(&a, OP_LT);
    emit_jump(&a, OP_JZ, L_DONE);
    emit(&a, OP_PUSH); emit(&a, 2); emit(&a, OP_STORE); emit(&a, V_D);
    bind(&a, L_INNER);
    emit(&a, OP_LOAD); emit(&a, V_I); emit(&a, OP_LOAD); emit(&a, V_D); emit(&a, OP_DUP);
    emit(&a, OP_MUL); emit(&a, OP_LT);                         /* i < d*d -> prime */
    emit_jump(&a, OP_JNZ, L_ISPRIME);
    emit(&a, OP_LOAD); emit(&a, V_I); emit(&a, OP_LOAD); emit(&a, V_D); emit(&a, OP_MOD);
    emit_jump(&a, OP_JZ, L_NEXT);
    emit(&a, OP_INC); emit(&a, V_D);
    emit_jump(&a, OP_JMP, L_INNER);
    bind(&a, L_ISPRIME);
    emit(&a, OP_INC); emit(&a, V_PRIMES);
    emit(&a, OP_LOAD); emit(&a, V_I); emit(&a, OP_STORE); emit(&a, V_X);
    bind(&a, L_COLLATZ);
    emit(&a, OP_LOAD); emit(&a, V_X); emit(&a, OP_PUSH); emit(&a, 1); emit(&a, OP_EQ);
    emit_jump(&a, OP_JNZ, L_NEXT);
    emit(&a, OP_INC); emit(&a, V_ACC);
    emit(&a, OP_LOAD); emit(&a, V_X); emit(&a, OP_PUSH); emit(&a, 1); emit(&a, OP_AND);
    emit_jump(&a, OP_JZ, L_EVEN);
    emit(&a, OP_LOAD); emit(&a, V_X); emit(&a, OP_PUSH); emit(&a, 3); emit(&a, OP_MUL);
    emit(&a, OP_PUSH); emit(&a, 1); emit(&a, OP_ADD); emit(&a, OP_STORE); emit(&a, V_X);
    emit_jump(&a, OP_JMP, L_COLLATZ);
    bind(&a, L_EVEN);
    emit(&a, OP_LOAD); emit(&a, V_X); emit(&a, OP_PUSH); emit(&a, 1); emit(&a, OP_SHR);
    emit(&a, OP_STORE); emit(&a, V_X);
    emit_jump(&a, OP_JMP, L_COLLATZ);
    bind(&a, L_NEXT);
    emit(&a, OP_INC); emit(&a, V_I);
    emit_jump(&a, OP_JMP, L_OUTER);
    bind(&a, L_DONE);
    emit(&a, OP_LOAD); emit(&a, V_ACC); emit(&a, OP_HALT);
    patch(&a);

    int64_t vars[8] = {0};
    vars[V_N] = n;
    int64_t acc = run_vm(a.code, vars);
    uint64_t h = bench_mix(0, (uint64_t)acc);
    return bench_mix(h, (uint64_t)vars[V_PRIMES]);
}
