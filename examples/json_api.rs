//! A JSON API behind tower-iis: the error bodies the handlers write reach every
//! client unchanged, while an [`IisError`] gets an RFC 9457 problem document (or the
//! IIS page, for a client that asks for HTML).
//!
//! ```text
//! cargo run --example json_api --features axum            # http://127.0.0.1:8082/
//! curl -i -X POST -d '{"name":"taken"}' http://127.0.0.1:8082/users     # 409, the handler's JSON
//! curl -i -H 'Accept: application/json' http://127.0.0.1:8082/users/7   # 404.0, problem+json
//! ```

use std::net::SocketAddr;

use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use tower_iis::{ConnectionInfo, HttpErrorsLayer, IisError, IisResultExt, IisStatus};

/// The default listen address.
pub const DEFAULT_ADDR: &str = "127.0.0.1:8082";

fn json(status: StatusCode, value: serde_json::Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        value.to_string(),
    )
        .into_response()
}

/// `POST /users`: 201, or the API's own 409 body for a name already taken.
async fn create_user(body: String) -> Result<Response, IisError> {
    // A body that is not JSON: 400.0 with the parse error as the source.
    let user: serde_json::Value = serde_json::from_str(&body).iis(IisStatus::BAD_REQUEST)?;
    let name = user["name"].as_str().iis(IisStatus::BAD_REQUEST)?;
    if name == "taken" {
        return Ok(json(
            StatusCode::CONFLICT,
            serde_json::json!({ "error": "already exists" }),
        ));
    }
    Ok(json(
        StatusCode::CREATED,
        serde_json::json!({ "id": 2, "name": name }),
    ))
}

/// `GET /users/{id}`: user 1 exists; any other is IIS's 404.0. A non-numeric id is
/// axum's own 400 rejection, which passes through unchanged too.
async fn user(Path(id): Path<u32>) -> Result<Response, IisError> {
    (id == 1).then_some(()).iis(IisStatus::NOT_FOUND)?;
    Ok(json(
        StatusCode::OK,
        serde_json::json!({ "id": 1, "name": "admin" }),
    ))
}

/// The API, with the error-page layer in its API preset.
pub fn app() -> Router {
    Router::new()
        .route("/users", post(create_user))
        .route("/users/{id}", get(user))
        .layer(HttpErrorsLayer::api())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr: SocketAddr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| DEFAULT_ADDR.to_owned())
        .parse()?;
    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!("JSON API on http://{addr}/");
    axum::serve(
        listener,
        app().into_make_service_with_connect_info::<ConnectionInfo>(),
    )
    .await?;
    Ok(())
}
