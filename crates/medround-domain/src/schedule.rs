//! Dose slots: when each scheduled dose is due, in the home's local time (Europe/London), and the
//! windows around it (S3, S8).

use crate::order::{Order, Schedule};
use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, TimeZone, Timelike, Utc};
use chrono_tz::Tz;

/// The home's time zone. Every home in England keeps UK time.
pub const HOME_TZ: Tz = chrono_tz::Europe::London;

/// How long after its window a slot may still be given late (with a reason) before it closes as
/// MISSED. Capped so that a late dose never runs into the next dose's window.
pub const LATE_ALLOWANCE_MINUTES: i64 = 120;

/// A local wall-clock time made into an instant. On the spring-forward day a time inside the gap
/// (01:00-01:59) does not exist: the dose is due when the clock reaches 02:00 instead (not lost).
/// On the autumn day a time in the repeated hour happens twice: the dose is due at the first.
pub fn local_to_utc(tz: Tz, ndt: NaiveDateTime) -> DateTime<Utc> {
    let mut probe = ndt;
    for _ in 0..3 {
        if let Some(t) = tz.from_local_datetime(&probe).earliest() {
            return t.with_timezone(&Utc);
        }
        // Inside a gap: move to the next whole hour and try again.
        probe += Duration::minutes(60 - i64::from(probe.minute()));
    }
    // No real zone has a gap longer than a few hours; treat the wall time as UTC rather than fail.
    ndt.and_utc()
}

/// Does the order have doses on this local date?
pub fn due_on(order: &Order, date: NaiveDate) -> bool {
    if !order.runs_on(date) {
        return false;
    }
    match &order.schedule {
        Schedule::Daily { .. } => true,
        Schedule::Weekly { days, .. } => days.contains(&date.weekday()),
        Schedule::EveryNDays { every, .. } => {
            let n = i64::from((*every).max(1));
            (date - order.start).num_days() % n == 0
        }
        Schedule::Prn => false,
    }
}

/// Slot instants of one order in `[from, to)`.
pub fn slots_between(
    order: &Order,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    tz: Tz,
) -> Vec<DateTime<Utc>> {
    let mut out = Vec::new();
    if order.is_prn() || to <= from {
        return out;
    }
    // Local dates that can hold instants in the range; one either side covers any offset.
    let first = from.with_timezone(&tz).date_naive() - Duration::days(1);
    let last = to.with_timezone(&tz).date_naive() + Duration::days(1);
    let mut times = order.schedule.times().to_vec();
    times.sort();
    let mut d = first;
    while d <= last {
        if due_on(order, d) {
            for t in &times {
                let at = local_to_utc(tz, d.and_time(*t));
                // Slots the order it replaced already answered are not this order's.
                let taken_over = order.slots_after.is_some_and(|after| at <= after);
                if at >= from && at < to && out.last() != Some(&at) && !taken_over {
                    out.push(at);
                }
            }
        }
        d += Duration::days(1);
    }
    out
}

/// The slot at or after `at` (exclusive), searching up to 40 days ahead.
pub fn next_slot_after(order: &Order, at: DateTime<Utc>, tz: Tz) -> Option<DateTime<Utc>> {
    slots_between(
        order,
        at + Duration::seconds(1),
        at + Duration::days(40),
        tz,
    )
    .into_iter()
    .next()
}

/// The times around one slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlotWindow {
    pub at: DateTime<Utc>,
    /// Earliest a dose may be given (S3).
    pub opens: DateTime<Utc>,
    /// After this, giving it is late and needs a reason (S3).
    pub late_after: DateTime<Utc>,
    /// After this, an unresolved slot is MISSED (S8).
    pub closes: DateTime<Utc>,
}

pub fn window(order: &Order, at: DateTime<Utc>, tz: Tz) -> SlotWindow {
    let w = Duration::minutes(order.window_minutes());
    let late_after = at + w;
    let mut closes = late_after + Duration::minutes(LATE_ALLOWANCE_MINUTES);
    if let Some(next) = next_slot_after(order, at, tz) {
        closes = closes.min(next - w).max(late_after);
    }
    SlotWindow {
        at,
        opens: at - w,
        late_after,
        closes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{OrderId, ResidentId};
    use crate::medicine::Medicine;
    use crate::order::*;
    use crate::qty::Qty;
    use chrono::{NaiveTime, Weekday};

    fn t(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }
    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }
    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    pub(crate) fn order(schedule: Schedule, start: NaiveDate, end: Option<NaiveDate>) -> Order {
        Order {
            id: OrderId::new("o"),
            resident: ResidentId::new("r"),
            medicine: Medicine {
                name: "Test".into(),
                strength: "1mg".into(),
                form: "tablets".into(),
                dmd: None,
                excipients: vec![],
                gtins: vec![],
                ingredients: vec![],
            },
            dose: Dose::Fixed { qty: Qty::whole(1) },
            unit: "tablet".into(),
            route: Route::Oral,
            schedule,
            instructions: String::new(),
            prescriber: "Dr".into(),
            start,
            end,
            status: OrderStatus::Active,
            source: OrderSource::Pharmacy,
            checked_in_by: vec![],
            cd: None,
            time_critical: false,
            covert_allowed: false,
            both_intended: None,
            replaces: None,
            slots_after: None,
            application: Application::Standard,
            prn: None,
        }
    }

    #[test]
    fn summer_and_winter_times_map_to_utc() {
        let o = order(
            Schedule::Daily {
                times: vec![t(8, 0)],
            },
            d(2026, 1, 1),
            None,
        );
        let jan = slots_between(
            &o,
            utc("2026-01-10T00:00:00Z"),
            utc("2026-01-11T00:00:00Z"),
            HOME_TZ,
        );
        assert_eq!(jan, vec![utc("2026-01-10T08:00:00Z")]);
        let jul = slots_between(
            &o,
            utc("2026-07-10T00:00:00Z"),
            utc("2026-07-11T00:00:00Z"),
            HOME_TZ,
        );
        assert_eq!(jul, vec![utc("2026-07-10T07:00:00Z")]);
    }

    #[test]
    fn spring_forward_day_keeps_a_dose_in_the_missing_hour() {
        // 29 March 2026: clocks go from 01:00 GMT to 02:00 BST. 01:30 does not exist.
        let o = order(
            Schedule::Daily {
                times: vec![t(1, 30), t(8, 0)],
            },
            d(2026, 3, 1),
            None,
        );
        let s = slots_between(
            &o,
            utc("2026-03-29T00:00:00Z"),
            utc("2026-03-30T00:00:00Z"),
            HOME_TZ,
        );
        assert_eq!(
            s,
            vec![utc("2026-03-29T01:00:00Z"), utc("2026-03-29T07:00:00Z")]
        );
    }

    #[test]
    fn fall_back_day_gives_a_repeated_hour_dose_once() {
        // 25 October 2026: 01:30 happens twice; the dose is due once, at the first.
        let o = order(
            Schedule::Daily {
                times: vec![t(1, 30)],
            },
            d(2026, 10, 1),
            None,
        );
        let s = slots_between(
            &o,
            utc("2026-10-24T12:00:00Z"),
            utc("2026-10-25T12:00:00Z"),
            HOME_TZ,
        );
        assert_eq!(s, vec![utc("2026-10-25T00:30:00Z")]);
    }

    #[test]
    fn day_lengths_differ_on_change_days_but_slot_counts_do_not() {
        let o = order(
            Schedule::Daily {
                times: vec![t(8, 0), t(12, 0), t(17, 0), t(22, 0)],
            },
            d(2026, 1, 1),
            None,
        );
        for (a, b) in [
            ("2026-03-29T00:00:00Z", "2026-03-29T23:00:00Z"),
            ("2026-10-24T23:00:00Z", "2026-10-26T00:00:00Z"),
        ] {
            let s = slots_between(&o, utc(a), utc(b), HOME_TZ);
            assert_eq!(s.len(), 4, "{a}..{b}: {s:?}");
        }
    }

    #[test]
    fn round_across_midnight() {
        // A night round at 22:00 and a 02:00 time-critical dose fall on different dates.
        let o = order(
            Schedule::Daily {
                times: vec![t(2, 0), t(22, 0)],
            },
            d(2026, 1, 1),
            None,
        );
        let s = slots_between(
            &o,
            utc("2026-01-10T21:00:00Z"),
            utc("2026-01-11T03:00:00Z"),
            HOME_TZ,
        );
        assert_eq!(
            s,
            vec![utc("2026-01-10T22:00:00Z"), utc("2026-01-11T02:00:00Z")]
        );
        let w = window(&o, utc("2026-01-10T22:00:00Z"), HOME_TZ);
        assert_eq!(w.late_after, utc("2026-01-10T23:00:00Z"));
        // Closes two hours after the window, still before the 02:00 dose's window opens at 01:00.
        assert_eq!(w.closes, utc("2026-01-11T01:00:00Z"));
    }

    #[test]
    fn weekly_order_falls_on_its_weekday_only() {
        let o = order(
            Schedule::Weekly {
                days: vec![Weekday::Mon],
                times: vec![t(7, 0)],
            },
            d(2026, 11, 1),
            None,
        );
        let s = slots_between(
            &o,
            utc("2026-11-01T00:00:00Z"),
            utc("2026-11-29T00:00:00Z"),
            HOME_TZ,
        );
        assert_eq!(s.len(), 4);
        for at in s {
            assert_eq!(at.with_timezone(&HOME_TZ).weekday(), Weekday::Mon);
        }
    }

    #[test]
    fn every_other_day_counts_from_the_start_date() {
        let o = order(
            Schedule::EveryNDays {
                every: 2,
                times: vec![t(9, 0)],
            },
            d(2026, 11, 3),
            None,
        );
        let s = slots_between(
            &o,
            utc("2026-11-01T00:00:00Z"),
            utc("2026-11-10T00:00:00Z"),
            HOME_TZ,
        );
        let days: Vec<u32> = s.iter().map(|a| a.with_timezone(&HOME_TZ).day()).collect();
        assert_eq!(days, vec![3, 5, 7, 9]);
    }

    #[test]
    fn orders_starting_and_ending_mid_cycle() {
        let o = order(
            Schedule::Daily {
                times: vec![t(8, 0), t(20, 0)],
            },
            d(2026, 11, 10),
            Some(d(2026, 11, 12)),
        );
        let s = slots_between(
            &o,
            utc("2026-11-01T00:00:00Z"),
            utc("2026-11-29T00:00:00Z"),
            HOME_TZ,
        );
        assert_eq!(s.len(), 6);
        assert_eq!(s[0], utc("2026-11-10T08:00:00Z"));
        assert_eq!(s[5], utc("2026-11-12T20:00:00Z"));
    }

    #[test]
    fn prn_has_no_slots() {
        let o = order(Schedule::Prn, d(2026, 1, 1), None);
        assert!(slots_between(
            &o,
            utc("2026-01-01T00:00:00Z"),
            utc("2026-02-01T00:00:00Z"),
            HOME_TZ
        )
        .is_empty());
    }

    #[test]
    fn time_critical_window_is_thirty_minutes() {
        let mut o = order(
            Schedule::Daily {
                times: vec![t(6, 0), t(10, 0)],
            },
            d(2026, 1, 1),
            None,
        );
        o.time_critical = true;
        let w = window(&o, utc("2026-01-05T06:00:00Z"), HOME_TZ);
        assert_eq!(w.opens, utc("2026-01-05T05:30:00Z"));
        assert_eq!(w.late_after, utc("2026-01-05T06:30:00Z"));
        assert_eq!(w.closes, utc("2026-01-05T08:30:00Z"));
    }
}
