//! Which template line wrote a line of rendered output. minijinja keeps no map from output
//! to source, so kcc aligns the two texts: a template line's static text (everything
//! before its first tag) must begin the rendered line, and the match is searched forward
//! from the previous line's (loops wrap back). Lines written by a tag alone (`{{ x |
//! to_yaml }}`) or by another file (macros) match nothing and are skipped over.

/// The static text a template line starts with, and whether it is the whole line.
fn static_prefix(line: &str) -> (&str, bool) {
    match ["{{", "{%", "{#"].iter().filter_map(|t| line.find(t)).min() {
        Some(at) => (&line[..at], false),
        None => (line, true),
    }
}

/// True if template line `template` may have written `rendered`.
fn may_write(template: &str, rendered: &str) -> bool {
    let (prefix, whole) = static_prefix(template);
    if whole {
        !template.trim().is_empty() && template.trim_end() == rendered.trim_end()
    } else {
        !prefix.trim().is_empty() && rendered.starts_with(prefix)
    }
}

/// The 1-based template line that wrote 1-based rendered line `line`, with the column in
/// it of the rendered text at `col` (the same token, else the line's first non-blank).
pub fn template_position(
    template: &str,
    rendered: &str,
    line: usize,
    col: usize,
) -> Option<(usize, usize)> {
    // An error at the end of the stream (an unclosed bracket) is past the last line: the
    // last line written is where it was left open.
    let rendered_lines: Vec<&str> = rendered.lines().collect();
    let (line, col) = if line > rendered_lines.len() {
        let last = rendered_lines.iter().rposition(|l| !l.trim().is_empty())?;
        (last + 1, 1)
    } else {
        (line, col)
    };
    let template_lines: Vec<&str> = template.lines().collect();
    let mut cursor = 0; // the index after the last matched template line
    let mut found = None;
    for (i, text) in rendered.lines().take(line).enumerate() {
        let forward = (cursor..template_lines.len()).find(|&t| may_write(template_lines[t], text));
        let matched = forward.or_else(|| {
            (0..cursor)
                .rev()
                .find(|&t| may_write(template_lines[t], text))
        });
        if let Some(t) = matched {
            cursor = t + 1;
        }
        if i + 1 == line {
            found = matched;
        }
    }
    let t = found?;
    let template_line = template_lines[t];
    let rendered_line = rendered.lines().nth(line - 1)?;
    let token: String = rendered_line
        .chars()
        .skip(col.saturating_sub(1))
        .take_while(|c| !c.is_whitespace() && *c != ':')
        .collect();
    let column = (!token.is_empty())
        .then(|| template_line.find(&token))
        .flatten()
        .map(|byte| template_line[..byte].chars().count() + 1)
        .unwrap_or_else(|| {
            template_line
                .chars()
                .take_while(|c| c.is_whitespace())
                .count()
                + 1
        });
    Some((t + 1, column))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEMPLATE: &str = "\
apiVersion: v1
kind: Service
metadata:
  name: {{ release.name }}
{%- if values.labels %}
  labels:
{%- for k, v in values.labels | dictsort %}
    {{ k }}: {{ v }}
{%- endfor %}
{%- endif %}
spec:
  clusterIP: {{ values.service.clusterIP }}
  ports:
{%- for port in values.ports %}
    - name: p{{ port }}
      port: {{ port }}
{%- endfor %}
";

    const RENDERED: &str = "\
apiVersion: v1
kind: Service
metadata:
  name: coredns
  labels:
    app: dns
spec:
  clusterIP: 10.0.0.3
  ports:
    - name: p53
      port: 53
    - name: p54
      port: 54
";

    #[test]
    fn lines_map_to_the_template_line_that_wrote_them() {
        let at = |line, col| template_position(TEMPLATE, RENDERED, line, col);
        assert_eq!(at(4, 3), Some((4, 3)));
        assert_eq!(at(7, 1), Some((11, 1)));
        assert_eq!(at(8, 3), Some((12, 3)));
        // Inside a loop: every iteration maps to the loop's lines.
        assert_eq!(at(10, 7), Some((15, 7)));
        assert_eq!(at(12, 7), Some((15, 7)));
        assert_eq!(at(13, 7), Some((16, 7)));
    }

    #[test]
    fn an_error_past_the_end_maps_to_the_last_line_written() {
        let at = |line, col| template_position(TEMPLATE, RENDERED, line, col);
        assert_eq!(at(14, 1), Some((16, 7)));
        assert_eq!(at(20, 3), Some((16, 7)));
        assert_eq!(template_position("", "\n\n", 3, 1), None);
    }

    #[test]
    fn lines_written_by_a_tag_alone_map_to_nothing() {
        // `    app: dns` came from `    {{ k }}: {{ v }}`, whose static prefix is blank.
        assert_eq!(template_position(TEMPLATE, RENDERED, 6, 5), None);
    }
}
