//! The Unicode tables of names, as build/name_tables.rs writes them, unpacked on first
//! use into sorted arrays searched by binary search. Each table is unpacked on its own,
//! so a message's nickname (checked and composed) never pays for the key table that
//! only sign-up and sign-in need.

use std::sync::OnceLock;

mod generated {
    include!(concat!(env!("OUT_DIR"), "/name_tables.rs"));
}

/// The LEB128 numbers of a packed table.
fn numbers(bytes: &[u8]) -> impl Iterator<Item = u32> + '_ {
    let mut rest = bytes;
    std::iter::from_fn(move || {
        let (mut value, mut shift) = (0u32, 0);
        loop {
            let (&byte, tail) = rest.split_first()?;
            rest = tail;
            value |= u32::from(byte & 0x7F) << shift;
            if byte & 0x80 == 0 {
                return Some(value);
            }
            shift += 7;
        }
    })
}

/// Sorted code points packed as the gaps between them.
fn code_points(bytes: &[u8]) -> impl Iterator<Item = u32> + '_ {
    numbers(bytes).scan(0u32, |last, gap| {
        *last += gap;
        Some(*last)
    })
}

/// Code points each mapped to a short text; `flag` is bit 7 of its packed length.
pub struct Mapping {
    keys: Vec<u32>,
    spans: Vec<(u32, u8, bool)>,
    text: Vec<char>,
}

impl Mapping {
    fn unpack(keys: &[u8], lens: &[u8], text: &[u8]) -> Self {
        let keys = code_points(keys).collect();
        let (mut spans, mut chars) = (Vec::with_capacity(lens.len()), Vec::new());
        // Each character is a zigzag change from the one at its position in the text before.
        let (mut changes, mut before) = (numbers(text), Vec::<u32>::new());
        for &len in lens {
            let count = usize::from(len & 0x7F);
            spans.push((chars.len() as u32, len & 0x7F, len & 0x80 != 0));
            before.resize(before.len().max(count), 0);
            for previous in &mut before[..count] {
                let zigzag = changes.next().unwrap_or(0);
                let change = (zigzag >> 1) as i32 ^ -((zigzag & 1) as i32);
                *previous = previous.wrapping_add_signed(change);
                chars.push(char::from_u32(*previous).unwrap_or(char::REPLACEMENT_CHARACTER));
            }
        }
        Self {
            keys,
            spans,
            text: chars,
        }
    }

    fn text(&self, (start, len, _): (u32, u8, bool)) -> &[char] {
        &self.text[start as usize..][..usize::from(len)]
    }

    pub fn get(&self, c: char) -> Option<&[char]> {
        let at = self.keys.binary_search(&(c as u32)).ok()?;
        Some(self.text(self.spans[at]))
    }
}

fn refused_bounds() -> &'static [u32] {
    static BOUNDS: OnceLock<Vec<u32>> = OnceLock::new();
    BOUNDS.get_or_init(|| code_points(generated::REFUSED).collect())
}

/// Whether names refuse `c` (see build/name_tables.rs for the classes).
pub fn is_refused(c: char) -> bool {
    refused_bounds().partition_point(|&bound| bound <= c as u32) % 2 == 1
}

/// The canonical combining class of `c` (0 for a starter).
pub fn combining_class(c: char) -> u8 {
    static CLASSES: OnceLock<Vec<(u32, u8)>> = OnceLock::new();
    let classes = CLASSES.get_or_init(|| {
        let mut numbers = numbers(generated::CLASSES);
        let mut at = 0;
        std::iter::from_fn(|| {
            at += numbers.next()?;
            Some((at, numbers.next()? as u8))
        })
        .collect()
    });
    match classes.partition_point(|&(start, _)| start <= c as u32) {
        0 => 0,
        run => classes[run - 1].1,
    }
}

fn decompositions() -> &'static Mapping {
    static DECOMP: OnceLock<Mapping> = OnceLock::new();
    DECOMP.get_or_init(|| {
        Mapping::unpack(
            generated::DECOMP_KEYS,
            generated::DECOMP_LENS,
            generated::DECOMP_TEXT,
        )
    })
}

/// The one-step canonical decomposition of `c` (Hangul syllables excepted).
pub fn decomposition(c: char) -> Option<&'static [char]> {
    decompositions().get(c)
}

/// The primary composite of `starter` and `next` (Hangul syllables excepted), if any:
/// a scan of the two-character decompositions flagged as composing back (about 940 of
/// 2,100), done only for the rare name with combining marks.
pub fn composition(starter: char, next: char) -> Option<char> {
    let table = decompositions();
    let at =
        (table.spans.iter()).position(|&span| span.2 && table.text(span) == [starter, next])?;
    char::from_u32(table.keys[at])
}

/// What a fully decomposed character becomes in a name's key, if not itself.
pub fn key_of(c: char) -> Option<&'static [char]> {
    static KEYS: OnceLock<Mapping> = OnceLock::new();
    KEYS.get_or_init(|| {
        Mapping::unpack(
            generated::KEY_KEYS,
            generated::KEY_LENS,
            generated::KEY_TEXT,
        )
    })
    .get(c)
}
