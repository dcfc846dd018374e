/* libarchive for `containr build` only, loaded on first use with dlopen:
 * linked, it drags libxml2, ICU and libstdc++ into every start of the CLI
 * (about 4 ms of each `containr run`, docs/performance.md).  The calls
 * keep libarchive's names with a sym_ prefix and its own types. */
#ifndef CNR_CLI_ARCHIVE_H
#define CNR_CLI_ARCHIVE_H

#include <archive.h>
#include <archive_entry.h>

#include "common/err.h"

#define CNR_CLI_ARCHIVE_SYMS(X)                                                                                        \
        X(archive_entry_new)                                                                                           \
        X(archive_entry_free)                                                                                          \
        X(archive_entry_set_pathname)                                                                                  \
        X(archive_entry_set_filetype)                                                                                  \
        X(archive_entry_set_perm)                                                                                      \
        X(archive_entry_set_size)                                                                                      \
        X(archive_entry_set_uid)                                                                                       \
        X(archive_entry_set_gid)                                                                                       \
        X(archive_entry_set_mtime)                                                                                     \
        X(archive_entry_set_symlink)                                                                                   \
        X(archive_error_string)                                                                                        \
        X(archive_write_new)                                                                                           \
        X(archive_write_set_format_pax_restricted)                                                                     \
        X(archive_write_open_fd)                                                                                       \
        X(archive_write_header)                                                                                        \
        X(archive_write_data)                                                                                          \
        X(archive_write_close)                                                                                         \
        X(archive_write_free)

#define CNR_CLI_ARCHIVE_DECL(name) extern __typeof__(name) *sym_##name;
CNR_CLI_ARCHIVE_SYMS(CNR_CLI_ARCHIVE_DECL)
#undef CNR_CLI_ARCHIVE_DECL

/* Load libarchive (once); an error names the library and dlerror's cause. */
int cnr_cli_archive_load(struct cnr_err **err);

#endif
