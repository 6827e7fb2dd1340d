//! Scanning and recording at the bedside.

use crate::AppState;
use medround_domain::finding::Assessment;
use medround_ipc::*;
use tauri::State;

#[tauri::command(async)]
pub fn scan_code(state: State<'_, AppState>, args: ScanCode) -> Result<ScanView, IpcError> {
    state.with(|b| b.scan(&args.resident, &args.raw))
}

#[tauri::command(async)]
pub fn assess_dose(state: State<'_, AppState>, args: AssessDose) -> Result<Assessment, IpcError> {
    state.with(|b| b.assess(&args.resident, &args.attempt))
}

#[tauri::command(async)]
pub fn record_dose(state: State<'_, AppState>, args: RecordDose) -> Result<Recorded, IpcError> {
    state.with(|b| b.record_dose(&args.resident, &args.attempt, args.witness.as_ref()))
}

#[tauri::command(async)]
pub fn correct_record(
    state: State<'_, AppState>,
    args: CorrectRecord,
) -> Result<Recorded, IpcError> {
    state.with(|b| {
        b.correct(
            &args.resident,
            &args.record,
            &args.reason,
            args.witness.as_ref(),
        )
    })
}

#[tauri::command(async)]
pub fn remove_patch(state: State<'_, AppState>, args: RemovePatch) -> Result<Recorded, IpcError> {
    state.with(|b| {
        b.remove_patch(
            &args.resident,
            &args.order,
            &args.site,
            args.witness.as_ref(),
        )
    })
}

#[tauri::command(async)]
pub fn record_follow_up(
    state: State<'_, AppState>,
    args: RecordFollowUp,
) -> Result<Recorded, IpcError> {
    state.with(|b| {
        b.follow_up(
            &args.resident,
            &args.administration,
            args.effective,
            args.note.clone(),
        )
    })
}

#[tauri::command(async)]
pub fn reconcile(state: State<'_, AppState>, args: Reconcile) -> Result<(), IpcError> {
    state.with(|b| b.reconcile(&args.resident))
}

/// S15: a resident gone to hospital or on leave, or back.
#[tauri::command(async)]
pub fn set_presence(state: State<'_, AppState>, args: SetPresence) -> Result<Done, IpcError> {
    state.with(|b| b.set_presence(&args.resident, args.change))
}

/// S16: a senior checks in a pending order.
#[tauri::command(async)]
pub fn check_in_order(state: State<'_, AppState>, args: CheckInOrder) -> Result<(), IpcError> {
    state.with(|b| {
        b.check_in_order(
            &args.resident,
            &args.order,
            args.second.as_ref(),
            &args.answers.clone().unwrap_or_default(),
        )
    })
}
