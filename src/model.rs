//! Domain types. Untrusted input becomes one of these exactly once, at the edge of
//! the program; everything past that point takes a `RoomId`, never a `&str`, so an
//! invalid room or an oversized message cannot reach the store.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::macros::format_description;

use crate::error::ApiError;

/// Longest room id (characters), as in the Django demo's `ChatRoom.eid`.
pub const ROOM_MAX: usize = 64;
/// Longest nickname (characters), as in the Django demo's `ChatMessage.user`.
pub const FROM_MAX: usize = 64;
/// Longest message text (Unicode scalar values).
pub const TEXT_MAX: usize = 1000;

/// A message's id: its position in its room, 1, 2, 3, … with no gaps. It is also the
/// SSE event id, so a client's `Last-Event-ID` is a message id.
pub type MessageId = u64;

/// A room id: 1–64 characters of `A-Z a-z 0-9 - _ .`, but not `.` or `..`, which
/// clients normalise out of URL paths. These are safe in URLs, KV keys (between `:`
/// separators), Fanout channel names and HTML without escaping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomId(String);

impl RoomId {
    pub fn parse(raw: &str) -> Result<Self, ApiError> {
        let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
        let dots_only = raw.chars().all(|c| c == '.');
        if raw.is_empty() || raw.len() > ROOM_MAX || !raw.chars().all(allowed) || dots_only {
            return Err(ApiError::invalid_field(
                "room",
                format!(
                    "A room id is 1 to {ROOM_MAX} characters of A-Z, a-z, 0-9, '-', '_' and '.', not only dots."
                ),
            ));
        }
        Ok(Self(raw.to_owned()))
    }
}

impl std::fmt::Display for RoomId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A message as stored and as sent on the wire. Field order is the JSON key order of
/// fastly/fanout-chat-demo: `id`, `from`, `date`, `text`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub id: MessageId,
    pub from: String,
    pub date: String,
    pub text: String,
}

/// A validated message that has not been given an id yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Draft {
    pub from: String,
    pub text: String,
}

impl Draft {
    /// Validates the two fields of a POST. Both are trimmed; `\r\n` becomes `\n`
    /// (browsers send textarea newlines as CRLF in forms).
    pub fn parse(from: Option<&str>, text: Option<&str>) -> Result<Self, ApiError> {
        let from = parse_nickname(from)?;
        let text = clean("text", text, TEXT_MAX, true)?;
        Ok(Self { from, text })
    }

    pub fn into_message(self, id: MessageId, now: OffsetDateTime) -> Message {
        Message {
            id,
            from: self.from,
            date: format_date(now),
            text: self.text,
        }
    }
}

/// A nickname: 1–64 characters, trimmed, with nothing that renders as something else:
/// no control characters, bidi overrides or zero-width characters (see `is_deceptive`).
pub fn parse_nickname(raw: Option<&str>) -> Result<String, ApiError> {
    let name = clean("from", raw, FROM_MAX, false)?;
    if name.chars().any(is_deceptive) {
        return Err(ApiError::invalid_field(
            "from",
            "A nickname cannot contain invisible or text-direction characters.",
        ));
    }
    Ok(name)
}

/// Characters that let one name pass for another: bidi embeddings, overrides, isolates
/// and marks (U+202E turns "nna" into "ann"), zero-width spaces and joiners, word
/// joiners, the BOM, invisible separators, Hangul fillers and tag characters.
fn is_deceptive(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{17B4}'
        | '\u{17B5}' | '\u{180B}'..='\u{180F}' | '\u{200B}'..='\u{200F}'
        | '\u{2028}'..='\u{202E}' | '\u{2060}'..='\u{206F}' | '\u{3164}' | '\u{FEFF}'
        | '\u{FFA0}' | '\u{FFF9}'..='\u{FFFB}' | '\u{E0000}'..='\u{E007F}')
}

fn clean(
    field: &'static str,
    raw: Option<&str>,
    max: usize,
    multiline: bool,
) -> Result<String, ApiError> {
    let raw = raw.ok_or_else(|| {
        ApiError::invalid_field(field, format!("The field '{field}' is required."))
    })?;
    let value = raw.replace("\r\n", "\n");
    let value = value.trim();
    let len = value.chars().count();
    if len == 0 || len > max {
        return Err(ApiError::invalid_field(
            field,
            format!("The field '{field}' must be 1 to {max} characters long (it has {len})."),
        ));
    }
    if value
        .chars()
        .any(|c| c.is_control() && !(multiline && c == '\n'))
    {
        return Err(ApiError::invalid_field(
            field,
            format!("The field '{field}' contains a control character."),
        ));
    }
    Ok(value.to_owned())
}

/// RFC 3339 in UTC with milliseconds, e.g. `2026-11-22T12:53:29.519Z` (DjangoJSONEncoder's form).
pub fn format_date(t: OffsetDateTime) -> String {
    let utc = t.to_offset(time::UtcOffset::UTC);
    utc.format(format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    ))
    .expect("a UTC date always formats")
}

/// Parses a message id given by a client (`Last-Event-ID`, `?before=`): a positive
/// decimal integer without sign or padding tricks beyond what `u64` accepts.
pub fn parse_id(raw: &str) -> Option<MessageId> {
    if raw.is_empty() || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    raw.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

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
            &"x".repeat(65),
        ] {
            assert_eq!(
                RoomId::parse(bad).unwrap_err().field(),
                Some("room"),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn drafts_are_trimmed_and_bounded() {
        let d = Draft::parse(Some("  ann "), Some(" hi\r\nthere ")).unwrap();
        assert_eq!(
            d,
            Draft {
                from: "ann".into(),
                text: "hi\nthere".into()
            }
        );
        assert!(Draft::parse(Some(&"f".repeat(64)), Some(&"é".repeat(1000))).is_ok());
        assert_eq!(
            Draft::parse(Some(&"f".repeat(65)), Some("x"))
                .unwrap_err()
                .field(),
            Some("from")
        );
        assert_eq!(
            Draft::parse(Some("a"), Some(&"x".repeat(1001)))
                .unwrap_err()
                .field(),
            Some("text")
        );
        assert_eq!(
            Draft::parse(Some("   "), Some("x")).unwrap_err().field(),
            Some("from")
        );
        assert_eq!(
            Draft::parse(None, Some("x")).unwrap_err().field(),
            Some("from")
        );
        assert_eq!(
            Draft::parse(Some("a"), None).unwrap_err().field(),
            Some("text")
        );
        assert_eq!(
            Draft::parse(Some("a\nb"), Some("x")).unwrap_err().field(),
            Some("from")
        );
        assert_eq!(
            Draft::parse(Some("a"), Some("x\u{7}")).unwrap_err().field(),
            Some("text")
        );
        assert!(Draft::parse(Some("😀"), Some("<b>&amp;</b> \"quoted\" עברית")).is_ok());
    }

    #[test]
    fn nicknames_cannot_hide_or_reverse_text() {
        for bad in [
            "ann\u{202E}",
            "a\u{200B}nn",
            "\u{2066}ann\u{2069}",
            "an\u{200D}n",
            "\u{FEFF}ann",
            "ann\u{E0041}",
            "a\u{00AD}nn",
            "\u{3164}",
        ] {
            assert_eq!(
                parse_nickname(Some(bad)).unwrap_err().field(),
                Some("from"),
                "{bad:?}"
            );
        }
        for ok in ["ann", "Zoë", "עברית", "李雷", "😀", "a-b_c.d e"] {
            assert_eq!(parse_nickname(Some(ok)).unwrap(), ok);
        }
        // Message text may carry emoji sequences and either direction.
        assert!(Draft::parse(Some("ann"), Some("👨\u{200D}👩 \u{202E}txet")).is_ok());
    }

    #[test]
    fn message_json_shape() {
        let m = Draft::parse(Some("bob"), Some("hi"))
            .unwrap()
            .into_message(7, datetime!(2026-11-22 12:53:29.519 UTC));
        assert_eq!(
            serde_json::to_string(&m).unwrap(),
            r#"{"id":7,"from":"bob","date":"2026-11-22T12:53:29.519Z","text":"hi"}"#
        );
        assert_eq!(
            format_date(datetime!(2026-01-02 03:04:05 +2)),
            "2026-01-02T01:04:05.000Z"
        );
    }

    #[test]
    fn ids() {
        assert_eq!(parse_id("42"), Some(42));
        assert_eq!(parse_id("0"), Some(0));
        for bad in [
            "",
            "-1",
            "+1",
            "1.5",
            "abc",
            " 1",
            "99999999999999999999999",
        ] {
            assert_eq!(parse_id(bad), None, "{bad:?}");
        }
    }
}
