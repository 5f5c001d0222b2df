//! Reading what a request carries: bounded bodies, forms, query numbers.

use std::io::Read;

use fastly::Request;
use fastly::http::header;
use serde::de::DeserializeOwned;

use super::error::ApiError;
use crate::headers::HeaderText;
use crate::model::parse_id;

/// Largest request body accepted, in bytes.
pub const BODY_MAX: usize = 16 * 1024;

/// Reads at most `BODY_MAX + 1` bytes, so an oversized body is refused without buffering it.
pub fn read_body(req: &mut Request) -> Result<Vec<u8>, ApiError> {
    if req.get_content_length().is_some_and(|len| len > BODY_MAX) {
        return Err(ApiError::payload_too_large(BODY_MAX));
    }
    let mut body = Vec::new();
    req.take_body()
        .take(BODY_MAX as u64 + 1)
        .read_to_end(&mut body)
        .map_err(|_| ApiError::invalid_body("The body could not be read."))?;
    if body.len() > BODY_MAX {
        return Err(ApiError::payload_too_large(BODY_MAX));
    }
    Ok(body)
}

/// A JSON body (`Content-Type: application/json`) as `T`.
pub fn read_json<T: DeserializeOwned>(req: &mut Request) -> Result<T, ApiError> {
    let is_json = req
        .header_text(header::CONTENT_TYPE)
        .and_then(|ct| ct.split(';').next())
        .is_some_and(|mt| mt.trim().eq_ignore_ascii_case("application/json"));
    if !is_json {
        return Err(ApiError::unsupported_media_type());
    }
    let body = read_body(req)?;
    serde_json::from_slice(&body)
        .map_err(|e| ApiError::invalid_body(format!("The body is not the JSON expected: {e}.")))
}

/// `application/x-www-form-urlencoded` pairs, percent- and `+`-decoded.
pub fn parse_form(body: &[u8]) -> Result<Vec<(String, String)>, ApiError> {
    let text =
        std::str::from_utf8(body).map_err(|_| ApiError::invalid_body("The form is not UTF-8."))?;
    let decode = |s: &str| {
        urlencoding::decode(&s.replace('+', " "))
            .map(|d| d.into_owned())
            .map_err(|_| ApiError::invalid_body("The form has invalid percent-encoding."))
    };
    text.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            Ok((decode(k)?, decode(v)?))
        })
        .collect()
}

/// The query string's pairs; an undecodable query counts as empty.
pub fn query_pairs(req: &Request) -> Vec<(String, String)> {
    req.get_query_str()
        .and_then(|q| parse_form(q.as_bytes()).ok())
        .unwrap_or_default()
}

/// A query parameter, percent-decoded; repeated, the last non-empty one wins (as in
/// django-eventstream, where a reconnecting client appends its `lastEventId`).
pub fn query_param(req: &Request, name: &str) -> Option<String> {
    let pairs = query_pairs(req);
    let mut values = pairs.iter().filter(|(k, _)| k == name).map(|(_, v)| v);
    let last = values.clone().next_back()?;
    Some(values.rfind(|v| !v.is_empty()).unwrap_or(last).clone())
}

/// An optional positive integer query parameter within `min ..= max`.
pub fn query_number(
    req: &Request,
    name: &'static str,
    min: u64,
    max: u64,
) -> Result<Option<u64>, ApiError> {
    let Some(raw) = query_param(req, name) else {
        return Ok(None);
    };
    parse_id(&raw)
        .filter(|n| (min..=max).contains(n))
        .map(Some)
        .ok_or_else(|| {
            ApiError::invalid_field(
                name,
                format!("'{name}' must be a whole number from {min} to {max}."),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        let pairs = parse_form(b"from=ann+b&text=a%26b%3D%F0%9F%98%80&empty=&flag").unwrap();
        let expected = [
            ("from", "ann b"),
            ("text", "a&b=😀"),
            ("empty", ""),
            ("flag", ""),
        ];
        assert_eq!(pairs, expected.map(|(k, v)| (k.to_owned(), v.to_owned())));
        assert_eq!(parse_form(b"text=%FF").unwrap_err().code, "invalid_body");
        assert_eq!(parse_form(&[0xff]).unwrap_err().code, "invalid_body");
    }
}
