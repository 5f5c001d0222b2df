//! Who a message is from: one nickname rule for the API, the join page and (with
//! passkeys) account names.

use super::Invalid;
use super::message::{FROM_MAX, clean};

/// A nickname: 1–64 characters, trimmed, with nothing that renders as something else:
/// no control characters, bidi overrides or zero-width characters (see `is_deceptive`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nickname(String);

impl Nickname {
    /// Refusals name the field `from`, as the message API calls it.
    pub fn parse(raw: Option<&str>) -> Result<Self, Invalid> {
        let name = clean("from", raw, FROM_MAX, false)?;
        if name.chars().any(is_deceptive) {
            return Err(Invalid::new(
                "from",
                "A nickname cannot contain invisible or text-direction characters.",
            ));
        }
        if !name.chars().any(is_visible) {
            return Err(Invalid::new(
                "from",
                "A nickname needs at least one visible character.",
            ));
        }
        Ok(Self(name))
    }

    pub fn into_string(self) -> String {
        self.0
    }
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

/// Whether a character shows up on its own: not a space, not one of the above, not a
/// variation selector, combining mark or blank (U+2800) that renders as nothing alone.
fn is_visible(c: char) -> bool {
    !(c.is_whitespace()
        || is_deceptive(c)
        || matches!(c,
            '\u{0300}'..='\u{036F}' | '\u{2800}' | '\u{FE00}'..='\u{FE0F}'
            | '\u{E0100}'..='\u{E01EF}' | '\u{20D0}'..='\u{20FF}'))
}

#[cfg(test)]
mod tests {
    use super::*;

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
            "\u{FE0F}",
            "\u{2800}",
            "\u{0301}\u{FE0F}",
        ] {
            assert_eq!(
                Nickname::parse(Some(bad)).unwrap_err().field,
                "from",
                "{bad:?}"
            );
        }
        for ok in [
            "ann",
            "Zoë",
            "עברית",
            "李雷",
            "😀",
            "❤\u{FE0F}",
            "a-b_c.d e",
        ] {
            assert_eq!(Nickname::parse(Some(ok)).unwrap().into_string(), ok);
        }
    }
}
