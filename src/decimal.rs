//! Non-negative decimal numbers read as whole millionths (`"0.5"` is 500,000): the two
//! fractional settings the service reads, `edit_minutes` and the `q` weights of
//! `Accept-Encoding`, need nothing more. Parsing them with `str::parse::<f64>` linked
//! core's float parser and its tables, about 10 KB of wasm, into a package that must stay
//! under 512 KiB.

/// Decimal places kept; more are ignored (truncated), not refused.
const PLACES: u32 = 6;
pub const ONE: u64 = 10u64.pow(PLACES);

/// `"15"`, `"0.05"`, `"1."` or `".5"` as millionths; `None` for anything else (signs,
/// exponents, spaces inside, no digits at all) or for a value past `u64`.
pub fn millionths(text: &str) -> Option<u64> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() && fraction.is_empty() || !digits(whole) || !digits(fraction) {
        return None;
    }
    let whole: u64 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let mut part = 0;
    for (place, digit) in fraction.bytes().take(PLACES as usize).enumerate() {
        part += u64::from(digit - b'0') * 10u64.pow(PLACES - 1 - place as u32);
    }
    whole.checked_mul(ONE)?.checked_add(part)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_as_millionths() {
        assert_eq!(millionths("15"), Some(15 * ONE));
        assert_eq!(millionths("0.05"), Some(50_000));
        assert_eq!(millionths(".5"), Some(500_000));
        assert_eq!(millionths("1."), Some(ONE));
        assert_eq!(millionths("0.1234567"), Some(123_456));
        assert_eq!(millionths("0"), Some(0));
        for bad in [
            "",
            ".",
            "-1",
            "+1",
            "1e3",
            "1.2.3",
            " 1",
            "x",
            "99999999999999999999",
        ] {
            assert_eq!(millionths(bad), None, "{bad:?}");
        }
    }
}
