//! edge-chat: a realtime chat that runs entirely on Fastly Compute.
//!
//! Rooms and messages live in a KV Store (`store`), live streams are held by Fanout
//! (`grip`, `events`), and each new message is published through the Fastly publish
//! API (`publish`). `routes` decides where a request goes.

mod api;
mod assets;
mod config;
mod error;
mod events;
mod grip;
mod model;
mod pages;
mod publish;
mod routes;
mod sse;
mod store;
mod timing;

use std::sync::OnceLock;

use fastly::Request;

/// Not `#[fastly::main]`: a request handed to Fanout gets no response from us, and a
/// POST keeps running after its response is sent, to wait for its publish.
fn main() {
    init_logging();
    routes::serve(Request::from_client());
}

/// Log lines go to the `edge_chat` log endpoint if the service has one, and to stderr,
/// which `fastly log-tail` and Viceroy's console show.
fn init_logging() {
    static LOGGER: LazyLogger = LazyLogger(OnceLock::new());
    if log::set_logger(&LOGGER).is_ok() {
        log::set_max_level(log::LevelFilter::Info);
    }
}

/// Builds the `log_fastly` logger on the first line logged. Most requests log nothing,
/// and building it took ~5% of a history request's CPU (measured by scripts/bench).
struct LazyLogger(OnceLock<Option<log_fastly::Logger>>);

impl log::Log for LazyLogger {
    fn enabled(&self, metadata: &log::Metadata) -> bool {
        metadata.level() <= log::Level::Info
    }

    fn log(&self, record: &log::Record) {
        let build = || {
            log_fastly::Logger::builder()
                .max_level(log::LevelFilter::Info)
                .default_endpoint("edge_chat")
                .echo_stderr(true)
                .build()
                .ok()
        };
        if let Some(logger) = self.0.get_or_init(build) {
            logger.log(record);
        }
    }

    fn flush(&self) {}
}
