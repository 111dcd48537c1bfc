//! The back office's records in SQLite (WAL, `synchronous=FULL`: a payment must survive
//! a power cut). Schema, seed data, and the queries the routes and workers need.

use rusqlite::{Connection, OptionalExtension, params};

use kiosk_core::ids::{credit_check_char, id_check_char};

pub const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS taxpayers (
    id INTEGER PRIMARY KEY,
    id_number TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    phone TEXT NOT NULL,
    credit_rating TEXT NOT NULL,
    bank_balance_fen INTEGER NOT NULL CHECK (bank_balance_fen >= 0)
);
CREATE TABLE IF NOT EXISTS entities (
    taxpayer_id INTEGER NOT NULL REFERENCES taxpayers(id),
    name TEXT NOT NULL,
    credit_code TEXT NOT NULL UNIQUE,
    small_scale INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS liabilities (
    id TEXT PRIMARY KEY,
    taxpayer_id INTEGER NOT NULL REFERENCES taxpayers(id),
    tax_type TEXT NOT NULL,
    period TEXT NOT NULL,
    amount_fen INTEGER NOT NULL CHECK (amount_fen > 0),
    paid_fen INTEGER NOT NULL DEFAULT 0 CHECK (paid_fen >= 0 AND paid_fen <= amount_fen),
    due_date TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS invoices (
    taxpayer_id INTEGER NOT NULL REFERENCES taxpayers(id),
    number TEXT NOT NULL,
    issued TEXT NOT NULL,
    buyer TEXT NOT NULL,
    amount_fen INTEGER NOT NULL,
    tax_fen INTEGER NOT NULL,
    status TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS social_insurance (
    taxpayer_id INTEGER NOT NULL REFERENCES taxpayers(id),
    scheme TEXT NOT NULL,
    period TEXT NOT NULL,
    base_fen INTEGER NOT NULL,
    paid_fen INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS sms_codes (
    id_number TEXT PRIMARY KEY,
    code TEXT NOT NULL,
    expires_ms INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS tokens (
    token TEXT PRIMARY KEY,
    taxpayer_id INTEGER NOT NULL REFERENCES taxpayers(id),
    kiosk_id TEXT NOT NULL,
    method TEXT NOT NULL,
    expires_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS applications (
    tracking TEXT PRIMARY KEY,
    kiosk_id TEXT NOT NULL,
    idem_key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    taxpayer_id INTEGER NOT NULL REFERENCES taxpayers(id),
    business TEXT NOT NULL,
    mode TEXT NOT NULL,
    period TEXT,
    status TEXT NOT NULL,
    due_fen INTEGER NOT NULL,
    paid_fen INTEGER NOT NULL DEFAULT 0,
    doc_number TEXT,
    doc_code TEXT,
    doc_kind TEXT,
    reason_zh TEXT,
    reason_en TEXT,
    values_json TEXT NOT NULL,
    session_id TEXT NOT NULL,
    verification TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL,
    next_ms INTEGER NOT NULL DEFAULT 0,
    UNIQUE (kiosk_id, idem_key)
);
CREATE INDEX IF NOT EXISTS applications_status ON applications(status, next_ms);
CREATE TABLE IF NOT EXISTS payments (
    id TEXT PRIMARY KEY,
    kiosk_id TEXT NOT NULL,
    idem_key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    taxpayer_id INTEGER NOT NULL REFERENCES taxpayers(id),
    target TEXT NOT NULL,
    amount_fen INTEGER NOT NULL CHECK (amount_fen > 0),
    method TEXT NOT NULL,
    status TEXT NOT NULL,
    qr_payload TEXT,
    voucher TEXT,
    reason_zh TEXT,
    reason_en TEXT,
    created_ms INTEGER NOT NULL,
    UNIQUE (kiosk_id, idem_key)
);
CREATE TABLE IF NOT EXISTS ledger (
    id INTEGER PRIMARY KEY,
    payment_id TEXT NOT NULL UNIQUE REFERENCES payments(id),
    debit TEXT NOT NULL,
    credit TEXT NOT NULL,
    amount_fen INTEGER NOT NULL CHECK (amount_fen > 0),
    at_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS documents (
    number TEXT PRIMARY KEY,
    code TEXT NOT NULL,
    kind TEXT NOT NULL,
    taxpayer_id INTEGER NOT NULL REFERENCES taxpayers(id),
    amount_fen INTEGER,
    issued_ms INTEGER NOT NULL,
    source TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS counters (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
"#;

pub fn open(path: &str) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    conn.execute_batch(SCHEMA)?;
    Ok(conn)
}

/// The next number of a named sequence, inside the caller's transaction.
pub fn next(conn: &Connection, name: &str) -> rusqlite::Result<i64> {
    conn.execute(
        "INSERT INTO counters(name, value) VALUES (?1, 1) ON CONFLICT(name) DO UPDATE SET value = value + 1",
        params![name],
    )?;
    conn.query_row(
        "SELECT value FROM counters WHERE name = ?1",
        params![name],
        |r| r.get(0),
    )
}

fn id_number(body: &str) -> String {
    format!("{body}{}", id_check_char(body.as_bytes()) as char)
}

fn credit_code(body: &str) -> String {
    let c =
        credit_check_char(body.as_bytes()).expect("seed credit code bodies use valid characters");
    format!("{body}{}", c as char)
}

pub struct SeedPerson {
    pub body: &'static str,
    pub name: &'static str,
    pub kind: &'static str,
    pub phone: &'static str,
    pub rating: &'static str,
    pub balance_fen: i64,
}

/// Demo taxpayers. The ID numbers get their check digits computed, so they pass; the
/// first four match the kiosk's demo cards (terminal demo, tests, and the face demo cards
/// that setup builds).
pub const PEOPLE: &[SeedPerson] = &[
    SeedPerson {
        body: "53010219900307153",
        name: "王小明",
        kind: "individual",
        phone: "13800138000",
        rating: "A",
        balance_fen: 5_000_000,
    },
    SeedPerson {
        body: "53010219800101123",
        name: "张三丰",
        kind: "business",
        phone: "13912345678",
        rating: "B",
        balance_fen: 20_000_000,
    },
    SeedPerson {
        body: "11010119610804001",
        name: "奥巴马",
        kind: "individual",
        phone: "13600001111",
        rating: "A",
        balance_fen: 1_000_000,
    },
    SeedPerson {
        body: "11010119421120002",
        name: "拜登",
        kind: "individual",
        phone: "13700002222",
        rating: "M",
        balance_fen: 300,
    },
    SeedPerson {
        body: "53011219750621402",
        name: "李秀英",
        kind: "business",
        phone: "15087654321",
        rating: "A",
        balance_fen: 80_000_000,
    },
    SeedPerson {
        body: "53010319880915271",
        name: "赵建国",
        kind: "individual",
        phone: "18608712345",
        rating: "C",
        balance_fen: 0,
    },
    SeedPerson {
        body: "53042119951203358",
        name: "杨丽",
        kind: "individual",
        phone: "13577001234",
        rating: "A",
        balance_fen: 2_500_000,
    },
    SeedPerson {
        body: "53250119670430189",
        name: "段志强",
        kind: "business",
        phone: "13888123456",
        rating: "B",
        balance_fen: 12_000_000,
    },
];

pub fn seed(conn: &mut Connection) -> rusqlite::Result<()> {
    let have: i64 = conn.query_row("SELECT COUNT(*) FROM taxpayers", [], |r| r.get(0))?;
    if have > 0 {
        return Ok(());
    }
    let tx = conn.transaction()?;
    for (i, p) in PEOPLE.iter().enumerate() {
        tx.execute(
            "INSERT INTO taxpayers(id, id_number, name, kind, phone, credit_rating, bank_balance_fen) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![i as i64 + 1, id_number(p.body), p.name, p.kind, p.phone, p.rating, p.balance_fen],
        )?;
    }
    let entities = [
        (2, "昆明三丰商贸有限公司", "91530102MA6K0B2C3", true),
        (5, "云南秀英餐饮管理有限公司", "91530112MA6N7Q8R1", false),
        (8, "大理志强建材经营部", "92532901MA6P3T4U5", true),
    ];
    for (tp, name, body, small) in entities {
        tx.execute(
            "INSERT INTO entities(taxpayer_id, name, credit_code, small_scale) VALUES (?1, ?2, ?3, ?4)",
            params![tp, name, credit_code(body), small],
        )?;
    }
    let liabilities = [
        ("L-2026-0001", 2, "增值税", "2026Q2", 312_346, "2026-07-15"),
        (
            "L-2026-0002",
            2,
            "城市维护建设税",
            "2026Q2",
            10_932,
            "2026-07-15",
        ),
        (
            "L-2026-0003",
            5,
            "企业所得税",
            "2026Q3",
            1_285_000,
            "2026-10-15",
        ),
        ("L-2026-0004", 1, "个人所得税", "2025", 86_000, "2026-06-30"),
        ("L-2026-0005", 6, "车船税", "2026", 48_000, "2026-12-31"),
        ("L-2026-0006", 8, "印花税", "2026Q3", 15_000, "2026-10-15"),
    ];
    for (id, tp, t, period, amount, due) in liabilities {
        tx.execute(
            "INSERT INTO liabilities(id, taxpayer_id, tax_type, period, amount_fen, due_date) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![id, tp, t, period, amount, due],
        )?;
    }
    let invoices = [
        (
            2,
            "25532000000012345678",
            "2026-09-03",
            "云南某科技有限公司",
            1_000_000,
            30_000,
            "正常",
        ),
        (
            2,
            "25532000000012345679",
            "2026-09-18",
            "昆明某超市",
            258_000,
            7_740,
            "正常",
        ),
        (
            5,
            "25532000000098765432",
            "2026-08-21",
            "个人",
            68_800,
            4_128,
            "红冲",
        ),
        (
            8,
            "25532000000055500011",
            "2026-10-02",
            "大理某工程公司",
            4_500_000,
            45_000,
            "正常",
        ),
    ];
    for (tp, no, d, buyer, a, t, s) in invoices {
        tx.execute(
            "INSERT INTO invoices(taxpayer_id, number, issued, buyer, amount_fen, tax_fen, status) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![tp, no, d, buyer, a, t, s],
        )?;
    }
    for tp in [1i64, 3, 7] {
        for m in 1..=9 {
            tx.execute(
                "INSERT INTO social_insurance(taxpayer_id, scheme, period, base_fen, paid_fen) VALUES (?1, '灵活就业养老保险', ?2, 700000, 140000)",
                params![tp, format!("2026-{m:02}")],
            )?;
        }
    }
    tx.commit()
}

pub struct Taxpayer {
    pub id: i64,
    pub id_number: String,
    pub name: String,
    pub kind: String,
    pub phone: String,
    pub rating: String,
}

pub fn taxpayer_by_id_number(
    conn: &Connection,
    id_number: &str,
) -> rusqlite::Result<Option<Taxpayer>> {
    conn.query_row(
        "SELECT id, id_number, name, kind, phone, credit_rating FROM taxpayers WHERE id_number = ?1",
        params![id_number],
        |r| Ok(Taxpayer { id: r.get(0)?, id_number: r.get(1)?, name: r.get(2)?, kind: r.get(3)?, phone: r.get(4)?, rating: r.get(5)? }),
    )
    .optional()
}

pub fn taxpayer(conn: &Connection, id: i64) -> rusqlite::Result<Taxpayer> {
    conn.query_row(
        "SELECT id, id_number, name, kind, phone, credit_rating FROM taxpayers WHERE id = ?1",
        params![id],
        |r| {
            Ok(Taxpayer {
                id: r.get(0)?,
                id_number: r.get(1)?,
                name: r.get(2)?,
                kind: r.get(3)?,
                phone: r.get(4)?,
                rating: r.get(5)?,
            })
        },
    )
}
