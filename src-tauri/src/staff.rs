//! Staff PINs and the tablet's screen lock (S19).

use crate::AppState;
use medround_ipc::*;
use tauri::State;

#[tauri::command(async)]
pub fn get_staff_pins(
    state: State<'_, AppState>,
    args: GetStaffPins,
) -> Result<StaffPinsView, IpcError> {
    let GetStaffPins {} = args;
    state.with(|b| b.staff_pins())
}

#[tauri::command(async)]
pub fn reset_pin(state: State<'_, AppState>, args: ResetPin) -> Result<Done, IpcError> {
    state.with(|b| b.reset_pin(&args.staff_id, &args.pin))
}

#[tauri::command(async)]
pub fn set_screen_lock(state: State<'_, AppState>, args: SetScreenLock) -> Result<Done, IpcError> {
    state.with(|b| b.set_screen_lock(args.idle_lock_minutes, args.lock_after_each_resident))
}

#[tauri::command(async)]
pub fn save_staff(state: State<'_, AppState>, args: SaveStaff) -> Result<StaffSaved, IpcError> {
    state.with(|b| b.save_staff(&args))
}
