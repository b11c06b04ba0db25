//! Static files the way IIS's `StaticFileModule` serves them.
//!
//! [`StaticFiles`] maps a request path to a file under a root folder and answers
//! with IIS's codes. The bytes themselves (and `304`, `206`, `412`, `416` for
//! conditional and range requests, `ETag`, `Last-Modified`) come from tower-http's
//! [`ServeFile`].
//!
//! | Request | Answer |
//! |---|---|
//! | an existing file with a MIME map entry | `200` with that `Content-Type` (or `304`, `206`, `412`, `416`) |
//! | an existing file without a MIME map entry ([`MimeMap`]) | **404.3**, HRESULT `0x80070032` |
//! | a path naming nothing | **404.0**, HRESULT `0x80070002`, the physical path; or the [fallback](StaticFiles::fallback) |
//! | a folder, without the trailing `/` | `301 Moved Permanently` to the slash form (the query kept), a "Document Moved" body: IIS's courtesy redirect |
//! | a folder with `/` holding a default document | the first of the [default documents](DEFAULT_DOCUMENTS) found, in order, names compared case-insensitively |
//! | a folder with `/`, no default document, `directoryBrowse` off | **403.14** |
//! | the same, `directoryBrowse` on | a listing page in IIS's format (`host - /path/`, `[To Parent Directory]`, date, time, size or `<dir>`) |
//! | `OPTIONS` | `200` with `Allow: GET, HEAD, OPTIONS, TRACE` |
//! | `TRACE` | **501.0** (IIS's `TRACEVerbHandler`) |
//! | any other verb (`PUT`, `DELETE`, `POST`, `PROPFIND`, unknown …) | **405.0** (error code 0x80070001, logged `405 0 1`) with `Allow: GET, HEAD, OPTIONS, TRACE` |
//! | a path that tries to leave the root | **400.0**, before the file system is touched (below) |
//!
//! # The fallback: files first, then the application
//!
//! With a [fallback](StaticFiles::fallback) service (an axum `Router`, any tower
//! service), a request whose path names **no existing file or folder** goes to the
//! fallback untouched; everything that exists is served as above. This is ASP.NET
//! routing's default on IIS (`RouteExistingFiles = false`): routes never shadow
//! files on disk. Without a fallback, the static module answers 404.0 itself.
//!
//! # Paths that try to leave the root
//!
//! The path is percent-decoded exactly once, then checked before any file-system
//! call. `/` and `\` separate segments whether raw or encoded (`%2f`, `%5c`), as on
//! IIS.
//!
//! - `.` and `..` segments written literally are **resolved** first, as http.sys
//!   resolves them before IIS sees the URL: `/images/../site.css` serves
//!   `/site.css`, and nothing climbs above the root (`/../x` is `/x`).
//! - **400.0** (what http.sys answers for URLs it cannot canonicalize): a `.` or
//!   `..` segment in an encoded spelling (`%2e%2e`, `.%2E`, `..%5c`, `..\`); a `%`
//!   not followed by two hex digits; bytes that are not UTF-8 once decoded,
//!   overlong forms included (`%c0%ae`, `%e0%80%ae`); NUL or any control character.
//! - **Not found** (404.0, or the fallback): segments Windows would alias to another
//!   name: a `:` (drive letters `C:`, streams `::$DATA`), a trailing `.` or space
//!   (`web.config.`), `* ? " < > |`, device names (`CON`, `nul.txt`, `LPT1`).
//! - The decoded segments are joined to the canonical root, then the result is
//!   **canonicalized and must still start with the root**: a symbolic link is
//!   followed only when its target is inside the root (anything else is 404.0),
//!   and only regular files and folders are served. The file is then opened by
//!   walking that canonical path from the root with `O_NOFOLLOW` at every step
//!   and served from the open file, so a folder swapped for a link after the
//!   check cannot lead outside the root (on Linux; elsewhere only the last
//!   component is opened with `O_NOFOLLOW`). A directory listing leaves out links
//!   that lead outside the root.
//!
//! Windows 8.3 short names (`WEB~1.CON`) are not recognised; on Windows, keep
//! request filtering's hidden segments in front (as [`IisSite`](crate::site) does).
//!
//! # Which paths ask the file system
//!
//! An application behind the static files (an API, say) should not pay for a
//! file-system call on each of its requests, so [`StaticFiles`] keeps an
//! [index](PathLookup::Index) of the content root's names (files, folders and
//! links, compared ignoring case), built when the service is built and kept fresh
//! by a file watcher. A request whose path the index does not hold is handed to
//! the fallback at once, with no file-system call and no allocation (for names of
//! up to 64 bytes); a path that
//! may name something is looked up and opened on disk as described above (one call
//! on tokio's blocking pool for the lookup, then the open).
//!
//! - **A file created after start** is served once the watcher has reported it
//!   (inotify: well under a millisecond on an idle machine; until then the request
//!   goes to the application, or 404.0).
//! - **A deleted file** is never served from the index: the lookup and the open
//!   happen on disk, so a stale entry only costs that lookup, which finds nothing
//!   and hands the request to the application (404.0 without one).
//! - **Links** are not followed by the index: anything below a link is looked up
//!   on disk, with the checks above.
//!
//! A content root with more than `max_entries` entries, or one that cannot be
//! watched (the system's watch limit, no watcher on the platform, lost events),
//! falls back to a [negative cache](PathLookup::NegativeCache), with a warning:
//! the shortest missing prefix of a path the file system reported missing (`/api`
//! for `/api/items/42`) is remembered for a second, at most 4 096 of them, so a
//! file created after start is served within a second and requests for random
//! paths cannot grow memory. [`StaticFilesBuilder::path_lookup`] picks either, or
//! [`PathLookup::FileSystem`] to ask the disk every time.
//!
//! # Example
//!
//! Needs feature `static-files` and in your crate `tower` (feature `util`), `tokio` (features `macros`, `rt`).
//!
//! ```
//! use http::{Request, StatusCode};
//! use tower::ServiceExt;
//! use tower_iis::static_files::{PathLookup, StaticFiles};
//! use tower_iis::{IisError, IisStatus};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let root = std::env::temp_dir().join(format!("tower-iis-doc-static-{}", std::process::id()));
//! std::fs::create_dir_all(root.join("images"))?;
//! std::fs::write(root.join("index.htm"), "<p>home</p>")?;
//! std::fs::write(root.join("report.xyz"), "no MIME map for this")?;
//!
//! let files = StaticFiles::builder(&root).directory_browse(false).build()?;
//! let get = |path: &str| Request::get(path).body(String::new()).unwrap();
//! // The content root's names are indexed and watched: images, index.htm, report.xyz.
//! assert!(matches!(files.path_lookup(), PathLookup::Index { .. }));
//! assert_eq!(files.path_lookup_len(), 3);
//!
//! // "/" serves the default document index.htm.
//! let res = files.clone().oneshot(get("/")).await?;
//! assert_eq!(res.status(), StatusCode::OK);
//! assert_eq!(res.headers()["content-type"], "text/html");
//!
//! // The handler marks errors; an HttpErrorsLayer in front renders the pages.
//! let res = files.clone().oneshot(get("/report.xyz")).await?;
//! assert_eq!(res.extensions().get::<IisError>().unwrap().status(), IisStatus::NOT_FOUND_MIME_TYPE_RESTRICTION);
//! let res = files.clone().oneshot(get("/images/")).await?;
//! assert_eq!(res.extensions().get::<IisError>().unwrap().status(), IisStatus::FORBIDDEN_DIRECTORY_LISTING_DENIED);
//! let res = files.clone().oneshot(get("/images")).await?;
//! assert_eq!(res.status(), StatusCode::MOVED_PERMANENTLY);
//! let res = files.clone().oneshot(get("/%2e%2e/etc/passwd")).await?;
//! assert_eq!(res.status(), StatusCode::BAD_REQUEST);
//! # std::fs::remove_dir_all(&root)?;
//! # Ok(())
//! # }
//! ```

mod listing;
mod mime_map;
mod open;
pub(crate) mod path;
mod presence;

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;
use tower_http::services::fs::ServeFileSystemResponseBody;
use tower_http::services::ServeFile;
use tower_service::Service;

pub use self::mime_map::{MimeMap, MimeMapError, IIS_DEFAULT_MIME_TYPES, MODERN_MIME_TYPES};
use self::path::PathProblem;
use self::presence::{fold_case, Presence};
pub use self::presence::{
    PathLookup, DEFAULT_CACHE_LIFETIME, DEFAULT_CACHE_MAX_ENTRIES, DEFAULT_INDEX_MAX_ENTRIES,
    MAX_CACHE_LIFETIME,
};
use crate::{http_util, BoxError, IisError, IisStatus};

/// The POSIX `errno` for "permission denied".
const EACCES: i32 = 13;
/// Windows' `ERROR_ACCESS_DENIED`, which IIS logs for a file it may not read.
const ERROR_ACCESS_DENIED: u32 = 5;

/// IIS's default documents, in IIS's order.
pub const DEFAULT_DOCUMENTS: [&str; 6] = [
    "Default.htm",
    "Default.asp",
    "index.htm",
    "index.html",
    "iisstart.htm",
    "default.aspx",
];

/// The verbs the static file handler answers, as its `Allow` header lists them.
pub const ALLOW: &str = "GET, HEAD, OPTIONS, TRACE";

/// A static-files configuration [`StaticFilesBuilder::build`] refused.
#[derive(Debug)]
pub struct StaticFilesError {
    message: String,
    source: Option<io::Error>,
}

impl StaticFilesError {
    fn new(message: impl Into<String>, source: Option<io::Error>) -> Self {
        Self {
            message: message.into(),
            source,
        }
    }
}

impl fmt::Display for StaticFilesError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(e) = &self.source {
            write!(f, ": {e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for StaticFilesError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_ref().map(|e| e as _)
    }
}

#[derive(Debug)]
struct Config {
    root: PathBuf,
    default_document_enabled: bool,
    default_documents: Vec<String>,
    directory_browse: bool,
    mime_map: MimeMap,
    case_insensitive: bool,
    presence: Arc<Presence>,
}

/// Builds [`StaticFiles`]; starts from IIS's defaults (default documents on, in
/// IIS's order; directory browsing off; [`MimeMap::iis_defaults`]).
#[derive(Debug, Clone)]
#[must_use]
pub struct StaticFilesBuilder {
    root: PathBuf,
    default_document_enabled: bool,
    default_documents: Vec<String>,
    directory_browse: bool,
    mime_map: MimeMap,
    bad_mime_entry: Option<MimeMapError>,
    case_insensitive: bool,
    path_lookup: PathLookup,
    /// Another service's lookup over the same root, shared (a site's folders).
    shared_lookup: Option<Arc<Presence>>,
}

impl StaticFilesBuilder {
    /// `defaultDocument@enabled` (default true).
    pub fn default_document(mut self, enabled: bool) -> Self {
        self.default_document_enabled = enabled;
        self
    }

    /// `<defaultDocument><files><add value>`: appends a default document (a name
    /// already listed, in any case, is left where it is).
    pub fn add_default_document(mut self, name: impl Into<String>) -> Self {
        let name = name.into();
        if !self
            .default_documents
            .iter()
            .any(|d| d.eq_ignore_ascii_case(&name))
        {
            self.default_documents.push(name);
        }
        self
    }

    /// `<files><remove value>`: drops a default document (case-insensitively).
    pub fn remove_default_document(mut self, name: &str) -> Self {
        self.default_documents
            .retain(|d| !d.eq_ignore_ascii_case(name));
        self
    }

    /// `<files><clear/>`: drops every default document, IIS's six included.
    pub fn clear_default_documents(mut self) -> Self {
        self.default_documents.clear();
        self
    }

    /// Case-insensitive paths, as on NTFS: `/SITE.CSS` serves `site.css` (default
    /// false here; [`IisSite`](crate::site::IisSite) turns it on). A path is
    /// first looked up as written; only when that misses is each segment matched
    /// against its folder's entries ignoring case (the exact spelling first, else
    /// the first matching name in sorted order).
    pub fn case_insensitive(mut self, enabled: bool) -> Self {
        self.case_insensitive = enabled;
        self
    }

    /// How a path that names nothing is told apart from one that may name a file
    /// without a file-system call per request (default [`PathLookup::Index`]: an
    /// index of the content root kept fresh by a file watcher). See [`PathLookup`]
    /// and the [module docs](self#which-paths-ask-the-file-system).
    pub fn path_lookup(mut self, lookup: PathLookup) -> Self {
        self.path_lookup = lookup;
        self
    }

    /// Uses `other`'s path lookup (its index and watcher, or its cache) instead
    /// of starting one: for services over the same root and with the same case
    /// rule, such as a site's per-folder stacks.
    #[cfg(feature = "site")]
    pub(crate) fn share_path_lookup<F>(mut self, other: &StaticFiles<F>) -> Self {
        self.shared_lookup = Some(other.config.presence.clone());
        self
    }

    /// `directoryBrowse@enabled` (default false): list a folder that has no
    /// default document instead of answering 403.14.
    pub fn directory_browse(mut self, enabled: bool) -> Self {
        self.directory_browse = enabled;
        self
    }

    /// Replaces the MIME map (`<staticContent>`).
    pub fn mime_map(mut self, map: MimeMap) -> Self {
        self.mime_map = map;
        self
    }

    /// Adds or replaces one `<mimeMap fileExtension mimeType>` entry; a bad entry
    /// is reported by [`build`](Self::build).
    pub fn mime_type(mut self, extension: &str, mime_type: &str) -> Self {
        if let Err(e) = self.mime_map.insert(extension, mime_type) {
            self.bad_mime_entry.get_or_insert(e);
        }
        self
    }

    /// Checks the root and builds the service.
    ///
    /// # Errors
    ///
    /// The root does not exist, is not a folder or cannot be canonicalized; a
    /// default document name holds a `/`, `\` or is empty; a bad MIME map entry
    /// was added with [`mime_type`](Self::mime_type); a [`PathLookup`] with a zero
    /// bound or a lifetime out of range.
    ///
    /// With [`PathLookup::Index`] (the default) this walks the content root once
    /// (at most `max_entries` entries) and starts its file watcher.
    pub fn build(self) -> Result<StaticFiles, StaticFilesError> {
        if let Some(e) = self.bad_mime_entry {
            return Err(StaticFilesError::new(e.to_string(), None));
        }
        self.path_lookup
            .check()
            .map_err(|e| StaticFilesError::new(e, None))?;
        for doc in &self.default_documents {
            if doc.is_empty() || doc.contains(['/', '\\']) || path::split(doc).is_err() {
                return Err(StaticFilesError::new(
                    format!("invalid default document {doc:?}: a file name without `/` or `\\`"),
                    None,
                ));
            }
        }
        let root = std::fs::canonicalize(&self.root).map_err(|e| {
            StaticFilesError::new(
                format!("cannot open the content root {}", self.root.display()),
                Some(e),
            )
        })?;
        if !root.is_dir() {
            return Err(StaticFilesError::new(
                format!("the content root {} is not a folder", root.display()),
                None,
            ));
        }
        let presence = match self.shared_lookup {
            Some(p) => p,
            None => Arc::new(Presence::new(
                self.path_lookup,
                &root,
                self.case_insensitive,
            )),
        };
        Ok(StaticFiles {
            config: Arc::new(Config {
                presence,
                root,
                default_document_enabled: self.default_document_enabled,
                default_documents: self.default_documents,
                directory_browse: self.directory_browse,
                mime_map: self.mime_map,
                case_insensitive: self.case_insensitive,
            }),
            fallback: None,
        })
    }
}

/// IIS's static file handler over a root folder. See the [module docs](self).
///
/// Cheap to clone: the configuration is shared.
#[derive(Clone)]
pub struct StaticFiles<F = NoFallback> {
    config: Arc<Config>,
    fallback: Option<F>,
}

impl<F> fmt::Debug for StaticFiles<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StaticFiles")
            .field("root", &self.config.root)
            .field(
                "default_document_enabled",
                &self.config.default_document_enabled,
            )
            .field("default_documents", &self.config.default_documents)
            .field("directory_browse", &self.config.directory_browse)
            .field("fallback", &self.fallback.is_some())
            .finish_non_exhaustive()
    }
}

impl StaticFiles {
    /// A builder for the folder `root`, with IIS's defaults.
    pub fn builder(root: impl Into<PathBuf>) -> StaticFilesBuilder {
        StaticFilesBuilder {
            root: root.into(),
            default_document_enabled: true,
            default_documents: DEFAULT_DOCUMENTS.iter().map(|d| (*d).to_owned()).collect(),
            directory_browse: false,
            mime_map: MimeMap::iis_defaults(),
            bad_mime_entry: None,
            case_insensitive: false,
            path_lookup: PathLookup::default(),
            shared_lookup: None,
        }
    }

    /// `root` with IIS's defaults.
    ///
    /// # Errors
    ///
    /// See [`StaticFilesBuilder::build`].
    pub fn new(root: impl Into<PathBuf>) -> Result<Self, StaticFilesError> {
        Self::builder(root).build()
    }
}

impl<F> StaticFiles<F> {
    /// Sends requests whose path names no existing file or folder to `fallback`
    /// (see the [module docs](self#the-fallback-files-first-then-the-application)).
    pub fn fallback<G>(self, fallback: G) -> StaticFiles<G> {
        StaticFiles {
            config: self.config,
            fallback: Some(fallback),
        }
    }

    /// Replaces the fallback, or removes it.
    #[cfg(feature = "site")]
    pub(crate) fn with_fallback<G>(self, fallback: Option<G>) -> StaticFiles<G> {
        StaticFiles {
            config: self.config,
            fallback,
        }
    }

    /// The canonical content root.
    #[must_use]
    pub fn root(&self) -> &Path {
        &self.config.root
    }

    /// The MIME map in use.
    #[must_use]
    pub fn mime_map(&self) -> &MimeMap {
        &self.config.mime_map
    }

    /// The default documents, in order (empty when `defaultDocument` is off).
    #[must_use]
    pub fn default_documents(&self) -> &[String] {
        if self.config.default_document_enabled {
            &self.config.default_documents
        } else {
            &[]
        }
    }

    /// Whether directory browsing is on.
    #[must_use]
    pub fn directory_browse(&self) -> bool {
        self.config.directory_browse
    }

    /// What tells paths that name nothing apart now: the [`PathLookup`] asked
    /// for, or the negative cache when the index could not be kept (a root too
    /// large, no file watcher).
    #[must_use]
    pub fn path_lookup(&self) -> PathLookup {
        self.config.presence.in_use()
    }

    /// The entries the index holds, or the paths the negative cache remembers
    /// (0 with [`PathLookup::FileSystem`]).
    #[must_use]
    pub fn path_lookup_len(&self) -> usize {
        self.config.presence.len()
    }
}

/// The fallback of a [`StaticFiles`] without one: never called.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoFallback;

impl<B> Service<Request<B>> for NoFallback {
    type Response = Response<http_body_util::Empty<Bytes>>;
    type Error = Infallible;
    type Future = std::future::Ready<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _req: Request<B>) -> Self::Future {
        let mut res = Response::new(http_body_util::Empty::new());
        *res.status_mut() = StatusCode::NOT_FOUND;
        std::future::ready(Ok(res))
    }
}

type Boxed<FB, E> = Pin<Box<dyn Future<Output = Result<Response<StaticBody<FB>>, E>> + Send>>;

pin_project! {
    /// The response future of [`StaticFiles`]: the fallback's, straight away, for
    /// a path known to name nothing; otherwise the file-system lookup and what
    /// follows it.
    pub struct ResponseFuture<F, B, FB>
    where
        F: Service<Request<B>>,
    {
        #[pin]
        state: State<F, B, FB>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<F, B, FB>
    where
        F: Service<Request<B>>,
    {
        Ready { fallback: F, req: Option<Request<B>> },
        Called { #[pin] fut: F::Future },
        Lookup { fut: Boxed<FB, F::Error> },
    }
}

impl<F, B, FB> fmt::Debug for ResponseFuture<F, B, FB>
where
    F: Service<Request<B>>,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

impl<F, B, FB> Future for ResponseFuture<F, B, FB>
where
    F: Service<Request<B>, Response = Response<FB>>,
{
    type Output = Result<Response<StaticBody<FB>>, F::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut state = self.project().state;
        loop {
            match state.as_mut().project() {
                StateProj::Ready { fallback, req } => {
                    ready!(fallback.poll_ready(cx))?;
                    let req = req.take().expect("polled after the request was sent");
                    let fut = fallback.call(req);
                    state.set(State::Called { fut });
                }
                StateProj::Called { fut } => {
                    return Poll::Ready(
                        ready!(fut.poll(cx)).map(|res| res.map(StaticBody::fallback)),
                    );
                }
                StateProj::Lookup { fut } => return fut.as_mut().poll(cx),
            }
        }
    }
}

/// The segments of a path as most requests have it, visible ASCII with no `%`, no
/// `\\` and no `.` or `..` segment: [`path::split`] would return them unchanged
/// (and never refuses such a path), so they are taken without allocating.
#[derive(Clone)]
struct PlainSegments<'a> {
    rest: &'a str,
}

impl<'a> Iterator for PlainSegments<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        // Byte searches: `/` is ASCII, so every index is a character boundary.
        let start = self.rest.bytes().position(|b| b != b'/')?;
        let s = &self.rest[start..];
        let end = s.bytes().position(|b| b == b'/').unwrap_or(s.len());
        let (seg, rest) = s.split_at(end);
        self.rest = rest;
        Some(seg)
    }
}

/// The bytes a plain path may hold: visible ASCII but `%` and `\\`.
const PLAIN: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0x21;
    while b < 0x7f {
        t[b] = b != b'%' as usize && b != b'\\' as usize;
        b += 1;
    }
    t
};

/// Whether every byte of `raw` is one [`PLAIN`] allows, eight bytes at a time:
/// about half the instructions of the table loop on a typical path.
fn all_plain(raw: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // Non-zero when some byte of `x` is below `n` (n <= 0x80) or has its high
    // bit set; exact as a whole, the usual word-at-a-time tests.
    let below = |x: u64, n: u64| x.wrapping_sub(ONES * n) & !x & HIGH;
    let zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGH;
    let mut words = raw.chunks_exact(8);
    let mut bad = 0;
    for word in &mut words {
        let mut bytes = [0; 8];
        bytes.copy_from_slice(word);
        let x = u64::from_le_bytes(bytes);
        bad |= (x & HIGH)
            | below(x, 0x21)
            | zero(x ^ (ONES * 0x7f))
            | zero(x ^ (ONES * u64::from(b'%')))
            | zero(x ^ (ONES * u64::from(b'\\')));
    }
    bad == 0 && words.remainder().iter().all(|&b| PLAIN[usize::from(b)])
}

/// [`PlainSegments`] of `raw_path`, or `None` when it needs [`path::split`].
fn plain_segments(raw_path: &str) -> Option<PlainSegments<'_>> {
    if !all_plain(raw_path.as_bytes()) {
        return None;
    }
    let segs = PlainSegments { rest: raw_path };
    // A `.` or `..` segment can only follow a `/`.
    if raw_path.contains("/.") && segs.clone().any(|s| s == "." || s == "..") {
        return None;
    }
    Some(segs)
}

impl<F, B, FB> Service<Request<B>> for StaticFiles<F>
where
    B: Send + 'static,
    F: Service<Request<B>, Response = Response<FB>> + Clone + Send + 'static,
    F::Future: Send + 'static,
    FB: Send + 'static,
{
    type Response = Response<StaticBody<FB>>;
    type Error = F::Error;
    type Future = ResponseFuture<F, B, FB>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        // The fallback is made ready in the response future, when it is needed.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        // A path known to name nothing goes to the application with no file-system
        // call and (names of up to 64 bytes) no allocation here.
        if let Some(fallback) = &self.fallback {
            let path = req.uri().path();
            let plain = plain_segments(path);
            if plain
                .clone()
                .is_some_and(|s| self.config.presence.known_absent(s))
            {
                tracing::debug!(
                    name: "STATIC_FILE_START",
                    target: "tower_iis::static_files",
                    area = "StaticFile",
                    RequestURL = path,
                    PhysicalPath = %{
                        let mut p = self.config.root.clone();
                        p.extend(plain.into_iter().flatten());
                        p
                    }
                    .display(),
                    Found = false,
                );
                return ResponseFuture {
                    state: State::Ready {
                        fallback: fallback.clone(),
                        req: Some(req),
                    },
                };
            }
        }
        ResponseFuture {
            state: State::Lookup {
                fut: Box::pin(handle(self.config.clone(), self.fallback.clone(), req)),
            },
        }
    }
}

/// What a path names on disk.
enum Lookup {
    /// Nothing (or nothing this module may serve); the physical path it would be.
    Missing(PathBuf),
    File {
        canonical: PathBuf,
        physical: PathBuf,
        name: String,
    },
    Dir {
        canonical: PathBuf,
        physical: PathBuf,
    },
    Failed(io::Error, PathBuf),
}

async fn lookup(cfg: &Arc<Config>, segments: Vec<String>) -> Lookup {
    let cfg = cfg.clone();
    let physical = || {
        let mut p = cfg.root.clone();
        p.extend(&segments);
        p
    };
    if cfg
        .presence
        .known_absent(segments.iter().map(String::as_str))
    {
        return Lookup::Missing(physical());
    }
    let task = tokio::task::spawn_blocking({
        let cfg = cfg.clone();
        let segments = segments.clone();
        move || {
            let (found, missing_depth) = lookup_blocking(&cfg, &segments);
            if let Some(depth) = missing_depth {
                cfg.presence.record_absent(&segments, depth);
            }
            found
        }
    });
    match task.await {
        Ok(found) => found,
        Err(e) => Lookup::Failed(io::Error::other(e), physical()),
    }
}

/// What the file system says `segments` name (one blocking call on tokio's pool
/// for the whole lookup), and, when nothing is there and the negative cache wants
/// it, how many leading segments name something that is missing.
fn lookup_blocking(cfg: &Config, segments: &[String]) -> (Lookup, Option<usize>) {
    let mut physical = cfg.root.clone();
    for s in segments {
        physical.push(s);
    }
    let mut name = segments.last().cloned().unwrap_or_default();
    let canonical = match std::fs::canonicalize(&physical) {
        Ok(c) => c,
        Err(e)
            // A name too long for the file system (ENAMETOOLONG) names nothing
            // that can exist: 404, as on IIS, not a server error.
            if matches!(
                e.kind(),
                io::ErrorKind::NotFound
                    | io::ErrorKind::NotADirectory
                    | io::ErrorKind::InvalidFilename
            ) =>
        {
            let found = if cfg.case_insensitive {
                find_ignoring_case(&cfg.root, segments)
            } else if cfg.presence.wants_missing_depth() && e.kind() == io::ErrorKind::NotFound {
                Err(missing_depth(&cfg.root, segments))
            } else {
                Err(0)
            };
            match found {
                Ok(found) => match std::fs::canonicalize(&found) {
                    Ok(c) => {
                        if let Some(n) = found.file_name() {
                            name = n.to_string_lossy().into_owned();
                        }
                        c
                    }
                    Err(_) => return (Lookup::Missing(physical), None),
                },
                Err(depth) => {
                    return (Lookup::Missing(physical), (depth > 0).then_some(depth));
                }
            }
        }
        Err(e) => return (Lookup::Failed(e, physical), None),
    };
    if !canonical.starts_with(&cfg.root) {
        tracing::debug!(
            target: "tower_iis::static_files",
            path = %physical.display(),
            "a link leads outside the content root: not served"
        );
        return (Lookup::Missing(physical), None);
    }
    let found = match std::fs::metadata(&canonical) {
        Ok(m) if m.is_dir() => Lookup::Dir {
            canonical,
            physical,
        },
        Ok(m) if m.is_file() => Lookup::File {
            name,
            canonical,
            physical,
        },
        Ok(_) => Lookup::Missing(physical),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Lookup::Missing(physical),
        Err(e) => Lookup::Failed(e, physical),
    };
    (found, None)
}

/// How many leading segments it takes to name something missing (links
/// followed), or 0 when they all exist.
fn missing_depth(root: &Path, segments: &[String]) -> usize {
    let mut dir = root.to_path_buf();
    for (i, seg) in segments.iter().enumerate() {
        dir.push(seg);
        match std::fs::metadata(&dir) {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => return i + 1,
            Err(_) => return 0,
        }
    }
    0
}

/// The path under `root` whose segments match `segments` ignoring case, as NTFS
/// matches names: at each level the exact spelling if it exists, else the first
/// entry, in sorted order, equal to it ignoring case. When nothing matches, how
/// many leading segments it took to find nothing (0 when the file system failed
/// otherwise).
fn find_ignoring_case(root: &Path, segments: &[String]) -> Result<PathBuf, usize> {
    let mut dir = root.to_path_buf();
    for (i, seg) in segments.iter().enumerate() {
        let exact = dir.join(seg);
        if std::fs::symlink_metadata(&exact).is_ok() {
            dir = exact;
            continue;
        }
        let wanted = fold_case(seg);
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            // `dir` is a file, or a link to nothing: nothing is below it.
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
                ) =>
            {
                return Err(i + 1);
            }
            Err(_) => return Err(0),
        };
        let mut best: Option<std::ffi::OsString> = None;
        for entry in entries {
            let Ok(entry) = entry else {
                return Err(0);
            };
            let name = entry.file_name();
            let matches = name.to_str().is_some_and(|n| fold_case(n) == wanted);
            if matches && best.as_ref().is_none_or(|b| name < *b) {
                best = Some(name);
            }
        }
        match best {
            Some(b) => dir.push(b),
            None => return Err(i + 1),
        }
    }
    Ok(dir)
}

fn error<FB>(err: IisError) -> Response<StaticBody<FB>> {
    err.into_http_response()
}

fn with_physical(status: IisStatus, physical: &Path) -> IisError {
    IisError::new(status).with_physical_path(physical.display().to_string())
}

/// The verb rules of the static file handler; `None` lets GET and HEAD through.
fn verb_answer<FB>(method: &Method, physical: &Path) -> Option<Response<StaticBody<FB>>> {
    match *method {
        Method::GET | Method::HEAD => None,
        Method::OPTIONS => {
            let mut res = Response::new(StaticBody::empty());
            res.headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static(ALLOW));
            res.headers_mut()
                .insert(header::CONTENT_LENGTH, HeaderValue::from_static("0"));
            Some(res)
        }
        Method::TRACE => Some(error(with_physical(IisStatus::NOT_IMPLEMENTED, physical))),
        _ => {
            let mut res = error(with_physical(IisStatus::METHOD_NOT_ALLOWED, physical));
            res.headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static(ALLOW));
            Some(res)
        }
    }
}

async fn handle<F, B, FB>(
    cfg: Arc<Config>,
    fallback: Option<F>,
    req: Request<B>,
) -> Result<Response<StaticBody<FB>>, F::Error>
where
    B: Send + 'static,
    F: Service<Request<B>, Response = Response<FB>>,
{
    let found = match locate(&cfg, req.uri().path()).await {
        Ok(found) => found,
        Err(res) => return Ok(res),
    };
    let (Lookup::Missing(p)
    | Lookup::File { physical: p, .. }
    | Lookup::Dir { physical: p, .. }
    | Lookup::Failed(_, p)) = &found;
    tracing::debug!(
        name: "STATIC_FILE_START",
        target: "tower_iis::static_files",
        area = "StaticFile",
        RequestURL = req.uri().path(),
        PhysicalPath = %p.display(),
        Found = matches!(found, Lookup::File { .. } | Lookup::Dir { .. }),
    );
    if let (Lookup::Missing(_), Some(mut fallback)) = (&found, fallback) {
        std::future::poll_fn(|cx| fallback.poll_ready(cx)).await?;
        let res = fallback.call(req).await?;
        return Ok(res.map(StaticBody::fallback));
    }
    let (canonical, physical, name, is_dir) = match found {
        Lookup::Missing(physical) => {
            if let Some(res) = verb_answer(req.method(), &physical) {
                return Ok(res);
            }
            return Ok(error(with_physical(IisStatus::NOT_FOUND, &physical)));
        }
        Lookup::Failed(e, physical) => return Ok(lookup_failed(e, &physical)),
        Lookup::File {
            canonical,
            physical,
            name,
        } => (canonical, physical, name, false),
        Lookup::Dir {
            canonical,
            physical,
        } => (canonical, physical, String::new(), true),
    };
    if let Some(res) = verb_answer(req.method(), &physical) {
        return Ok(res);
    }
    if !is_dir {
        return Ok(serve_file(&cfg, canonical, &physical, &name, req).await);
    }
    Ok(serve_directory(&cfg, canonical, physical, req).await)
}

/// Maps the request path to what is on disk; a path refused outright is the
/// response (400).
async fn locate<FB>(cfg: &Arc<Config>, raw_path: &str) -> Result<Lookup, Response<StaticBody<FB>>> {
    Ok(match path::split(raw_path) {
        Ok(segs) => {
            let found = lookup(cfg, segs.segments).await;
            match found {
                // `/file.htm/` names no folder.
                Lookup::File { physical, .. } if segs.trailing_slash => Lookup::Missing(physical),
                other => other,
            }
        }
        Err(PathProblem::Invalid(why)) => {
            tracing::debug!(
                target: "tower_iis::static_files",
                path = raw_path,
                why,
                "request path refused: 400"
            );
            return Err(error(IisError::new(IisStatus::BAD_REQUEST).with_hresult(0)));
        }
        Err(PathProblem::Unmappable(why)) => {
            tracing::debug!(
                target: "tower_iis::static_files",
                path = raw_path,
                why,
                "request path names no file"
            );
            Lookup::Missing(cfg.root.join(raw_path.trim_start_matches('/')))
        }
    })
}

/// The answer when the file system refused to say what is there.
fn lookup_failed<FB>(e: io::Error, physical: &Path) -> Response<StaticBody<FB>> {
    let status = if e.kind() == io::ErrorKind::PermissionDenied {
        IisStatus::UNAUTHORIZED_ACL_ON_RESOURCE
    } else {
        IisStatus::INTERNAL_SERVER_ERROR
    };
    let win32 = e
        .raw_os_error()
        .map_or(0, |c| if c == EACCES { ERROR_ACCESS_DENIED } else { 0 });
    let mut err = with_physical(status, physical).with_source(e);
    if win32 != 0 {
        err = err.with_win32_status(win32);
    }
    error(err)
}

/// A folder: the courtesy redirect to its `/` form, a default document, a listing,
/// or 403.14.
async fn serve_directory<B, FB>(
    cfg: &Config,
    canonical: PathBuf,
    physical: PathBuf,
    req: Request<B>,
) -> Response<StaticBody<FB>>
where
    B: Send + 'static,
{
    let raw_path = req.uri().path();
    let segs = path::split(raw_path)
        .map(|s| s.segments)
        .unwrap_or_default();
    let mut dir_physical = physical.into_os_string();
    dir_physical.push(std::path::MAIN_SEPARATOR_STR);
    let dir_physical = PathBuf::from(dir_physical);
    if !raw_path.ends_with(['/', '\\']) {
        return courtesy_redirect(&req);
    }
    if cfg.default_document_enabled && !cfg.default_documents.is_empty() {
        if let Ok(Some(doc)) = find_default_document(cfg, &canonical).await {
            let physical = dir_physical.join(&doc);
            let file = canonical.join(&doc);
            // A default document that links outside the root is not served.
            if let Ok(c) = tokio::fs::canonicalize(&file).await {
                if c.starts_with(&cfg.root) {
                    return serve_file(cfg, c, &physical, &doc, req).await;
                }
            }
        }
    }
    if cfg.directory_browse {
        let host = req
            .headers()
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .map_or("localhost", |h| host_name(h));
        let mut url_path = String::from("/");
        for s in &segs {
            url_path.push_str(s);
            url_path.push('/');
        }
        return match listing::render(&canonical, &cfg.root, host, &url_path).await {
            Ok(page) => {
                let mut res = Response::new(StaticBody::page(Bytes::from(page)));
                res.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/html; charset=utf-8"),
                );
                if req.method() == Method::HEAD {
                    *res.body_mut() = StaticBody::empty();
                }
                res
            }
            Err(e) => {
                error(with_physical(IisStatus::INTERNAL_SERVER_ERROR, &dir_physical).with_source(e))
            }
        };
    }
    error(with_physical(
        IisStatus::FORBIDDEN_DIRECTORY_LISTING_DENIED,
        &dir_physical,
    ))
}

/// `host` of `host:port` (IPv6 literals kept whole).
fn host_name(h: &str) -> &str {
    http_util::split_host_port(h).map_or(h, |(name, _)| name)
}

async fn find_default_document(cfg: &Config, dir: &Path) -> io::Result<Option<String>> {
    let mut read = tokio::fs::read_dir(dir).await?;
    let mut names = Vec::new();
    while let Some(entry) = read.next_entry().await? {
        if let Ok(name) = entry.file_name().into_string() {
            if entry.file_type().await.is_ok_and(|t| !t.is_dir()) {
                names.push(name);
            }
        }
    }
    Ok(cfg.default_documents.iter().find_map(|doc| {
        // An exact match first, then IIS's case-insensitive one.
        names
            .iter()
            .find(|n| *n == doc)
            .or_else(|| names.iter().find(|n| n.eq_ignore_ascii_case(doc)))
            .cloned()
    }))
}

async fn serve_file<B, FB>(
    cfg: &Config,
    canonical: PathBuf,
    physical: &Path,
    name: &str,
    req: Request<B>,
) -> Response<StaticBody<FB>>
where
    B: Send + 'static,
{
    let Some(mime_type) = cfg.mime_map.mime_type_for(name) else {
        return error(with_physical(
            IisStatus::NOT_FOUND_MIME_TYPE_RESTRICTION,
            physical,
        ));
    };
    let Ok(mime) = mime_type.parse::<::mime::Mime>() else {
        return error(with_physical(
            IisStatus::NOT_FOUND_MIME_TYPE_RESTRICTION,
            physical,
        ));
    };
    let head = req.method() == Method::HEAD;
    // Opened without following links, and served from that open file: a folder
    // swapped for a link after the lookup cannot lead outside the root.
    let opened = match open::open_beneath(&cfg.root, &canonical).await {
        Ok(o) => o,
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::NotFound | io::ErrorKind::InvalidInput
            ) =>
        {
            tracing::debug!(target: "tower_iis::static_files", path = %physical.display(), error = %e, "the file changed after it was looked up: not served");
            return error(with_physical(IisStatus::NOT_FOUND, physical));
        }
        Err(e) => return lookup_failed(e, physical),
    };
    let mut serve = ServeFile::new_with_mime(&opened.path, &mime);
    let res = match serve.call(req).await {
        Ok(res) => res,
        Err(never) => match never {},
    };
    // tower-http has opened its own handle on the same file by now.
    drop(opened);
    let length = http_util::content_length(res.headers());
    let bodiless = head || res.status() == StatusCode::NOT_MODIFIED;
    res.map(|body| {
        if bodiless {
            StaticBody::empty()
        } else {
            StaticBody::file(body, length)
        }
    })
}

/// IIS's answer to a folder requested without its trailing slash.
fn courtesy_redirect<B, FB>(req: &Request<B>) -> Response<StaticBody<FB>> {
    let mut location = String::new();
    if let Some(host) = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
    {
        let tls = http_util::is_tls(crate::connection::connection_info(req), req.uri());
        location.push_str(if tls { "https://" } else { "http://" });
        location.push_str(host);
    }
    location.push_str(req.uri().path());
    location.push('/');
    if let Some(q) = req.uri().query() {
        location.push('?');
        location.push_str(q);
    }
    let Ok(value) = HeaderValue::from_str(&location) else {
        return error(IisError::new(IisStatus::BAD_REQUEST).with_hresult(0));
    };
    let body = crate::http_util::redirect_page(&location);
    let mut res = Response::new(if req.method() == Method::HEAD {
        StaticBody::empty()
    } else {
        StaticBody::page(Bytes::from(body))
    });
    *res.status_mut() = StatusCode::MOVED_PERMANENTLY;
    let headers = res.headers_mut();
    headers.insert(header::LOCATION, value);
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=UTF-8"),
    );
    res
}

pin_project! {
    /// The response body of [`StaticFiles`]: a file, a page this module wrote
    /// (listing, redirect), nothing, or the fallback's body.
    pub struct StaticBody<B> {
        #[pin]
        kind: Kind<B>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<B> {
        File { #[pin] body: ServeFileSystemResponseBody, remaining: Option<u64> },
        Page { data: Option<Bytes> },
        Fallback { #[pin] body: B },
    }
}

impl<B> StaticBody<B> {
    fn file(body: ServeFileSystemResponseBody, length: Option<u64>) -> Self {
        // The file body reports its end only when polled past it; counting down
        // the length it was sent with lets `is_end_stream` say so at the last byte
        // (hyper does not poll again, and the log would take it for a dropped client).
        let remaining = length.or(body.size_hint().exact());
        Self {
            kind: Kind::File { body, remaining },
        }
    }

    fn page(data: Bytes) -> Self {
        Self {
            kind: Kind::Page {
                data: (!data.is_empty()).then_some(data),
            },
        }
    }

    fn empty() -> Self {
        Self {
            kind: Kind::Page { data: None },
        }
    }

    fn fallback(body: B) -> Self {
        Self {
            kind: Kind::Fallback { body },
        }
    }
}

impl<B> Default for StaticBody<B> {
    fn default() -> Self {
        Self::empty()
    }
}

impl<B> fmt::Debug for StaticBody<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match &self.kind {
            Kind::File { .. } => "StaticBody::File",
            Kind::Page { .. } => "StaticBody::Page",
            Kind::Fallback { .. } => "StaticBody::Fallback",
        })
    }
}

impl<B> Body for StaticBody<B>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        match self.project().kind.project() {
            KindProj::File { body, remaining } => {
                let frame = ready!(body.poll_frame(cx));
                if let (Some(Ok(f)), Some(left)) = (&frame, remaining.as_mut()) {
                    if let Some(data) = f.data_ref() {
                        *left = left.saturating_sub(data.len() as u64);
                    }
                }
                Poll::Ready(frame.map(|f| f.map_err(Into::into)))
            }
            KindProj::Page { data } => Poll::Ready(data.take().map(|d| Ok(Frame::data(d)))),
            KindProj::Fallback { body } => body.poll_frame(cx).map_err(Into::into),
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            Kind::File { body, remaining } => *remaining == Some(0) || body.is_end_stream(),
            Kind::Page { data } => data.is_none(),
            Kind::Fallback { body } => body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            Kind::File { body, remaining } => match remaining {
                Some(left) => SizeHint::with_exact(*left),
                None => body.size_hint(),
            },
            Kind::Page { data } => {
                SizeHint::with_exact(data.as_ref().map_or(0, |d| d.len() as u64))
            }
            Kind::Fallback { body } => body.size_hint(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_word_check_agrees_with_the_table() {
        let table = |p: &[u8]| p.iter().all(|&b| PLAIN[usize::from(b)]);
        // Every byte alone, and at every place of paths of one to three words and
        // a remainder.
        for b in 0..=255u8 {
            assert_eq!(all_plain(&[b]), PLAIN[usize::from(b)], "{b:#x}");
            for len in 2..=25 {
                for at in 0..len {
                    let mut p = vec![b'a'; len];
                    p[at] = b;
                    assert_eq!(all_plain(&p), table(&p), "{b:#x} at {at} of {len}");
                    // Next to the edges of the allowed range.
                    for other in [0x20, 0x21, 0x7e, 0x7f, 0x80, b'%', b'\\'] {
                        p[(at + 1) % len] = other;
                        assert_eq!(
                            all_plain(&p),
                            table(&p),
                            "{b:#x}, {other:#x} at {at} of {len}"
                        );
                    }
                }
            }
        }
        assert!(all_plain(b""));
        // Pseudo-random paths over the bytes around every boundary.
        let alphabet = [
            b'a', b'/', b'.', b'%', b'\\', 0x20, 0x21, 0x7e, 0x7f, 0x80, 0xff, 0,
        ];
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        for _ in 0..50_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let len = usize::try_from(x % 40).unwrap();
            let p: Vec<u8> = (0..len)
                .map(|i| alphabet[usize::try_from((x >> (i % 60)) % 12).unwrap()])
                .collect();
            assert_eq!(all_plain(&p), table(&p), "{p:?}");
        }
    }

    #[test]
    fn plain_segments_are_what_split_returns() {
        for p in [
            "/",
            "//",
            "/api/items/42",
            "/shop//products/item.aspx",
            "/a/b/",
            "/...",
            "/.a/b.",
            "/a..b",
            "/x/.../y",
            "/~user/!$&'()*+,;=@",
        ] {
            let plain: Vec<&str> = plain_segments(p).expect(p).collect();
            let split = path::split(p).map(|s| s.segments);
            match split {
                Ok(segs) => assert_eq!(plain, segs, "{p}"),
                // Names Windows would alias: "not found" either way.
                Err(PathProblem::Unmappable(_)) => {}
                Err(e) => panic!("{p}: {e:?}"),
            }
        }
        for p in [
            "/a/../b",
            "/./a",
            "/a/.",
            "/a/..",
            "/a%20b",
            "/a\\b",
            "/caf\u{e9}",
            "/a b",
            "/a\tb",
        ] {
            assert!(plain_segments(p).is_none(), "{p}");
        }
    }
}
