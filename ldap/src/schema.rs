//! The schema the frontend serves: every attribute type (name, aliases, OID, syntax, matching,
//! which entries carry it) and object class, as one static table, and their RFC 4512
//! descriptions for the subschema entry. It owns names and rules only: building entries is
//! `entry`'s job, matching values is `filter`'s.

/// The kinds of entry in the DIT, as bits, so an attribute can say where it appears.
pub(crate) mod kinds {
    /// The suffix entry (`dc=tessera,dc=local`).
    pub(crate) const SUFFIX: u8 = 1;
    /// A tenant (`o=<slug>`).
    pub(crate) const TENANT: u8 = 2;
    /// `ou=Users` / `ou=Groups` of a tenant.
    pub(crate) const OU: u8 = 4;
    /// A user.
    pub(crate) const USER: u8 = 8;
    /// A group.
    pub(crate) const GROUP: u8 = 16;
    /// The root DSE and the subschema entry.
    pub(crate) const DSE: u8 = 32;
    /// Every entry of the DIT (not the DSEs).
    pub(crate) const DIT: u8 = SUFFIX | TENANT | OU | USER | GROUP;
    /// Everything.
    pub(crate) const ALL: u8 = DIT | DSE;
}

/// How values of an attribute are compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rule {
    /// caseIgnoreMatch: case folded, insignificant spaces removed.
    CaseIgnore,
    /// caseExactMatch / caseExactIA5Match / octetStringMatch: insignificant spaces removed
    /// only for strings, bytes as they are.
    CaseExact,
    /// integerMatch.
    Integer,
    /// distinguishedNameMatch.
    Dn,
    /// generalizedTimeMatch.
    Time,
    /// objectIdentifierMatch (object class names, case-insensitively).
    Oid,
    /// booleanMatch.
    Boolean,
    /// telephoneNumberMatch: case, spaces and hyphens ignored.
    Telephone,
    /// uuidMatch.
    Uuid,
}

/// One attribute type.
#[derive(Debug)]
pub(crate) struct AttrType {
    /// Its canonical name, as returned.
    pub(crate) name: &'static str,
    /// Other names it answers to (lower case).
    pub(crate) aliases: &'static [&'static str],
    /// Its OID.
    pub(crate) oid: &'static str,
    /// Its syntax OID.
    pub(crate) syntax: &'static str,
    /// How values compare.
    pub(crate) rule: Rule,
    /// Whether it holds one value at most.
    pub(crate) single: bool,
    /// Returned only when asked for by name or with `+`.
    pub(crate) operational: bool,
    /// Computed by the server; clients cannot write it.
    pub(crate) no_user_mod: bool,
    /// Which entries carry it (`kinds` bits).
    pub(crate) on: u8,
}

impl AttrType {
    /// Whether `name` (any case, an alias or the OID) names this type ([`attr`] answers it
    /// for all types at once).
    #[cfg(test)]
    pub(crate) fn is(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name)
            || self.oid == name
            || self.aliases.iter().any(|a| a.eq_ignore_ascii_case(name))
    }
}

const DIRECTORY_STRING: &str = "1.3.6.1.4.1.1466.115.121.1.15";
const IA5_STRING: &str = "1.3.6.1.4.1.1466.115.121.1.26";
const INTEGER: &str = "1.3.6.1.4.1.1466.115.121.1.27";
const DN: &str = "1.3.6.1.4.1.1466.115.121.1.12";
const GENERALIZED_TIME: &str = "1.3.6.1.4.1.1466.115.121.1.24";
const OID: &str = "1.3.6.1.4.1.1466.115.121.1.38";
const OCTET_STRING: &str = "1.3.6.1.4.1.1466.115.121.1.40";
const BOOLEAN: &str = "1.3.6.1.4.1.1466.115.121.1.7";
const TELEPHONE: &str = "1.3.6.1.4.1.1466.115.121.1.50";
const UUID: &str = "1.3.6.1.1.16.1";
const ATTRIBUTE_TYPE_DESCRIPTION: &str = "1.3.6.1.4.1.1466.115.121.1.3";
const OBJECT_CLASS_DESCRIPTION: &str = "1.3.6.1.4.1.1466.115.121.1.37";

use kinds::*;

macro_rules! attr {
    ($name:literal, [$($alias:literal),*], $oid:literal, $syntax:expr, $rule:ident, single: $single:literal, op: $op:literal, nomod: $nomod:literal, on: $on:expr) => {
        AttrType {
            name: $name,
            aliases: &[$($alias),*],
            oid: $oid,
            syntax: $syntax,
            rule: Rule::$rule,
            single: $single,
            operational: $op,
            no_user_mod: $nomod,
            on: $on,
        }
    };
}

/// `objectClass`.
pub(crate) static OBJECT_CLASS: AttrType =
    attr!("objectClass", [], "2.5.4.0", OID, Oid, single: false, op: false, nomod: false, on: ALL);
/// `cn`.
pub(crate) static CN: AttrType = attr!("cn", ["commonname"], "2.5.4.3", DIRECTORY_STRING, CaseIgnore, single: false, op: false, nomod: false, on: USER | GROUP | DSE);
/// `sn`.
pub(crate) static SN: AttrType = attr!("sn", ["surname"], "2.5.4.4", DIRECTORY_STRING, CaseIgnore, single: false, op: false, nomod: false, on: USER);
/// `givenName`.
pub(crate) static GIVEN_NAME: AttrType = attr!("givenName", ["gn"], "2.5.4.42", DIRECTORY_STRING, CaseIgnore, single: false, op: false, nomod: false, on: USER);
/// `displayName`.
pub(crate) static DISPLAY_NAME: AttrType = attr!("displayName", [], "2.16.840.1.113730.3.1.241", DIRECTORY_STRING, CaseIgnore, single: true, op: false, nomod: false, on: USER);
/// `uid`.
pub(crate) static UID: AttrType = attr!("uid", ["userid"], "0.9.2342.19200300.100.1.1", DIRECTORY_STRING, CaseIgnore, single: false, op: false, nomod: false, on: USER);
/// `mail`.
pub(crate) static MAIL: AttrType = attr!("mail", ["rfc822mailbox"], "0.9.2342.19200300.100.1.3", IA5_STRING, CaseIgnore, single: false, op: false, nomod: false, on: USER);
/// `telephoneNumber`.
pub(crate) static TELEPHONE_NUMBER: AttrType = attr!("telephoneNumber", [], "2.5.4.20", TELEPHONE, Telephone, single: false, op: false, nomod: false, on: USER);
/// `uidNumber`.
pub(crate) static UID_NUMBER: AttrType = attr!("uidNumber", [], "1.3.6.1.1.1.1.0", INTEGER, Integer, single: true, op: false, nomod: false, on: USER);
/// `gidNumber`.
pub(crate) static GID_NUMBER: AttrType = attr!("gidNumber", [], "1.3.6.1.1.1.1.1", INTEGER, Integer, single: true, op: false, nomod: false, on: USER | GROUP);
/// `homeDirectory`.
pub(crate) static HOME_DIRECTORY: AttrType = attr!("homeDirectory", [], "1.3.6.1.1.1.1.3", IA5_STRING, CaseExact, single: true, op: false, nomod: false, on: USER);
/// `loginShell`.
pub(crate) static LOGIN_SHELL: AttrType = attr!("loginShell", [], "1.3.6.1.1.1.1.4", IA5_STRING, CaseExact, single: true, op: false, nomod: false, on: USER);
/// `sshPublicKey`.
pub(crate) static SSH_PUBLIC_KEY: AttrType = attr!("sshPublicKey", [], "1.3.6.1.4.1.24552.500.1.1.1.13", OCTET_STRING, CaseExact, single: false, op: false, nomod: false, on: USER);
/// `memberOf`.
pub(crate) static MEMBER_OF: AttrType = attr!("memberOf", [], "1.2.840.113556.1.2.102", DN, Dn, single: false, op: false, nomod: true, on: USER | GROUP);
/// `member`.
pub(crate) static MEMBER: AttrType =
    attr!("member", [], "2.5.4.31", DN, Dn, single: false, op: false, nomod: false, on: GROUP);
/// `memberUid`.
pub(crate) static MEMBER_UID: AttrType = attr!("memberUid", [], "1.3.6.1.1.1.1.12", IA5_STRING, CaseExact, single: false, op: false, nomod: false, on: GROUP);
/// `description`.
pub(crate) static DESCRIPTION: AttrType = attr!("description", [], "2.5.4.13", DIRECTORY_STRING, CaseIgnore, single: false, op: false, nomod: false, on: TENANT | GROUP);
/// `o`.
pub(crate) static ORG: AttrType = attr!("o", ["organizationname"], "2.5.4.10", DIRECTORY_STRING, CaseIgnore, single: false, op: false, nomod: false, on: SUFFIX | TENANT);
/// `ou`.
pub(crate) static ORG_UNIT: AttrType = attr!("ou", ["organizationalunitname"], "2.5.4.11", DIRECTORY_STRING, CaseIgnore, single: false, op: false, nomod: false, on: OU);
/// `dc`.
pub(crate) static DC: AttrType = attr!("dc", ["domaincomponent"], "0.9.2342.19200300.100.1.25", IA5_STRING, CaseIgnore, single: true, op: false, nomod: false, on: SUFFIX);
/// `businessCategory`.
pub(crate) static BUSINESS_CATEGORY: AttrType = attr!("businessCategory", [], "2.5.4.15", DIRECTORY_STRING, CaseIgnore, single: false, op: false, nomod: false, on: TENANT);
/// `userPassword`.
pub(crate) static USER_PASSWORD: AttrType = attr!("userPassword", [], "2.5.4.35", OCTET_STRING, CaseExact, single: false, op: false, nomod: false, on: 0);
/// `entryUUID`.
pub(crate) static ENTRY_UUID: AttrType = attr!("entryUUID", [], "1.3.6.1.1.16.4", UUID, Uuid, single: true, op: true, nomod: true, on: USER | GROUP | TENANT);
/// `createTimestamp`.
pub(crate) static CREATE_TIMESTAMP: AttrType = attr!("createTimestamp", [], "2.5.18.1", GENERALIZED_TIME, Time, single: true, op: true, nomod: true, on: USER | GROUP | TENANT | OU);
/// `modifyTimestamp`.
pub(crate) static MODIFY_TIMESTAMP: AttrType = attr!("modifyTimestamp", [], "2.5.18.2", GENERALIZED_TIME, Time, single: true, op: true, nomod: true, on: USER | GROUP | TENANT | OU);
/// `entryDN`.
pub(crate) static ENTRY_DN: AttrType =
    attr!("entryDN", [], "1.3.6.1.1.20", DN, Dn, single: true, op: true, nomod: true, on: DIT);
/// `subschemaSubentry`.
pub(crate) static SUBSCHEMA_SUBENTRY: AttrType = attr!("subschemaSubentry", [], "2.5.18.10", DN, Dn, single: true, op: true, nomod: true, on: DIT | DSE);
/// `hasSubordinates`.
pub(crate) static HAS_SUBORDINATES: AttrType = attr!("hasSubordinates", [], "2.5.18.9", BOOLEAN, Boolean, single: true, op: true, nomod: true, on: DIT);
/// `namingContexts`.
pub(crate) static NAMING_CONTEXTS: AttrType = attr!("namingContexts", [], "1.3.6.1.4.1.1466.101.120.5", DN, Dn, single: false, op: true, nomod: true, on: DSE);
/// `supportedLDAPVersion`.
pub(crate) static SUPPORTED_LDAP_VERSION: AttrType = attr!("supportedLDAPVersion", [], "1.3.6.1.4.1.1466.101.120.15", INTEGER, Integer, single: false, op: true, nomod: true, on: DSE);
/// `supportedExtension`.
pub(crate) static SUPPORTED_EXTENSION: AttrType = attr!("supportedExtension", [], "1.3.6.1.4.1.1466.101.120.7", OID, Oid, single: false, op: true, nomod: true, on: DSE);
/// `supportedControl`.
pub(crate) static SUPPORTED_CONTROL: AttrType = attr!("supportedControl", [], "1.3.6.1.4.1.1466.101.120.13", OID, Oid, single: false, op: true, nomod: true, on: DSE);
/// `supportedFeatures`.
pub(crate) static SUPPORTED_FEATURES: AttrType = attr!("supportedFeatures", [], "1.3.6.1.4.1.4203.1.3.5", OID, Oid, single: false, op: true, nomod: true, on: DSE);
/// `vendorName`.
pub(crate) static VENDOR_NAME: AttrType = attr!("vendorName", [], "1.3.6.1.1.4", DIRECTORY_STRING, CaseExact, single: true, op: true, nomod: true, on: DSE);
/// `vendorVersion`.
pub(crate) static VENDOR_VERSION: AttrType = attr!("vendorVersion", [], "1.3.6.1.1.5", DIRECTORY_STRING, CaseExact, single: true, op: true, nomod: true, on: DSE);
/// `attributeTypes`.
pub(crate) static ATTRIBUTE_TYPES: AttrType = attr!("attributeTypes", [], "2.5.21.5", ATTRIBUTE_TYPE_DESCRIPTION, CaseIgnore, single: false, op: true, nomod: true, on: DSE);
/// `objectClasses`.
pub(crate) static OBJECT_CLASSES: AttrType = attr!("objectClasses", [], "2.5.21.6", OBJECT_CLASS_DESCRIPTION, CaseIgnore, single: false, op: true, nomod: true, on: DSE);

/// Every attribute type served, user attributes first. userPassword is accepted in writes
/// (through password policy) and never part of an entry.
pub(crate) static ATTRS: &[&AttrType] = &[
    &OBJECT_CLASS,
    &CN,
    &SN,
    &GIVEN_NAME,
    &DISPLAY_NAME,
    &UID,
    &MAIL,
    &TELEPHONE_NUMBER,
    &UID_NUMBER,
    &GID_NUMBER,
    &HOME_DIRECTORY,
    &LOGIN_SHELL,
    &SSH_PUBLIC_KEY,
    &MEMBER_OF,
    &MEMBER,
    &MEMBER_UID,
    &DESCRIPTION,
    &ORG,
    &ORG_UNIT,
    &DC,
    &BUSINESS_CATEGORY,
    &USER_PASSWORD,
    &ENTRY_UUID,
    &CREATE_TIMESTAMP,
    &MODIFY_TIMESTAMP,
    &ENTRY_DN,
    &SUBSCHEMA_SUBENTRY,
    &HAS_SUBORDINATES,
    &NAMING_CONTEXTS,
    &SUPPORTED_LDAP_VERSION,
    &SUPPORTED_EXTENSION,
    &SUPPORTED_CONTROL,
    &SUPPORTED_FEATURES,
    &VENDOR_NAME,
    &VENDOR_VERSION,
    &ATTRIBUTE_TYPES,
    &OBJECT_CLASSES,
];

/// The attribute type a name (any case, alias or OID) stands for.
pub(crate) fn attr(name: &str) -> Option<&'static AttrType> {
    // Every search names attributes (its filter, its selection, DNs): one hash lookup of the
    // name folded to lower case on the stack, instead of comparing it with every type.
    let mut buf = [0u8; NAME_MAX];
    let folded = buf.get_mut(..name.len())?;
    folded.copy_from_slice(name.as_bytes());
    folded.make_ascii_lowercase();
    BY_NAME.get(std::str::from_utf8(folded).ok()?).copied()
}

/// Longer than any name, alias or OID of [`ATTRS`] (a test checks it).
const NAME_MAX: usize = 64;

/// Every name, alias and OID of [`ATTRS`] in lower case, to the first type that has it (as
/// [`AttrType::is`] over [`ATTRS`] in order would find it; OIDs have no letters to fold).
static BY_NAME: std::sync::LazyLock<std::collections::HashMap<String, &'static AttrType>> =
    std::sync::LazyLock::new(|| {
        let mut m = std::collections::HashMap::new();
        for a in ATTRS {
            for n in std::iter::once(a.name)
                .chain(std::iter::once(a.oid))
                .chain(a.aliases.iter().copied())
            {
                m.entry(n.to_ascii_lowercase()).or_insert(*a);
            }
        }
        m
    });

/// Whether an object class is structural, auxiliary or abstract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ClassKind {
    Abstract,
    Structural,
    Auxiliary,
}

/// One object class.
#[derive(Debug)]
pub(crate) struct ObjectClass {
    pub(crate) name: &'static str,
    pub(crate) oid: &'static str,
    pub(crate) sup: Option<&'static str>,
    pub(crate) kind: ClassKind,
    pub(crate) must: &'static [&'static str],
    pub(crate) may: &'static [&'static str],
}

/// Every object class served. posixGroup is auxiliary (RFC 2307bis) so a group can be a
/// groupOfNames too.
pub(crate) static CLASSES: &[ObjectClass] = &[
    ObjectClass {
        name: "top",
        oid: "2.5.6.0",
        sup: None,
        kind: ClassKind::Abstract,
        must: &["objectClass"],
        may: &[],
    },
    ObjectClass {
        name: "person",
        oid: "2.5.6.6",
        sup: Some("top"),
        kind: ClassKind::Structural,
        must: &["sn", "cn"],
        may: &["userPassword", "telephoneNumber", "description"],
    },
    ObjectClass {
        name: "organizationalPerson",
        oid: "2.5.6.7",
        sup: Some("person"),
        kind: ClassKind::Structural,
        must: &[],
        may: &["ou"],
    },
    ObjectClass {
        name: "inetOrgPerson",
        oid: "2.16.840.1.113730.3.2.2",
        sup: Some("organizationalPerson"),
        kind: ClassKind::Structural,
        must: &[],
        may: &["displayName", "givenName", "mail", "uid"],
    },
    ObjectClass {
        name: "posixAccount",
        oid: "1.3.6.1.1.1.2.0",
        sup: Some("top"),
        kind: ClassKind::Auxiliary,
        must: &["cn", "uid", "uidNumber", "gidNumber", "homeDirectory"],
        may: &["userPassword", "loginShell", "description"],
    },
    ObjectClass {
        name: "ldapPublicKey",
        oid: "1.3.6.1.4.1.24552.500.1.1.2.0",
        sup: Some("top"),
        kind: ClassKind::Auxiliary,
        must: &[],
        may: &["sshPublicKey", "uid"],
    },
    ObjectClass {
        name: "groupOfNames",
        oid: "2.5.6.9",
        sup: Some("top"),
        kind: ClassKind::Structural,
        must: &["cn"],
        may: &["member", "description", "o", "ou"],
    },
    ObjectClass {
        name: "posixGroup",
        oid: "1.3.6.1.1.1.2.2",
        sup: Some("top"),
        kind: ClassKind::Auxiliary,
        must: &["gidNumber"],
        may: &["memberUid", "description", "userPassword"],
    },
    ObjectClass {
        name: "organization",
        oid: "2.5.6.4",
        sup: Some("top"),
        kind: ClassKind::Structural,
        must: &["o"],
        may: &["description", "businessCategory", "telephoneNumber"],
    },
    ObjectClass {
        name: "organizationalUnit",
        oid: "2.5.6.5",
        sup: Some("top"),
        kind: ClassKind::Structural,
        must: &["ou"],
        may: &["description"],
    },
    ObjectClass {
        name: "dcObject",
        oid: "1.3.6.1.4.1.1466.344",
        sup: Some("top"),
        kind: ClassKind::Auxiliary,
        must: &["dc"],
        may: &[],
    },
    ObjectClass {
        name: "extensibleObject",
        oid: "1.3.6.1.4.1.1466.101.120.111",
        sup: Some("top"),
        kind: ClassKind::Auxiliary,
        must: &[],
        may: &[],
    },
    ObjectClass {
        name: "subschema",
        oid: "2.5.20.1",
        sup: None,
        kind: ClassKind::Auxiliary,
        must: &[],
        may: &["attributeTypes", "objectClasses"],
    },
];

/// The object class a name (any case) or OID stands for.
pub(crate) fn class(name: &str) -> Option<&'static ObjectClass> {
    CLASSES
        .iter()
        .find(|c| c.name.eq_ignore_ascii_case(name) || c.oid == name)
}

/// The `attributeTypes` values of the subschema entry (RFC 4512 §4.1.2).
pub(crate) fn attribute_type_descriptions() -> Vec<String> {
    ATTRS
        .iter()
        .map(|a| {
            let mut names = vec![a.name];
            names.extend(a.aliases.iter().map(|al| canonical_alias(al)));
            let names = if names.len() == 1 {
                format!("'{}'", a.name)
            } else {
                format!(
                    "( {} )",
                    names
                        .iter()
                        .map(|n| format!("'{n}'"))
                        .collect::<Vec<_>>()
                        .join(" ")
                )
            };
            let (eq, ord, sub) = match a.rule {
                Rule::CaseIgnore => (
                    Some("caseIgnoreMatch"),
                    Some("caseIgnoreOrderingMatch"),
                    Some("caseIgnoreSubstringsMatch"),
                ),
                Rule::CaseExact if a.syntax == OCTET_STRING => {
                    (Some("octetStringMatch"), None, None)
                }
                Rule::CaseExact if a.syntax == IA5_STRING => (
                    Some("caseExactIA5Match"),
                    None,
                    Some("caseExactIA5SubstringsMatch"),
                ),
                Rule::CaseExact => (
                    Some("caseExactMatch"),
                    Some("caseExactOrderingMatch"),
                    Some("caseExactSubstringsMatch"),
                ),
                Rule::Integer => (Some("integerMatch"), Some("integerOrderingMatch"), None),
                Rule::Dn => (Some("distinguishedNameMatch"), None, None),
                Rule::Time => (
                    Some("generalizedTimeMatch"),
                    Some("generalizedTimeOrderingMatch"),
                    None,
                ),
                Rule::Oid => (Some("objectIdentifierMatch"), None, None),
                Rule::Boolean => (Some("booleanMatch"), None, None),
                Rule::Telephone => (
                    Some("telephoneNumberMatch"),
                    None,
                    Some("telephoneNumberSubstringsMatch"),
                ),
                Rule::Uuid => (Some("UUIDMatch"), Some("UUIDOrderingMatch"), None),
            };
            let mut d = format!("( {} NAME {names}", a.oid);
            if let Some(eq) = eq {
                d.push_str(&format!(" EQUALITY {eq}"));
            }
            if let Some(ord) = ord {
                d.push_str(&format!(" ORDERING {ord}"));
            }
            if let Some(sub) = sub {
                d.push_str(&format!(" SUBSTR {sub}"));
            }
            d.push_str(&format!(" SYNTAX {}", a.syntax));
            if a.single {
                d.push_str(" SINGLE-VALUE");
            }
            if a.no_user_mod {
                d.push_str(" NO-USER-MODIFICATION");
            }
            if a.operational {
                d.push_str(if a.on & DSE != 0 && a.on & DIT == 0 {
                    " USAGE dSAOperation"
                } else {
                    " USAGE directoryOperation"
                });
            }
            d.push_str(" )");
            d
        })
        .collect()
}

/// The customary spelling of an alias (the table keeps them lower case for matching).
fn canonical_alias(alias: &str) -> &str {
    match alias {
        "commonname" => "commonName",
        "surname" => "surname",
        "userid" => "userid",
        "rfc822mailbox" => "rfc822Mailbox",
        "organizationname" => "organizationName",
        "organizationalunitname" => "organizationalUnitName",
        "domaincomponent" => "domainComponent",
        other => other,
    }
}

/// The `objectClasses` values of the subschema entry (RFC 4512 §4.1.1).
pub(crate) fn object_class_descriptions() -> Vec<String> {
    CLASSES
        .iter()
        .map(|c| {
            let mut d = format!("( {} NAME '{}'", c.oid, c.name);
            if let Some(sup) = c.sup {
                d.push_str(&format!(" SUP {sup}"));
            }
            d.push_str(match c.kind {
                ClassKind::Abstract => " ABSTRACT",
                ClassKind::Structural => " STRUCTURAL",
                ClassKind::Auxiliary => " AUXILIARY",
            });
            let list = |v: &[&str]| {
                if v.len() == 1 {
                    v.join("")
                } else {
                    format!("( {} )", v.join(" $ "))
                }
            };
            if !c.must.is_empty() {
                d.push_str(&format!(" MUST {}", list(c.must)));
            }
            if !c.may.is_empty() {
                d.push_str(&format!(" MAY {}", list(c.may)));
            }
            d.push_str(" )");
            d
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_aliases_and_oids_find_the_type() {
        assert_eq!(attr("CN").map(|a| a.name), Some("cn"));
        assert_eq!(attr("commonName").map(|a| a.name), Some("cn"));
        assert_eq!(attr("2.5.4.3").map(|a| a.name), Some("cn"));
        assert_eq!(attr("USERID").map(|a| a.name), Some("uid"));
        assert_eq!(attr("rfc822Mailbox").map(|a| a.name), Some("mail"));
        assert!(attr("nonsense").is_none());
        assert_eq!(
            class("INETORGPERSON").map(|c| c.name),
            Some("inetOrgPerson")
        );
    }

    #[test]
    fn every_class_names_only_served_attributes_and_classes() {
        for c in CLASSES {
            for a in c.must.iter().chain(c.may) {
                assert!(attr(a).is_some(), "{} names {a}", c.name);
            }
            if let Some(s) = c.sup {
                assert!(class(s).is_some(), "{} has SUP {s}", c.name);
            }
        }
        let d = object_class_descriptions();
        assert!(d
            .iter()
            .any(|x| x.starts_with("( 2.5.6.6 NAME 'person' SUP top STRUCTURAL MUST ( sn $ cn )")));
        let a = attribute_type_descriptions();
        assert!(a.iter().any(|x| x == "( 2.5.4.3 NAME ( 'cn' 'commonName' ) EQUALITY caseIgnoreMatch ORDERING caseIgnoreOrderingMatch SUBSTR caseIgnoreSubstringsMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 )"), "{a:#?}");
        assert!(!a.iter().any(|x| x.contains("  ")));
    }

    #[test]
    fn lookup_by_name_finds_what_a_scan_of_the_types_finds() {
        let scan = |n: &str| ATTRS.iter().copied().find(|a| a.is(n));
        let mut names: Vec<String> = [
            "",
            "nosuch",
            "CN;lang-en",
            "c n",
            "2.5.4.3 ",
            "ÄuID",
            "uidNumberX",
        ]
        .map(String::from)
        .to_vec();
        names.push("x".repeat(NAME_MAX + 1));
        for a in ATTRS {
            assert!(a.name.len() < NAME_MAX && a.oid.len() < NAME_MAX);
            for n in std::iter::once(a.name)
                .chain(std::iter::once(a.oid))
                .chain(a.aliases.iter().copied())
            {
                assert!(n.len() < NAME_MAX, "{n}");
                names.push(n.to_string());
                names.push(n.to_ascii_uppercase());
                names.push(n.to_ascii_lowercase());
            }
        }
        for n in &names {
            assert_eq!(attr(n).map(|a| a.name), scan(n).map(|a| a.name), "{n:?}");
        }
        assert!(attr("MEMBEROF").is_some_and(|a| std::ptr::eq(a, &MEMBER_OF)));
    }
}
