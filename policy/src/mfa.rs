//! When a second factor (TOTP) is required, and how a code appended to the password is told
//! apart from the password. It owns those two rules; it must not verify codes, keep TOTP
//! secrets or know group membership (the caller passes the user's groups, transitively closed).

use crate::protocol::Protocol;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// The separator between a password and an appended TOTP code when nothing else is configured.
pub const DEFAULT_SEPARATOR: &str = ",";

/// The number of digits of a TOTP code (RFC 6238 as Tessera uses it).
pub const CODE_DIGITS: usize = 6;

/// Where and for whom TOTP is required, for one tenant. `G` identifies a group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(bound(serialize = "G: Serialize", deserialize = "G: Ord + Deserialize<'de>"))]
pub struct MfaPolicy<G> {
    /// The protocols on which TOTP is required.
    pub protocols: BTreeSet<Protocol>,
    /// The part of `protocols` enforced by an ancestor tenant: there, local exemptions do not
    /// apply (see [`crate::settings`]).
    pub enforced_protocols: BTreeSet<Protocol>,
    /// TOTP is required only for members of these groups; empty means everyone.
    pub required_groups: BTreeSet<G>,
    /// Members of these groups are exempt, except on `enforced_protocols`.
    pub exempt_groups: BTreeSet<G>,
    /// What separates an appended code from the password (see [`split_appended`]).
    pub separator: String,
}

impl<G> Default for MfaPolicy<G> {
    /// TOTP required on the admin surface only, for everyone, nothing enforced, separator `,`.
    fn default() -> Self {
        MfaPolicy {
            protocols: BTreeSet::from([Protocol::Admin]),
            enforced_protocols: BTreeSet::new(),
            required_groups: BTreeSet::new(),
            exempt_groups: BTreeSet::new(),
            separator: DEFAULT_SEPARATOR.to_string(),
        }
    }
}

/// Whether a user in `user_groups` (every group the user belongs to, transitively) must give a
/// TOTP code to authenticate through `protocol`.
///
/// Required iff the protocol is one of `policy.protocols`, and `required_groups` is empty or
/// the user is in one of them, and the user is not exempt — where an exemption (membership of
/// an `exempt_groups` group) does not count on a protocol in `enforced_protocols`.
/// [`Protocol::Internal`] is never an authentication and never requires a code.
pub fn requires_totp<G: Ord>(
    policy: &MfaPolicy<G>,
    protocol: Protocol,
    user_groups: &BTreeSet<G>,
) -> bool {
    if protocol == Protocol::Internal || !policy.protocols.contains(&protocol) {
        return false;
    }
    let targeted =
        policy.required_groups.is_empty() || !policy.required_groups.is_disjoint(user_groups);
    let exempt = !policy.exempt_groups.is_disjoint(user_groups)
        && !policy.enforced_protocols.contains(&protocol);
    targeted && !exempt
}

/// Splits a secret that may carry a TOTP code appended to the password, as clients that have one
/// password field (LDAP simple bind, RADIUS PAP, VPN dialogs) send it. Returns
/// `Some((password, code))`, or `None` when the secret carries no code.
///
/// The rule, the one place this ambiguity is decided:
///
/// - It applies only when TOTP is required for this authentication and no code was given
///   separately. When TOTP is not required the secret is never split, so passwords may contain
///   the separator freely.
/// - With a non-empty separator, the code is the text after the **last** occurrence of the
///   separator if it is exactly 6 ASCII digits (`0`–`9`; other scripts' digits do not count);
///   the password is everything before that occurrence, and must not be empty.
/// - With an empty separator, the code is the last 6 characters if they are ASCII digits and
///   the secret is longer than 6 characters; the password is the rest.
/// - Otherwise there is no code (`None`): the caller treats the whole secret as the password
///   and asks for the code in a challenge (RADIUS Access-Challenge, the SAML TOTP step) or
///   refuses.
///
/// So a password that itself ends with `<separator><6 digits>` is always split when MFA is
/// required: such a user must use the challenge flow and give the code separately. Passwords
/// that merely contain the separator elsewhere are unaffected, because only the last
/// occurrence is considered and the code after it must be exactly six digits.
pub fn split_appended<'a>(secret: &'a str, separator: &str) -> Option<(&'a str, &'a str)> {
    let (password, code) = if separator.is_empty() {
        let at = secret.len().checked_sub(CODE_DIGITS)?;
        // `get` refuses a cut inside a multi-byte character: then the tail is not ASCII digits.
        (secret.get(..at)?, secret.get(at..)?)
    } else {
        secret.rsplit_once(separator)?
    };
    let is_code = code.len() == CODE_DIGITS && code.bytes().all(|b| b.is_ascii_digit());
    (is_code && !password.is_empty()).then_some((password, code))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn groups(ids: &[u32]) -> BTreeSet<u32> {
        ids.iter().copied().collect()
    }

    #[test]
    fn default_requires_admin_only() {
        let p = MfaPolicy::<u32>::default();
        assert!(requires_totp(&p, Protocol::Admin, &groups(&[])));
        for proto in [
            Protocol::Ldap,
            Protocol::Radius,
            Protocol::Saml,
            Protocol::Internal,
        ] {
            assert!(!requires_totp(&p, proto, &groups(&[1])), "{proto}");
        }
        assert_eq!(p.separator, ",");
    }

    #[test]
    fn required_and_exempt_groups() {
        let p = MfaPolicy {
            protocols: BTreeSet::from([Protocol::Radius, Protocol::Saml]),
            enforced_protocols: BTreeSet::from([Protocol::Saml]),
            required_groups: groups(&[1, 2]),
            exempt_groups: groups(&[9]),
            separator: ",".into(),
        };
        assert!(requires_totp(&p, Protocol::Radius, &groups(&[2, 5])));
        assert!(!requires_totp(&p, Protocol::Radius, &groups(&[5])));
        assert!(!requires_totp(&p, Protocol::Ldap, &groups(&[1])));
        // Exempt locally on RADIUS, but SAML is enforced from above.
        assert!(!requires_totp(&p, Protocol::Radius, &groups(&[1, 9])));
        assert!(requires_totp(&p, Protocol::Saml, &groups(&[1, 9])));
        // Exemption does not make a non-targeted user targeted.
        assert!(!requires_totp(&p, Protocol::Saml, &groups(&[9])));
    }

    #[test]
    fn internal_never_requires() {
        let p = MfaPolicy::<u32> {
            protocols: BTreeSet::from([Protocol::Internal]),
            enforced_protocols: BTreeSet::from([Protocol::Internal]),
            ..MfaPolicy::default()
        };
        assert!(!requires_totp(&p, Protocol::Internal, &groups(&[])));
    }

    #[test]
    fn serde_round_trip() {
        let p = MfaPolicy {
            protocols: BTreeSet::from([Protocol::Ldap, Protocol::Admin]),
            enforced_protocols: BTreeSet::from([Protocol::Ldap]),
            required_groups: BTreeSet::from(["staff".to_string()]),
            exempt_groups: BTreeSet::new(),
            separator: "|".into(),
        };
        let json = serde_json::to_string(&p).unwrap();
        assert_eq!(serde_json::from_str::<MfaPolicy<String>>(&json).unwrap(), p);
    }

    #[test]
    fn split_at_the_last_separator() {
        assert_eq!(
            split_appended("secret,123456", ","),
            Some(("secret", "123456"))
        );
        // The password may contain the separator.
        assert_eq!(
            split_appended("a,b,c,123456", ","),
            Some(("a,b,c", "123456"))
        );
        assert_eq!(split_appended("a,123456,b", ","), None);
        assert_eq!(split_appended("no code, here", ","), None);
        assert_eq!(split_appended("pass,word", ","), None);
        // A password ending in separator + 6 digits is split: the challenge flow is the way out.
        assert_eq!(
            split_appended("hunter,000000,654321", ","),
            Some(("hunter,000000", "654321"))
        );
    }

    #[test]
    fn the_code_is_exactly_six_ascii_digits() {
        assert_eq!(split_appended("secret,12345", ","), None);
        assert_eq!(split_appended("secret,1234567", ","), None);
        assert_eq!(split_appended("secret,12345a", ","), None);
        assert_eq!(split_appended("secret, 12345", ","), None);
        assert_eq!(split_appended("secret,123456 ", ","), None);
        // Arabic-Indic and full-width digits are digits, but not a TOTP code.
        assert_eq!(split_appended("secret,١٢٣٤٥٦", ","), None);
        assert_eq!(split_appended("secret,１２３４５６", ","), None);
        assert_eq!(split_appended("secret,", ","), None);
    }

    #[test]
    fn the_password_must_not_be_empty() {
        assert_eq!(split_appended(",123456", ","), None);
        assert_eq!(split_appended("123456", ""), None);
        assert_eq!(split_appended("", ""), None);
        assert_eq!(split_appended("", ","), None);
    }

    #[test]
    fn multi_character_separator() {
        assert_eq!(
            split_appended("pw::otp::123456", "::"),
            Some(("pw::otp", "123456"))
        );
        // The last occurrence, even when occurrences overlap.
        assert_eq!(split_appended("pw:::123456", "::"), Some(("pw:", "123456")));
        assert_eq!(split_appended("pw:123456", "::"), None);
        assert_eq!(split_appended("pwé→123456", "é→"), Some(("pw", "123456")));
    }

    #[test]
    fn empty_separator_takes_the_last_six_characters() {
        assert_eq!(
            split_appended("secret123456", ""),
            Some(("secret", "123456"))
        );
        assert_eq!(split_appended("s1234567", ""), Some(("s1", "234567")));
        assert_eq!(split_appended("x123456", ""), Some(("x", "123456")));
        assert_eq!(split_appended("secret12345a", ""), None);
        assert_eq!(split_appended("geheimé12345", ""), None);
        assert_eq!(split_appended("pässwörd١٢٣٤٥٦", ""), None);
        assert_eq!(split_appended("€€", ""), None);
    }

    proptest! {
        #[test]
        fn split_then_join_gives_the_secret_back(
            head in "\\PC{0,10}",
            tail in "[,:0-9]{0,9}",
            sep in prop_oneof![Just(String::new()), Just(",".to_string()), Just("::".to_string()), "\\PC{1,3}"],
        ) {
            let secret = format!("{head}{tail}");
            if let Some((pw, code)) = split_appended(&secret, &sep) {
                prop_assert_eq!(format!("{pw}{sep}{code}"), secret.clone());
                prop_assert!(!pw.is_empty());
                prop_assert_eq!(code.len(), 6);
                prop_assert!(code.bytes().all(|b| b.is_ascii_digit()));
            }
        }

        /// With a separator free of digits, the occurrence just before the code is the last one:
        /// any later one would overlap the code.
        #[test]
        fn an_appended_code_is_always_recovered(pw in "\\PC{1,20}", code in "[0-9]{6}", sep in prop_oneof![Just(String::new()), "[,;|:#]{1,2}"]) {
            let secret = format!("{pw}{sep}{code}");
            prop_assert_eq!(split_appended(&secret, &sep), Some((pw.as_str(), code.as_str())));
        }
    }
}
