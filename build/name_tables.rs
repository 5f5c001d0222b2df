//! Generates the Unicode tables of `src/model/name/`: what names may contain and the key
//! that makes look-alike names one name (see that module for the rules).
//!
//! Every fact comes from well-kept crates, run here on the build host only: ICU4X
//! (`icu_properties` for general categories, default ignorables and combining classes,
//! `icu_normalizer` for decompositions and compositions, `icu_casemap` for case folding)
//! and `unicode-security` for the UTS #39 confusables skeleton. Linking those crates into
//! the wasm would cost far more than the package can spare (their tables cover every
//! property of every character); only the few mappings the names need are written out,
//! packed as LEB128 gaps between sorted code points plus UTF-8 text, which gzip (the
//! package's compression) shrinks well.
//!
//! Output: `$OUT_DIR/name_tables.rs`, read by `src/model/name/tables.rs`.

use std::fmt::Write as _;
use std::fs;
use std::path::Path;

use icu_casemap::CaseMapper;
use icu_normalizer::DecomposingNormalizerBorrowed;
use icu_normalizer::properties::{
    CanonicalCompositionBorrowed, CanonicalDecompositionBorrowed, Decomposed,
};
use icu_properties::props::{CanonicalCombiningClass, DefaultIgnorableCodePoint, GeneralCategory};
use icu_properties::{CodePointMapData, CodePointSetData};

/// Hangul syllables decompose and compose by arithmetic (Unicode §3.12), done at run time.
const HANGUL: std::ops::RangeInclusive<u32> = 0xAC00..=0xD7A3;
/// Rounds of (fold, skeleton) before a character's key must be stable; 3 suffice today.
const KEY_ROUNDS: usize = 8;

/// Refused in names: format (Cf), private-use (Co), unassigned (Cn), controls, line and
/// paragraph separators, default ignorables, variation selectors and U+2800.
fn refused(c: char) -> bool {
    use GeneralCategory as G;
    let category = CodePointMapData::<GeneralCategory>::new().get(c);
    matches!(
        category,
        G::Format
            | G::PrivateUse
            | G::Unassigned
            | G::Control
            | G::LineSeparator
            | G::ParagraphSeparator
    ) || CodePointSetData::new::<DefaultIgnorableCodePoint>().contains(c)
        || matches!(c, '\u{FE00}'..='\u{FE0F}' | '\u{E0100}'..='\u{E01EF}' | '\u{2800}')
}

/// Unicode's compatibility caseless form (D146): NFKD(fold(NFKD(fold(NFD(s))))).
fn folded(s: &str) -> String {
    let nfd = DecomposingNormalizerBorrowed::new_nfd();
    let nfkd = DecomposingNormalizerBorrowed::new_nfkd();
    let fold = |s: &str| CaseMapper::new().fold_string(s).into_owned();
    nfkd.normalize(&fold(&nfkd.normalize(&fold(&nfd.normalize(s)))))
        .into_owned()
}

/// A character's key: folded, then its UTS #39 skeleton, repeated until stable (a
/// skeleton may name an uppercase prototype, "0" → "O", which folds on to "o").
fn key(c: char) -> String {
    let mut key = c.to_string();
    for _ in 0..KEY_ROUNDS {
        let next: String = unicode_security::skeleton(&folded(&key)).collect();
        if next == key {
            return key;
        }
        key = next;
    }
    panic!(
        "the key of U+{:04X} is not stable after {KEY_ROUNDS} rounds",
        c as u32
    );
}

fn leb(out: &mut Vec<u8>, mut value: u32) {
    loop {
        let low = (value & 0x7F) as u8;
        value >>= 7;
        if value == 0 {
            out.push(low);
            return;
        }
        out.push(low | 0x80);
    }
}

/// A table of sorted code points, each with a short text: gaps, text lengths (bit 7 of
/// a length is `flag`), and the texts' characters, each as the zigzag difference from
/// the character at the same position of the text before (texts of neighbours are
/// alike: "À" and "Á" are "A" and a mark, "𝐚" and "𝐛" are "a" and "b"). Measured
/// with gzip -9 in December 2026: the texts take 3.3 KB + 12.0 KB this way, against
/// 5.2 KB + 13.6 KB as plain UTF-8.
#[derive(Default)]
struct Packed {
    keys: Vec<u8>,
    lens: Vec<u8>,
    text: Vec<u8>,
    last: u32,
    before: Vec<u32>,
}

impl Packed {
    fn push(&mut self, c: char, text: &[char], flag: bool) {
        leb(&mut self.keys, c as u32 - self.last);
        self.last = c as u32;
        assert!(
            text.len() < 0x80,
            "U+{:04X} maps to too long a text",
            c as u32
        );
        self.lens
            .push(text.len() as u8 | if flag { 0x80 } else { 0 });
        for (at, &t) in text.iter().enumerate() {
            if self.before.len() == at {
                self.before.push(0);
            }
            let change = i64::from(t as u32) - i64::from(self.before[at]);
            let zigzag = if change < 0 {
                -2 * change - 1
            } else {
                2 * change
            };
            leb(&mut self.text, zigzag as u32);
            self.before[at] = t as u32;
        }
    }

    fn write(&self, out: &mut String, name: &str) {
        writeln!(out, "pub const {name}_KEYS: &[u8] = &{:?};", self.keys).unwrap();
        writeln!(out, "pub const {name}_LENS: &[u8] = &{:?};", self.lens).unwrap();
        writeln!(out, "pub const {name}_TEXT: &[u8] = &{:?};", self.text).unwrap();
    }
}

pub fn generate(out_dir: &Path) {
    let decompose = CanonicalDecompositionBorrowed::new();
    let compose = CanonicalCompositionBorrowed::new();
    let ccc = CodePointMapData::<CanonicalCombiningClass>::new();
    let (mut refusals, mut classes) = (Vec::new(), Vec::new());
    let (mut decomps, mut keys) = (Packed::default(), Packed::default());
    let (mut in_refused, mut last_bound, mut class, mut last_class) = (false, 0, 0u8, 0);
    for c in (0..=0x10FFFF).filter_map(char::from_u32) {
        let cp = c as u32;
        if refused(c) != in_refused {
            in_refused = !in_refused;
            leb(&mut refusals, cp - last_bound);
            last_bound = cp;
        }
        let cc = ccc.get(c).0;
        if cc != class {
            class = cc;
            leb(&mut classes, cp - last_class);
            leb(&mut classes, u32::from(cc));
            last_class = cp;
        }
        if in_refused || HANGUL.contains(&cp) {
            continue;
        }
        match decompose.decompose(c) {
            Decomposed::Default => {
                let k: Vec<char> = key(c).chars().collect();
                if k != [c] {
                    keys.push(c, &k, false);
                }
            }
            Decomposed::Singleton(d) => decomps.push(c, &[d], false),
            Decomposed::Expansion(a, b) => {
                decomps.push(c, &[a, b], compose.compose(a, b) == Some(c))
            }
        }
    }
    let mut out = String::from("// Generated by build/name_tables.rs: do not edit.\n");
    writeln!(out, "pub const REFUSED: &[u8] = &{refusals:?};").unwrap();
    writeln!(out, "pub const CLASSES: &[u8] = &{classes:?};").unwrap();
    decomps.write(&mut out, "DECOMP");
    keys.write(&mut out, "KEY");
    fs::write(out_dir.join("name_tables.rs"), out).unwrap();
}
