//! Reply attributes for an Access-Accept: the dictionary that turns an attribute named in the
//! directory (`Filter-Id` = `staff`) into its RADIUS type and encoding — the RFC attributes of
//! the `radius` crate's dictionaries and the common vendor-specific ones of FreeRADIUS's — and
//! the one rule that combines a client's attributes with those of the user's groups.
//!
//! **The rule.** The groups are the user's groups (transitively) that are bound to the client,
//! ordered by name, case-insensitively (ties by id). For each attribute name, the first group in
//! that order that sets it wins, with all of its values for that name; a VLAN set on a group
//! stands for its three attributes Tunnel-Type = VLAN, Tunnel-Medium-Type = IEEE-802 and
//! Tunnel-Private-Group-Id = the VLAN (so the VLAN of the group with the lowest name wins). The
//! client's own reply attributes are sent for the names no group sets. The same user through the
//! same client always gets the same reply, whatever order memberships were made in.
//!
//! It must not read the directory or decide who may log in.

use crate::packet::Reply;
use radius::core::{rfc2865, rfc2868, rfc2869, rfc3580, rfc4675, rfc4849};
use std::net::Ipv4Addr;
use tessera_directory::model::{Group, ReplyAttribute};

/// Vendor-Specific (RFC 2865 §5.26).
const VENDOR_SPECIFIC: u8 = rfc2865::VENDOR_SPECIFIC_TYPE;

/// How a value is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Text as UTF-8 octets.
    Text,
    /// A 32-bit integer (decimal, or one of the named values).
    Integer(&'static [(&'static str, u32)]),
    /// A 24-bit integer after a tag octet (RFC 2868 tunnel attributes; the tag is 0).
    Tagged(&'static [(&'static str, u32)]),
    /// An IPv4 address.
    Ipv4,
}

/// Where an attribute goes: a standard type, or a vendor's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    Standard(u8),
    Vendor(u32, u8),
}

const SERVICE_TYPES: &[(&str, u32)] = &[
    ("Login-User", 1),
    ("Framed-User", 2),
    ("Callback-Login-User", 3),
    ("Callback-Framed-User", 4),
    ("Outbound-User", 5),
    ("Administrative-User", 6),
    ("NAS-Prompt-User", 7),
    ("Authenticate-Only", 8),
];
const TERMINATION_ACTIONS: &[(&str, u32)] = &[("Default", 0), ("RADIUS-Request", 1)];
const TUNNEL_TYPES: &[(&str, u32)] = &[
    ("PPTP", 1),
    ("L2TP", 3),
    ("GRE", 10),
    ("VLAN", rfc3580::TUNNEL_TYPE_VLAN),
];
const TUNNEL_MEDIUM_TYPES: &[(&str, u32)] = &[
    ("IPv4", 1),
    ("IPv6", 2),
    ("IEEE-802", rfc2868::TUNNEL_MEDIUM_TYPE_IEEE_802),
];

/// The attributes a reply may carry, by their dictionary names.
const DICTIONARY: &[(&str, Slot, Kind)] = &[
    (
        "Service-Type",
        Slot::Standard(rfc2865::SERVICE_TYPE_TYPE),
        Kind::Integer(SERVICE_TYPES),
    ),
    (
        "Framed-IP-Address",
        Slot::Standard(rfc2865::FRAMED_IP_ADDRESS_TYPE),
        Kind::Ipv4,
    ),
    (
        "Framed-IP-Netmask",
        Slot::Standard(rfc2865::FRAMED_IP_NETMASK_TYPE),
        Kind::Ipv4,
    ),
    (
        "Filter-Id",
        Slot::Standard(rfc2865::FILTER_ID_TYPE),
        Kind::Text,
    ),
    (
        "Framed-MTU",
        Slot::Standard(rfc2865::FRAMED_MTU_TYPE),
        Kind::Integer(&[]),
    ),
    (
        "Reply-Message",
        Slot::Standard(rfc2865::REPLY_MESSAGE_TYPE),
        Kind::Text,
    ),
    (
        "Framed-Route",
        Slot::Standard(rfc2865::FRAMED_ROUTE_TYPE),
        Kind::Text,
    ),
    ("Class", Slot::Standard(rfc2865::CLASS_TYPE), Kind::Text),
    (
        "Session-Timeout",
        Slot::Standard(rfc2865::SESSION_TIMEOUT_TYPE),
        Kind::Integer(&[]),
    ),
    (
        "Idle-Timeout",
        Slot::Standard(rfc2865::IDLE_TIMEOUT_TYPE),
        Kind::Integer(&[]),
    ),
    (
        "Termination-Action",
        Slot::Standard(rfc2865::TERMINATION_ACTION_TYPE),
        Kind::Integer(TERMINATION_ACTIONS),
    ),
    (
        "Port-Limit",
        Slot::Standard(rfc2865::PORT_LIMIT_TYPE),
        Kind::Integer(&[]),
    ),
    (
        "Tunnel-Type",
        Slot::Standard(rfc2868::TUNNEL_TYPE_TYPE),
        Kind::Tagged(TUNNEL_TYPES),
    ),
    (
        "Tunnel-Medium-Type",
        Slot::Standard(rfc2868::TUNNEL_MEDIUM_TYPE_TYPE),
        Kind::Tagged(TUNNEL_MEDIUM_TYPES),
    ),
    (
        "Tunnel-Private-Group-Id",
        Slot::Standard(rfc2868::TUNNEL_PRIVATE_GROUP_ID_TYPE),
        Kind::Text,
    ),
    (
        "Acct-Interim-Interval",
        Slot::Standard(rfc2869::ACCT_INTERIM_INTERVAL_TYPE),
        Kind::Integer(&[]),
    ),
    (
        "Framed-Pool",
        Slot::Standard(rfc2869::FRAMED_POOL_TYPE),
        Kind::Text,
    ),
    (
        "Egress-VLAN-Name",
        Slot::Standard(rfc4675::EGRESS_VLAN_NAME_TYPE),
        Kind::Text,
    ),
    (
        "NAS-Filter-Rule",
        Slot::Standard(rfc4849::NAS_FILTER_RULE_TYPE),
        Kind::Text,
    ),
    // Vendor-specific attributes, as FreeRADIUS's dictionaries number them.
    ("Cisco-AVPair", Slot::Vendor(9, 1), Kind::Text),
    ("Juniper-Local-User-Name", Slot::Vendor(2636, 1), Kind::Text),
    ("Fortinet-Group-Name", Slot::Vendor(12356, 1), Kind::Text),
    ("Aruba-User-Role", Slot::Vendor(14823, 1), Kind::Text),
    ("Mikrotik-Rate-Limit", Slot::Vendor(14988, 8), Kind::Text),
    ("Ruckus-User-Groups", Slot::Vendor(25053, 1), Kind::Text),
];

/// Why an attribute cannot be sent (it is left out and logged).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Unusable {
    /// Not in the dictionary.
    UnknownName(String),
    /// The value does not fit the attribute.
    BadValue(String),
}

/// The encoded attribute: its type and value octets.
pub(crate) type Encoded = (u8, Vec<u8>);

/// Looks a name up: the dictionary's spelling, case-insensitively, or
/// `Vendor-Specific:<vendor id>:<vendor type>` (text value) for any other vendor's attribute.
fn lookup(name: &str) -> Option<(Slot, Kind)> {
    if let Some(rest) = name.strip_prefix("Vendor-Specific:") {
        let (v, t) = rest.split_once(':')?;
        return Some((Slot::Vendor(v.parse().ok()?, t.parse().ok()?), Kind::Text));
    }
    DICTIONARY
        .iter()
        .find(|(n, _, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, s, k)| (*s, *k))
}

/// Encodes one attribute.
pub(crate) fn encode(a: &ReplyAttribute) -> Result<Encoded, Unusable> {
    let (slot, kind) = lookup(&a.name).ok_or_else(|| Unusable::UnknownName(a.name.clone()))?;
    let bad = || Unusable::BadValue(format!("{} = {:?}", a.name, a.value));
    let number = |named: &[(&str, u32)]| -> Result<u32, Unusable> {
        named
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(&a.value))
            .map(|(_, v)| *v)
            .map_or_else(|| a.value.trim().parse::<u32>().map_err(|_| bad()), Ok)
    };
    let value: Vec<u8> = match kind {
        Kind::Text => a.value.as_bytes().to_vec(),
        Kind::Integer(named) => number(named)?.to_be_bytes().to_vec(),
        Kind::Tagged(named) => {
            let n = number(named)?;
            if n > 0x00ff_ffff {
                return Err(bad());
            }
            n.to_be_bytes().to_vec() // the first octet, the tag, is 0
        }
        Kind::Ipv4 => a
            .value
            .trim()
            .parse::<Ipv4Addr>()
            .map_err(|_| bad())?
            .octets()
            .to_vec(),
    };
    match slot {
        Slot::Standard(t) => {
            if value.is_empty() || value.len() > 253 {
                return Err(bad());
            }
            Ok((t, value))
        }
        Slot::Vendor(vendor, vtype) => {
            if value.is_empty() {
                return Err(bad());
            }
            vendor_specific(vendor, vtype, &value).ok_or_else(bad)
        }
    }
}

/// A Vendor-Specific attribute (RFC 2865 §5.26) holding one vendor attribute; `None` when the
/// value is longer than the 247 octets that fit.
pub(crate) fn vendor_specific(vendor: u32, vtype: u8, value: &[u8]) -> Option<Encoded> {
    let len = u8::try_from(value.len() + 2).ok().filter(|l| *l <= 249)?;
    let mut v = vendor.to_be_bytes().to_vec();
    v.push(vtype);
    v.push(len);
    v.extend_from_slice(value);
    Some((VENDOR_SPECIFIC, v))
}

/// The attributes a group's VLAN stands for.
fn vlan_attributes(vlan: u16) -> [ReplyAttribute; 3] {
    let a = |name: &str, value: String| ReplyAttribute {
        name: name.into(),
        value,
    };
    [
        a("Tunnel-Type", "VLAN".into()),
        a("Tunnel-Medium-Type", "IEEE-802".into()),
        a("Tunnel-Private-Group-Id", vlan.to_string()),
    ]
}

/// The reply attributes by the rule in the module docs: `groups` must come in the core's order
/// (by name, case-insensitively). Attributes that cannot be encoded are left out and returned
/// beside.
pub(crate) fn combine(
    client: &[ReplyAttribute],
    groups: &[Group],
) -> (Vec<Encoded>, Vec<Unusable>) {
    let mut chosen: Vec<ReplyAttribute> = Vec::new();
    let mut claimed: Vec<String> = Vec::new();
    for g in groups {
        let r = &g.attributes.radius;
        let own: Vec<ReplyAttribute> = r
            .vlan
            .map(vlan_attributes)
            .into_iter()
            .flatten()
            .chain(r.reply.iter().cloned())
            .collect();
        let mut names: Vec<String> = Vec::new();
        for a in own {
            let n = a.name.to_ascii_lowercase();
            if claimed.contains(&n) {
                continue;
            }
            if !names.contains(&n) {
                names.push(n);
            }
            chosen.push(a);
        }
        claimed.extend(names);
    }
    for a in client {
        if !claimed.contains(&a.name.to_ascii_lowercase()) {
            chosen.push(a.clone());
        }
    }
    let mut out = Vec::with_capacity(chosen.len());
    let mut unusable = Vec::new();
    for a in &chosen {
        match encode(a) {
            Ok(e) => out.push(e),
            Err(u) => unusable.push(u),
        }
    }
    (out, unusable)
}

/// Adds encoded attributes to a reply.
pub(crate) fn add_all(reply: &mut Reply, attrs: &[Encoded]) {
    for (t, v) in attrs {
        reply.add(*t, v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_directory::model::{GroupAttributes, RadiusAttributes};

    fn attr(name: &str, value: &str) -> ReplyAttribute {
        ReplyAttribute {
            name: name.into(),
            value: value.into(),
        }
    }

    fn group(name: &str, vlan: Option<u16>, reply: Vec<ReplyAttribute>) -> Group {
        Group {
            id: "00000000-0000-4000-8000-000000000001".parse().unwrap(),
            tenant: "00000000-0000-4000-8000-000000000002".parse().unwrap(),
            name: name.into(),
            description: None,
            gid_number: 10_000,
            attributes: GroupAttributes {
                radius: RadiusAttributes { vlan, reply },
            },
            created_at: tessera_directory::policy::Timestamp(0),
            updated_at: tessera_directory::policy::Timestamp(0),
        }
    }

    #[test]
    fn dictionary_encodings() {
        assert_eq!(
            encode(&attr("Filter-Id", "staff")),
            Ok((11, b"staff".to_vec()))
        );
        assert_eq!(
            encode(&attr("session-timeout", "3600")),
            Ok((27, vec![0, 0, 14, 16]))
        );
        assert_eq!(
            encode(&attr("Service-Type", "Framed-User")),
            Ok((6, vec![0, 0, 0, 2]))
        );
        assert_eq!(
            encode(&attr("Tunnel-Type", "VLAN")),
            Ok((64, vec![0, 0, 0, 13]))
        );
        assert_eq!(
            encode(&attr("Tunnel-Medium-Type", "IEEE-802")),
            Ok((65, vec![0, 0, 0, 6]))
        );
        assert_eq!(
            encode(&attr("Framed-IP-Address", "10.1.2.3")),
            Ok((8, vec![10, 1, 2, 3]))
        );
        assert_eq!(
            encode(&attr("Aruba-User-Role", "staff")),
            Ok((
                26,
                vec![0, 0, 0x39, 0xe7, 1, 7, b's', b't', b'a', b'f', b'f']
            ))
        );
        assert_eq!(
            encode(&attr("Vendor-Specific:9:1", "shell:priv-lvl=15"))
                .map(|(t, v)| (t, v[..6].to_vec())),
            Ok((26, vec![0, 0, 0, 9, 1, 19]))
        );
        assert!(matches!(
            encode(&attr("No-Such-Thing", "x")),
            Err(Unusable::UnknownName(_))
        ));
        assert!(matches!(
            encode(&attr("Session-Timeout", "soon")),
            Err(Unusable::BadValue(_))
        ));
        assert!(matches!(
            encode(&attr("Framed-IP-Address", "::1")),
            Err(Unusable::BadValue(_))
        ));
    }

    #[test]
    fn the_lowest_named_group_wins_and_the_client_fills_the_rest() {
        let client = [attr("Session-Timeout", "600"), attr("Filter-Id", "default")];
        // The core orders groups by folded name: "Guests" before "wifi".
        let groups = [
            group("Guests", Some(7), vec![attr("Filter-Id", "guests")]),
            group(
                "wifi",
                Some(42),
                vec![attr("Filter-Id", "wifi"), attr("Class", "wifi-users")],
            ),
        ];
        let (out, bad) = combine(&client, &groups);
        assert!(bad.is_empty());
        assert_eq!(
            out,
            vec![
                (64, vec![0, 0, 0, 13]),
                (65, vec![0, 0, 0, 6]),
                (81, b"7".to_vec()),
                (11, b"guests".to_vec()),
                (25, b"wifi-users".to_vec()),
                (27, vec![0, 0, 2, 88]),
            ]
        );
        // A group's several values for one name all go; a later group's do not.
        let groups = [
            group(
                "a",
                None,
                vec![attr("Cisco-AVPair", "x=1"), attr("Cisco-AVPair", "y=2")],
            ),
            group("b", None, vec![attr("Cisco-AVPair", "z=3")]),
        ];
        let (out, _) = combine(&[], &groups);
        assert_eq!(out.len(), 2);
        // Unknown names are left out and reported.
        let (out, bad) = combine(&[attr("Bogus", "1")], &[]);
        assert!(out.is_empty());
        assert_eq!(bad, vec![Unusable::UnknownName("Bogus".into())]);
    }
}
