//! Room ids.

use super::Invalid;

/// Longest room id (characters), as in the Django demo's `ChatRoom.eid`.
pub const ROOM_MAX: usize = 64;
/// Names a room cannot have: the paths of pages and APIs beside `/{room}`.
const RESERVED: &[&str] = &["account", "auth", "events", "rooms", "static"];

/// A room id: 1–64 characters of `A-Z a-z 0-9 - _ .`, but not `.` or `..`, which
/// clients normalise out of URL paths. These are safe in URLs, KV keys (between `:`
/// separators), Fanout channel names and HTML without escaping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomId(String);

impl RoomId {
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
        let dots_only = raw.chars().all(|c| c == '.');
        if raw.is_empty() || raw.len() > ROOM_MAX || !raw.chars().all(allowed) || dots_only {
            return Err(Invalid::new(
                "room",
                format!(
                    "A room id is 1 to {ROOM_MAX} characters of A-Z, a-z, 0-9, '-', '_' and '.', not only dots."
                ),
            ));
        }
        if RESERVED.contains(&raw) {
            return Err(Invalid::new(
                "room",
                format!("'{raw}' is the name of a page here, not a room."),
            ));
        }
        Ok(Self(raw.to_owned()))
    }
}

impl RoomId {
    /// A person's mention log (`http::api::mentions`): stored, read and published as a
    /// room's sequence is, under an id no client can name (`@` is in no room id), so
    /// neither its entries nor its Fanout channel can be asked for by anyone but its
    /// owner's `/me/events/` stream.
    pub fn mentions_of(user_id: &str) -> Self {
        Self(format!("@{user_id}"))
    }
}

impl std::fmt::Display for RoomId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A room name the tests know to be valid.
#[cfg(test)]
pub fn room(name: &str) -> RoomId {
    RoomId::parse(name).unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_ids() {
        for ok in ["lobby", "a", "A-b_c.d", ".a", "a..", &"x".repeat(64)] {
            assert_eq!(RoomId::parse(ok).unwrap().to_string(), ok);
        }
        for bad in [
            "",
            ".",
            "..",
            "...",
            "a b",
            "a/b",
            "é",
            "a:b",
            "a%20",
            "account",
            "auth",
            &"x".repeat(65),
        ] {
            assert_eq!(RoomId::parse(bad).unwrap_err().field, "room", "{bad:?}");
        }
    }
}
