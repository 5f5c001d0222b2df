//! Which of an account's sessions still stand, kept in its `user:` record.
//!
//! A session is named by its token (`auth::session`): an id, the account's session
//! epoch when it began, and its end. The record needs nothing per live session, only
//! what ended early: "sign out everywhere" and removing a passkey raise the epoch, which
//! ends every session begun before; signing out one session lists its id until the
//! moment it would have ended anyway, when the entry is dropped again. So checking a
//! session is one read of the record the account's other changes rewrite anyway, and
//! the record stays small: at most [`ENDED_MAX`] entries; one more signs out everywhere
//! instead, which ends those sessions too.

use super::accounts::User;

/// Sessions signed out one by one that one record remembers (each ~30 bytes).
pub const ENDED_MAX: usize = 50;

/// An ended session's entry: `<end>.<id>` (ids are base64url, without dots).
fn entry(id: &str, until: i64) -> String {
    format!("{until}.{id}")
}

/// An entry's end and id; a malformed one is over.
fn parse(entry: &str) -> (i64, &str) {
    entry
        .split_once('.')
        .and_then(|(until, id)| Some((until.parse().ok()?, id)))
        .unwrap_or((0, ""))
}

impl User {
    /// Whether the session `id`, begun under `epoch` and ending at `until`, still
    /// stands at `now`.
    pub fn holds_session(&self, id: &str, epoch: u32, until: i64, now: i64) -> bool {
        now < until
            && epoch == self.session_epoch
            && !self.ended_sessions.iter().any(|e| parse(e).1 == id)
    }

    /// Ends one session (signing out), forgetting entries whose sessions are over.
    pub fn end_session(&mut self, id: &str, until: i64, now: i64) {
        self.ended_sessions.retain(|e| {
            let (end, ended) = parse(e);
            end > now && ended != id
        });
        if self.ended_sessions.len() >= ENDED_MAX {
            return self.end_all_sessions();
        }
        self.ended_sessions.push(entry(id, until));
    }

    /// Ends every session begun so far (sign out everywhere, a passkey removed).
    pub fn end_all_sessions(&mut self) {
        self.session_epoch = self.session_epoch.wrapping_add(1);
        self.ended_sessions.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user() -> User {
        User {
            id: "u".into(),
            name: "ann".into(),
            created: "2026-12-05".into(),
            passkeys: Vec::new(),
            api_keys: Vec::new(),
            ..User::default()
        }
    }

    #[test]
    fn signing_out_ends_that_session_only() {
        let mut u = user();
        assert!(u.holds_session("a", 0, 100, 10));
        u.end_session("a", 100, 10);
        assert!(!u.holds_session("a", 0, 100, 10));
        assert!(u.holds_session("b", 0, 100, 10));
        assert!(!u.holds_session("b", 0, 100, 100), "past its end");
    }

    #[test]
    fn everywhere_ends_every_session_begun_before() {
        let mut u = user();
        u.end_session("a", 100, 10);
        u.end_all_sessions();
        assert!(!u.holds_session("b", 0, 100, 10));
        assert!(u.holds_session("c", 1, 100, 10));
        assert!(u.ended_sessions.is_empty());
    }

    #[test]
    fn the_record_forgets_what_is_over_and_stays_bounded() {
        let mut u = user();
        u.end_session("old", 20, 10);
        u.end_session("new", 100, 30);
        assert_eq!(u.ended_sessions.len(), 1, "{:?}", u.ended_sessions);
        for n in 0..ENDED_MAX {
            u.end_session(&format!("s{n}"), 1000, 40);
        }
        // The one over the bound signed out everywhere instead: nothing of epoch 0 stands.
        assert_eq!(u.session_epoch, 1);
        assert!(u.ended_sessions.len() < ENDED_MAX);
        assert!(!u.holds_session("other", 0, 1000, 40));
    }

    #[test]
    fn records_without_sessions_read_as_epoch_zero() {
        let u: User = serde_json::from_str(
            r#"{"id":"u","name":"ann","created":"2026-12-05","passkeys":[],"api_keys":[]}"#,
        )
        .unwrap();
        assert_eq!(u, user());
        assert!(!serde_json::to_string(&u).unwrap().contains("session"));
    }
}
