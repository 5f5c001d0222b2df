use super::*;
use crate::model::Message;

#[test]
fn a_message_is_one_sequenced_item() {
    let room = RoomId::parse("lobby").unwrap();
    let m = Message {
        id: 3,
        from: "a".into(),
        date: "d".into(),
        text: "100% <live>".into(),
        edited: None,
        mentions: Vec::new(),
        reply_to: None,
        reactions: Vec::new(),
    };
    let item = Item::entry(&room, 3, Some(&Event::Message(m)));
    let as_json = |body: String| serde_json::from_str::<serde_json::Value>(&body).unwrap();
    let mut body = as_json(publish_body(std::slice::from_ref(&item)));
    assert_eq!(
        body["items"].as_array().unwrap().len(),
        1,
        "the room's item alone"
    );
    let data = r#"{"id":3,"from":"a","date":"d","text":"100% <live>"}"#;
    let message: serde_json::Value = serde_json::from_str(data).unwrap();
    // The socket frame and the long-poll answer are JSON texts: compared as JSON.
    let formats = &mut body["items"][0]["formats"];
    let parse = |v: &serde_json::Value| {
        serde_json::from_str::<serde_json::Value>(v.as_str().unwrap()).unwrap()
    };
    assert_eq!(
        parse(&formats["ws-message"]["content"]),
        json!({"event": "message", "id": "3", "data": message})
    );
    assert_eq!(
        parse(&formats["http-response"]["body"]),
        json!({"messages": [message], "last-event-id": "3"})
    );
    formats["ws-message"]["content"] = json!("…");
    formats["http-response"]["body"] = json!("…");
    assert_eq!(
        body["items"][0],
        json!({"channel": "room-lobby", "id": "3", "prev-id": "2", "formats": {
            "http-stream": {"content": format!("event: message\nid: 3\ndata: {data}\n\n")},
            "ws-message": {"content": "…"},
            "http-response": {"code": 200, "headers": {"Content-Type": "application/json", "Cache-Control": "no-store"},
                "body": "…"},
        }})
    );
    // The multi-room item, published in a call of its own: the stream id is built by
    // Fanout, the room named, % escaped.
    let multi = as_json(publish_body(&[super::super::multi::item(
        &room,
        3,
        &item.content,
    )]));
    assert_eq!(
        multi["items"][0],
        json!({"channel": "multi-lobby", "id": "3", "prev-id": "2", "formats": {"http-stream": {
            "content": "event: message\nid: %I\ndata: {\"room\":\"lobby\",\"id\":3,\"from\":\"a\",\"date\":\"d\",\"text\":\"100%% <live>\"}\n\n",
            "content-filters": ["build-id"],
        }}})
    );
}

#[test]
fn only_rate_limits_and_server_errors_are_retried() {
    assert!(is_retriable(StatusCode::TOO_MANY_REQUESTS));
    assert!(is_retriable(StatusCode::SERVICE_UNAVAILABLE));
    assert!(is_retriable(StatusCode::BAD_GATEWAY));
    assert!(!is_retriable(StatusCode::BAD_REQUEST));
    assert!(!is_retriable(StatusCode::UNAUTHORIZED));
    assert!(!is_retriable(StatusCode::NOT_FOUND));
    let resp = Response::from_status(StatusCode::TOO_MANY_REQUESTS).with_header("Retry-After", "1");
    assert_eq!(retry_after(&resp), Some(Duration::from_secs(1)));
    let resp =
        Response::from_status(StatusCode::TOO_MANY_REQUESTS).with_header("Retry-After", "3600");
    assert_eq!(retry_after(&resp), Some(RETRY_AFTER_MAX));
    let resp = Response::from_status(StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(retry_after(&resp), None);
}
