//! [`TlsInfo`]: what the TLS handshake of a connection settled, as a request
//! extension.

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;

/// The TLS protocol version a connection negotiated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TlsVersion {
    /// TLS 1.2.
    Tls12,
    /// TLS 1.3.
    Tls13,
    /// Another version, by its wire value (`0x0301` is TLS 1.0).
    Other(u16),
}

impl TlsVersion {
    /// The version's name as Windows' Schannel and IIS's server variables spell it
    /// (`TLS 1.2`, `TLS 1.3`; an unknown one as its wire value in hex).
    #[must_use]
    pub fn as_str(&self) -> &'static str {
        match self {
            TlsVersion::Tls12 => "TLS 1.2",
            TlsVersion::Tls13 => "TLS 1.3",
            TlsVersion::Other(0x0300) => "SSL 3.0",
            TlsVersion::Other(0x0301) => "TLS 1.0",
            TlsVersion::Other(0x0302) => "TLS 1.1",
            TlsVersion::Other(_) => "unknown",
        }
    }
}

impl fmt::Display for TlsVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TlsVersion::Other(v) if self.as_str() == "unknown" => write!(f, "0x{v:04x}"),
            _ => f.write_str(self.as_str()),
        }
    }
}

/// The TLS details of the connection a request came in on: protocol version,
/// cipher suite and its key strength, the client's certificate chain and the
/// server name (SNI) the client asked for.
///
/// `server::serve` with a TLS configuration (feature `tls`) puts one in every
/// request of a TLS connection, beside the [`ConnectionInfo`](crate::ConnectionInfo)
/// whose `tls` is `true`. It is built once per connection: every request gets a
/// clone of the same `Arc`. [`SslAccessLayer`](crate::ssl::SslAccessLayer) reads it
/// for `Ssl128` and the client-certificate flags; a TLS-terminating proxy in front
/// can build one with [`TlsInfo::new`].
///
/// ```
/// use bytes::Bytes;
/// use tower_iis::{TlsInfo, TlsVersion};
///
/// let info = TlsInfo::new(TlsVersion::Tls13, 0x1301, "TLS13_AES_128_GCM_SHA256", 128)
///     .with_server_name("localhost")
///     .with_client_certificates([Bytes::from_static(b"DER")]);
/// assert_eq!(info.protocol_version().to_string(), "TLS 1.3");
/// assert_eq!(info.cipher_strength(), 128);
/// assert_eq!(info.server_name(), Some("localhost"));
/// assert_eq!(info.client_certificates().len(), 1);
/// let copy = info.clone(); // the same Arc
/// assert!(std::ptr::eq(copy.client_certificates(), info.client_certificates()));
/// ```
#[derive(Clone)]
pub struct TlsInfo {
    inner: Arc<Inner>,
}

#[derive(Clone)]
struct Inner {
    version: TlsVersion,
    cipher_suite: u16,
    cipher_suite_name: &'static str,
    cipher_strength: u16,
    client_certificates: Box<[Bytes]>,
    server_name: Option<Box<str>>,
    alpn: Option<Box<[u8]>>,
}

impl TlsInfo {
    /// The details of a connection: its version, its cipher suite (IANA value and
    /// name) and the suite's secret key size in bits (`HTTPS_SECRETKEYSIZE`).
    #[must_use]
    pub fn new(
        version: TlsVersion,
        cipher_suite: u16,
        cipher_suite_name: &'static str,
        cipher_strength: u16,
    ) -> Self {
        TlsInfo {
            inner: Arc::new(Inner {
                version,
                cipher_suite,
                cipher_suite_name,
                cipher_strength,
                client_certificates: Box::default(),
                server_name: None,
                alpn: None,
            }),
        }
    }

    /// With the client's certificate chain, DER, its own certificate first.
    #[must_use]
    pub fn with_client_certificates(mut self, chain: impl IntoIterator<Item = Bytes>) -> Self {
        Arc::make_mut(&mut self.inner).client_certificates = chain.into_iter().collect();
        self
    }

    /// With the server name the client sent (SNI).
    #[must_use]
    pub fn with_server_name(mut self, name: impl Into<Box<str>>) -> Self {
        Arc::make_mut(&mut self.inner).server_name = Some(name.into());
        self
    }

    /// With the application protocol agreed by ALPN (`h2`, `http/1.1`).
    #[must_use]
    pub fn with_alpn(mut self, protocol: impl Into<Box<[u8]>>) -> Self {
        Arc::make_mut(&mut self.inner).alpn = Some(protocol.into());
        self
    }

    /// The protocol version.
    #[must_use]
    pub fn protocol_version(&self) -> TlsVersion {
        self.inner.version
    }

    /// The cipher suite's IANA value (`0x1301` is `TLS_AES_128_GCM_SHA256`).
    #[must_use]
    pub fn cipher_suite(&self) -> u16 {
        self.inner.cipher_suite
    }

    /// The cipher suite's name, as the TLS library gives it.
    #[must_use]
    pub fn cipher_suite_name(&self) -> &'static str {
        self.inner.cipher_suite_name
    }

    /// The bulk cipher's secret key size in bits (IIS's `HTTPS_SECRETKEYSIZE`);
    /// `Ssl128` requires at least 128.
    #[must_use]
    pub fn cipher_strength(&self) -> u16 {
        self.inner.cipher_strength
    }

    /// The client's certificate chain (DER, its own certificate first); empty when
    /// the client sent none.
    #[must_use]
    pub fn client_certificates(&self) -> &[Bytes] {
        &self.inner.client_certificates
    }

    /// The server name the client asked for (SNI), if it sent one.
    #[must_use]
    pub fn server_name(&self) -> Option<&str> {
        self.inner.server_name.as_deref()
    }

    /// The application protocol agreed by ALPN, if any.
    #[must_use]
    pub fn alpn(&self) -> Option<&[u8]> {
        self.inner.alpn.as_deref()
    }
}

impl fmt::Debug for TlsInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsInfo")
            .field("protocol_version", &self.inner.version)
            .field("cipher_suite", &self.inner.cipher_suite_name)
            .field("cipher_strength", &self.inner.cipher_strength)
            .field("client_certificates", &self.inner.client_certificates.len())
            .field("server_name", &self.inner.server_name)
            .finish()
    }
}
