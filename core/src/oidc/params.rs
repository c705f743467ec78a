//! A request's parameters, from a query string or a form body.
//!
//! The handler passes the pairs as they came, repeats included (a multimap flattened into a
//! list, or [`Params::from_form`] on the raw text): RFC 6749 §3.1 forbids repeating a
//! parameter, and only the core knows which repeat matters where (a repeated `client_id`
//! cannot even be redirected). A repeat is refused when the endpoint reads that parameter; a
//! repeated parameter it does not know is ignored, like any unrecognised one (§3.1). A
//! parameter with an empty value counts as absent (§3.1), and every value is read with a
//! length bound, so no field of a stored request is unbounded.

use std::collections::BTreeMap;

use super::encoding::parse_form;
use super::errors::OAuthError;

/// At most this many pairs in one request: beyond it the request is refused whole.
pub const MAX_PAIRS: usize = 64;

/// The usual bound of a parameter value (URIs, identifiers, `state`).
pub const MAX_VALUE: usize = 2048;

/// The bound of a parameter carrying a JWT (`client_assertion`, `id_token_hint`, `token`).
pub const MAX_JWT: usize = 8192;

/// The parameters of one request, by name, each with every value it was given.
#[derive(Debug, Clone, Default)]
pub struct Params {
    values: BTreeMap<String, Vec<String>>,
}

/// Why a parameter cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamError {
    Repeated,
    TooLong,
}

impl ParamError {
    /// The answer to a request with such a parameter.
    pub fn to_oauth(self) -> OAuthError {
        match self {
            Self::Repeated => OAuthError::invalid_request("a request parameter is repeated"),
            Self::TooLong => OAuthError::invalid_request("a request parameter is too long"),
        }
    }
}

impl From<ParamError> for OAuthError {
    fn from(err: ParamError) -> Self {
        err.to_oauth()
    }
}

impl Params {
    /// The parameters from decoded name/value pairs; refused when there are too many.
    pub fn from_pairs<I, K, V>(pairs: I) -> Result<Self, OAuthError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        let mut values: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (count, (name, value)) in pairs.into_iter().enumerate() {
            if count >= MAX_PAIRS {
                return Err(OAuthError::invalid_request("too many request parameters"));
            }
            values.entry(name.into()).or_default().push(value.into());
        }
        Ok(Self { values })
    }

    /// The parameters of a raw query string or `application/x-www-form-urlencoded` body.
    pub fn from_form(text: &str) -> Result<Self, OAuthError> {
        if text.len() > MAX_PAIRS * (MAX_JWT + 64) {
            return Err(OAuthError::invalid_request("the request is too large"));
        }
        let pairs = parse_form(text).ok_or(OAuthError::invalid_request(
            "the request is not well encoded",
        ))?;
        Self::from_pairs(pairs)
    }

    /// The value of `name`: `None` when absent or empty; an error when it was given more than
    /// once or is longer than `max_len` bytes.
    pub fn get(&self, name: &str, max_len: usize) -> Result<Option<&str>, ParamError> {
        match self.values.get(name).map(Vec::as_slice) {
            None => Ok(None),
            Some([value]) if value.len() > max_len => Err(ParamError::TooLong),
            Some([value]) => Ok(Some(value.as_str()).filter(|v| !v.is_empty())),
            Some(_) => Err(ParamError::Repeated),
        }
    }

    /// Whether `name` was given at all (even empty).
    pub fn has(&self, name: &str) -> bool {
        self.values.contains_key(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_and_over_long_parameters_are_refused_and_empty_ones_are_absent() {
        // GIVEN a request with a repeated, an empty, an over-long and a plain parameter
        let params = Params::from_pairs([
            ("scope", "openid"),
            ("scope", "profile"),
            ("state", ""),
            ("nonce", "n".repeat(300).as_str()),
            ("client_id", "app"),
        ])
        .expect("few pairs");
        // THEN each reads as the rules say
        assert_eq!(params.get("scope", 100), Err(ParamError::Repeated));
        assert_eq!(params.get("state", 100), Ok(None));
        assert_eq!(params.get("nonce", 255), Err(ParamError::TooLong));
        assert_eq!(params.get("client_id", 100), Ok(Some("app")));
        assert_eq!(params.get("missing", 100), Ok(None));
    }

    #[test]
    fn a_request_with_too_many_parameters_is_refused_whole() {
        let pairs = (0..=MAX_PAIRS).map(|i| (format!("p{i}"), "v".to_owned()));
        let err = Params::from_pairs(pairs).expect_err("too many");
        assert_eq!(err.code, super::super::ErrorCode::InvalidRequest);
        let form = Params::from_form("a=1&b=%20x").expect("encoded");
        assert_eq!(form.get("b", 10), Ok(Some(" x")));
    }
}
