/* common/conf.c: containr.yaml parsing.
 *
 * Three layers:
 *   - table-driven cases in this file: good YAML with the values it must
 *     produce, bad YAML with the exact message it must produce;
 *   - golden files, tests/golden/config/{ok,bad}/<case>.yaml next to
 *     <case>.out (the parsed config, dumped) or <case>.err (the message);
 *     CNR_GOLDEN_UPDATE=1 rewrites them (review the diff!);
 *   - the shipped contrib/containr.yaml must parse to exactly the defaults.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/conf.h"
#include "common/util.h"

static const char *
srcdir(void)
{
        const char *s = getenv("top_srcdir");
        return s && *s ? s : ".";
}

static char *
slurp(const char *path, size_t *len)
{
        FILE *f = fopen(path, "re");
        char *buf;
        size_t cap = 4096, n = 0;

        if (f == NULL)
                return NULL;
        buf = xmalloc(cap);
        for (;;) {
                size_t r = fread(buf + n, 1, cap - n - 1, f);
                n += r;
                if (r == 0)
                        break;
                if (cap - n - 1 == 0)
                        buf = xrealloc(buf, cap *= 2);
        }
        fclose(f);
        buf[n] = '\0';
        if (len)
                *len = n;
        return buf;
}

static char *
dump(const struct cnr_config *c)
{
        char *out = NULL;
        size_t n = 0;
        FILE *f = open_memstream(&out, &n);

        assert_non_null(f);
        cnr_config_dump(c, f);
        fclose(f);
        return out;
}

/* A fixed starting point so golden output does not depend on --prefix. */
static void
baseline(struct cnr_config *c)
{
        cnr_config_init(c);
        free(c->root);
        free(c->run_root);
        free(c->log_dir);
        free(c->helper_dir);
        c->root = xstrdup("/var/lib/containr");
        c->run_root = xstrdup("/run/containr");
        c->log_dir = xstrdup("/var/log/containr");
        c->helper_dir = xstrdup("/usr/libexec/containr");
}

static int
parse_str(struct cnr_config *c, const char *yaml, struct cnr_err **err)
{
        return cnr_config_parse(c, "t.yaml", yaml, strlen(yaml), err);
}

/* ---- good files ---- */

struct good {
        const char *yaml;
        const char *root, *run_root, *log_dir, *helper_dir, *user, *socket_group;
        int log_level; /* -1: default */
        const char *helper_user[CNR_HELPER_COUNT];
        unsigned initial_ms, max_ms; /* 0: default */
};

static const struct good goods[] = {
        {.yaml = "", .log_level = -1},
        {.yaml = "# nothing but a comment\n", .log_level = -1},
        {.yaml = "---\n...\n", .log_level = -1},
        {.yaml = "root: /srv/c\nrun_root: /run/c\nlog_dir: /srv/log\nhelper_dir: /opt/h\n",
         .root = "/srv/c", .run_root = "/run/c", .log_dir = "/srv/log", .helper_dir = "/opt/h", .log_level = -1},
        {.yaml = "log_level: error\n", .log_level = CNR_LOG_ERROR},
        {.yaml = "log_level: warn\n", .log_level = CNR_LOG_WARN},
        {.yaml = "log_level: \"debug\"\n", .log_level = CNR_LOG_DEBUG},
        {.yaml = "user: 990\nsocket_group: 991\n", .user = "990", .socket_group = "991", .log_level = -1},
        {.yaml = "user: '990:991'\n", .user = "990:991", .log_level = -1},
        {.yaml = "user: svc-containr\n", .user = "svc-containr", .log_level = -1},
        {.yaml = "helpers:\n  mountd:\n    user: 64991\n  crid: {user: crid}\n", .log_level = -1,
         .helper_user = {[CNR_HELPER_MOUNTD] = "64991", [CNR_HELPER_CRID] = "crid"}},
        {.yaml = "helpers:\n  snapd:\n", .log_level = -1},
        {.yaml = "restart:\n  initial_ms: 5\n  max_ms: 10\n", .log_level = -1, .initial_ms = 5, .max_ms = 10},
        {.yaml = "restart: {max_ms: 100}\n", .log_level = -1, .max_ms = 100},
        {.yaml = "restart:\n", .log_level = -1},
};

static void
test_good(void **state)
{
        for (size_t i = 0; i < CNR_ARRAY_LEN(goods); i++) {
                const struct good *g = &goods[i];
                struct cnr_config def, c;
                struct cnr_err *err = NULL;
                int r;

                cnr_config_init(&def);
                cnr_config_init(&c);
                r = parse_str(&c, g->yaml, &err);
                if (r != 0)
                        fail_msg("case %zu: %s", i, cnr_err_str(err));
                assert_string_equal(c.root, g->root ? g->root : def.root);
                assert_string_equal(c.run_root, g->run_root ? g->run_root : def.run_root);
                assert_string_equal(c.log_dir, g->log_dir ? g->log_dir : def.log_dir);
                assert_string_equal(c.helper_dir, g->helper_dir ? g->helper_dir : def.helper_dir);
                assert_string_equal(c.user, g->user ? g->user : def.user);
                assert_string_equal(c.socket_group, g->socket_group ? g->socket_group : def.socket_group);
                assert_int_equal(c.log_level, g->log_level >= 0 ? (enum cnr_log_level)g->log_level : def.log_level);
                for (int h = 0; h < CNR_HELPER_COUNT; h++)
                        assert_string_equal(c.helper_user[h],
                                            g->helper_user[h] ? g->helper_user[h] : cnr_helpers[h].default_user);
                assert_int_equal(c.restart_initial_ms, g->initial_ms ? g->initial_ms : def.restart_initial_ms);
                assert_int_equal(c.restart_max_ms, g->max_ms ? g->max_ms : def.restart_max_ms);
                cnr_config_free(&c);
                cnr_config_free(&def);
        }
}

/* ---- bad files: the message is part of the interface ---- */

struct bad {
        const char *yaml;
        const char *msg;
};

static const struct bad bads[] = {
        {"root: /a\nrun_root: /b\nlog_dir: /c\n\nhelper_dir: /d\n\nhelprs:\n  mountd: {}\n",
         "t.yaml:7: unknown key `helprs` (did you mean `helpers`?)"},
        {"\n\nlog_level: loud\n", "t.yaml:3: log_level: `loud` is not one of error, warn, info, debug"},
        {"restart:\n\n\n\n  initial_ms: x\n", "t.yaml:5: restart.initial_ms: expected a number"},
        {"restart:\n  max_ms: -1\n", "t.yaml:2: restart.max_ms: expected a number"},
        {"restart:\n  max_ms: 1.5\n", "t.yaml:2: restart.max_ms: expected a number"},
        {"restart:\n  max_ms: [1]\n", "t.yaml:2: restart.max_ms: expected a number"},
        {"restart:\n  max_ms: 0\n", "t.yaml:2: restart.max_ms: 0 is out of range (1 to 86400000)"},
        {"restart:\n  max_ms: 50\n", "t.yaml:2: restart: initial_ms (100) is larger than max_ms (50)"},
        {"restart:\n  initial_ms: 500\n\n  max_ms: 400\n",
         "t.yaml:4: restart: initial_ms (500) is larger than max_ms (400)"},
        {"restart: {initial_ms: 40000}\n", "t.yaml:1: restart: initial_ms (40000) is larger than max_ms (30000)"},
        {"restart: 5\n", "t.yaml:1: restart: expected a mapping, not a scalar"},
        {"restart:\n  initial: 5\n", "t.yaml:2: restart: unknown key `initial` (did you mean `initial_ms`?)"},
        {"helpers:\n  mountd:\n    user: a\n  netd: {}\n  snapd: {}\n\n\n\n  mountx:\n    user: b\n",
         "t.yaml:9: helpers: unknown helper `mountx` (did you mean `mountd`?)"},
        {"helpers:\n  shim: {}\n",
         "t.yaml:2: helpers: unknown helper `shim` (helpers are mountd, netd, snapd, buildd, crid)"},
        {"helpers:\n  netd:\n    usr: x\n", "t.yaml:3: helpers.netd: unknown key `usr` (did you mean `user`?)"},
        {"helpers:\n  netd: root\n", "t.yaml:2: helpers.netd: expected a mapping, not a scalar"},
        {"helpers:\n  - netd\n", "t.yaml:2: helpers: expected a mapping of helper names, not a list"},
        {"helpers:\n  netd: {}\n  netd: {}\n", "t.yaml:3: duplicate key `helpers.netd` (first given at line 2)"},
        {"log_level: info\nlog_level: info\n", "t.yaml:2: duplicate key `log_level` (first given at line 1)"},
        {"restart:\n  max_ms: 1\n  max_ms: 1\n", "t.yaml:3: duplicate key `restart.max_ms` (first given at line 2)"},
        {"- a\n- b\n", "t.yaml:1: the top level must be a mapping of keys (like `log_level: info`), not a list"},
        {"\nhello\n", "t.yaml:2: the top level must be a mapping of keys (like `log_level: info`), not a scalar"},
        {"root: var/lib\n", "t.yaml:1: root: `var/lib` is not an absolute path"},
        {"log_dir: ./log\n", "t.yaml:1: log_dir: `./log` is not an absolute path"},
        {"helper_dir:\n", "t.yaml:1: helper_dir: expected a path, the value is empty"},
        {"root: ''\n", "t.yaml:1: root: expected a path, the value is empty"},
        {"root: \"/a\\0b\"\n", "t.yaml:1: root: the value contains a NUL byte"},
        {"root: {a: b}\n", "t.yaml:1: root: expected a path, not a mapping"},
        {"user: \"a b\"\n", "t.yaml:1: user: `a b` is not a user name, uid or uid:gid"},
        {"user: '1:'\n", "t.yaml:1: user: `1:` is not a user name, uid or uid:gid"},
        {"user: 4294967295\n", "t.yaml:1: user: `4294967295` is not a user name, uid or uid:gid"},
        {"socket_group: 1:2\n", "t.yaml:1: socket_group: `1:2` is not a group name or gid"},
        {"lgo_level: info\n", "t.yaml:1: unknown key `lgo_level` (did you mean `log_level`?)"},
        {"frobnicate: 1\n", "t.yaml:1: unknown key `frobnicate`"},
        {"? [a]\n: 1\n", "t.yaml:1: keys must be strings, not a list"},
        {"a: 1\n---\nb: 2\n", "t.yaml:3: more than one YAML document (one file holds one configuration)"},
        {"root: \"/a\n", "t.yaml:2: found unexpected end of stream (while scanning a quoted scalar at line 1)"},
        {"root: /a\n\troot: /b\n",
         "t.yaml:2: found a tab character that violates indentation (while scanning a plain scalar at line 1)"},
};

static void
test_bad(void **state)
{
        for (size_t i = 0; i < CNR_ARRAY_LEN(bads); i++) {
                struct cnr_config c;
                struct cnr_err *err = NULL;
                _cleanup_free_ char *before = NULL, *after = NULL;

                cnr_config_init(&c);
                before = dump(&c);
                if (parse_str(&c, bads[i].yaml, &err) == 0)
                        fail_msg("case %zu parsed but should fail with: %s", i, bads[i].msg);
                assert_non_null(err);
                if (strcmp(err->msg, bads[i].msg) != 0)
                        fail_msg("case %zu:\n  want: %s\n  got:  %s", i, bads[i].msg, err->msg);
                /* Content errors carry no errno: the message is everything. */
                assert_int_equal(err->code, 0);
                assert_string_equal(cnr_err_str(err), bads[i].msg);
                /* A failed parse leaves the configuration untouched. */
                after = dump(&c);
                assert_string_equal(before, after);
                cnr_err_free(&err);
                cnr_config_free(&c);
        }
}

static void
test_over_current_values(void **state)
{
        struct cnr_config c;
        struct cnr_err *err = NULL;

        cnr_config_init(&c);
        assert_int_equal(parse_str(&c, "log_level: debug\nroot: /one\n", &err), 0);
        assert_int_equal(parse_str(&c, "root: /two\n", &err), 0);
        assert_string_equal(c.root, "/two");
        assert_int_equal(c.log_level, CNR_LOG_DEBUG); /* kept from the first file */
        cnr_config_free(&c);
}

static void
test_load(void **state)
{
        char dir[] = "/tmp/test_conf.XXXXXX";
        _cleanup_free_ char *path = NULL, *missing = NULL;
        struct cnr_config c;
        struct cnr_err *err = NULL;
        FILE *f;

        assert_non_null(mkdtemp(dir));
        path = xasprintf("%s/containr.yaml", dir);
        missing = xasprintf("%s/none.yaml", dir);
        cnr_config_init(&c);

        assert_int_equal(cnr_config_load(&c, missing, 0, &err), 0);
        assert_null(err);
        assert_int_equal(cnr_config_load(&c, missing, 1, &err), -1);
        assert_int_equal(err->code, ENOENT);
        cnr_err_free(&err);

        assert_int_equal(cnr_config_load(&c, dir, 1, &err), -1);
        assert_non_null(strstr(err->msg, "not a regular file"));
        cnr_err_free(&err);

        f = fopen(path, "we");
        assert_non_null(f);
        fputs("log_level: error\n\nuser: nobody x\n", f);
        fclose(f);
        assert_int_equal(cnr_config_load(&c, path, 1, &err), -1);
        {
                _cleanup_free_ char *want = xasprintf("%s:3: user: `nobody x` is not a user name, uid or uid:gid", path);
                assert_string_equal(cnr_err_str(err), want);
        }
        cnr_err_free(&err);

        f = fopen(path, "we");
        assert_non_null(f);
        fputs("log_level: error\n", f);
        fclose(f);
        assert_int_equal(cnr_config_load(&c, path, 1, &err), 1);
        assert_int_equal(c.log_level, CNR_LOG_ERROR);

        unlink(path);
        rmdir(dir);
        cnr_config_free(&c);
}

static void
test_dump_round_trip(void **state)
{
        struct cnr_config a, b;
        struct cnr_err *err = NULL;
        _cleanup_free_ char *da = NULL, *db = NULL;

        cnr_config_init(&a);
        assert_int_equal(parse_str(&a,
                                   "root: \"/with space/and:colon\"\nuser: '1:2'\nsocket_group: '0'\n"
                                   "helpers: {netd: {user: '7'}}\nrestart: {initial_ms: 3, max_ms: 4}\n",
                                   &err),
                         0);
        da = dump(&a);
        cnr_config_init(&b);
        if (parse_str(&b, da, &err) != 0)
                fail_msg("%s\n%s", cnr_err_str(err), da);
        db = dump(&b);
        assert_string_equal(da, db);
        assert_string_equal(b.root, "/with space/and:colon");
        cnr_config_free(&a);
        cnr_config_free(&b);
}

static void
test_suggest(void **state)
{
        static const char *const cmds[] = {"version", "info", "system", "help"};

        assert_string_equal(cnr_suggest("inof", cmds, 4), "info");
        assert_string_equal(cnr_suggest("verison", cmds, 4), "version");
        assert_string_equal(cnr_suggest("sys", cmds, 4), "system"); /* unique prefix */
        assert_string_equal(cnr_suggest("hlep", cmds, 4), "help");
        assert_null(cnr_suggest("x", cmds, 4));
        assert_null(cnr_suggest("run", cmds, 4));
        assert_null(cnr_suggest("completely-different", cmds, 4));
}

/* ---- golden files ---- */

static int
write_file(const char *path, const char *s)
{
        FILE *f = fopen(path, "we");
        if (f == NULL)
                return -1;
        fputs(s, f);
        return fclose(f);
}

static void
golden_dir(const char *kind)
{
        _cleanup_free_ char *dirpath = xasprintf("%s/tests/golden/config/%s", srcdir(), kind);
        int update = getenv("CNR_GOLDEN_UPDATE") != NULL;
        struct dirent *de;
        DIR *d = opendir(dirpath);
        int ncases = 0;

        if (d == NULL)
                fail_msg("open %s: %s", dirpath, strerror(errno));
        while ((de = readdir(d)) != NULL) {
                size_t nl = strlen(de->d_name);
                _cleanup_free_ char *in = NULL, *name = NULL, *exp_path = NULL, *buf = NULL, *want = NULL,
                                    *got = NULL;
                struct cnr_config c;
                struct cnr_err *err = NULL;
                size_t len;
                int r;

                if (nl < 6 || strcmp(de->d_name + nl - 5, ".yaml") != 0)
                        continue;
                ncases++;
                in = xasprintf("%s/%s", dirpath, de->d_name);
                name = xasprintf("%s/%s", kind, de->d_name);
                exp_path = xasprintf("%s/%.*s.%s", dirpath, (int)(nl - 5), de->d_name,
                                     strcmp(kind, "ok") == 0 ? "out" : "err");
                buf = slurp(in, &len);
                assert_non_null(buf);
                baseline(&c);
                r = cnr_config_parse(&c, name, buf, len, &err);
                if (strcmp(kind, "ok") == 0) {
                        if (r != 0)
                                fail_msg("%s: %s", name, cnr_err_str(err));
                        got = dump(&c);
                } else {
                        if (r == 0)
                                fail_msg("%s parsed but should not", name);
                        got = xasprintf("%s\n", cnr_err_str(err));
                        cnr_err_free(&err);
                }
                cnr_config_free(&c);
                if (update) {
                        assert_int_equal(write_file(exp_path, got), 0);
                        continue;
                }
                want = slurp(exp_path, NULL);
                if (want == NULL)
                        fail_msg("%s: missing %s (CNR_GOLDEN_UPDATE=1 writes it)", name, exp_path);
                if (strcmp(want, got) != 0)
                        fail_msg("%s:\n--- want\n%s--- got\n%s", name, want, got);
        }
        closedir(d);
        assert_true(ncases > 0);
}

static void
test_golden_ok(void **state)
{
        golden_dir("ok");
}

static void
test_golden_bad(void **state)
{
        golden_dir("bad");
}

/* ---- the shipped default config ---- */

static void
test_contrib_is_defaults(void **state)
{
        _cleanup_free_ char *path = xasprintf("%s/contrib/containr.yaml", srcdir());
        _cleanup_free_ char *buf = NULL, *want = NULL, *got = NULL, *uncommented = NULL;
        struct cnr_config def, c;
        struct cnr_err *err = NULL;
        size_t len, n = 0;

        buf = slurp(path, &len);
        if (buf == NULL)
                fail_msg("read %s: %s", path, strerror(errno));
        cnr_config_init(&def);
        cnr_config_init(&c);
        if (cnr_config_parse(&c, path, buf, len, &err) != 0)
                fail_msg("%s", cnr_err_str(err));
        want = dump(&def);
        got = dump(&c);
        assert_string_equal(want, got);
        cnr_config_free(&c);

        /* The path keys are commented out (their defaults depend on how
         * containr was configured); uncommented, they must parse too. */
        uncommented = xmalloc(len + 1);
        for (const char *line = buf; *line;) {
                const char *eol = strchr(line, '\n');
                size_t ll = eol ? (size_t)(eol - line) + 1 : strlen(line);
                static const char *const keys[] = {"root: ", "run_root: ", "log_dir: ", "helper_dir: "};
                for (size_t k = 0; k < CNR_ARRAY_LEN(keys); k++) {
                        if (strncmp(line, "# ", 2) == 0 && strncmp(line + 2, keys[k], strlen(keys[k])) == 0) {
                                line += 2;
                                ll -= 2;
                                break;
                        }
                }
                memcpy(uncommented + n, line, ll);
                n += ll;
                line += ll;
        }
        uncommented[n] = '\0';
        cnr_config_init(&c);
        if (cnr_config_parse(&c, path, uncommented, n, &err) != 0)
                fail_msg("uncommented paths: %s", cnr_err_str(err));
        assert_string_equal(c.root, "/var/lib/containr");
        assert_string_equal(c.run_root, "/run/containr");
        assert_string_equal(c.log_dir, "/var/log/containr");
        assert_string_equal(c.helper_dir, "/usr/libexec/containr");
        cnr_config_free(&c);
        cnr_config_free(&def);
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_good),
                cmocka_unit_test(test_bad),
                cmocka_unit_test(test_over_current_values),
                cmocka_unit_test(test_load),
                cmocka_unit_test(test_dump_round_trip),
                cmocka_unit_test(test_suggest),
                cmocka_unit_test(test_golden_ok),
                cmocka_unit_test(test_golden_bad),
                cmocka_unit_test(test_contrib_is_defaults),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
