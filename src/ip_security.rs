//! IP address restrictions (IIS `<ipSecurity>`) and dynamic IP restrictions (IIS
//! `<dynamicIpSecurity>`).
//!
//! [`IpSecurityLayer`] denies clients by address before the inner service runs:
//!
//! - **Static rules**: an ordered list of addresses and ranges (`10.0.0.0/8`,
//!   `2001:db8::/32`, or IIS's `192.168.0.0/255.255.0.0`), each allowed or denied; the
//!   first entry that matches decides, and `allowUnlisted` decides for the rest.
//! - **Dynamic rules**: at most `maxConcurrentRequests` requests in flight per client
//!   (`denyByConcurrentRequests`), and at most `maxRequests` per
//!   `requestIntervalInMilliseconds` window per client (`denyByRequestRate`). With
//!   `enableLoggingOnlyMode` a client over a dynamic limit is let through; the request
//!   gets a [`DynamicIpDenial`] extension and a `tracing` warning instead.
//!
//! | Rule (IIS name) | IIS default | Denied with (`denyAction` = Forbidden / Unauthorized / NotFound / AbortRequest) |
//! |---|---|---|
//! | `ipSecurity` entries, `allowUnlisted` | no entries, `allowUnlisted` true | 403.503 / 401.503 / 404.503 / 400.503 + `Connection: close` |
//! | `dynamicIpSecurity/denyByConcurrentRequests` (`maxConcurrentRequests`) | off (5 when on) | 403.501 / 401.501 / 404.501 / 400.501 + `Connection: close` |
//! | `dynamicIpSecurity/denyByRequestRate` (`maxRequests`, `requestIntervalInMilliseconds`) | off (20 per 200 ms when on) | 403.502 / 401.502 / 404.502 / 400.502 + `Connection: close` |
//! | `denyAction` | Forbidden | – |
//! | IIS 7 codes ([`IpSecurityCodes::Iis7`]) | – | 403.6 for every denial |
//! | `enableLoggingOnlyMode` | false | – (let through, marked) |
//! | `ipSecurity@enableProxyMode` ([`proxy_mode`](IpSecurityBuilder::proxy_mode)) | false | as the static rules |
//!
//! Denials carry an [`IisError`] with the module, notification and HRESULT of the
//! code's [`catalog`](crate::catalog) entry: `DynamicIpRestrictionModule` for the
//! dynamic rules (`.501`, `.502`), `IpRestrictionModule` for the static ones (`.503`,
//! 403.6), `BeginRequest` and HRESULT 0 (what IIS shows on these pages is not
//! documented). The `400.50x` answers of `AbortRequest`, which IIS never sends, take
//! the detail of the matching `403.50x` entry.
//!
//! # Choices where IIS cannot be copied
//!
//! - **`AbortRequest`**: IIS resets the connection without a response. A tower
//!   service cannot drop its connection, so the layer answers status **400** with the
//!   reason's substatus (`400.503`), an empty body, `Connection: close` (hyper then
//!   closes the connection after the response) and a [`RequestAborted`] extension
//!   that an accept loop may act on to reset instead.
//! - **No client address** (no [`ConnectionInfo`](crate::ConnectionInfo) and no axum
//!   `ConnectInfo`, or the [`UNKNOWN_CLIENT`](crate::connection::UNKNOWN_CLIENT) of
//!   a Unix-socket peer or of a client a trusted proxy could not name): the layer
//!   **fails closed** when it has anything to enforce (a deny entry,
//!   `allowUnlisted="false"`, or a dynamic rule outside logging-only mode): the
//!   request is denied as a listed client would be (`403.503` by default, the
//!   `denyAction`'s status, `403.6` with IIS 7 codes), and the layer logs a
//!   `tracing` warning the first time (once per layer and its clones, not per
//!   request). With nothing to enforce (IIS's defaults, or allow entries only
//!   with unlisted clients allowed) no one can be denied, so the request passes.
//! - **IPv4 and v4-mapped IPv6 are one address**, on either side: a rule
//!   `::ffff:127.0.0.1` (or `::ffff:10.0.0.0` with `subnetMask="255.0.0.0"`, or
//!   `::ffff:10.0.0.0/104`) matches the IPv4 client `127.0.0.1`, an IPv4 rule
//!   matches the client `::ffff:10.0.0.1`, and an IPv6 range matches an IPv4
//!   client whose mapped form it contains (`::/0` matches every client).
//! - **`enableProxyMode`**: IIS documents that proxy mode (IIS 8.0+) makes the
//!   module block a request by the addresses of its `X-Forwarded-For` header as well
//!   as by the address of the connection. Here, with proxy mode on, the static
//!   rules judge the client address, the address of the trusted proxy the request
//!   came through ([`ForwardedBy`](crate::connection::ForwardedBy), when a
//!   [`TrustedProxyLayer`](crate::connection::TrustedProxyLayer) replaced the
//!   client), and every address of `X-Forwarded-For` (the right-most
//!   [`MAX_PROXY_MODE_ADDRESSES`]; hops that are not addresses are skipped): the
//!   request is denied when **any** of them is denied. Proxy mode does not use the
//!   header to pick the client (it believes any client's header, as IIS does);
//!   name your proxies with [`TrustedProxies`](crate::connection::TrustedProxies)
//!   for that. The dynamic rules count by the client address only.
//! - **Domain names** (`enableReverseDns`, 40x.504) are not supported: no DNS
//!   lookups are made.
//! - **Memory**: per-client state is kept for at most
//!   [`max_tracked_clients`](IpSecurityBuilder::max_tracked_clients) clients (10,000 by
//!   default). When the table is full, clients with no request in flight and no open
//!   rate window are dropped; if it is still full, a new client is let through
//!   untracked (with a `tracing` warning) rather than denied.
//! - The rate window is fixed: it opens at a client's first request and its count
//!   starts again once `requestIntervalInMilliseconds` have passed. Denied requests
//!   count too.
//!
//! # Example
//!
//! Needs in your crate `tower` (feature `util`), `tokio` (features `macros`, `rt`).
//!
//! ```
//! use std::convert::Infallible;
//! use std::time::Duration;
//! use http::{Request, Response};
//! use tower::{service_fn, ServiceBuilder, ServiceExt};
//! use tower_iis::ip_security::{DenyAction, IpSecurityLayer};
//! use tower_iis::{ConnectionInfo, IisError};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let layer = IpSecurityLayer::builder()
//!     .allow_unlisted(false)
//!     .allow("10.0.0.0/8")
//!     .allow("::1")
//!     .deny_action(DenyAction::NotFound)
//!     .deny_by_request_rate(100, Duration::from_secs(1))
//!     .build()?;
//! let svc = ServiceBuilder::new()
//!     .layer(layer)
//!     .service(service_fn(|_req: Request<()>| async {
//!         Ok::<_, Infallible>(Response::new(String::from("hello")))
//!     }));
//!
//! let from = |ip: &str| {
//!     let mut req = Request::new(());
//!     let remote = format!("{ip}:50000").parse().unwrap();
//!     req.extensions_mut().insert(ConnectionInfo::new(remote, "10.0.0.1:80".parse().unwrap()));
//!     req
//! };
//! let res = svc.clone().oneshot(from("10.1.2.3")).await?;
//! assert_eq!(res.status(), 200);
//! let res = svc.oneshot(from("192.0.2.7")).await?;
//! assert_eq!(res.extensions().get::<IisError>().unwrap().status().to_string(), "404.503");
//! # Ok(())
//! # }
//! ```

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use http::{Request, Response};
use tower_layer::Layer;
use tower_service::Service;

use crate::gate::{Denial, Guard};
use crate::ip_net::{unmap, Net};
use crate::ConfigError;
use crate::{connection, IisError, IisStatus};

/// IIS's default `maxConcurrentRequests` when `denyByConcurrentRequests` is on.
pub const DEFAULT_MAX_CONCURRENT_REQUESTS: u32 = 5;
/// IIS's default `maxRequests` when `denyByRequestRate` is on.
pub const DEFAULT_MAX_REQUESTS: u32 = 20;
/// IIS's default `requestIntervalInMilliseconds`.
pub const DEFAULT_REQUEST_INTERVAL: Duration = Duration::from_millis(200);
/// The default bound on clients tracked by the dynamic rules.
pub const DEFAULT_MAX_TRACKED_CLIENTS: usize = 10_000;

/// IIS's `denyAction`: how a denied client is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum DenyAction {
    /// IIS resets the connection; here a 400 with `Connection: close` (module docs).
    AbortRequest,
    /// 401.50x.
    Unauthorized,
    /// 403.50x, IIS's default.
    #[default]
    Forbidden,
    /// 404.50x.
    NotFound,
}

/// Which IIS generation's codes denials use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum IpSecurityCodes {
    /// IIS 8.0+: the `denyAction` status with substatus 501, 502 or 503. The default.
    #[default]
    Iis8,
    /// IIS 7.x: 403.6 ("IP address rejected") for every denial, `denyAction` ignored.
    Iis7,
}

pub use crate::gate::RequestAborted;

/// Put in the request's extensions when `enableLoggingOnlyMode` let a request
/// through that a dynamic rule would have denied; holds the code it would have had.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DynamicIpDenial(pub IisStatus);

#[derive(Debug)]
struct Config {
    entries: Vec<(Net, bool)>,
    allow_unlisted: bool,
    deny_action: DenyAction,
    codes: IpSecurityCodes,
    max_concurrent: Option<u32>,
    rate: Option<(u32, Duration)>,
    logging_only: bool,
    max_tracked: usize,
    proxy_mode: bool,
    /// Set once the layer has warned about a request without a client address.
    warned_no_address: AtomicBool,
}

/// Builds an [`IpSecurityLayer`]; starts from IIS's defaults (no entries, unlisted
/// clients allowed, `Forbidden`, dynamic rules off).
#[derive(Debug, Clone)]
#[must_use]
pub struct IpSecurityBuilder {
    entries: Vec<(String, bool)>,
    allow_unlisted: bool,
    deny_action: DenyAction,
    codes: IpSecurityCodes,
    max_concurrent: Option<u32>,
    rate: Option<(u32, Duration)>,
    logging_only: bool,
    max_tracked: usize,
    proxy_mode: bool,
}

impl Default for IpSecurityBuilder {
    fn default() -> Self {
        Self {
            entries: Vec::new(),
            allow_unlisted: true,
            deny_action: DenyAction::Forbidden,
            codes: IpSecurityCodes::Iis8,
            max_concurrent: None,
            rate: None,
            logging_only: false,
            max_tracked: DEFAULT_MAX_TRACKED_CLIENTS,
            proxy_mode: false,
        }
    }
}

impl IpSecurityBuilder {
    /// `ipSecurity@allowUnlisted`: whether clients no entry matches are allowed. Default true.
    pub fn allow_unlisted(mut self, allow: bool) -> Self {
        self.allow_unlisted = allow;
        self
    }

    /// `<add ipAddress=".." subnetMask=".." allowed="true"/>`: an address or range
    /// (`10.0.0.0/8`, `10.0.0.0/255.0.0.0`, `2001:db8::/32`, `::1`). Entries are
    /// checked in the order added; the first match decides.
    pub fn allow(mut self, range: impl Into<String>) -> Self {
        self.entries.push((range.into(), true));
        self
    }

    /// `<add ipAddress=".." subnetMask=".." allowed="false"/>`: see [`allow`](Self::allow).
    pub fn deny(mut self, range: impl Into<String>) -> Self {
        self.entries.push((range.into(), false));
        self
    }

    /// `denyAction`. Default [`DenyAction::Forbidden`].
    pub fn deny_action(mut self, action: DenyAction) -> Self {
        self.deny_action = action;
        self
    }

    /// Which codes denials use; [`IpSecurityCodes::Iis8`] by default.
    pub fn codes(mut self, codes: IpSecurityCodes) -> Self {
        self.codes = codes;
        self
    }

    /// `denyByConcurrentRequests` with `maxConcurrentRequests`: more requests in
    /// flight from one client are denied with `.501`.
    pub fn deny_by_concurrent_requests(mut self, max_concurrent_requests: u32) -> Self {
        self.max_concurrent = Some(max_concurrent_requests);
        self
    }

    /// `denyByRequestRate` with `maxRequests` per `requestIntervalInMilliseconds`:
    /// more requests from one client in the window are denied with `.502`.
    pub fn deny_by_request_rate(mut self, max_requests: u32, interval: Duration) -> Self {
        self.rate = Some((max_requests, interval));
        self
    }

    /// `enableLoggingOnlyMode`: the dynamic rules let clients over their limits
    /// through, marking the request with [`DynamicIpDenial`] and a `tracing` warning.
    pub fn logging_only(mut self, logging_only: bool) -> Self {
        self.logging_only = logging_only;
        self
    }

    /// `ipSecurity@enableProxyMode`: the static rules also judge every address of
    /// `X-Forwarded-For` and the trusted proxy a request came through
    /// ([`ForwardedBy`](crate::connection::ForwardedBy)); the request is denied
    /// when any of them is. Off by default. See the module docs.
    pub fn proxy_mode(mut self, enable: bool) -> Self {
        self.proxy_mode = enable;
        self
    }

    /// The most clients the dynamic rules keep state for (see the module docs).
    pub fn max_tracked_clients(mut self, max: usize) -> Self {
        self.max_tracked = max;
        self
    }

    /// Validates and builds the layer.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming an entry that is not an address or range, a
    /// `maxConcurrentRequests` or `maxRequests` of 0, or an empty interval.
    pub fn build(self) -> Result<IpSecurityLayer, ConfigError> {
        let mut entries = Vec::with_capacity(self.entries.len());
        for (s, allowed) in &self.entries {
            let net = Net::parse(s).ok_or_else(|| {
                ConfigError::new(
                    "ipSecurity/add@ipAddress",
                    s,
                    "expected an IP address, optionally with /prefix or /subnet mask",
                )
            })?;
            entries.push((net, *allowed));
        }
        if self.max_concurrent == Some(0) {
            return Err(ConfigError::new(
                "denyByConcurrentRequests@maxConcurrentRequests",
                "0",
                "must be at least 1",
            ));
        }
        if let Some((max, interval)) = self.rate {
            if max == 0 {
                return Err(ConfigError::new(
                    "denyByRequestRate@maxRequests",
                    "0",
                    "must be at least 1",
                ));
            }
            if interval.is_zero() {
                return Err(ConfigError::new(
                    "denyByRequestRate@requestIntervalInMilliseconds",
                    "0",
                    "must be at least 1 ms",
                ));
            }
        }
        Ok(self.into_layer(entries))
    }

    /// The layer, once the entries are parsed and the limits checked.
    fn into_layer(self, entries: Vec<(Net, bool)>) -> IpSecurityLayer {
        IpSecurityLayer {
            config: Arc::new(Config {
                entries,
                allow_unlisted: self.allow_unlisted,
                deny_action: self.deny_action,
                codes: self.codes,
                max_concurrent: self.max_concurrent,
                rate: self.rate,
                logging_only: self.logging_only,
                max_tracked: self.max_tracked,
                proxy_mode: self.proxy_mode,
                warned_no_address: AtomicBool::new(false),
            }),
            clients: Arc::new(Mutex::new(HashMap::new())),
        }
    }
}

#[derive(Debug)]
struct Client {
    in_flight: Arc<AtomicUsize>,
    window_start: Instant,
    requests: u32,
}

type Clients = Arc<Mutex<HashMap<IpAddr, Client>>>;

/// Applies IP and dynamic IP restrictions. See the [module docs](self).
///
/// Clones share the per-client state.
#[derive(Debug, Clone)]
#[must_use]
pub struct IpSecurityLayer {
    config: Arc<Config>,
    clients: Clients,
}

impl IpSecurityLayer {
    /// The layer with IIS's defaults: no entries, unlisted clients allowed, dynamic
    /// rules off, so every client is let through. The same as
    /// [`iis_defaults`](Self::iis_defaults) and [`Default`].
    pub fn new() -> Self {
        Self::iis_defaults()
    }

    /// The layer with IIS's defaults (see [`new`](Self::new)).
    pub fn iis_defaults() -> Self {
        IpSecurityBuilder::default().into_layer(Vec::new())
    }

    /// A builder with IIS's defaults.
    pub fn builder() -> IpSecurityBuilder {
        IpSecurityBuilder::default()
    }

    /// Whether no client can be denied or marked (IIS's defaults, or entries
    /// that all allow with `allowUnlisted`, and no dynamic rule): the layer
    /// lets every request through, with or without an address.
    #[cfg(feature = "site")]
    pub(crate) fn lets_everyone_through(&self) -> bool {
        let c = &self.config;
        c.allow_unlisted && c.entries.iter().all(|(_, allowed)| *allowed) && !c.dynamic()
    }

    /// How many clients the dynamic rules hold state for now.
    #[must_use]
    pub fn tracked_clients(&self) -> usize {
        self.clients
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

impl Default for IpSecurityLayer {
    fn default() -> Self {
        Self::iis_defaults()
    }
}

impl<S> Layer<S> for IpSecurityLayer {
    type Service = IpSecurity<S>;

    fn layer(&self, inner: S) -> Self::Service {
        IpSecurity {
            inner,
            config: self.config.clone(),
            clients: self.clients.clone(),
        }
    }
}

/// The service built by [`IpSecurityLayer`].
#[derive(Debug, Clone)]
pub struct IpSecurity<S> {
    inner: S,
    config: Arc<Config>,
    clients: Clients,
}

impl<S> IpSecurity<S> {
    define_inner_service_accessors!();
}

/// The substatus of a `denyByConcurrentRequests` denial.
const SUB_CONCURRENT: u16 = IisStatus::FORBIDDEN_DYNAMIC_IP_CONCURRENT_LIMIT.substatus();
/// The substatus of a `denyByRequestRate` denial.
const SUB_RATE: u16 = IisStatus::FORBIDDEN_DYNAMIC_IP_RATE_LIMIT.substatus();
/// The substatus of a denial by the `ipSecurity` entries or `allowUnlisted`.
const SUB_IP_DENIED: u16 = IisStatus::FORBIDDEN_IP_DENIED.substatus();

enum Verdict {
    Pass(Option<Guard>),
    Deny(u16),
    /// Logging-only mode: would deny with this substatus.
    Mark(u16, Option<Guard>),
}

impl Config {
    fn status(&self, sub: u16) -> IisStatus {
        match (self.codes, self.deny_action) {
            (IpSecurityCodes::Iis7, _) => IisStatus::FORBIDDEN_IP_ADDRESS_REJECTED,
            (_, DenyAction::AbortRequest) => IisStatus::new(400, sub),
            (_, DenyAction::Unauthorized) => IisStatus::new(401, sub),
            (_, DenyAction::Forbidden) => IisStatus::new(403, sub),
            (_, DenyAction::NotFound) => IisStatus::new(404, sub),
        }
    }

    /// The error for a denial with substatus `sub`: the catalog's entry for its
    /// code, or for `403.sub` when the code has none (the `400.50x` of
    /// `AbortRequest`).
    fn error(&self, sub: u16) -> IisError {
        let status = self.status(sub);
        let err = IisError::new(status);
        if status.info().is_some() {
            return err;
        }
        match IisStatus::new(403, sub).info() {
            Some(info) => err
                .with_module(info.module().unwrap_or(crate::error::DEFAULT_MODULE))
                .with_notification(info.notification().unwrap_or("BeginRequest"))
                .with_hresult(info.hresult().unwrap_or(0)),
            None => err,
        }
    }

    fn dynamic(&self) -> bool {
        self.max_concurrent.is_some() || self.rate.is_some()
    }

    /// Whether some client could be denied: then a request without an address
    /// is denied too.
    fn needs_address(&self) -> bool {
        !self.allow_unlisted
            || self.entries.iter().any(|(_, allowed)| !allowed)
            || (self.dynamic() && !self.logging_only)
    }

    /// What the static rules say of `ip`: the first entry that matches, else
    /// `allowUnlisted`.
    fn allows(&self, ip: IpAddr) -> bool {
        self.entries
            .iter()
            .find(|(net, _)| net.contains(ip))
            .map_or(self.allow_unlisted, |(_, allowed)| *allowed)
    }
}

/// The most `X-Forwarded-For` addresses proxy mode judges (from the right).
pub const MAX_PROXY_MODE_ADDRESSES: usize = 64;

/// The addresses proxy mode judges besides the client's: the trusted proxy the
/// request came through, and those of `X-Forwarded-For`, right to left.
fn proxy_addresses<B>(req: &Request<B>) -> Vec<IpAddr> {
    let mut out = Vec::new();
    if let Some(by) = req.extensions().get::<crate::connection::ForwardedBy>() {
        if !crate::connection::is_unknown(by.0) {
            out.push(by.0.ip());
        }
    }
    'lines: for value in req.headers().get_all("x-forwarded-for").iter().rev() {
        for hop in value.as_bytes().rsplit(|&b| b == b',') {
            if out.len() >= MAX_PROXY_MODE_ADDRESSES {
                break 'lines;
            }
            if let Some(addr) = crate::connection::parse_hop(hop) {
                out.push(addr.ip());
            }
        }
    }
    out
}

fn judge(cfg: &Config, clients: &Clients, ip: IpAddr, forwarded: &[IpAddr]) -> Verdict {
    if !cfg.allows(ip) || forwarded.iter().any(|a| !cfg.allows(*a)) {
        return Verdict::Deny(SUB_IP_DENIED);
    }
    if !cfg.dynamic() {
        return Verdict::Pass(None);
    }
    let ip = unmap(ip);
    let now = Instant::now();
    let mut map = clients.lock().unwrap_or_else(PoisonError::into_inner);
    if !map.contains_key(&ip) && map.len() >= cfg.max_tracked {
        let interval = cfg.rate.map_or(Duration::ZERO, |(_, i)| i);
        map.retain(|_, c| {
            c.in_flight.load(Ordering::Acquire) > 0 || now.duration_since(c.window_start) < interval
        });
        if map.len() >= cfg.max_tracked {
            tracing::warn!(
                target: "tower_iis::ip_security",
                client = %ip,
                tracked = map.len(),
                "dynamic IP restrictions: client table full, client not tracked"
            );
            return Verdict::Pass(None);
        }
    }
    let client = map.entry(ip).or_insert_with(|| Client {
        in_flight: Arc::new(AtomicUsize::new(0)),
        window_start: now,
        requests: 0,
    });
    let mut over = None;
    if let Some((max, interval)) = cfg.rate {
        if now.duration_since(client.window_start) >= interval {
            client.window_start = now;
            client.requests = 0;
        }
        client.requests = client.requests.saturating_add(1);
        if client.requests > max {
            over = Some(SUB_RATE);
        }
    }
    let guard = match cfg.max_concurrent {
        Some(max) => match Guard::try_acquire(&client.in_flight, max as usize) {
            Some(g) => Some(g),
            None => {
                over = over.or(Some(SUB_CONCURRENT));
                None
            }
        },
        None => None,
    };
    match over {
        None => Verdict::Pass(guard),
        Some(sub) if cfg.logging_only => Verdict::Mark(sub, guard),
        Some(sub) => Verdict::Deny(sub),
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for IpSecurity<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ResBody: Default,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<ReqBody>) -> Self::Future {
        let ip = connection::client_addr(&req).map(|a| a.ip());
        let forwarded = if self.config.proxy_mode {
            proxy_addresses(&req)
        } else {
            Vec::new()
        };
        let verdict = match ip {
            Some(ip) => judge(&self.config, &self.clients, ip, &forwarded),
            None if !self.config.needs_address() => Verdict::Pass(None),
            None => {
                if !self.config.warned_no_address.swap(true, Ordering::Relaxed) {
                    tracing::warn!(
                        target: "tower_iis::ip_security",
                        "IP restrictions: a request carries no client address (no ConnectionInfo, \
                         no axum ConnectInfo, or an unknown client); such requests are denied. \
                         Serve with tower_iis::server, or axum's \
                         into_make_service_with_connect_info::<ConnectionInfo>() \
                         (logged once per layer)"
                    );
                }
                Verdict::Deny(SUB_IP_DENIED)
            }
        };
        match verdict {
            Verdict::Pass(guard) => ResponseFuture::call(self.inner.call(req), guard),
            Verdict::Mark(sub, guard) => {
                let status = self.config.status(sub);
                tracing::warn!(
                    target: "tower_iis::ip_security",
                    client = ?ip,
                    status = %status,
                    "dynamic IP restrictions (logging only): request would have been denied"
                );
                req.extensions_mut().insert(DynamicIpDenial(status));
                ResponseFuture::call(self.inner.call(req), guard)
            }
            Verdict::Deny(sub) => {
                let status = self.config.status(sub);
                tracing::debug!(
                    name: "IP_RESTRICTION_DENIED",
                    target: "tower_iis::ip_security",
                    area = "Security",
                    client = ip.map(tracing::field::display),
                    status = %status,
                    "client denied by IP restrictions"
                );
                let abort = self.config.deny_action == DenyAction::AbortRequest
                    && self.config.codes == IpSecurityCodes::Iis8;
                let err = self.config.error(sub);
                ResponseFuture::deny(if abort {
                    Denial::abort(err)
                } else {
                    Denial::new(err)
                })
            }
        }
    }
}

define_guarded_response!("IpSecurity");

#[cfg(test)]
mod tests {
    use std::convert::Infallible;
    use std::net::SocketAddr;

    use super::*;
    use crate::ConnectionInfo;
    use tower::{service_fn, ServiceBuilder, ServiceExt};

    fn from(ip: &str) -> Request<()> {
        let mut req = Request::new(());
        let remote: SocketAddr = SocketAddr::new(ip.parse().unwrap(), 50000);
        req.extensions_mut()
            .insert(ConnectionInfo::new(remote, "127.0.0.1:80".parse().unwrap()));
        req
    }

    struct Harness {
        calls: Arc<AtomicUsize>,
        marked: Arc<AtomicUsize>,
    }

    fn service(
        layer: IpSecurityLayer,
    ) -> (
        Harness,
        impl Service<
                Request<()>,
                Response = Response<ResponseBody<String>>,
                Error = Infallible,
                Future = impl Send,
            > + Clone,
    ) {
        let calls = Arc::new(AtomicUsize::new(0));
        let marked = Arc::new(AtomicUsize::new(0));
        let (c, m) = (calls.clone(), marked.clone());
        let svc = ServiceBuilder::new()
            .layer(layer)
            .service(service_fn(move |req: Request<()>| {
                c.fetch_add(1, Ordering::SeqCst);
                if req.extensions().get::<DynamicIpDenial>().is_some() {
                    m.fetch_add(1, Ordering::SeqCst);
                }
                async { Ok::<_, Infallible>(Response::new(String::from("ok"))) }
            }));
        (Harness { calls, marked }, svc)
    }

    #[track_caller]
    fn assert_denied(res: &Response<ResponseBody<String>>, code: &str) {
        let err = res.extensions().get::<IisError>().expect("denied");
        assert_eq!(err.status().to_string(), code);
        assert_eq!(res.status().as_u16(), err.status().code());
        // The catalog decides the module: the dynamic rules' own for .501 and .502.
        let module = match err.substatus() {
            501 | 502 => "DynamicIpRestrictionModule",
            _ => "IpRestrictionModule",
        };
        assert_eq!(err.module(), module);
        let entry = IisStatus::new(403, err.substatus())
            .info()
            .expect("catalog entry");
        assert_eq!(Some(err.module()), entry.module());
        assert_eq!(err.notification(), "BeginRequest");
        assert_eq!(err.hresult(), 0);
    }

    #[tokio::test]
    async fn static_rules_and_deny_actions() {
        for (action, code) in [
            (DenyAction::Forbidden, "403.503"),
            (DenyAction::Unauthorized, "401.503"),
            (DenyAction::NotFound, "404.503"),
            (DenyAction::AbortRequest, "400.503"),
        ] {
            let layer = IpSecurityLayer::builder()
                .deny("10.0.0.5")
                .allow("10.0.0.0/8")
                .allow_unlisted(false)
                .deny_action(action)
                .build()
                .unwrap();
            let (h, svc) = service(layer);
            let res = svc.clone().oneshot(from("10.0.0.5")).await.unwrap();
            assert_denied(&res, code);
            let abort = action == DenyAction::AbortRequest;
            assert_eq!(res.extensions().get::<RequestAborted>().is_some(), abort);
            assert_eq!(res.headers().get("connection").is_some(), abort);
            let res = svc.clone().oneshot(from("192.0.2.1")).await.unwrap();
            assert_denied(&res, code);
            assert_eq!(h.calls.load(Ordering::SeqCst), 0);
            let res = svc.clone().oneshot(from("10.0.0.6")).await.unwrap();
            assert_eq!(res.status(), 200);
            let res = svc.oneshot(from("::ffff:10.0.0.7")).await.unwrap();
            assert_eq!(res.status(), 200);
            assert_eq!(h.calls.load(Ordering::SeqCst), 2);
        }
    }

    #[tokio::test]
    async fn defaults_allow_everyone_and_no_address_is_unlisted() {
        for layer in [IpSecurityLayer::new(), IpSecurityLayer::default()] {
            let (h, svc) = service(layer);
            assert_eq!(
                svc.oneshot(from("203.0.113.1")).await.unwrap().status(),
                200
            );
            assert_eq!(h.calls.load(Ordering::SeqCst), 1);
        }
        let (_, svc) = service(IpSecurityLayer::builder().build().unwrap());
        assert_eq!(
            svc.clone()
                .oneshot(Request::new(()))
                .await
                .unwrap()
                .status(),
            200
        );
        assert_eq!(
            svc.oneshot(from("203.0.113.1")).await.unwrap().status(),
            200
        );
        let layer = IpSecurityLayer::builder()
            .allow_unlisted(false)
            .build()
            .unwrap();
        let (h, svc) = service(layer);
        assert_denied(&svc.oneshot(Request::new(())).await.unwrap(), "403.503");
        assert_eq!(h.calls.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn iis7_codes_are_403_6() {
        let layer = IpSecurityLayer::builder()
            .deny("192.0.2.0/24")
            .deny_action(DenyAction::NotFound)
            .codes(IpSecurityCodes::Iis7)
            .build()
            .unwrap();
        let (_, svc) = service(layer);
        assert_denied(&svc.oneshot(from("192.0.2.9")).await.unwrap(), "403.6");
    }

    #[tokio::test]
    async fn concurrent_requests_per_client() {
        let layer = IpSecurityLayer::builder()
            .deny_by_concurrent_requests(2)
            .build()
            .unwrap();
        let (h, svc) = service(layer);
        let a = svc.clone().oneshot(from("192.0.2.1")).await.unwrap();
        let b = svc.clone().oneshot(from("192.0.2.1")).await.unwrap();
        let c = svc.clone().oneshot(from("192.0.2.1")).await.unwrap();
        assert_denied(&c, "403.501");
        assert_eq!(h.calls.load(Ordering::SeqCst), 2);
        // Another client has its own count.
        assert_eq!(
            svc.clone()
                .oneshot(from("192.0.2.2"))
                .await
                .unwrap()
                .status(),
            200
        );
        drop((a, b));
        assert_eq!(svc.oneshot(from("192.0.2.1")).await.unwrap().status(), 200);
    }

    #[tokio::test]
    async fn request_rate_per_client() {
        let layer = IpSecurityLayer::builder()
            .deny_by_request_rate(3, Duration::from_millis(100))
            .deny_action(DenyAction::NotFound)
            .build()
            .unwrap();
        let (h, svc) = service(layer);
        for _ in 0..3 {
            assert_eq!(
                svc.clone()
                    .oneshot(from("192.0.2.1"))
                    .await
                    .unwrap()
                    .status(),
                200
            );
        }
        assert_denied(
            &svc.clone().oneshot(from("192.0.2.1")).await.unwrap(),
            "404.502",
        );
        assert_eq!(h.calls.load(Ordering::SeqCst), 3);
        assert_eq!(
            svc.clone()
                .oneshot(from("192.0.2.2"))
                .await
                .unwrap()
                .status(),
            200
        );
        tokio::time::sleep(Duration::from_millis(120)).await;
        assert_eq!(svc.oneshot(from("192.0.2.1")).await.unwrap().status(), 200);
    }

    #[tokio::test]
    async fn logging_only_mode_lets_through_and_marks() {
        let layer = IpSecurityLayer::builder()
            .deny_by_request_rate(1, Duration::from_secs(60))
            .logging_only(true)
            .build()
            .unwrap();
        let (h, svc) = service(layer);
        for _ in 0..3 {
            assert_eq!(
                svc.clone()
                    .oneshot(from("192.0.2.1"))
                    .await
                    .unwrap()
                    .status(),
                200
            );
        }
        assert_eq!(h.calls.load(Ordering::SeqCst), 3);
        assert_eq!(h.marked.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn client_table_is_bounded() {
        let layer = IpSecurityLayer::builder()
            .deny_by_request_rate(5, Duration::from_millis(30))
            .max_tracked_clients(4)
            .build()
            .unwrap();
        let (_, svc) = service(layer.clone());
        for i in 0..10 {
            let res = svc
                .clone()
                .oneshot(from(&format!("192.0.2.{i}")))
                .await
                .unwrap();
            assert_eq!(res.status(), 200);
            assert!(layer.tracked_clients() <= 4);
        }
        tokio::time::sleep(Duration::from_millis(40)).await;
        // Expired windows are pruned to make room.
        svc.oneshot(from("198.51.100.1")).await.unwrap();
        assert_eq!(layer.tracked_clients(), 1);
    }

    /// Counts the warnings of `tower_iis::ip_security`.
    #[derive(Clone, Default)]
    struct Warnings(Arc<AtomicUsize>);

    impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Warnings {
        fn on_event(
            &self,
            event: &tracing::Event<'_>,
            _: tracing_subscriber::layer::Context<'_, S>,
        ) {
            let meta = event.metadata();
            if *meta.level() == tracing::Level::WARN && meta.target() == "tower_iis::ip_security" {
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn no_address_fails_closed_and_warns_once() {
        use tracing_subscriber::layer::SubscriberExt as _;
        let warnings = Warnings::default();
        let _sub =
            tracing::subscriber::set_default(tracing_subscriber::registry().with(warnings.clone()));
        let unknown = || {
            let mut req = Request::new(());
            req.extensions_mut().insert(ConnectionInfo::new(
                crate::connection::UNKNOWN_CLIENT,
                crate::connection::UNKNOWN_CLIENT,
            ));
            req
        };
        // A deny rule (that would never match this client if it had an address).
        let layer = IpSecurityLayer::builder()
            .deny("0.0.0.0/0")
            .build()
            .unwrap();
        let (h, svc) = service(layer.clone());
        for _ in 0..3 {
            let res = svc.clone().oneshot(Request::new(())).await.unwrap();
            assert_denied(&res, "403.503");
            assert_eq!(res.status(), 403);
        }
        assert_denied(&svc.clone().oneshot(unknown()).await.unwrap(), "403.503");
        // A clone of the layer shares the flag.
        let (_, again) = service(layer);
        assert_denied(&again.oneshot(Request::new(())).await.unwrap(), "403.503");
        assert_eq!(h.calls.load(Ordering::SeqCst), 0);
        assert_eq!(
            warnings.0.load(Ordering::SeqCst),
            1,
            "one warning per layer"
        );
        // The configured denyAction and codes apply, as for a listed client.
        for (builder, code) in [
            (IpSecurityLayer::builder().allow_unlisted(false), "403.503"),
            (
                IpSecurityLayer::builder()
                    .deny("192.0.2.0/24")
                    .deny_action(DenyAction::NotFound),
                "404.503",
            ),
            (
                IpSecurityLayer::builder()
                    .deny("192.0.2.0/24")
                    .codes(IpSecurityCodes::Iis7),
                "403.6",
            ),
            (
                IpSecurityLayer::builder().deny_by_request_rate(100, Duration::from_secs(1)),
                "403.503",
            ),
        ] {
            let (h, svc) = service(builder.build().unwrap());
            assert_denied(&svc.oneshot(Request::new(())).await.unwrap(), code);
            assert_eq!(h.calls.load(Ordering::SeqCst), 0);
        }
        assert_eq!(warnings.0.load(Ordering::SeqCst), 5);
        // Nothing to enforce: passes, silently.
        for builder in [
            IpSecurityLayer::builder(),
            IpSecurityLayer::builder().allow("10.0.0.0/8"),
            IpSecurityLayer::builder()
                .deny_by_request_rate(1, Duration::from_secs(1))
                .logging_only(true),
        ] {
            let (h, svc) = service(builder.build().unwrap());
            assert_eq!(svc.oneshot(unknown()).await.unwrap().status(), 200);
            assert_eq!(h.calls.load(Ordering::SeqCst), 1);
        }
        assert_eq!(warnings.0.load(Ordering::SeqCst), 5);
    }

    #[tokio::test]
    async fn v4_mapped_rules_through_the_layer() {
        let layer = IpSecurityLayer::builder()
            .deny("::ffff:127.0.0.1")
            .deny("::ffff:10.0.0.0/255.0.0.0")
            .deny("192.0.2.0/24")
            .build()
            .unwrap();
        let (h, svc) = service(layer);
        for client in [
            "127.0.0.1",
            "::ffff:127.0.0.1",
            "10.1.2.3",
            "::ffff:192.0.2.5",
        ] {
            assert_denied(&svc.clone().oneshot(from(client)).await.unwrap(), "403.503");
        }
        for client in ["127.0.0.2", "::1", "11.0.0.1", "::ffff:192.0.3.1"] {
            let res = svc.clone().oneshot(from(client)).await.unwrap();
            assert_eq!(res.status(), 200, "{client}");
        }
        assert_eq!(h.calls.load(Ordering::SeqCst), 4);
    }

    #[tokio::test]
    async fn proxy_mode_judges_every_forwarded_address() {
        let with = |client: &str, xff: &[&str], by: Option<&str>| {
            let mut req = from(client);
            for v in xff {
                req.headers_mut()
                    .append("x-forwarded-for", v.parse().unwrap());
            }
            if let Some(by) = by {
                req.extensions_mut()
                    .insert(crate::connection::ForwardedBy(by.parse().unwrap()));
            }
            req
        };
        let builder = IpSecurityLayer::builder()
            .allow("198.51.100.0/24")
            .deny("203.0.113.0/24")
            .deny("10.9.0.0/16");
        let (h, svc) = service(builder.clone().proxy_mode(true).build().unwrap());
        // Any denied address in the header, on any line, denies.
        for xff in [
            &["203.0.113.9"][..],
            &["198.51.100.1, 203.0.113.9"],
            &["203.0.113.9, 198.51.100.1"],
            &["198.51.100.1", "203.0.113.9:443"],
            &["garbage, 203.0.113.9, unknown"],
        ] {
            let res = svc
                .clone()
                .oneshot(with("192.0.2.1", xff, None))
                .await
                .unwrap();
            assert_denied(&res, "403.503");
        }
        // The trusted proxy the client came through is judged too.
        let res = svc
            .clone()
            .oneshot(with("198.51.100.7", &[], Some("10.9.1.1:5000")))
            .await
            .unwrap();
        assert_denied(&res, "403.503");
        assert_eq!(h.calls.load(Ordering::SeqCst), 0);
        for xff in [&[][..], &["198.51.100.1, 192.0.2.77"], &["nonsense"]] {
            let res = svc
                .clone()
                .oneshot(with("192.0.2.1", xff, None))
                .await
                .unwrap();
            assert_eq!(res.status(), 200, "{xff:?}");
        }
        // Without proxy mode the header is not looked at.
        let (_, plain) = service(builder.build().unwrap());
        let res = plain
            .oneshot(with("192.0.2.1", &["203.0.113.9"], Some("10.9.1.1:1")))
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
    }

    #[test]
    fn config_errors_name_the_value() {
        let e = IpSecurityLayer::builder()
            .deny("10.0.0.0/33")
            .build()
            .unwrap_err();
        assert_eq!(e.value(), "10.0.0.0/33");
        assert_eq!(e.setting(), "ipSecurity/add@ipAddress");
        let e = IpSecurityLayer::builder()
            .deny_by_concurrent_requests(0)
            .build()
            .unwrap_err();
        assert_eq!(
            e.setting(),
            "denyByConcurrentRequests@maxConcurrentRequests"
        );
    }

    #[test]
    fn iis_dynamic_defaults() {
        assert_eq!(DEFAULT_MAX_CONCURRENT_REQUESTS, 5);
        assert_eq!(DEFAULT_MAX_REQUESTS, 20);
        assert_eq!(DEFAULT_REQUEST_INTERVAL, Duration::from_millis(200));
        assert_eq!(DenyAction::default(), DenyAction::Forbidden);
    }
}
