//! Headers every page carries: a CSP without inline script, no sniffing, no referrer
//! leaks, and whatever framing the `frame_ancestors` config allows.

use fastly::Response;
use fastly::http::{StatusCode, header};

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
    fn csp() {
        assert_eq!(
            content_security_policy("'self' https://a.example; script-src *"),
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             connect-src 'self'; base-uri 'none'; form-action 'self'; \
             frame-ancestors 'self' https://a.example  script-src *"
        );
    }
}
