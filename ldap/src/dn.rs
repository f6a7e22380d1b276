//! Distinguished names: parsing (RFC 4514, with the RFC 2253/1779 leniencies clients still send:
//! spaces around separators, `;`, quoted values), normalising for comparison (case and
//! insignificant spaces ignored, attribute aliases and OIDs folded), escaping, and the mapping
//! between DNs and the DIT: the suffix, `o=<slug>`, its `ou=Users` / `ou=Groups`, users at
//! `uid=<name>` and groups at `cn=<name>`. It must not look anything up: whether a named entry
//! exists is for the caller to ask the directory.

use crate::schema;

/// Why a string is not a DN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DnError(pub(crate) &'static str);

/// One attribute-value assertion of an RDN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Ava {
    /// The attribute type, canonical and lower case (`cn` for `commonName` or `2.5.4.3`).
    pub(crate) ty: String,
    /// The value, unescaped, as given.
    pub(crate) value: String,
    /// The value as compared: case folded, insignificant spaces removed.
    pub(crate) norm: String,
}

/// A relative distinguished name: one or more AVAs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Rdn {
    /// Sorted by (type, normalised value), so equal RDNs compare equal.
    pub(crate) avas: Vec<Ava>,
}

impl Rdn {
    /// Whether two RDNs name the same thing (types and normalised values).
    pub(crate) fn same(&self, other: &Rdn) -> bool {
        self.avas.len() == other.avas.len()
            && self
                .avas
                .iter()
                .zip(&other.avas)
                .all(|(a, b)| a.ty == b.ty && a.norm == b.norm)
    }

    /// The single AVA of a single-valued RDN of type `ty`.
    pub(crate) fn single(&self, ty: &str) -> Option<&Ava> {
        match self.avas.as_slice() {
            [a] if a.ty == ty => Some(a),
            _ => None,
        }
    }
}

/// A parsed DN, leaf first.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Dn {
    pub(crate) rdns: Vec<Rdn>,
}

/// The longest DN accepted, in bytes (the message size caps it anyway; this bounds the work).
const MAX_DN_LEN: usize = 8 * 1024;
/// The most RDNs accepted.
const MAX_RDNS: usize = 64;

impl Dn {
    /// The normalised string form: equal for DNs that name the same entry.
    pub(crate) fn normalized(&self) -> String {
        let mut out = String::new();
        for (i, rdn) in self.rdns.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            for (j, a) in rdn.avas.iter().enumerate() {
                if j > 0 {
                    out.push('+');
                }
                out.push_str(&a.ty);
                out.push('=');
                escape_into(&a.norm, &mut out);
            }
        }
        out
    }

    /// Whether `suffix` is this DN or one of its ancestors; the RDNs above it, top first.
    fn below<'a>(&'a self, suffix: &Dn) -> Option<impl Iterator<Item = &'a Rdn>> {
        let n = self.rdns.len().checked_sub(suffix.rdns.len())?;
        let (own, tail) = self.rdns.split_at(n);
        let same = tail.iter().zip(&suffix.rdns).all(|(a, b)| a.same(b));
        same.then(|| own.iter().rev())
    }
}

/// Parses a DN string.
pub(crate) fn parse(s: &str) -> Result<Dn, DnError> {
    if s.len() > MAX_DN_LEN {
        return Err(DnError("the DN is too long"));
    }
    let mut p = Parser {
        chars: s.chars().peekable(),
    };
    let mut dn = Dn::default();
    p.skip_spaces();
    if p.chars.peek().is_none() {
        return Ok(dn);
    }
    loop {
        let mut avas = Vec::new();
        loop {
            avas.push(p.ava()?);
            p.skip_spaces();
            match p.chars.next() {
                Some('+') => continue,
                Some(',' | ';') => break,
                None => {
                    dn.rdns.push(rdn(avas));
                    return Ok(dn);
                }
                Some(_) => return Err(DnError("expected ',' or '+' after a value")),
            }
        }
        dn.rdns.push(rdn(avas));
        if dn.rdns.len() > MAX_RDNS {
            return Err(DnError("too many RDNs"));
        }
    }
}

fn rdn(mut avas: Vec<Ava>) -> Rdn {
    avas.sort_by(|a, b| (&a.ty, &a.norm).cmp(&(&b.ty, &b.norm)));
    Rdn { avas }
}

struct Parser<'a> {
    chars: std::iter::Peekable<std::str::Chars<'a>>,
}

impl Parser<'_> {
    fn skip_spaces(&mut self) {
        while self.chars.next_if(|c| *c == ' ').is_some() {}
    }

    fn ava(&mut self) -> Result<Ava, DnError> {
        self.skip_spaces();
        let mut ty = String::new();
        while let Some(c) = self
            .chars
            .next_if(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '.')
        {
            ty.push(c);
        }
        if ty.is_empty() {
            return Err(DnError("an RDN has no attribute type"));
        }
        self.skip_spaces();
        if self.chars.next() != Some('=') {
            return Err(DnError("expected '=' after an attribute type"));
        }
        self.skip_spaces();
        let value = match self.chars.peek() {
            Some('#') => self.hex_value()?,
            Some('"') => self.quoted_value()?,
            _ => self.plain_value()?,
        };
        let ty = canonical_type(&ty);
        let norm = normalize_value(&value);
        Ok(Ava { ty, value, norm })
    }

    /// `#` followed by the hex of a BER value: kept as its (lower-case) hex text.
    fn hex_value(&mut self) -> Result<String, DnError> {
        let mut v = String::new();
        if let Some(c) = self.chars.next() {
            v.push(c);
        }
        while let Some(c) = self.chars.next_if(char::is_ascii_hexdigit) {
            v.push(c.to_ascii_lowercase());
        }
        if v.len() < 3 || v.len().is_multiple_of(2) {
            return Err(DnError("a '#' value is not hex pairs"));
        }
        Ok(v)
    }

    fn quoted_value(&mut self) -> Result<String, DnError> {
        self.chars.next();
        let mut bytes = Vec::new();
        loop {
            match self.chars.next() {
                None => return Err(DnError("an unterminated quoted value")),
                Some('"') => break,
                Some('\\') => self.escape(&mut bytes)?,
                Some(c) => push_char(&mut bytes, c),
            }
        }
        String::from_utf8(bytes).map_err(|_| DnError("a value is not UTF-8"))
    }

    fn plain_value(&mut self) -> Result<String, DnError> {
        let mut bytes = Vec::new();
        // Trailing spaces are insignificant unless escaped: remember where the escaped text
        // ends so only unescaped spaces after it are cut.
        let mut keep = 0;
        while let Some(&c) = self.chars.peek() {
            match c {
                ',' | ';' | '+' => break,
                '\\' => {
                    self.chars.next();
                    self.escape(&mut bytes)?;
                    keep = bytes.len();
                }
                '"' | '<' | '>' | '\0' => return Err(DnError("an unescaped special character")),
                _ => {
                    self.chars.next();
                    push_char(&mut bytes, c);
                    if c != ' ' {
                        keep = bytes.len();
                    }
                }
            }
        }
        bytes.truncate(keep);
        String::from_utf8(bytes).map_err(|_| DnError("a value is not UTF-8"))
    }

    fn escape(&mut self, bytes: &mut Vec<u8>) -> Result<(), DnError> {
        match self.chars.next() {
            Some(h) if h.is_ascii_hexdigit() => {
                let l = self
                    .chars
                    .next()
                    .filter(char::is_ascii_hexdigit)
                    .ok_or(DnError("a '\\' escape is not two hex digits"))?;
                let v = (hex(h) << 4) | hex(l);
                bytes.push(v);
                Ok(())
            }
            Some(c) if " \"#+,;<=>\\".contains(c) => {
                push_char(bytes, c);
                Ok(())
            }
            _ => Err(DnError("a '\\' escapes nothing that needs escaping")),
        }
    }
}

fn hex(c: char) -> u8 {
    c.to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
        .unwrap_or(0)
}

fn push_char(bytes: &mut Vec<u8>, c: char) {
    let mut buf = [0u8; 4];
    bytes.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
}

/// The canonical lower-case name of an attribute type in a DN.
fn canonical_type(ty: &str) -> String {
    let t = ty
        .strip_prefix("oid.")
        .or_else(|| ty.strip_prefix("OID."))
        .unwrap_or(ty);
    match schema::attr(t) {
        Some(a) => a.name.to_ascii_lowercase(),
        None => t.to_ascii_lowercase(),
    }
}

/// A value as compared: lower case, leading and trailing spaces removed, inner runs of white
/// space as one space.
pub(crate) fn normalize_value(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for word in v.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.extend(word.chars().flat_map(char::to_lowercase));
    }
    out
}

/// Escapes a value for a DN string (RFC 4514 §2.4).
pub(crate) fn escape_into(v: &str, out: &mut String) {
    // Most names need no escaping: the specials are ASCII, so a byte scan finds them.
    let plain = !v.starts_with(['#', ' '])
        && !v.ends_with(' ')
        && !v.bytes().any(|b| {
            matches!(
                b,
                b'"' | b'+' | b',' | b';' | b'<' | b'>' | b'\\' | b'=' | 0
            )
        });
    if plain {
        out.push_str(v);
        return;
    }
    let last = v.chars().count().saturating_sub(1);
    for (i, c) in v.chars().enumerate() {
        let special = matches!(c, '"' | '+' | ',' | ';' | '<' | '>' | '\\' | '=')
            || (i == 0 && (c == '#' || c == ' '))
            || (i == last && c == ' ');
        if c == '\0' {
            out.push_str("\\00");
        } else {
            if special {
                out.push('\\');
            }
            out.push(c);
        }
    }
}

/// Normalises a DN string, or `None` when it does not parse.
pub(crate) fn normalize(s: &str) -> Option<String> {
    parse(s).ok().map(|d| d.normalized())
}

/// The two containers of a tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Ou {
    /// `ou=Users`.
    Users,
    /// `ou=Groups`.
    Groups,
}

impl Ou {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Ou::Users => "Users",
            Ou::Groups => "Groups",
        }
    }
}

/// An entry of the DIT (or a DSE), by name; whether it exists is not known here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    /// The root DSE (the empty DN).
    RootDse,
    /// The subschema entry.
    Subschema,
    /// The suffix.
    Suffix,
    /// A tenant, by slug (lower case).
    Tenant(String),
    /// One of a tenant's containers.
    Ou(String, Ou),
    /// A user, by tenant slug and username as written.
    User(String, String),
    /// A group, by tenant slug and name as written.
    Group(String, String),
}

impl Target {
    /// The tenant slug the entry is in, if any.
    pub(crate) fn slug(&self) -> Option<&str> {
        match self {
            Target::Tenant(s) | Target::Ou(s, _) | Target::User(s, _) | Target::Group(s, _) => {
                Some(s)
            }
            Target::RootDse | Target::Subschema | Target::Suffix => None,
        }
    }

    /// The entry above this one in the DIT.
    pub(crate) fn parent(&self) -> Option<Target> {
        match self {
            Target::RootDse | Target::Subschema | Target::Suffix => None,
            Target::Tenant(_) => Some(Target::Suffix),
            Target::Ou(s, _) => Some(Target::Tenant(s.clone())),
            Target::User(s, _) => Some(Target::Ou(s.clone(), Ou::Users)),
            Target::Group(s, _) => Some(Target::Ou(s.clone(), Ou::Groups)),
        }
    }
}

/// Where a DN falls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Place {
    /// It names an entry of the DIT (which may or may not exist).
    Entry(Target),
    /// It is under the suffix but no entry of the DIT can have it; the deepest entry above it
    /// that could exist is given (for matchedDN).
    Below(Target),
    /// It is not under the suffix.
    Outside,
}

/// The DIT under one suffix: DN parsing into targets and DN building.
#[derive(Debug, Clone)]
pub(crate) struct Dit {
    suffix: Dn,
    /// The suffix as configured (how DNs are written).
    text: String,
}

/// The DN of the subschema entry.
pub(crate) const SUBSCHEMA_DN: &str = "cn=Subschema";

impl Dit {
    /// The DIT under `suffix`, which must be a non-empty DN.
    pub(crate) fn new(suffix: &str) -> Result<Dit, DnError> {
        let dn = parse(suffix)?;
        if dn.rdns.is_empty() {
            return Err(DnError("the suffix is empty"));
        }
        if dn.normalized() == "cn=subschema" {
            return Err(DnError("the suffix names the subschema entry"));
        }
        let mut text = String::new();
        for (i, rdn) in dn.rdns.iter().enumerate() {
            if i > 0 {
                text.push(',');
            }
            for (j, a) in rdn.avas.iter().enumerate() {
                if j > 0 {
                    text.push('+');
                }
                text.push_str(&a.ty);
                text.push('=');
                escape_into(&a.value, &mut text);
            }
        }
        Ok(Dit { suffix: dn, text })
    }

    /// The suffix as written in DNs.
    pub(crate) fn suffix(&self) -> &str {
        &self.text
    }

    /// The value of the suffix's first RDN (for the suffix entry's naming attribute).
    pub(crate) fn suffix_rdn(&self) -> Option<&Ava> {
        self.suffix.rdns.first().and_then(|r| r.avas.first())
    }

    /// Where `dn` falls in the DIT.
    pub(crate) fn locate(&self, dn: &str) -> Result<Place, DnError> {
        let parsed = parse(dn)?;
        Ok(self.place(&parsed))
    }

    /// Where a parsed DN falls in the DIT.
    pub(crate) fn place(&self, parsed: &Dn) -> Place {
        if parsed.rdns.is_empty() {
            return Place::Entry(Target::RootDse);
        }
        if parsed.rdns.len() == 1
            && parsed
                .rdns
                .first()
                .and_then(|r| r.single("cn"))
                .is_some_and(|a| a.norm == "subschema")
        {
            return Place::Entry(Target::Subschema);
        }
        let Some(mut above) = parsed.below(&self.suffix) else {
            return Place::Outside;
        };
        let Some(first) = above.next() else {
            return Place::Entry(Target::Suffix);
        };
        let Some(o) = first.single("o") else {
            return Place::Below(Target::Suffix);
        };
        let slug = o.norm.clone();
        let Some(second) = above.next() else {
            return Place::Entry(Target::Tenant(slug));
        };
        let ou = match second.single("ou").map(|a| a.norm.as_str()) {
            Some("users") => Ou::Users,
            Some("groups") => Ou::Groups,
            _ => return Place::Below(Target::Tenant(slug)),
        };
        let Some(third) = above.next() else {
            return Place::Entry(Target::Ou(slug, ou));
        };
        let leaf = match ou {
            Ou::Users => third
                .single("uid")
                .map(|a| Target::User(slug.clone(), a.value.clone())),
            Ou::Groups => third
                .single("cn")
                .map(|a| Target::Group(slug.clone(), a.value.clone())),
        };
        match (leaf, above.next()) {
            (Some(t), None) => Place::Entry(t),
            (Some(t), Some(_)) => Place::Below(t),
            (None, _) => Place::Below(Target::Ou(slug, ou)),
        }
    }

    /// The DN of a target.
    pub(crate) fn dn_of(&self, t: &Target) -> String {
        match t {
            Target::RootDse => String::new(),
            Target::Subschema => SUBSCHEMA_DN.to_string(),
            Target::Suffix => self.text.clone(),
            Target::Tenant(s) => self.tenant_dn(s),
            Target::Ou(s, ou) => self.ou_dn(s, *ou),
            Target::User(s, n) => self.user_dn(s, n),
            Target::Group(s, n) => self.group_dn(s, n),
        }
    }

    /// `o=<slug>,<suffix>`.
    pub(crate) fn tenant_dn(&self, slug: &str) -> String {
        let mut s = String::with_capacity(slug.len() + self.text.len() + 3);
        s.push_str("o=");
        escape_into(slug, &mut s);
        s.push(',');
        s.push_str(&self.text);
        s
    }

    /// `ou=Users,o=<slug>,<suffix>` or `ou=Groups,…`.
    pub(crate) fn ou_dn(&self, slug: &str, ou: Ou) -> String {
        let mut s = String::with_capacity(slug.len() + self.text.len() + 14);
        s.push_str("ou=");
        s.push_str(ou.name());
        s.push_str(",o=");
        escape_into(slug, &mut s);
        s.push(',');
        s.push_str(&self.text);
        s
    }

    /// `uid=<name>,ou=Users,o=<slug>,<suffix>`.
    pub(crate) fn user_dn(&self, slug: &str, name: &str) -> String {
        let mut s = String::with_capacity(name.len() + slug.len() + self.text.len() + 20);
        s.push_str("uid=");
        escape_into(name, &mut s);
        s.push_str(",ou=Users,o=");
        escape_into(slug, &mut s);
        s.push(',');
        s.push_str(&self.text);
        s
    }

    /// `cn=<name>,ou=Groups,o=<slug>,<suffix>`.
    pub(crate) fn group_dn(&self, slug: &str, name: &str) -> String {
        let mut s = String::with_capacity(name.len() + slug.len() + self.text.len() + 20);
        s.push_str("cn=");
        escape_into(name, &mut s);
        s.push_str(",ou=Groups,o=");
        escape_into(slug, &mut s);
        s.push(',');
        s.push_str(&self.text);
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dit() -> Dit {
        Dit::new("dc=tessera,dc=local").unwrap()
    }

    #[test]
    fn dns_compare_case_and_space_insensitively() {
        let a = normalize("uid=Alice,ou=Users,o=contoso,dc=tessera,dc=local").unwrap();
        let b = normalize("UID = alice , OU=users;O=Contoso,  DC=Tessera,DC=Local").unwrap();
        let c = normalize(
            "userid=alice,organizationalUnitName=users,2.5.4.10=contoso,dc=tessera,dc=local",
        )
        .unwrap();
        assert_eq!(a, b);
        assert_eq!(a, c);
        assert_eq!(a, "uid=alice,ou=users,o=contoso,dc=tessera,dc=local");
        assert_eq!(
            normalize("cn=Domain   Users,ou=Groups").unwrap(),
            normalize("cn=domain users,ou=groups").unwrap()
        );
        assert_ne!(normalize("cn=a b").unwrap(), normalize("cn=ab").unwrap());
        // Multi-valued RDNs compare whatever their order.
        assert_eq!(
            normalize("cn=a+uid=b").unwrap(),
            normalize("uid=B+cn=A").unwrap()
        );
    }

    #[test]
    fn escapes_and_quotes() {
        let d = parse(r"cn=Smith\, John,o=x").unwrap();
        assert_eq!(d.rdns[0].avas[0].value, "Smith, John");
        let d = parse(r#"cn="Smith, John",o=x"#).unwrap();
        assert_eq!(d.rdns[0].avas[0].value, "Smith, John");
        let d = parse(r"cn=caf\C3\A9,o=x").unwrap();
        assert_eq!(d.rdns[0].avas[0].value, "café");
        let d = parse(r"cn=trailing\ ,o=x").unwrap();
        assert_eq!(d.rdns[0].avas[0].value, "trailing ");
        let d = parse("cn=#04024869,o=x").unwrap();
        assert_eq!(d.rdns[0].avas[0].value, "#04024869");
        let mut s = String::new();
        escape_into(" a+b,c\\ ", &mut s);
        assert_eq!(s, r"\ a\+b\,c\\\ ");
        for bad in [
            "cn",
            "=x",
            "cn=a,",
            "cn=a,,o=b",
            r"cn=a\",
            r"cn=a\zz",
            r"cn=\C3",
            "cn=\"open",
            "cn=a<b",
            "cn=#0",
            "cn=a b\"",
            "c n=x",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} parsed");
        }
        assert_eq!(parse("").unwrap(), Dn::default());
        assert_eq!(parse("   ").unwrap(), Dn::default());
    }

    #[test]
    fn the_dit_maps_dns_to_targets() {
        let d = dit();
        let t = |s: &str| d.locate(s).unwrap();
        assert_eq!(t(""), Place::Entry(Target::RootDse));
        assert_eq!(t("CN=subschema"), Place::Entry(Target::Subschema));
        assert_eq!(t("DC=Tessera, DC=local"), Place::Entry(Target::Suffix));
        assert_eq!(
            t("o=Contoso,dc=tessera,dc=local"),
            Place::Entry(Target::Tenant("contoso".into()))
        );
        assert_eq!(
            t("ou=users,o=contoso,dc=tessera,dc=local"),
            Place::Entry(Target::Ou("contoso".into(), Ou::Users))
        );
        assert_eq!(
            t("uid=Alice,ou=Users,o=contoso,dc=tessera,dc=local"),
            Place::Entry(Target::User("contoso".into(), "Alice".into()))
        );
        assert_eq!(
            t("cn=Domain Users,ou=Groups,o=contoso,dc=tessera,dc=local"),
            Place::Entry(Target::Group("contoso".into(), "Domain Users".into()))
        );
        assert_eq!(t("dc=example,dc=com"), Place::Outside);
        assert_eq!(t("dc=local"), Place::Outside);
        assert_eq!(t("ou=x,dc=tessera,dc=local"), Place::Below(Target::Suffix));
        assert_eq!(
            t("ou=Computers,o=contoso,dc=tessera,dc=local"),
            Place::Below(Target::Tenant("contoso".into()))
        );
        assert_eq!(
            t("cn=alice,ou=Users,o=contoso,dc=tessera,dc=local"),
            Place::Below(Target::Ou("contoso".into(), Ou::Users))
        );
        assert_eq!(
            t("cn=x,uid=alice,ou=Users,o=contoso,dc=tessera,dc=local"),
            Place::Below(Target::User("contoso".into(), "alice".into()))
        );
        assert!(d.locate("uid=a,,").is_err());
    }

    #[test]
    fn built_dns_round_trip() {
        let d = dit();
        for name in ["alice", "a+b", "x,y", " lead", "#hash", "trail "] {
            let dn = d.user_dn("contoso", name);
            assert_eq!(
                d.locate(&dn).unwrap(),
                Place::Entry(Target::User("contoso".into(), name.into())),
                "{dn}"
            );
        }
        assert_eq!(
            d.group_dn("c", "staff"),
            "cn=staff,ou=Groups,o=c,dc=tessera,dc=local"
        );
        assert_eq!(d.ou_dn("c", Ou::Users), "ou=Users,o=c,dc=tessera,dc=local");
        assert_eq!(d.tenant_dn("c"), "o=c,dc=tessera,dc=local");
        assert!(Dit::new("").is_err());
        assert!(Dit::new("dc=a,,").is_err());
        assert_eq!(
            Dit::new("DC=Example , dc=COM").unwrap().suffix(),
            "dc=Example,dc=COM"
        );
    }
}
