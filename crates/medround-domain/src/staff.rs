//! Staff, roles and PIN lockout (S19).

use crate::finding::{Finding, FindingCode, Rule};
use crate::ids::StaffId;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Carer,
    Senior,
    Manager,
    /// Read-only: an inspector or auditor.
    Auditor,
}

impl Role {
    pub fn label(self) -> &'static str {
        match self {
            Role::Carer => "Care worker",
            Role::Senior => "Senior carer",
            Role::Manager => "Manager",
            Role::Auditor => "Auditor (read only)",
        }
    }
    pub fn is_senior(self) -> bool {
        matches!(self, Role::Senior | Role::Manager)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Staff {
    pub id: StaffId,
    pub name: String,
    pub initials: String,
    pub role: Role,
    /// Only medication-trained staff may administer or witness.
    pub medication_trained: bool,
    /// Named as authorised to give homely remedies (S17).
    #[serde(default)]
    pub homely_authorised: bool,
    #[serde(default = "yes")]
    pub active: bool,
}

fn yes() -> bool {
    true
}

impl Staff {
    pub fn may_administer(&self) -> bool {
        self.active && self.medication_trained && self.role != Role::Auditor
    }
    pub fn may_witness(&self) -> bool {
        self.may_administer()
    }
}

/// Consecutive wrong PINs before an account locks.
pub const MAX_PIN_FAILURES: u32 = 5;

/// The lock state of one account, kept on the device. A locked account stays locked until another
/// senior resets it: time alone does not unlock it, because a guessed PIN is a safeguarding matter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PinLock {
    pub failures: u32,
}

impl PinLock {
    pub fn is_locked(self) -> bool {
        self.failures >= MAX_PIN_FAILURES
    }
    pub fn after_failure(self) -> PinLock {
        PinLock {
            failures: self.failures.saturating_add(1),
        }
    }
    pub fn after_success(self) -> PinLock {
        PinLock { failures: 0 }
    }
    pub fn attempts_left(self) -> u32 {
        MAX_PIN_FAILURES.saturating_sub(self.failures)
    }
}

/// S19: a PIN reset needs another senior (not the person whose PIN it is).
pub fn check_pin_reset(actor: &Staff, target: &Staff) -> Option<Finding> {
    if actor.id == target.id {
        Some(Finding::block(
            Rule::S19,
            FindingCode::ResetNeedsAnotherSenior,
            "A PIN cannot be reset by its owner. Ask another senior.",
        ))
    } else if !actor.role.is_senior() || !actor.active {
        Some(Finding::block(
            Rule::S19,
            FindingCode::RoleNotAllowed,
            "Only a senior carer or manager can reset a PIN.",
        ))
    } else {
        None
    }
}

/// The longest name a member of staff may have, in characters.
pub const MAX_STAFF_NAME_CHARS: usize = 100;

/// S19: who may add a member of staff or change one (their name, role, training, or that they
/// have left). Only an active manager; never their own role or account, so that no manager
/// can leave the home without one by mistake; a name and initials a colleague can read.
/// `before` is the person as they were (none when added).
pub fn check_staff_change(actor: &Staff, before: Option<&Staff>, after: &Staff) -> Option<Finding> {
    if actor.role != Role::Manager || !actor.active {
        return Some(Finding::block(
            Rule::S19,
            FindingCode::RoleNotAllowed,
            "Only a manager can add staff or change their details.",
        ));
    }
    if before.is_some_and(|b| b.id == actor.id) && (after.role != actor.role || !after.active) {
        return Some(Finding::block(
            Rule::S19,
            FindingCode::OwnAccountChange,
            "You cannot change your own role or close your own account. Ask another manager.",
        ));
    }
    let name = after.name.trim();
    let initials = after.initials.trim();
    if !crate::text::readable(name, MAX_STAFF_NAME_CHARS) {
        return Some(Finding::block(
            Rule::S19,
            FindingCode::StaffDetailsInvalid,
            "Give the person's full name, as colleagues know it (at most 100 characters).",
        ));
    }
    if !(1..=4).contains(&initials.chars().count()) || !initials.chars().all(char::is_alphabetic) {
        return Some(Finding::block(
            Rule::S19,
            FindingCode::StaffDetailsInvalid,
            "Initials are 1 to 4 letters: they go on the printed MAR chart.",
        ));
    }
    None
}

/// A PIN is 4 to 8 digits; simple sequences are refused because they are guessed first.
pub fn pin_is_acceptable(pin: &str) -> bool {
    let ok_shape = (4..=8).contains(&pin.len()) && pin.bytes().all(|b| b.is_ascii_digit());
    if !ok_shape {
        return false;
    }
    let b = pin.as_bytes();
    let all_same = b.iter().all(|&c| c == b[0]);
    let ascending = b.windows(2).all(|w| w[1] == w[0] + 1);
    let descending = b.windows(2).all(|w| w[0] == w[1] + 1);
    !(all_same || ascending || descending)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn staff(id: &str, role: Role) -> Staff {
        Staff {
            id: StaffId::new(id),
            name: id.into(),
            initials: id.into(),
            role,
            medication_trained: true,
            homely_authorised: false,
            active: true,
        }
    }

    #[test]
    fn s19_lockout_after_repeated_wrong_pins() {
        let mut l = PinLock::default();
        for _ in 0..MAX_PIN_FAILURES - 1 {
            l = l.after_failure();
            assert!(!l.is_locked());
        }
        assert_eq!(l.attempts_left(), 1);
        l = l.after_failure();
        assert!(l.is_locked());
        assert!(!PinLock::default()
            .after_failure()
            .after_success()
            .is_locked());
    }

    #[test]
    fn s19_reset_needs_another_senior() {
        let senior = staff("s", Role::Senior);
        let other_senior = staff("t", Role::Senior);
        let carer = staff("c", Role::Carer);
        assert!(check_pin_reset(&other_senior, &senior).is_none());
        assert_eq!(
            check_pin_reset(&senior, &senior).unwrap().code,
            FindingCode::ResetNeedsAnotherSenior
        );
        assert_eq!(
            check_pin_reset(&carer, &senior).unwrap().code,
            FindingCode::RoleNotAllowed
        );
    }

    #[test]
    fn s19_roles_and_training_gate_administration() {
        assert!(staff("c", Role::Carer).may_administer());
        assert!(!staff("a", Role::Auditor).may_administer());
        let mut untrained = staff("u", Role::Carer);
        untrained.medication_trained = false;
        assert!(!untrained.may_administer());
    }

    #[test]
    fn s19_only_a_manager_changes_staff_and_never_their_own_account() {
        let manager = staff("m", Role::Manager);
        let new = Staff {
            name: "Priya Nair".into(),
            initials: "PN".into(),
            ..staff("p", Role::Carer)
        };
        assert!(check_staff_change(&manager, None, &new).is_none());
        for actor in [staff("s", Role::Senior), staff("c", Role::Carer)] {
            assert_eq!(
                check_staff_change(&actor, None, &new).unwrap().code,
                FindingCode::RoleNotAllowed
            );
        }
        let gone = Staff {
            active: false,
            ..manager.clone()
        };
        assert_eq!(
            check_staff_change(&gone, None, &new).unwrap().code,
            FindingCode::RoleNotAllowed
        );
        // Their own account: a new name, yes; a lesser role or leaving, no.
        let renamed = Staff {
            name: "M Jones".into(),
            initials: "MJ".into(),
            ..manager.clone()
        };
        assert!(check_staff_change(&manager, Some(&manager), &renamed).is_none());
        for own in [
            Staff {
                role: Role::Senior,
                ..renamed.clone()
            },
            Staff {
                active: false,
                ..renamed.clone()
            },
        ] {
            assert_eq!(
                check_staff_change(&manager, Some(&manager), &own)
                    .unwrap()
                    .code,
                FindingCode::OwnAccountChange
            );
        }
        // Another's account may close: a leaver's PIN stops working.
        let left = Staff {
            active: false,
            ..new.clone()
        };
        assert!(check_staff_change(&manager, Some(&new), &left).is_none());
        for (name, initials) in [
            ("", "PN"),
            ("   ", "PN"),
            ("Priya\nNair", "PN"),
            ("Priya Nair", ""),
            ("Priya Nair", "P.N"),
            ("Priya Nair", "PNAIR"),
        ] {
            let bad = Staff {
                name: name.into(),
                initials: initials.into(),
                ..new.clone()
            };
            assert_eq!(
                check_staff_change(&manager, None, &bad).unwrap().code,
                FindingCode::StaffDetailsInvalid,
                "{name:?} {initials:?}"
            );
        }
        let long = Staff {
            name: "Ŵ".repeat(MAX_STAFF_NAME_CHARS),
            initials: "ŴŴ".into(),
            ..new.clone()
        };
        assert!(check_staff_change(&manager, None, &long).is_none());
    }

    #[test]
    fn s19_weak_pins_refused() {
        assert!(pin_is_acceptable("4071"));
        assert!(!pin_is_acceptable("1234"));
        assert!(!pin_is_acceptable("0000"));
        assert!(!pin_is_acceptable("9876"));
        assert!(!pin_is_acceptable("12a4"));
        assert!(!pin_is_acceptable("123"));
    }
}
