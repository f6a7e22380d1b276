//! The wire codec: ldap3_proto's `LdapCodec` behind a look at each message's operation tag, so
//! that an operation ldap3_proto does not know is refused here, as a protocol error, before
//! ldap3_proto decodes it (its decoder prints unknown operations to standard output, which an
//! unauthenticated client must not be able to do). Search results — almost every byte a server
//! sends — are written straight into the output buffer, byte for byte what ldap3_proto would
//! write (its encoder builds and copies a tag tree per message): entries from the search's own
//! [`WireEntry`] (an [`EntryMsg`]) without copying their values first, and SearchResultDone;
//! every other message goes through ldap3_proto. It must not interpret messages otherwise.

use crate::entry::{Attr, Vals, WireEntry};
use bytes::{BufMut, BytesMut};
use ldap3_proto::proto::{
    LdapMsg, LdapOp, LdapPartialAttribute, LdapResult, LdapSearchResultEntry,
};
use ldap3_proto::LdapCodec;
use std::io;
use tokio_util::codec::{Decoder, Encoder};

/// The operations (APPLICATION tag numbers) of RFC 4511 that ldap3_proto decodes.
const KNOWN_OPS: [u8; 21] = [
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 19, 23, 24, 25,
];

/// ldap3_proto's codec with the operation check in front.
#[derive(Default)]
pub(crate) struct Codec {
    inner: LdapCodec,
}

impl std::fmt::Debug for Codec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Codec")
    }
}

impl Codec {
    /// A codec with ldap3_proto's size and depth limits.
    pub(crate) fn new(max_message_bytes: usize, max_depth: usize) -> Codec {
        Codec {
            inner: LdapCodec::new(Some(max_message_bytes), Some(max_depth)),
        }
    }
}

impl Decoder for Codec {
    type Item = LdapMsg;
    type Error = io::Error;

    fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<LdapMsg>, io::Error> {
        if let Some(tag) = op_tag(buf) {
            if !known(tag) {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "unknown LDAP operation",
                ));
            }
        }
        self.inner.decode(buf)
    }
}

impl Encoder<LdapMsg> for Codec {
    type Error = io::Error;

    fn encode(&mut self, msg: LdapMsg, dst: &mut BytesMut) -> Result<(), io::Error> {
        if !write_search_result(&msg, dst) {
            self.inner.encode(msg, dst)?;
        }
        Ok(())
    }
}

/// A SearchResultEntry of message `msgid`.
#[derive(Debug)]
pub(crate) struct EntryMsg {
    pub(crate) msgid: i32,
    pub(crate) entry: WireEntry,
}

impl Encoder<EntryMsg> for Codec {
    type Error = io::Error;

    fn encode(&mut self, msg: EntryMsg, dst: &mut BytesMut) -> Result<(), io::Error> {
        if msg.msgid >= 0 {
            write_entry(dst, msg.msgid, &msg.entry.dn, &msg.entry.attrs);
            return Ok(());
        }
        // A negative message id, which no client sends: ldap3_proto writes it its own way.
        let e = LdapSearchResultEntry {
            dn: msg.entry.dn,
            attributes: msg
                .entry
                .attrs
                .into_iter()
                .map(|(a, v)| LdapPartialAttribute {
                    atype: a.name().to_string(),
                    vals: v.into_vec().into_iter().map(String::into_bytes).collect(),
                })
                .collect(),
        };
        self.inner
            .encode(LdapMsg::new(msg.msgid, LdapOp::SearchResultEntry(e)), dst)
    }
}

// BER identifier octets (RFC 4511's ASN.1: universal types and the APPLICATION operations).
const SEQUENCE: u8 = 0x30;
const SET: u8 = 0x31;
const INTEGER: u8 = 0x02;
const OCTET_STRING: u8 = 0x04;
const ENUMERATED: u8 = 0x0a;
const SEARCH_RESULT_ENTRY: u8 = 0x64;
const SEARCH_RESULT_DONE: u8 = 0x65;

/// Writes a SearchResultDone without controls or referrals, with a non-negative message id,
/// and says whether it did; anything else is left to ldap3_proto (entries come as
/// [`EntryMsg`]).
fn write_search_result(msg: &LdapMsg, dst: &mut BytesMut) -> bool {
    if msg.msgid < 0 || !msg.ctrl.is_empty() {
        return false;
    }
    let id = integer_len(msg.msgid.into());
    match &msg.op {
        LdapOp::SearchResultDone(r) if r.referral.is_empty() => {
            let code = r.code.clone() as i64;
            let op = result_len(r, code);
            dst.reserve(tlv_len(tlv_len(id) + tlv_len(op)));
            header(dst, SEQUENCE, tlv_len(id) + tlv_len(op));
            integer(dst, INTEGER, msg.msgid.into());
            header(dst, SEARCH_RESULT_DONE, op);
            integer(dst, ENUMERATED, code);
            octets(dst, r.matcheddn.as_bytes());
            octets(dst, r.message.as_bytes());
            true
        }
        _ => false,
    }
}

/// Writes a SearchResultEntry; `msgid` is not negative.
fn write_entry(dst: &mut BytesMut, msgid: i32, dn: &str, attrs: &[(Attr, Vals)]) {
    let id = integer_len(msgid.into());
    let list: usize = attrs.iter().map(attribute_len).sum();
    let op = tlv_len(dn.len()) + tlv_len(list);
    dst.reserve(tlv_len(tlv_len(id) + tlv_len(op)));
    header(dst, SEQUENCE, tlv_len(id) + tlv_len(op));
    integer(dst, INTEGER, msgid.into());
    header(dst, SEARCH_RESULT_ENTRY, op);
    octets(dst, dn.as_bytes());
    header(dst, SEQUENCE, list);
    for a in attrs {
        header(dst, SEQUENCE, attribute_content_len(a));
        octets(dst, a.0.name().as_bytes());
        header(dst, SET, values_len(a));
        for v in a.1.iter() {
            octets(dst, v.as_bytes());
        }
    }
}

/// The content length of an LDAPResult without referrals.
fn result_len(r: &LdapResult, code: i64) -> usize {
    tlv_len(integer_len(code)) + tlv_len(r.matcheddn.len()) + tlv_len(r.message.len())
}

/// The encoded length of a PartialAttribute, identifier and length octets included.
fn attribute_len(a: &(Attr, Vals)) -> usize {
    tlv_len(attribute_content_len(a))
}

/// The content length of a PartialAttribute: its type and its SET of values.
fn attribute_content_len(a: &(Attr, Vals)) -> usize {
    tlv_len(a.0.name().len()) + tlv_len(values_len(a))
}

/// The content length of a PartialAttribute's SET of values.
fn values_len(a: &(Attr, Vals)) -> usize {
    a.1.iter().map(|v| tlv_len(v.len())).sum()
}

/// Identifier, length and content octets of a value whose content is `content` long.
fn tlv_len(content: usize) -> usize {
    1 + length_len(content) + content
}

/// How many octets the definite length `n` takes (short form below 128, as ldap3_proto).
fn length_len(n: usize) -> usize {
    if n < 0x80 {
        1
    } else {
        1 + (usize::BITS - n.leading_zeros()).div_ceil(8) as usize
    }
}

fn header(dst: &mut BytesMut, tag: u8, len: usize) {
    dst.put_u8(tag);
    if len < 0x80 {
        // Below 128: one octet.
        dst.put_u8(len as u8);
    } else {
        let n = length_len(len) - 1;
        dst.put_u8(0x80 | n as u8);
        let be = len.to_be_bytes();
        dst.put_slice(be.get(be.len() - n..).unwrap_or(&be));
    }
}

fn octets(dst: &mut BytesMut, v: &[u8]) {
    header(dst, OCTET_STRING, v.len());
    dst.put_slice(v);
}

/// The content length of a non-negative INTEGER: its big-endian octets without leading zeros,
/// with one more when the top bit would be set (BER integers are signed). At most 8.
fn integer_len(v: i64) -> usize {
    let bits = i64::BITS - v.leading_zeros();
    (bits / 8 + 1) as usize
}

fn integer(dst: &mut BytesMut, tag: u8, v: i64) {
    let n = integer_len(v);
    dst.put_u8(tag);
    dst.put_u8(n as u8);
    let be = v.to_be_bytes();
    dst.put_slice(be.get(be.len().saturating_sub(n)..).unwrap_or(&be));
}

/// Whether an operation's identifier octet names an operation ldap3_proto knows. Tags of
/// another class are left to ldap3_proto, which refuses them quietly.
fn known(tag: u8) -> bool {
    const APPLICATION: u8 = 0x40;
    if tag & 0xc0 != APPLICATION {
        return true;
    }
    KNOWN_OPS.contains(&(tag & 0x1f))
}

/// The identifier octet of the operation of the LDAPMessage at the start of `buf`
/// (`SEQUENCE { messageID INTEGER, protocolOp … }`), when that much has arrived and is well
/// formed; otherwise `None`, and ldap3_proto's parser decides.
fn op_tag(buf: &[u8]) -> Option<u8> {
    if *buf.first()? != 0x30 {
        return None;
    }
    let (_, p) = length(buf, 1)?;
    if *buf.get(p)? != 0x02 {
        return None;
    }
    let (len, p) = length(buf, p.checked_add(1)?)?;
    buf.get(p.checked_add(len)?).copied()
}

/// A BER definite length at `p`, and where its content starts.
fn length(buf: &[u8], p: usize) -> Option<(usize, usize)> {
    let first = *buf.get(p)?;
    if first < 0x80 {
        return Some((usize::from(first), p + 1));
    }
    let n = usize::from(first & 0x7f);
    if n == 0 || n > 4 {
        return None;
    }
    let bytes = buf.get(p + 1..p + 1 + n)?;
    let len = bytes
        .iter()
        .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
    Some((len, p + 1 + n))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(bytes: &[u8]) -> Result<Option<LdapMsg>, io::Error> {
        Codec::default().decode(&mut BytesMut::from(bytes))
    }

    #[test]
    fn an_unknown_operation_is_refused_before_ldap3_proto_sees_it() {
        // messageID 1, [APPLICATION 30] with no content.
        let e = decode(&[0x30, 0x05, 0x02, 0x01, 0x01, 0x7e, 0x00]).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
        // The same with a long-form sequence length and a two-byte messageID.
        let e = decode(&[0x30, 0x81, 0x06, 0x02, 0x02, 0x01, 0x00, 0x51, 0x00]).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
        // A high tag number form.
        let e = decode(&[0x30, 0x06, 0x02, 0x01, 0x01, 0x7f, 0x22, 0x00]).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
    }

    fn ldap3_proto_bytes(msg: &LdapMsg) -> BytesMut {
        let mut out = BytesMut::new();
        LdapCodec::default().encode(msg.clone(), &mut out).unwrap();
        out
    }

    fn ours(msg: &LdapMsg) -> BytesMut {
        let mut out = BytesMut::new();
        Codec::default().encode(msg.clone(), &mut out).unwrap();
        out
    }

    fn entry(msgid: i32, dn: String, attributes: Vec<(String, Vec<Vec<u8>>)>) -> LdapMsg {
        use ldap3_proto::proto::LdapSearchResultEntry;
        LdapMsg::new(
            msgid,
            LdapOp::SearchResultEntry(LdapSearchResultEntry {
                dn,
                attributes: attributes
                    .into_iter()
                    .map(|(atype, vals)| LdapPartialAttribute { atype, vals })
                    .collect(),
            }),
        )
    }

    #[test]
    fn search_results_are_written_as_ldap3_proto_writes_them() {
        use ldap3_proto::proto::LdapResultCode;
        // Message ids across every integer width (and the sign-octet edges), lengths across the
        // short and long forms (127/128, 255/256, 65535/65536), empty strings, sets and lists.
        let ids = [
            0,
            1,
            127,
            128,
            255,
            256,
            32767,
            32768,
            65535,
            8_388_608,
            i32::MAX,
        ];
        let sizes = [
            0usize, 1, 100, 127, 128, 200, 255, 256, 1000, 65535, 65536, 70000,
        ];
        let mut checked = 0;
        for (i, id) in ids.iter().enumerate() {
            for (j, n) in sizes.iter().enumerate() {
                let attrs = (0..(i + j) % 4)
                    .map(|k| {
                        let vals = (0..(j + k) % 5)
                            .map(|v| vec![b'a' + (v as u8); (n + k * 7) / (v + 1)])
                            .collect();
                        (format!("attr{k}"), vals)
                    })
                    .collect();
                let msg = entry(*id, "x".repeat(*n), attrs);
                // The entry as the search hands it over, with shared and own values.
                let LdapOp::SearchResultEntry(e) = &msg.op else {
                    unreachable!()
                };
                let wire = EntryMsg {
                    msgid: *id,
                    entry: WireEntry {
                        dn: e.dn.clone(),
                        attrs: e
                            .attributes
                            .iter()
                            .enumerate()
                            .map(|(k, a)| {
                                let vals: Vec<String> = a
                                    .vals
                                    .iter()
                                    .map(|v| String::from_utf8(v.clone()).unwrap())
                                    .collect();
                                let vals = if k % 2 == 0 {
                                    Vals::Own(vals)
                                } else {
                                    Vals::Shared(vals.into())
                                };
                                (Attr::Custom(a.atype.clone()), vals)
                            })
                            .collect(),
                    },
                };
                let mut written = BytesMut::new();
                Codec::default().encode(wire, &mut written).unwrap();
                assert_eq!(written, ldap3_proto_bytes(&msg), "wire entry {id} {n}");
                let done = LdapMsg::new(
                    *id,
                    LdapOp::SearchResultDone(LdapResult {
                        code: [LdapResultCode::Success, LdapResultCode::SizeLimitExceeded][j % 2]
                            .clone(),
                        matcheddn: "m".repeat(*n / 3),
                        message: "d".repeat(*n),
                        referral: Vec::new(),
                    }),
                );
                assert_eq!(ours(&done), ldap3_proto_bytes(&done), "done {id} {n}");
                checked += 2;
            }
        }
        assert_eq!(checked, ids.len() * sizes.len() * 2);
        // A result code of two octets, and one message after
        // another into the same buffer.
        let done = LdapMsg::new(
            7,
            LdapOp::SearchResultDone(LdapResult {
                code: LdapResultCode::EsyncRefreshRequired,
                matcheddn: String::new(),
                message: String::new(),
                referral: Vec::new(),
            }),
        );
        let e = entry(7, "uid=a".into(), vec![("uid".into(), vec![b"a".to_vec()])]);
        let mut both = BytesMut::new();
        let mut c = Codec::default();
        let wire = EntryMsg {
            msgid: 7,
            entry: WireEntry {
                dn: "uid=a".into(),
                attrs: vec![(Attr::Custom("uid".into()), Vals::Own(vec!["a".into()]))],
            },
        };
        c.encode(wire, &mut both).unwrap();
        c.encode(done.clone(), &mut both).unwrap();
        let mut want = ldap3_proto_bytes(&e);
        want.extend_from_slice(&ldap3_proto_bytes(&done));
        assert_eq!(both, want);
        // What we write reads back as the message it was.
        let mut rd = both.clone();
        assert_eq!(c.decode(&mut rd).unwrap(), Some(e));
        assert_eq!(c.decode(&mut rd).unwrap(), Some(done));
    }

    #[test]
    fn known_operations_and_partial_input_pass_through() {
        // UnbindRequest, messageID 3.
        let m = decode(&[0x30, 0x05, 0x02, 0x01, 0x03, 0x42, 0x00])
            .unwrap()
            .unwrap();
        assert_eq!(m.msgid, 3);
        // Not enough yet to see the operation: ldap3_proto waits for more.
        assert!(decode(&[0x30, 0x05, 0x02]).unwrap().is_none());
        assert!(decode(&[0x30, 0x05, 0x02, 0x01, 0x03]).unwrap().is_none());
        // Not a sequence: ldap3_proto's own error.
        assert!(decode(&[0x04, 0x00]).is_err());
    }
}
