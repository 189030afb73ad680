//! The Markdown body of the update's pull request.

use std::fmt::Write as _;

/// What the pull-request body says.
#[derive(Default)]
pub struct Report {
    pub origin: String,
    pub sha256: String,
    pub changes: Vec<String>,
    pub verdict: String,
    pub failures: Vec<String>,
}

/// The Markdown body of the update's pull request.
pub fn pr_body(report: &Report) -> String {
    let mut out = String::from("## Update of the Customer Token API description\n\n");
    let _ = writeln!(out, "- source: `{}`", report.origin);
    if !report.sha256.is_empty() {
        let _ = writeln!(out, "- sha256: `{}`", report.sha256);
    }
    out.push_str("\n### API changes\n\n");
    for change in &report.changes {
        let _ = writeln!(out, "- {change}");
    }
    if report.changes.is_empty() {
        out.push_str("- (not compared)\n");
    }
    let _ = write!(out, "\n### Verdict\n\n{}\n", report.verdict);
    if !report.failures.is_empty() {
        out.push_str("\n### First failures\n\n");
        for failure in report.failures.iter().take(10) {
            let _ = write!(out, "```text\n{}\n```\n\n", failure.replace("```", "'''"));
        }
        out.push_str(
            "See README.md, \"Updating the API description\", for what to do with a failing \
             update.\n",
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pull_request_body_holds_the_diff_the_verdict_and_the_failures() {
        let report = Report {
            origin: "https://example.com/x.yaml".to_owned(),
            sha256: "ab".to_owned(),
            changes: vec!["order_line.x: field only in the new".to_owned()],
            verdict: "DRIFT; ...".to_owned(),
            failures: vec!["guard\nassertion failed".to_owned()],
        };
        let body = pr_body(&report);
        for expected in [
            "https://example.com/x.yaml",
            "`ab`",
            "- order_line.x: field only in the new",
            "### Verdict\n\nDRIFT",
            "```text\nguard\nassertion failed\n```",
        ] {
            assert!(body.contains(expected), "{expected:?} in {body}");
        }
    }
}
