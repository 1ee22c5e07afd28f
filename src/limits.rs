//! Rate limits (governor, GCRA): per client address and per account, for
//! enrolment attempts (document-number guessing must be slow), sign-in and
//! signing. Every limit is configurable; a refusal is a 429 problem with
//! `Retry-After`.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;

use axum::http::StatusCode;
use clap::Args;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};

use crate::problem::Problem;

#[derive(Args, Debug, Clone)]
pub struct LimitArgs {
    /// Enrolment attempts allowed per client address per hour.
    #[arg(long, env = "VECHE_ENROL_PER_HOUR", default_value_t = 20)]
    pub enrol_per_hour: u32,
    /// Sign-in attempts allowed per client address per minute.
    #[arg(long, env = "VECHE_SIGN_IN_PER_MINUTE", default_value_t = 30)]
    pub sign_in_per_minute: u32,
    /// Signatures and other passkey actions allowed per account per minute.
    #[arg(long, env = "VECHE_ACTIONS_PER_MINUTE", default_value_t = 60)]
    pub actions_per_minute: u32,
    /// Reverse proxies in front of the server that append the client's
    /// address to `X-Forwarded-For` (0: use the TCP peer; the header is
    /// then ignored, since clients could forge it).
    #[arg(long, env = "VECHE_TRUSTED_PROXIES", default_value_t = 0)]
    pub trusted_proxies: u8,
}

impl Default for LimitArgs {
    fn default() -> Self {
        Self {
            enrol_per_hour: 20,
            sign_in_per_minute: 30,
            actions_per_minute: 60,
            trusted_proxies: 0,
        }
    }
}

/// The server's limiters. Cheap to clone.
#[derive(Clone)]
pub struct Limits {
    trusted_proxies: u8,
    enrol_by_ip: Arc<DefaultKeyedRateLimiter<IpAddr>>,
    sign_in_by_ip: Arc<DefaultKeyedRateLimiter<IpAddr>>,
    actions_by_account: Arc<DefaultKeyedRateLimiter<Vec<u8>>>,
}

fn nz(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n.max(1)).expect("at least 1")
}

impl Limits {
    pub fn new(args: &LimitArgs) -> Self {
        Self {
            trusted_proxies: args.trusted_proxies,
            enrol_by_ip: Arc::new(DefaultKeyedRateLimiter::keyed(Quota::per_hour(nz(
                args.enrol_per_hour
            )))),
            sign_in_by_ip: Arc::new(DefaultKeyedRateLimiter::keyed(Quota::per_minute(nz(
                args.sign_in_per_minute
            )))),
            actions_by_account: Arc::new(DefaultKeyedRateLimiter::keyed(Quota::per_minute(nz(
                args.actions_per_minute,
            )))),
        }
    }

    /// The client's address: the TCP peer, or — behind `trusted_proxies`
    /// proxies — the address the outermost trusted proxy saw, which is
    /// that many entries from the end of `X-Forwarded-For`. A missing or
    /// malformed header falls back to the peer.
    pub fn client_ip(&self, peer: IpAddr, headers: &axum::http::HeaderMap) -> IpAddr {
        if self.trusted_proxies == 0 {
            return peer;
        }
        let hops: Vec<&str> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect();
        let n = usize::from(self.trusted_proxies);
        hops.len()
            .checked_sub(n)
            .and_then(|i| hops.get(i))
            .and_then(|h| h.parse().ok())
            .unwrap_or(peer)
    }

    pub fn enrol(&self, ip: IpAddr) -> Result<(), Problem> {
        check(
            &self.enrol_by_ip,
            &ip,
            "enrolment attempts from your address",
        )
    }

    pub fn sign_in(&self, ip: IpAddr) -> Result<(), Problem> {
        check(
            &self.sign_in_by_ip,
            &ip,
            "sign-in attempts from your address",
        )
    }

    pub fn action(&self, account: &[u8]) -> Result<(), Problem> {
        check(
            &self.actions_by_account,
            &account.to_vec(),
            "passkey actions by your account",
        )
    }

    /// Forgets keys that are back to full quota (call now and then).
    pub fn shrink(&self) {
        self.enrol_by_ip.retain_recent();
        self.sign_in_by_ip.retain_recent();
        self.actions_by_account.retain_recent();
    }
}

fn check<K: std::hash::Hash + Eq + Clone>(
    limiter: &DefaultKeyedRateLimiter<K>,
    key: &K,
    what: &str,
) -> Result<(), Problem> {
    limiter.check_key(key).map_err(|not_until| {
        let wait = not_until.wait_time_from(DefaultClock::default().now());
        let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        let mut p = Problem::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate-limited",
            "Too many requests",
            format!("Too many {what}; try again in {secs} s."),
        )
        .with("retry_after_seconds", secs);
        p.retry_after = Some(secs.max(1));
        p
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{HeaderMap, HeaderValue};

    fn limits(trusted_proxies: u8) -> Limits {
        Limits::new(&LimitArgs {
            trusted_proxies,
            ..LimitArgs::default()
        })
    }

    #[test]
    fn forwarded_addresses_are_used_only_behind_trusted_proxies() {
        let peer: IpAddr = "10.0.0.1".parse().unwrap();
        let mut h = HeaderMap::new();
        h.insert(
            "x-forwarded-for",
            HeaderValue::from_static("6.6.6.6, 203.0.113.7"),
        );
        assert_eq!(
            limits(0).client_ip(peer, &h),
            peer,
            "a client could forge the header"
        );
        assert_eq!(
            limits(1).client_ip(peer, &h),
            "203.0.113.7".parse::<IpAddr>().unwrap()
        );
        assert_eq!(
            limits(2).client_ip(peer, &h),
            "6.6.6.6".parse::<IpAddr>().unwrap()
        );
        assert_eq!(
            limits(3).client_ip(peer, &h),
            peer,
            "fewer hops than proxies"
        );
        let mut bad = HeaderMap::new();
        bad.insert("x-forwarded-for", HeaderValue::from_static("not-an-ip"));
        assert_eq!(limits(1).client_ip(peer, &bad), peer);
    }

    #[test]
    fn a_quota_refuses_with_retry_after() {
        let l = Limits::new(&LimitArgs {
            enrol_per_hour: 2,
            ..LimitArgs::default()
        });
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        assert!(l.enrol(ip).is_ok() && l.enrol(ip).is_ok());
        let p = l.enrol(ip).unwrap_err();
        assert_eq!(p.status, axum::http::StatusCode::TOO_MANY_REQUESTS);
        assert!(p.retry_after.unwrap() >= 1);
        assert!(
            l.enrol("127.0.0.2".parse().unwrap()).is_ok(),
            "limits are per address"
        );
    }
}
