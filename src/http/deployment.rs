//! Refusing to run half-deployed: the host-facing side of `deploy`.
//!
//! Every request but a static file first asks the host where backend `self` points (two
//! host calls that read the service's own configuration: no backend request, no KV
//! operation) and reads `rp_id` and `rp_origins` (Config Store values kept for the rest
//! of the request; `rp_origins` is read by every cross-site check anyway). A
//! placeholder in any of them is a deployment that cannot work, so the answer is a 503
//! naming the setting: JSON for the API, a page for a browser, and an error log line
//! for `fastly log-tail`. Everything is refused, not only the streams and ceremonies
//! that would fail: a chat whose posts work but whose live updates never come hides
//! the cause, where a 503 on the first page says it.
//!
//! Static files are still served: the error page needs its stylesheet.

use fastly::http::header;
use fastly::{Request, Response};
use fastly_shared::FastlyStatus;

use super::error::ApiError;
use super::routes::Route;
use crate::config::Config;
use crate::deploy::{self, Problem, SelfBackend};
use crate::web;

/// Fanout's call-back target (fastly.toml `[setup.backends.self]`).
const SELF_BACKEND: &str = "self";
/// Longest host name DNS allows; a longer answer is no placeholder of ours.
const HOST_MAX: usize = 253;
/// A misconfigured deployment is fixed by a person, not by retrying at once.
const RETRY_AFTER_SECS: &str = "60";

/// The 503 for a deployment left with placeholders, or `None` to go on.
pub fn refusal(req: &Request, route: &Route, config: &Config) -> Option<Response> {
    if matches!(route, Route::Asset(_) | Route::Robots) {
        return None;
    }
    let self_backend = self_backend();
    let problems = deploy::problems(
        &self_backend,
        config.rp_id_setting().as_deref(),
        &config.allowed_origins(),
    );
    if let SelfBackend::Host(host) = &self_backend
        && let Some(request_host) = req.get_url().host_str()
        && deploy::is_other_edgecompute_name(host, request_host)
    {
        log::error!(
            "backend self points at {host}, but this request came to {request_host}: \
             Fanout calls back {host}; if that is not this service, point self here"
        );
    }
    if problems.is_empty() {
        return None;
    }
    let sentences: Vec<String> = problems.iter().map(Problem::sentence).collect();
    for sentence in &sentences {
        log::error!("deployment misconfigured: {sentence}");
    }
    let mut resp = if wants_page(req, route) {
        web::misconfigured(&sentences, config)
    } else {
        ApiError::unavailable(format!(
            "This deployment is not configured yet. {}",
            sentences.join(" ")
        ))
        .into_response()
    };
    resp.set_header(header::RETRY_AFTER, RETRY_AFTER_SECS);
    Some(resp)
}

/// Page-shaped paths get the page; anything else only a client that reads HTML.
fn wants_page(req: &Request, route: &Route) -> bool {
    match route {
        Route::Join | Route::Account | Route::Chat(_) => true,
        Route::NotFound => super::accepts_html(req),
        _ => false,
    }
}

/// Where backend `self` points, by the raw host calls: the SDK's `Backend::get_host`
/// panics on any host error, and a panic here would take every request down.
fn self_backend() -> SelfBackend {
    let name = SELF_BACKEND.as_bytes();
    let mut exists = 0u32;
    // SAFETY: the host reads `name` and writes one u32 into `exists`.
    let status =
        unsafe { fastly_sys::fastly_backend::exists(name.as_ptr(), name.len(), &mut exists) };
    if status != FastlyStatus::OK {
        log::warn!("backend exists({SELF_BACKEND}) failed: {status:?}");
        return SelfBackend::Unknown;
    }
    if exists == 0 {
        return SelfBackend::Missing;
    }
    let mut buf = vec![0u8; HOST_MAX];
    let mut written = 0;
    // SAFETY: the host writes at most `buf.len()` bytes into `buf` and their count into
    // `written`.
    let status = unsafe {
        fastly_sys::fastly_backend::get_host(
            name.as_ptr(),
            name.len(),
            buf.as_mut_ptr(),
            buf.len(),
            &mut written,
        )
    };
    match std::str::from_utf8(buf.get(..written).unwrap_or_default()) {
        Ok(host) if status == FastlyStatus::OK => SelfBackend::Host(host.to_owned()),
        _ => {
            log::warn!("backend get_host({SELF_BACKEND}) failed: {status:?}");
            SelfBackend::Unknown
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The unit tests run in Viceroy with fastly.toml's local backends: `self` is the
    /// loopback address scripts/dev serves on, which is no placeholder.
    #[test]
    fn viceroy_answers_where_self_points() {
        assert_eq!(self_backend(), SelfBackend::Host("127.0.0.1".into()));
    }
}
