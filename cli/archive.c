#include "config.h"

#include <dlfcn.h>
#include <errno.h>

#include "cli/archive.h"

/* The soname of libarchive 3 (Debian's libarchive13), what the linker
 * would have recorded. */
#define LIBARCHIVE_SONAME "libarchive.so.13"

#define CNR_CLI_ARCHIVE_DEF(name) __typeof__(name) *sym_##name;
CNR_CLI_ARCHIVE_SYMS(CNR_CLI_ARCHIVE_DEF)
#undef CNR_CLI_ARCHIVE_DEF

int
cnr_cli_archive_load(struct cnr_err **err)
{
        static void *lib;
        void *h;

        if (lib)
                return 0;
        h = dlopen(LIBARCHIVE_SONAME, RTLD_NOW | RTLD_LOCAL);
        if (h == NULL)
                return cnr_errf(err, ENOENT, "load %s (libarchive13, needed to send the build context): %s",
                                LIBARCHIVE_SONAME, dlerror());
#define CNR_CLI_ARCHIVE_SYM(name)                                                                                      \
        if ((sym_##name = (__typeof__(name) *)dlsym(h, #name)) == NULL) {                                              \
                cnr_errf(err, ENOENT, "%s has no `%s`: %s", LIBARCHIVE_SONAME, #name, dlerror());                      \
                dlclose(h);                                                                                            \
                return -1;                                                                                             \
        }
        CNR_CLI_ARCHIVE_SYMS(CNR_CLI_ARCHIVE_SYM)
#undef CNR_CLI_ARCHIVE_SYM
        lib = h;
        return 0;
}
