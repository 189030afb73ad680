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
    let original = normalize::file_bytes(Path::new(VENDORED)).expect("vendored");
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

/// A server on 127.0.0.1 answering one request with `answer`.
fn serve_once(answer: Vec<u8>) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binds");
    let address = listener.local_addr().expect("address");
    std::thread::spawn(move || {
        if let Ok((mut stream, _)) = listener.accept() {
            let mut request = [0u8; 4096];
            let _ = std::io::Read::read(&mut stream, &mut request);
            let _ = std::io::Write::write_all(&mut stream, &answer);
        }
    });
    format!("http://{address}/x.yaml")
}

#[test]
fn the_tool_never_prints_user_info_or_query_of_a_url() {
    let description = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/fixtures/customer-token-v1.1.yaml"
    ))
    .expect("fixture");
    let mut ok = format!(
        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        description.len()
    )
    .into_bytes();
    ok.extend_from_slice(&description);
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binds");
        format!("http://{}/x.yaml", listener.local_addr().expect("address"))
    };
    for url in [
        serve_once(ok),
        serve_once(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n".to_vec()),
        serve_once(
            b"HTTP/1.1 302 Found\r\nLocation: https://u:l0cation@h/x?k=l0cation\r\nContent-Length: 0\r\n\r\n"
                .to_vec(),
        ),
        closed,
    ] {
        let root = temporary_crate("scrub");
        let secret = url.replace("http://", "http://us3r:pa55word@") + "?token=t0ken#fr4g";
        let body = root.join("body.md");
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_update-spec"))
            .args(["--from-url", &secret, "--no-test", "--timeout", "5", "--pr-body"])
            .arg(&body)
            .arg("--root")
            .arg(&root)
            .output()
            .expect("the tool runs");
        let shown = format!(
            "{}{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(&body).expect("a pull-request body")
        );
        assert!(shown.contains(&url), "{shown}");
        for hidden in ["us3r", "pa55word", "t0ken", "fr4g", "l0cation"] {
            assert!(!shown.contains(hidden), "{hidden} in {shown}");
        }
        let _ = std::fs::remove_dir_all(&root);
    }
}
