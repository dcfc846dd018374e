/* containr build --check | --print-plan
 *
 * The CLI opens the build context with the operator's own credentials
 * (DESIGN.md section 2: the engine never opens a host path for a user) and
 * streams it as a tar into a pipe whose read end goes to containrd with the
 * request; containrd hands it to containr-buildd.  A forked child writes the
 * stream while the parent waits for the answer.  What .dockerignore (or
 * <Dockerfile>.dockerignore beside a named Dockerfile) excludes is not sent;
 * the matcher is the one buildd uses (helpers/buildd/frontend/ignore.c).
 * The Dockerfile and the chosen ignore file travel under
 * .containr-build-meta/.  The report comes back as a sealed memfd.
 *
 * The CLI also parses the Dockerfile itself (the same front end, with the
 * same build args, target and platform) for one thing: the external images
 * the stages the target needs name, which go with the request so that
 * containrd can give buildd their facts from the local image store.
 *
 * Without --check or --print-plan there is nothing this release can do:
 * images are not built until the executor exists, and we say so. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/archive.h"
#include "cli/cli.h"
#include "cli/client.h"
#include "cli/crypto.h"
#include "common/util.h"
#include "helpers/buildd/frontend/df.h"

#define META_MAX (4u * 1024 * 1024)

struct walk {
        struct archive *a;
        const struct cnr_df_ignore *ig;
        unsigned long long entries;
};

static int
slurp_at(int dirfd, const char *path, char **out, size_t *len, struct cnr_err **err)
{
        _cleanup_close_ int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
        struct cnr_df_buf b = {0};
        char chunk[16384];
        ssize_t n;

        if (fd < 0)
                return cnr_errf(err, errno, "open `%s`", path);
        while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        free(b.s);
                        return cnr_errf(err, errno, "read `%s`", path);
                }
                if (b.len + (size_t)n > META_MAX) {
                        free(b.s);
                        return cnr_errf(err, EFBIG, "`%s` is larger than %u bytes", path, META_MAX);
                }
                cnr_df_buf_add(&b, chunk, (size_t)n);
        }
        *len = b.len;
        *out = cnr_df_buf_steal(&b);
        return 0;
}

static int
put_data(struct archive *a, const char *name, const char *data, size_t len, struct cnr_err **err)
{
        struct archive_entry *e = sym_archive_entry_new();
        int rc = 0;

        sym_archive_entry_set_pathname(e, name);
        sym_archive_entry_set_filetype(e, AE_IFREG);
        sym_archive_entry_set_perm(e, 0644);
        sym_archive_entry_set_size(e, (la_int64_t)len);
        if (sym_archive_write_header(a, e) != ARCHIVE_OK ||
            (len > 0 && sym_archive_write_data(a, data, len) != (la_ssize_t)len))
                rc = cnr_errf(err, EIO, "stream `%s`: %s", name, sym_archive_error_string(a));
        sym_archive_entry_free(e);
        return rc;
}

static int
put_entry(struct walk *w, int dirfd, const char *name, const char *rel, const struct stat *st, struct cnr_err **err)
{
        struct archive_entry *e = sym_archive_entry_new();
        int rc = -1;

        sym_archive_entry_set_pathname(e, rel);
        sym_archive_entry_set_perm(e, st->st_mode & 07777);
        sym_archive_entry_set_uid(e, st->st_uid);
        sym_archive_entry_set_gid(e, st->st_gid);
        sym_archive_entry_set_mtime(e, st->st_mtim.tv_sec, st->st_mtim.tv_nsec);
        if (S_ISDIR(st->st_mode)) {
                sym_archive_entry_set_filetype(e, AE_IFDIR);
                if (sym_archive_write_header(w->a, e) != ARCHIVE_OK)
                        goto arch;
        } else if (S_ISLNK(st->st_mode)) {
                char target[PATH_MAX];
                ssize_t n = readlinkat(dirfd, name, target, sizeof(target) - 1);
                if (n < 0) {
                        cnr_errf(err, errno, "readlink `%s`", rel);
                        goto out;
                }
                target[n] = '\0';
                sym_archive_entry_set_filetype(e, AE_IFLNK);
                sym_archive_entry_set_symlink(e, target);
                if (sym_archive_write_header(w->a, e) != ARCHIVE_OK)
                        goto arch;
        } else {
                _cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
                struct stat fst;
                char buf[65536];
                ssize_t n;
                off_t left;

                if (fd < 0 || fstat(fd, &fst) < 0) {
                        cnr_errf(err, errno, "open `%s`", rel);
                        goto out;
                }
                if (!S_ISREG(fst.st_mode)) {
                        rc = 0; /* raced into something else: leave it out */
                        goto out;
                }
                sym_archive_entry_set_filetype(e, AE_IFREG);
                sym_archive_entry_set_size(e, fst.st_size);
                if (sym_archive_write_header(w->a, e) != ARCHIVE_OK)
                        goto arch;
                left = fst.st_size;
                while (left > 0 && (n = read(fd, buf, sizeof(buf))) != 0) {
                        if (n < 0 && errno == EINTR)
                                continue;
                        if (n < 0) {
                                cnr_errf(err, errno, "read `%s`", rel);
                                goto out;
                        }
                        if (n > left)
                                n = (ssize_t)left; /* the file grew: send what its header announced */
                        if (sym_archive_write_data(w->a, buf, (size_t)n) != n)
                                goto arch;
                        left -= n;
                }
                if (left > 0) {
                        cnr_errf(err, EIO, "`%s` shrank while it was being sent", rel);
                        goto out;
                }
        }
        w->entries++;
        rc = 0;
        goto out;
arch:
        cnr_errf(err, EIO, "stream `%s`: %s", rel, sym_archive_error_string(w->a));
out:
        sym_archive_entry_free(e);
        return rc;
}

static int
cmp_names(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Send what is under dirfd (context path `prefix`), in name order. */
static int
walk_dir(struct walk *w, int dirfd, const char *prefix, struct cnr_err **err)
{
        int dfd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
        struct cnr_df_strv names = {0};
        struct dirent *de;
        int rc = -1;

        if (d == NULL) {
                if (dfd >= 0)
                        close(dfd);
                return cnr_errf(err, errno, "open directory `%s`", prefix[0] ? prefix : ".");
        }
        while ((de = readdir(d)) != NULL)
                if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
                        cnr_df_strv_push(&names, de->d_name);
        closedir(d);
        if (names.n)
                qsort(names.v, names.n, sizeof(char *), cmp_names);
        for (size_t i = 0; i < names.n; i++) {
                const char *name = names.v[i];
                _cleanup_free_ char *rel = prefix[0] ? xasprintf("%s/%s", prefix, name) : xstrdup(name);
                bool ignored = cnr_df_ignore_match(w->ig, rel);
                struct stat st;

                if (prefix[0] == '\0' && strcmp(name, CNR_DF_META_DIR) == 0)
                        continue; /* reserved for the Dockerfile and ignore file */
                if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                        cnr_errf(err, errno, "stat `%s`", rel);
                        goto out;
                }
                if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode))
                        continue; /* sockets, fifos, devices: not build inputs */
                if (!ignored && put_entry(w, dirfd, name, rel, &st, err) < 0)
                        goto out;
                if (S_ISDIR(st.st_mode) && (!ignored || cnr_df_ignore_may_reinclude(w->ig, rel))) {
                        _cleanup_close_ int sub = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (sub < 0) {
                                cnr_errf(err, errno, "open directory `%s`", rel);
                                goto out;
                        }
                        if (walk_dir(w, sub, rel, err) < 0)
                                goto out;
                }
        }
        rc = 0;
out:
        cnr_df_strv_free(&names);
        return rc;
}

/* The child: write the whole stream, then exit. */
static __attribute__((noreturn)) void
stream_context(int wfd, int ctxfd, const struct cnr_df_ignore *ig, const char *df, size_t dflen, const char *ign,
               size_t ignlen, bool have_ign)
{
        struct walk w = {.a = sym_archive_write_new(), .ig = ig};
        struct cnr_err *err = NULL;

        signal(SIGPIPE, SIG_DFL); /* buildd stopped reading: it will say why */
        sym_archive_write_set_format_pax_restricted(w.a);
        if (sym_archive_write_open_fd(w.a, wfd) != ARCHIVE_OK) {
                cnr_cli_error("build context: %s", sym_archive_error_string(w.a));
                _exit(1);
        }
        if (put_data(w.a, CNR_DF_META_DOCKERFILE, df, dflen, &err) < 0 ||
            (have_ign && put_data(w.a, CNR_DF_META_IGNORE, ign, ignlen, &err) < 0) ||
            walk_dir(&w, ctxfd, "", &err) < 0) {
                cnr_cli_error("build context: %s", cnr_err_str(err));
                _exit(1);
        }
        if (sym_archive_write_close(w.a) != ARCHIVE_OK) {
                cnr_cli_error("build context: %s", sym_archive_error_string(w.a));
                _exit(1);
        }
        sym_archive_write_free(w.a);
        _exit(0);
}

/* The external images the build names, as BuildImage messages. */
static void
wanted_images(const char *df, size_t dflen, const char *file, const struct cnr_df_strv *bargs, const char *target,
              const char *platform, struct cnr_df_strv *refs, struct cnr_df_strv *plats)
{
        struct cnr_df_opts o = {
                .file = file, .target = target[0] ? target : NULL, .platform = platform[0] ? platform : NULL};
        struct cnr_df_plan *p = NULL;
        struct cnr_err *err = NULL;

        for (size_t i = 0; i < bargs->n; i++) {
                const char *eq = strchr(bargs->v[i], '=');
                _cleanup_free_ char *k = xstrndup(bargs->v[i], (size_t)(eq - bargs->v[i]));
                cnr_df_vars_set(&o.build_args, k, eq + 1);
        }
        /* Its diagnostics are buildd's to report; only the names matter here. */
        if (cnr_df_plan(df, dflen, NULL, &o, &p, &err) == 0)
                cnr_df_plan_images(p, refs, plats);
        cnr_err_free(&err);
        cnr_df_plan_free(p);
        cnr_df_vars_free(&o.build_args);
}

static int
print_report(int fd)
{
        char buf[65536];
        off_t off = 0;
        ssize_t n;

        while ((n = pread(fd, buf, sizeof(buf), off)) != 0) {
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        cnr_cli_error("read the report: %s", strerror(errno));
                        return -1;
                }
                fwrite(buf, 1, (size_t)n, stdout);
                off += n;
        }
        fflush(stdout);
        return 0;
}

int
cnr_cmd_build(struct cnr_cli *cli, const struct cnr_cli_cmd *cmd, int argc, char **argv)
{
        enum { O_CHECK = 256, O_PLAN, O_TARGET, O_PLATFORM, O_FORMAT, O_BUILDARG };
        static const struct option opts[] = {
                {"check", no_argument, NULL, O_CHECK},
                {"print-plan", no_argument, NULL, O_PLAN},
                {"file", required_argument, NULL, 'f'},
                {"build-arg", required_argument, NULL, O_BUILDARG},
                {"target", required_argument, NULL, O_TARGET},
                {"platform", required_argument, NULL, O_PLATFORM},
                {"format", required_argument, NULL, O_FORMAT},
                {"help", no_argument, NULL, 'h'},
                {NULL, 0, NULL, 0},
        };
        enum cnr_cli_format format = CNR_FORMAT_TEXT;
        bool check = false, plan = false, have_ign = false;
        const char *file = NULL, *target = "", *platform = "";
        struct cnr_df_strv bargs = {0}, irefs = {0}, iplats = {0};
        Cnr__Api__BuildImage *images = NULL, **pimages = NULL;
        _cleanup_free_ char *df = NULL, *ign = NULL, *dfpath = NULL, *ignname = NULL;
        _cleanup_close_ int ctxfd = -1;
        struct cnr_df_ignore *ig = NULL;
        Cnr__Api__Request req = CNR__API__REQUEST__INIT;
        Cnr__Api__BuildCheck bc = CNR__API__BUILD_CHECK__INIT;
        Cnr__Api__Reply *rep = NULL;
        struct cnr_client cl = {.fd = -1};
        struct cnr_err *err = NULL;
        size_t dflen = 0, ignlen = 0;
        int pfd[2] = {-1, -1}, rfd = -1, o, r, status = 0, rc = CNR_EXIT_FAIL;
        pid_t child = -1;
        struct stat st;

        while ((o = cnr_cli_getopt(cli, argc, argv, ":f:h", opts)) != -1) {
                switch (o) {
                case O_CHECK:
                        check = true;
                        break;
                case O_PLAN:
                        plan = true;
                        break;
                case 'f':
                        file = optarg;
                        break;
                case O_BUILDARG:
                        if (strchr(optarg, '=') == optarg) {
                                cnr_df_strv_free(&bargs);
                                return cnr_cli_usage_error(cli, "--build-arg `%s`: the name is empty", optarg);
                        }
                        if (strchr(optarg, '=')) {
                                cnr_df_strv_push(&bargs, optarg);
                        } else if (getenv(optarg)) {
                                /* --build-arg NAME takes the value from the environment */
                                cnr_df_strv_take(&bargs, xasprintf("%s=%s", optarg, getenv(optarg)));
                        }
                        break;
                case O_TARGET:
                        target = optarg;
                        break;
                case O_PLATFORM:
                        platform = optarg;
                        break;
                case O_FORMAT:
                        if (cnr_cli_parse_format(cli, optarg, &format) != 0) {
                                cnr_df_strv_free(&bargs);
                                return CNR_EXIT_USAGE;
                        }
                        break;
                case 'h':
                        cnr_cli_help(stdout, cli, cmd);
                        cnr_df_strv_free(&bargs);
                        return CNR_EXIT_OK;
                default:
                        cnr_df_strv_free(&bargs);
                        return CNR_EXIT_USAGE;
                }
        }
        if (optind + 1 != argc) {
                cnr_df_strv_free(&bargs);
                return cnr_cli_usage_error(cli, optind >= argc ? "the build context PATH is missing"
                                                               : "one build context PATH, not several");
        }
        if (!check && !plan) {
                cnr_df_strv_free(&bargs);
                cnr_cli_error("build: image execution is not available yet: containr can parse, check and plan "
                              "a Dockerfile (--check, --print-plan) but does not run build steps until its "
                              "executor exists; nothing was built");
                return CNR_EXIT_FAIL;
        }

        /* Everything host-side is opened here, as the operator. */
        ctxfd = open(argv[optind], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (ctxfd < 0) {
                cnr_cli_error("build context `%s`: %s", argv[optind], strerror(errno));
                goto out;
        }
        if (file) {
                dfpath = xstrdup(file);
                r = slurp_at(AT_FDCWD, file, &df, &dflen, &err);
        } else {
                dfpath = xstrdup("Dockerfile");
                r = slurp_at(ctxfd, "Dockerfile", &df, &dflen, &err);
        }
        if (r < 0) {
                cnr_cli_error("Dockerfile: %s", cnr_err_str(err));
                goto out;
        }
        /* <Dockerfile>.dockerignore beside a named Dockerfile wins over .dockerignore. */
        if (file) {
                _cleanup_free_ char *beside = xasprintf("%s.dockerignore", file);
                if (stat(beside, &st) == 0) {
                        if (slurp_at(AT_FDCWD, beside, &ign, &ignlen, &err) < 0) {
                                cnr_cli_error("%s", cnr_err_str(err));
                                goto out;
                        }
                        have_ign = true;
                        ignname = steal_ptr(&beside);
                }
        }
        if (!have_ign && fstatat(ctxfd, ".dockerignore", &st, 0) == 0) {
                if (slurp_at(ctxfd, ".dockerignore", &ign, &ignlen, &err) < 0) {
                        cnr_cli_error("%s", cnr_err_str(err));
                        goto out;
                }
                have_ign = true;
                ignname = xstrdup(".dockerignore");
        }
        if (have_ign && cnr_df_ignore_parse(ign, ignlen, ignname, &ig, &err) < 0) {
                cnr_cli_error("%s", cnr_err_str(err));
                goto out;
        }

        if (cnr_cli_archive_load(&err) < 0 || cnr_cli_crypto_load(&err) < 0) {
                cnr_cli_error("%s", cnr_err_str(err));
                goto out;
        }
        if (pipe2(pfd, O_CLOEXEC) < 0) {
                cnr_cli_error("pipe: %s", strerror(errno));
                goto out;
        }
        fflush(NULL);
        child = fork();
        if (child < 0) {
                cnr_cli_error("fork: %s", strerror(errno));
                goto out;
        }
        if (child == 0) {
                close(pfd[0]);
                stream_context(pfd[1], ctxfd, ig, df, dflen, ign, ignlen, have_ign);
        }
        close(pfd[1]);
        pfd[1] = -1;
        signal(SIGPIPE, SIG_IGN);

        bc.dockerfile_name = dfpath;
        bc.build_args = bargs.v;
        bc.n_build_args = bargs.n;
        bc.target = (char *)target;
        bc.platform = (char *)platform;
        bc.plan = plan;
        bc.json = format == CNR_FORMAT_JSON;
        wanted_images(df, dflen, dfpath, &bargs, target, platform, &irefs, &iplats);
        if (irefs.n > 0) {
                images = xcalloc(irefs.n, sizeof(*images));
                pimages = xcalloc(irefs.n, sizeof(*pimages));
                for (size_t i = 0; i < irefs.n; i++) {
                        cnr__api__build_image__init(&images[i]);
                        images[i].ref = irefs.v[i];
                        images[i].platform = iplats.v[i];
                        pimages[i] = &images[i];
                }
        }
        bc.images = pimages;
        bc.n_images = irefs.n;
        req.op_case = CNR__API__REQUEST__OP_BUILD_CHECK;
        req.build_check = &bc;
        r = cnr_client_open(&cl, cli->host, &err);
        if (r == 0)
                r = cnr_client_call_fds(&cl, &req, &pfd[0], 1, CNR__API__REPLY__MSG_BUILD_CHECK, &rep, &rfd, 1, &err);
        close(pfd[0]);
        pfd[0] = -1;
        cnr_client_close(&cl);
        if (r < 0) {
                kill(child, SIGTERM);
                waitpid(child, NULL, 0);
                child = -1;
                cnr_cli_error("%s", cnr_err_str(err));
                goto out;
        }
        while (waitpid(child, &status, 0) < 0 && errno == EINTR)
                ;
        child = -1;
        if (print_report(rfd) < 0)
                goto out;
        if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
                goto out; /* the child said what went wrong */
        rc = rep->build_check->failed ? CNR_EXIT_FAIL : CNR_EXIT_OK;
out:
        if (child > 0) {
                kill(child, SIGTERM);
                waitpid(child, NULL, 0);
        }
        if (pfd[0] >= 0)
                close(pfd[0]);
        if (pfd[1] >= 0)
                close(pfd[1]);
        if (rfd >= 0)
                close(rfd);
        if (rep)
                cnr__api__reply__free_unpacked(rep, NULL);
        cnr_err_free(&err);
        cnr_df_ignore_free(ig);
        cnr_df_strv_free(&bargs);
        cnr_df_strv_free(&irefs);
        cnr_df_strv_free(&iplats);
        free(images);
        free(pimages);
        return rc;
}
