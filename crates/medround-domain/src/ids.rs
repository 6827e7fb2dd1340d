//! Identifiers. They are opaque strings made by the caller (the shell uses UUIDs), so that the
//! domain stays deterministic in tests.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! id_type {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl $name {
            pub fn new(s: impl Into<String>) -> Self {
                Self(s.into())
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    )*};
}

id_type!(
    /// A person living in the home.
    ResidentId,
    /// One prescription line.
    OrderId,
    /// A member of staff.
    StaffId,
    /// A tablet (or the central record).
    DeviceId,
    /// One administration, correction, register entry or other record.
    RecordId,
    /// A care unit (floor or wing) of the home.
    UnitId,
    /// An entry of the home's homely-remedy list.
    RemedyId,
);
