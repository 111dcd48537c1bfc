//! Accounts, passwords, sessions, login throttling and the audit log.
//!
//! Passwords are argon2id (the `argon2` crate's defaults: 19 MiB, 2 passes, the OWASP
//! minimum). A session is a random token in an HttpOnly, Secure, SameSite=Strict cookie
//! with the `__Host-` prefix; the database holds only its sha256, so a leaked database
//! does not log anyone in. Each session has its own CSRF token that every form and
//! script sends back.

use std::collections::HashMap;
use std::sync::OnceLock;

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::db::{Db, DbResult, Val};

/// Sessions last a working day, then staff log in again.
pub const SESSION_MS: i64 = 12 * 3600 * 1000;
pub const MIN_PASSWORD_LEN: usize = 10;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Hall staff: watch, acknowledge, call tickets, reprint, return to attract.
    Staff,
    /// IT: everything staff may do, plus configuration, accounts and the audit log.
    It,
}

impl Role {
    pub fn code(self) -> &'static str {
        match self {
            Role::Staff => "staff",
            Role::It => "it",
        }
    }
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "staff" => Some(Role::Staff),
            "it" => Some(Role::It),
            _ => None,
        }
    }
}

#[derive(Clone, Debug)]
pub struct User {
    pub id: i64,
    pub name: String,
    pub role: Role,
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("the password must have at least {MIN_PASSWORD_LEN} characters")]
    WeakPassword,
    #[error("an account name has 1 to 32 letters, digits, '.', '-' or '_'")]
    BadName,
    #[error("the account {0} already exists")]
    Exists(String),
    #[error("no account {0}")]
    NoSuchUser(String),
    #[error("password hashing failed: {0}")]
    Hash(String),
    #[error(transparent)]
    Db(#[from] crate::db::DbError),
}

pub fn hash_password(password: &str) -> Result<String, AuthError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AuthError::Hash(e.to_string()))
}

pub fn verify_password(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A hash to verify against when the account does not exist, so that a wrong name
/// takes as long as a wrong password and names cannot be probed by timing.
fn dummy_hash() -> &'static str {
    static H: OnceLock<String> = OnceLock::new();
    H.get_or_init(|| hash_password("no such account, no such password").unwrap_or_default())
}

pub fn random_hex(bytes: usize) -> String {
    let mut b = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut b);
    hex::encode(b)
}

pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn valid_name(name: &str) -> bool {
    (1..=32).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
}

pub async fn add_user(db: &Db, name: &str, role: Role, password: &str) -> Result<i64, AuthError> {
    if !valid_name(name) {
        return Err(AuthError::BadName);
    }
    if password.chars().count() < MIN_PASSWORD_LEN {
        return Err(AuthError::WeakPassword);
    }
    if db
        .query_one("SELECT id FROM users WHERE name = ?", vec![name.into()])
        .await?
        .is_some()
    {
        return Err(AuthError::Exists(name.into()));
    }
    let hash = hash_password(password)?;
    let r = db
        .query_one(
            "INSERT INTO users (name, role, pw_hash, created_ms, disabled) VALUES (?, ?, ?, ?, 0) RETURNING id",
            vec![name.into(), role.code().into(), hash.into(), crate::time::now_ms().into()],
        )
        .await?;
    Ok(r.map_or(0, |r| r[0].int()))
}

pub async fn set_password(db: &Db, name: &str, password: &str) -> Result<(), AuthError> {
    if password.chars().count() < MIN_PASSWORD_LEN {
        return Err(AuthError::WeakPassword);
    }
    let hash = hash_password(password)?;
    let n = db
        .exec(
            "UPDATE users SET pw_hash = ? WHERE name = ?",
            vec![hash.into(), name.into()],
        )
        .await?;
    if n == 0 {
        return Err(AuthError::NoSuchUser(name.into()));
    }
    // A new password ends every session of the account.
    db.exec(
        "DELETE FROM web_sessions WHERE user_id IN (SELECT id FROM users WHERE name = ?)",
        vec![name.into()],
    )
    .await?;
    Ok(())
}

pub async fn set_disabled(db: &Db, id: i64, disabled: bool) -> DbResult<()> {
    db.exec(
        "UPDATE users SET disabled = ? WHERE id = ?",
        vec![disabled.into(), id.into()],
    )
    .await?;
    if disabled {
        db.exec(
            "DELETE FROM web_sessions WHERE user_id = ?",
            vec![id.into()],
        )
        .await?;
    }
    Ok(())
}

/// Checks a name and password. Runs the hash even for unknown names.
pub async fn check_login(db: &Db, name: &str, password: &str) -> DbResult<Option<User>> {
    let row = db
        .query_one(
            "SELECT id, name, role, pw_hash, disabled FROM users WHERE name = ?",
            vec![name.into()],
        )
        .await?;
    let password = password.to_string();
    let (hash, user) = match &row {
        Some(r) => (
            r[3].text(),
            Role::parse(&r[2].text()).map(|role| User {
                id: r[0].int(),
                name: r[1].text(),
                role,
            }),
        ),
        None => (dummy_hash().to_string(), None),
    };
    // argon2 is deliberately slow: keep it off the async workers.
    let ok = tokio::task::spawn_blocking(move || verify_password(&hash, &password))
        .await
        .unwrap_or(false);
    let disabled = row.as_ref().is_some_and(|r| r[4].int() != 0);
    Ok(if ok && !disabled { user } else { None })
}

/// A new session: the cookie token (to hand to the browser) and the CSRF token.
pub async fn create_session(db: &Db, user: &User, now: i64) -> DbResult<(String, String)> {
    let token = random_hex(32);
    let csrf = random_hex(32);
    db.exec(
        "INSERT INTO web_sessions (token_hash, user_id, csrf, created_ms, expires_ms) VALUES (?, ?, ?, ?, ?)",
        vec![
            token_hash(&token).into(),
            user.id.into(),
            csrf.as_str().into(),
            now.into(),
            (now + SESSION_MS).into(),
        ],
    )
    .await?;
    // Old sessions go when new ones come; no timer needed.
    db.exec(
        "DELETE FROM web_sessions WHERE expires_ms < ?",
        vec![now.into()],
    )
    .await?;
    Ok((token, csrf))
}

/// The live session of a cookie token.
pub async fn session_of(db: &Db, token: &str, now: i64) -> DbResult<Option<(User, String)>> {
    Ok(db
        .query_one(
            "SELECT u.id, u.name, u.role, s.csrf FROM web_sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = ? AND s.expires_ms > ? AND u.disabled = 0",
            vec![token_hash(token).into(), now.into()],
        )
        .await?
        .and_then(|r| {
            Some((
                User {
                    id: r[0].int(),
                    name: r[1].text(),
                    role: Role::parse(&r[2].text())?,
                },
                r[3].text(),
            ))
        }))
}

pub async fn end_session(db: &Db, token: &str) -> DbResult<()> {
    db.exec(
        "DELETE FROM web_sessions WHERE token_hash = ?",
        vec![token_hash(token).into()],
    )
    .await?;
    Ok(())
}

/// Records a staff or IT action. The audit log is append-only from the console's side:
/// nothing in the console updates or deletes its rows.
pub async fn audit(
    db: &Db,
    actor: &str,
    action: &str,
    target: &str,
    detail: &str,
    ip: Option<&str>,
) -> DbResult<()> {
    db.exec(
        "INSERT INTO audit (at_ms, actor, action, target, detail, ip) VALUES (?, ?, ?, ?, ?, ?)",
        vec![
            crate::time::now_ms().into(),
            actor.into(),
            action.into(),
            target.into(),
            detail.into(),
            Val::from(ip),
        ],
    )
    .await?;
    Ok(())
}

/// Failed logins per key (an account name, or a client address `ip:…`). After
/// [`Throttle::FREE`] failures inside the window (20 for an address), each further failure locks the key for
/// twice as long as the last, from 30 s up to 15 minutes. A success clears the key.
#[derive(Default)]
pub struct Throttle {
    keys: HashMap<String, Failures>,
}

#[derive(Clone, Copy, Debug)]
struct Failures {
    count: u32,
    first_ms: i64,
    locked_until_ms: i64,
}

impl Throttle {
    pub const FREE: u32 = 5;
    pub const FREE_PER_ADDRESS: u32 = 20;
    const WINDOW_MS: i64 = 15 * 60_000;
    const BASE_LOCK_MS: i64 = 30_000;
    const MAX_LOCK_MS: i64 = 15 * 60_000;

    /// `Err(seconds)` while the key is locked.
    pub fn check(&self, key: &str, now: i64) -> Result<(), u64> {
        match self.keys.get(key) {
            Some(f) if f.locked_until_ms > now => {
                Err(((f.locked_until_ms - now + 999) / 1000) as u64)
            }
            _ => Ok(()),
        }
    }

    pub fn failed(&mut self, key: &str, now: i64) {
        if self.keys.len() > 100_000 {
            // Bounded memory under a spray of names: forget entries that can no longer
            // lock anyone.
            self.keys
                .retain(|_, f| now - f.first_ms < Self::WINDOW_MS || f.locked_until_ms > now);
        }
        let f = self.keys.entry(key.to_string()).or_insert(Failures {
            count: 0,
            first_ms: now,
            locked_until_ms: 0,
        });
        if now - f.first_ms > Self::WINDOW_MS && f.locked_until_ms <= now {
            *f = Failures {
                count: 0,
                first_ms: now,
                locked_until_ms: 0,
            };
        }
        f.count += 1;
        // A client address may stand for a whole office behind one proxy: it gets more
        // tries than a single account before it is locked.
        let free = if key.starts_with("ip:") {
            Self::FREE_PER_ADDRESS
        } else {
            Self::FREE
        };
        if f.count >= free {
            let exp = (f.count - free).min(10);
            let lock = (Self::BASE_LOCK_MS << exp).min(Self::MAX_LOCK_MS);
            f.locked_until_ms = now + lock;
        }
    }

    pub fn succeeded(&mut self, key: &str) {
        self.keys.remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argon2id_hashes_verify() {
        let h = hash_password("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(verify_password(&h, "correct horse battery"));
        assert!(!verify_password(&h, "correct horse battery!"));
        assert!(!verify_password("not a hash", "x"));
    }

    #[test]
    fn throttle_locks_after_five_and_doubles() {
        let mut t = Throttle::default();
        for i in 0..4 {
            t.failed("wang", i);
            assert!(t.check("wang", i).is_ok());
        }
        t.failed("wang", 10);
        assert_eq!(t.check("wang", 10), Err(30));
        assert!(t.check("wang", 10 + 30_000).is_ok());
        t.failed("wang", 40_000);
        assert_eq!(t.check("wang", 40_000), Err(60));
        assert!(t.check("li", 40_000).is_ok());
        t.succeeded("wang");
        assert!(t.check("wang", 40_001).is_ok());
    }

    #[test]
    fn names_are_checked() {
        assert!(valid_name("wang.li-2"));
        assert!(!valid_name(""));
        assert!(!valid_name("a b"));
        assert!(!valid_name("<script>"));
    }
}
