//! Field rules shared by the entities: names, e-mail addresses, free text, SSH keys. Pure
//! functions returning `Error::Invalid`; they must not look anything up.

use crate::error::Error;
use base64::Engine;

pub(crate) fn invalid(field: &'static str, reason: impl Into<String>) -> Error {
    Error::Invalid {
        field,
        reason: reason.into(),
    }
}

/// Free text such as a display name: at most `max` characters, no control characters.
pub(crate) fn text(field: &'static str, value: &str, max: usize) -> Result<(), Error> {
    if value.chars().count() > max {
        return Err(invalid(field, format!("at most {max} characters")));
    }
    if value.chars().any(char::is_control) {
        return Err(invalid(field, "no control characters"));
    }
    Ok(())
}

/// A non-empty, trimmed display name.
pub(crate) fn display_name(field: &'static str, value: &str, max: usize) -> Result<(), Error> {
    if value.trim().is_empty() {
        return Err(invalid(field, "must not be empty"));
    }
    if value.trim() != value {
        return Err(invalid(field, "no leading or trailing spaces"));
    }
    text(field, value, max)
}

/// A login name: 1–64 characters from `A-Z a-z 0-9 . _ - @ +`, starting with a letter or digit.
/// These are safe in an LDAP RDN, a RADIUS User-Name and a SAML NameID without escaping.
pub(crate) fn username(value: &str) -> Result<(), Error> {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@' | '+');
    if value.is_empty() || value.len() > 64 {
        return Err(invalid("username", "1 to 64 characters"));
    }
    if !value.starts_with(|c: char| c.is_ascii_alphanumeric()) || !value.chars().all(ok_char) {
        return Err(invalid(
            "username",
            "letters, digits and . _ - @ +, starting with a letter or digit",
        ));
    }
    Ok(())
}

/// A group name: 1–64 characters from `A-Z a-z 0-9 . _ -` and spaces, starting with a letter
/// or digit, no trailing space.
pub(crate) fn group_name(value: &str) -> Result<(), Error> {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | ' ');
    if value.is_empty() || value.len() > 64 {
        return Err(invalid("name", "1 to 64 characters"));
    }
    if !value.starts_with(|c: char| c.is_ascii_alphanumeric())
        || value.ends_with(' ')
        || !value.chars().all(ok_char)
    {
        return Err(invalid(
            "name",
            "letters, digits, spaces and . _ -, starting with a letter or digit",
        ));
    }
    Ok(())
}

/// An e-mail address: `local@domain`, no spaces, at most 254 characters.
pub(crate) fn email(value: &str) -> Result<(), Error> {
    let bad = || invalid("email", "an address of the form name@example.org");
    if value.len() > 254 || value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad());
    }
    let (local, domain) = value.rsplit_once('@').ok_or_else(bad)?;
    if local.is_empty() || domain.is_empty() || local.contains('@') || domain.starts_with('.') {
        return Err(bad());
    }
    if !domain.contains('.') || domain.ends_with('.') {
        return Err(bad());
    }
    Ok(())
}

/// A telephone number: digits, spaces and `+ - ( ) .`, at most 32 characters.
pub(crate) fn phone(value: &str) -> Result<(), Error> {
    if value.is_empty()
        || value.len() > 32
        || !value
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '+' | '-' | '(' | ')' | '.'))
    {
        return Err(invalid(
            "phone",
            "digits, spaces and + - ( ) ., at most 32 characters",
        ));
    }
    Ok(())
}

/// An absolute path without control characters (home directory, login shell).
pub(crate) fn abs_path(field: &'static str, value: &str) -> Result<(), Error> {
    if !value.starts_with('/') || value.len() > 255 || value.chars().any(char::is_control) {
        return Err(invalid(field, "an absolute path, at most 255 characters"));
    }
    Ok(())
}

const SSH_KEY_TYPES: [&str; 7] = [
    "ssh-ed25519",
    "ssh-rsa",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
];

/// An OpenSSH public key line: `<type> <base64 blob> [comment]`, where the blob decodes and
/// names the same type — what `sshd` would accept in `authorized_keys`.
pub(crate) fn ssh_public_key(value: &str) -> Result<(), Error> {
    let bad = |why: &str| invalid("ssh_keys", why.to_string());
    if value.len() > 16 * 1024 || value.chars().any(char::is_control) {
        return Err(bad("one key per entry, at most 16 KiB"));
    }
    let mut parts = value.split_whitespace();
    let kind = parts.next().ok_or_else(|| bad("empty key"))?;
    if !SSH_KEY_TYPES.contains(&kind) {
        return Err(bad("unsupported key type"));
    }
    let blob = parts.next().ok_or_else(|| bad("key data missing"))?;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(blob)
        .map_err(|_| bad("key data is not base64"))?;
    let (len_bytes, rest) = raw
        .split_at_checked(4)
        .ok_or_else(|| bad("key data too short"))?;
    let len = u32::from_be_bytes(
        len_bytes
            .try_into()
            .map_err(|_| bad("key data too short"))?,
    ) as usize;
    if rest.get(..len) != Some(kind.as_bytes()) {
        return Err(bad("key data does not match its type"));
    }
    Ok(())
}

/// A custom attribute name: LDAP attribute-name syntax (`[A-Za-z][A-Za-z0-9-]*`, at most 64),
/// not one of the names the directory itself serves.
pub(crate) fn custom_attribute_name(name: &str) -> Result<(), Error> {
    const RESERVED: [&str; 24] = [
        "uid",
        "cn",
        "sn",
        "givenname",
        "displayname",
        "mail",
        "telephonenumber",
        "uidnumber",
        "gidnumber",
        "homedirectory",
        "loginshell",
        "sshpublickey",
        "memberof",
        "member",
        "memberuid",
        "objectclass",
        "entryuuid",
        "createtimestamp",
        "modifytimestamp",
        "userpassword",
        "dn",
        "entrydn",
        "description",
        "o",
    ];
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if !ok {
        return Err(invalid(
            "custom",
            format!("{name:?} is not an attribute name (a letter, then letters, digits or -)"),
        ));
    }
    if RESERVED.contains(&name.to_ascii_lowercase().as_str()) {
        return Err(invalid(
            "custom",
            format!("{name:?} is served by the directory itself"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ED25519: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl alice@laptop";

    #[test]
    fn usernames() {
        for ok in ["alice", "svc-ldap", "a.b_c", "alice@example.org", "7"] {
            username(ok).unwrap();
        }
        for bad in ["", "-x", ".x", "a b", "a,b", "a=b", "é", &"x".repeat(65)] {
            assert!(username(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn emails() {
        email("alice@example.org").unwrap();
        for bad in [
            "alice",
            "@x.org",
            "a@",
            "a@b",
            "a b@x.org",
            "a@.org",
            "a@x.org.",
        ] {
            assert!(email(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn ssh_keys() {
        ssh_public_key(ED25519).unwrap();
        assert!(ssh_public_key(
            "ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
        )
        .is_err());
        assert!(ssh_public_key("ssh-ed25519 !!!").is_err());
        assert!(ssh_public_key("ssh-dss AAAA").is_err());
        assert!(ssh_public_key("").is_err());
    }

    #[test]
    fn custom_names() {
        custom_attribute_name("employeeNumber").unwrap();
        custom_attribute_name("x-badge").unwrap();
        assert!(custom_attribute_name("memberOf").is_err());
        assert!(custom_attribute_name("1abc").is_err());
        assert!(custom_attribute_name("a b").is_err());
    }
}
