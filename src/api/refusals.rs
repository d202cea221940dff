//! The limit on a principal's refusals: what keeps a sweep slow.
//!
//! A NOT_FOUND, ALREADY_EXISTS or PERMISSION_DENIED tells the caller something about what
//! the registry holds (an identity number's holder exists, a certificate number is taken).
//! Each answer is harmless; a thousand a second is a search of numbers. So every principal
//! but an admin (who may see everything anyway) has a bucket of refusals: `burst` of them
//! at once, refilled at `per_minute`. A principal whose bucket is empty is answered
//! RESOURCE_EXHAUSTED, with RetryInfo, for anything until it refills: a clerk who mistypes
//! a number now and then never meets it, a script walking numbers gets `per_minute` tries.
//!
//! The same buckets count each principal's entries of the read audit (its budget, see
//! `api::audit`).
//!
//! Principals are the auth file's few names, so the table needs no bound of its own.
//! Time is passed in, so the behaviour is tested without waiting.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tonic::Code;

use crate::api::address_limit::RateLimit;

/// Refusals per minute and burst for each principal, by default: a hundred mistakes at
/// once, then one a second.
pub const DEFAULT_REFUSAL_LIMIT: RateLimit = RateLimit {
    per_minute: 60,
    burst: 100,
};

/// Entries of the read audit per minute and burst for each principal, by default (see
/// `api::audit`): ten thousand at once (a night's batch of lookups), then one a second.
/// Kept 180 days, that is at most some 26 million entries a principal, not the 1.5
/// billion its rate of requests would write.
pub const DEFAULT_AUDIT_BUDGET: RateLimit = RateLimit {
    per_minute: 60,
    burst: 10_000,
};

/// Whether an answer of this code is a refusal that tells the caller about the data.
pub(crate) fn is_revealing(code: Code) -> bool {
    matches!(
        code,
        Code::NotFound | Code::AlreadyExists | Code::PermissionDenied
    )
}

/// Token buckets of refusals by principal name.
pub(crate) struct RefusalLimiter {
    per_second: f64,
    burst: f64,
    buckets: Mutex<HashMap<String, Bucket>>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

impl RefusalLimiter {
    pub(crate) fn new(limit: RateLimit) -> Self {
        RefusalLimiter {
            per_second: f64::from(limit.per_minute.max(1)) / 60.0,
            burst: f64::from(limit.burst.max(1)),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// `Err` says how long until `principal` may be refused again, if it has no refusal
    /// left at `now`.
    pub(crate) fn check(&self, principal: &str, now: Instant) -> Result<(), Duration> {
        let mut buckets = self.buckets.lock().expect("refusal limiter lock");
        let Some(bucket) = buckets.get_mut(principal) else {
            return Ok(());
        };
        self.refill(bucket, now);
        match bucket.tokens >= 1.0 {
            true => Ok(()),
            false => Err(Duration::from_secs_f64(
                (1.0 - bucket.tokens) / self.per_second,
            )),
        }
    }

    /// Counts one refusal of `principal` at `now`.
    pub(crate) fn record(&self, principal: &str, now: Instant) {
        let mut buckets = self.buckets.lock().expect("refusal limiter lock");
        let bucket = buckets.entry(principal.to_string()).or_insert(Bucket {
            tokens: self.burst,
            updated: now,
        });
        self.refill(bucket, now);
        bucket.tokens = (bucket.tokens - 1.0).max(0.0);
    }

    fn refill(&self, bucket: &mut Bucket, now: Instant) {
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.per_second).min(self.burst);
        bucket.updated = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_principal_is_held_back_after_its_burst_and_let_in_as_it_refills() {
        let limiter = RefusalLimiter::new(RateLimit {
            per_minute: 60,
            burst: 3,
        });
        let start = Instant::now();
        for _ in 0..3 {
            assert!(limiter.check("clerk", start).is_ok());
            limiter.record("clerk", start);
        }
        let wait = limiter.check("clerk", start).unwrap_err();
        assert_eq!(wait.as_secs_f64().round(), 1.0);
        assert!(limiter.check("other", start).is_ok(), "others are not held");
        assert!(limiter.check("clerk", start + wait).is_ok());
    }
}
