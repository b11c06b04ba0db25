//! HTTPS: the server certificate ([`TlsConfig`]), the TLS details of each request
//! ([`TlsInfo`]) and, with feature `axum`, a TLS listener for `axum::serve`.
//!
//! [`TlsConfig`] holds a rustls server configuration on the `ring` provider
//! (TLS 1.2 and 1.3, rustls's safe cipher suites, ALPN `h2` and `http/1.1`), from a
//! PEM certificate chain and key ([`TlsConfig::from_pem_files`]) or a self-signed
//! certificate made on the spot for development ([`TlsConfig::self_signed`], with
//! rcgen). Give it to [`Serve::tls`](crate::server::Serve::tls) and `server::serve`
//! speaks HTTPS with every http.sys behaviour of the plain server: limits, timers,
//! its own error pages (sent inside TLS), the HTTPERR log, byte counts and the W3C
//! line written after the last byte.
//!
//! Each request of a TLS connection carries a [`ConnectionInfo`](crate::ConnectionInfo)
//! with `tls: true` (the detailed error page's Requested URL then starts with
//! `https://`) and a [`TlsInfo`]: version, cipher suite, the client's certificate
//! chain and the SNI name.
//!
//! # Client certificates
//!
//! The server asks every client for a certificate during the handshake and takes
//! any it gets, or none: the handshake checks only that the client holds the
//! certificate's key (its signature over the handshake), not who issued it. Whether
//! a certificate is required, and whether it is trusted and within its dates, is
//! the [`SslAccessLayer`](crate::ssl::SslAccessLayer)'s decision (IIS's `sslFlags`),
//! so a client gets IIS's 403.7, 403.16 or 403.17 page rather than a TLS alert.
//! [`TlsConfig::client_certificates`]`(false)` stops asking (browsers holding
//! certificates then show no picker).
//!
//! # What http.sys logs about TLS
//!
//! A handshake that fails (a client that does not speak TLS, no common cipher, a
//! bad certificate signature) closes the connection without an HTTPERR line: on
//! Windows such failures go to the Schannel event log, not to http.sys's error log.
//! It is reported with `tracing` at `debug` (target `tower_iis::server`). A
//! handshake still unfinished after the idle connection timeout is cut and logged
//! `Timer_ConnectionIdle`, as an idle plain connection is. Byte counts (`sc-bytes`,
//! `cs-bytes`) are the HTTP bytes inside TLS: the records' framing, padding and the
//! handshake are not counted.
//!
//! # Example
//!
//! Needs feature `tls`, and in your crate `tokio` (features `macros`, `rt`).
//!
//! ```
//! use std::convert::Infallible;
//! use http::{Request, Response};
//! use tower_iis::server::serve;
//! use tower_iis::tls::TlsConfig;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let tls = TlsConfig::self_signed(["localhost", "127.0.0.1"])?;
//! assert!(tls.is_self_signed());
//! assert_eq!(tls.sha256_fingerprint().len(), 32 * 3 - 1); // "AB:CD:…"
//!
//! // A missing file fails now, naming it.
//! let err = TlsConfig::from_pem_files("/no/such/cert.pem", "/no/such/key.pem").unwrap_err();
//! assert_eq!(err.value(), "/no/such/cert.pem");
//!
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let app = tower::service_fn(|req: Request<hyper::body::Incoming>| async move {
//!     let tls = req.extensions().get::<tower_iis::TlsInfo>().map(|t| t.protocol_version());
//!     Ok::<_, Infallible>(Response::new(format!("{tls:?}")))
//! });
//! let server = serve(listener, app).tls(tls).signals(false);
//! # drop(server);
//! # Ok(())
//! # }
//! ```

use std::fmt;
use std::fs;
use std::path::Path;
use std::sync::Arc;

use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::ServerConnection;
use rustls::{DigitallySignedStruct, DistinguishedName, ServerConfig, SignatureScheme};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, UnixTime};

pub use crate::tls_info::{TlsInfo, TlsVersion};
use crate::ConfigError;

/// The server side of HTTPS: certificate, key and rustls settings. Cheap to clone.
/// See the [module docs](self).
#[derive(Clone)]
pub struct TlsConfig {
    /// The configuration that asks for client certificates, and the one that does not.
    with_client_auth: Arc<ServerConfig>,
    without_client_auth: Arc<ServerConfig>,
    ask_client: bool,
    self_signed: bool,
    /// SHA-256 of the leaf certificate's DER.
    fingerprint: [u8; 32],
}

impl fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsConfig")
            .field("self_signed", &self.self_signed)
            .field("client_certificates", &self.ask_client)
            .field("sha256", &self.sha256_fingerprint())
            .finish_non_exhaustive()
    }
}

impl TlsConfig {
    /// From a PEM certificate chain (the server's certificate first, then any
    /// intermediates) and a PEM private key (PKCS#8, PKCS#1 or SEC1), read now.
    ///
    /// # Errors
    ///
    /// A file that cannot be read, holds no certificate or no key, or a key that
    /// does not suit the certificate: a [`ConfigError`] naming the file.
    pub fn from_pem_files(
        cert: impl AsRef<Path>,
        key: impl AsRef<Path>,
    ) -> Result<Self, ConfigError> {
        let (cert, key) = (cert.as_ref(), key.as_ref());
        let read = |setting: &'static str, path: &Path| {
            fs::read(path).map_err(|e| {
                ConfigError::new(setting, path.display().to_string(), "cannot be read").with_io(e)
            })
        };
        let cert_pem = read("TLS certificate file", cert)?;
        let key_pem = read("TLS private key file", key)?;
        Self::from_pem_named(
            &cert_pem,
            &key_pem,
            &cert.display().to_string(),
            &key.display().to_string(),
        )
    }

    /// From the text of a PEM certificate chain and a PEM private key.
    ///
    /// # Errors
    ///
    /// See [`from_pem_files`](Self::from_pem_files).
    pub fn from_pem(cert_pem: &[u8], key_pem: &[u8]) -> Result<Self, ConfigError> {
        Self::from_pem_named(cert_pem, key_pem, "(PEM text)", "(PEM text)")
    }

    fn from_pem_named(
        cert_pem: &[u8],
        key_pem: &[u8],
        cert_name: &str,
        key_name: &str,
    ) -> Result<Self, ConfigError> {
        let chain = CertificateDer::pem_slice_iter(cert_pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| {
                ConfigError::new("TLS certificate file", cert_name, format!("not PEM: {e}"))
            })?;
        if chain.is_empty() {
            return Err(ConfigError::new(
                "TLS certificate file",
                cert_name,
                "holds no CERTIFICATE block",
            ));
        }
        let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| {
            ConfigError::new(
                "TLS private key file",
                key_name,
                format!("holds no usable private key: {e}"),
            )
        })?;
        Self::build(chain, key, false, key_name)
    }

    /// A self-signed certificate for `names` (DNS names and IP addresses), made now
    /// with a fresh ECDSA P-256 key. For development: clients must be told to trust
    /// it (print its [`sha256_fingerprint`](Self::sha256_fingerprint)).
    ///
    /// # Errors
    ///
    /// A name that cannot go into a certificate.
    pub fn self_signed<I, N>(names: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = N>,
        N: Into<String>,
    {
        let names: Vec<String> = names.into_iter().map(Into::into).collect();
        let certified = rcgen::generate_simple_self_signed(names.clone()).map_err(|e| {
            ConfigError::new(
                "self-signed certificate names",
                names.join(", "),
                e.to_string(),
            )
        })?;
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
            certified.signing_key.serialize_der(),
        ));
        Self::build(
            vec![certified.cert.der().clone()],
            key,
            true,
            "(generated key)",
        )
    }

    fn build(
        chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
        self_signed: bool,
        key_name: &str,
    ) -> Result<Self, ConfigError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let fingerprint = sha256(&chain[0]);
        let make = |client_auth: bool| -> Result<Arc<ServerConfig>, ConfigError> {
            let builder = ServerConfig::builder_with_provider(provider.clone())
                .with_safe_default_protocol_versions()
                .map_err(|e| ConfigError::new("TLS protocol versions", "default", e.to_string()))?;
            let builder = if client_auth {
                builder.with_client_cert_verifier(Arc::new(AnyClientCertificate {
                    algorithms: provider.signature_verification_algorithms,
                }))
            } else {
                builder.with_no_client_auth()
            };
            let mut config = builder
                .with_single_cert(chain.clone(), key.clone_key())
                .map_err(|e| {
                    ConfigError::new(
                        "TLS private key file",
                        key_name,
                        format!("does not suit the certificate: {e}"),
                    )
                })?;
            config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
            Ok(Arc::new(config))
        };
        Ok(TlsConfig {
            with_client_auth: make(true)?,
            without_client_auth: make(false)?,
            ask_client: true,
            self_signed,
            fingerprint,
        })
    }

    /// Whether the handshake asks the client for a certificate (default: yes; it
    /// is optional for the client either way).
    #[must_use]
    pub fn client_certificates(mut self, ask: bool) -> Self {
        self.ask_client = ask;
        self
    }

    /// Whether the certificate was made by [`self_signed`](Self::self_signed).
    #[must_use]
    pub fn is_self_signed(&self) -> bool {
        self.self_signed
    }

    /// The SHA-256 fingerprint of the server's certificate, as uppercase hex pairs
    /// joined by `:` (how browsers show it).
    #[must_use]
    pub fn sha256_fingerprint(&self) -> String {
        let mut out = String::with_capacity(32 * 3);
        for (i, b) in self.fingerprint.iter().enumerate() {
            if i > 0 {
                out.push(':');
            }
            out.push_str(&format!("{b:02X}"));
        }
        out
    }

    /// The rustls server configuration the server uses.
    #[must_use]
    pub fn rustls_config(&self) -> Arc<ServerConfig> {
        if self.ask_client {
            self.with_client_auth.clone()
        } else {
            self.without_client_auth.clone()
        }
    }

    /// A tokio-rustls acceptor for this configuration.
    #[must_use]
    pub fn acceptor(&self) -> tokio_rustls::TlsAcceptor {
        tokio_rustls::TlsAcceptor::from(self.rustls_config())
    }
}

fn sha256(der: &[u8]) -> [u8; 32] {
    let digest = ring::digest::digest(&ring::digest::SHA256, der);
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

/// Accepts any client certificate, or none, once the client has proved it holds
/// its key. The chain is judged by the `SslAccessLayer`.
#[derive(Debug)]
struct AnyClientCertificate {
    algorithms: WebPkiSupportedAlgorithms,
}

impl ClientCertVerifier for AnyClientCertificate {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        false
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// The [`TlsInfo`] of an established connection.
pub(crate) fn tls_info(conn: &ServerConnection) -> TlsInfo {
    let version = match conn.protocol_version() {
        Some(rustls::ProtocolVersion::TLSv1_2) => TlsVersion::Tls12,
        Some(rustls::ProtocolVersion::TLSv1_3) => TlsVersion::Tls13,
        Some(other) => TlsVersion::Other(u16::from(other)),
        None => TlsVersion::Other(0),
    };
    let (suite, name) = conn
        .negotiated_cipher_suite()
        .map(|s| {
            (
                u16::from(s.suite()),
                s.suite().as_str().unwrap_or("unknown"),
            )
        })
        .unwrap_or((0, "unknown"));
    let mut info = TlsInfo::new(version, suite, name, cipher_strength(name));
    if let Some(chain) = conn.peer_certificates() {
        info = info.with_client_certificates(
            chain
                .iter()
                .map(|c| bytes::Bytes::copy_from_slice(c.as_ref())),
        );
    }
    if let Some(sni) = conn.server_name() {
        info = info.with_server_name(sni);
    }
    if let Some(alpn) = conn.alpn_protocol() {
        info = info.with_alpn(alpn);
    }
    info
}

/// The bulk cipher's key size in bits, from the suite's name.
fn cipher_strength(name: &str) -> u16 {
    if name.contains("AES_256") || name.contains("CHACHA20") {
        256
    } else if name.contains("AES_128") {
        128
    } else {
        0
    }
}

/// The crypto provider this crate uses: rustls's `ring` provider.
#[must_use]
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

#[cfg(feature = "axum")]
mod listener;
#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
pub use listener::TlsListener;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strength_by_suite_name() {
        assert_eq!(cipher_strength("TLS13_AES_128_GCM_SHA256"), 128);
        assert_eq!(cipher_strength("TLS13_AES_256_GCM_SHA384"), 256);
        assert_eq!(cipher_strength("TLS13_CHACHA20_POLY1305_SHA256"), 256);
        assert_eq!(cipher_strength("TLS_RSA_WITH_RC4_40_MD5"), 0);
    }

    #[test]
    fn pem_errors_name_the_file() {
        let dir = std::env::temp_dir().join(format!("tower-iis-tls-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let cert = dir.join("cert.pem");
        let key = dir.join("key.pem");
        let made = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        fs::write(&cert, made.cert.pem()).unwrap();
        fs::write(&key, made.signing_key.serialize_pem()).unwrap();
        let ok = TlsConfig::from_pem_files(&cert, &key).unwrap();
        assert!(!ok.is_self_signed());
        assert_eq!(ok.rustls_config().alpn_protocols[0], b"h2");

        let missing = dir.join("missing.pem");
        let err = TlsConfig::from_pem_files(&missing, &key).unwrap_err();
        assert_eq!(err.setting(), "TLS certificate file");
        assert_eq!(err.value(), missing.display().to_string());
        assert!(err.io_error().is_some());

        // The key file holds a certificate, not a key.
        let err = TlsConfig::from_pem_files(&cert, &cert).unwrap_err();
        assert_eq!(err.setting(), "TLS private key file");
        assert_eq!(err.value(), cert.display().to_string());

        // A key of another certificate.
        let other = rcgen::generate_simple_self_signed(vec!["x".to_owned()]).unwrap();
        let other_key = dir.join("other-key.pem");
        fs::write(&other_key, other.signing_key.serialize_pem()).unwrap();
        let err = TlsConfig::from_pem_files(&cert, &other_key).unwrap_err();
        assert_eq!(err.value(), other_key.display().to_string());
        assert!(
            err.reason().starts_with("does not suit the certificate"),
            "{err}"
        );

        let err = TlsConfig::from_pem_files(&key, &key).unwrap_err();
        assert_eq!(
            (err.setting(), err.reason()),
            ("TLS certificate file", "holds no CERTIFICATE block")
        );
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn self_signed_fingerprint() {
        let tls = TlsConfig::self_signed(["localhost", "127.0.0.1"]).unwrap();
        let fp = tls.sha256_fingerprint();
        assert_eq!(fp.len(), 95);
        assert!(fp.split(':').all(|p| p.len() == 2
            && p.chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_lowercase())));
        assert!(tls.is_self_signed());
        let without = tls.clone().client_certificates(false);
        assert!(!Arc::ptr_eq(&without.rustls_config(), &tls.rustls_config()));
    }
}
