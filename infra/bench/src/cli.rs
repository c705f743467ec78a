//! The command line: where the binaries, the state directory and the outputs are, and how many
//! invocations to take. `--help` prints the head of `main.rs`, so the usage lives in one place.

use std::path::PathBuf;

use crate::Error;

/// Settings from the command line.
pub struct Config {
    pub root: PathBuf,
    pub x86_dir: PathBuf,
    pub arm64_dir: PathBuf,
    pub sandbox: PathBuf,
    pub local_dir: PathBuf,
    pub out: PathBuf,
    pub svg: PathBuf,
    /// Warm invocations per route.
    pub n: usize,
    /// Cold starts per function for the init figures.
    pub cold: usize,
    /// Rounds of the validator throughput test (one message, then a batch of ten, each round).
    pub rounds: usize,
    pub command: String,
}

impl Config {
    /// From `std::env::args`; relative paths are made absolute (function processes run in their
    /// own directory).
    pub fn from_args() -> Result<Config, Error> {
        let mut args = std::env::args().skip(1);
        let root = std::env::current_dir()?;
        let mut c = Config {
            x86_dir: root.join("target/bench/lambda-x86_64"),
            arm64_dir: root.join("target/bench/lambda-arm64"),
            sandbox: root.join("target/bench/lambda-x86_64/iproov-sandbox/bootstrap"),
            local_dir: root.join("target/bench/local"),
            out: root.join("docs/performance.md"),
            svg: root.join("docs/performance.svg"),
            root,
            n: 200,
            cold: 20,
            rounds: 5,
            command: "make bench".to_owned(),
        };
        while let Some(flag) = args.next() {
            let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
            match flag.as_str() {
                "--root" => c.root = PathBuf::from(value()?),
                "--x86-dir" => c.x86_dir = PathBuf::from(value()?),
                "--arm64-dir" => c.arm64_dir = PathBuf::from(value()?),
                "--sandbox" => c.sandbox = PathBuf::from(value()?),
                "--local-dir" => c.local_dir = PathBuf::from(value()?),
                "--out" => c.out = PathBuf::from(value()?),
                "--svg" => c.svg = PathBuf::from(value()?),
                "-n" | "--invocations" => c.n = value()?.parse()?,
                "--cold-starts" => c.cold = value()?.parse()?,
                "--rounds" => c.rounds = value()?.parse()?,
                "--command" => c.command = value()?,
                "-h" | "--help" => {
                    // The usage is the head of main.rs's doc comment.
                    println!(
                        "{}",
                        include_str!("main.rs")
                            .lines()
                            .take(10)
                            .collect::<Vec<_>>()
                            .join("\n")
                    );
                    std::process::exit(0);
                }
                other => return Err(format!("unknown argument {other}").into()),
            }
        }
        if c.n < 1 {
            return Err("-n must be at least 1".into());
        }
        // Absolute paths: function processes run in their own directory.
        for p in [
            &mut c.root,
            &mut c.x86_dir,
            &mut c.arm64_dir,
            &mut c.sandbox,
            &mut c.local_dir,
            &mut c.out,
            &mut c.svg,
        ] {
            if p.is_relative() {
                *p = std::env::current_dir()?.join(&*p);
            }
        }
        Ok(c)
    }

    /// The x86_64 `bootstrap` of `function` (the build that runs here).
    pub fn bootstrap(&self, function: &str) -> PathBuf {
        self.x86_dir.join(function).join("bootstrap")
    }
}
