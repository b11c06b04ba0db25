//! Every IIS status.substatus code, by name, with what IIS shows for it.
//!
//! The catalog holds each code of the IIS 7.0+ status tables (the IIS 8.0, ARR 3.0
//! and Dynamic IP Restriction additions included), plus `413.1` and `431.0` that
//! current IIS 10 sends for oversized bodies and headers. Each code is a named
//! constant on [`IisStatus`] and has a [`CodeInfo`]: the description from the IIS
//! tables and, where known, the detail IIS prints on its detailed error page
//! (module, notification, handler, HRESULT) and our own advice text.
//!
//! # Example
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
//! assert!(catalog::all().len() > 150);
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

const GENERIC_CLIENT: Advice = Advice {
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

const GENERIC_SERVER: Advice = Advice {
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

const ADV_404_0: Advice = Advice {
    summary: "The resource you asked for does not exist here: it may have been removed or renamed, or it is not available right now.",
    causes: &[
        "The address names a file or directory that is not on the server.",
        "The address has a typing mistake.",
        "A route or rewrite rule points to content that has moved.",
    ],
    things_to_try: &[
        "Check that the file exists under the physical path shown below.",
        "Compare the requested URL with the address you meant to type.",
        "If a rule rewrites this URL, check where it now points.",
    ],
};

const ADV_404_3: Advice = Advice {
    summary: "The file exists, but the server has no MIME type for its extension, so it will not serve it.",
    causes: &[
        "No MIME map is configured for the file name extension.",
        "The content is dynamic and needs a handler that is not installed or not mapped.",
    ],
    things_to_try: &[
        "Add a MIME map for the extension if the file is static content.",
        "Install and map the handler if the file should run as a script.",
    ],
};

catalog! {
    CONTINUE = (100, 0, "Continue").origin(Origin::Http);
    NOT_FOUND = (404, 0, "Not found")
        .detail("IIS Web Core", "MapRequestHandler", Some("StaticFile"), 0x8007_0002)
        .advice(&ADV_404_0);
    NOT_FOUND_MIME_TYPE_RESTRICTION = (404, 3, "MIME type restriction")
        .detail("StaticFileModule", "ExecuteRequestHandler", Some("StaticFile"), 0x8007_0032)
        .advice(&ADV_404_3);
    FORBIDDEN_DIRECTORY_LISTING_DENIED = (403, 14, "Directory listing denied")
        .detail("DirectoryListingModule", "ExecuteRequestHandler", Some("StaticFile"), 0);
    BAD_GATEWAY_FORWARDER_CONNECTION_ERROR = (502, 3, "Bad Gateway: Forwarder Connection Error (ARR)")
        .alternate("WinHTTP asynchronous completion failure (ARR)");
}

#[cfg(test)]
mod tests {
    use super::*;

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
    }
}
