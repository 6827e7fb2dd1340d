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
