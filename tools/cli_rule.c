/* cli_rule.c: the --rule option, resolved by the library's registry. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

/* sus.h offers lookup by name but no enumeration, so the candidates that a
 * refusal lists are named here; only those the library resolves are shown. */
static const char *const known_rules[] = {"minc", "waterfill"};

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
    for (size_t t = 0; t < sizeof known_rules / sizeof known_rules[0]; t++) {
        if (!sus_rule_find(known_rules[t]))
            continue;
        int w = snprintf(names + used, sizeof names - used, "%s%s", used ? ", " : "",
                         known_rules[t]);
        if (w < 0 || (size_t)w >= sizeof names - used)
            break;
        used += (size_t)w;
    }
    sus_cli_bad(msg, "%s: unknown rule '%s'; valid rules: %s", option, text, names);
    return 0;
}
