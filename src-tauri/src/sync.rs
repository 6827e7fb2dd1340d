//! Sync with the central record in the background: whenever the tablet is enrolled it syncs
//! every few minutes, at once when someone taps "Sync now", with backoff after a failure, and
//! once in the nightly window. The bedside is locked only for each step of an exchange, never
//! while bytes travel, so the screens never wait for the network.

use crate::config::AppConfig;
use crate::AppState;
use medround_domain::schedule::HOME_TZ;
use medround_ipc::*;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};
use tauri::{Manager, State};

/// How the background sync is doing, beside what the store knows.
#[derive(Debug, Default)]
struct Runtime {
    running: bool,
    online: bool,
    progress: Option<SyncProgress>,
    last_error: Option<IpcError>,
    incidents_found: u64,
    failures: u32,
    wake: bool,
}

/// The background sync's shared state: the runtime and the bell that wakes the worker.
#[derive(Debug, Clone, Default)]
pub struct SyncWorker(Arc<(Mutex<Runtime>, Condvar)>);

/// After `failures` failed attempts in a row: 15 s, 30 s, 1 min ... at most 15 min.
fn backoff(failures: u32) -> Duration {
    Duration::from_secs((15u64 << failures.saturating_sub(1).min(6)).min(900))
}

impl SyncWorker {
    fn runtime(&self) -> std::sync::MutexGuard<'_, Runtime> {
        self.0 .0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Asks the worker to sync now.
    pub fn wake(&self) {
        self.runtime().wake = true;
        self.0 .1.notify_all();
    }

    /// The store's figures with the worker's.
    pub fn status(&self, app: &AppState, config: &AppConfig) -> Result<SyncStatus, IpcError> {
        let mut s = app.with(|b| b.sync_status())?;
        let r = self.runtime();
        s.running = r.running;
        s.online = r.online;
        s.progress = r.progress.clone();
        s.last_error = r.last_error.as_ref().map(|e| e.message.clone());
        s.last_error_code = r.last_error.as_ref().map(|e| e.code);
        s.incidents_found = r.incidents_found;
        s.nightly = config.nightly.text.clone();
        Ok(s)
    }

    /// Runs for the life of the app.
    pub fn start(&self, handle: tauri::AppHandle) {
        let me = self.clone();
        std::thread::spawn(move || me.run(handle));
    }

    fn run(&self, handle: tauri::AppHandle) {
        let config = handle.state::<AppConfig>().inner().clone();
        // The window is the home's night, in Europe/London, whatever zone the tablet is set to.
        let in_window = || {
            config
                .nightly
                .contains(chrono::Utc::now().with_timezone(&HOME_TZ).time())
        };
        let mut was_in_window = in_window();
        let mut next = Instant::now() + Duration::from_secs(5);
        loop {
            // Sleep until the next attempt is due, someone asks for one, or the nightly window
            // opens (once per night; a failure there backs off like any other).
            {
                let mut r = self.runtime();
                while !r.wake && Instant::now() < next {
                    let wait = next.saturating_duration_since(Instant::now());
                    r = self
                        .0
                         .1
                        .wait_timeout(r, wait.min(Duration::from_secs(30)))
                        .unwrap_or_else(|p| p.into_inner())
                        .0;
                    let inside = in_window();
                    let opened = inside && !was_in_window;
                    was_in_window = inside;
                    if opened {
                        break;
                    }
                }
                r.wake = false;
            }
            let Some(app) = handle.try_state::<AppState>() else {
                next = Instant::now() + Duration::from_secs(5);
                continue;
            };
            let enrolled = matches!(app.with(|b| b.enrolment()), Ok(Some(_)));
            if !enrolled {
                next = Instant::now() + config.sync_every;
                continue;
            }
            self.runtime().running = true;
            let me = self.clone();
            let result = medround_link::sync(&app.0, &mut |p| {
                me.runtime().progress = Some(SyncProgress {
                    round_trips: p.round_trips,
                    settled: p.settled as u64,
                    to_send: p.to_send as u64,
                    bytes: p.bytes_sent + p.bytes_received,
                });
            });
            let mut r = self.runtime();
            r.running = false;
            r.progress = None;
            match result {
                Ok(summary) => {
                    r.online = true;
                    r.failures = 0;
                    r.last_error = None;
                    r.incidents_found += summary.incidents.len() as u64;
                    next = Instant::now() + config.sync_every;
                }
                Err(e) => {
                    r.online = false;
                    r.failures += 1;
                    tracing::warn!(code = ?e.code, "sync failed");
                    // A revoked tablet stops trying: only the provider can change that.
                    next = if e.code == ErrorCode::DeviceRevoked {
                        Instant::now() + Duration::from_secs(24 * 3600)
                    } else {
                        Instant::now() + backoff(r.failures)
                    };
                    r.last_error = Some(e);
                }
            }
        }
    }
}

#[tauri::command(async)]
pub fn get_sync_status(
    state: State<'_, AppState>,
    worker: State<'_, SyncWorker>,
    config: State<'_, AppConfig>,
    args: GetSyncStatus,
) -> Result<SyncStatus, IpcError> {
    let GetSyncStatus {} = args;
    worker.status(&state, &config)
}

#[tauri::command(async)]
pub fn sync_now(
    state: State<'_, AppState>,
    worker: State<'_, SyncWorker>,
    config: State<'_, AppConfig>,
    args: SyncNow,
) -> Result<SyncStatus, IpcError> {
    let SyncNow {} = args;
    worker.wake();
    let mut s = worker.status(&state, &config)?;
    s.running = true;
    Ok(s)
}

/// Enrolment waits for the network, so it runs off the window's thread.
#[tauri::command]
pub async fn enrol(app: tauri::AppHandle, args: Enrol) -> Result<SyncStatus, IpcError> {
    let h = app.clone();
    tauri::async_runtime::spawn_blocking(move || {
        let state = h.state::<AppState>();
        let worker = h.state::<SyncWorker>();
        let config = h.state::<AppConfig>();
        let link = medround_link::Link::for_provider(&args.server, config.ca_cert.as_deref())?;
        medround_link::enrol_via(&state.0, &link, &args.code, &args.device_name)?;
        worker.wake();
        worker.status(&state, &config)
    })
    .await
    .map_err(crate::internal)?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_15_seconds_to_at_most_15_minutes() {
        let secs: Vec<u64> = (1..=9).map(|f| backoff(f).as_secs()).collect();
        assert_eq!(secs, [15, 30, 60, 120, 240, 480, 900, 900, 900]);
        assert_eq!(backoff(u32::MAX).as_secs(), 900);
    }
}
