/* The content store: only verified bytes become visible blobs
 * (THREATS.md 24, 39). */
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
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/util.h"
#include "supervisor/content.h"

static char dir[64];

static int
setup(void **state)
{
        char tmpl[] = "/tmp/cnr-content.XXXXXX";

        assert_non_null(mkdtemp(tmpl));
        snprintf(dir, sizeof(dir), "%s/content", tmpl);
        return 0;
}

static int
count_files(const char *sub)
{
        char cmd[256];
        FILE *p;
        int n = -1;

        snprintf(cmd, sizeof(cmd), "find %s/%s -type f | wc -l", dir, sub);
        p = popen(cmd, "r");
        if (p && fscanf(p, "%d", &n) != 1)
                n = -1;
        if (p)
                pclose(p);
        return n;
}

static void
test_put_read(void **state)
{
        struct cnr_content *c;
        struct cnr_digest d, want;
        char *buf;
        size_t len;
        uint64_t size;
        struct stat st;
        char path[256];

        assert_int_equal(cnr_content_open(dir, &c, NULL), 0);
        cnr_digest_buf(CNR_DIGEST_SHA256, "hello", 5, &want);
        assert_int_equal(cnr_content_put(c, "hello", 5, &want, &d, NULL), 0);
        assert_true(cnr_digest_equal(&d, &want));
        assert_int_equal(cnr_content_stat(c, &d, &size, NULL), 0);
        assert_int_equal(size, 5);
        assert_int_equal(cnr_content_read(c, &d, 100, &buf, &len, NULL), 0);
        assert_int_equal(len, 5);
        assert_memory_equal(buf, "hello", 5);
        free(buf);
        /* read-only on disk */
        snprintf(path, sizeof(path), "%s/blobs/sha256/%s", dir, cnr_digest_hex(&d));
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0444);
        /* a read cap refuses big blobs */
        struct cnr_err *err = NULL;
        assert_int_equal(cnr_content_read(c, &d, 4, &buf, &len, &err), -1);
        assert_int_equal(err->code, EFBIG);
        cnr_err_free(&err);
        /* the same bytes twice: one blob */
        assert_int_equal(cnr_content_put(c, "hello", 5, NULL, &d, NULL), 0);
        assert_int_equal(count_files("blobs"), 1);
        assert_int_equal(cnr_content_delete(c, &d, NULL), 0);
        assert_int_equal(cnr_content_stat(c, &d, NULL, NULL), -1);
        cnr_content_close(c);
}

static void
test_mismatch(void **state)
{
        struct cnr_content *c;
        struct cnr_digest want;
        struct cnr_err *err = NULL;
        struct cnr_ingest *in;

        assert_int_equal(cnr_content_open(dir, &c, NULL), 0);
        cnr_digest_buf(CNR_DIGEST_SHA256, "good", 4, &want);
        /* wrong bytes */
        assert_int_equal(cnr_content_put(c, "evil", 4, &want, NULL, &err), -1);
        assert_non_null(strstr(err->msg, "digest mismatch"));
        cnr_err_free(&err);
        /* one byte short */
        in = cnr_ingest_begin(c, &want, 4, NULL);
        assert_int_equal(cnr_ingest_write(in, "goo", 3, NULL), 0);
        assert_int_equal(cnr_ingest_commit(in, NULL, &err), -1);
        assert_non_null(strstr(err->msg, "size mismatch"));
        cnr_err_free(&err);
        /* one byte long: refused as it arrives */
        in = cnr_ingest_begin(c, &want, 4, NULL);
        assert_int_equal(cnr_ingest_write(in, "goodX", 5, &err), -1);
        assert_int_equal(err->code, EFBIG);
        cnr_err_free(&err);
        cnr_ingest_abort(in);
        assert_int_equal(count_files("blobs"), 0);
        assert_int_equal(count_files("ingest"), 0);
        cnr_content_close(c);
}

static void
test_crash_leftovers(void **state)
{
        struct cnr_content *c;
        struct cnr_ingest *in;
        struct cnr_digest want;

        pid_t pid;
        int status;

        cnr_digest_buf(CNR_DIGEST_SHA256, "partial", 7, &want);
        /* A writer that dies mid-blob. */
        pid = fork();
        if (pid == 0) {
                if (cnr_content_open(dir, &c, NULL) < 0)
                        _exit(1);
                in = cnr_ingest_begin(c, &want, 7, NULL);
                if (in == NULL || cnr_ingest_write(in, "par", 3, NULL) < 0)
                        _exit(1);
                _exit(0);
        }
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_int_equal(status, 0);
        assert_int_equal(count_files("ingest"), 1);
        /* Reopening the store drops what was never verified. */
        assert_int_equal(cnr_content_open(dir, &c, NULL), 0);
        assert_int_equal(count_files("ingest"), 0);
        assert_int_equal(cnr_content_stat(c, &want, NULL, NULL), -1);
        cnr_content_close(c);
}

static int
teardown(void **state)
{
        char cmd[128];

        snprintf(cmd, sizeof(cmd), "rm -rf '%.*s'", (int)(strrchr(dir, '/') - dir), dir);
        return system(cmd) == 0 ? 0 : -1;
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_put_read),
                cmocka_unit_test(test_mismatch),
                cmocka_unit_test(test_crash_leftovers),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
