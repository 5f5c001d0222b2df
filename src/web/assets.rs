//! Static files served from the wasm itself: `build.rs` embeds `static/` at build time.
//!
//! Each file is reachable two ways:
//! * `/static/chat.<hash>.js`, the fingerprinted name pages link to: its content can
//!   never change, so browsers and caches keep it for a year without asking again;
//! * `/static/chat.js`, the plain name: always revalidated (`no-cache` + ETag), for
//!   anything that cannot know the hash.
//!
//! Bodies were gzip-compressed at build time (at maximum level); a request that accepts
//! gzip gets that copy, with `Vary: Accept-Encoding`. A file with a gzip copy is not
//! embedded plain as well: the rare client that takes no gzip gets the copy inflated
//! (`miniz_oxide`), which keeps ~18 KB out of the 512 KiB package. There is no brotli
//! copy: it would save browsers ~13% of the UI's bytes (8.4 vs 7.2 KB when the UI was
//! 22.7 KB), but costs its whole size again in the package, which is compressed data the
//! package's own gzip cannot shrink (~17 KB at 60 KB of UI, measured 2026-12-05). Each
//! encoding has its own strong ETag (`"<hash>"`, `"<hash>-gz"`), and `If-None-Match` with
//! either answers 304: they are the same file.

use crate::decimal;
use crate::headers::HeaderText;
use fastly::http::{HeaderValue, Method, StatusCode, header};
use fastly::{Request, Response};

/// One embedded file.
#[derive(Debug)]
pub struct Asset {
    /// The file's name in `static/`.
    pub name: &'static str,
    /// Its fingerprinted URL path, `/static/<stem>.<hash>.<ext>`.
    pub path: &'static str,
    pub content_type: &'static str,
    /// The start of the SHA-256 of the file, hex.
    pub hash: &'static str,
    /// The file as it is, unless `gzip` holds it (then [`Asset::plain`] inflates that).
    pub identity: Option<&'static [u8]>,
    pub gzip: Option<&'static [u8]>,
}

include!(concat!(env!("OUT_DIR"), "/assets.rs"));

/// Bytes of the gzip header build.rs writes (no name, extra or comment) and trailer.
const GZIP_HEADER: usize = 10;
const GZIP_TRAILER: usize = 8;

impl Asset {
    /// The file as it is: embedded, or its gzip copy's deflate stream inflated.
    pub fn plain(&self) -> Vec<u8> {
        match (self.identity, self.gzip) {
            (Some(bytes), _) => bytes.to_vec(),
            (None, Some(gz)) => {
                let deflate = &gz[GZIP_HEADER..gz.len() - GZIP_TRAILER];
                miniz_oxide::inflate::decompress_to_vec(deflate)
                    .expect("build.rs wrote a valid gzip copy")
            }
            (None, None) => unreachable!("build.rs embeds every file one way or another"),
        }
    }
}

/// For fingerprinted names: a year, and never revalidated.
pub const CACHE_IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// For plain names: stored, but checked (a cheap 304) before every use.
pub const CACHE_REVALIDATE: &str = "no-cache";

/// The embedded file named `name` in `static/`. Pages only name files that exist, and
/// a unit test checks each of them, so a missing one is a build mistake.
pub fn get(name: &str) -> &'static Asset {
    ASSETS
        .iter()
        .find(|a| a.name == name)
        .unwrap_or_else(|| panic!("static/{name} is not embedded"))
}

/// The URL pages use for `static/<name>`: fingerprinted.
pub fn url(name: &str) -> &'static str {
    get(name).path
}

/// The asset at a request path, and whether the path is its fingerprinted one.
pub fn find(path: &str) -> Option<(&'static Asset, bool)> {
    let file = path.strip_prefix("/static/")?;
    ASSETS.iter().find_map(|a| {
        if a.path == path {
            Some((a, true))
        } else if a.name == file {
            Some((a, false))
        } else {
            None
        }
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Gzip,
    Identity,
}

impl Encoding {
    fn content_encoding(self) -> Option<&'static str> {
        match self {
            Encoding::Gzip => Some("gzip"),
            Encoding::Identity => None,
        }
    }

    fn etag_suffix(self) -> &'static str {
        match self {
            Encoding::Gzip => "-gz",
            Encoding::Identity => "",
        }
    }
}

/// The encoding to send, given `Accept-Encoding` and whether a gzip copy exists: gzip
/// when its q-value (or the wildcard's) is above 0, else identity (we never answer 406 —
/// every client can read the original).
pub fn negotiate(accept_encoding: Option<&str>, has_gzip: bool) -> Encoding {
    let Some(accept) = accept_encoding else {
        return Encoding::Identity;
    };
    // Weights in millionths (`decimal`): 1 is 1,000,000.
    let q = |coding: &str| -> u64 {
        let mut wildcard = None;
        for entry in accept.split(',') {
            let mut parts = entry.split(';').map(str::trim);
            let token = parts.next().unwrap_or_default();
            let q = parts
                .find_map(|p| p.strip_prefix("q=").or_else(|| p.strip_prefix("Q=")))
                .map_or(decimal::ONE, |v| decimal::millionths(v.trim()).unwrap_or(0));
            if token.eq_ignore_ascii_case(coding) {
                return q;
            }
            if token == "*" {
                wildcard = Some(q);
            }
        }
        wildcard.unwrap_or(0)
    };
    if has_gzip && q("gzip") > 0 {
        Encoding::Gzip
    } else {
        Encoding::Identity
    }
}

/// Whether `If-None-Match` names any encoding of the file with this hash.
pub fn etag_matches(if_none_match: &str, hash: &str) -> bool {
    if_none_match.split(',').map(str::trim).any(|tag| {
        let tag = tag.strip_prefix("W/").unwrap_or(tag);
        if tag == "*" {
            return true;
        }
        let Some(opaque) = tag.strip_prefix('"').and_then(|t| t.strip_suffix('"')) else {
            return false;
        };
        let base = opaque.strip_suffix("-gz").unwrap_or(opaque);
        base == hash
    })
}

/// The response for `asset` (`fingerprinted`: requested by its fingerprinted path).
pub fn respond(req: &Request, asset: &Asset, fingerprinted: bool) -> Response {
    if !matches!(*req.get_method(), Method::GET | Method::HEAD) {
        return Response::from_status(StatusCode::METHOD_NOT_ALLOWED)
            .with_header(header::ALLOW, "GET, HEAD")
            .with_header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
            .with_body("Use GET.\n");
    }
    let encoding = negotiate(
        req.header_text(header::ACCEPT_ENCODING),
        asset.gzip.is_some(),
    );
    let etag = format!("\"{}{}\"", asset.hash, encoding.etag_suffix());
    let cache = if fingerprinted {
        CACHE_IMMUTABLE
    } else {
        CACHE_REVALIDATE
    };
    let mut resp = Response::new()
        .with_header(header::ETAG, &etag)
        .with_header(header::CACHE_CONTROL, cache)
        .with_header(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    if asset.gzip.is_some() {
        resp.set_header(header::VARY, "Accept-Encoding");
    }
    let not_modified = req
        .header_text(header::IF_NONE_MATCH)
        .is_some_and(|inm| etag_matches(inm, asset.hash));
    if not_modified {
        resp.set_status(StatusCode::NOT_MODIFIED);
        return resp;
    }
    let encoded = match encoding {
        Encoding::Gzip => asset.gzip,
        Encoding::Identity => None,
    };
    if let Some(coding) = encoding.content_encoding() {
        resp.set_header(header::CONTENT_ENCODING, HeaderValue::from_static(coding));
    }
    let resp = resp.with_header(header::CONTENT_TYPE, asset.content_type);
    match encoded {
        Some(body) => resp.with_body(body),
        None => resp.with_body(asset.plain()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation() {
        use Encoding::*;
        assert_eq!(negotiate(None, true), Identity);
        assert_eq!(negotiate(Some("gzip, deflate, br, zstd"), true), Gzip);
        assert_eq!(negotiate(Some("gzip"), true), Gzip);
        assert_eq!(negotiate(Some("br;q=0.5, gzip"), true), Gzip);
        assert_eq!(negotiate(Some("br, gzip;q=0"), true), Identity);
        assert_eq!(negotiate(Some("GZIP"), true), Gzip);
        assert_eq!(negotiate(Some("*"), true), Gzip);
        assert_eq!(negotiate(Some("*;q=0.1, br;q=0"), true), Gzip);
        assert_eq!(negotiate(Some("br, *;q=0"), true), Identity);
        assert_eq!(negotiate(Some("identity"), true), Identity);
        assert_eq!(negotiate(Some(""), true), Identity);
        assert_eq!(negotiate(Some("gzip"), false), Identity);
    }

    #[test]
    fn etags() {
        assert!(etag_matches("\"abc\"", "abc"));
        assert!(etag_matches("\"abc-gz\"", "abc"));
        assert!(etag_matches("W/\"abc-gz\"", "abc"));
        assert!(!etag_matches("\"abc-br\"", "abc"));
        assert!(etag_matches("\"x\", \"abc\"", "abc"));
        assert!(etag_matches("*", "abc"));
        assert!(!etag_matches("\"abcd\"", "abc"));
        assert!(!etag_matches("abc", "abc"));
        assert!(!etag_matches("\"\"", "abc"));
    }

    #[test]
    fn embedded_files() {
        assert!(!ASSETS.is_empty());
        for asset in ASSETS {
            assert!(asset.path.starts_with("/static/"), "{}", asset.path);
            assert!(asset.path.contains(asset.hash), "{}", asset.path);
            assert_eq!(
                find(asset.path).map(|(a, fp)| (a.name, fp)),
                Some((asset.name, true))
            );
            let plain = format!("/static/{}", asset.name);
            assert_eq!(
                find(&plain).map(|(a, fp)| (a.name, fp)),
                Some((asset.name, false))
            );
            let plain = asset.plain();
            let digest = hmac_sha256::Hash::hash(&plain);
            let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
            assert!(hex.starts_with(asset.hash), "{}", asset.name);
            if let Some(copy) = asset.gzip {
                assert!(copy.len() < plain.len(), "{}", asset.name);
            }
        }
        assert!(find("/static/nope.js").is_none());
        assert!(find("/elsewhere/app.css").is_none());
    }
}
