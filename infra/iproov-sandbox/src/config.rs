//! Start-up configuration of the sandbox.
//!
//! Everything here is only the *initial* value of what a test may change while the server runs:
//! the credentials (which `PUT /sandbox/credentials` rotates, to prove the project picks up new
//! iProov credentials without a redeploy) and the runtime settings (frame mode, token lifetime,
//! latency, which `PUT /sandbox/config` and `PUT /sandbox/latency` change).
//! `POST /sandbox/reset` restores all of it.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// Default lifetime of an enrol or verify token: the web SDK gives up after 10 minutes unused.
pub const DEFAULT_TOKEN_TTL: Duration = Duration::from_secs(600);

/// What the validate call returns as the captured face image.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FrameMode {
    /// `frame` holds a generated PNG.
    #[default]
    Png,
    /// `frame` holds the PNG and `frame_jpeg` a generated baseline JPEG.
    Jpeg,
    /// No image: `frame_available` is false, as for a service provider without frames enabled.
    None,
}

impl FrameMode {
    /// The lower-case name used on the command line and in `PUT /sandbox/config`.
    pub fn as_str(self) -> &'static str {
        match self {
            FrameMode::Png => "png",
            FrameMode::Jpeg => "jpeg",
            FrameMode::None => "none",
        }
    }
}

impl FromStr for FrameMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "png" => Ok(FrameMode::Png),
            "jpeg" | "jpg" => Ok(FrameMode::Jpeg),
            "none" | "off" => Ok(FrameMode::None),
            _ => Err(format!("frame mode must be png, jpeg or none, not {s:?}")),
        }
    }
}

impl fmt::Display for FrameMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Everything a sandbox server is started with.
///
/// Build it with struct-update syntax over [`Default`] so that new fields do not break callers:
/// `SandboxConfig { latency: Duration::from_millis(50), ..Default::default() }`.
#[derive(Clone, PartialEq, Eq)]
pub struct SandboxConfig {
    /// The `api_key` claim and OAuth calls must present (until rotated).
    pub api_key: String,
    /// The `secret` claim calls must present.
    pub secret: String,
    /// The HTTP Basic user of `POST /{api_key}/access_token`.
    pub oauth_client_id: String,
    /// The HTTP Basic password of `POST /{api_key}/access_token`.
    pub oauth_client_secret: String,
    /// How long an enrol or verify token can be validated after it was issued.
    pub token_ttl: Duration,
    /// Which images a passed validate call returns.
    pub frame: FrameMode,
    /// Added to every `/api/v2` call before it is answered.
    pub latency: Duration,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            api_key: "sandbox-api-key".to_owned(),
            secret: "sandbox-secret".to_owned(),
            oauth_client_id: "sandbox-oauth-id".to_owned(),
            oauth_client_secret: "sandbox-oauth-secret".to_owned(),
            token_ttl: DEFAULT_TOKEN_TTL,
            frame: FrameMode::Png,
            latency: Duration::ZERO,
        }
    }
}

/// Credentials never reach a log line, not even through `{:?}`.
impl fmt::Debug for SandboxConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SandboxConfig")
            .field("api_key", &"<redacted>")
            .field("secret", &"<redacted>")
            .field("oauth_client_id", &"<redacted>")
            .field("oauth_client_secret", &"<redacted>")
            .field("token_ttl", &self.token_ttl)
            .field("frame", &self.frame)
            .field("latency", &self.latency)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_hides_every_credential() {
        let config = SandboxConfig::default();
        let printed = format!("{config:?}");
        for secret in [
            &config.api_key,
            &config.secret,
            &config.oauth_client_id,
            &config.oauth_client_secret,
        ] {
            assert!(!printed.contains(secret.as_str()), "{printed}");
        }
    }

    #[test]
    fn frame_mode_parses_its_own_names() {
        for mode in [FrameMode::Png, FrameMode::Jpeg, FrameMode::None] {
            assert_eq!(mode.as_str().parse::<FrameMode>(), Ok(mode));
        }
        assert!("gif".parse::<FrameMode>().is_err());
    }
}
