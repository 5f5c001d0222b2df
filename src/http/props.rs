//! Property tests: request bodies and forms parse without panicking, and what goes in
//! comes out.

use proptest::prelude::*;

use super::api::messages::PostFields;
use super::error::ApiError;
use crate::model::Draft;

/// What an open-mode POST of this body would store.
fn draft_from_body(content_type: Option<&str>, body: &[u8]) -> Result<Draft, ApiError> {
    let fields = PostFields::from_body(content_type, body)?;
    Ok(Draft::parse(
        fields.from.as_deref(),
        fields.text.as_deref(),
    )?)
}
use super::body::parse_form;

fn form_encode(pairs: &[(String, String)]) -> String {
    let enc = |s: &str| urlencoding::encode(s).replace("%20", "+");
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

proptest! {
    #[test]
    fn forms_round_trip(pairs in proptest::collection::vec(("\\PC{1,12}", "\\PC{0,20}"), 0..6)) {
        prop_assert_eq!(parse_form(form_encode(&pairs).as_bytes()).unwrap(), pairs);
    }

    #[test]
    fn any_body_of_any_type_is_a_draft_or_a_4xx(
        body in proptest::collection::vec(any::<u8>(), 0..300),
        content_type in proptest::option::of(
            "application/(json|x-www-form-urlencoded)(; charset=[a-z0-9-]{0,8})?|[ -~]{0,30}"),
    ) {
        if let Err(e) = draft_from_body(content_type.as_deref(), &body) {
            prop_assert!(e.status.is_client_error(), "{:?}", e);
        }
    }

    #[test]
    fn json_posts_agree_with_form_posts(from in "\\PC{0,70}", text in "\\PC{0,40}") {
        let json = serde_json::json!({ "from": from, "text": text }).to_string();
        let form = form_encode(&[("from".into(), from.clone()), ("text".into(), text.clone())]);
        let by_json = draft_from_body(Some("application/json"), json.as_bytes());
        let by_form = draft_from_body(Some("application/x-www-form-urlencoded"), form.as_bytes());
        prop_assert_eq!(by_json, by_form);
    }
}
