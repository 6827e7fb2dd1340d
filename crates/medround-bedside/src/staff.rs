//! Staff PINs and the screen lock (S19): a senior sees who is locked out or has no PIN on this
//! tablet and sets a new PIN for someone else; a manager sets how this tablet locks itself.

use crate::views::{local, staff_card};
use crate::{storage, Bedside};
use medround_domain::finding::Finding;
use medround_domain::finding::FindingCode;
use medround_domain::staff::{check_pin_reset, check_staff_change, pin_is_acceptable, Role, Staff};
use medround_domain::StaffId;
use medround_ipc::{Done, ErrorCode, IpcError, SaveStaff, StaffPinRow, StaffPinsView, StaffSaved};

/// A refusal by a rule about who may do what (S15, S19) as the screen shows it: not allowed
/// for the wrong role, blocked otherwise.
pub(crate) fn refused(f: Finding) -> IpcError {
    IpcError {
        code: if f.code == FindingCode::RoleNotAllowed {
            ErrorCode::NotAllowed
        } else {
            ErrorCode::Blocked
        },
        message: f.message.clone(),
        findings: vec![f],
    }
}

/// The longest a home may leave an idle tablet unlocked. Longer and an unattended tablet on a
/// trolley stays signed in as the last person through a whole round.
pub const MAX_IDLE_LOCK_MINUTES: u32 = 30;

impl Bedside {
    /// The home's active staff with their PIN's state on this tablet, for a senior (S19).
    pub fn staff_pins(&mut self) -> Result<StaffPinsView, IpcError> {
        let me = self.who()?;
        if !me.role.is_senior() {
            return Err(IpcError::new(
                ErrorCode::NotAllowed,
                "Only a senior carer or manager can manage PINs.",
            ));
        }
        let staff = self.store().staff().map_err(storage)?;
        let name_of = |id: &medround_domain::StaffId| {
            staff
                .iter()
                .find(|s| &s.id == id)
                .map(|s| s.name.clone())
                .unwrap_or_else(|| id.to_string())
        };
        let mut rows = Vec::new();
        for s in staff.iter().filter(|s| s.active) {
            let status = self.store().pin_status(&s.id).map_err(storage)?;
            rows.push(StaffPinRow {
                staff: staff_card(s),
                has_pin: status.set,
                locked: status.locked,
                last_reset: match (status.set_by, status.set_at) {
                    (Some(by), Some(at)) => Some(format!(
                        "Reset by {}, {}",
                        name_of(&by),
                        local(at, "%-d %b %Y %H:%M")
                    )),
                    _ => None,
                },
                may_reset: check_pin_reset(&me, s).is_none(),
                medication_trained: s.medication_trained,
                homely_authorised: s.homely_authorised,
            });
        }
        Ok(StaffPinsView {
            rows,
            idle_lock_minutes: self.idle_lock(),
            lock_after_each_resident: self.lock_after_each_resident(),
            may_change_lock: me.role == Role::Manager,
            may_edit_staff: me.role == Role::Manager,
        })
    }

    /// A manager adds a member of staff or changes one (S19). Someone who has left is closed,
    /// never deleted: their name stays on every record they made, and their PIN stops working
    /// here at once and on the home's other tablets at their next sync.
    pub fn save_staff(&mut self, edit: &SaveStaff) -> Result<StaffSaved, IpcError> {
        let me = self.who()?;
        let before =
            match &edit.id {
                Some(id) => Some(self.store().staff_member(id).map_err(storage)?.ok_or_else(
                    || {
                        IpcError::new(
                            ErrorCode::NotFound,
                            "That person is not on the home's staff.",
                        )
                    },
                )?),
                None => None,
            };
        let after = Staff {
            id: match &before {
                Some(b) => b.id.clone(),
                None => StaffId::new(self.new_record_id("st").as_str()),
            },
            name: edit.name.trim().to_string(),
            initials: edit.initials.trim().to_uppercase(),
            role: edit.role,
            medication_trained: edit.medication_trained,
            homely_authorised: edit.homely_authorised,
            active: edit.active,
        };
        if let Some(f) = check_staff_change(&me, before.as_ref(), &after) {
            return Err(refused(f));
        }
        let now = self.now();
        self.store_mut()
            .put_staff(&after, Some(&me.id), now)
            .map_err(storage)?;
        let message = match &before {
            None => format!(
                "{} added as {}. Now set their PIN: hand them the tablet to type it.",
                after.name,
                after.role.label().to_lowercase()
            ),
            Some(b) if b.active && !after.active => format!(
                "{} has left: their PIN no longer signs in, here at once and on the home's other tablets after the next sync. Their records keep their name.",
                after.name
            ),
            Some(_) => format!("Details saved for {}.", after.name),
        };
        Ok(StaffSaved {
            id: after.id.to_string(),
            message,
        })
    }

    /// A senior sets a new PIN for another member of staff, who types it in themselves. The new
    /// PIN unlocks the account here at once and on the home's other tablets at their next sync.
    pub fn reset_pin(&mut self, staff_id: &str, pin: &str) -> Result<Done, IpcError> {
        let me = self.who()?;
        let target = self
            .store()
            .staff_member(staff_id)
            .map_err(storage)?
            .filter(|s| s.active)
            .ok_or_else(|| {
                IpcError::new(
                    ErrorCode::NotFound,
                    "That person is not on the home's staff.",
                )
            })?;
        if let Some(f) = check_pin_reset(&me, &target) {
            return Err(refused(f));
        }
        if !pin_is_acceptable(pin) {
            return Err(IpcError::new(
                ErrorCode::BadInput,
                "A PIN is 4 to 8 digits, and not one guessed first (1111, 1234 or 4321). \
                 Choose another.",
            ));
        }
        let now = self.now();
        self.store_mut()
            .set_pin(&target.id, pin, Some(&me.id), now)
            .map_err(storage)?;
        Ok(Done::said(format!(
            "New PIN set for {}. It works on this tablet now, and on the home's other tablets after their next sync.",
            target.name
        )))
    }

    /// A manager sets how this tablet locks itself: after so many idle minutes, and after each
    /// resident if the home chooses (S19).
    pub fn set_screen_lock(
        &mut self,
        idle_lock_minutes: u32,
        lock_after_each_resident: bool,
    ) -> Result<Done, IpcError> {
        let me = self.who()?;
        if me.role != Role::Manager {
            return Err(IpcError::new(
                ErrorCode::NotAllowed,
                "Only a manager can change how the tablet locks.",
            ));
        }
        if !(1..=MAX_IDLE_LOCK_MINUTES).contains(&idle_lock_minutes) {
            return Err(IpcError::new(
                ErrorCode::BadInput,
                format!("The screen locks after 1 to {MAX_IDLE_LOCK_MINUTES} idle minutes."),
            ));
        }
        let minutes = idle_lock_minutes.to_string();
        self.store_mut()
            .set_meta_all(&[
                ("idle_lock_minutes", &minutes),
                (
                    "lock_after_each_resident",
                    if lock_after_each_resident { "1" } else { "0" },
                ),
            ])
            .map_err(storage)?;
        Ok(Done::said(format!(
            "This tablet now locks after {idle_lock_minutes} idle minute{}{}.",
            if idle_lock_minutes == 1 { "" } else { "s" },
            if lock_after_each_resident {
                " and after each resident"
            } else {
                ""
            }
        )))
    }
}
