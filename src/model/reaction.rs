//! Reactions and replies: what a message carries about other people's answers to it.
//!
//! A message's JSON shows each emoji's count and up to `NAMES_MAX` of the people who
//! reacted with it ([`Reaction`]). Who reacted, all of them, is kept apart
//! ([`Reactors`], one small record per message that has reactions): one person reacts
//! once per emoji however many others have, and the summary copied into every window
//! holding the message stays small.
//!
//! Both are stored as one line of text ([`encode_groups`]) rather than as JSON objects:
//! serde's derived readers for two more nested structs cost about 10 KB of the package,
//! a split on two separator characters (which no name, text or emoji may contain) none.

use serde::Serialize;

use super::emoji::is_one_emoji;
use super::{Invalid, MessageId};

/// Most different emoji on one message. Each adds a summary of up to `NAMES_MAX`
/// names to every window that copies the message.
pub const EMOJI_MAX: usize = 20;
/// Most names a summary lists per emoji (the count goes on).
pub const NAMES_MAX: usize = 20;
/// Characters of the original a reply quotes.
pub const QUOTE_MAX: usize = 100;

/// Between the fields of a group, and between groups ([`encode_groups`]).
const UNIT: char = '\u{1F}';
const RECORD: char = '\u{1E}';

/// One emoji's reactions to a message, as sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reaction {
    pub emoji: String,
    pub count: u32,
    /// The first `NAMES_MAX` people to react with it, in order.
    pub names: Vec<String>,
}

/// What a reply quotes of the message it answers: taken at post time, read again at
/// read time (`store::replies`), where a deleted original keeps only its id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReplyTo {
    pub id: MessageId,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub from: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub text: String,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub deleted: bool,
}

/// A message's reactions on the wire: a `reaction` event's data, and the answer to a
/// reaction (with `last-event-id` when it changed something).
#[derive(Serialize)]
pub struct ReactionsOf<'a> {
    pub id: MessageId,
    pub reactions: &'a [Reaction],
    #[serde(rename = "last-event-id", skip_serializing_if = "Option::is_none")]
    pub last_event_id: Option<String>,
}

impl ReplyTo {
    /// The quote of `original`: its author and the first `QUOTE_MAX` characters.
    pub fn quote(id: MessageId, from: &str, text: &str) -> Self {
        Self {
            id,
            from: from.to_owned(),
            text: text.chars().take(QUOTE_MAX).collect(),
            deleted: false,
        }
    }

    /// As a message's entry stores it, in one line: the id, then `from` and the text
    /// (neither, once deleted).
    pub fn stored(&self) -> String {
        let id = self.id.to_string();
        let quote = [id.as_str(), self.from.as_str(), self.text.as_str()];
        let fields = if self.deleted { 1 } else { 3 };
        encode_groups([quote[..fields].iter().copied()])
    }

    /// A reply as `stored` wrote it; `None` if it is not one.
    pub fn from_stored(line: &str) -> Option<Self> {
        let groups = decode_groups(line);
        match *groups.first()?.as_slice() {
            [id, from, text] => Some(Self::quote(id.parse().ok()?, from, text)),
            [id] => Some(Self::deleted(id.parse().ok()?)),
            _ => None,
        }
    }

    /// The quote of a message deleted since: its id only.
    pub fn deleted(id: MessageId) -> Self {
        Self {
            id,
            from: String::new(),
            text: String::new(),
            deleted: true,
        }
    }
}

/// An emoji a client sent (trimmed): exactly one emoji, else a refusal naming `emoji`.
pub fn parse_emoji(raw: Option<&str>) -> Result<String, Invalid> {
    let emoji = raw.map(str::trim).unwrap_or_default();
    if !is_one_emoji(emoji) {
        return Err(Invalid::new(
            "emoji",
            "The field 'emoji' must be exactly one emoji, such as 👍.",
        ));
    }
    Ok(emoji.to_owned())
}

/// Groups of fields as one line: fields end with U+1F, groups with U+1E.
pub fn encode_groups<'a, G, F>(groups: G) -> String
where
    G: IntoIterator<Item = F>,
    F: IntoIterator<Item = &'a str>,
{
    let mut out = String::new();
    for group in groups {
        for field in group {
            out.push_str(field);
            out.push(UNIT);
        }
        out.push(RECORD);
    }
    out
}

/// The groups `encode_groups` wrote.
pub fn decode_groups(line: &str) -> Vec<Vec<&str>> {
    line.split_terminator(RECORD)
        .map(|group| group.split_terminator(UNIT).collect())
        .collect()
}

/// Reactions as a message's entry stores them: per emoji, the emoji, its count, names.
pub fn encode_reactions(reactions: &[Reaction]) -> Option<String> {
    let counts: Vec<String> = reactions.iter().map(|r| r.count.to_string()).collect();
    let groups = reactions.iter().zip(&counts).map(|(r, count)| {
        [r.emoji.as_str(), count.as_str()]
            .into_iter()
            .chain(r.names.iter().map(String::as_str))
    });
    (!reactions.is_empty()).then(|| encode_groups(groups))
}

/// The reactions `encode_reactions` wrote; a malformed group is left out.
pub fn decode_reactions(line: Option<&str>) -> Vec<Reaction> {
    let groups = line.map(decode_groups).unwrap_or_default();
    groups
        .into_iter()
        .filter_map(|group| match group.as_slice() {
            [emoji, count, names @ ..] => Some(Reaction {
                emoji: (*emoji).to_owned(),
                count: count.parse().ok()?,
                names: names.iter().map(|n| (*n).to_owned()).collect(),
            }),
            _ => None,
        })
        .collect()
}

/// Everyone who reacted to one message, per emoji in the order first used.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reactors(pub Vec<(String, Vec<String>)>);

/// A reaction that would add a 21st emoji to a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooManyEmoji;

impl Reactors {
    /// Adds `name`'s `emoji`; `Ok(false)` if they had reacted with it already.
    pub fn add(&mut self, emoji: &str, name: &str) -> Result<bool, TooManyEmoji> {
        let full = self.0.len() >= EMOJI_MAX;
        match self.0.iter_mut().find(|(e, _)| e == emoji) {
            Some((_, names)) if names.iter().any(|n| n == name) => Ok(false),
            Some((_, names)) => {
                names.push(name.to_owned());
                Ok(true)
            }
            None if full => Err(TooManyEmoji),
            None => {
                self.0.push((emoji.to_owned(), vec![name.to_owned()]));
                Ok(true)
            }
        }
    }

    /// Removes `name`'s `emoji`; `false` if they had not reacted with it.
    pub fn remove(&mut self, emoji: &str, name: &str) -> bool {
        let Some(at) = self.0.iter().position(|(e, _)| e == emoji) else {
            return false;
        };
        let names = &mut self.0[at].1;
        let before = names.len();
        names.retain(|n| n != name);
        let removed = names.len() < before;
        if names.is_empty() {
            self.0.remove(at);
        }
        removed
    }

    /// As stored in its own record: per emoji, the emoji then every name.
    pub fn encode(&self) -> String {
        encode_groups(self.0.iter().map(|(emoji, names)| {
            std::iter::once(emoji.as_str()).chain(names.iter().map(String::as_str))
        }))
    }

    /// The record `encode` wrote.
    pub fn decode(line: &str) -> Self {
        let groups = decode_groups(line).into_iter().filter_map(|group| {
            let (emoji, names) = group.split_first()?;
            let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
            (!names.is_empty()).then(|| ((*emoji).to_owned(), names))
        });
        Self(groups.collect())
    }

    /// What a message shows: each emoji's count and first `NAMES_MAX` names.
    pub fn summary(&self) -> Vec<Reaction> {
        self.0
            .iter()
            .map(|(emoji, names)| Reaction {
                emoji: emoji.clone(),
                count: names.len() as u32,
                names: names.iter().take(NAMES_MAX).cloned().collect(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_reaction_per_person_per_emoji() {
        let mut r = Reactors::default();
        assert_eq!(r.add("👍", "ann"), Ok(true));
        assert_eq!(r.add("👍", "ann"), Ok(false));
        assert_eq!(r.add("👍", "bob"), Ok(true));
        assert_eq!(r.add("🎉", "ann"), Ok(true));
        let s = r.summary();
        assert_eq!((s[0].emoji.as_str(), s[0].count), ("👍", 2));
        assert_eq!(s[0].names, ["ann", "bob"]);
        assert!(!r.remove("👍", "cat"));
        assert!(!r.remove("😀", "ann"));
        assert!(r.remove("🎉", "ann"));
        assert_eq!(r.summary().len(), 1, "an emoji nobody has left goes");
        assert_eq!(Reactors::decode(&r.encode()), r);
        let s = r.summary();
        assert_eq!(decode_reactions(encode_reactions(&s).as_deref()), s);
        assert_eq!(encode_reactions(&[]), None);
        assert_eq!(decode_reactions(None), []);
    }

    #[test]
    fn limits() {
        let mut r = Reactors::default();
        for n in 0..30 {
            r.add("👍", &format!("p{n}")).unwrap();
        }
        let s = r.summary();
        assert_eq!((s[0].count, s[0].names.len()), (30, NAMES_MAX));
        let emoji: Vec<String> = (0..EMOJI_MAX as u32)
            .map(|i| char::from_u32(0x1F600 + i).unwrap().to_string())
            .collect();
        let mut r = Reactors::default();
        for e in &emoji {
            r.add(e, "ann").unwrap();
        }
        assert_eq!(r.add("👍", "ann"), Err(TooManyEmoji));
        assert_eq!(r.add(&emoji[0], "bob"), Ok(true), "an emoji already there");
        assert!(parse_emoji(Some(" 👍 ")).is_ok());
        assert_eq!(parse_emoji(Some("👍👍")).unwrap_err().field, "emoji");
        assert!(parse_emoji(None).is_err());
        let q = ReplyTo::quote(3, "ann", &"é".repeat(150));
        assert_eq!(q.text.chars().count(), QUOTE_MAX);
        assert_eq!(
            serde_json::to_string(&ReplyTo::deleted(3)).unwrap(),
            r#"{"id":3,"deleted":true}"#
        );
        assert_eq!(ReplyTo::from_stored(&q.stored()), Some(q));
        let multiline = ReplyTo::quote(4, "bob", "two\nlines");
        assert_eq!(ReplyTo::from_stored(&multiline.stored()), Some(multiline));
        let deleted = ReplyTo::deleted(3);
        assert_eq!(ReplyTo::from_stored(&deleted.stored()), Some(deleted));
        assert_eq!(ReplyTo::from_stored("x"), None);
    }
}
