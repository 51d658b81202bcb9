/* core/dispatch — target name -> action registry (see dispatch.h).
 * A small open-addressing hash on the target string: lookups sit on every
 * request's path. */
#include "dispatch.h"

#include <stdlib.h>
#include <string.h>

#define MAX_SERVICES 16

struct tp_dispatch {
    const tp_service *services[MAX_SERVICES];
    size_t nservices;
    const tp_action **slots;
    size_t nslots, nused;
};

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

tp_dispatch *tp_dispatch_new(void)
{
    tp_dispatch *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->nslots = 256;
    d->slots = calloc(d->nslots, sizeof *d->slots);
    if (!d->slots) {
        free(d);
        return NULL;
    }
    return d;
}

void tp_dispatch_free(tp_dispatch *d)
{
    if (!d)
        return;
    free(d->slots);
    free(d);
}

static int insert(tp_dispatch *d, const tp_action *a)
{
    if ((d->nused + 1) * 2 > d->nslots) {
        size_t n = d->nslots * 2;
        const tp_action **s = calloc(n, sizeof *s);
        if (!s)
            return -1;
        for (size_t i = 0; i < d->nslots; i++) {
            if (!d->slots[i])
                continue;
            size_t j = hash_str(d->slots[i]->target) & (n - 1);
            while (s[j])
                j = (j + 1) & (n - 1);
            s[j] = d->slots[i];
        }
        free(d->slots);
        d->slots = s;
        d->nslots = n;
    }
    size_t j = hash_str(a->target) & (d->nslots - 1);
    while (d->slots[j]) {
        if (strcmp(d->slots[j]->target, a->target) == 0)
            return -1;   /* duplicate target: a table bug */
        j = (j + 1) & (d->nslots - 1);
    }
    d->slots[j] = a;
    d->nused++;
    return 0;
}

int tp_dispatch_add_service(tp_dispatch *d, const tp_service *svc)
{
    if (d->nservices == MAX_SERVICES)
        return -1;
    for (size_t i = 0; i < svc->nactions; i++)
        if (insert(d, &svc->actions[i]) != 0)
            return -1;
    d->services[d->nservices++] = svc;
    return 0;
}

const tp_action *tp_dispatch_find(const tp_dispatch *d, const char *target)
{
    if (!target)
        return NULL;
    size_t j = hash_str(target) & (d->nslots - 1);
    while (d->slots[j]) {
        if (strcmp(d->slots[j]->target, target) == 0)
            return d->slots[j];
        j = (j + 1) & (d->nslots - 1);
    }
    return NULL;
}

const tp_action *tp_dispatch_find_op(const tp_dispatch *d, const char *service, const char *name)
{
    for (size_t i = 0; i < d->nservices; i++) {
        const tp_service *s = d->services[i];
        if (strcmp(s->name, service) != 0)
            continue;
        for (size_t k = 0; k < s->nactions; k++)
            if (strcmp(s->actions[k].name, name) == 0)
                return &s->actions[k];
    }
    return NULL;
}

size_t tp_dispatch_service_count(const tp_dispatch *d) { return d->nservices; }

const tp_service *tp_dispatch_service(const tp_dispatch *d, size_t i)
{
    return i < d->nservices ? d->services[i] : NULL;
}

void tp_core_wake(tp_core *core, const char *key)
{
    if (core && core->host && core->host->wake && key && *key)
        core->host->wake(core->host->ctx, key);
}
