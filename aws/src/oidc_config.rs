//! The OpenID Connect provider's deployment settings (template parameters `OidcIssuer`,
//! `OidcSignInPath`, `OidcAccessTokenSeconds`, `OidcRefreshTokenDays`), read once at start.

use onboarding_core::oidc::OAuthError;
use onboarding_core::oidc::OidcSettings;

use crate::env::{ConfigError, optional, parsed};

/// What the oidc functions know before any request.
#[derive(Debug, Clone)]
pub struct ProviderConfig {
    /// The configured issuer; `None` means the origin API Gateway received the request on.
    issuer: Option<String>,
    /// Where `authorize` sends the browser (a path on the issuer's origin).
    pub sign_in_path: String,
    token_seconds: i64,
    grant_seconds: i64,
}

impl ProviderConfig {
    /// From `OIDC_ISSUER`, `OIDC_SIGN_IN_PATH`, `OIDC_ACCESS_TOKEN_SECONDS`,
    /// `OIDC_REFRESH_TOKEN_DAYS`; a configured issuer that could never be one stops the
    /// function at start, not at the first sign-in.
    pub fn from_env() -> Result<Self, ConfigError> {
        let issuer = optional("OIDC_ISSUER");
        if let Some(issuer) = &issuer {
            OidcSettings::new(issuer).map_err(|why| ConfigError::Invalid("OIDC_ISSUER", why))?;
        }
        let sign_in_path = optional("OIDC_SIGN_IN_PATH").unwrap_or_else(|| "/signin.html".into());
        if !sign_in_path.starts_with('/') || sign_in_path.contains(['?', '#', ' ']) {
            return Err(ConfigError::Invalid(
                "OIDC_SIGN_IN_PATH",
                "must be a path starting with /",
            ));
        }
        let token_seconds: i64 = parsed("OIDC_ACCESS_TOKEN_SECONDS", 300)?;
        let grant_days: i64 = parsed("OIDC_REFRESH_TOKEN_DAYS", 30)?;
        if !(60..=3600).contains(&token_seconds) {
            return Err(ConfigError::Invalid(
                "OIDC_ACCESS_TOKEN_SECONDS",
                "must be 60 to 3600",
            ));
        }
        if !(1..=365).contains(&grant_days) {
            return Err(ConfigError::Invalid(
                "OIDC_REFRESH_TOKEN_DAYS",
                "must be 1 to 365",
            ));
        }
        Ok(Self {
            issuer,
            sign_in_path,
            token_seconds,
            grant_seconds: grant_days * 86_400,
        })
    }

    /// The provider's settings for a request API Gateway received on `gateway_domain`: the
    /// configured issuer, else `https://<that domain>`.
    pub fn settings(&self, gateway_domain: Option<&str>) -> Result<OidcSettings, OAuthError> {
        let issuer = match (&self.issuer, gateway_domain) {
            (Some(issuer), _) => issuer.clone(),
            (None, Some(domain)) => format!("https://{domain}"),
            (None, None) => return Err(OAuthError::server_error()),
        };
        let mut settings = OidcSettings::new(&issuer).map_err(|_| OAuthError::server_error())?;
        settings.token_seconds = self.token_seconds;
        settings.grant_seconds = self.grant_seconds;
        Ok(settings)
    }

    /// The sign-in page's URL for pending request `request_id`.
    pub fn sign_in_url(&self, settings: &OidcSettings, request_id: &str) -> String {
        format!(
            "{}{}?request={request_id}",
            settings.issuer(),
            self.sign_in_path
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(issuer: Option<&str>) -> ProviderConfig {
        ProviderConfig {
            issuer: issuer.map(str::to_owned),
            sign_in_path: "/signin.html".into(),
            token_seconds: 120,
            grant_seconds: 86_400,
        }
    }

    #[test]
    fn without_a_configured_issuer_the_gateway_domain_is_the_issuer() {
        let settings = config(None)
            .settings(Some("abc.execute-api.eu-west-1.amazonaws.com"))
            .unwrap();
        assert_eq!(
            settings.issuer(),
            "https://abc.execute-api.eu-west-1.amazonaws.com"
        );
        assert_eq!(settings.token_seconds, 120);
        assert!(config(None).settings(None).is_err());
    }

    #[test]
    fn a_configured_issuer_wins_over_the_gateway_domain() {
        let config = config(Some("https://id.example.com"));
        let settings = config
            .settings(Some("abc.execute-api.eu-west-1.amazonaws.com"))
            .unwrap();
        assert_eq!(settings.issuer(), "https://id.example.com");
        assert_eq!(
            config.sign_in_url(&settings, "r1"),
            "https://id.example.com/signin.html?request=r1"
        );
    }
}
