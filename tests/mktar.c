/* mktar: write a layer tarball from entry specs, for the snapshot tests
 * (hostile ones included: names and links no well-behaved tool writes).
 *
 *   mktar [-z gzip|zstd|none] [-o FILE] SPEC...
 *
 *   f:PATH:CONTENT[:MODE[:UID:GID]]   regular file (MODE octal)
 *   d:PATH[:MODE[:UID:GID]]           directory
 *   l:PATH:TARGET                     symlink
 *   h:PATH:TARGET                     hardlink
 *   c:PATH:MAJOR:MINOR / b:...        character / block device (numbers may be huge)
 *   p:PATH                            fifo
 *   x:PATH:CONTENT:XATTR:VALUE        regular file with one xattr
 *   z:PATH:SIZE                       regular file of SIZE zero bytes (streamed)
 *   w:PATH                            empty regular file (a whiteout when PATH's base is .wh.*)
 *
 * Written as pax, times fixed at 2001-09-09, so the bytes are reproducible. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#define MTIME 1000000000

static void
die(struct archive *a, const char *what)
{
        fprintf(stderr, "mktar: %s: %s\n", what, a ? archive_error_string(a) : strerror(errno));
        exit(1);
}

static int
split(char *s, char **f, int n)
{
        int k = 0;

        f[k++] = s;
        for (char *p = s; *p && k < n; p++)
                if (*p == ':') {
                        *p = '\0';
                        f[k++] = p + 1;
                }
        return k;
}

int
main(int argc, char **argv)
{
        const char *comp = "none", *out = NULL;
        struct archive *a;
        int i, opt;

        while ((opt = getopt(argc, argv, "z:o:")) != -1) {
                if (opt == 'z')
                        comp = optarg;
                else if (opt == 'o')
                        out = optarg;
                else
                        return 2;
        }
        a = archive_write_new();
        if (archive_write_set_format_pax(a) != ARCHIVE_OK)
                die(a, "pax");
        if (strcmp(comp, "gzip") == 0) {
                if (archive_write_add_filter_gzip(a) != ARCHIVE_OK)
                        die(a, "gzip");
                archive_write_set_filter_option(a, "gzip", "timestamp", NULL);
        } else if (strcmp(comp, "zstd") == 0) {
                if (archive_write_add_filter_zstd(a) != ARCHIVE_OK)
                        die(a, "zstd");
        } else if (strcmp(comp, "none") != 0) {
                fprintf(stderr, "mktar: -z %s: not gzip, zstd or none\n", comp);
                return 2;
        }
        if (archive_write_open_filename(a, out) != ARCHIVE_OK)
                die(a, out ? out : "stdout");
        for (i = optind; i < argc; i++) {
                char *spec = strdup(argv[i]), *f[6] = {0};
                int n = split(spec, f, 6);
                struct archive_entry *e = archive_entry_new();
                const char *content = NULL;
                unsigned long long zeros = 0;

                if (n < 2 || strlen(f[0]) != 1) {
                        fprintf(stderr, "mktar: bad spec `%s`\n", argv[i]);
                        return 2;
                }
                archive_entry_set_pathname(e, f[1]);
                archive_entry_set_mtime(e, MTIME, 0);
                archive_entry_set_uid(e, 0);
                archive_entry_set_gid(e, 0);
                switch (f[0][0]) {
                case 'f':
                case 'x':
                case 'w':
                        content = n > 2 ? f[2] : "";
                        archive_entry_set_filetype(e, AE_IFREG);
                        archive_entry_set_perm(e, 0644);
                        if (f[0][0] == 'f' && n > 3)
                                archive_entry_set_perm(e, (mode_t)strtoul(f[3], NULL, 8));
                        if (f[0][0] == 'f' && n > 5) {
                                archive_entry_set_uid(e, strtoll(f[4], NULL, 10));
                                archive_entry_set_gid(e, strtoll(f[5], NULL, 10));
                        }
                        if (f[0][0] == 'x' && n > 4)
                                archive_entry_xattr_add_entry(e, f[3], f[4], strlen(f[4]));
                        archive_entry_set_size(e, (la_int64_t)strlen(content));
                        break;
                case 'z':
                        zeros = n > 2 ? strtoull(f[2], NULL, 10) : 0;
                        archive_entry_set_filetype(e, AE_IFREG);
                        archive_entry_set_perm(e, 0644);
                        archive_entry_set_size(e, (la_int64_t)zeros);
                        break;
                case 'd':
                        archive_entry_set_filetype(e, AE_IFDIR);
                        archive_entry_set_perm(e, n > 2 ? (mode_t)strtoul(f[2], NULL, 8) : 0755);
                        if (n > 4) {
                                archive_entry_set_uid(e, strtoll(f[3], NULL, 10));
                                archive_entry_set_gid(e, strtoll(f[4], NULL, 10));
                        }
                        break;
                case 'l':
                        archive_entry_set_filetype(e, AE_IFLNK);
                        archive_entry_set_perm(e, 0777);
                        archive_entry_set_symlink(e, n > 2 ? f[2] : "");
                        break;
                case 'h':
                        archive_entry_set_filetype(e, AE_IFREG);
                        archive_entry_set_perm(e, 0644);
                        archive_entry_set_hardlink(e, n > 2 ? f[2] : "");
                        archive_entry_set_size(e, 0);
                        break;
                case 'c':
                case 'b':
                        archive_entry_set_filetype(e, f[0][0] == 'c' ? AE_IFCHR : AE_IFBLK);
                        archive_entry_set_perm(e, 0600);
                        archive_entry_set_rdevmajor(e, (dev_t)strtoull(n > 2 ? f[2] : "0", NULL, 10));
                        archive_entry_set_rdevminor(e, (dev_t)strtoull(n > 3 ? f[3] : "0", NULL, 10));
                        break;
                case 'p':
                        archive_entry_set_filetype(e, AE_IFIFO);
                        archive_entry_set_perm(e, 0644);
                        break;
                default:
                        fprintf(stderr, "mktar: bad spec `%s`\n", argv[i]);
                        return 2;
                }
                if (archive_write_header(a, e) < ARCHIVE_WARN)
                        die(a, argv[i]);
                if (content && *content && archive_write_data(a, content, strlen(content)) < 0)
                        die(a, argv[i]);
                if (zeros) {
                        static char buf[1 << 16];
                        while (zeros) {
                                size_t k = zeros > sizeof(buf) ? sizeof(buf) : (size_t)zeros;
                                if (archive_write_data(a, buf, k) < 0)
                                        die(a, argv[i]);
                                zeros -= k;
                        }
                }
                archive_entry_free(e);
                free(spec);
        }
        if (archive_write_close(a) != ARCHIVE_OK)
                die(a, "close");
        archive_write_free(a);
        return 0;
}
