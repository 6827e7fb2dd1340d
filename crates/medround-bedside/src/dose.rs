//! Assessing and recording a dose, with what the domain says it entails, correcting a record
//! (S9), taking a patch off (S13) and answering a when-required dose's follow-up. The context
//! the rules read is gathered here, each part a bounded index range.

use chrono::{DateTime, Duration, Utc};
use medround_domain::fact::DoseFact;
use medround_domain::finding::{Assessment, FindingCode};
use medround_domain::order::{Application, Order};
use medround_domain::outcome::OutcomeCode;
use medround_domain::qty::Qty;
use medround_domain::record::{Administration, PatchRemoval, PrnFollowUp, Subject};
use medround_domain::rules::{self, DoseAttempt, DoseContext, Witness};
use medround_domain::schedule::HOME_TZ;
use medround_domain::staff::Staff;
use medround_domain::{OrderId, RecordId, ResidentId};
use medround_ipc::*;
use medround_store::Item;

use crate::{record_id_at, storage, Bedside, HOMELY_DAYS, PER_ORDER_RECORDS, RECENT_HOURS};

impl Bedside {
    /// What the rules read about a resident. `attempt` names the dose being assessed: its
    /// order's older slots (S8, S11) and a patch's last removals (S13) are read for that order
    /// only, since no rule looks at another order's slots.
    pub(crate) fn context_parts(
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

    pub(crate) fn cd_balance(&self, order: &OrderId) -> Result<Qty, IpcError> {
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

    pub(crate) fn cd_balance_for(
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
}

pub(crate) struct ContextParts {
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
