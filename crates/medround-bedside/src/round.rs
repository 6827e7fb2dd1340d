//! The round by unit, a resident's chart, and scanning a pack or label against it (S1, S2).

use chrono::Duration;
use medround_domain::admission::name_alert;
use medround_domain::barcode::parse_scan;
use medround_domain::ResidentId;
use medround_ipc::*;

use crate::{storage, views, Bedside, ROUND_LOOKBACK_HOURS};

impl Bedside {
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

    pub(crate) fn resident_view(&self, id: &ResidentId) -> Result<ResidentView, IpcError> {
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
}
