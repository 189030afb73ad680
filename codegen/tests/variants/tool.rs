//! Every single variant (and every refused one) through the `update-spec`
//! tool, on a temporary copy of the crate with the test step off.

use super::*;

// ---------------------------------------------------------------------------
// Through the tool
// ---------------------------------------------------------------------------

/// A temporary copy of what the tool reads and writes with the test step
/// off: `openapi/` with the vendored description and its SOURCE file.
fn temporary_crate(tag: &str) -> PathBuf {
    let root = std::env::temp_dir().join(format!("variants-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(root.join("openapi")).expect("creates");
    for file in ["customer-token-v1.yaml", "SOURCE.toml"] {
        std::fs::copy(
            Path::new(FACADE).join("openapi").join(file),
            root.join("openapi").join(file),
        )
        .expect("copies");
    }
    root
}

fn tool(root: &Path, file: &Path) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_update-spec"))
        .arg(file)
        .args(["--no-test", "--root"])
        .arg(root)
        .output()
        .expect("the tool runs")
}

#[test]
fn the_tool_vendors_every_variant_and_refuses_the_refused_ones() {
    let family = Family::new();
    let original = std::fs::read(VENDORED).expect("vendored");
    let variants = accepted();
    let refused = refused();
    let indices: Vec<usize> = (0..variants.len() + refused.len()).collect();
    let errors = in_parallel(&indices, |&i| {
        let root = temporary_crate(&format!("tool{i}"));
        let file = root.join("new.yaml");
        let outcome = if let Some(v) = variants.get(i) {
            let bytes = build(&family.base, &[v]);
            std::fs::write(&file, &bytes).expect("writes");
            let out = tool(&root, &file);
            let vendored =
                std::fs::read(root.join("openapi/customer-token-v1.yaml")).expect("reads");
            match out.status.code() {
                Some(0) if vendored == bytes => Ok(()),
                code => Err(format!(
                    "{}: exit {code:?}, vendored {}: {}",
                    v.name,
                    vendored == bytes,
                    String::from_utf8_lossy(&out.stderr)
                )),
            }
        } else {
            let (v, reason) = &refused[i - variants.len()];
            std::fs::write(&file, build(&family.base, &[v])).expect("writes");
            let out = tool(&root, &file);
            let stderr = String::from_utf8_lossy(&out.stderr);
            let line = stderr
                .lines()
                .find(|l| l.starts_with("unusable: "))
                .unwrap_or("");
            let vendored =
                std::fs::read(root.join("openapi/customer-token-v1.yaml")).expect("reads");
            if out.status.code() == Some(2) && line.contains(reason) && vendored == original {
                Ok(())
            } else {
                Err(format!(
                    "{}: exit {:?}: {stderr}",
                    v.name,
                    out.status.code()
                ))
            }
        };
        let _ = std::fs::remove_dir_all(&root);
        outcome
    });
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}
