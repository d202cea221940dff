//! The limit on public RPCs: a token bucket per source address.
//!
//! Public callers (VerifyCertificate) have no principal, so the gate's per-principal slots
//! cannot hold them back; without a limit one source could walk certificate numbers with a
//! name, or crowd everyone else out. Each source address gets a bucket of `burst` tokens
//! refilled at `per_minute`; a request takes one, and a request that finds none is told
//! how long until the next one (RESOURCE_EXHAUSTED with RetryInfo).
//!
//! IPv6 sources count by their /64: one subscriber is given a whole /64, and counting each
//! address would give them 2^64 buckets.
//!
//! The table is bounded at `max_addresses` buckets. When it is full, buckets that have
//! refilled are forgotten first: a forgotten address starts again with a full bucket, so
//! forgetting a full one gives nothing away. If none has refilled, new addresses share one
//! overflow bucket until some do: a flood of fresh addresses then limits only itself, and
//! cannot reset the bucket of an address already known by pushing it out.
//!
//! Time is passed in, so the behaviour is tested without waiting.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Requests per minute and burst for each source address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Tokens added per minute (at least 1).
    pub per_minute: u32,
    /// The bucket's size: requests allowed at once after a pause (at least 1).
    pub burst: u32,
}

impl Default for RateLimit {
    /// 30 a minute with bursts of 10: a person checking certificates by hand, or an HR
    /// office behind one address checking a batch, never meets it; a script walking
    /// certificate numbers gets 43,200 guesses a day instead of millions.
    fn default() -> Self {
        RateLimit {
            per_minute: 30,
            burst: 10,
        }
    }
}

/// Addresses remembered at once, by default: 10,000 buckets of 40 bytes or so.
pub const DEFAULT_MAX_ADDRESSES: usize = 10_000;

/// Token buckets by source address, bounded in number.
pub(crate) struct AddressLimiter {
    per_second: f64,
    burst: f64,
    max_addresses: usize,
    table: Mutex<Table>,
}

struct Table {
    buckets: HashMap<IpAddr, Bucket>,
    /// Shared by new addresses while the table is full of buckets still in use.
    overflow: Bucket,
    /// When full buckets were last swept out, so a flood does not sweep on every request.
    last_sweep: Option<Instant>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// How often a full table is swept at most.
const SWEEP_INTERVAL: Duration = Duration::from_secs(1);

impl AddressLimiter {
    pub(crate) fn new(limit: RateLimit, max_addresses: usize, now: Instant) -> Self {
        let burst = f64::from(limit.burst.max(1));
        AddressLimiter {
            per_second: f64::from(limit.per_minute.max(1)) / 60.0,
            burst,
            max_addresses: max_addresses.max(1),
            table: Mutex::new(Table {
                buckets: HashMap::new(),
                overflow: Bucket {
                    tokens: burst,
                    updated: now,
                },
                last_sweep: None,
            }),
        }
    }

    /// Takes a token for `address` (`None`: a caller without one, counted together) at
    /// `now`; `Err` says how long until one is free.
    pub(crate) fn check(&self, address: Option<IpAddr>, now: Instant) -> Result<(), Duration> {
        let key = address.map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), source);
        let mut table = self.table.lock().expect("address limiter lock");
        if !table.buckets.contains_key(&key) && table.buckets.len() >= self.max_addresses {
            self.sweep(&mut table, now);
        }
        let fresh = Bucket {
            tokens: self.burst,
            updated: now,
        };
        let room = table.buckets.len() < self.max_addresses;
        let bucket = match table.buckets.contains_key(&key) || room {
            true => table.buckets.entry(key).or_insert(fresh),
            false => &mut table.overflow,
        };
        self.take(bucket, now)
    }

    /// The number of addresses remembered.
    #[cfg(test)]
    fn remembered(&self) -> usize {
        self.table.lock().unwrap().buckets.len()
    }

    fn take(&self, bucket: &mut Bucket, now: Instant) -> Result<(), Duration> {
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.per_second).min(self.burst);
        bucket.updated = now.max(bucket.updated);
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64(
                (1.0 - bucket.tokens) / self.per_second,
            ))
        }
    }

    /// Forgets the buckets that have refilled, at most once a [`SWEEP_INTERVAL`].
    fn sweep(&self, table: &mut Table, now: Instant) {
        if table
            .last_sweep
            .is_some_and(|last| now.saturating_duration_since(last) < SWEEP_INTERVAL)
        {
            return;
        }
        table.last_sweep = Some(now);
        let (per_second, burst) = (self.per_second, self.burst);
        table.buckets.retain(|_, bucket| {
            let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
            bucket.tokens + elapsed * per_second < burst
        });
    }
}

/// The key an address counts under: itself for IPv4 (and IPv4-mapped IPv6), its /64 for
/// IPv6.
fn source(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let mut segments = v6.segments();
                segments[4..].fill(0);
                IpAddr::V6(Ipv6Addr::from(segments))
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMIT: RateLimit = RateLimit {
        per_minute: 60,
        burst: 3,
    };

    fn ip(text: &str) -> Option<IpAddr> {
        Some(text.parse().unwrap())
    }

    #[test]
    fn a_burst_past_the_bucket_waits_and_other_addresses_do_not() {
        let start = Instant::now();
        let limiter = AddressLimiter::new(LIMIT, 100, start);
        for _ in 0..3 {
            assert_eq!(limiter.check(ip("192.0.2.1"), start), Ok(()));
        }
        let wait = limiter.check(ip("192.0.2.1"), start).unwrap_err();
        assert_eq!(wait, Duration::from_secs(1), "one token a second");
        assert_eq!(limiter.check(ip("192.0.2.2"), start), Ok(()));
        let later = start + Duration::from_millis(999);
        assert!(limiter.check(ip("192.0.2.1"), later).is_err());
        let later = start + Duration::from_secs(2);
        assert_eq!(limiter.check(ip("192.0.2.1"), later), Ok(()));
        assert_eq!(limiter.check(ip("192.0.2.1"), later), Ok(()));
        assert!(limiter.check(ip("192.0.2.1"), later).is_err());
    }

    #[test]
    fn ipv6_counts_by_its_64_and_mapped_ipv4_as_ipv4() {
        let now = Instant::now();
        let limiter = AddressLimiter::new(LIMIT, 100, now);
        for n in 1..=3 {
            assert!(limiter
                .check(ip(&format!("2001:db8:1:2::{n}")), now)
                .is_ok());
        }
        assert!(limiter.check(ip("2001:db8:1:2:ffff::9"), now).is_err());
        assert!(limiter.check(ip("2001:db8:1:3::1"), now).is_ok());
        for _ in 0..3 {
            assert!(limiter.check(ip("192.0.2.7"), now).is_ok());
        }
        assert!(limiter.check(ip("::ffff:192.0.2.7"), now).is_err());
    }

    #[test]
    fn the_table_is_bounded_and_a_flood_cannot_reset_a_known_bucket() {
        let start = Instant::now();
        let limiter = AddressLimiter::new(LIMIT, 2, start);
        for _ in 0..3 {
            assert!(limiter.check(ip("192.0.2.1"), start).is_ok());
        }
        assert!(limiter.check(ip("192.0.2.2"), start).is_ok());
        // Full, and nobody has refilled: new addresses share the overflow bucket.
        for n in 3..6 {
            assert!(limiter.check(ip(&format!("192.0.2.{n}")), start).is_ok());
        }
        assert!(limiter.check(ip("192.0.2.9"), start).is_err());
        assert_eq!(limiter.remembered(), 2);
        // The flood did not push 192.0.2.1 out to give it a fresh bucket.
        assert!(limiter.check(ip("192.0.2.1"), start).is_err());
        // Once buckets have refilled they are forgotten, and make room.
        let later = start + Duration::from_secs(10);
        assert!(limiter.check(ip("192.0.2.10"), later).is_ok());
        assert!(limiter.remembered() <= 2);
        for _ in 0..3 {
            assert!(limiter.check(ip("192.0.2.11"), later).is_ok());
        }
        assert!(limiter.check(ip("192.0.2.11"), later).is_err());
    }

    #[test]
    fn callers_without_an_address_share_one_bucket() {
        let now = Instant::now();
        let limiter = AddressLimiter::new(LIMIT, 100, now);
        for _ in 0..3 {
            assert!(limiter.check(None, now).is_ok());
        }
        assert!(limiter.check(None, now).is_err());
    }
}
