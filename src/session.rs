//! Sessions in cookies, and CSRF protection.
//!
//! The cookie `veche_session` holds 32 random bytes; the database keeps only
//! their BLAKE3 hash, so a database leak does not leak sessions. Cookies are
//! HttpOnly, SameSite=Strict, and Secure when the service is served over
//! HTTPS. Every state-changing request made with a session must carry the
//! session's CSRF token: in the `X-CSRF-Token` header (API and JavaScript)
//! or a `csrf` form field (HTML forms).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, header};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand_core::{OsRng, RngCore};
use veche_store::identity::AccountRow;
use veche_store::{Clock, SystemClock};

use crate::problem::Problem;
use crate::server::AppState;

pub const COOKIE: &str = "veche_session";
pub const CSRF_HEADER: &str = "x-csrf-token";

pub fn random_token(bytes: usize) -> String {
    let mut b = vec![0u8; bytes];
    OsRng.fill_bytes(&mut b);
    URL_SAFE_NO_PAD.encode(b)
}

fn hash_secret(secret: &str) -> [u8; 32] {
    *blake3::hash(secret.as_bytes()).as_bytes()
}

fn cookie_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| c.trim().strip_prefix(name)?.strip_prefix('='))
}

/// Creates a session for an account; returns the `Set-Cookie` value and the
/// CSRF token.
pub async fn start(state: &AppState, account_id: &[u8]) -> Result<(HeaderValue, String), Problem> {
    let secret = random_token(32);
    let csrf = random_token(24);
    let now = SystemClock.now_ms();
    let ttl = state.session_ttl.as_millis() as u64;
    state
        .store
        .create_session(&hash_secret(&secret), account_id, &csrf, now, now + ttl)
        .await?;
    let secure = if state.public_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!(
        "{COOKIE}={secret}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
        ttl / 1000
    );
    Ok((
        HeaderValue::from_str(&cookie).map_err(Problem::internal)?,
        csrf,
    ))
}

/// The `Set-Cookie` value that removes the session cookie.
pub fn clear_cookie() -> HeaderValue {
    HeaderValue::from_static("veche_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0")
}

/// The signed-in account of a request, with the session's CSRF token.
/// Extracting it from a request without a live session is a 401 problem;
/// from a state-changing request without the right CSRF token, a 403.
pub struct SignedIn {
    pub account: AccountRow,
    pub csrf_token: String,
    pub session_hash: [u8; 32],
}

impl SignedIn {
    pub fn is_staff_with(&self, roles: &[&str]) -> bool {
        self.account.kind == "staff"
            && self
                .account
                .role
                .as_deref()
                .is_some_and(|r| r == "admin" || roles.contains(&r))
    }

    pub fn require_role(&self, roles: &[&str]) -> Result<(), Problem> {
        if self.is_staff_with(roles) {
            Ok(())
        } else {
            Err(Problem::new(
                axum::http::StatusCode::FORBIDDEN,
                "forbidden",
                "Forbidden",
                format!(
                    "This needs a staff passkey with the role {}.",
                    roles.join(" or ")
                ),
            ))
        }
    }
}

/// Looks the session up without enforcing CSRF (for pages that only read).
pub async fn current(state: &AppState, headers: &HeaderMap) -> Result<Option<SignedIn>, Problem> {
    let Some(secret) = cookie_value(headers, COOKIE) else {
        return Ok(None);
    };
    let hash = hash_secret(secret);
    let Some(session) = state.store.session(&hash, SystemClock.now_ms()).await? else {
        return Ok(None);
    };
    let Some(account) = state.store.account(&session.account_id).await? else {
        return Ok(None);
    };
    Ok(Some(SignedIn {
        account,
        csrf_token: session.csrf_token,
        session_hash: hash,
    }))
}

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Problem> {
        let signed_in = current(state, &parts.headers).await?.ok_or_else(|| {
            Problem::unauthorized(
                "Sign in with your passkey first (the session is missing or has expired).",
            )
        })?;
        let safe = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
        if !safe {
            let given = parts.headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok());
            if given != Some(signed_in.csrf_token.as_str()) {
                return Err(Problem::new(
                    axum::http::StatusCode::FORBIDDEN,
                    "csrf",
                    "Missing or wrong CSRF token",
                    "Send the session's CSRF token in the X-CSRF-Token header.",
                ));
            }
        }
        Ok(signed_in)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_found_among_others() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; veche_session=abc; veche_lang=ru"),
        );
        assert_eq!(cookie_value(&h, COOKIE), Some("abc"));
        assert_eq!(cookie_value(&h, "veche_lang"), Some("ru"));
        assert_eq!(cookie_value(&h, "veche"), None);
    }

    #[test]
    fn tokens_are_random_and_url_safe() {
        let a = random_token(32);
        assert_eq!(a.len(), 43);
        assert_ne!(a, random_token(32));
        assert!(
            a.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
    }
}
