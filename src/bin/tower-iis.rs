//! `tower-iis serve [ROOT] [--listen ADDR] [--https ADDR [--cert PEM --key PEM]] [--logs DIR]`:
//! any folder as an IIS site.
//!
//! Serves the files under `ROOT` with its `web.config` files, the root's and each
//! folder's, merged per folder as IIS merges them (static files, default
//! documents, request filtering, custom headers, error pages), through
//! `tower_iis::server` (http.sys's limits, timeouts and pages), and writes the W3C
//! log to `DIR/W3SVC1/`, the HTTPERR log to `DIR/HTTPERR/` and a failed request
//! trace (`DIR/FailedReqLogFiles/W3SVC1/frNNNNNN.xml`, with `freb.xsl`) for every
//! request answered 400–599, or for what the web.config's `<traceFailedRequests>`
//! rules name when it has some. Stops gracefully on Ctrl-C or SIGTERM, after
//! flushing the logs. As with IIS, a web.config that is edited, added or removed
//! applies to the next requests, on open connections too. The site is rebuilt off
//! the runtime's threads, and a malformed file is answered with 500.19.
//!
//! With `--https ADDR` the site is also served over HTTPS on `ADDR`, with the
//! certificate chain and key of `--cert` and `--key` (PEM), or else a self-signed
//! certificate for `localhost`, `127.0.0.1` and `::1` made at start (its SHA-256
//! fingerprint is printed, to compare with what the browser shows).
//! Behind a reverse proxy, `--trusted-proxy` (repeatable; an address or range)
//! names the proxies whose `X-Forwarded-For` (or, with `--proxy-header forwarded`,
//! RFC 7239 `Forwarded`) header gives the client address that the logs, the error
//! pages and the IP restrictions use.
//! Where a web.config turns Basic authentication on, `--basic-user NAME:PASSWORD`
//! (repeatable) names who may sign in; without one every Basic sign-in fails with
//! 401.1, and the command warns at start.
//!
//! ```text
//! cargo install tower-iis --features cli
//! tower-iis serve ./wwwroot --listen 127.0.0.1:8080 --logs ./logs
//! tower-iis serve ./wwwroot --https 127.0.0.1:8443 --cert site.pem --key site.key
//! tower-iis serve ./wwwroot --trusted-proxy 127.0.0.1 --trusted-proxy 10.0.0.0/8
//! tower-iis serve ./wwwroot --basic-user alice:alice-demo-password
//! ```

use std::future::IntoFuture;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::task::{Context, Poll};
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};
use tower_iis::authentication::StaticUsers;
use tower_iis::connection::{ForwardedHeader, TrustedProxies};
use tower_iis::freb::{FailedRequestTracingLayer, Rule, TraceCollector};
use tower_iis::server::{serve, HttpErrLog};
use tower_iis::site::IisSite;
use tower_iis::tls::TlsConfig;
use tower_iis::w3c::{Sink, W3cLogLayer};
use tower_iis::web_config::{SiteConfig, WebConfig};

/// IIS in a command: serve a folder the way IIS would.
#[derive(Debug, Parser)]
#[command(name = "tower-iis", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve a folder (and its web.config) as an IIS site.
    Serve {
        /// The site's content root.
        #[arg(default_value = ".")]
        root: PathBuf,
        /// The address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// Where the W3C (W3SVC1/) and HTTPERR (HTTPERR/) logs go.
        #[arg(long, default_value = "./logs")]
        logs: PathBuf,
        /// Also serve HTTPS on this address.
        #[arg(long)]
        https: Option<SocketAddr>,
        /// The HTTPS certificate chain, PEM (default: a self-signed certificate).
        #[arg(long, requires = "https", requires = "key")]
        cert: Option<PathBuf>,
        /// The HTTPS certificate's private key, PEM.
        #[arg(long, requires = "https", requires = "cert")]
        key: Option<PathBuf>,
        /// A reverse proxy (address or range, e.g. 127.0.0.1 or 10.0.0.0/8) whose
        /// forwarding header names the client; repeatable.
        #[arg(long = "trusted-proxy", value_name = "CIDR")]
        trusted_proxies: Vec<String>,
        /// The header the trusted proxies name the client in.
        #[arg(long, value_enum, default_value_t = ProxyHeader::XForwardedFor)]
        proxy_header: ProxyHeader,
        /// A user for Basic authentication, where a web.config turns it on
        /// (`basicAuthentication enabled="true"`); repeatable. For trying a site
        /// out: the password is on the command line.
        #[arg(long = "basic-user", value_name = "NAME:PASSWORD")]
        basic_users: Vec<String>,
    },
}

/// The HTTPS side of `serve`.
struct Https {
    addr: SocketAddr,
    cert: Option<(PathBuf, PathBuf)>,
}

/// `--proxy-header`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ProxyHeader {
    /// `X-Forwarded-For: client, proxy1`.
    XForwardedFor,
    /// RFC 7239 `Forwarded: for=client`.
    Forwarded,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let Command::Serve {
        root,
        listen,
        logs,
        https,
        cert,
        key,
        trusted_proxies,
        proxy_header,
        basic_users,
    } = cli.command;
    let https = https.map(|addr| Https {
        addr,
        cert: cert.zip(key),
    });
    let proxies = match TrustedProxies::parse(&trusted_proxies) {
        Ok(p) => p.header(match proxy_header {
            ProxyHeader::XForwardedFor => ForwardedHeader::XForwardedFor,
            ProxyHeader::Forwarded => ForwardedHeader::Forwarded,
        }),
        Err(e) => {
            eprintln!("tower-iis: --trusted-proxy: {e}");
            return ExitCode::from(2);
        }
    };
    let users = match parse_users(&basic_users) {
        Ok(users) => users,
        Err(bad) => {
            eprintln!(
                "tower-iis: --basic-user {bad:?}: expected NAME:PASSWORD, with a name that has no ':'"
            );
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("tower-iis: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(root, listen, logs, https, proxies, users)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tower-iis: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(
    root: PathBuf,
    listen: SocketAddr,
    logs: PathBuf,
    https: Option<Https>,
    proxies: TrustedProxies,
    users: Option<StaticUsers>,
) -> Result<(), Box<dyn std::error::Error>> {
    // The certificate first: a bad file stops the command before anything starts.
    let tls = match &https {
        None => None,
        Some(Https {
            cert: Some((cert, key)),
            ..
        }) => Some(TlsConfig::from_pem_files(cert, key)?),
        Some(Https { cert: None, .. }) => {
            Some(TlsConfig::self_signed(["localhost", "127.0.0.1", "::1"])?)
        }
    };
    let (log, guard) = W3cLogLayer::builder().directory(&logs).build()?;
    // The collector buffers each request's `tracing` events for its trace.
    {
        use tracing_subscriber::layer::SubscriberExt as _;
        let subscriber = tracing_subscriber::registry().with(TraceCollector::new());
        tracing::subscriber::set_global_default(subscriber)?;
    }
    let traces = logs.join("FailedReqLogFiles");
    // Read off the runtime's threads, as the site's own scan is.
    let basic_folders = {
        let root = root.clone();
        tokio::task::spawn_blocking(move || basic_folders(&SiteConfig::load(root))).await?
    };
    if users.is_none() && !basic_folders.is_empty() {
        eprintln!(
            "tower-iis: warning: Basic authentication is on for {} but no --basic-user was given: every Basic sign-in fails with 401.1",
            basic_folders.join(", ")
        );
    }
    let recipe = Recipe {
        root: root.clone(),
        log,
        users,
        traces: traces.clone(),
    };
    let site = {
        let recipe = recipe.clone();
        tokio::task::spawn_blocking(move || recipe.build()).await??
    };
    report_config(&site);
    let handle = site.log_handle();
    let live = Live::new(site);
    // IIS applies a changed web.config to the next requests: so does this site.
    let _watcher = match live.watch(recipe) {
        Ok(watcher) => Some(watcher),
        Err(e) => {
            eprintln!("tower-iis: warning: cannot watch {} ({e}): changes to web.config files apply after a restart", root.display());
            None
        }
    };
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let addr = listener.local_addr()?;
    println!("tower-iis serving {} on http://{addr}/", root.display());
    println!(
        "W3C log: {}  HTTPERR log: {}",
        logs.join("W3SVC1").display(),
        logs.join("HTTPERR").display()
    );
    println!("failed request traces: {}", traces.join("W3SVC1").display());
    if !proxies.is_empty() {
        println!("trusted proxies: {}", trusted_list(&proxies));
    }
    let (httperr, httperr_guard) = HttpErrLog::new(Sink::directory(&logs))?;
    let secure = match (&https, tls) {
        (Some(https), Some(tls)) => {
            let listener = tokio::net::TcpListener::bind(https.addr)
                .await
                .map_err(|e| format!("cannot listen on {}: {e}", https.addr))?;
            let addr = listener.local_addr()?;
            println!("tower-iis serving {} on https://{addr}/", root.display());
            if tls.is_self_signed() {
                println!(
                    "HTTPS certificate: self-signed for localhost, 127.0.0.1 and ::1; SHA-256 {}",
                    tls.sha256_fingerprint()
                );
            } else {
                println!("HTTPS certificate: SHA-256 {}", tls.sha256_fingerprint());
            }
            let server = serve(listener, live.clone())
                .tls(tls)
                .iis_header_case(true)
                .trusted_proxies(proxies.clone())
                .httperr(httperr.clone())
                .w3c_log(handle.clone());
            Some(tokio::spawn(server.into_future()))
        }
        _ => None,
    };
    let mut report = serve(listener, live)
        .iis_header_case(true)
        .trusted_proxies(proxies)
        .httperr(httperr)
        .w3c_log(handle)
        .await?;
    if let Some(secure) = secure {
        let secure = secure.await??;
        report.connections += secure.connections;
    }
    drop(httperr_guard);
    drop(guard);
    println!(
        "stopped after {} connections; logs flushed ({} W3C lines, {} HTTPERR lines)",
        report.connections,
        report.w3c.map_or(0, |s| s.lines),
        report.httperr.lines
    );
    Ok(())
}

/// What the site is built from, again whenever a web.config changes.
#[derive(Clone)]
struct Recipe {
    root: PathBuf,
    log: W3cLogLayer,
    users: Option<StaticUsers>,
    traces: PathBuf,
}

impl Recipe {
    /// The site as the web.config files under the root say now. Reads them: call it
    /// off the runtime's threads.
    fn build(&self) -> Result<IisSite, tower_iis::site::SiteError> {
        let mut tracing = FailedRequestTracingLayer::builder().directory(&self.traces);
        // IIS traces nothing without a rule; like the demo, trace every failure
        // unless the site's web.config says what to trace.
        let has_rules = WebConfig::load(self.root.join("web.config"))
            .is_ok_and(|c| !c.trace_failed_requests.is_empty());
        if !has_rules {
            tracing = tracing.rule(
                Rule::new("*")
                    .status_codes("400-599")
                    .expect("a valid range"),
            );
        }
        let mut site = IisSite::from_web_config(&self.root);
        if let Some(users) = &self.users {
            site = site.credentials(users.clone());
        }
        site.log(self.log.clone())
            .serve_config_errors(true)
            .failed_request_tracing(tracing)
            .build()
    }
}

/// Prints what the site's web.config files got wrong.
fn report_config(site: &IisSite) {
    for warning in site.warnings() {
        eprintln!("web.config: {warning}");
    }
    for (folder, error) in site.folder_config_errors() {
        eprintln!("500.19 for /{folder}/: {error}");
    }
}

/// The site, swapped for a new one when a web.config changes. Every connection's
/// copy takes the new site before its next request.
#[derive(Clone)]
struct Live {
    shared: Arc<Current>,
    site: IisSite,
    seen: u64,
}

/// The newest site, and how many times it was replaced.
struct Current {
    site: RwLock<IisSite>,
    generation: AtomicU64,
}

impl Live {
    fn new(site: IisSite) -> Self {
        Live {
            shared: Arc::new(Current {
                site: RwLock::new(site.clone()),
                generation: AtomicU64::new(0),
            }),
            site,
            seen: 0,
        }
    }

    /// Rebuilds the site from `recipe` whenever a file named web.config under its
    /// root is written, created, renamed or removed. The watcher stops when dropped.
    fn watch(&self, recipe: Recipe) -> notify::Result<notify::RecommendedWatcher> {
        use notify::Watcher as _;
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<()>();
        let mut watcher =
            notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
                let Ok(event) = event else { return };
                if event.kind.is_access() {
                    return;
                }
                let config = |p: &std::path::PathBuf| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.eq_ignore_ascii_case("web.config"))
                };
                if event.paths.iter().any(config) {
                    let _ = tx.send(());
                }
            })?;
        watcher.watch(&recipe.root, notify::RecursiveMode::Recursive)?;
        let shared = self.shared.clone();
        tokio::spawn(async move {
            while rx.recv().await.is_some() {
                // An editor saves in several steps: wait until they are over.
                loop {
                    tokio::select! {
                        () = tokio::time::sleep(Duration::from_millis(200)) => break,
                        more = rx.recv() => if more.is_none() { return },
                    }
                }
                let recipe = recipe.clone();
                match tokio::task::spawn_blocking(move || recipe.build()).await {
                    Ok(Ok(site)) => {
                        report_config(&site);
                        *shared.site.write().unwrap_or_else(PoisonError::into_inner) = site;
                        shared.generation.fetch_add(1, Ordering::Release);
                        println!("web.config changed: the site is reloaded");
                    }
                    Ok(Err(e)) => eprintln!(
                        "web.config changed, but the site keeps its previous configuration: {e}"
                    ),
                    Err(e) => {
                        eprintln!("web.config changed, but the site could not be rebuilt: {e}")
                    }
                }
            }
        });
        Ok(watcher)
    }
}

impl<B> tower_service::Service<http::Request<B>> for Live
where
    IisSite: tower_service::Service<http::Request<B>>,
{
    type Response = <IisSite as tower_service::Service<http::Request<B>>>::Response;
    type Error = <IisSite as tower_service::Service<http::Request<B>>>::Error;
    type Future = <IisSite as tower_service::Service<http::Request<B>>>::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        // Swapped here, so that the site called is the one polled ready.
        let generation = self.shared.generation.load(Ordering::Acquire);
        if generation != self.seen {
            self.site = self
                .shared
                .site
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .clone();
            self.seen = generation;
        }
        self.site.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        self.site.call(req)
    }
}

/// The trusted proxies, for the start-up banner.
fn trusted_list(proxies: &TrustedProxies) -> String {
    proxies.ranges().join(", ")
}

/// The `--basic-user NAME:PASSWORD` values as one user list (none without any);
/// the first value that is not `NAME:PASSWORD` otherwise.
fn parse_users(values: &[String]) -> Result<Option<StaticUsers>, &str> {
    if values.is_empty() {
        return Ok(None);
    }
    values
        .iter()
        .try_fold(StaticUsers::new(), |users, value| {
            match value.split_once(':') {
                Some((name, password)) if !name.is_empty() => Ok(users.user(name, password)),
                _ => Err(value.as_str()),
            }
        })
        .map(Some)
}

/// The configuration paths (`/`, `/private/`) whose web.config turns Basic
/// authentication on.
fn basic_folders(site: &SiteConfig) -> Vec<String> {
    site.levels()
        .filter(|(_, config)| {
            config
                .as_ref()
                .is_ok_and(|c| c.authentication.basic.enabled)
        })
        .map(|(path, _)| {
            if path.is_empty() {
                "/".to_owned()
            } else {
                format!("/{path}/")
            }
        })
        .collect()
}
