//! `<system.webServer><tracing><traceFailedRequests>`: failed request tracing rules.

use roxmltree::Node;

use super::error::WebConfigError;
use super::parse::{Collection, Parser};
use crate::freb::{parse_time_taken, Rule, TraceArea, Verbosity};

/// `failureDefinitions@verbosity`: `Ignore` sets none.
const FAILURE_VERBOSITY: [(&str, Option<Verbosity>); 4] = [
    ("Ignore", None),
    ("CriticalError", Some(Verbosity::CriticalError)),
    ("Error", Some(Verbosity::Error)),
    ("Warning", Some(Verbosity::Warning)),
];

/// `traceAreas/add@verbosity`.
const AREA_VERBOSITY: [(&str, Verbosity); 6] = [
    ("General", Verbosity::Verbose),
    ("CriticalError", Verbosity::CriticalError),
    ("Error", Verbosity::Error),
    ("Warning", Verbosity::Warning),
    ("Information", Verbosity::Information),
    ("Verbose", Verbosity::Verbose),
];

impl<'input> Parser<'_, 'input> {
    /// Reads `<traceFailedRequests>` onto the inherited rules (keyed by `path`).
    pub(super) fn trace_failed_requests(
        &mut self,
        node: Node<'_, 'input>,
        inherited: &mut Vec<Rule>,
    ) -> Result<(), WebConfigError> {
        self.attributes(node, &[], &[])?;
        let mut rules: Collection<Rule> =
            Collection::inherited(true, inherited.iter().map(|r| (r.path(), r.clone())));
        self.collection(node, "add", "path", &mut rules, |p, add| p.trace_rule(add))?;
        *inherited = rules.into_values();
        Ok(())
    }

    fn trace_rule(&mut self, node: Node<'_, 'input>) -> Result<Rule, WebConfigError> {
        self.attributes(
            node,
            &["path"],
            &[
                "name",
                "customActionExe",
                "customActionParams",
                "customActionTriggerLimit",
            ],
        )?;
        let mut rule = Rule::new(self.required(node, "path")?);
        let mut seen_failure = false;
        for child in Self::elements(node) {
            match child.tag_name().name() {
                "traceAreas" => {
                    self.attributes(child, &[], &[])?;
                    let mut areas: Collection<TraceArea> = Collection::new(true);
                    self.collection(child, "add", "provider", &mut areas, |p, add| {
                        p.attributes(add, &["provider", "areas", "verbosity"], &[])?;
                        let provider = p.required(add, "provider")?;
                        let verbosity = p
                            .enum_attr(add, "verbosity", &AREA_VERBOSITY)?
                            .unwrap_or(Verbosity::Warning);
                        let area = TraceArea::new(provider, verbosity);
                        Ok(match add.attribute("areas") {
                            Some(a) => area.areas(a),
                            None => area,
                        })
                    })?;
                    for area in areas.into_values() {
                        rule = rule.trace_area(area);
                    }
                }
                "failureDefinitions" if !seen_failure => {
                    seen_failure = true;
                    self.attributes(child, &["statusCodes", "timeTaken", "verbosity"], &[])?;
                    if let Some(codes) = child.attribute("statusCodes") {
                        rule = rule
                            .status_codes(codes)
                            .map_err(|e| self.invalid(child, "statusCodes", codes, e.reason()))?;
                    }
                    if let Some(t) = child.attribute("timeTaken") {
                        let limit = parse_time_taken(t)
                            .map_err(|e| self.invalid(child, "timeTaken", t, e.reason()))?;
                        // IIS: 00:00:00 means no time limit.
                        if !limit.is_zero() {
                            rule = rule.time_taken(limit);
                        }
                    }
                    if let Some(Some(v)) = self.enum_attr(child, "verbosity", &FAILURE_VERBOSITY)? {
                        rule = rule.verbosity(v);
                    }
                }
                _ => return Err(self.unrecognized(child)),
            }
        }
        Ok(rule)
    }
}
