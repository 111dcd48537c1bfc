//! Today's figures and their charts (inline SVG, drawn here: no script, no library).
//!
//! Definitions, shown on the page too:
//! - a *visit* is a session that ended (practice sessions are not counted);
//! - *completed* means done at the kiosk (`done`), or submitted to the back office
//!   (`submitted`, `queued`, and `payment_pending`, which is filed);
//! - the *self-service share* is visits done at the kiosk outright over visits that
//!   reached an outcome (all but abandoned);
//! - the share *handled without a counter* is completed visits over visits that reached
//!   an outcome; the rest left with a queue ticket or a refusal. The hall's goal is 60%.

use std::collections::BTreeMap;

use maud::{Markup, html};

use crate::db::{Db, DbResult};

pub const GOAL_PERCENT: u32 = 60;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Visit {
    pub business: Option<String>,
    pub zone: Option<String>,
    pub outcome: String,
    pub duration_ms: i64,
    /// Local minute of the day it ended.
    pub minute: u32,
}

pub fn completed(outcome: &str) -> bool {
    matches!(outcome, "done" | "submitted" | "queued" | "payment_pending")
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Figures {
    pub visits: u32,
    pub abandoned: u32,
    pub done: u32,
    pub completed: u32,
    pub tickets: u32,
    pub refused: u32,
    /// Zone code to completions, most first.
    pub per_zone: Vec<(String, u32)>,
    /// Business code, completions, median duration of completed visits (ms).
    pub per_business: Vec<(String, u32, i64)>,
    /// Visits per local hour.
    pub hourly: [u32; 24],
    pub abandoned_hourly: [u32; 24],
}

impl Figures {
    pub fn reached_outcome(&self) -> u32 {
        self.visits - self.abandoned
    }
    fn share(&self, n: u32) -> Option<f64> {
        let d = self.reached_outcome();
        (d > 0).then(|| n as f64 * 100.0 / d as f64)
    }
    pub fn self_service_percent(&self) -> Option<f64> {
        self.share(self.done)
    }
    pub fn without_counter_percent(&self) -> Option<f64> {
        self.share(self.completed)
    }
}

pub fn median(v: &mut [i64]) -> i64 {
    if v.is_empty() {
        return 0;
    }
    v.sort_unstable();
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2
    }
}

pub fn compute(visits: &[Visit]) -> Figures {
    let mut f = Figures {
        visits: visits.len() as u32,
        ..Figures::default()
    };
    let mut zones: BTreeMap<String, u32> = BTreeMap::new();
    let mut biz: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for v in visits {
        let h = (v.minute / 60).min(23) as usize;
        f.hourly[h] += 1;
        match v.outcome.as_str() {
            "abandoned" => {
                f.abandoned += 1;
                f.abandoned_hourly[h] += 1;
            }
            "ticket" => f.tickets += 1,
            "refused" => f.refused += 1,
            "done" => f.done += 1,
            _ => {}
        }
        if completed(&v.outcome) {
            f.completed += 1;
            if let Some(z) = &v.zone {
                *zones.entry(z.clone()).or_default() += 1;
            }
            if let Some(b) = &v.business {
                biz.entry(b.clone()).or_default().push(v.duration_ms);
            }
        }
    }
    f.per_zone = zones.into_iter().collect();
    f.per_zone.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    f.per_business = biz
        .into_iter()
        .map(|(b, mut d)| (b, d.len() as u32, median(&mut d)))
        .collect();
    f.per_business
        .sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    f
}

pub async fn load_day(
    db: &Db,
    hall: Option<&str>,
    day: &str,
    clock: crate::time::Clock,
) -> DbResult<Vec<Visit>> {
    let rows = match hall {
        Some(h) => {
            db.query(
                "SELECT business, zone, outcome, duration_ms, at_ms FROM visits WHERE day = ? AND hall_id = ?",
                vec![day.into(), h.into()],
            )
            .await?
        }
        None => {
            db.query(
                "SELECT business, zone, outcome, duration_ms, at_ms FROM visits WHERE day = ?",
                vec![day.into()],
            )
            .await?
        }
    };
    Ok(rows
        .into_iter()
        .map(|r| Visit {
            business: r[0].opt_text(),
            zone: r[1].opt_text(),
            outcome: r[2].text(),
            duration_ms: r[3].int(),
            minute: clock.minute_of_day(r[4].int()),
        })
        .collect())
}

pub fn minutes_seconds(ms: i64) -> String {
    let s = ms / 1000;
    format!("{}:{:02}", s / 60, s % 60)
}

/// The share handled without a counter against the 60% goal: a thick bar with the goal
/// marked, so that "are we there" is answered at a glance.
pub fn goal_bar(percent: Option<f64>) -> Markup {
    let w = 560.0;
    let p = percent.unwrap_or(0.0).clamp(0.0, 100.0);
    let fill = p / 100.0 * w;
    let goal_x = GOAL_PERCENT as f64 / 100.0 * w;
    let met = percent.is_some_and(|p| p >= GOAL_PERCENT as f64);
    let label = percent.map_or("—".to_string(), |p| format!("{p:.0}%"));
    html! {
        svg class="chart goal" viewBox="0 0 600 96" role="img" aria-label=(format!("Handled without a counter: {label}; goal {GOAL_PERCENT}%")) {
            rect class="track" x="20" y="30" width=(w) height="34" rx="6" {}
            rect class=(if met { "bar good" } else { "bar short" }) x="20" y="30" width=(format!("{fill:.1}")) height="34" rx="6" {}
            line class="goal-line" x1=(format!("{:.1}", 20.0 + goal_x)) x2=(format!("{:.1}", 20.0 + goal_x)) y1="20" y2="74" {}
            text class="goal-text" x=(format!("{:.1}", 20.0 + goal_x)) y="14" text-anchor="middle" { "目标 goal " (GOAL_PERCENT) "%" }
            text class="big" x=(format!("{:.1}", (20.0 + fill - 8.0).max(70.0))) y="55" text-anchor="end" { (label) }
            text class="axis" x="20" y="90" { "0%" }
            text class="axis" x="580" y="90" text-anchor="end" { "100%" }
        }
    }
}

/// A label cut to `n` characters with an ellipsis; the full text stays in a tooltip.
fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(n - 1).collect::<String>())
    }
}

/// Horizontal bars with a label on the left and the value on the right.
pub fn hbars(rows: &[(String, u32, String)], cls: &str) -> Markup {
    let max = rows.iter().map(|r| r.1).max().unwrap_or(0).max(1) as f64;
    let row_h = 26.0;
    let h = rows.len() as f64 * row_h + 10.0;
    let (label_w, bar_w) = (230.0, 300.0);
    html! {
        @if rows.is_empty() {
            p class="muted" { "今日暂无数据 No data yet today" }
        } @else {
            svg class=(format!("chart hbars {cls}")) viewBox=(format!("0 0 640 {h:.0}")) role="img" {
                @for (i, (label, v, note)) in rows.iter().enumerate() {
                    @let y = 5.0 + i as f64 * row_h;
                    text class="label" x=(format!("{:.0}", label_w - 8.0)) y=(format!("{:.1}", y + 17.0)) text-anchor="end" { title { (label) } (clip(label, 17)) }
                    rect class="bar" x=(label_w) y=(format!("{y:.1}")) height="20" rx="3" width=(format!("{:.1}", (*v as f64 / max * bar_w).max(2.0))) {}
                    text class="value" x=(format!("{:.1}", label_w + (*v as f64 / max * bar_w).max(2.0) + 6.0)) y=(format!("{:.1}", y + 16.0)) { (v) " " (note) }
                }
            }
        }
    }
}

/// Visits per hour, completed-or-ticket in one colour and abandoned on top in another.
pub fn hourly(f: &Figures, from_hour: usize, to_hour: usize) -> Markup {
    let hours: Vec<usize> = (from_hour..=to_hour.min(23)).collect();
    let max = hours.iter().map(|h| f.hourly[*h]).max().unwrap_or(0).max(1) as f64;
    // The bars start 24 px down so that the tallest one's label fits above it.
    let (top, chart_h, col_w) = (24.0, 136.0, 600.0 / hours.len().max(1) as f64);
    html! {
        svg class="chart hourly" viewBox="0 0 640 200" role="img" aria-label="Visits per hour" {
            @for (i, h) in hours.iter().enumerate() {
                @let all = f.hourly[*h] as f64;
                @let ab = f.abandoned_hourly[*h] as f64;
                @let x = 30.0 + i as f64 * col_w;
                @let hh = all / max * chart_h;
                @let ah = ab / max * chart_h;
                rect class="bar" x=(format!("{:.1}", x + 3.0)) y=(format!("{:.1}", top + chart_h - hh)) width=(format!("{:.1}", col_w - 6.0)) height=(format!("{hh:.1}")) {}
                rect class="bar abandoned" x=(format!("{:.1}", x + 3.0)) y=(format!("{:.1}", top + chart_h - hh)) width=(format!("{:.1}", col_w - 6.0)) height=(format!("{ah:.1}")) {}
                @if all > 0.0 {
                    text class="value" x=(format!("{:.1}", x + col_w / 2.0)) y=(format!("{:.1}", top - 4.0 + chart_h - hh)) text-anchor="middle" { (f.hourly[*h]) }
                }
                text class="axis" x=(format!("{:.1}", x + col_w / 2.0)) y="180" text-anchor="middle" { (format!("{h:02}")) }
            }
            line class="baseline" x1="30" x2="630" y1=(format!("{:.1}", top + chart_h)) y2=(format!("{:.1}", top + chart_h)) {}
        }
    }
}

/// Outcomes as one stacked bar: where today's visits ended.
pub fn outcomes(f: &Figures) -> Markup {
    let parts = [
        ("done", "自助办结 Done at kiosk", f.done),
        ("submitted", "提交后台 Submitted", f.completed - f.done),
        ("ticket", "取号到窗口 Ticket to counter", f.tickets),
        ("refused", "未受理 Refused", f.refused),
        ("abandoned", "中途离开 Abandoned", f.abandoned),
    ];
    let total = parts.iter().map(|p| p.2).sum::<u32>().max(1) as f64;
    // Segment x positions, each after the previous one's width.
    let mut x = 20.0;
    let segs: Vec<(&str, u32, f64, f64)> = parts
        .iter()
        .map(|(cls, _, n)| {
            let w = *n as f64 / total * 600.0;
            let at = x;
            x += w;
            (*cls, *n, at, w)
        })
        .collect();
    html! {
        svg class="chart outcomes" viewBox="0 0 640 110" role="img" aria-label="Visit outcomes" {
            @for (cls, n, x, w) in &segs {
                rect class=(format!("seg {cls}")) x=(format!("{x:.1}")) y="10" width=(format!("{w:.1}")) height="36" {}
                @if *w > 28.0 {
                    text class="seg-label" x=(format!("{:.1}", x + w / 2.0)) y="34" text-anchor="middle" { (n) }
                }
            }
            @for (i, (cls, label, n)) in parts.iter().enumerate() {
                @let lx = 20.0 + (i % 3) as f64 * 205.0;
                @let ly = 68.0 + (i / 3) as f64 * 22.0;
                rect class=(format!("seg {cls}")) x=(format!("{lx:.0}")) y=(format!("{:.0}", ly - 11.0)) width="12" height="12" {}
                text class="legend" x=(format!("{:.0}", lx + 18.0)) y=(format!("{ly:.0}")) { (label) " " (n) }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(b: &str, z: &str, outcome: &str, secs: i64, minute: u32) -> Visit {
        Visit {
            business: Some(b.into()),
            zone: Some(z.into()),
            outcome: outcome.into(),
            duration_ms: secs * 1000,
            minute,
        }
    }

    #[test]
    fn shares_medians_and_groups() {
        let visits = vec![
            v("B1", "Z1", "done", 100, 9 * 60),
            v("B1", "Z1", "done", 300, 9 * 60 + 5),
            v("B1", "Z1", "done", 200, 10 * 60),
            v("B2", "Z2", "submitted", 50, 10 * 60),
            v("B3", "Z2", "ticket", 40, 11 * 60),
            v("B3", "Z2", "abandoned", 10, 11 * 60),
        ];
        let f = compute(&visits);
        assert_eq!(
            (f.visits, f.abandoned, f.done, f.completed, f.tickets),
            (6, 1, 3, 4, 1)
        );
        assert_eq!(f.per_zone, vec![("Z1".into(), 3), ("Z2".into(), 1)]);
        assert_eq!(f.per_business[0], ("B1".into(), 3, 200_000));
        assert_eq!(f.self_service_percent(), Some(60.0));
        assert_eq!(f.without_counter_percent(), Some(80.0));
        assert_eq!(
            (f.hourly[9], f.hourly[11], f.abandoned_hourly[11]),
            (2, 2, 1)
        );
    }

    #[test]
    fn empty_day_has_no_shares() {
        let f = compute(&[]);
        assert_eq!(f.without_counter_percent(), None);
        let all_abandoned = compute(&[v("B", "Z", "abandoned", 1, 0)]);
        assert_eq!(all_abandoned.self_service_percent(), None);
    }

    #[test]
    fn median_of_even_and_odd() {
        assert_eq!(median(&mut [5, 1, 3]), 3);
        assert_eq!(median(&mut [4, 1, 3, 2]), 2);
        assert_eq!(median(&mut []), 0);
        assert_eq!(minutes_seconds(125_000), "2:05");
    }

    #[test]
    fn charts_escape_labels() {
        let m = hbars(&[("<b>".into(), 3, "x".into())], "zones").into_string();
        assert!(m.contains("&lt;b&gt;") && !m.contains("<b>"), "{m}");
        let g = goal_bar(Some(72.0)).into_string();
        assert!(g.contains("72%") && g.contains("bar good"), "{g}");
        assert!(goal_bar(Some(40.0)).into_string().contains("bar short"));
    }
}
