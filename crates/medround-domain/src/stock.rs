//! Stock (S14): each dose given takes from stock; receipts and counts adjust it; alerts when fewer
//! than three days remain, when stock is negative, and before a course ends.

use crate::ids::{DeviceId, OrderId, RecordId, StaffId};
use crate::order::{Order, Schedule};
use crate::qty::Qty;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StockReason {
    Administered,
    Received,
    /// A count: the delta brings the level to what was counted.
    CountAdjustment,
    Destroyed,
    Returned,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockMovement {
    pub id: RecordId,
    pub order: OrderId,
    pub delta: Qty,
    pub reason: StockReason,
    pub at: DateTime<Utc>,
    pub by: StaffId,
    pub device: DeviceId,
}

pub fn level(movements: &[StockMovement]) -> Qty {
    movements.iter().map(|m| m.delta).sum()
}

/// Units used per day at the prescribed rate (the upper dose for variable doses, two doses a day
/// for a when-required order, which is how pharmacies plan PRN supply).
pub fn daily_use(order: &Order) -> Qty {
    let per_dose = order.dose.max();
    match &order.schedule {
        Schedule::Daily { times } => Qty::milli(per_dose.as_milli() * times.len() as i64),
        Schedule::Weekly { days, times } => {
            Qty::milli(per_dose.as_milli() * (days.len() * times.len()) as i64 / 7)
        }
        Schedule::EveryNDays { every, times } => {
            Qty::milli(per_dose.as_milli() * times.len() as i64 / i64::from((*every).max(1)))
        }
        Schedule::Prn => Qty::milli(per_dose.as_milli() * 2),
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StockAlert {
    Negative { level: Qty },
    Low { level: Qty, days_left: u32 },
    CourseEnding { on: NaiveDate },
}

pub const LOW_STOCK_DAYS: i64 = 3;

pub fn alerts(order: &Order, level: Qty, today: NaiveDate) -> Vec<StockAlert> {
    let mut out = Vec::new();
    if level.is_negative() {
        out.push(StockAlert::Negative { level });
    } else {
        let per_day = daily_use(order);
        if per_day.is_positive() {
            let days_left = level.as_milli() / per_day.as_milli();
            if days_left < LOW_STOCK_DAYS {
                out.push(StockAlert::Low {
                    level,
                    days_left: days_left as u32,
                });
            }
        }
    }
    if let Some(end) = order.end {
        let d = (end - today).num_days();
        if (0..=LOW_STOCK_DAYS).contains(&d) {
            out.push(StockAlert::CourseEnding { on: end });
        }
    }
    out
}
