//! The value envelope: every stored record is one format byte followed by a MessagePack map with
//! named fields, so a record written today stays readable after a field is added (new fields
//! carry `#[serde(default)]`) and a future incompatible layout can be recognised by its byte.
//! It must not know which record is which beyond the `Record` trait.

use crate::error::Error;
use serde::de::DeserializeOwned;
use serde::Serialize;

/// The current envelope format: MessagePack with field names.
pub(crate) const FORMAT_V1: u8 = 1;

/// A type stored as a value.
pub(crate) trait Record: Serialize + DeserializeOwned {
    /// What it is, for error messages.
    const WHAT: &'static str;
}

pub(crate) fn encode<T: Record>(value: &T) -> Result<Vec<u8>, Error> {
    let mut out = vec![FORMAT_V1];
    rmp_serde::encode::write_named(&mut out, value)
        .map_err(|e| Error::Corrupt(format!("cannot encode {}: {e}", T::WHAT)))?;
    Ok(out)
}

pub(crate) fn decode<T: Record>(bytes: &[u8]) -> Result<T, Error> {
    match bytes.split_first() {
        Some((&FORMAT_V1, body)) => rmp_serde::from_slice(body)
            .map_err(|e| Error::Corrupt(format!("cannot decode {}: {e}", T::WHAT))),
        Some((other, _)) => Err(Error::Corrupt(format!(
            "{} has unknown format {other}",
            T::WHAT
        ))),
        None => Err(Error::Corrupt(format!("{} is empty", T::WHAT))),
    }
}

/// The empty value of index entries and markers.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Unit {}

impl Record for Unit {
    const WHAT: &'static str = "marker";
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct V1 {
        name: String,
        n: u32,
    }
    impl Record for V1 {
        const WHAT: &'static str = "v1";
    }

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct V2 {
        name: String,
        n: u32,
        #[serde(default)]
        added: Option<String>,
        #[serde(default)]
        tags: Vec<String>,
    }
    impl Record for V2 {
        const WHAT: &'static str = "v2";
    }

    #[test]
    fn a_record_written_before_a_field_was_added_still_reads() {
        let old = encode(&V1 {
            name: "alice".into(),
            n: 7,
        })
        .unwrap();
        let new: V2 = decode(&old).unwrap();
        assert_eq!(
            new,
            V2 {
                name: "alice".into(),
                n: 7,
                added: None,
                tags: vec![]
            }
        );
        // And the newer record is still readable by older code, which ignores the extra field.
        let newer = encode(&V2 {
            name: "bob".into(),
            n: 1,
            added: Some("x".into()),
            tags: vec!["t".into()],
        })
        .unwrap();
        let back: V1 = decode(&newer).unwrap();
        assert_eq!(back.name, "bob");
    }

    #[test]
    fn unknown_formats_and_garbage_are_errors_not_panics() {
        assert!(matches!(decode::<V1>(&[]), Err(Error::Corrupt(_))));
        assert!(matches!(decode::<V1>(&[9, 1, 2]), Err(Error::Corrupt(_))));
        assert!(matches!(
            decode::<V1>(&[FORMAT_V1, 0xc1]),
            Err(Error::Corrupt(_))
        ));
    }
}
