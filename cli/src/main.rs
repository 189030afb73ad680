//! `klarna-token`: read, charge and cancel customer tokens from a shell,
//! one at a time or as a journaled batch. See `klarna-token --help` and the
//! README, "The klarna-token command-line tool".
//!
//! It uses only the library's public API. Credentials come from the
//! environment and are never printed; a customer token is shown in full
//! only where the user typed it.

#![forbid(unsafe_code)]

mod args;
mod batch;
mod commands;
mod config;
mod journal;
mod notify;
mod output;

use std::process::ExitCode;

use args::{Command, Parsed};
use output::Exit;

fn main() -> ExitCode {
    let args = match args::parse(std::env::args_os().skip(1)) {
        Ok(Parsed::Run(args)) => args,
        Ok(Parsed::Help) => {
            print!("{}", args::USAGE);
            return Exit::Success.into();
        }
        Ok(Parsed::Version) => {
            println!("klarna-token {}", env!("CARGO_PKG_VERSION"));
            return Exit::Success.into();
        }
        Err(message) => {
            eprintln!("error: {message}\n(klarna-token --help lists the commands and options)");
            return Exit::Invalid.into();
        }
    };
    match &args.command {
        // Offline: no runtime, no client.
        Command::Validate { file } => return commands::validate(&args, file).into(),
        Command::Notify { journal, url, body } => {
            return notify::run(journal, url, body.as_deref()).into();
        }
        _ => {}
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: the async runtime could not start: {e}");
            return Exit::NotDone.into();
        }
    };
    let exit = runtime.block_on(async {
        match &args.command {
            Command::Read { token } => commands::read(&args, token).await,
            Command::Cancel { token } => commands::cancel(&args, token).await,
            Command::Order { token, file, key } => {
                commands::order(&args, token, file, key.as_deref()).await
            }
            Command::Validate { file } => commands::validate(&args, file),
            Command::Batch {
                file,
                journal,
                namespace,
                concurrency,
                notification_url,
            } => {
                let batch = batch::Batch {
                    file,
                    journal,
                    namespace,
                    concurrency: *concurrency,
                    notification_url: notification_url.as_deref(),
                };
                batch::run(&args, &batch).await
            }
            Command::Notify { journal, url, body } => notify::run(journal, url, body.as_deref()),
        }
    });
    // Calls abandoned by a second Ctrl-C are not waited for.
    runtime.shutdown_background();
    exit.into()
}
