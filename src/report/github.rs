//! GitHub Actions workflow commands: `::error file=F,line=L,col=C,title=RULE::message`
//! (`::warning` for warnings), which the runner turns into annotations on those lines.

use std::fmt::Write;

use super::{Place, Run, full_message, severity_word};

pub fn github(run: &Run) -> String {
    let mut out = String::new();
    for d in run.diagnostics {
        let mut properties = Vec::new();
        if let Some(place) = Place::of(d, run.path_prefix) {
            properties.push(format!("file={}", property(&place.file)));
            properties.push(format!("line={}", place.line));
            properties.push(format!("col={}", place.col));
        }
        properties.push(format!("title={}", property(d.rule)));
        let _ = writeln!(
            out,
            "::{} {}::{}",
            severity_word(d.severity),
            properties.join(","),
            data(&full_message(d))
        );
    }
    for note in run.notes {
        let _ = writeln!(
            out,
            "::notice title={}::{}",
            property(run.command),
            data(note)
        );
    }
    let _ = writeln!(out, "{}", run.summary);
    out
}

/// A command's message: `%`, CR and LF escaped, so that it stays one line.
pub fn data(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '%' => out.push_str("%25"),
            '\r' => out.push_str("%0D"),
            '\n' => out.push_str("%0A"),
            c => out.push(c),
        }
    }
    out
}

/// A property value: as [`data`], and `:` and `,`, which separate properties.
pub fn property(text: &str) -> String {
    data(text).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_as_github_says() {
        assert_eq!(data("100% sure\r\nnext"), "100%25 sure%0D%0Anext");
        assert_eq!(property("a:b,c%\n"), "a%3Ab%2Cc%25%0A");
    }
}
