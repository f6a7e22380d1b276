//! The wire codec: ldap3_proto's `LdapCodec` behind a look at each message's operation tag, so
//! that an operation ldap3_proto does not know is refused here, as a protocol error, before
//! ldap3_proto decodes it (its decoder prints unknown operations to standard output, which an
//! unauthenticated client must not be able to do). It must not interpret messages otherwise.

use bytes::BytesMut;
use ldap3_proto::proto::LdapMsg;
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
        self.inner.encode(msg, dst)
    }
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
