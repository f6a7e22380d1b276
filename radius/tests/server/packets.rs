//! Building requests as a NAS does (RFC 2865 User-Password hiding, RFC 3579
//! Message-Authenticator) and reading replies.

use hmac::{Hmac, KeyInit, Mac};
use md5::{Digest, Md5};
use tessera_radius::fuzzing::SECRET;

/// An attribute.
pub fn attr(t: u8, v: &[u8]) -> Vec<u8> {
    let mut a = vec![t, u8::try_from(v.len() + 2).unwrap()];
    a.extend_from_slice(v);
    a
}

/// HMAC-MD5 under `key`.
pub fn hmac_md5(key: &[u8], data: &[u8]) -> [u8; 16] {
    let mut mac = <Hmac<Md5> as KeyInit>::new_from_slice(key).unwrap();
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// An Access-Request with `attrs` and a Message-Authenticator last.
pub fn access_request(id: u8, auth: [u8; 16], attrs: &[Vec<u8>]) -> Vec<u8> {
    let mut p = vec![1, id, 0, 0];
    p.extend_from_slice(&auth);
    for a in attrs {
        p.extend_from_slice(a);
    }
    p.extend_from_slice(&[80, 18]);
    p.extend_from_slice(&[0; 16]);
    let len = u16::try_from(p.len()).unwrap().to_be_bytes();
    p[2..4].copy_from_slice(&len);
    let m = hmac_md5(SECRET.as_bytes(), &p);
    let at = p.len() - 16;
    p[at..].copy_from_slice(&m);
    p
}

/// A PAP Access-Request for `user` with `password`, and `extra` attributes.
pub fn pap(id: u8, auth: [u8; 16], user: &str, password: &str, extra: &[Vec<u8>]) -> Vec<u8> {
    let hidden = tessera_radius::hide_user_password(password.as_bytes(), SECRET.as_bytes(), &auth);
    let mut attrs = vec![attr(1, user.as_bytes()), attr(2, &hidden)];
    attrs.extend_from_slice(extra);
    access_request(id, auth, &attrs)
}

/// The attributes of a packet, in order.
pub fn attributes(p: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut out = Vec::new();
    let mut at = 20;
    while at + 2 <= p.len() {
        let len = usize::from(p[at + 1]);
        out.push((p[at], p[at + 2..at + len].to_vec()));
        at += len;
    }
    out
}

/// Checks a reply's Response Authenticator and Message-Authenticator (first) against the
/// request it answers.
pub fn check_reply(reply: &[u8], request: &[u8]) {
    let mut h = Md5::new();
    h.update(&reply[..4]);
    h.update(&request[4..20]);
    h.update(&reply[20..]);
    h.update(SECRET.as_bytes());
    assert_eq!(
        h.finalize().as_slice(),
        &reply[4..20],
        "Response Authenticator"
    );
    assert_eq!(&reply[20..22], &[80, 18], "Message-Authenticator first");
    let mut copy = reply.to_vec();
    copy[4..20].copy_from_slice(&request[4..20]);
    copy[22..38].fill(0);
    assert_eq!(
        hmac_md5(SECRET.as_bytes(), &copy),
        reply[22..38],
        "Message-Authenticator"
    );
}
