//! Unified diffs of two texts, as `diff -u` and `git diff` print them, for what
//! `stackhook test` expected against what it got and for what `stackhook diff` sees
//! change.

use similar::TextDiff;

/// Lines of context around each change.
const CONTEXT: usize = 3;

/// The unified diff from `old` (labelled `old_name`) to `new` (`new_name`); empty when
/// the texts are equal. A text without a final newline is marked as `diff` marks it.
pub fn unified(old: &str, new: &str, old_name: &str, new_name: &str) -> String {
    if old == new {
        return String::new();
    }
    TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(CONTEXT)
        .missing_newline_hint(true)
        .header(old_name, new_name)
        .to_string()
}

/// `text` with every line indented by `indent` (for a diff under a heading).
pub fn indented(text: &str, indent: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        out.push_str(indent);
        out.push_str(line);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_texts_have_no_diff() {
        assert_eq!(unified("a\n", "a\n", "x", "y"), "");
    }

    #[test]
    fn a_changed_line_is_a_hunk_with_context() {
        let diff = unified("a\nb\nc\n", "a\nB\nc\n", "expected", "actual");
        assert_eq!(
            diff,
            "--- expected\n+++ actual\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n"
        );
    }
}
