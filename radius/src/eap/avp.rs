//! The Diameter AVPs carried inside the TTLS tunnel (RFC 5281 §10): it parses the AVP list and
//! picks out User-Name and User-Password for inner PAP. It must not decide anything about the
//! user — that is the core's job, through the caller.

use super::keys::InnerPassword;
use super::EapError;

/// AVP codes (RADIUS attribute numbers, RFC 5281 §10.1).
const USER_NAME: u32 = 1;
const USER_PASSWORD: u32 = 2;
/// The V flag: a Vendor-ID follows the header.
const FLAG_VENDOR: u8 = 0x80;
/// The M flag: the receiver must understand the AVP or fail.
const FLAG_MANDATORY: u8 = 0x40;
/// Code + flags + 24-bit length.
const HEADER: usize = 8;
/// The longest User-Name or password we pass on (a RADIUS attribute's worth).
const MAX_VALUE: usize = 253;

/// The inner PAP credentials.
#[derive(Debug)]
pub(crate) struct PapCredentials {
    /// The inner User-Name: *the* user of the conversation.
    pub username: String,
    /// The inner User-Password, trailing NUL padding removed.
    pub password: InnerPassword,
}

/// Parses the tunnelled AVPs and returns the PAP credentials. Unknown AVPs are skipped unless
/// marked mandatory (RFC 5281 §10.1); a list without both User-Name and User-Password (another
/// inner method) is [`EapError::NoInnerPap`].
pub(crate) fn parse_pap(mut avps: &[u8]) -> Result<PapCredentials, EapError> {
    let mut username: Option<&[u8]> = None;
    let mut password: Option<&[u8]> = None;
    while !avps.is_empty() {
        let (code, flags, length) = match avps.get(..HEADER) {
            Some(&[c0, c1, c2, c3, flags, l0, l1, l2]) => (
                u32::from_be_bytes([c0, c1, c2, c3]),
                flags,
                usize::from(l0) << 16 | usize::from(l1) << 8 | usize::from(l2),
            ),
            _ => return Err(EapError::MalformedAvp),
        };
        let value_start = if flags & FLAG_VENDOR != 0 {
            HEADER + 4
        } else {
            HEADER
        };
        if length < value_start {
            return Err(EapError::MalformedAvp);
        }
        let vendor = if flags & FLAG_VENDOR != 0 {
            match avps.get(HEADER..HEADER + 4) {
                Some(&[v0, v1, v2, v3]) => u32::from_be_bytes([v0, v1, v2, v3]),
                _ => return Err(EapError::MalformedAvp),
            }
        } else {
            0
        };
        let value = avps
            .get(value_start..length)
            .ok_or(EapError::MalformedAvp)?;
        match (vendor, code) {
            (0, USER_NAME) => set_once(&mut username, value)?,
            (0, USER_PASSWORD) => set_once(&mut password, value)?,
            _ if flags & FLAG_MANDATORY != 0 => return Err(EapError::MalformedAvp),
            _ => {}
        }
        // Padding to a multiple of four follows every AVP but may be missing after the last.
        let padded = length.div_ceil(4) * 4;
        avps = avps.get(padded..).unwrap_or_default();
    }
    let (Some(username), Some(password)) = (username, password) else {
        return Err(EapError::NoInnerPap);
    };
    let username = std::str::from_utf8(username).map_err(|_| EapError::MalformedAvp)?;
    if username.is_empty() || username.len() > MAX_VALUE {
        return Err(EapError::MalformedAvp);
    }
    // PAP pads the password with NULs (wpa_supplicant to a multiple of 16).
    let end = password.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    let password = password.get(..end).unwrap_or_default();
    if password.is_empty() || password.len() > MAX_VALUE {
        return Err(EapError::NoInnerPap);
    }
    let password = std::str::from_utf8(password).map_err(|_| EapError::MalformedAvp)?;
    Ok(PapCredentials {
        username: username.to_owned(),
        password: InnerPassword::new(password.to_owned()),
    })
}

fn set_once<'a>(slot: &mut Option<&'a [u8]>, value: &'a [u8]) -> Result<(), EapError> {
    if slot.replace(value).is_some() {
        return Err(EapError::MalformedAvp);
    }
    Ok(())
}

#[cfg(test)]
pub(crate) fn encode(code: u32, vendor: Option<u32>, mandatory: bool, data: &[u8]) -> Vec<u8> {
    let mut flags = if mandatory { FLAG_MANDATORY } else { 0 };
    let header = if vendor.is_some() { HEADER + 4 } else { HEADER };
    if vendor.is_some() {
        flags |= FLAG_VENDOR;
    }
    let length = (header + data.len()) as u32;
    let mut out = code.to_be_bytes().to_vec();
    out.push(flags);
    out.extend_from_slice(&length.to_be_bytes()[1..]);
    if let Some(v) = vendor {
        out.extend_from_slice(&v.to_be_bytes());
    }
    out.extend_from_slice(data);
    while !out.len().is_multiple_of(4) {
        out.push(0);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pap(user: &[u8], pass: &[u8]) -> Vec<u8> {
        let mut v = encode(USER_NAME, None, true, user);
        v.extend(encode(USER_PASSWORD, None, true, pass));
        v
    }

    #[test]
    fn reads_user_name_and_padded_password() {
        let creds = parse_pap(&pap(b"alice", b"Demo-2026:contoso.alice1!\0\0\0\0\0\0\0")).unwrap();
        assert_eq!(creds.username, "alice");
        assert_eq!(creds.password.expose(), "Demo-2026:contoso.alice1!");
        assert_eq!(format!("{:?}", creds.password), "[redacted]");
    }

    #[test]
    fn skips_optional_and_vendor_avps_and_tolerates_missing_final_padding() {
        let mut v = encode(18, None, false, b"hello");
        v.extend(encode(7, Some(311), false, b"xx"));
        v.extend(pap(b"bob", b"pw"));
        // Unpadded last AVP.
        v.extend_from_slice(&[0, 0, 0, 99, 0, 0, 0, 9, b'z']);
        let creds = parse_pap(&v).unwrap();
        assert_eq!(creds.username, "bob");
        assert_eq!(creds.password.expose(), "pw");
    }

    #[test]
    fn refuses_unknown_mandatory_bad_lengths_and_duplicates() {
        let mut v = pap(b"bob", b"pw");
        v.extend(encode(79, None, true, &[2, 0, 0, 5, 1]));
        assert!(matches!(parse_pap(&v), Err(EapError::MalformedAvp)));

        let mut dup = pap(b"bob", b"pw");
        dup.extend(encode(USER_NAME, None, true, b"eve"));
        assert!(matches!(parse_pap(&dup), Err(EapError::MalformedAvp)));

        for bad in [
            vec![0, 0, 0, 1, 0x40, 0, 0, 7],
            vec![0, 0, 0, 1, 0x40, 0, 0, 200, b'a'],
            vec![0, 0, 0, 1, 0xc0, 0, 0, 10, 0, 0, 0, 0],
            vec![0, 0, 0, 1, 0x40, 0],
            vec![0, 0, 0, 1, 0x40, 0xff, 0xff, 0xff],
        ] {
            assert!(
                matches!(parse_pap(&bad), Err(EapError::MalformedAvp)),
                "{bad:?}"
            );
        }
        assert!(matches!(
            parse_pap(&pap(&[0xff, 0xfe], b"pw")),
            Err(EapError::MalformedAvp)
        ));
    }

    #[test]
    fn another_inner_method_is_no_pap() {
        assert!(matches!(
            parse_pap(&encode(USER_NAME, None, true, b"bob")),
            Err(EapError::NoInnerPap)
        ));
        assert!(matches!(
            parse_pap(&pap(b"bob", b"\0\0\0\0")),
            Err(EapError::NoInnerPap)
        ));
        assert!(matches!(parse_pap(&[]), Err(EapError::NoInnerPap)));
    }
}
