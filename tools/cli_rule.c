/* cli_rule.c: the --rule option, resolved by the library's registry. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

int sus_cli_parse_rule(const char *option, const char *text, const sus_rule **out,
                       char *msg)
{
    const sus_rule *r = sus_rule_find(text);
    if (r) {
        *out = r;
        return 1;
    }
    char names[128] = "";
    size_t used = 0;
    for (size_t t = 0; sus_rule_at(t); t++) {
        int w = snprintf(names + used, sizeof names - used, "%s%s", used ? ", " : "",
                         sus_rule_at(t)->name);
        if (w < 0 || (size_t)w >= sizeof names - used)
            break;
        used += (size_t)w;
    }
    sus_cli_bad(msg, "%s: unknown rule '%s'; valid rules: %s", option, text, names);
    return 0;
}
