//! Console sessions: who is signed in, kept in memory on the server, named to the browser
//! by a random cookie.
//!
//! The browser holds only the session's id (256 random bits, HttpOnly, SameSite=Strict,
//! Secure when the console is served over TLS); the bearer token the person signed in with
//! stays here, and every page passes it to the service as a gRPC caller would, so the
//! service authenticates and authorizes each request itself (a token revoked in the auth
//! file stops working in the console at the next page). A session ends at sign-out, after
//! `idle` without a request, or `max_age` after sign-in, whichever comes first.
//!
//! A principal holds at most [`MAX_SESSIONS_PER_PRINCIPAL`] sessions: signing in once more
//! ends its least recently used one. Sign-in is not a gRPC call, so no rate or in-flight
//! limit met it, and each kept a session for `idle`: any holder of a token (a reader's, an
//! importer's) could sign in thousands of times a second and fill the server's memory
//! with sessions, and each sign-in swept the whole table under the lock every page takes
//! (found after issue 21's list: `tests/red_team/next.rs`). Principals are the auth
//! file's few names, so the table is now bounded by them.
//!
//! Each session has its own CSRF token, put in every form the console renders and checked
//! on every POST ([`Session::check_csrf`]). Forms shown before sign-in (sign-in itself,
//! public verification) use a double-submitted token instead: a random cookie whose value
//! the form repeats ([`check_double_submit`]); another site can neither read the cookie
//! nor, under SameSite=Strict, have the browser send it.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine;
use rand::RngCore;

use crate::auth::Principal;

/// The cookie naming a session.
pub(crate) const SESSION_COOKIE: &str = "tr_session";
/// The cookie of the double-submitted token of forms shown before sign-in.
pub(crate) const FORM_COOKIE: &str = "tr_form";
/// The cookie of the chosen language.
pub(crate) const LANG_COOKIE: &str = "tr_lang";

/// Sessions end after this long without a request, by default.
pub const DEFAULT_IDLE: Duration = Duration::from_secs(30 * 60);
/// Sessions end this long after sign-in, by default, however busy.
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(12 * 3600);

/// A signed-in person.
#[derive(Clone)]
pub(crate) struct Session {
    /// The bearer token they signed in with, sent with every call they make.
    pub(crate) token: String,
    /// Who the token named at sign-in (shown in the header; the service re-checks the
    /// token on every call).
    pub(crate) principal: Principal,
    /// The token every form of this session carries.
    pub(crate) csrf: String,
    started: Instant,
    last_seen: Instant,
}

impl Session {
    /// The county code of a county principal, empty for the others: a form's default.
    pub(crate) fn own_county_code(&self) -> String {
        self.principal
            .county
            .as_ref()
            .map(|c| c.as_str().to_string())
            .unwrap_or_default()
    }

    /// Whether a submitted form's token is this session's.
    pub(crate) fn check_csrf(&self, submitted: &str) -> bool {
        same(self.csrf.as_bytes(), submitted.as_bytes())
    }
}

/// The most sessions one principal holds at once: a bureau's clerks share its token, each
/// browser a session.
pub const MAX_SESSIONS_PER_PRINCIPAL: usize = 64;

/// The live sessions by id.
pub(crate) struct Sessions {
    table: Mutex<HashMap<String, Session>>,
    idle: Duration,
    max_age: Duration,
}

impl Sessions {
    pub(crate) fn new(idle: Duration, max_age: Duration) -> Sessions {
        Sessions {
            table: Mutex::new(HashMap::new()),
            idle,
            max_age,
        }
    }

    /// Starts a session for `principal` signed in with `token`; answers its id.
    pub(crate) fn start(&self, token: String, principal: Principal) -> String {
        let now = Instant::now();
        let id = random_token();
        let session = Session {
            token,
            principal,
            csrf: random_token(),
            started: now,
            last_seen: now,
        };
        let mut table = self.table.lock().expect("sessions lock");
        // Ended sessions are swept at each sign-in, so the table holds live ones only.
        table.retain(|_, s| self.live(s, now));
        // Past the principal's share, its least recently used session ends.
        loop {
            let theirs = table
                .iter()
                .filter(|(_, s)| s.principal.name == session.principal.name);
            if theirs.clone().count() < MAX_SESSIONS_PER_PRINCIPAL {
                break;
            }
            let Some(oldest) = theirs
                .min_by_key(|(_, s)| s.last_seen)
                .map(|(k, _)| k.clone())
            else {
                break;
            };
            table.remove(&oldest);
        }
        table.insert(id.clone(), session);
        id
    }

    /// The session `id` names, if it is live; its idle clock restarts.
    pub(crate) fn get(&self, id: &str) -> Option<Session> {
        let now = Instant::now();
        let mut table = self.table.lock().expect("sessions lock");
        let session = table.get_mut(id)?;
        if !self.live(session, now) {
            table.remove(id);
            return None;
        }
        session.last_seen = now;
        Some(session.clone())
    }

    /// Ends the session `id` (sign-out, or a token the service no longer knows).
    pub(crate) fn end(&self, id: &str) {
        self.table.lock().expect("sessions lock").remove(id);
    }

    fn live(&self, session: &Session, now: Instant) -> bool {
        now.duration_since(session.last_seen) < self.idle
            && now.duration_since(session.started) < self.max_age
    }
}

/// 256 random bits, base64url without padding.
pub(crate) fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Whether a pre-sign-in form's token matches its cookie (both present and non-empty).
pub(crate) fn check_double_submit(cookie: Option<&str>, submitted: &str) -> bool {
    matches!(cookie, Some(c) if !c.is_empty() && same(c.as_bytes(), submitted.as_bytes()))
}

/// Equality in time independent of where the first difference is.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The value of cookie `name` in a Cookie header.
pub(crate) fn cookie<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header.split(';').find_map(|pair| {
        let (key, value) = pair.trim().split_once('=')?;
        (key == name).then_some(value)
    })
}

/// A Set-Cookie value: HttpOnly and SameSite=Strict always, Secure under TLS; `max_age`
/// zero deletes the cookie, `None` makes it last as long as the browser session.
pub(crate) fn set_cookie(name: &str, value: &str, secure: bool, max_age: Option<u64>) -> String {
    let mut cookie = format!("{name}={value}; Path=/; HttpOnly; SameSite=Strict");
    if secure {
        cookie.push_str("; Secure");
    }
    if let Some(seconds) = max_age {
        cookie.push_str(&format!("; Max-Age={seconds}"));
    }
    cookie
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_end_when_idle_and_at_sign_out() {
        let sessions = Sessions::new(Duration::from_millis(50), Duration::from_secs(60));
        let id = sessions.start("t".into(), Principal::anonymous());
        assert!(sessions.get(&id).is_some());
        std::thread::sleep(Duration::from_millis(80));
        assert!(sessions.get(&id).is_none(), "idle session still live");
        let id = sessions.start("t".into(), Principal::anonymous());
        sessions.end(&id);
        assert!(sessions.get(&id).is_none());
    }

    #[test]
    fn sessions_end_at_their_maximum_age_however_busy() {
        let sessions = Sessions::new(Duration::from_secs(60), Duration::from_millis(60));
        let id = sessions.start("t".into(), Principal::anonymous());
        std::thread::sleep(Duration::from_millis(35));
        assert!(sessions.get(&id).is_some());
        std::thread::sleep(Duration::from_millis(35));
        assert!(sessions.get(&id).is_none());
    }

    #[test]
    fn a_principal_holds_a_bounded_number_of_sessions_and_others_keep_theirs() {
        let sessions = Sessions::new(DEFAULT_IDLE, DEFAULT_MAX_AGE);
        let other = Principal {
            name: "root".into(),
            ..Principal::anonymous()
        };
        let kept = sessions.start("r".into(), other);
        let first = sessions.start("t".into(), Principal::anonymous());
        let ids: Vec<String> = (0..MAX_SESSIONS_PER_PRINCIPAL)
            .map(|_| sessions.start("t".into(), Principal::anonymous()))
            .collect();
        assert!(
            sessions.get(&first).is_none(),
            "the least recently used ended"
        );
        assert!(ids.iter().all(|id| sessions.get(id).is_some()));
        assert!(sessions.get(&kept).is_some(), "another principal's stays");
        assert_eq!(
            sessions.table.lock().unwrap().len(),
            MAX_SESSIONS_PER_PRINCIPAL + 1
        );
    }

    #[test]
    fn csrf_tokens_must_match_exactly() {
        let sessions = Sessions::new(DEFAULT_IDLE, DEFAULT_MAX_AGE);
        let id = sessions.start("t".into(), Principal::anonymous());
        let session = sessions.get(&id).unwrap();
        assert!(session.check_csrf(&session.csrf.clone()));
        assert!(!session.check_csrf(""));
        assert!(!session.check_csrf(&session.csrf[1..]));
        assert!(!check_double_submit(None, ""));
        assert!(!check_double_submit(Some(""), ""));
        assert!(check_double_submit(Some("abc"), "abc"));
        assert!(!check_double_submit(Some("abc"), "abd"));
    }

    #[test]
    fn cookies_are_found_by_name_and_flagged() {
        assert_eq!(
            cookie("a=1; tr_session=xyz; b=2", SESSION_COOKIE),
            Some("xyz")
        );
        assert_eq!(cookie("a=1", SESSION_COOKIE), None);
        let plain = set_cookie("n", "v", false, None);
        assert_eq!(plain, "n=v; Path=/; HttpOnly; SameSite=Strict");
        assert!(set_cookie("n", "v", true, Some(0)).ends_with("; Secure; Max-Age=0"));
    }
}
