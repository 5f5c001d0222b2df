//! Names nobody can imitate: what a nickname or account name may contain, the form it is
//! stored and shown in, and the key that makes look-alike names one name.
//!
//! * **Stored as typed, in NFC**: "Zoe" + U+0301 and "Zoé" are both stored as "Zoé", so a
//!   name compared byte for byte (the `admins` list) matches however it was typed.
//! * **Refused characters** ([`first_refused`]): default ignorables, variation selectors,
//!   U+2800 and every format (Cf), private-use (Co) and unassigned (Cn) character (plus
//!   controls and line/paragraph separators). Each can make a name render like another,
//!   or like nothing, or differently tomorrow (an unassigned code point).
//! * **The key** ([`key`]) is what uniqueness is decided on: the name case-folded and
//!   compatibility-normalised (Unicode's caseless match, D146: "Ann", "ＡＮＮ" and "ann"
//!   agree) and then reduced to its UTS #39 confusables skeleton ("аnn" with a Cyrillic а
//!   is "ann"; "m" is "rn"). The two steps are repeated until stable, as a skeleton may
//!   name an uppercase prototype ("0" → "O", which folds to "o"). Refused characters
//!   are left out of it, so "ann" + U+FE0E has the key of "ann" (and, being refused
//!   anyway, is answered as the taken name it imitates when that one exists).
//! * **Reserved names** ([`is_reserved`]): [`RESERVED`] in any spelling with their key.
//!
//! The Unicode data comes from ICU4X and `unicode-security` at build time. Linked into
//! the wasm, those crates cost about 114 KB of gzipped package (unicode-normalization and
//! unicode-security alone, without categories or case folding, 105 KB: a test binary
//! built with this package's profile, December 2026), against a limit of 512 KiB; so
//! build/name_tables.rs writes out only the mappings used here (see `tables`), which
//! cost 26,164 B of package. The key of a name is the concatenation of its characters'
//! keys (each computed from the crates), put in canonical order: the tests check every
//! accepted character, and strings of several, against the crates' own answers.

mod tables;

use tables::{combining_class, composition, decomposition, is_refused, key_of};

/// Names nobody may sign up with, in any spelling that has the same key.
pub const RESERVED: [&str; 7] = [
    "admin",
    "administrator",
    "moderator",
    "system",
    "root",
    "support",
    "edge-chat",
];

/// Hangul syllables (Unicode §3.12): composed and decomposed by arithmetic.
const S_BASE: u32 = 0xAC00;
const L_BASE: u32 = 0x1100;
const V_BASE: u32 = 0x1161;
const T_BASE: u32 = 0x11A7;
const L_COUNT: u32 = 19;
const V_COUNT: u32 = 21;
const T_COUNT: u32 = 28;
const N_COUNT: u32 = V_COUNT * T_COUNT;
const S_COUNT: u32 = L_COUNT * N_COUNT;

/// The first character of `name` that names refuse, if any.
pub fn first_refused(name: &str) -> Option<char> {
    name.chars().find(|&c| {
        if c.is_ascii() {
            c.is_ascii_control()
        } else {
            is_refused(c)
        }
    })
}

/// `text` in Normalization Form C.
pub fn nfc(text: &str) -> String {
    if text.is_ascii() {
        return text.to_owned();
    }
    compose(decomposed(text.chars()))
}

/// The key that decides which names are one: see the module doc.
pub fn key(name: &str) -> String {
    let kept = name.chars().filter(|&c| !is_refused(c));
    let mut key = Vec::with_capacity(name.len());
    for c in decomposed(kept) {
        match key_of(c) {
            Some(mapped) => key.extend_from_slice(mapped),
            None => key.push(c),
        }
    }
    reorder(&mut key);
    key.into_iter().collect()
}

/// Whether `name` is one of [`RESERVED`] in another spelling.
pub fn is_reserved(name: &str) -> bool {
    let key = key(name);
    RESERVED.iter().any(|reserved| self::key(reserved) == key)
}

/// The full canonical decomposition of `chars`, in canonical order (NFD).
fn decomposed(chars: impl Iterator<Item = char>) -> Vec<char> {
    let mut out = Vec::new();
    for c in chars {
        push_decomposed(c, &mut out);
    }
    reorder(&mut out);
    out
}

fn push_decomposed(c: char, out: &mut Vec<char>) {
    let s = (c as u32).wrapping_sub(S_BASE);
    if s < S_COUNT {
        let jamo = |cp| char::from_u32(cp).expect("Hangul jamo are characters");
        out.push(jamo(L_BASE + s / N_COUNT));
        out.push(jamo(V_BASE + s % N_COUNT / T_COUNT));
        if !s.is_multiple_of(T_COUNT) {
            out.push(jamo(T_BASE + s % T_COUNT));
        }
    } else if let Some(parts) = decomposition(c) {
        for &part in parts {
            push_decomposed(part, out);
        }
    } else {
        out.push(c);
    }
}

/// Canonical ordering: each run of combining marks sorted (stably) by combining class.
/// An insertion sort: runs are a few marks long, and it links no general sort.
fn reorder(chars: &mut [char]) {
    for i in 1..chars.len() {
        let class = combining_class(chars[i]);
        let mut j = i;
        while class != 0 && j > 0 && combining_class(chars[j - 1]) > class {
            chars.swap(j - 1, j);
            j -= 1;
        }
    }
}

/// Canonical composition of a decomposed, ordered text (the second half of NFC).
fn compose(chars: Vec<char>) -> String {
    let mut out: Vec<char> = Vec::with_capacity(chars.len());
    // The last starter's index, and the class of the last character after it.
    let mut starter: Option<usize> = None;
    let mut last_class: Option<u8> = None;
    for c in chars {
        let class = combining_class(c);
        if let Some(at) = starter {
            let blocked = last_class.is_some_and(|last| last == 0 || last >= class);
            if !blocked && let Some(composite) = compose_pair(out[at], c) {
                out[at] = composite;
                continue;
            }
        }
        if class == 0 {
            starter = Some(out.len());
            last_class = None;
        } else {
            last_class = Some(class);
        }
        out.push(c);
    }
    out.into_iter().collect()
}

fn compose_pair(starter: char, next: char) -> Option<char> {
    let (s, n) = (starter as u32, next as u32);
    let (l, v, t) = (
        s.wrapping_sub(L_BASE),
        n.wrapping_sub(V_BASE),
        n.wrapping_sub(T_BASE),
    );
    if l < L_COUNT && v < V_COUNT {
        return char::from_u32(S_BASE + (l * V_COUNT + v) * T_COUNT);
    }
    let lv = s.wrapping_sub(S_BASE);
    if lv < S_COUNT && lv.is_multiple_of(T_COUNT) && (1..T_COUNT).contains(&t) {
        return char::from_u32(s + t);
    }
    composition(starter, next)
}

#[cfg(test)]
mod tests;
