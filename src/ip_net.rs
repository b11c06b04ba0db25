//! Address ranges, shared by the IP restrictions and the trusted proxies.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// An address range: an address and a prefix length.
///
/// A v4-mapped IPv6 range (`::ffff:10.0.0.0/104`, or `::ffff:10.0.0.0` with the
/// subnet mask `255.0.0.0`) is kept as the IPv4 range it stands for, so it matches
/// an IPv4 client; an IPv4 range matches a v4-mapped IPv6 client
/// (`::ffff:10.1.2.3`); an IPv6 range matches an IPv4 client through its mapped
/// form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Net {
    addr: IpAddr,
    prefix: u8,
}

impl Net {
    /// `10.0.0.0/8`, `10.0.0.0/255.0.0.0`, `2001:db8::/32`, `::1`,
    /// `::ffff:10.0.0.0/104`, `::ffff:10.0.0.0/255.0.0.0`.
    pub(crate) fn parse(s: &str) -> Option<Self> {
        let (addr, mask) = match s.split_once('/') {
            Some((a, m)) => (a, Some(m)),
            None => (s, None),
        };
        let addr: IpAddr = addr.trim().parse().ok()?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match mask.map(str::trim) {
            None => max,
            Some(m) if !m.is_empty() && m.bytes().all(|b| b.is_ascii_digit()) => m.parse().ok()?,
            // IIS's `subnetMask` form: 255.255.0.0, contiguous; for an IPv4 address
            // or a v4-mapped one.
            Some(m) if unmap(addr).is_ipv4() => {
                let mask = u32::from(m.parse::<Ipv4Addr>().ok()?);
                let prefix = mask.leading_ones();
                if mask.checked_shl(prefix).unwrap_or(0) != 0 {
                    return None;
                }
                let prefix = u8::try_from(prefix).ok()?;
                if addr.is_ipv4() {
                    prefix
                } else {
                    prefix + 96
                }
            }
            Some(_) => return None,
        };
        if prefix > max {
            return None;
        }
        Some(match addr {
            IpAddr::V6(v6) if prefix >= 96 => match v6.to_ipv4_mapped() {
                Some(v4) => Self {
                    addr: IpAddr::V4(v4),
                    prefix: prefix - 96,
                },
                None => Self { addr, prefix },
            },
            _ => Self { addr, prefix },
        })
    }

    /// Whether `ip` is in the range (IPv4 and v4-mapped IPv6 are one address).
    pub(crate) fn contains(&self, ip: IpAddr) -> bool {
        match self.addr {
            IpAddr::V4(net) => match unmap(ip) {
                IpAddr::V4(ip) => {
                    let mask = u32::MAX
                        .checked_shl(32 - u32::from(self.prefix))
                        .unwrap_or(0);
                    u32::from(net) & mask == u32::from(ip) & mask
                }
                IpAddr::V6(_) => false,
            },
            IpAddr::V6(net) => {
                let ip: Ipv6Addr = match ip {
                    IpAddr::V4(v4) => v4.to_ipv6_mapped(),
                    IpAddr::V6(v6) => v6,
                };
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
        }
    }
}

/// `::ffff:a.b.c.d` is `a.b.c.d`.
pub(crate) fn unmap(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        let net = |s| Net::parse(s).unwrap_or_else(|| panic!("{s} parses"));
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert!(net("10.0.0.0/8").contains(ip("10.255.1.2")));
        assert!(!net("10.0.0.0/8").contains(ip("11.0.0.1")));
        assert!(net("10.0.0.0/255.0.0.0").contains(ip("10.9.9.9")));
        assert!(net("0.0.0.0/0").contains(ip("8.8.8.8")));
        assert!(!net("0.0.0.0/0").contains(ip("::2")));
        assert!(net("::/0").contains(ip("fe80::1")));
        assert!(net("192.168.1.7").contains(ip("192.168.1.7")));
        assert!(!net("192.168.1.7").contains(ip("192.168.1.8")));
        assert!(net("10.0.0.0/8").contains(ip("::ffff:10.1.1.1")));
        assert!(net("2001:db8::/32").contains(ip("2001:db8:ffff::1")));
        assert!(!net("2001:db8::/32").contains(ip("2001:db9::1")));
        assert!(net("::1").contains(ip("::1")));
        assert!(net("10.1.2.3/32").contains(ip("10.1.2.3")));
        for bad in [
            "",
            "10.0.0.0/33",
            "::/129",
            "10.0.0.0/255.0.255.0",
            "host",
            "10.0.0.0/",
            "::1/255.0.0.0",
            "::ffff:10.0.0.0/255.0.255.0",
        ] {
            assert!(Net::parse(bad).is_none(), "{bad}");
        }
    }

    /// IPv4 and v4-mapped IPv6, on either side.
    #[test]
    fn v4_mapped_table() {
        // (rule, client, matches)
        let table = [
            ("::ffff:127.0.0.1", "127.0.0.1", true),
            ("::ffff:127.0.0.1", "::ffff:127.0.0.1", true),
            ("::ffff:127.0.0.1", "127.0.0.2", false),
            ("127.0.0.1", "::ffff:127.0.0.1", true),
            ("127.0.0.1", "127.0.0.1", true),
            ("127.0.0.1", "::1", false),
            ("::ffff:10.0.0.0/104", "10.200.3.4", true),
            ("::ffff:10.0.0.0/104", "11.0.0.1", false),
            ("::ffff:10.0.0.0/255.0.0.0", "10.200.3.4", true),
            ("::ffff:10.0.0.0/255.0.0.0", "::ffff:10.200.3.4", true),
            ("::ffff:10.0.0.0/255.0.0.0", "11.0.0.1", false),
            ("10.0.0.0/8", "::ffff:10.1.1.1", true),
            ("10.0.0.0/255.0.0.0", "::ffff:10.1.1.1", true),
            ("10.0.0.0/8", "::ffff:11.1.1.1", false),
            // A v6 range wider than the mapped block still covers mapped clients.
            ("::ffff:0:0/96", "192.0.2.1", true),
            ("::/64", "192.0.2.1", true),
            ("::/96", "192.0.2.1", false),
            ("2001:db8::/32", "192.0.2.1", false),
            ("::/0", "192.0.2.1", true),
            ("::ffff:0.0.0.0/80", "198.51.100.7", true),
            // The IPv4-compatible (deprecated) form is not the mapped one.
            ("::127.0.0.1", "127.0.0.1", false),
            ("2001:db8::/32", "2001:db8:ffff::1", true),
            ("2001:db8::/32", "2001:db9::1", false),
        ];
        for (rule, client, expected) in table {
            let net = Net::parse(rule).unwrap_or_else(|| panic!("{rule} parses"));
            let ip: IpAddr = client.parse().unwrap();
            assert_eq!(net.contains(ip), expected, "{rule} ∋ {client}");
        }
    }
}
