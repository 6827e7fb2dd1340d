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

/// Whole days the stock lasts at the prescribed rate; none when nothing is used per day.
pub fn days_left(order: &Order, level: Qty) -> Option<i64> {
    let per_day = daily_use(order);
    per_day
        .is_positive()
        .then(|| level.as_milli().max(0) / per_day.as_milli())
}

/// What to order for the cycle of `days` days starting `cycle_start`, with `level` in stock
/// `today`: the cycle's use at the prescribed rate (only the days the order runs), less what
/// will be left when the cycle starts, rounded up to whole units. Nothing for an order that is
/// not active.
pub fn reorder_quantity(
    order: &Order,
    level: Qty,
    today: NaiveDate,
    cycle_start: NaiveDate,
    days: i64,
) -> Qty {
    if order.status != crate::order::OrderStatus::Active {
        return Qty::ZERO;
    }
    let per_day = daily_use(order).as_milli();
    let running = (0..days)
        .filter(|i| order.runs_on(cycle_start + chrono::Duration::days(*i)))
        .count() as i64;
    let until_cycle = (cycle_start - today).num_days().max(0);
    let left_then = (level.as_milli() - per_day * until_cycle).max(0);
    let need = per_day * running - left_then;
    if need <= 0 {
        return Qty::ZERO;
    }
    Qty::whole((need + 999) / 1000)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::order::OrderStatus;
    use crate::rules::tests::{hm, paracetamol, regular};

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 6, d).unwrap()
    }

    #[test]
    fn s14_reorder_covers_the_next_cycle_less_what_will_be_left() {
        // One tablet twice a day: 56 for a 28-day cycle.
        let o = regular("aml", &[hm(8, 0), hm(18, 0)]);
        assert_eq!(
            reorder_quantity(&o, Qty::ZERO, day(1), day(1), 28),
            Qty::whole(56)
        );
        // 30 in stock on the 1st, cycle starts on the 8th: 14 used by then, 16 left.
        assert_eq!(
            reorder_quantity(&o, Qty::whole(30), day(1), day(8), 28),
            Qty::whole(40)
        );
        // More than enough: nothing.
        assert_eq!(
            reorder_quantity(&o, Qty::whole(200), day(1), day(8), 28),
            Qty::ZERO
        );
        // Negative stock counts as none left.
        assert_eq!(
            reorder_quantity(&o, Qty::whole(-3), day(1), day(1), 28),
            Qty::whole(56)
        );
    }

    #[test]
    fn s14_a_course_ending_mid_cycle_and_stopped_orders_order_less_or_nothing() {
        let mut o = regular("abx", &[hm(8, 0)]);
        o.end = Some(day(10));
        assert_eq!(
            reorder_quantity(&o, Qty::ZERO, day(1), day(1), 28),
            Qty::whole(10)
        );
        o.status = OrderStatus::Pending;
        assert_eq!(
            reorder_quantity(&o, Qty::ZERO, day(1), day(1), 28),
            Qty::ZERO
        );
        // A fraction of a unit per day rounds the order up to whole units.
        let mut weekly = regular("alen", &[hm(8, 0)]);
        weekly.schedule = crate::order::Schedule::Weekly {
            days: vec![chrono::Weekday::Mon],
            times: vec![hm(8, 0)],
        };
        assert_eq!(
            reorder_quantity(&weekly, Qty::ZERO, day(1), day(1), 28),
            Qty::whole(4)
        );
    }

    #[test]
    fn s14_days_left_and_alerts() {
        let o = regular("aml", &[hm(8, 0), hm(18, 0)]);
        assert_eq!(days_left(&o, Qty::whole(5)), Some(2));
        assert_eq!(days_left(&o, Qty::whole(-1)), Some(0));
        assert!(matches!(
            alerts(&o, Qty::whole(5), day(1))[..],
            [StockAlert::Low { days_left: 2, .. }]
        ));
        assert!(matches!(
            alerts(&o, Qty::whole(-1), day(1))[..],
            [StockAlert::Negative { .. }]
        ));
        assert!(alerts(&o, Qty::whole(60), day(1)).is_empty());
        // PRN is planned at two doses a day.
        assert_eq!(daily_use(&paracetamol()), Qty::whole(4));
    }
}
