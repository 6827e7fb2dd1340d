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

/// A PIN's state on this tablet, as a senior managing PINs sees it; reading it tries nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinStatus {
    pub set: bool,
    /// Locked here after too many wrong tries against the current PIN.
    pub locked: bool,
    /// Who reset it and when, if another senior did.
    pub set_by: Option<StaffId>,
    pub set_at: Option<DateTime<Utc>>,
}

impl Store {
    /// Sets (or resets) a PIN: the new hash goes to every tablet of the home at the next sync,
    /// and the count of wrong tries starts again. `set_by` is the senior who reset it (S19);
    /// none when the home is first set up.
    pub fn set_pin(
        &mut self,
        staff: &StaffId,
        pin: &str,
        set_by: Option<&StaffId>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        // A PIN already set is replaced only by another senior's reset (S19): the home's other
        // tablets and the central record refuse any other replacement.
        if set_by.is_none() && self.verifier(staff)?.is_some() {
            return Err(StoreError::Refused(format!(
                "the PIN of {staff} is set already; another senior resets it (S19)"
            )));
        }
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
            set_by: set_by.map(|s| s.to_string()),
            set_at: set_by.map(|_| now),
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
                set_by: None,
                set_at: None,
            };
            self.write(
                "home",
                now,
                &[(format!("pin/{staff}"), serde_json::to_string(&v)?)],
            )?;
        }
        Ok(())
    }

    /// The PIN verifier the home holds for `staff`, and the wrong tries counted here against
    /// that same hash (a new hash means a reset, so the count starts again).
    fn verifier(&self, staff: &StaffId) -> Result<Option<(PinVerifier, PinLock)>> {
        let verifier: Option<String> = self
            .conn
            .query_row(
                "SELECT json FROM p_pins WHERE staff_id = ?1",
                [staff.as_str()],
                |r| r.get(0),
            )
            .optional()?;
        let Some(verifier) = verifier else {
            return Ok(None);
        };
        let v = serde_json::from_str::<PinVerifier>(&verifier)?;
        let failures: u32 = self
            .conn
            .query_row(
                "SELECT failures FROM local_pins WHERE staff_id = ?1 AND hash = ?2",
                params![staff.as_str(), v.hash],
                |r| r.get(0),
            )
            .optional()?
            .unwrap_or(0);
        Ok(Some((v, PinLock { failures })))
    }

    /// Whether `staff` has a PIN on this tablet and whether it is locked here, without a try.
    pub fn pin_status(&self, staff: &StaffId) -> Result<PinStatus> {
        Ok(match self.verifier(staff)? {
            None => PinStatus {
                set: false,
                locked: false,
                set_by: None,
                set_at: None,
            },
            Some((v, lock)) => PinStatus {
                set: true,
                locked: lock.is_locked(),
                set_by: v.set_by.map(StaffId::new),
                set_at: v.set_at,
            },
        })
    }

    /// Checks a PIN, counting failures; a locked account is refused without checking.
    pub fn check_pin(&mut self, staff: &StaffId, pin: &str) -> Result<PinCheck> {
        let Some((PinVerifier { hash, .. }, lock)) = self.verifier(staff)? else {
            return Ok(PinCheck::NoPin);
        };
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
