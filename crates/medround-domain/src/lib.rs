//! The medication round's rules, as pure functions over plain data.
//!
//! This crate does no IO and reads no clock: every function that needs the time takes `now`, and
//! every record's id is made by the caller. Clinical checks return [`finding::Finding`]s (block or warn,
//! each naming its safety rule S1-S19 from `shared/domain.md`) as data; `Result` is kept for input
//! that cannot be understood at all, such as a malformed barcode.

pub mod admission;
pub mod allergen;
pub mod barcode;
pub mod cd;
pub mod checks;
pub mod entail;
pub mod fact;
pub mod finding;
pub mod homely;
pub mod ids;
pub mod incident;
pub mod mar;
pub mod medicine;
pub mod order;
pub mod order_entry;
pub mod outcome;
#[cfg(test)]
mod properties;
pub mod qty;
pub mod record;
pub mod resident;
pub mod review;
pub mod rules;
pub mod schedule;
pub mod staff;
pub mod stock;
pub mod tablet;
pub mod text;

pub use ids::*;
pub use qty::Qty;
