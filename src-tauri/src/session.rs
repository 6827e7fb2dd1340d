//! Signing in and out (S19).

use crate::AppState;
use medround_ipc::*;
use tauri::State;

#[tauri::command(async)]
pub fn get_home(state: State<'_, AppState>, args: GetHome) -> Result<HomeView, IpcError> {
    let GetHome {} = args;
    state.with(|b| b.home())
}

#[tauri::command(async)]
pub fn sign_in(state: State<'_, AppState>, args: SignIn) -> Result<SessionView, IpcError> {
    state.with(|b| b.sign_in(&args.staff_id, &args.pin))
}

#[tauri::command(async)]
pub fn sign_out(state: State<'_, AppState>, args: SignOut) -> Result<(), IpcError> {
    let SignOut {} = args;
    state.with(|b| {
        b.sign_out();
        Ok(())
    })
}
