//! CSV lines for the exports (RFC 4180: comma-separated, CRLF, fields with a comma, quote or
//! line break quoted, quotes doubled). A field that a spreadsheet would run as a formula (it
//! starts with `=`, `+`, `-`, `@`, a tab or a carriage return) gets a leading `'`, so opening an
//! export never runs what someone typed into a name or note.

/// One CSV line of `fields`, ending in CRLF.
pub fn line<I, S>(fields: I) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let mut out = String::new();
    for (i, field) in fields.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let field = field.as_ref();
        let guarded =
            if field.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{field}") } else { field.to_string() };
        if guarded.contains([',', '"', '\n', '\r']) {
            out.push('"');
            out.push_str(&guarded.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(&guarded);
        }
    }
    out.push_str("\r\n");
    out
}

#[cfg(test)]
mod tests {
    use super::line;

    #[test]
    fn fields_with_separators_are_quoted_and_formulas_are_defused() {
        assert_eq!(line(["a", "b c", ""]), "a,b c,\r\n");
        assert_eq!(line(["x,y", "say \"hi\"", "two\nlines"]), "\"x,y\",\"say \"\"hi\"\"\",\"two\nlines\"\r\n");
        assert_eq!(
            line(["=HYPERLINK(\"x\")", "+1", "@SUM(A1)", "-2"]),
            "\"'=HYPERLINK(\"\"x\"\")\",'+1,'@SUM(A1),'-2\r\n"
        );
        assert_eq!(line(["{\"max_compensation\":3000.0}"]), "\"{\"\"max_compensation\"\":3000.0}\"\r\n");
    }
}
