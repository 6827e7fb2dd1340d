//! Where "now" comes from. The domain never reads a clock; this crate reads exactly one, chosen
//! by the shell: the system clock, a shifted clock for the training home, or a fake clock in tests.

use chrono::{DateTime, Duration, Utc};
use std::sync::{Arc, Mutex};

pub trait Clock: Send + std::fmt::Debug {
    fn now(&self) -> DateTime<Utc>;
}

#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// Real time moved to start at a chosen instant: the training home runs "at 07:55 on a Monday"
/// whenever it is opened, so a round is always due. Never used for a real home.
#[derive(Debug, Clone, Copy)]
pub struct TrainingClock {
    offset: Duration,
}

impl TrainingClock {
    pub fn starting_at(start: DateTime<Utc>) -> Self {
        TrainingClock {
            offset: start - Utc::now(),
        }
    }
}

impl Clock for TrainingClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now() + self.offset
    }
}

/// A clock that moves only when told to, for tests.
#[derive(Debug, Clone)]
pub struct FakeClock(Arc<Mutex<DateTime<Utc>>>);

impl FakeClock {
    pub fn at(t: DateTime<Utc>) -> Self {
        FakeClock(Arc::new(Mutex::new(t)))
    }
    pub fn set(&self, t: DateTime<Utc>) {
        *self.0.lock().expect("clock lock") = t;
    }
    pub fn advance(&self, d: Duration) {
        *self.0.lock().expect("clock lock") += d;
    }
}

impl Clock for FakeClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().expect("clock lock")
    }
}
