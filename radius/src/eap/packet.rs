//! The EAP packet codec (RFC 3748 §4–5): header, codes, and the Identity, Nak and TTLS
//! response types a server receives. It must not keep state or know what TLS is.

use super::EapError;

/// EAP codes (RFC 3748 §4).
pub(crate) const CODE_REQUEST: u8 = 1;
pub(crate) const CODE_RESPONSE: u8 = 2;
pub(crate) const CODE_SUCCESS: u8 = 3;
pub(crate) const CODE_FAILURE: u8 = 4;

/// EAP types this server speaks (RFC 3748 §5, RFC 5281 §9).
pub(crate) const TYPE_IDENTITY: u8 = 1;
pub(crate) const TYPE_NAK: u8 = 3;
pub(crate) const TYPE_TTLS: u8 = 21;

/// The header: code, identifier, length.
const HEADER: usize = 4;

/// A parsed EAP-Response.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Response<'a> {
    /// The identifier, which must echo our last request's.
    pub identifier: u8,
    /// What it says.
    pub body: Body<'a>,
}

/// The type-specific part of a response.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Body<'a> {
    /// Response/Identity: the (outer, untrusted) identity.
    Identity(&'a [u8]),
    /// Legacy Nak: the types the peer would rather use (0 = none).
    Nak(&'a [u8]),
    /// Response/TTLS: flags and what follows them.
    Ttls(&'a [u8]),
    /// Any other type.
    Other(u8),
}

/// Parses an EAP packet that must be a Response. Octets beyond the Length field are link
/// padding and ignored (RFC 3748 §4.1).
pub(crate) fn parse_response(bytes: &[u8]) -> Result<Response<'_>, EapError> {
    let (code, identifier, body) = parse(bytes)?;
    if code != CODE_RESPONSE {
        return Err(EapError::NotAResponse(code));
    }
    let (&kind, data) = body.split_first().ok_or(EapError::Malformed)?;
    let body = match kind {
        TYPE_IDENTITY => Body::Identity(data),
        TYPE_NAK => Body::Nak(data),
        TYPE_TTLS => Body::Ttls(data),
        other => Body::Other(other),
    };
    Ok(Response { identifier, body })
}

/// Splits a packet into code, identifier and the bytes after the header (within Length).
pub(crate) fn parse(bytes: &[u8]) -> Result<(u8, u8, &[u8]), EapError> {
    let (code, identifier, length) = match bytes.get(..HEADER) {
        Some(&[code, identifier, hi, lo]) => {
            (code, identifier, usize::from(u16::from_be_bytes([hi, lo])))
        }
        _ => return Err(EapError::Malformed),
    };
    if length < HEADER {
        return Err(EapError::Malformed);
    }
    let body = bytes.get(HEADER..length).ok_or(EapError::Malformed)?;
    match code {
        CODE_REQUEST | CODE_RESPONSE if body.is_empty() => Err(EapError::Malformed),
        CODE_SUCCESS | CODE_FAILURE if !body.is_empty() => Err(EapError::Malformed),
        CODE_REQUEST..=CODE_FAILURE => Ok((code, identifier, body)),
        _ => Err(EapError::Malformed),
    }
}

/// An EAP-Request of `kind` carrying `data`. Callers keep `data` small enough for the 16-bit
/// Length (the fragment size is capped far below it).
pub(crate) fn request(identifier: u8, kind: u8, data: &[u8]) -> Vec<u8> {
    let length = HEADER + 1 + data.len();
    let mut out = Vec::with_capacity(length);
    out.push(CODE_REQUEST);
    out.push(identifier);
    out.extend_from_slice(&u16::try_from(length).unwrap_or(u16::MAX).to_be_bytes());
    out.push(kind);
    out.extend_from_slice(data);
    out
}

/// EAP-Request/Identity with no prompt.
pub(crate) fn identity_request(identifier: u8) -> Vec<u8> {
    request(identifier, TYPE_IDENTITY, &[])
}

/// EAP-Success.
pub(crate) fn success(identifier: u8) -> Vec<u8> {
    vec![CODE_SUCCESS, identifier, 0, HEADER as u8]
}

/// EAP-Failure.
pub(crate) fn failure(identifier: u8) -> Vec<u8> {
    vec![CODE_FAILURE, identifier, 0, HEADER as u8]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_identity_nak_ttls_and_other_responses() {
        let id = [2, 7, 0, 9, 1, b'a', b'n', b'o', b'n'];
        assert_eq!(
            parse_response(&id).unwrap(),
            Response {
                identifier: 7,
                body: Body::Identity(b"anon")
            }
        );
        let nak = [2, 8, 0, 6, 3, 25];
        assert_eq!(parse_response(&nak).unwrap().body, Body::Nak(&[25]));
        let ttls = [2, 9, 0, 6, 21, 0];
        assert_eq!(parse_response(&ttls).unwrap().body, Body::Ttls(&[0]));
        let md5 = [2, 9, 0, 6, 4, 0];
        assert_eq!(parse_response(&md5).unwrap().body, Body::Other(4));
    }

    #[test]
    fn ignores_padding_beyond_length_but_not_a_short_packet() {
        let padded = [2, 1, 0, 5, 1, 0xee, 0xee];
        assert_eq!(parse_response(&padded).unwrap().body, Body::Identity(&[]));
        assert!(matches!(
            parse_response(&[2, 1, 0, 9, 1]),
            Err(EapError::Malformed)
        ));
    }

    #[test]
    fn refuses_malformed_headers() {
        for bad in [
            &[][..],
            &[2],
            &[2, 1, 0],
            &[2, 1, 0, 3, 1],
            &[2, 1, 0, 4],
            &[3, 1, 0, 5, 1],
            &[9, 1, 0, 5, 1],
            &[0, 1, 0, 5, 1],
        ] {
            assert!(parse_response(bad).is_err(), "{bad:?}");
        }
        assert!(matches!(
            parse_response(&[1, 1, 0, 5, 1]),
            Err(EapError::NotAResponse(1))
        ));
        assert!(matches!(
            parse_response(&[3, 1, 0, 4]),
            Err(EapError::NotAResponse(3))
        ));
    }

    #[test]
    fn encodes_requests_success_and_failure() {
        assert_eq!(request(5, TYPE_TTLS, &[0x20]), vec![1, 5, 0, 6, 21, 0x20]);
        assert_eq!(identity_request(9), vec![1, 9, 0, 5, 1]);
        assert_eq!(success(3), vec![3, 3, 0, 4]);
        assert_eq!(failure(4), vec![4, 4, 0, 4]);
        let built = request(5, TYPE_TTLS, b"xyz");
        let (code, id, body) = parse(&built).unwrap();
        assert_eq!(
            (code, id, body),
            (CODE_REQUEST, 5, &[21, b'x', b'y', b'z'][..])
        );
    }
}
