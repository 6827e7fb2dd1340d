//! Staff, roles and PIN lockout (S19).

use crate::ids::StaffId;
use crate::rules::{Finding, FindingCode, Rule};
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
    fn s19_weak_pins_refused() {
        assert!(pin_is_acceptable("4071"));
        assert!(!pin_is_acceptable("1234"));
        assert!(!pin_is_acceptable("0000"));
        assert!(!pin_is_acceptable("9876"));
        assert!(!pin_is_acceptable("12a4"));
        assert!(!pin_is_acceptable("123"));
    }
}
