//! Every IIS status.substatus code, by name, with what IIS shows for it.
//!
//! The catalog holds each code of the IIS 7.0+ status tables (the IIS 8.0, ARR 3.0
//! and Dynamic IP Restriction additions included), plus `413.1` and `431.0` that
//! current IIS 10 sends for oversized bodies and headers: 127 codes in all. Each code
//! is a named constant on [`IisStatus`] and has a [`CodeInfo`]: the description from
//! the IIS tables and, where known, the detail IIS prints on its detailed error page
//! (module, notification, handler, HRESULT) and our own advice text.
//!
//! Constant names are the HTTP status name followed by the substatus meaning:
//! `FORBIDDEN_SSL_REQUIRED` is `403.4`, `NOT_FOUND_FILE_EXTENSION_DENIED` is `404.7`.
//! A substatus 0 has the bare status name (`NOT_FOUND` is `404.0`); the codes that
//! Application Request Routing 3.0 added carry `ARR_` (`BAD_GATEWAY_ARR_WEBSOCKET_FAILURE`).
//!
//! Advice exists for the error codes people meet most (the request filtering
//! rejections, the authentication and certificate errors, 500.19, 503.2 …) and for
//! the statuses themselves (`401.0`, `403.0`, `500.0` …); [`advice_for`] falls back
//! from a code to its status and then to a generic text, so every error has some.
//!
//! # Example
//!
//! Needs no feature and no other crate.
//!
//! ```
//! use tower_iis::{catalog, IisStatus};
//!
//! let info = catalog::lookup(IisStatus::NOT_FOUND_MIME_TYPE_RESTRICTION).unwrap();
//! assert_eq!(info.description(), "MIME type restriction");
//! assert_eq!(info.name(), "NOT_FOUND_MIME_TYPE_RESTRICTION");
//! assert_eq!(info.module(), Some("StaticFileModule"));
//! assert_eq!(info.hresult(), Some(0x8007_0032));
//! assert_eq!(info.win32_status(), 50);
//!
//! // 502.3 has two meanings: the IIS 7 one and the one ARR 3.0 gave it.
//! let arr = catalog::lookup(IisStatus::BAD_GATEWAY_FORWARDER_CONNECTION_ERROR).unwrap();
//! assert!(arr.alternate_description().is_some());
//!
//! // Codes are found by their text too.
//! assert_eq!(catalog::lookup("403.14".parse()?).unwrap().name(), "FORBIDDEN_DIRECTORY_LISTING_DENIED");
//! assert!(catalog::all().len() > 120);
//!
//! // Advice for the detailed page, falling back to the status-level text.
//! let advice = catalog::advice_for(IisStatus::NOT_FOUND_FILE_EXTENSION_DENIED);
//! assert!(advice.causes.len() >= 2);
//! let fallback = catalog::advice_for("403.9".parse()?);
//! assert!(std::ptr::eq(fallback, catalog::advice_for(IisStatus::FORBIDDEN)));
//! # Ok::<(), tower_iis::ParseStatusError>(())
//! ```

use crate::status::{win32_status_from_hresult, IisStatus};

/// Which IIS release or extension introduced a code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Origin {
    /// Standard HTTP status, used by IIS 7.0 and later.
    Http,
    /// Defined by IIS 7.0 and later.
    Iis7,
    /// Added in IIS 8.0.
    Iis8,
    /// Used by current IIS 10 (request filtering's 413.1 and 431).
    Iis10,
    /// Added by Application Request Routing 3.0.1916.
    Arr3,
    /// IIS 8.0+ IP and Domain Restrictions / Dynamic IP Restrictions (`.501`–`.504`).
    DynamicIpRestriction,
}

/// Advice shown on the detailed error page: the summary sentence, the most likely
/// causes and the things to try. Written for this crate, in its own words.
#[derive(Debug, Clone, Copy)]
pub struct Advice {
    /// The one-sentence summary under the page heading.
    pub summary: &'static str,
    /// The "Most likely causes:" list.
    pub causes: &'static [&'static str],
    /// The "Things you can try:" list.
    pub things_to_try: &'static [&'static str],
}

/// What the catalog knows about one IIS code. See the [module docs](self).
#[derive(Debug, Clone, Copy)]
pub struct CodeInfo {
    status: IisStatus,
    name: &'static str,
    description: &'static str,
    alternate: Option<&'static str>,
    origin: Origin,
    module: Option<&'static str>,
    notification: Option<&'static str>,
    handler: Option<&'static str>,
    hresult: Option<u32>,
    advice: Option<&'static Advice>,
}

impl CodeInfo {
    const fn new(status: IisStatus, name: &'static str, description: &'static str) -> Self {
        Self {
            status,
            name,
            description,
            alternate: None,
            origin: Origin::Iis7,
            module: None,
            notification: None,
            handler: None,
            hresult: None,
            advice: None,
        }
    }

    const fn origin(mut self, origin: Origin) -> Self {
        self.origin = origin;
        self
    }

    const fn alternate(mut self, alternate: &'static str) -> Self {
        self.alternate = Some(alternate);
        self
    }

    const fn detail(
        mut self,
        module: &'static str,
        notification: &'static str,
        handler: Option<&'static str>,
        hresult: u32,
    ) -> Self {
        self.module = Some(module);
        self.notification = Some(notification);
        self.handler = handler;
        self.hresult = Some(hresult);
        self
    }

    const fn advice(mut self, advice: &'static Advice) -> Self {
        self.advice = Some(advice);
        self
    }

    /// The code.
    #[must_use]
    pub const fn status(&self) -> IisStatus {
        self.status
    }

    /// The name of the constant on [`IisStatus`] for this code.
    #[must_use]
    pub const fn name(&self) -> &'static str {
        self.name
    }

    /// The description from the IIS status tables, e.g. `MIME type restriction`.
    #[must_use]
    pub const fn description(&self) -> &'static str {
        self.description
    }

    /// A second meaning of the same code: ARR 3.0 reused 502.2–502.4.
    #[must_use]
    pub const fn alternate_description(&self) -> Option<&'static str> {
        self.alternate
    }

    /// Which IIS release or extension introduced the code.
    #[must_use]
    pub const fn origin_of(&self) -> Origin {
        self.origin
    }

    /// The module IIS names on the detailed page, where known (`RequestFilteringModule`).
    #[must_use]
    pub const fn module(&self) -> Option<&'static str> {
        self.module
    }

    /// The pipeline notification IIS names on the detailed page (`BeginRequest`).
    #[must_use]
    pub const fn notification(&self) -> Option<&'static str> {
        self.notification
    }

    /// The handler IIS names on the detailed page (`StaticFile`).
    #[must_use]
    pub const fn handler(&self) -> Option<&'static str> {
        self.handler
    }

    /// The HRESULT IIS shows as "Error Code", where known.
    #[must_use]
    pub const fn hresult(&self) -> Option<u32> {
        self.hresult
    }

    /// The `sc-win32-status` IIS logs for this code (from the HRESULT; 0 when unknown).
    #[must_use]
    pub const fn win32_status(&self) -> u32 {
        match self.hresult {
            Some(h) => win32_status_from_hresult(h),
            None => 0,
        }
    }

    /// The advice text for the detailed page, when the catalog has one for this code.
    #[must_use]
    pub const fn advice_text(&self) -> Option<&'static Advice> {
        self.advice
    }
}

/// Looks a code up in the catalog.
#[must_use]
pub fn lookup(status: IisStatus) -> Option<&'static CodeInfo> {
    ENTRIES
        .binary_search_by(|e| e.status.cmp(&status))
        .ok()
        .map(|i| &ENTRIES[i])
}

/// Every code in the catalog, ordered by status then substatus.
#[must_use]
pub fn all() -> &'static [CodeInfo] {
    ENTRIES
}

/// The advice for a code: the catalog's own when it has one, otherwise a generic
/// text for the status (and, failing that, for its class).
#[must_use]
pub fn advice_for(status: IisStatus) -> &'static Advice {
    if let Some(advice) = lookup(status).and_then(|i| i.advice) {
        return advice;
    }
    if let Some(advice) = lookup(IisStatus::new(status.code(), 0)).and_then(|i| i.advice) {
        return advice;
    }
    if status.code() >= 500 {
        &GENERIC_SERVER
    } else {
        &GENERIC_CLIENT
    }
}

// ---------------------------------------------------------------------------
// Advice. Written for this crate: the facts come from the IIS status tables and
// the IIS configuration reference, the sentences are our own. Setting names are
// the ones IIS uses in `web.config` / `applicationHost.config`, so that a service
// emulating IIS can point people at the knob they would look for.
// ---------------------------------------------------------------------------

static GENERIC_CLIENT: Advice = Advice {
    summary:
        "The server could not complete the request because of a problem with the request itself.",
    causes: &[
        "The request asked for something the server is configured not to serve.",
        "The request was malformed or missing information the server needs.",
    ],
    things_to_try: &[
        "Check the address, the method and the headers of the request.",
        "Look up the status and substatus in the server's log to find the module that answered.",
    ],
};

static GENERIC_SERVER: Advice = Advice {
    summary: "The server met a condition that kept it from completing the request.",
    causes: &[
        "The application or a module failed while it handled the request.",
        "A service the application depends on is missing, stopped or overloaded.",
    ],
    things_to_try: &[
        "Look up the status and substatus in the server's log to find the module that failed.",
        "Check the application's own logs for the error behind this response.",
        "Try the request again later.",
    ],
};

// ----- 400 -----

static ADV_400: Advice = Advice {
    summary: "The server could not make sense of the request because part of it is malformed or breaks the rules for a well-formed request.",
    causes: &[
        "The request line, the URL or a header holds characters or byte sequences the HTTP layer refuses; on IIS this check happens in HTTP.sys, before any site setting applies.",
        "A URL segment or a header is longer than the HTTP layer accepts.",
        "A hand-built client got the syntax wrong, for example a missing or malformed Host header.",
    ],
    things_to_try: &[
        "Replay the request with a tool such as curl and compare it with one that succeeds.",
        "Look for raw non-ASCII bytes, stray spaces or control characters in the URL and the header values.",
        "Check the Host header and the length of each URL segment and header.",
    ],
};

// ----- 401 -----

static ADV_401_0: Advice = Advice {
    summary:
        "This page needs valid credentials, and the request carried none that the server accepted.",
    causes: &[
        "The request had no Authorization header, or the credentials in it were rejected.",
        "The client used an authentication scheme the server does not offer for this URL.",
    ],
    things_to_try: &[
        "Read the WWW-Authenticate headers of the response to see which schemes the server offers.",
        "Sign in again, or send credentials with one of the offered schemes.",
        "Check the sc-substatus and sc-win32-status columns of the log for the precise reason.",
    ],
};

static ADV_401_1: Advice = Advice {
    summary: "The server checked the credentials that came with the request and rejected them.",
    causes: &[
        "The user name or the password is wrong, or the account is locked, disabled or expired.",
        "A Windows authentication handshake (NTLM or Negotiate) is still under way: its challenge step is logged as 401.1 even when the sign-in then succeeds.",
        "The account belongs to a domain or realm the server does not trust.",
    ],
    things_to_try: &[
        "Try again with an account that is known to work.",
        "If the log shows 401.1 followed by a 200 for the same client, it is the normal handshake and not a failure.",
        "Check that the account is enabled and that its password is still valid.",
    ],
};

static ADV_401_2: Advice = Advice {
    summary: "The request did not carry credentials in a form that the authentication settings for this URL accept.",
    causes: &[
        "Anonymous access is off and the client sent no Authorization header; browsers get this answer once before they sign in.",
        "No authentication method is enabled for the URL, so no client can ever sign in.",
        "Client and server share no scheme, for example the client offers Basic while only Windows authentication is enabled.",
    ],
    things_to_try: &[
        "Check which methods are enabled under system.webServer/security/authentication (anonymousAuthentication, basicAuthentication, windowsAuthentication).",
        "Make sure the response offers a WWW-Authenticate scheme the client understands.",
        "If every request stops here, enable at least one authentication method for the URL.",
    ],
};

static ADV_401_3: Advice = Advice {
    summary: "The user was identified, but the permissions on the requested file or folder do not let that user read it.",
    causes: &[
        "The file system permissions do not grant read access to the authenticated user or to the anonymous account (IUSR).",
        "A folder above the content, or a folder the server itself reads, denies access to that account.",
        "The anonymous user is set to an account (the userName of anonymousAuthentication) that cannot read the content.",
    ],
    things_to_try: &[
        "Give the user, IUSR or the IIS_IUSRS group read access to the file and the folders above it.",
        "For a service that emulates IIS, check the permissions of the operating-system account the service runs as.",
        "Check which account anonymousAuthentication uses and test access as that account.",
    ],
};

static ADV_401_4: Advice = Advice {
    summary: "A filter installed on the server refused the request while it checked authorization.",
    causes: &[
        "An ISAPI filter that validates credentials or tokens denied this user.",
        "The filter is misconfigured or cannot reach the store it checks against.",
    ],
    things_to_try: &[
        "List the installed filters (system.webServer/isapiFilters) and find the one that answers for this URL.",
        "Read the filter's own log or documentation for why it denied the request.",
        "In a tower service the same role is played by an authorization layer in front of the handler: check its rules.",
    ],
};

static ADV_401_5: Advice = Advice {
    summary: "The application that handles this URL, an ISAPI extension or a CGI program, refused to serve this user.",
    causes: &[
        "The application's own authorization rules deny this user or role.",
        "The application expected a session, cookie or token that was missing or out of date.",
    ],
    things_to_try: &[
        "Check the application's authorization settings and its log entry for this request.",
        "Sign in again so that the session or token is fresh.",
        "Repeat the request as a user who is known to have access.",
    ],
};

// ----- 403 -----

static ADV_403_0: Advice = Advice {
    summary: "The server understood the request but will not serve it to this client.",
    causes: &[
        "The server's configuration turns access to this resource off or limits it.",
        "The client lacks a permission, a certificate or an address the resource requires.",
    ],
    things_to_try: &[
        "Read the substatus in the log: it names the precise reason.",
        "Check the access settings for this URL under system.webServer/security and the accessPolicy of system.webServer/handlers.",
    ],
};

static ADV_403_1: Advice = Advice {
    summary: "The URL maps to a script or a program, but running code is not permitted in its folder.",
    causes: &[
        "The accessPolicy of system.webServer/handlers for this location lacks Script, or Execute for CGI and ISAPI programs.",
        "A program was requested from a folder that is meant only for static files, such as an upload folder.",
    ],
    things_to_try: &[
        "Add Script, and Execute where programs must run, to accessPolicy for this path only.",
        "Keep executable content in its own folder and leave folders that receive uploads without execute rights.",
    ],
};

static ADV_403_2: Advice = Advice {
    summary: "Reading content is not permitted for the folder that holds the requested resource.",
    causes: &[
        "The accessPolicy of system.webServer/handlers for this location lacks Read.",
        "The folder's default document, as configured in system.webServer/defaultDocument, does not exist.",
    ],
    things_to_try: &[
        "Add Read to accessPolicy for this path.",
        "Check that the default document the folder relies on is present.",
    ],
};

static ADV_403_3: Advice = Advice {
    summary:
        "The request tries to write to the server, and writing is not permitted at that location.",
    causes: &[
        "A PUT or WebDAV request reached a folder whose accessPolicy lacks Write.",
        "The file system does not let the worker's account write there.",
    ],
    things_to_try: &[
        "Add Write to accessPolicy for this location, but only where uploads are intended.",
        "Give the application pool identity or the signed-in user write access on disk.",
        "Make sure the client is meant to write to this URL at all.",
    ],
};

static ADV_403_4: Advice = Advice {
    summary: "This URL is reachable only over HTTPS, and the request arrived over plain HTTP.",
    causes: &[
        "The sslFlags of system.webServer/security/access include Ssl for this location.",
        "A link, a bookmark or a redirect still points to the http:// address.",
        "A proxy or load balancer ends TLS and forwards the request to the server over plain HTTP.",
    ],
    things_to_try: &[
        "Open the https:// address of the page.",
        "Redirect plain HTTP to HTTPS instead of refusing it, if that suits the site.",
        "Behind a TLS-terminating proxy, trust the scheme the proxy forwards, or drop the requirement on the inner hop.",
    ],
};

static ADV_403_5: Advice = Advice {
    summary: "This URL requires encryption with a key of at least 128 bits, and the connection did not use one.",
    causes: &[
        "The sslFlags of system.webServer/security/access include Ssl128 for this location.",
        "The client negotiated a weak or legacy cipher suite.",
    ],
    things_to_try: &[
        "Connect with an up-to-date browser or TLS library.",
        "Review the cipher suites the server offers and turn the weak ones off.",
    ],
};

static ADV_403_6: Advice = Advice {
    summary: "The server is set up to refuse requests that come from the client's IP address.",
    causes: &[
        "A rule of system.webServer/security/ipSecurity denies this address or a range that contains it.",
        "ipSecurity has allowUnlisted set to false and the address is not on the allow list.",
        "A proxy stands between client and server, so the rule saw the proxy's address.",
    ],
    things_to_try: &[
        "Compare the ipSecurity rules with the address in the log's c-ip column.",
        "Add the address to the allow list if it should have access.",
        "Behind a proxy, turn on enableProxyMode so that the X-Forwarded-For address is checked.",
    ],
};

static ADV_403_7: Advice = Advice {
    summary: "This URL requires the client to present a certificate, and none was offered.",
    causes: &[
        "The sslFlags of system.webServer/security/access include SslRequireCert for this location.",
        "The client has no certificate, or none from an authority the server trusts.",
        "A TLS-terminating proxy dropped the client certificate before the request reached the server.",
    ],
    things_to_try: &[
        "Install a client certificate from an authority the server trusts and try again.",
        "Use SslNegotiateCert instead of SslRequireCert if a certificate should be optional.",
        "Check that any proxy in front passes the client certificate on.",
    ],
};

static ADV_403_8: Advice = Advice {
    summary: "The server refuses requests from the client's computer because of its DNS name.",
    causes: &[
        "ipSecurity has enableReverseDns turned on and a domain-name rule denies the client's host name.",
        "The reverse lookup of the client's address failed or returned an unexpected name.",
    ],
    things_to_try: &[
        "Check the domain-name rules in system.webServer/security/ipSecurity.",
        "Run a reverse DNS lookup of the client's address and compare the answer with the rules.",
        "Prefer address rules: a reverse lookup adds delay to every request.",
    ],
};

static ADV_403_12: Advice = Advice {
    summary: "The client certificate was accepted, but the account it maps to may not use this resource.",
    causes: &[
        "A certificate mapping rule (iisClientCertificateMappingAuthentication) denies this certificate.",
        "The mapped account lacks permission on the file or folder.",
    ],
    things_to_try: &[
        "Check the one-to-one and many-to-one mapping rules that match this certificate.",
        "Give the mapped account access to the resource, or map the certificate to another account.",
    ],
};

static ADV_403_13: Advice = Advice {
    summary: "The client certificate has been revoked by the authority that issued it.",
    causes: &[
        "The issuer revoked the certificate and the server found it on the revocation list.",
        "The server holds an outdated revocation list that still names the certificate.",
    ],
    things_to_try: &[
        "Get a new certificate from the issuer and install it on the client.",
        "Check that the server can reach the issuer's CRL or OCSP address and has fresh data.",
    ],
};

static ADV_403_14: Advice = Advice {
    summary: "The URL names a folder that has no default document, and directory browsing is off, so there is nothing to return.",
    causes: &[
        "None of the files listed in system.webServer/defaultDocument exist in the folder.",
        "system.webServer/directoryBrowse is disabled, which is the default.",
        "The request was meant for an application route but reached the static file handler.",
    ],
    things_to_try: &[
        "Add a default document (such as index.html) to the folder, or list the file it has in defaultDocument.",
        "Enable directoryBrowse only if showing the folder's contents is really wanted.",
        "If a handler should answer this URL, check that its route also matches the path with a trailing slash.",
    ],
};

static ADV_403_16: Advice = Advice {
    summary: "The client certificate is invalid, or it chains to an authority the server does not trust.",
    causes: &[
        "The root or an intermediate authority of the certificate is missing from the server's trusted stores.",
        "The certificate is not meant for client authentication, or its signature does not verify.",
    ],
    things_to_try: &[
        "Install the issuer's root and intermediate certificates on the server.",
        "Check the certificate's chain and that its enhanced key usage includes Client Authentication.",
        "A log line such as 403 16 2148204809 (0x800B0109) points to an untrusted root.",
    ],
};

static ADV_403_17: Advice = Advice {
    summary: "The client certificate is outside its validity period: it has expired or is not valid yet.",
    causes: &[
        "The certificate's end date has passed.",
        "The clock of the client or the server is wrong, so a fresh certificate looks not yet valid.",
    ],
    things_to_try: &[
        "Renew the client certificate and install the new one.",
        "Check the date, time and time zone on both machines.",
    ],
};

static ADV_403_18: Advice = Advice {
    summary: "The server was asked to run a URL in an application pool other than the one serving the request, which it does not do.",
    causes: &[
        "An httpErrors row with responseMode ExecuteURL points to a page in an application that runs in another pool.",
        "A child request or a rewrite targets an application in another pool.",
    ],
    things_to_try: &[
        "Move the custom error page into the same application, or switch the row to responseMode File or Redirect.",
        "Run both applications in the same pool if they must share pages.",
    ],
};

static ADV_403_19: Advice = Advice {
    summary: "A CGI program could not be started because the application pool identity lacks a right it needs.",
    causes: &[
        "The pool identity does not hold the Windows right Replace a process level token, which starting a CGI process as another user requires.",
        "CGI is set to start each process as the client (createProcessAsUser in system.webServer/cgi).",
    ],
    things_to_try: &[
        "Grant that right to the pool identity, or run the pool as a built-in account that has it.",
        "Set createProcessAsUser to false if CGI programs may run as the pool identity.",
    ],
};

// ----- 404 -----

static ADV_404_0: Advice = Advice {
    summary: "Nothing exists at this address: the file or route may never have existed, or it was moved or renamed.",
    causes: &[
        "The path names a file or folder that is not under the site's physical path.",
        "The address has a typing mistake or a wrong letter case in a part the application compares exactly.",
        "No route of the service matches the path, or a rewrite rule points to content that moved.",
    ],
    things_to_try: &[
        "Check that the file exists under the physical path shown on this page.",
        "Compare the requested URL with the address you meant to reach.",
        "If a route or a rewrite rule should answer this URL, check the pattern it matches.",
    ],
};

static ADV_404_2: Advice = Advice {
    summary: "The handler for this URL is an ISAPI extension or a CGI program that the server is not allowed to run.",
    causes: &[
        "The program is missing from system.webServer/security/isapiCgiRestriction, or is listed there with allowed set to false.",
        "notListedIsapisAllowed or notListedCgisAllowed is false and the program is not listed.",
    ],
    things_to_try: &[
        "Add the program's full path to isapiCgiRestriction with allowed set to true.",
        "Check that the path in the handler mapping and the one in the restriction list are identical.",
    ],
};

static ADV_404_3: Advice = Advice {
    summary: "The file exists, but no MIME type is configured for its extension, so the static file handler will not send it.",
    causes: &[
        "system.webServer/staticContent has no mimeMap for the file name extension.",
        "A web.config lower in the tree removed the mimeMap for the extension.",
        "The file should run as a script, but its handler is not installed or not mapped.",
    ],
    things_to_try: &[
        "Add a mimeMap with the extension and its content type, for example .webmanifest and application/manifest+json.",
        "Install and map the handler if the file is meant to run as a script.",
        "Make sure files of this type are safe to publish before you allow them.",
    ],
};

static ADV_404_4: Advice = Advice {
    summary: "No handler is mapped to the path or file name extension of this URL, so nothing can process the request.",
    causes: &[
        "No entry of system.webServer/handlers matches both the path and the method of the request.",
        "The feature that provides the handler (ASP.NET, CGI, FastCGI and so on) is not installed.",
        "The StaticFile catch-all handler was removed from the list.",
    ],
    things_to_try: &[
        "Add a handler mapping for the extension, or install the feature that brings it.",
        "Check the order of the handler list: the first matching entry wins.",
        "In a tower service, check that a route or a fallback service covers this path.",
    ],
};

static ADV_404_5: Advice = Advice {
    summary: "Request filtering turned the request away because the URL contains a sequence the server blocks.",
    causes: &[
        "An entry of requestFiltering/denyUrlSequences, such as .. or a colon, matches part of the URL.",
        "The client built a URL that tries path traversal or hides a sequence behind encoding.",
    ],
    things_to_try: &[
        "Compare the URL in the log's cs-uri-stem column with the denyUrlSequences list.",
        "Fix the link or the client that produces the sequence.",
        "Remove the entry, or add the URL to alwaysAllowedUrls, only if the sequence is harmless for this site.",
    ],
};

static ADV_404_6: Advice = Advice {
    summary: "Request filtering turned the request away because its HTTP method is not allowed.",
    causes: &[
        "requestFiltering/verbs lists the method with allowed set to false.",
        "requestFiltering/verbs has allowUnlisted set to false and the method is not on the list.",
        "The method is spelled in a different letter case than the rule, and the comparison is case-sensitive.",
    ],
    things_to_try: &[
        "Compare the method in the log's cs-method column with the verbs rules for this URL.",
        "Add the method with allowed set to true if the application needs it.",
    ],
};

static ADV_404_7: Advice = Advice {
    summary: "Request filtering turned the request away because the URL's file name extension is on the deny list.",
    causes: &[
        "requestFiltering/fileExtensions denies the extension; out of the box this covers source and configuration files such as .config, .cs and .mdb.",
        "fileExtensions has allowUnlisted set to false and the extension, or the lack of one, is not allowed explicitly.",
    ],
    things_to_try: &[
        "Check the fileExtensions list that applies to this URL.",
        "Rename the file, or allow the extension only if its content is safe to publish.",
        "Keep extensions such as .config denied: they protect files like web.config from being downloaded.",
    ],
};

static ADV_404_8: Advice = Advice {
    summary: "Request filtering turned the request away because a segment of the URL is a hidden segment.",
    causes: &[
        "A segment of the path equals an entry of requestFiltering/hiddenSegments, such as bin, App_Data or web.config.",
        "Content meant to be public was placed in a folder the server hides.",
    ],
    things_to_try: &[
        "Move public files out of hidden folders such as bin and App_Data.",
        "Check the hiddenSegments list; a match is on the whole segment, so bin does not block /binary.",
    ],
};

static ADV_404_9: Advice = Advice {
    summary: "The file exists but carries the Hidden attribute, so the server will not serve it.",
    causes: &[
        "The file was marked Hidden on disk, on purpose or by the tool that copied it.",
        "The file is a system or editor file that was never meant to be published.",
    ],
    things_to_try: &[
        "Clear the Hidden attribute (attrib -h) if the file should be served.",
        "Otherwise remove the link that points to it.",
    ],
};

static ADV_404_10: Advice = Advice {
    summary: "Request filtering turned the request away because a header is longer than the limit set for it.",
    causes: &[
        "requestLimits/headerLimits sets a sizeLimit for the header and the request goes beyond it.",
        "A client or proxy sends an unusually large cookie or authorization header.",
    ],
    things_to_try: &[
        "Find the header that grew, often Cookie, and make it smaller.",
        "Raise sizeLimit for that header in headerLimits if such sizes are legitimate.",
        "Expect current IIS 10 to answer the same case with 431 instead of 404.10.",
    ],
};

static ADV_404_11: Advice = Advice {
    summary: "Request filtering turned the request away because the URL path is still percent-encoded after one round of decoding.",
    causes: &[
        "The path holds an escaped escape, such as %252e, and requestFiltering allowDoubleEscaping is false.",
        "The path contains a plus sign, which the same check rejects.",
        "A client or proxy encoded the URL twice.",
    ],
    things_to_try: &[
        "Fix the code that builds the URL so that it encodes each part once.",
        "Carry values that need + or % in the query string, which this check leaves alone.",
        "Set allowDoubleEscaping to true only if the application handles such paths safely.",
    ],
};

static ADV_404_12: Advice = Advice {
    summary: "Request filtering turned the request away because the URL contains non-ASCII bytes, which the server does not allow.",
    causes: &[
        "requestFiltering allowHighBitCharacters is false.",
        "The URL carries a name with accented or other non-ASCII letters.",
    ],
    things_to_try: &[
        "Use ASCII names for published files and routes.",
        "Set allowHighBitCharacters to true if the site must serve such names.",
    ],
};

static ADV_404_13: Advice = Advice {
    summary: "Request filtering turned the request away because its declared body size is above the allowed maximum.",
    causes: &[
        "Content-Length is larger than requestLimits maxAllowedContentLength, 30000000 bytes by default.",
        "A file upload is bigger than the limit set for this URL.",
    ],
    things_to_try: &[
        "Raise maxAllowedContentLength in a location element for the upload URL only, not for the whole site.",
        "Upload large files in smaller parts.",
        "Expect current IIS 10 to answer the same case with 413.1 instead of 404.13.",
    ],
};

static ADV_404_14: Advice = Advice {
    summary: "Request filtering turned the request away because the URL is longer than the configured maximum.",
    causes: &[
        "The URL is longer than requestLimits maxUrl, 4096 bytes by default.",
        "A redirect loop or a client keeps adding path segments.",
    ],
    things_to_try: &[
        "Shorten the URL, for example by sending the data in the body of a POST.",
        "Raise maxUrl if long URLs are expected for this path.",
    ],
};

static ADV_404_15: Advice = Advice {
    summary: "Request filtering turned the request away because its query string is longer than the configured maximum.",
    causes: &[
        "The query string is longer than requestLimits maxQueryString, 2048 bytes by default, not counting the question mark.",
        "A sign-in or redirect flow keeps nesting return URLs in the query string.",
    ],
    things_to_try: &[
        "Send large data in the body of a POST instead of the query string.",
        "Look for a redirect loop that makes the query string grow on each step.",
        "Raise maxQueryString if long query strings are expected.",
    ],
};

static ADV_404_17: Advice = Advice {
    summary: "Dynamic content reached the static file handler, which would send its source instead of running it, so the server refused.",
    causes: &[
        "A wildcard (*) MIME map makes script files look like static content.",
        "The handler for the script type (ASP.NET, PHP and so on) is not installed, or its mapping was removed.",
    ],
    things_to_try: &[
        "Install the handler for the script type and map it ahead of the StaticFile handler.",
        "Remove the wildcard MIME map from staticContent.",
    ],
};

static ADV_404_18: Advice = Advice {
    summary: "Request filtering turned the request away because the query string contains a sequence the server blocks.",
    causes: &[
        "An entry of requestFiltering/denyQueryStringSequences matches the query string, checked both as sent and decoded.",
        "The client sent an injection attempt or an oddly encoded value.",
    ],
    things_to_try: &[
        "Compare the log's cs-uri-query column with denyQueryStringSequences.",
        "Add the query string to alwaysAllowedQueryStrings only if it is known to be harmless.",
    ],
};

static ADV_404_19: Advice = Advice {
    summary: "A custom request filtering rule matched the request and turned it away.",
    causes: &[
        "A rule of requestFiltering/filteringRules found one of its denyStrings in the URL, the query string or a header it scans.",
        "The rule applies more widely than intended, for example to every file extension.",
    ],
    things_to_try: &[
        "Check the denyStrings of each rule against the request to find the one that matched.",
        "Narrow the rule with its appliesTo and scan settings, or drop the string if it blocks real traffic.",
    ],
};

static ADV_404_20: Advice = Advice {
    summary: "Request filtering turned the request away because the URL path has more segments than the server allows.",
    causes: &[
        "The path has more slash-separated segments than the configured limit.",
        "A relative link or a client bug keeps adding segments to the path.",
    ],
    things_to_try: &[
        "Flatten the URL structure of the resource.",
        "Check relative links that may pile up segments when followed from a deep page.",
    ],
};

// ----- x.501–x.504: IP and Domain Restrictions (IIS 8.0+). The status (401, 403
// or 404) follows the `denyAction` setting, so the advice is shared. -----

static ADV_DYNAMIC_IP_CONCURRENT: Advice = Advice {
    summary: "The client already has too many requests in progress, so dynamic IP restrictions turned this one away.",
    causes: &[
        "dynamicIpSecurity/denyByConcurrentRequests is enabled and the client's address went over maxConcurrentRequests.",
        "Many users share one address, for example behind a proxy or NAT.",
    ],
    things_to_try: &[
        "Let the client's other requests finish, then try again.",
        "Raise maxConcurrentRequests, or turn on enableProxyMode if a proxy hides the real client addresses.",
        "Change denyAction if a different status (401, 403 or 404) or aborting the connection suits better.",
    ],
};

static ADV_DYNAMIC_IP_RATE: Advice = Advice {
    summary: "The client sent more requests in a short time than dynamic IP restrictions allow.",
    causes: &[
        "dynamicIpSecurity/denyByRequestRate is enabled and the client went over maxRequests within requestIntervalInMilliseconds.",
        "A script, crawler or retry loop sends requests in bursts.",
    ],
    things_to_try: &[
        "Slow the client down and try again once the interval has passed.",
        "Raise maxRequests or widen the interval if the traffic is legitimate.",
        "Use enableLoggingOnlyMode to measure real traffic before tightening the limits.",
    ],
};

static ADV_IP_DENIED: Advice = Advice {
    summary: "The client's IP address is on the server's deny list.",
    causes: &[
        "An entry of system.webServer/security/ipSecurity denies the address or a range that contains it.",
        "ipSecurity has allowUnlisted set to false and the address is not on the allow list.",
        "A proxy hides the client, so the rule matched the proxy's address.",
    ],
    things_to_try: &[
        "Compare the ipSecurity entries with the address in the log's c-ip column.",
        "Turn on enableProxyMode if clients arrive through a proxy that sets X-Forwarded-For.",
        "Change denyAction if a different status (401, 403 or 404) suits better.",
    ],
};

static ADV_HOST_NAME_DENIED: Advice = Advice {
    summary: "The client's host name is on the server's deny list.",
    causes: &[
        "ipSecurity has enableReverseDns turned on and a domain-name entry denies the client's name.",
        "The reverse lookup of the address returned a name that a wildcard entry covers.",
    ],
    things_to_try: &[
        "Compare the domain-name entries of ipSecurity with the reverse DNS name of the client's address.",
        "Prefer address rules where you can: a reverse lookup adds delay to every request.",
    ],
};

// ----- 405, 406, 412, 413, 431 -----

static ADV_405_0: Advice = Advice {
    summary: "The handler for this URL does not accept the HTTP method the request used.",
    causes: &[
        "The request sent PUT, DELETE or POST to a static file, which answers only GET, HEAD, OPTIONS and TRACE.",
        "The verb attribute of the handler mapping for this URL does not include the method.",
        "A module such as WebDAV takes the method before the application sees it.",
    ],
    things_to_try: &[
        "Read the Allow header of the response for the methods this URL accepts.",
        "Check the handler mapping's verb attribute, or the methods registered on the route.",
        "Remove the WebDAV module and handler if the application itself must handle PUT and DELETE.",
    ],
};

static ADV_406_0: Advice = Advice {
    summary: "The resource cannot be sent in any of the media types that the request's Accept header allows.",
    causes: &[
        "The Accept header lists only types the resource is not available in.",
        "The MIME type configured for the file's extension differs from what the client asks for.",
    ],
    things_to_try: &[
        "Add the resource's type, or */*, to the Accept header.",
        "Check the mimeMap for the file's extension in system.webServer/staticContent.",
    ],
};

static ADV_412_0: Advice = Advice {
    summary: "A condition in the request headers, such as If-Match, did not hold for the current version of the resource.",
    causes: &[
        "The client sent If-Match or If-Unmodified-Since with a value that no longer fits, often because the resource changed in the meantime.",
        "The ETag the client kept differs from the one the server now computes, for example between two servers of a farm.",
    ],
    things_to_try: &[
        "Fetch the resource again for its current ETag, then repeat the request.",
        "Check that every server gives the same ETag for the same content.",
    ],
};

static ADV_413_1: Advice = Advice {
    summary: "The request announced a body larger than this URL accepts, so request filtering refused it before reading the body.",
    causes: &[
        "Content-Length is above requestLimits maxAllowedContentLength, 30000000 bytes (about 28.6 MB) by default.",
        "An upload form or client sends a file bigger than the site expects.",
    ],
    things_to_try: &[
        "Raise maxAllowedContentLength in a location element for the upload URL only.",
        "Send large files in chunks or through an endpoint made for big uploads.",
        "Expect older IIS releases to answer the same case with 404.13.",
    ],
};

static ADV_431_0: Advice = Advice {
    summary: "A request header is larger than the limit set for it, so request filtering refused the request.",
    causes: &[
        "requestLimits/headerLimits sets a sizeLimit for this header and the request goes beyond it.",
        "Cookies have piled up for the site, or a header carries a very large token.",
    ],
    things_to_try: &[
        "Clear the site's cookies, or make the token smaller, and try again.",
        "Raise sizeLimit for the header in headerLimits if such sizes are legitimate.",
        "Expect older IIS releases to answer the same case with 404.10.",
    ],
};

// ----- 500 -----

static ADV_500_0: Advice = Advice {
    summary: "The server failed while it produced the response, and no more specific error describes the failure.",
    causes: &[
        "The application or a module raised an error, or a handler panicked, while handling the request.",
        "A resource the request needs, such as a database or a file share, could not be reached.",
        "The handler could not map its failure to a more precise status.",
    ],
    things_to_try: &[
        "Find the application's own log entry for this request, at the time shown in the access log.",
        "Repeat the request from the server itself to see the detailed page with its error code.",
        "Return a more specific status and substatus from the handler when the cause is known.",
    ],
};

static ADV_500_11: Advice = Advice {
    summary: "The request reached the application while it was shutting down.",
    causes: &[
        "The application pool is being recycled or stopped.",
        "Shutting down takes long because requests or background work are still running.",
    ],
    things_to_try: &[
        "Wait a moment and send the request again.",
        "If it keeps happening, find what stops the application from finishing its shutdown, such as requests that never end.",
    ],
};

static ADV_500_12: Advice = Advice {
    summary: "The request reached the application while it was restarting.",
    causes: &[
        "The application restarted after a change to its files or its configuration.",
        "Something keeps touching the application's files, an antivirus scanner for instance, so it restarts again and again.",
    ],
    things_to_try: &[
        "Reload the page once: the error goes away when the restart is done.",
        "If it comes back, find what changes the application's files and exclude them from scanning.",
    ],
};

static ADV_500_13: Advice = Advice {
    summary: "The server has more work than it can accept right now and refused this request.",
    causes: &[
        "More requests arrive at once than the application can take.",
        "A slow dependency keeps requests open until the queue is full.",
        "Server limits, such as threads or queue length, are set too low for the load.",
    ],
    things_to_try: &[
        "Try again in a little while.",
        "Find what slows requests down, for example with a memory dump or a profile taken while the error occurs.",
        "Raise limits only once the bottleneck is understood.",
    ],
};

static ADV_500_15: Advice = Advice {
    summary:
        "The request asked for Global.asa or Global.asax by name, and those files are never served.",
    causes: &[
        "A link, a scanner or a bot requested the application file directly.",
        "Someone probed the site for files that reveal how it is built.",
    ],
    things_to_try: &[
        "Remove links that point to Global.asa or Global.asax.",
        "Change nothing on the server: refusing these files is intended.",
    ],
};

static ADV_500_19: Advice = Advice {
    summary: "The server cannot use the configuration that applies to this URL, so it cannot serve the page.",
    causes: &[
        "A web.config or applicationHost.config file is not well-formed XML (error code 0x8007000d).",
        "The file uses a section that is not declared, often because its module is not installed (0x80070032).",
        "A section is locked at a higher level (0x80070021), or a collection has the same entry twice (0x800700b7).",
        "The server cannot read the file because of its permissions (0x80070005) or a missing path (0x80070003).",
    ],
    things_to_try: &[
        "Open the file named under Config File and fix the line shown under Config Source.",
        "Match the Error Code of this page with the causes above to know what to fix.",
        "Install the module that owns the section, or remove the section.",
    ],
};

static ADV_500_100: Advice = Advice {
    summary: "A classic ASP page failed while it ran.",
    causes: &[
        "The page script hit a run-time error, such as a type mismatch or a missing object.",
        "The script could not reach a component or data source it uses.",
    ],
    things_to_try: &[
        "Look at the log's cs-uri-query column, where ASP adds the line and error number of the failure.",
        "On a test server, set scriptErrorSentToBrowser in system.webServer/asp to see the message.",
        "Turn off friendly error messages in the browser to see the full response.",
    ],
};

// ----- 501, 502, 503 -----

static ADV_501_0: Advice = Advice {
    summary: "The server does not implement the method or feature the request asks for.",
    causes: &[
        "The request used TRACE, which the server refuses by default.",
        "A header asks for a transfer coding or another feature the server does not support.",
    ],
    things_to_try: &[
        "Use a method the server supports; an OPTIONS request usually lists them in its Allow header.",
        "Do not rely on TRACE: servers leave it off because it can expose headers to scripts.",
    ],
};

static ADV_502_0: Advice = Advice {
    summary: "The server, working as a gateway or proxy, got an invalid answer or none at all from the server behind it.",
    causes: &[
        "The upstream server is down, refused the connection or closed it early.",
        "The upstream answer was malformed or took longer than the proxy's time-out.",
    ],
    things_to_try: &[
        "Check that the upstream server runs and can be reached from this server.",
        "Compare the proxy's time-out with the time the upstream needs to answer.",
        "Read the substatus and sc-win32-status in the log for the precise failure.",
    ],
};

static ADV_502_1: Advice = Advice {
    summary: "A CGI program did not finish its response within the time allowed.",
    causes: &[
        "The program runs longer than the timeout of system.webServer/cgi, 15 minutes by default.",
        "The program hangs waiting for input, a lock or a remote resource.",
    ],
    things_to_try: &[
        "Run the program by hand with the same input to see how long it takes.",
        "Fix the slow step; raise the cgi timeout only if the work really needs the time.",
    ],
};

static ADV_502_2: Advice = Advice {
    summary: "The program or upstream server behind this URL stopped before it sent a complete, valid response.",
    causes: &[
        "A CGI program exited or crashed before it wrote its response headers.",
        "The program printed something that is not a valid block of HTTP headers.",
        "With Application Request Routing, the request could not be mapped to a server of the farm.",
    ],
    things_to_try: &[
        "Run the program by hand and check that it prints headers, an empty line, then the body.",
        "Read the program's error output and exit code.",
        "With Application Request Routing, check the rewrite rule that sends the request to the server farm.",
    ],
};

static ADV_503_0: Advice = Advice {
    summary: "The application that should answer this request is not running.",
    causes: &[
        "The application pool is stopped or disabled.",
        "Rapid-fail protection stopped the pool after its worker process crashed several times in a row.",
        "The pool identity cannot sign in, for example because its password changed.",
    ],
    things_to_try: &[
        "Start the application pool and watch whether it stays up.",
        "Read the system and application event logs for why it stopped.",
        "In a service that emulates IIS, check that the backend the request is routed to has started.",
    ],
};

static ADV_503_2: Advice = Advice {
    summary: "The application already handles as many requests at once as it is allowed to, so this one was turned away.",
    causes: &[
        "Concurrent requests went over appConcurrentRequestLimit of system.webServer/serverRuntime, 5000 by default.",
        "Slow requests pile up, for example while a dependency hangs, and keep their slots.",
    ],
    things_to_try: &[
        "Find why requests are slow before raising the limit.",
        "Raise appConcurrentRequestLimit if the load is expected and the server can carry it.",
        "In a tower service, compare the limit with what a concurrency-limit or load-shed layer enforces.",
    ],
};

/// Defines the named constants on [`IisStatus`] and the catalog table in one place.
macro_rules! catalog {
    ($( $name:ident = ($status:literal, $sub:literal, $desc:literal) $(. $m:ident ( $($arg:expr),* ))* ;)*) => {
        /// Named IIS codes. Each constant's docs give the code and its IIS description.
        impl IisStatus {
            $(
                #[doc = concat!("`", stringify!($status), ".", stringify!($sub), "`: ", $desc, ".")]
                pub const $name: IisStatus = IisStatus::new($status, $sub);
            )*
        }

        static ENTRIES: &[CodeInfo] = &[
            $( CodeInfo::new(IisStatus::$name, stringify!($name), $desc) $(. $m ( $($arg),* ))* , )*
        ];
    };
}

// Module / notification / handler / HRESULT shortcuts for `.detail(..)`.
const RF: &str = "RequestFilteringModule";
const WEB_CORE: &str = "IIS Web Core";
const BEGIN: &str = "BeginRequest";
const EXECUTE: &str = "ExecuteRequestHandler";
const DIP: &str = "DynamicIpRestrictionModule";
const IPR: &str = "IpRestrictionModule";

// The table. It must stay sorted by (status, substatus): `lookup` binary-searches it.
//
// Details marked "our choice" are not backed by an observed IIS page (the reference
// lists them as UNCONFIRMED or says nothing); they name the module that owns the
// feature, the notification it runs in, and HRESULT 0.
catalog! {
    // ----- 1xx, 2xx, 3xx -----
    CONTINUE = (100, 0, "Continue").origin(Origin::Http);
    SWITCHING_PROTOCOLS = (101, 0, "Switching protocols").origin(Origin::Http);
    OK = (200, 0, "OK").origin(Origin::Http);
    CREATED = (201, 0, "Created").origin(Origin::Http);
    ACCEPTED = (202, 0, "Accepted").origin(Origin::Http);
    NON_AUTHORITATIVE_INFORMATION = (203, 0, "Nonauthoritative information").origin(Origin::Http);
    NO_CONTENT = (204, 0, "No content").origin(Origin::Http);
    RESET_CONTENT = (205, 0, "Reset content").origin(Origin::Http);
    PARTIAL_CONTENT = (206, 0, "Partial content").origin(Origin::Http);
    MOVED_PERMANENTLY = (301, 0, "Moved permanently").origin(Origin::Http);
    FOUND = (302, 0, "Object moved").origin(Origin::Http);
    NOT_MODIFIED = (304, 0, "Not modified").origin(Origin::Http);
    TEMPORARY_REDIRECT = (307, 0, "Temporary redirect").origin(Origin::Http);

    // ----- 400 -----
    BAD_REQUEST = (400, 0, "Bad request").advice(&ADV_400);
    BAD_REQUEST_INVALID_DESTINATION_HEADER = (400, 1, "Invalid Destination Header");
    BAD_REQUEST_INVALID_DEPTH_HEADER = (400, 2, "Invalid Depth Header");
    BAD_REQUEST_INVALID_IF_HEADER = (400, 3, "Invalid If Header");
    BAD_REQUEST_INVALID_OVERWRITE_HEADER = (400, 4, "Invalid Overwrite Header");
    BAD_REQUEST_INVALID_TRANSLATE_HEADER = (400, 5, "Invalid Translate Header");
    BAD_REQUEST_INVALID_REQUEST_BODY = (400, 6, "Invalid Request Body");
    BAD_REQUEST_INVALID_CONTENT_LENGTH = (400, 7, "Invalid Content Length");
    BAD_REQUEST_INVALID_TIMEOUT = (400, 8, "Invalid Timeout");
    BAD_REQUEST_INVALID_LOCK_TOKEN = (400, 9, "Invalid Lock Token");
    BAD_REQUEST_INVALID_X_FORWARDED_FOR = (400, 10, "Invalid X-Forwarded-For (XFF) header")
        .origin(Origin::Iis8);
    BAD_REQUEST_INVALID_WEBSOCKET_REQUEST = (400, 11, "Invalid WebSocket request")
        .origin(Origin::Iis8);
    // Codes ARR 3.0 added carry an `ARR_` prefix.
    BAD_REQUEST_ARR_BAD_CLIENT_REQUEST = (400, 601, "Bad client request (ARR)").origin(Origin::Arr3);
    BAD_REQUEST_ARR_INVALID_TIME_FORMAT = (400, 602, "Invalid time format (ARR)").origin(Origin::Arr3);
    BAD_REQUEST_ARR_PARSE_RANGE_ERROR = (400, 603, "Parse range error (ARR)").origin(Origin::Arr3);
    BAD_REQUEST_ARR_CLIENT_GONE = (400, 604, "Client gone (ARR)").origin(Origin::Arr3);
    BAD_REQUEST_ARR_MAX_FORWARDS = (400, 605, "Maximum number of forwards (ARR)").origin(Origin::Arr3);
    // The table says "competition"; the name follows the evident meaning, "completion".
    BAD_REQUEST_ARR_ASYNC_COMPLETION_ERROR = (400, 606, "Asynchronous competition error (ARR)")
        .origin(Origin::Arr3);

    // ----- 401 -----
    UNAUTHORIZED = (401, 0, "Access denied").advice(&ADV_401_0);
    // Our choice: IIS Web Core / AuthenticateRequest, HRESULT 0. The NTLM challenge
    // leg logs 0x8009030E (`401 1 2148074254`), a refused Basic password
    // 0x8007052E (`401 1 1326`, set by the authentication layer); callers set it
    // with `with_hresult`.
    UNAUTHORIZED_LOGON_FAILED = (401, 1, "Logon failed")
        .detail(WEB_CORE, "AuthenticateRequest", None, 0)
        .advice(&ADV_401_1);
    // Module and notification UNCONFIRMED in the reference; the log shows win32 5.
    UNAUTHORIZED_LOGON_FAILED_SERVER_CONFIG = (401, 2, "Logon failed due to server configuration")
        .detail(WEB_CORE, "AuthenticateRequest", None, 0x8007_0005)
        .advice(&ADV_401_2);
    UNAUTHORIZED_ACL_ON_RESOURCE = (401, 3, "Unauthorized due to ACL on resource")
        .advice(&ADV_401_3);
    UNAUTHORIZED_DENIED_BY_FILTER = (401, 4, "Authorization failed by filter").advice(&ADV_401_4);
    UNAUTHORIZED_DENIED_BY_ISAPI_CGI = (401, 5, "Authorization failed by ISAPI/CGI application")
        .advice(&ADV_401_5);
    // x.501–x.504 (all statuses): our choice of module, BeginRequest, HRESULT 0.
    UNAUTHORIZED_DYNAMIC_IP_CONCURRENT_LIMIT = (401, 501, "Access Denied: Too many requests from the same client IP; Dynamic IP Restriction Concurrent request rate limit reached")
        .origin(Origin::DynamicIpRestriction)
        .detail(DIP, BEGIN, None, 0)
        .advice(&ADV_DYNAMIC_IP_CONCURRENT);
    UNAUTHORIZED_DYNAMIC_IP_RATE_LIMIT = (401, 502, "Forbidden: Too many requests from the same client IP; Dynamic IP Restriction Maximum request rate limit reached")
        .origin(Origin::DynamicIpRestriction)
        .detail(DIP, BEGIN, None, 0)
        .advice(&ADV_DYNAMIC_IP_RATE);
    UNAUTHORIZED_IP_DENIED = (401, 503, "Access Denied: the IP address is included in the Deny list of IP Restriction")
        .origin(Origin::DynamicIpRestriction)
        .detail(IPR, BEGIN, None, 0)
        .advice(&ADV_IP_DENIED);
    UNAUTHORIZED_HOST_NAME_DENIED = (401, 504, "Access Denied: the host name is included in the Deny list of IP Restriction")
        .origin(Origin::DynamicIpRestriction)
        .detail(IPR, BEGIN, None, 0)
        .advice(&ADV_HOST_NAME_DENIED);

    // ----- 403 -----
    FORBIDDEN = (403, 0, "Forbidden").advice(&ADV_403_0);
    FORBIDDEN_EXECUTE_ACCESS = (403, 1, "Execute access forbidden").advice(&ADV_403_1);
    FORBIDDEN_READ_ACCESS = (403, 2, "Read access forbidden").advice(&ADV_403_2);
    FORBIDDEN_WRITE_ACCESS = (403, 3, "Write access forbidden").advice(&ADV_403_3);
    // IIS logs `403 4 5`, `403 5 5`, `403 7 5`: access denied (0x80070005). Module
    // and notification are our choice (UNCONFIRMED): IIS Web Core / BeginRequest.
    FORBIDDEN_SSL_REQUIRED = (403, 4, "SSL required")
        .detail(WEB_CORE, BEGIN, None, 0x8007_0005)
        .advice(&ADV_403_4);
    FORBIDDEN_SSL_128_REQUIRED = (403, 5, "SSL 128 required")
        .detail(WEB_CORE, BEGIN, None, 0x8007_0005)
        .advice(&ADV_403_5);
    // Our choice: IpRestrictionModule / BeginRequest, HRESULT 0; same for 403.8.
    FORBIDDEN_IP_ADDRESS_REJECTED = (403, 6, "IP address rejected")
        .detail(IPR, BEGIN, None, 0)
        .advice(&ADV_403_6);
    FORBIDDEN_CLIENT_CERTIFICATE_REQUIRED = (403, 7, "Client certificate required")
        .detail(WEB_CORE, BEGIN, None, 0x8007_0005)
        .advice(&ADV_403_7);
    FORBIDDEN_SITE_ACCESS_DENIED = (403, 8, "Site access denied")
        .detail(IPR, BEGIN, None, 0)
        .advice(&ADV_403_8);
    FORBIDDEN_TOO_MANY_CLIENTS = (403, 9, "Forbidden: too many clients are trying to connect to the web server");
    FORBIDDEN_SERVER_DENIES_EXECUTE = (403, 10, "Forbidden: web server is configured to deny Execute access");
    FORBIDDEN_PASSWORD_CHANGED = (403, 11, "Forbidden: Password has been changed");
    FORBIDDEN_MAPPER_DENIED_ACCESS = (403, 12, "Mapper denied access").advice(&ADV_403_12);
    FORBIDDEN_CLIENT_CERTIFICATE_REVOKED = (403, 13, "Client certificate revoked")
        .advice(&ADV_403_13);
    FORBIDDEN_DIRECTORY_LISTING_DENIED = (403, 14, "Directory listing denied")
        .detail("DirectoryListingModule", EXECUTE, Some("StaticFile"), 0)
        .advice(&ADV_403_14);
    FORBIDDEN_CLIENT_ACCESS_LICENSES_EXCEEDED = (403, 15, "Forbidden: Client access licenses have exceeded limits on the web server");
    // IIS logs `403 16 2148204809`: CERT_E_UNTRUSTEDROOT (0x800B0109).
    FORBIDDEN_CLIENT_CERTIFICATE_UNTRUSTED = (403, 16, "Client certificate is untrusted or invalid")
        .detail(WEB_CORE, BEGIN, None, 0x800B_0109)
        .advice(&ADV_403_16);
    // CERT_E_EXPIRED (0x800B0101), logged `403 17 2148204801`.
    FORBIDDEN_CLIENT_CERTIFICATE_EXPIRED = (403, 17, "Client certificate has expired or is not yet valid")
        .detail(WEB_CORE, BEGIN, None, 0x800B_0101)
        .advice(&ADV_403_17);
    FORBIDDEN_CANNOT_EXECUTE_IN_APP_POOL = (403, 18, "Cannot execute requested URL in the current application pool")
        .advice(&ADV_403_18);
    FORBIDDEN_CANNOT_EXECUTE_CGI_IN_APP_POOL = (403, 19, "Cannot execute CGI applications for the client browser in this application pool")
        .advice(&ADV_403_19);
    FORBIDDEN_PASSPORT_LOGON_FAILED = (403, 20, "Forbidden: Passport logon failed");
    FORBIDDEN_SOURCE_ACCESS_DENIED = (403, 21, "Forbidden: Source access denied");
    FORBIDDEN_INFINITE_DEPTH_DENIED = (403, 22, "Forbidden: Infinite depth is denied");
    FORBIDDEN_DYNAMIC_IP_CONCURRENT_LIMIT = (403, 501, "Forbidden: Too many requests from the same client IP; Dynamic IP Restriction Concurrent request rate limit reached")
        .origin(Origin::DynamicIpRestriction)
        .detail(DIP, BEGIN, None, 0)
        .advice(&ADV_DYNAMIC_IP_CONCURRENT);
    FORBIDDEN_DYNAMIC_IP_RATE_LIMIT = (403, 502, "Forbidden: Too many requests from the same client IP; Dynamic IP Restriction Maximum request rate limit reached")
        .origin(Origin::DynamicIpRestriction)
        .detail(DIP, BEGIN, None, 0)
        .advice(&ADV_DYNAMIC_IP_RATE);
    FORBIDDEN_IP_DENIED = (403, 503, "Forbidden: the IP address is included in the Deny list of IP Restriction")
        .origin(Origin::DynamicIpRestriction)
        .detail(IPR, BEGIN, None, 0)
        .advice(&ADV_IP_DENIED);
    FORBIDDEN_HOST_NAME_DENIED = (403, 504, "Forbidden: the host name is included in the Deny list of IP Restriction")
        .origin(Origin::DynamicIpRestriction)
        .detail(IPR, BEGIN, None, 0)
        .advice(&ADV_HOST_NAME_DENIED);

    // ----- 404 -----
    NOT_FOUND = (404, 0, "Not found")
        .detail(WEB_CORE, "MapRequestHandler", Some("StaticFile"), 0x8007_0002)
        .advice(&ADV_404_0);
    NOT_FOUND_SITE_NOT_FOUND = (404, 1, "Site Not Found");
    NOT_FOUND_ISAPI_CGI_RESTRICTION = (404, 2, "ISAPI or CGI restriction").advice(&ADV_404_2);
    // Module and HRESULT observed; notification and handler are our choice.
    NOT_FOUND_MIME_TYPE_RESTRICTION = (404, 3, "MIME type restriction")
        .detail("StaticFileModule", EXECUTE, Some("StaticFile"), 0x8007_0032)
        .advice(&ADV_404_3);
    NOT_FOUND_NO_HANDLER = (404, 4, "No handler configured").advice(&ADV_404_4);
    // Request filtering (404.5–404.15, 404.18–404.20, 413.1, 431.0): observed as
    // RequestFilteringModule / BeginRequest, no handler yet, HRESULT 0. 404.20 by analogy.
    NOT_FOUND_DENIED_BY_REQUEST_FILTERING = (404, 5, "Denied by request filtering configuration")
        .detail(RF, BEGIN, None, 0)
        .advice(&ADV_404_5);
    NOT_FOUND_VERB_DENIED = (404, 6, "Verb denied")
        .detail(RF, BEGIN, None, 0)
        .advice(&ADV_404_6);
    NOT_FOUND_FILE_EXTENSION_DENIED = (404, 7, "File extension denied")
        .detail(RF, BEGIN, None, 0)
        .advice(&ADV_404_7);
    NOT_FOUND_HIDDEN_NAMESPACE = (404, 8, "Hidden namespace")
        .detail(RF, BEGIN, None, 0)
        .advice(&ADV_404_8);
    NOT_FOUND_FILE_ATTRIBUTE_HIDDEN = (404, 9, "File attribute hidden")
        .detail(RF, BEGIN, None, 0)
        .advice(&ADV_404_9);
    NOT_FOUND_REQUEST_HEADER_TOO_LONG = (404, 10, "Request header too long")
        .detail(RF, BEGIN, None, 0)
        .advice(&ADV_404_10);
    NOT_FOUND_URL_DOUBLE_ESCAPED = (404, 11, "Request contains double escape sequence")
        .detail(RF, BEGIN, None, 0)
        .advice(&ADV_404_11);
    NOT_FOUND_HIGH_BIT_CHARACTERS = (404, 12, "Request contains high-bit characters")
        .detail(RF, BEGIN, None, 0)
        .advice(&ADV_404_12);
    NOT_FOUND_CONTENT_LENGTH_TOO_LARGE = (404, 13, "Content length too large")
        .detail(RF, BEGIN, None, 0)
        .advice(&ADV_404_13);
    NOT_FOUND_URL_TOO_LONG = (404, 14, "Request URL too long")
        .detail(RF, BEGIN, None, 0)
        .advice(&ADV_404_14);
    NOT_FOUND_QUERY_STRING_TOO_LONG = (404, 15, "Query string too long")
        .detail(RF, BEGIN, None, 0)
        .advice(&ADV_404_15);
    // Our choice for 404.16 and 404.17: the static file handler refuses them.
    NOT_FOUND_DAV_TO_STATIC_HANDLER = (404, 16, "DAV request sent to the static file handler")
        .detail("StaticFileModule", EXECUTE, Some("StaticFile"), 0);
    NOT_FOUND_DYNAMIC_TO_STATIC_HANDLER = (404, 17, "Dynamic content mapped to the static file handler")
        .detail("StaticFileModule", EXECUTE, Some("StaticFile"), 0)
        .advice(&ADV_404_17);
    NOT_FOUND_QUERY_STRING_SEQUENCE_DENIED = (404, 18, "Querystring sequence denied")
        .detail(RF, BEGIN, None, 0)
        .advice(&ADV_404_18);
    NOT_FOUND_DENIED_BY_FILTERING_RULE = (404, 19, "Denied by filtering rule")
        .detail(RF, BEGIN, None, 0)
        .advice(&ADV_404_19);
    NOT_FOUND_TOO_MANY_URL_SEGMENTS = (404, 20, "Too Many URL Segments")
        .detail(RF, BEGIN, None, 0)
        .advice(&ADV_404_20);
    NOT_FOUND_DYNAMIC_IP_CONCURRENT_LIMIT = (404, 501, "Not Found: Too many requests from the same client IP; Dynamic IP Restriction Concurrent request rate limit reached")
        .origin(Origin::DynamicIpRestriction)
        .detail(DIP, BEGIN, None, 0)
        .advice(&ADV_DYNAMIC_IP_CONCURRENT);
    NOT_FOUND_DYNAMIC_IP_RATE_LIMIT = (404, 502, "Not Found: Too many requests from the same client IP; Dynamic IP Restriction Maximum request rate limit reached")
        .origin(Origin::DynamicIpRestriction)
        .detail(DIP, BEGIN, None, 0)
        .advice(&ADV_DYNAMIC_IP_RATE);
    NOT_FOUND_IP_DENIED = (404, 503, "Not Found: the IP address is included in the Deny list of IP Restriction")
        .origin(Origin::DynamicIpRestriction)
        .detail(IPR, BEGIN, None, 0)
        .advice(&ADV_IP_DENIED);
    NOT_FOUND_HOST_NAME_DENIED = (404, 504, "Not Found: the host name is included in the Deny list of IP Restriction")
        .origin(Origin::DynamicIpRestriction)
        .detail(IPR, BEGIN, None, 0)
        .advice(&ADV_HOST_NAME_DENIED);

    // ----- 405–431 -----
    // The static file handler answers a verb it does not support (PUT, DELETE,
    // PROPFIND, an unknown one) with 405, logged `405 0 1` (ERROR_INVALID_FUNCTION).
    METHOD_NOT_ALLOWED = (405, 0, "Method not allowed")
        .detail("StaticFileModule", EXECUTE, Some("StaticFile"), 0x8007_0001)
        .advice(&ADV_405_0);
    NOT_ACCEPTABLE = (406, 0, "Invalid MIME type").advice(&ADV_406_0);
    REQUEST_TIMEOUT = (408, 0, "Request timed out");
    PRECONDITION_FAILED = (412, 0, "Precondition failed").advice(&ADV_412_0);
    PAYLOAD_TOO_LARGE_CONTENT_LENGTH = (413, 1, "Content length too large")
        .origin(Origin::Iis10)
        .detail(RF, BEGIN, None, 0)
        .advice(&ADV_413_1);
    REQUEST_HEADER_FIELDS_TOO_LARGE = (431, 0, "Request header fields too large")
        .origin(Origin::Iis10)
        .detail(RF, BEGIN, None, 0)
        .advice(&ADV_431_0);

    // ----- 500 -----
    INTERNAL_SERVER_ERROR = (500, 0, "Module or ISAPI error occurred").advice(&ADV_500_0);
    INTERNAL_SERVER_ERROR_APP_SHUTTING_DOWN = (500, 11, "Application is shutting down on the web server")
        .advice(&ADV_500_11);
    INTERNAL_SERVER_ERROR_APP_RESTARTING = (500, 12, "Application is busy restarting on the web server")
        .advice(&ADV_500_12);
    INTERNAL_SERVER_ERROR_SERVER_TOO_BUSY = (500, 13, "Web server is too busy").advice(&ADV_500_13);
    INTERNAL_SERVER_ERROR_GLOBAL_ASAX_REQUEST = (500, 15, "Direct requests for Global.asax are not allowed")
        .advice(&ADV_500_15);
    // 0x8007000d (malformed XML) is the most common of the observed error codes;
    // callers set the one that fits with `with_hresult`.
    INTERNAL_SERVER_ERROR_CONFIGURATION_DATA_INVALID = (500, 19, "Configuration data is invalid")
        .detail(WEB_CORE, "Unknown", Some("Not yet determined"), 0x8007_000d)
        .advice(&ADV_500_19);
    INTERNAL_SERVER_ERROR_MODULE_NOT_RECOGNIZED = (500, 21, "Module not recognized");
    INTERNAL_SERVER_ERROR_INTEGRATED_HTTP_MODULES = (500, 22, "An ASP.NET httpModules configuration does not apply in Managed Pipeline mode")
        .detail("ConfigurationValidationModule", BEGIN, None, 0x8007_0032);
    INTERNAL_SERVER_ERROR_INTEGRATED_HTTP_HANDLERS = (500, 23, "An ASP.NET httpHandlers configuration does not apply in Managed Pipeline mode")
        .detail("ConfigurationValidationModule", BEGIN, None, 0x8007_0032);
    INTERNAL_SERVER_ERROR_INTEGRATED_IMPERSONATION = (500, 24, "An ASP.NET impersonation configuration does not apply in Managed Pipeline mode")
        .detail("ConfigurationValidationModule", BEGIN, None, 0x8007_0032);
    INTERNAL_SERVER_ERROR_REWRITE_BEGIN_REQUEST = (500, 50, "A rewrite error occurred during RQ_BEGIN_REQUEST notification handling. A configuration or inbound rule execution error occurred");
    INTERNAL_SERVER_ERROR_REWRITE_PRE_BEGIN_REQUEST = (500, 51, "A rewrite error occurred during GL_PRE_BEGIN_REQUEST notification handling. A global configuration or global rule execution error occurred");
    INTERNAL_SERVER_ERROR_REWRITE_SEND_RESPONSE = (500, 52, "A rewrite error occurred during RQ_SEND_RESPONSE notification handling. An outbound rule execution occurred");
    INTERNAL_SERVER_ERROR_REWRITE_RELEASE_REQUEST_STATE = (500, 53, "A rewrite error occurred during RQ_RELEASE_REQUEST_STATE notification handling. An outbound rule execution error occurred. The rule is configured to be executed before the output user cache gets updated");
    INTERNAL_SERVER_ERROR_ASP_ERROR = (500, 100, "Internal ASP error").advice(&ADV_500_100);

    // ----- 501, 502, 503 -----
    NOT_IMPLEMENTED = (501, 0, "Not implemented")
        .detail("ProtocolSupportModule", EXECUTE, Some("TRACEVerbHandler"), 0)
        .advice(&ADV_501_0);
    BAD_GATEWAY = (502, 0, "Web server received an invalid response while acting as a gateway or proxy")
        .advice(&ADV_502_0);
    BAD_GATEWAY_CGI_TIMEOUT = (502, 1, "CGI application timeout").advice(&ADV_502_1);
    // 502.2–502.4: the IIS 7 meaning first, the one ARR 3.0 gave the code as alternate.
    BAD_GATEWAY_PREMATURE_EXIT = (502, 2, "Bad gateway: Premature Exit")
        .alternate("Map request failure (ARR)")
        .advice(&ADV_502_2);
    BAD_GATEWAY_FORWARDER_CONNECTION_ERROR = (502, 3, "Bad Gateway: Forwarder Connection Error (ARR)")
        .alternate("WinHTTP asynchronous completion failure (ARR)");
    BAD_GATEWAY_NO_SERVER = (502, 4, "Bad Gateway: No Server (ARR)")
        .alternate("No server (ARR)");
    BAD_GATEWAY_ARR_WEBSOCKET_FAILURE = (502, 5, "WebSocket failure (ARR)").origin(Origin::Arr3);
    BAD_GATEWAY_ARR_FORWARDED_REQUEST_FAILURE = (502, 6, "Forwarded request failure (ARR)")
        .origin(Origin::Arr3);
    BAD_GATEWAY_ARR_EXECUTE_REQUEST_FAILURE = (502, 7, "Execute request failure (ARR)")
        .origin(Origin::Arr3);
    SERVICE_UNAVAILABLE = (503, 0, "Application pool unavailable").advice(&ADV_503_0);
    // Our choice: IIS Web Core / BeginRequest, HRESULT 0.
    SERVICE_UNAVAILABLE_CONCURRENT_REQUEST_LIMIT = (503, 2, "Concurrent request limit exceeded")
        .detail(WEB_CORE, BEGIN, None, 0)
        .advice(&ADV_503_2);
    SERVICE_UNAVAILABLE_ASPNET_QUEUE_FULL = (503, 3, "ASP.NET queue full");
    SERVICE_UNAVAILABLE_FASTCGI_QUEUE_FULL = (503, 4, "FastCGI queue full");
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The codes of the "Common HTTP status codes and the causes" table (IIS 7.0–8.0
    /// status article) that are errors, plus the ones this crate adds advice for.
    const NEEDS_ADVICE: &[&str] = &[
        // The common-causes table.
        "400", "401.1", "401.2", "401.3", "401.4", "401.5", "403.1", "403.2", "403.3", "403.4",
        "403.5", "403.6", "403.7", "403.8", "403.12", "403.13", "403.14", "403.16", "403.17",
        "403.18", "403.19", "404.0", "404.2", "404.3", "404.4", "404.5", "404.6", "404.7", "404.8",
        "404.9", "404.10", "404.11", "404.12", "404.13", "404.14", "404.15", "404.17", "405.0",
        "406.0", "412.0", "500.0", "500.11", "500.12", "500.13", "500.15", "500.19", "500.100",
        "501.0", "502.1", "502.2", "503.0", "503.2",
        // Added: newer request filtering codes, IP restrictions, status-level fallbacks.
        "404.18", "404.19", "404.20", "413.1", "431.0", "401.501", "401.502", "401.503", "401.504",
        "403.501", "403.502", "403.503", "403.504", "404.501", "404.502", "404.503", "404.504",
        "401.0", "403.0", "502.0",
    ];

    fn code(s: &str) -> IisStatus {
        s.parse().unwrap()
    }

    #[test]
    fn table_is_sorted_and_unique() {
        for pair in ENTRIES.windows(2) {
            assert!(
                pair[0].status < pair[1].status,
                "{:?} then {:?}",
                pair[0].status,
                pair[1].status
            );
        }
        let mut names: Vec<_> = ENTRIES.iter().map(CodeInfo::name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ENTRIES.len(), "constant names are unique");
    }

    #[test]
    fn lookup_finds_every_entry() {
        for e in ENTRIES {
            let found = lookup(e.status()).unwrap();
            assert_eq!(found.name(), e.name());
            assert_eq!(e.status().info().unwrap().name(), e.name());
        }
        assert!(lookup(IisStatus::new(404, 999)).is_none());
        assert!(lookup(IisStatus::new(599, 0)).is_none());
    }

    #[test]
    fn names_match_constants() {
        assert_eq!(lookup(IisStatus::NOT_FOUND).unwrap().name(), "NOT_FOUND");
        assert_eq!(IisStatus::NOT_FOUND, IisStatus::new(404, 0));
        assert_eq!(
            IisStatus::UNAUTHORIZED_LOGON_FAILED_SERVER_CONFIG,
            IisStatus::new(401, 2)
        );
        assert_eq!(
            IisStatus::FORBIDDEN_IP_ADDRESS_REJECTED,
            IisStatus::new(403, 6)
        );
        assert_eq!(
            IisStatus::NOT_FOUND_TOO_MANY_URL_SEGMENTS,
            IisStatus::new(404, 20)
        );
        assert_eq!(
            IisStatus::PAYLOAD_TOO_LARGE_CONTENT_LENGTH,
            IisStatus::new(413, 1)
        );
        assert_eq!(
            IisStatus::REQUEST_HEADER_FIELDS_TOO_LARGE,
            IisStatus::new(431, 0)
        );
        assert_eq!(
            IisStatus::SERVICE_UNAVAILABLE_CONCURRENT_REQUEST_LIMIT,
            IisStatus::new(503, 2)
        );
        assert_eq!(
            IisStatus::NOT_FOUND_HOST_NAME_DENIED,
            IisStatus::new(404, 504)
        );
        for e in ENTRIES {
            let name = e.name();
            assert!(
                name.bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_'),
                "{name}"
            );
        }
    }

    #[test]
    fn descriptions_are_clean() {
        for e in ENTRIES {
            let d = e.description();
            assert!(!d.is_empty(), "{:?}", e.status());
            assert!(
                !d.ends_with('.') && !d.ends_with(' '),
                "{:?}: {d:?}",
                e.status()
            );
            assert!(!d.contains('`'), "{:?}: {d:?}", e.status());
        }
    }

    #[test]
    fn common_codes_have_advice() {
        for s in NEEDS_ADVICE {
            let info = lookup(code(s)).unwrap_or_else(|| panic!("{s} is not in the catalog"));
            assert!(info.advice_text().is_some(), "{s} has no advice");
        }
        // Success and redirection codes are not errors and carry none.
        for e in ENTRIES.iter().filter(|e| !e.status().is_error()) {
            assert!(e.advice_text().is_none(), "{:?}", e.status());
        }
    }

    fn check_sentence(what: &str, s: &str) {
        assert!(!s.trim().is_empty(), "{what}: empty");
        assert_eq!(s, s.trim(), "{what}: surrounding space");
        assert!(s.ends_with('.'), "{what}: {s:?} does not end with a period");
    }

    fn check_advice(what: &str, a: &Advice) {
        check_sentence(what, a.summary);
        assert!(
            !a.summary.trim_end_matches('.').contains(". "),
            "{what}: summary is more than one sentence"
        );
        assert!(
            (2..=4).contains(&a.causes.len()),
            "{what}: {} causes",
            a.causes.len()
        );
        assert!(
            (2..=4).contains(&a.things_to_try.len()),
            "{what}: {} things to try",
            a.things_to_try.len()
        );
        for s in a.causes.iter().chain(a.things_to_try) {
            check_sentence(what, s);
        }
    }

    #[test]
    fn every_advice_is_well_formed() {
        check_advice("generic client", &GENERIC_CLIENT);
        check_advice("generic server", &GENERIC_SERVER);
        for e in ENTRIES {
            if let Some(a) = e.advice_text() {
                check_advice(&e.status().to_string(), a);
            }
        }
    }

    #[test]
    fn advice_falls_back_to_the_status_then_the_class() {
        let base = lookup(IisStatus::UNAUTHORIZED)
            .unwrap()
            .advice_text()
            .unwrap();
        assert!(std::ptr::eq(advice_for(IisStatus::new(401, 7)), base));
        assert!(std::ptr::eq(
            advice_for(IisStatus::FORBIDDEN_TOO_MANY_CLIENTS),
            lookup(IisStatus::FORBIDDEN).unwrap().advice_text().unwrap()
        ));
        assert!(std::ptr::eq(
            advice_for(IisStatus::NOT_FOUND_VERB_DENIED),
            &ADV_404_6
        ));
        assert!(std::ptr::eq(
            advice_for(IisStatus::new(418, 0)),
            &GENERIC_CLIENT
        ));
        assert!(std::ptr::eq(
            advice_for(IisStatus::new(599, 7)),
            &GENERIC_SERVER
        ));
        // Every error status in the catalog has a status-level fallback or its own.
        for e in ENTRIES.iter().filter(|e| e.status().is_error()) {
            let a = advice_for(e.status());
            check_advice(&e.status().to_string(), a);
        }
    }

    #[test]
    fn only_502_2_to_502_4_have_alternates() {
        for e in ENTRIES {
            let expected = e.status().code() == 502 && (2..=4).contains(&e.status().substatus());
            assert_eq!(
                e.alternate_description().is_some(),
                expected,
                "{:?}",
                e.status()
            );
        }
        assert_eq!(
            lookup(IisStatus::BAD_GATEWAY_NO_SERVER)
                .unwrap()
                .alternate_description(),
            Some("No server (ARR)")
        );
    }

    #[test]
    fn origins_follow_the_tables() {
        for e in ENTRIES {
            let (status, sub) = (e.status().code(), e.status().substatus());
            let expected = match (status, sub) {
                (100..=399, _) => Origin::Http,
                (400, 10 | 11) => Origin::Iis8,
                (400, 601..=606) | (502, 5..=7) => Origin::Arr3,
                (_, 501..=504) => Origin::DynamicIpRestriction,
                (413, 1) | (431, 0) => Origin::Iis10,
                _ => Origin::Iis7,
            };
            assert_eq!(e.origin_of(), expected, "{:?}", e.status());
        }
    }

    #[test]
    fn known_details() {
        let d = |s: IisStatus| {
            let i = lookup(s).unwrap();
            (i.module(), i.notification(), i.handler(), i.hresult())
        };
        assert_eq!(
            d(IisStatus::NOT_FOUND),
            (
                Some("IIS Web Core"),
                Some("MapRequestHandler"),
                Some("StaticFile"),
                Some(0x8007_0002)
            )
        );
        assert_eq!(
            d(IisStatus::FORBIDDEN_DIRECTORY_LISTING_DENIED),
            (
                Some("DirectoryListingModule"),
                Some("ExecuteRequestHandler"),
                Some("StaticFile"),
                Some(0)
            )
        );
        assert_eq!(
            d(IisStatus::INTERNAL_SERVER_ERROR_CONFIGURATION_DATA_INVALID),
            (
                Some("IIS Web Core"),
                Some("Unknown"),
                Some("Not yet determined"),
                Some(0x8007_000d)
            )
        );
        assert_eq!(
            lookup(IisStatus::INTERNAL_SERVER_ERROR_CONFIGURATION_DATA_INVALID)
                .unwrap()
                .win32_status(),
            13
        );
        for sub in 22..=24 {
            assert_eq!(
                d(IisStatus::new(500, sub)),
                (
                    Some("ConfigurationValidationModule"),
                    Some("BeginRequest"),
                    None,
                    Some(0x8007_0032)
                )
            );
        }
        assert_eq!(
            d(IisStatus::NOT_IMPLEMENTED),
            (
                Some("ProtocolSupportModule"),
                Some("ExecuteRequestHandler"),
                Some("TRACEVerbHandler"),
                Some(0)
            )
        );
        let rf = [
            "404.5", "404.6", "404.7", "404.8", "404.9", "404.10", "404.11", "404.12", "404.13",
            "404.14", "404.15", "404.18", "404.19", "404.20", "413.1", "431.0",
        ];
        for s in rf {
            assert_eq!(
                d(code(s)),
                (
                    Some("RequestFilteringModule"),
                    Some("BeginRequest"),
                    None,
                    Some(0)
                ),
                "{s}"
            );
        }
        let auth = lookup(IisStatus::UNAUTHORIZED_LOGON_FAILED_SERVER_CONFIG).unwrap();
        assert_eq!(auth.notification(), Some("AuthenticateRequest"));
        assert_eq!(auth.win32_status(), 5);
        // Codes without a known detail leave it to the caller (and to IisError's defaults).
        assert_eq!(d(IisStatus::REQUEST_TIMEOUT), (None, None, None, None));
    }
}
