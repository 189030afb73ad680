//! Log output captured per test, for tests that read what was logged.
//!
//! One subscriber serves the whole test binary: installed once as the
//! global default, it asks, for every event and span, whether the thread
//! it happens on is capturing, and at which level. A subscriber per test
//! (`tracing::subscriber::set_default`) is not enough when tests run in
//! parallel: `tracing` caches whether a call site is enabled for every
//! thread at once, and a test that ends while another is logging can leave
//! a call site switched off for the other (seen with eight test threads:
//! no spans logged at all).

use std::cell::RefCell;
use std::io::Write;
use std::sync::{Arc, Mutex, Once};

use tracing::Level;
use tracing_subscriber::Layer as _;
use tracing_subscriber::layer::SubscriberExt as _;

thread_local! {
    /// The capture of the test running on this thread, and its level.
    static CURRENT: RefCell<Option<(Capture, Level)>> = const { RefCell::new(None) };
}

/// What was logged on the threads that installed it; clones share one
/// buffer.
#[derive(Clone, Default)]
pub struct Capture(Arc<Mutex<Vec<u8>>>);

/// Captures until dropped (then the thread's earlier capture, if any,
/// applies again).
pub struct Guard {
    previous: Option<(Capture, Level)>,
}

impl Drop for Guard {
    fn drop(&mut self) {
        let previous = self.previous.take();
        CURRENT.with(|current| *current.borrow_mut() = previous);
    }
}

/// Writes to the current thread's capture.
struct CurrentCapture;

impl Write for CurrentCapture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        CURRENT.with(|current| {
            if let Some((capture, _)) = current.borrow().as_ref() {
                capture.0.lock().expect("lock").extend_from_slice(buf);
            }
        });
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Capture {
    /// Captures everything logged on the current thread, TRACE and up.
    pub fn install(&self) -> Guard {
        self.install_at(Level::TRACE)
    }

    /// Captures what is logged on the current thread at `level` and up.
    pub fn install_at(&self, level: Level) -> Guard {
        static GLOBAL: Once = Once::new();
        GLOBAL.call_once(|| {
            // Dynamic: asked for every event and span (a plain `filter_fn`
            // is asked once per call site and its answer cached).
            let only_where_capturing = tracing_subscriber::filter::dynamic_filter_fn(|meta, _| {
                CURRENT.with(|current| {
                    current
                        .borrow()
                        .as_ref()
                        .is_some_and(|(_, level)| meta.level() <= level)
                })
            });
            let layer = tracing_subscriber::fmt::layer()
                .with_ansi(false)
                .with_writer(|| CurrentCapture)
                .with_filter(only_where_capturing);
            tracing::subscriber::set_global_default(tracing_subscriber::registry().with(layer))
                .expect("the test binary installs no other global subscriber");
        });
        let previous = CURRENT.with(|current| current.replace(Some((self.clone(), level))));
        Guard { previous }
    }

    /// Everything logged so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("lock")).into_owned()
    }
}
