//! The home's tablets by name, so that a record's device can be shown as the tablet a person
//! would recognise ("Rowan unit trolley") rather than as an id.

use crate::ids::DeviceId;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Longest tablet name the central record accepts at enrolment.
pub const MAX_NAME_CHARS: usize = 100;

/// One tablet of the home, written into the home document by the tablet itself when it is
/// enrolled with the central record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tablet {
    /// The id the tablet writes on its records.
    pub id: DeviceId,
    /// The id the central record enrolled it under (it authenticates with this one).
    pub central: String,
    /// The name given at enrolment.
    pub name: String,
    pub enrolled: DateTime<Utc>,
}

/// Whether a tablet's (or a home's) name is one to keep: not blank, at most `MAX_NAME_CHARS`
/// characters (characters, not bytes: "Gŵyr unit" is nine), and no control or bidirectional
/// formatting characters (`text::readable`).
pub fn valid_name(name: &str) -> bool {
    crate::text::readable(name.trim(), MAX_NAME_CHARS)
}

impl Tablet {
    pub fn name_is_valid(&self) -> bool {
        valid_name(&self.name)
    }
}
