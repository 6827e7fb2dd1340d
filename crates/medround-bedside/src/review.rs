//! The manager's review: what went wrong in a period, the incidents to work, and each
//! resident's audit trail. Seniors and managers act; an auditor reads.

use crate::views::local;
use crate::{storage, Bedside};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use medround_domain::cd::CdMovement;
use medround_domain::incident::{acknowledge, IncidentAck};
use medround_domain::order::Order;
use medround_domain::record::{ResidentChange, Subject};
use medround_domain::resident::{LeftReason, Presence, Resident};
use medround_domain::review::{self, Group, MAX_REVIEW_DAYS};
use medround_domain::schedule::{local_to_utc, HOME_TZ};
use medround_domain::staff::{Role, Staff};
use medround_domain::tablet::Tablet;
use medround_domain::{DeviceId, RecordId, ResidentId};
use medround_ipc::*;
use medround_store::Item;
use std::collections::{HashMap, HashSet};

/// The review's default period: the last four weeks, today included.
pub const DEFAULT_REVIEW_DAYS: i64 = 28;

/// Reads the period the person asked for, or the default one ending today.
pub(crate) fn period(
    from: Option<&str>,
    to: Option<&str>,
    today: NaiveDate,
) -> Result<(NaiveDate, NaiveDate), IpcError> {
    let date = |s: &str| {
        NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| {
            IpcError::new(
                ErrorCode::BadInput,
                format!("{s:?} is not a date. Use the date picker (year-month-day)."),
            )
        })
    };
    let to = to.map(date).transpose()?.unwrap_or(today);
    let from = from
        .map(date)
        .transpose()?
        .unwrap_or(to - Duration::days(DEFAULT_REVIEW_DAYS - 1));
    if from > to {
        return Err(IpcError::new(
            ErrorCode::BadInput,
            "The first day of the period comes after the last. Choose the days again.",
        ));
    }
    if (to - from).num_days() >= MAX_REVIEW_DAYS {
        return Err(IpcError::new(
            ErrorCode::BadInput,
            format!("A review covers at most {MAX_REVIEW_DAYS} days. Choose a shorter period."),
        ));
    }
    Ok((from, to))
}

/// The UTC instants that bound local days `from..=to`.
pub(crate) fn bounds(from: NaiveDate, to: NaiveDate) -> (DateTime<Utc>, DateTime<Utc>) {
    let midnight = |d: NaiveDate| local_to_utc(HOME_TZ, d.and_hms_opt(0, 0, 0).expect("midnight"));
    (midnight(from), midnight(to + Duration::days(1)))
}

pub(crate) fn may_review(s: &Staff) -> Result<(), IpcError> {
    if s.role.is_senior() || s.role == Role::Auditor {
        Ok(())
    } else {
        Err(IpcError::new(
            ErrorCode::NotAllowed,
            "The review is for seniors, managers and auditors. Ask the senior on shift.",
        ))
    }
}

impl Bedside {
    /// Unit names by unit id.
    pub(crate) fn unit_names(&self) -> Result<HashMap<String, String>, IpcError> {
        Ok(self
            .store()
            .units()
            .map_err(storage)?
            .into_iter()
            .map(|u| (u.id.to_string(), u.name))
            .collect())
    }

    pub fn review(&mut self, from: Option<&str>, to: Option<&str>) -> Result<ReviewView, IpcError> {
        let me = self.who()?;
        may_review(&me)?;
        self.review_view(from, to, &me)
    }

    /// The review's data without a session check (benchmarks call this directly).
    pub fn review_view(
        &self,
        from: Option<&str>,
        to: Option<&str>,
        viewer: &Staff,
    ) -> Result<ReviewView, IpcError> {
        let now = self.now();
        let (from, to) = period(from, to, now.with_timezone(&HOME_TZ).date_naive())?;
        let (start, end) = bounds(from, to);
        let store = self.store();
        let residents = store.residents().map_err(storage)?;
        let orders = store.all_orders().map_err(storage)?;
        // A dose is recorded within hours of its slot; a day either side holds them all.
        let facts = store
            .dose_facts(start - Duration::days(1), end + Duration::days(1))
            .map_err(storage)?;
        let r = review::review(&residents, &orders, &facts, from, to, now, HOME_TZ);
        let staff = store.staff().map_err(storage)?;
        let names = Names::new(&residents, &orders, &staff)
            .with_tablets(store.tablets().map_err(storage)?, store.device());
        let units = self.unit_names()?;
        let rows = |groups: &[Group], label: &dyn Fn(&str) -> String| -> Vec<CountRow> {
            groups
                .iter()
                .map(|g| CountRow {
                    key: g.key.clone(),
                    label: label(&g.key),
                    counts: g.counts,
                })
                .collect()
        };
        let unit_name = |k: &str| units.get(k).cloned().unwrap_or_else(|| k.to_string());
        let incidents = store.incidents(start).map_err(storage)?;
        let open = incidents.iter().filter(|(_, a)| a.is_empty()).count() as u32;
        let mut by_resident = rows(&r.by_resident, &|k| names.resident(k));
        by_resident.sort_by(|a, b| {
            b.counts
                .exceptions()
                .cmp(&a.counts.exceptions())
                .then(a.label.cmp(&b.label))
        });
        let mut by_medicine = rows(&r.by_medicine, &|k| k.to_string());
        by_medicine.sort_by(|a, b| {
            b.counts
                .exceptions()
                .cmp(&a.counts.exceptions())
                .then(a.label.cmp(&b.label))
        });
        Ok(ReviewView {
            from: from.to_string(),
            to: to.to_string(),
            period: format!("{} to {}", from.format("%-d %b"), to.format("%-d %b %Y")),
            totals: r.totals,
            by_unit: rows(&r.by_unit, &unit_name),
            by_resident,
            by_medicine,
            by_staff: rows(&r.by_staff, &|k| names.staff(k)),
            by_day: r
                .by_day
                .iter()
                .map(|(d, c)| CountRow {
                    key: d.to_string(),
                    label: d.format("%a %-d %b").to_string(),
                    counts: *c,
                })
                .collect(),
            prn_given: rows(&r.prn_given, &|k| names.resident(k)),
            exceptions: r
                .exceptions
                .iter()
                .map(|x| ExceptionRow {
                    resident: x.resident.to_string(),
                    resident_name: names.resident(x.resident.as_str()),
                    unit: names
                        .unit_of(x.resident.as_str())
                        .map(unit_name)
                        .unwrap_or_default(),
                    medicine: names.medicine(x.order.as_str()),
                    due: local(x.slot, "%a %-d %b %H:%M"),
                    class: x.class,
                    class_label: x.class.label().into(),
                    outcome: x.outcome,
                    time_critical: x.time_critical,
                    staff: x.author.as_ref().map(|s| names.staff(s.as_str())),
                    record: x.record.as_ref().map(|r| r.to_string()),
                })
                .collect(),
            incidents: incidents
                .iter()
                .map(|(i, acks)| IncidentRow {
                    id: i.id.to_string(),
                    resident: i.resident.to_string(),
                    resident_name: names.resident(i.resident.as_str()),
                    kind: i.kind,
                    kind_label: i.kind.label().into(),
                    rule: format!("{:?}", i.kind.rule()),
                    message: i.message.clone(),
                    raised: local(i.raised_at, "%a %-d %b %H:%M"),
                    device: names.tablet(i.device.as_str()),
                    records: i.records.iter().map(|r| r.to_string()).collect(),
                    open: acks.is_empty(),
                    acknowledgements: acks
                        .iter()
                        .map(|a| {
                            format!(
                                "{}, {}: {}",
                                names.staff(a.by.as_str()),
                                local(a.at, "%a %-d %b %H:%M"),
                                a.action
                            )
                        })
                        .collect(),
                })
                .collect(),
            open_incidents: open,
            may_acknowledge: viewer.role.is_senior(),
            follow_ups: self.follow_ups_due(&names, &orders)?,
        })
    }

    /// A senior or manager records what was done about an incident. The incident stays; the
    /// acknowledgement is a record of its own (S9).
    pub fn acknowledge_incident(
        &mut self,
        incident: &str,
        action: &str,
    ) -> Result<Recorded, IpcError> {
        let me = self.who()?;
        let now = self.now();
        let Some(Item::Incident(i)) = self.store().item(incident).map_err(storage)? else {
            return Err(IpcError::new(
                ErrorCode::NotFound,
                "That incident was not found.",
            ));
        };
        let earlier = self.store().acknowledgements(&i.id).map_err(storage)?;
        acknowledge(&i, &earlier, &me, action).map_err(|f| IpcError {
            code: if f.code == medround_domain::finding::FindingCode::RoleNotAllowed {
                ErrorCode::NotAllowed
            } else {
                ErrorCode::Blocked
            },
            message: f.message.clone(),
            findings: vec![f],
        })?;
        let ack = IncidentAck {
            id: self.new_record_id("ack"),
            incident: i.id.clone(),
            resident: i.resident.clone(),
            action: action.trim().to_string(),
            at: now,
            by: me.id,
            device: self.store().device().clone(),
        };
        self.store_mut()
            .append(&i.resident, now, &[Item::IncidentAck(ack.clone())])
            .map_err(storage)?;
        Ok(Recorded {
            record: ack.id.to_string(),
            message: format!(
                "{} acknowledged. It stays on record with your note.",
                i.kind.label()
            ),
            acknowledged: vec![],
        })
    }

    /// Every record of one resident in a period: doses, corrections, overrides, register and
    /// stock entries, incidents, with who, when and on which device.
    pub fn audit(
        &mut self,
        resident: &str,
        from: Option<&str>,
        to: Option<&str>,
    ) -> Result<AuditView, IpcError> {
        let me = self.who()?;
        may_review(&me)?;
        let now = self.now();
        let (from, to) = period(from, to, now.with_timezone(&HOME_TZ).date_naive())?;
        let (start, end) = bounds(from, to);
        let store = self.store();
        let id = ResidentId::new(resident);
        let r = store.resident(&id).map_err(storage)?;
        let orders = store.orders_for(&id).map_err(storage)?;
        let staff = store.staff().map_err(storage)?;
        let names = Names::new(std::slice::from_ref(&r), &orders, &staff)
            .with_tablets(store.tablets().map_err(storage)?, store.device());
        // Later corrections come too: they mark records of the period as voided.
        let items: Vec<Item> = store.items_in_period(&id, start, end).map_err(storage)?;
        let voided: HashSet<&RecordId> = items
            .iter()
            .filter_map(|i| match i {
                Item::Administration(a) => a.voids.as_ref(),
                _ => None,
            })
            .collect();
        let mut rows: Vec<AuditRow> = items
            .iter()
            .filter(|i| i.at() < end)
            .map(|i| audit_row(i, &names, voided.contains(&RecordId::new(i.id()))))
            .collect();
        rows.reverse();
        Ok(AuditView {
            resident: r.id.to_string(),
            resident_name: r.full_name(),
            period: format!("{} to {}", from.format("%-d %b"), to.format("%-d %b %Y")),
            rows,
        })
    }
}

/// Names for ids, for the screens.
pub(crate) struct Names<'a> {
    residents: HashMap<&'a str, &'a Resident>,
    orders: HashMap<&'a str, &'a Order>,
    staff: HashMap<&'a str, &'a Staff>,
    tablets: HashMap<String, String>,
    this_tablet: Option<DeviceId>,
}

impl<'a> Names<'a> {
    pub(crate) fn new(residents: &'a [Resident], orders: &'a [Order], staff: &'a [Staff]) -> Self {
        Names {
            residents: residents.iter().map(|r| (r.id.as_str(), r)).collect(),
            orders: orders.iter().map(|o| (o.id.as_str(), o)).collect(),
            staff: staff.iter().map(|s| (s.id.as_str(), s)).collect(),
            tablets: HashMap::new(),
            this_tablet: None,
        }
    }
    /// Names records' devices too: by the names the tablets gave themselves at enrolment.
    pub(crate) fn with_tablets(mut self, tablets: Vec<Tablet>, this: &DeviceId) -> Self {
        self.tablets = tablets
            .into_iter()
            .map(|t| (t.id.to_string(), t.name))
            .collect();
        self.this_tablet = Some(this.clone());
        self
    }
    /// The tablet a record was made on, as a person would know it. A tablet not enrolled with
    /// a central record has no name: this one is "This tablet", another shows its short id.
    pub(crate) fn tablet(&self, id: &str) -> String {
        if let Some(name) = self.tablets.get(id) {
            return name.clone();
        }
        if self.this_tablet.as_ref().is_some_and(|t| t.as_str() == id) {
            return "This tablet".into();
        }
        let short: String = id.trim_start_matches("dev-").chars().take(8).collect();
        format!("Tablet {short}")
    }
    pub(crate) fn resident(&self, id: &str) -> String {
        self.residents
            .get(id)
            .map(|r| r.full_name())
            .unwrap_or_else(|| id.to_string())
    }
    fn unit_of(&self, id: &str) -> Option<&str> {
        self.residents.get(id).map(|r| r.unit.as_str())
    }
    pub(crate) fn medicine(&self, order: &str) -> String {
        self.orders
            .get(order)
            .map(|o| o.medicine.label())
            .unwrap_or_else(|| order.to_string())
    }
    pub(crate) fn staff(&self, id: &str) -> String {
        match id {
            "system" => "Medround (window closed)".into(),
            _ => self
                .staff
                .get(id)
                .map(|s| s.name.clone())
                .unwrap_or_else(|| id.to_string()),
        }
    }
}

fn audit_row(i: &Item, n: &Names<'_>, voided: bool) -> AuditRow {
    let when = |t| local(t, "%a %-d %b %H:%M");
    let row = |kind: &str, summary: String, at, by: &str, device: &str| AuditRow {
        id: i.id().to_string(),
        at: when(at),
        recorded: None,
        kind: kind.into(),
        summary,
        by: n.staff(by),
        witness: None,
        device: n.tablet(device),
        voided,
        flags: vec![],
    };
    match i {
        Item::Administration(a) => {
            let what = match &a.subject {
                Subject::Slot { order, at } => {
                    format!("{} due {}", n.medicine(order.as_str()), local(*at, "%H:%M"))
                }
                Subject::Prn { order } => format!("{} (when required)", n.medicine(order.as_str())),
                Subject::Homely { remedy } => format!("Homely remedy {remedy}"),
            };
            let mut summary = match &a.voids {
                Some(v) => format!("Correction: voids record {v}"),
                None => format!("{what}: {}", a.outcome.code()),
            };
            if let Some(q) = a.quantity {
                summary.push_str(&format!(", {q}"));
            }
            // A dose is its own stock record (S14); older doses have a "Stock" row beside them.
            if let Some(q) = a.from_stock {
                summary.push_str(&format!("; {q} from stock"));
            }
            if let Some(note) = &a.note {
                summary.push_str(&format!(". {note}"));
            }
            let mut flags = Vec::new();
            if let Some(r) = &a.late_reason {
                flags.push(format!("Late: {r}"));
            }
            if let Some(r) = &a.retrospective_reason {
                flags.push(format!("Retrospective: {r}"));
            }
            if let Some(r) = &a.allergy_override {
                flags.push(format!("Allergy override: {r}"));
            }
            if a.covert {
                flags.push("Covert".into());
            }
            if a.product == Some(medround_domain::record::ProductCheck::TappedNotScanned) {
                flags.push("Not scanned".into());
            }
            if let Some(site) = &a.site {
                flags.push(format!("Site: {site}"));
            }
            AuditRow {
                recorded: (a.recorded_at - a.occurred_at > Duration::minutes(1))
                    .then(|| when(a.recorded_at)),
                witness: a.witness.as_ref().map(|w| n.staff(w.as_str())),
                flags,
                ..row(
                    if a.voids.is_some() {
                        "Correction"
                    } else {
                        "Dose"
                    },
                    summary,
                    a.occurred_at,
                    a.author.as_str(),
                    a.device.as_str(),
                )
            }
        }
        Item::PatchRemoval(p) => row(
            "Patch removal",
            format!("{} removed from {}", n.medicine(p.order.as_str()), p.site),
            p.occurred_at,
            p.author.as_str(),
            p.device.as_str(),
        ),
        Item::PrnFollowUp(f) => row(
            "PRN follow-up",
            format!(
                "{} (dose {}){}",
                if f.effective {
                    "Effective"
                } else {
                    "Not effective"
                },
                f.administration,
                f.note
                    .as_ref()
                    .map(|x| format!(": {x}"))
                    .unwrap_or_default()
            ),
            f.occurred_at,
            f.author.as_str(),
            f.device.as_str(),
        ),
        Item::CdEntry(e) => {
            let what = match &e.movement {
                CdMovement::Received { qty, from } => format!("received {qty} from {from}"),
                CdMovement::Administered { qty, .. } => format!("administered {qty}"),
                CdMovement::Destroyed { qty } => format!("destroyed {qty}"),
                CdMovement::Returned { qty } => format!("returned {qty}"),
                CdMovement::Count { counted } => format!("counted {counted}"),
                CdMovement::Voided { qty, .. } => format!("{qty} back (dose in error)"),
                CdMovement::PatchRemovedAndDestroyed { site, .. } => {
                    format!("patch removed from {site}, destroyed")
                }
            };
            AuditRow {
                witness: Some(n.staff(e.witness.as_str())),
                ..row(
                    "CD register",
                    format!("{}: {what}; balance {}", e.drug, e.balance_after),
                    e.at,
                    e.by.as_str(),
                    e.device.as_str(),
                )
            }
        }
        Item::StockMovement(m) => row(
            "Stock",
            format!(
                "{}: {} ({:?})",
                n.medicine(m.order.as_str()),
                m.delta,
                m.reason
            ),
            m.at,
            m.by.as_str(),
            m.device.as_str(),
        ),
        Item::Incident(x) => row(
            "Incident",
            format!("{}: {}", x.kind.label(), x.message),
            x.raised_at,
            "system",
            x.device.as_str(),
        ),
        Item::IncidentAck(k) => row(
            "Acknowledgement",
            format!("Incident {} acknowledged: {}", k.incident, k.action),
            k.at,
            k.by.as_str(),
            k.device.as_str(),
        ),
        Item::ResidentEvent(e) => {
            let what = match &e.change {
                ResidentChange::Admitted => "Admitted to the home".to_string(),
                ResidentChange::DetailsChanged { fields } => {
                    format!("Details changed: {}", fields.join(", "))
                }
                ResidentChange::Away { presence } => match presence {
                    Presence::OnLeave { .. } => "Gone on leave".to_string(),
                    Presence::Left {
                        reason: LeftReason::Died,
                        ..
                    } => "Died".to_string(),
                    Presence::Left { .. } => "Discharged from the home".to_string(),
                    _ => "Gone to hospital".to_string(),
                },
                ResidentChange::Back { was } => match was {
                    Presence::InHospital { since } => {
                        format!("Back from hospital, away since {}", when(*since))
                    }
                    Presence::OnLeave { since } => {
                        format!("Back from leave, away since {}", when(*since))
                    }
                    Presence::Left { since, .. } => {
                        format!("Readmitted to the home, left {}", when(*since))
                    }
                    Presence::Present => "Back in the home".to_string(),
                },
                ResidentChange::Reconciled => "Medicines reconciled after the return".to_string(),
            };
            row("Resident", what, e.at, e.author.as_str(), e.device.as_str())
        }
    }
}
