//! IIS URL Authorization (`<system.webServer><security><authorization>`):
//! allow and deny rules by user, role and verb.
//!
//! [`AuthorizationLayer`] runs at IIS's `AuthorizeRequest`, after authentication:
//! it reads the [`Logon`] the [`AuthenticationLayer`](crate::authentication::AuthenticationLayer)
//! put in the request extensions (no `Logon` counts as an anonymous request) and
//! lets the request through or answers **401.2**.
//!
//! # The rules, as IIS's `UrlAuthorizationModule` evaluates them
//!
//! - A rule is `<add accessType="Allow|Deny" users="…" roles="…" verbs="…"/>`;
//!   `users` and `roles` are comma-separated lists (spaces around the names are
//!   dropped), `*` is every user, anonymous ones included, and `?` is the anonymous
//!   user. Names and roles compare ignoring case; verbs compare **exactly**
//!   (`get` does not match `GET`); a rule without `verbs` applies to every verb.
//! - **Deny rules are evaluated first, then allow rules**; within each kind, in
//!   collection order, which puts the rules a folder inherits before its own. The
//!   first rule that matches decides; when none matches, the request is denied.
//!   So a child folder cannot allow a user its parent denies (unlike ASP.NET's
//!   `system.web/authorization`, which walks its rules top-down, nearest folder
//!   first).
//! - An **Allow rule for `?` admits everyone**, signed-in users too (IIS's module
//!   reads "anonymous may enter" as "anyone may"); a Deny rule for `?` only stops
//!   anonymous requests.
//! - IIS's default is one rule, `Allow users="*"` ([`AuthorizationRules::iis_default`]).
//!
//! # The answer
//!
//! A denied request gets **401.2** ("Logon failed due to server configuration")
//! whether or not the user signed in — IIS's URL Authorization module answers 401.2
//! for both, not 403 — with module `UrlAuthorizationModule`, notification
//! `AuthorizeRequest` and HRESULT `0x80070005`, logged `401 2 5`. When Basic
//! authentication is on, the authentication layer adds its `WWW-Authenticate`
//! challenge to the 401 on the way out, so a browser asks for other credentials.
//!
//! # Example
//!
//! Needs in your crate `tower` (feature `util`), `tokio` (features `macros`, `rt`).
//!
//! ```
//! use std::convert::Infallible;
//! use http::{Request, Response};
//! use tower::{service_fn, ServiceExt};
//! use tower_iis::authorization::{AuthorizationLayer, AuthorizationRule, AuthorizationRules};
//! use tower_iis::{IisError, Logon};
//! use tower_layer::Layer;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let rules = AuthorizationRules::new()
//!     .with(AuthorizationRule::allow().roles("Editors"))
//!     .with(AuthorizationRule::allow().users("*").verbs("GET"));
//! let svc = AuthorizationLayer::new(rules).layer(service_fn(|_req: Request<String>| async {
//!     Ok::<_, Infallible>(Response::new(String::from("ok")))
//! }));
//!
//! // Anyone may read.
//! let res = svc.clone().oneshot(Request::get("/").body(String::new()).unwrap()).await.unwrap();
//! assert_eq!(res.status(), 200);
//!
//! // Only editors may write.
//! let mut req = Request::post("/").body(String::new()).unwrap();
//! req.extensions_mut().insert(Logon::authenticated("Basic", "bob", ["Readers"]));
//! let res = svc.clone().oneshot(req).await.unwrap();
//! assert_eq!(res.status(), 401);
//! let err = res.extensions().get::<IisError>().unwrap();
//! assert_eq!((err.substatus(), err.win32_status()), (2, 5));
//!
//! let mut req = Request::post("/").body(String::new()).unwrap();
//! req.extensions_mut().insert(Logon::authenticated("Basic", "carol", ["Editors"]));
//! assert_eq!(svc.oneshot(req).await.unwrap().status(), 200);
//! # }
//! ```

use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use tower_layer::Layer;
use tower_service::Service;

use crate::logon::{eq_ignore_case, Logon};
use crate::{IisError, IisStatus};

/// The module IIS names for a URL Authorization denial.
pub const MODULE: &str = "UrlAuthorizationModule";
/// The HRESULT of a URL Authorization denial (`E_ACCESSDENIED` as a Win32 code:
/// logged `5`).
pub const HRESULT_DENIED: u32 = 0x8007_0005;

/// Whether a rule allows or denies (`accessType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AccessType {
    /// `Allow`.
    Allow,
    /// `Deny`.
    Deny,
}

impl fmt::Display for AccessType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Allow => "Allow",
            Self::Deny => "Deny",
        })
    }
}

/// One `<add>` of the `<authorization>` collection. See the [module docs](self).
#[derive(Clone, PartialEq, Eq)]
pub struct AuthorizationRule {
    access: AccessType,
    users: String,
    roles: String,
    verbs: String,
    parsed: Parsed,
}

#[derive(Clone, Default, PartialEq, Eq)]
struct Parsed {
    /// `*` in `users` or `roles`.
    everyone: bool,
    /// `?` in `users` or `roles`.
    anonymous: bool,
    users: Vec<Box<str>>,
    roles: Vec<Box<str>>,
    verbs: Vec<Box<str>>,
}

/// IIS's list syntax: split at commas, spaces around each item dropped, empty
/// items left out; `*` and `?` set flags instead of naming anyone (when `flags`).
fn split_list(list: &str, flags: Option<(&mut bool, &mut bool)>) -> Vec<Box<str>> {
    let mut out = Vec::new();
    let mut flags = flags;
    for item in list.split(',') {
        let item = item.trim_matches(' ');
        if item.is_empty() {
            continue;
        }
        if let Some((everyone, anonymous)) = flags.as_mut() {
            match item {
                "*" => {
                    **everyone = true;
                    continue;
                }
                "?" => {
                    **anonymous = true;
                    continue;
                }
                _ => {}
            }
        }
        out.push(Box::from(item));
    }
    out
}

impl AuthorizationRule {
    /// A rule of the given access type that matches nobody yet.
    #[must_use]
    pub fn new(access: AccessType) -> Self {
        Self {
            access,
            users: String::new(),
            roles: String::new(),
            verbs: String::new(),
            parsed: Parsed::default(),
        }
    }

    /// `accessType="Allow"`.
    #[must_use]
    pub fn allow() -> Self {
        Self::new(AccessType::Allow)
    }

    /// `accessType="Deny"`.
    #[must_use]
    pub fn deny() -> Self {
        Self::new(AccessType::Deny)
    }

    /// `users`: comma-separated names, `*` (everyone) or `?` (anonymous).
    #[must_use]
    pub fn users(mut self, users: impl Into<String>) -> Self {
        self.users = users.into();
        self.reparse();
        self
    }

    /// `roles`: comma-separated roles (groups).
    #[must_use]
    pub fn roles(mut self, roles: impl Into<String>) -> Self {
        self.roles = roles.into();
        self.reparse();
        self
    }

    /// `verbs`: comma-separated methods, compared exactly; none means every verb.
    #[must_use]
    pub fn verbs(mut self, verbs: impl Into<String>) -> Self {
        self.verbs = verbs.into();
        self.reparse();
        self
    }

    fn reparse(&mut self) {
        let mut p = Parsed::default();
        let (mut everyone, mut anonymous) = (false, false);
        p.users = split_list(&self.users, Some((&mut everyone, &mut anonymous)));
        p.roles = split_list(&self.roles, Some((&mut everyone, &mut anonymous)));
        p.verbs = split_list(&self.verbs, None);
        p.everyone = everyone;
        p.anonymous = anonymous;
        self.parsed = p;
    }

    /// `accessType`.
    #[must_use]
    pub fn access_type(&self) -> AccessType {
        self.access
    }

    /// `users`, as given.
    #[must_use]
    pub fn users_attr(&self) -> &str {
        &self.users
    }

    /// `roles`, as given.
    #[must_use]
    pub fn roles_attr(&self) -> &str {
        &self.roles
    }

    /// `verbs`, as given.
    #[must_use]
    pub fn verbs_attr(&self) -> &str {
        &self.verbs
    }

    /// Whether the rule applies to this request (`None`: anonymous).
    #[must_use]
    pub fn matches(&self, logon: Option<&Logon>, verb: &str) -> bool {
        let p = &self.parsed;
        if !p.verbs.is_empty() && !p.verbs.iter().any(|v| &**v == verb) {
            return false;
        }
        if p.everyone {
            return true;
        }
        let user = logon.and_then(Logon::user);
        if p.anonymous && (user.is_none() || self.access == AccessType::Allow) {
            return true;
        }
        let (Some(logon), Some(user)) = (logon, user) else {
            return false;
        };
        p.users.iter().any(|u| eq_ignore_case(u, user))
            || p.roles.iter().any(|r| logon.is_in_role(r))
    }
}

impl fmt::Debug for AuthorizationRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthorizationRule")
            .field("access", &self.access)
            .field("users", &self.users)
            .field("roles", &self.roles)
            .field("verbs", &self.verbs)
            .finish()
    }
}

/// The `<authorization>` collection, in order. See the [module docs](self).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationRules(Vec<AuthorizationRule>);

impl Default for AuthorizationRules {
    /// [`iis_default`](Self::iis_default).
    fn default() -> Self {
        Self::iis_default()
    }
}

impl AuthorizationRules {
    /// No rules: every request is denied.
    #[must_use]
    pub fn new() -> Self {
        Self(Vec::new())
    }

    /// IIS's server-level default: `Allow users="*"`.
    #[must_use]
    pub fn iis_default() -> Self {
        Self(vec![AuthorizationRule::allow().users("*")])
    }

    /// Appends a rule.
    pub fn push(&mut self, rule: AuthorizationRule) {
        self.0.push(rule);
    }

    /// [`push`](Self::push), by value.
    #[must_use]
    pub fn with(mut self, rule: AuthorizationRule) -> Self {
        self.push(rule);
        self
    }

    /// `<clear/>`.
    pub fn clear(&mut self) {
        self.0.clear();
    }

    /// The rules, in order.
    #[must_use]
    pub fn rules(&self) -> &[AuthorizationRule] {
        &self.0
    }

    /// Whether every request is let through (IIS's default rule and nothing else),
    /// so the layer has nothing to check.
    #[must_use]
    pub fn allows_everyone(&self) -> bool {
        matches!(&self.0[..], [r] if r.access == AccessType::Allow && r.parsed.everyone && r.parsed.verbs.is_empty())
    }

    /// IIS's evaluation: deny rules first, then allow rules, each in order; the
    /// first match decides; no match denies. `logon` `None` is anonymous.
    #[must_use]
    pub fn is_allowed(&self, logon: Option<&Logon>, verb: &str) -> bool {
        let first = |access: AccessType| {
            self.0
                .iter()
                .filter(|r| r.access == access)
                .any(|r| r.matches(logon, verb))
        };
        !first(AccessType::Deny) && first(AccessType::Allow)
    }
}

/// The 401.2 IIS's URL Authorization module answers a denied request with.
#[must_use]
pub fn denial() -> IisError {
    IisError::new(IisStatus::UNAUTHORIZED_LOGON_FAILED_SERVER_CONFIG)
        .with_module(MODULE)
        .with_notification("AuthorizeRequest")
        .with_hresult(HRESULT_DENIED)
}

/// Applies URL Authorization rules. See the [module docs](self).
#[derive(Debug, Clone, Default)]
pub struct AuthorizationLayer {
    rules: Arc<AuthorizationRules>,
}

impl AuthorizationLayer {
    /// A layer with these rules.
    #[must_use]
    pub fn new(rules: AuthorizationRules) -> Self {
        Self {
            rules: Arc::new(rules),
        }
    }

    /// The rules.
    #[must_use]
    pub fn rules(&self) -> &AuthorizationRules {
        &self.rules
    }
}

impl<S> Layer<S> for AuthorizationLayer {
    type Service = Authorization<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Authorization {
            inner,
            rules: self.rules.clone(),
            open: self.rules.allows_everyone(),
        }
    }
}

/// The service of [`AuthorizationLayer`].
#[derive(Debug, Clone)]
pub struct Authorization<S> {
    inner: S,
    rules: Arc<AuthorizationRules>,
    /// IIS's default rule alone: nothing to check.
    open: bool,
}

impl<S> Authorization<S> {
    define_inner_service_accessors!();
}

impl<S, B, RB> Service<Request<B>> for Authorization<S>
where
    S: Service<Request<B>, Response = Response<RB>>,
    RB: Default,
{
    type Response = Response<RB>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        if !self.open
            && !self
                .rules
                .is_allowed(req.extensions().get::<Logon>(), req.method().as_str())
        {
            tracing::debug!(
                target: "tower_iis::authorization",
                user = req.extensions().get::<Logon>().and_then(Logon::user).unwrap_or(""),
                "URL Authorization denied the request"
            );
            return ResponseFuture::deny(denial());
        }
        ResponseFuture::call(self.inner.call(req))
    }
}

define_error_gate!(
    ResponseFuture,
    "The response future of [`Authorization`]: the inner response, or the 401.2."
);

#[cfg(test)]
mod tests {
    use super::*;

    fn alice() -> Logon {
        Logon::authenticated("Basic", "alice", ["Readers"])
    }

    fn bob() -> Logon {
        Logon::authenticated("Basic", "Bob", ["Editors", "Readers"])
    }

    fn rules(list: &[AuthorizationRule]) -> AuthorizationRules {
        list.iter()
            .cloned()
            .fold(AuthorizationRules::new(), AuthorizationRules::with)
    }

    /// (rules, who, verb, allowed?)
    #[test]
    fn the_rule_table() {
        use AuthorizationRule as R;
        let a = alice();
        let b = bob();
        let anon = Logon::anonymous("IUSR");
        let cases: Vec<(Vec<R>, Option<&Logon>, &str, bool)> = vec![
            // IIS's default lets everyone in.
            (vec![R::allow().users("*")], None, "GET", true),
            (vec![R::allow().users("*")], Some(&a), "DELETE", true),
            // No rule: denied.
            (vec![], Some(&a), "GET", false),
            // Names: listed, spaces trimmed, case ignored.
            (
                vec![R::allow().users("carol, ALICE")],
                Some(&a),
                "GET",
                true,
            ),
            (
                vec![R::allow().users("carol, ALICE")],
                Some(&b),
                "GET",
                false,
            ),
            (vec![R::allow().users("alice")], None, "GET", false),
            (vec![R::allow().users("alice")], Some(&anon), "GET", false),
            // Roles.
            (vec![R::allow().roles("editors")], Some(&b), "GET", true),
            (vec![R::allow().roles("editors")], Some(&a), "GET", false),
            (vec![R::allow().roles("*")], None, "GET", true),
            // Verbs: exact, listed.
            (
                vec![R::allow().users("*").verbs("GET, HEAD")],
                None,
                "HEAD",
                true,
            ),
            (
                vec![R::allow().users("*").verbs("GET, HEAD")],
                None,
                "POST",
                false,
            ),
            (vec![R::allow().users("*").verbs("get")], None, "GET", false),
            // `?`: Deny stops anonymous only; Allow admits everyone.
            (
                vec![R::deny().users("?"), R::allow().users("*")],
                None,
                "GET",
                false,
            ),
            (
                vec![R::deny().users("?"), R::allow().users("*")],
                Some(&anon),
                "GET",
                false,
            ),
            (
                vec![R::deny().users("?"), R::allow().users("*")],
                Some(&a),
                "GET",
                true,
            ),
            (vec![R::allow().users("?")], None, "GET", true),
            (vec![R::allow().users("?")], Some(&a), "GET", true),
            // Deny before allow, whatever the order.
            (
                vec![R::allow().users("alice"), R::deny().users("alice")],
                Some(&a),
                "GET",
                false,
            ),
            (
                vec![R::allow().users("*"), R::deny().roles("Editors")],
                Some(&b),
                "GET",
                false,
            ),
            (
                vec![R::allow().users("*"), R::deny().roles("Editors")],
                Some(&a),
                "GET",
                true,
            ),
            // A deny limited to a verb.
            (
                vec![R::allow().users("*"), R::deny().users("*").verbs("DELETE")],
                Some(&b),
                "DELETE",
                false,
            ),
            (
                vec![R::allow().users("*"), R::deny().users("*").verbs("DELETE")],
                Some(&b),
                "PUT",
                true,
            ),
            // A rule naming nobody matches nobody.
            (vec![R::allow()], Some(&a), "GET", false),
        ];
        for (i, (list, who, verb, allowed)) in cases.into_iter().enumerate() {
            let r = rules(&list);
            assert_eq!(
                r.is_allowed(who, verb),
                allowed,
                "case {i}: {list:?} {who:?} {verb}"
            );
        }
    }

    #[test]
    fn only_the_default_rule_skips_the_check() {
        assert!(AuthorizationRules::iis_default().allows_everyone());
        assert!(!AuthorizationRules::new().allows_everyone());
        assert!(!rules(&[AuthorizationRule::allow().users("*").verbs("GET")]).allows_everyone());
        assert!(!AuthorizationRules::iis_default()
            .with(AuthorizationRule::deny().users("?"))
            .allows_everyone());
    }

    #[test]
    fn the_denial_is_iis_url_authorizations_401_2() {
        let e = denial();
        assert_eq!(e.status().to_string(), "401.2");
        assert_eq!((e.module(), e.notification()), (MODULE, "AuthorizeRequest"));
        assert_eq!((e.hresult(), e.win32_status()), (0x8007_0005, 5));
    }
}
