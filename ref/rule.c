/* rule.c: the registry of keep-probability rules (DESIGN.md 2.3). */
#include <string.h>

#include "sus.h"

static const sus_rule *const rules[] = {&sus_rule_minc, &sus_rule_waterfill};

const sus_rule *sus_rule_find(const char *name)
{
    if (!name)
        return NULL;
    for (size_t t = 0; t < sizeof rules / sizeof rules[0]; t++)
        if (strcmp(rules[t]->name, name) == 0)
            return rules[t];
    return NULL;
}

const sus_rule *sus_rule_at(size_t index)
{
    return index < sizeof rules / sizeof rules[0] ? rules[index] : NULL;
}
