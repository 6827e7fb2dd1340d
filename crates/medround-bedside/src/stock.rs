//! Stock (S14) and the controlled-drugs register (S7): levels with days remaining, the reorder
//! list for the next cycle, deliveries booked in, register stock checks.

use crate::review::{may_review, Names};
use crate::views::local;
use crate::{storage, Bedside};
use chrono::{DateTime, Duration, Utc};
use medround_domain::cd::{count_discrepancy, CdEntry, CdMovement};
use medround_domain::incident::{Incident, IncidentKind};
use medround_domain::order::{Order, OrderStatus};
use medround_domain::qty::Qty;
use medround_domain::resident::Resident;
use medround_domain::schedule::HOME_TZ;
use medround_domain::staff::Staff;
use medround_domain::stock::{self, StockAlert, StockMovement, StockReason};
use medround_domain::OrderId;
use medround_ipc::*;
use medround_print::CYCLE_DAYS;
use medround_store::{cycle_start, Item};
use std::collections::HashMap;

fn may_handle_stock(s: &Staff) -> Result<(), IpcError> {
    if s.may_administer() && s.role.is_senior() {
        Ok(())
    } else {
        Err(IpcError::new(
            ErrorCode::NotAllowed,
            "Only a senior carer or manager books in stock and checks the register.",
        ))
    }
}

impl Bedside {
    pub fn stock(&mut self) -> Result<StockView, IpcError> {
        let me = self.who()?;
        may_review(&me)?;
        self.stock_view(&me)
    }

    /// The stock screen's data without a session check.
    pub fn stock_view(&self, viewer: &Staff) -> Result<StockView, IpcError> {
        let now = self.now();
        let today = now.with_timezone(&HOME_TZ).date_naive();
        let next = cycle_start(today) + Duration::days(CYCLE_DAYS);
        let store = self.store();
        let residents = store.residents().map_err(storage)?;
        let orders = store.all_orders().map_err(storage)?;
        let staff = store.staff().map_err(storage)?;
        let names = Names::new(&residents, &orders, &staff);
        let levels = store.stock_levels().map_err(storage)?;
        // S14: NO_STOCK at a dose, while its reorder task is open, whatever the level says:
        // the count in the system is not what is in the cupboard.
        let mut none_in_home: HashMap<OrderId, String> = HashMap::new();
        for (incident, acks) in store.incidents(now).map_err(storage)? {
            if incident.kind != IncidentKind::NoStock || !acks.is_empty() {
                continue;
            }
            for id in &incident.records {
                if let Some(Item::Administration(a)) = store.item(id.as_str()).map_err(storage)? {
                    if let Some(o) = a.subject.order() {
                        none_in_home.insert(
                            o.clone(),
                            format!(
                                "None in the home at {} ({}): reorder",
                                a.occurred_at.with_timezone(&HOME_TZ).format("%H:%M %-d %b"),
                                names.staff(a.author.as_str())
                            ),
                        );
                    }
                }
            }
        }
        let mut rows = Vec::new();
        let (mut low, mut negative, mut ending) = (0, 0, 0);
        let mut none = 0;
        for o in orders
            .iter()
            .filter(|o| o.status == OrderStatus::Active && !o.is_ended(today))
        {
            let level = levels.get(&o.id).copied().unwrap_or(Qty::ZERO);
            let alerts: Vec<String> = stock::alerts(o, level, today)
                .into_iter()
                .map(|a| match a {
                    StockAlert::Negative { level } => {
                        negative += 1;
                        format!("Negative stock ({level} {}): count it", o.unit)
                    }
                    StockAlert::Low { days_left, .. } => {
                        low += 1;
                        format!(
                            "{days_left} day{} left",
                            if days_left == 1 { "" } else { "s" }
                        )
                    }
                    StockAlert::CourseEnding { on } => {
                        ending += 1;
                        format!("Course ends {}", on.format("%-d %b"))
                    }
                })
                .collect();
            let mut alerts = alerts;
            if let Some(a) = none_in_home.get(&o.id) {
                none += 1;
                alerts.insert(0, a.clone());
            }
            rows.push(StockRow {
                order: o.id.to_string(),
                resident: o.resident.to_string(),
                resident_name: names.resident(o.resident.as_str()),
                medicine: o.medicine.label(),
                unit: o.unit.clone(),
                level,
                per_day: stock::daily_use(o),
                days_left: stock::days_left(o, level),
                alerts,
                reorder: stock::reorder_quantity(o, level, today, next, CYCLE_DAYS),
                cd: o.cd.is_some(),
                cd_balance: match o.cd {
                    Some(_) => Some(store.cd_balance(&o.id).map_err(storage)?),
                    None => None,
                },
            });
        }
        // What needs attention first: negative, then fewest days left.
        rows.sort_by_key(|r| {
            (
                r.alerts.is_empty(),
                r.days_left.unwrap_or(i64::MAX),
                r.resident_name.clone(),
            )
        });
        Ok(StockView {
            rows,
            next_cycle: format!(
                "{} to {}",
                next.format("%-d %b %Y"),
                (next + Duration::days(CYCLE_DAYS - 1)).format("%-d %b %Y")
            ),
            low,
            negative,
            ending,
            none_in_home: none,
            may_act: viewer.role.is_senior(),
        })
    }

    /// The reorder list for the next cycle as CSV for the pharmacy, and a file name for it.
    pub fn reorder_csv(&mut self) -> Result<(String, String), IpcError> {
        let me = self.who()?;
        may_review(&me)?;
        let v = self.stock_view(&me)?;
        let store = self.store();
        let mut out = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .from_writer(Vec::new());
        let header = [
            "resident",
            "nhs_number",
            "room",
            "medicine",
            "dmd_code",
            "unit",
            "in_stock",
            "per_day",
            "quantity_to_order",
        ];
        out.write_record(header).map_err(export_failed)?;
        let residents: HashMap<String, Resident> = store
            .residents()
            .map_err(storage)?
            .into_iter()
            .map(|r| (r.id.to_string(), r))
            .collect();
        let dmd: HashMap<String, Option<String>> = store
            .all_orders()
            .map_err(storage)?
            .into_iter()
            .map(|o| (o.id.to_string(), o.medicine.dmd))
            .collect();
        for r in v.rows.iter().filter(|r| r.reorder.is_positive()) {
            let res = residents.get(&r.resident);
            let fields = [
                r.resident_name.clone(),
                res.map(|x| x.nhs_number.clone()).unwrap_or_default(),
                res.map(|x| x.room.clone()).unwrap_or_default(),
                r.medicine.clone(),
                dmd.get(&r.order).cloned().flatten().unwrap_or_default(),
                r.unit.clone(),
                r.level.to_string(),
                r.per_day.to_string(),
                r.reorder.to_string(),
            ];
            out.write_record(fields.iter().map(|f| defused(f).into_owned()))
                .map_err(export_failed)?;
        }
        let bytes = out
            .into_inner()
            .map_err(|e| export_failed(e.into_error()))?;
        let csv = String::from_utf8(bytes).map_err(|_| {
            IpcError::new(
                ErrorCode::Internal,
                "The reorder list could not be written as text. Nothing was saved.",
            )
        })?;
        let today = self.now().with_timezone(&HOME_TZ).date_naive();
        Ok((format!("reorder-{today}.csv"), csv))
    }

    /// S14: a delivery booked in adds to stock; a controlled drug also enters the register
    /// with a witness (S7). A count taken after putting it away corrects the level.
    pub fn book_delivery(
        &mut self,
        order: &str,
        quantity: Qty,
        counted: Option<Qty>,
        supplier: &str,
        witness: Option<&WitnessPin>,
    ) -> Result<Recorded, IpcError> {
        let me = self.who()?;
        may_handle_stock(&me)?;
        if !quantity.is_positive() {
            return Err(IpcError::new(
                ErrorCode::BadInput,
                "Enter how many arrived (more than nothing).",
            ));
        }
        if counted.is_some_and(|c| c.is_negative()) {
            return Err(IpcError::new(
                ErrorCode::BadInput,
                "A count cannot be below zero.",
            ));
        }
        let now = self.now();
        let o = self.order_here(order)?;
        let level = self
            .store()
            .stock_levels()
            .map_err(storage)?
            .get(&o.id)
            .copied()
            .unwrap_or(Qty::ZERO);
        let mut items = vec![Item::StockMovement(StockMovement {
            id: self.new_record_id("stk"),
            order: o.id.clone(),
            delta: quantity,
            reason: StockReason::Received,
            at: now,
            by: me.id.clone(),
            device: self.store().device().clone(),
        })];
        if let Some(c) = counted {
            let off = c - (level + quantity);
            if off != Qty::ZERO {
                items.push(Item::StockMovement(StockMovement {
                    id: self.new_record_id("stk"),
                    order: o.id.clone(),
                    delta: off,
                    reason: StockReason::CountAdjustment,
                    at: now,
                    by: me.id.clone(),
                    device: self.store().device().clone(),
                }));
            }
        }
        if o.cd.is_some() {
            let Some(w) = witness else {
                return Err(IpcError::new(
                    ErrorCode::Blocked,
                    "A controlled drug is booked in with a witness: the second person enters their PIN.",
                ));
            };
            let w = self.check_witness(w, &me)?;
            let balance = self.store().cd_balance(&o.id).map_err(storage)?;
            let supplier = if supplier.trim().is_empty() {
                "Pharmacy"
            } else {
                supplier.trim()
            };
            items.push(Item::CdEntry(CdEntry {
                id: self.new_record_id("cd"),
                resident: o.resident.clone(),
                order: o.id.clone(),
                drug: o.medicine.label(),
                movement: CdMovement::Received {
                    qty: quantity,
                    from: supplier.to_string(),
                },
                balance_after: balance + quantity,
                at: now,
                by: me.id.clone(),
                witness: w.id,
                device: self.store().device().clone(),
            }));
        }
        let resident = o.resident.clone();
        self.store_mut()
            .append(&resident, now, &items)
            .map_err(storage)?;
        Ok(Recorded {
            record: items[0].id().to_string(),
            message: format!("Booked in {quantity} {} of {}.", o.unit, o.medicine.label()),
            acknowledged: vec![],
        })
    }

    /// S7: a stock check of a controlled drug, counted with a witness. The count is a register
    /// entry; a count that disagrees with the balance also opens an incident.
    pub fn cd_stock_check(
        &mut self,
        order: &str,
        counted: Qty,
        witness: &WitnessPin,
    ) -> Result<Recorded, IpcError> {
        let me = self.who()?;
        may_handle_stock(&me)?;
        if counted.is_negative() {
            return Err(IpcError::new(
                ErrorCode::BadInput,
                "A count cannot be below zero.",
            ));
        }
        let o = self.order_here(order)?;
        if o.cd.is_none() {
            return Err(IpcError::new(
                ErrorCode::BadInput,
                "That medicine is not a controlled drug.",
            ));
        }
        let w = self.check_witness(witness, &me)?;
        let now = self.now();
        let balance = self.store().cd_balance(&o.id).map_err(storage)?;
        let entry = CdEntry {
            id: self.new_record_id("cd"),
            resident: o.resident.clone(),
            order: o.id.clone(),
            drug: o.medicine.label(),
            movement: CdMovement::Count { counted },
            balance_after: balance,
            at: now,
            by: me.id.clone(),
            witness: w.id,
            device: self.store().device().clone(),
        };
        let mut items = vec![Item::CdEntry(entry.clone())];
        let finding = count_discrepancy(balance, counted, &o.unit);
        if let Some(f) = &finding {
            items.push(Item::Incident(Incident {
                id: self.new_record_id("inc"),
                resident: o.resident.clone(),
                kind: IncidentKind::CdCountDiscrepancy,
                records: vec![entry.id.clone()],
                message: format!("{}: {}", o.medicine.label(), f.message),
                raised_at: now,
                device: self.store().device().clone(),
            }));
        }
        self.store_mut()
            .append(&o.resident, now, &items)
            .map_err(storage)?;
        Ok(Recorded {
            record: entry.id.to_string(),
            message: match finding {
                None => format!("Count agrees with the register: {counted} {}.", o.unit),
                Some(f) => format!("{} An incident is open for the manager.", f.message),
            },
            acknowledged: vec![],
        })
    }

    /// The register of one controlled drug for its resident, with the running balance.
    pub fn cd_register(&mut self, order: &str) -> Result<CdRegisterView, IpcError> {
        let me = self.who()?;
        may_review(&me)?;
        let o = self.order_here(order)?;
        if o.cd.is_none() {
            return Err(IpcError::new(
                ErrorCode::BadInput,
                "That medicine is not a controlled drug.",
            ));
        }
        let store = self.store();
        let r = store.resident(&o.resident).map_err(storage)?;
        let staff = store.staff().map_err(storage)?;
        let orders = [o.clone()];
        let names = Names::new(std::slice::from_ref(&r), &orders, &staff);
        let mut entries: Vec<CdEntry> = store
            .items_for_order(&o.id, "cd_entry")
            .map_err(storage)?
            .into_iter()
            .filter_map(|i| match i {
                Item::CdEntry(e) => Some(e),
                _ => None,
            })
            .collect();
        entries.sort_by(|a, b| (a.at, &a.id).cmp(&(b.at, &b.id)));
        // The balance is recomputed in time order: entries from two tablets merge by time.
        let mut balance = Qty::ZERO;
        let rows = entries
            .iter()
            .map(|e| {
                balance += e.movement.delta();
                CdRegisterRow {
                    at: local(e.at, "%a %-d %b %Y %H:%M"),
                    movement: movement_text(&e.movement, &o.unit),
                    balance,
                    by: names.staff(e.by.as_str()),
                    witness: names.staff(e.witness.as_str()),
                    device: e.device.to_string(),
                }
            })
            .collect();
        Ok(CdRegisterView {
            order: o.id.to_string(),
            resident_name: r.full_name(),
            drug: o.medicine.label(),
            unit: o.unit.clone(),
            balance,
            rows,
        })
    }

    fn order_here(&self, order: &str) -> Result<Order, IpcError> {
        self.store()
            .order(&OrderId::new(order))
            .map_err(|_| IpcError::new(ErrorCode::NotFound, "That order was not found."))
    }

    /// When-required doses of the last day still waiting for their follow-up.
    pub(crate) fn follow_ups_due(
        &self,
        names: &Names<'_>,
        orders: &[Order],
    ) -> Result<Vec<FollowUpDueRow>, IpcError> {
        let now = self.now();
        let since: DateTime<Utc> = now - Duration::hours(medround_domain::record::FOLLOW_UP_HOURS);
        let store = self.store();
        let given = store.when_required_since(since).map_err(storage)?;
        let answered_items = store
            .items_of_kind_since("prn_follow_up", since)
            .map_err(storage)?;
        let answered = answered_items
            .iter()
            .filter_map(|i| match i {
                Item::PrnFollowUp(f) => Some(&f.administration),
                _ => None,
            })
            .collect();
        let remedies = store.remedies().map_err(storage)?;
        Ok(
            medround_domain::record::follow_ups_outstanding(&given, &answered, orders, now)
                .into_iter()
                .map(|f| FollowUpDueRow {
                    resident: f.resident.to_string(),
                    resident_name: names.resident(f.resident.as_str()),
                    administration: f.administration.to_string(),
                    medicine: match &f.subject {
                        medround_domain::record::Subject::Homely { remedy } => remedies
                            .iter()
                            .find(|r| &r.id == remedy)
                            .map(|r| r.medicine.label())
                            .unwrap_or_else(|| remedy.to_string()),
                        s => s
                            .order()
                            .map(|o| names.medicine(o.as_str()))
                            .unwrap_or_default(),
                    },
                    given_at: local(f.given_at, "%a %-d %b %H:%M"),
                    due: now >= f.due_at,
                })
                .collect(),
        )
    }
}

fn movement_text(m: &CdMovement, unit: &str) -> String {
    match m {
        CdMovement::Received { qty, from } => format!("Received {qty} {unit} from {from}"),
        CdMovement::Administered { qty, .. } => format!("Administered {qty} {unit}"),
        CdMovement::Destroyed { qty } => format!("Destroyed {qty} {unit}"),
        CdMovement::Returned { qty } => format!("Returned {qty} {unit}"),
        CdMovement::Count { counted } => format!("Stock check: counted {counted} {unit}"),
        CdMovement::Voided { qty, .. } => {
            format!("Back on the balance: {qty} {unit} of a dose recorded in error")
        }
        CdMovement::PatchRemovedAndDestroyed { site, .. } => {
            format!("Patch removed from {site} and destroyed")
        }
    }
}

/// A field a spreadsheet would run as a formula (it starts with `=`, `+`, `-`, `@`, a tab or a
/// carriage return, and is not a number) gets an apostrophe first, so the pharmacy's
/// spreadsheet shows it as text. Quoting is the csv writer's.
fn defused(s: &str) -> std::borrow::Cow<'_, str> {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) && s.parse::<f64>().is_err() {
        format!("'{s}").into()
    } else {
        s.into()
    }
}

fn export_failed(e: impl std::fmt::Display) -> IpcError {
    IpcError::new(
        ErrorCode::Internal,
        format!("The reorder list could not be written ({e}). Nothing was saved."),
    )
}

#[cfg(test)]
mod tests {
    use super::defused;

    fn line(fields: &[&str]) -> String {
        let mut w = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .from_writer(Vec::new());
        w.write_record(fields.iter().map(|f| defused(f).into_owned()))
            .unwrap();
        String::from_utf8(w.into_inner().unwrap()).unwrap()
    }

    #[test]
    fn csv_fields_are_quoted_and_formulas_defused() {
        assert_eq!(
            line(&["Co-codamol 30mg/500mg"]),
            "Co-codamol 30mg/500mg\r\n"
        );
        assert_eq!(line(&["Walker, Edith", "x"]), "\"Walker, Edith\",x\r\n");
        assert_eq!(line(&["say \"hi\""]), "\"say \"\"hi\"\"\"\r\n");
        assert_eq!(line(&["=HYPERLINK(1)"]), "'=HYPERLINK(1)\r\n");
        assert_eq!(line(&["@SUM(A1)", "\t=1"]), "'@SUM(A1),'\t=1\r\n");
        assert_eq!(line(&["-2.5"]), "-2.5\r\n");
        assert_eq!(line(&["two\nlines"]), "\"two\nlines\"\r\n");
    }
}
