//! The `<httpErrors>` section.

use roxmltree::Node;

use super::error::{WebConfigError, HRESULT_DUPLICATE};
use super::parse::{Collection, Parser};
use crate::http_errors::{
    ErrorMode, ErrorRow, ExistingResponse, HttpErrorsBuilder, HttpErrorsLayer, ResponseMode,
};

/// The `<httpErrors>` section as read: attributes set in the file (`None`: IIS's
/// default) and the rows after `<remove>`/`<clear/>`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct HttpErrorsSection {
    /// `errorMode`.
    pub error_mode: Option<ErrorMode>,
    /// `existingResponse`.
    pub existing_response: Option<ExistingResponse>,
    /// `defaultPath`, resolved like a row's path.
    pub default_path: Option<String>,
    /// `defaultResponseMode`.
    pub default_response_mode: Option<ResponseMode>,
    /// `detailedMoreInformationLink`.
    pub more_information_link: Option<String>,
    /// Whether a `<clear/>` dropped the nine inherited rows.
    pub cleared: bool,
    /// Inherited rows removed with `<remove>` (`None` substatus: `-1`).
    pub removed: Vec<(u16, Option<u16>)>,
    /// The `<error>` rows added, in order. `File` paths and
    /// `prefixLanguageFilePath` are resolved against the web.config's folder.
    pub errors: Vec<ErrorRow>,
}

impl HttpErrorsSection {
    /// An [`HttpErrorsBuilder`] with these settings.
    pub fn builder(&self) -> HttpErrorsBuilder {
        let mut b = HttpErrorsLayer::builder();
        if let Some(m) = self.error_mode {
            b = b.error_mode(m);
        }
        if let Some(e) = self.existing_response {
            b = b.existing_response(e);
        }
        if self.cleared {
            b = b.clear();
        }
        for (status, sub) in &self.removed {
            b = b.remove(*status, *sub);
        }
        for row in &self.errors {
            b = b.error(row.clone());
        }
        if let Some(p) = &self.default_path {
            b = b.default_path(p.clone(), self.default_response_mode.unwrap_or_default());
        }
        if let Some(l) = &self.more_information_link {
            b = b.more_information_link(l.clone());
        }
        b
    }
}

/// `responseMode` and `defaultResponseMode` values.
const MODES: [(&str, ResponseMode); 3] = [
    ("File", ResponseMode::File),
    ("ExecuteURL", ResponseMode::ExecuteUrl),
    ("Redirect", ResponseMode::Redirect),
];

/// The rows of `<httpErrors>` by key (`"status,sub"`); `None` for an inherited row.
type Rows = Collection<Option<ErrorRow>>;

impl HttpErrorsSection {
    /// The rows in effect: the nine inherited ones (`None`) unless cleared or
    /// removed, then the rows added.
    fn rows(&self) -> Rows {
        let mut rows: Rows = Collection::new(false);
        if !self.cleared {
            for status in crate::http_util::DEFAULT_ERROR_STATUSES {
                if !self.removed.contains(&(status, None)) {
                    rows.push(&format!("{status},-1"), None);
                }
            }
        }
        for row in &self.errors {
            rows.push(&row_key(row.status, row.substatus), Some(row.clone()));
        }
        rows
    }
}

/// A row's collection key.
fn row_key(status: u16, sub: Option<u16>) -> String {
    format!("{status},{}", sub.map_or(-1, i32::from))
}

impl<'input> Parser<'_, 'input> {
    /// Reads `<httpErrors>` onto the inherited section: attributes present
    /// override, rows are added to, removed from or cleared out of the parent's.
    pub(super) fn http_errors(
        &mut self,
        node: Node<'_, 'input>,
        section: &mut HttpErrorsSection,
    ) -> Result<(), WebConfigError> {
        self.http_errors_attributes(node, section)?;
        let mut rows = section.rows();
        for child in Self::elements(node) {
            match child.tag_name().name() {
                "error" => self.add_error_row(child, &mut rows, section)?,
                "remove" => self.remove_error_row(child, &mut rows, section)?,
                "clear" => {
                    self.attributes(child, &[], &[])?;
                    rows.clear();
                    section.cleared = true;
                    section.removed.clear();
                    section.errors.clear();
                }
                _ => return Err(self.unrecognized(child)),
            }
        }
        Ok(())
    }

    /// The `<httpErrors>` attributes, over the inherited ones.
    fn http_errors_attributes(
        &mut self,
        node: Node<'_, 'input>,
        section: &mut HttpErrorsSection,
    ) -> Result<(), WebConfigError> {
        self.attributes(
            node,
            &[
                "errorMode",
                "existingResponse",
                "defaultPath",
                "defaultResponseMode",
                "detailedMoreInformationLink",
            ],
            &["allowAbsolutePathsWhenDelegated"],
        )?;
        let error_mode = self.enum_attr(
            node,
            "errorMode",
            &[
                ("DetailedLocalOnly", ErrorMode::DetailedLocalOnly),
                ("Custom", ErrorMode::Custom),
                ("Detailed", ErrorMode::Detailed),
            ],
        )?;
        let existing_response = self.enum_attr(
            node,
            "existingResponse",
            &[
                ("Auto", ExistingResponse::Auto),
                ("Replace", ExistingResponse::Replace),
                ("PassThrough", ExistingResponse::PassThrough),
            ],
        )?;
        let default_response_mode = self.enum_attr(node, "defaultResponseMode", &MODES)?;
        section.error_mode = error_mode.or(section.error_mode);
        section.existing_response = existing_response.or(section.existing_response);
        section.default_response_mode = default_response_mode.or(section.default_response_mode);
        if let Some(l) = node.attribute("detailedMoreInformationLink") {
            section.more_information_link = Some(l.to_owned());
        }
        if let Some(p) = node.attribute("defaultPath") {
            let mode = section.default_response_mode.unwrap_or_default();
            section.default_path = Some(if mode == ResponseMode::File {
                self.resolve_file(p)
            } else {
                p.to_owned()
            });
        }
        Ok(())
    }

    /// The `statusCode` and `subStatusCode` of an `<error>` or `<remove>`, checked.
    fn error_row_key(&self, child: Node<'_, '_>) -> Result<(u16, Option<u16>), WebConfigError> {
        self.required(child, "statusCode")?;
        let status = self.u32_attr(child, "statusCode")?.unwrap_or(0);
        let status = u16::try_from(status)
            .ok()
            .filter(|s| (400..=999).contains(s))
            .ok_or_else(|| {
                self.invalid(
                    child,
                    "statusCode",
                    child.attribute("statusCode").unwrap_or(""),
                    "expected a status from 400 to 999",
                )
            })?;
        let sub = match child.attribute("subStatusCode").map(str::trim) {
            None | Some("-1") => None,
            Some(v) => Some(v.parse::<u16>().ok().filter(|s| *s <= 999).ok_or_else(|| {
                self.invalid(
                    child,
                    "subStatusCode",
                    v,
                    "expected -1 or a number from 0 to 999",
                )
            })?),
        };
        Ok((status, sub))
    }

    /// `<remove statusCode subStatusCode>`.
    fn remove_error_row(
        &mut self,
        child: Node<'_, 'input>,
        rows: &mut Rows,
        section: &mut HttpErrorsSection,
    ) -> Result<(), WebConfigError> {
        self.attributes(child, &["statusCode", "subStatusCode"], &[])?;
        let (status, sub) = self.error_row_key(child)?;
        let key = row_key(status, sub);
        if matches!(rows.get(&key), Some(None)) {
            section.removed.push((status, sub));
        }
        rows.remove(&key);
        section
            .errors
            .retain(|r| !(r.status == status && r.substatus == sub));
        Ok(())
    }

    /// `<error statusCode subStatusCode path responseMode prefixLanguageFilePath>`.
    fn add_error_row(
        &mut self,
        child: Node<'_, 'input>,
        rows: &mut Rows,
        section: &mut HttpErrorsSection,
    ) -> Result<(), WebConfigError> {
        self.attributes(
            child,
            &[
                "statusCode",
                "subStatusCode",
                "path",
                "responseMode",
                "prefixLanguageFilePath",
            ],
            &[],
        )?;
        let (status, sub) = self.error_row_key(child)?;
        let key = row_key(status, sub);
        if rows.contains(&key) {
            let pos = child
                .attribute_node("statusCode")
                .map_or(child.range().start, |a| a.range().start);
            return Err(self.error_at(
                pos,
                "error",
                Some("statusCode"),
                format!(
                    "Cannot add duplicate collection entry of type 'error' with combined key attributes 'statusCode, subStatusCode' set to '{status}, {}'",
                    sub.map_or(-1, i32::from)
                ),
                HRESULT_DUPLICATE,
            ));
        }
        let path = self.required(child, "path")?;
        let mode = self
            .enum_attr(child, "responseMode", &MODES)?
            .or(section.default_response_mode)
            .unwrap_or_default();
        let mut row = match mode {
            ResponseMode::File => match child.attribute("prefixLanguageFilePath") {
                Some(prefix) => ErrorRow::file(status, path)
                    .prefix_language_file_path(self.resolve_file(prefix)),
                None => ErrorRow::file(status, self.resolve_file(path)),
            },
            ResponseMode::ExecuteUrl => ErrorRow::execute_url(status, path),
            ResponseMode::Redirect => ErrorRow::redirect(status, path),
        };
        if let Some(s) = sub {
            row = row.substatus(s);
        }
        rows.push(&key, Some(row.clone()));
        section.errors.push(row);
        Ok(())
    }
}
