//! [`SessionService`]: what happens around each request.
//!
//! 1. Read the session id: the cookie (or the configured header), signature first; a
//!    forged value is "no session" and costs no store call.
//! 2. For an unsafe method, run the CSRF checks; a refusal is a 403 and the handler is not
//!    called.
//! 3. Call the handler with a lazy [`Session`] in the request extensions.
//! 4. Save before the response leaves (so a redirect followed at once sees the data), then
//!    apply the decision on `Set-Cookie`, `Cache-Control` and `Vary` (`response::decide`).
//!
//! A store failure anywhere makes the response the configured outage status (503), never an
//! empty session that would log the user out.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};

use axum_core::body::Body;
use axum_core::response::Response;
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Request, header};
use http_body_util::BodyExt as _;
use session_core::ErrorKind;

use crate::config::MAX_COOKIE_BYTES;
use crate::cookie;
use crate::csrf;
use crate::presented::{Presented, Source};
use crate::rejection;
use crate::response::{self, CookieAction};
use crate::session::Session;
use crate::settings::Settings;

/// The service [`crate::SessionLayer`] wraps around an inner service.
#[derive(Debug, Clone)]
pub struct SessionService<S> {
    pub(crate) inner: S,
    pub(crate) settings: Arc<Settings>,
}

fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';').next().is_some_and(|m| {
                m.trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            })
        })
}

enum CsrfOutcome {
    Pass(Body),
    Reject(Response),
}

async fn check_csrf(
    settings: &Settings,
    session: &Session,
    parts: &http::request::Parts,
    body: Body,
) -> CsrfOutcome {
    session.state().csrf_checked.store(true, Ordering::Relaxed);
    let headers = &parts.headers;
    let authority = csrf::request_authority(&parts.uri, headers);
    if let Err(reason) = csrf::check_origin(headers, authority, &settings.csrf.trusted_origins) {
        return refuse(reason);
    }
    // A session that never showed a token: origin checks are all there is.
    match session.core().get_raw(csrf::SECRET_KEY).await {
        Ok(Some(_)) => {}
        Ok(None) => return CsrfOutcome::Pass(body),
        Err(e) => {
            if e.kind() == ErrorKind::Unavailable {
                session.state().unavailable.store(true, Ordering::SeqCst);
            }
            session_core::metric::outage_response("csrf_check");
            return CsrfOutcome::Reject(rejection::outage(settings.outage.status));
        }
    }
    let Some(id) = session.core().id().await else {
        return CsrfOutcome::Pass(body);
    };
    let mut in_header = headers.get_all(&settings.csrf.header).iter();
    let (token, body) = if let Some(t) = in_header.next() {
        if in_header.next().is_some() {
            return refuse(csrf::CsrfReason::DuplicateToken);
        }
        (Some(t.as_bytes().to_vec()), body)
    } else if is_form(headers) {
        let limited = http_body_util::Limited::new(body, settings.csrf.max_form_bytes);
        match limited.collect().await {
            Ok(collected) => {
                let bytes: Bytes = collected.to_bytes();
                match csrf::token_in_form(&bytes, &settings.csrf.form_field) {
                    Ok(token) => (token, Body::from(bytes)),
                    Err(reason) => return refuse(reason),
                }
            }
            // The body could not be read (too large, or the client went away).
            Err(_) => return refuse(csrf::CsrfReason::MissingToken),
        }
    } else {
        (None, body)
    };
    match token {
        None => refuse(csrf::CsrfReason::MissingToken),
        Some(t)
            if settings
                .keys
                .csrf_secrets(&id)
                .any(|secret| csrf::token_matches(&t, &secret)) =>
        {
            CsrfOutcome::Pass(body)
        }
        Some(_) => refuse(csrf::CsrfReason::InvalidToken),
    }
}

/// A refused CSRF check, logged with its reason (never the token).
fn refuse(reason: csrf::CsrfReason) -> CsrfOutcome {
    session_core::metric::csrf_refusal(reason.as_str());
    tracing::info!(reason = reason.as_str(), "CSRF check refused a request");
    CsrfOutcome::Reject(rejection::csrf_rejection(reason))
}

/// Appends `name` to `Vary` unless it (or `*`) is already there.
fn append_vary(headers: &mut HeaderMap, name: &'static str) {
    let already = headers.get_all(header::VARY).iter().any(|v| {
        v.to_str().is_ok_and(|s| {
            s.split(',')
                .any(|p| p.trim().eq_ignore_ascii_case(name) || p.trim() == "*")
        })
    });
    if !already {
        headers.append(header::VARY, HeaderValue::from_static(name));
    }
}

async fn finish(settings: &Settings, session: &Session, mut response: Response) -> Response {
    if session.state().csrf_checked.load(Ordering::Relaxed) {
        append_vary(response.headers_mut(), "Origin");
        append_vary(response.headers_mut(), "Sec-Fetch-Site");
    }
    // Nothing touched the session: nothing to save, no cookie, no headers.
    let Some((core, source)) = session.used() else {
        return response;
    };
    let (source, state) = (*source, session.state());
    if state.unavailable.load(Ordering::SeqCst) {
        session_core::metric::outage_response("request");
        return rejection::outage(settings.outage.status);
    }
    match core.save().await {
        Ok(report) => {
            if report.attempts > 1 {
                tracing::debug!(
                    attempts = report.attempts,
                    "session save replayed its changes on a concurrent save (compare-and-swap conflict)"
                );
            }
            if !report.overwritten.is_empty() {
                // Key names are the application's, never values or ids.
                tracing::warn!(
                    keys = ?report.overwritten,
                    "session save overwrote keys another request had changed (insert is last-writer-wins; use update to merge)"
                );
            }
        }
        Err(e) if e.kind() == ErrorKind::Unavailable => {
            tracing::warn!(error = %session_core::observe::error_text(&e), "session save failed: store unavailable");
            session_core::metric::outage_response("save");
            return rejection::outage(settings.outage.status);
        }
        Err(e) => {
            // Never the handler's success for a write that was not stored.
            tracing::warn!(error = %session_core::observe::error_text(&e), "session save failed; the handler's response is replaced");
            return rejection::error_response(&e);
        }
    }
    let events = core.cookie_events().await;
    let accessed = state.accessed.load(Ordering::Relaxed);
    // Only a session this request wrote is asked whether it is remembered: it is loaded
    // by then, so this costs no store call.
    let persistent = settings.cookie.persistent
        || ((events.expiry_moved || events.id_changed) && core.remembered().await.unwrap_or(false));
    let mut decision = response::decide(events, source, persistent, accessed);
    // A live session whose cookie an older key signed gets it re-signed with the newest,
    // so that retiring the older key later logs nobody out.
    if decision.cookie == CookieAction::Keep
        && state.resign.load(Ordering::Relaxed)
        && !events.ended
        && core.exists().await.unwrap_or(false)
    {
        decision.cookie = CookieAction::Issue;
        decision.cache = response::Cache::NoStore;
    }
    let value = match decision.cookie {
        CookieAction::Keep => None,
        CookieAction::Expire => Some(match source {
            Source::Header => String::new(),
            _ => cookie::clear(&settings.cookie),
        }),
        CookieAction::Issue => match core.id().await {
            None => None,
            Some(id) => {
                let signed = settings.keys.sign(&id);
                Some(match source {
                    Source::Header => signed,
                    _ => {
                        let now = settings.session.clock().now();
                        let max_age = cookie::max_age(persistent, now, core.expires_at().await);
                        cookie::set(&settings.cookie, &signed, max_age)
                    }
                })
            }
        },
    };
    let headers = response.headers_mut();
    if let Some(value) = value {
        if value.len() > MAX_COOKIE_BYTES {
            tracing::error!(
                bytes = value.len(),
                limit = MAX_COOKIE_BYTES,
                "session cookie over the browsers' limit not sent"
            );
            return rejection::outage(http::StatusCode::INTERNAL_SERVER_ERROR);
        }
        let Some(hv) = cookie::header_value(&value) else {
            return rejection::outage(http::StatusCode::INTERNAL_SERVER_ERROR);
        };
        match (source, &settings.header_id) {
            (Source::Header, Some(name)) => {
                headers.insert(name.clone(), hv);
            }
            _ => {
                headers.append(header::SET_COOKIE, hv);
            }
        }
    }
    match decision.cache {
        response::Cache::NoStore => {
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        }
        response::Cache::UnlessSet => {
            if let (false, Some(v)) = (
                headers.contains_key(header::CACHE_CONTROL),
                &settings.read_cache_control,
            ) {
                headers.insert(header::CACHE_CONTROL, v.clone());
            }
        }
        response::Cache::Leave => {}
    }
    if decision.vary_cookie {
        append_vary(headers, "Cookie");
    }
    response
}

pin_project_lite::pin_project! {
    /// The response future of [`SessionService`].
    ///
    /// Not boxed on the common path: a request whose handler never touched its session
    /// costs the layer no allocation beyond the session handle itself.
    pub struct ResponseFuture<F, E> {
        #[pin]
        state: State<F, E>,
    }
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

pin_project_lite::pin_project! {
    #[project = StateProj]
    enum State<F, E> {
        /// A safe method (or the header transport): the handler runs at once.
        Handler {
            #[pin]
            fut: F,
            session: Option<Session>,
        },
        /// The handler used the session: saving it and setting the cookie.
        Finish { fut: BoxFuture<Response> },
        /// An unsafe method: the CSRF check (which may read the body), the handler and the
        /// finish, in one future.
        Checked { fut: BoxFuture<Result<Response, E>> },
    }
}

impl<F, E> Future for ResponseFuture<F, E>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut state = self.project().state;
        loop {
            match state.as_mut().project() {
                StateProj::Handler { fut, session } => {
                    let response = match fut.poll(cx) {
                        Poll::Ready(Ok(r)) => r,
                        Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                        Poll::Pending => return Poll::Pending,
                    };
                    let Some(session) = session.take() else {
                        // Only reachable if polled after completion.
                        return Poll::Ready(Ok(response));
                    };
                    if session.used().is_none()
                        && !session.state().csrf_checked.load(Ordering::Relaxed)
                    {
                        // Nothing touched the session: nothing to save, no headers.
                        return Poll::Ready(Ok(response));
                    }
                    let settings = session.settings().clone();
                    state.set(State::Finish {
                        fut: Box::pin(async move { finish(&settings, &session, response).await }),
                    });
                }
                StateProj::Finish { fut } => return fut.as_mut().poll(cx).map(Ok),
                StateProj::Checked { fut } => return fut.as_mut().poll(cx),
            }
        }
    }
}

impl<S, B> tower_service::Service<Request<B>> for SessionService<S>
where
    S: tower_service::Service<Request<Body>, Response = Response> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<axum_core::BoxError>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let settings = &self.settings;
        let (mut parts, body) = req.into_parts();
        let presented = Presented::from_headers(&parts.headers, settings.header_id.as_ref());
        let bytes = presented.cookie_bytes();
        if bytes > settings.cookie.max_header_bytes {
            session_core::metric::cookie_rejection("header_too_large");
            tracing::warn!(
                bytes,
                limit = settings.cookie.max_header_bytes,
                "request refused: Cookie header over the limit"
            );
            let response = rejection::cookie_header_too_large();
            return ResponseFuture {
                state: State::Finish {
                    fut: Box::pin(async move { response }),
                },
            };
        }
        let body = Body::new(body);
        // The session holds the only per-request reference to the settings.
        let session = Session::new(settings.clone(), presented);

        if settings.csrf.enabled
            && !csrf::is_safe(&parts.method)
            && session.source() != Source::Header
        {
            // The handler runs after an await: call a clone and keep the one that is ready
            // (tower's usual swap).
            let settings = settings.clone();
            let clone = self.inner.clone();
            let mut inner = std::mem::replace(&mut self.inner, clone);
            let fut = Box::pin(async move {
                let body = match check_csrf(&settings, &session, &parts, body).await {
                    CsrfOutcome::Pass(b) => b,
                    CsrfOutcome::Reject(r) => return Ok(r),
                };
                parts.extensions.insert(session.clone());
                let response = inner.call(Request::from_parts(parts, body)).await?;
                Ok(finish(&settings, &session, response).await)
            });
            return ResponseFuture {
                state: State::Checked { fut },
            };
        }

        // The handler is called now, on the service that was polled ready: no clone.
        parts.extensions.insert(session.clone());
        let fut = self.inner.call(Request::from_parts(parts, body));
        ResponseFuture {
            state: State::Handler {
                fut,
                session: Some(session),
            },
        }
    }
}
