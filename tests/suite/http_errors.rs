//! `<httpErrors>` behaviour: the errorMode × existingResponse matrix, rows, response
//! modes, headers, HEAD, escaping, panics and the configuration checks.

use std::convert::Infallible;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use http::{HeaderMap, Request, Response, StatusCode};
use http_body_util::BodyExt;
use tower::{service_fn, ServiceBuilder, ServiceExt};
use tower_iis::error::{response_for_panic, ConfigErrorDetail, ConfigSourceLine};
use tower_iis::http_errors::{
    ErrorMode, ErrorRow, ExistingResponse, HttpErrorsLayer, ResponseMode,
};
use tower_iis::{ConnectionInfo, IisError, IisStatus};

const LOCAL: &str = "127.0.0.1:50123";
const REMOTE: &str = "203.0.113.7:50123";

fn request(method: &str, uri: &str, client: Option<&str>) -> Request<String> {
    let mut req = Request::builder()
        .method(method)
        .uri(uri)
        .header("host", "www.example.test:8080")
        .header("accept-language", "en-US,en;q=0.8")
        .body(String::new())
        .unwrap();
    if let Some(client) = client {
        req.extensions_mut().insert(ConnectionInfo::new(
            client.parse().unwrap(),
            "127.0.0.1:8080".parse().unwrap(),
        ));
    }
    req
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

type Handler = tower::util::BoxCloneService<Request<String>, Response<String>, Infallible>;

/// Sends `req` through `layer` (either ExecuteURL mode) in front of `handler`.
async fn send<F, M>(layer: HttpErrorsLayer<M>, req: Request<String>, handler: F) -> Answer
where
    F: Fn(Request<String>) -> Response<String> + Clone + Send + Sync + 'static,
    tower_iis::http_errors::HttpErrors<Handler, M>: tower::Service<
        Request<String>,
        Response = Response<tower_iis::http_errors::ResponseBody<String>>,
        Error = Infallible,
    >,
{
    let handler: Handler = tower::util::BoxCloneService::new(service_fn(move |req| {
        let handler = handler.clone();
        async move { Ok::<_, Infallible>(handler(req)) }
    }));
    let svc = ServiceBuilder::new().layer(layer).service(handler);
    let res = svc.oneshot(req).await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let body = res.into_body().collect().await.unwrap().to_bytes();
    Answer {
        status,
        headers,
        body: String::from_utf8(body.to_vec()).unwrap(),
    }
}

fn error_response(status: IisStatus, body: &str, skip: bool) -> Response<String> {
    let mut res: Response<String> = IisError::new(status)
        .with_try_skip_custom_errors(skip)
        .into_http_response();
    *res.body_mut() = body.to_owned();
    if !body.is_empty() {
        res.headers_mut()
            .insert("content-type", "text/plain".parse().unwrap());
    }
    res
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Seen {
    Detailed,
    Custom,
    PassThrough,
}

fn classify(answer: &Answer, original_body: &str) -> Seen {
    if answer
        .body
        .contains("Detailed Error - 404.3 - Not Found</title>")
    {
        assert_eq!(answer.headers["content-type"], "text/html; charset=utf-8");
        assert_eq!(answer.headers["cache-control"], "private");
        Seen::Detailed
    } else if answer
        .body
        .contains("<title>404 - File or directory not found.</title>")
    {
        assert_eq!(answer.headers["content-type"], "text/html");
        assert!(
            !answer.body.contains("404.3"),
            "custom pages never show the substatus"
        );
        Seen::Custom
    } else {
        assert_eq!(answer.body, original_body);
        Seen::PassThrough
    }
}

#[tokio::test]
async fn error_mode_by_existing_response_matrix() {
    use ExistingResponse::{Auto, PassThrough, Replace};
    use Seen::{Custom, Detailed, PassThrough as Pass};
    // (mode, client, existing, [empty body, own body, skip flag (empty body)])
    let table: Vec<(ErrorMode, &str, ExistingResponse, [Seen; 3])> = vec![
        (
            ErrorMode::DetailedLocalOnly,
            LOCAL,
            Auto,
            [Detailed, Pass, Pass],
        ),
        (
            ErrorMode::DetailedLocalOnly,
            LOCAL,
            Replace,
            [Detailed, Detailed, Detailed],
        ),
        (
            ErrorMode::DetailedLocalOnly,
            LOCAL,
            PassThrough,
            [Pass, Pass, Pass],
        ),
        (
            ErrorMode::DetailedLocalOnly,
            REMOTE,
            Auto,
            [Custom, Custom, Pass],
        ),
        (
            ErrorMode::DetailedLocalOnly,
            REMOTE,
            Replace,
            [Custom, Custom, Custom],
        ),
        (
            ErrorMode::DetailedLocalOnly,
            REMOTE,
            PassThrough,
            [Pass, Pass, Pass],
        ),
        (ErrorMode::Detailed, REMOTE, Auto, [Detailed, Pass, Pass]),
        (
            ErrorMode::Detailed,
            REMOTE,
            Replace,
            [Detailed, Detailed, Detailed],
        ),
        (ErrorMode::Detailed, REMOTE, PassThrough, [Pass, Pass, Pass]),
        (ErrorMode::Custom, LOCAL, Auto, [Custom, Custom, Pass]),
        (ErrorMode::Custom, LOCAL, Replace, [Custom, Custom, Custom]),
        (ErrorMode::Custom, LOCAL, PassThrough, [Pass, Pass, Pass]),
    ];
    const CASES: [(&str, bool); 3] = [("", false), ("the handler's own text", false), ("", true)];
    for (mode, client, existing, expected) in table {
        let layer = HttpErrorsLayer::builder()
            .error_mode(mode)
            .existing_response(existing)
            .build()
            .unwrap();
        for (&(body, skip), want) in CASES.iter().zip(expected) {
            let answer = send(
                layer.clone(),
                request("GET", "/file.xyz", Some(client)),
                move |_| error_response(IisStatus::NOT_FOUND_MIME_TYPE_RESTRICTION, body, skip),
            )
            .await;
            assert_eq!(answer.status, 404);
            let seen = classify(&answer, body);
            assert_eq!(
                seen, want,
                "mode {mode:?}, client {client}, existingResponse {existing:?}, body {body:?}, skip {skip}"
            );
        }
    }
}

#[tokio::test]
async fn no_client_address_counts_as_remote() {
    let answer = send(HttpErrorsLayer::new(), request("GET", "/x", None), |_| {
        error_response(IisStatus::NOT_FOUND_MIME_TYPE_RESTRICTION, "", false)
    })
    .await;
    assert_eq!(classify(&answer, ""), Seen::Custom);
}

#[tokio::test]
async fn success_and_redirects_pass_through_untouched() {
    for status in [200u16, 204, 301, 304, 399] {
        let answer = send(
            HttpErrorsLayer::builder()
                .existing_response(ExistingResponse::Replace)
                .build()
                .unwrap(),
            request("GET", "/", Some(REMOTE)),
            move |_| {
                let mut res = Response::new("inner body".to_owned());
                *res.status_mut() = StatusCode::from_u16(status).unwrap();
                res.headers_mut().insert("etag", "\"abc\"".parse().unwrap());
                res
            },
        )
        .await;
        assert_eq!(answer.status, status);
        assert_eq!(answer.body, "inner body");
        assert_eq!(answer.headers["etag"], "\"abc\"");
    }
}

#[tokio::test]
async fn detailed_page_structure() {
    let answer = send(
        HttpErrorsLayer::new(),
        request("GET", "/dir/file.xyz?a=1", Some(LOCAL)),
        |_| {
            IisError::new(IisStatus::NOT_FOUND_MIME_TYPE_RESTRICTION)
                .with_physical_path(r"C:\inetpub\wwwroot\dir\file.xyz")
                .into_http_response()
        },
    )
    .await;
    let page = &answer.body;
    assert!(page.starts_with(
        "<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0 Strict//EN\" \"http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd\"> \n<html xmlns=\"http://www.w3.org/1999/xhtml\"> \n<head> \n"
    ));
    assert!(page.contains("<title>IIS 10.0 Detailed Error - 404.3 - Not Found</title>"));
    assert!(page.contains("<h3>HTTP Error 404.3 - Not Found</h3>"));
    let order = [
        "<h4>Most likely causes:</h4>",
        "<h4>Things you can try:</h4>",
        "<h4>Detailed Error Information:</h4>",
        "<div id=\"details-left\">",
        "<tr class=\"alt\"><th>Module</th><td>&nbsp;&nbsp;&nbsp;StaticFileModule</td></tr>",
        "<tr><th>Notification</th><td>&nbsp;&nbsp;&nbsp;ExecuteRequestHandler</td></tr>",
        "<tr class=\"alt\"><th>Handler</th><td>&nbsp;&nbsp;&nbsp;StaticFile</td></tr>",
        "<tr><th>Error Code</th><td>&nbsp;&nbsp;&nbsp;0x80070032</td></tr>",
        "<div id=\"details-right\">",
        "<tr class=\"alt\"><th>Requested URL</th><td>&nbsp;&nbsp;&nbsp;http://www.example.test:8080/dir/file.xyz?a=1</td></tr>",
        "<tr><th>Physical Path</th><td>&nbsp;&nbsp;&nbsp;C:\\inetpub\\wwwroot\\dir\\file.xyz</td></tr>",
        "<tr class=\"alt\"><th>Logon Method</th><td>&nbsp;&nbsp;&nbsp;Anonymous</td></tr>",
        "<tr><th>Logon User</th><td>&nbsp;&nbsp;&nbsp;Anonymous</td></tr>",
        "<div class=\"clear\"></div>",
        "<h4>More Information:</h4>",
        "https://go.microsoft.com/fwlink/?LinkID=62293&amp;IIS70Error=404,3,0x80070032,20348",
        "View more information &raquo;</a>",
    ];
    let mut at = 0;
    for part in order {
        let found = page[at..]
            .find(part)
            .unwrap_or_else(|| panic!("{part:?} missing or out of order"));
        at += found + part.len();
    }
    assert_eq!(page.matches("<li>").count(), page.matches("</li>").count());
    assert!(
        page.matches("<li>").count() >= 4,
        "causes and things to try are listed"
    );
    assert_eq!(answer.headers["content-length"], page.len().to_string());
}

#[tokio::test]
async fn page_settings_are_configurable() {
    let layer = HttpErrorsLayer::builder()
        .server_version("8.5")
        .build_number(9600)
        .more_information_link("https://help.example.test/iis?x=1")
        .emulate_server_header(true)
        .build()
        .unwrap();
    let answer = send(layer, request("GET", "/", Some(LOCAL)), |_| {
        IisError::new(IisStatus::NOT_FOUND).into_http_response()
    })
    .await;
    assert!(answer
        .body
        .contains("<title>IIS 8.5 Detailed Error - 404.0 - Not Found</title>"));
    assert!(answer
        .body
        .contains("https://help.example.test/iis?x=1&amp;IIS70Error=404,0,0x80070002,9600"));
    assert_eq!(answer.headers["server"], "Microsoft-IIS/8.5");
    // X-Powered-By comes from configuration (customHeaders), not from Server.
    assert!(answer.headers.get("x-powered-by").is_none());
}

#[tokio::test]
async fn hostile_values_are_escaped() {
    let answer = send(
        HttpErrorsLayer::builder()
            .error_mode(ErrorMode::Detailed)
            .build()
            .unwrap(),
        request("GET", "/a'b&c/%3Cscript%3E?q=%3Cx%3E", Some(LOCAL)),
        |_| {
            IisError::new(IisStatus::new(500, 0))
                .with_physical_path("C:\\<script>alert(1)</script>")
                .with_logon_user("\"><img src=x onerror=alert(1)>")
                .with_source(std::io::Error::other("<b>boom</b> & more"))
                .into_http_response()
        },
    )
    .await;
    let page = &answer.body;
    assert!(!page.contains("<script>"));
    assert!(!page.contains("<img"));
    assert!(!page.contains("<b>"));
    assert!(page.contains("C:\\&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(page.contains("http://www.example.test:8080/a&#39;b&amp;c/%3Cscript%3E?q=%3Cx%3E</td>"));
    assert!(page.contains("&lt;b&gt;boom&lt;/b&gt; &amp; more"));

    // A hostile Host header never reaches the page.
    let mut req = request("GET", "/x", Some(LOCAL));
    req.headers_mut()
        .insert("host", "\"><script>x".parse().unwrap());
    let answer = send(HttpErrorsLayer::new(), req, |_| {
        IisError::new(IisStatus::NOT_FOUND).into_http_response()
    })
    .await;
    assert!(answer.body.contains("http://127.0.0.1:8080/x"));
    assert!(!answer.body.contains("script"));
}

#[tokio::test]
async fn remote_clients_never_see_details() {
    let mut req = request("GET", "/secret", Some(REMOTE));
    req.headers_mut()
        .insert("x-forwarded-for", "127.0.0.1".parse().unwrap());
    req.headers_mut()
        .insert("host", "localhost".parse().unwrap());
    let answer = send(HttpErrorsLayer::new(), req, |_| {
        IisError::new(IisStatus::new(500, 19))
            .with_physical_path(r"D:\sites\secret\web.config")
            .with_source(std::io::Error::other("password=hunter2"))
            .into_http_response()
    })
    .await;
    assert_eq!(answer.status, 500);
    assert!(answer
        .body
        .contains("<title>500 - Internal server error.</title>"));
    for leak in ["D:\\sites", "hunter2", "details-left", "500.19", "Module"] {
        assert!(!answer.body.contains(leak), "{leak} leaked");
    }
}

#[tokio::test]
async fn config_error_page_shows_config_source() {
    let answer = send(
        HttpErrorsLayer::new(),
        request("GET", "/", Some(LOCAL)),
        |_| {
            IisError::new(IisStatus::new(500, 19))
                .with_hresult(0x8007_00b7)
                .with_config_error(ConfigErrorDetail {
                    error: "Cannot add duplicate collection entry of type 'error'".into(),
                    file: r"\\?\C:\inetpub\wwwroot\web.config".into(),
                    source_lines: vec![
                        ConfigSourceLine {
                            number: 7,
                            text: "<error statusCode=\"404\" path=\"a.htm\" />".into(),
                            highlight: false,
                        },
                        ConfigSourceLine {
                            number: 8,
                            text: "<error statusCode=\"404\" path=\"b.htm\" />".into(),
                            highlight: true,
                        },
                    ],
                })
                .into_http_response()
        },
    )
    .await;
    let page = &answer.body;
    assert!(
        page.contains("<title>IIS 10.0 Detailed Error - 500.19 - Internal Server Error</title>")
    );
    assert!(!page.contains("Most likely causes:"));
    assert!(page.contains("<tr class=\"alt\"><th>Config Error</th><td>&nbsp;&nbsp;&nbsp;Cannot add duplicate collection entry of type &#39;error&#39;</td></tr>"));
    assert!(page.contains("<tr><th>Config File</th><td>&nbsp;&nbsp;&nbsp;\\\\?\\C:\\inetpub\\wwwroot\\web.config</td></tr>"));
    assert!(page.contains("<h4>Config Source:</h4>"));
    assert!(page.contains("<span class=\"highlight-code\">    8: &lt;error statusCode=&quot;404&quot; path=&quot;b.htm&quot; /&gt;</span>"));
    assert!(page.contains("IIS70Error=500,19,0x800700b7,20348"));
    // IIS fails on configuration before it authenticates anyone.
    assert!(page.contains(
        "<tr class=\"alt\"><th>Logon Method</th><td>&nbsp;&nbsp;&nbsp;Not yet determined</td></tr>"
    ));
    assert!(
        page.contains("<tr><th>Logon User</th><td>&nbsp;&nbsp;&nbsp;Not yet determined</td></tr>")
    );
}

#[tokio::test]
async fn head_gets_headers_and_no_body() {
    for client in [LOCAL, REMOTE] {
        let answer = send(
            HttpErrorsLayer::new(),
            request("HEAD", "/x", Some(client)),
            |_| IisError::new(IisStatus::NOT_FOUND).into_http_response(),
        )
        .await;
        assert_eq!(answer.status, 404);
        assert_eq!(answer.body, "");
        let len: usize = answer.headers["content-length"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(len > 500, "Content-Length is the page's length");
    }
}

#[tokio::test]
async fn status_headers_survive_and_body_headers_go() {
    let answer = send(
        HttpErrorsLayer::builder()
            .existing_response(ExistingResponse::Replace)
            .build()
            .unwrap(),
        request("PUT", "/x.txt", Some(REMOTE)),
        |_| {
            let mut res = error_response(IisStatus::new(405, 0), "nope", false);
            let h = res.headers_mut();
            h.insert("allow", "GET, HEAD, OPTIONS, TRACE".parse().unwrap());
            h.insert("www-authenticate", "Negotiate".parse().unwrap());
            h.insert("connection", "close".parse().unwrap());
            h.insert("retry-after", "120".parse().unwrap());
            h.insert("etag", "\"v1\"".parse().unwrap());
            h.insert("content-encoding", "gzip".parse().unwrap());
            h.insert("content-length", "4".parse().unwrap());
            res
        },
    )
    .await;
    assert_eq!(answer.status, 405);
    assert_eq!(answer.headers["allow"], "GET, HEAD, OPTIONS, TRACE");
    assert_eq!(answer.headers["www-authenticate"], "Negotiate");
    assert_eq!(answer.headers["connection"], "close");
    assert_eq!(answer.headers["retry-after"], "120");
    assert!(answer.headers.get("etag").is_none());
    assert!(answer.headers.get("content-encoding").is_none());
    assert_eq!(answer.headers["content-type"], "text/html");
    assert_eq!(
        answer.headers["content-length"],
        answer.body.len().to_string()
    );
    assert!(answer
        .body
        .contains("<title>405 - HTTP verb used to access this page is not allowed.</title>"));
}

#[tokio::test]
async fn built_in_pages_and_one_liners() {
    // The nine built-in pages, in custom mode, for a browser.
    for status in [401u16, 403, 404, 405, 406, 412, 500, 501, 502] {
        let answer = send(
            HttpErrorsLayer::builder()
                .error_mode(ErrorMode::Custom)
                .build()
                .unwrap(),
            request("GET", "/", Some(LOCAL)),
            move |_| IisError::new(IisStatus::new(status, 7)).into_http_response(),
        )
        .await;
        assert_eq!(answer.status, status);
        assert!(
            answer.body.contains(&format!("<title>{status} - ")),
            "{status}"
        );
        assert!(answer
            .body
            .contains("<div id=\"header\"><h1>Server Error</h1></div>"));
        assert!(!answer.body.contains(&format!("{status}.7")));
    }
    // A status without a built-in page gets the one-line body.
    let answer = send(
        HttpErrorsLayer::builder()
            .error_mode(ErrorMode::Custom)
            .build()
            .unwrap(),
        request("GET", "/", Some(LOCAL)),
        |_| IisError::new(IisStatus::new(503, 2)).into_http_response(),
    )
    .await;
    assert_eq!(answer.body, "The service is unavailable right now.");
    assert_eq!(answer.headers["content-type"], "text/html");
    // No Accept-Language: IIS answers with the one-liner, not the page.
    let mut req = request("GET", "/", Some(REMOTE));
    req.headers_mut().remove("accept-language");
    let answer = send(HttpErrorsLayer::new(), req, |_| {
        IisError::new(IisStatus::NOT_FOUND).into_http_response()
    })
    .await;
    assert!(answer.body.starts_with("The resource you are looking for"));
    assert!(!answer.body.contains('<'));
    // … unless a fallback language is configured.
    let mut req = request("GET", "/", Some(REMOTE));
    req.headers_mut().remove("accept-language");
    let layer = HttpErrorsLayer::builder()
        .fallback_language("en-US")
        .build()
        .unwrap();
    let answer = send(layer, req, |_| {
        IisError::new(IisStatus::NOT_FOUND).into_http_response()
    })
    .await;
    assert!(answer
        .body
        .contains("<title>404 - File or directory not found.</title>"));
    // An unknown language falls back to the built-in (en-US) page.
    let mut req = request("GET", "/", Some(REMOTE));
    req.headers_mut()
        .insert("accept-language", "tlh".parse().unwrap());
    let answer = send(HttpErrorsLayer::new(), req, |_| {
        IisError::new(IisStatus::NOT_FOUND).into_http_response()
    })
    .await;
    assert!(answer
        .body
        .contains("<title>404 - File or directory not found.</title>"));
}

struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "tower-iis-{name}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    fn file(&self, rel: &str, content: &str) -> String {
        let path = self.0.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, content).unwrap();
        path.to_str().unwrap().to_owned()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[tokio::test]
async fn row_lookup_order() {
    let dir = TempDir::new("rows");
    let exact = dir.file("exact.htm", "exact 404.3 row");
    let any = dir.file("any.htm", "any-substatus 404 row");
    let default = dir.file("default.txt", "default path");
    let layer = HttpErrorsLayer::builder()
        .error_mode(ErrorMode::Custom)
        .error(ErrorRow::file(404, exact).substatus(3))
        .error(ErrorRow::file(404, any))
        .default_path(default, ResponseMode::File)
        .build()
        .unwrap();
    let cases = [
        (IisStatus::new(404, 3), "exact 404.3 row", "text/html"),
        (IisStatus::new(404, 7), "any-substatus 404 row", "text/html"),
        (IisStatus::new(404, 0), "any-substatus 404 row", "text/html"),
        (IisStatus::new(503, 2), "default path", "text/plain"),
        (IisStatus::new(403, 14), "", "text/html"),
    ];
    for (status, body, content_type) in cases {
        let answer = send(
            layer.clone(),
            request("GET", "/", Some(REMOTE)),
            move |_| IisError::new(status).into_http_response(),
        )
        .await;
        assert_eq!(answer.status, status.code(), "{status}");
        if body.is_empty() {
            // 403 has a built-in row, which wins over the default path.
            assert!(answer
                .body
                .contains("<title>403 - Forbidden: Access is denied.</title>"));
        } else {
            assert_eq!(answer.body, body, "{status}");
        }
        assert_eq!(answer.headers["content-type"], content_type, "{status}");
    }
    // Without a default path, a status with no row gets the one-liner.
    let layer = HttpErrorsLayer::builder()
        .error_mode(ErrorMode::Custom)
        .clear()
        .build()
        .unwrap();
    let answer = send(layer, request("GET", "/", Some(REMOTE)), |_| {
        IisError::new(IisStatus::NOT_FOUND).into_http_response()
    })
    .await;
    assert!(answer.body.starts_with("The resource you are looking for"));
}

#[tokio::test]
async fn language_folders() {
    let dir = TempDir::new("lang");
    dir.file("en-US/404.htm", "english");
    dir.file("de-DE/404.htm", "deutsch");
    let layer = HttpErrorsLayer::builder()
        .error_mode(ErrorMode::Custom)
        .remove(404, None)
        .error(ErrorRow::file(404, "404.htm").prefix_language_file_path(&dir.0))
        .build()
        .unwrap();
    for (accept, expected) in [
        (Some("de-DE,en;q=0.5"), "deutsch"),
        (Some("fr, en-US;q=0.9"), "english"),
        (Some("fr"), "english"),
    ] {
        let mut req = request("GET", "/", Some(REMOTE));
        if let Some(a) = accept {
            req.headers_mut()
                .insert("accept-language", a.parse().unwrap());
        }
        let answer = send(layer.clone(), req, |_| {
            IisError::new(IisStatus::NOT_FOUND).into_http_response()
        })
        .await;
        assert_eq!(answer.body, expected, "{accept:?}");
    }
}

#[tokio::test]
async fn execute_url_redispatches_with_iis_query() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let layer = HttpErrorsLayer::builder()
        .error_mode(ErrorMode::Custom)
        .error(ErrorRow::execute_url(404, "/errors/not-found"))
        .build_with_execute_url()
        .unwrap();
    let log = seen.clone();
    let answer = send(
        layer,
        request("GET", "/e1/missing.txt?q=1&r=2", Some(REMOTE)),
        move |req| {
            log.lock()
                .unwrap()
                .push((req.method().to_string(), req.uri().to_string()));
            if req.uri().path() == "/errors/not-found" {
                assert!(req.extensions().get::<ConnectionInfo>().is_some());
                let mut res =
                    Response::new(format!("error page for {}", req.uri().query().unwrap()));
                *res.status_mut() = StatusCode::NOT_FOUND;
                res
            } else {
                IisError::new(IisStatus::NOT_FOUND).into_http_response()
            }
        },
    )
    .await;
    assert_eq!(answer.status, 404);
    assert_eq!(
        answer.body,
        "error page for 404;http://www.example.test:8080/e1/missing.txt?q=1&r=2"
    );
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[1].0, "GET");
}

#[test]
fn execute_url_rows_need_build_with_execute_url() {
    let err = HttpErrorsLayer::builder()
        .error(ErrorRow::execute_url(404, "/errors/not-found"))
        .build()
        .unwrap_err();
    assert_eq!(
        err.setting(),
        "httpErrors/error statusCode=\"404\" subStatusCode=\"-1\" @responseMode"
    );
    assert_eq!(err.value(), "/errors/not-found");
    assert!(err.to_string().contains("build_with_execute_url()"));
    let err = HttpErrorsLayer::builder()
        .default_path("/errors/any", ResponseMode::ExecuteUrl)
        .build()
        .unwrap_err();
    assert_eq!(err.setting(), "httpErrors@defaultResponseMode");
    assert!(HttpErrorsLayer::builder()
        .error(ErrorRow::execute_url(404, "/errors/not-found"))
        .build_with_execute_url()
        .is_ok());
}

#[tokio::test]
async fn redirect_answers_302_with_absolute_location() {
    for (target, location) in [
        (
            "/errors/missing.htm",
            "http://www.example.test:8080/errors/missing.htm",
        ),
        (
            "https://help.example.test/404",
            "https://help.example.test/404",
        ),
    ] {
        let layer = HttpErrorsLayer::builder()
            .error_mode(ErrorMode::Custom)
            .error(ErrorRow::redirect(404, target))
            .build()
            .unwrap();
        let answer = send(layer, request("GET", "/x", Some(REMOTE)), |_| {
            IisError::new(IisStatus::NOT_FOUND).into_http_response()
        })
        .await;
        assert_eq!(answer.status, StatusCode::FOUND);
        assert_eq!(answer.headers["location"], location);
        assert_eq!(answer.headers["content-type"], "text/html; charset=UTF-8");
        assert!(answer.body.contains("<title>Document Moved</title>"));
        assert!(answer.body.contains(&format!("href=\"{location}\"")));
    }
}

#[tokio::test]
async fn panic_gets_the_500_page() {
    use tower_http::catch_panic::CatchPanicLayer;
    for (client, expect) in [
        (
            LOCAL,
            "<title>IIS 10.0 Detailed Error - 500.0 - Internal Server Error</title>",
        ),
        (REMOTE, "<title>500 - Internal server error.</title>"),
    ] {
        let svc = ServiceBuilder::new()
            .layer(HttpErrorsLayer::new())
            .layer(CatchPanicLayer::custom(response_for_panic::<String>))
            .service(service_fn(|_req: Request<String>| async {
                if true {
                    panic!("handler blew up");
                }
                Ok::<Response<String>, Infallible>(Response::new(String::new()))
            }));
        let res = svc
            .oneshot(request("GET", "/boom", Some(client)))
            .await
            .unwrap();
        assert_eq!(res.status(), 500);
        let body = String::from_utf8(res.into_body().collect().await.unwrap().to_bytes().to_vec())
            .unwrap();
        assert!(body.contains(expect), "{client}: {body}");
        assert_eq!(
            body.contains("handler blew up"),
            client == LOCAL,
            "panic message only for local clients"
        );
    }
}

#[tokio::test]
async fn problem_json_is_opt_in() {
    let handler = |_: Request<String>| {
        IisError::new(IisStatus::NOT_FOUND_MIME_TYPE_RESTRICTION)
            .with_physical_path("C:\\site\\a.xyz")
            .into_http_response()
    };
    let json_request = |client| {
        let mut req = request("GET", "/a.xyz", Some(client));
        req.headers_mut()
            .insert("accept", "application/problem+json".parse().unwrap());
        req
    };
    // Off by default: HTML.
    let answer = send(HttpErrorsLayer::new(), json_request(LOCAL), handler).await;
    assert!(answer.body.starts_with("<!DOCTYPE"));
    let layer = HttpErrorsLayer::builder()
        .problem_details(true)
        .build()
        .unwrap();
    let answer = send(layer.clone(), json_request(LOCAL), handler).await;
    assert_eq!(answer.headers["content-type"], "application/problem+json");
    assert!(answer.body.starts_with(
        r#"{"type":"about:blank","title":"Not Found","status":404,"substatus":3,"iisStatus":"404.3","instance":"/a.xyz","detail":"MIME type restriction","module":"StaticFileModule""#
    ));
    assert!(answer.body.contains(r#""physicalPath":"C:\\site\\a.xyz""#));
    let answer = send(layer, json_request(REMOTE), handler).await;
    assert_eq!(
        answer.body,
        r#"{"type":"about:blank","title":"Not Found","status":404,"substatus":3,"iisStatus":"404.3","instance":"/a.xyz"}"#
    );
}

#[test]
fn bad_configuration_fails_at_build_naming_the_value() {
    let dir = TempDir::new("bad");
    let page = dir.file("p.htm", "x");
    let cases: Vec<(tower_iis::http_errors::HttpErrorsBuilder, &str)> = vec![
        (
            HttpErrorsLayer::builder()
                .error(ErrorRow::file(404, &page))
                .error(ErrorRow::file(404, &page)),
            "statusCode=\"404\" subStatusCode=\"-1\": cannot add duplicate collection entry",
        ),
        (
            HttpErrorsLayer::builder()
                .error(ErrorRow::file(404, "/does/not/exist.htm").substatus(3)),
            "statusCode=\"404\" subStatusCode=\"3\": cannot read page file /does/not/exist.htm",
        ),
        (
            HttpErrorsLayer::builder().error(ErrorRow::file(399, &page)),
            "statusCode=\"399\"",
        ),
        (
            HttpErrorsLayer::builder().error(ErrorRow::file(404, &page).substatus(1000)),
            "subStatusCode=\"1000\"",
        ),
        (
            HttpErrorsLayer::builder().error(ErrorRow::execute_url(500, "errors/500")),
            "\"errors/500\" must be site-absolute",
        ),
        (
            HttpErrorsLayer::builder().error(ErrorRow::redirect(500, "ftp://x")),
            "Redirect path \"ftp://x\"",
        ),
        (
            HttpErrorsLayer::builder()
                .error(ErrorRow::file(404, "404.htm").prefix_language_file_path("/no/such/dir")),
            "cannot read prefixLanguageFilePath /no/such/dir",
        ),
        (
            HttpErrorsLayer::builder().server_version("10.0 <b>"),
            "server version \"10.0 <b>\"",
        ),
        (
            HttpErrorsLayer::builder().more_information_link("javascript:alert(1)"),
            "\"javascript:alert(1)\"",
        ),
        (
            HttpErrorsLayer::builder().fallback_language("en US"),
            "\"en us\"",
        ),
    ];
    for (builder, expected) in cases {
        let err = builder.build().unwrap_err().to_string();
        assert!(
            err.contains(expected),
            "{err:?} should contain {expected:?}"
        );
    }
    // Removing a row first makes a second one legal.
    let _layer = HttpErrorsLayer::builder()
        .error(ErrorRow::file(404, &page))
        .remove(404, None)
        .error(ErrorRow::file(404, &page))
        .build()
        .unwrap();
}
