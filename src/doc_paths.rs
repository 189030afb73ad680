//! The guides name files of this repository; a guide that names a file
//! that moved or went is wrong. This test reads every guide and fails on
//! each path that does not exist.

use std::path::{Path, PathBuf};

/// The folders a path named in a guide may start with.
const ROOTS: &[&str] = &[
    "src/",
    "tests/",
    "examples/",
    "docs/",
    "openapi/",
    "codegen/",
    "cli/",
    "sandbox/",
    "benches/",
    "scripts/",
    "testkit/",
    ".ci/",
    ".github/",
];

/// The guides, relative to the workspace root.
fn guides(root: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = [
        "README.md",
        "CONTRIBUTING.md",
        "BENCHMARKS.md",
        "cli/README.md",
    ]
    .iter()
    .map(|f| root.join(f))
    .collect();
    if let Ok(entries) = std::fs::read_dir(root.join("docs")) {
        files.extend(
            entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "md")),
        );
    }
    files.retain(|f| f.exists());
    files
}

/// The paths a text names: link targets (relative to the file) and
/// code spans that start with a folder of the repository (relative to the
/// root).
fn named(text: &str, file_dir: &Path, root: &Path) -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    for (i, _) in text.match_indices("](") {
        let rest = &text[i + 2..];
        let Some(end) = rest.find(')') else { continue };
        let target = rest[..end].split('#').next().unwrap_or_default();
        if target.is_empty() || target.contains("://") || target.starts_with("mailto:") {
            continue;
        }
        out.push((target.to_owned(), file_dir.join(target)));
    }
    for span in text.split('`').skip(1).step_by(2) {
        let candidate = span
            .split([' ', ':', ','])
            .next()
            .unwrap_or_default()
            .trim_end_matches(['.', ')']);
        let special = ['*', '…', '<', '$', '{', '[', '|'];
        if ROOTS.iter().any(|r| candidate.starts_with(r)) && !candidate.contains(special) {
            out.push((candidate.to_owned(), root.join(candidate)));
        }
    }
    out
}

#[test]
fn every_path_a_guide_names_exists() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut missing = Vec::new();
    let guides = guides(root);
    assert!(guides.len() >= 5, "the guides are found: {guides:?}");
    for guide in &guides {
        let text = std::fs::read_to_string(guide).unwrap_or_default();
        let dir = guide.parent().unwrap_or(root);
        for (name, path) in named(&text, dir, root) {
            if !path.exists() {
                missing.push(format!("{}: {name}", guide.display()));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "paths named but missing:\n{}",
        missing.join("\n")
    );
}

#[test]
fn the_check_sees_a_missing_path() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = "see `src/validate.rs` and [the guide](docs/none.md), `src/lib.rs`";
    let named = named(text, root, root);
    let missing: Vec<&str> = named
        .iter()
        .filter(|(_, p)| !p.exists())
        .map(|(n, _)| n.as_str())
        .collect();
    assert_eq!(missing, ["docs/none.md", "src/validate.rs"]);
}
