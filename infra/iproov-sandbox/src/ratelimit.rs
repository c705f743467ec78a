//! The per-`api_key` rate limit of the token endpoints, switched on by
//! `PUT /sandbox/rate-limit`. iProov documents 429 on exactly those endpoints, and a client's
//! backoff is only tested if something actually answers 429 under load.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

const WINDOW: Duration = Duration::from_secs(1);
/// Beyond this many tracked keys, idle ones are dropped (garbage keys must not pile up).
const MAX_TRACKED_KEYS: usize = 1024;

/// A sliding one-second window per api_key.
#[derive(Debug, Default)]
pub struct RateLimiter {
    per_second: Option<u32>,
    windows: HashMap<String, VecDeque<Instant>>,
}

impl RateLimiter {
    /// `None` (or 0) switches the limit off.
    pub fn set(&mut self, per_second: Option<u32>) {
        self.per_second = per_second.filter(|limit| *limit > 0);
        self.windows.clear();
    }

    pub fn per_second(&self) -> Option<u32> {
        self.per_second
    }

    /// Counts a call for `api_key`; false when it is over the limit (and then not counted).
    pub fn allow(&mut self, api_key: &str, now: Instant) -> bool {
        let Some(limit) = self.per_second else {
            return true;
        };
        if self.windows.len() >= MAX_TRACKED_KEYS {
            self.windows.retain(|_, window| {
                window
                    .back()
                    .is_some_and(|last| now.duration_since(*last) < WINDOW)
            });
        }
        let window = self.windows.entry(api_key.to_owned()).or_default();
        while window
            .front()
            .is_some_and(|first| now.duration_since(*first) >= WINDOW)
        {
            window.pop_front();
        }
        if window.len() >= limit as usize {
            return false;
        }
        window.push_back(now);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_over_the_limit_are_refused_until_the_window_slides() {
        let now = Instant::now();
        let mut limiter = RateLimiter::default();
        assert!(limiter.allow("k", now));
        limiter.set(Some(2));
        assert!(limiter.allow("k", now));
        assert!(limiter.allow("k", now));
        assert!(!limiter.allow("k", now));
        assert!(limiter.allow("other", now));
        assert!(limiter.allow("k", now + WINDOW));
        limiter.set(Some(0));
        assert!(limiter.allow("k", now));
    }
}
