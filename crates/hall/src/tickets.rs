//! Queue tickets: issuing (for kiosks), calling (for counter staff) and the call board.
//!
//! Call order: the green channel (priority) first, then appointments whose slot has
//! come, then everyone else in the order they drew their ticket. The wait estimate is
//! the tickets ahead times today's mean service time, shared over the counters that
//! called someone in the last half hour.

use kiosk_core::config::{Bundle, TicketCategory};
use serde::Serialize;
use telemetry::hall_api::{TicketRequest, TicketResponse};

use crate::db::{Db, DbResult, Val};
use crate::time::{Clock, hhmm};

/// Service times longer than this are a counter left open, not a service.
const MAX_SERVICE_MS: i64 = 60 * 60_000;
/// Fewer samples than this and the default service time is used.
const MIN_SAMPLES: usize = 3;
/// A counter that called someone this recently counts as open.
const ACTIVE_COUNTER_MS: i64 = 30 * 60_000;
/// Appointment slots are this long.
pub const SLOT_MINUTES: u32 = 15;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Individual,
    Business,
    Priority,
    Appointment,
}

impl Kind {
    pub fn from_request(category: &str, appointment: bool) -> Option<Kind> {
        let c = TicketCategory::ALL
            .iter()
            .find(|(n, _)| *n == category)
            .map(|(_, c)| *c)?;
        Some(match (appointment, c) {
            (true, _) => Kind::Appointment,
            (false, TicketCategory::Individual) => Kind::Individual,
            (false, TicketCategory::Business) => Kind::Business,
            (false, TicketCategory::Priority) => Kind::Priority,
        })
    }

    pub fn code(self) -> &'static str {
        match self {
            Kind::Individual => "individual",
            Kind::Business => "business",
            Kind::Priority => "priority",
            Kind::Appointment => "appointment",
        }
    }

    pub fn from_code(s: &str) -> Kind {
        match s {
            "business" => Kind::Business,
            "priority" => Kind::Priority,
            "appointment" => Kind::Appointment,
            _ => Kind::Individual,
        }
    }

    /// The letter of the ticket number: A individual, B business, V green channel, Y
    /// appointment.
    pub fn prefix(self) -> &'static str {
        match self {
            Kind::Individual => "A",
            Kind::Business => "B",
            Kind::Priority => "V",
            Kind::Appointment => "Y",
        }
    }

    pub fn window(self) -> &'static str {
        match self {
            Kind::Individual => "综合窗口 General counters",
            Kind::Business => "企业窗口 Business counters",
            Kind::Priority => "绿色通道 Green channel",
            Kind::Appointment => "预约窗口 Appointment counter",
        }
    }

    pub fn label(self) -> (&'static str, &'static str) {
        match self {
            Kind::Individual => ("个人", "Individual"),
            Kind::Business => ("企业", "Business"),
            Kind::Priority => ("绿色通道", "Green channel"),
            Kind::Appointment => ("预约", "Appointment"),
        }
    }
}

/// A waiting ticket, as the call order sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Waiting {
    pub id: i64,
    pub kind: Kind,
    pub issued_ms: i64,
    /// Appointment slot start, minute of the day.
    pub slot_minute: Option<u32>,
}

impl Waiting {
    /// Sort key: lower is called first. `None` if it cannot be called yet (an
    /// appointment before its slot).
    fn rank(&self, minute_now: u32) -> Option<(u8, i64)> {
        match (self.kind, self.slot_minute) {
            (Kind::Priority, _) => Some((0, self.issued_ms)),
            (Kind::Appointment, Some(m)) if m > minute_now => None,
            (Kind::Appointment, Some(m)) => Some((1, m as i64)),
            _ => Some((2, self.issued_ms)),
        }
    }
}

/// The next ticket to call.
pub fn next(waiting: &[Waiting], minute_now: u32) -> Option<&Waiting> {
    waiting
        .iter()
        .filter_map(|w| w.rank(minute_now).map(|r| (r, w)))
        .min_by_key(|(r, w)| (*r, w.id))
        .map(|(_, w)| w)
}

/// How many callable tickets come before `me`.
pub fn ahead_of(waiting: &[Waiting], me: &Waiting, minute_now: u32) -> u32 {
    let Some(mine) = me.rank(minute_now) else {
        return 0;
    };
    waiting
        .iter()
        .filter(|w| w.id != me.id)
        .filter_map(|w| w.rank(minute_now).map(|r| (r, w.id)))
        .filter(|(r, id)| (*r, *id) < (mine, me.id))
        .count() as u32
}

/// Mean service time from (called, done) pairs, or the default when today has too few.
pub fn mean_service_ms(samples: &[(i64, i64)], default_ms: i64) -> i64 {
    let good: Vec<i64> = samples
        .iter()
        .map(|(c, d)| d - c)
        .filter(|d| *d > 0 && *d <= MAX_SERVICE_MS)
        .collect();
    if good.len() < MIN_SAMPLES {
        return default_ms;
    }
    good.iter().sum::<i64>() / good.len() as i64
}

/// Minutes to wait with `ahead` tickets before, rounded up.
pub fn wait_minutes(ahead: u32, mean_ms: i64, counters: u32) -> u32 {
    let total = ahead as i64 * mean_ms / counters.max(1) as i64;
    ((total + 59_999) / 60_000) as u32
}

#[derive(Clone, Debug, Serialize)]
pub struct Called {
    pub id: i64,
    pub number: String,
    pub counter: String,
    pub called_ms: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum TicketError {
    #[error("unknown ticket category {0:?}: use individual, business or priority")]
    Category(String),
    #[error("the business {0:?} is not in the hall's configuration")]
    Business(String),
    #[error("no staffed slot is free in the next two weeks")]
    NoSlot,
    #[error(transparent)]
    Db(#[from] crate::db::DbError),
}

pub struct Queue<'a> {
    pub db: &'a Db,
    pub clock: Clock,
    pub default_service_ms: i64,
    pub appointment_capacity: u32,
}

fn waiting_of(rows: Vec<Vec<Val>>) -> Vec<Waiting> {
    rows.into_iter()
        .map(|r| Waiting {
            id: r[0].int(),
            kind: Kind::from_code(&r[1].text()),
            issued_ms: r[2].int(),
            slot_minute: r[3].opt_text().and_then(|s| slot_minute(&s)),
        })
        .collect()
}

/// The minute of the day of a slot stored as `YYYY-MM-DD HH:MM`.
fn slot_minute(slot: &str) -> Option<u32> {
    let t = slot.split(' ').nth(1)?;
    let (h, m) = t.split_once(':')?;
    Some(h.parse::<u32>().ok()? * 60 + m.parse::<u32>().ok()?)
}

impl Queue<'_> {
    async fn waiting(&self, hall: &str, day: &str) -> DbResult<Vec<Waiting>> {
        Ok(waiting_of(
            self.db
                .query(
                    "SELECT id, category, issued_ms, slot FROM tickets WHERE hall_id = ? AND day = ? AND state = 'waiting' ORDER BY id",
                    vec![hall.into(), day.into()],
                )
                .await?,
        ))
    }

    async fn estimate(&self, hall: &str, day: &str, now: i64) -> DbResult<(i64, u32)> {
        let samples: Vec<(i64, i64)> = self
            .db
            .query(
                "SELECT called_ms, done_ms FROM tickets WHERE hall_id = ? AND day = ? AND state = 'done' AND called_ms IS NOT NULL AND done_ms IS NOT NULL",
                vec![hall.into(), day.into()],
            )
            .await?
            .into_iter()
            .map(|r| (r[0].int(), r[1].int()))
            .collect();
        let counters = self
            .db
            .query_one(
                "SELECT COUNT(DISTINCT counter) FROM tickets WHERE hall_id = ? AND day = ? AND called_ms >= ?",
                vec![hall.into(), day.into(), (now - ACTIVE_COUNTER_MS).into()],
            )
            .await?
            .map_or(0, |r| r[0].int()) as u32;
        Ok((
            mean_service_ms(&samples, self.default_service_ms),
            counters.max(1),
        ))
    }

    /// Issues a ticket, or returns the one already issued for this idempotency key.
    pub async fn issue(
        &self,
        hall: &str,
        kiosk: &str,
        idem: &str,
        req: &TicketRequest,
        bundle: Option<&Bundle>,
        now: i64,
    ) -> Result<TicketResponse, TicketError> {
        let kind = Kind::from_request(&req.category, req.appointment)
            .ok_or_else(|| TicketError::Category(req.category.clone()))?;
        if let (Some(code), Some(b)) = (&req.business, bundle)
            && b.business(code).is_none()
        {
            return Err(TicketError::Business(code.clone()));
        }
        let existing = self
            .db
            .query_one(
                "SELECT id FROM tickets WHERE kiosk_id = ? AND idem_key = ?",
                vec![kiosk.into(), idem.into()],
            )
            .await?;
        let id = match existing {
            Some(r) => r[0].int(),
            None => {
                let (day, slot) = if kind == Kind::Appointment {
                    let (day, minute) = self
                        .find_slot(hall, bundle, now)
                        .await?
                        .ok_or(TicketError::NoSlot)?;
                    (day.clone(), Some(format!("{day} {}", hhmm(minute))))
                } else {
                    (self.clock.day(now), None)
                };
                let n = self
                    .db
                    .query_one(
                        "INSERT INTO ticket_seq (hall_id, day, prefix, n) VALUES (?, ?, ?, 1) ON CONFLICT (hall_id, day, prefix) DO UPDATE SET n = ticket_seq.n + 1 RETURNING n",
                        vec![hall.into(), day.as_str().into(), kind.prefix().into()],
                    )
                    .await?
                    .map_or(1, |r| r[0].int());
                let number = format!("{}{n:03}", kind.prefix());
                self.db
                    .exec(
                        "INSERT INTO tickets (hall_id, day, number, category, business, kiosk_id, idem_key, issued_ms, state, slot) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'waiting', ?) ON CONFLICT (kiosk_id, idem_key) DO NOTHING",
                        vec![
                            hall.into(),
                            day.into(),
                            number.into(),
                            kind.code().into(),
                            req.business.clone().into(),
                            kiosk.into(),
                            idem.into(),
                            now.into(),
                            slot.into(),
                        ],
                    )
                    .await?;
                self.db
                    .query_one(
                        "SELECT id FROM tickets WHERE kiosk_id = ? AND idem_key = ?",
                        vec![kiosk.into(), idem.into()],
                    )
                    .await?
                    .map_or(0, |r| r[0].int())
            }
        };
        self.describe(id, now).await
    }

    /// The response for a ticket as of now.
    async fn describe(&self, id: i64, now: i64) -> Result<TicketResponse, TicketError> {
        let r = self
            .db
            .query_one(
                "SELECT hall_id, day, number, category, issued_ms, slot FROM tickets WHERE id = ?",
                vec![id.into()],
            )
            .await?
            .ok_or_else(|| crate::db::DbError::Other(format!("ticket {id} vanished")))?;
        let (hall, day, number, kind, issued, slot) = (
            r[0].text(),
            r[1].text(),
            r[2].text(),
            Kind::from_code(&r[3].text()),
            r[4].int(),
            r[5].opt_text(),
        );
        let (ahead, wait) = if let Some(slot) = &slot {
            let minute = slot_minute(slot).unwrap_or(0);
            let start = kiosk_core::Date::parse(&day)
                .map(|d| self.clock.at(d, minute))
                .unwrap_or(now);
            (0, ((start - now).max(0) / 60_000) as u32)
        } else {
            let waiting = self.waiting(&hall, &day).await?;
            let me = Waiting {
                id,
                kind,
                issued_ms: issued,
                slot_minute: None,
            };
            let ahead = ahead_of(&waiting, &me, self.clock.minute_of_day(now));
            let (mean, counters) = self.estimate(&hall, &day, now).await?;
            (ahead, wait_minutes(ahead, mean, counters))
        };
        Ok(TicketResponse {
            number,
            category: kind.code().into(),
            ahead,
            wait_minutes: wait,
            window: kind.window().into(),
            appointment: slot,
        })
    }

    /// The first free appointment slot at least 30 minutes from now in staffed hours.
    async fn find_slot(
        &self,
        hall: &str,
        bundle: Option<&Bundle>,
        now: i64,
    ) -> DbResult<Option<(String, u32)>> {
        let Some(b) = bundle else { return Ok(None) };
        let schedule = &b.kiosk.schedule;
        let earliest = now + 30 * 60_000;
        let first = self.clock.date(now).days_since_epoch();
        for d in first..first + 14 {
            let date = kiosk_core::Date::from_days_since_epoch(d);
            let day = date.to_string();
            let taken: Vec<String> = self
                .db
                .query(
                    "SELECT slot FROM tickets WHERE hall_id = ? AND day = ? AND slot IS NOT NULL",
                    vec![hall.into(), day.as_str().into()],
                )
                .await?
                .into_iter()
                .map(|r| r[0].text())
                .collect();
            let mut minute = 0;
            while minute < 24 * 60 {
                if schedule.is_staffed(date, minute) && self.clock.at(date, minute) >= earliest {
                    let slot = format!("{day} {}", hhmm(minute));
                    let used = taken.iter().filter(|s| **s == slot).count() as u32;
                    if used < self.appointment_capacity {
                        return Ok(Some((day, minute)));
                    }
                }
                minute += SLOT_MINUTES;
            }
        }
        Ok(None)
    }

    /// Calls the next ticket to `counter`, closing the one it served.
    pub async fn call_next(
        &self,
        hall: &str,
        counter: &str,
        by: &str,
        now: i64,
    ) -> DbResult<Option<Called>> {
        let day = self.clock.day(now);
        self.db
            .exec(
                "UPDATE tickets SET state = 'done', done_ms = ? WHERE hall_id = ? AND day = ? AND counter = ? AND state = 'called'",
                vec![now.into(), hall.into(), day.as_str().into(), counter.into()],
            )
            .await?;
        // Two counters may race for the same ticket; the loser takes the next one.
        for _ in 0..5 {
            let waiting = self.waiting(hall, &day).await?;
            let Some(w) = next(&waiting, self.clock.minute_of_day(now)) else {
                return Ok(None);
            };
            let changed = self
                .db
                .exec(
                    "UPDATE tickets SET state = 'called', counter = ?, called_ms = ?, called_by = ? WHERE id = ? AND state = 'waiting'",
                    vec![counter.into(), now.into(), by.into(), w.id.into()],
                )
                .await?;
            if changed == 1 {
                let number = self
                    .db
                    .query_one("SELECT number FROM tickets WHERE id = ?", vec![w.id.into()])
                    .await?
                    .map_or_else(String::new, |r| r[0].text());
                return Ok(Some(Called {
                    id: w.id,
                    number,
                    counter: counter.to_string(),
                    called_ms: now,
                }));
            }
        }
        Ok(None)
    }

    /// The ticket a counter is serving.
    pub async fn current(&self, hall: &str, counter: &str, now: i64) -> DbResult<Option<Called>> {
        Ok(self
            .db
            .query_one(
                "SELECT id, number, counter, called_ms FROM tickets WHERE hall_id = ? AND day = ? AND counter = ? AND state = 'called' ORDER BY called_ms DESC",
                vec![hall.into(), self.clock.day(now).into(), counter.into()],
            )
            .await?
            .map(|r| Called {
                id: r[0].int(),
                number: r[1].text(),
                counter: r[2].text(),
                called_ms: r[3].int(),
            }))
    }

    /// Closes the counter's ticket as served or as a no-show.
    pub async fn finish(
        &self,
        hall: &str,
        counter: &str,
        no_show: bool,
        now: i64,
    ) -> DbResult<Option<Called>> {
        let cur = self.current(hall, counter, now).await?;
        if let Some(c) = &cur {
            self.db
                .exec(
                    "UPDATE tickets SET state = ?, done_ms = ? WHERE id = ?",
                    vec![
                        if no_show { "no_show" } else { "done" }.into(),
                        now.into(),
                        c.id.into(),
                    ],
                )
                .await?;
        }
        Ok(cur)
    }

    /// The call board: the latest calls of today, newest first.
    pub async fn recent_calls(&self, hall: &str, now: i64, limit: i64) -> DbResult<Vec<Called>> {
        Ok(self
            .db
            .query(
                "SELECT id, number, counter, called_ms FROM tickets WHERE hall_id = ? AND day = ? AND called_ms IS NOT NULL ORDER BY called_ms DESC, id DESC LIMIT ?",
                vec![hall.into(), self.clock.day(now).into(), limit.into()],
            )
            .await?
            .into_iter()
            .map(|r| Called {
                id: r[0].int(),
                number: r[1].text(),
                counter: r[2].text(),
                called_ms: r[3].int(),
            })
            .collect())
    }

    /// Waiting tickets per kind, and the estimate for a new individual ticket.
    pub async fn summary(&self, hall: &str, now: i64) -> DbResult<QueueSummary> {
        let day = self.clock.day(now);
        let waiting = self.waiting(hall, &day).await?;
        let minute = self.clock.minute_of_day(now);
        let count = |k: Kind| waiting.iter().filter(|w| w.kind == k).count() as u32;
        let (mean, counters) = self.estimate(hall, &day, now).await?;
        let callable = waiting.iter().filter(|w| w.rank(minute).is_some()).count() as u32;
        let served = self
            .db
            .query_one(
                "SELECT COUNT(*) FROM tickets WHERE hall_id = ? AND day = ? AND state IN ('done', 'called')",
                vec![hall.into(), day.as_str().into()],
            )
            .await?
            .map_or(0, |r| r[0].int()) as u32;
        Ok(QueueSummary {
            individual: count(Kind::Individual),
            business: count(Kind::Business),
            priority: count(Kind::Priority),
            appointment: count(Kind::Appointment),
            served,
            mean_service_s: (mean / 1000) as u32,
            counters,
            wait_new_minutes: wait_minutes(callable, mean, counters),
        })
    }
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct QueueSummary {
    pub individual: u32,
    pub business: u32,
    pub priority: u32,
    pub appointment: u32,
    pub served: u32,
    pub mean_service_s: u32,
    pub counters: u32,
    pub wait_new_minutes: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(id: i64, kind: Kind, issued: i64, slot: Option<u32>) -> Waiting {
        Waiting {
            id,
            kind,
            issued_ms: issued,
            slot_minute: slot,
        }
    }

    #[test]
    fn green_channel_first_then_due_appointments_then_fifo() {
        let q = vec![
            w(1, Kind::Individual, 10, None),
            w(2, Kind::Business, 20, None),
            w(3, Kind::Appointment, 5, Some(600)),
            w(4, Kind::Priority, 30, None),
        ];
        // At 09:00 the 10:00 appointment is not callable yet.
        assert_eq!(next(&q, 540).unwrap().id, 4);
        let q2: Vec<_> = q.iter().filter(|x| x.id != 4).cloned().collect();
        assert_eq!(next(&q2, 540).unwrap().id, 1);
        assert_eq!(next(&q2, 600).unwrap().id, 3);
        assert_eq!(ahead_of(&q, &q[1], 540), 2);
        assert_eq!(ahead_of(&q, &q[3], 540), 0);
        assert_eq!(next(&[], 0), None);
    }

    #[test]
    fn service_mean_ignores_outliers_and_needs_samples() {
        let min = 60_000;
        assert_eq!(
            mean_service_ms(&[(0, 4 * min), (0, 6 * min)], 9 * min),
            9 * min
        );
        let s = [(0, 4 * min), (0, 6 * min), (0, 5 * min), (0, 3 * 60 * min)];
        assert_eq!(mean_service_ms(&s, 9 * min), 5 * min);
    }

    #[test]
    fn wait_shares_over_counters_and_rounds_up() {
        let min = 60_000;
        assert_eq!(wait_minutes(0, 5 * min, 1), 0);
        assert_eq!(wait_minutes(3, 5 * min, 1), 15);
        assert_eq!(wait_minutes(3, 5 * min, 2), 8);
        assert_eq!(wait_minutes(1, 5 * min, 0), 5);
    }

    #[test]
    fn categories_parse() {
        assert_eq!(Kind::from_request("priority", false), Some(Kind::Priority));
        assert_eq!(
            Kind::from_request("business", true),
            Some(Kind::Appointment)
        );
        assert_eq!(Kind::from_request("vip", false), None);
        assert_eq!(slot_minute("2027-03-02 09:15"), Some(555));
    }
}
