//! CIDR helpers for templates, so charts never do IP arithmetic by hand.

use std::net::IpAddr;

use ipnet::IpNet;

use crate::network::nth_host;
use minijinja::{Error, ErrorKind};

fn bad(what: &str, input: &str) -> Error {
    Error::new(
        ErrorKind::InvalidOperation,
        format!("`{input}` is not a valid {what}"),
    )
}

pub fn parse_net(cidr: &str) -> Result<IpNet, Error> {
    cidr.parse::<IpNet>().map_err(|_| bad("CIDR", cidr))
}

/// An address or a network; an address is its own /32 or /128.
fn parse_net_or_addr(input: &str) -> Result<IpNet, Error> {
    if let Ok(net) = input.parse::<IpNet>() {
        return Ok(net);
    }
    input
        .parse::<IpAddr>()
        .map(IpNet::from)
        .map_err(|_| bad("IP address or CIDR", input))
}

pub fn cidr_contains(cidr: &str, inner: &str) -> Result<bool, Error> {
    let outer = parse_net(cidr)?;
    let inner = parse_net_or_addr(inner)?;
    Ok(outer.contains(&inner))
}

pub fn cidr_host(cidr: &str, n: i64) -> Result<String, Error> {
    let net = parse_net(cidr)?;
    let index = u128::try_from(n).map_err(|_| bad("host index", &n.to_string()))?;
    nth_host(&net, index)
        .map(|addr| addr.to_string())
        .ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidOperation,
                format!("host {n} is outside {cidr}"),
            )
        })
}

pub fn cidr_network(cidr: &str) -> Result<String, Error> {
    Ok(parse_net(cidr)?.network().to_string())
}

pub fn cidr_prefix(cidr: &str) -> Result<u8, Error> {
    Ok(parse_net(cidr)?.prefix_len())
}

pub fn ip_family(input: &str) -> Result<u8, Error> {
    Ok(match parse_net_or_addr(input)? {
        IpNet::V4(_) => 4,
        IpNet::V6(_) => 6,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contains_and_hosts() {
        assert!(cidr_contains("10.64.72.0/24", "10.64.72.3").unwrap());
        assert!(!cidr_contains("10.64.72.0/24", "10.64.73.3").unwrap());
        assert!(cidr_contains("10.67.128.0/18", "10.67.130.0/24").unwrap());
        assert_eq!(cidr_host("10.64.72.0/24", 3).unwrap(), "10.64.72.3");
        assert_eq!(
            cidr_host("2620:0:861:306::/116", 10).unwrap(),
            "2620:0:861:306::a"
        );
        assert!(cidr_host("10.0.0.0/30", 4).is_err());
        assert_eq!(cidr_network("10.64.72.9/24").unwrap(), "10.64.72.0");
        assert_eq!(cidr_prefix("2620:0:861:cabe::/64").unwrap(), 64);
        assert_eq!(ip_family("2620:0:861:cabe::1").unwrap(), 6);
        assert!(ip_family("nope").is_err());
    }
}
