//! Where the data lives, which clock runs, and the timer that closes dose windows (S8).

use crate::AppState;
use anyhow::Context;
use medround_bedside::{Bedside, Clock, SystemClock, TrainingClock};
use std::path::PathBuf;
use std::sync::Mutex;
use tauri::Manager;

/// The database goes in the app's data directory and its key in the config directory, so the key
/// never sits beside the file it opens. `MEDROUND_DATA_DIR` / `MEDROUND_KEY_DIR` override both
/// (tests run several tablets side by side).
fn dirs(app: &tauri::App) -> anyhow::Result<(PathBuf, PathBuf)> {
    let data = match std::env::var_os("MEDROUND_DATA_DIR") {
        Some(d) => PathBuf::from(d),
        None => app.path().app_data_dir().context("no app data directory")?,
    };
    let keys = match std::env::var_os("MEDROUND_KEY_DIR") {
        Some(d) => PathBuf::from(d),
        None => app
            .path()
            .app_config_dir()
            .context("no app config directory")?
            .join("keys"),
    };
    Ok((data, keys))
}

/// The training home may run on a shifted clock (`MEDROUND_TRAINING_START`, RFC 3339) so that a
/// round is always due when it is opened. A real home always runs on the system clock.
fn clock() -> anyhow::Result<Box<dyn Clock>> {
    match std::env::var("MEDROUND_TRAINING_START") {
        Ok(s) if !s.is_empty() => {
            let start = chrono::DateTime::parse_from_rfc3339(&s)
                .with_context(|| format!("MEDROUND_TRAINING_START is not an RFC 3339 time: {s}"))?;
            Ok(Box::new(TrainingClock::starting_at(
                start.with_timezone(&chrono::Utc),
            )))
        }
        _ => Ok(Box::new(SystemClock)),
    }
}

pub fn open_state(app: &tauri::App) -> anyhow::Result<AppState> {
    let (data, keys) = dirs(app)?;
    let mut bedside = Bedside::open(
        &data.join("medround.db"),
        &keys.join("medround.key"),
        clock()?,
    )
    .with_context(|| format!("opening the store in {}", data.display()))?;
    if std::env::var("MEDROUND_DEMO")
        .map(|v| v != "0")
        .unwrap_or(true)
        && bedside.seed_demo_if_empty()?
    {
        eprintln!("medround: built the demo home in {}", data.display());
    }
    bedside
        .close_windows()
        .map_err(|e| anyhow::anyhow!(e.message))?;
    Ok(AppState(Mutex::new(bedside)))
}

/// Closes windows every minute, off the UI's path: the lock is held only for the write.
pub fn start_window_timer(handle: tauri::AppHandle) {
    std::thread::spawn(move || loop {
        std::thread::sleep(std::time::Duration::from_secs(60));
        if let Some(state) = handle.try_state::<AppState>() {
            if let Err(e) = state.with(|b| b.close_windows()) {
                eprintln!("medround: closing windows failed: {}", e.message);
            }
        }
    });
}

/// Where printed charts are saved: `MEDROUND_EXPORT_DIR`, else a Medround folder in the
/// person's documents, else beside the data. A chart holds personal data in clear, as a paper
/// MAR does; it is for printing, not for keeping on the tablet.
pub fn export_dir(app: &tauri::AppHandle) -> anyhow::Result<PathBuf> {
    if let Some(d) = std::env::var_os("MEDROUND_EXPORT_DIR") {
        return Ok(PathBuf::from(d));
    }
    if let Ok(d) = app.path().document_dir() {
        return Ok(d.join("Medround"));
    }
    Ok(app
        .path()
        .app_data_dir()
        .context("no app data directory")?
        .join("exports"))
}

/// Dates and times in the webview's own fields (the review's period, the time of a dose given
/// earlier) follow the webview's language, and WebKitGTK takes that from the system's locale,
/// not the page's `lang`: on a machine set to US English, or to none, a date read 10/27/2026
/// and a time asked for AM or PM. Medround is for care homes in England, so the webview
/// speaks British English whatever the machine says: days before months, a 24-hour clock.
pub fn british_webview(app: &tauri::App) {
    for (_, window) in app.webview_windows() {
        let _ = window.with_webview(|webview| {
            #[cfg(target_os = "linux")]
            {
                use webkit2gtk::{WebContextExt, WebViewExt};
                let view = webview.inner();
                if let Some(context) = view.context() {
                    context.set_preferred_languages(&["en-GB"]);
                }
            }
            #[cfg(not(target_os = "linux"))]
            let _ = webview;
        });
    }
}
