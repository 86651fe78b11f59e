/* main.c — `main` of an executable produced by wasmc: run the compiled module as a WASI command.
 *
 * Strategy.  Resolve every import of `wasmc_module_desc` (only wasi_snapshot_preview1 functions
 * exist; anything else is an error, worded like wasmtime's), build the WASI context from the grants,
 * instantiate, invoke `_start`, and turn the outcome into an exit status the way `wasmtime run` does:
 * normal return 0, proc_exit(n) n, any trap prints `wasm trap: MESSAGE` and exits 134, link errors 1,
 * a WASI call refused as a host error (proc_exit(200), an out-of-range enum) 1.
 *
 * Grants (capabilities given to the guest).  Each grant is one string:
 *   --dir=HOST::GUEST   preopen host directory HOST, seen by the guest as GUEST
 *   --dir=HOST          same, with GUEST = HOST
 *   --env=NAME=VALUE    environment variable NAME for the guest
 *   --env=NAME          environment variable NAME with the host's value (if the host has it)
 * Grants come from two places, in this order:
 *   1. compile time: the optional NULL-terminated array `wasmc_default_grants` linked into the
 *      executable (`wasmc app.wasm -o app --dir ... --env ...`);
 *   2. run time: the environment variable WASMC_GRANTS, grants separated by newlines, e.g.
 *        WASMC_GRANTS=$'--dir=/data::/data\n--env=HOME=/data' ./app args...
 * The guest sees no host environment variable that was not granted (as in wasmtime).  Directories
 * get guest fds 3, 4, ... in grant order.  A run-time --env replaces a compile-time one of the same
 * NAME; within one source every --env is kept, in order (wasmtime keeps duplicates too).
 * The guest's argv[0] is the basename of the executable, or WASMC_ARGV0 if set (so `wasmc run` can
 * pass exactly what wasmtime would); argv[1..] are the executable's arguments.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wasmc_rt.h"

extern const wasmc_module wasmc_module_desc;
__attribute__((weak)) extern const char *const wasmc_default_grants[];

typedef struct grants {
    int ndirs, nenv, cap_dirs, cap_env;
    int nenv_replaceable; /* env[0 .. this) came from compile time: run-time grants replace them */
    const char **dir_host, **dir_guest, **env;
} grants;

static _Noreturn void die(const char *fmt, const char *a, const char *b) {
    fprintf(stderr, "wasmc: ");
    fprintf(stderr, fmt, a, b);
    fputc('\n', stderr);
    exit(1);
}

static void *xrealloc(void *p, size_t n) {
    p = realloc(p, n);
    if (!p) die("%s%s", "out of memory", "");
    return p;
}

static void grant_env(grants *g, const char *nv) {
    size_t nlen = strcspn(nv, "=");
    for (int i = 0; i < g->nenv_replaceable; i++)
        if (strncmp(g->env[i], nv, nlen) == 0 && g->env[i][nlen] == '=') {
            g->env[i] = nv;
            return;
        }
    if (g->nenv == g->cap_env) {
        g->cap_env = g->cap_env ? 2 * g->cap_env : 8;
        g->env = xrealloc(g->env, (size_t)g->cap_env * sizeof *g->env);
    }
    g->env[g->nenv++] = nv;
}

static void grant(grants *g, const char *s) {
    if (*s == '\0') return;
    if (strncmp(s, "--dir=", 6) == 0) {
        const char *spec = s + 6, *sep = strstr(spec, "::");
        if (g->ndirs == g->cap_dirs) {
            g->cap_dirs = g->cap_dirs ? 2 * g->cap_dirs : 8;
            g->dir_host = xrealloc(g->dir_host, (size_t)g->cap_dirs * sizeof *g->dir_host);
            g->dir_guest = xrealloc(g->dir_guest, (size_t)g->cap_dirs * sizeof *g->dir_guest);
        }
        g->dir_host[g->ndirs] = sep ? strndup(spec, (size_t)(sep - spec)) : spec;
        g->dir_guest[g->ndirs] = sep ? sep + 2 : spec;
        g->ndirs++;
    } else if (strncmp(s, "--env=", 6) == 0) {
        const char *nv = s + 6;
        if (strchr(nv, '=')) {
            grant_env(g, nv);
        } else {
            const char *v = getenv(nv);
            if (!v) return; /* like wasmtime's `--env NAME` for an unset NAME */
            size_t n = strlen(nv) + strlen(v) + 2;
            char *buf = xrealloc(NULL, n);
            snprintf(buf, n, "%s=%s", nv, v);
            grant_env(g, buf);
        }
    } else {
        die("invalid grant `%s`%s (expected --dir=HOST[::GUEST] or --env=NAME[=VALUE])", s, "");
    }
}

static void grants_from_env(grants *g) {
    const char *spec = getenv("WASMC_GRANTS");
    if (!spec) return;
    char *copy = strdup(spec), *save = NULL; /* kept for the process lifetime: grants point in */
    if (!copy) die("%s%s", "out of memory", "");
    for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        size_t n = strlen(line);
        if (n && line[n - 1] == '\r') line[n - 1] = '\0';
        grant(g, line);
    }
}

/* Bind every import; only WASI functions of the exact signature exist. */
static wasmc_import *resolve_imports(const wasmc_module *m) {
    wasmc_import *imports = calloc(m->num_imports ? m->num_imports : 1, sizeof *imports);
    if (!imports) die("%s%s", "out of memory", "");
    for (uint32_t i = 0; i < m->num_imports; i++) {
        const wasmc_import_desc *d = &m->imports[i];
        const char *sig = NULL;
        void *fn = NULL;
        if (d->kind == 0 && strcmp(d->module, "wasi_snapshot_preview1") == 0)
            fn = wasmc_wasi_lookup(d->name, &sig);
        if (!fn) {
            fprintf(stderr, "wasmc: unknown import: `%s::%s` has not been defined\n", d->module, d->name);
            exit(1);
        }
        if (d->index >= m->num_types || strcmp(sig, m->type_sigs[d->index]) != 0)
            die("incompatible import type for `wasi_snapshot_preview1::%s`%s", d->name, "");
        imports[i].func = wasmc_rt_funcref_new(fn, NULL, sig, WASMC_FUNCREF_BIND_CALLER);
        if (!imports[i].func) die("%s%s", "out of memory", "");
    }
    return imports;
}

static int finish(int32_t trap) {
    if (trap == WASMC_TRAP_NONE) return 0;
    if (trap == WASMC_TRAP_EXIT) return wasmc_rt_exit_code;
    char bt[4096];
    if (wasmc_rt_last_backtrace(bt, sizeof bt) > 0) fputs(bt, stderr);
    fprintf(stderr, "wasm trap: %s\n", wasmc_rt_trap_message(trap));
    /* A WASI call that failed as a host error (it has printed why) is not a trap to wasmtime:
     * `wasmtime run` exits 1 for those, 134 only for traps. */
    return trap == WASMC_TRAP_HOST ? 1 : 134;
}

int main(int argc, char **argv) {
    const wasmc_module *m = &wasmc_module_desc;
    grants g;
    memset(&g, 0, sizeof g);
    if (wasmc_default_grants)
        for (const char *const *s = wasmc_default_grants; *s; s++) grant(&g, *s);
    g.nenv_replaceable = g.nenv;
    grants_from_env(&g);

    wasmc_import *imports = resolve_imports(m);

    const char **gargv = xrealloc(NULL, (size_t)(argc > 0 ? argc : 1) * sizeof *gargv);
    const char *argv0 = getenv("WASMC_ARGV0");
    if (!argv0) {
        argv0 = argc > 0 ? argv[0] : "wasm";
        const char *slash = strrchr(argv0, '/');
        if (slash) argv0 = slash + 1;
    }
    gargv[0] = argv0;
    for (int i = 1; i < argc; i++) gargv[i] = argv[i];

    wasmc_wasi_config cfg = {
        .argc = argc > 0 ? argc : 1,
        .argv = gargv,
        .envc = g.nenv,
        .envp = g.env,
        .ndirs = g.ndirs,
        .dir_host = g.dir_host,
        .dir_guest = g.dir_guest,
    };
    void *wasi = wasmc_wasi_new(&cfg);
    if (!wasi) {
        /* Name the grant that failed: the only failure that is not out-of-memory. */
        int err = errno;
        for (int i = 0; i < g.ndirs; i++) {
            FILE *probe = fopen(g.dir_host[i], "r");
            if (!probe) die("failed to open directory `%s`: %s", g.dir_host[i], strerror(errno));
            fclose(probe);
        }
        die("cannot set up WASI: %s%s", strerror(err), "");
    }

    wasmc_instance *inst = NULL;
    char err[512] = "";
    int32_t rc = wasmc_rt_instantiate(m, imports, wasi, &inst, err, sizeof err);
    if (rc < 0) die("%s%s", err, "");
    if (rc > 0) return finish(rc); /* the start function trapped or exited */

    for (uint32_t i = 0; i < m->num_exports; i++) {
        const wasmc_export_desc *e = &m->exports[i];
        if (e->kind == 0 && strcmp(e->name, "_start") == 0) {
            wasmc_val vals[1];
            memset(vals, 0, sizeof vals);
            return finish(wasmc_rt_invoke(inst, e->index, vals));
        }
    }
    return 0;
}
