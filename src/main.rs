//! edge-chat: a realtime chat that runs entirely on Fastly Compute.
//!
//! Rooms and messages live in a KV Store (`store`), live streams are held by Fanout
//! and fed by the publish API (`live`), the web UI is embedded (`web`), and `http`
//! decides where a request goes. `model` holds the domain types everything shares,
//! `auth` who may do what, `config` the settings.
//!
//! Imports only point down: main → http → {web, live, auth} → store → {model, config,
//! timing, budget}; config → deploy (placeholders a deployment left behind).

mod auth;
mod budget;
mod cache;
mod config;
mod decimal;
mod deploy;
mod headers;
mod http;
mod limits;
mod live;
mod model;
mod store;
mod timing;
mod web;

use std::io::Write;
use std::sync::OnceLock;

use fastly::log::Endpoint;

/// The log endpoint a deployment may add (README, "Deploy to Fastly").
const LOG_ENDPOINT: &str = "edge_chat";

/// Not `#[fastly::main]`: a request handed to Fanout gets no response from us, and a
/// POST keeps running after its response is sent, to wait for its publish.
fn main() {
    init_logging();
    match http::client::request() {
        Some(req) => http::serve(req),
        None => http::refuse_unreadable_url(),
    }
}

/// Log lines go to the `edge_chat` log endpoint if the service has one, and to stderr,
/// which `fastly log-tail` and Viceroy's console show.
///
/// Not `log_fastly`: its logger links the `regex` crate for module filters we never use,
/// which was half of the wasm (1.76 MB → 0.87 MB without it, measured with scripts/bench).
fn init_logging() {
    static LOGGER: EndpointLogger = EndpointLogger(OnceLock::new());
    if log::set_logger(&LOGGER).is_ok() {
        log::set_max_level(log::LevelFilter::Info);
    }
}

/// Opens the endpoint on the first line logged: most requests log nothing.
struct EndpointLogger(OnceLock<Option<Endpoint>>);

impl log::Log for EndpointLogger {
    fn enabled(&self, metadata: &log::Metadata) -> bool {
        metadata.level() <= log::Level::Info
    }

    fn log(&self, record: &log::Record) {
        let line = format!("{} {}", record.level(), record.args());
        eprintln!("{line}");
        let endpoint = self
            .0
            .get_or_init(|| Endpoint::try_from_name(LOG_ENDPOINT).ok());
        if let Some(mut endpoint) = endpoint.clone() {
            // One write is one log line; a failed log write has nowhere to be reported.
            let _ = endpoint.write_all(line.as_bytes());
        }
    }

    fn flush(&self) {}
}
