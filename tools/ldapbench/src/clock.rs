//! The tool's one reading of the monotonic clock (the workspace bans `Instant::now` elsewhere):
//! a benchmark measures real time. Nothing else here may read a clock.

use std::time::{Duration, Instant};

/// Time since `start`.
#[derive(Debug, Clone, Copy)]
pub struct Stopwatch(Instant);

impl Stopwatch {
    /// Starts now.
    #[allow(clippy::disallowed_methods)] // the load tool measures wall-clock latency
    pub fn start() -> Self {
        Stopwatch(Instant::now())
    }

    /// How long since `start`.
    pub fn elapsed(&self) -> Duration {
        self.0.elapsed()
    }
}
