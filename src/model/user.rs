//! Who a message is from: one nickname rule for the API, the join page and (with
//! passkeys) account names. The Unicode rules themselves are in `super::name`.

use super::Invalid;
use super::message::{FROM_MAX, clean};
use super::name::{first_refused, nfc};

/// A nickname: 1–64 characters, trimmed, in NFC, with nothing that renders as something
/// else: no control, format, private-use or unassigned characters, no default ignorables
/// (zero-width characters, bidi controls), variation selectors or U+2800 (see
/// `name::first_refused`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nickname(String);

impl Nickname {
    /// Refusals name the field `from`, as the message API calls it.
    pub fn parse(raw: Option<&str>) -> Result<Self, Invalid> {
        let typed = clean("from", raw, FROM_MAX, false)?;
        // Normalised once its length is bounded; NFC can also lengthen it (U+0958 is
        // two characters in NFC), so the bound is checked again.
        let name = clean("from", Some(&nfc(&typed)), FROM_MAX, false)?;
        if let Some(c) = first_refused(&name) {
            return Err(Invalid::new(
                "from",
                format!(
                    "A nickname cannot contain U+{:04X}: invisible, text-direction, formatting, \
                     private-use and unassigned characters and variation selectors are refused.",
                    c as u32
                ),
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

/// Whether a character shows up on its own: not a space, nor a combining mark that
/// renders as nothing alone (refused characters are caught before this).
fn is_visible(c: char) -> bool {
    !(c.is_whitespace() || matches!(c, '\u{0300}'..='\u{036F}' | '\u{20D0}'..='\u{20FF}'))
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
            "\u{2764}\u{FE0F}",
            "ann\u{E000}",
            "ann\u{378}",
            "\u{0301}",
        ] {
            assert_eq!(
                Nickname::parse(Some(bad)).unwrap_err().field,
                "from",
                "{bad:?}"
            );
        }
        for ok in ["ann", "Zoë", "עברית", "李雷", "😀", "\u{2764}", "a-b_c.d e"] {
            assert_eq!(Nickname::parse(Some(ok)).unwrap().into_string(), ok);
        }
        // Stored in NFC, whichever form was typed.
        assert_eq!(
            Nickname::parse(Some(" Zoe\u{301} ")).unwrap().into_string(),
            "Zo\u{E9}"
        );
    }
}
