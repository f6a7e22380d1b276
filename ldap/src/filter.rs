//! Search filters: compiling the wire filter (with depth and size caps) into a form whose
//! assertion values are already normalised by each attribute's matching rule; planning which
//! candidates a search must look at (equality on uid, mail, cn, objectClass, member, memberOf,
//! entryUUID, uidNumber, gidNumber and memberUid goes through the directory's indexes, never a
//! scan); and evaluating a filter on an entry with RFC 4511's three-valued logic, including the
//! in-chain matching rule (`1.2.840.113556.1.4.1941`) whose sets the search resolves up front.
//! It decides nothing about who may see what.

use crate::dn;
use crate::entry::{oid, Attr, Entry, EntryRef};
use crate::schema::{self, kinds, Rule};
use ldap3_proto::proto::{LdapFilter, LdapMatchingRuleAssertion, LdapSubstringFilter};
use std::collections::HashSet;
use uuid::Uuid;

/// Three-valued logic (RFC 4511 §4.5.1.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tri {
    True,
    False,
    Undefined,
}

impl Tri {
    fn from(b: bool) -> Tri {
        if b {
            Tri::True
        } else {
            Tri::False
        }
    }
}

/// An assertion value, normalised by the attribute's matching rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Value {
    Text(String),
    Int(i64),
    /// Not a valid value of the attribute's syntax: the item is Undefined.
    Invalid,
}

/// The parts of a substring assertion.
#[derive(Debug, Clone)]
struct Parts {
    initial: Option<String>,
    any: Vec<String>,
    last: Option<String>,
}

impl Parts {
    fn map(s: &LdapSubstringFilter, f: impl Fn(&str) -> String) -> Parts {
        Parts {
            initial: s.initial.as_deref().map(&f),
            any: s.any.iter().map(|x| f(x)).collect(),
            last: s.final_.as_deref().map(&f),
        }
    }

    fn matches(&self, value: &str) -> bool {
        let mut rest = value;
        if let Some(i) = &self.initial {
            match rest.strip_prefix(i.as_str()) {
                Some(r) => rest = r,
                None => return false,
            }
        }
        for a in &self.any {
            match rest.find(a.as_str()) {
                Some(p) => rest = rest.get(p + a.len()..).unwrap_or_default(),
                None => return false,
            }
        }
        match &self.last {
            Some(l) => rest.ends_with(l.as_str()),
            None => true,
        }
    }
}

/// A substring assertion, as written and as compared case-insensitively.
#[derive(Debug, Clone)]
pub(crate) struct Substr {
    exact: Parts,
    folded: Parts,
    phone: Parts,
}

/// The matching rule of an extensible match.
#[derive(Debug, Clone, Copy)]
enum ExtRule {
    /// No rule given: the attribute's equality rule.
    Equality,
    Rule(Rule),
    BitAnd,
    BitOr,
}

/// An extensible match other than in-chain.
#[derive(Debug, Clone)]
pub(crate) struct Ext {
    rule: ExtRule,
    attr: Option<Attr>,
    raw: String,
    dn_attributes: bool,
}

/// Which side of a membership an in-chain assertion follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ChainAttr {
    /// `memberOf:1.2.840.113556.1.4.1941:=<group>`: everything inside the group, at any depth.
    MemberOf,
    /// `member:1.2.840.113556.1.4.1941:=<entry>`: every group the entry is in, at any depth.
    Member,
}

/// An in-chain assertion; the search fills `set` before evaluating.
#[derive(Debug, Clone)]
pub(crate) struct Chain {
    pub(crate) attr: ChainAttr,
    pub(crate) dn: String,
    pub(crate) set: HashSet<EntryRef>,
}

/// A compiled filter.
#[derive(Debug, Clone)]
pub(crate) enum Filter {
    Const(Tri),
    And(Vec<Filter>),
    Or(Vec<Filter>),
    Not(Box<Filter>),
    Eq(Attr, Value, String),
    Sub(Attr, Substr),
    Ge(Attr, Value),
    Le(Attr, Value),
    Present(Attr),
    /// An index into [`Compiled::chains`].
    Chain(usize),
    Ext(Box<Ext>),
}

/// Which computed attributes evaluation reads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Uses {
    pub(crate) member_of: bool,
    pub(crate) members: bool,
}

/// A compiled filter with its in-chain assertions.
#[derive(Debug, Clone)]
pub(crate) struct Compiled {
    pub(crate) filter: Filter,
    pub(crate) chains: Vec<Chain>,
    pub(crate) uses: Uses,
}

/// A filter over the caps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TooComplex {
    Depth,
    Elements,
}

/// The caps on a filter.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Caps {
    pub(crate) depth: usize,
    pub(crate) elements: usize,
}

/// Compiles a wire filter.
pub(crate) fn compile(f: &LdapFilter, caps: Caps) -> Result<Compiled, TooComplex> {
    let mut c = Compiler {
        caps,
        elements: 0,
        chains: Vec::new(),
        uses: Uses::default(),
    };
    let filter = c.node(f, 1)?;
    Ok(Compiled {
        filter,
        chains: c.chains,
        uses: c.uses,
    })
}

struct Compiler {
    caps: Caps,
    elements: usize,
    chains: Vec<Chain>,
    uses: Uses,
}

impl Compiler {
    fn node(&mut self, f: &LdapFilter, depth: usize) -> Result<Filter, TooComplex> {
        if depth > self.caps.depth {
            return Err(TooComplex::Depth);
        }
        self.elements += 1;
        if self.elements > self.caps.elements {
            return Err(TooComplex::Elements);
        }
        Ok(match f {
            LdapFilter::And(v) if v.is_empty() => Filter::Const(Tri::True),
            LdapFilter::Or(v) if v.is_empty() => Filter::Const(Tri::False),
            LdapFilter::And(v) => Filter::And(
                v.iter()
                    .map(|x| self.node(x, depth + 1))
                    .collect::<Result<_, _>>()?,
            ),
            LdapFilter::Or(v) => Filter::Or(
                v.iter()
                    .map(|x| self.node(x, depth + 1))
                    .collect::<Result<_, _>>()?,
            ),
            LdapFilter::Not(x) => Filter::Not(Box::new(self.node(x, depth + 1)?)),
            LdapFilter::Equality(a, v) | LdapFilter::Approx(a, v) => {
                let attr = self.attr(a);
                let value = assertion(&attr, v);
                Filter::Eq(attr, value, v.trim().to_string())
            }
            LdapFilter::Substring(a, s) => {
                let attr = self.attr(a);
                Filter::Sub(attr, substr(s))
            }
            LdapFilter::GreaterOrEqual(a, v) => {
                let attr = self.attr(a);
                let value = assertion(&attr, v);
                Filter::Ge(attr, value)
            }
            LdapFilter::LessOrEqual(a, v) => {
                let attr = self.attr(a);
                let value = assertion(&attr, v);
                Filter::Le(attr, value)
            }
            LdapFilter::Present(a) => Filter::Present(self.attr(a)),
            LdapFilter::Extensible(m) => self.extensible(m),
        })
    }

    fn attr(&mut self, name: &str) -> Attr {
        let base = name.split(';').next().unwrap_or(name);
        let a = Attr::named(base);
        if a.is_known(&schema::MEMBER_OF) {
            self.uses.member_of = true;
        }
        if a.is_known(&schema::MEMBER) || a.is_known(&schema::MEMBER_UID) {
            self.uses.members = true;
        }
        a
    }

    fn extensible(&mut self, m: &LdapMatchingRuleAssertion) -> Filter {
        let attr = m.type_.as_deref().map(|t| self.attr(t));
        let rule = m.matching_rule.as_deref().map(str::trim);
        if rule == Some(oid::IN_CHAIN) {
            let which = match &attr {
                Some(a) if a.is_known(&schema::MEMBER_OF) => ChainAttr::MemberOf,
                Some(a) if a.is_known(&schema::MEMBER) => ChainAttr::Member,
                _ => return Filter::Const(Tri::Undefined),
            };
            self.chains.push(Chain {
                attr: which,
                dn: m.match_value.clone(),
                set: HashSet::new(),
            });
            return Filter::Chain(self.chains.len() - 1);
        }
        if attr.is_none() {
            // Any attribute may match: every computed one is needed.
            self.uses.member_of = true;
            self.uses.members = true;
        }
        let rule = match rule {
            None => ExtRule::Equality,
            Some(r) if r == oid::BIT_AND => ExtRule::BitAnd,
            Some(r) if r == oid::BIT_OR => ExtRule::BitOr,
            Some(r) => match rule_named(r) {
                Some(x) => ExtRule::Rule(x),
                None => return Filter::Const(Tri::Undefined),
            },
        };
        if attr.is_none() && matches!(rule, ExtRule::Equality) {
            // RFC 4511: a type or a rule must be given.
            return Filter::Const(Tri::Undefined);
        }
        Filter::Ext(Box::new(Ext {
            rule,
            attr,
            raw: m.match_value.clone(),
            dn_attributes: m.dn_attributes,
        }))
    }
}

/// The matching rules an extensible match may name.
fn rule_named(r: &str) -> Option<Rule> {
    Some(match r.to_ascii_lowercase().as_str() {
        "caseignorematch" | "2.5.13.2" | "caseignoreia5match" | "1.3.6.1.4.1.1466.109.114.2" => {
            Rule::CaseIgnore
        }
        "caseexactmatch"
        | "2.5.13.5"
        | "caseexactia5match"
        | "1.3.6.1.4.1.1466.109.114.1"
        | "octetstringmatch"
        | "2.5.13.17" => Rule::CaseExact,
        "integermatch" | "2.5.13.14" => Rule::Integer,
        "distinguishednamematch" | "2.5.13.1" => Rule::Dn,
        "generalizedtimematch" | "2.5.13.27" => Rule::Time,
        "objectidentifiermatch" | "2.5.13.0" => Rule::Oid,
        "booleanmatch" | "2.5.13.13" => Rule::Boolean,
        "telephonenumbermatch" | "2.5.13.20" => Rule::Telephone,
        "uuidmatch" | "1.3.6.1.1.16.2" => Rule::Uuid,
        _ => return None,
    })
}

fn rule_of(a: &Attr) -> Rule {
    match a {
        Attr::Known(t) => t.rule,
        // Custom attributes are directory strings.
        Attr::Custom(_) => Rule::CaseIgnore,
    }
}

fn assertion(a: &Attr, raw: &str) -> Value {
    normalize(rule_of(a), raw)
}

/// Normalises a value by a matching rule (assertions and entry values alike).
pub(crate) fn normalize(rule: Rule, raw: &str) -> Value {
    match rule {
        Rule::CaseIgnore => Value::Text(dn::normalize_value(raw)),
        Rule::CaseExact => Value::Text(raw.to_string()),
        Rule::Integer => raw.trim().parse::<i64>().map_or(Value::Invalid, Value::Int),
        Rule::Dn => dn::normalize(raw).map_or(Value::Invalid, Value::Text),
        Rule::Time => time_key(raw).map_or(Value::Invalid, Value::Text),
        Rule::Oid => {
            let t = raw.trim();
            Value::Text(match schema::class(t) {
                Some(c) => c.name.to_ascii_lowercase(),
                None => t.to_ascii_lowercase(),
            })
        }
        Rule::Boolean => match raw.trim() {
            "TRUE" => Value::Text("TRUE".into()),
            "FALSE" => Value::Text("FALSE".into()),
            _ => Value::Invalid,
        },
        Rule::Telephone => Value::Text(phone(raw)),
        Rule::Uuid => Uuid::parse_str(raw.trim())
            .map_or(Value::Invalid, |u| Value::Text(u.hyphenated().to_string())),
    }
}

/// A GeneralizedTime value as a sortable key: `YYYYMMDDHHMMSS` (minutes and seconds default
/// to zero; fractions dropped). Only UTC (`Z`) or no zone is understood.
fn time_key(raw: &str) -> Option<String> {
    let t = raw.trim();
    let t = t
        .strip_suffix('Z')
        .or_else(|| t.strip_suffix('z'))
        .unwrap_or(t);
    let t = t.split(['.', ',']).next().unwrap_or(t);
    if !t.bytes().all(|b| b.is_ascii_digit()) || !matches!(t.len(), 10 | 12 | 14) {
        return None;
    }
    let mut k = t.to_string();
    while k.len() < 14 {
        k.push('0');
    }
    Some(k)
}

fn substr(s: &LdapSubstringFilter) -> Substr {
    Substr {
        exact: Parts::map(s, str::to_string),
        folded: Parts::map(s, |x| x.chars().flat_map(char::to_lowercase).collect()),
        phone: Parts::map(s, phone),
    }
}

fn phone(x: &str) -> String {
    x.chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .flat_map(char::to_lowercase)
        .collect()
}

/// A value's characters as compared by caseIgnoreMatch, without allocating.
fn folded(s: &str) -> impl Iterator<Item = char> + '_ {
    let mut first = true;
    s.split_whitespace().flat_map(move |w| {
        let sep = if first {
            first = false;
            None
        } else {
            Some(' ')
        };
        sep.into_iter()
            .chain(w.chars().flat_map(char::to_lowercase))
    })
}

fn value_eq(rule: Rule, entry_value: &str, v: &Value) -> bool {
    match (rule, v) {
        (_, Value::Invalid) => false,
        (Rule::CaseIgnore, Value::Text(t)) => folded(entry_value).eq(t.chars()),
        (Rule::Oid, Value::Text(t)) => entry_value.trim().eq_ignore_ascii_case(t),
        (Rule::CaseExact | Rule::Boolean, Value::Text(t)) => entry_value == t,
        (_, v) => normalize(rule, entry_value) == *v,
    }
}

fn value_cmp(rule: Rule, entry_value: &str, v: &Value) -> Option<std::cmp::Ordering> {
    match (normalize(rule, entry_value), v) {
        (Value::Int(a), Value::Int(b)) => Some(a.cmp(b)),
        (Value::Text(a), Value::Text(b))
            if matches!(
                rule,
                Rule::CaseIgnore | Rule::CaseExact | Rule::Time | Rule::Telephone | Rule::Uuid
            ) =>
        {
            Some(a.as_str().cmp(b.as_str()))
        }
        _ => None,
    }
}

fn substr_match(rule: Rule, entry_value: &str, s: &Substr) -> Option<bool> {
    match rule {
        Rule::CaseIgnore | Rule::Dn | Rule::Oid => {
            Some(s.folded.matches(&folded(entry_value).collect::<String>()))
        }
        Rule::CaseExact => Some(s.exact.matches(entry_value)),
        Rule::Telephone => Some(s.phone.matches(&phone(entry_value))),
        Rule::Integer | Rule::Time | Rule::Boolean | Rule::Uuid => None,
    }
}

/// Evaluates a compiled filter on an entry.
pub(crate) fn eval(f: &Filter, e: &Entry, chains: &[Chain]) -> Tri {
    match f {
        Filter::Const(t) => *t,
        Filter::And(v) => {
            let mut out = Tri::True;
            for x in v {
                match eval(x, e, chains) {
                    Tri::False => return Tri::False,
                    Tri::Undefined => out = Tri::Undefined,
                    Tri::True => {}
                }
            }
            out
        }
        Filter::Or(v) => {
            let mut out = Tri::False;
            for x in v {
                match eval(x, e, chains) {
                    Tri::True => return Tri::True,
                    Tri::Undefined => out = Tri::Undefined,
                    Tri::False => {}
                }
            }
            out
        }
        Filter::Not(x) => match eval(x, e, chains) {
            Tri::True => Tri::False,
            Tri::False => Tri::True,
            Tri::Undefined => Tri::Undefined,
        },
        Filter::Eq(a, v, _) => {
            if *v == Value::Invalid {
                return Tri::Undefined;
            }
            let rule = rule_of(a);
            match e.values(a) {
                Some(vals) => Tri::from(vals.iter().any(|x| value_eq(rule, x, v))),
                None => Tri::False,
            }
        }
        Filter::Sub(a, s) => {
            let rule = rule_of(a);
            match e.values(a) {
                Some(vals) => {
                    let mut out = Tri::False;
                    for x in vals {
                        match substr_match(rule, x, s) {
                            Some(true) => return Tri::True,
                            Some(false) => {}
                            None => out = Tri::Undefined,
                        }
                    }
                    out
                }
                None => {
                    if matches!(
                        rule,
                        Rule::Integer | Rule::Time | Rule::Boolean | Rule::Uuid
                    ) {
                        Tri::Undefined
                    } else {
                        Tri::False
                    }
                }
            }
        }
        Filter::Ge(a, v) | Filter::Le(a, v) => {
            if *v == Value::Invalid {
                return Tri::Undefined;
            }
            let ge = matches!(f, Filter::Ge(..));
            let rule = rule_of(a);
            match e.values(a) {
                Some(vals) => {
                    let mut out = Tri::False;
                    for x in vals {
                        match value_cmp(rule, x, v) {
                            Some(o) if (ge && o.is_ge()) || (!ge && o.is_le()) => return Tri::True,
                            Some(_) => {}
                            None => out = Tri::Undefined,
                        }
                    }
                    out
                }
                None => Tri::False,
            }
        }
        Filter::Present(a) => Tri::from(e.values(a).is_some()),
        Filter::Chain(i) => match (chains.get(*i), e.id) {
            (Some(c), Some(id)) => Tri::from(c.set.contains(&id)),
            _ => Tri::False,
        },
        Filter::Ext(x) => ext(x, e),
    }
}

fn ext(x: &Ext, e: &Entry) -> Tri {
    let mut out = Tri::False;
    let mut check = |rule: Rule, vals: &[String]| {
        for v in vals {
            let m = match x.rule {
                ExtRule::BitAnd | ExtRule::BitOr => {
                    match (v.trim().parse::<i64>(), x.raw.trim().parse::<i64>()) {
                        (Ok(a), Ok(b)) if matches!(x.rule, ExtRule::BitAnd) => Some(a & b == b),
                        (Ok(a), Ok(b)) => Some(a & b != 0),
                        _ => None,
                    }
                }
                ExtRule::Equality | ExtRule::Rule(_) => match normalize(rule, &x.raw) {
                    Value::Invalid => None,
                    want => Some(value_eq(rule, v, &want)),
                },
            };
            match m {
                Some(true) => return Tri::True,
                Some(false) => {}
                None => out = Tri::Undefined,
            }
        }
        Tri::False
    };
    let rule_for = |a: &Attr| match x.rule {
        ExtRule::Rule(r) => r,
        _ => rule_of(a),
    };
    match &x.attr {
        Some(a) => {
            if let Some(vals) = e.values(a) {
                if check(rule_for(a), vals) == Tri::True {
                    return Tri::True;
                }
            }
        }
        None => {
            for (a, vals) in &e.attrs {
                let compatible = match (x.rule, rule_of(a)) {
                    (ExtRule::Rule(r), own) => r == own,
                    (ExtRule::BitAnd | ExtRule::BitOr, own) => own == Rule::Integer,
                    (ExtRule::Equality, _) => false,
                };
                if compatible && check(rule_for(a), vals) == Tri::True {
                    return Tri::True;
                }
            }
        }
    }
    if x.dn_attributes {
        if let Ok(d) = dn::parse(&e.dn) {
            let want = dn::normalize_value(&x.raw);
            let ty = x.attr.as_ref().map(|a| a.name().to_ascii_lowercase());
            let hit = d
                .rdns
                .iter()
                .flat_map(|r| r.avas.iter())
                .any(|ava| ty.as_deref().is_none_or(|t| t == ava.ty) && ava.norm == want);
            if hit {
                return Tri::True;
            }
        }
    }
    out
}

/// Where a search's candidates come from, for users or for groups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Source {
    /// None can match.
    Nothing,
    /// Every one in scope must be looked at.
    Scan,
    /// A superset of the matches, through indexes.
    Keys(Vec<Key>),
}

/// An index lookup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Key {
    /// A user by username.
    Username(String),
    /// A user by e-mail.
    Mail(String),
    /// Users by common name; groups by name.
    Cn(String),
    /// A user, group or tenant by id.
    Uuid(Uuid),
    /// A user by uidNumber.
    UidNumber(u32),
    /// A group by gidNumber.
    GidNumber(u32),
    /// The groups a user (by username) is a direct member of.
    MemberUid(String),
    /// The members of a group (by DN).
    MemberOf(String),
    /// The groups an entry (by DN) is a member of.
    Member(String),
    /// The entries of an in-chain set.
    Chain(usize),
}

/// Which candidates a search must look at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Plan {
    /// Which of the suffix, tenant and ou entries may match (`kinds` bits).
    pub(crate) structural: u8,
    pub(crate) users: Source,
    pub(crate) groups: Source,
}

const STRUCTURAL: u8 = kinds::SUFFIX | kinds::TENANT | kinds::OU;

impl Plan {
    fn all() -> Plan {
        Plan {
            structural: STRUCTURAL,
            users: Source::Scan,
            groups: Source::Scan,
        }
    }

    fn none() -> Plan {
        Plan {
            structural: 0,
            users: Source::Nothing,
            groups: Source::Nothing,
        }
    }

    fn on(k: u8) -> Plan {
        Plan {
            structural: k & STRUCTURAL,
            users: if k & kinds::USER != 0 {
                Source::Scan
            } else {
                Source::Nothing
            },
            groups: if k & kinds::GROUP != 0 {
                Source::Scan
            } else {
                Source::Nothing
            },
        }
    }
}

fn intersect(a: Source, b: Source) -> Source {
    match (a, b) {
        (Source::Nothing, _) | (_, Source::Nothing) => Source::Nothing,
        (Source::Scan, x) | (x, Source::Scan) => x,
        (Source::Keys(a), Source::Keys(b)) => Source::Keys(if a.len() <= b.len() { a } else { b }),
    }
}

fn union(a: Source, b: Source) -> Source {
    match (a, b) {
        (Source::Nothing, x) | (x, Source::Nothing) => x,
        (Source::Scan, _) | (_, Source::Scan) => Source::Scan,
        (Source::Keys(mut a), Source::Keys(b)) => {
            a.extend(b);
            Source::Keys(a)
        }
    }
}

/// The plan of a compiled filter.
pub(crate) fn plan(c: &Compiled) -> Plan {
    plan_of(&c.filter, &c.chains)
}

fn kinds_of(a: &Attr) -> u8 {
    match a {
        Attr::Known(t) => t.on,
        Attr::Custom(_) => kinds::USER,
    }
}

fn plan_of(f: &Filter, chains: &[Chain]) -> Plan {
    match f {
        Filter::Const(Tri::True) => Plan::all(),
        Filter::Const(_) => Plan::none(),
        Filter::And(v) => v.iter().fold(Plan::all(), |acc, x| {
            let p = plan_of(x, chains);
            Plan {
                structural: acc.structural & p.structural,
                users: intersect(acc.users, p.users),
                groups: intersect(acc.groups, p.groups),
            }
        }),
        Filter::Or(v) => v.iter().fold(Plan::none(), |acc, x| {
            let p = plan_of(x, chains);
            Plan {
                structural: acc.structural | p.structural,
                users: union(acc.users, p.users),
                groups: union(acc.groups, p.groups),
            }
        }),
        Filter::Not(_) | Filter::Ext(_) => Plan::all(),
        Filter::Eq(_, Value::Invalid, _) => Plan::none(),
        Filter::Eq(a, v, raw) => equality_plan(a, v, raw),
        Filter::Sub(a, _) | Filter::Ge(a, _) | Filter::Le(a, _) | Filter::Present(a) => {
            Plan::on(kinds_of(a))
        }
        Filter::Chain(i) => {
            let keys = Source::Keys(vec![Key::Chain(*i)]);
            match chains.get(*i).map(|c| c.attr) {
                Some(ChainAttr::MemberOf) => Plan {
                    structural: 0,
                    users: keys.clone(),
                    groups: keys,
                },
                Some(ChainAttr::Member) => Plan {
                    structural: 0,
                    users: Source::Nothing,
                    groups: keys,
                },
                None => Plan::none(),
            }
        }
    }
}

fn equality_plan(a: &Attr, v: &Value, raw: &str) -> Plan {
    let keys = |k: Key| Source::Keys(vec![k]);
    let Attr::Known(t) = a else {
        return Plan::on(kinds::USER);
    };
    let t: &'static schema::AttrType = t;
    let none = Plan::none();
    if std::ptr::eq(t, &schema::UID) {
        Plan {
            users: keys(Key::Username(raw.to_string())),
            ..none
        }
    } else if std::ptr::eq(t, &schema::MAIL) {
        Plan {
            users: keys(Key::Mail(raw.to_string())),
            ..none
        }
    } else if std::ptr::eq(t, &schema::CN) {
        Plan {
            users: keys(Key::Cn(raw.to_string())),
            groups: keys(Key::Cn(raw.to_string())),
            ..none
        }
    } else if std::ptr::eq(t, &schema::ENTRY_UUID) {
        match Uuid::parse_str(raw) {
            Ok(u) => Plan {
                structural: kinds::TENANT,
                users: keys(Key::Uuid(u)),
                groups: keys(Key::Uuid(u)),
            },
            Err(_) => none,
        }
    } else if std::ptr::eq(t, &schema::UID_NUMBER) {
        match v {
            Value::Int(n) => match u32::try_from(*n) {
                Ok(n) => Plan {
                    users: keys(Key::UidNumber(n)),
                    ..none
                },
                Err(_) => none,
            },
            _ => none,
        }
    } else if std::ptr::eq(t, &schema::GID_NUMBER) {
        match v {
            Value::Int(n) => match u32::try_from(*n) {
                // Users' primary gidNumber is not indexed: users are scanned.
                Ok(n) => Plan {
                    users: Source::Scan,
                    groups: keys(Key::GidNumber(n)),
                    ..none
                },
                Err(_) => none,
            },
            _ => none,
        }
    } else if std::ptr::eq(t, &schema::MEMBER_UID) {
        Plan {
            groups: keys(Key::MemberUid(raw.to_string())),
            ..none
        }
    } else if std::ptr::eq(t, &schema::MEMBER) {
        Plan {
            groups: keys(Key::Member(raw.to_string())),
            ..none
        }
    } else if std::ptr::eq(t, &schema::MEMBER_OF) {
        Plan {
            users: keys(Key::MemberOf(raw.to_string())),
            groups: keys(Key::MemberOf(raw.to_string())),
            ..none
        }
    } else if std::ptr::eq(t, &schema::OBJECT_CLASS) {
        let Value::Text(c) = v else { return none };
        match c.as_str() {
            "top" => Plan::all(),
            "person"
            | "organizationalperson"
            | "inetorgperson"
            | "posixaccount"
            | "ldappublickey" => Plan::on(kinds::USER),
            "extensibleobject" => Plan::on(kinds::USER | kinds::SUFFIX),
            "groupofnames" | "posixgroup" => Plan::on(kinds::GROUP),
            "organization" => Plan::on(kinds::SUFFIX | kinds::TENANT),
            "organizationalunit" => Plan::on(kinds::OU),
            "dcobject" => Plan::on(kinds::SUFFIX),
            _ => none,
        }
    } else {
        Plan::on(t.on)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dn::Dit;
    use crate::entry;
    use tessera_directory::model::{Group, GroupId, TenantId, User, UserId};
    use tessera_directory::policy::Timestamp;

    fn caps() -> Caps {
        Caps {
            depth: 10,
            elements: 50,
        }
    }

    fn f(s: &str) -> Compiled {
        compile(&crate::filter_text::parse(s).unwrap(), caps()).unwrap()
    }

    fn alice() -> Entry {
        let u = User {
            id: UserId::from_uuid(Uuid::from_u128(1)),
            tenant: TenantId::from_uuid(Uuid::from_u128(2)),
            username: "alice".into(),
            kind: Default::default(),
            status: Default::default(),
            email: Some("Alice@Contoso.example".into()),
            given_name: Some("Alice".into()),
            family_name: Some("Archer".into()),
            display_name: None,
            phone: Some("+1 555-0100".into()),
            posix: Some(tessera_directory::model::Posix {
                uid_number: 10001,
                gid_number: 10001,
                home: "/home/alice".into(),
                shell: "/bin/bash".into(),
            }),
            ssh_keys: vec![],
            custom: Default::default(),
            created_at: Timestamp::from_secs(1_767_225_600),
            updated_at: Timestamp::from_secs(1_767_225_600),
        };
        let dit = Dit::new("dc=tessera,dc=local").unwrap();
        entry::user(
            &dit,
            "contoso",
            &u,
            Some(vec![
                "cn=Staff,ou=Groups,o=contoso,dc=tessera,dc=local".into()
            ]),
        )
    }

    fn t(s: &str) -> Tri {
        let c = f(s);
        eval(&c.filter, &alice(), &c.chains)
    }

    #[test]
    fn every_filter_type() {
        assert_eq!(t("(uid=ALICE)"), Tri::True);
        assert_eq!(t("(uid=bob)"), Tri::False);
        assert_eq!(t("(objectClass=inetOrgPerson)"), Tri::True);
        assert_eq!(t("(objectclass=2.16.840.1.113730.3.2.2)"), Tri::True);
        assert_eq!(t("(objectClass=groupOfNames)"), Tri::False);
        assert_eq!(t("(cn=alice   archer)"), Tri::True);
        assert_eq!(t("(mail=alice@contoso.EXAMPLE)"), Tri::True);
        assert_eq!(t("(telephoneNumber=+15550100)"), Tri::True);
        assert_eq!(t("(cn=Ali*)"), Tri::True);
        assert_eq!(t("(cn=*rch*)"), Tri::True);
        assert_eq!(t("(cn=*cher)"), Tri::True);
        assert_eq!(t("(cn=A*x*r)"), Tri::False);
        assert_eq!(t("(homeDirectory=/home/*)"), Tri::True);
        assert_eq!(t("(homeDirectory=/HOME/*)"), Tri::False);
        assert_eq!(t("(uidNumber>=10000)"), Tri::True);
        assert_eq!(t("(uidNumber<=10000)"), Tri::False);
        assert_eq!(t("(uidNumber>=ten)"), Tri::Undefined);
        assert_eq!(t("(createTimestamp>=20250101000000Z)"), Tri::True);
        assert_eq!(t("(createTimestamp<=2025010100Z)"), Tri::False);
        assert_eq!(t("(mail=*)"), Tri::True);
        assert_eq!(t("(description=*)"), Tri::False);
        assert_eq!(t("(cn~=ALICE ARCHER)"), Tri::True);
        assert_eq!(t("(&(uid=alice)(!(mail=x)))"), Tri::True);
        assert_eq!(t("(|(uid=x)(uidNumber=abc))"), Tri::Undefined);
        assert_eq!(t("(!(uidNumber=abc))"), Tri::Undefined);
        assert_eq!(t("(&)"), Tri::True);
        assert_eq!(t("(|)"), Tri::False);
        assert_eq!(
            t("(memberOf=CN=staff, OU=groups,o=Contoso,dc=tessera,dc=local)"),
            Tri::True
        );
        assert_eq!(t("(uid:caseExactMatch:=alice)"), Tri::True);
        assert_eq!(t("(uid:caseExactMatch:=Alice)"), Tri::False);
        assert_eq!(t("(uid:=ALICE)"), Tri::True);
        assert_eq!(t("(ou:dn:=users)"), Tri::True);
        assert_eq!(t("(o:dn:=fabrikam)"), Tri::False);
        assert_eq!(t("(uidNumber:1.2.840.113556.1.4.803:=1)"), Tri::True);
        assert_eq!(t("(uidNumber:1.2.840.113556.1.4.803:=2)"), Tri::False);
        assert_eq!(t("(cn:9.9.9:=x)"), Tri::Undefined);
        assert_eq!(
            t("(entryUUID=00000000-0000-0000-0000-000000000001)"),
            Tri::True
        );
        assert_eq!(t("(roomNumber=12)"), Tri::False);
    }

    #[test]
    fn in_chain_uses_the_resolved_set() {
        let mut c = f(
            "(memberOf:1.2.840.113556.1.4.1941:=cn=all,ou=Groups,o=contoso,dc=tessera,dc=local)",
        );
        assert_eq!(c.chains.len(), 1);
        assert_eq!(eval(&c.filter, &alice(), &c.chains), Tri::False);
        c.chains[0].set.insert(EntryRef::User(
            TenantId::from_uuid(Uuid::from_u128(2)),
            UserId::from_uuid(Uuid::from_u128(1)),
        ));
        assert_eq!(eval(&c.filter, &alice(), &c.chains), Tri::True);
        assert_eq!(plan(&c).users, Source::Keys(vec![Key::Chain(0)]));
    }

    #[test]
    fn indexed_equality_is_planned_as_lookups() {
        let p = plan(&f("(uid=alice)"));
        assert_eq!(p.users, Source::Keys(vec![Key::Username("alice".into())]));
        assert_eq!(p.groups, Source::Nothing);
        assert_eq!(p.structural, 0);
        let p = plan(&f("(&(objectClass=posixGroup)(gidNumber=10001))"));
        assert_eq!(p.users, Source::Nothing);
        assert_eq!(p.groups, Source::Keys(vec![Key::GidNumber(10001)]));
        let p = plan(&f(
            "(&(objectClass=groupOfNames)(member=uid=alice,ou=Users,o=c,dc=tessera,dc=local))",
        ));
        assert!(matches!(p.groups, Source::Keys(_)));
        let p = plan(&f("(|(uid=a)(mail=b))"));
        assert_eq!(
            p.users,
            Source::Keys(vec![Key::Username("a".into()), Key::Mail("b".into())])
        );
        let p = plan(&f("(|(uid=a)(sn=b))"));
        assert_eq!(p.users, Source::Scan);
        let p = plan(&f("(objectClass=*)"));
        assert_eq!(p, Plan::all());
        let p = plan(&f("(!(uid=a))"));
        assert_eq!(p, Plan::all());
        let p = plan(&f("(cn=staff)"));
        assert_eq!(p.groups, Source::Keys(vec![Key::Cn("staff".into())]));
        assert_eq!(plan(&f("(uidNumber=x)")), Plan::none());
        assert_eq!(
            plan(&f("(objectClass=organizationalUnit)")).structural,
            kinds::OU
        );
    }

    #[test]
    fn caps_hold() {
        let deep = "(!".repeat(20) + "(uid=a)" + &")".repeat(20);
        let parsed = crate::filter_text::parse(&deep).unwrap();
        assert_eq!(compile(&parsed, caps()).unwrap_err(), TooComplex::Depth);
        let wide = format!("(|{})", "(uid=a)".repeat(60));
        let parsed = crate::filter_text::parse(&wide).unwrap();
        assert_eq!(compile(&parsed, caps()).unwrap_err(), TooComplex::Elements);
    }

    #[test]
    fn groups_match_members_by_dn() {
        let dit = Dit::new("dc=tessera,dc=local").unwrap();
        let g = Group {
            id: GroupId::from_uuid(Uuid::from_u128(3)),
            tenant: TenantId::from_uuid(Uuid::from_u128(2)),
            name: "staff".into(),
            description: None,
            gid_number: 10002,
            attributes: Default::default(),
            created_at: Timestamp::from_secs(0),
            updated_at: Timestamp::from_secs(0),
        };
        let e = entry::group(
            &dit,
            "contoso",
            &g,
            Some(entry::Members {
                dns: crate::entry::Vals::Own(vec![dit.user_dn("contoso", "alice")]),
                uids: crate::entry::Vals::Shared(vec!["alice".to_string()].into()),
            }),
            None,
        );
        let c = f("(member=UID=Alice,ou=users,o=contoso,dc=tessera,dc=local)");
        assert_eq!(eval(&c.filter, &e, &c.chains), Tri::True);
        let c = f("(memberUid=alice)");
        assert_eq!(eval(&c.filter, &e, &c.chains), Tri::True);
        let c = f("(gidNumber=10002)");
        assert_eq!(eval(&c.filter, &e, &c.chains), Tri::True);
        assert!(c.uses == Uses::default());
        assert!(f("(member=x)").uses.members);
    }
}
