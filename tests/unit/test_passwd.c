/* common/passwd: users resolved from an image's /etc/passwd and /etc/group
 * under a rootfs fd (THREATS 15, 28). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/passwd.h"
#include "common/util.h"

static char root[] = "/tmp/cnr-passwd.XXXXXX";
static int rootfd = -1;

static void
put(const char *name, const char *text)
{
        char p[256];
        FILE *f;

        snprintf(p, sizeof(p), "%s/etc/%s", root, name);
        f = fopen(p, "we");
        assert_non_null(f);
        fputs(text, f);
        fclose(f);
}

static int
setup(void **state)
{
        char p[256];

        assert_non_null(mkdtemp(root));
        snprintf(p, sizeof(p), "%s/etc", root);
        assert_int_equal(mkdir(p, 0755), 0);
        put("passwd", "root:x:0:0:root:/root:/bin/sh\n"
                      "# comment\n"
                      "app:x:1000:1000:app:/home/app:/bin/sh\n"
                      "big:x:4294967295:0::/:/bin/sh\n"
                      "nogroup:x:1001:1001::/srv:/bin/sh\n");
        put("group", "root:x:0:\nwheel:x:10:app,other\naudio:x:29:app\napp:x:1000:\nstaff:x:50:\n");
        rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
        assert_true(rootfd >= 0);
        (void)state;
        return 0;
}

static int
teardown(void **state)
{
        char cmd[300];

        snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
        assert_int_equal(system(cmd), 0);
        close(rootfd);
        (void)state;
        return 0;
}

static void
ok(const char *spec, uint32_t uid, uint32_t gid, size_t ngids)
{
        struct cnr_err *err = NULL;
        struct cnr_user u;

        assert_int_equal(cnr_user_resolve(rootfd, spec, &u, &err), 0);
        assert_int_equal(u.uid, uid);
        assert_int_equal(u.gid, gid);
        assert_int_equal(u.ngids, ngids);
}

static void
bad(const char *spec, int code)
{
        struct cnr_err *err = NULL;
        struct cnr_user u;

        assert_int_equal(cnr_user_resolve(rootfd, spec, &u, &err), -1);
        assert_non_null(err);
        assert_int_equal(err->code, code);
        cnr_err_free(&err);
}

static void
test_names_and_ids(void **state)
{
        struct cnr_err *err = NULL;
        struct cnr_user u;

        ok("root", 0, 0, 0);
        ok("app", 1000, 1000, 2); /* wheel, audio */
        assert_int_equal(cnr_user_resolve(rootfd, "app", &u, &err), 0);
        assert_string_equal(u.home, "/home/app");
        assert_int_equal(u.gids[0], 10);
        assert_int_equal(u.gids[1], 29);
        ok("1000", 1000, 1000, 2);
        ok("1000:50", 1000, 50, 2);
        ok("app:staff", 1000, 50, 2);
        ok("4242", 4242, 0, 0); /* unknown uid: gid 0, as Docker does */
        ok("4242:4242", 4242, 4242, 0);
        bad("nobody", ENOENT);
        bad("app:nogroup", ENOENT);
        bad("", EINVAL);
        (void)state;
}

/* THREATS 15: never root by wrap-around. */
static void
test_out_of_range(void **state)
{
        bad("2147483648", EINVAL);
        bad("4294967295", EINVAL);
        bad("-1", EINVAL);
        bad("0:-1", EINVAL);
        bad("0:4294967295", EINVAL);
        bad("big", ENOENT); /* its passwd line has an out-of-range uid: skipped */
        (void)state;
}

/* THREATS 28: a 100 MB /etc/group is read only up to the bound. */
static void
test_bounded(void **state)
{
        char p[256];
        int fd;
        struct timespec a, b;

        snprintf(p, sizeof(p), "%s/etc/group", root);
        fd = open(p, O_WRONLY | O_APPEND | O_CLOEXEC);
        assert_true(fd >= 0);
        assert_int_equal(ftruncate(fd, 100 * 1024 * 1024), 0);
        assert_int_equal(write(fd, "late:x:77:app\n", 14), 14);
        close(fd);
        clock_gettime(CLOCK_MONOTONIC, &a);
        ok("app", 1000, 1000, 2); /* the group past the bound is not seen */
        clock_gettime(CLOCK_MONOTONIC, &b);
        assert_true(b.tv_sec - a.tv_sec < 2);
        put("group", "root:x:0:\n");
        (void)state;
}

static void
test_not_regular(void **state)
{
        char p[256];

        snprintf(p, sizeof(p), "%s/etc/passwd", root);
        unlink(p);
        assert_int_equal(mkfifo(p, 0644), 0);
        bad("root", EINVAL);
        unlink(p);
        assert_int_equal(symlink("/host-only/passwd", p), 0); /* resolved in the root: absent there */
        bad("root", ENOENT);
        unlink(p);
        ok("123", 123, 0, 0);
        (void)state;
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_names_and_ids),
                cmocka_unit_test(test_out_of_range),
                cmocka_unit_test(test_bounded),
                cmocka_unit_test(test_not_regular),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
