//! Storage: SQLite (rusqlite, WAL) by default, PostgreSQL (tokio-postgres) for a
//! province that runs several halls on one console.
//!
//! Both run the same SQL. Queries are written once with `?` placeholders in the subset
//! both engines share (`INSERT … RETURNING`, `ON CONFLICT … DO UPDATE`, `CAST(… AS
//! BIGINT)`), and only three column types are used: BIGINT, TEXT and DOUBLE PRECISION;
//! booleans are 0/1. The schema is the one place that differs (key generation).
//!
//! SQLite work runs on the blocking pool: a query never stalls the async workers that
//! serve the dashboard and drain MQTT.

use std::sync::{Arc, Mutex};

use tokio_postgres::types::{ToSql, Type};

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("SQLite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("PostgreSQL: {0}")]
    Postgres(#[from] tokio_postgres::Error),
    #[error("database: {0}")]
    Other(String),
}

pub type DbResult<T> = Result<T, DbError>;

/// A value going into or coming out of a query.
#[derive(Clone, Debug, PartialEq)]
pub enum Val {
    Null,
    Int(i64),
    Text(String),
    Real(f64),
}

impl Val {
    pub fn int(&self) -> i64 {
        match self {
            Val::Int(i) => *i,
            Val::Real(f) => *f as i64,
            Val::Text(t) => t.parse().unwrap_or(0),
            Val::Null => 0,
        }
    }
    pub fn opt_int(&self) -> Option<i64> {
        match self {
            Val::Null => None,
            v => Some(v.int()),
        }
    }
    pub fn text(&self) -> String {
        match self {
            Val::Text(t) => t.clone(),
            Val::Int(i) => i.to_string(),
            Val::Real(f) => f.to_string(),
            Val::Null => String::new(),
        }
    }
    pub fn opt_text(&self) -> Option<String> {
        match self {
            Val::Null => None,
            v => Some(v.text()),
        }
    }
}

impl From<i64> for Val {
    fn from(v: i64) -> Val {
        Val::Int(v)
    }
}
impl From<u32> for Val {
    fn from(v: u32) -> Val {
        Val::Int(v as i64)
    }
}
impl From<bool> for Val {
    fn from(v: bool) -> Val {
        Val::Int(v as i64)
    }
}
impl From<&str> for Val {
    fn from(v: &str) -> Val {
        Val::Text(v.to_string())
    }
}
impl From<String> for Val {
    fn from(v: String) -> Val {
        Val::Text(v)
    }
}
impl From<&String> for Val {
    fn from(v: &String) -> Val {
        Val::Text(v.clone())
    }
}
impl<T: Into<Val>> From<Option<T>> for Val {
    fn from(v: Option<T>) -> Val {
        v.map_or(Val::Null, Into::into)
    }
}

pub type Row = Vec<Val>;

/// One statement of a batch.
pub struct Stmt {
    pub sql: &'static str,
    pub params: Vec<Val>,
}

#[derive(Clone)]
pub enum Db {
    Sqlite(Arc<Mutex<rusqlite::Connection>>),
    Postgres(Arc<tokio::sync::Mutex<tokio_postgres::Client>>),
}

const SQLITE_SCHEMA: &str = include_str!("schema_sqlite.sql");
const POSTGRES_SCHEMA: &str = include_str!("schema_postgres.sql");

/// `?` placeholders to PostgreSQL's `$1, $2, …` (our SQL has no `?` inside strings).
pub fn numbered(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut n = 0;
    for c in sql.chars() {
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

impl rusqlite::ToSql for Val {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, Value};
        Ok(ToSqlOutput::Owned(match self {
            Val::Null => Value::Null,
            Val::Int(i) => Value::Integer(*i),
            Val::Text(t) => Value::Text(t.clone()),
            Val::Real(f) => Value::Real(*f),
        }))
    }
}

fn pg_params(params: &[Val]) -> Vec<Box<dyn ToSql + Sync + Send>> {
    params
        .iter()
        .map(|v| -> Box<dyn ToSql + Sync + Send> {
            match v {
                Val::Null => Box::new(Option::<String>::None),
                Val::Int(i) => Box::new(*i),
                Val::Text(t) => Box::new(t.clone()),
                Val::Real(f) => Box::new(*f),
            }
        })
        .collect()
}

/// The parameters as tokio-postgres takes them (borrowed from `pg_params`' boxes).
fn pg_refs(p: &[Box<dyn ToSql + Sync + Send>]) -> Vec<&(dyn ToSql + Sync)> {
    p.iter()
        .map(|b| b.as_ref() as &(dyn ToSql + Sync))
        .collect()
}

fn pg_row(r: &tokio_postgres::Row) -> DbResult<Row> {
    let mut out = Vec::with_capacity(r.len());
    for (i, col) in r.columns().iter().enumerate() {
        let t = col.type_();
        let v = if *t == Type::INT8 {
            r.try_get::<_, Option<i64>>(i)?.map_or(Val::Null, Val::Int)
        } else if *t == Type::INT4 {
            r.try_get::<_, Option<i32>>(i)?
                .map_or(Val::Null, |v| Val::Int(v as i64))
        } else if *t == Type::INT2 {
            r.try_get::<_, Option<i16>>(i)?
                .map_or(Val::Null, |v| Val::Int(v as i64))
        } else if *t == Type::FLOAT8 {
            r.try_get::<_, Option<f64>>(i)?.map_or(Val::Null, Val::Real)
        } else if *t == Type::BOOL {
            r.try_get::<_, Option<bool>>(i)?
                .map_or(Val::Null, |b| Val::Int(b as i64))
        } else if *t == Type::TEXT || *t == Type::VARCHAR || *t == Type::NAME {
            r.try_get::<_, Option<String>>(i)?
                .map_or(Val::Null, Val::Text)
        } else {
            return Err(DbError::Other(format!(
                "column {} has type {t}, which the console does not read",
                col.name()
            )));
        };
        out.push(v);
    }
    Ok(out)
}

fn sqlite_row(r: &rusqlite::Row, n: usize) -> rusqlite::Result<Row> {
    use rusqlite::types::ValueRef;
    (0..n)
        .map(|i| {
            Ok(match r.get_ref(i)? {
                ValueRef::Null => Val::Null,
                ValueRef::Integer(v) => Val::Int(v),
                ValueRef::Real(v) => Val::Real(v),
                ValueRef::Text(t) => Val::Text(String::from_utf8_lossy(t).into_owned()),
                ValueRef::Blob(b) => Val::Text(String::from_utf8_lossy(b).into_owned()),
            })
        })
        .collect()
}

impl Db {
    /// Opens `postgres://…` or a SQLite file path, and creates the schema if needed.
    pub async fn open(url: &str) -> DbResult<Db> {
        let db = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
            tokio::spawn(async move {
                if let Err(e) = conn.await {
                    tracing::error!("PostgreSQL connection ended: {e}");
                }
            });
            Db::Postgres(Arc::new(tokio::sync::Mutex::new(client)))
        } else {
            let path = url.strip_prefix("sqlite://").unwrap_or(url).to_string();
            let conn = tokio::task::spawn_blocking(move || -> DbResult<rusqlite::Connection> {
                if let Some(parent) = std::path::Path::new(&path).parent()
                    && !parent.as_os_str().is_empty()
                {
                    std::fs::create_dir_all(parent)
                        .map_err(|e| DbError::Other(format!("cannot create {parent:?}: {e}")))?;
                }
                let c = rusqlite::Connection::open(&path)?;
                c.pragma_update(None, "journal_mode", "WAL")?;
                // NORMAL: telemetry and queue rows are not payments; losing the last
                // fraction of a second on power loss is acceptable, 3.7 ms a commit is not.
                c.pragma_update(None, "synchronous", "NORMAL")?;
                c.pragma_update(None, "foreign_keys", "ON")?;
                c.busy_timeout(std::time::Duration::from_secs(5))?;
                Ok(c)
            })
            .await
            .map_err(|e| DbError::Other(e.to_string()))??;
            Db::Sqlite(Arc::new(Mutex::new(conn)))
        };
        db.migrate().await?;
        Ok(db)
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Db::Sqlite(_) => "SQLite",
            Db::Postgres(_) => "PostgreSQL",
        }
    }

    async fn migrate(&self) -> DbResult<()> {
        match self {
            Db::Sqlite(c) => {
                let c = c.clone();
                tokio::task::spawn_blocking(move || -> DbResult<()> {
                    let c = c.lock().unwrap_or_else(|e| e.into_inner());
                    c.execute_batch(SQLITE_SCHEMA)?;
                    Ok(())
                })
                .await
                .map_err(|e| DbError::Other(e.to_string()))?
            }
            Db::Postgres(c) => {
                let c = c.lock().await;
                c.batch_execute(POSTGRES_SCHEMA).await?;
                Ok(())
            }
        }
    }

    /// Runs a query and returns its rows.
    pub async fn query(&self, sql: &str, params: Vec<Val>) -> DbResult<Vec<Row>> {
        match self {
            Db::Sqlite(c) => {
                let c = c.clone();
                let sql = sql.to_string();
                tokio::task::spawn_blocking(move || -> DbResult<Vec<Row>> {
                    let c = c.lock().unwrap_or_else(|e| e.into_inner());
                    let mut st = c.prepare_cached(&sql)?;
                    let n = st.column_count();
                    let rows = st
                        .query_map(rusqlite::params_from_iter(params.iter()), |r| {
                            sqlite_row(r, n)
                        })?
                        .collect::<Result<Vec<_>, _>>()?;
                    Ok(rows)
                })
                .await
                .map_err(|e| DbError::Other(e.to_string()))?
            }
            Db::Postgres(c) => {
                let c = c.lock().await;
                let p = pg_params(&params);
                let refs = pg_refs(&p);
                let rows = c.query(&numbered(sql), &refs).await?;
                rows.iter().map(pg_row).collect()
            }
        }
    }

    pub async fn query_one(&self, sql: &str, params: Vec<Val>) -> DbResult<Option<Row>> {
        Ok(self.query(sql, params).await?.into_iter().next())
    }

    /// Runs a statement; returns the number of rows it changed.
    pub async fn exec(&self, sql: &str, params: Vec<Val>) -> DbResult<u64> {
        match self {
            Db::Sqlite(c) => {
                let c = c.clone();
                let sql = sql.to_string();
                tokio::task::spawn_blocking(move || -> DbResult<u64> {
                    let c = c.lock().unwrap_or_else(|e| e.into_inner());
                    let n = c
                        .prepare_cached(&sql)?
                        .execute(rusqlite::params_from_iter(params.iter()))?;
                    Ok(n as u64)
                })
                .await
                .map_err(|e| DbError::Other(e.to_string()))?
            }
            Db::Postgres(c) => {
                let c = c.lock().await;
                let p = pg_params(&params);
                let refs = pg_refs(&p);
                Ok(c.execute(&numbered(sql), &refs).await?)
            }
        }
    }

    /// Runs statements in one transaction: all or nothing.
    pub async fn batch(&self, stmts: Vec<Stmt>) -> DbResult<()> {
        if stmts.is_empty() {
            return Ok(());
        }
        match self {
            Db::Sqlite(c) => {
                let c = c.clone();
                tokio::task::spawn_blocking(move || -> DbResult<()> {
                    let mut c = c.lock().unwrap_or_else(|e| e.into_inner());
                    let tx = c.transaction()?;
                    for s in &stmts {
                        tx.prepare_cached(s.sql)?
                            .execute(rusqlite::params_from_iter(s.params.iter()))?;
                    }
                    tx.commit()?;
                    Ok(())
                })
                .await
                .map_err(|e| DbError::Other(e.to_string()))?
            }
            Db::Postgres(c) => {
                let mut c = c.lock().await;
                let tx = c.transaction().await?;
                for s in &stmts {
                    let p = pg_params(&s.params);
                    let refs = pg_refs(&p);
                    tx.execute(&numbered(s.sql), &refs).await?;
                }
                tx.commit().await?;
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_in_order() {
        assert_eq!(
            numbered("SELECT a FROM t WHERE b = ? AND c = ? LIMIT ?"),
            "SELECT a FROM t WHERE b = $1 AND c = $2 LIMIT $3"
        );
    }

    #[tokio::test]
    async fn sqlite_round_trip_and_batch_atomicity() {
        let dir = std::env::temp_dir().join(format!("hall-db-{}", std::process::id()));
        let db = Db::open(dir.join("t.db").to_str().unwrap()).await.unwrap();
        db.exec(
            "INSERT INTO audit (at_ms, actor, action, target, detail, ip) VALUES (?, ?, ?, ?, ?, ?)",
            vec![1i64.into(), "it".into(), "x".into(), "".into(), "".into(), Val::Null],
        )
        .await
        .unwrap();
        let r = db
            .query_one("SELECT COUNT(*), MAX(actor) FROM audit", vec![])
            .await
            .unwrap()
            .unwrap();
        assert_eq!((r[0].int(), r[1].text()), (1, "it".to_string()));
        // The second statement fails (NOT NULL), so the first must not stay.
        let bad = db
            .batch(vec![
                Stmt {
                    sql: "INSERT INTO audit (at_ms, actor, action, target, detail) VALUES (2, 'a', 'b', '', '')",
                    params: vec![],
                },
                Stmt {
                    sql: "INSERT INTO audit (at_ms, actor, action, target, detail) VALUES (3, NULL, 'b', '', '')",
                    params: vec![],
                },
            ])
            .await;
        assert!(bad.is_err());
        let n = db
            .query_one("SELECT COUNT(*) FROM audit", vec![])
            .await
            .unwrap()
            .unwrap();
        assert_eq!(n[0].int(), 1);
        let _ = std::fs::remove_dir_all(dir);
    }
}
