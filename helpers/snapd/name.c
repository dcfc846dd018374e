/* The snapshot name policy: pure, so it is unit-tested on its own
 * (tests/unit/test_snapname.c). */
#include "config.h"

#include <string.h>

#include "helpers/snapd/snapd.h"

static bool
is_alnum(char c)
{
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

bool
snapd_name_valid(const char *name)
{
        size_t i;

        if (name == NULL || !is_alnum(name[0]))
                return false; /* also "", ".", "..", "/x", "-x" */
        for (i = 1; name[i] != '\0'; i++) {
                char c = name[i];
                if (i >= SNAPD_NAME_MAX)
                        return false;
                if (!is_alnum(c) && c != '_' && c != '.' && c != '-')
                        return false; /* '/' among others */
        }
        /* Unreachable for "." and "..", which fail the first character;
         * kept so the rule stays true if the first-character rule changes. */
        return strcmp(name, ".") != 0 && strcmp(name, "..") != 0;
}
