//! The manager's review, incidents and the audit trail.

use crate::AppState;
use medround_ipc::*;
use tauri::State;

#[tauri::command]
pub fn get_review(state: State<'_, AppState>, args: GetReview) -> Result<ReviewView, IpcError> {
    state.with(|b| b.review(args.from.as_deref(), args.to.as_deref()))
}

#[tauri::command]
pub fn acknowledge_incident(
    state: State<'_, AppState>,
    args: AcknowledgeIncident,
) -> Result<Recorded, IpcError> {
    state.with(|b| b.acknowledge_incident(&args.incident, &args.action))
}

#[tauri::command]
pub fn get_audit(state: State<'_, AppState>, args: GetAudit) -> Result<AuditView, IpcError> {
    state.with(|b| b.audit(&args.resident, args.from.as_deref(), args.to.as_deref()))
}

/// Builds the MAR chart and saves it where the person can print it from. The file is written
/// beside its final name and renamed, so a full disk or a crash never leaves half a chart.
#[tauri::command]
pub fn export_mar(
    app: tauri::AppHandle,
    state: State<'_, AppState>,
    args: ExportMar,
) -> Result<MarExport, IpcError> {
    let chart = state.with(|b| {
        b.export_mar(
            args.resident.as_deref(),
            args.unit.as_deref(),
            args.from.as_deref(),
        )
    })?;
    let dir = crate::setup::export_dir(&app).map_err(crate::internal)?;
    let path = dir.join(&chart.file_name);
    let tmp = dir.join(format!(".{}.part", chart.file_name));
    std::fs::create_dir_all(&dir)
        .and_then(|_| std::fs::write(&tmp, &chart.bytes))
        .and_then(|_| std::fs::rename(&tmp, &path))
        .map_err(|e| {
            IpcError::new(
                ErrorCode::Storage,
                format!("The chart could not be saved in {} ({e}).", dir.display()),
            )
        })?;
    Ok(MarExport {
        path: path.display().to_string(),
        pages: chart.pages,
        bytes: chart.bytes.len() as u64,
        message: format!(
            "MAR chart saved ({} page{}, {} resident{}): {}",
            chart.pages,
            if chart.pages == 1 { "" } else { "s" },
            chart.residents,
            if chart.residents == 1 { "" } else { "s" },
            path.display()
        ),
    })
}
