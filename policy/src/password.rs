//! The password policy and its pure evaluation: length, character classes, the user's own names,
//! the offline list of common passwords, and expiry arithmetic. It owns the vocabulary of
//! password problems every frontend shows. It must not hash, store or compare against stored
//! hashes (password history is checked by the caller, which reports [`PasswordProblem::Reused`]),
//! and it must not read a clock: `now` is a parameter.

use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::sync::LazyLock;

/// The longest password accepted, in characters (Unicode scalar values): hashing cost is bounded
/// and nobody types more.
pub const MAX_PASSWORD_CHARS: u16 = 256;

/// Names (and name tokens) shorter than this, in characters, are not looked for in a password:
/// a two-letter given name would forbid too many good passwords.
pub const MIN_NAME_CHARS: usize = 3;

/// What a new password must satisfy. Inherited down the tenant tree through
/// [`crate::settings`]; the default follows NIST SP 800-63B (length over composition rules, no
/// periodic expiry, refuse known-common passwords).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PasswordPolicy {
    /// Minimum length in characters (Unicode scalar values). An empty password is never
    /// accepted, whatever this says; a value above [`MAX_PASSWORD_CHARS`] is treated as
    /// [`MAX_PASSWORD_CHARS`] (see [`PasswordPolicy::required_length`]).
    pub min_length: u16,
    /// At least one upper-case letter (Unicode `Uppercase`).
    pub require_upper: bool,
    /// At least one lower-case letter (Unicode `Lowercase`).
    pub require_lower: bool,
    /// At least one digit (any Unicode numeric character).
    pub require_digit: bool,
    /// At least one character that is neither a letter nor a digit (white space counts).
    pub require_special: bool,
    /// Days after which a password expires; `None` never. `Some(0)` means a password is expired
    /// as soon as it is set (the strictest value, kept literal so the strictness order holds).
    pub max_age_days: Option<u32>,
    /// How many previous passwords may not be reused (checked by the caller).
    pub history: u8,
    /// Refuse passwords containing the user's names (see [`check_password`]).
    pub disallow_user_names: bool,
    /// Refuse passwords on the offline common-password list (see [`is_common`]).
    pub refuse_common: bool,
}

impl Default for PasswordPolicy {
    /// At least 12 characters, no composition rules, no expiry, the last 5 passwords not
    /// reusable, the user's names and common passwords refused.
    fn default() -> Self {
        PasswordPolicy {
            min_length: 12,
            require_upper: false,
            require_lower: false,
            require_digit: false,
            require_special: false,
            max_age_days: None,
            history: 5,
            disallow_user_names: true,
            refuse_common: true,
        }
    }
}

impl PasswordPolicy {
    /// The length [`check_password`] actually requires: `min_length` raised to 1 (an empty
    /// password is never a credential; in LDAP it would be an unauthenticated bind) and capped at
    /// [`MAX_PASSWORD_CHARS`] (so the policy can always be met).
    pub fn required_length(&self) -> u16 {
        self.min_length.clamp(1, MAX_PASSWORD_CHARS)
    }
}

/// Why a proposed password was refused. One vocabulary for every frontend; the `Display` text is
/// a sentence fit to show the user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum PasswordProblem {
    /// Fewer characters than the policy requires.
    #[error("The password must be at least {min} characters long.")]
    TooShort {
        /// The required length, in characters.
        min: u16,
    },
    /// More than [`MAX_PASSWORD_CHARS`] characters.
    #[error("The password must be at most {max} characters long.")]
    TooLong {
        /// The longest accepted length, in characters.
        max: u16,
    },
    /// No upper-case letter, and the policy requires one.
    #[error("The password must contain an upper-case letter.")]
    MissingUpper,
    /// No lower-case letter, and the policy requires one.
    #[error("The password must contain a lower-case letter.")]
    MissingLower,
    /// No digit, and the policy requires one.
    #[error("The password must contain a digit.")]
    MissingDigit,
    /// No character other than letters and digits, and the policy requires one.
    #[error("The password must contain a character that is neither a letter nor a digit.")]
    MissingSpecial,
    /// A control character (newline, tab, NUL…): such passwords cannot be typed into every
    /// login form and are mangled by some protocols.
    #[error("The password must not contain control characters such as tabs or line breaks.")]
    ControlCharacter,
    /// The password contains the user's name, or part of it.
    #[error("The password must not contain your name or user name.")]
    ContainsUserName,
    /// The password is on the list of commonly used passwords.
    #[error("The password is too common: it appears on lists of frequently used passwords.")]
    Common,
    /// The password is one of the user's recent passwords (the caller checks the history).
    #[error("The password was used recently: choose one you have not used before.")]
    Reused,
}

/// Checks a proposed password against `policy`, reporting every problem at once (in a fixed
/// order: length, control characters, character classes, names, common list).
///
/// - Length counts Unicode scalar values; see [`PasswordPolicy::required_length`] and
///   [`MAX_PASSWORD_CHARS`].
/// - Classes are Unicode aware: upper and lower case as Unicode defines them, a digit is any
///   numeric character, a special character is anything not alphanumeric (white space included).
/// - `user_names` are the user's username, display name, given and family names, the local part
///   of the e-mail address… When `disallow_user_names` is set, the password is refused if,
///   compared case-insensitively, it contains any of those names of at least
///   [`MIN_NAME_CHARS`] characters, or any token of at least [`MIN_NAME_CHARS`] characters of
///   a name split at white space, `.`, `-`, `_` and `@` (so "Anna-Lena Berg" refuses "lena" and
///   "berg" as well as the whole name).
/// - When `refuse_common` is set, the password is refused if [`is_common`] holds.
///
/// History ([`PasswordProblem::Reused`]) is the caller's to check: it needs the stored hashes.
pub fn check_password(
    policy: &PasswordPolicy,
    password: &str,
    user_names: &[&str],
) -> Result<(), Vec<PasswordProblem>> {
    let mut problems = Vec::new();

    let length = password.chars().count();
    let required = policy.required_length();
    if length < usize::from(required) {
        problems.push(PasswordProblem::TooShort { min: required });
    }
    if length > usize::from(MAX_PASSWORD_CHARS) {
        problems.push(PasswordProblem::TooLong {
            max: MAX_PASSWORD_CHARS,
        });
    }
    if password.chars().any(char::is_control) {
        problems.push(PasswordProblem::ControlCharacter);
    }
    if policy.require_upper && !password.chars().any(char::is_uppercase) {
        problems.push(PasswordProblem::MissingUpper);
    }
    if policy.require_lower && !password.chars().any(char::is_lowercase) {
        problems.push(PasswordProblem::MissingLower);
    }
    if policy.require_digit && !password.chars().any(char::is_numeric) {
        problems.push(PasswordProblem::MissingDigit);
    }
    if policy.require_special && !password.chars().any(|c| !c.is_alphanumeric()) {
        problems.push(PasswordProblem::MissingSpecial);
    }
    if policy.disallow_user_names && contains_user_name(password, user_names) {
        problems.push(PasswordProblem::ContainsUserName);
    }
    if policy.refuse_common && is_common(password) {
        problems.push(PasswordProblem::Common);
    }

    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

/// Whether `password`, compared case-insensitively, contains one of `names` or one of their
/// tokens (see [`check_password`]).
fn contains_user_name(password: &str, names: &[&str]) -> bool {
    let haystack = password.to_lowercase();
    let long_enough = |s: &&str| s.chars().count() >= MIN_NAME_CHARS;
    names.iter().any(|name| {
        std::iter::once(*name)
            .chain(name.split(is_name_separator))
            .filter(long_enough)
            .any(|part| haystack.contains(&part.to_lowercase()))
    })
}

fn is_name_separator(c: char) -> bool {
    c.is_whitespace() || matches!(c, '.' | '-' | '_' | '@')
}

/// The offline list, one lower-case password per line (see `data/README.md` for its source).
static COMMON_PASSWORDS: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    include_str!("../data/common-passwords.txt")
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect()
});

/// Whether `password` is, compared case-insensitively, one of the 10,000 most common passwords
/// of zxcvbn's frequency list (derived from Mark Burnett's 10 million password corpus). Exact
/// membership only: no leetspeak or suffix variants.
pub fn is_common(password: &str) -> bool {
    COMMON_PASSWORDS.contains(password.to_lowercase().as_str())
}

/// When a password set at `set_at` expires under `policy`, if ever: `max_age_days` whole days of
/// 86,400 seconds later.
pub fn expires_at(policy: &PasswordPolicy, set_at: Timestamp) -> Option<Timestamp> {
    policy
        .max_age_days
        .map(|days| set_at.plus_secs(i64::from(days).saturating_mul(86_400)))
}

/// Whether a password set at `set_at` has expired at `now`: from [`expires_at`] on (inclusive).
pub fn is_expired(policy: &PasswordPolicy, set_at: Timestamp, now: Timestamp) -> bool {
    expires_at(policy, set_at).is_some_and(|t| now >= t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn lenient() -> PasswordPolicy {
        PasswordPolicy {
            min_length: 1,
            disallow_user_names: false,
            refuse_common: false,
            ..PasswordPolicy::default()
        }
    }

    fn problems(policy: &PasswordPolicy, pw: &str, names: &[&str]) -> Vec<PasswordProblem> {
        check_password(policy, pw, names).err().unwrap_or_default()
    }

    #[test]
    fn default_is_nist_like() {
        let p = PasswordPolicy::default();
        assert_eq!(p.min_length, 12);
        assert!(!p.require_upper && !p.require_lower && !p.require_digit && !p.require_special);
        assert_eq!(p.max_age_days, None);
        assert_eq!(p.history, 5);
        assert!(p.disallow_user_names && p.refuse_common);
        assert_eq!(
            check_password(&p, "correct horse battery staple", &[]),
            Ok(())
        );
    }

    #[test]
    fn length_counts_characters_not_bytes() {
        let p = PasswordPolicy {
            min_length: 4,
            ..lenient()
        };
        // Four characters, twelve bytes.
        assert_eq!(check_password(&p, "ÄÖÜ€", &[]), Ok(()));
        assert_eq!(
            problems(&p, "äöü", &[]),
            vec![PasswordProblem::TooShort { min: 4 }]
        );
        let max = "é".repeat(usize::from(MAX_PASSWORD_CHARS));
        assert_eq!(check_password(&p, &max, &[]), Ok(()));
        assert_eq!(
            problems(&p, &format!("{max}x"), &[]),
            vec![PasswordProblem::TooLong { max: 256 }]
        );
    }

    #[test]
    fn empty_is_refused_and_min_length_is_capped() {
        let zero = PasswordPolicy {
            min_length: 0,
            ..lenient()
        };
        assert_eq!(
            problems(&zero, "", &[]),
            vec![PasswordProblem::TooShort { min: 1 }]
        );
        let huge = PasswordPolicy {
            min_length: 1000,
            ..lenient()
        };
        assert_eq!(huge.required_length(), MAX_PASSWORD_CHARS);
        assert_eq!(check_password(&huge, &"a".repeat(256), &[]), Ok(()));
    }

    #[test]
    fn classes_are_unicode_aware() {
        let p = PasswordPolicy {
            require_upper: true,
            require_lower: true,
            require_digit: true,
            require_special: true,
            ..lenient()
        };
        assert_eq!(
            problems(&p, "", &[]),
            vec![
                PasswordProblem::TooShort { min: 1 },
                PasswordProblem::MissingUpper,
                PasswordProblem::MissingLower,
                PasswordProblem::MissingDigit,
                PasswordProblem::MissingSpecial,
            ]
        );
        // Ä upper, ß lower, Arabic-Indic three a digit, § special.
        assert_eq!(check_password(&p, "Äß٣§", &[]), Ok(()));
        // Greek letters, no digit, space is special.
        assert_eq!(
            problems(&p, "Σσ ", &[]),
            vec![PasswordProblem::MissingDigit]
        );
        // Letters and digits of any script are not special.
        assert_eq!(
            problems(&p, "Aa1漢", &[]),
            vec![PasswordProblem::MissingSpecial]
        );
    }

    #[test]
    fn control_characters_are_refused() {
        for pw in ["tab\there", "line\nbreak", "nul\0", "del\u{7f}", "c1\u{85}"] {
            assert_eq!(
                problems(&lenient(), pw, &[]),
                vec![PasswordProblem::ControlCharacter],
                "{pw:?}"
            );
        }
        assert_eq!(check_password(&lenient(), "no controls here", &[]), Ok(()));
    }

    #[test]
    fn user_names_and_their_tokens_are_refused_case_insensitively() {
        let p = PasswordPolicy {
            disallow_user_names: true,
            ..lenient()
        };
        let names = ["jdoe", "Anna-Lena Berg", "anna.berg@example.com", "Al"];
        for pw in [
            "xxJDOExx",
            "my anna-lena berg!",
            "LENA2024",
            "bergsteiger",
            "EXAMPLE.org",
            "anna.berg@ex",
        ] {
            assert_eq!(
                problems(&p, pw, &names),
                vec![PasswordProblem::ContainsUserName],
                "{pw:?}"
            );
        }
        // "Al" is too short to count; the token "com" of the e-mail address is long enough.
        assert_eq!(check_password(&p, "totally fine pal", &names), Ok(()));
        assert_eq!(
            problems(&p, "welcome!", &names),
            vec![PasswordProblem::ContainsUserName]
        );
        // Case-insensitive beyond ASCII.
        assert_eq!(
            problems(&p, "ÖZTÜRK-rules", &["Öztürk"]),
            vec![PasswordProblem::ContainsUserName]
        );
        // Off when the policy says so.
        assert_eq!(check_password(&lenient(), "xxjdoexx", &names), Ok(()));
    }

    #[test]
    fn common_passwords_are_refused_case_insensitively() {
        assert_eq!(COMMON_PASSWORDS.len(), 10_000);
        assert!(is_common("password"));
        assert!(is_common("PassWord"));
        assert!(is_common("123456"));
        assert!(is_common("qwerty"));
        assert!(!is_common("correct horse battery staple"));
        assert!(!is_common(""));
        let p = PasswordPolicy {
            min_length: 1,
            disallow_user_names: false,
            ..PasswordPolicy::default()
        };
        assert_eq!(problems(&p, "Password", &[]), vec![PasswordProblem::Common]);
        assert_eq!(check_password(&lenient(), "Password", &[]), Ok(()));
    }

    #[test]
    fn every_listed_password_is_found_in_upper_case() {
        for line in include_str!("../data/common-passwords.txt").lines() {
            assert!(is_common(&line.to_uppercase()), "{line:?}");
        }
    }

    #[test]
    fn all_problems_at_once() {
        let p = PasswordPolicy {
            require_upper: true,
            require_digit: true,
            ..PasswordPolicy::default()
        };
        assert_eq!(
            problems(&p, "monkey", &["monkey"]),
            vec![
                PasswordProblem::TooShort { min: 12 },
                PasswordProblem::MissingUpper,
                PasswordProblem::MissingDigit,
                PasswordProblem::ContainsUserName,
                PasswordProblem::Common,
            ]
        );
    }

    #[test]
    fn problems_have_a_kind_tag_and_a_sentence() {
        let json = serde_json::to_string(&PasswordProblem::TooShort { min: 12 }).unwrap();
        assert_eq!(json, r#"{"kind":"too_short","min":12}"#);
        assert_eq!(
            serde_json::to_string(&PasswordProblem::ContainsUserName).unwrap(),
            r#"{"kind":"contains_user_name"}"#
        );
        assert_eq!(
            serde_json::from_str::<PasswordProblem>(r#"{"kind":"reused"}"#).unwrap(),
            PasswordProblem::Reused
        );
        assert_eq!(
            PasswordProblem::TooShort { min: 12 }.to_string(),
            "The password must be at least 12 characters long."
        );
    }

    #[test]
    fn policy_serde_fills_missing_fields_with_defaults() {
        let p: PasswordPolicy = serde_json::from_str(r#"{"min_length":16}"#).unwrap();
        assert_eq!(
            p,
            PasswordPolicy {
                min_length: 16,
                ..PasswordPolicy::default()
            }
        );
        let json = serde_json::to_string(&p).unwrap();
        assert_eq!(serde_json::from_str::<PasswordPolicy>(&json).unwrap(), p);
    }

    #[test]
    fn expiry() {
        let set = Timestamp::from_secs(1_000_000);
        let never = PasswordPolicy::default();
        assert_eq!(expires_at(&never, set), None);
        assert!(!is_expired(&never, set, Timestamp(i64::MAX)));

        let ninety = PasswordPolicy {
            max_age_days: Some(90),
            ..PasswordPolicy::default()
        };
        let end = set.plus_secs(90 * 86_400);
        assert_eq!(expires_at(&ninety, set), Some(end));
        assert!(!is_expired(&ninety, set, Timestamp(end.0 - 1)));
        assert!(is_expired(&ninety, set, end));

        let zero = PasswordPolicy {
            max_age_days: Some(0),
            ..PasswordPolicy::default()
        };
        assert!(is_expired(&zero, set, set));

        let far = PasswordPolicy {
            max_age_days: Some(u32::MAX),
            ..PasswordPolicy::default()
        };
        assert!(!is_expired(
            &far,
            Timestamp(i64::MAX - 1),
            Timestamp(i64::MAX - 1)
        ));
    }

    proptest! {
        #[test]
        fn check_never_panics_and_length_rule_is_exact(pw in "\\PC{0,300}", min in 0u16..300) {
            let p = PasswordPolicy { min_length: min, ..lenient() };
            let got = problems(&p, &pw, &["someone"]);
            let n = pw.chars().count();
            prop_assert_eq!(
                got.contains(&PasswordProblem::TooShort { min: p.required_length() }),
                n < usize::from(p.required_length())
            );
            prop_assert_eq!(got.contains(&PasswordProblem::TooLong { max: MAX_PASSWORD_CHARS }), n > 256);
        }

        #[test]
        fn a_name_embedded_anywhere_is_found(prefix in "[a-z0-9 ]{0,10}", name in "[a-zA-Z]{3,12}", suffix in "[a-z0-9 ]{0,10}") {
            let p = PasswordPolicy { disallow_user_names: true, ..lenient() };
            let pw = format!("{prefix}{}{suffix}", name.to_uppercase());
            prop_assert_eq!(problems(&p, &pw, &[&name]), vec![PasswordProblem::ContainsUserName]);
        }
    }
}
