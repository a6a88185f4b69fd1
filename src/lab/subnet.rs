//! The lab's IPv4 subnet and the fixed host numbers inside it.

use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

/// Host number of the root namespace's veth (the controller).
pub const CONTROLLER_HOST: u32 = 1;
/// Host number of the client namespace.
pub const CLIENT_HOST: u32 = 5;
/// Node N (1-based) gets host number NODE_HOST_BASE + N: .11, .12, ...
pub const NODE_HOST_BASE: u32 = 10;
/// Host number of the virtual IP the failover playbooks move between nodes:
/// the last usable address of a /24 (.255 is its broadcast address), so the
/// nodes between .11 and .253 never meet it.
pub const VIP_HOST: u32 = 254;
/// Nodes must stay below the VIP: .11 to .253, 243 nodes.
pub const MAX_NODES: u32 = VIP_HOST - NODE_HOST_BASE - 1;
// Issue 14: a lab of 100 nodes at least.
const _: () = assert!(MAX_NODES >= 100, "the lab must hold 100 nodes");

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Subnet {
    network: u32,
    prefix_len: u8,
}

impl Subnet {
    pub fn prefix_len(&self) -> u8 {
        self.prefix_len
    }

    fn mask(prefix_len: u8) -> u32 {
        if prefix_len == 0 {
            0
        } else {
            u32::MAX << (32 - u32::from(prefix_len))
        }
    }

    /// The address with host number `host` in this subnet.
    pub fn host(&self, host: u32) -> Ipv4Addr {
        Ipv4Addr::from(self.network | host)
    }

    pub fn controller(&self) -> Ipv4Addr {
        self.host(CONTROLLER_HOST)
    }

    pub fn client(&self) -> Ipv4Addr {
        self.host(CLIENT_HOST)
    }

    pub fn node(&self, index: u32) -> Ipv4Addr {
        self.host(NODE_HOST_BASE + index)
    }

    pub fn vip(&self) -> Ipv4Addr {
        self.host(VIP_HOST)
    }

    /// Whether two networks share any address.
    pub fn overlaps(&self, other: &Subnet) -> bool {
        let shorter = self.prefix_len.min(other.prefix_len);
        let mask = Self::mask(shorter);
        self.network & mask == other.network & mask
    }

    /// RFC 1918 space only, so a lab can never shadow a real network's route.
    pub fn is_private(&self) -> bool {
        [
            (Ipv4Addr::new(10, 0, 0, 0), 8),
            (Ipv4Addr::new(172, 16, 0, 0), 12),
            (Ipv4Addr::new(192, 168, 0, 0), 16),
        ]
        .into_iter()
        .any(|(net, prefix_len)| {
            let private = Subnet {
                network: u32::from(net),
                prefix_len,
            };
            self.prefix_len >= private.prefix_len && private.overlaps(self)
        })
    }

    /// Parse `a.b.c.d/len` or a bare address (a /32), as `ip` prints route destinations.
    pub fn parse_loose(text: &str) -> Option<Subnet> {
        let (addr, len) = match text.split_once('/') {
            Some((a, l)) => (a, l.parse::<u8>().ok()?),
            None => (text, 32),
        };
        if len > 32 {
            return None;
        }
        let addr = Ipv4Addr::from_str(addr).ok()?;
        Some(Subnet {
            network: u32::from(addr) & Self::mask(len),
            prefix_len: len,
        })
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SubnetError {
    #[error("`{0}` is not an IPv4 subnet like 10.77.0.0/24")]
    Syntax(String),
    #[error("`{given}` has host bits set; did you mean {network}?")]
    HostBits { given: String, network: String },
    #[error("`{0}` is too small: the lab needs host numbers up to .{VIP_HOST} (use /24 or larger, e.g. 10.77.0.0/24)")]
    TooSmall(String),
    #[error("`{0}` is not private address space (10/8, 172.16/12, 192.168/16); the lab would shadow a real network")]
    NotPrivate(String),
}

impl FromStr for Subnet {
    type Err = SubnetError;

    fn from_str(text: &str) -> Result<Subnet, SubnetError> {
        let syntax = || SubnetError::Syntax(text.to_string());
        let (addr, len) = text.trim().split_once('/').ok_or_else(syntax)?;
        let addr = Ipv4Addr::from_str(addr).map_err(|_| syntax())?;
        let prefix_len: u8 = len.parse().map_err(|_| syntax())?;
        if prefix_len > 32 {
            return Err(syntax());
        }
        let network = u32::from(addr) & Self::mask(prefix_len);
        let subnet = Subnet {
            network,
            prefix_len,
        };
        if network != u32::from(addr) {
            return Err(SubnetError::HostBits {
                given: text.to_string(),
                network: subnet.to_string(),
            });
        }
        // The VIP must not be the broadcast address either.
        let host_count = 1u64 << (32 - u32::from(prefix_len));
        if host_count <= u64::from(VIP_HOST) + 1 {
            return Err(SubnetError::TooSmall(text.to_string()));
        }
        if !subnet.is_private() {
            return Err(SubnetError::NotPrivate(text.to_string()));
        }
        Ok(subnet)
    }
}

impl fmt::Display for Subnet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", Ipv4Addr::from(self.network), self.prefix_len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lab_addresses_follow_the_fixed_host_numbers() {
        let s: Subnet = "10.77.0.0/24".parse().unwrap();
        assert_eq!(s.controller().to_string(), "10.77.0.1");
        assert_eq!(s.client().to_string(), "10.77.0.5");
        assert_eq!(s.node(1).to_string(), "10.77.0.11");
        assert_eq!(s.node(2).to_string(), "10.77.0.12");
        assert_eq!(s.vip().to_string(), "10.77.0.254");
        assert_eq!(s.to_string(), "10.77.0.0/24");
        assert_eq!(s.prefix_len(), 24);
        let wide: Subnet = "172.20.0.0/16".parse().unwrap();
        assert_eq!(wide.node(3).to_string(), "172.20.0.13");
    }

    #[test]
    fn bad_subnets_are_refused_with_a_reason() {
        assert!(matches!(
            "10.77.0.0".parse::<Subnet>(),
            Err(SubnetError::Syntax(_))
        ));
        assert!(matches!(
            "10.77.0.0/33".parse::<Subnet>(),
            Err(SubnetError::Syntax(_))
        ));
        assert!(matches!(
            "10.777.0.0/24".parse::<Subnet>(),
            Err(SubnetError::Syntax(_))
        ));
        assert_eq!(
            "10.77.0.5/24".parse::<Subnet>(),
            Err(SubnetError::HostBits {
                given: "10.77.0.5/24".into(),
                network: "10.77.0.0/24".into()
            })
        );
        for small in ["10.77.0.0/26", "10.77.0.0/25"] {
            assert!(
                matches!(small.parse::<Subnet>(), Err(SubnetError::TooSmall(_))),
                "{small}"
            );
        }
        assert!("10.77.0.0/24".parse::<Subnet>().is_ok());
        assert!(matches!(
            "8.8.8.0/24".parse::<Subnet>(),
            Err(SubnetError::NotPrivate(_))
        ));
        assert!(matches!(
            "172.32.0.0/24".parse::<Subnet>(),
            Err(SubnetError::NotPrivate(_))
        ));
        assert!(matches!(
            "0.0.0.0/0".parse::<Subnet>(),
            Err(SubnetError::NotPrivate(_))
        ));
        assert!("192.168.5.0/24".parse::<Subnet>().is_ok());
    }

    #[test]
    fn a_hundred_nodes_and_more_fit_below_the_vip() {
        let s: Subnet = "10.83.0.0/24".parse().unwrap();
        assert_eq!(s.node(89).to_string(), "10.83.0.99");
        // Node 90 sat on the old VIP (.100); now it is a node like any other.
        assert_eq!(s.node(90).to_string(), "10.83.0.100");
        assert_eq!(s.node(100).to_string(), "10.83.0.110");
        assert_eq!(s.node(MAX_NODES).to_string(), "10.83.0.253");
        assert_eq!(s.vip().to_string(), "10.83.0.254");
        let fixed = [s.controller(), s.client(), s.vip()];
        let nodes: Vec<_> = (1..=MAX_NODES).map(|i| s.node(i)).collect();
        for (i, a) in nodes.iter().enumerate() {
            assert!(
                !fixed.contains(a),
                "node {} takes a fixed address {a}",
                i + 1
            );
            // Not the network's nor its broadcast address.
            assert!(!a.to_string().ends_with(".0") && !a.to_string().ends_with(".255"));
        }
        let mut unique = nodes.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), nodes.len());
        // A wider subnet keeps the same host numbers.
        let wide: Subnet = "10.84.0.0/16".parse().unwrap();
        assert_eq!(wide.node(100).to_string(), "10.84.0.110");
        assert_eq!(wide.vip().to_string(), "10.84.0.254");
    }

    #[test]
    fn overlap_is_symmetric_and_exact() {
        let lab: Subnet = "10.77.0.0/24".parse().unwrap();
        let wide = Subnet::parse_loose("10.0.0.0/8").unwrap();
        let next = Subnet::parse_loose("10.77.1.0/24").unwrap();
        let inside = Subnet::parse_loose("10.77.0.200").unwrap();
        assert!(lab.overlaps(&wide) && wide.overlaps(&lab));
        assert!(!lab.overlaps(&next) && !next.overlaps(&lab));
        assert!(lab.overlaps(&inside));
        assert_eq!(Subnet::parse_loose("default"), None);
    }
}
