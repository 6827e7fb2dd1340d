//! The bedside round as use cases: what the tablet's screens ask for and what they record.
//!
//! It gathers what the rules need from the store, asks `medround-domain` for findings, and writes
//! records through `medround-store`. The Tauri shell calls one method per command; tests and
//! benchmarks call the same methods, so what is tested is what the app runs.

pub mod clock;
pub mod print;
pub mod residents;
pub mod review;
pub mod staff;
pub mod stock;
pub mod sync;
pub use sync::{EnrolmentSettings, SyncRun, SyncSummary, CENTRAL, MERGE_CHECKED_TO};
mod views;

pub use clock::{Clock, FakeClock, SystemClock, TrainingClock};

use chrono::{DateTime, Duration, Utc};
use medround_domain::admission::name_alert;
use medround_domain::barcode::{parse_scan, Scan};
use medround_domain::fact::DoseFact;
use medround_domain::finding::{Assessment, FindingCode};
use medround_domain::order::{Application, Order};
use medround_domain::outcome::OutcomeCode;
use medround_domain::qty::Qty;
use medround_domain::record::{
    Administration, PatchRemoval, PrnFollowUp, ResidentChange, ResidentEvent, Subject,
};
use medround_domain::rules::{self, DoseAttempt, DoseContext, Witness};
use medround_domain::schedule::HOME_TZ;
use medround_domain::staff::Staff;
use medround_domain::{OrderId, RecordId, ResidentId};
use medround_ipc::*;
use medround_store::{Item, Key, PinCheck, Store, StoreError};
use std::path::Path;

/// How far back the rules look: long enough for S13 (patch sites), S17 (a fortnight of homely
/// remedies) and S11 (three slots of a weekly order).
/// How much history the safety rules see, chosen so that every rule has what it needs and no
/// more: the cost of a dose must not grow with the months of records behind it.
/// Everything of the last two days: PRN intervals and 24-hour totals (S4), today's slots (S3),
/// and records entered after the event (S10).
const RECENT_HOURS: i64 = 48;
/// Homely remedies count the days of use in a fortnight (S17).
const HOMELY_DAYS: i64 = 14;
/// The last records of each order: three slots for an omission review (S11) and whether a
/// slot days back already has an outcome (S8, S10), with room for corrections, read as facts;
/// and for patches the previous patch and its removal (S13), read whole.
const PER_ORDER_RECORDS: u32 = 12;
/// How far back the round and window closing look for unresolved doses.
const ROUND_LOOKBACK_HOURS: i64 = 12;
/// Local setting: the time the last closing of windows reached (S8).
const CLOSED_TO: &str = "windows_closed_to";
pub const DEFAULT_IDLE_LOCK_MINUTES: u32 = 5;

pub(crate) fn storage(e: StoreError) -> IpcError {
    match e {
        StoreError::NotFound(what) => IpcError::new(ErrorCode::NotFound, format!("{what} was not found.")),
        StoreError::Duplicate(id) => IpcError::new(ErrorCode::BadInput, format!("Record {id} already exists.")),
        other => IpcError::new(
            ErrorCode::Storage,
            format!("The tablet could not save or read its records ({other}). Nothing was half-written; try again, and tell the manager if it persists."),
        ),
    }
}

#[derive(Debug)]
struct Session {
    staff: Staff,
    last_active: DateTime<Utc>,
}

#[derive(Debug)]
pub struct Bedside {
    store: Store,
    clock: Box<dyn Clock>,
    session: Option<Session>,
    demo: bool,
}

/// A new record id: the kind's prefix and a UUIDv7, which starts with the time. Ids made later
/// sort later, so each new record lands on the last page of the records' primary key, already
/// in memory; random ids sent every insert of a year-old home to a page of its own, read and
/// decrypted from disk first. The random part keeps two tablets' ids apart.
fn record_id_at(prefix: &str, now: DateTime<Utc>) -> RecordId {
    let ts = uuid::Timestamp::from_unix(
        uuid::NoContext,
        now.timestamp().max(0) as u64,
        now.timestamp_subsec_nanos(),
    );
    RecordId::new(format!("{prefix}-{}", uuid::Uuid::new_v7(ts).simple()))
}

#[cfg(test)]
#[test]
fn record_ids_sort_by_time_and_never_repeat() {
    let t: DateTime<Utc> = "2026-11-23T08:00:00Z".parse().unwrap();
    let later = record_id_at("adm", t + Duration::milliseconds(5));
    let ids: Vec<RecordId> = (0..1000).map(|_| record_id_at("adm", t)).collect();
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), ids.len());
    assert!(ids.iter().all(|i| i < &later), "{later}");
    assert!(ids[0].as_str().starts_with("adm-"));
}

impl Bedside {
    /// Opens the tablet's store: the database in `data_dir`, its key in `key_file` (kept apart).
    pub fn open(
        db_file: &Path,
        key_file: &Path,
        clock: Box<dyn Clock>,
    ) -> Result<Bedside, StoreError> {
        if let Some(dir) = db_file.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let key = Key::load_or_create(key_file)?;
        let mut store = Store::open(db_file, &key)?;
        store.publish_local_pins(clock.now())?;
        let demo = store.meta("demo")?.as_deref() == Some("1");
        Ok(Bedside {
            store,
            clock,
            session: None,
            demo,
        })
    }

    /// Builds the demo home if the store is empty. Returns whether it did.
    pub fn seed_demo_if_empty(&mut self) -> Result<bool, StoreError> {
        if self.store.home_name()?.is_some() {
            return Ok(false);
        }
        let spec = medround_demo::HomeSpec::larch_house(self.clock.now());
        medround_demo::build(&mut self.store, &spec)?;
        self.store.set_meta("demo", "1")?;
        self.demo = true;
        Ok(true)
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    pub(crate) fn new_record_id(&self, prefix: &str) -> RecordId {
        record_id_at(prefix, self.clock.now())
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn store_mut(&mut self) -> &mut Store {
        &mut self.store
    }

    fn setting_u32(&self, key: &str, default: u32) -> u32 {
        self.store
            .meta(key)
            .ok()
            .flatten()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    }

    fn idle_lock(&self) -> u32 {
        self.setting_u32("idle_lock_minutes", DEFAULT_IDLE_LOCK_MINUTES)
    }

    fn lock_after_each_resident(&self) -> bool {
        self.setting_u32("lock_after_each_resident", 0) == 1
    }

    pub fn set_lock_after_each_resident(&mut self, on: bool) -> Result<(), IpcError> {
        self.store
            .set_meta("lock_after_each_resident", if on { "1" } else { "0" })
            .map_err(storage)
    }

    pub fn set_idle_lock_minutes(&mut self, m: u32) -> Result<(), IpcError> {
        self.store
            .set_meta("idle_lock_minutes", &m.max(1).to_string())
            .map_err(storage)
    }

    /// The signed-in person, if the session is still live. Every command passes through here, so
    /// an idle tablet locks itself whatever screen it shows (S19).
    pub(crate) fn who(&mut self) -> Result<Staff, IpcError> {
        let now = self.clock.now();
        let idle = Duration::minutes(i64::from(self.idle_lock()));
        match &mut self.session {
            None => Err(IpcError::new(
                ErrorCode::NotSignedIn,
                "Sign in with your PIN.",
            )),
            Some(s) if now - s.last_active > idle => {
                self.session = None;
                Err(IpcError::new(
                    ErrorCode::SessionLocked,
                    "The screen locked after being left idle. Sign in again.",
                ))
            }
            Some(s) => {
                s.last_active = now;
                Ok(s.staff.clone())
            }
        }
    }

    // ---- commands --------------------------------------------------------------------------

    pub fn home(&self) -> Result<HomeView, IpcError> {
        let staff = self.store.staff().map_err(storage)?;
        Ok(HomeView {
            name: self
                .store
                .home_name()
                .map_err(storage)?
                .unwrap_or_else(|| "Medround".into()),
            demo: self.demo,
            staff: staff
                .iter()
                .filter(|s| s.active)
                .map(views::staff_card)
                .collect(),
            device: self.store.device().to_string(),
        })
    }

    pub fn sign_in(&mut self, staff_id: &str, pin: &str) -> Result<SessionView, IpcError> {
        let staff = self
            .store
            .staff_member(staff_id)
            .map_err(storage)?
            .filter(|s| s.active)
            .ok_or_else(|| IpcError::new(ErrorCode::NotFound, "Choose your name from the list."))?;
        match self.store.check_pin(&staff.id, pin).map_err(storage)? {
            PinCheck::Ok => {}
            PinCheck::Wrong { attempts_left } => {
                return Err(IpcError::new(
                    ErrorCode::WrongPin,
                    format!(
                    "That PIN is not right. {attempts_left} more tries before the account locks."
                ),
                ))
            }
            PinCheck::Locked => {
                return Err(IpcError::new(
                    ErrorCode::AccountLocked,
                    "This account is locked after too many wrong PINs. Ask a senior to reset it.",
                ))
            }
            PinCheck::NoPin => {
                return Err(IpcError::new(
                    ErrorCode::NoPin,
                    "No PIN is set for you on this tablet. Ask a senior.",
                ))
            }
        }
        self.session = Some(Session {
            staff: staff.clone(),
            last_active: self.clock.now(),
        });
        Ok(SessionView {
            staff: views::staff_card(&staff),
            idle_lock_minutes: self.idle_lock(),
            lock_after_each_resident: self.lock_after_each_resident(),
        })
    }

    pub fn sign_out(&mut self) {
        self.session = None;
    }

    /// Called when the carer leaves a resident's chart; locks the screen if the home chose that.
    pub fn leave_resident(&mut self) -> bool {
        if self.lock_after_each_resident() {
            self.session = None;
            true
        } else {
            false
        }
    }

    pub fn round(&mut self) -> Result<RoundView, IpcError> {
        self.who()?;
        self.round_view()
    }

    /// The round screen's data, without a session check (benchmarks call this directly).
    pub fn round_view(&self) -> Result<RoundView, IpcError> {
        let now = self.clock.now();
        let residents = self.store.residents().map_err(storage)?;
        let orders = self.store.all_orders().map_err(storage)?;
        let history = self
            .store
            .administrations_since(now - Duration::hours(ROUND_LOOKBACK_HOURS + 24))
            .map_err(storage)?;
        let units = self.store.units().map_err(storage)?;
        let open = self.store.open_incident_count().map_err(storage)? as u32;
        Ok(views::round(
            self.store.home_name().map_err(storage)?.unwrap_or_default(),
            &units,
            &residents,
            &orders,
            &history,
            now,
            Duration::hours(ROUND_LOOKBACK_HOURS),
            open,
        ))
    }

    pub fn open_resident(&mut self, resident: &str) -> Result<ResidentView, IpcError> {
        self.who()?;
        self.resident_view(&ResidentId::new(resident))
    }

    fn resident_view(&self, id: &ResidentId) -> Result<ResidentView, IpcError> {
        let now = self.clock.now();
        let r = self.store.resident(id).map_err(storage)?;
        let orders = self.store.orders_for(id).map_err(storage)?;
        let items = self
            .store
            .items_for(id, Some(now - Duration::days(2)))
            .map_err(storage)?;
        let staff = self.store.staff().map_err(storage)?;
        let remedies = self.store.remedies().map_err(storage)?;
        let mut view = views::resident(&r, &orders, &remedies, &items, &staff, now);
        view.unit = self.unit_name(&r.unit)?;
        view.name_alert = name_alert(&r, &self.store.residents().map_err(storage)?);
        Ok(view)
    }

    pub fn scan(&mut self, resident: &str, raw: &str) -> Result<ScanView, IpcError> {
        self.who()?;
        let scan =
            parse_scan(raw).map_err(|e| IpcError::new(ErrorCode::BadBarcode, e.to_string()))?;
        let id = ResidentId::new(resident);
        let r = self.store.resident(&id).map_err(storage)?;
        let orders = self.store.orders_for(&id).map_err(storage)?;
        Ok(views::scan(&r, &orders, scan))
    }

    /// What the rules read about a resident. `attempt` names the dose being assessed: its
    /// order's older slots (S8, S11) and a patch's last removals (S13) are read for that order
    /// only, since no rule looks at another order's slots.
    fn context_parts(
        &self,
        id: &ResidentId,
        attempt: Option<&DoseAttempt>,
    ) -> Result<ContextParts, IpcError> {
        let now = self.clock.now();
        let orders = self.store.orders_for(id).map_err(storage)?;
        let this_order: Vec<&Order> = attempt
            .and_then(|a| a.subject.order())
            .and_then(|o| orders.iter().find(|x| &x.id == o))
            .into_iter()
            .collect();
        // Whole records only where a rule reads more than the outcome (a patch's site, S13);
        // the order's older slots as facts. Decoding each order's last records whole made a
        // dose on day 365 cost a third more than on day 1.
        let site_orders: Vec<OrderId> = orders
            .iter()
            .filter(|o| attempt.is_none() || this_order.iter().any(|t| t.id == o.id))
            .filter(|o| o.application.needs_site())
            .map(|o| o.id.clone())
            .collect();
        // A dose entered for an earlier time is checked against the day before that time and
        // everything since (S4 both ways, S10), however far back it is.
        let from = attempt
            .and_then(|a| a.occurred_at)
            .map_or(now, |t| t.min(now));
        let history = self
            .store
            .administrations_for_rules(
                id,
                &site_orders,
                from - Duration::hours(RECENT_HOURS),
                from - Duration::days(HOMELY_DAYS),
                PER_ORDER_RECORDS,
            )
            .map_err(storage)?;
        let slot_orders: Vec<OrderId> = this_order.iter().map(|o| o.id.clone()).collect();
        let slot_history = self
            .store
            .slot_facts(&slot_orders, PER_ORDER_RECORDS)
            .map_err(storage)?;
        let mut removals = Vec::new();
        for o in this_order.iter().filter(|o| o.application.needs_site()) {
            for it in self
                .store
                .latest_for_order(&o.id, "patch_removal", PER_ORDER_RECORDS)
                .map_err(storage)?
            {
                if let Item::PatchRemoval(p) = it {
                    removals.push(p);
                }
            }
        }
        Ok(ContextParts {
            resident: self.store.resident(id).map_err(storage)?,
            orders,
            remedies: self.store.remedies().map_err(storage)?,
            limits: self.store.limits().map_err(storage)?,
            history,
            slot_history,
            removals,
        })
    }

    fn cd_balance(&self, order: &OrderId) -> Result<Qty, IpcError> {
        self.store.cd_balance(order).map_err(storage)
    }

    /// The findings for an attempt, without recording it (the screen shows them as the carer goes).
    pub fn assess(
        &mut self,
        resident: &str,
        attempt: &DoseAttempt,
    ) -> Result<Assessment, IpcError> {
        let author = self.who()?;
        let id = ResidentId::new(resident);
        let parts = self.context_parts(&id, Some(attempt))?;
        let cd_balance = self.cd_balance_for(&parts, attempt)?;
        let ctx = parts.ctx(self.clock.now(), &author, None, cd_balance);
        let mut a = rules::assess(&ctx, attempt);
        // The witness is asked for after the rest is right; do not show it as a problem yet.
        a.findings.retain(|f| f.code != FindingCode::WitnessNeeded);
        Ok(a)
    }

    fn cd_balance_for(
        &self,
        parts: &ContextParts,
        attempt: &DoseAttempt,
    ) -> Result<Option<Qty>, IpcError> {
        match attempt
            .subject
            .order()
            .and_then(|o| parts.orders.iter().find(|x| &x.id == o))
        {
            Some(o) if o.cd.is_some() => Ok(Some(self.cd_balance(&o.id)?)),
            _ => Ok(None),
        }
    }

    /// Records a dose (or a not-given outcome), with its stock movement and CD register entry, as
    /// one durable write. Returns the findings if anything blocks.
    pub fn record_dose(
        &mut self,
        resident: &str,
        attempt: &DoseAttempt,
        witness: Option<&WitnessPin>,
    ) -> Result<Recorded, IpcError> {
        let author = self.who()?;
        let now = self.clock.now();
        let id = ResidentId::new(resident);
        let parts = self.context_parts(&id, Some(attempt))?;
        let witness_staff = match witness {
            Some(w) => Some(self.check_witness(w, &author)?),
            None => None,
        };
        let cd_balance = self.cd_balance_for(&parts, attempt)?;
        let ctx = parts.ctx(
            now,
            &author,
            witness_staff.as_ref().map(|s| Witness {
                staff: s,
                authenticated: true,
            }),
            cd_balance,
        );
        let record_id = self.new_record_id("adm");
        let (rec, entailed) = medround_domain::entail::record_dose(
            &ctx,
            attempt,
            record_id.clone(),
            self.store.device().clone(),
            &mut |prefix| record_id_at(prefix, now),
        )
        .map_err(|a| {
            let message = a
                .blocks()
                .next()
                .map(|f| f.message.clone())
                .unwrap_or_else(|| "Read and acknowledge the warnings to continue.".into());
            IpcError {
                code: ErrorCode::Blocked,
                message,
                findings: a.findings,
            }
        })?;
        let order = attempt
            .subject
            .order()
            .and_then(|o| parts.orders.iter().find(|x| &x.id == o));
        let mut items = vec![Item::Administration(rec.clone())];
        items.extend(entailed.cd_entry.map(Item::CdEntry));
        items.extend(entailed.incidents.into_iter().map(Item::Incident));
        self.store.append(&id, now, &items).map_err(storage)?;
        let message = match (rec.outcome, order) {
            (OutcomeCode::Given, Some(o)) => format!(
                "Recorded: {} {} given.",
                o.medicine.label(),
                rec.quantity
                    .map(|q| format!("{q} {}", o.unit))
                    .unwrap_or_default()
            ),
            (code, _) => format!("Recorded: {}.", code.code()),
        };
        Ok(Recorded {
            record: record_id.to_string(),
            message,
            acknowledged: rec.acknowledged,
        })
    }

    pub(crate) fn check_witness(
        &mut self,
        w: &WitnessPin,
        author: &Staff,
    ) -> Result<Staff, IpcError> {
        let staff = self
            .store
            .staff_member(&w.staff_id)
            .map_err(storage)?
            .ok_or_else(|| {
                IpcError::new(ErrorCode::NotFound, "Choose the witness from the list.")
            })?;
        if staff.id == author.id {
            return Err(IpcError::new(
                ErrorCode::NotAllowed,
                "The witness must be a different person.",
            ));
        }
        match self.store.check_pin(&staff.id, &w.pin).map_err(storage)? {
            PinCheck::Ok => Ok(staff),
            PinCheck::Wrong { attempts_left } => Err(IpcError::new(
                ErrorCode::WrongPin,
                format!("The witness's PIN is not right. {attempts_left} more tries before their account locks."),
            )),
            PinCheck::Locked => Err(IpcError::new(ErrorCode::AccountLocked, "The witness's account is locked. Ask a senior to reset it.")),
            PinCheck::NoPin => Err(IpcError::new(ErrorCode::NoPin, "The witness has no PIN on this tablet.")),
        }
    }

    /// S9: a correction voids an earlier record; the earlier record stays, struck through.
    pub fn correct(
        &mut self,
        resident: &str,
        record: &str,
        reason: &str,
        witness: Option<&WitnessPin>,
    ) -> Result<Recorded, IpcError> {
        let author = self.who()?;
        let now = self.clock.now();
        let id = ResidentId::new(resident);
        let mut parts = self.context_parts(&id, None)?;
        // The rules see recent history only; a correction of something older needs that record
        // and everything after it (which would include an earlier correction of it).
        if !parts.history.iter().any(|r| r.id.as_str() == record) {
            if let Some(Item::Administration(old)) = self.store.item(record).map_err(storage)? {
                if old.resident == id {
                    parts.history = self
                        .store
                        .administrations_for(&id, Some(old.occurred_at))
                        .map_err(storage)?;
                }
            }
        }
        let witness_staff = match witness {
            Some(w) => Some(self.check_witness(w, &author)?),
            None => None,
        };
        let rec = rules::correct(
            &parts.history,
            &parts.orders,
            &RecordId::new(record),
            reason,
            rules::Corrector {
                author: &author,
                witness: witness_staff.as_ref().map(|s| Witness {
                    staff: s,
                    authenticated: true,
                }),
            },
            now,
            self.new_record_id("adm"),
            self.store.device().clone(),
        )
        .map_err(|f| IpcError {
            code: ErrorCode::Blocked,
            message: f[0].message.clone(),
            findings: f,
        })?;
        let mut items = vec![Item::Administration(rec.clone())];
        if let Some(orig) = parts.history.iter().find(|r| r.id.as_str() == record) {
            let order = orig
                .subject
                .order()
                .and_then(|o| parts.orders.iter().find(|x| &x.id == o));
            let cd_balance = match order {
                Some(o) if o.cd.is_some() => Some(self.cd_balance(&o.id)?),
                _ => None,
            };
            let (stock, register) = medround_domain::entail::correction(
                order,
                orig,
                &rec,
                witness_staff.as_ref().map(|w| &w.id),
                cd_balance,
                &mut |p| record_id_at(p, now),
            );
            items.extend(stock.map(Item::StockMovement));
            items.extend(register.map(Item::CdEntry));
        }
        self.store.append(&id, now, &items).map_err(storage)?;
        Ok(Recorded {
            record: rec.id.to_string(),
            message: "Correction recorded. The earlier record stays, struck through.".into(),
            acknowledged: vec![],
        })
    }

    /// S13: the removal of a patch, before the next goes on.
    pub fn remove_patch(
        &mut self,
        resident: &str,
        order: &str,
        site: &str,
        witness: Option<&WitnessPin>,
    ) -> Result<Recorded, IpcError> {
        let author = self.who()?;
        if !author.may_administer() {
            return Err(IpcError::new(
                ErrorCode::NotAllowed,
                "Only medication-trained staff can record this.",
            ));
        }
        if site.trim().is_empty() {
            return Err(IpcError::new(
                ErrorCode::BadInput,
                "Say where the patch was removed from.",
            ));
        }
        let now = self.clock.now();
        let id = ResidentId::new(resident);
        let o = self.store.order(&OrderId::new(order)).map_err(storage)?;
        if o.resident != id || !matches!(o.application, Application::Patch { .. }) {
            return Err(IpcError::new(
                ErrorCode::BadInput,
                "That is not a patch on this resident's chart.",
            ));
        }
        // S7, S13: a controlled-drug patch is destroyed in front of a witness as it comes
        // off, and the register says so with both names.
        let witness = match (o.cd, witness) {
            (Some(_), Some(w)) => Some(self.check_witness(w, &author)?),
            (Some(_), None) => {
                return Err(IpcError {
                    code: ErrorCode::Blocked,
                    message: "A controlled-drug patch is destroyed in front of a witness: a \
                              second trained person enters their PIN."
                        .into(),
                    findings: rules::witness_finding(&author, None).into_iter().collect(),
                })
            }
            (None, _) => None,
        };
        if let Some(f) = witness.as_ref().and_then(|w| {
            rules::witness_finding(
                &author,
                Some(Witness {
                    staff: w,
                    authenticated: true,
                }),
            )
        }) {
            return Err(IpcError {
                code: ErrorCode::Blocked,
                message: f.message.clone(),
                findings: vec![f],
            });
        }
        let rec = PatchRemoval {
            id: self.new_record_id("rm"),
            resident: id.clone(),
            order: o.id.clone(),
            site: site.trim().into(),
            occurred_at: now,
            author: author.id,
            device: self.store.device().clone(),
        };
        let mut items = vec![Item::PatchRemoval(rec.clone())];
        if let Some(w) = &witness {
            let balance = self.cd_balance(&o.id)?;
            items.extend(
                medround_domain::entail::patch_removed(
                    &o,
                    &rec,
                    &w.id,
                    balance,
                    &mut |p| record_id_at(p, now),
                    self.store.device(),
                    now,
                )
                .map(Item::CdEntry),
            );
        }
        self.store.append(&id, now, &items).map_err(storage)?;
        Ok(Recorded {
            record: rec.id.to_string(),
            message: format!("Patch removal from {} recorded.", rec.site),
            acknowledged: vec![],
        })
    }

    /// "Was it effective?" for a PRN dose.
    pub fn follow_up(
        &mut self,
        resident: &str,
        administration: &str,
        effective: bool,
        note: Option<String>,
    ) -> Result<Recorded, IpcError> {
        let author = self.who()?;
        let now = self.clock.now();
        let id = ResidentId::new(resident);
        let parts = self.context_parts(&id, None)?;
        if !parts.history.iter().any(|r| {
            r.id.as_str() == administration
                && matches!(r.subject, Subject::Prn { .. } | Subject::Homely { .. })
        }) {
            return Err(IpcError::new(
                ErrorCode::NotFound,
                "That when-required dose was not found.",
            ));
        }
        let rec = PrnFollowUp {
            id: self.new_record_id("fu"),
            administration: RecordId::new(administration),
            effective,
            note: note.filter(|n| !n.trim().is_empty()),
            occurred_at: now,
            author: author.id,
            device: self.store.device().clone(),
        };
        self.store
            .append(&id, now, &[Item::PrnFollowUp(rec.clone())])
            .map_err(storage)?;
        Ok(Recorded {
            record: rec.id.to_string(),
            message: "Follow-up recorded.".into(),
            acknowledged: vec![],
        })
    }

    /// S15: a senior confirms the medicines after a return; doses unlock.
    pub fn reconcile(&mut self, resident: &str) -> Result<(), IpcError> {
        let author = self.who()?;
        let now = self.clock.now();
        let mut r = self
            .store
            .resident(&ResidentId::new(resident))
            .map_err(storage)?;
        rules::reconcile(&r, &author).map_err(|f| IpcError {
            code: ErrorCode::NotAllowed,
            message: f.message.clone(),
            findings: vec![f],
        })?;
        r.reconciliation_pending = false;
        let event = self.resident_event(&r.id, ResidentChange::Reconciled, &author);
        self.store
            .put_resident_recording(&r, &event, now)
            .map_err(storage)
    }

    /// The record of a change to a resident's place in the home or details, by `author`, now
    /// on this tablet.
    pub(crate) fn resident_event(
        &self,
        resident: &ResidentId,
        change: ResidentChange,
        author: &Staff,
    ) -> ResidentEvent {
        ResidentEvent {
            id: self.new_record_id("rev"),
            resident: resident.clone(),
            change,
            at: self.clock.now(),
            author: author.id.clone(),
            device: self.store.device().clone(),
        }
    }

    /// S15: a senior records that a resident has gone to hospital or on leave (from now), or
    /// is back, when their doses lock until a senior reconciles the medicines.
    pub fn set_presence(
        &mut self,
        resident: &str,
        change: rules::PresenceChange,
    ) -> Result<medround_ipc::Done, IpcError> {
        let author = self.who()?;
        let now = self.clock.now();
        let r = self
            .store
            .resident(&ResidentId::new(resident))
            .map_err(storage)?;
        let changed = rules::change_presence(&r, &author, change, now).map_err(staff::refused)?;
        // The record keeps the away period once it has ended, so that slots in it close as
        // HOSPITAL or LEAVE even if no tablet closed them while the resident was away.
        let record = match change {
            rules::PresenceChange::Back => ResidentChange::Back {
                was: r.presence.clone(),
            },
            _ => ResidentChange::Away {
                presence: changed.presence.clone(),
            },
        };
        let event = self.resident_event(&r.id, record, &author);
        self.store
            .put_resident_recording(&changed, &event, now)
            .map_err(storage)?;
        let name = changed.full_name();
        let message = match change {
            rules::PresenceChange::ToHospital => format!(
                "{name} is recorded as in hospital from {}. Their doses resolve as HOSPITAL until they are back.",
                views::local(now, "%H:%M")
            ),
            rules::PresenceChange::OnLeave => format!(
                "{name} is recorded as on leave from {}. Their doses resolve as LEAVE until they are back.",
                views::local(now, "%H:%M")
            ),
            rules::PresenceChange::Back if r.has_left() => format!(
                "{name} is readmitted. Their doses stay locked until a senior has checked the medicines they came with."
            ),
            rules::PresenceChange::Back => format!(
                "{name} is back. Their doses stay locked until a senior has checked the medicines that came back with them."
            ),
            rules::PresenceChange::Discharged | rules::PresenceChange::Died => format!(
                "{name} has left the home: their doses stop and they leave the round. Their records are kept, and stay in the review and the audit trail."
            ),
        };
        Ok(medround_ipc::Done::said(message))
    }

    /// S16: a senior checks in a pending order (from the pharmacy, or typed in by hand, which
    /// also needs a second trained person's PIN). From then on it can be given.
    /// Another active order with the same ingredient (duplicate therapy) is refused with a
    /// warning until `check.acknowledged` holds it; `check.both_intended`, the prescriber's
    /// note that both are meant, goes on the order.
    pub fn check_in_order(
        &mut self,
        resident: &str,
        order: &str,
        second: Option<&WitnessPin>,
        check: &CheckInAnswers,
    ) -> Result<(), IpcError> {
        let author = self.who()?;
        let now = self.clock.now();
        let orders = self
            .store
            .orders_for(&ResidentId::new(resident))
            .map_err(storage)?;
        let mut o = orders
            .iter()
            .find(|o| o.id.as_str() == order)
            .cloned()
            .ok_or_else(|| {
                IpcError::new(ErrorCode::NotFound, "That order is not on this chart.")
            })?;
        let second = match second {
            Some(w) => Some(self.check_witness(w, &author)?),
            None => None,
        };
        let note = check
            .both_intended
            .as_deref()
            .map(medround_domain::text::tidy)
            .filter(|n| !n.is_empty());
        let mut acknowledged = check.acknowledged.clone();
        if note.is_some() {
            acknowledged.push(FindingCode::DuplicateTherapy);
        }
        let today = now.with_timezone(&HOME_TZ).date_naive();
        let resident = self
            .store
            .resident(&ResidentId::new(resident))
            .map_err(storage)?;
        let by = rules::check_in(
            &o,
            &author,
            second.as_ref(),
            &resident,
            &orders,
            today,
            &acknowledged,
        )
        .map_err(|f| IpcError {
            code: ErrorCode::Blocked,
            message: f
                .iter()
                .map(|f| f.message.as_str())
                .collect::<Vec<_>>()
                .join(" "),
            findings: f,
        })?;
        o.status = medround_domain::order::OrderStatus::Active;
        o.checked_in_by = by;
        o.both_intended = note;
        // A changed dose takes over from the order it replaces, in the same write.
        if let Some(old) = o
            .replaces
            .as_ref()
            .and_then(|r| orders.iter().find(|x| &x.id == r))
        {
            let facts = self
                .store
                .slot_facts(std::slice::from_ref(&old.id), PER_ORDER_RECORDS)
                .map_err(storage)?;
            let answered = medround_domain::fact::standing_facts(&facts).filter_map(|f| f.slot);
            let (new, old) = medround_domain::order::take_over(&o, old, answered, now);
            return self.store.put_orders(&[new, old], now).map_err(storage);
        }
        self.store.put_order(&o, now).map_err(storage)
    }

    /// S8/S15: writes MISSED (or HOSPITAL/LEAVE) for every slot whose window has closed with no
    /// outcome, with what follows from it (a missed time-critical dose, a third omission in a
    /// row: `mar::close` decides). The shell calls this on start and every minute. It catches
    /// up from where the last closing on this tablet reached, however long ago: a tablet
    /// switched off from Monday to Thursday closes Monday's slots when it starts.
    pub fn close_windows(&mut self) -> Result<usize, IpcError> {
        let now = self.clock.now();
        let orders_all = self.store.all_orders().map_err(storage)?;
        let since = self.closing_since(&orders_all, now)?;
        let residents = self.store.residents().map_err(storage)?;
        // Admissions and returns since then: what a slot was, once its resident is back or
        // newly admitted (S8, S15).
        let events: Vec<ResidentEvent> = self
            .store
            .items_of_kind_since("resident_event", since)
            .map_err(storage)?
            .into_iter()
            .filter_map(|i| match i {
                Item::ResidentEvent(e) => Some(e),
                _ => None,
            })
            .collect();
        let mut written = 0;
        for r in residents {
            let orders: Vec<Order> = orders_all
                .iter()
                .filter(|o| o.resident == r.id)
                .cloned()
                .collect();
            let history = self
                .store
                .administrations_for(&r.id, Some(since - Duration::days(1)))
                .map_err(storage)?;
            // A resident's own orders may start later than the home's first.
            let floor = medround_domain::mar::closing_from(None, &orders, now, HOME_TZ).max(since);
            let close = |recent: &[DoseFact]| {
                medround_domain::mar::close(
                    &r,
                    &orders,
                    &history,
                    recent,
                    &events,
                    floor,
                    now,
                    HOME_TZ,
                    self.store.device(),
                )
            };
            let closed = close(&[]);
            if closed.records.is_empty() {
                continue;
            }
            // Slots before `since` matter only to an omission run (S11): the last few of each
            // order that closed, as facts, whatever their age. Read only when something closed,
            // which is rare: most minutes close nothing.
            let mut ids: Vec<OrderId> = closed
                .records
                .iter()
                .filter_map(|r| r.subject.order().cloned())
                .collect();
            ids.sort();
            ids.dedup();
            let recent = self
                .store
                .slot_facts(&ids, PER_ORDER_RECORDS)
                .map_err(storage)?;
            let closed = close(&recent);
            written += closed.records.len();
            let mut items: Vec<Item> = closed
                .records
                .into_iter()
                .map(Item::Administration)
                .collect();
            items.extend(closed.incidents.into_iter().map(Item::Incident));
            self.store.append(&r.id, now, &items).map_err(storage)?;
        }
        // The mark is set only once every resident's closures are written: a pass cut short
        // starts again from the same place.
        self.store
            .set_meta(CLOSED_TO, &now.to_rfc3339())
            .map_err(storage)?;
        // Housekeeping on the same minute timer, off the dose path: documents that have
        // gathered many chunks are saved whole, and today's cycle documents are loaded (at
        // start, and when a new cycle begins), so no bedside tap waits for either.
        self.store.compact_pending().map_err(storage)?;
        self.store.warm(now).map_err(storage)?;
        Ok(written)
    }
}

impl Bedside {
    fn closing_since(
        &self,
        orders: &[Order],
        now: DateTime<Utc>,
    ) -> Result<DateTime<Utc>, IpcError> {
        let mark = self
            .store
            .meta(CLOSED_TO)
            .map_err(storage)?
            .and_then(|v| DateTime::parse_from_rfc3339(&v).ok())
            .map(|t| t.with_timezone(&Utc));
        Ok(medround_domain::mar::closing_from(
            mark, orders, now, HOME_TZ,
        ))
    }
}

struct ContextParts {
    resident: medround_domain::resident::Resident,
    orders: Vec<Order>,
    remedies: Vec<medround_domain::homely::HomelyRemedy>,
    limits: Vec<medround_domain::medicine::IngredientLimit>,
    history: Vec<Administration>,
    slot_history: Vec<DoseFact>,
    removals: Vec<PatchRemoval>,
}

impl ContextParts {
    fn ctx<'a>(
        &'a self,
        now: DateTime<Utc>,
        author: &'a Staff,
        witness: Option<Witness<'a>>,
        cd_balance: Option<Qty>,
    ) -> DoseContext<'a> {
        DoseContext {
            now,
            tz: HOME_TZ,
            resident: &self.resident,
            orders: &self.orders,
            remedies: &self.remedies,
            limits: &self.limits,
            history: &self.history,
            slot_history: &self.slot_history,
            patch_removals: &self.removals,
            author,
            witness,
            cd_balance,
        }
    }
}

/// Scans are parsed here too so the shell can log them; kept public for tests.
pub fn parse(raw: &str) -> Result<Scan, IpcError> {
    parse_scan(raw).map_err(|e| IpcError::new(ErrorCode::BadBarcode, e.to_string()))
}
