//! The back office's parallel processing: workers pick accepted applications, move them to
//! processing, and decide them, each step after a realistic delay. A row is claimed by an
//! atomic update, so two workers never process the same application.

use std::time::Duration;

use rusqlite::{OptionalExtension, params};

use crate::{Shared, now_ms};

pub fn start(state: Shared) {
    for n in 0..state.settings.workers.max(1) {
        let s = state.clone();
        tokio::spawn(async move {
            loop {
                let s2 = s.clone();
                let worked = tokio::task::spawn_blocking(move || step(&s2))
                    .await
                    .unwrap_or(Ok(false))
                    .unwrap_or_else(|e| {
                        tracing::error!(worker = n, error = %e, "worker step failed");
                        false
                    });
                if !worked {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        });
    }
}

/// One unit of work, if any is due. Returns whether it did something.
fn step(s: &Shared) -> rusqlite::Result<bool> {
    let mut conn = match s.db.lock() {
        Ok(c) => c,
        Err(_) => return Ok(false),
    };
    let now = now_ms();
    let tx = conn.transaction()?;
    let due: Option<(String, String, String, i64)> = tx
        .query_row(
            "SELECT tracking, status, business, taxpayer_id FROM applications WHERE status IN ('accepted', 'processing') AND next_ms <= ?1 ORDER BY next_ms LIMIT 1",
            params![now],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()?;
    let Some((tracking, status, business, taxpayer)) = due else {
        return Ok(false);
    };
    let step = s.settings.bo_step_ms as i64;
    if status == "accepted" {
        tx.execute("UPDATE applications SET status = 'processing', updated_ms = ?2, next_ms = ?3 WHERE tracking = ?1 AND status = 'accepted'", params![tracking, now, now + step])?;
    } else {
        // A realistic decision: a taxpayer with a D credit rating is refused credit
        // repair and re-rating; the rest are approved.
        let rating: String = tx.query_row(
            "SELECT credit_rating FROM taxpayers WHERE id = ?1",
            params![taxpayer],
            |r| r.get(0),
        )?;
        let refuse = rating == "D" && matches!(business.as_str(), "K06" | "K07" | "K08");
        if refuse {
            tx.execute(
                "UPDATE applications SET status = 'rejected', reason_zh = '纳税信用评价为D级，当年不得申请', reason_en = 'Taxpayers rated D cannot apply this year', updated_ms = ?2 WHERE tracking = ?1 AND status = 'processing'",
                params![tracking, now],
            )?;
        } else {
            tx.execute("UPDATE applications SET status = 'approved', updated_ms = ?2 WHERE tracking = ?1 AND status = 'processing'", params![tracking, now])?;
        }
    }
    tx.commit()?;
    Ok(true)
}
