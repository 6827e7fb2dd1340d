//! The manager's review: what happened to every scheduled dose in a period, counted by unit,
//! resident, medicine and member of staff, with the doses that went wrong listed one by one.
//!
//! It works from [`DoseFact`]s, the few fields of an administration that the review and the
//! printed MAR need, so that a month of a large home can be read without decoding every record.

use crate::fact::{standing_facts, DoseFact};
use crate::ids::{OrderId, RecordId, ResidentId, StaffId};
use crate::mar::slot_outcome_by;
use crate::order::{Order, OrderStatus};
use crate::outcome::OutcomeCode;
use crate::resident::Resident;
use crate::schedule::{local_to_utc, slots_between, window};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// What became of one scheduled dose, as the review counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DoseClass {
    /// Given (or self-administered) in its window.
    OnTime,
    /// Given after its window, with a reason (S3).
    Late,
    /// The window closed with no outcome (S8).
    Missed,
    Refused,
    Withheld,
    /// Any other not-given code: asleep, nausea, destroyed, no stock, not required, other.
    NotGiven,
    /// In hospital or on leave (S15): not an error.
    Away,
    /// Its window is still open.
    Open,
}

impl DoseClass {
    pub fn of(outcome: Option<OutcomeCode>, late: bool) -> DoseClass {
        match outcome {
            None => DoseClass::Open,
            Some(o) if o.is_taken() && late => DoseClass::Late,
            Some(o) if o.is_taken() => DoseClass::OnTime,
            Some(OutcomeCode::Missed) => DoseClass::Missed,
            Some(OutcomeCode::Refused) => DoseClass::Refused,
            Some(OutcomeCode::Withheld) => DoseClass::Withheld,
            Some(OutcomeCode::Hospital | OutcomeCode::Leave) => DoseClass::Away,
            Some(_) => DoseClass::NotGiven,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            DoseClass::OnTime => "On time",
            DoseClass::Late => "Late",
            DoseClass::Missed => "Missed",
            DoseClass::Refused => "Refused",
            DoseClass::Withheld => "Withheld",
            DoseClass::NotGiven => "Not given",
            DoseClass::Away => "Away",
            DoseClass::Open => "Still open",
        }
    }

    /// Worth the manager's attention: everything but on time, away and still open.
    pub fn is_exception(self) -> bool {
        !matches!(self, DoseClass::OnTime | DoseClass::Away | DoseClass::Open)
    }
}

/// Counts of doses by class.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub on_time: u32,
    pub late: u32,
    pub missed: u32,
    pub refused: u32,
    pub withheld: u32,
    pub not_given: u32,
    pub away: u32,
    pub open: u32,
    /// Of the late ones, those of time-critical medicines.
    pub time_critical_late: u32,
}

impl Counts {
    pub fn add(&mut self, class: DoseClass, time_critical: bool) {
        let slot = match class {
            DoseClass::OnTime => &mut self.on_time,
            DoseClass::Late => &mut self.late,
            DoseClass::Missed => &mut self.missed,
            DoseClass::Refused => &mut self.refused,
            DoseClass::Withheld => &mut self.withheld,
            DoseClass::NotGiven => &mut self.not_given,
            DoseClass::Away => &mut self.away,
            DoseClass::Open => &mut self.open,
        };
        *slot += 1;
        if class == DoseClass::Late && time_critical {
            self.time_critical_late += 1;
        }
    }

    /// Adds another group's counts to these.
    pub fn absorb(&mut self, o: &Counts) {
        self.on_time += o.on_time;
        self.late += o.late;
        self.missed += o.missed;
        self.refused += o.refused;
        self.withheld += o.withheld;
        self.not_given += o.not_given;
        self.away += o.away;
        self.open += o.open;
        self.time_critical_late += o.time_critical_late;
    }

    /// Every dose counted, open ones included.
    pub fn total(&self) -> u32 {
        self.on_time
            + self.late
            + self.missed
            + self.refused
            + self.withheld
            + self.not_given
            + self.away
            + self.open
    }

    /// The doses that went wrong in some way.
    pub fn exceptions(&self) -> u32 {
        self.late + self.missed + self.refused + self.withheld + self.not_given
    }
}

/// One scheduled dose that went wrong, for the list the manager taps through.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DoseLine {
    pub resident: ResidentId,
    pub order: OrderId,
    pub slot: DateTime<Utc>,
    pub class: DoseClass,
    /// The outcome recorded; none for a slot still open.
    pub outcome: Option<OutcomeCode>,
    /// The record that stands for this slot (MISSED records included).
    pub record: Option<RecordId>,
    pub author: Option<StaffId>,
    pub time_critical: bool,
}

/// One group's counts: a unit, a resident, a medicine or a member of staff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Group {
    pub key: String,
    pub counts: Counts,
}

/// The review of a period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Review {
    pub from: NaiveDate,
    /// Last day of the period, inclusive.
    pub to: NaiveDate,
    pub totals: Counts,
    /// By unit id.
    pub by_unit: Vec<Group>,
    /// By resident id.
    pub by_resident: Vec<Group>,
    /// By medicine, as labelled on the chart.
    pub by_medicine: Vec<Group>,
    /// By the staff id of the person who recorded the outcome (MISSED has no author and is
    /// not counted here).
    pub by_staff: Vec<Group>,
    /// One entry per day of the period, in order.
    pub by_day: Vec<(NaiveDate, Counts)>,
    /// The doses that went wrong, in time order.
    pub exceptions: Vec<DoseLine>,
    /// When-required doses given, by resident id (PRN orders and homely remedies).
    pub prn_given: Vec<Group>,
}

/// Longest period a review covers, so that one tap cannot ask a tablet for years of records.
pub const MAX_REVIEW_DAYS: i64 = 92;

/// The review of local days `from..=to`. `facts` must hold every administration that occurred
/// from the start of `from` (less a day) to the end of `to` (plus a day), and every correction
/// made since. Slots after `now` are not counted.
pub fn review(
    residents: &[Resident],
    orders: &[Order],
    facts: &[DoseFact],
    from: NaiveDate,
    to: NaiveDate,
    now: DateTime<Utc>,
    tz: Tz,
) -> Review {
    let start = local_to_utc(tz, from.and_hms_opt(0, 0, 0).expect("midnight"));
    let end = local_to_utc(
        tz,
        (to + Duration::days(1))
            .and_hms_opt(0, 0, 0)
            .expect("midnight"),
    );
    let unit_of: HashMap<&ResidentId, &str> =
        residents.iter().map(|r| (&r.id, r.unit.as_str())).collect();

    // The facts that stand, by slot; and PRN doses given.
    let mut by_slot: HashMap<(&OrderId, DateTime<Utc>), Vec<&DoseFact>> = HashMap::new();
    let mut prn: BTreeMap<String, Counts> = BTreeMap::new();
    for f in standing_facts(facts) {
        match (&f.order, f.slot) {
            (Some(o), Some(at)) => by_slot.entry((o, at)).or_default().push(f),
            _ if f.outcome.is_taken() && f.occurred_at >= start && f.occurred_at < end => {
                prn.entry(f.resident.to_string())
                    .or_default()
                    .add(DoseClass::OnTime, false);
            }
            _ => {}
        }
    }

    let mut totals = Counts::default();
    let mut groups: [BTreeMap<String, Counts>; 4] = Default::default();
    let mut days: BTreeMap<NaiveDate, Counts> = BTreeMap::new();
    let mut d = from;
    while d <= to {
        days.insert(d, Counts::default());
        d += Duration::days(1);
    }
    let mut exceptions = Vec::new();
    let mut by_staff: HashMap<&str, Counts> = HashMap::new();
    for o in orders {
        let until = match &o.status {
            OrderStatus::Pending => continue,
            OrderStatus::Active => end,
            OrderStatus::Discontinued { at, .. } => end.min(*at),
        };
        let Some(unit) = unit_of.get(&o.resident) else {
            continue;
        };
        // This order's counts, added to its unit, resident and medicine once it is done.
        let mut mine = Counts::default();
        for at in slots_between(o, start, until.min(now), tz) {
            let stood = by_slot.get(&(&o.id, at));
            let rec = stood.and_then(|v| {
                slot_outcome_by(v.iter().copied(), |f| (f.is_system(), f.recorded_at))
            });
            let mut outcome = rec.map(|f| f.outcome);
            // A slot whose window has closed with no record is missed, even before the
            // minute timer has written its MISSED record.
            if outcome.is_none() && window(o, at, tz).closes <= now {
                outcome = Some(OutcomeCode::Missed);
            }
            let class = DoseClass::of(outcome, rec.is_some_and(|f| f.late));
            let tc = o.time_critical;
            mine.add(class, tc);
            if let Some(f) = rec.filter(|f| !f.is_system()) {
                by_staff
                    .entry(f.author.as_str())
                    .or_default()
                    .add(class, tc);
            }
            let day = at.with_timezone(&tz).date_naive();
            if let Some(c) = days.get_mut(&day) {
                c.add(class, tc);
            }
            if class.is_exception() {
                exceptions.push(DoseLine {
                    resident: o.resident.clone(),
                    order: o.id.clone(),
                    slot: at,
                    class,
                    outcome,
                    record: rec.map(|f| f.id.clone()),
                    author: rec.filter(|f| !f.is_system()).map(|f| f.author.clone()),
                    time_critical: tc,
                });
            }
        }
        totals.absorb(&mine);
        for (g, key) in [
            (0, unit.to_string()),
            (1, o.resident.to_string()),
            (2, o.medicine.label()),
        ] {
            groups[g].entry(key).or_default().absorb(&mine);
        }
    }
    for (staff, c) in by_staff {
        groups[3].insert(staff.to_string(), c);
    }
    exceptions
        .sort_by(|a, b| (a.slot, &a.resident, &a.order).cmp(&(b.slot, &b.resident, &b.order)));
    let groups = groups.map(|g| {
        g.into_iter()
            .map(|(key, counts)| Group { key, counts })
            .collect::<Vec<_>>()
    });
    let [by_unit, by_resident, by_medicine, by_staff] = groups;
    Review {
        from,
        to,
        totals,
        by_unit,
        by_resident,
        by_medicine,
        by_staff,
        by_day: days.into_iter().collect(),
        exceptions,
        prn_given: prn
            .into_iter()
            .map(|(key, counts)| Group { key, counts })
            .collect(),
    }
}

/// The standing outcome of each slot of `order` on the local days `from..=to`, for the MAR
/// grid: the slot's time and the fact that stands for it (none: still open, or missed before
/// the system wrote it; the caller tells them apart by the window).
pub fn slot_facts<'a>(
    order: &Order,
    facts: &'a [DoseFact],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    tz: Tz,
) -> Vec<(DateTime<Utc>, Option<&'a DoseFact>)> {
    let mut by_slot: HashMap<DateTime<Utc>, Vec<&DoseFact>> = HashMap::new();
    for f in standing_facts(facts) {
        if let (Some(o), Some(at)) = (&f.order, f.slot) {
            if o == &order.id {
                by_slot.entry(at).or_default().push(f);
            }
        }
    }
    slots_between(order, from, to, tz)
        .into_iter()
        .map(|at| {
            let rec = by_slot.get(&at).and_then(|v| {
                slot_outcome_by(v.iter().copied(), |f| (f.is_system(), f.recorded_at))
            });
            (at, rec)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::order::OrderStatus;
    use crate::rules::tests::{hm, paracetamol, regular, resident, utc};
    use crate::schedule::HOME_TZ;

    fn fact(id: &str, order: &str, slot: &str, outcome: OutcomeCode, author: &str) -> DoseFact {
        DoseFact {
            id: RecordId::new(id),
            resident: ResidentId::new("r1"),
            order: Some(OrderId::new(order)),
            slot: Some(utc(slot)),
            outcome,
            occurred_at: utc(slot),
            recorded_at: utc(slot),
            late: false,
            author: StaffId::new(author),
            voids: None,
        }
    }

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 6, d).unwrap()
    }

    /// Three days of an 08:00 and 18:00 order (times in June are BST, so 07:00Z and 17:00Z).
    fn three_days(facts: &[DoseFact], now: &str) -> Review {
        let o = regular("aml", &[hm(8, 0), hm(18, 0)]);
        review(
            &[resident()],
            &[o],
            facts,
            day(1),
            day(3),
            utc(now),
            HOME_TZ,
        )
    }

    #[test]
    fn every_slot_of_the_period_is_counted_once_in_its_class() {
        let mut late = fact("b", "aml", "2026-06-01T17:00:00Z", OutcomeCode::Given, "c1");
        late.late = true;
        let facts = vec![
            fact("a", "aml", "2026-06-01T07:00:00Z", OutcomeCode::Given, "c1"),
            late,
            fact(
                "c",
                "aml",
                "2026-06-02T07:00:00Z",
                OutcomeCode::Refused,
                "c2",
            ),
            fact(
                "d",
                "aml",
                "2026-06-02T17:00:00Z",
                OutcomeCode::Missed,
                "system",
            ),
            fact(
                "e",
                "aml",
                "2026-06-03T07:00:00Z",
                OutcomeCode::Withheld,
                "c2",
            ),
            fact(
                "f",
                "aml",
                "2026-06-03T17:00:00Z",
                OutcomeCode::Asleep,
                "c1",
            ),
        ];
        let r = three_days(&facts, "2026-06-04T12:00:00Z");
        let t = r.totals;
        assert_eq!(
            (
                t.on_time,
                t.late,
                t.refused,
                t.missed,
                t.withheld,
                t.not_given
            ),
            (1, 1, 1, 1, 1, 1)
        );
        assert_eq!(t.total(), 6);
        assert_eq!(t.exceptions(), 5);
        assert_eq!(r.exceptions.len(), 5);
        assert_eq!(r.by_day.len(), 3);
        assert_eq!(r.by_day[1].1.refused, 1);
        // MISSED is the system's: nobody is counted for it.
        let by_staff: Vec<(&str, u32)> = r
            .by_staff
            .iter()
            .map(|g| (g.key.as_str(), g.counts.total()))
            .collect();
        assert_eq!(by_staff, [("c1", 3), ("c2", 2)]);
        assert_eq!(r.exceptions[2].author, None);
        assert_eq!(r.by_unit[0].key, "u1");
    }

    #[test]
    fn a_slot_with_no_record_is_missed_once_its_window_closes_and_open_before() {
        // 2026-06-03 17:00Z: the window closes at 20:00Z.
        let r = three_days(&[], "2026-06-03T18:00:00Z");
        assert_eq!(r.totals.open, 1);
        assert_eq!(r.totals.missed, 5);
        let r = three_days(&[], "2026-06-03T20:00:00Z");
        assert_eq!((r.totals.open, r.totals.missed), (0, 6));
        // Slots still to come are not counted at all.
        let r = three_days(&[], "2026-06-02T12:00:00Z");
        assert_eq!(r.totals.total(), 3);
    }

    #[test]
    fn s09_a_voided_record_does_not_count_and_a_later_record_stands() {
        let mut wrong = fact(
            "a2",
            "aml",
            "2026-06-01T07:00:00Z",
            OutcomeCode::Refused,
            "c1",
        );
        wrong.recorded_at = utc("2026-06-01T07:05:00Z");
        let mut correction = fact(
            "x",
            "aml",
            "2026-06-01T07:00:00Z",
            OutcomeCode::EnteredInError,
            "c1",
        );
        correction.voids = Some(RecordId::new("a2"));
        let facts = vec![
            fact("a", "aml", "2026-06-01T07:00:00Z", OutcomeCode::Given, "c1"),
            wrong,
            correction,
        ];
        let r = three_days(&facts, "2026-06-01T12:00:00Z");
        assert_eq!((r.totals.on_time, r.totals.refused), (1, 0));
    }

    #[test]
    fn a_person_beats_the_system_and_late_time_critical_doses_stand_out() {
        let mut o = regular("ldp", &[hm(8, 0)]);
        o.time_critical = true;
        let mut given = fact("g", "ldp", "2026-06-01T07:00:00Z", OutcomeCode::Given, "c1");
        given.late = true;
        given.recorded_at = utc("2026-06-01T07:50:00Z");
        let mut missed = fact(
            "m",
            "ldp",
            "2026-06-01T07:00:00Z",
            OutcomeCode::Missed,
            "system",
        );
        missed.recorded_at = utc("2026-06-01T09:00:00Z");
        let r = review(
            &[resident()],
            &[o],
            &[given, missed],
            day(1),
            day(1),
            utc("2026-06-02T00:00:00Z"),
            HOME_TZ,
        );
        assert_eq!((r.totals.late, r.totals.missed), (1, 0));
        assert_eq!(r.totals.time_critical_late, 1);
        assert!(r.exceptions[0].time_critical);
    }

    #[test]
    fn pending_orders_count_nothing_and_discontinued_orders_stop_at_their_end() {
        let mut pending = regular("p", &[hm(8, 0)]);
        pending.status = OrderStatus::Pending;
        let mut stopped = regular("s", &[hm(8, 0)]);
        stopped.status = OrderStatus::Discontinued {
            at: utc("2026-06-02T12:00:00Z"),
            reason: "GP stopped it".into(),
        };
        let r = review(
            &[resident()],
            &[pending, stopped],
            &[],
            day(1),
            day(3),
            utc("2026-06-04T00:00:00Z"),
            HOME_TZ,
        );
        assert_eq!(r.totals.total(), 2);
    }

    #[test]
    fn prn_doses_given_are_counted_by_resident() {
        let mut f = fact(
            "p1",
            "para",
            "2026-06-01T07:00:00Z",
            OutcomeCode::Given,
            "c1",
        );
        f.slot = None;
        let mut not_needed = f.clone();
        not_needed.id = RecordId::new("p2");
        not_needed.outcome = OutcomeCode::NotRequired;
        let r = review(
            &[resident()],
            &[paracetamol()],
            &[f, not_needed],
            day(1),
            day(1),
            utc("2026-06-02T00:00:00Z"),
            HOME_TZ,
        );
        assert_eq!(r.prn_given.len(), 1);
        assert_eq!(r.prn_given[0].counts.total(), 1);
        assert_eq!(r.totals.total(), 0);
    }
}
