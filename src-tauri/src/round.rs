//! The round and the resident's chart.

use crate::AppState;
use medround_ipc::*;
use tauri::State;

#[tauri::command(async)]
pub fn get_round(state: State<'_, AppState>, args: GetRound) -> Result<RoundView, IpcError> {
    let GetRound {} = args;
    state.with(|b| b.round())
}

#[tauri::command(async)]
pub fn open_resident(
    state: State<'_, AppState>,
    args: OpenResident,
) -> Result<ResidentView, IpcError> {
    state.with(|b| b.open_resident(&args.resident))
}

#[tauri::command(async)]
pub fn leave_resident(state: State<'_, AppState>, args: LeaveResident) -> Result<bool, IpcError> {
    let LeaveResident {} = args;
    state.with(|b| Ok(b.leave_resident()))
}
