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
}

impl Default for LimitArgs {
    fn default() -> Self {
        Self {
            enrol_per_hour: 20,
            sign_in_per_minute: 30,
            actions_per_minute: 60,
        }
    }
}

/// The server's limiters. Cheap to clone.
#[derive(Clone)]
pub struct Limits {
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
