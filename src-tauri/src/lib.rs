//! The Tauri shell: opens the store, owns the window and the timer, and maps each IPC command to
//! one call into `medround-bedside`. No rules and no SQL live here.

mod config;
mod dose;
mod residents;
mod review;
mod round;
mod session;
mod setup;
mod staff;
mod sync;

use medround_bedside::Bedside;
use medround_ipc::{ErrorCode, IpcError};
use std::sync::Mutex;

/// The one bedside service of this window. Every command is `#[tauri::command(async)]`: Tauri
/// runs a plain command on the window's own thread, so a command waiting here for the sync
/// thread or the minute timer to finish a step froze the whole screen (and, in the end-to-end
/// test under load, WebDriver with it). Off that thread, the screen keeps drawing while a
/// command waits its turn.
#[derive(Debug)]
pub struct AppState(pub Mutex<Bedside>);

impl AppState {
    /// Runs `f` on the service. A poisoned lock means an earlier command panicked; the store is
    /// transactional, so carrying on is safe, and the person is told to retry.
    pub fn with<T>(
        &self,
        f: impl FnOnce(&mut Bedside) -> Result<T, IpcError>,
    ) -> Result<T, IpcError> {
        let mut guard = match self.0.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        f(&mut guard)
    }
}

pub fn internal(e: impl std::fmt::Display) -> IpcError {
    IpcError::new(
        ErrorCode::Internal,
        format!("Something went wrong inside the app: {e}"),
    )
}

pub fn run() {
    tauri::Builder::default()
        .setup(|app| {
            let config = config::AppConfig::from_env()
                .and_then(|c| setup::open_state(app, &c).map(|state| (c, state)));
            let (config, state) = config.map_err(|e| {
                eprintln!("medround: cannot start: {e:#}");
                e
            })?;
            setup::british_webview(app);
            setup::start_window_timer(app.handle().clone());
            use tauri::Manager;
            app.manage(config);
            app.manage(state);
            let worker = sync::SyncWorker::default();
            worker.start(app.handle().clone());
            app.manage(worker);
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            session::get_home,
            session::sign_in,
            session::sign_out,
            round::get_round,
            round::open_resident,
            round::leave_resident,
            dose::scan_code,
            dose::assess_dose,
            dose::record_dose,
            dose::correct_record,
            dose::remove_patch,
            dose::record_follow_up,
            dose::reconcile,
            dose::set_presence,
            dose::check_in_order,
            review::get_review,
            review::acknowledge_incident,
            review::get_audit,
            review::export_mar,
            review::get_stock,
            review::export_reorder_list,
            review::book_delivery,
            review::cd_stock_check,
            review::get_cd_register,
            residents::get_resident_form,
            residents::save_resident,
            residents::enter_order,
            staff::get_staff_pins,
            staff::reset_pin,
            staff::save_staff,
            staff::set_screen_lock,
            sync::get_sync_status,
            sync::sync_now,
            sync::enrol,
        ])
        .run(tauri::generate_context!())
        .expect("error while running Medround");
}
