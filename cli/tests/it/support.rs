//! Running the `klarna-token` binary from a test, bounded in time, with a
//! clean environment and the sandbox's credentials.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use klarna_customer_token_sandbox::{Sandbox, credentials};

pub const BIN: &str = env!("CARGO_BIN_EXE_klarna-token");
/// The longest any one run of the binary may take.
pub const PATIENCE: Duration = Duration::from_secs(60);

/// A valid order: one line of 11.90 EUR with 19 % tax.
pub const ORDER: &str = r#"{"purchase_currency":"EUR","order_amount":1190,"order_tax_amount":190,"order_lines":[{"name":"Gold plan","quantity":1,"unit_price":1190,"tax_rate":1900,"total_amount":1190,"total_tax_amount":190}]}"#;

/// What a finished run printed, and its exit code.
#[derive(Debug)]
pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    /// Everything printed, for "never printed" checks.
    pub fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
}

/// A running binary, killed when dropped.
pub struct Running {
    pub child: Child,
    stdout: Option<JoinHandle<String>>,
    stderr: Option<JoinHandle<String>>,
}

fn drain(mut pipe: impl std::io::Read + Send + 'static) -> JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

impl Running {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends a signal by name (`INT`, `KILL`) with `kill(1)`.
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.pid().to_string())
            .status()
            .expect("kill(1) runs");
        assert!(status.success(), "kill -{name} failed");
    }

    /// Waits for the exit, at most [`PATIENCE`]; blocking, so call it
    /// from `spawn_blocking`.
    pub fn wait(mut self) -> Output {
        let deadline = Instant::now() + PATIENCE;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("klarna-token did not finish within {PATIENCE:?}");
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        let stdout = self.stdout.take().map(|h| h.join().unwrap_or_default());
        let stderr = self.stderr.take().map(|h| h.join().unwrap_or_default());
        Output {
            // A signal death has no code: -1 (checked by the SIGKILL test).
            code: status.code().unwrap_or(-1),
            stdout: stdout.unwrap_or_default(),
            stderr: stderr.unwrap_or_default(),
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Starts the binary with exactly these `KLARNA_*` variables and stdin.
pub fn spawn(args: &[&str], env: &[(&str, &str)], stdin: Option<&str>) -> Running {
    let mut command = Command::new(BIN);
    command.args(args);
    for (name, _) in std::env::vars() {
        if name.starts_with("KLARNA_") {
            command.env_remove(name);
        }
    }
    command.envs(env.iter().copied());
    command
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("klarna-token starts");
    if let Some(text) = stdin {
        let mut pipe = child.stdin.take().expect("stdin");
        // A command that refuses before reading its input (`notify` with a
        // forged URL) may have exited and closed the pipe already: what it
        // did is in its exit code and output, which the test reads.
        if let Err(e) = pipe.write_all(text.as_bytes()) {
            assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "stdin: {e}");
        }
    }
    let stdout = child.stdout.take().map(drain);
    let stderr = child.stderr.take().map(drain);
    Running {
        child,
        stdout,
        stderr,
    }
}

/// Runs the binary to its end (off the runtime's threads).
pub async fn run(args: &[&str], env: &[(&str, &str)], stdin: Option<&str>) -> Output {
    let args: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let stdin = stdin.map(str::to_owned);
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        spawn(&args, &env, stdin.as_deref()).wait()
    })
    .await
    .expect("the run finishes")
}

/// The sandbox's credentials as environment variables.
pub fn sandbox_env() -> Vec<(&'static str, &'static str)> {
    vec![
        ("KLARNA_USERNAME", credentials::USERNAME),
        ("KLARNA_PASSWORD", credentials::PASSWORD),
    ]
}

/// Runs the binary against the sandbox: its credentials, `--base-url`.
pub async fn against(sandbox: &Sandbox, args: &[&str], stdin: Option<&str>) -> Output {
    let url = sandbox.base_url();
    let mut all: Vec<&str> = vec!["--base-url", &url];
    all.extend_from_slice(args);
    run(&all, &sandbox_env(), stdin).await
}

/// A fresh directory for one test's files.
pub fn temp_dir(name: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let dir = std::env::temp_dir().join(format!(
        "klarna-token-test-{name}-{}-{nanos}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// Writes a file and returns its path as a string.
pub fn write(dir: &Path, name: &str, contents: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, contents).expect("file written");
    path.to_string_lossy().into_owned()
}
