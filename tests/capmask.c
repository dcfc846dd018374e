/* capmask CAP_X CAP_Y ... : print the 64-bit mask as /proc/<pid>/status
 * shows it (16 hex digits).  Names are resolved by libcap. */
#include "config.h"

#include <stdio.h>
#include <sys/capability.h>

int
main(int argc, char **argv)
{
        unsigned long long m = 0;

        for (int i = 1; i < argc; i++) {
                cap_value_t v;
                if (cap_from_name(argv[i], &v) < 0) {
                        fprintf(stderr, "capmask: unknown capability `%s`\n", argv[i]);
                        return 2;
                }
                m |= 1ULL << v;
        }
        printf("%016llx\n", m);
        return 0;
}
