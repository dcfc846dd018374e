/* The supervisor's metadata database (SQLite, WAL): images, snapshots,
 * containers, builds.  Every multi-step change runs in one transaction.
 *
 * Each module owns its tables and migrates them itself, at start-up:
 *
 *     static const char *const images_schema[] = {
 *             "CREATE TABLE images (...)",            // version 1
 *             "ALTER TABLE images ADD COLUMN x ...",  // version 2
 *     };
 *     cnr_db_migrate(db, "images", images_schema, 2, &err);
 *
 * A module's version lives in the `schema` table; a database newer than
 * the code is refused rather than misread. */
#ifndef CNR_DB_H
#define CNR_DB_H

#include <stddef.h>

#include <sqlite3.h>

#include "common/err.h"

struct cnr_db;

int cnr_db_open(const char *path, struct cnr_db **out, struct cnr_err **err);
void cnr_db_close(struct cnr_db *db);
sqlite3 *cnr_db_sqlite(struct cnr_db *db);

int cnr_db_migrate(struct cnr_db *db, const char *module, const char *const *steps, size_t nsteps,
                   struct cnr_err **err);

int cnr_db_exec(struct cnr_db *db, const char *sql, struct cnr_err **err);
int cnr_db_prepare(struct cnr_db *db, const char *sql, sqlite3_stmt **st, struct cnr_err **err);
/* An error from the last SQLite call, with context. */
int cnr_db_err(struct cnr_db *db, struct cnr_err **err, const char *what);

/* Transactions nest by counting: only the outermost commits. */
int cnr_db_begin(struct cnr_db *db, struct cnr_err **err);
int cnr_db_commit(struct cnr_db *db, struct cnr_err **err);
void cnr_db_rollback(struct cnr_db *db);

void cnr_stmt_finalizep(sqlite3_stmt **st);
#define _cleanup_stmt_ __attribute__((cleanup(cnr_stmt_finalizep)))

#endif
