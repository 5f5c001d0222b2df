//! Headers every page carries: a CSP without inline script, no sniffing, no referrer
//! leaks, and whatever framing the `frame_ancestors` config allows.

use std::sync::atomic::{AtomicBool, Ordering};

use fastly::Response;
use fastly::http::{StatusCode, header};

/// How long a browser that saw a response over https keeps to https for this host
/// (`Strict-Transport-Security: max-age`): a year, the value HSTS preload lists ask for.
pub const HSTS_MAX_AGE_SECS: u64 = 365 * 24 * 3600;

/// Whether this request came over https (`note_https`; one wasm instance serves one
/// request, so a process global is enough).
static HTTPS: AtomicBool = AtomicBool::new(false);

/// Records whether the request being served came over https, for `strict_transport_security`.
pub fn note_https(https: bool) {
    HTTPS.store(https, Ordering::Relaxed);
}

/// Adds `Strict-Transport-Security` to a response sent over https, so a browser never
/// again sends this host a cookie or an API key in clear (a custom domain has no HSTS
/// preload of its own; `*.edgecompute.app` has `.app`'s). RFC 6797 §7.2: never over
/// plain http, where it would mean nothing.
pub fn strict_transport_security(resp: &mut Response) {
    if HTTPS.load(Ordering::Relaxed) {
        resp.set_header(
            header::STRICT_TRANSPORT_SECURITY,
            format!("max-age={HSTS_MAX_AGE_SECS}"),
        );
    }
}

/// The Content-Security-Policy of every page: scripts, styles and connections only
/// from this origin, nothing inline, embedding as the `frame_ancestors` config says.
pub fn content_security_policy(frame_ancestors: &str) -> String {
    // A config value cannot add directives or break the header.
    let frame_ancestors: String = frame_ancestors
        .chars()
        .map(|c| if c == ';' || c.is_control() { ' ' } else { c })
        .collect();
    format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
         connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors {}",
        frame_ancestors.trim()
    )
}

pub fn security_headers(resp: Response, frame_ancestors: &str) -> Response {
    resp.with_header(
        header::CONTENT_SECURITY_POLICY,
        content_security_policy(frame_ancestors),
    )
    .with_header(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
    .with_header(header::REFERRER_POLICY, "same-origin")
    .with_header("Cross-Origin-Opener-Policy", "same-origin")
}

pub fn html_response(status: StatusCode, body: String, frame_ancestors: &str) -> Response {
    security_headers(Response::from_status(status), frame_ancestors)
        .with_header(header::CONTENT_TYPE, "text/html; charset=utf-8")
        .with_header(header::CACHE_CONTROL, "no-cache")
        // Fastly compresses the page on its way out (a no-op under Viceroy).
        .with_header("X-Compress-Hint", "on")
        .with_header(header::VARY, "Accept-Encoding")
        .with_body(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hsts_only_over_https() {
        let mut plain = Response::new();
        note_https(false);
        strict_transport_security(&mut plain);
        assert!(
            plain
                .get_header(header::STRICT_TRANSPORT_SECURITY)
                .is_none()
        );
        let mut secure = Response::new();
        note_https(true);
        strict_transport_security(&mut secure);
        note_https(false);
        assert_eq!(
            secure.get_header_str(header::STRICT_TRANSPORT_SECURITY),
            Some("max-age=31536000")
        );
    }

    #[test]
    fn csp() {
        assert_eq!(
            content_security_policy("'self' https://a.example; script-src *"),
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             connect-src 'self'; base-uri 'none'; form-action 'self'; \
             frame-ancestors 'self' https://a.example  script-src *"
        );
    }
}
