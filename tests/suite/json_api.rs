//! `examples/json_api.rs` against a remote client: the handlers' JSON error bodies
//! arrive unchanged, `IisError`s become problem+json or the custom page by `Accept`.
#![cfg(feature = "axum")]

#[allow(dead_code)]
#[path = "../../examples/json_api.rs"]
mod example;

use axum::body::Body;
use http::Request;
use http_body_util::BodyExt;
use tower::ServiceExt;
use tower_iis::ConnectionInfo;

struct Answer {
    status: u16,
    content_type: String,
    body: String,
}

async fn send(method: &str, path: &str, accept: &str, body: &str) -> Answer {
    let mut req = Request::builder()
        .method(method)
        .uri(path)
        .header("host", "api.example.test")
        .header("accept", accept)
        .header("accept-language", "en-US")
        .body(Body::from(body.to_owned()))
        .unwrap();
    req.extensions_mut().insert(ConnectionInfo::new(
        "203.0.113.7:50000".parse().unwrap(),
        "198.51.100.1:443".parse().unwrap(),
    ));
    let res = example::app().oneshot(req).await.unwrap();
    let status = res.status().as_u16();
    let content_type = res
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body = res.into_body().collect().await.unwrap().to_bytes();
    Answer {
        status,
        content_type,
        body: String::from_utf8(body.to_vec()).unwrap(),
    }
}

#[tokio::test]
async fn the_handlers_error_bodies_reach_remote_clients_unchanged() {
    for accept in ["application/json", "text/html", "*/*"] {
        let a = send("POST", "/users", accept, r#"{"name":"taken"}"#).await;
        assert_eq!(a.status, 409);
        assert_eq!(a.content_type, "application/json");
        assert_eq!(a.body, r#"{"error":"already exists"}"#);
    }
    let created = send("POST", "/users", "application/json", r#"{"name":"new"}"#).await;
    assert_eq!(created.status, 201);
    assert_eq!(created.body, r#"{"id":2,"name":"new"}"#);
    // axum's own rejection (a non-numeric id) keeps its text too.
    let rejected = send("GET", "/users/abc", "application/json", "").await;
    assert_eq!(rejected.status, 400);
    assert_eq!(rejected.content_type, "text/plain; charset=utf-8");
    assert!(
        rejected.body.starts_with("Invalid URL"),
        "{}",
        rejected.body
    );
}

#[tokio::test]
async fn iis_errors_get_problem_json_or_the_custom_page() {
    let problem = send("GET", "/users/7", "application/json", "").await;
    assert_eq!(problem.status, 404);
    assert_eq!(problem.content_type, "application/problem+json");
    let doc: serde_json::Value = serde_json::from_str(&problem.body).unwrap();
    assert_eq!(doc["status"], 404);
    assert_eq!(doc["iisStatus"], "404.0");
    assert_eq!(doc["instance"], "/users/7");
    // A remote client sees no detail.
    assert!(doc.get("errorCode").is_none());
    assert!(doc.get("module").is_none());

    let page = send("GET", "/users/7", "text/html", "").await;
    assert_eq!(page.status, 404);
    assert_eq!(page.content_type, "text/html");
    assert!(page
        .body
        .contains("<title>404 - File or directory not found.</title>"));

    let bad = send("POST", "/users", "application/json", "not json").await;
    assert_eq!(bad.status, 400);
    assert_eq!(bad.content_type, "application/problem+json");
    assert!(bad.body.contains(r#""iisStatus":"400.0""#), "{}", bad.body);
}
