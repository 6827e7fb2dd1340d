//! Signing in and out, the idle lock and the lock after each resident (S19), and the home
//! as the sign-in screen shows it.

use chrono::Duration;
use medround_domain::staff::Staff;
use medround_ipc::*;
use medround_store::PinCheck;

use crate::{storage, views, Bedside, Session, DEFAULT_IDLE_LOCK_MINUTES};

impl Bedside {
    pub(crate) fn setting_u32(&self, key: &str, default: u32) -> u32 {
        self.store
            .meta(key)
            .ok()
            .flatten()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    }

    pub(crate) fn idle_lock(&self) -> u32 {
        self.setting_u32("idle_lock_minutes", DEFAULT_IDLE_LOCK_MINUTES)
    }

    pub(crate) fn lock_after_each_resident(&self) -> bool {
        self.setting_u32("lock_after_each_resident", 0) == 1
    }

    pub fn set_lock_after_each_resident(&mut self, on: bool) -> Result<(), IpcError> {
        self.store
            .set_meta("lock_after_each_resident", if on { "1" } else { "0" })
            .map_err(storage)
    }

    pub fn set_idle_lock_minutes(&mut self, m: u32) -> Result<(), IpcError> {
        self.store
            .set_meta("idle_lock_minutes", &m.max(1).to_string())
            .map_err(storage)
    }

    /// The signed-in person, if the session is still live. Every command passes through here, so
    /// an idle tablet locks itself whatever screen it shows (S19).
    pub(crate) fn who(&mut self) -> Result<Staff, IpcError> {
        let now = self.clock.now();
        let idle = Duration::minutes(i64::from(self.idle_lock()));
        match &mut self.session {
            None => Err(IpcError::new(
                ErrorCode::NotSignedIn,
                "Sign in with your PIN.",
            )),
            Some(s) if now - s.last_active > idle => {
                self.session = None;
                Err(IpcError::new(
                    ErrorCode::SessionLocked,
                    "The screen locked after being left idle. Sign in again.",
                ))
            }
            Some(s) => {
                s.last_active = now;
                Ok(s.staff.clone())
            }
        }
    }

    pub fn home(&self) -> Result<HomeView, IpcError> {
        let staff = self.store.staff().map_err(storage)?;
        Ok(HomeView {
            name: self
                .store
                .home_name()
                .map_err(storage)?
                .unwrap_or_else(|| "Medround".into()),
            demo: self.demo,
            staff: staff
                .iter()
                .filter(|s| s.active)
                .map(views::staff_card)
                .collect(),
            device: self.store.device().to_string(),
        })
    }

    pub fn sign_in(&mut self, staff_id: &str, pin: &str) -> Result<SessionView, IpcError> {
        let staff = self
            .store
            .staff_member(staff_id)
            .map_err(storage)?
            .filter(|s| s.active)
            .ok_or_else(|| IpcError::new(ErrorCode::NotFound, "Choose your name from the list."))?;
        match self.store.check_pin(&staff.id, pin).map_err(storage)? {
            PinCheck::Ok => {}
            PinCheck::Wrong { attempts_left } => {
                return Err(IpcError::new(
                    ErrorCode::WrongPin,
                    format!(
                    "That PIN is not right. {attempts_left} more tries before the account locks."
                ),
                ))
            }
            PinCheck::Locked => {
                return Err(IpcError::new(
                    ErrorCode::AccountLocked,
                    "This account is locked after too many wrong PINs. Ask a senior to reset it.",
                ))
            }
            PinCheck::NoPin => {
                return Err(IpcError::new(
                    ErrorCode::NoPin,
                    "No PIN is set for you on this tablet. Ask a senior.",
                ))
            }
        }
        self.session = Some(Session {
            staff: staff.clone(),
            last_active: self.clock.now(),
        });
        Ok(SessionView {
            staff: views::staff_card(&staff),
            idle_lock_minutes: self.idle_lock(),
            lock_after_each_resident: self.lock_after_each_resident(),
        })
    }

    pub fn sign_out(&mut self) {
        self.session = None;
    }

    /// Called when the carer leaves a resident's chart; locks the screen if the home chose that.
    pub fn leave_resident(&mut self) -> bool {
        if self.lock_after_each_resident() {
            self.session = None;
            true
        } else {
            false
        }
    }
}
