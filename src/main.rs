//! `source-aws-cloudtrail`: parse the command line, run the command, map the outcome to an exit
//! code (and a TRACE error) in one place.
#![forbid(unsafe_code)]
#![deny(clippy::print_stdout)]

mod aws;
mod cli;
mod commands;
mod config;
mod emit;
mod error;
mod json_words;
mod protocol;
mod schema;
mod state;
mod streams;
mod time;

use std::process::ExitCode;

use clap::Parser;

use commands::Outcome;
use emit::Emitter;
use error::Error;

fn main() -> ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            // --help and --version are answers, not errors.
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            let emitter = Emitter::stdout();
            emitter.error(
                &Error::config(format!("invalid command line: {}", e.kind())),
                None,
            );
            let _ = emitter.finish();
            let _ = e.print();
            return ExitCode::from(2);
        }
    };
    let emitter = std::sync::Arc::new(Emitter::stdout());
    let outcome = commands::run(cli.command, &emitter);
    if let Err(e) = &outcome {
        emitter.error(e, None);
    }
    let flushed = emitter.finish();
    match (outcome, flushed) {
        (Ok(Outcome::Success), Ok(())) => ExitCode::SUCCESS,
        (_, Err(e)) => {
            eprintln!("source-aws-cloudtrail: {e}");
            ExitCode::FAILURE
        }
        _ => ExitCode::FAILURE,
    }
}
