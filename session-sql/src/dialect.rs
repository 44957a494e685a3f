//! The SQL each database runs, in one place.
//!
//! Statements are written once with `?` placeholders and numbered (`$1`, `$2`, …) for
//! PostgreSQL. A dialect gets its own text only where its SQL really differs: column types,
//! `GREATEST` versus SQLite's two-argument `MAX`, and the shape of a bounded delete.
//!
//! Times are `BIGINT` milliseconds from the store's clock, not database timestamps, so every
//! dialect compares them the same way and tests can drive expiry with a manual clock.

/// Which database a statement set is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    Postgres,
    #[cfg_attr(not(feature = "mysql"), allow(dead_code))]
    MySql,
    #[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
    Sqlite,
}

/// Every statement a store runs, with the table name filled in.
#[derive(Debug, Clone)]
pub(crate) struct Statements {
    pub(crate) create: Arc<str>,
    pub(crate) load: Arc<str>,
    pub(crate) save: Arc<str>,
    pub(crate) save_delete: Arc<str>,
    pub(crate) probe_live: Arc<str>,
    pub(crate) delete_dead_key: Arc<str>,
    pub(crate) touch: Arc<str>,
    pub(crate) delete: Arc<str>,
    pub(crate) rotate: Arc<str>,
    pub(crate) list_owner: Arc<str>,
    pub(crate) delete_owner: Arc<str>,
    pub(crate) delete_owner_except: Arc<str>,
    pub(crate) sweep_batch: Arc<str>,
    pub(crate) sweep_rearm: Arc<str>,
    pub(crate) schema_table: Arc<str>,
    pub(crate) schema_version: Arc<str>,
    pub(crate) schema_record: Arc<str>,
    pub(crate) lock_take: Arc<str>,
    pub(crate) lock_token: Arc<str>,
    pub(crate) lock_probe: Arc<str>,
    pub(crate) save_fenced: Arc<str>,
    pub(crate) save_fenced_delete: Arc<str>,
    pub(crate) lock_release: Arc<str>,
}

/// One step of a migration: a statement, and a query whose success shows the step was
/// already made (by another node migrating at the same time), so that its failure then is
/// not an error. Told by what the schema now holds, never by an error's message text.
#[derive(Debug, Clone)]
pub(crate) struct Step {
    pub(crate) sql: String,
    pub(crate) done_if: Option<String>,
}

impl From<String> for Step {
    fn from(sql: String) -> Self {
        Step { sql, done_if: None }
    }
}

use std::sync::Arc;

const COLUMNS: &str =
    "skey, record, version, expires_at, owner_id, created_at, last_seen, sweep_after";

impl Dialect {
    fn sql(self, template: &str) -> String {
        if self != Dialect::Postgres {
            return template.to_owned();
        }
        let mut out = String::with_capacity(template.len() + 16);
        let mut n = 0;
        for c in template.chars() {
            if c == '?' {
                n += 1;
                out.push('$');
                out.push_str(&n.to_string());
            } else {
                out.push(c);
            }
        }
        out
    }

    pub(crate) fn statements(self, t: &str) -> Statements {
        let greatest = match self {
            Dialect::Sqlite => "MAX",
            _ => "GREATEST",
        };
        // Bounded deletes: PostgreSQL skips rows another sweeper holds, so several nodes
        // can sweep at once without waiting on each other; MySQL has DELETE … LIMIT;
        // SQLite has one writer at a time anyway. Candidates come from the index on
        // `sweep_after`, a lower bound of the row's expiry (migration 4): only those whose
        // real expiry has passed are deleted; the others are re-armed with their expiry.
        let bounded = |head: &str, cond: &str| match self {
            Dialect::Postgres => format!(
                "{head} WHERE skey IN (SELECT skey FROM {t} WHERE {cond} \
                 LIMIT ? FOR UPDATE SKIP LOCKED)"
            ),
            Dialect::MySql => format!("{head} WHERE {cond} LIMIT ?"),
            Dialect::Sqlite => {
                format!("{head} WHERE skey IN (SELECT skey FROM {t} WHERE {cond} LIMIT ?)")
            }
        };
        let sweep = bounded(
            &format!("DELETE FROM {t}"),
            "sweep_after <= ? AND expires_at <= ?",
        );
        let rearm = bounded(
            &format!("UPDATE {t} SET sweep_after = expires_at"),
            "sweep_after <= ? AND expires_at > ?",
        );
        let schema_record = match self {
            Dialect::MySql => format!("INSERT IGNORE INTO {t}_schema (version) VALUES (?)"),
            Dialect::Postgres | Dialect::Sqlite => format!(
                "INSERT INTO {t}_schema (version) VALUES (?) ON CONFLICT (version) DO NOTHING"
            ),
        };
        Statements {
            create: self.sql(&format!(
                "INSERT INTO {t} ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
            )).into(),
            load: self.sql(&format!(
                "SELECT record, expires_at, last_seen FROM {t} WHERE skey = ? AND expires_at > ?"
            )).into(),
            save: self.sql(&format!(
                "UPDATE {t} SET record = ?, version = ?, expires_at = ?, owner_id = ?, \
                 last_seen = ? WHERE skey = ? AND version = ? AND expires_at > ?"
            )).into(),
            save_delete: self.sql(&format!(
                "DELETE FROM {t} WHERE skey = ? AND version = ? AND expires_at > ?"
            )).into(),
            probe_live: self.sql(&format!(
                "SELECT version FROM {t} WHERE skey = ? AND expires_at > ?"
            )).into(),
            delete_dead_key: self.sql(&format!(
                "DELETE FROM {t} WHERE skey = ? AND expires_at <= ?"
            )).into(),
            touch: self.sql(&format!(
                "UPDATE {t} SET expires_at = ?, last_seen = {greatest}(last_seen, ?) \
                 WHERE skey = ? AND expires_at > ?"
            )).into(),
            delete: self.sql(&format!("DELETE FROM {t} WHERE skey = ?")).into(),
            // A rotated session starts unlocked, as on every backend.
            rotate: self.sql(&format!(
                "UPDATE {t} SET skey = ?, record = ?, version = ?, expires_at = ?, owner_id = ?, \
                 last_seen = ?, lock_until = 0 WHERE skey = ? AND version = ? AND expires_at > ?"
            )).into(),
            list_owner: self.sql(&format!(
                "SELECT skey, record, expires_at, last_seen FROM {t} \
                 WHERE owner_id = ? AND expires_at > ?"
            )).into(),
            delete_owner: self.sql(&format!(
                "DELETE FROM {t} WHERE owner_id = ? AND expires_at > ?"
            )).into(),
            delete_owner_except: self.sql(&format!(
                "DELETE FROM {t} WHERE owner_id = ? AND expires_at > ? AND skey <> ?"
            )).into(),
            sweep_batch: self.sql(&sweep).into(),
            sweep_rearm: self.sql(&rearm).into(),
            schema_table: format!(
                "CREATE TABLE IF NOT EXISTS {t}_schema (version BIGINT NOT NULL PRIMARY KEY)"
            ).into(),
            schema_version: format!("SELECT MAX(version) FROM {t}_schema").into(),
            schema_record: self.sql(&schema_record).into(),
            // The lock: a lease in two columns of the session's row. Taken by one guarded
            // UPDATE; its token read back in the same transaction.
            lock_take: self.sql(&format!(
                "UPDATE {t} SET lock_token = lock_token + 1, lock_until = ? \
                 WHERE skey = ? AND expires_at > ? AND lock_until <= ?"
            )).into(),
            lock_token: self.sql(&format!("SELECT lock_token FROM {t} WHERE skey = ?")).into(),
            lock_probe: self.sql(&format!(
                "SELECT lock_token, lock_until FROM {t} WHERE skey = ? AND expires_at > ?"
            )).into(),
            save_fenced: self.sql(&format!(
                "UPDATE {t} SET record = ?, version = ?, expires_at = ?, owner_id = ?, \
                 last_seen = ?, lock_until = 0 WHERE skey = ? AND version = ? AND expires_at > ? \
                 AND lock_token = ? AND lock_until > ?"
            )).into(),
            save_fenced_delete: self.sql(&format!(
                "DELETE FROM {t} WHERE skey = ? AND version = ? AND expires_at > ? \
                 AND lock_token = ? AND lock_until > ?"
            )).into(),
            lock_release: self.sql(&format!(
                "UPDATE {t} SET lock_until = 0 WHERE skey = ? AND expires_at > ? \
                 AND lock_token = ? AND lock_until > ?"
            )).into(),
        }
    }

    /// The versioned migrations: each entry is (version, steps).
    pub(crate) fn migrations(self, t: &str) -> Vec<(i64, Vec<Step>)> {
        let v1 = match self {
            Dialect::Postgres => vec![
                format!(
                    "CREATE TABLE IF NOT EXISTS {t} (skey BYTEA PRIMARY KEY, record BYTEA NOT NULL, \
                     version BIGINT NOT NULL, expires_at BIGINT NOT NULL, owner_id TEXT, \
                     created_at BIGINT NOT NULL, last_seen BIGINT NOT NULL)"
                ),
                format!("CREATE INDEX IF NOT EXISTS {t}_expires_idx ON {t} (expires_at)"),
                format!("CREATE INDEX IF NOT EXISTS {t}_owner_idx ON {t} (owner_id)"),
            ],
            // LONGBLOB, not BLOB: BLOB caps a record at 64 KiB. utf8mb4_bin makes owner
            // comparison exact, so "Alice" and "alice" are different owners.
            Dialect::MySql => vec![format!(
                "CREATE TABLE IF NOT EXISTS {t} (skey VARBINARY(34) NOT NULL PRIMARY KEY, \
                 record LONGBLOB NOT NULL, version BIGINT NOT NULL, expires_at BIGINT NOT NULL, \
                 owner_id VARCHAR(255) NULL, created_at BIGINT NOT NULL, last_seen BIGINT NOT NULL, \
                 INDEX {t}_expires_idx (expires_at), INDEX {t}_owner_idx (owner_id)) \
                 ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin"
            )],
            Dialect::Sqlite => vec![
                format!(
                    "CREATE TABLE IF NOT EXISTS {t} (skey BLOB PRIMARY KEY, record BLOB NOT NULL, \
                     version INTEGER NOT NULL, expires_at INTEGER NOT NULL, owner_id TEXT, \
                     created_at INTEGER NOT NULL, last_seen INTEGER NOT NULL)"
                ),
                format!("CREATE INDEX IF NOT EXISTS {t}_expires_idx ON {t} (expires_at)"),
                format!("CREATE INDEX IF NOT EXISTS {t}_owner_idx ON {t} (owner_id)"),
            ],
        };
        // Version 2: the per-session lock's lease columns. One column per statement, since
        // SQLite adds only one at a time.
        let v2 = ["lock_token", "lock_until"]
            .into_iter()
            .map(|c| Step {
                sql: format!("ALTER TABLE {t} ADD COLUMN {c} BIGINT NOT NULL DEFAULT 0"),
                done_if: Some(format!("SELECT {c} FROM {t} WHERE 1 = 0")),
            })
            .collect();
        // Version 3: end notices for live connections, where the database has them
        // (`notices`). A row deleted, or moved to a new key, notifies its old key in hex.
        let v3 = match self {
            Dialect::Postgres => vec![
                Step {
                    sql: format!(
                        "CREATE OR REPLACE FUNCTION {t}_ended() RETURNS trigger LANGUAGE plpgsql \
                         AS $$ BEGIN PERFORM pg_notify('{t}_ended', encode(OLD.skey, 'hex')); \
                         RETURN NULL; END $$"
                    ),
                    // Errors unless the function exists.
                    done_if: Some(format!("SELECT '{t}_ended()'::regprocedure")),
                },
                Step {
                    sql: format!(
                        "CREATE OR REPLACE TRIGGER {t}_ended AFTER DELETE OR UPDATE OF skey \
                         ON {t} FOR EACH ROW EXECUTE FUNCTION {t}_ended()"
                    ),
                    // Errors (division by zero) unless the trigger exists.
                    done_if: Some(format!(
                        "SELECT 1 / COUNT(*)::int FROM pg_trigger WHERE tgname = lower('{t}_ended')"
                    )),
                },
            ],
            Dialect::MySql | Dialect::Sqlite => Vec::new(),
        };
        vec![
            (1, v1.into_iter().map(Step::from).collect()),
            (2, v2),
            (3, v3),
            (4, self.sweep_index(t)),
        ]
    }
}

impl Dialect {
    /// Version 4: the sweeper finds its rows through `sweep_after` instead of `expires_at`.
    ///
    /// Every save moves `expires_at` (idle expiry slides), and with an index on it every
    /// save also rewrote an index entry: PostgreSQL could not make the update heap-only,
    /// and SQLite and InnoDB wrote a second B-tree. `sweep_after` is set at create and
    /// never by a save; it is a lower bound of the expiry, so the sweeper's index scan sees
    /// every expired row, deletes those whose `expires_at` has passed and re-arms the
    /// others (`sweep_after = expires_at`): one index write per session per sweep period
    /// at most, instead of one per save. Rows from before this migration get 0, so the
    /// first sweep re-arms or deletes them in its bounded batches, with no table rewrite.
    fn sweep_index(self, t: &str) -> Vec<Step> {
        let add = Step {
            sql: format!("ALTER TABLE {t} ADD COLUMN sweep_after BIGINT NOT NULL DEFAULT 0"),
            done_if: Some(format!("SELECT sweep_after FROM {t} WHERE 1 = 0")),
        };
        match self {
            Dialect::Postgres | Dialect::Sqlite => vec![
                add,
                format!("CREATE INDEX IF NOT EXISTS {t}_sweep_idx ON {t} (sweep_after)").into(),
                format!("DROP INDEX IF EXISTS {t}_expires_idx").into(),
            ],
            // MySQL 8 has neither CREATE INDEX IF NOT EXISTS nor DROP INDEX IF EXISTS, so
            // each step says how to see it was made: FORCE INDEX fails on a missing index,
            // and a scalar subquery fails when it finds two rows (the index still there).
            Dialect::MySql => vec![
                add,
                Step {
                    sql: format!("CREATE INDEX {t}_sweep_idx ON {t} (sweep_after)"),
                    done_if: Some(format!(
                        "SELECT sweep_after FROM {t} FORCE INDEX ({t}_sweep_idx) WHERE 1 = 0"
                    )),
                },
                Step {
                    sql: format!("DROP INDEX {t}_expires_idx ON {t}"),
                    done_if: Some(format!(
                        "SELECT (SELECT 1 UNION ALL SELECT 1 FROM information_schema.statistics \
                         WHERE table_schema = DATABASE() AND table_name = '{t}' \
                         AND index_name = '{t}_expires_idx')"
                    )),
                },
            ],
        }
    }
}

/// Accepts `[A-Za-z_][A-Za-z0-9_]*`, at most 48 characters (index names append to it).
pub(crate) fn valid_table_name(t: &str) -> bool {
    let mut chars = t.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && t.len() <= 48
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Placeholders are numbered for PostgreSQL and left alone elsewhere.
    #[test]
    fn placeholders() {
        assert_eq!(
            Dialect::Postgres.sql("a = ? AND b = ?"),
            "a = $1 AND b = $2"
        );
        assert_eq!(Dialect::MySql.sql("a = ? AND b = ?"), "a = ? AND b = ?");
    }

    /// Every statement that returns a record ends its columns with the three that
    /// `SqlStore::raw_of` reads by position.
    #[test]
    fn record_columns_come_last() {
        for d in [Dialect::Postgres, Dialect::MySql, Dialect::Sqlite] {
            let st = d.statements("sessions");
            for sql in [&st.load, &st.list_owner] {
                let columns = sql
                    .strip_prefix("SELECT ")
                    .and_then(|rest| rest.split(" FROM ").next())
                    .expect("a SELECT");
                assert!(
                    columns.ends_with("record, expires_at, last_seen"),
                    "{d:?}: {sql}"
                );
            }
        }
    }

    /// Table names that could inject SQL are refused.
    #[test]
    fn table_names() {
        for ok in ["sessions", "_s1", "App_Sessions"] {
            assert!(valid_table_name(ok), "{ok}");
        }
        for bad in [
            "",
            "1abc",
            "a-b",
            "a;drop table x",
            "a b",
            "sé",
            &"x".repeat(49),
        ] {
            assert!(!valid_table_name(bad), "{bad}");
        }
    }
}
