/* lambda/registry — handler name -> function. Filled with the handlers
 * compiled in from handlers/ (handlers/registry.c) when first used, then
 * with any library loaded by --handlers (dlopen + tp_handlers_init), and
 * with tp_engine_register_handler from an embedding test. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lambda.h"

struct tp_handler_registry {
    struct entry {
        char *name;
        tp_handler_fn fn;
        tp_init_fn init;
    } *v;
    size_t n, cap;
    void **libs;   /* dlopen handles, closed with the registry */
    size_t nlibs;
};

/* handlers/registry.c */
int tp_builtin_handlers_init(tp_handler_registry *reg);

int tp_register_handler_abi(tp_handler_registry *reg, int abi_version, const char *name,
                            tp_handler_fn fn)
{
    if (!reg || abi_version != TP_HANDLER_ABI_VERSION || !name || !*name || !fn ||
        strlen(name) > 128)
        return -1;
    for (size_t i = 0; i < reg->n; i++)
        if (strcmp(reg->v[i].name, name) == 0)
            return -1;
    if (reg->n == reg->cap) {
        size_t cap = reg->cap ? reg->cap * 2 : 16;
        struct entry *v = realloc(reg->v, cap * sizeof *v);
        if (!v)
            return -1;
        reg->v = v;
        reg->cap = cap;
    }
    reg->v[reg->n].name = strdup(name);
    if (!reg->v[reg->n].name)
        return -1;
    reg->v[reg->n].init = NULL;
    reg->v[reg->n++].fn = fn;
    return 0;
}

int tp_register_init(tp_handler_registry *reg, const char *name, tp_init_fn fn)
{
    if (!reg || !name || !fn)
        return -1;
    for (size_t i = 0; i < reg->n; i++)
        if (strcmp(reg->v[i].name, name) == 0) {
            if (reg->v[i].init)
                return -1;
            reg->v[i].init = fn;
            return 0;
        }
    return -1;
}

tp_handler_registry *lambda_registry(tp_core *core)
{
    if (!core->handlers) {
        core->handlers = calloc(1, sizeof *core->handlers);
        if (core->handlers)
            tp_builtin_handlers_init(core->handlers);
    }
    return core->handlers;
}

void lambda_registry_free(tp_core *core)
{
    tp_handler_registry *reg = core->handlers;
    if (!reg)
        return;
    for (size_t i = 0; i < reg->n; i++)
        free(reg->v[i].name);
    free(reg->v);
    for (size_t i = 0; i < reg->nlibs; i++)
        dlclose(reg->libs[i]);
    free(reg->libs);
    free(reg);
    core->handlers = NULL;
}

tp_handler_fn lambda_handler_find(tp_core *core, const char *name)
{
    tp_handler_registry *reg = lambda_registry(core);
    if (!reg || !name)
        return NULL;
    for (size_t i = 0; i < reg->n; i++)
        if (strcmp(reg->v[i].name, name) == 0)
            return reg->v[i].fn;
    return NULL;
}

tp_init_fn lambda_handler_init_find(tp_core *core, const char *name)
{
    tp_handler_registry *reg = lambda_registry(core);
    if (!reg || !name)
        return NULL;
    for (size_t i = 0; i < reg->n; i++)
        if (strcmp(reg->v[i].name, name) == 0)
            return reg->v[i].init;
    return NULL;
}

int lambda_handlers_load(tp_core *core, const char *path, char *why, size_t why_cap)
{
    tp_handler_registry *reg = lambda_registry(core);
    if (!reg) {
        snprintf(why, why_cap, "out of memory");
        return -1;
    }
    void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        snprintf(why, why_cap, "cannot load %s: %s", path, dlerror());
        return -1;
    }
    tp_handlers_init_fn init;
    *(void **)&init = dlsym(lib, TP_HANDLERS_INIT_SYMBOL);
    if (!init) {
        snprintf(why, why_cap, "%s does not export %s", path, TP_HANDLERS_INIT_SYMBOL);
        dlclose(lib);
        return -1;
    }
    void **libs = realloc(reg->libs, (reg->nlibs + 1) * sizeof *libs);
    if (!libs) {
        dlclose(lib);
        snprintf(why, why_cap, "out of memory");
        return -1;
    }
    reg->libs = libs;
    reg->libs[reg->nlibs++] = lib;
    if (init(reg) != 0) {
        snprintf(why, why_cap, "%s: %s failed (a name taken twice, or built against another "
                 "handler ABI than %d?)", path, TP_HANDLERS_INIT_SYMBOL, TP_HANDLER_ABI_VERSION);
        return -1;
    }
    return 0;
}
