//! Where the data lives, which clock runs, and the timer that closes dose windows (S8).

use crate::config::AppConfig;
use crate::AppState;
use anyhow::Context;
use medround_bedside::{Bedside, Clock, SystemClock, TrainingClock};
use std::path::PathBuf;
use std::sync::Mutex;
use tauri::Manager;

/// The database goes in the app's data directory and its key in the config directory, so the key
/// never sits beside the file it opens. The settings may name others (tests run several
/// tablets side by side).
fn dirs(app: &tauri::App, config: &AppConfig) -> anyhow::Result<(PathBuf, PathBuf)> {
    let data = match &config.data_dir {
        Some(d) => d.clone(),
        None => app.path().app_data_dir().context("no app data directory")?,
    };
    let keys = match &config.key_dir {
        Some(d) => d.clone(),
        None => app
            .path()
            .app_config_dir()
            .context("no app config directory")?
            .join("keys"),
    };
    Ok((data, keys))
}

/// The training home may run on a shifted clock so that a round is always due when it is
/// opened. A real home always runs on the system clock.
fn clock(config: &AppConfig) -> Box<dyn Clock> {
    match config.training_start {
        Some(start) => Box::new(TrainingClock::starting_at(start)),
        None => Box::new(SystemClock),
    }
}

/// The app's log: a file a day in the data directory's `logs` folder, the last 14 kept, as
/// well as standard error. Log lines name codes, ids and counts, never a resident.
fn start_logging(data: &std::path::Path, config: &AppConfig) -> anyhow::Result<()> {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    // The appender looks in the folder for old files to prune before it writes the first.
    std::fs::create_dir_all(data.join("logs")).context("creating the log folder")?;
    let file = tracing_appender::rolling::RollingFileAppender::builder()
        .rotation(tracing_appender::rolling::Rotation::DAILY)
        .filename_prefix("medround")
        .filename_suffix("log")
        .max_log_files(14)
        .build(data.join("logs"))
        .context("opening the log folder")?;
    let filter = tracing_subscriber::EnvFilter::try_new(&config.log).with_context(|| {
        format!(
            "MEDROUND_LOG is not a log filter such as info: {}",
            config.log
        )
    })?;
    // A second start in one process (the shell's own tests) keeps the first subscriber.
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr))
        .with(
            tracing_subscriber::fmt::layer()
                .with_ansi(false)
                .with_writer(file),
        )
        .try_init();
    Ok(())
}

pub fn open_state(app: &tauri::App, config: &AppConfig) -> anyhow::Result<AppState> {
    let (data, keys) = dirs(app, config)?;
    std::fs::create_dir_all(&data)
        .with_context(|| format!("creating the data folder {}", data.display()))?;
    start_logging(&data, config)?;
    let mut bedside = Bedside::open(
        &data.join("medround.db"),
        &keys.join("medround.key"),
        clock(config),
    )
    .with_context(|| format!("opening the store in {}", data.display()))?;
    if config.demo && bedside.seed_demo_if_empty()? {
        tracing::info!("built the demo home");
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
                tracing::error!(code = ?e.code, "closing windows failed");
            }
        }
    });
}

/// Where printed charts are saved: the configured folder, else a Medround folder in the
/// person's documents, else beside the data. A chart holds personal data in clear, as a paper
/// MAR does; it is for printing, not for keeping on the tablet.
pub fn export_dir(app: &tauri::AppHandle) -> anyhow::Result<PathBuf> {
    if let Some(d) = &app.state::<AppConfig>().export_dir {
        return Ok(d.clone());
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
