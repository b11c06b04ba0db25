//! [`ResponseFuture`]: waits for the inner response and applies the `<httpErrors>` rules.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use http_body::Body;
use pin_project_lite::pin_project;
use tower_service::Service;

use super::config::{ErrorMode, ExistingResponse, Page, Pages, Resolved, Target};
use super::execute_url::ExecuteUrlMode;
use super::render::{self, RequestContext};
use super::ResponseBody;
use crate::error::IisError;
use crate::status::IisStatus;

pin_project! {
    /// The response future of [`HttpErrors`](super::HttpErrors).
    pub struct ResponseFuture<S, ReqB, M>
    where
        S: Service<Request<ReqB>>,
    {
        #[pin]
        state: State<S, ReqB>,
        ctx: RequestContext,
        config: Arc<Resolved>,
        mode: PhantomData<fn() -> M>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<S, ReqB>
    where
        S: Service<Request<ReqB>>,
    {
        Inner { #[pin] fut: S::Future, child_service: Option<S> },
        ChildReady { service: S, req: Option<Request<ReqB>> },
        Child { #[pin] fut: S::Future },
    }
}

impl<S, ReqB, M> ResponseFuture<S, ReqB, M>
where
    S: Service<Request<ReqB>>,
{
    #[inline(always)]
    pub(crate) fn new(
        fut: S::Future,
        ctx: RequestContext,
        config: Arc<Resolved>,
        child_service: Option<S>,
    ) -> Self {
        Self {
            state: State::Inner { fut, child_service },
            ctx,
            config,
            mode: PhantomData,
        }
    }
}

impl<S, ReqB, ResB, M> Future for ResponseFuture<S, ReqB, M>
where
    S: Service<Request<ReqB>, Response = Response<ResB>>,
    M: ExecuteUrlMode<ReqB>,
    ResB: Body,
{
    type Output = Result<Response<ResponseBody<ResB>>, S::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        if let StateProj::Inner { fut, .. } = this.state.as_mut().project() {
            let polled = fut.poll(cx);
            // Pending, an error, or 1xx-3xx: nothing to decide; a response only
            // changes body type (mapped in place, without taking it out first).
            if !matches!(&polled, Poll::Ready(Ok(res)) if res.status().as_u16() >= 400) {
                let config = &**this.config;
                return polled.map_ok(|res| {
                    let mut res = res.map(ResponseBody::inner);
                    add_server_headers(config, res.headers_mut());
                    res
                });
            }
            let Poll::Ready(Ok(res)) = polled else {
                unreachable!("an error response")
            };
            if let Some(res) =
                on_error::<S, ReqB, ResB, M>(this.state.as_mut(), this.ctx, this.config, res)
            {
                return Poll::Ready(Ok(res));
            }
        }
        poll_child(this.state, this.ctx, this.config, cx)
    }
}

/// An error response from the inner service: the page, or the ExecuteURL child
/// request set up in `state` (then `None`). Kept out of `poll`, so that the
/// success path stays small enough to inline.
#[inline(never)]
fn on_error<S, ReqB, ResB, M>(
    mut state: Pin<&mut State<S, ReqB>>,
    ctx: &RequestContext,
    config: &Resolved,
    res: Response<ResB>,
) -> Option<Response<ResponseBody<ResB>>>
where
    S: Service<Request<ReqB>, Response = Response<ResB>>,
    M: ExecuteUrlMode<ReqB>,
    ResB: Body,
{
    let StateProj::Inner { child_service, .. } = state.as_mut().project() else {
        unreachable!("an error response comes from the inner future")
    };
    match respond::<_, _, _, M>(config, ctx, res, child_service) {
        Outcome::Done(mut res) => {
            add_server_headers(config, res.headers_mut());
            Some(res)
        }
        Outcome::Execute(service, req) => {
            state.set(State::ChildReady {
                service,
                req: Some(req),
            });
            None
        }
    }
}

/// The ExecuteURL child request: sent once the service is ready, its response
/// passed on as it is.
#[inline(never)]
fn poll_child<S, ReqB, ResB>(
    mut state: Pin<&mut State<S, ReqB>>,
    ctx: &RequestContext,
    config: &Resolved,
    cx: &mut Context<'_>,
) -> Poll<Result<Response<ResponseBody<ResB>>, S::Error>>
where
    S: Service<Request<ReqB>, Response = Response<ResB>>,
    ResB: Body,
{
    loop {
        match state.as_mut().project() {
            StateProj::Inner { .. } => unreachable!("the inner response was handled"),
            StateProj::ChildReady { service, req } => {
                ready!(service.poll_ready(cx))?;
                let req = req.take().expect("child request is sent once");
                let fut = service.call(req);
                state.set(State::Child { fut });
            }
            StateProj::Child { fut } => {
                // IIS: the child's own status wins; its response is sent as it is.
                let res = ready!(fut.poll(cx))?;
                let head = ctx.head;
                let mut res = res.map(|body| {
                    if head {
                        ResponseBody::empty()
                    } else {
                        ResponseBody::inner(body)
                    }
                });
                add_server_headers(config, res.headers_mut());
                return Poll::Ready(Ok(res));
            }
        }
    }
}

enum Outcome<B, S, ReqB> {
    Done(Response<ResponseBody<B>>),
    /// Re-dispatch: the service clone taken for it and the child request.
    Execute(S, Request<ReqB>),
}

/// Headers that describe the body; they go when the body is replaced.
const BODY_HEADERS: [header::HeaderName; 9] = [
    header::CONTENT_TYPE,
    header::CONTENT_LENGTH,
    header::CONTENT_ENCODING,
    header::CONTENT_LANGUAGE,
    header::CONTENT_RANGE,
    header::CONTENT_DISPOSITION,
    header::TRANSFER_ENCODING,
    header::ETAG,
    header::LAST_MODIFIED,
];

#[inline]
fn add_server_headers(config: &Resolved, headers: &mut HeaderMap) {
    if let Some(server) = &config.server_header {
        crate::custom_headers::insert_server_header(headers, server);
    }
}

/// The status.substatus of a response: the code from the response, the substatus
/// from the error extension when it speaks of the same code.
fn response_status(status: StatusCode, err: Option<&IisError>) -> IisStatus {
    let sub = err
        .filter(|e| e.status().code() == status.as_u16())
        .map_or(0, IisError::substatus);
    IisStatus::try_new(status.as_u16(), sub).unwrap_or_else(|| IisStatus::from(status))
}

fn respond<B, S, ReqB, M>(
    config: &Resolved,
    ctx: &RequestContext,
    res: Response<B>,
    child_service: &mut Option<S>,
) -> Outcome<B, S, ReqB>
where
    B: Body,
    M: ExecuteUrlMode<ReqB>,
{
    // An `AbortRequest` stands for a connection IIS resets: no page is sent.
    if res.status().as_u16() < 400
        || res
            .extensions()
            .get::<crate::gate::RequestAborted>()
            .is_some()
    {
        return Outcome::Done(res.map(ResponseBody::inner));
    }
    let (mut parts, body) = res.into_parts();
    let err = parts.extensions.get::<IisError>();
    let logon = parts.extensions.get::<crate::Logon>();
    let status = response_status(parts.status, err);
    let (detailed, replace) = page_choice(config, ctx, err, &body);
    if !replace {
        return Outcome::Done(Response::from_parts(parts, ResponseBody::inner(body)));
    }
    drop(body);
    // An `IisError` response usually has no headers at all.
    if !parts.headers.is_empty() {
        for name in &BODY_HEADERS {
            parts.headers.remove(name);
        }
    }

    if config.problem_details && ctx.prefers_problem_json() {
        let json = render::problem_json(ctx, status, err, logon, detailed);
        return Outcome::Done(page_response(
            ctx,
            parts,
            HeaderValue::from_static("application/problem+json"),
            Bytes::from(json),
        ));
    }
    if detailed {
        let page = render::detailed_page(&config.settings, ctx, status, err, logon);
        parts
            .headers
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("private"));
        return Outcome::Done(page_response(
            ctx,
            parts,
            HeaderValue::from_static("text/html; charset=utf-8"),
            Bytes::from(page),
        ));
    }
    match config.target(status.code(), status.substatus()) {
        Some(Target::File {
            content_type,
            pages,
        }) => match pick_page(config, ctx, pages) {
            Some(page) => Outcome::Done(page_response_with_length(
                ctx,
                parts,
                content_type.clone(),
                page.body.clone(),
                page.length.clone(),
            )),
            None => Outcome::Done(one_liner(ctx, parts, status.code())),
        },
        Some(Target::Redirect(location)) => {
            let location = if location.starts_with('/') {
                format!("{}{location}", ctx.origin())
            } else {
                location.clone()
            };
            match HeaderValue::from_str(&location) {
                Ok(value) => {
                    parts.status = StatusCode::FOUND;
                    parts.headers.insert(header::LOCATION, value);
                    let body = crate::http_util::redirect_page(&location);
                    Outcome::Done(page_response(
                        ctx,
                        parts,
                        HeaderValue::from_static("text/html; charset=UTF-8"),
                        Bytes::from(body),
                    ))
                }
                Err(_) => Outcome::Done(one_liner(ctx, parts, status.code())),
            }
        }
        Some(Target::ExecuteUrl(path)) => {
            match (
                child_service.take(),
                child_request::<ReqB, M>(ctx, path, status),
            ) {
                (Some(service), Some(req)) => Outcome::Execute(service, req),
                _ => {
                    tracing::warn!(
                        path = %path,
                        "httpErrors ExecuteURL row skipped: the request body type cannot be built empty"
                    );
                    Outcome::Done(one_liner(ctx, parts, status.code()))
                }
            }
        }
        None => Outcome::Done(one_liner(ctx, parts, status.code())),
    }
}

/// Whether the page is the detailed one, and whether the layer replaces the
/// response's own body at all (`errorMode` and `existingResponse`).
fn page_choice<B: Body>(
    config: &Resolved,
    ctx: &RequestContext,
    err: Option<&IisError>,
    body: &B,
) -> (bool, bool) {
    let detailed = match config.error_mode {
        ErrorMode::Detailed => true,
        ErrorMode::Custom => false,
        ErrorMode::DetailedLocalOnly => ctx.local,
    };
    let has_body = !body.is_end_stream() && body.size_hint().exact() != Some(0);
    let skip = err.is_some_and(IisError::skips_custom_errors);
    let replace = match config.existing_response {
        ExistingResponse::PassThrough => false,
        ExistingResponse::Replace => true,
        // IIS's decision list: skip flag, then custom replaces, then detailed fills
        // only an empty entity.
        ExistingResponse::Auto => !skip && (!detailed || !has_body),
        ExistingResponse::FillEmpty => !has_body,
    };
    (detailed, replace)
}

fn pick_page<'a>(config: &Resolved, ctx: &RequestContext, pages: &'a Pages) -> Option<&'a Page> {
    match pages {
        Pages::Single(page) => Some(page),
        Pages::Localized {
            by_language,
            default_language,
        } => {
            if !ctx.has_accept_language() {
                let lang = config.no_header_language.as_ref()?;
                return by_language.get(lang);
            }
            ctx.best_language(|tag| {
                // Few languages: a scan beats hashing, and needs no lower-cased copy.
                by_language
                    .iter()
                    .find(|(lang, _)| lang.eq_ignore_ascii_case(tag))
                    .map(|(_, page)| page)
            })
            .or_else(|| default_language.as_ref().and_then(|d| by_language.get(d)))
        }
    }
}

fn child_request<ReqB, M: ExecuteUrlMode<ReqB>>(
    ctx: &RequestContext,
    path: &str,
    status: IisStatus,
) -> Option<Request<ReqB>> {
    let body = M::child_body()?;
    let sep = if path.contains('?') { '&' } else { '?' };
    let uri = format!("{path}{sep}{};{}", status.code(), ctx.full_url());
    let mut req = Request::builder()
        .method(Method::GET)
        .uri(uri)
        .body(body)
        .ok()?;
    let headers = req.headers_mut();
    for (name, value) in [
        (header::HOST, &ctx.host),
        (header::ACCEPT, &ctx.accept),
        (header::ACCEPT_LANGUAGE, &ctx.accept_language),
    ] {
        if let Some(v) = value {
            headers.insert(name, v.clone());
        }
    }
    if let Some(conn) = ctx.conn {
        req.extensions_mut().insert(conn);
    }
    Some(req)
}

fn page_response<B>(
    ctx: &RequestContext,
    parts: http::response::Parts,
    content_type: HeaderValue,
    page: Bytes,
) -> Response<ResponseBody<B>> {
    let length = HeaderValue::from(page.len());
    page_response_with_length(ctx, parts, content_type, page, length)
}

fn page_response_with_length<B>(
    ctx: &RequestContext,
    mut parts: http::response::Parts,
    content_type: HeaderValue,
    page: Bytes,
    length: HeaderValue,
) -> Response<ResponseBody<B>> {
    parts.headers.insert(header::CONTENT_TYPE, content_type);
    parts.headers.insert(header::CONTENT_LENGTH, length);
    let body = if ctx.head {
        ResponseBody::empty()
    } else {
        ResponseBody::page(page)
    };
    Response::from_parts(parts, body)
}

fn one_liner<B>(
    ctx: &RequestContext,
    parts: http::response::Parts,
    status: u16,
) -> Response<ResponseBody<B>> {
    page_response(
        ctx,
        parts,
        HeaderValue::from_static("text/html"),
        Bytes::from_static(render::one_liner(status).as_bytes()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connection::ConnectionInfo;
    use crate::http_errors::{ErrorMode, HttpErrorsLayer};

    /// Requests that differ in what a page choice could read: the client's
    /// address and `Accept-Language` (absent, empty, a wildcard, refused
    /// languages, weights, bytes that are not text).
    fn requests() -> Vec<Request<()>> {
        let languages: [Option<&[u8]>; 9] = [
            None,
            Some(b"en-US"),
            Some(b"fr"),
            Some(b""),
            Some(b"*"),
            Some(b"en-us;q=0, fr"),
            Some(b"de;q=0.5, EN-US;q=0.4"),
            Some(b"fr, en;q=0.1"),
            Some(b"\xe9t\xe9"),
        ];
        let mut reqs = Vec::new();
        for remote in ["127.0.0.1:50000", "203.0.113.7:50000"] {
            for language in languages {
                let mut req = Request::builder()
                    .uri("/missing.htm")
                    .header("host", "localhost");
                if let Some(value) = language {
                    req = req.header(
                        header::ACCEPT_LANGUAGE,
                        HeaderValue::from_bytes(value).expect("a header value"),
                    );
                }
                let mut req = req.body(()).expect("a request");
                req.extensions_mut().insert(ConnectionInfo::new(
                    remote.parse().expect("an address"),
                    "127.0.0.1:80".parse().expect("an address"),
                ));
                reqs.push(req);
            }
        }
        reqs
    }

    /// The page (by address) a custom error would get for every built-in row.
    fn pages(config: &Resolved, ctx: &RequestContext) -> Vec<Option<*const Page>> {
        crate::http_util::DEFAULT_ERROR_STATUSES
            .iter()
            .map(|&status| match config.target(status, 0) {
                Some(Target::File { pages, .. }) => {
                    pick_page(config, ctx, pages).map(std::ptr::from_ref)
                }
                _ => None,
            })
            .collect()
    }

    #[test]
    fn the_planned_capture_picks_the_page_a_full_capture_picks() {
        let layers = [
            HttpErrorsLayer::new(),
            HttpErrorsLayer::builder()
                .error_mode(ErrorMode::Custom)
                .build()
                .expect("valid"),
            HttpErrorsLayer::builder()
                .error_mode(ErrorMode::Custom)
                .fallback_language("en-US")
                .build()
                .expect("valid"),
            HttpErrorsLayer::builder()
                .error_mode(ErrorMode::Custom)
                .fallback_language("fr")
                .build()
                .expect("valid"),
        ];
        let mut found = 0;
        for layer in &layers {
            let config = &*layer.config;
            for req in requests() {
                let planned = RequestContext::capture_with(&req, &config.capture);
                let full = RequestContext::capture(&req);
                if config.error_mode == ErrorMode::DetailedLocalOnly {
                    assert_eq!(planned.local, full.local);
                    if full.local {
                        // The detailed page: no custom page is chosen.
                        continue;
                    }
                }
                let expected = pages(config, &full);
                found += expected.iter().flatten().count();
                assert_eq!(
                    pages(config, &planned),
                    expected,
                    "{:?} with Accept-Language {:?}",
                    config.capture,
                    req.headers().get(header::ACCEPT_LANGUAGE)
                );
            }
        }
        // The comparison saw pages, not only one-liners.
        assert!(found > 0);
    }
}
