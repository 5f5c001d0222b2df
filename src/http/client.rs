//! Taking the client's request from the host without trusting its URL.
//!
//! `Request::from_client()` parses the URL lazily and panics inside the SDK when the host
//! hands over one that does not parse: Viceroy turns an asterisk-form request
//! (`GET * HTTP/1.1`, meant for `OPTIONS *`) into `http://127.0.0.1:7676*`, and the first
//! `get_path()` then traps with a wasm backtrace as the 500 body. So the raw URL is read
//! once through the host call and checked before a `Request` is built on it.

use fastly::Request;
use fastly::handle::{RequestHandle, client_request_and_body};
use fastly::http::Url;
use fastly_shared::FastlyStatus;

/// The longest URL read; longer ones are refused (Fastly's own limit is 8 KiB).
const URL_MAX: usize = 16 * 1024;

/// The client's request, or `None` when its URL is not one the SDK can parse.
pub fn request() -> Option<Request> {
    let (req, body) = client_request_and_body();
    if !url_parses(&req) {
        return None;
    }
    Some(Request::from_handles(req, Some(body)))
}

fn url_parses(req: &RequestHandle) -> bool {
    let mut buf = vec![0u8; URL_MAX];
    let mut written = 0;
    // SAFETY: the host writes at most `buf.len()` bytes into `buf` and their count into
    // `written`; the handle is the live client request.
    #[allow(deprecated)] // as_u32 is the raw-ABI escape hatch, deprecated only for wasip2
    let status = unsafe {
        fastly_sys::fastly_http_req::uri_get(
            req.as_u32(),
            buf.as_mut_ptr(),
            buf.len(),
            &mut written,
        )
    };
    status == FastlyStatus::OK
        && written <= buf.len()
        && std::str::from_utf8(&buf[..written]).is_ok_and(|url| Url::parse(url).is_ok())
}
