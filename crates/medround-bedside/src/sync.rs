//! The tablet's side of sync with the central record, and what a merge may reveal (S18).
//! The bytes travel elsewhere (the shell's HTTP client, or a test's in-memory server); this
//! module only turns them into documents and back.

use crate::{storage, Bedside};
use chrono::Duration;
use medround_domain::admission::duplicate_charts;
use medround_domain::cd::{negative_after_merge, CdEntry};
use medround_domain::incident::{fnv1a, merge_incidents, Incident, IncidentKind};
use medround_domain::tablet::Tablet;
use medround_domain::{OrderId, RecordId, ResidentId};
use medround_ipc::{ErrorCode, IpcError, SyncStatus};
use medround_store::replica::Outgoing;
use medround_store::Item;
use medround_sync::api::Enrolment;
use medround_sync::{Client, Feed, Progress, Replica, SyncError};

/// The central record, as a sync peer name in the store.
pub const CENTRAL: &str = "central";

/// Local setting: the records mark up to which merges have been checked (S18).
pub const MERGE_CHECKED_TO: &str = "merge_checked_to";
/// Around the earliest record a merge brought, how far back the check reads: the longest
/// when-required minimum interval a protocol sets is under a day.
const DOUBLE_DOSE_MARGIN_HOURS: i64 = 24;

/// One exchange with the central record, from start to finish.
#[derive(Debug)]
pub struct SyncRun {
    client: Client,
    outgoing: Outgoing,
}

impl SyncRun {
    pub fn progress(&self) -> &Progress {
        self.client.progress()
    }
}

/// What an exchange brought.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncSummary {
    pub round_trips: u32,
    pub bytes_sent: u64,
    pub bytes_received: u64,
    pub documents_changed: usize,
    /// Incidents the merge raised: possible double doses (S18), two charts for one person
    /// (S1), a register below zero (S7).
    pub incidents: Vec<RecordId>,
}

impl SyncSummary {
    /// Adds a following exchange (the one that sends the incidents a merge raised).
    pub fn absorb(&mut self, more: SyncSummary) {
        self.round_trips += more.round_trips;
        self.bytes_sent += more.bytes_sent;
        self.bytes_received += more.bytes_received;
        self.documents_changed += more.documents_changed;
        self.incidents.extend(more.incidents);
    }
}

pub(crate) fn sync_error(e: SyncError) -> IpcError {
    let code = match e {
        SyncError::Malformed(_) | SyncError::Version(_) | SyncError::Refused { .. } => {
            ErrorCode::SyncRefused
        }
        SyncError::NoProgress(_) | SyncError::Storage(_) => ErrorCode::Storage,
    };
    IpcError::new(
        code,
        format!("Sync stopped: {e}. The records on this tablet are safe; it will try again."),
    )
}

/// How this tablet reaches its central record; kept in the encrypted store, never shown.
#[derive(Clone, PartialEq, Eq)]
pub struct EnrolmentSettings {
    pub server: String,
    /// The device id the central record gave this tablet.
    pub device: String,
    pub home: String,
    pub home_name: String,
    pub credential: String,
    /// The provider's own certificate authority (PEM), if the server's certificate is not
    /// signed by a public one.
    pub ca: Option<String>,
}

impl std::fmt::Debug for EnrolmentSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EnrolmentSettings")
            .field("server", &self.server)
            .field("device", &self.device)
            .field("home", &self.home)
            .finish_non_exhaustive()
    }
}

const ENROLMENT_KEYS: [&str; 5] = [
    "central_server",
    "central_device",
    "central_home",
    "central_home_name",
    "central_credential",
];

impl Bedside {
    /// The central record this tablet is enrolled with, if any.
    pub fn enrolment(&self) -> Result<Option<EnrolmentSettings>, IpcError> {
        let mut v = Vec::with_capacity(ENROLMENT_KEYS.len());
        for k in ENROLMENT_KEYS {
            match self.store.meta(k).map_err(storage)? {
                Some(x) => v.push(x),
                None => return Ok(None),
            }
        }
        let mut v = v.into_iter();
        let mut next = || v.next().unwrap_or_default();
        Ok(Some(EnrolmentSettings {
            server: next(),
            device: next(),
            home: next(),
            home_name: next(),
            credential: next(),
            ca: self
                .store
                .meta("central_ca")
                .map_err(storage)?
                .filter(|c| !c.is_empty()),
        }))
    }

    /// Who may enrol this tablet: anyone while it holds no home yet (a new tablet has no staff
    /// to sign in), otherwise a signed-in manager.
    pub fn may_enrol(&mut self) -> Result<(), IpcError> {
        if self.store.staff().map_err(storage)?.is_empty() {
            return Ok(());
        }
        let who = self.who()?;
        if who.role == medround_domain::staff::Role::Manager {
            Ok(())
        } else {
            Err(IpcError::new(
                ErrorCode::NotAllowed,
                "Only a manager can connect this tablet to the central record.",
            ))
        }
    }

    /// The Automerge actor this tablet writes with now (hex), which enrolment binds to it.
    pub fn actor(&self) -> String {
        self.store.actor()
    }

    /// Keeps what enrolment gave this tablet. A tablet holding another home's records cannot
    /// be enrolled in this one: its records would go to the wrong home.
    pub fn set_enrolment(
        &mut self,
        server: &str,
        e: &Enrolment,
        ca: Option<&str>,
        name: &str,
    ) -> Result<(), IpcError> {
        if let Some(old) = self.enrolment()? {
            if old.home != e.home {
                return Err(IpcError::new(
                    ErrorCode::NotAllowed,
                    format!(
                        "This tablet belongs to {}; it cannot join {} without being reset.",
                        old.home_name, e.home_name
                    ),
                ));
            }
        }
        let values = [
            server,
            e.device.as_str(),
            e.home.as_str(),
            e.home_name.as_str(),
            e.credential.as_str(),
        ];
        let mut entries: Vec<(&str, &str)> = ENROLMENT_KEYS.iter().copied().zip(values).collect();
        // No CA is kept as an empty one: the public roots are used.
        entries.push(("central_ca", ca.unwrap_or("")));
        // The credential first: the central record has used up the code, and without it the
        // tablet could not sync at all.
        self.store.set_meta_all(&entries).map_err(storage)?;
        // Records written before the tablet joined were never merged with another's: only
        // what arrives from now on needs the merge check, which reads the records around it,
        // these included.
        if self
            .store
            .meta(MERGE_CHECKED_TO)
            .map_err(storage)?
            .is_none()
        {
            let mark = self.store.records_mark().map_err(storage)?;
            self.store
                .set_meta(MERGE_CHECKED_TO, &mark.to_string())
                .map_err(storage)?;
        }
        // Then the tablet's name (the central record has already accepted it), into the home
        // document, so that every tablet shows this tablet's records under it.
        let now = self.clock.now();
        let tablet = Tablet {
            id: self.store.device().clone(),
            central: e.device.clone(),
            name: name.trim().to_string(),
            enrolled: now,
        };
        self.store.put_tablet(&tablet, now).map_err(storage)
    }

    /// What the store knows of sync; the shell adds whether a sync is running and how the last
    /// attempt went.
    pub fn sync_status(&self) -> Result<SyncStatus, IpcError> {
        let mark = self.store.sync_mark(CENTRAL).map_err(storage)?;
        let e = self.enrolment()?;
        Ok(SyncStatus {
            enrolled: e.is_some(),
            server: e.as_ref().map(|e| e.server.clone()),
            home_name: e.map(|e| e.home_name),
            last_synced: mark
                .last_synced
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
            waiting: mark.waiting,
            ..SyncStatus::default()
        })
    }

    pub fn sync_start(&mut self) -> Result<SyncRun, IpcError> {
        let mark = self.store.sync_mark(CENTRAL).map_err(storage)?;
        let outgoing = self.store.outgoing().map_err(storage)?;
        Ok(SyncRun {
            client: Client::new(mark.cursor, outgoing.docs.clone()),
            outgoing,
        })
    }

    /// The next request to send, or `None` when the exchange is done.
    pub fn sync_request(&mut self, run: &mut SyncRun) -> Result<Option<Vec<u8>>, IpcError> {
        let mut peer = self.store.sync_peer(CENTRAL);
        run.client.request(&mut peer).map_err(sync_error)
    }

    pub fn sync_reply(&mut self, run: &mut SyncRun, reply: &[u8]) -> Result<(), IpcError> {
        let mut peer = self.store.sync_peer(CENTRAL);
        run.client.reply(&mut peer, reply).map_err(sync_error)?;
        // Keep the feed position reached so far: a long first sync cut off half way resumes.
        self.store
            .sync_cursor(CENTRAL, run.client.cursor())
            .map_err(storage)
    }

    /// Ends a completed exchange: stores where it got to and runs the merge checks (S18) on
    /// every resident whose records changed.
    pub fn sync_finish(&mut self, run: SyncRun) -> Result<SyncSummary, IpcError> {
        let now = self.clock.now();
        self.store
            .sync_completed(CENTRAL, run.client.cursor(), &run.outgoing, now)
            .map_err(storage)?;
        let p = run.client.progress();
        let mut incidents = self.check_merged()?;
        if p.changed.iter().any(|d| d.starts_with("resident:")) {
            incidents.extend(self.raise_duplicate_charts()?);
        }
        Ok(SyncSummary {
            round_trips: p.round_trips,
            bytes_sent: p.bytes_sent,
            bytes_received: p.bytes_received,
            documents_changed: p.changed.len(),
            incidents,
        })
    }

    /// S18: checks every administration projected since the last check, however old it is (a
    /// tablet that comes back after a week brings a week), with the records around it. The
    /// mark (`MERGE_CHECKED_TO`, local) moves only once the checks are written, so an exchange
    /// cut off part way is checked in full by the next one. Returns the incidents raised.
    pub fn check_merged(&mut self) -> Result<Vec<RecordId>, IpcError> {
        let checked = self
            .store
            .meta(MERGE_CHECKED_TO)
            .map_err(storage)?
            .and_then(|v| v.parse::<i64>().ok())
            .unwrap_or(0);
        let upto = self.store.records_mark().map_err(storage)?;
        let arrived = self
            .store
            .administrations_after_mark(checked)
            .map_err(storage)?;
        let mut incidents = Vec::new();
        for (r, earliest) in arrived {
            incidents.extend(self.raise_double_doses(&r, earliest)?);
        }
        for order in self.store.cd_orders_after_mark(checked).map_err(storage)? {
            incidents.extend(self.raise_negative_register(&order)?);
        }
        self.store
            .set_meta(MERGE_CHECKED_TO, &upto.to_string())
            .map_err(storage)?;
        Ok(incidents)
    }

    /// A whole exchange with a peer in the same process (tests, benchmarks, and the server's
    /// own checks).
    /// Incidents raised by the merge are sent straight away, in a second exchange, so that
    /// other tablets and the manager see them now rather than at the next sync.
    pub fn sync_with<S: Replica + Feed>(
        &mut self,
        server: &mut S,
    ) -> Result<SyncSummary, IpcError> {
        let mut summary = self.exchange_with(server)?;
        if !summary.incidents.is_empty() {
            summary.absorb(self.exchange_with(server)?);
        }
        Ok(summary)
    }

    fn exchange_with<S: Replica + Feed>(
        &mut self,
        server: &mut S,
    ) -> Result<SyncSummary, IpcError> {
        let mut run = self.sync_start()?;
        while let Some(req) = self.sync_request(&mut run)? {
            let rep = medround_sync::serve(server, &req).map_err(sync_error)?;
            self.sync_reply(&mut run, &rep)?;
        }
        self.sync_finish(run)
    }

    /// S18: two records that may be one dose given twice, among the records from `earliest`
    /// (less the longest interval) on. `incident::merge_incidents` decides; this writes.
    fn raise_double_doses(
        &mut self,
        resident: &ResidentId,
        earliest: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<RecordId>, IpcError> {
        let now = self.clock.now();
        let history = self
            .store
            .administrations_for(
                resident,
                Some(earliest - Duration::hours(DOUBLE_DOSE_MARGIN_HOURS)),
            )
            .map_err(storage)?;
        let orders = self.store.orders_for(resident).map_err(storage)?;
        let remedies = self.store.remedies().map_err(storage)?;
        let staff = self.store.staff().map_err(storage)?;
        let store = &self.store;
        let mut failed = None;
        let found = merge_incidents(
            resident,
            &orders,
            &remedies,
            &history,
            &staff,
            now,
            store.device(),
            &mut |id| match store.item(id.as_str()) {
                Ok(held) => held.is_some(),
                Err(e) => {
                    failed = Some(e);
                    true
                }
            },
        );
        if let Some(e) = failed {
            return Err(storage(e));
        }
        let mut raised = Vec::new();
        for incident in found {
            raised.push(incident.id.clone());
            self.store
                .append(resident, now, &[Item::Incident(incident)])
                .map_err(storage)?;
        }
        Ok(raised)
    }

    /// S7: a register that merged below zero raises its incident (see
    /// `cd::negative_after_merge`), once.
    fn raise_negative_register(&mut self, order: &OrderId) -> Result<Option<RecordId>, IpcError> {
        let entries: Vec<CdEntry> = self
            .store
            .items_for_order(order, "cd_entry")
            .map_err(storage)?
            .into_iter()
            .filter_map(|i| match i {
                Item::CdEntry(e) => Some(e),
                _ => None,
            })
            .collect();
        let unit = self.store.order(order).map(|o| o.unit).unwrap_or_default();
        let now = self.clock.now();
        let Some(incident) = negative_after_merge(&entries, &unit, now, self.store.device()) else {
            return Ok(None);
        };
        if self
            .store
            .item(incident.id.as_str())
            .map_err(storage)?
            .is_some()
        {
            return Ok(None);
        }
        let id = incident.id.clone();
        let resident = incident.resident.clone();
        self.store
            .append(&resident, now, &[Item::Incident(incident)])
            .map_err(storage)?;
        Ok(Some(id))
    }

    /// S1: residents who arrived with one NHS number (the same person admitted on two tablets
    /// that were apart) raise one incident, whose id comes from their ids, so every tablet
    /// raises the same one. It sits with the first of them by id.
    fn raise_duplicate_charts(&mut self) -> Result<Vec<RecordId>, IpcError> {
        let now = self.clock.now();
        let residents = self.store.residents().map_err(storage)?;
        let units = self.unit_names()?;
        let mut raised = Vec::new();
        for group in duplicate_charts(&residents) {
            let ids: Vec<RecordId> = group.iter().map(|r| RecordId::new(r.id.as_str())).collect();
            let id = RecordId::new(format!("inc-dup-{:016x}", fnv1a(&ids)));
            if self.store.item(id.as_str()).map_err(storage)?.is_some() {
                continue;
            }
            let charts: Vec<String> = group
                .iter()
                .map(|r| {
                    format!(
                        "{} (room {}, {})",
                        r.full_name(),
                        r.room,
                        units
                            .get(r.unit.as_str())
                            .map_or(r.unit.as_str(), String::as_str)
                    )
                })
                .collect();
            let first = group[0].id.clone();
            let incident = Incident {
                id: id.clone(),
                resident: first.clone(),
                kind: IncidentKind::DuplicateChart,
                records: vec![],
                message: format!(
                    "Two charts for one person: {} have the NHS number {}. Check which chart is \
                     right before the next dose, and tell the manager.",
                    charts.join(" and "),
                    medround_domain::checks::format_nhs_number(&group[0].nhs_number)
                ),
                raised_at: now,
                device: self.store.device().clone(),
            };
            self.store
                .append(&first, now, &[Item::Incident(incident)])
                .map_err(storage)?;
            raised.push(id);
        }
        Ok(raised)
    }
}
