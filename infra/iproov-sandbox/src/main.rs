//! `iproov-sandbox`: runs the sandbox until SIGINT/SIGTERM. See `iproov-sandbox --help`.

use std::process::ExitCode;

use iproov_sandbox::cli::{self, Command};

#[tokio::main]
async fn main() -> ExitCode {
    let settings = match cli::parse(std::env::args().skip(1), |key| std::env::var(key).ok()) {
        Ok(Command::Run(settings)) => settings,
        Ok(Command::Help) => {
            print!("{}", cli::USAGE);
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("iproov-sandbox: {message}");
            return ExitCode::from(2);
        }
    };
    if let Err(message) = iproov_sandbox::init_logging() {
        eprintln!("iproov-sandbox: cannot start logging: {message}");
        return ExitCode::FAILURE;
    }
    match cli::run(settings).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("iproov-sandbox: {error}");
            ExitCode::FAILURE
        }
    }
}
