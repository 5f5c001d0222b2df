//! Cross-site request refusal for unsafe methods.
//!
//! A browser attaches `Origin` to every cross-origin POST (and `Origin: null` from
//! sandboxed frames and some redirects), and modern ones add `Sec-Fetch-Site`. A request
//! that changes something is refused when either says it came from another site, so a
//! page elsewhere cannot post into a room through a visitor's browser. Clients that send
//! neither header (curl, scripts, server-to-server) are not browsers acting for someone
//! else and pass. `same-site` is refused too: on a shared parent domain such as
//! `edgecompute.app` a "site" includes strangers' services.

use fastly::http::Method;

/// Methods that only read: never refused.
fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Whether a request must be refused as cross-site.
///
/// `own_origin` is this service's origin as the request reached it (`scheme://host`);
/// `allowed` are further origins from config (`rp_origins`).
pub fn is_cross_site(
    method: &Method,
    origin: Option<&str>,
    sec_fetch_site: Option<&str>,
    own_origin: &str,
    allowed: &[String],
) -> bool {
    if is_safe(method) {
        return false;
    }
    match origin.map(str::trim) {
        Some(origin) => {
            !(origin.eq_ignore_ascii_case(own_origin)
                || allowed.iter().any(|a| origin.eq_ignore_ascii_case(a)))
        }
        None => sec_fetch_site
            .map(str::trim)
            .is_some_and(|site| !matches!(site, "same-origin" | "none")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OWN: &str = "http://127.0.0.1:7676";

    fn refused(method: Method, origin: Option<&str>, site: Option<&str>) -> bool {
        let allowed = ["http://localhost:7676".to_owned()];
        is_cross_site(&method, origin, site, OWN, &allowed)
    }

    #[test]
    fn unsafe_methods_from_elsewhere_are_refused() {
        assert!(refused(Method::POST, Some("http://evil.example"), None));
        assert!(refused(Method::POST, Some("null"), None));
        assert!(refused(
            Method::DELETE,
            Some("https://127.0.0.1:7676"),
            None
        ));
        assert!(refused(Method::POST, None, Some("cross-site")));
        assert!(refused(Method::PATCH, None, Some("same-site")));
        // Origin decides when present, whatever Sec-Fetch-Site claims.
        assert!(refused(
            Method::POST,
            Some("http://evil.example"),
            Some("same-origin")
        ));
    }

    #[test]
    fn same_origin_and_headerless_clients_pass() {
        assert!(!refused(Method::POST, Some(OWN), Some("same-origin")));
        assert!(!refused(Method::POST, Some("HTTP://127.0.0.1:7676"), None));
        assert!(!refused(Method::POST, Some("http://localhost:7676"), None));
        assert!(!refused(Method::POST, None, Some("same-origin")));
        assert!(!refused(Method::POST, None, Some("none")));
        assert!(!refused(Method::POST, None, None));
        assert!(!refused(
            Method::GET,
            Some("http://evil.example"),
            Some("cross-site")
        ));
    }
}
