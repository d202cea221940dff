//! Fairness between principals: each may make so many requests, and read so many rows, a
//! second, by role.
//!
//! The in-flight limit (`gate`) bounds how much a principal holds at once, not how fast
//! it goes: one reader with 256 concurrent 1,000-row pages took the server's cores and
//! raised another county's statistics call from 0.5 ms to 45 ms. So each principal has two
//! token buckets, sized two seconds of its role's rate: requests (one per call) and rows
//! (teachers or changes in the pages it is sent: a page's size is reserved before it is
//! read, while the balance is not in debt, and what it did not fill given back after, so
//! concurrent pages cannot all start on one balance and the debt is at most one page). A principal whose requests bucket is empty, or
//! whose rows bucket is in debt, is answered RESOURCE_EXHAUSTED with RetryInfo. Admins
//! are not limited by default: they run backups, transitions and audits.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::auth::Role;

/// One role's rates; 0 means no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoleRate {
    pub requests_per_second: u32,
    pub rows_per_second: u32,
}

impl RoleRate {
    /// No limit.
    pub const UNLIMITED: RoleRate = RoleRate {
        requests_per_second: 0,
        rows_per_second: 0,
    };

    /// `REQUESTS/ROWS`, as `serve --rate reader=100/10000` spells it.
    pub fn parse(raw: &str) -> Result<RoleRate, String> {
        let (requests, rows) = raw
            .split_once('/')
            .ok_or_else(|| format!("{raw:?}: expected REQUESTS/ROWS per second, e.g. 100/10000"))?;
        let number = |s: &str| {
            s.trim()
                .parse::<u32>()
                .map_err(|_| format!("{s:?} is not a whole number (0 for no limit)"))
        };
        Ok(RoleRate {
            requests_per_second: number(requests)?,
            rows_per_second: number(rows)?,
        })
    }
}

/// The rate of each role unless told otherwise: 100 requests and 10,000 rows a second
/// for every role but admin (a clerk's screen, an export or a sync at ten 1,000-row pages
/// a second, never meet it), no limit for admins.
pub fn default_rates() -> HashMap<Role, RoleRate> {
    let everyday = RoleRate {
        requests_per_second: 100,
        rows_per_second: 10_000,
    };
    [
        (Role::Admin, RoleRate::UNLIMITED),
        (Role::Hr, everyday),
        (Role::County, everyday),
        (Role::Importer, everyday),
        (Role::Reader, everyday),
        (Role::City, everyday),
    ]
    .into_iter()
    .collect()
}

/// Buckets of requests and rows by principal name.
pub(crate) struct PrincipalRates {
    rates: HashMap<Role, RoleRate>,
    buckets: Mutex<HashMap<String, Buckets>>,
}

struct Buckets {
    requests: f64,
    rows: f64,
    updated: Instant,
}

/// A bucket holds two seconds of its rate.
const BURST_SECONDS: f64 = 2.0;

impl PrincipalRates {
    pub(crate) fn new(rates: HashMap<Role, RoleRate>) -> Self {
        PrincipalRates {
            rates,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    fn rate(&self, role: Role) -> RoleRate {
        self.rates
            .get(&role)
            .copied()
            .unwrap_or(RoleRate::UNLIMITED)
    }

    /// Takes one request of `principal` (of `role`) at `now`; `Err` says how long to wait.
    pub(crate) fn admit(&self, principal: &str, role: Role, now: Instant) -> Result<(), Duration> {
        let rate = self.rate(role);
        if rate == RoleRate::UNLIMITED {
            return Ok(());
        }
        let mut table = self.buckets.lock().expect("rate lock");
        let buckets = Buckets::of(&mut table, principal, rate, now);
        if rate.rows_per_second > 0 && buckets.rows < 0.0 {
            let wait = -buckets.rows / f64::from(rate.rows_per_second);
            return Err(Duration::from_secs_f64(wait));
        }
        if rate.requests_per_second > 0 {
            if buckets.requests < 1.0 {
                let wait = (1.0 - buckets.requests) / f64::from(rate.requests_per_second);
                return Err(Duration::from_secs_f64(wait));
            }
            buckets.requests -= 1.0;
        }
        Ok(())
    }

    /// Reserves a page of up to `rows` for `principal` (of `role`) at `now`, before it is
    /// read, so that concurrent pages cannot all start on one positive balance; `Err` says
    /// how long to wait while the rows bucket is in debt.
    pub(crate) fn reserve_rows(
        &self,
        principal: &str,
        role: Role,
        rows: usize,
        now: Instant,
    ) -> Result<(), Duration> {
        self.adjust_rows(principal, role, now, |balance, rate| {
            if *balance < 0.0 {
                return Err(Duration::from_secs_f64(-*balance / rate));
            }
            *balance -= rows as f64;
            Ok(())
        })
    }

    /// Gives back the part of a reservation the page did not fill.
    /// Takes `rows` already sent (an answer whose size was known only once read), even
    /// into debt: the principal's next requests wait until it is paid.
    pub(crate) fn charge_rows(&self, principal: &str, role: Role, rows: usize, now: Instant) {
        let _ = self.adjust_rows(principal, role, now, |balance, _| {
            *balance -= rows as f64;
            Ok(())
        });
    }

    pub(crate) fn refund_rows(&self, principal: &str, role: Role, rows: usize, now: Instant) {
        let _ = self.adjust_rows(principal, role, now, |balance, _| {
            *balance += rows as f64;
            Ok(())
        });
    }

    fn adjust_rows(
        &self,
        principal: &str,
        role: Role,
        now: Instant,
        change: impl FnOnce(&mut f64, f64) -> Result<(), Duration>,
    ) -> Result<(), Duration> {
        let rate = self.rate(role);
        if rate.rows_per_second == 0 {
            return Ok(());
        }
        let mut table = self.buckets.lock().expect("rate lock");
        let buckets = Buckets::of(&mut table, principal, rate, now);
        change(&mut buckets.rows, f64::from(rate.rows_per_second))
    }
}

impl Buckets {
    /// `principal`'s buckets in `table` as they stand at `now`: full for a principal not
    /// seen before, refilled for the time since their last request otherwise.
    fn of<'a>(
        table: &'a mut HashMap<String, Buckets>,
        principal: &str,
        rate: RoleRate,
        now: Instant,
    ) -> &'a mut Buckets {
        let buckets = table
            .entry(principal.to_string())
            .or_insert_with(|| Buckets::full(rate, now));
        buckets.refill(rate, now);
        buckets
    }

    fn full(rate: RoleRate, now: Instant) -> Buckets {
        Buckets {
            requests: f64::from(rate.requests_per_second) * BURST_SECONDS,
            rows: f64::from(rate.rows_per_second) * BURST_SECONDS,
            updated: now,
        }
    }

    fn refill(&mut self, rate: RoleRate, now: Instant) {
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f64();
        let top = |per_second: u32| f64::from(per_second) * BURST_SECONDS;
        self.requests = (self.requests + elapsed * f64::from(rate.requests_per_second))
            .min(top(rate.requests_per_second));
        self.rows =
            (self.rows + elapsed * f64::from(rate.rows_per_second)).min(top(rate.rows_per_second));
        self.updated = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_and_rows_are_limited_per_principal_and_admins_are_not() {
        let rates = PrincipalRates::new(
            [(
                Role::Reader,
                RoleRate {
                    requests_per_second: 2,
                    rows_per_second: 100,
                },
            )]
            .into_iter()
            .collect(),
        );
        let now = Instant::now();
        for _ in 0..4 {
            rates.admit("r", Role::Reader, now).unwrap();
        }
        assert!(rates.admit("r", Role::Reader, now).is_err());
        assert!(rates.admit("other", Role::Reader, now).is_ok());
        let later = now + Duration::from_secs(1);
        rates.admit("other", Role::Reader, later).unwrap();
        rates
            .reserve_rows("other", Role::Reader, 1_000, later)
            .unwrap();
        rates.refund_rows("other", Role::Reader, 100, later);
        let wait = rates.admit("other", Role::Reader, later).unwrap_err();
        assert_eq!(wait.as_secs(), 7, "700 rows of debt at 100 a second");
        let wait = rates
            .reserve_rows("other", Role::Reader, 10, later)
            .unwrap_err();
        assert_eq!(wait.as_secs(), 7);
        for _ in 0..100 {
            rates.admit("root", Role::Admin, now).unwrap();
        }
        assert_eq!(
            RoleRate::parse("100/10000").unwrap().rows_per_second,
            10_000
        );
        assert!(RoleRate::parse("100").is_err());
    }
}
