//! Making a decoy take as long as the real thing.
//!
//! In uniform mode an unknown username gets a decoy login attempt instead of a 404. The real
//! answer waits for an iProov call; a decoy that answered at once would give the username away
//! by its speed. So each process keeps the durations of its recent real calls of one kind, and a
//! decoy waits for one of them picked at random: the decoy's delay then follows the same
//! distribution as the real calls, as observed by this process, including its slow tail.
//! Before any real call was seen, a fixed fallback stands in.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use rand::TryRng;

/// How many recent durations are kept: enough to follow the shape of the distribution, few
/// enough that a change of iProov's latency shows in the decoys after a handful of real calls.
pub const KEPT: usize = 16;

/// Recent durations of one kind of call.
pub struct LatencyMirror {
    recent: Mutex<VecDeque<Duration>>,
    fallback: Duration,
}

impl LatencyMirror {
    pub fn new(fallback: Duration) -> Self {
        Self {
            recent: Mutex::new(VecDeque::with_capacity(KEPT)),
            fallback,
        }
    }

    /// Notes how long a real call took.
    pub fn record(&self, took: Duration) {
        let mut recent = self.recent.lock().unwrap_or_else(|p| p.into_inner());
        if recent.len() == KEPT {
            recent.pop_front();
        }
        recent.push_back(took);
    }

    /// A duration a decoy should take: one of the recent real ones, at random.
    pub fn sample(&self) -> Duration {
        let recent = self.recent.lock().unwrap_or_else(|p| p.into_inner());
        if recent.is_empty() {
            return self.fallback;
        }
        // Any uniform pick will do (this is no secret); the OS generator avoids seeding one.
        let pick = rand::rngs::SysRng.try_next_u64().unwrap_or(0);
        let index = usize::try_from(pick % recent.len() as u64).unwrap_or(0);
        recent[index]
    }

    /// Waits as long as a real call would have taken, minus what the decoy already spent.
    pub async fn imitate(&self, already: Duration) {
        tokio::time::sleep(self.sample().saturating_sub(already)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn before_any_real_call_the_fallback_stands_in() {
        // given a mirror that has seen nothing
        let mirror = LatencyMirror::new(Duration::from_millis(250));
        // then a decoy waits the fallback
        assert_eq!(mirror.sample(), Duration::from_millis(250));
    }

    #[test]
    fn decoys_take_one_of_the_recent_real_durations() {
        // given real calls of 100 ms and 300 ms
        let mirror = LatencyMirror::new(Duration::ZERO);
        mirror.record(Duration::from_millis(100));
        mirror.record(Duration::from_millis(300));
        // when many decoys are timed
        let samples: Vec<_> = (0..200).map(|_| mirror.sample()).collect();
        // then each took one of them, and both occur
        assert!(
            samples
                .iter()
                .all(|s| s.as_millis() == 100 || s.as_millis() == 300)
        );
        assert!(samples.iter().any(|s| s.as_millis() == 100));
        assert!(samples.iter().any(|s| s.as_millis() == 300));
    }

    #[test]
    fn only_the_most_recent_durations_count() {
        // given a slow past and a fast present longer than the memory
        let mirror = LatencyMirror::new(Duration::ZERO);
        mirror.record(Duration::from_secs(5));
        for _ in 0..KEPT {
            mirror.record(Duration::from_millis(50));
        }
        // then the slow one is forgotten
        assert!((0..200).all(|_| mirror.sample() == Duration::from_millis(50)));
    }

    #[tokio::test]
    async fn imitate_waits_the_rest_of_the_sampled_duration() {
        // given a real call that took 60 ms, and a decoy that already spent 20 ms
        let mirror = LatencyMirror::new(Duration::ZERO);
        mirror.record(Duration::from_millis(60));
        let started = std::time::Instant::now();
        // when the decoy imitates it
        mirror.imitate(Duration::from_millis(20)).await;
        // then it waited (at least) the remaining 40 ms
        assert!(started.elapsed() >= Duration::from_millis(40));
    }
}
