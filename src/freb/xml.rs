//! Escaping for the trace files.
//!
//! Written by hand on purpose: XML 1.0 forbids most C0 control characters even as
//! character references, and a general escaper passes them through, which would
//! leave a file no parser reads. Here every forbidden character becomes U+FFFD;
//! `& < > " '` become entities; in attribute values tab, CR and LF become character
//! references so they survive attribute-value normalisation.

/// Whether `c` may appear in an XML 1.0 document.
fn allowed(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}

/// Appends `text` to `out`, escaped for element content (`attr == false`) or for a
/// double- or single-quoted attribute value.
pub(crate) fn escape_into(out: &mut String, text: &str, attr: bool) {
    let mut rest = text;
    while let Some(pos) = rest.find(|c: char| {
        matches!(c, '&' | '<' | '>' | '"' | '\'')
            || (attr && matches!(c, '\t' | '\n' | '\r'))
            || !allowed(c)
    }) {
        out.push_str(&rest[..pos]);
        let c = rest[pos..].chars().next().expect("found a character");
        out.push_str(match c {
            '&' => "&amp;",
            '<' => "&lt;",
            '>' => "&gt;",
            '"' => "&quot;",
            '\'' => "&apos;",
            '\t' => "&#x9;",
            '\n' => "&#xA;",
            '\r' => "&#xD;",
            _ => "\u{FFFD}",
        });
        rest = &rest[pos + c.len_utf8()..];
    }
    out.push_str(rest);
}

#[cfg(test)]
mod tests {
    use super::escape_into;

    fn esc(s: &str, attr: bool) -> String {
        let mut out = String::new();
        escape_into(&mut out, s, attr);
        out
    }

    #[test]
    fn escapes() {
        assert_eq!(esc("a<b>&\"'c", false), "a&lt;b&gt;&amp;&quot;&apos;c");
        assert_eq!(
            esc("x\ty\r\nz\u{1}\u{FFFE}é", true),
            "x&#x9;y&#xD;&#xA;z\u{FFFD}\u{FFFD}é"
        );
        assert_eq!(esc("x\ty\n", false), "x\ty\n");
    }

    #[test]
    fn any_text_round_trips_through_a_parser() {
        let samples = [
            "plain",
            "<script>&amp;",
            "\u{0}\u{8}\u{B}\u{C}\u{1F}\u{7F}",
            "tab\tcr\rlf\n",
            "\u{D7FF}\u{E000}\u{1F600}",
        ];
        for s in samples {
            let doc = format!("<r a=\"{}\">{}</r>", esc(s, true), esc(s, false));
            let parsed = roxmltree::Document::parse(&doc).unwrap();
            let expect: String = s
                .chars()
                .map(|c| if super::allowed(c) { c } else { '\u{FFFD}' })
                .collect();
            assert_eq!(parsed.root_element().attribute("a"), Some(expect.as_str()));
            // Element content: a parser turns CR LF and lone CR into LF.
            let content = expect.replace("\r\n", "\n").replace('\r', "\n");
            assert_eq!(parsed.root_element().text().unwrap_or(""), content);
        }
    }
}
