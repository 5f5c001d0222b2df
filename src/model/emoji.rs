//! Whether a string is exactly one emoji: what a reaction may be.
//!
//! A hand-written check of the shapes Unicode's emoji sequences take (UTS #51), not a
//! grapheme segmenter: a crate with the full Unicode tables would cost far more of the
//! package than the few ranges below. It accepts, as one emoji:
//!
//! * a flag: two regional indicators;
//! * a keycap: `0-9`, `#` or `*`, an optional VS16, then U+20E3;
//! * a subdivision flag: U+1F3F4, tag characters, the cancel tag;
//! * a ZWJ sequence of pictographs, each optionally followed by VS16 and/or a skin-tone
//!   modifier (a lone pictograph is a sequence of one).
//!
//! "Pictograph" is Unicode's `Extended_Pictographic` property, approximated by whole
//! blocks where the block is almost all pictographs. Anything else (letters, two emoji,
//! a modifier on its own, a trailing ZWJ) is not one emoji.

/// Most Unicode scalar values in one emoji. The longest common sequences (a family of
/// four with skin tones, a subdivision flag) have 7 to 15; 32 leaves room and bounds what
/// a client can make the check walk.
pub const EMOJI_CHARS_MAX: usize = 32;

const ZWJ: char = '\u{200D}';
const VS16: char = '\u{FE0F}';
const KEYCAP: char = '\u{20E3}';

/// Extended_Pictographic, approximately: inclusive ranges, in code point order.
const PICTOGRAPHIC: &[(u32, u32)] = &[
    (0x00A9, 0x00A9),
    (0x00AE, 0x00AE),
    (0x203C, 0x203C),
    (0x2049, 0x2049),
    (0x2122, 0x2122),
    (0x2139, 0x2139),
    (0x2194, 0x2199),
    (0x21A9, 0x21AA),
    (0x231A, 0x231B),
    (0x2328, 0x2328),
    (0x2388, 0x2388),
    (0x23CF, 0x23CF),
    (0x23E9, 0x23F3),
    (0x23F8, 0x23FA),
    (0x24C2, 0x24C2),
    (0x25AA, 0x25AB),
    (0x25B6, 0x25B6),
    (0x25C0, 0x25C0),
    (0x25FB, 0x25FE),
    (0x2600, 0x27BF),
    (0x2934, 0x2935),
    (0x2B05, 0x2B07),
    (0x2B1B, 0x2B1C),
    (0x2B50, 0x2B50),
    (0x2B55, 0x2B55),
    (0x3030, 0x3030),
    (0x303D, 0x303D),
    (0x3297, 0x3297),
    (0x3299, 0x3299),
    (0x1F000, 0x1F0FF),
    (0x1F10D, 0x1F10F),
    (0x1F12F, 0x1F12F),
    (0x1F16C, 0x1F171),
    (0x1F17E, 0x1F17F),
    (0x1F18E, 0x1F18E),
    (0x1F191, 0x1F19A),
    (0x1F1AD, 0x1F1E5),
    (0x1F201, 0x1F20F),
    (0x1F21A, 0x1F21A),
    (0x1F22F, 0x1F22F),
    (0x1F232, 0x1F23A),
    (0x1F23C, 0x1F23F),
    (0x1F249, 0x1F3FA),
    (0x1F400, 0x1F53D),
    (0x1F546, 0x1F64F),
    (0x1F680, 0x1F6FF),
    (0x1F774, 0x1F77F),
    (0x1F7D5, 0x1F7FF),
    (0x1F80C, 0x1F80F),
    (0x1F848, 0x1F84F),
    (0x1F85A, 0x1F85F),
    (0x1F888, 0x1F88F),
    (0x1F8AE, 0x1F8FF),
    (0x1F90C, 0x1F93A),
    (0x1F93C, 0x1F945),
    (0x1F947, 0x1FAFF),
    (0x1FC00, 0x1FFFD),
];

fn pictographic(c: char) -> bool {
    let c = c as u32;
    PICTOGRAPHIC.iter().any(|&(lo, hi)| (lo..=hi).contains(&c))
}

fn regional(c: char) -> bool {
    ('\u{1F1E6}'..='\u{1F1FF}').contains(&c)
}

fn skin_tone(c: char) -> bool {
    ('\u{1F3FB}'..='\u{1F3FF}').contains(&c)
}

/// Whether `s` is exactly one emoji (see the module doc).
pub fn is_one_emoji(s: &str) -> bool {
    let chars: Vec<char> = s.chars().collect();
    if chars.is_empty() || chars.len() > EMOJI_CHARS_MAX {
        return false;
    }
    match chars[..] {
        [a, b] if regional(a) && regional(b) => return true,
        [k, KEYCAP] | [k, VS16, KEYCAP] if k.is_ascii_digit() || k == '#' || k == '*' => {
            return true;
        }
        ['\u{1F3F4}', ref tags @ .., '\u{E007F}'] if !tags.is_empty() => {
            return tags
                .iter()
                .all(|&t| ('\u{E0020}'..='\u{E007E}').contains(&t));
        }
        _ => {}
    }
    chars.split(|&c| c == ZWJ).all(element)
}

/// One element of a ZWJ sequence: a pictograph, then optionally VS16, then optionally a
/// skin tone (or a skin tone straight after it).
fn element(element: &[char]) -> bool {
    match *element {
        [p] | [p, VS16] => pictographic(p),
        [p, m] | [p, VS16, m] => pictographic(p) && skin_tone(m),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_emoji_of_each_shape() {
        for ok in [
            "👍",
            "❤",
            "❤\u{FE0F}",
            "👍🏽",
            "🇫🇷",
            "1\u{FE0F}\u{20E3}",
            "#\u{20E3}",
            "👨\u{200D}👩\u{200D}👧\u{200D}👦",
            "🏳\u{FE0F}\u{200D}🌈",
            "🧑🏿\u{200D}🤝\u{200D}🧑🏻",
            "🏴\u{E0067}\u{E0062}\u{E0073}\u{E0063}\u{E0074}\u{E007F}",
            "©",
            "🫠",
        ] {
            assert!(is_one_emoji(ok), "{ok:?}");
        }
    }

    #[test]
    fn anything_else_is_not_one_emoji() {
        for bad in [
            "",
            "a",
            "ok",
            "👍👍",
            "👍 ",
            " 👍",
            "🇫",
            "🇫🇷🇫",
            "🏽",
            "👍\u{200D}",
            "\u{200D}👍",
            "👍\u{200D}\u{200D}👍",
            "1",
            "12\u{20E3}",
            "\u{FE0F}",
            "👍\u{FE0F}\u{FE0F}",
            "👍🏽🏽",
            "🏴\u{E007F}",
            "🏴\u{E0067}a\u{E007F}",
            "<b>",
            "\u{0}",
        ] {
            assert!(!is_one_emoji(bad), "{bad:?}");
        }
        let long = ["👍"; 17].join("\u{200D}");
        assert!(!is_one_emoji(&long), "more than EMOJI_CHARS_MAX characters");
    }
}
