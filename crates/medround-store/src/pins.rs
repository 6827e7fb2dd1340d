//! Personal PINs (S19), hashed with Argon2id. The hash travels in the home document (key
//! `pin/<staff>`), so staff sign in on any tablet of their home; the count of wrong tries is
//! kept per device, against the hash it counted, so a reset anywhere starts it again.

use crate::check::PinVerifier;
use crate::{Result, Store, StoreError};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use chrono::{DateTime, Utc};
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
    /// Sets (or resets) a PIN: the new hash goes to every tablet of the home at the next sync,
    /// and the count of wrong tries starts again.
    pub fn set_pin(&mut self, staff: &StaffId, pin: &str, now: DateTime<Utc>) -> Result<()> {
        // 16 random bytes from the OS, through UUIDv4.
        let salt = SaltString::encode_b64(uuid::Uuid::new_v4().as_bytes())
            .map_err(|e| StoreError::Corrupt(format!("salt: {e}")))?;
        let hash = Argon2::default()
            .hash_password(pin.as_bytes(), &salt)
            .map_err(|e| StoreError::Corrupt(format!("hashing: {e}")))?
            .to_string();
        let v = PinVerifier {
            staff: staff.to_string(),
            hash: hash.clone(),
        };
        self.write(
            "home",
            now,
            &[(format!("pin/{staff}"), serde_json::to_string(&v)?)],
        )?;
        self.conn.execute(
            "INSERT INTO local_pins (staff_id, hash, failures) VALUES (?1, ?2, 0)
             ON CONFLICT (staff_id) DO UPDATE SET hash = excluded.hash, failures = 0",
            params![staff.as_str(), hash],
        )?;
        Ok(())
    }

    /// PINs set on this tablet before they travelled with the home are published once.
    pub fn publish_local_pins(&mut self, now: DateTime<Utc>) -> Result<()> {
        let rows: Vec<(String, String)> = {
            let mut stmt = self.conn.prepare(
                "SELECT l.staff_id, l.hash FROM local_pins l
                 WHERE NOT EXISTS (SELECT 1 FROM p_pins p WHERE p.staff_id = l.staff_id)",
            )?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect::<Result<_, _>>()?
        };
        for (staff, hash) in rows {
            let v = PinVerifier {
                staff: staff.clone(),
                hash,
            };
            self.write(
                "home",
                now,
                &[(format!("pin/{staff}"), serde_json::to_string(&v)?)],
            )?;
        }
        Ok(())
    }

    /// Checks a PIN, counting failures; a locked account is refused without checking.
    pub fn check_pin(&mut self, staff: &StaffId, pin: &str) -> Result<PinCheck> {
        let verifier: Option<String> = self
            .conn
            .query_row(
                "SELECT json FROM p_pins WHERE staff_id = ?1",
                [staff.as_str()],
                |r| r.get(0),
            )
            .optional()?;
        let Some(verifier) = verifier else {
            return Ok(PinCheck::NoPin);
        };
        let hash = serde_json::from_str::<PinVerifier>(&verifier)?.hash;
        // Wrong tries counted here against this same hash; a new hash means a reset.
        let failures: u32 = self
            .conn
            .query_row(
                "SELECT failures FROM local_pins WHERE staff_id = ?1 AND hash = ?2",
                params![staff.as_str(), hash],
                |r| r.get(0),
            )
            .optional()?
            .unwrap_or(0);
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
            "INSERT INTO local_pins (staff_id, hash, failures) VALUES (?1, ?2, ?3)
             ON CONFLICT (staff_id) DO UPDATE SET hash = excluded.hash, failures = excluded.failures",
            params![staff.as_str(), hash, next.failures],
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
