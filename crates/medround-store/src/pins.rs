//! Personal PINs (S19), hashed with Argon2id. Kept on the device only.

use crate::{Result, Store, StoreError};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use medround_domain::staff::PinLock;
use medround_domain::StaffId;
use rusqlite::{params, OptionalExtension};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinCheck {
    Ok,
    Wrong { attempts_left: u32 },
    Locked,
    NoPin,
}

impl Store {
    pub fn set_pin(&mut self, staff: &StaffId, pin: &str) -> Result<()> {
        // 16 random bytes from the OS, through UUIDv4.
        let salt = SaltString::encode_b64(uuid::Uuid::new_v4().as_bytes())
            .map_err(|e| StoreError::Corrupt(format!("salt: {e}")))?;
        let hash = Argon2::default()
            .hash_password(pin.as_bytes(), &salt)
            .map_err(|e| StoreError::Corrupt(format!("hashing: {e}")))?
            .to_string();
        self.conn.execute(
            "INSERT INTO local_pins (staff_id, hash, failures) VALUES (?1, ?2, 0)
             ON CONFLICT (staff_id) DO UPDATE SET hash = excluded.hash, failures = 0",
            params![staff.as_str(), hash],
        )?;
        Ok(())
    }

    /// Checks a PIN, counting failures; a locked account is refused without checking.
    pub fn check_pin(&mut self, staff: &StaffId, pin: &str) -> Result<PinCheck> {
        let row: Option<(String, u32)> = self
            .conn
            .query_row(
                "SELECT hash, failures FROM local_pins WHERE staff_id = ?1",
                [staff.as_str()],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let Some((hash, failures)) = row else {
            return Ok(PinCheck::NoPin);
        };
        let lock = PinLock { failures };
        if lock.is_locked() {
            return Ok(PinCheck::Locked);
        }
        let parsed =
            PasswordHash::new(&hash).map_err(|e| StoreError::Corrupt(format!("pin hash: {e}")))?;
        let ok = Argon2::default()
            .verify_password(pin.as_bytes(), &parsed)
            .is_ok();
        let next = if ok {
            lock.after_success()
        } else {
            lock.after_failure()
        };
        self.conn.execute(
            "UPDATE local_pins SET failures = ?2 WHERE staff_id = ?1",
            params![staff.as_str(), next.failures],
        )?;
        Ok(if ok {
            PinCheck::Ok
        } else if next.is_locked() {
            PinCheck::Locked
        } else {
            PinCheck::Wrong {
                attempts_left: next.attempts_left(),
            }
        })
    }
}
