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
//! flushing the logs.
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
    let mut tracing = FailedRequestTracingLayer::builder().directory(&traces);
    // IIS traces nothing without a rule; like the demo, trace every failure unless
    // the site's web.config says what to trace.
    let has_rules =
        WebConfig::load(root.join("web.config")).is_ok_and(|c| !c.trace_failed_requests.is_empty());
    if !has_rules {
        tracing = tracing.rule(Rule::new("*").status_codes("400-599")?);
    }
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
    let mut site = IisSite::from_web_config(&root);
    if let Some(users) = users {
        site = site.credentials(users);
    }
    let site = site
        .log(log)
        .serve_config_errors(true)
        .failed_request_tracing(tracing)
        .build()?;
    for warning in site.warnings() {
        eprintln!("web.config: {warning}");
    }
    for (folder, error) in site.folder_config_errors() {
        eprintln!("500.19 for /{folder}/: {error}");
    }
    let handle = site.log_handle();
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
            let server = serve(listener, site.clone())
                .tls(tls)
                .trusted_proxies(proxies.clone())
                .httperr(httperr.clone())
                .w3c_log(handle.clone());
            Some(tokio::spawn(server.into_future()))
        }
        _ => None,
    };
    let mut report = serve(listener, site)
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
