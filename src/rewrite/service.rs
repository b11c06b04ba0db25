//! [`RewriteLayer`], its service [`Rewrite`] and [`ResponseFuture`].

use std::fmt;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::header::{HeaderValue, CONTENT_TYPE, LOCATION};
use http::{Request, Response, StatusCode, Uri};
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use super::engine::{Compiled, Eval, Kind, Outcome};
use super::rules::{RewriteMap, Rule};
use super::vars::RequestView;
use crate::connection::connection_info;
use crate::gate::Denial;
use crate::http_errors::ResponseBody;
use crate::{ConfigError, IisError};

/// IIS URL Rewrite's inbound rules as a layer. See the [module docs](super).
#[derive(Debug, Clone)]
pub struct RewriteLayer {
    compiled: Arc<Compiled>,
}

/// Builds a [`RewriteLayer`].
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct RewriteLayerBuilder {
    rules: Vec<Rule>,
    maps: Vec<RewriteMap>,
    root: Option<PathBuf>,
}

impl RewriteLayerBuilder {
    /// Adds a rule after those already added.
    pub fn rule(mut self, rule: Rule) -> Self {
        self.rules.push(rule);
        self
    }

    /// Adds rules after those already added.
    pub fn rules(mut self, rules: impl IntoIterator<Item = Rule>) -> Self {
        self.rules.extend(rules);
        self
    }

    /// Adds a rewrite map.
    pub fn map(mut self, map: RewriteMap) -> Self {
        self.maps.push(map);
        self
    }

    /// Adds rewrite maps.
    pub fn maps(mut self, maps: impl IntoIterator<Item = RewriteMap>) -> Self {
        self.maps.extend(maps);
        self
    }

    /// The content root: `{REQUEST_FILENAME}` and the `IsFile` / `IsDirectory`
    /// checks map URLs under it.
    pub fn physical_root(mut self, root: impl Into<PathBuf>) -> Self {
        self.root = Some(root.into());
        self
    }

    /// Compiles the rules.
    ///
    /// # Errors
    ///
    /// A pattern that is not a valid regular expression, an unknown server variable,
    /// function or rewrite map in an input or URL, a `CustomResponse` status out of
    /// range, a `Rewrite` or `Redirect` without a URL, an `IsFile` / `IsDirectory`
    /// condition without a physical root, two rules or maps of one name. The
    /// error's setting names the rule and the attribute, e.g.
    /// `rewrite rule 'Force HTTPS' conditions/add[1]@input`.
    pub fn build(self) -> Result<RewriteLayer, ConfigError> {
        Ok(RewriteLayer {
            compiled: Arc::new(Compiled::compile(&self.rules, &self.maps, self.root)?),
        })
    }
}

impl RewriteLayer {
    /// A builder with no rules.
    pub fn builder() -> RewriteLayerBuilder {
        RewriteLayerBuilder::default()
    }

    /// Whether the layer has no inbound rule: every request goes on unchanged.
    #[cfg(feature = "site")]
    pub(crate) fn is_empty(&self) -> bool {
        self.compiled.is_empty()
    }

    /// The number of enabled rules.
    #[must_use]
    pub fn rule_count(&self) -> usize {
        self.compiled.len()
    }
}

impl<S> Layer<S> for RewriteLayer {
    type Service = Rewrite<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Rewrite {
            inner,
            compiled: self.compiled.clone(),
        }
    }
}

/// The URL a request was rewritten to, on the response when the rule said
/// `logRewrittenUrl="true"`: the W3C log writes it as `cs-uri-stem` and
/// `cs-uri-query`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RewrittenUrl(pub Uri);

/// The URL a rewritten request was sent with, in the request's extensions for the
/// inner service. The request also carries it (path and query) in the
/// `X-Original-URL` header, as IIS does (`HTTP_X_ORIGINAL_URL`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OriginalUrl(pub Uri);

/// The service of [`RewriteLayer`].
#[derive(Debug, Clone)]
pub struct Rewrite<S> {
    inner: S,
    compiled: Arc<Compiled>,
}

impl<S> Rewrite<S> {
    define_inner_service_accessors!();
}

const X_ORIGINAL_URL: http::header::HeaderName =
    http::header::HeaderName::from_static("x-original-url");

type Probe = Pin<Box<dyn Future<Output = (PathBuf, Kind)> + Send>>;

fn probe(path: PathBuf) -> Probe {
    Box::pin(async move {
        let kind = match tokio::fs::metadata(&path).await {
            Ok(m) if m.is_dir() => Kind::Directory,
            Ok(_) => Kind::File,
            Err(_) => Kind::Missing,
        };
        (path, kind)
    })
}

fn evaluate<B>(compiled: &Compiled, req: &Request<B>, probes: &[(PathBuf, Kind)]) -> Eval {
    let view = RequestView {
        method: req.method(),
        uri: req.uri(),
        headers: req.headers(),
        version: req.version(),
        conn: connection_info(req),
        root: compiled.root.as_deref(),
    };
    compiled.evaluate(&view, probes)
}

impl<S, B, RB> Service<Request<B>> for Rewrite<S>
where
    S: Service<Request<B>, Response = Response<RB>> + Clone,
    RB: Default,
{
    type Response = Response<ResponseBody<RB>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, S, B>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        match evaluate(&self.compiled, &req, &[]) {
            Eval::Done(outcome) => ResponseFuture::decided(outcome, req, &mut self.inner),
            Eval::Probe(path) => {
                // The ready service goes with the future; a clone stays.
                let clone = self.inner.clone();
                let inner = std::mem::replace(&mut self.inner, clone);
                ResponseFuture {
                    state: State::Probing {
                        probe: probe(path),
                        ctx: Some(Box::new(ProbeCtx {
                            req,
                            inner,
                            compiled: self.compiled.clone(),
                            probes: Vec::new(),
                        })),
                    },
                }
            }
        }
    }
}

struct ProbeCtx<S, B> {
    req: Request<B>,
    inner: S,
    compiled: Arc<Compiled>,
    probes: Vec<(PathBuf, Kind)>,
}

/// An answer the rules gave without the inner service.
#[derive(Debug)]
enum Answer {
    Redirect {
        status: StatusCode,
        location: String,
    },
    Error(IisError),
    Abort(IisError),
}

pin_project! {
    /// The response future of [`Rewrite`]: the inner service's response (for the
    /// original or the rewritten URL), or the rules' own answer.
    pub struct ResponseFuture<F, S, B> {
        #[pin]
        state: State<F, S, B>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<F, S, B> {
        Probing { probe: Probe, ctx: Option<Box<ProbeCtx<S, B>>> },
        Inner { #[pin] fut: F, logged: Option<Uri> },
        Answer { answer: Option<Answer> },
    }
}

impl<F, S, B> fmt::Debug for ResponseFuture<F, S, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

impl<S: Service<Request<B>, Future = F>, F, B> ResponseFuture<F, S, B> {
    fn decided(outcome: Outcome, mut req: Request<B>, inner: &mut S) -> Self {
        let state = match outcome {
            Outcome::Continue { url, log_rewritten } => {
                let logged = url.and_then(|u| {
                    let new = rewritten_uri(req.uri(), &u)?;
                    let old = std::mem::replace(req.uri_mut(), new.clone());
                    // IIS hands the original URL on as `HTTP_X_ORIGINAL_URL`, which
                    // applications read as the `X-Original-URL` header.
                    let original = old.path_and_query().map_or("/", |pq| pq.as_str());
                    if let Ok(v) = HeaderValue::from_str(original) {
                        req.headers_mut().insert(X_ORIGINAL_URL, v);
                    }
                    req.extensions_mut().insert(OriginalUrl(old));
                    log_rewritten.then_some(new)
                });
                State::Inner {
                    fut: inner.call(req),
                    logged,
                }
            }
            Outcome::Redirect { status, location } => State::Answer {
                answer: Some(Answer::Redirect { status, location }),
            },
            Outcome::Custom(e) => State::Answer {
                answer: Some(Answer::Error(e)),
            },
            Outcome::Abort(e) => State::Answer {
                answer: Some(Answer::Abort(e)),
            },
        };
        Self { state }
    }
}

/// The request's URI with a new path and query (scheme and authority kept).
fn rewritten_uri(old: &Uri, path_and_query: &str) -> Option<Uri> {
    let mut parts = old.clone().into_parts();
    parts.path_and_query = Some(path_and_query.parse().ok()?);
    Uri::from_parts(parts).ok()
}

impl<F, S, B, RB> Future for ResponseFuture<F, S, B>
where
    S: Service<Request<B>, Response = Response<RB>, Future = F>,
    F: Future<Output = Result<Response<RB>, S::Error>>,
    RB: Default,
{
    type Output = Result<Response<ResponseBody<RB>>, S::Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        loop {
            let next = match self.as_mut().project().state.project() {
                StateProj::Probing {
                    probe: pending,
                    ctx,
                } => {
                    let answer = std::task::ready!(pending.as_mut().poll(cx));
                    let mut c = ctx.take().expect("future polled after completion");
                    c.probes.push(answer);
                    match evaluate(&c.compiled, &c.req, &c.probes) {
                        Eval::Probe(path) => State::Probing {
                            probe: probe(path),
                            ctx: Some(c),
                        },
                        Eval::Done(outcome) => {
                            let ProbeCtx { req, mut inner, .. } = *c;
                            Self::decided(outcome, req, &mut inner).state
                        }
                    }
                }
                StateProj::Inner { fut, logged } => {
                    let res = std::task::ready!(fut.poll(cx));
                    let logged = logged.take();
                    return Poll::Ready(res.map(|r| {
                        let mut r = r.map(ResponseBody::inner);
                        if let Some(uri) = logged {
                            r.extensions_mut().insert(RewrittenUrl(uri));
                        }
                        r
                    }));
                }
                StateProj::Answer { answer } => {
                    let answer = answer.take().expect("future polled after completion");
                    return Poll::Ready(Ok(answer_response(answer)));
                }
            };
            self.as_mut().project().state.set(next);
        }
    }
}

fn answer_response<RB: Default>(answer: Answer) -> Response<ResponseBody<RB>> {
    match answer {
        Answer::Redirect { status, location } => match HeaderValue::try_from(location.as_str()) {
            Ok(value) => {
                let page = crate::http_util::redirect_page(&location);
                let mut res = Response::new(ResponseBody::page(Bytes::from(page)));
                *res.status_mut() = status;
                res.headers_mut().insert(LOCATION, value);
                res.headers_mut().insert(
                    CONTENT_TYPE,
                    HeaderValue::from_static("text/html; charset=UTF-8"),
                );
                res
            }
            Err(_) => {
                tracing::warn!(target: "tower_iis::rewrite", "redirect location {location:?} is not a valid header value");
                IisError::new(crate::IisStatus::new(500, 50))
                    .with_module(super::engine::MODULE)
                    .into_http_response::<RB>()
                    .map(ResponseBody::inner)
            }
        },
        Answer::Error(e) => e.into_http_response::<RB>().map(ResponseBody::inner),
        Answer::Abort(e) => Denial::abort(e)
            .into_response::<RB>()
            .map(ResponseBody::inner),
    }
}
