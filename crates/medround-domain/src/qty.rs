//! Quantities in thousandths of a unit, so that a CD balance of 2.5 ml minus 2.5 ml is exactly zero
//! and never a tiny negative number (S7 forbids a negative balance).

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::ops::{Add, AddAssign, Neg, Sub, SubAssign};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Qty(i64);

impl Qty {
    pub const ZERO: Qty = Qty(0);

    pub const fn milli(m: i64) -> Self {
        Qty(m)
    }
    pub const fn whole(n: i64) -> Self {
        Qty(n * 1000)
    }
    /// Rounds to the nearest thousandth; a dose is never more precise than that.
    pub fn from_f64(v: f64) -> Self {
        Qty((v * 1000.0).round() as i64)
    }
    pub fn as_f64(self) -> f64 {
        self.0 as f64 / 1000.0
    }
    pub const fn as_milli(self) -> i64 {
        self.0
    }
    pub fn is_negative(self) -> bool {
        self.0 < 0
    }
    pub fn is_positive(self) -> bool {
        self.0 > 0
    }
    /// Multiplies by a per-unit amount expressed in the same fixed point (e.g. mg per tablet).
    pub fn times(self, per_unit: Qty) -> Qty {
        Qty(((self.0 as i128 * per_unit.0 as i128) / 1000) as i64)
    }
}

impl fmt::Display for Qty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let a = self.0.unsigned_abs();
        let (w, frac) = (a / 1000, a % 1000);
        if frac == 0 {
            write!(f, "{sign}{w}")
        } else {
            let s = format!("{frac:03}");
            write!(f, "{sign}{w}.{}", s.trim_end_matches('0'))
        }
    }
}

impl Add for Qty {
    type Output = Qty;
    fn add(self, o: Qty) -> Qty {
        Qty(self.0 + o.0)
    }
}
impl Sub for Qty {
    type Output = Qty;
    fn sub(self, o: Qty) -> Qty {
        Qty(self.0 - o.0)
    }
}
impl Neg for Qty {
    type Output = Qty;
    fn neg(self) -> Qty {
        Qty(-self.0)
    }
}
impl AddAssign for Qty {
    fn add_assign(&mut self, o: Qty) {
        self.0 += o.0;
    }
}
impl SubAssign for Qty {
    fn sub_assign(&mut self, o: Qty) {
        self.0 -= o.0;
    }
}
impl std::iter::Sum for Qty {
    fn sum<I: Iterator<Item = Qty>>(iter: I) -> Qty {
        iter.fold(Qty::ZERO, |a, b| a + b)
    }
}

// Serialized as a plain number so that documents and IPC stay readable.
impl Serialize for Qty {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(self.as_f64())
    }
}
impl<'de> Deserialize<'de> for Qty {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = f64::deserialize(d)?;
        if !v.is_finite() {
            return Err(serde::de::Error::custom("quantity must be a finite number"));
        }
        Ok(Qty::from_f64(v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fractions_cancel_exactly() {
        let mut b = Qty::from_f64(10.0);
        for _ in 0..4 {
            b -= Qty::from_f64(2.5);
        }
        assert_eq!(b, Qty::ZERO);
        assert_eq!(Qty::from_f64(2.5).to_string(), "2.5");
        assert_eq!(Qty::whole(-3).to_string(), "-3");
        assert_eq!(Qty::from_f64(0.125).to_string(), "0.125");
    }

    #[test]
    fn times_scales_per_unit_amounts() {
        // Two co-codamol 30/500 tablets carry 1000 mg of paracetamol.
        assert_eq!(Qty::whole(2).times(Qty::whole(500)), Qty::whole(1000));
    }
}
