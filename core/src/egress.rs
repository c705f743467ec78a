//! Which network addresses the backend may connect to on a customer's say-so (webhook
//! endpoints): public unicast addresses only. An endpoint is configuration, but a name in it
//! resolves to whatever its DNS says at delivery time, so every address a name resolves to is
//! checked here before a connection is made to it (server-side request forgery: the instance
//! metadata service at 169.254.169.254, the VPC's own services, loopback listeners).
//!
//! Pure: the caller resolves, this module only judges an address. IPv6 addresses that carry an
//! IPv4 address (IPv4-mapped, IPv4-compatible, NAT64, 6to4) are judged by the IPv4 address they
//! lead to, since that is where the packets go.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Why an address is refused, as a short code for logs and errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NonPublic {
    Unspecified,
    Loopback,
    /// RFC 1918 (10/8, 172.16/12, 192.168/16).
    Private,
    /// RFC 6598 shared address space (100.64/10), carrier-grade NAT.
    SharedCgnat,
    /// 169.254/16 (the metadata service lives there) and fe80::/10.
    LinkLocal,
    /// fc00::/7 (and the deprecated site-local fec0::/10).
    UniqueLocal,
    Multicast,
    /// Documentation, benchmarking, protocol-assignment and reserved ranges, broadcast, the
    /// discard prefix: nothing a real endpoint can be.
    Reserved,
}

impl NonPublic {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unspecified => "unspecified",
            Self::Loopback => "loopback",
            Self::Private => "private",
            Self::SharedCgnat => "shared_cgnat",
            Self::LinkLocal => "link_local",
            Self::UniqueLocal => "unique_local",
            Self::Multicast => "multicast",
            Self::Reserved => "reserved",
        }
    }
}

impl std::fmt::Display for NonPublic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `Ok` when `ip` is a public unicast address the backend may connect to.
pub fn check(ip: IpAddr) -> Result<(), NonPublic> {
    match ip {
        IpAddr::V4(v4) => check_v4(v4),
        IpAddr::V6(v6) => check_v6(v6),
    }
}

/// `Ok` when every address of `addresses` passes [`check`] and there is at least one: a name
/// with one private address among public ones is refused whole, because the connection may go
/// to any of them.
pub fn all_public(addresses: &[IpAddr]) -> Result<(), NonPublic> {
    if addresses.is_empty() {
        return Err(NonPublic::Unspecified);
    }
    addresses.iter().try_for_each(|ip| check(*ip))
}

fn in_v4(ip: Ipv4Addr, network: [u8; 4], prefix: u32) -> bool {
    let mask = if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - prefix)
    };
    u32::from(ip) & mask == u32::from(Ipv4Addr::from(network)) & mask
}

fn check_v4(ip: Ipv4Addr) -> Result<(), NonPublic> {
    use NonPublic::*;
    // (network, prefix length, why), most specific first where ranges nest.
    const RANGES: &[([u8; 4], u32, NonPublic)] = &[
        ([0, 0, 0, 0], 8, Unspecified),
        ([10, 0, 0, 0], 8, Private),
        ([100, 64, 0, 0], 10, SharedCgnat),
        ([127, 0, 0, 0], 8, Loopback),
        ([169, 254, 0, 0], 16, LinkLocal),
        ([172, 16, 0, 0], 12, Private),
        ([192, 0, 0, 0], 24, Reserved),
        ([192, 0, 2, 0], 24, Reserved),
        ([192, 88, 99, 0], 24, Reserved),
        ([192, 168, 0, 0], 16, Private),
        ([198, 18, 0, 0], 15, Reserved),
        ([198, 51, 100, 0], 24, Reserved),
        ([203, 0, 113, 0], 24, Reserved),
        ([224, 0, 0, 0], 4, Multicast),
        ([240, 0, 0, 0], 4, Reserved),
    ];
    match RANGES
        .iter()
        .find(|(network, prefix, _)| in_v4(ip, *network, *prefix))
    {
        Some((_, _, why)) => Err(*why),
        None => Ok(()),
    }
}

fn in_v6(ip: Ipv6Addr, network: [u16; 8], prefix: u32) -> bool {
    let mask = if prefix == 0 {
        0
    } else {
        u128::MAX << (128 - prefix)
    };
    u128::from(ip) & mask == u128::from(Ipv6Addr::from(network)) & mask
}

/// The IPv4 address in the last 32 bits.
fn low_v4(ip: Ipv6Addr) -> Ipv4Addr {
    Ipv4Addr::from((u128::from(ip) & 0xffff_ffff) as u32)
}

fn check_v6(ip: Ipv6Addr) -> Result<(), NonPublic> {
    use NonPublic::*;
    if ip.is_unspecified() {
        return Err(Unspecified);
    }
    if ip.is_loopback() {
        return Err(Loopback);
    }
    // ::ffff:a.b.c.d (IPv4-mapped) and the deprecated ::a.b.c.d (IPv4-compatible): the packets
    // go to the IPv4 address.
    if in_v6(ip, [0, 0, 0, 0, 0, 0xffff, 0, 0], 96) || in_v6(ip, [0; 8], 96) {
        return check_v4(low_v4(ip));
    }
    // NAT64 with the well-known prefix: translated to the embedded IPv4 address.
    if in_v6(ip, [0x64, 0xff9b, 0, 0, 0, 0, 0, 0], 96) {
        return check_v4(low_v4(ip));
    }
    // 6to4: 2002:AABB:CCDD::/48 tunnels to AA.BB.CC.DD.
    if in_v6(ip, [0x2002, 0, 0, 0, 0, 0, 0, 0], 16) {
        let [_, high, low, ..] = ip.segments();
        return check_v4(Ipv4Addr::from((u32::from(high) << 16) | u32::from(low)));
    }
    const RANGES: &[([u16; 8], u32, NonPublic)] = &[
        // Local-use NAT64 (RFC 8215): translated by the operator's own gateway.
        ([0x64, 0xff9b, 1, 0, 0, 0, 0, 0], 48, Private),
        // Discard-only (RFC 6666).
        ([0x100, 0, 0, 0, 0, 0, 0, 0], 64, Reserved),
        // Documentation (RFC 3849 and RFC 9637).
        ([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0], 32, Reserved),
        ([0x3fff, 0, 0, 0, 0, 0, 0, 0], 20, Reserved),
        // IETF protocol assignments, Teredo (2001::/32) among them: tunnels to addresses we
        // cannot see.
        ([0x2001, 0, 0, 0, 0, 0, 0, 0], 23, Reserved),
        ([0xfc00, 0, 0, 0, 0, 0, 0, 0], 7, UniqueLocal),
        ([0xfe80, 0, 0, 0, 0, 0, 0, 0], 10, LinkLocal),
        ([0xfec0, 0, 0, 0, 0, 0, 0, 0], 10, UniqueLocal),
        ([0xff00, 0, 0, 0, 0, 0, 0, 0], 8, Multicast),
    ];
    match RANGES
        .iter()
        .find(|(network, prefix, _)| in_v6(ip, *network, *prefix))
    {
        Some((_, _, why)) => Err(*why),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verdict(text: &str) -> Result<(), NonPublic> {
        check(text.parse().expect(text))
    }

    #[test]
    fn public_addresses_of_both_families_are_allowed() {
        for ip in [
            "1.1.1.1",
            "8.8.8.8",
            "52.94.236.248",
            "100.63.255.255",
            "100.128.0.0",
            "172.15.255.255",
            "172.32.0.0",
            "192.169.0.1",
            "198.20.0.1",
            "223.255.255.255",
            "2606:4700:4700::1111",
            "2a00:1450:4001:81b::200e",
            "2001:4860:4860::8888",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
            "2002:0808:0808::1",
        ] {
            assert_eq!(verdict(ip), Ok(()), "{ip}");
        }
    }

    #[test]
    fn every_non_public_ipv4_range_is_refused_with_its_reason() {
        use NonPublic::*;
        for (ip, why) in [
            ("0.0.0.0", Unspecified),
            ("0.1.2.3", Unspecified),
            ("10.0.0.1", Private),
            ("10.255.255.255", Private),
            ("100.64.0.1", SharedCgnat),
            ("100.127.255.254", SharedCgnat),
            ("127.0.0.1", Loopback),
            ("127.255.255.254", Loopback),
            ("169.254.169.254", LinkLocal),
            ("169.254.0.1", LinkLocal),
            ("172.16.0.1", Private),
            ("172.31.255.255", Private),
            ("192.0.0.8", Reserved),
            ("192.0.2.1", Reserved),
            ("192.88.99.1", Reserved),
            ("192.168.1.1", Private),
            ("198.18.0.1", Reserved),
            ("198.19.255.255", Reserved),
            ("198.51.100.7", Reserved),
            ("203.0.113.9", Reserved),
            ("224.0.0.1", Multicast),
            ("239.255.255.250", Multicast),
            ("240.0.0.1", Reserved),
            ("255.255.255.255", Reserved),
        ] {
            assert_eq!(verdict(ip), Err(why), "{ip}");
        }
    }

    #[test]
    fn every_non_public_ipv6_range_is_refused_with_its_reason() {
        use NonPublic::*;
        for (ip, why) in [
            ("::", Unspecified),
            ("::1", Loopback),
            ("fe80::1", LinkLocal),
            ("febf:ffff::1", LinkLocal),
            ("fc00::1", UniqueLocal),
            ("fd00:ec2::254", UniqueLocal),
            ("fec0::1", UniqueLocal),
            ("ff02::1", Multicast),
            ("ff0e::101", Multicast),
            ("2001:db8::1", Reserved),
            ("2001::1", Reserved),
            ("3fff::1", Reserved),
            ("100::1", Reserved),
            ("64:ff9b:1::1", Private),
        ] {
            assert_eq!(verdict(ip), Err(why), "{ip}");
        }
    }

    #[test]
    fn ipv6_forms_of_ipv4_addresses_are_judged_by_the_ipv4_address() {
        use NonPublic::*;
        for (ip, why) in [
            ("::ffff:127.0.0.1", Loopback),
            ("::ffff:169.254.169.254", LinkLocal),
            ("::ffff:10.1.2.3", Private),
            ("::ffff:100.64.1.1", SharedCgnat),
            ("::ffff:0.0.0.0", Unspecified),
            ("::127.0.0.1", Loopback),
            ("::169.254.169.254", LinkLocal),
            ("64:ff9b::a9fe:a9fe", LinkLocal),
            ("64:ff9b::7f00:1", Loopback),
            ("2002:a9fe:a9fe::1", LinkLocal),
            ("2002:0a00:0001::1", Private),
            ("2002:7f00:0001::", Loopback),
        ] {
            assert_eq!(verdict(ip), Err(why), "{ip}");
        }
    }

    #[test]
    fn a_name_is_refused_whole_if_any_of_its_addresses_is_not_public() {
        let public: IpAddr = "8.8.8.8".parse().unwrap();
        let metadata: IpAddr = "169.254.169.254".parse().unwrap();
        assert_eq!(all_public(&[public]), Ok(()));
        assert_eq!(all_public(&[public, metadata]), Err(NonPublic::LinkLocal));
        assert_eq!(all_public(&[]), Err(NonPublic::Unspecified));
    }
}
