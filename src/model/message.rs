//! Messages: what a POST may carry, and what is stored and sent.

use serde::Serialize;
use time::OffsetDateTime;

use super::{Invalid, Nickname, Reaction, ReplyTo};

/// Longest nickname (characters), as in the Django demo's `ChatMessage.user`.
pub const FROM_MAX: usize = 64;
/// Longest message text (Unicode scalar values).
pub const TEXT_MAX: usize = 1000;

/// A message's id: its position in its room, 1, 2, 3, … with no gaps. It is also the
/// SSE event id, so a client's `Last-Event-ID` is a message id.
pub type MessageId = u64;

/// The largest id a room can reach (ten decimal digits: see `store::keys`).
pub const ID_MAX: MessageId = 9_999_999_999;

/// A message as stored and as sent on the wire. Field order is the JSON key order of
/// fastly/fanout-chat-demo: `id`, `from`, `date`, `text`; `edited` (when its author last
/// changed the text) only appears once it has been, `reply_to` only on a reply,
/// `reactions` only once someone has reacted, and `mentions` (the people its text
/// names with `@`, `model::mention`) only when it names someone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Message {
    pub id: MessageId,
    pub from: String,
    pub date: String,
    pub text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub edited: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<ReplyTo>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reactions: Vec<Reaction>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub mentions: Vec<String>,
}

/// A validated message that has not been given an id yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Draft {
    pub from: String,
    pub text: String,
    /// The names its text mentions, once looked up (`http::api::mentions`).
    pub mentions: Vec<String>,
    /// The message it answers, quoted (the caller checks it exists: `store`).
    pub reply_to: Option<ReplyTo>,
}

impl Draft {
    /// Validates the two fields of a POST. Both are trimmed; `\r\n` becomes `\n`
    /// (browsers send textarea newlines as CRLF in forms).
    pub fn parse(from: Option<&str>, text: Option<&str>) -> Result<Self, Invalid> {
        let from = Nickname::parse(from)?.into_string();
        let text = parse_text(text)?;
        Ok(Self {
            from,
            text,
            mentions: Vec::new(),
            reply_to: None,
        })
    }

    pub fn into_message(self, id: MessageId, now: OffsetDateTime) -> Message {
        Message {
            id,
            from: self.from,
            date: format_date(now),
            text: self.text,
            edited: None,
            mentions: self.mentions,
            reply_to: self.reply_to,
            reactions: Vec::new(),
        }
    }
}

/// A message's text: trimmed, 1 to `TEXT_MAX` characters, newlines allowed (`\r\n`
/// becomes `\n`), no other control characters. The rule for new and edited messages.
pub fn parse_text(text: Option<&str>) -> Result<String, Invalid> {
    clean("text", text, TEXT_MAX, true)
}

/// A required text field, trimmed, 1 to `max` characters, without control characters
/// (but `\n` where `multiline`).
pub(super) fn clean(
    field: &'static str,
    raw: Option<&str>,
    max: usize,
    multiline: bool,
) -> Result<String, Invalid> {
    let raw =
        raw.ok_or_else(|| Invalid::new(field, format!("The field '{field}' is required.")))?;
    let value = raw.replace("\r\n", "\n");
    let value = value.trim();
    let len = value.chars().count();
    if len == 0 || len > max {
        return Err(Invalid::new(
            field,
            format!("The field '{field}' must be 1 to {max} characters long (it has {len})."),
        ));
    }
    if value
        .chars()
        .any(|c| c.is_control() && !(multiline && c == '\n'))
    {
        return Err(Invalid::new(
            field,
            format!("The field '{field}' contains a control character."),
        ));
    }
    Ok(value.to_owned())
}

/// RFC 3339 in UTC with milliseconds, e.g. `2026-11-22T12:53:29.519Z` (DjangoJSONEncoder's form).
///
/// Written out by hand, as `parse_date` reads it: `time`'s format-description machinery
/// cost about 20 KB of wasm for these two fixed layouts.
pub fn format_date(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

/// A date as `format_date` writes it (the only form stored); `None` for anything else.
pub fn parse_date(text: &str) -> Option<OffsetDateTime> {
    let b = text.as_bytes();
    let shape = b.len() == 24 && b[4] == b'-' && b[7] == b'-' && b[10] == b'T';
    let shape = shape && b[13] == b':' && b[16] == b':' && b[19] == b'.' && b[23] == b'Z';
    if !shape {
        return None;
    }
    // Digits only: `u16::from_str` would also take a leading `+`.
    let number = |range: std::ops::Range<usize>| {
        let field = text.get(range)?;
        field
            .bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| field.parse::<u16>().ok())?
    };
    let month = time::Month::try_from(number(5..7)? as u8).ok()?;
    let date = time::Date::from_calendar_date(number(0..4)? as i32, month, number(8..10)? as u8);
    let clock = time::Time::from_hms_milli(
        number(11..13)? as u8,
        number(14..16)? as u8,
        number(17..19)? as u8,
        number(20..23)?,
    );
    Some(date.ok()?.with_time(clock.ok()?).assume_utc())
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

    fn field(result: Result<Draft, Invalid>) -> &'static str {
        result.unwrap_err().field
    }

    #[test]
    fn drafts_are_trimmed_and_bounded() {
        let d = Draft::parse(Some("  ann "), Some(" hi\r\nthere ")).unwrap();
        assert_eq!(
            d,
            Draft {
                from: "ann".into(),
                text: "hi\nthere".into(),
                mentions: Vec::new(),
                reply_to: None,
            }
        );
        assert!(Draft::parse(Some(&"f".repeat(64)), Some(&"é".repeat(1000))).is_ok());
        assert_eq!(
            field(Draft::parse(Some(&"f".repeat(65)), Some("x"))),
            "from"
        );
        assert_eq!(
            field(Draft::parse(Some("a"), Some(&"x".repeat(1001)))),
            "text"
        );
        assert_eq!(field(Draft::parse(Some("   "), Some("x"))), "from");
        assert_eq!(field(Draft::parse(None, Some("x"))), "from");
        assert_eq!(field(Draft::parse(Some("a"), None)), "text");
        assert_eq!(field(Draft::parse(Some("a\nb"), Some("x"))), "from");
        assert_eq!(field(Draft::parse(Some("a"), Some("x\u{7}"))), "text");
        assert!(Draft::parse(Some("😀"), Some("<b>&amp;</b> \"quoted\" עברית")).is_ok());
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
        let mentioning = Message {
            mentions: vec!["ann".into(), "Bo b".into()],
            ..m
        };
        assert_eq!(
            serde_json::to_string(&mentioning).unwrap(),
            r#"{"id":7,"from":"bob","date":"2026-11-22T12:53:29.519Z","text":"hi","mentions":["ann","Bo b"]}"#
        );
        assert_eq!(
            format_date(datetime!(2026-01-02 03:04:05 +2)),
            "2026-01-02T01:04:05.000Z"
        );
        let t = datetime!(2026-11-22 12:53:29.519 UTC);
        assert_eq!(parse_date(&format_date(t)), Some(t));
        for bad in [
            "",
            "2026-11-22",
            "2026-11-22T12:53:29Z",
            "2026-13-22T12:53:29.519Z",
            "2026-11-22T25:53:29.519Z",
            "2026-11-22T12:53:29.519+",
            "2026-+1-22T12:53:29.519Z",
            "２026-11-22T12:53:29.519Z",
        ] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
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
