//! HTTPS over real sockets: `server::serve` with `.tls(…)`, an IIS site whose
//! web.config sets `<access sslFlags>`, rustls clients with and without client
//! certificates, and the W3C and HTTPERR lines they leave.
#![cfg(all(feature = "tls", feature = "site"))]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tower_iis::server::{serve, HttpErrLog, Limits};
use tower_iis::site::{IisSite, IisSiteBuilder};
use tower_iis::ssl::{SslAccessLayer, SslFlags};
use tower_iis::test_site::{read_response, TestResponse};
use tower_iis::tls::TlsConfig;
use tower_iis::w3c::{
    reader, Field, FieldSet, MemorySink, Sink, W3cLogGuard, W3cLogHandle, W3cLogLayer,
};

/// A server certificate check that takes anything (the tests trust the server).
#[derive(Debug)]
struct TrustAnyServer;

impl ServerCertVerifier for TrustAnyServer {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        _: &[u8],
        _: &CertificateDer<'_>,
        _: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }

    fn verify_tls13_signature(
        &self,
        _: &[u8],
        _: &CertificateDer<'_>,
        _: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        tower_iis::tls::provider()
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// A CA made for one test, and the client certificates it signs.
struct Ca {
    issuer: rcgen::Issuer<'static, rcgen::KeyPair>,
    pem: String,
}

impl Ca {
    fn new(name: &str) -> Ca {
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::CrlSign,
        ];
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        Ca {
            pem: cert.pem(),
            issuer: rcgen::Issuer::new(params, key),
        }
    }

    /// A client certificate, valid now unless `expired`.
    fn client(&self, expired: bool) -> (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>) {
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "client");
        params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
        if expired {
            params.not_before = rcgen::date_time_ymd(2000, 1, 1);
            params.not_after = rcgen::date_time_ymd(2001, 1, 1);
        }
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        (
            vec![cert.der().clone()],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        )
    }
}

/// A site served over plain HTTP and HTTPS at once, with one W3C log and an
/// HTTPERR log per listener.
struct Servers {
    http: SocketAddr,
    https: SocketAddr,
    memory: MemorySink,
    handle: W3cLogHandle,
    _guard: W3cLogGuard,
    httperr: MemorySink,
    httperr_handle: W3cLogHandle,
    _httperr_guard: W3cLogGuard,
    stop: Vec<tokio::sync::oneshot::Sender<()>>,
    root: PathBuf,
}

impl Drop for Servers {
    fn drop(&mut self) {
        for stop in self.stop.drain(..) {
            let _ = stop.send(());
        }
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

/// A temp site with `index.htm` and a web.config holding `access`.
fn site_root(name: &str, access: &str) -> PathBuf {
    let root = std::env::temp_dir().join(format!("tower-iis-tls-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(root.join("index.htm"), "<p>secure</p>").unwrap();
    std::fs::write(
        root.join("web.config"),
        format!(
            "<configuration>\n<system.webServer>\n<security>\n{access}\n</security>\n</system.webServer>\n</configuration>\n"
        ),
    )
    .unwrap();
    root
}

async fn start(root: PathBuf, ssl: Option<SslAccessLayer>) -> Servers {
    start_with(root, ssl, Limits::default()).await
}

async fn start_with(root: PathBuf, ssl: Option<SslAccessLayer>, limits: Limits) -> Servers {
    start_site(root, limits, |builder| match ssl {
        Some(layer) => builder.ssl_access(layer),
        None => builder,
    })
    .await
}

/// Serves `IisSite::from_web_config(root)`, with what `configure` adds, over HTTP
/// and HTTPS.
async fn start_site(
    root: PathBuf,
    limits: Limits,
    configure: impl FnOnce(IisSiteBuilder) -> IisSiteBuilder,
) -> Servers {
    let memory = MemorySink::new();
    let (log, guard) = W3cLogLayer::builder()
        .sink(Sink::memory(&memory))
        .field_set(
            FieldSet::iis_defaults()
                .with(Field::ProtocolVersion)
                .with(Field::BytesSent),
        )
        .build()
        .unwrap();
    let handle = log.handle();
    let site = configure(IisSite::from_web_config(&root).log(log))
        .build()
        .unwrap();
    let httperr = MemorySink::new();
    let (httperr_log, httperr_guard) = HttpErrLog::new(Sink::memory(&httperr)).unwrap();
    let httperr_handle = httperr_log.handle();
    let tls = TlsConfig::self_signed(["localhost", "127.0.0.1"]).unwrap();
    let mut stop = Vec::new();
    let mut addrs = Vec::new();
    for secure in [false, true] {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        addrs.push(listener.local_addr().unwrap());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        stop.push(tx);
        let mut server = serve(listener, site.clone())
            .limits(limits)
            .httperr(httperr_log.clone())
            .signals(false)
            .shutdown_deadline(Duration::from_secs(1))
            .with_graceful_shutdown(async {
                let _ = rx.await;
            });
        if secure {
            server = server.tls(tls.clone());
        }
        tokio::spawn(async move {
            let _ = server.await;
        });
    }
    Servers {
        http: addrs[0],
        https: addrs[1],
        memory,
        handle,
        _guard: guard,
        httperr,
        httperr_handle,
        _httperr_guard: httperr_guard,
        stop,
        root,
    }
}

async fn read_back(handle: &W3cLogHandle, memory: &MemorySink) -> Vec<reader::Entry> {
    let handle = handle.clone();
    tokio::task::spawn_blocking(move || handle.flush())
        .await
        .unwrap()
        .unwrap();
    reader::parse(&memory.contents()).unwrap().entries
}

impl Servers {
    async fn lines(&self) -> Vec<reader::Entry> {
        read_back(&self.handle, &self.memory).await
    }

    async fn httperr_lines(&self) -> Vec<reader::Entry> {
        read_back(&self.httperr_handle, &self.httperr).await
    }
}

fn client_config(
    cert: Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>,
    alpn: &[&[u8]],
) -> ClientConfig {
    let builder = ClientConfig::builder_with_provider(tower_iis::tls::provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(TrustAnyServer));
    let mut config = match cert {
        Some((chain, key)) => builder.with_client_auth_cert(chain, key).unwrap(),
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    config
}

async fn tls_connect(
    addr: SocketAddr,
    config: ClientConfig,
) -> tokio_rustls::client::TlsStream<TcpStream> {
    let tcp = TcpStream::connect(addr).await.unwrap();
    tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .unwrap()
}

const GET: &[u8] = b"GET /index.htm HTTP/1.1\r\nHost: localhost\r\nAccept-Language: en-US\r\nConnection: close\r\n\r\n";

/// One `GET /index.htm` over HTTPS, with `cert` as the client certificate.
async fn https_get(
    addr: SocketAddr,
    cert: Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>,
) -> TestResponse {
    https_get_path(addr, "/index.htm", cert).await
}

/// `GET path` as `GET` sends it.
fn get_request(path: &str) -> Vec<u8> {
    format!(
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nAccept-Language: en-US\r\nConnection: close\r\n\r\n"
    )
    .into_bytes()
}

/// One `GET path` over HTTPS, with `cert` as the client certificate.
async fn https_get_path(
    addr: SocketAddr,
    path: &str,
    cert: Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>,
) -> TestResponse {
    let request = get_request(path);
    let talk = async {
        let mut tls = tls_connect(addr, client_config(cert, &[b"http/1.1"])).await;
        tls.write_all(&request).await.unwrap();
        let mut out = Vec::new();
        tls.read_to_end(&mut out).await.unwrap();
        out
    };
    let out = tokio::time::timeout(Duration::from_secs(10), talk)
        .await
        .expect("answered within 10 s");
    read_response(&mut &out[..], "GET").await.unwrap()
}

async fn http_get(addr: SocketAddr) -> TestResponse {
    tower_iis::test_site::exchange(addr, GET).await
}

async fn http_get_path(addr: SocketAddr, path: &str) -> TestResponse {
    tower_iis::test_site::exchange(addr, &get_request(path)).await
}

/// `sc-status sc-substatus sc-win32-status` of a line.
fn codes(e: &reader::Entry) -> String {
    format!(
        "{} {} {}",
        e.get("sc-status").unwrap(),
        e.get("sc-substatus").unwrap(),
        e.get("sc-win32-status").unwrap()
    )
}

#[tokio::test]
async fn ssl_site_http_is_403_4_and_https_is_200() {
    let s = start(site_root("ssl", r#"<access sslFlags="Ssl" />"#), None).await;
    let plain = http_get(s.http).await;
    assert_eq!(plain.status_line(), "HTTP/1.1 403 Forbidden");
    let page = plain.text();
    assert!(
        page.contains("<title>IIS 10.0 Detailed Error - 403.4 - Forbidden</title>"),
        "{page}"
    );
    assert!(
        page.contains(&format!(
            "&nbsp;http://localhost:{}/index.htm</td>",
            s.http.port()
        )),
        "{page}"
    );

    let secure = https_get(s.https, None).await;
    assert_eq!(secure.status_line(), "HTTP/1.1 200 OK");
    assert_eq!(secure.text(), "<p>secure</p>");

    let lines = s.lines().await;
    assert_eq!(lines.len(), 2);
    assert_eq!(codes(&lines[0]), "403 4 5");
    assert_eq!(lines[0].get("s-port").unwrap(), s.http.port().to_string());
    assert_eq!(codes(&lines[1]), "200 0 0");
    assert_eq!(lines[1].get("s-port").unwrap(), s.https.port().to_string());
    assert_eq!(lines[1].get("cs-version"), Some("HTTP/1.1"));
    // sc-bytes: the HTTP bytes inside TLS, head and body as the client read them.
    let sent: usize = lines[1].get("sc-bytes").unwrap().parse().unwrap();
    let head_len = secure
        .headers
        .iter()
        .map(|(n, v)| n.len() + 2 + v.len() + 2)
        .sum::<usize>()
        + "HTTP/1.1 200 OK\r\n".len()
        + 2;
    assert_eq!(sent, head_len + "<p>secure</p>".len());
    assert!(s.httperr_lines().await.is_empty());
}

#[tokio::test]
async fn the_error_page_over_tls_names_an_https_url() {
    let s = start(
        site_root("page", r#"<access sslFlags="Ssl, SslRequireCert" />"#),
        None,
    )
    .await;
    let res = https_get(s.https, None).await;
    assert_eq!(res.status, 403);
    let page = res.text();
    assert!(
        page.contains("<title>IIS 10.0 Detailed Error - 403.7 - Forbidden</title>"),
        "{page}"
    );
    assert!(
        page.contains(&format!(
            "&nbsp;https://localhost:{}/index.htm</td>",
            s.https.port()
        )),
        "{page}"
    );
}

#[tokio::test]
async fn require_cert_403_7_200_403_16_403_17() {
    let trusted = Ca::new("Trusted Test CA");
    let other = Ca::new("Other Test CA");
    let root = site_root("cert", r#"<access sslFlags="Ssl, SslRequireCert" />"#);
    let flags: SslFlags = "Ssl, SslRequireCert".parse().unwrap();
    let layer = SslAccessLayer::builder(flags)
        .trusted_ca_pem(&trusted.pem)
        .build()
        .unwrap();
    let s = start(root, Some(layer)).await;

    let none = https_get(s.https, None).await;
    assert_eq!(none.status_line(), "HTTP/1.1 403 Forbidden");
    let good = https_get(s.https, Some(trusted.client(false))).await;
    assert_eq!(good.status_line(), "HTTP/1.1 200 OK");
    assert_eq!(good.text(), "<p>secure</p>");
    let untrusted = https_get(s.https, Some(other.client(false))).await;
    assert_eq!(untrusted.status, 403);
    assert!(untrusted
        .text()
        .contains("<title>IIS 10.0 Detailed Error - 403.16 - Forbidden</title>"));
    let expired = https_get(s.https, Some(trusted.client(true))).await;
    assert_eq!(expired.status, 403);
    assert!(expired
        .text()
        .contains("<title>IIS 10.0 Detailed Error - 403.17 - Forbidden</title>"));
    let plain = http_get(s.http).await;
    assert_eq!(plain.status, 403);

    let lines = s.lines().await;
    let got: Vec<String> = lines.iter().map(codes).collect();
    assert_eq!(
        got,
        [
            "403 7 5",
            "200 0 0",
            "403 16 2148204809",
            "403 17 2148204801",
            "403 4 5"
        ]
    );
    let https_port = s.https.port().to_string();
    for line in &lines[..4] {
        assert_eq!(line.get("s-port"), Some(https_port.as_str()));
        assert_eq!(line.get("cs-uri-stem"), Some("/index.htm"));
    }
    assert_eq!(lines[4].get("s-port").unwrap(), s.http.port().to_string());
}

#[tokio::test]
async fn negotiate_cert_takes_none_but_checks_one() {
    let trusted = Ca::new("Trusted Test CA");
    let other = Ca::new("Other Test CA");
    let flags: SslFlags = "Ssl, SslNegotiateCert".parse().unwrap();
    let layer = SslAccessLayer::builder(flags)
        .trusted_ca_pem(&trusted.pem)
        .build()
        .unwrap();
    let s = start(site_root("negotiate", ""), Some(layer)).await;
    assert_eq!(https_get(s.https, None).await.status, 200);
    assert_eq!(
        https_get(s.https, Some(trusted.client(false))).await.status,
        200
    );
    assert_eq!(
        https_get(s.https, Some(other.client(false))).await.status,
        403
    );
    let got: Vec<String> = s.lines().await.iter().map(codes).collect();
    assert_eq!(got, ["200 0 0", "200 0 0", "403 16 2148204809"]);
}

#[tokio::test]
async fn h2_over_tls_logs_http_2() {
    let s = start(site_root("h2", r#"<access sslFlags="Ssl" />"#), None).await;
    let tls = tls_connect(s.https, client_config(None, &[b"h2"])).await;
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
    let (mut send, conn) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(tls),
    )
    .await
    .unwrap();
    tokio::spawn(conn);
    let req = http::Request::get("https://localhost/index.htm")
        .body(http_body_util::Empty::<bytes::Bytes>::new())
        .unwrap();
    let res = send.send_request(req).await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.version(), http::Version::HTTP_2);
    let body = http_body_util::BodyExt::collect(res.into_body())
        .await
        .unwrap()
        .to_bytes();
    assert_eq!(&body[..], b"<p>secure</p>");
    drop(send);
    let lines = s.lines().await;
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0].get("cs-version"), Some("HTTP/2"));
    assert_eq!(codes(&lines[0]), "200 0 0");
    assert_eq!(lines[0].get("s-port").unwrap(), s.https.port().to_string());
}

#[tokio::test]
async fn http_sys_refusals_are_sent_inside_tls_and_logged() {
    let s = start(site_root("refuse", ""), None).await;
    let mut tls = tls_connect(s.https, client_config(None, &[b"http/1.1"])).await;
    tls.write_all(b"GET /a\x01b HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), tls.read_to_end(&mut out))
        .await
        .unwrap();
    let res = read_response(&mut &out[..], "GET").await.unwrap();
    assert_eq!(res.status_line(), "HTTP/1.1 400 Bad Request");
    assert_eq!(res.header("Server"), Some("Microsoft-HTTPAPI/2.0"));
    assert!(res.text().contains("<h2>Bad Request - Invalid URL</h2>"));
    let errors = s.httperr_lines().await;
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].get("s-reason"), Some("URL"));
    assert_eq!(errors[0].get("s-port").unwrap(), s.https.port().to_string());
    assert!(s.lines().await.is_empty());
}

#[tokio::test]
async fn a_failed_handshake_closes_without_an_httperr_line() {
    let s = start(site_root("handshake", ""), None).await;
    // Plain HTTP to the HTTPS port: not a TLS ClientHello.
    let mut tcp = TcpStream::connect(s.https).await.unwrap();
    tcp.write_all(GET).await.unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), tcp.read_to_end(&mut out))
        .await
        .unwrap();
    assert!(
        !out.starts_with(b"HTTP/"),
        "{:?}",
        String::from_utf8_lossy(&out)
    );
    // The next connection is served as usual.
    assert_eq!(https_get(s.https, None).await.status, 200);
    assert!(s.httperr_lines().await.is_empty());
    assert_eq!(s.lines().await.len(), 1);
}

#[tokio::test]
async fn a_handshake_that_never_ends_is_cut_and_logged_timer_connection_idle() {
    let limits = Limits {
        connection_timeout: Duration::from_millis(300),
        ..Limits::default()
    };
    let s = start_with(site_root("idle", ""), None, limits).await;
    let mut tcp = TcpStream::connect(s.https).await.unwrap();
    // The first bytes of a TLS record, and then nothing.
    tcp.write_all(&[0x16, 0x03, 0x01]).await.unwrap();
    let mut out = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(10), tcp.read_to_end(&mut out)).await;
    assert!(closed.is_ok(), "the server cuts the connection");
    assert!(out.is_empty());
    let errors = s.httperr_lines().await;
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].get("s-reason"), Some("Timer_ConnectionIdle"));
    assert_eq!(errors[0].get("s-port").unwrap(), s.https.port().to_string());
    assert_eq!(errors[0].get("cs-version"), Some("-"));
    assert_eq!(errors[0].get("sc-status"), Some("-"));
}

#[cfg(feature = "axum")]
#[tokio::test]
async fn axum_serve_over_tls_listener_sees_tls_connection_info() {
    use axum::extract::ConnectInfo;
    use tower_iis::tls::TlsListener;
    use tower_iis::ConnectionInfo;
    let app = axum::Router::new().route(
        "/",
        axum::routing::get(|ConnectInfo(c): ConnectInfo<ConnectionInfo>| async move {
            format!("tls={} port={}", c.tls, c.local.port())
        }),
    );
    let tls = TlsConfig::self_signed(["localhost"]).unwrap();
    let listener = TlsListener::new(TcpListener::bind("127.0.0.1:0").await.unwrap(), &tls).unwrap();
    let addr = axum::serve::Listener::local_addr(&listener).unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<ConnectionInfo>(),
        )
        .await
    });
    // A client that does not speak TLS does not stop the listener.
    let mut junk = TcpStream::connect(addr).await.unwrap();
    junk.write_all(GET).await.unwrap();
    let mut tls = tls_connect(addr, client_config(None, &[b"http/1.1"])).await;
    tls.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut out = Vec::new();
    tls.read_to_end(&mut out).await.unwrap();
    let res = read_response(&mut &out[..], "GET").await.unwrap();
    assert_eq!(res.status, 200);
    assert_eq!(res.text(), format!("tls=true port={}", addr.port()));
}

#[test]
fn a_bad_certificate_path_fails_at_build_naming_the_file() {
    let err = TlsConfig::from_pem_files("/no/such/dir/server.pem", "/no/such/dir/server.key")
        .unwrap_err();
    assert_eq!(err.setting(), "TLS certificate file");
    assert_eq!(err.value(), "/no/such/dir/server.pem");
    assert!(err.to_string().contains("/no/such/dir/server.pem"), "{err}");
    assert_eq!(err.io_error().unwrap().kind(), std::io::ErrorKind::NotFound);
    let err = SslAccessLayer::builder(SslFlags::SSL_REQUIRE_CERT)
        .trusted_ca_file("/no/such/dir/ca.pem")
        .build()
        .unwrap_err();
    assert_eq!(err.value(), "/no/such/dir/ca.pem");
}

/// A temp site: `index.htm` at the root and in each folder, the root web.config
/// holding `root_config` (inside `<configuration>`), and a web.config per folder.
fn folder_site(name: &str, root_config: &str, folders: &[(&str, &str)]) -> PathBuf {
    let root = site_root(name, "");
    std::fs::write(root.join("index.htm"), "<p>root</p>").unwrap();
    std::fs::write(
        root.join("web.config"),
        format!("<configuration>\n{root_config}\n</configuration>\n"),
    )
    .unwrap();
    for (folder, access) in folders {
        let dir = root.join(folder);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("index.htm"), format!("<p>{folder}</p>")).unwrap();
        if !access.is_empty() {
            std::fs::write(
                dir.join("web.config"),
                format!(
                    "<configuration>\n<system.webServer>\n<security>\n{access}\n</security>\n</system.webServer>\n</configuration>\n"
                ),
            )
            .unwrap();
        }
    }
    root
}

/// `cs-uri-stem s-port sc-status sc-substatus sc-win32-status` of a line.
fn stem_port_codes(e: &reader::Entry) -> String {
    format!(
        "{} {} {}",
        e.get("cs-uri-stem").unwrap(),
        e.get("s-port").unwrap(),
        codes(e)
    )
}

#[tokio::test]
async fn a_folder_that_requires_ssl_is_403_4_over_http_and_200_over_https() {
    let root = folder_site(
        "folder-ssl",
        "",
        &[("secure", r#"<access sslFlags="Ssl" />"#)],
    );
    let s = start_site(root, Limits::default(), |b| b).await;

    let plain = http_get_path(s.http, "/secure/").await;
    assert_eq!(plain.status_line(), "HTTP/1.1 403 Forbidden");
    let page = plain.text();
    assert!(
        page.contains("<title>IIS 10.0 Detailed Error - 403.4 - Forbidden</title>"),
        "{page}"
    );
    let secure = https_get_path(s.https, "/secure/", None).await;
    assert_eq!(secure.status_line(), "HTTP/1.1 200 OK");
    assert_eq!(secure.text(), "<p>secure</p>");
    let open = http_get_path(s.http, "/").await;
    assert_eq!(open.status_line(), "HTTP/1.1 200 OK");
    assert_eq!(open.text(), "<p>root</p>");

    let (http, https) = (s.http.port(), s.https.port());
    let got: Vec<String> = s.lines().await.iter().map(stem_port_codes).collect();
    assert_eq!(
        got,
        [
            format!("/secure/ {http} 403 4 5"),
            format!("/secure/ {https} 200 0 0"),
            format!("/ {http} 200 0 0"),
        ]
    );
}

#[tokio::test]
async fn a_location_requires_client_certificates_for_one_folder() {
    let trusted = Ca::new("Trusted Test CA");
    let other = Ca::new("Other Test CA");
    let root = folder_site(
        "folder-cert",
        r#"<location path="certs">
<system.webServer><security><access sslFlags="Ssl, SslRequireCert" /></security></system.webServer>
</location>"#,
        &[("certs", "")],
    );
    let trust = SslAccessLayer::builder(SslFlags::SSL)
        .trusted_ca_pem(&trusted.pem)
        .build()
        .unwrap();
    let s = start_site(root, Limits::default(), |b| {
        b.client_certificate_trust(trust)
    })
    .await;

    let none = https_get_path(s.https, "/certs/", None).await;
    assert_eq!(none.status_line(), "HTTP/1.1 403 Forbidden");
    assert!(none
        .text()
        .contains("<title>IIS 10.0 Detailed Error - 403.7 - Forbidden</title>"));
    let good = https_get_path(s.https, "/certs/", Some(trusted.client(false))).await;
    assert_eq!(good.status_line(), "HTTP/1.1 200 OK");
    assert_eq!(good.text(), "<p>certs</p>");
    let untrusted = https_get_path(s.https, "/certs/", Some(other.client(false))).await;
    assert_eq!(untrusted.status_line(), "HTTP/1.1 403 Forbidden");
    assert!(untrusted
        .text()
        .contains("<title>IIS 10.0 Detailed Error - 403.16 - Forbidden</title>"));
    let expired = https_get_path(s.https, "/certs/", Some(trusted.client(true))).await;
    assert_eq!(expired.status_line(), "HTTP/1.1 403 Forbidden");
    assert!(expired
        .text()
        .contains("<title>IIS 10.0 Detailed Error - 403.17 - Forbidden</title>"));
    // Outside the <location>: no certificate asked for, over either scheme.
    let root_https = https_get_path(s.https, "/", None).await;
    assert_eq!(root_https.status_line(), "HTTP/1.1 200 OK");
    assert_eq!(root_https.text(), "<p>root</p>");
    let root_http = http_get_path(s.http, "/").await;
    assert_eq!(root_http.status_line(), "HTTP/1.1 200 OK");

    let (http, https) = (s.http.port(), s.https.port());
    let got: Vec<String> = s.lines().await.iter().map(stem_port_codes).collect();
    assert_eq!(
        got,
        [
            format!("/certs/ {https} 403 7 5"),
            format!("/certs/ {https} 200 0 0"),
            format!("/certs/ {https} 403 16 2148204809"),
            format!("/certs/ {https} 403 17 2148204801"),
            format!("/ {https} 200 0 0"),
            format!("/ {http} 200 0 0"),
        ]
    );
}
