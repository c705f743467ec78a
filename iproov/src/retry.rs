//! Backoff with full jitter, and the time budget of one logical call.
//!
//! Full jitter (a delay drawn uniformly between zero and an exponentially growing cap) spreads
//! the retries of many Lambda instances hit by the same 429 or outage, instead of having them
//! return in lockstep and hit iProov's quota together.

use std::time::Duration;

use rand::{Rng, RngExt};
use tokio::time::Instant;

/// How hard a call tries before giving up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in total, the first included, for transient failures (429, 5xx, timeouts,
    /// network). The single retry after a credential refresh or OAuth renewal comes on top.
    pub max_attempts: u32,
    /// Cap of the first backoff delay; the cap doubles with each retry.
    pub base_delay: Duration,
    /// Largest backoff cap.
    pub max_delay: Duration,
    /// Time budget of the whole call, attempts and sleeps included. No sleep is started that
    /// would end past it, and token calls get at most what is left of it as their timeout.
    pub max_total: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 4,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(2),
            max_total: Duration::from_secs(5),
        }
    }
}

impl RetryPolicy {
    /// The largest delay before retry number `retry` (1 for the first retry):
    /// `min(max_delay, base_delay * 2^(retry-1))`.
    pub fn backoff_cap(&self, retry: u32) -> Duration {
        let doublings = retry.saturating_sub(1).min(31);
        self.base_delay
            .saturating_mul(1u32 << doublings)
            .min(self.max_delay)
    }

    /// A delay drawn uniformly from `[0, backoff_cap(retry)]` (full jitter). When iProov asked
    /// for a pause with `Retry-After`, the delay is at least that pause, capped by `max_delay`.
    pub(crate) fn delay<R: Rng + ?Sized>(
        &self,
        retry: u32,
        retry_after: Option<Duration>,
        rng: &mut R,
    ) -> Duration {
        let cap = u64::try_from(self.backoff_cap(retry).as_millis()).unwrap_or(u64::MAX);
        let jittered = Duration::from_millis(rng.random_range(0..=cap));
        match retry_after {
            Some(asked) => jittered.max(asked.min(self.max_delay)),
            None => jittered,
        }
    }
}

/// The clock of one logical call, started before its first attempt.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Budget {
    started: Instant,
    deadline: Instant,
}

impl Budget {
    pub(crate) fn start(total: Duration) -> Self {
        let started = Instant::now();
        Self {
            started,
            deadline: started + total,
        }
    }

    pub(crate) fn remaining(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }

    pub(crate) fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// Whether sleeping `delay` still leaves time for another attempt.
    pub(crate) fn allows_sleep(&self, delay: Duration) -> bool {
        Instant::now() + delay < self.deadline
    }
}

/// Milliseconds for log fields.
pub(crate) fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    #[test]
    fn cap_doubles_from_base_and_stops_at_max() {
        let p = RetryPolicy::default();
        let caps: Vec<u64> = (1..=7).map(|r| millis(p.backoff_cap(r))).collect();
        assert_eq!(caps, [100, 200, 400, 800, 1600, 2000, 2000]);
        assert_eq!(p.backoff_cap(u32::MAX), p.max_delay);
    }

    #[test]
    fn jitter_is_full_spreading_from_zero_to_the_cap_so_delays_grow_on_average() {
        // GIVEN a seeded generator and the default policy
        let p = RetryPolicy::default();
        let mut rng = StdRng::seed_from_u64(7);
        let mut means = Vec::new();
        for retry in 1..=4 {
            // WHEN many delays are drawn for one retry number
            let samples: Vec<u64> = (0..2000)
                .map(|_| millis(p.delay(retry, None, &mut rng)))
                .collect();
            let cap = millis(p.backoff_cap(retry));
            // THEN they cover [0, cap] and never exceed it
            assert!(samples.iter().all(|&d| d <= cap));
            assert!(samples.iter().any(|&d| d < cap / 10));
            assert!(samples.iter().any(|&d| d > cap * 9 / 10));
            means.push(samples.iter().sum::<u64>() / samples.len() as u64);
        }
        // AND the mean delay roughly doubles with each retry
        for pair in means.windows(2) {
            assert!(pair[1] > pair[0] * 3 / 2, "means {means:?}");
        }
    }

    #[test]
    fn retry_after_raises_the_delay_but_never_beyond_max_delay() {
        let p = RetryPolicy::default();
        let mut rng = StdRng::seed_from_u64(1);
        let d = p.delay(1, Some(Duration::from_millis(700)), &mut rng);
        assert!(
            d >= Duration::from_millis(700)
                && d <= Duration::from_millis(700).max(p.backoff_cap(1))
        );
        let d = p.delay(1, Some(Duration::from_secs(60)), &mut rng);
        assert_eq!(d, p.max_delay);
    }
}
