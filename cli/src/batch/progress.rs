//! Progress: a bar on a terminal, plain lines otherwise.

use std::io::IsTerminal as _;

/// Progress: a bar on a terminal, plain lines otherwise.
pub(super) enum Progress {
    Bar(indicatif::ProgressBar),
    Plain,
}

impl Progress {
    pub(super) fn new(total: usize) -> Self {
        if !std::io::stderr().is_terminal() {
            return Self::Plain;
        }
        let bar = indicatif::ProgressBar::new(total as u64);
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{bar:40} {pos}/{len} charges sent and answered, {per_sec}, eta {eta} {msg}",
        ) {
            bar.set_style(style);
        }
        Self::Bar(bar)
    }

    /// One finished charge; `line` is printed as plain text, or above the
    /// bar when it is worth a person's attention.
    pub(super) fn done(&self, line: &str, notable: bool) {
        match self {
            Self::Bar(bar) => {
                if notable {
                    bar.println(line);
                }
                bar.inc(1);
            }
            Self::Plain => println!("{line}"),
        }
    }

    pub(super) fn note(&self, line: &str) {
        match self {
            Self::Bar(bar) => bar.println(line),
            Self::Plain => eprintln!("{line}"),
        }
    }

    pub(super) fn finish(&self) {
        if let Self::Bar(bar) = self {
            bar.finish_and_clear();
        }
    }
}
