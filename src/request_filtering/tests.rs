use std::collections::VecDeque;
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Request, Response};
use http_body::{Body, Frame};
use http_body_util::{BodyExt, Full};
use tower::{service_fn, ServiceBuilder, ServiceExt};

use super::*;
use crate::{BoxError, IisError};

/// A body of chunks with no size hint, like a chunked upload.
struct Chunks(VecDeque<Bytes>);

impl Chunks {
    fn new(n: usize, size: usize) -> Self {
        Self((0..n).map(|_| Bytes::from(vec![b'x'; size])).collect())
    }
}

impl Body for Chunks {
    type Data = Bytes;
    type Error = Infallible;
    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Poll::Ready(self.0.pop_front().map(|b| Ok(Frame::data(b))))
    }
}

/// Sends `req` through `layer` in front of a handler that reads the whole body
/// (answering 400 on a body error, as axum's extractors do) and counts its calls.
async fn send_body<B>(layer: RequestFilteringLayer, req: Request<B>) -> (Response<String>, usize)
where
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    let svc = ServiceBuilder::new().layer(layer).service(service_fn(
        move |req: Request<LimitedBody<B>>| {
            c.fetch_add(1, Ordering::SeqCst);
            async move {
                let status = match req.into_body().collect().await {
                    Ok(_) => 200,
                    Err(_) => 400,
                };
                let mut res = Response::new(String::from("handler"));
                *res.status_mut() = http::StatusCode::from_u16(status).unwrap();
                Ok::<_, Infallible>(res)
            }
        },
    ));
    let res = svc.oneshot(req).await.unwrap();
    (res, calls.load(Ordering::SeqCst))
}

async fn send(
    layer: RequestFilteringLayer,
    req: Request<Full<Bytes>>,
) -> (Response<String>, usize) {
    send_body(layer, req).await
}

fn get(uri: &str) -> Request<Full<Bytes>> {
    Request::get(uri).body(Full::default()).unwrap()
}

fn defaults() -> RequestFilteringLayer {
    RequestFilteringLayer::iis_defaults()
}

#[track_caller]
fn assert_denied((res, calls): (Response<String>, usize), code: &str) {
    let err = res
        .extensions()
        .get::<IisError>()
        .unwrap_or_else(|| panic!("no IisError, status {}", res.status()));
    assert_eq!(err.status().to_string(), code);
    assert_eq!(res.status().as_u16(), err.status().code());
    assert_eq!(err.module(), "RequestFilteringModule");
    assert_eq!(err.notification(), "BeginRequest");
    assert_eq!(err.hresult(), 0);
    assert_eq!(err.win32_status(), 0);
    assert_eq!(res.headers()["connection"], "close");
    assert!(res.body().is_empty());
    assert_eq!(calls, 0, "the handler ran");
}

#[track_caller]
fn assert_passed((res, calls): (Response<String>, usize)) {
    assert_eq!(
        res.status(),
        200,
        "{:?}",
        res.extensions().get::<IisError>()
    );
    assert_eq!(res.body(), "handler");
    assert!(res.headers().get("connection").is_none());
    assert_eq!(calls, 1);
}

#[test]
fn defaults_are_iis_10() {
    let layer = defaults();
    let c = layer.config();
    assert_eq!(c.max_allowed_content_length(), 30_000_000);
    assert_eq!(c.max_url(), 4096);
    assert_eq!(c.max_query_string(), 2048);
    assert_eq!(c.max_url_segments(), None);
    assert!(!c.allow_double_escaping());
    assert!(c.allow_high_bit_characters());
    assert!(c.unescape_query_string());
    assert!(c.verbs_allow_unlisted());
    assert_eq!(c.verbs().count(), 0);
    assert!(c.file_extensions_allow_unlisted());
    assert_eq!(c.deny_url_sequences().count(), 0);
    assert_eq!(c.deny_query_string_sequences().count(), 0);
    assert_eq!(c.always_allowed_urls().count(), 0);
    assert_eq!(c.always_allowed_query_strings().count(), 0);
    assert_eq!(c.header_limits().count(), 0);
    assert_eq!(c.filtering_rules().count(), 0);
    assert_eq!(c.limit_codes(), LimitCodes::Iis10);
    assert_eq!(
        c.hidden_segments().collect::<Vec<_>>(),
        [
            "web.config",
            "bin",
            "App_code",
            "App_GlobalResources",
            "App_LocalResources",
            "App_WebReferences",
            "App_Data",
            "App_Browsers"
        ]
    );
    let denied = ".asa .asax .ascx .master .skin .browser .sitemap .config .cs .csproj .vb \
        .vbproj .webinfo .licx .resx .resources .mdb .vjsproj .java .jsl .ldb .dsdgm .ssdgm \
        .lsad .ssmap .cd .dsprototype .lsaprototype .sdm .sdmDocument .mdf .ldf .ad .dd .ldd \
        .sd .adprototype .lddprototype .exclude .refresh .compiled .msgx .vsdisco .rules";
    let rows: Vec<_> = c.file_extensions().collect();
    assert_eq!(
        rows,
        denied
            .split_whitespace()
            .map(|e| (e, false))
            .collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn every_default_hidden_segment_is_denied() {
    for seg in DEFAULT_HIDDEN_SEGMENTS {
        assert_denied(
            send(defaults(), get(&format!("/app/{seg}/x.txt"))).await,
            "404.8",
        );
        let upper = seg.to_ascii_uppercase();
        assert_denied(send(defaults(), get(&format!("/{upper}"))).await, "404.8");
        // Segment-exact: a longer segment passes.
        assert_passed(send(defaults(), get(&format!("/{seg}x/y.txt"))).await);
    }
    // Decoded before matching.
    assert_denied(send(defaults(), get("/b%69n/a.txt")).await, "404.8");
    assert_denied(send(defaults(), get("/a\\bin")).await, "404.8");
    assert_passed(send(defaults(), get("/binary")).await);
}

#[tokio::test]
async fn hidden_segments_and_extensions_of_any_length_and_case() {
    let long = "s".repeat(70);
    let layer = RequestFilteringLayer::builder()
        .hidden_segment(long.clone())
        .deny_file_extension(".MixedCase")
        .build()
        .unwrap();
    assert_denied(
        send(layer.clone(), get(&format!("/{long}/a.txt"))).await,
        "404.8",
    );
    let upper = long.to_ascii_uppercase();
    assert_denied(
        send(layer.clone(), get(&format!("/{upper}"))).await,
        "404.8",
    );
    // Another segment of 63 bytes or more is compared, and passes.
    assert_passed(send(layer.clone(), get(&format!("/{}", "t".repeat(64)))).await);
    assert_denied(send(layer.clone(), get("/a.mixedCASE")).await, "404.7");
    assert_passed(send(layer.clone(), get("/a.mixedcas")).await);
    assert_passed(send(layer, get("/a.mixedcasex")).await);
    // Extensions longer than the stack buffer are looked up too.
    let ext = format!(".{}", "Long".repeat(10));
    let layer = RequestFilteringLayer::builder()
        .deny_file_extension(ext.clone())
        .build()
        .unwrap();
    assert_denied(
        send(
            layer.clone(),
            get(&format!("/x{}", ext.to_ascii_uppercase())),
        )
        .await,
        "404.7",
    );
    assert_passed(send(layer, get(&format!("/x{ext}x"))).await);
}

#[tokio::test]
async fn every_default_denied_extension_is_denied() {
    for ext in DEFAULT_DENIED_FILE_EXTENSIONS {
        assert_denied(
            send(defaults(), get(&format!("/dir/file{ext}"))).await,
            "404.7",
        );
        let upper = ext.to_ascii_uppercase();
        assert_denied(
            send(defaults(), get(&format!("/FILE{upper}"))).await,
            "404.7",
        );
        assert_passed(send(defaults(), get(&format!("/dir{ext}/file.txt"))).await);
    }
    assert_passed(send(defaults(), get("/default.aspx")).await);
    let layer = RequestFilteringLayer::builder()
        .allow_file_extension(".cs")
        .build()
        .unwrap();
    assert_passed(send(layer, get("/Program.cs")).await);
}

#[tokio::test]
async fn file_extensions_allow_unlisted_false() {
    let layer = RequestFilteringLayer::builder()
        .file_extensions_allow_unlisted(false)
        .allow_file_extension(".html")
        .build()
        .unwrap();
    assert_passed(send(layer.clone(), get("/index.html")).await);
    assert_denied(send(layer.clone(), get("/a.txt")).await, "404.7");
    // No extension is the extension `.`.
    assert_denied(send(layer.clone(), get("/")).await, "404.7");
    assert_denied(send(layer.clone(), get("/api/users")).await, "404.7");
    let layer = RequestFilteringLayer::builder()
        .file_extensions_allow_unlisted(false)
        .allow_file_extension(".")
        .build()
        .unwrap();
    assert_passed(send(layer.clone(), get("/")).await);
    assert_passed(send(layer.clone(), get("/api/users")).await);
    assert_denied(send(layer, get("/a.txt")).await, "404.7");
}

#[tokio::test]
async fn verbs() {
    let layer = RequestFilteringLayer::builder()
        .deny_verb("TRACE")
        .build()
        .unwrap();
    let trace = || {
        Request::builder()
            .method("TRACE")
            .uri("/")
            .body(Full::default())
            .unwrap()
    };
    assert_denied(send(layer.clone(), trace()).await, "404.6");
    // Case-sensitive: `trace` is another verb.
    let lower = Request::builder()
        .method("trace")
        .uri("/")
        .body(Full::default())
        .unwrap();
    assert_passed(send(layer.clone(), lower).await);
    assert_passed(send(layer, get("/")).await);

    let layer = RequestFilteringLayer::builder()
        .verbs_allow_unlisted(false)
        .allow_verb("GET")
        .build()
        .unwrap();
    assert_passed(send(layer.clone(), get("/")).await);
    let post = Request::post("/").body(Full::default()).unwrap();
    assert_denied(send(layer, post).await, "404.6");
}

#[tokio::test]
async fn deny_url_sequences() {
    let layer = RequestFilteringLayer::builder()
        .deny_url_sequence("..")
        .build()
        .unwrap();
    assert_denied(send(layer.clone(), get("/a/../b")).await, "404.5");
    assert_denied(send(layer.clone(), get("/a/%2E%2E/b")).await, "404.5");
    assert_passed(send(layer.clone(), get("/a/.b")).await);
    let layer = RequestFilteringLayer::builder()
        .deny_url_sequence("Admin")
        .build()
        .unwrap();
    assert_denied(send(layer, get("/x/ADMIN/y")).await, "404.5");
}

#[tokio::test]
async fn double_escaping() {
    assert_denied(send(defaults(), get("/a%2520b")).await, "404.11");
    assert_denied(send(defaults(), get("/a+b")).await, "404.11");
    assert_denied(send(defaults(), get("/a%2Bb")).await, "404.11");
    assert_passed(send(defaults(), get("/a%20b")).await);
    assert_passed(send(defaults(), get("/a?b=c+d")).await);
    let layer = RequestFilteringLayer::builder()
        .allow_double_escaping(true)
        .build()
        .unwrap();
    assert_passed(send(layer.clone(), get("/a+b")).await);
    assert_passed(send(layer, get("/a%2520b")).await);
}

#[tokio::test]
async fn high_bit_characters() {
    assert_passed(send(defaults(), get("/caf%C3%A9")).await);
    let layer = RequestFilteringLayer::builder()
        .allow_high_bit_characters(false)
        .build()
        .unwrap();
    assert_denied(send(layer.clone(), get("/caf%C3%A9")).await, "404.12");
    assert_passed(send(layer, get("/cafe")).await);
}

#[tokio::test]
async fn url_length() {
    let just = format!("/{}", "a".repeat(4095));
    assert_eq!(just.len(), 4096);
    assert_passed(send(defaults(), get(&just)).await);
    assert_passed(send(defaults(), get(&format!("{just}?{}", "q".repeat(2048)))).await);
    assert_denied(send(defaults(), get(&format!("{just}a"))).await, "404.14");
    let layer = RequestFilteringLayer::builder()
        .max_url(10)
        .build()
        .unwrap();
    assert_passed(send(layer.clone(), get("/123456789")).await);
    assert_denied(send(layer, get("/1234567890")).await, "404.14");
}

#[tokio::test]
async fn query_length() {
    let q = "q".repeat(2048);
    assert_passed(send(defaults(), get(&format!("/?{q}"))).await);
    assert_denied(send(defaults(), get(&format!("/?{q}q"))).await, "404.15");
}

#[tokio::test]
async fn deny_query_string_sequences() {
    let layer = RequestFilteringLayer::builder()
        .deny_query_string_sequence("<script")
        .deny_query_string_sequence("drop+table")
        .build()
        .unwrap();
    assert_denied(send(layer.clone(), get("/?q=%3CSCRIPT%3E")).await, "404.18");
    assert_denied(send(layer.clone(), get("/?q=drop+table")).await, "404.18");
    assert_passed(send(layer.clone(), get("/?q=script")).await);
    let raw_only = RequestFilteringLayer::builder()
        .deny_query_string_sequence("<script")
        .unescape_query_string(false)
        .build()
        .unwrap();
    assert_passed(send(raw_only, get("/?q=%3Cscript")).await);
    let allowed = RequestFilteringLayer::builder()
        .deny_query_string_sequence("drop")
        .always_allowed_query_string("q=drop")
        .build()
        .unwrap();
    assert_passed(send(allowed.clone(), get("/?q=drop")).await);
    assert_denied(send(allowed, get("/?q=drops")).await, "404.18");
}

#[tokio::test]
async fn filtering_rules() {
    let layer = RequestFilteringLayer::builder()
        .filtering_rule(
            FilteringRule::new("sql")
                .scan_url(true)
                .scan_query_string(true)
                .scan_header("User-Agent")
                .applies_to(".aspx")
                .applies_to(".")
                .deny_string("union select"),
        )
        .build()
        .unwrap();
    assert_denied(
        send(layer.clone(), get("/a.aspx?q=1%20UNION%20SELECT%202")).await,
        "404.19",
    );
    assert_denied(send(layer.clone(), get("/union%20select/")).await, "404.19");
    let ua = Request::get("/page.aspx")
        .header("user-agent", "x union select y")
        .body(Full::default())
        .unwrap();
    assert_denied(send(layer.clone(), ua).await, "404.19");
    // Not one of the extensions the rule applies to.
    assert_passed(send(layer.clone(), get("/a.html?q=union%20select")).await);
    assert_passed(send(layer, get("/a.aspx?q=union")).await);

    let url_only = RequestFilteringLayer::builder()
        .filtering_rule(FilteringRule::new("u").scan_url(true).deny_string("evil"))
        .build()
        .unwrap();
    assert_passed(send(url_only.clone(), get("/ok?evil")).await);
    assert_denied(send(url_only, get("/evil.txt")).await, "404.19");
}

#[tokio::test]
async fn url_segments() {
    let deep = format!("/{}", vec!["s"; 300].join("/"));
    assert_passed(send(defaults(), get(&deep)).await);
    let layer = RequestFilteringLayer::builder()
        .max_url_segments(Some(3))
        .build()
        .unwrap();
    assert_passed(send(layer.clone(), get("/a/b/c")).await);
    assert_passed(send(layer.clone(), get("/a/b/c/")).await);
    assert_denied(send(layer, get("/a/b/c/d")).await, "404.20");
}

fn with_length(len: u64) -> Request<Full<Bytes>> {
    Request::post("/upload")
        .header("content-length", len)
        .body(Full::default())
        .unwrap()
}

#[tokio::test]
async fn content_length() {
    let layer = || {
        let calls = Arc::new(AtomicUsize::new(0));
        (
            calls.clone(),
            ServiceBuilder::new().layer(defaults()).service(service_fn(
                move |_req: Request<LimitedBody<Full<Bytes>>>| {
                    calls.fetch_add(1, Ordering::SeqCst);
                    async { Ok::<_, Infallible>(Response::new(String::from("handler"))) }
                },
            )),
        )
    };
    let (calls, svc) = layer();
    let res = svc.oneshot(with_length(30_000_000)).await.unwrap();
    assert_passed((res, calls.load(Ordering::SeqCst)));
    let (calls, svc) = layer();
    let res = svc.oneshot(with_length(30_000_001)).await.unwrap();
    assert_denied((res, calls.load(Ordering::SeqCst)), "413.1");

    let legacy = RequestFilteringLayer::builder()
        .limit_codes(LimitCodes::Legacy)
        .max_allowed_content_length(5)
        .build()
        .unwrap();
    assert_denied(send(legacy.clone(), with_length(6)).await, "404.13");
    let req = Request::post("/").body(Full::from("12345")).unwrap();
    assert_passed(send(legacy.clone(), req).await);
    // A body that is known to be longer than the limit, without a header.
    let req = Request::post("/").body(Full::from("123456")).unwrap();
    assert_denied(send(legacy, req).await, "404.13");
}

#[tokio::test]
async fn chunked_body_past_the_limit_is_cut_off() {
    let layer = RequestFilteringLayer::builder()
        .max_allowed_content_length(10)
        .build()
        .unwrap();
    let req = Request::post("/").body(Chunks::new(2, 5)).unwrap();
    assert_passed(send_body(layer.clone(), req).await);

    let req = Request::post("/").body(Chunks::new(1000, 5)).unwrap();
    let (res, calls) = send_body(layer, req).await;
    // The handler ran and read until the limit; its 400 became IIS's 413.1.
    assert_eq!(calls, 1);
    assert_eq!(res.status(), 413);
    let err = res.extensions().get::<IisError>().unwrap();
    assert_eq!(err.status().to_string(), "413.1");
    assert_eq!(err.module(), "RequestFilteringModule");
    assert_eq!(res.headers()["connection"], "close");
}

#[tokio::test]
async fn body_is_not_read_past_the_limit() {
    let layer = RequestFilteringLayer::builder()
        .max_allowed_content_length(10)
        .build()
        .unwrap();
    let seen = Arc::new(AtomicUsize::new(0));
    let s = seen.clone();
    let svc = ServiceBuilder::new().layer(layer).service(service_fn(
        move |req: Request<LimitedBody<Chunks>>| {
            let s = s.clone();
            async move {
                let mut body = req.into_body();
                while let Some(frame) = body.frame().await {
                    match frame {
                        Ok(f) => {
                            s.fetch_add(f.into_data().map_or(0, |d| d.len()), Ordering::SeqCst);
                        }
                        Err(e) => return Err(e),
                    }
                }
                Ok(Response::new(String::new()))
            }
        },
    ));
    let req = Request::post("/").body(Chunks::new(1000, 4)).unwrap();
    // The handler failed with the body error; the layer answered 413.1 instead.
    let res = svc.oneshot(req).await.unwrap();
    assert_eq!(
        res.extensions()
            .get::<IisError>()
            .unwrap()
            .status()
            .to_string(),
        "413.1"
    );
    assert!(seen.load(Ordering::SeqCst) <= 10);
}

#[tokio::test]
async fn header_limits() {
    let layer = RequestFilteringLayer::builder()
        .header_limit("Content-Type", 10)
        .build()
        .unwrap();
    let req = |v: &str| {
        Request::get("/")
            .header("content-type", v)
            .body(Full::default())
            .unwrap()
    };
    assert_passed(send(layer.clone(), req("0123456789")).await);
    assert_denied(send(layer.clone(), req("0123456789A")).await, "431.0");
    let legacy = RequestFilteringLayer::builder()
        .header_limit("x-a", 5)
        .limit_codes(LimitCodes::Legacy)
        .build()
        .unwrap();
    let two = Request::get("/")
        .header("x-a", "ab")
        .header("x-a", "c")
        .body(Full::default())
        .unwrap();
    assert_passed(send(legacy.clone(), two).await); // "ab, c" is 5 bytes
    let two = Request::get("/")
        .header("x-a", "ab")
        .header("x-a", "cd")
        .body(Full::default())
        .unwrap();
    assert_denied(send(legacy, two).await, "404.10");
}

#[tokio::test]
async fn always_allowed_urls() {
    let layer = RequestFilteringLayer::builder()
        .deny_url_sequence("..")
        .always_allowed_url("/bin/../web.config")
        .max_url(20)
        .build()
        .unwrap();
    assert_passed(send(layer.clone(), get("/bin/../web.config")).await);
    assert_denied(
        send(layer.clone(), get("/bin/../web.configs")).await,
        "404.5",
    );
    // Limits still apply.
    let long = RequestFilteringLayer::builder()
        .always_allowed_url("/a/b/c/d/e/f/g/h/i/j/k")
        .max_url(20)
        .build()
        .unwrap();
    assert_denied(send(long, get("/a/b/c/d/e/f/g/h/i/j/k")).await, "404.14");
}

#[test]
fn config_errors_name_the_value() {
    let err = |b: RequestFilteringBuilder| b.build().unwrap_err();
    let e = err(RequestFilteringLayer::builder().deny_url_sequence(""));
    assert_eq!(e.setting(), "denyUrlSequences/add@sequence");
    let e = err(RequestFilteringLayer::builder().deny_verb("GE T"));
    assert_eq!(e.value(), "GE T");
    assert!(e.to_string().contains("\"GE T\""), "{e}");
    let e = err(RequestFilteringLayer::builder().deny_file_extension("exe"));
    assert_eq!(
        (e.setting(), e.value()),
        ("fileExtensions/add@fileExtension", "exe")
    );
    let e = err(RequestFilteringLayer::builder().hidden_segment("a/b"));
    assert_eq!(e.value(), "a/b");
    let e = err(RequestFilteringLayer::builder().header_limit("bad header", 1));
    assert_eq!(e.value(), "bad header");
    let e = err(RequestFilteringLayer::builder().always_allowed_url("health"));
    assert_eq!(e.value(), "health");
    let e = err(RequestFilteringLayer::builder().deny_query_string_sequence(""));
    assert_eq!(e.setting(), "denyQueryStringSequences/add@sequence");
    let e = err(
        RequestFilteringLayer::builder().filtering_rule(FilteringRule::new("r").scan_url(true))
    );
    assert_eq!(e.value(), "r");
    let e = err(RequestFilteringLayer::builder()
        .filtering_rule(FilteringRule::new("r").deny_string("x").applies_to("aspx")));
    assert_eq!(e.value(), "aspx");
    let e =
        err(RequestFilteringLayer::builder()
            .filtering_rule(FilteringRule::new("r").deny_string("")));
    assert_eq!(e.setting(), "filteringRule/denyStrings/add@string");
}

#[tokio::test]
async fn composes_with_axum_router() {
    use axum::{body::Body as AxumBody, routing::post, Router};
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    let app = Router::new()
        .route(
            "/upload",
            post(move |body: Bytes| {
                c.fetch_add(1, Ordering::SeqCst);
                async move { body.len().to_string() }
            }),
        )
        .layer(
            RequestFilteringLayer::builder()
                .max_allowed_content_length(10)
                .build()
                .unwrap(),
        );

    let ok = Request::post("/upload")
        .body(AxumBody::from("0123456789"))
        .unwrap();
    let res = app.clone().oneshot(ok).await.unwrap();
    assert_eq!(res.status(), 200);

    let chunked = Request::post("/upload")
        .body(AxumBody::new(Chunks::new(100, 3)))
        .unwrap();
    let res = app.clone().oneshot(chunked).await.unwrap();
    assert_eq!(res.status(), 413);
    assert_eq!(
        res.extensions()
            .get::<IisError>()
            .unwrap()
            .status()
            .to_string(),
        "413.1"
    );
    assert_eq!(res.headers()["connection"], "close");
    assert!(res
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .is_empty());

    let hidden = Request::get("/bin/app.dll")
        .body(AxumBody::empty())
        .unwrap();
    let res = app.oneshot(hidden).await.unwrap();
    assert_eq!(
        res.extensions()
            .get::<IisError>()
            .unwrap()
            .status()
            .to_string(),
        "404.8"
    );
    // The extractor rejected the cut-off body before the handler body ran.
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}
