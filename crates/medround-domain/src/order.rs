//! Orders: one prescription line each.

use crate::ids::{OrderId, ResidentId, StaffId};
use crate::medicine::Medicine;
use crate::qty::Qty;
use chrono::{DateTime, NaiveDate, NaiveTime, Utc, Weekday};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Dose {
    Fixed {
        qty: Qty,
    },
    /// A variable dose such as "1 or 2": the quantity given is recorded. A range of whole
    /// units (1 or 2 tablets) takes whole units only, unless the prescriber allows halves; a
    /// range in parts of a unit (2.5 to 5 ml) takes any measured amount in it.
    Range {
        min: Qty,
        max: Qty,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        halves: bool,
    },
}

impl Dose {
    pub fn is_variable(self) -> bool {
        matches!(self, Dose::Range { .. })
    }
    pub fn allows(self, q: Qty) -> bool {
        match self {
            Dose::Fixed { qty } => q == qty,
            Dose::Range { min, max, halves } => {
                let whole_range = min.as_milli() % 1000 == 0 && max.as_milli() % 1000 == 0;
                let step = match (whole_range, halves) {
                    (false, _) => 1,
                    (true, true) => 500,
                    (true, false) => 1000,
                };
                q >= min && q <= max && q.as_milli() % step == 0
            }
        }
    }
    pub fn max(self) -> Qty {
        match self {
            Dose::Fixed { qty } => qty,
            Dose::Range { max, .. } => max,
        }
    }
    pub fn describe(self, unit: &str) -> String {
        match self {
            Dose::Fixed { qty } => format!("{qty} {unit}"),
            Dose::Range {
                min, max, halves, ..
            } if halves => format!("{min} to {max} {unit} (halves allowed)"),
            Dose::Range { min, max, .. } => format!("{min} or {max} {unit}"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Route {
    Oral,
    Topical,
    Transdermal,
    Eye,
    Ear,
    Nasal,
    Inhaled,
    Subcutaneous,
    Rectal,
}

impl Route {
    pub fn label(self) -> &'static str {
        match self {
            Route::Oral => "by mouth",
            Route::Topical => "to the skin",
            Route::Transdermal => "transdermal patch",
            Route::Eye => "into the eye",
            Route::Ear => "into the ear",
            Route::Nasal => "into the nose",
            Route::Inhaled => "inhaled",
            Route::Subcutaneous => "subcutaneous injection",
            Route::Rectal => "rectal",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Schedule {
    /// Every day at these local times.
    Daily { times: Vec<NaiveTime> },
    /// On these weekdays at these local times (e.g. alendronic acid on Mondays).
    Weekly {
        days: Vec<Weekday>,
        times: Vec<NaiveTime>,
    },
    /// Every `every` days counted from the order's start date (e.g. a 72-hour patch).
    EveryNDays { every: u32, times: Vec<NaiveTime> },
    /// When required: no slots; governed by the PRN protocol (S4).
    Prn,
}

impl Schedule {
    pub fn times(&self) -> &[NaiveTime] {
        match self {
            Schedule::Daily { times }
            | Schedule::Weekly { times, .. }
            | Schedule::EveryNDays { times, .. } => times,
            Schedule::Prn => &[],
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrnProtocol {
    pub indication: String,
    pub min_interval_minutes: u32,
    /// In the order's own units (e.g. 8 tablets).
    pub max_per_24h: Qty,
    /// When to ask "was it effective?".
    pub follow_up_minutes: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CdSchedule {
    Schedule2,
    Schedule3,
}

/// How the medicine goes on: S13 needs a body site for patches and creams.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Application {
    #[default]
    Standard,
    /// A patch: the previous one must be removed first, and a site rests this many days.
    Patch { site_rest_days: u32 },
    /// A cream or ointment: the site is recorded.
    Topical,
}

impl Application {
    pub fn needs_site(self) -> bool {
        !matches!(self, Application::Standard)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum OrderStatus {
    /// Arrived (from the pharmacy or typed by hand) and not yet checked in by a senior (S16).
    Pending,
    Active,
    Discontinued {
        at: DateTime<Utc>,
        reason: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderSource {
    Pharmacy,
    HandEntered,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Order {
    pub id: OrderId,
    pub resident: ResidentId,
    pub medicine: Medicine,
    pub dose: Dose,
    /// "tablet", "ml", "patch", "drop", "application".
    pub unit: String,
    pub route: Route,
    pub schedule: Schedule,
    pub instructions: String,
    pub prescriber: String,
    pub start: NaiveDate,
    /// Last day on which doses are due.
    pub end: Option<NaiveDate>,
    pub status: OrderStatus,
    pub source: OrderSource,
    /// Who checked it in (S16); a hand-entered order needs two different people.
    #[serde(default)]
    pub checked_in_by: Vec<StaffId>,
    #[serde(default)]
    pub cd: Option<CdSchedule>,
    #[serde(default)]
    pub time_critical: bool,
    #[serde(default)]
    pub covert_allowed: bool,
    /// The prescriber's note that this order is meant alongside another active order with
    /// the same active ingredient (duplicate therapy), taken at check-in. Without it, each
    /// dose warns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub both_intended: Option<String>,
    /// The order this one replaces (a dose changed by the prescriber): when this one is
    /// checked in, that one is stopped, and a slot it already answered is not this one's to
    /// give again (S5, S16).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaces: Option<OrderId>,
    /// This order's slots begin after this time: the last slot the order it replaced
    /// answered (amlodipine 5 mg given at 08:00, then replaced by 10 mg: the 10 mg's first
    /// slot is tomorrow's). Set at check-in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slots_after: Option<DateTime<Utc>>,
    #[serde(default)]
    pub application: Application,
    #[serde(default)]
    pub prn: Option<PrnProtocol>,
}

impl Order {
    pub fn is_prn(&self) -> bool {
        matches!(self.schedule, Schedule::Prn)
    }

    /// Minutes either side of the slot in which the dose may be given (S3).
    pub fn window_minutes(&self) -> i64 {
        if self.time_critical {
            30
        } else {
            60
        }
    }

    pub fn runs_on(&self, date: NaiveDate) -> bool {
        date >= self.start && self.end.is_none_or(|e| date <= e)
    }

    pub fn is_ended(&self, today: NaiveDate) -> bool {
        self.end.is_some_and(|e| today > e)
    }

    /// Active and running on `date`: its doses can be given that day.
    pub fn is_live(&self, date: NaiveDate) -> bool {
        self.status == OrderStatus::Active && self.runs_on(date)
    }

    pub fn dose_text(&self) -> String {
        self.dose.describe(&self.unit)
    }
}

/// Duplicate therapy: the other orders of `order`'s resident, active and running on `date`,
/// that share an active ingredient with it, each with the first substance they share. A pair
/// of when-required orders is left to the interval and 24-hour checks across products (S4),
/// which already read every product with the ingredient; a regular order beside another is
/// what gives a double dose at one round. A prescriber's note on either order that both are
/// meant (`both_intended`) settles the pair.
pub fn duplicates<'a>(
    order: &Order,
    orders: &'a [Order],
    date: NaiveDate,
) -> Vec<(&'a Order, String)> {
    if order.both_intended.is_some() {
        return vec![];
    }
    orders
        .iter()
        .filter(|o| o.id != order.id && o.resident == order.resident && o.is_live(date))
        .filter(|o| !(o.is_prn() && order.is_prn()) && o.both_intended.is_none())
        // An order and the one it replaces are one prescription, changed, not two.
        .filter(|o| {
            o.replaces.as_ref() != Some(&order.id) && order.replaces.as_ref() != Some(&o.id)
        })
        .filter_map(|o| {
            let s = order.medicine.shared_substances(&o.medicine).next()?;
            Some((o, s.to_string()))
        })
        .collect()
}

/// S16, S5: a checked-in order that replaces another takes over from it at `now`: the old one
/// is stopped, and the new one's slots begin after the last slot the old one answered
/// (`answered`: the old order's slots that have a standing outcome). Returns both, to be
/// written together.
pub fn take_over(
    new: &Order,
    old: &Order,
    answered: impl Iterator<Item = DateTime<Utc>>,
    now: DateTime<Utc>,
) -> (Order, Order) {
    let mut new = new.clone();
    let mut old = old.clone();
    new.slots_after = answered
        .max()
        .filter(|last| *last >= now - chrono::Duration::days(1));
    if old.status == OrderStatus::Active || old.status == OrderStatus::Pending {
        old.status = OrderStatus::Discontinued {
            at: now,
            reason: format!("replaced by {} {}", new.medicine.label(), new.dose_text()),
        };
    }
    (new, old)
}
