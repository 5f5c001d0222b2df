//! Reading header values without trusting them.
//!
//! HTTP allows any byte from 0x80 up in a header value (obs-text), and the SDK's
//! `get_header_str` panics on one that is not UTF-8: the fuzzer (scripts/fuzz) found
//! `Origin: \xc3(` taking the service down with a wasm backtrace. Every header read goes
//! through [`HeaderText`] instead, which turns such a value into U+FFFD: text that no
//! parser here accepts, so an undecodable `Origin` is foreign, an undecodable
//! `Content-Type` unsupported and an undecodable `Last-Event-ID` malformed.

use fastly::convert::ToHeaderName;
use fastly::{Request, Response};

/// What an undecodable header value reads as.
const UNDECODABLE: &str = "\u{FFFD}";

pub trait HeaderText {
    /// The header's value as text, if present (U+FFFD when it is not UTF-8).
    fn header_text(&self, name: impl ToHeaderName) -> Option<&str>;
}

/// Every value of a header a request carries, joined with `, ` as one list (Fanout sends
/// `Grip-Last` as one line per channel). U+FFFD for values that are not UTF-8.
pub fn all_values(req: &Request, name: &str) -> Option<String> {
    let values: Vec<&str> = req
        .get_header_all(name)
        .map(|v| v.to_str().unwrap_or(UNDECODABLE))
        .collect();
    (!values.is_empty()).then(|| values.join(", "))
}

impl HeaderText for Request {
    fn header_text(&self, name: impl ToHeaderName) -> Option<&str> {
        self.get_header(name)
            .map(|v| v.to_str().unwrap_or(UNDECODABLE))
    }
}

impl HeaderText for Response {
    fn header_text(&self, name: impl ToHeaderName) -> Option<&str> {
        self.get_header(name)
            .map(|v| v.to_str().unwrap_or(UNDECODABLE))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fastly::http::HeaderValue;

    #[test]
    fn undecodable_values_read_as_a_replacement_character() {
        let mut req = Request::get("http://localhost/");
        req.set_header("Origin", HeaderValue::from_bytes(b"\xc3(").unwrap());
        req.set_header("Last-Event-ID", "5");
        assert_eq!(req.header_text("Origin"), Some("\u{FFFD}"));
        assert_eq!(req.header_text("last-event-id"), Some("5"));
        assert_eq!(req.header_text("Accept"), None);
        req.append_header("Grip-Last", "a; last-id=1");
        req.append_header("Grip-Last", "b; last-id=2");
        assert_eq!(
            all_values(&req, "grip-last").as_deref(),
            Some("a; last-id=1, b; last-id=2")
        );
        assert_eq!(all_values(&req, "Accept"), None);
    }
}
