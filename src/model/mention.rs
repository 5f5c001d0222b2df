//! Which names a message's text mentions with `@`, as pure rules (who they are is the
//! store's to say: `http::api::mentions` looks them up).
//!
//! Names may hold almost any visible character, spaces and punctuation included
//! (`model::name`), so no single character can end every name. The rule is what people
//! type in other chats:
//!
//! * `@name` runs to the next whitespace (or another `@`), and punctuation that ends a
//!   sentence or a clause is dropped from its end: `@ann,` `@ann.` `(@ann)` `@ann!?`
//!   all mention `ann`. A name that itself ends in such a character is mentioned with
//!   brackets.
//! * `@[name]` mentions a name with spaces, or any name exactly: `@[ann lee]`. It ends
//!   at the first `]` on its line.
//! * An `@` right after a letter or digit is no mention (`ann@example.com`).
//!
//! Candidates are valid nicknames (`Nickname::parse`), each once by its key (`@Ann` and
//! `@ann` are one), in the order they first appear, at most [`CANDIDATES_MAX`]: in
//! passkey mode each is a KV lookup, so the cap is what keeps a post within its budget.

use super::Nickname;
use super::name::key;

/// Distinct names one message may mention. Each costs a passkey-mode post three KV
/// reads (the two records a name can be held by, then its holder's record), so 8 cost
/// at most 24 of a request's 200 operations.
pub const CANDIDATES_MAX: usize = 8;

/// What ends an `@name` when it comes last: sentence and clause punctuation, closing
/// brackets and quotes.
const TRAILING: &[char] = &[
    '.', ',', ';', ':', '!', '?', ')', ']', '}', '>', '"', '\'', '\u{2019}', '\u{201D}', '\u{2026}',
];

/// The distinct names `text` mentions, as typed (in NFC), at most [`CANDIDATES_MAX`].
pub fn candidates(text: &str) -> Vec<String> {
    let mut found: Vec<(String, String)> = Vec::new();
    let mut rest = text;
    let mut before: Option<char> = None;
    while let Some(at) = rest.find('@') {
        before = rest[..at].chars().next_back().or(before);
        let after = &rest[at + 1..];
        rest = after;
        if before.is_some_and(char::is_alphanumeric) {
            before = Some('@');
            continue;
        }
        before = Some('@');
        let raw = match after.strip_prefix('[') {
            Some(inner) => match inner.find([']', '\n']) {
                Some(end) if inner[end..].starts_with(']') => &inner[..end],
                _ => continue,
            },
            None => {
                let end = after.find(|c: char| c.is_whitespace() || c == '@');
                after[..end.unwrap_or(after.len())].trim_end_matches(TRAILING)
            }
        };
        let Ok(name) = Nickname::parse(Some(raw)) else {
            continue;
        };
        let name = name.into_string();
        let name_key = key(&name);
        if !found.iter().any(|(k, _)| *k == name_key) {
            found.push((name_key, name));
            if found.len() == CANDIDATES_MAX {
                break;
            }
        }
    }
    found.into_iter().map(|(_, name)| name).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_end_at_spaces_and_trailing_punctuation() {
        assert_eq!(candidates("hi @ann, and @bob."), ["ann", "bob"]);
        assert_eq!(candidates("(@ann) @bob!? @cy:"), ["ann", "bob", "cy"]);
        assert_eq!(candidates("@ann\n@bob's"), ["ann", "bob's"]);
        assert_eq!(
            candidates("@ann@bob"),
            ["ann"],
            "an @ after a letter starts none"
        );
        assert_eq!(candidates("@Zoe\u{301} x"), ["Zo\u{E9}"]);
        assert_eq!(candidates("@a-b_c.d"), ["a-b_c.d"]);
    }

    #[test]
    fn brackets_hold_names_with_spaces() {
        assert_eq!(candidates("ping @[ann lee] now"), ["ann lee"]);
        assert_eq!(candidates("@[ann.]"), ["ann."]);
        assert!(candidates("@[ann\nlee]").is_empty());
        assert!(candidates("@[unclosed").is_empty());
        assert!(candidates("@[]").is_empty());
    }

    #[test]
    fn no_mention_inside_a_word_or_without_a_name() {
        assert!(candidates("ann@example.com").is_empty());
        assert!(candidates("@ @. @, @\u{200B}").is_empty());
        assert!(candidates("@").is_empty());
        assert_eq!(candidates("x@y @z"), ["z"]);
    }

    #[test]
    fn each_name_once_by_its_key_and_capped() {
        assert_eq!(candidates("@ann @Ann @ＡＮＮ @bob @ann"), ["ann", "bob"]);
        let many: String = (0..20).map(|n| format!("@p{n} ")).collect();
        let found = candidates(&many);
        assert_eq!(found.len(), CANDIDATES_MAX);
        assert_eq!(found[0], "p0");
        assert!(candidates(&format!("@{}", "x".repeat(65))).is_empty());
    }
}
