//! What the `iproov-sandbox` binary does, kept in the library so it can be tested and so
//! `main.rs` stays a few lines.

use std::io;
use std::time::Duration;

use tokio::net::TcpListener;

use crate::config::{FrameMode, SandboxConfig};
use crate::serve_with_shutdown;

pub const DEFAULT_PORT: u16 = 4600;
pub const DEFAULT_HOST: &str = "127.0.0.1";

/// How long in-flight requests may take to finish after SIGINT/SIGTERM (a fault can hold a
/// request for minutes; stopping must not wait for it).
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

pub const USAGE: &str = "\
iproov-sandbox: a local stand-in for iProov's REST API v2 (see infra/iproov-sandbox/README.md)

USAGE: iproov-sandbox [--host HOST] [--port PORT]

  --host HOST   address to listen on (env SANDBOX_HOST, default 127.0.0.1)
  --port PORT   port to listen on (env SANDBOX_PORT, default 4600; 0 picks a free one)

Environment:
  SANDBOX_API_KEY, SANDBOX_SECRET                     claim credentials
  SANDBOX_OAUTH_CLIENT_ID, SANDBOX_OAUTH_CLIENT_SECRET  OAuth client credentials
  SANDBOX_LATENCY_MS   latency added to every /api/v2 call (default 0)
  SANDBOX_FRAME        png | jpeg | none (default png)
  RUST_LOG             log filter (default info)
";

/// Where to listen and with what configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub host: String,
    pub port: u16,
    pub config: SandboxConfig,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Run(Settings),
    Help,
}

/// Reads arguments (without the program name) and environment. Arguments win over the
/// environment, which wins over the defaults. Errors are messages for a person.
pub fn parse<I, E>(args: I, env: E) -> Result<Command, String>
where
    I: IntoIterator<Item = String>,
    E: Fn(&str) -> Option<String>,
{
    let mut host = env("SANDBOX_HOST");
    let mut port = env("SANDBOX_PORT");
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((name, value)) => (name.to_owned(), Some(value.to_owned())),
            None => (arg.clone(), None),
        };
        match name.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "--host" | "--port" => {
                let value = inline
                    .or_else(|| args.next())
                    .ok_or_else(|| format!("{name} needs a value"))?;
                if name == "--host" {
                    host = Some(value);
                } else {
                    port = Some(value);
                }
            }
            _ => return Err(format!("unknown argument {arg:?}\n\n{USAGE}")),
        }
    }

    let port = match port {
        None => DEFAULT_PORT,
        Some(text) => text
            .trim()
            .parse::<u16>()
            .map_err(|_| format!("port must be a number between 0 and 65535, not {text:?}"))?,
    };
    let defaults = SandboxConfig::default();
    let latency_ms = match env("SANDBOX_LATENCY_MS") {
        None => 0,
        Some(text) => text
            .trim()
            .parse::<u64>()
            .map_err(|_| format!("SANDBOX_LATENCY_MS must be a whole number, not {text:?}"))?,
    };
    let frame = match env("SANDBOX_FRAME") {
        None => FrameMode::default(),
        Some(text) => text.parse::<FrameMode>()?,
    };
    let config = SandboxConfig {
        api_key: env("SANDBOX_API_KEY").unwrap_or(defaults.api_key),
        secret: env("SANDBOX_SECRET").unwrap_or(defaults.secret),
        oauth_client_id: env("SANDBOX_OAUTH_CLIENT_ID").unwrap_or(defaults.oauth_client_id),
        oauth_client_secret: env("SANDBOX_OAUTH_CLIENT_SECRET")
            .unwrap_or(defaults.oauth_client_secret),
        token_ttl: defaults.token_ttl,
        frame,
        latency: Duration::from_millis(latency_ms),
    };
    Ok(Command::Run(Settings {
        host: host.unwrap_or_else(|| DEFAULT_HOST.to_owned()),
        port,
        config,
    }))
}

/// Binds, serves until SIGINT or SIGTERM, then gives in-flight requests a short grace period.
pub async fn run(settings: Settings) -> io::Result<()> {
    let listener = TcpListener::bind((settings.host.as_str(), settings.port)).await?;
    let address = listener.local_addr()?;
    let defaults = SandboxConfig::default();
    let config = settings.config;
    tracing::info!(
        address = %address,
        api_base = %format!("http://{address}/api/v2"),
        frame = config.frame.as_str(),
        latency_ms = u64::try_from(config.latency.as_millis()).unwrap_or(u64::MAX),
        default_credentials = config.api_key == defaults.api_key && config.secret == defaults.secret,
        "listening"
    );

    let (signalled_tx, signalled_rx) = tokio::sync::oneshot::channel::<()>();
    let shutdown = async move {
        shutdown_signal().await;
        let _ = signalled_tx.send(());
    };
    let server = serve_with_shutdown(listener, config, shutdown);
    tokio::pin!(server);
    tokio::select! {
        result = &mut server => result,
        Ok(()) = signalled_rx => {
            tracing::info!("shutting down");
            match tokio::time::timeout(SHUTDOWN_GRACE, &mut server).await {
                Ok(result) => result,
                Err(_) => {
                    tracing::info!("in-flight requests abandoned after the grace period");
                    Ok(())
                }
            }
        }
    }
}

/// Completes on SIGINT (Ctrl-C) or, on Unix, SIGTERM. A signal that cannot be listened for
/// never completes rather than stopping the server at once.
pub async fn shutdown_signal() {
    let interrupt = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut stream) => {
                stream.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn parse_with(args: &[&str], env: &[(&str, &str)]) -> Result<Command, String> {
        let env: HashMap<String, String> = env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        parse(args.iter().map(|a| (*a).to_owned()), |key| {
            env.get(key).cloned()
        })
    }

    #[test]
    fn defaults_apply_without_arguments_or_environment() {
        let Ok(Command::Run(settings)) = parse_with(&[], &[]) else {
            panic!("expected settings");
        };
        assert_eq!(settings.port, DEFAULT_PORT);
        assert_eq!(settings.host, DEFAULT_HOST);
        assert_eq!(settings.config, SandboxConfig::default());
    }

    #[test]
    fn arguments_win_over_environment() {
        let Ok(Command::Run(settings)) = parse_with(
            &["--port=4700", "--host", "0.0.0.0"],
            &[
                ("SANDBOX_PORT", "4800"),
                ("SANDBOX_API_KEY", "k"),
                ("SANDBOX_FRAME", "JPEG"),
                ("SANDBOX_LATENCY_MS", "25"),
            ],
        ) else {
            panic!("expected settings");
        };
        assert_eq!(settings.port, 4700);
        assert_eq!(settings.host, "0.0.0.0");
        assert_eq!(settings.config.api_key, "k");
        assert_eq!(settings.config.frame, FrameMode::Jpeg);
        assert_eq!(settings.config.latency, Duration::from_millis(25));
    }

    #[test]
    fn bad_values_are_reported_not_ignored() {
        assert!(parse_with(&["--port", "x"], &[]).is_err());
        assert!(parse_with(&["--port"], &[]).is_err());
        assert!(parse_with(&["--verbose"], &[]).is_err());
        assert!(parse_with(&[], &[("SANDBOX_FRAME", "gif")]).is_err());
        assert!(parse_with(&[], &[("SANDBOX_LATENCY_MS", "-1")]).is_err());
        assert_eq!(parse_with(&["--help"], &[]), Ok(Command::Help));
    }
}
