//! IIS's SSL settings (`<access sslFlags="...">`, system.webServer/security/access):
//! HTTPS required (403.4), 128-bit keys (403.5) and client certificates (403.7,
//! 403.16, 403.17).
//!
//! [`SslAccessLayer`] reads [`ConnectionInfo::tls`](crate::ConnectionInfo) through
//! [`connection::connection_info`], and the [`TlsInfo`] extension (cipher strength,
//! client certificate chain) that `server::serve` with TLS (feature `tls`) puts in
//! every request of a TLS connection. [`RequireSslLayer`] is the shorthand for
//! `sslFlags="Ssl"`.
//!
//! | `sslFlags` | Denied with | When |
//! |---|---|---|
//! | `None` (the IIS default) | – | nothing is checked |
//! | `Ssl` | 403.4 `403 4 5` | the request did not arrive over TLS |
//! | `Ssl128` | 403.4 over plain HTTP; 403.5 `403 5 5` | the cipher's key is under 128 bits |
//! | `SslNegotiateCert` | 403.16 / 403.17 | a certificate the client sent is bad (none is fine) |
//! | `SslRequireCert` | 403.7 `403 7 5`; 403.16 / 403.17 | no client certificate; a bad one |
//! | `SslMapCert` | – | accepted and ignored (certificate mapping is not emulated) |
//!
//! A client certificate is good when its chain leads to one of the layer's trusted
//! CA certificates ([`SslAccessBuilder::trusted_ca_pem`], feature `tls`) and every
//! certificate on the way is within its validity dates, for client authentication.
//! One that leads to no trusted CA (or any certificate when the layer trusts none)
//! is 403.16, logged `403 16 2148204809` (`CERT_E_UNTRUSTEDROOT`, as IIS logs it);
//! an expired or not yet valid one is 403.17, logged `403 17 2148204801`
//! (`CERT_E_EXPIRED`). The chain is checked on each request that needs it (a
//! signature check per certificate on the way).
//!
//! Not emulated: certificate trust lists (CTL), revocation (CRL, OCSP; IIS's 403.13),
//! mapping a certificate to a Windows user (`SslMapCert`, one-to-one and
//! many-to-one mappings, 403.12), and TLS renegotiation: `server::serve` asks every
//! TLS client for a certificate during the handshake, where IIS asks again only for
//! the URLs that need one. With rustls the cipher's key is never below 128 bits, so
//! over `server::serve` `Ssl128` never denies a TLS request.
//!
//! # Failing closed
//!
//! A request that reaches a layer that requires anything, with no connection info
//! at all, is denied with 403.4 (the layer cannot prove it came over TLS) and a
//! `tracing` warning is logged once per layer. Without a [`TlsInfo`], a TLS request
//! counts as having no client certificate and an unknown (so too weak) cipher.
//! Forwarding headers (`X-Forwarded-Proto`) are not trusted; a TLS-terminating proxy
//! in front should set `ConnectionInfo::with_tls(true)` and a [`TlsInfo`] itself.
//!
//! The denials name module `IIS Web Core`, notification `BeginRequest`, and the
//! HRESULTs above (`0x80070005` for 403.4, 403.5 and 403.7).
//!
//! # Example
//!
//! Needs in your crate `tower` (feature `util`), `tokio` (features `macros`, `rt`).
//!
//! ```
//! use std::convert::Infallible;
//! use http::{Request, Response};
//! use tower::{service_fn, ServiceBuilder, ServiceExt};
//! use tower_iis::ssl::{RequireSslLayer, SslAccessLayer, SslFlags};
//! use tower_iis::{ConnectionInfo, IisError, TlsInfo, TlsVersion};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let svc = ServiceBuilder::new()
//!     .layer(RequireSslLayer::new())
//!     .service(service_fn(|_req: Request<()>| async {
//!         Ok::<_, Infallible>(Response::new(String::from("secret")))
//!     }));
//!
//! let conn = ConnectionInfo::new("192.0.2.1:50000".parse()?, "192.0.2.2:443".parse()?);
//! let mut req = Request::new(());
//! req.extensions_mut().insert(conn);
//! let res = svc.clone().oneshot(req).await?;
//! let err = res.extensions().get::<IisError>().unwrap();
//! assert_eq!((err.status().to_string(), err.win32_status()), ("403.4".to_owned(), 5));
//!
//! let mut req = Request::new(());
//! req.extensions_mut().insert(conn.with_tls(true));
//! assert_eq!(svc.oneshot(req).await?.status(), 200);
//!
//! // sslFlags="Ssl, SslRequireCert": a TLS request without a client certificate.
//! let flags: SslFlags = "Ssl, SslRequireCert".parse()?;
//! let svc = ServiceBuilder::new()
//!     .layer(SslAccessLayer::new(flags))
//!     .service(service_fn(|_req: Request<()>| async {
//!         Ok::<_, Infallible>(Response::new(String::from("secret")))
//!     }));
//! let mut req = Request::new(());
//! req.extensions_mut().insert(conn.with_tls(true));
//! req.extensions_mut().insert(TlsInfo::new(TlsVersion::Tls13, 0x1301, "TLS13_AES_128_GCM_SHA256", 128));
//! let res = svc.oneshot(req).await?;
//! assert_eq!(res.extensions().get::<IisError>().unwrap().status().to_string(), "403.7");
//! # Ok(())
//! # }
//! ```

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use tower_layer::Layer;
use tower_service::Service;

use crate::tls_info::TlsInfo;
use crate::{connection, ConfigError, IisError, IisStatus};

/// IIS's `sslFlags`: a set of the flags below. Parsed from IIS's comma-separated
/// names (`"Ssl, SslNegotiateCert"`, case-insensitive); displayed the same way.
///
/// ```
/// use tower_iis::ssl::SslFlags;
///
/// let flags: SslFlags = "Ssl,Ssl128".parse().unwrap();
/// assert!(flags.contains(SslFlags::SSL) && flags.contains(SslFlags::SSL_128));
/// assert_eq!(flags.to_string(), "Ssl, Ssl128");
/// assert_eq!(SslFlags::NONE.to_string(), "None");
/// let err = "Ssl, SslRequired".parse::<SslFlags>().unwrap_err();
/// assert_eq!(err.value(), "SslRequired");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SslFlags(u16);

impl SslFlags {
    /// `None`: nothing required (IIS's default).
    pub const NONE: SslFlags = SslFlags(0);
    /// `Ssl`: HTTPS required (403.4).
    pub const SSL: SslFlags = SslFlags(8);
    /// `SslNegotiateCert`: a client certificate is accepted, and checked when sent.
    pub const SSL_NEGOTIATE_CERT: SslFlags = SslFlags(32);
    /// `SslRequireCert`: a client certificate is required (403.7).
    pub const SSL_REQUIRE_CERT: SslFlags = SslFlags(64);
    /// `SslMapCert`: map the certificate to a Windows account (not emulated).
    pub const SSL_MAP_CERT: SslFlags = SslFlags(128);
    /// `Ssl128`: a cipher with a key of at least 128 bits (403.5).
    pub const SSL_128: SslFlags = SslFlags(256);

    const NAMES: [(SslFlags, &'static str); 5] = [
        (SslFlags::SSL, "Ssl"),
        (SslFlags::SSL_NEGOTIATE_CERT, "SslNegotiateCert"),
        (SslFlags::SSL_REQUIRE_CERT, "SslRequireCert"),
        (SslFlags::SSL_MAP_CERT, "SslMapCert"),
        (SslFlags::SSL_128, "Ssl128"),
    ];

    /// Whether every flag of `other` is set.
    #[must_use]
    pub const fn contains(self, other: SslFlags) -> bool {
        self.0 & other.0 == other.0
    }

    /// The flags of both.
    #[must_use]
    pub const fn union(self, other: SslFlags) -> SslFlags {
        SslFlags(self.0 | other.0)
    }

    /// IIS's numeric value (`Ssl` is 8, `Ssl128` 256).
    #[must_use]
    pub const fn bits(self) -> u16 {
        self.0
    }

    /// Whether no flag is set.
    #[must_use]
    pub const fn is_none(self) -> bool {
        self.0 == 0
    }
}

impl std::ops::BitOr for SslFlags {
    type Output = SslFlags;

    fn bitor(self, rhs: SslFlags) -> SslFlags {
        self.union(rhs)
    }
}

impl FromStr for SslFlags {
    type Err = ConfigError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut flags = SslFlags::NONE;
        for part in s.split(',').map(str::trim) {
            if part.eq_ignore_ascii_case("None") || (part.is_empty() && !s.contains(',')) {
                continue;
            }
            let Some((flag, _)) = Self::NAMES
                .iter()
                .find(|(_, name)| name.eq_ignore_ascii_case(part))
            else {
                return Err(ConfigError::new(
                    "access@sslFlags",
                    part,
                    "not one of None, Ssl, SslNegotiateCert, SslRequireCert, SslMapCert, Ssl128",
                ));
            };
            flags = flags.union(*flag);
        }
        Ok(flags)
    }
}

impl fmt::Display for SslFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_none() {
            return f.write_str("None");
        }
        let mut first = true;
        for (flag, name) in Self::NAMES {
            if self.contains(flag) {
                if !first {
                    f.write_str(", ")?;
                }
                first = false;
                f.write_str(name)?;
            }
        }
        Ok(())
    }
}

/// The CA certificates a layer trusts for client certificates.
#[cfg(feature = "tls")]
struct Trust {
    anchors: Vec<rustls_pki_types::TrustAnchor<'static>>,
}

/// Enforces IIS's `sslFlags`. See the [module docs](self).
#[derive(Clone)]
#[must_use]
pub struct SslAccessLayer {
    flags: SslFlags,
    #[cfg(feature = "tls")]
    trust: Option<Arc<Trust>>,
    /// Whether the "no connection info" warning was logged (shared by the clones
    /// and the services of this layer).
    warned: Arc<AtomicBool>,
}

impl fmt::Debug for SslAccessLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("SslAccessLayer");
        d.field("flags", &self.flags);
        #[cfg(feature = "tls")]
        d.field(
            "trusted_cas",
            &self.trust.as_ref().map_or(0, |t| t.anchors.len()),
        );
        d.finish()
    }
}

impl SslAccessLayer {
    /// The layer for `flags`, trusting no CA (a client certificate, where one is
    /// checked, is 403.16). See [`builder`](Self::builder) to trust CAs.
    pub fn new(flags: SslFlags) -> Self {
        SslAccessLayer {
            flags,
            #[cfg(feature = "tls")]
            trust: None,
            warned: Arc::new(AtomicBool::new(false)),
        }
    }

    /// A builder for `flags`, to add trusted CA certificates.
    pub fn builder(flags: SslFlags) -> SslAccessBuilder {
        SslAccessBuilder {
            flags,
            #[cfg(feature = "tls")]
            cas: Vec::new(),
        }
    }

    /// The flags.
    #[must_use]
    pub fn flags(&self) -> SslFlags {
        self.flags
    }

    /// The same layer (same trusted CAs) with other flags: for a folder whose
    /// web.config sets its own `sslFlags`.
    ///
    /// ```
    /// use tower_iis::ssl::{SslAccessLayer, SslFlags};
    ///
    /// let site = SslAccessLayer::new(SslFlags::NONE);
    /// let folder = site.with_flags("Ssl, SslRequireCert".parse().unwrap());
    /// assert_eq!(folder.flags(), SslFlags::SSL | SslFlags::SSL_REQUIRE_CERT);
    /// ```
    pub fn with_flags(&self, flags: SslFlags) -> Self {
        SslAccessLayer {
            flags,
            ..self.clone()
        }
    }
}

impl Default for SslAccessLayer {
    /// `sslFlags="None"`.
    fn default() -> Self {
        SslAccessLayer::new(SslFlags::NONE)
    }
}

/// Builds an [`SslAccessLayer`] with the CA certificates it trusts.
///
/// ```
/// use tower_iis::ssl::{SslAccessLayer, SslFlags};
///
/// let layer = SslAccessLayer::builder(SslFlags::SSL | SslFlags::SSL_REQUIRE_CERT).build().unwrap();
/// assert_eq!(layer.flags().to_string(), "Ssl, SslRequireCert");
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct SslAccessBuilder {
    flags: SslFlags,
    /// (name for errors, PEM text)
    #[cfg(feature = "tls")]
    cas: Vec<(String, Vec<u8>)>,
}

impl SslAccessBuilder {
    /// Trusts the CA certificates of `pem` (one or more `CERTIFICATE` blocks) for
    /// client certificates.
    #[cfg(feature = "tls")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
    pub fn trusted_ca_pem(mut self, pem: impl AsRef<[u8]>) -> Self {
        self.cas
            .push(("(PEM text)".to_owned(), pem.as_ref().to_vec()));
        self
    }

    /// Trusts the CA certificates of the PEM file `path`, read now; a file that
    /// cannot be read fails [`build`](Self::build), naming it.
    #[cfg(feature = "tls")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
    pub fn trusted_ca_file(mut self, path: impl AsRef<std::path::Path>) -> Self {
        let path = path.as_ref();
        let name = path.display().to_string();
        // An unreadable file is kept as an empty text under its name: build() names it.
        let pem = std::fs::read(path).unwrap_or_default();
        self.cas.push((name, pem));
        self
    }

    /// The layer.
    ///
    /// # Errors
    ///
    /// A PEM text or file with no certificate, or a certificate that cannot be a
    /// trust anchor, naming the file.
    pub fn build(self) -> Result<SslAccessLayer, ConfigError> {
        #[allow(unused_mut)]
        let mut layer = SslAccessLayer::new(self.flags);
        #[cfg(feature = "tls")]
        if !self.cas.is_empty() {
            use rustls_pki_types::pem::PemObject;
            use rustls_pki_types::CertificateDer;
            let mut anchors = Vec::new();
            for (name, pem) in &self.cas {
                let mut found = 0;
                for cert in CertificateDer::pem_slice_iter(pem) {
                    let cert = cert.map_err(|e| {
                        ConfigError::new(
                            "trusted CA certificate",
                            name.clone(),
                            format!("not PEM: {e}"),
                        )
                    })?;
                    let anchor = webpki::anchor_from_trusted_cert(&cert).map_err(|e| {
                        ConfigError::new(
                            "trusted CA certificate",
                            name.clone(),
                            format!("not a usable CA certificate: {e}"),
                        )
                    })?;
                    anchors.push(anchor.to_owned());
                    found += 1;
                }
                if found == 0 {
                    return Err(ConfigError::new(
                        "trusted CA certificate",
                        name.clone(),
                        "no CERTIFICATE block (missing, unreadable or empty file)",
                    ));
                }
            }
            layer.trust = Some(Arc::new(Trust { anchors }));
        }
        Ok(layer)
    }
}

impl<S> Layer<S> for SslAccessLayer {
    type Service = SslAccess<S>;

    fn layer(&self, inner: S) -> Self::Service {
        SslAccess {
            inner,
            layer: self.clone(),
        }
    }
}

/// `sslFlags="Ssl"`: denies requests that did not arrive over TLS with 403.4. The
/// shorthand for [`SslAccessLayer::new`]`(`[`SslFlags::SSL`]`)`; see the
/// [module docs](self).
#[derive(Debug, Clone, Copy, Default)]
#[must_use]
pub struct RequireSslLayer {
    _priv: (),
}

impl RequireSslLayer {
    /// The layer.
    pub fn new() -> Self {
        Self::default()
    }
}

impl<S> Layer<S> for RequireSslLayer {
    type Service = RequireSsl<S>;

    fn layer(&self, inner: S) -> Self::Service {
        SslAccessLayer::new(SslFlags::SSL).layer(inner)
    }
}

/// The service built by [`RequireSslLayer`].
pub type RequireSsl<S> = SslAccess<S>;

/// The service built by [`SslAccessLayer`].
#[derive(Debug, Clone)]
pub struct SslAccess<S> {
    inner: S,
    layer: SslAccessLayer,
}

impl<S> SslAccess<S> {
    define_inner_service_accessors!();
}

impl SslAccessLayer {
    /// What the flags say about `req`: `None` to let it through.
    fn check<B>(&self, req: &Request<B>) -> Option<IisStatus> {
        let flags = self.flags;
        let Some(conn) = connection::connection_info(req) else {
            if !self.warned.swap(true, Ordering::Relaxed) {
                tracing::warn!(
                    target: "tower_iis::ssl",
                    flags = %flags,
                    "a request without connection info reached the SSL check: it is denied 403.4 \
                     (serve with tower_iis::server or with ConnectionInfo as axum's connect info)"
                );
            }
            return Some(IisStatus::FORBIDDEN_SSL_REQUIRED);
        };
        let needs_cert = flags.contains(SslFlags::SSL_REQUIRE_CERT);
        if !conn.tls {
            if flags.contains(SslFlags::SSL) || flags.contains(SslFlags::SSL_128) {
                return Some(IisStatus::FORBIDDEN_SSL_REQUIRED);
            }
            return needs_cert.then_some(IisStatus::FORBIDDEN_CLIENT_CERTIFICATE_REQUIRED);
        }
        let tls = req.extensions().get::<TlsInfo>();
        if flags.contains(SslFlags::SSL_128) && tls.is_none_or(|t| t.cipher_strength() < 128) {
            return Some(IisStatus::FORBIDDEN_SSL_128_REQUIRED);
        }
        let checks_cert = needs_cert || flags.contains(SslFlags::SSL_NEGOTIATE_CERT);
        if !checks_cert {
            return None;
        }
        let chain = tls.map(TlsInfo::client_certificates).unwrap_or_default();
        if chain.is_empty() {
            return needs_cert.then_some(IisStatus::FORBIDDEN_CLIENT_CERTIFICATE_REQUIRED);
        }
        self.check_certificate(chain)
    }

    /// Whether `chain` leads to a trusted CA and is within its dates.
    #[cfg(feature = "tls")]
    fn check_certificate(&self, chain: &[bytes::Bytes]) -> Option<IisStatus> {
        use rustls_pki_types::{CertificateDer, UnixTime};
        let untrusted = Some(IisStatus::FORBIDDEN_CLIENT_CERTIFICATE_UNTRUSTED);
        // No trusted CA: no certificate can lead to one.
        let Some(trust) = self.trust.as_ref() else {
            return untrusted;
        };
        let end = CertificateDer::from(chain[0].as_ref());
        let Ok(cert) = webpki::EndEntityCert::try_from(&end) else {
            return untrusted;
        };
        let intermediates: Vec<CertificateDer<'_>> = chain[1..]
            .iter()
            .map(|c| CertificateDer::from(c.as_ref()))
            .collect();
        match cert.verify_for_usage(
            webpki::ALL_VERIFICATION_ALGS,
            &trust.anchors,
            &intermediates,
            UnixTime::now(),
            webpki::KeyUsage::client_auth(),
            None,
            None,
        ) {
            Ok(_) => None,
            Err(webpki::Error::CertExpired { .. } | webpki::Error::CertNotValidYet { .. }) => {
                Some(IisStatus::FORBIDDEN_CLIENT_CERTIFICATE_EXPIRED)
            }
            Err(e) => {
                tracing::debug!(target: "tower_iis::ssl", error = %e, "client certificate refused: 403.16");
                untrusted
            }
        }
    }

    /// Without feature `tls` no CA can be trusted: every certificate is untrusted.
    #[cfg(not(feature = "tls"))]
    #[allow(clippy::unused_self)]
    fn check_certificate(&self, _chain: &[bytes::Bytes]) -> Option<IisStatus> {
        Some(IisStatus::FORBIDDEN_CLIENT_CERTIFICATE_UNTRUSTED)
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for SslAccess<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ResBody: Default,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        if self.layer.flags.is_none() {
            return ResponseFuture::call(self.inner.call(req));
        }
        match self.layer.check(&req) {
            None => ResponseFuture::call(self.inner.call(req)),
            Some(status) => {
                tracing::debug!(target: "tower_iis::ssl", status = %status, "request denied by sslFlags");
                // Module, notification and HRESULT come from the catalog entry.
                ResponseFuture::deny(IisError::new(status))
            }
        }
    }
}

define_error_gate!(
    ResponseFuture,
    "The response future of [`SslAccess`]: the inner service's response, or the denial."
);

#[cfg(test)]
mod tests {
    use std::convert::Infallible;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use tower::{service_fn, ServiceBuilder, ServiceExt};

    use super::*;
    use crate::{ConnectionInfo, TlsInfo};

    #[tokio::test]
    async fn plain_http_and_unknown_are_403_4_tls_passes() {
        let calls = Arc::new(AtomicUsize::new(0));
        let c = calls.clone();
        let svc = ServiceBuilder::new()
            .layer(RequireSslLayer::new())
            .service(service_fn(move |_req: Request<()>| {
                c.fetch_add(1, Ordering::SeqCst);
                async { Ok::<_, Infallible>(Response::new(String::from("ok"))) }
            }));
        let conn = ConnectionInfo::new(
            "127.0.0.1:1".parse().unwrap(),
            "127.0.0.1:443".parse().unwrap(),
        );
        let with = |c: Option<ConnectionInfo>| {
            let mut req = Request::new(());
            if let Some(c) = c {
                req.extensions_mut().insert(c);
            }
            req
        };
        for req in [with(Some(conn)), with(None)] {
            let res = svc.clone().oneshot(req).await.unwrap();
            assert_eq!(res.status(), 403);
            let err = res.extensions().get::<IisError>().unwrap();
            assert_eq!(err.status().to_string(), "403.4");
            assert_eq!(err.notification(), "BeginRequest");
            assert!(http_body::Body::is_end_stream(res.body()));
            assert_eq!(err.module(), "IIS Web Core");
        }
        assert_eq!(calls.load(Ordering::SeqCst), 0);
        let res = svc.oneshot(with(Some(conn.with_tls(true)))).await.unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    fn conn(tls: bool) -> ConnectionInfo {
        ConnectionInfo::new(
            "127.0.0.1:1".parse().unwrap(),
            "127.0.0.1:443".parse().unwrap(),
        )
        .with_tls(tls)
    }

    /// The status.substatus and win32 status `flags` give a request.
    async fn verdict(
        layer: &SslAccessLayer,
        conn: Option<ConnectionInfo>,
        tls: Option<TlsInfo>,
    ) -> (String, u32) {
        let svc = ServiceBuilder::new()
            .layer(layer.clone())
            .service(service_fn(|_req: Request<()>| async {
                Ok::<_, Infallible>(Response::new(String::from("ok")))
            }));
        let mut req = Request::new(());
        if let Some(c) = conn {
            req.extensions_mut().insert(c);
        }
        if let Some(t) = tls {
            req.extensions_mut().insert(t);
        }
        let res = svc.oneshot(req).await.unwrap();
        match res.extensions().get::<IisError>() {
            Some(e) => (e.status().to_string(), e.win32_status()),
            None => (format!("{}.0", res.status().as_u16()), 0),
        }
    }

    fn info(strength: u16, certs: usize) -> TlsInfo {
        TlsInfo::new(
            crate::TlsVersion::Tls12,
            0x0005,
            "TLS_RSA_WITH_RC4_128_SHA",
            strength,
        )
        .with_client_certificates((0..certs).map(|_| bytes::Bytes::from_static(b"not DER")))
    }

    #[tokio::test]
    async fn each_flag_gives_its_substatus() {
        let layer = |f: &str| SslAccessLayer::new(f.parse().unwrap());
        type Case = (
            &'static str,
            Option<ConnectionInfo>,
            Option<TlsInfo>,
            (&'static str, u32),
        );
        let cases: Vec<Case> = vec![
            ("None", None, None, ("200.0", 0)),
            ("None", Some(conn(false)), None, ("200.0", 0)),
            ("Ssl", None, None, ("403.4", 5)),
            ("Ssl", Some(conn(false)), None, ("403.4", 5)),
            ("Ssl", Some(conn(true)), None, ("200.0", 0)),
            ("Ssl128", Some(conn(false)), None, ("403.4", 5)),
            (
                "Ssl, Ssl128",
                Some(conn(true)),
                Some(info(56, 0)),
                ("403.5", 5),
            ),
            ("Ssl, Ssl128", Some(conn(true)), None, ("403.5", 5)),
            (
                "Ssl, Ssl128",
                Some(conn(true)),
                Some(info(128, 0)),
                ("200.0", 0),
            ),
            ("SslRequireCert", Some(conn(false)), None, ("403.7", 5)),
            ("Ssl, SslRequireCert", Some(conn(true)), None, ("403.7", 5)),
            (
                "Ssl, SslRequireCert",
                Some(conn(true)),
                Some(info(128, 0)),
                ("403.7", 5),
            ),
            // No trusted CA: every certificate is untrusted.
            (
                "Ssl, SslRequireCert",
                Some(conn(true)),
                Some(info(128, 1)),
                ("403.16", 2_148_204_809),
            ),
            (
                "Ssl, SslNegotiateCert",
                Some(conn(true)),
                Some(info(128, 0)),
                ("200.0", 0),
            ),
            (
                "Ssl, SslNegotiateCert",
                Some(conn(true)),
                Some(info(128, 1)),
                ("403.16", 2_148_204_809),
            ),
            // A certificate is not looked at unless a certificate flag is set.
            ("Ssl", Some(conn(true)), Some(info(128, 1)), ("200.0", 0)),
            ("Ssl, SslMapCert", Some(conn(true)), None, ("200.0", 0)),
        ];
        for (flags, c, t, want) in cases {
            let got = verdict(&layer(flags), c, t).await;
            assert_eq!((got.0.as_str(), got.1), want, "sslFlags={flags} conn={c:?}");
        }
    }

    #[tokio::test]
    async fn no_connection_info_warns_once_per_layer() {
        let layer = SslAccessLayer::new(SslFlags::SSL);
        assert!(!layer.warned.load(Ordering::Relaxed));
        for _ in 0..2 {
            assert_eq!(verdict(&layer, None, None).await, ("403.4".to_owned(), 5));
        }
        assert!(layer.warned.load(Ordering::Relaxed));
        // A layer of its own warns again.
        let other = SslAccessLayer::new(SslFlags::SSL);
        assert!(!other.warned.load(Ordering::Relaxed));
    }

    #[test]
    fn flags_parse_and_display_as_iis_writes_them() {
        for (text, bits) in [
            ("None", 0),
            ("", 0),
            ("Ssl", 8),
            ("ssl, sslnegotiatecert", 40),
            ("Ssl,SslRequireCert,Ssl128", 8 + 64 + 256),
            ("SslMapCert", 128),
        ] {
            assert_eq!(text.parse::<SslFlags>().unwrap().bits(), bits, "{text}");
        }
        assert_eq!(
            (SslFlags::SSL | SslFlags::SSL_REQUIRE_CERT | SslFlags::SSL_128).to_string(),
            "Ssl, SslRequireCert, Ssl128"
        );
        for bad in ["Ssl;Ssl128", "Ssl,", "Tls", "8"] {
            let err = bad.parse::<SslFlags>().unwrap_err();
            assert_eq!(err.setting(), "access@sslFlags", "{bad}");
        }
    }

    #[tokio::test]
    async fn all_layers_compose_on_an_axum_router() {
        use crate::{ConcurrentRequestLimitLayer, IpSecurityLayer, RequestFilteringLayer};
        use axum::{routing::get, Router};
        let app = Router::new()
            .route("/", get(|| async { "hi" }))
            .layer(RequestFilteringLayer::iis_defaults())
            .layer(
                IpSecurityLayer::builder()
                    .deny("192.0.2.0/24")
                    .build()
                    .unwrap(),
            )
            .layer(RequireSslLayer::new())
            .layer(ConcurrentRequestLimitLayer::iis_defaults());
        let conn = ConnectionInfo::new(
            "198.51.100.1:1".parse().unwrap(),
            "198.51.100.2:443".parse().unwrap(),
        )
        .with_tls(true);
        let mut req = Request::get("/").body(axum::body::Body::empty()).unwrap();
        req.extensions_mut().insert(conn);
        assert_eq!(app.clone().oneshot(req).await.unwrap().status(), 200);
        let mut req = Request::get("/web.config")
            .body(axum::body::Body::empty())
            .unwrap();
        req.extensions_mut().insert(conn);
        let res = app.oneshot(req).await.unwrap();
        let err = res.extensions().get::<IisError>().unwrap();
        assert_eq!(err.status().to_string(), "404.8");
    }
}
