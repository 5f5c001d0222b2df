use icu_casemap::CaseMapper;
use icu_normalizer::{ComposingNormalizerBorrowed, DecomposingNormalizerBorrowed};

use super::*;

/// The crates' own key of a whole string, as build/name_tables.rs computes it per
/// character: refused characters left out, then fold and skeleton until stable.
fn reference_key(name: &str) -> String {
    let nfd = DecomposingNormalizerBorrowed::new_nfd();
    let nfkd = DecomposingNormalizerBorrowed::new_nfkd();
    let fold = |s: &str| CaseMapper::new().fold_string(s).into_owned();
    let mut key: String = name.chars().filter(|&c| !is_refused(c)).collect();
    for _ in 0..8 {
        let folded = nfkd
            .normalize(&fold(&nfkd.normalize(&fold(&nfd.normalize(&key)))))
            .into_owned();
        let next: String = unicode_security::skeleton(&folded).collect();
        if next == key {
            return key;
        }
        key = next;
    }
    panic!("no stable key for {name:?}");
}

/// Strings that exercise every path: ASCII, case, width, accents in both forms and
/// both orders, Hangul, scripts whose letters imitate Latin, compatibility characters.
const SAMPLES: [&str; 24] = [
    "ann",
    "Ann",
    "\u{430}nn",
    "Zoe\u{301}",
    "Zo\u{E9}",
    "\u{FF21}\u{FF2E}\u{FF2E}",
    "a\u{323}\u{302}",
    "a\u{302}\u{323}",
    "\u{1EAD}",
    "\u{212B}ngstr\u{F6}m",
    "\u{AC01}\u{1100}\u{1161}\u{11A8}",
    "Stra\u{DF}e",
    "\u{1D400}\u{1D41B}",
    "\u{FB01}le",
    "\u{3392}",
    "\u{915}\u{93C}\u{958}",
    "\u{FDFA}",
    "\u{39F}\u{3BF}o0O",
    "I l 1 |",
    "\u{2160}\u{2161}",
    "\u{1F600} \u{2764}",
    "\u{5D0}\u{5B7}\u{5BC}",
    "\u{E9}\u{301}\u{327}",
    "edge\u{2014}chat",
];

#[test]
fn nfc_matches_icu() {
    let icu = ComposingNormalizerBorrowed::new_nfc();
    for sample in SAMPLES {
        assert_eq!(nfc(sample), icu.normalize(sample), "{sample:?}");
    }
    assert_eq!(nfc("Zoe\u{301}"), "Zo\u{E9}");
    assert_eq!(nfc("\u{1100}\u{1161}\u{11A8}"), "\u{AC01}");
    // A composition exclusion stays decomposed; a singleton is replaced.
    assert_eq!(nfc("\u{958}"), "\u{915}\u{93C}");
    assert_eq!(nfc("\u{212B}"), "\u{C5}");
}

#[test]
fn key_matches_the_crates_skeleton_of_the_folded_name() {
    for sample in SAMPLES {
        assert_eq!(key(sample), reference_key(sample), "{sample:?}");
    }
}

#[test]
fn look_alikes_share_a_key() {
    let ann = key("ann");
    for same in [
        "Ann",
        "ANN",
        "\u{430}nn",
        "ann\u{FE0E}",
        "\u{FF41}\u{FF4E}\u{FF4E}",
        "a\u{200B}nn",
    ] {
        assert_eq!(key(same), ann, "{same:?}");
    }
    assert_eq!(key("Zoe\u{301}"), key("Zo\u{E9}"));
    assert_eq!(key("ZO\u{C9}"), key("zo\u{E9}"));
    // UTS #39 lists "m" as confusable with "rn"; "0", "O" and "o" end up one key.
    assert_eq!(key("m"), key("rn"));
    assert_eq!(key("b0b"), key("BOB"));
    assert_eq!(key("l1"), key("11"));
    for (one, other) in [
        ("ann", "anne"),
        ("ann", "an"),
        ("zoe", "zo\u{E9}"),
        ("bob", "bib"),
    ] {
        assert_ne!(key(one), key(other), "{one:?} vs {other:?}");
    }
}

#[test]
fn refused_classes() {
    for (c, class) in [
        ('\u{200B}', "format"),
        ('\u{202E}', "format (bidi override)"),
        ('\u{E000}', "private use"),
        ('\u{F0000}', "private use, plane 15"),
        ('\u{378}', "unassigned"),
        ('\u{FE0F}', "variation selector"),
        ('\u{E0100}', "variation selector supplement"),
        ('\u{2800}', "braille blank"),
        ('\u{34F}', "default ignorable (a mark)"),
        ('\u{115F}', "default ignorable (a letter)"),
        ('\u{3164}', "Hangul filler"),
        ('\u{2028}', "line separator"),
        ('\u{7}', "control"),
    ] {
        assert_eq!(first_refused(&format!("ann{c}")), Some(c), "{class}");
    }
    // Everything the nickname rule refused before this table still is.
    let before = [
        '\u{AD}'..='\u{AD}',
        '\u{34F}'..='\u{34F}',
        '\u{61C}'..='\u{61C}',
        '\u{115F}'..='\u{1160}',
        '\u{17B4}'..='\u{17B5}',
        '\u{180B}'..='\u{180F}',
        '\u{200B}'..='\u{200F}',
        '\u{2028}'..='\u{202E}',
        '\u{2060}'..='\u{206F}',
        '\u{3164}'..='\u{3164}',
        '\u{FEFF}'..='\u{FEFF}',
        '\u{FFA0}'..='\u{FFA0}',
        '\u{FFF9}'..='\u{FFFB}',
        '\u{E0000}'..='\u{E007F}',
    ];
    for c in before.into_iter().flatten() {
        assert!(is_refused(c), "U+{:04X}", c as u32);
    }
    for fine in [
        "ann",
        "Zo\u{E9}",
        "\u{5E2}\u{5D1}\u{5E8}\u{5D9}\u{5EA}",
        "\u{674E}\u{96F7}",
        "\u{1F600}",
        "a-b_c.d e",
    ] {
        assert_eq!(first_refused(fine), None, "{fine:?}");
    }
}

#[test]
fn reserved_in_every_spelling() {
    for reserved in [
        "admin",
        "Admin",
        "ADMIN",
        "\u{FF21}\u{FF24}\u{FF2D}\u{FF29}\u{FF2E}",
        "\u{430}dmin",
        "adrnin",
        "Administrator",
        "MODERATOR",
        "syst\u{435}m",
        "r00t",
        "Support",
        "Edge-Chat",
    ] {
        assert!(is_reserved(reserved), "{reserved:?}");
    }
    for free in ["admins", "ann", "edge chat", "rooted"] {
        assert!(!is_reserved(free), "{free:?}");
    }
}

/// Every character names accept, alone: the unpacked tables give the crates' answers.
#[test]
fn every_character_agrees_with_the_crates() {
    let icu = ComposingNormalizerBorrowed::new_nfc();
    let mut checked = 0;
    for c in (0..=0x10FFFF).filter_map(char::from_u32) {
        if is_refused(c) {
            continue;
        }
        let text = c.to_string();
        assert_eq!(nfc(&text), icu.normalize(&text), "U+{:04X}", c as u32);
        assert_eq!(key(&text), reference_key(&text), "U+{:04X}", c as u32);
        checked += 1;
    }
    assert!(checked > 100_000, "{checked}");
}

/// Letters with one and two combining marks, in both orders: composition and canonical
/// order across characters, and keys concatenated per character, match the crates.
#[test]
fn marks_after_letters_agree_with_the_crates() {
    let icu = ComposingNormalizerBorrowed::new_nfc();
    let marks: Vec<char> = ('\u{300}'..='\u{36F}')
        .chain('\u{1DC0}'..='\u{1DFF}')
        .collect();
    for base in [
        "a",
        "E",
        "o",
        "\u{E6}",
        "\u{3B1}",
        "\u{435}",
        "\u{1100}\u{1161}",
        "\u{AC00}",
    ] {
        for (i, &one) in marks.iter().enumerate() {
            for &two in &marks[i..][..marks.len().min(i + 3) - i] {
                for text in [
                    format!("{base}{one}"),
                    format!("{base}{one}{two}"),
                    format!("{base}{two}{one}x"),
                ] {
                    assert_eq!(nfc(&text), icu.normalize(&text), "{text:?}");
                    assert_eq!(key(&text), reference_key(&text), "{text:?}");
                }
            }
        }
    }
}
