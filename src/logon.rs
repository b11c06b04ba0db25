//! [`Logon`]: who a request runs as, once authentication has run.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use crate::error::ANONYMOUS;

/// Who a request runs as: the logon method and user that IIS's authentication
/// modules establish at `AuthenticateRequest`.
///
/// The [`AuthenticationLayer`](crate::authentication::AuthenticationLayer) puts one
/// in the **request** extensions, so URL Authorization and your application see it,
/// and in the extensions of every error **response**, so the error pages show it under "Logon
/// Method" / "Logon User" (`Basic` / `alice`; `Anonymous` / `Anonymous` for an
/// anonymous request) whoever produced the error. An authenticated user is also
/// logged in `cs-username` (through a [`LogonUser`](crate::w3c::LogonUser)); an
/// anonymous request is logged `-`, as IIS does.
///
/// Cheap to clone.
///
/// ```
/// use tower_iis::Logon;
///
/// let alice = Logon::authenticated("Basic", "alice", ["Readers"]);
/// assert_eq!((alice.method(), alice.user()), ("Basic", Some("alice")));
/// assert!(alice.is_in_role("readers"));
///
/// let anonymous = Logon::anonymous("IUSR");
/// assert!(anonymous.is_anonymous());
/// assert_eq!(anonymous.user(), None);
/// assert_eq!(anonymous.identity(), "IUSR");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Logon(Arc<Inner>);

#[derive(PartialEq, Eq)]
struct Inner {
    method: Cow<'static, str>,
    /// `None` for an anonymous request.
    user: Option<Arc<str>>,
    roles: Box<[Box<str>]>,
    /// The account an anonymous request runs as (`anonymousAuthentication@userName`).
    anonymous_identity: Box<str>,
}

impl Logon {
    /// An anonymous request, running as `identity` (IIS's `IUSR` by default; the
    /// `userName` of `anonymousAuthentication`).
    #[must_use]
    pub fn anonymous(identity: impl Into<String>) -> Self {
        Self(Arc::new(Inner {
            method: Cow::Borrowed(ANONYMOUS),
            user: None,
            roles: Box::new([]),
            anonymous_identity: identity.into().into_boxed_str(),
        }))
    }

    /// A user signed in with `method` (`Basic` …), with the roles (groups) URL
    /// Authorization's `roles` attribute matches.
    #[must_use]
    pub fn authenticated<R: Into<String>>(
        method: impl Into<Cow<'static, str>>,
        user: impl Into<String>,
        roles: impl IntoIterator<Item = R>,
    ) -> Self {
        Self(Arc::new(Inner {
            method: method.into(),
            user: Some(Arc::from(user.into())),
            roles: roles
                .into_iter()
                .map(|r| r.into().into_boxed_str())
                .collect(),
            anonymous_identity: Box::from(""),
        }))
    }

    /// The logon method, as the detailed error page shows it: `Anonymous`, `Basic` …
    #[must_use]
    pub fn method(&self) -> &str {
        &self.0.method
    }

    /// The signed-in user (IIS's `LOGON_USER`); `None` for an anonymous request.
    #[must_use]
    pub fn user(&self) -> Option<&str> {
        self.0.user.as_deref()
    }

    /// Whether the request is anonymous.
    #[must_use]
    pub fn is_anonymous(&self) -> bool {
        self.0.user.is_none()
    }

    /// The account the request runs as: the user, or for an anonymous request the
    /// anonymous identity (`IUSR`).
    #[must_use]
    pub fn identity(&self) -> &str {
        self.0.user.as_deref().unwrap_or(&self.0.anonymous_identity)
    }

    /// The user's roles, in the order given.
    pub fn roles(&self) -> impl Iterator<Item = &str> {
        self.0.roles.iter().map(AsRef::as_ref)
    }

    /// Whether the user is in `role`, ignoring case as Windows group names do.
    /// Never for an anonymous request.
    #[must_use]
    pub fn is_in_role(&self, role: &str) -> bool {
        !self.is_anonymous() && self.0.roles.iter().any(|r| eq_ignore_case(r, role))
    }

    /// The user as a shared string (for [`LogonUser`](crate::w3c::LogonUser)).
    #[cfg(feature = "authentication")]
    pub(crate) fn user_arc(&self) -> Option<Arc<str>> {
        self.0.user.clone()
    }

    /// The "Logon User" of the detailed error page: the user, or `Anonymous`.
    pub(crate) fn page_user(&self) -> &str {
        self.0.user.as_deref().unwrap_or(ANONYMOUS)
    }
}

impl fmt::Debug for Logon {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Logon")
            .field("method", &self.method())
            .field("user", &self.user())
            .field("roles", &self.0.roles)
            .finish_non_exhaustive()
    }
}

/// Compares two names ignoring case (Unicode simple case folding through
/// lowercasing), as Windows compares account and group names.
pub(crate) fn eq_ignore_case(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
        || (!(a.is_ascii() && b.is_ascii())
            && a.chars()
                .flat_map(char::to_lowercase)
                .eq(b.chars().flat_map(char::to_lowercase)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_compare_ignoring_case_beyond_ascii() {
        assert!(eq_ignore_case("Alice", "aLICE"));
        assert!(eq_ignore_case("ÅSA", "åsa"));
        assert!(!eq_ignore_case("alice", "alicia"));
        let l = Logon::authenticated("Basic", "Åsa", ["Ärzte"]);
        assert!(l.is_in_role("ärzte"));
        assert!(!Logon::anonymous("IUSR").is_in_role(""));
        assert_eq!(Logon::anonymous("IUSR").page_user(), "Anonymous");
        assert_eq!(l.page_user(), "Åsa");
    }
}
