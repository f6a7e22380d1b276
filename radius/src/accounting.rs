//! Accounting-Request → the core's accounting report (RFC 2866, with the gigaword counters of
//! RFC 2869): which kind of report it is and what it says of the session. It reads attributes;
//! verifying the packet is `client`'s and `packet`'s, keeping sessions the core's.

use crate::packet::Request;
use radius::core::{rfc2865, rfc2866, rfc2869, rfc3162};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use tessera_directory::model::{AccountingReport, AccountingStatus};

/// What an Accounting-Request's Acct-Status-Type asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A report to record.
    Record(AccountingStatus),
    /// A type recorded nowhere (e.g. Failed): acknowledged, nothing kept.
    Other(u32),
}

/// The kind of report; `None` without an Acct-Status-Type (the request is dropped).
pub(crate) fn kind(req: &Request) -> Option<Kind> {
    let t = req.integer(rfc2866::ACCT_STATUS_TYPE_TYPE)?;
    Some(match t {
        1 => Kind::Record(AccountingStatus::Start),
        2 => Kind::Record(AccountingStatus::Stop),
        3 => Kind::Record(AccountingStatus::Interim),
        7 => Kind::Record(AccountingStatus::AccountingOn),
        8 => Kind::Record(AccountingStatus::AccountingOff),
        other => Kind::Other(other),
    })
}

fn text(req: &Request, typ: u8) -> Option<String> {
    req.first(typ)
        .map(|v| String::from_utf8_lossy(v).into_owned())
}

fn octets(req: &Request, low: u8, giga: u8) -> Option<u64> {
    let low = req.integer(low)?;
    let high = req.integer(giga).unwrap_or(0);
    Some((u64::from(high) << 32) | u64::from(low))
}

/// What the request says of its session.
pub(crate) fn report(req: &Request) -> AccountingReport {
    let v4 = |typ| {
        req.first(typ)
            .and_then(|v| <[u8; 4]>::try_from(v).ok())
            .map(|o| IpAddr::V4(Ipv4Addr::from(o)))
    };
    let v6 = req
        .first(rfc3162::NAS_IPV6_ADDRESS_TYPE)
        .and_then(|v| <[u8; 16]>::try_from(v).ok())
        .map(|o| IpAddr::V6(Ipv6Addr::from(o)));
    AccountingReport {
        session_id: text(req, rfc2866::ACCT_SESSION_ID_TYPE).unwrap_or_default(),
        username: text(req, rfc2865::USER_NAME_TYPE),
        nas_address: v4(rfc2865::NAS_IP_ADDRESS_TYPE).or(v6),
        nas_identifier: text(req, rfc2865::NAS_IDENTIFIER_TYPE),
        nas_port: req.integer(rfc2865::NAS_PORT_TYPE),
        framed_address: v4(rfc2865::FRAMED_IP_ADDRESS_TYPE),
        calling_station: text(req, rfc2865::CALLING_STATION_ID_TYPE),
        called_station: text(req, rfc2865::CALLED_STATION_ID_TYPE),
        session_time: req.integer(rfc2866::ACCT_SESSION_TIME_TYPE),
        input_octets: octets(
            req,
            rfc2866::ACCT_INPUT_OCTETS_TYPE,
            rfc2869::ACCT_INPUT_GIGAWORDS_TYPE,
        ),
        output_octets: octets(
            req,
            rfc2866::ACCT_OUTPUT_OCTETS_TYPE,
            rfc2869::ACCT_OUTPUT_GIGAWORDS_TYPE,
        ),
        terminate_cause: req.integer(rfc2866::ACCT_TERMINATE_CAUSE_TYPE),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::tests::access_request;

    #[test]
    fn a_stop_report_with_gigawords() {
        let attrs: &[(u8, &[u8])] = &[
            (40, &[0, 0, 0, 2]),
            (44, b"sess-1"),
            (1, b"alice"),
            (4, &[10, 0, 0, 1]),
            (42, &[0, 0, 0, 5]),
            (52, &[0, 0, 0, 1]),
            (46, &[0, 0, 0, 60]),
            (49, &[0, 0, 0, 1]),
        ];
        // The framing is the same as an Access-Request's; only the attributes matter here.
        let p = access_request(1, [0; 16], attrs, b"", false);
        let r = Request::parse(&p).unwrap();
        assert_eq!(kind(&r), Some(Kind::Record(AccountingStatus::Stop)));
        let rep = report(&r);
        assert_eq!(rep.session_id, "sess-1");
        assert_eq!(rep.username.as_deref(), Some("alice"));
        assert_eq!(rep.nas_address, Some("10.0.0.1".parse().unwrap()));
        assert_eq!(rep.input_octets, Some((1u64 << 32) + 5));
        assert_eq!(rep.session_time, Some(60));
        assert_eq!(rep.terminate_cause, Some(1));
        let none = access_request(1, [0; 16], &[(1, b"x")], b"", false);
        assert_eq!(kind(&Request::parse(&none).unwrap()), None);
    }
}
