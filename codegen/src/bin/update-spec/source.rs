//! `openapi/SOURCE.toml` (where the vendored description comes from, and
//! its sha256) and writing files whole.

use std::fmt::Write as _;
use std::path::Path;

use sha2::Digest as _;

use crate::SOURCE;

/// The recorded origin of the vendored description.
#[derive(Debug, PartialEq, Eq)]
pub struct Source {
    pub url: String,
    pub sha256: Option<String>,
}

pub fn read_source(root: &Path) -> Result<Source, String> {
    let path = root.join(SOURCE);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    parse_source(&text).map_err(|e| format!("{SOURCE}: {e}"))
}

/// Reads the two keys of `SOURCE.toml` (`url` and `sha256`, quoted
/// strings); comments and blank lines are skipped.
pub fn parse_source(text: &str) -> Result<Source, String> {
    let mut url = None;
    let mut sha256 = None;
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, value) = line
            .split_once('=')
            .ok_or_else(|| format!("line {}: expected `key = \"value\"`", number + 1))?;
        let value = value.trim();
        let value = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .filter(|v| !v.contains('"') && !v.contains('\\'))
            .ok_or_else(|| {
                format!(
                    "line {}: the value must be a plain quoted string",
                    number + 1
                )
            })?;
        match key.trim() {
            "url" => url = Some(value.to_owned()),
            "sha256" => sha256 = Some(value.to_owned()).filter(|v| !v.is_empty()),
            other => return Err(format!("line {}: unknown key {other:?}", number + 1)),
        }
    }
    Ok(Source {
        url: url.ok_or("it names no `url`")?,
        sha256,
    })
}

/// Rewrites the `sha256` line of `SOURCE.toml` (adding it if missing),
/// keeping everything else.
pub fn record_sha256(root: &Path, sha256: &str) -> Result<(), String> {
    let path = root.join(SOURCE);
    let text = std::fs::read_to_string(&path).map_err(|e| e.to_string())?;
    let line = format!("sha256 = \"{sha256}\"");
    let mut found = false;
    let mut out: Vec<String> = text
        .lines()
        .map(|l| {
            if l.trim_start().starts_with("sha256") && l.contains('=') {
                found = true;
                line.clone()
            } else {
                l.to_owned()
            }
        })
        .collect();
    if !found {
        out.push(line);
    }
    let mut text = out.join("\n");
    text.push('\n');
    replace_file(&path, text.as_bytes()).map_err(|e| e.to_string())
}

/// The lowercase hexadecimal SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    sha2::Sha256::digest(bytes)
        .iter()
        .fold(String::with_capacity(64), |mut hex, b| {
            let _ = write!(hex, "{b:02x}");
            hex
        })
}

/// Replaces a file whole, so that a reader sees the old file or the new
/// one, even across a crash: the bytes go to a freshly created temporary
/// file with a random name in the same folder (created exclusively, so a
/// file or symbolic link already there is never opened, let alone
/// followed), which is flushed to disk, then renamed over `path`; then the
/// folder itself is flushed, so that the rename survives a crash.
pub fn replace_file(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let prefix = format!(
        ".{}.",
        path.file_name().unwrap_or_default().to_string_lossy()
    );
    // Dropped on any error before the rename: the temporary file is removed.
    let mut temporary = tempfile::Builder::new()
        .prefix(&prefix)
        .suffix(".tmp")
        .tempfile_in(folder)?;
    temporary.write_all(bytes)?;
    temporary.as_file().sync_all()?;
    temporary.persist(path).map_err(|e| e.error)?;
    sync_folder(folder)
}

/// Flushes a folder's entries (a rename in it) to disk, where the platform
/// allows opening a folder.
fn sync_folder(folder: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        std::fs::File::open(folder)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = folder;
        Ok(())
    }
}
