-- The console's schema (SQLite). schema_postgres.sql is the same with PostgreSQL's key
-- generation; keep the two in step.
CREATE TABLE IF NOT EXISTS users (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  role TEXT NOT NULL,
  pw_hash TEXT NOT NULL,
  created_ms BIGINT NOT NULL,
  disabled BIGINT NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS web_sessions (
  token_hash TEXT PRIMARY KEY,
  user_id BIGINT NOT NULL,
  csrf TEXT NOT NULL,
  created_ms BIGINT NOT NULL,
  expires_ms BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS audit (
  id INTEGER PRIMARY KEY,
  at_ms BIGINT NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  target TEXT NOT NULL,
  detail TEXT NOT NULL,
  ip TEXT
);
CREATE TABLE IF NOT EXISTS kiosks (
  kiosk_id TEXT PRIMARY KEY,
  hall_id TEXT NOT NULL,
  first_seen_ms BIGINT NOT NULL,
  last_seen_ms BIGINT NOT NULL,
  online BIGINT NOT NULL,
  software TEXT NOT NULL,
  status_json TEXT,
  session_json TEXT,
  config_json TEXT
);
CREATE TABLE IF NOT EXISTS events (
  id INTEGER PRIMARY KEY,
  at_ms BIGINT NOT NULL,
  hall_id TEXT NOT NULL,
  kiosk_id TEXT NOT NULL,
  kind TEXT NOT NULL,
  detail TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_kiosk ON events (kiosk_id, id);
CREATE TABLE IF NOT EXISTS visits (
  id INTEGER PRIMARY KEY,
  at_ms BIGINT NOT NULL,
  day TEXT NOT NULL,
  hall_id TEXT NOT NULL,
  kiosk_id TEXT NOT NULL,
  business TEXT,
  zone TEXT,
  mode TEXT,
  outcome TEXT NOT NULL,
  duration_ms BIGINT NOT NULL,
  reason TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS visits_by_day ON visits (day, hall_id);
CREATE TABLE IF NOT EXISTS alerts (
  id INTEGER PRIMARY KEY,
  hall_id TEXT NOT NULL,
  kiosk_id TEXT NOT NULL,
  kind TEXT NOT NULL,
  detail TEXT NOT NULL,
  raised_ms BIGINT NOT NULL,
  cleared_ms BIGINT,
  acked_ms BIGINT,
  acked_by TEXT
);
CREATE INDEX IF NOT EXISTS alerts_open ON alerts (cleared_ms, acked_ms);
CREATE TABLE IF NOT EXISTS tickets (
  id INTEGER PRIMARY KEY,
  hall_id TEXT NOT NULL,
  day TEXT NOT NULL,
  number TEXT NOT NULL,
  category TEXT NOT NULL,
  business TEXT,
  kiosk_id TEXT NOT NULL,
  idem_key TEXT NOT NULL,
  issued_ms BIGINT NOT NULL,
  state TEXT NOT NULL,
  counter TEXT,
  called_ms BIGINT,
  called_by TEXT,
  done_ms BIGINT,
  slot TEXT,
  UNIQUE (kiosk_id, idem_key)
);
CREATE INDEX IF NOT EXISTS tickets_by_day ON tickets (hall_id, day, state);
CREATE TABLE IF NOT EXISTS ticket_seq (
  hall_id TEXT NOT NULL,
  day TEXT NOT NULL,
  prefix TEXT NOT NULL,
  n BIGINT NOT NULL,
  PRIMARY KEY (hall_id, day, prefix)
);
CREATE TABLE IF NOT EXISTS bundles (
  id INTEGER PRIMARY KEY,
  version TEXT NOT NULL UNIQUE,
  message TEXT NOT NULL,
  uploaded_ms BIGINT NOT NULL,
  uploaded_by TEXT NOT NULL,
  warnings TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS publications (
  id INTEGER PRIMARY KEY,
  bundle_id BIGINT NOT NULL,
  at_ms BIGINT NOT NULL,
  by_user TEXT NOT NULL,
  rollback BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS commands (
  id TEXT PRIMARY KEY,
  kiosk_id TEXT NOT NULL,
  action TEXT NOT NULL,
  at_ms BIGINT NOT NULL,
  by_user TEXT NOT NULL,
  result_ok BIGINT,
  result_detail TEXT,
  result_ms BIGINT
);
