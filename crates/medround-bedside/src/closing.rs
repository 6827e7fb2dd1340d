//! Closing dose windows (S8): every slot since the last closing reached, however long the
//! tablet was off, with what the closures entail (S11, S15).

use chrono::{DateTime, Duration, Utc};
use medround_domain::fact::DoseFact;
use medround_domain::order::Order;
use medround_domain::record::ResidentEvent;
use medround_domain::schedule::HOME_TZ;
use medround_domain::OrderId;
use medround_ipc::*;
use medround_store::Item;

use crate::{storage, Bedside, CLOSED_TO, PER_ORDER_RECORDS};

impl Bedside {
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

    pub(crate) fn closing_since(
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
