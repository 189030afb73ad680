#![cfg(unix)]
//! The connection cap stays below the process's open-file limit. This test
//! lowers the open-file limit of its own process, which would starve the
//! other tests of file descriptors: it is a test binary of its own (its
//! `[[test]]` entry) so that it runs in a process alone.

use klarna_customer_token_sandbox::Sandbox;
use rlimit::Resource;

#[tokio::test]
async fn the_connection_cap_is_lowered_below_the_open_file_limit() {
    let (soft, hard) = Resource::NOFILE.get().expect("the limit");
    let lowered = 256.min(soft).min(hard);
    Resource::NOFILE.set(lowered, hard).expect("lowered");
    let sandbox = Sandbox::builder()
        .max_connections(100_000)
        .start()
        .await
        .expect("starts");
    let cap = sandbox.max_connections() as u64;
    assert!(cap < lowered, "cap {cap} with {lowered} files");
    assert!(cap >= lowered / 2, "a margin, not a collapse: {cap}");
    // A cap below the limit is kept as it is.
    let small = Sandbox::builder()
        .max_connections(8)
        .start()
        .await
        .expect("starts");
    assert_eq!(small.max_connections(), 8);
    Resource::NOFILE.set(soft, hard).expect("restored");
}
