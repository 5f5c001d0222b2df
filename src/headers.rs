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
    }
}
