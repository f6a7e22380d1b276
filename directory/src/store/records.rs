//! Which types are stored as values, and the small value types of indexes and counters. It owns
//! the `Record` impls so the model stays free of storage concerns.

use super::codec::Record;
use crate::model::{Application, Assignment, AuditEvent, Group, Role, Tenant, User};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// An index entry: the id of the entity it points to.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Ptr<T> {
    pub(crate) id: T,
}

impl<T: Serialize + DeserializeOwned> Record for Ptr<T> {
    const WHAT: &'static str = "index entry";
}

/// A user's or a group's record read for its name alone: decoding skips every other field
/// (records are maps with named fields), so a big group's first member list reads its members
/// without decoding whole users.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub(crate) struct NameOf {
    #[serde(alias = "username")]
    pub(crate) name: String,
}

impl Record for NameOf {
    const WHAT: &'static str = "name of a user or group";
}

/// A counter's next value.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CounterValue {
    pub(crate) next: u64,
}

impl Record for CounterValue {
    const WHAT: &'static str = "counter";
}

macro_rules! record {
    ($t:ty, $what:literal) => {
        impl Record for $t {
            const WHAT: &'static str = $what;
        }
    };
}

record!(Tenant, "tenant");
record!(User, "user");
record!(Group, "group");
record!(Application, "application");
record!(Role, "role");
record!(Assignment, "assignment");
record!(AuditEvent, "audit event");
record!(crate::model::credentials::Credentials, "credentials");
record!(crate::model::TenantPolicy, "policy");
record!(tessera_policy::lockout::LockState, "lock state");
record!(crate::model::token::TokenRecord, "token");

/// Authentication events the journal wrote as one record of the audit log, under the key of the
/// first: one tenant's, in (time, id) order, at most [`AUDIT_RECORD_SPAN_MICROS`] apart. One
/// stored value per journal commit and tenant instead of one per event keeps the audit writes of
/// a busy frontend cheap; readers expand it (a record of the log is either this or one event).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub(crate) struct AuditRecords {
    pub(crate) events: Vec<AuditEvent>,
}

record!(AuditRecords, "audit records");

/// How far apart in time the events of one [`AuditRecords`] may be: a reader looking for events
/// from a time `t` on starts at the records keyed from `t` minus this.
pub(crate) const AUDIT_RECORD_SPAN_MICROS: i64 = 1_000_000;

/// The events of one stored record of the audit log: several written together by the journal,
/// or one.
pub(crate) fn audit_events(value: &[u8]) -> Result<Vec<AuditEvent>, crate::error::Error> {
    match super::codec::decode::<AuditRecords>(value) {
        Ok(r) => Ok(r.events),
        Err(_) => Ok(vec![super::codec::decode::<AuditEvent>(value)?]),
    }
}

/// An authentication event for tests: user `u<n>` of `tenant` at `at` (microseconds), its id
/// made of the byte `n`.
#[cfg(test)]
pub(crate) fn sample_login(tenant: crate::model::TenantId, at: i64, n: u8) -> AuditEvent {
    AuditEvent {
        id: crate::model::EventId::from_uuid(uuid::Uuid::from_bytes([n; 16])),
        tenant,
        at: tessera_policy::Timestamp(at),
        kind: crate::model::AuditKind::Authentication,
        actor: format!("t/u{n}"),
        source: None,
        protocol: crate::actor::Protocol::Radius,
        action: "auth.radius".into(),
        target: format!("user:u{n}"),
        application: None,
        outcome: "success".into(),
        reason: Some("success".into()),
        before: None,
        after: None,
    }
}

/// The value of a token-hash index entry.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TokenRef {
    pub(crate) tenant: crate::model::TenantId,
    pub(crate) id: crate::model::TokenId,
}

impl Record for TokenRef {
    const WHAT: &'static str = "token index entry";
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Status, TenantId, UserId, UserKind};
    use crate::store::codec;

    /// The user record as the first release wrote it (no e-mail, names, POSIX, keys, custom
    /// attributes, kind or status): records written before a field was added must still read.
    #[derive(Serialize)]
    struct UserAsFirstWritten {
        id: UserId,
        tenant: TenantId,
        username: String,
        created_at: tessera_policy::Timestamp,
        updated_at: tessera_policy::Timestamp,
    }
    impl Record for UserAsFirstWritten {
        const WHAT: &'static str = "old user";
    }
    impl<'de> Deserialize<'de> for UserAsFirstWritten {
        fn deserialize<D: serde::Deserializer<'de>>(_: D) -> Result<Self, D::Error> {
            Err(serde::de::Error::custom("write-only test type"))
        }
    }

    #[test]
    fn a_user_written_before_fields_were_added_still_reads() {
        let old = UserAsFirstWritten {
            id: UserId::from_uuid(uuid::Uuid::from_bytes([1; 16])),
            tenant: TenantId::from_uuid(uuid::Uuid::from_bytes([2; 16])),
            username: "alice".into(),
            created_at: tessera_policy::Timestamp(5),
            updated_at: tessera_policy::Timestamp(6),
        };
        let bytes = codec::encode(&old).unwrap();
        let u: User = codec::decode(&bytes).unwrap();
        assert_eq!(u.username, "alice");
        assert_eq!(u.kind, UserKind::Person);
        assert_eq!(u.status, Status::Active);
        assert_eq!(u.email, None);
        assert!(u.ssh_keys.is_empty() && u.custom.is_empty() && u.posix.is_none());
    }

    fn round_trip<T: Record + PartialEq + std::fmt::Debug>(v: T) {
        let back: T = codec::decode(&codec::encode(&v).unwrap()).unwrap();
        assert_eq!(back, v);
    }

    /// Every stored type, with every optional part filled, survives the codec.
    #[test]
    fn every_record_round_trips() {
        use crate::model::*;
        use std::collections::{BTreeMap, BTreeSet};
        use tessera_policy::{Area, Permission, Right, RightSet, TenantKind, Timestamp};
        let t = TenantId::from_uuid(uuid::Uuid::from_bytes([1; 16]));
        let g = GroupId::from_uuid(uuid::Uuid::from_bytes([3; 16]));
        let at = Timestamp(1_767_225_600_000_000);
        round_trip(Tenant {
            id: t,
            parent: Some(t),
            kind: TenantKind::ManagedMsp,
            slug: "s".into(),
            name: "S".into(),
            status: Status::Suspended,
            created_at: at,
            updated_at: at,
        });
        round_trip(User {
            id: UserId::from_uuid(uuid::Uuid::from_bytes([2; 16])),
            tenant: t,
            username: "alice".into(),
            kind: UserKind::Service,
            status: Status::Active,
            email: Some("a@x.org".into()),
            given_name: Some("A".into()),
            family_name: Some("B".into()),
            display_name: Some("A B".into()),
            phone: Some("+1 555".into()),
            posix: Some(Posix {
                uid_number: 10000,
                gid_number: 10001,
                home: "/home/a".into(),
                shell: "/bin/sh".into(),
            }),
            ssh_keys: vec!["ssh-ed25519 AAAA".into()],
            custom: BTreeMap::from([("badge".to_string(), vec!["7".to_string()])]),
            created_at: at,
            updated_at: at,
        });
        round_trip(Group {
            id: g,
            tenant: t,
            name: "wifi".into(),
            description: Some("d".into()),
            gid_number: 10002,
            attributes: GroupAttributes {
                radius: RadiusAttributes {
                    vlan: Some(42),
                    reply: vec![ReplyAttribute {
                        name: "Filter-Id".into(),
                        value: "x".into(),
                    }],
                },
            },
            created_at: at,
            updated_at: at,
        });
        let kinds = [
            AppKind::Ldap(LdapService {
                flatten_nested_groups: true,
            }),
            AppKind::Radius(RadiusClient {
                addresses: vec!["10.0.0.0/8".parse().unwrap(), "::1/128".parse().unwrap()],
                secret: SharedSecret::new("0123456789abcdef"),
                require_message_authenticator: false,
                reply: vec![ReplyAttribute {
                    name: "Class".into(),
                    value: "c".into(),
                }],
            }),
            AppKind::Saml(SamlServiceProvider {
                entity_id: "https://sp".into(),
                acs_urls: vec![AcsUrl {
                    index: 1,
                    url: "https://sp/acs".into(),
                    default: true,
                }],
                name_id_format: NameIdFormat::Persistent,
                attribute_mapping: BTreeMap::from([("mail".to_string(), "email".to_string())]),
                options: Default::default(),
            }),
        ];
        for kind in kinds {
            round_trip(Application {
                id: AppId::from_uuid(uuid::Uuid::from_bytes([4; 16])),
                tenant: t,
                name: "a".into(),
                kind,
                bound_groups: BTreeSet::from([g]),
                created_at: at,
                updated_at: at,
            });
        }
        let rights = RightSet::from_entries([
            (Area::Users, Right::Read, Permission::Allow),
            (Area::Audit, Right::Execute, Permission::Deny),
        ]);
        let r = RoleId::from_uuid(uuid::Uuid::from_bytes([5; 16]));
        round_trip(Role {
            id: r,
            tenant: t,
            name: "Ops~~1".into(),
            description: Some("x".into()),
            rights,
            propagate: false,
            source: Some(RoleSource { tenant: t, role: r }),
            builtin: false,
            created_at: at,
            updated_at: at,
        });
        round_trip(Assignment {
            id: AssignmentId::from_uuid(uuid::Uuid::from_bytes([6; 16])),
            scope: t,
            subject: Subject::Group { tenant: t, id: g },
            rights,
            roles: vec![r],
            expires_at: Some(at),
            created_at: at,
        });
        round_trip(AuditEvent {
            id: EventId::from_uuid(uuid::Uuid::from_bytes([7; 16])),
            tenant: t,
            at,
            kind: AuditKind::Authentication,
            actor: "acme/tech1".into(),
            source: Some("127.0.0.1".parse().unwrap()),
            protocol: crate::actor::Protocol::Radius,
            action: "auth.radius".into(),
            target: "user:alice".into(),
            application: Some("office-wifi".into()),
            outcome: "failure".into(),
            reason: Some("bad credentials".into()),
            before: Some(serde_json::json!({"a": [1, "x", null, true, 2.5]})),
            after: None,
        });
    }
}
