//! Behind a reverse proxy, over real sockets: the client a trusted proxy names is
//! the one the pages, the IP restrictions and the W3C log see; the same header from
//! any other peer changes nothing. Then the same layer under `axum::serve` over a
//! TCP listener, a `tap_io` listener and a Unix socket.
#![cfg(all(feature = "axum", feature = "test-site"))]

use std::convert::Infallible;
use std::future::IntoFuture;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::extract::ConnectInfo;
use axum::routing::get;
use axum::Router;
use http::Request;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tower_iis::connection::{
    self, ForwardedBy, ForwardedHeader, TrustedProxies, TrustedProxyLayer, WithConnectionInfo,
};
use tower_iis::ip_security::IpSecurityLayer;
use tower_iis::site::IisSite;
use tower_iis::test_site::{read_response, TestResponse, TestSite};
use tower_iis::ConnectionInfo;

use crate::common::TempDir;

const LOOPBACK_2: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));

/// A request written as a client writes it.
fn head(method: &str, path: &str, host: SocketAddr, headers: &[(&str, &str)]) -> Vec<u8> {
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: tower-iis-test-site\r\nConnection: close\r\n"
    );
    for (n, v) in headers {
        head.push_str(&format!("{n}: {v}\r\n"));
    }
    head.push_str("\r\n");
    head.into_bytes()
}

/// Sends `raw` on `io` and reads the one response.
async fn talk<IO: AsyncRead + AsyncWrite + Unpin>(mut io: IO, raw: &[u8]) -> TestResponse {
    io.write_all(raw).await.unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(std::time::Duration::from_secs(10), io.read_to_end(&mut out))
        .await
        .expect("answered within 10 s")
        .unwrap();
    read_response(&mut &out[..], "GET").await.unwrap()
}

/// `GET path` with `headers`, on a connection from `from` (any 127/8 address
/// works on Linux without setup).
async fn get_from(
    to: SocketAddr,
    from: IpAddr,
    path: &str,
    headers: &[(&str, &str)],
) -> TestResponse {
    let sock = tokio::net::TcpSocket::new_v4().unwrap();
    sock.bind(SocketAddr::new(from, 0)).unwrap();
    let stream = sock.connect(to).await.unwrap();
    talk(stream, &head("GET", path, to, headers)).await
}

fn proxies() -> TrustedProxies {
    TrustedProxies::parse(["127.0.0.1"]).unwrap()
}

const DETAILED_404: &str = "<title>IIS 10.0 Detailed Error - 404.0 - Not Found</title>";
const CUSTOM_404: &str = "<title>404 - File or directory not found.</title>";

#[tokio::test]
async fn a_trusted_proxy_names_the_client_for_pages_and_log() {
    let root = TempDir::new("proxy-pages");
    let site = TestSite::start(IisSite::builder(&root.0).trusted_proxies(proxies())).await;
    let xff = [("X-Forwarded-For", "203.0.113.9")];

    // Through the proxy on loopback, the internet client gets the custom page.
    let res = site.request("GET", "/missing.txt", &xff, &[]).await;
    assert_eq!(res.status_line(), "HTTP/1.1 404 Not Found");
    let page = res.text();
    assert!(page.contains(CUSTOM_404), "{page}");
    assert!(!page.contains("Detailed Error"));
    assert!(
        !page.contains(&*root.0.to_string_lossy()),
        "no physical path"
    );

    // The proxy's own request (no header) is local: the detailed page.
    let res = site.get("/missing.txt").await;
    assert!(res.text().contains(DETAILED_404));

    let lines = site.log_lines().await;
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0].get("c-ip"), Some("203.0.113.9"));
    assert_eq!(lines[1].get("c-ip"), Some("127.0.0.1"));

    // The header a client sends to the left of the proxy's is not believed.
    let res = site
        .request(
            "GET",
            "/missing.txt",
            &[("X-Forwarded-For", "127.0.0.1, 203.0.113.10")],
            &[],
        )
        .await;
    assert!(res.text().contains(CUSTOM_404));
    assert_eq!(site.log_lines().await[2].get("c-ip"), Some("203.0.113.10"));

    // A proxy that cannot name its client: unknown, so remote, and `-` in the log.
    let res = site
        .request(
            "GET",
            "/missing.txt",
            &[("X-Forwarded-For", "unknown")],
            &[],
        )
        .await;
    assert!(res.text().contains(CUSTOM_404));
    assert_eq!(site.log_lines().await[3].get("c-ip"), Some("-"));
}

/// A site behind the trusted proxy 127.0.0.1 that denies 203.0.113.0/24, with an
/// `index.htm`.
async fn deny_site(root: &TempDir) -> TestSite {
    std::fs::write(root.0.join("index.htm"), "home").unwrap();
    let layer = IpSecurityLayer::builder()
        .deny("203.0.113.0/24")
        .build()
        .unwrap();
    TestSite::start(
        IisSite::builder(&root.0)
            .ip_security(layer)
            .trusted_proxies(proxies()),
    )
    .await
}

#[tokio::test]
async fn a_deny_rule_applies_to_the_forwarded_client() {
    let root = TempDir::new("proxy-deny");
    let site = deny_site(&root).await;
    let res = site
        .request(
            "GET",
            "/index.htm",
            &[("X-Forwarded-For", "203.0.113.9")],
            &[],
        )
        .await;
    assert_eq!(res.status_line(), "HTTP/1.1 403 Forbidden");
    assert!(res
        .text()
        .contains("<title>403 - Forbidden: Access is denied.</title>"));
    let res = site
        .request(
            "GET",
            "/index.htm",
            &[("X-Forwarded-For", "198.51.100.1")],
            &[],
        )
        .await;
    assert_eq!(res.status, 200);
    assert_eq!(res.text(), "home");

    let text = site.log_text().await;
    let port = site.addr().port();
    let line = regex::Regex::new(&format!(
        r"(?m)^\d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d 127\.0\.0\.1 GET /index\.htm - {port} - 203\.0\.113\.9 tower-iis-test-site - 403 503 0 \d+\r$"
    ))
    .unwrap();
    assert!(line.is_match(&text), "{text}");
    let lines = site.log_lines().await;
    assert_eq!(lines[1].get("c-ip"), Some("198.51.100.1"));
    assert_eq!(lines[1].status(), Some(200));
}

#[tokio::test]
async fn the_header_from_an_untrusted_loopback_peer_changes_nothing() {
    let root = TempDir::new("proxy-untrusted");
    let site = deny_site(&root).await;
    let xff = [("X-Forwarded-For", "203.0.113.9")];
    let res = get_from(site.addr(), LOOPBACK_2, "/missing.txt", &xff).await;
    assert_eq!(res.status, 404);
    assert!(res.text().contains(DETAILED_404), "still local");
    let res = get_from(site.addr(), LOOPBACK_2, "/index.htm", &xff).await;
    assert_eq!(res.status, 200, "not denied: the header is not believed");
    let lines = site.log_lines().await;
    assert_eq!(lines.len(), 2);
    for line in &lines {
        assert_eq!(line.get("c-ip"), Some("127.0.0.2"));
    }
    assert_eq!(lines[0].substatus(), Some(0));
}

#[tokio::test]
async fn the_server_option_rewrites_before_the_service() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = tower::service_fn(|req: Request<hyper::body::Incoming>| async move {
        let by = req
            .extensions()
            .get::<ForwardedBy>()
            .map(|b| b.0.ip().to_string());
        let text = format!(
            "{:?} {} {:?}",
            connection::client_addr(&req),
            connection::is_local(&req),
            by
        );
        Ok::<_, Infallible>(http::Response::new(text))
    });
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(
        tower_iis::server::serve(listener, app)
            .trusted_proxies(
                TrustedProxies::parse(["127.0.0.1"])
                    .unwrap()
                    .header(ForwardedHeader::Forwarded),
            )
            .signals(false)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .into_future(),
    );
    let fwd = [("Forwarded", "for=\"[2001:db8::7]:4711\";proto=https")];
    let res = get_from(addr, Ipv4Addr::LOCALHOST.into(), "/", &fwd).await;
    assert_eq!(
        res.text(),
        "Some([2001:db8::7]:4711) false Some(\"127.0.0.1\")"
    );
    let res = get_from(addr, LOOPBACK_2, "/", &fwd).await;
    assert!(res.text().starts_with("Some(127.0.0.2:"), "{}", res.text());
    assert!(res.text().ends_with(" true None"));
    // X-Forwarded-For is not read when the proxies use Forwarded.
    let res = get_from(
        addr,
        Ipv4Addr::LOCALHOST.into(),
        "/",
        &[("X-Forwarded-For", "203.0.113.9")],
    )
    .await;
    assert!(res.text().starts_with("Some(127.0.0.1:"), "{}", res.text());
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
}

/// The client as a handler sees it, through axum's extractor and ours.
async fn whoami(
    ConnectInfo(info): ConnectInfo<ConnectionInfo>,
    req: Request<axum::body::Body>,
) -> String {
    format!(
        "{} {:?} {}",
        info.remote,
        connection::client_addr(&req),
        connection::is_local(&req)
    )
}

fn app() -> Router {
    Router::new().route("/", get(whoami))
}

#[tokio::test]
async fn axum_serve_over_tcp_and_tap_io() {
    let layer = TrustedProxyLayer::new(proxies());
    // A plain TcpListener.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let tcp = listener.local_addr().unwrap();
    let svc = app()
        .layer(layer.clone())
        .into_make_service_with_connect_info::<ConnectionInfo>();
    tokio::spawn(async move { axum::serve(listener, svc).await });
    // A tap_io listener, through WithConnectionInfo.
    use axum::serve::ListenerExt as _;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let tapped = listener.local_addr().unwrap();
    let listener = WithConnectionInfo::new(listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    }));
    let svc = app()
        .layer(layer)
        .into_make_service_with_connect_info::<ConnectionInfo>();
    tokio::spawn(async move { axum::serve(listener, svc).await });

    for addr in [tcp, tapped] {
        let xff = [("X-Forwarded-For", "203.0.113.9")];
        let res = get_from(addr, Ipv4Addr::LOCALHOST.into(), "/", &xff).await;
        assert_eq!(res.text(), "203.0.113.9:0 Some(203.0.113.9:0) false");
        let res = get_from(addr, LOOPBACK_2, "/", &xff).await;
        let text = res.text();
        assert!(text.starts_with("127.0.0.2:"), "{text}");
        assert!(text.ends_with(" true"), "{text}");
    }
}

#[tokio::test]
async fn axum_serve_over_a_unix_socket() {
    let dir = TempDir::new("proxy-unix");
    let path = dir.0.join("site.sock");
    let listener = tokio::net::UnixListener::bind(&path).unwrap();
    let layer = TrustedProxyLayer::new(TrustedProxies::new().trust_unix_sockets(true));
    let svc = app()
        .layer(layer)
        .into_make_service_with_connect_info::<ConnectionInfo>();
    tokio::spawn(async move { axum::serve(listener, svc).await });
    let local: SocketAddr = "127.0.0.1:80".parse().unwrap();
    let connect = || tokio::net::UnixStream::connect(&path);

    // Behind the proxy on the socket: the client it names.
    let raw = head("GET", "/", local, &[("X-Forwarded-For", "203.0.113.9")]);
    let res = talk(connect().await.unwrap(), &raw).await;
    assert_eq!(res.text(), "203.0.113.9:0 Some(203.0.113.9:0) false");
    // Without a header a Unix peer has no address: unknown, and remote.
    let res = talk(connect().await.unwrap(), &head("GET", "/", local, &[])).await;
    assert_eq!(res.text(), "0.0.0.0:0 None false");

    // Not trusted: the header is ignored, and the peer stays unknown.
    let path2 = dir.0.join("plain.sock");
    let listener = tokio::net::UnixListener::bind(&path2).unwrap();
    let svc = app()
        .layer(TrustedProxyLayer::new(proxies()))
        .into_make_service_with_connect_info::<ConnectionInfo>();
    tokio::spawn(async move { axum::serve(listener, svc).await });
    let raw = head("GET", "/", local, &[("X-Forwarded-For", "127.0.0.1")]);
    let res = talk(tokio::net::UnixStream::connect(&path2).await.unwrap(), &raw).await;
    assert_eq!(res.text(), "0.0.0.0:0 None false");
}

#[tokio::test]
async fn ip_restrictions_fail_closed_under_axum_serve_without_connect_info() {
    let layer = IpSecurityLayer::builder()
        .deny("0.0.0.0/0")
        .build()
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    // Served without `into_make_service_with_connect_info`: no client address.
    let router = Router::new()
        .route("/", get(|| async { "open" }))
        .layer(layer.clone());
    tokio::spawn(async move { axum::serve(listener, router).await });
    let res = get_from(addr, LOOPBACK_2, "/", &[]).await;
    assert_eq!(res.status_line(), "HTTP/1.1 403 Forbidden");
    // With the connection's address the rule decides: 127.0.0.2 is not listed.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let open = IpSecurityLayer::builder()
        .deny("203.0.113.0/24")
        .build()
        .unwrap();
    let router = Router::new()
        .route("/", get(|| async { "open" }))
        .layer(open)
        .into_make_service_with_connect_info::<ConnectionInfo>();
    tokio::spawn(async move { axum::serve(listener, router).await });
    let res = get_from(addr, LOOPBACK_2, "/", &[]).await;
    assert_eq!(res.status, 200);
    assert_eq!(res.text(), "open");
}
