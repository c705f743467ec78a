//! The machine the figures were taken on (CPU, cores, memory, kernel, toolchain), for the
//! report: absolute figures mean little without it.

use std::process::Command;

fn shell(cmd: &str, args: &[&str]) -> String {
    Command::new(cmd)
        .args(args)
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}

/// (what, value) rows for the Machine table; empty values where a tool is missing.
pub(super) fn machine() -> Vec<(String, String)> {
    let lscpu = shell("lscpu", &[]);
    let field = |name: &str| {
        lscpu
            .lines()
            .find_map(|l| {
                l.strip_prefix(name)
                    .map(|v| v.trim_start_matches(':').trim().to_owned())
            })
            .unwrap_or_default()
    };
    let mem = shell("free", &["-m"]);
    let mem = mem
        .lines()
        .find(|l| l.starts_with("Mem:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .map(|t| format!("{t} MiB"))
        .unwrap_or_default();
    vec![
        (
            "CPU".into(),
            format!(
                "{} ({}, {})",
                field("Model name"),
                field("Architecture"),
                field("Hypervisor vendor")
            ),
        ),
        ("cores (nproc)".into(), shell("nproc", &[])),
        ("memory (free -m, total)".into(), mem),
        ("kernel".into(), shell("uname", &["-sr"])),
        ("rustc".into(), shell("rustc", &["-V"])),
        (
            "cargo-lambda".into(),
            shell("cargo", &["lambda", "--version"]),
        ),
    ]
}
