//! Reads a trace file back: for tests and tools.
//!
//! ```
//! use tower_iis::freb::reader::Trace;
//!
//! let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
//! <failedRequest url="http://localhost:80/a" siteId="1" verb="GET" statusCode="404.3"
//!   failureReason="STATUS_CODE" timeTaken="16" activityId="{0}">
//!  <Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event">
//!   <System><Provider Name="WWW Server"/><Level>3</Level></System>
//!   <EventData><Data Name="ModuleName">StaticFileModule</Data></EventData>
//!   <RenderingInfo Culture="en-US"><Opcode>MODULE_SET_RESPONSE_ERROR_STATUS</Opcode></RenderingInfo>
//!  </Event>
//! </failedRequest>"#;
//! let trace = Trace::parse(xml).unwrap();
//! assert_eq!((trace.status_code.as_str(), trace.time_taken_ms), ("404.3", 16));
//! assert_eq!(trace.error_status().unwrap().data("ModuleName"), Some("StaticFileModule"));
//! ```

use std::fmt;

/// A parsed `frNNNNNN.xml`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Trace {
    /// `url`.
    pub url: String,
    /// `siteId`.
    pub site_id: String,
    /// `verb`.
    pub verb: String,
    /// `statusCode`, e.g. `404.3`.
    pub status_code: String,
    /// `triggerStatusCode`.
    pub trigger_status_code: String,
    /// `failureReason`: `STATUS_CODE`, `TIME_TAKEN` or `VERBOSITY`.
    pub failure_reason: String,
    /// `timeTaken`, in milliseconds.
    pub time_taken_ms: u64,
    /// `activityId`.
    pub activity_id: String,
    /// Events cut by the budget (`tower:droppedEvents`, 0 when absent).
    pub dropped_events: u64,
    /// The events, in order.
    pub events: Vec<TraceEvent>,
}

/// One `Event` of a trace.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct TraceEvent {
    /// `System/Provider/@Name`.
    pub provider: String,
    /// `System/Level`: 1 critical … 5 verbose.
    pub level: u8,
    /// `System/TimeCreated/@SystemTime`.
    pub time: String,
    /// `RenderingInfo/Opcode`: the event's name.
    pub opcode: String,
    /// `EventData/Data`, by `Name`, in order.
    pub data: Vec<(String, String)>,
    /// `RenderingInfo/freb:Description`, by `Data`.
    pub descriptions: Vec<(String, String)>,
}

impl TraceEvent {
    /// The value of `Data Name="name"`.
    #[must_use]
    pub fn data(&self, name: &str) -> Option<&str> {
        self.data
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The rendering of a data item (`ErrorCode`, `Notification`).
    #[must_use]
    pub fn description(&self, name: &str) -> Option<&str> {
        self.descriptions
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

impl Trace {
    /// Parses a trace file's text.
    ///
    /// # Errors
    ///
    /// Text that is not well-formed XML, or whose root is not `failedRequest`.
    pub fn parse(text: &str) -> Result<Self, ReadError> {
        let doc = roxmltree::Document::parse(text).map_err(|e| ReadError(e.to_string()))?;
        let root = doc.root_element();
        if root.tag_name().name() != "failedRequest" {
            return Err(ReadError(format!(
                "the root element is <{}>, not <failedRequest>",
                root.tag_name().name()
            )));
        }
        let a = |n: &str| root.attribute(n).unwrap_or("").to_owned();
        let dropped = root
            .attributes()
            .find(|x| x.name() == "droppedEvents")
            .and_then(|x| x.value().parse().ok())
            .unwrap_or(0);
        let text_of = |n: roxmltree::Node<'_, '_>| n.text().unwrap_or("").to_owned();
        let events = root
            .children()
            .filter(|n| n.has_tag_name("Event"))
            .map(|ev| {
                let mut e = TraceEvent::default();
                for part in ev.children().filter(roxmltree::Node::is_element) {
                    for item in part.children().filter(roxmltree::Node::is_element) {
                        match (part.tag_name().name(), item.tag_name().name()) {
                            ("System", "Provider") => {
                                e.provider = item.attribute("Name").unwrap_or("").to_owned();
                            }
                            ("System", "Level") => {
                                e.level = item.text().unwrap_or("0").trim().parse().unwrap_or(0)
                            }
                            ("System", "TimeCreated") => {
                                e.time = item.attribute("SystemTime").unwrap_or("").to_owned();
                            }
                            ("EventData", "Data") => e.data.push((
                                item.attribute("Name").unwrap_or("").to_owned(),
                                text_of(item),
                            )),
                            ("RenderingInfo", "Opcode") => e.opcode = text_of(item),
                            ("RenderingInfo", "Description") => e.descriptions.push((
                                item.attribute("Data").unwrap_or("").to_owned(),
                                text_of(item),
                            )),
                            _ => {}
                        }
                    }
                }
                e
            })
            .collect();
        Ok(Self {
            url: a("url"),
            site_id: a("siteId"),
            verb: a("verb"),
            status_code: a("statusCode"),
            trigger_status_code: a("triggerStatusCode"),
            failure_reason: a("failureReason"),
            time_taken_ms: root
                .attribute("timeTaken")
                .and_then(|t| t.parse().ok())
                .unwrap_or(0),
            activity_id: a("activityId"),
            dropped_events: dropped,
            events,
        })
    }

    /// The events with this opcode (`GENERAL_REQUEST_START` …).
    pub fn events_named<'a>(
        &'a self,
        opcode: &'a str,
    ) -> impl Iterator<Item = &'a TraceEvent> + 'a {
        self.events.iter().filter(move |e| e.opcode == opcode)
    }

    /// The first `MODULE_SET_RESPONSE_ERROR_STATUS` event: who set the error status.
    #[must_use]
    pub fn error_status(&self) -> Option<&TraceEvent> {
        self.events_named("MODULE_SET_RESPONSE_ERROR_STATUS").next()
    }
}

/// A trace file that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadError(String);

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot read the trace file: {}", self.0)
    }
}

impl std::error::Error for ReadError {}
