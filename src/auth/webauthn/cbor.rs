//! A small CBOR (RFC 8949) reader: just what WebAuthn needs, and nothing that hostile
//! input can turn into a panic, a deep recursion or a large allocation.
//!
//! WebAuthn speaks CBOR in three places, all inside a passkey response: the attestation
//! object (WebAuthn L3 §6.5.4: a map of `fmt`, `attStmt`, `authData`), the credential
//! public key inside authenticator data (a COSE_Key map, §6.5.1.1), and authenticator
//! extension outputs (§6.1, the ED flag), which are only skipped. Authenticators emit
//! CTAP2's canonical subset, so this reader takes definite lengths only: unsigned and
//! negative integers, byte and text strings, arrays, maps whose keys are integers or text,
//! and the simple values false, true, null and undefined. Tags, floats and indefinite
//! lengths are refused. A general CBOR crate would add 17–24 KB of wasm for features never
//! used here (issue 11 measured minicbor and ciborium).
//!
//! Limits: every length is checked against the bytes left before anything is allocated,
//! containers hold at most [`MAX_ITEMS`] entries, nesting is at most [`MAX_DEPTH`] deep,
//! and a map may not repeat a key (two `alg` entries must not mean two different things
//! to two readers).

use std::fmt;

/// Deepest nesting accepted. The deepest WebAuthn structure, a packed attestation's
/// `x5c` array inside `attStmt` inside the attestation object, is 3 deep.
pub const MAX_DEPTH: usize = 8;
/// Most entries in one array or map. COSE keys have about 5, extension maps a handful.
pub const MAX_ITEMS: usize = 64;

/// One decoded CBOR item, borrowing strings from the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value<'a> {
    /// Major types 0 and 1: -2^64 ..= 2^64 - 1.
    Int(i128),
    Bytes(&'a [u8]),
    Text(&'a str),
    Array(Vec<Value<'a>>),
    Map(Vec<(Value<'a>, Value<'a>)>),
    Bool(bool),
    Null,
    Undefined,
}

impl<'a> Value<'a> {
    /// The value under integer key `key`, if this is a map that has it.
    pub fn get_int(&self, key: i128) -> Option<&Value<'a>> {
        self.get(&Value::Int(key))
    }

    /// The value under text key `key`, if this is a map that has it.
    pub fn get_text(&self, key: &str) -> Option<&Value<'a>> {
        self.get(&Value::Text(key))
    }

    fn get(&self, key: &Value<'_>) -> Option<&Value<'a>> {
        match self {
            Value::Map(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn as_int(&self) -> Option<i128> {
        match self {
            Value::Int(n) => Some(*n),
            _ => None,
        }
    }

    pub fn as_bytes(&self) -> Option<&'a [u8]> {
        match self {
            Value::Bytes(b) => Some(b),
            _ => None,
        }
    }

    pub fn as_text(&self) -> Option<&'a str> {
        match self {
            Value::Text(s) => Some(s),
            _ => None,
        }
    }

    /// The entries, if this is a map.
    pub fn as_map(&self) -> Option<&[(Value<'a>, Value<'a>)]> {
        match self {
            Value::Map(entries) => Some(entries),
            _ => None,
        }
    }
}

/// Why the input is not CBOR this reader accepts, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CborError {
    pub offset: usize,
    pub reason: &'static str,
}

impl fmt::Display for CborError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at byte {}", self.reason, self.offset)
    }
}

/// Decodes exactly one item that fills all of `input`.
pub fn decode(input: &[u8]) -> Result<Value<'_>, CborError> {
    let (value, rest) = decode_prefix(input)?;
    if !rest.is_empty() {
        return Err(CborError {
            offset: input.len() - rest.len(),
            reason: "trailing bytes after the CBOR item",
        });
    }
    Ok(value)
}

/// Decodes one item from the start of `input` and returns it with the bytes after it.
/// Authenticator data needs this: its COSE key and extensions have no length prefix.
pub fn decode_prefix(input: &[u8]) -> Result<(Value<'_>, &[u8]), CborError> {
    let mut reader = Reader { input, pos: 0 };
    let value = reader.item(0)?;
    Ok((value, &input[reader.pos..]))
}

struct Reader<'a> {
    input: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn fail<T>(&self, reason: &'static str) -> Result<T, CborError> {
        Err(CborError {
            offset: self.pos,
            reason,
        })
    }

    fn take(&mut self, len: u64) -> Result<&'a [u8], CborError> {
        let left = self.input.len() - self.pos;
        match usize::try_from(len) {
            Ok(len) if len <= left => {
                let bytes = &self.input[self.pos..self.pos + len];
                self.pos += len;
                Ok(bytes)
            }
            _ => self.fail("length runs past the end of the input"),
        }
    }

    /// The initial byte and its argument: (major type, additional info, argument).
    fn head(&mut self) -> Result<(u8, u8, u64), CborError> {
        let initial = self.take(1)?[0];
        let (major, info) = (initial >> 5, initial & 0x1f);
        let size = match info {
            0..=23 => return Ok((major, info, u64::from(info))),
            24 => 1,
            25 => 2,
            26 => 4,
            27 => 8,
            31 => return self.fail("indefinite lengths are not accepted"),
            _ => return self.fail("reserved additional information"),
        };
        // Floats (major 7, info 25..27) are refused by the caller; read them as integers.
        let arg = self
            .take(size)?
            .iter()
            .fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
        Ok((major, info, arg))
    }

    /// A container's entry count, bounded before anything is allocated.
    fn count(&self, count: u64, min_bytes_each: u64) -> Result<usize, CborError> {
        let left = (self.input.len() - self.pos) as u64;
        if count > MAX_ITEMS as u64 {
            return self.fail("too many entries in one array or map");
        }
        if count.saturating_mul(min_bytes_each) > left {
            return self.fail("length runs past the end of the input");
        }
        Ok(count as usize)
    }

    fn item(&mut self, depth: usize) -> Result<Value<'a>, CborError> {
        if depth > MAX_DEPTH {
            return self.fail("nested too deeply");
        }
        let start = self.pos;
        let (major, info, arg) = self.head()?;
        match major {
            0 => Ok(Value::Int(i128::from(arg))),
            1 => Ok(Value::Int(-1 - i128::from(arg))),
            2 => Ok(Value::Bytes(self.take(arg)?)),
            3 => {
                let bytes = self.take(arg)?;
                match std::str::from_utf8(bytes) {
                    Ok(text) => Ok(Value::Text(text)),
                    Err(_) => {
                        self.pos = start;
                        self.fail("text string is not UTF-8")
                    }
                }
            }
            4 => {
                let count = self.count(arg, 1)?;
                let mut items = Vec::with_capacity(count);
                for _ in 0..count {
                    items.push(self.item(depth + 1)?);
                }
                Ok(Value::Array(items))
            }
            5 => self.map(arg, depth),
            6 => self.fail("tags are not accepted"),
            _ => match (info, arg) {
                (20, _) => Ok(Value::Bool(false)),
                (21, _) => Ok(Value::Bool(true)),
                (22, _) => Ok(Value::Null),
                (23, _) => Ok(Value::Undefined),
                (25..=27, _) => self.fail("floats are not accepted"),
                _ => self.fail("unassigned simple value"),
            },
        }
    }

    fn map(&mut self, arg: u64, depth: usize) -> Result<Value<'a>, CborError> {
        let count = self.count(arg, 2)?;
        let mut entries: Vec<(Value<'a>, Value<'a>)> = Vec::with_capacity(count);
        for _ in 0..count {
            let key_at = self.pos;
            let key = self.item(depth + 1)?;
            if !matches!(key, Value::Int(_) | Value::Text(_)) {
                self.pos = key_at;
                return self.fail("map keys must be integers or text");
            }
            if entries.iter().any(|(k, _)| *k == key) {
                self.pos = key_at;
                return self.fail("a map repeats a key");
            }
            let value = self.item(depth + 1)?;
            entries.push((key, value));
        }
        Ok(Value::Map(entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    fn reason(input: &[u8]) -> &'static str {
        decode(input).unwrap_err().reason
    }

    #[test]
    fn integers_of_every_width() {
        // RFC 8949 Appendix A examples.
        for (encoded, n) in [
            ("00", 0),
            ("17", 23),
            ("1818", 24),
            ("1903e8", 1000),
            ("1a000f4240", 1_000_000),
            ("1bffffffffffffffff", u64::MAX as i128),
            ("20", -1),
            ("3863", -100),
            ("3bffffffffffffffff", -1 - u64::MAX as i128),
        ] {
            assert_eq!(decode(&hex(encoded)), Ok(Value::Int(n)), "{encoded}");
        }
    }

    #[test]
    fn strings_and_simple_values() {
        assert_eq!(decode(&hex("4401020304")), Ok(Value::Bytes(&[1, 2, 3, 4])));
        assert_eq!(decode(&hex("40")), Ok(Value::Bytes(&[])));
        assert_eq!(decode(&hex("6449455446")), Ok(Value::Text("IETF")));
        assert_eq!(decode(&hex("62c3bc")), Ok(Value::Text("ü")));
        assert_eq!(decode(&hex("f4")), Ok(Value::Bool(false)));
        assert_eq!(decode(&hex("f5")), Ok(Value::Bool(true)));
        assert_eq!(decode(&hex("f6")), Ok(Value::Null));
        assert_eq!(decode(&hex("f7")), Ok(Value::Undefined));
    }

    #[test]
    fn maps_and_arrays() {
        // {1: 2, "a": [3, -4]}
        let encoded = hex("a20102616182 0323".replace(' ', "").as_str());
        let value = decode(&encoded).unwrap();
        assert_eq!(value.get_int(1), Some(&Value::Int(2)));
        assert_eq!(
            value.get_text("a"),
            Some(&Value::Array(vec![Value::Int(3), Value::Int(-4)]))
        );
        assert_eq!(value.get_int(2), None);
        assert_eq!(value.get_text("b"), None);
        assert_eq!(value.as_map().map(<[_]>::len), Some(2));
        assert_eq!(Value::Int(1).get_int(1), None);
    }

    #[test]
    fn prefix_returns_the_rest() {
        let input = hex("a10102ffee");
        let (value, rest) = decode_prefix(&input).unwrap();
        assert_eq!(value.get_int(1), Some(&Value::Int(2)));
        assert_eq!(rest, &[0xff, 0xee]);
        assert_eq!(reason(&input), "trailing bytes after the CBOR item");
    }

    #[test]
    fn refuses_what_webauthn_does_not_use() {
        let refused = [
            ("5f42010243030405ff", "indefinite lengths are not accepted"),
            ("9fff", "indefinite lengths are not accepted"),
            ("c11a514b67b0", "tags are not accepted"),
            ("f93c00", "floats are not accepted"),
            ("fb3ff199999999999a", "floats are not accepted"),
            ("f0", "unassigned simple value"),
            ("f820", "unassigned simple value"),
            ("1c", "reserved additional information"),
            ("a1400a", "map keys must be integers or text"),
            ("a1f60a", "map keys must be integers or text"),
            ("a2010a010b", "a map repeats a key"),
            ("62c328", "text string is not UTF-8"),
        ];
        for (input, why) in refused {
            assert_eq!(reason(&hex(input)), why, "{input}");
        }
    }

    #[test]
    fn truncated_input_is_an_error_not_a_panic() {
        let whole = hex("a3636e6f6e6501624b4b4301020304");
        for len in 0..whole.len() {
            assert!(decode(&whole[..len]).is_err(), "prefix of {len} bytes");
        }
        assert_eq!(reason(&[]), "length runs past the end of the input");
        assert_eq!(
            reason(&hex("19ff")),
            "length runs past the end of the input"
        );
    }

    #[test]
    fn huge_lengths_allocate_nothing() {
        // A byte string, an array and a map that each claim 2^64 - 1 entries.
        for encoded in ["5bffffffffffffffff", "7bffffffffffffffff"] {
            assert_eq!(
                reason(&hex(encoded)),
                "length runs past the end of the input"
            );
        }
        for encoded in ["9bffffffffffffffff", "bbffffffffffffffff", "98ff", "b841"] {
            assert_eq!(
                reason(&hex(encoded)),
                "too many entries in one array or map"
            );
        }
        // Within MAX_ITEMS but longer than the input.
        assert_eq!(
            reason(&hex("983f00")),
            "length runs past the end of the input"
        );
        assert_eq!(
            reason(&hex("b82000")),
            "length runs past the end of the input"
        );
    }

    #[test]
    fn nesting_is_bounded() {
        let ok: Vec<u8> = [vec![0x81; MAX_DEPTH], vec![0x00]].concat();
        assert!(decode(&ok).is_ok());
        let deep: Vec<u8> = [vec![0x81; MAX_DEPTH + 1], vec![0x00]].concat();
        assert_eq!(decode(&deep).unwrap_err().reason, "nested too deeply");
        // 100,000 levels: refused at MAX_DEPTH, long before the stack is at risk.
        let deeper = vec![0x81; 100_000];
        assert_eq!(decode(&deeper).unwrap_err().reason, "nested too deeply");
    }

    #[test]
    fn every_byte_string_is_safe() {
        // Every 1- and 2-byte input, and 3-byte ones over a spread of heads: errors or values,
        // never a panic.
        for a in 0..=255u8 {
            let _ = decode(&[a]);
            for b in 0..=255u8 {
                let _ = decode(&[a, b]);
                let _ = decode_prefix(&[a, b, a ^ b]);
            }
        }
    }

    #[test]
    fn errors_say_where() {
        let err = decode(&hex("a2010a010b")).unwrap_err();
        assert_eq!(err.offset, 3);
        assert_eq!(err.to_string(), "a map repeats a key at byte 3");
    }
}
