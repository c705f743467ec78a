//! Which address a request came from, when proxies stand between the person and API Gateway.
//!
//! API Gateway's `sourceIp` is the TCP peer it saw: the person's address when nothing is in
//! front, but a CloudFront edge (or the customer's own reverse proxy) when something is. Each
//! proxy appends the address it received the request from to `X-Forwarded-For`; everything to
//! the left of what the *trusted* proxies appended was written by the client and may be forged.
//! So with `n` trusted proxies the person is the entry `n` places from the right end of the
//! chain `X-Forwarded-For… , sourceIp`, and nothing further left is ever believed. The per-IP
//! rate limits count this address: counting the edge's address would put every person behind
//! one CloudFront location into one bucket, and believing the leftmost entry would let anyone
//! pick a fresh address per request.

use std::net::IpAddr;

/// The client's address: `peer` (API Gateway's `sourceIp`) when no proxy is trusted, else the
/// entry `trusted_proxies` places from the right of `forwarded_for` followed by `peer` (which
/// is not added twice when a proxy already appended it). When the chain is shorter than the
/// proxies promised, or that entry is not an address, the nearest proxy (`peer`) is returned:
/// its limit is shared and conservative, never one a client chose.
pub fn client_address(
    forwarded_for: Option<&str>,
    peer: Option<IpAddr>,
    trusted_proxies: usize,
) -> Option<IpAddr> {
    if trusted_proxies == 0 {
        return peer;
    }
    let mut chain: Vec<&str> = forwarded_for
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .collect();
    let peer_text = peer.map(|p| p.to_string());
    if let Some(peer_text) = peer_text.as_deref()
        && chain.last() != Some(&peer_text)
    {
        chain.push(peer_text);
    }
    let Some(index) = chain.len().checked_sub(trusted_proxies + 1) else {
        return peer;
    };
    chain[index].parse().ok().or(peer)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn without_trusted_proxies_only_the_peer_counts_whatever_the_header_says() {
        assert_eq!(
            client_address(Some("1.2.3.4"), ip("9.9.9.9"), 0),
            ip("9.9.9.9")
        );
    }

    #[test]
    fn behind_cloudfront_the_address_it_appended_is_the_client() {
        // given CloudFront (one trusted proxy) appended the viewer, and API Gateway saw the edge
        let forwarded = "203.0.113.7";
        // when the client is read
        let client = client_address(Some(forwarded), ip("130.176.1.1"), 1);
        // then it is the viewer CloudFront saw
        assert_eq!(client, ip("203.0.113.7"));
    }

    #[test]
    fn a_forged_leftmost_entry_is_never_believed() {
        // given a client that sent its own X-Forwarded-For, which CloudFront appended to
        let forwarded = "6.6.6.6, 203.0.113.7";
        assert_eq!(
            client_address(Some(forwarded), ip("130.176.1.1"), 1),
            ip("203.0.113.7")
        );
    }

    #[test]
    fn a_peer_already_appended_by_the_gateway_is_not_counted_twice() {
        let forwarded = "203.0.113.7, 130.176.1.1";
        assert_eq!(
            client_address(Some(forwarded), ip("130.176.1.1"), 1),
            ip("203.0.113.7")
        );
    }

    #[test]
    fn two_trusted_proxies_skip_two_hops() {
        // given the customer's proxy in front of CloudFront
        let forwarded = "6.6.6.6, 203.0.113.7, 198.51.100.2";
        assert_eq!(
            client_address(Some(forwarded), ip("130.176.1.1"), 2),
            ip("203.0.113.7")
        );
    }

    #[test]
    fn a_chain_shorter_than_promised_or_garbage_falls_back_to_the_peer() {
        assert_eq!(
            client_address(None, ip("130.176.1.1"), 1),
            ip("130.176.1.1")
        );
        assert_eq!(
            client_address(Some("not-an-ip"), ip("130.176.1.1"), 1),
            ip("130.176.1.1")
        );
        assert_eq!(
            client_address(Some(" , "), ip("130.176.1.1"), 2),
            ip("130.176.1.1")
        );
    }

    #[test]
    fn ipv6_clients_are_read_too() {
        assert_eq!(
            client_address(Some("2001:db8::7"), ip("130.176.1.1"), 1),
            ip("2001:db8::7")
        );
    }
}
