//! Admitting a resident and changing their details (S1, S6).

use crate::AppState;
use medround_ipc::*;
use tauri::State;

#[tauri::command(async)]
pub fn get_resident_form(
    state: State<'_, AppState>,
    args: GetResidentForm,
) -> Result<ResidentForm, IpcError> {
    state.with(|b| b.resident_form(args.resident.as_deref()))
}

#[tauri::command(async)]
pub fn save_resident(
    state: State<'_, AppState>,
    args: SaveResident,
) -> Result<ResidentSaved, IpcError> {
    state.with(|b| b.save_resident(args.resident.as_deref(), &args.details))
}

#[tauri::command(async)]
pub fn enter_order(state: State<'_, AppState>, args: EnterOrder) -> Result<Done, IpcError> {
    state.with(|b| b.enter_order(&args.resident, &args.draft))
}
