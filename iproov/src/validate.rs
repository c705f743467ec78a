//! The question asked after a scan ("did this token's scan pass?") and its answer.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr};

use super::frame::Frame;
use super::token::Token;
use super::user_id::IProovUserId;

/// What a validate call needs. The token must be the one stored server side when it was
/// issued, never one sent by the client.
#[derive(Clone, Copy)]
pub struct ValidateRequest<'a> {
    /// The user the token was issued for.
    pub user_id: &'a IProovUserId,
    /// The token whose scan is being validated.
    pub token: &'a Token,
    /// The end user's address, as seen by our API. Only IPv4 reaches iProov (see
    /// [`ipv4_for_iproov`]).
    pub client_ip: Option<IpAddr>,
    /// A client identifier such as the User-Agent (truncated to 256 characters on the wire).
    pub client: &'a str,
}

impl fmt::Debug for ValidateRequest<'_> {
    /// The address is personal data and the token a credential: show neither.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ValidateRequest")
            .field("user_id", self.user_id)
            .field("token", self.token)
            .field("client_ip", &self.client_ip.map(|_| "<redacted>"))
            .field("client", &self.client)
            .finish()
    }
}

/// iProov's verdict on a scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidateOutcome {
    /// Whether the scan proved a genuine (or live) match. The only field that decides anything.
    pub passed: bool,
    /// iProov's failure reason code, when the service provider has reasons switched on.
    pub reason: Option<String>,
    /// The face image of an enrolment, when frames are switched on and the image could be
    /// decoded. A verification's is never read: always `None`.
    pub frame: Option<Frame>,
    /// The assurance type the scan was judged under, when iProov says.
    pub assurance_type: Option<String>,
}

/// The `ip` iProov accepts: IPv4 only. An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`, how a
/// dual-stack socket reports an IPv4 client) is the IPv4 client it wraps; any other IPv6
/// address has no IPv4 equivalent and is omitted rather than sent.
pub fn ipv4_for_iproov(ip: IpAddr) -> Option<Ipv4Addr> {
    match ip {
        IpAddr::V4(v4) => Some(v4),
        IpAddr::V6(v6) => v6.to_ipv4_mapped(),
    }
}

/// Longest `client` string sent: a User-Agent can be arbitrarily long, iProov needs a hint.
pub(crate) const MAX_CLIENT_CHARS: usize = 256;

/// `client` cut to [`MAX_CLIENT_CHARS`] characters, on a character boundary.
pub(crate) fn client_for_iproov(client: &str) -> &str {
    match client.char_indices().nth(MAX_CLIENT_CHARS) {
        Some((cut, _)) => &client[..cut],
        None => client,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_ipv4_and_ipv4_mapped_addresses_reach_iproov() {
        assert_eq!(
            ipv4_for_iproov("10.1.2.3".parse().unwrap()),
            Some(Ipv4Addr::new(10, 1, 2, 3))
        );
        assert_eq!(
            ipv4_for_iproov("::ffff:10.1.2.3".parse().unwrap()),
            Some(Ipv4Addr::new(10, 1, 2, 3))
        );
        assert_eq!(ipv4_for_iproov("2001:db8::1".parse().unwrap()), None);
        assert_eq!(ipv4_for_iproov("::1".parse().unwrap()), None);
        // The deprecated IPv4-compatible form is not a mapping of a v4 client.
        assert_eq!(ipv4_for_iproov("::10.1.2.3".parse().unwrap()), None);
    }

    #[test]
    fn client_is_truncated_on_a_character_boundary() {
        let long = "é".repeat(300);
        assert_eq!(client_for_iproov(&long).chars().count(), MAX_CLIENT_CHARS);
        assert_eq!(client_for_iproov("curl/8"), "curl/8");
    }
}
