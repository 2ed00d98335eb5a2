//! Kubernetes' IP and CIDR libraries: `ip()`, `cidr()` and their methods. As the API
//! server does, an IPv4-mapped IPv6 address and a zone are refused.

use std::net::IpAddr;

use ipnet::IpNet;

use super::eval::Fail;
use super::value::Value;

pub fn parse_ip(text: &str) -> Result<IpAddr, String> {
    if text.contains('%') {
        return Err(format!(
            "IP address with zone value is not allowed: {text:?}"
        ));
    }
    let ip: IpAddr = text
        .parse()
        .map_err(|_| format!("IP Address {text:?} parse error during conversion from string"))?;
    if let IpAddr::V6(v6) = ip
        && v6.to_ipv4_mapped().is_some()
    {
        return Err(format!("IPv4-mapped IPv6 address {text:?} is not allowed"));
    }
    Ok(ip)
}

/// `ip.isCanonical(s)`: `s` is written as the canonical form of its address.
pub fn is_canonical(text: &str) -> Result<bool, String> {
    Ok(parse_ip(text)?.to_string() == text)
}

pub fn parse_cidr(text: &str) -> Result<IpNet, String> {
    let (address, _) = text.split_once('/').ok_or_else(|| {
        format!("network address parse error during conversion from string: {text:?}")
    })?;
    parse_ip(address)?;
    text.parse()
        .map_err(|_| format!("network address parse error during conversion from string: {text:?}"))
}

/// An IP's methods; `None`: no such method.
pub(super) fn ip_method<'a>(name: &str, ip: &IpAddr) -> Option<Value<'a>> {
    Some(match name {
        "family" => Value::Int(if ip.is_ipv4() { 4 } else { 6 }),
        "isUnspecified" => Value::Bool(ip.is_unspecified()),
        "isLoopback" => Value::Bool(ip.is_loopback()),
        "isLinkLocalMulticast" => Value::Bool(match ip {
            IpAddr::V4(v4) => v4.octets()[..3] == [224, 0, 0],
            IpAddr::V6(v6) => v6.segments()[0] == 0xff02,
        }),
        "isLinkLocalUnicast" => Value::Bool(link_local_unicast(ip)),
        "isGlobalUnicast" => Value::Bool(match ip {
            // Go's net.IP.IsGlobalUnicast: private ranges count as global.
            IpAddr::V4(v4) => {
                !(v4.is_unspecified()
                    || v4.is_loopback()
                    || v4.is_multicast()
                    || v4.is_broadcast()
                    || link_local_unicast(ip))
            }
            IpAddr::V6(v6) => {
                !(v6.is_unspecified()
                    || v6.is_loopback()
                    || v6.is_multicast()
                    || link_local_unicast(ip))
            }
        }),
        _ => return None,
    })
}

fn link_local_unicast(ip: &IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_link_local(),
        IpAddr::V6(v6) => v6.segments()[0] & 0xffc0 == 0xfe80,
    }
}

/// A CIDR's methods. `Err(None)`: no such method or overload.
pub(super) fn cidr_method<'a>(
    name: &str,
    net: &IpNet,
    arg: Option<&Value<'a>>,
) -> Result<Value<'a>, Option<Fail>> {
    let fail = |m: String| Some(Fail::new(m));
    Ok(match name {
        "containsIP" => {
            let ip = match arg {
                Some(Value::Ip(ip)) => *ip,
                Some(Value::Str(s)) => parse_ip(s.as_str()).map_err(fail)?,
                _ => return Err(None),
            };
            Value::Bool(net.contains(&ip))
        }
        "containsCIDR" => {
            let other = match arg {
                Some(Value::Cidr(c)) => *c,
                Some(Value::Str(s)) => parse_cidr(s.as_str()).map_err(fail)?,
                _ => return Err(None),
            };
            Value::Bool(net.contains(&other.trunc()) && other.prefix_len() >= net.prefix_len())
        }
        "ip" => Value::Ip(net.addr()),
        "masked" => Value::Cidr(net.trunc()),
        "prefixLength" => Value::Int(net.prefix_len() as i64),
        _ => return Err(None),
    })
}
