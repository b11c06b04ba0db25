//! IIS server variables, as URL Rewrite reads them.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use http::header::{HeaderMap, HeaderName, HOST};
use http::{Method, Uri};

use crate::http_util::{is_tls, split_host_port};
use crate::ConnectionInfo;

/// A server variable named in `{…}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Var {
    /// `HTTP_HOST`: the `Host` header (or the request target's authority).
    HttpHost,
    /// `HTTPS`: `on` or `off`.
    Https,
    /// `SERVER_PORT`.
    ServerPort,
    /// `SERVER_PORT_SECURE`: `1` or `0`.
    ServerPortSecure,
    /// `SERVER_NAME`: the host without its port.
    ServerName,
    /// `SERVER_PROTOCOL`: `HTTP/1.1` …
    ServerProtocol,
    /// `REQUEST_URI`: path and query as sent.
    RequestUri,
    /// `UNENCODED_URL` / `HTTP_URL`: path and query as sent.
    UnencodedUrl,
    /// `URL` / `SCRIPT_NAME` / `PATH_INFO`: the path, decoded.
    Url,
    /// `QUERY_STRING`, without `?`.
    QueryString,
    /// `REQUEST_FILENAME`: the physical path the URL maps to.
    RequestFilename,
    /// `REMOTE_ADDR` / `REMOTE_HOST`.
    RemoteAddr,
    /// `REMOTE_PORT`.
    RemotePort,
    /// `LOCAL_ADDR`.
    LocalAddr,
    /// `REQUEST_METHOD`.
    RequestMethod,
    /// `CACHE_URL`: `http[s]://host:port/path?query`.
    CacheUrl,
    /// `HTTP_<NAME>`: a request header, `_` standing for `-`.
    Header(HeaderName),
}

impl Var {
    /// Parses a variable name (case-insensitive, as IIS reads them).
    pub(crate) fn parse(name: &str) -> Result<Self, String> {
        let upper = name.to_ascii_uppercase();
        Ok(match upper.as_str() {
            "HTTP_HOST" => Self::HttpHost,
            "HTTPS" => Self::Https,
            "SERVER_PORT" => Self::ServerPort,
            "SERVER_PORT_SECURE" => Self::ServerPortSecure,
            "SERVER_NAME" => Self::ServerName,
            "SERVER_PROTOCOL" => Self::ServerProtocol,
            "REQUEST_URI" => Self::RequestUri,
            "UNENCODED_URL" | "HTTP_URL" => Self::UnencodedUrl,
            "URL" | "SCRIPT_NAME" | "PATH_INFO" => Self::Url,
            "QUERY_STRING" => Self::QueryString,
            "REQUEST_FILENAME" => Self::RequestFilename,
            "REMOTE_ADDR" | "REMOTE_HOST" => Self::RemoteAddr,
            "REMOTE_PORT" => Self::RemotePort,
            "LOCAL_ADDR" => Self::LocalAddr,
            "REQUEST_METHOD" => Self::RequestMethod,
            "CACHE_URL" => Self::CacheUrl,
            _ => match upper.strip_prefix("HTTP_") {
                Some(rest) if !rest.is_empty() => Self::Header(
                    super::template::header_from_var(rest)
                        .ok_or_else(|| format!("'{name}' does not name a request header"))?,
                ),
                _ => return Err(format!("unknown server variable '{name}'")),
            },
        })
    }
}

/// The request as the server variables see it.
pub(crate) struct RequestView<'a> {
    pub(crate) method: &'a Method,
    pub(crate) uri: &'a Uri,
    pub(crate) headers: &'a HeaderMap,
    pub(crate) version: http::Version,
    pub(crate) conn: Option<ConnectionInfo>,
    pub(crate) root: Option<&'a Path>,
}

impl RequestView<'_> {
    fn host(&self) -> &str {
        self.headers
            .get(HOST)
            .and_then(|h| h.to_str().ok())
            .or_else(|| self.uri.authority().map(http::uri::Authority::as_str))
            .unwrap_or("")
    }

    fn tls(&self) -> bool {
        is_tls(self.conn, self.uri)
    }

    fn port(&self) -> u16 {
        if let Some(c) = self.conn {
            return c.local.port();
        }
        split_host_port(self.host())
            .and_then(|(_, p)| p?.parse().ok())
            .unwrap_or(if self.tls() { 443 } else { 80 })
    }

    fn raw_url(&self) -> &str {
        self.uri.path_and_query().map_or("/", |pq| pq.as_str())
    }

    /// Appends the value of `var`.
    pub(crate) fn write(&self, var: &Var, out: &mut String) {
        match var {
            Var::HttpHost => out.push_str(self.host()),
            Var::Https => out.push_str(if self.tls() { "on" } else { "off" }),
            Var::ServerPort => {
                let _ = write!(out, "{}", self.port());
            }
            Var::ServerPortSecure => out.push(if self.tls() { '1' } else { '0' }),
            Var::ServerName => {
                out.push_str(split_host_port(self.host()).map_or("", |(h, _)| h));
            }
            Var::ServerProtocol => {
                let _ = write!(out, "{:?}", self.version);
            }
            Var::RequestUri | Var::UnencodedUrl => out.push_str(self.raw_url()),
            Var::Url => out.push_str(&super::template::url_decode(self.uri.path(), false)),
            Var::QueryString => out.push_str(self.uri.query().unwrap_or("")),
            Var::RequestFilename => {
                out.push_str(&physical_path(self.root, self.uri.path()).to_string_lossy());
            }
            Var::RemoteAddr => {
                if let Some(c) = self.conn {
                    let _ = write!(out, "{}", c.remote.ip());
                }
            }
            Var::RemotePort => {
                if let Some(c) = self.conn {
                    let _ = write!(out, "{}", c.remote.port());
                }
            }
            Var::LocalAddr => {
                if let Some(c) = self.conn {
                    let _ = write!(out, "{}", c.local.ip());
                }
            }
            Var::RequestMethod => out.push_str(self.method.as_str()),
            Var::CacheUrl => {
                let host = split_host_port(self.host()).map_or("", |(h, _)| h);
                let scheme = if self.tls() { "https" } else { "http" };
                let _ = write!(out, "{scheme}://{host}:{}{}", self.port(), self.raw_url());
            }
            Var::Header(name) => {
                // Several values join with a comma, as IIS shows a repeated header.
                for (i, v) in self.headers.get_all(name).iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&String::from_utf8_lossy(v.as_bytes()));
                }
            }
        }
    }
}

/// The physical path of URL path `path` under `root`: decoded, `.` and `..`
/// resolved without climbing above the root.
pub(crate) fn physical_path(root: Option<&Path>, path: &str) -> PathBuf {
    let decoded = super::template::url_decode(path, false);
    let mut parts: Vec<&str> = Vec::new();
    for seg in decoded.split(['/', '\\']) {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    let mut p = root.map(Path::to_path_buf).unwrap_or_default();
    p.extend(parts);
    p
}
