//! The benchmark's dataset, defined once so slapd's LDIF, Tessera's seed and the load generator
//! agree on every name, DN, password and membership: users `user-00000`…, groups of 100
//! consecutive users, a few big groups, and the `ldap-users` group of the users that bind.
//! Pure: it computes names and numbers, it writes nothing and opens nothing.

use std::ops::Range;

/// The LDAP suffix both servers serve.
pub const SUFFIX: &str = "dc=tessera,dc=local";
/// Users per ordinary group (`group-NNNN` holds users `NNNN*100 .. NNNN*100+99`).
pub const GROUP_SIZE: usize = 100;
/// Big groups `big-K`: every user whose index is `K` modulo 10.
pub const BIG_GROUPS: usize = 3;
/// The group of the users allowed to bind (bound to Tessera's LDAP service).
pub const BINDERS_GROUP: &str = "ldap-users";
/// The service account the searches bind as.
pub const SERVICE_USER: &str = "svc-bench";
/// Its password (same on both servers).
pub const SERVICE_PASSWORD: &str = "Sb-Qx7!Rm2-Wk9Ht4z";
/// First uidNumber; user `i` has `FIRST_UID + i`.
pub const FIRST_UID: u32 = 10_000;
/// First gidNumber; `group-g` has `FIRST_GID + g`, big groups and `ldap-users` follow them.
pub const FIRST_GID: u32 = 200_000;

/// Letters for passwords: no digits and no `u`, so no password can contain a user's name or
/// number (Tessera's policy refuses those), whatever the seed.
const PASSWORD_ALPHABET: &[u8] = b"abcdefghijkmnopqrstvwxyzABCDEFGHJKLMNPQRSTVWXYZ";

/// One tenant's worth of benchmark data.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// The tenant's slug (`o=<slug>` in the DIT).
    pub slug: String,
    /// How many users exist (all are searchable).
    pub users: usize,
    /// How many of them (`user-00000` on) have a password and may bind. Hashing costs ~20 ms a
    /// user, so not all of 100k get one; both servers get the same ones.
    pub password_users: usize,
}

/// The attributes of one user, as both servers store them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserAttrs {
    /// `uid` (Tessera's username).
    pub uid: String,
    /// `givenName`.
    pub given: String,
    /// `sn`.
    pub family: String,
    /// `cn` and `displayName`.
    pub display: String,
    /// `mail`.
    pub mail: String,
    /// `uidNumber`.
    pub uid_number: u32,
    /// `gidNumber`: the user's ordinary group.
    pub gid_number: u32,
    /// `homeDirectory`.
    pub home: String,
}

/// SplitMix64: a fixed, dependency-free mixer for reproducible choices.
pub fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

impl Dataset {
    /// `o=<slug>,dc=tessera,dc=local`.
    pub fn tenant_dn(&self) -> String {
        format!("o={},{SUFFIX}", self.slug)
    }

    /// Where the users live.
    pub fn users_base(&self) -> String {
        format!("ou=Users,{}", self.tenant_dn())
    }

    /// Where the groups live.
    pub fn groups_base(&self) -> String {
        format!("ou=Groups,{}", self.tenant_dn())
    }

    /// `user-NNNNN`.
    pub fn username(i: usize) -> String {
        format!("user-{i:05}")
    }

    /// The DN of a user by name.
    pub fn dn_of(&self, username: &str) -> String {
        format!("uid={username},{}", self.users_base())
    }

    /// The DN of user `i`.
    pub fn user_dn(&self, i: usize) -> String {
        self.dn_of(&Self::username(i))
    }

    /// The service account's DN.
    pub fn service_dn(&self) -> String {
        self.dn_of(SERVICE_USER)
    }

    /// The DN of a group by name.
    pub fn group_dn(&self, name: &str) -> String {
        format!("cn={name},{}", self.groups_base())
    }

    /// User `i`'s password: `Lb-` and 16 letters from a seeded mix, deterministic.
    pub fn password(i: usize) -> String {
        let n = PASSWORD_ALPHABET.len() as u64;
        let letters = (0..16u64).map(|j| {
            let x = mix(0x7e55_e7a0_0000_0000 ^ ((i as u64) << 8) ^ j);
            char::from(
                PASSWORD_ALPHABET
                    .get((x % n) as usize)
                    .copied()
                    .unwrap_or(b'x'),
            )
        });
        let mut s = String::from("Lb-");
        s.extend(letters);
        s
    }

    /// The attributes of user `i`.
    pub fn user(&self, i: usize) -> UserAttrs {
        let uid = Self::username(i);
        let given = format!("Given{i}");
        let family = format!("Family{i}");
        UserAttrs {
            display: format!("{given} {family}"),
            mail: format!("{uid}@{}.example", self.slug),
            uid_number: FIRST_UID + i as u32,
            gid_number: FIRST_GID + (i / GROUP_SIZE) as u32,
            home: format!("/home/{uid}"),
            uid,
            given,
            family,
        }
    }

    /// How many ordinary groups there are.
    pub fn group_count(&self) -> usize {
        self.users.div_ceil(GROUP_SIZE)
    }

    /// `group-NNNN`.
    pub fn group_name(g: usize) -> String {
        format!("group-{g:04}")
    }

    /// The users of ordinary group `g`.
    pub fn group_members(&self, g: usize) -> Range<usize> {
        let start = (g * GROUP_SIZE).min(self.users);
        start..((g + 1) * GROUP_SIZE).min(self.users)
    }

    /// `big-K`.
    pub fn big_name(k: usize) -> String {
        format!("big-{k}")
    }

    /// The users of big group `k`.
    pub fn big_members(&self, k: usize) -> impl Iterator<Item = usize> {
        (k..self.users).step_by(10)
    }

    /// The users with a password, in `ldap-users` (with the service account).
    pub fn binders(&self) -> Range<usize> {
        0..self.password_users.min(self.users)
    }

    /// gidNumber of ordinary group `g`.
    pub fn group_gid(g: usize) -> u32 {
        FIRST_GID + g as u32
    }

    /// gidNumber of big group `k` (after the ordinary ones).
    pub fn big_gid(&self, k: usize) -> u32 {
        FIRST_GID + (self.group_count() + k) as u32
    }

    /// gidNumber of `ldap-users`.
    pub fn binders_gid(&self) -> u32 {
        FIRST_GID + (self.group_count() + BIG_GROUPS) as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_stable_distinct_and_free_of_names() {
        assert_eq!(Dataset::password(7), Dataset::password(7));
        let all: std::collections::HashSet<String> = (0..5000).map(Dataset::password).collect();
        assert_eq!(all.len(), 5000);
        for p in &all {
            assert_eq!(p.len(), 19);
            let l = p.to_lowercase();
            assert!(!l.contains("user") && !l.chars().any(|c| c.is_ascii_digit()));
        }
    }

    /// Tessera refuses passwords that contain a name of the user (tokens of 3+ characters):
    /// every generated one must pass its default policy, or seeding fails.
    #[test]
    fn passwords_meet_tessera_default_policy() {
        use tessera_directory::policy::password::{check_password, PasswordPolicy};
        let d = Dataset {
            slug: "bench".into(),
            users: 3000,
            password_users: 3000,
        };
        let policy = PasswordPolicy::default();
        for i in 0..d.users {
            let u = d.user(i);
            let local = u.mail.split('@').next().unwrap_or("").to_string();
            let names = [u.uid.as_str(), &u.display, &u.given, &u.family, &local];
            check_password(&policy, &Dataset::password(i), &names)
                .unwrap_or_else(|e| panic!("user {i}: {e:?}"));
        }
        let svc = [SERVICE_USER, "LDAP service account"];
        check_password(&policy, SERVICE_PASSWORD, &svc).unwrap();
    }

    #[test]
    fn groups_cover_every_user_once() {
        let d = Dataset {
            slug: "bench".into(),
            users: 1050,
            password_users: 10,
        };
        assert_eq!(d.group_count(), 11);
        let n: usize = (0..d.group_count()).map(|g| d.group_members(g).len()).sum();
        assert_eq!(n, 1050);
        assert_eq!(d.group_members(10), 1000..1050);
        assert_eq!(d.user(1049).gid_number, Dataset::group_gid(10));
        assert_eq!(
            d.user_dn(3),
            "uid=user-00003,ou=Users,o=bench,dc=tessera,dc=local"
        );
    }
}
