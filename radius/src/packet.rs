//! The RADIUS wire for the server layer: a strict view of a received datagram (header, length,
//! attributes walked without trusting any length), the authenticators — Message-Authenticator
//! (HMAC-MD5, RFC 3579 §3.2), the Accounting-Request Request Authenticator (RFC 2866 §3) and the
//! Response Authenticator (RFC 2865 §3) — and the encoding of replies, whose first attribute is
//! always Message-Authenticator (BlastRADIUS). It must not decide what a packet means: that is
//! `handler`'s.

use hmac::{Hmac, KeyInit, Mac};
use md5::{Digest, Md5};
use subtle::ConstantTimeEq;

/// The fixed header: code, identifier, length, authenticator.
pub(crate) const HEADER: usize = 20;
/// The largest packet RFC 2865 allows.
pub(crate) const MAX_PACKET: usize = 4096;
/// Message-Authenticator (RFC 3579 / RFC 2869).
pub(crate) const MESSAGE_AUTHENTICATOR: u8 = 80;
/// Proxy-State (RFC 2865 §5.33).
pub(crate) const PROXY_STATE: u8 = 33;

/// Packet codes this server reads or writes.
pub(crate) mod code {
    pub(crate) const ACCESS_REQUEST: u8 = 1;
    pub(crate) const ACCESS_ACCEPT: u8 = 2;
    pub(crate) const ACCESS_REJECT: u8 = 3;
    pub(crate) const ACCOUNTING_REQUEST: u8 = 4;
    pub(crate) const ACCOUNTING_RESPONSE: u8 = 5;
    pub(crate) const ACCESS_CHALLENGE: u8 = 11;
    pub(crate) const STATUS_SERVER: u8 = 12;
}

/// Why a datagram is not a packet (it is dropped; the reason is counted).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Malformed {
    /// Shorter than the header.
    Short,
    /// The header's length is below 20, above 4096, or beyond the datagram.
    Length,
    /// An attribute's length is below 2 or runs past the packet.
    Attribute,
}

/// A received packet: its bytes up to the header's length (padding beyond it is ignored, as
/// RFC 2865 §3 says), with every attribute known to lie inside.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Request {
    bytes: Vec<u8>,
    /// (type, start of value, end of value) of each attribute, in order.
    attrs: Vec<(u8, usize, usize)>,
}

impl Request {
    /// Checks the framing of a datagram.
    pub(crate) fn parse(datagram: &[u8]) -> Result<Request, Malformed> {
        let header = datagram.get(..HEADER).ok_or(Malformed::Short)?;
        let len = usize::from(u16::from_be_bytes([
            header.get(2).copied().unwrap_or(0),
            header.get(3).copied().unwrap_or(0),
        ]));
        if !(HEADER..=MAX_PACKET).contains(&len) {
            return Err(Malformed::Length);
        }
        let bytes = datagram.get(..len).ok_or(Malformed::Length)?.to_vec();
        let mut attrs = Vec::new();
        let mut at = HEADER;
        while at < len {
            let typ = *bytes.get(at).ok_or(Malformed::Attribute)?;
            let alen = usize::from(*bytes.get(at + 1).ok_or(Malformed::Attribute)?);
            if alen < 2 || at + alen > len {
                return Err(Malformed::Attribute);
            }
            attrs.push((typ, at + 2, at + alen));
            at += alen;
        }
        Ok(Request { bytes, attrs })
    }

    /// The packet's code.
    pub(crate) fn code(&self) -> u8 {
        self.bytes.first().copied().unwrap_or(0)
    }

    /// The identifier.
    pub(crate) fn identifier(&self) -> u8 {
        self.bytes.get(1).copied().unwrap_or(0)
    }

    /// The Request Authenticator.
    pub(crate) fn authenticator(&self) -> [u8; 16] {
        let mut a = [0u8; 16];
        if let Some(s) = self.bytes.get(4..HEADER) {
            a.copy_from_slice(s);
        }
        a
    }

    /// Every attribute as (type, value), in order.
    pub(crate) fn attributes(&self) -> impl Iterator<Item = (u8, &[u8])> {
        self.attrs
            .iter()
            .filter_map(|(t, s, e)| self.bytes.get(*s..*e).map(|v| (*t, v)))
    }

    /// The first attribute of a type.
    pub(crate) fn first(&self, typ: u8) -> Option<&[u8]> {
        self.attributes().find(|(t, _)| *t == typ).map(|(_, v)| v)
    }

    /// Every attribute of a type, in order.
    pub(crate) fn all(&self, typ: u8) -> impl Iterator<Item = &[u8]> {
        self.attributes()
            .filter(move |(t, _)| *t == typ)
            .map(|(_, v)| v)
    }

    /// The first attribute of a type as UTF-8 text.
    pub(crate) fn text(&self, typ: u8) -> Option<&str> {
        self.first(typ).and_then(|v| std::str::from_utf8(v).ok())
    }

    /// The first attribute of a type as a 32-bit integer.
    pub(crate) fn integer(&self, typ: u8) -> Option<u32> {
        let v: [u8; 4] = self.first(typ)?.try_into().ok()?;
        Some(u32::from_be_bytes(v))
    }

    /// Whether the packet carries Message-Authenticator.
    pub(crate) fn has_message_authenticator(&self) -> bool {
        self.first(MESSAGE_AUTHENTICATOR).is_some()
    }

    /// Whether its Message-Authenticator verifies under `secret` (false when it has none or
    /// more than one, or one of the wrong size). Accounting-Requests compute it over a zeroed
    /// authenticator field (RFC 5080 §2.2.4 as FreeRADIUS does); others over the one sent.
    pub(crate) fn message_authenticator_ok(&self, secret: &[u8]) -> bool {
        let mut found = self
            .attrs
            .iter()
            .filter(|(t, _, _)| *t == MESSAGE_AUTHENTICATOR);
        let (Some(&(_, start, end)), None) = (found.next(), found.next()) else {
            return false;
        };
        if end - start != 16 {
            return false;
        }
        let Some(sent) = self.bytes.get(start..end) else {
            return false;
        };
        let mut copy = self.bytes.clone();
        if let Some(v) = copy.get_mut(start..end) {
            v.fill(0);
        }
        if self.code() == code::ACCOUNTING_REQUEST {
            if let Some(a) = copy.get_mut(4..HEADER) {
                a.fill(0);
            }
        }
        hmac_md5(secret, &copy).ct_eq(sent).into()
    }

    /// Whether an Accounting-Request's Request Authenticator is MD5(code, id, length, 16 zero
    /// octets, attributes, secret).
    pub(crate) fn accounting_authenticator_ok(&self, secret: &[u8]) -> bool {
        let (Some(head), Some(sent), Some(attrs)) = (
            self.bytes.get(..4),
            self.bytes.get(4..HEADER),
            self.bytes.get(HEADER..),
        ) else {
            return false;
        };
        let mut h = Md5::new();
        h.update(head);
        h.update([0u8; 16]);
        h.update(attrs);
        h.update(secret);
        h.finalize().as_slice().ct_eq(sent).into()
    }
}

/// HMAC-MD5 of `data` under `key`.
pub(crate) fn hmac_md5(key: &[u8], data: &[u8]) -> [u8; 16] {
    let Ok(mut mac) = <Hmac<Md5> as KeyInit>::new_from_slice(key) else {
        return [0u8; 16]; // HMAC takes keys of any length: unreachable
    };
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// A reply being built: its code, identifier and the attributes after the
/// Message-Authenticator, already in wire form.
#[derive(Debug)]
pub(crate) struct Reply {
    bytes: Vec<u8>,
}

impl Reply {
    /// An empty reply of `code` to `req`, with Message-Authenticator as its first attribute.
    pub(crate) fn to(req: &Request, reply_code: u8) -> Reply {
        let mut bytes = Vec::with_capacity(256);
        bytes.extend_from_slice(&[reply_code, req.identifier(), 0, 0]);
        // Authenticator (filled in by `encode`), then Message-Authenticator (type, length, 16).
        bytes.resize(HEADER, 0);
        bytes.extend_from_slice(&[MESSAGE_AUTHENTICATOR, 18]);
        bytes.resize(HEADER + 18, 0);
        Reply { bytes }
    }

    /// Adds an attribute of raw bytes (values longer than 253 bytes are cut).
    pub(crate) fn add(&mut self, typ: u8, value: &[u8]) {
        let v = value.get(..value.len().min(253)).unwrap_or(value);
        // At most 253: the length octet counts the type and itself.
        self.bytes.push(typ);
        self.bytes
            .push(u8::try_from(v.len() + 2).unwrap_or(u8::MAX));
        self.bytes.extend_from_slice(v);
    }

    /// The bytes on the wire: Proxy-State of `req` echoed in order, Message-Authenticator over
    /// the packet with the Request Authenticator (zeros for an Accounting-Response to an
    /// Accounting-Request), then the Response Authenticator
    /// MD5(code, id, length, request authenticator, attributes, secret). `None` when the
    /// attributes do not fit in a packet.
    pub(crate) fn encode(mut self, req: &Request, secret: &[u8]) -> Option<Vec<u8>> {
        for ps in req.all(PROXY_STATE) {
            self.add(PROXY_STATE, ps);
        }
        let mut bytes = self.bytes;
        if bytes.len() > MAX_PACKET {
            return None;
        }
        let len = u16::try_from(bytes.len()).ok()?.to_be_bytes();
        bytes.get_mut(2..4)?.copy_from_slice(&len);
        let req_auth = req.authenticator();
        // The Message-Authenticator of an Accounting-Response to an Accounting-Request is
        // computed over a zeroed authenticator field, as FreeRADIUS does (RFC 5080 §2.2.4);
        // every other reply's over the Request Authenticator.
        let accounting = bytes.first() == Some(&code::ACCOUNTING_RESPONSE)
            && req.code() == code::ACCOUNTING_REQUEST;
        bytes
            .get_mut(4..HEADER)?
            .copy_from_slice(if accounting { &[0u8; 16] } else { &req_auth });
        let ma = hmac_md5(secret, &bytes);
        bytes.get_mut(HEADER + 2..HEADER + 18)?.copy_from_slice(&ma);
        bytes.get_mut(4..HEADER)?.copy_from_slice(&req_auth);
        let mut h = Md5::new();
        h.update(&bytes);
        h.update(secret);
        let resp: [u8; 16] = h.finalize().into();
        bytes.get_mut(4..HEADER)?.copy_from_slice(&resp);
        Some(bytes)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// An Access-Request as a NAS builds it, Message-Authenticator last when `ma`.
    pub(crate) fn access_request(
        id: u8,
        auth: [u8; 16],
        attrs: &[(u8, &[u8])],
        secret: &[u8],
        ma: bool,
    ) -> Vec<u8> {
        let mut b = vec![code::ACCESS_REQUEST, id, 0, 0];
        b.extend_from_slice(&auth);
        for (t, v) in attrs {
            b.push(*t);
            b.push(u8::try_from(v.len() + 2).unwrap());
            b.extend_from_slice(v);
        }
        let ma_at = b.len() + 2;
        if ma {
            b.extend_from_slice(&[MESSAGE_AUTHENTICATOR, 18]);
            b.extend_from_slice(&[0; 16]);
        }
        let len = u16::try_from(b.len()).unwrap().to_be_bytes();
        b[2..4].copy_from_slice(&len);
        if ma {
            let m = hmac_md5(secret, &b);
            b[ma_at..ma_at + 16].copy_from_slice(&m);
        }
        b
    }

    #[test]
    fn hmac_md5_matches_rfc_2202() {
        // RFC 2202 test case 2.
        let m = hmac_md5(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(
            m,
            [
                0x75, 0x0c, 0x78, 0x3e, 0x6a, 0xb0, 0xb5, 0x03, 0xea, 0xa8, 0x6e, 0x31, 0x0a, 0x5d,
                0xb7, 0x38
            ]
        );
    }

    #[test]
    fn message_authenticator_verifies_under_its_secret_only() {
        let p = access_request(7, [1; 16], &[(1, b"alice")], b"secret-one-16chars", true);
        let r = Request::parse(&p).unwrap();
        assert!(r.message_authenticator_ok(b"secret-one-16chars"));
        assert!(!r.message_authenticator_ok(b"secret-two-16chars"));
        let mut tampered = p.clone();
        tampered[22] ^= 1; // inside User-Name
        let t = Request::parse(&tampered).unwrap();
        assert!(!t.message_authenticator_ok(b"secret-one-16chars"));
        let none = access_request(7, [1; 16], &[(1, b"alice")], b"x", false);
        assert!(!Request::parse(&none)
            .unwrap()
            .message_authenticator_ok(b"secret-one-16chars"));
    }

    #[test]
    fn replies_carry_message_authenticator_first_and_a_correct_response_authenticator() {
        let secret = b"a-shared-secret-16";
        let p = access_request(
            9,
            [3; 16],
            &[(1, b"bob"), (PROXY_STATE, b"ps-1"), (PROXY_STATE, b"ps-2")],
            secret,
            true,
        );
        let req = Request::parse(&p).unwrap();
        let mut reply = Reply::to(&req, code::ACCESS_ACCEPT);
        reply.add(11, b"staff");
        let out = reply.encode(&req, secret).unwrap();
        assert_eq!(out[0], code::ACCESS_ACCEPT);
        assert_eq!(out[1], 9);
        assert_eq!(usize::from(u16::from_be_bytes([out[2], out[3]])), out.len());
        assert_eq!(&out[20..22], &[MESSAGE_AUTHENTICATOR, 18]);
        // The radius crate's own check of the Response Authenticator.
        assert!(radius::core::packet::Packet::is_authentic_response(
            &out, &p, secret
        ));
        // Message-Authenticator: HMAC over the reply with the Request Authenticator.
        let mut check = out.clone();
        check[4..20].copy_from_slice(&[3; 16]);
        check[22..38].fill(0);
        assert_eq!(hmac_md5(secret, &check), out[22..38]);
        let parsed = Request::parse(&out).unwrap();
        let ps: Vec<&[u8]> = parsed.all(PROXY_STATE).collect();
        assert_eq!(ps, [b"ps-1".as_slice(), b"ps-2".as_slice()]);
        assert_eq!(parsed.text(11), Some("staff"));
    }

    #[test]
    fn reply_values_are_cut_to_253_octets_and_an_overlong_reply_is_none() {
        let secret = b"a-shared-secret-16";
        let p = access_request(1, [5; 16], &[(1, b"bob")], secret, true);
        let req = Request::parse(&p).unwrap();
        let mut reply = Reply::to(&req, code::ACCESS_ACCEPT);
        reply.add(18, &[b'x'; 300]);
        let out = reply.encode(&req, secret).unwrap();
        let parsed = Request::parse(&out).unwrap();
        assert_eq!(parsed.first(18).map(<[u8]>::len), Some(253));
        let mut full = Reply::to(&req, code::ACCESS_ACCEPT);
        for _ in 0..16 {
            full.add(18, &[b'y'; 253]);
        }
        assert_eq!(full.encode(&req, secret), None, "over 4096 octets");
    }

    #[test]
    fn accounting_authenticator() {
        let secret = b"acct-secret-16-chars";
        let mut b = vec![code::ACCOUNTING_REQUEST, 1, 0, 0];
        b.extend_from_slice(&[0; 16]);
        b.extend_from_slice(&[40, 6, 0, 0, 0, 1]);
        let len = u16::try_from(b.len()).unwrap().to_be_bytes();
        b[2..4].copy_from_slice(&len);
        let mut h = Md5::new();
        h.update(&b);
        h.update(secret);
        let a: [u8; 16] = h.finalize().into();
        b[4..20].copy_from_slice(&a);
        let r = Request::parse(&b).unwrap();
        assert!(r.accounting_authenticator_ok(secret));
        assert!(!r.accounting_authenticator_ok(b"another-secret-16chars"));
        assert_eq!(r.integer(40), Some(1));
    }

    #[test]
    fn malformed_datagrams_are_refused_without_panic() {
        assert_eq!(Request::parse(&[]), Err(Malformed::Short));
        assert_eq!(Request::parse(&[1; 19]), Err(Malformed::Short));
        let mut p = access_request(1, [0; 16], &[(1, b"alice")], b"s", false);
        // Length field beyond the datagram, below the header, above 4096.
        for bad in [u16::try_from(p.len() + 1).unwrap(), 19, 4097, 0] {
            let mut q = p.clone();
            q[2..4].copy_from_slice(&bad.to_be_bytes());
            assert_eq!(Request::parse(&q), Err(Malformed::Length), "length {bad}");
        }
        // Attribute lengths: 0, 1, and past the end.
        for bad in [0u8, 1, 200] {
            let mut q = p.clone();
            q[21] = bad;
            assert_eq!(Request::parse(&q), Err(Malformed::Attribute), "attr {bad}");
        }
        // A truncated attribute header at the end.
        p.push(1);
        let len = u16::try_from(p.len()).unwrap().to_be_bytes();
        p[2..4].copy_from_slice(&len);
        assert_eq!(Request::parse(&p), Err(Malformed::Attribute));
        // Padding after the length is ignored.
        let mut ok = access_request(1, [0; 16], &[(1, b"alice")], b"s", false);
        ok.extend_from_slice(&[0xff; 10]);
        assert_eq!(Request::parse(&ok).unwrap().text(1), Some("alice"));
        // Overlong datagrams: only the header's length counts.
        let big = vec![0u8; 70_000];
        assert_eq!(Request::parse(&big), Err(Malformed::Length));
    }
}
