//! Hall-local time. "Today" is the hall's calendar day (the bundle's
//! `schedule.utc_offset_minutes`), not the server's UTC day: figures and ticket numbers
//! restart at the hall's midnight.

use kiosk_core::Date;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Clock {
    pub offset_minutes: i32,
}

impl Default for Clock {
    fn default() -> Self {
        // China Standard Time: what the shipped bundle says.
        Clock {
            offset_minutes: 480,
        }
    }
}

const DAY_MS: i64 = 86_400_000;

impl Clock {
    fn local_ms(&self, utc_ms: i64) -> i64 {
        utc_ms + self.offset_minutes as i64 * 60_000
    }

    pub fn date(&self, utc_ms: i64) -> Date {
        Date::from_days_since_epoch(self.local_ms(utc_ms).div_euclid(DAY_MS))
    }

    /// The day as `YYYY-MM-DD`, the key of per-day rows.
    pub fn day(&self, utc_ms: i64) -> String {
        self.date(utc_ms).to_string()
    }

    pub fn minute_of_day(&self, utc_ms: i64) -> u32 {
        (self.local_ms(utc_ms).rem_euclid(DAY_MS) / 60_000) as u32
    }

    /// UTC milliseconds of a local date and minute.
    pub fn at(&self, date: Date, minute: u32) -> i64 {
        date.days_since_epoch() * DAY_MS + minute as i64 * 60_000
            - self.offset_minutes as i64 * 60_000
    }

    /// `HH:MM:SS` local.
    pub fn hms(&self, utc_ms: i64) -> String {
        let s = self.local_ms(utc_ms).rem_euclid(DAY_MS) / 1000;
        format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    }

    /// `YYYY-MM-DD HH:MM:SS` local.
    pub fn stamp(&self, utc_ms: i64) -> String {
        format!("{} {}", self.day(utc_ms), self.hms(utc_ms))
    }
}

pub fn hhmm(minute: u32) -> String {
    format!("{:02}:{:02}", minute / 60, minute % 60)
}

pub fn now_ms() -> i64 {
    telemetry::now_ms()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_day_turns_at_local_midnight() {
        let c = Clock::default();
        // 2027-03-01 15:59:59 UTC is 23:59:59 in Beijing; one second later is the 2nd.
        let d = Date::new(2027, 3, 1).unwrap();
        let t = c.at(d, 23 * 60 + 59) + 59_000;
        assert_eq!(c.day(t), "2027-03-01");
        assert_eq!(c.hms(t), "23:59:59");
        assert_eq!(c.day(t + 1000), "2027-03-02");
        assert_eq!(c.minute_of_day(t + 1000), 0);
        assert_eq!(hhmm(9 * 60 + 5), "09:05");
    }
}
