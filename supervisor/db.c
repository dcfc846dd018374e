#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "supervisor/db.h"

struct cnr_db {
        sqlite3 *h;
        int depth;   /* transaction nesting */
        bool failed; /* an inner level rolled back */
};

int
cnr_db_err(struct cnr_db *db, struct cnr_err **err, const char *what)
{
        int code = sqlite3_extended_errcode(db->h);
        int e = EIO;

        if ((code & 0xff) == SQLITE_FULL)
                e = ENOSPC;
        else if ((code & 0xff) == SQLITE_BUSY || (code & 0xff) == SQLITE_LOCKED)
                e = EBUSY;
        else if ((code & 0xff) == SQLITE_CONSTRAINT)
                e = EEXIST;
        return cnr_errf(err, e, "database: %s: %s", what, sqlite3_errmsg(db->h));
}

void
cnr_stmt_finalizep(sqlite3_stmt **st)
{
        if (*st)
                sqlite3_finalize(*st);
}

int
cnr_db_exec(struct cnr_db *db, const char *sql, struct cnr_err **err)
{
        if (sqlite3_exec(db->h, sql, NULL, NULL, NULL) != SQLITE_OK)
                return cnr_db_err(db, err, sql);
        return 0;
}

int
cnr_db_prepare(struct cnr_db *db, const char *sql, sqlite3_stmt **st, struct cnr_err **err)
{
        if (sqlite3_prepare_v2(db->h, sql, -1, st, NULL) != SQLITE_OK)
                return cnr_db_err(db, err, "prepare");
        return 0;
}

int
cnr_db_open(const char *path, struct cnr_db **out, struct cnr_err **err)
{
        struct cnr_db *db = xcalloc(1, sizeof(*db));
        int r;

        r = sqlite3_open_v2(path, &db->h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
        if (r != SQLITE_OK) {
                cnr_errf(err, EIO, "open database `%s`: %s", path, db->h ? sqlite3_errmsg(db->h) : "out of memory");
                sqlite3_close(db->h);
                free(db);
                return -1;
        }
        sqlite3_extended_result_codes(db->h, 1);
        sqlite3_busy_timeout(db->h, 5000);
        /* WAL with synchronous=NORMAL: every commit is atomic and survives
         * any crash of containrd (the WAL is in the page cache); the WAL is
         * fsynced at each checkpoint, not at each commit.  A power cut or a
         * kernel crash can only take the newest commits back: the database
         * is then an earlier, consistent state (a prefix of its history),
         * the case start-up already reconciles: container states reset by
         * the boot id, snapshot dirs without a record removed, records
         * without a dir marked missing (THREATS 38, 40); content blobs are
         * fsynced on their own, so a forgotten image is pulled again.  FULL
         * cost one fdatasync per commit, about ten per `run --rm`
         * (docs/performance.md). */
        if (cnr_db_exec(db, "PRAGMA journal_mode=WAL", err) < 0 ||
            cnr_db_exec(db, "PRAGMA synchronous=NORMAL", err) < 0 ||
            cnr_db_exec(db, "PRAGMA foreign_keys=ON", err) < 0 ||
            cnr_db_exec(db, "CREATE TABLE IF NOT EXISTS schema (module TEXT PRIMARY KEY, version INTEGER NOT NULL)",
                        err) < 0) {
                cnr_err_wrap(err, "database `%s`", path);
                cnr_db_close(db);
                return -1;
        }
        *out = db;
        return 0;
}

void
cnr_db_close(struct cnr_db *db)
{
        if (db == NULL)
                return;
        sqlite3_close(db->h);
        free(db);
}

sqlite3 *
cnr_db_sqlite(struct cnr_db *db)
{
        return db->h;
}

int
cnr_db_begin(struct cnr_db *db, struct cnr_err **err)
{
        if (db->depth++ == 0) {
                db->failed = false;
                if (cnr_db_exec(db, "BEGIN IMMEDIATE", err) < 0) {
                        db->depth = 0;
                        return -1;
                }
        }
        return 0;
}

int
cnr_db_commit(struct cnr_db *db, struct cnr_err **err)
{
        if (db->depth <= 0)
                return cnr_errf(err, EINVAL, "database: commit outside a transaction");
        if (--db->depth > 0)
                return 0;
        if (db->failed) {
                sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
                return cnr_errf(err, EIO, "database: an inner step failed; transaction rolled back");
        }
        if (cnr_db_exec(db, "COMMIT", err) < 0) {
                sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
                return -1;
        }
        return 0;
}

void
cnr_db_rollback(struct cnr_db *db)
{
        if (db->depth <= 0)
                return;
        if (--db->depth > 0) {
                db->failed = true;
                return;
        }
        sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
}

int
cnr_db_migrate(struct cnr_db *db, const char *module, const char *const *steps, size_t nsteps, struct cnr_err **err)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        long long have = 0;

        if (cnr_db_prepare(db, "SELECT version FROM schema WHERE module = ?1", &st, err) < 0)
                return -1;
        sqlite3_bind_text(st, 1, module, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW)
                have = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
        st = NULL;
        if (have > (long long)nsteps)
                return cnr_errf(err, EPROTO,
                                "database: `%s` tables are at version %lld, newer than this containrd (%zu)", module,
                                have, nsteps);
        for (size_t v = (size_t)have; v < nsteps; v++) {
                if (cnr_db_begin(db, err) < 0)
                        return -1;
                if (cnr_db_exec(db, steps[v], err) < 0 ||
                    cnr_db_prepare(db, "INSERT OR REPLACE INTO schema (module, version) VALUES (?1, ?2)", &st, err) <
                            0) {
                        cnr_db_rollback(db);
                        return cnr_err_wrap(err, "migrate `%s` to version %zu", module, v + 1);
                }
                sqlite3_bind_text(st, 1, module, -1, SQLITE_STATIC);
                sqlite3_bind_int64(st, 2, (sqlite3_int64)(v + 1));
                if (sqlite3_step(st) != SQLITE_DONE) {
                        cnr_db_err(db, err, "record schema version");
                        cnr_db_rollback(db);
                        return -1;
                }
                sqlite3_finalize(st);
                st = NULL;
                if (cnr_db_commit(db, err) < 0)
                        return -1;
                log_info("database: `%s` tables migrated to version %zu", module, v + 1);
        }
        return 0;
}
