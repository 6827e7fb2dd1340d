//! Admitting a resident and changing their details (S1, S6): a senior types them in on the
//! tablet, the domain checks them, and the resident's document carries them to the home's
//! other tablets and the central record, where the pharmacy's orders for them can then land.
//! Until they do, a senior writes up an order by hand from the letter that came with the
//! resident, and it waits for a second person's check (S16).

use crate::{storage, Bedside};
use medround_domain::admission::{avatar, check_resident_details, ResidentDetails};
use medround_domain::finding::{Finding, FindingCode, Severity};
use medround_domain::order_entry::{check_order_draft, OrderDraft};
use medround_domain::record::ResidentChange;
use medround_domain::resident::Resident;
use medround_domain::schedule::HOME_TZ;
use medround_domain::OrderId;
use medround_domain::{ResidentId, UnitId};
use medround_ipc::{Done, ErrorCode, IpcError, ResidentForm, ResidentSaved, UnitChoice};

/// Findings that stop a save, as the form shows them: every one, and a message that counts
/// them.
fn refused(findings: Vec<Finding>) -> IpcError {
    let code = if findings
        .iter()
        .any(|f| f.code == FindingCode::RoleNotAllowed)
    {
        ErrorCode::NotAllowed
    } else {
        ErrorCode::Blocked
    };
    let message = if findings.len() == 1 {
        findings[0].message.clone()
    } else {
        format!("{} things to put right before saving.", findings.len())
    };
    IpcError {
        code,
        message,
        findings,
    }
}

/// The details that differ between two versions of a resident, by the names the chart gives
/// them, for the audit trail.
fn changed_fields(before: &Resident, after: &Resident) -> Vec<String> {
    let mut out = Vec::new();
    let mut differs = |name: &str, changed: bool| {
        if changed {
            out.push(name.to_string());
        }
    };
    differs(
        "name",
        before.given_name != after.given_name || before.family_name != after.family_name,
    );
    differs("known as", before.preferred_name != after.preferred_name);
    differs("date of birth", before.date_of_birth != after.date_of_birth);
    differs("NHS number", before.nhs_number != after.nhs_number);
    differs("unit", before.unit != after.unit);
    differs("room", before.room != after.room);
    differs("allergies", before.allergies != after.allergies);
    out
}

impl Bedside {
    /// The resident named, if one is: none for an admission.
    fn resident_if(&self, resident: Option<&str>) -> Result<Option<Resident>, IpcError> {
        resident
            .map(|id| self.store().resident(&ResidentId::new(id)).map_err(storage))
            .transpose()
    }

    pub(crate) fn unit_name(&self, unit: &UnitId) -> Result<String, IpcError> {
        Ok(self
            .unit_names()?
            .remove(unit.as_str())
            .unwrap_or_else(|| unit.to_string()))
    }

    /// The admission form (no `resident`) or the form that changes a resident's details.
    pub fn resident_form(&mut self, resident: Option<&str>) -> Result<ResidentForm, IpcError> {
        let me = self.who()?;
        if !me.role.is_senior() {
            return Err(IpcError::new(
                ErrorCode::NotAllowed,
                "Only a senior carer or manager can admit a resident or change their details.",
            ));
        }
        let current = self.resident_if(resident)?;
        let units = self
            .store()
            .units()
            .map_err(storage)?
            .into_iter()
            .map(|u| UnitChoice {
                id: u.id.to_string(),
                name: u.name,
            })
            .collect();
        Ok(ResidentForm {
            resident: current.as_ref().map(|r| r.id.to_string()),
            name: current.as_ref().map(|r| r.full_name()),
            details: current.as_ref().map(ResidentDetails::of),
            units,
        })
    }

    /// Admits a resident (no `resident`) or changes one's details. Every finding comes back at
    /// once and nothing is written unless there are none.
    pub fn save_resident(
        &mut self,
        resident: Option<&str>,
        details: &ResidentDetails,
    ) -> Result<ResidentSaved, IpcError> {
        let me = self.who()?;
        let now = self.now();
        let before = self.resident_if(resident)?;
        let id = match &before {
            Some(b) => b.id.clone(),
            None => ResidentId::new(self.new_record_id("res").as_str()),
        };
        let others = self.store().residents().map_err(storage)?;
        let units = self.store().units().map_err(storage)?;
        let unit_ids: Vec<UnitId> = units.iter().map(|u| u.id.clone()).collect();
        let today = now.with_timezone(&HOME_TZ).date_naive();
        let findings = check_resident_details(&me, &id, details, &others, &unit_ids, today);
        if !findings.is_empty() {
            return Err(refused(findings));
        }
        let d = details.tidied();
        let seed = id
            .as_str()
            .bytes()
            .fold(0u64, |h, b| h.wrapping_mul(31) ^ u64::from(b));
        let after = d.apply(
            &id,
            before.as_ref(),
            avatar(&d.given_name, &d.family_name, seed),
        );
        let change = match &before {
            None => ResidentChange::Admitted,
            Some(b) => {
                let fields = changed_fields(b, &after);
                if fields.is_empty() {
                    return Ok(ResidentSaved {
                        resident: id.to_string(),
                        message: "Nothing was changed.".into(),
                    });
                }
                ResidentChange::DetailsChanged { fields }
            }
        };
        let event = self.resident_event(&id, change, &me);
        self.store_mut()
            .put_resident_recording(&after, &event, now)
            .map_err(storage)?;
        // The check above made sure the unit is one of these.
        let unit = units
            .iter()
            .find(|u| u.id == after.unit)
            .map_or(after.unit.as_str(), |u| u.name.as_str());
        let message = match &before {
            None => format!(
                "{} admitted to {unit}, room {}. Their medicines arrive from the pharmacy and \
                 wait for a senior to check them in.",
                after.full_name(),
                after.room
            ),
            Some(b) if b.unit != after.unit || b.room != after.room => format!(
                "{} is now in {unit}, room {}. Their records go with them.",
                after.full_name(),
                after.room
            ),
            Some(_) => format!("Details saved for {}.", after.full_name()),
        };
        Ok(ResidentSaved {
            resident: id.to_string(),
            message,
        })
    }

    /// S16: a senior writes up an order by hand for a resident, from a discharge letter or a
    /// GP's instruction. It is kept as pending and cannot be given until a senior and a second
    /// trained person have checked it against the letter. A medicine the resident is allergic
    /// to is said in the message; each dose of it is then blocked unless overridden (S6).
    pub fn enter_order(&mut self, resident: &str, draft: &OrderDraft) -> Result<Done, IpcError> {
        let me = self.who()?;
        let now = self.now();
        let r = self
            .store()
            .resident(&ResidentId::new(resident))
            .map_err(storage)?;
        let today = now.with_timezone(&HOME_TZ).date_naive();
        let limits = self.store().limits().map_err(storage)?;
        let findings = check_order_draft(&me, &r, draft, &limits, today);
        let (blocks, warnings): (Vec<Finding>, Vec<Finding>) = findings
            .into_iter()
            .partition(|f| f.severity == Severity::Block);
        if !blocks.is_empty() {
            return Err(refused(blocks));
        }
        let order = draft.order(
            &OrderId::new(self.new_record_id("ord").as_str()),
            &r.id,
            today,
        );
        self.store_mut().put_order(&order, now).map_err(storage)?;
        let mut message = format!(
            "{} written up for {}. It can be given once a senior and a second trained person \
             have checked it against the letter (Check in).",
            order.medicine.label(),
            r.full_name()
        );
        for w in &warnings {
            message.push(' ');
            message.push_str(&w.message);
        }
        Ok(Done { message, warnings })
    }
}
