//! The fuzz targets' seed corpora replayed on every test run — `fuzz/corpus/saml_request`
//! through the fuzzing entry, `fuzz/corpus/saml_metadata` through the metadata parser: nothing
//! panics, the well-formed seeds pass every check (so mutations of them reach deep), and the
//! hostile ones are refused.

use tessera_saml::fuzzing::Target;
use tessera_saml::Error;

#[test]
fn the_seed_corpus_replays_without_panics_and_reaches_deep() {
    let t = Target::new().unwrap();
    assert!(!t.crm_cert_der().is_empty());
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../fuzz/corpus/saml_request");
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    assert!(entries.len() >= 8, "the seeds are missing");
    for p in &entries {
        let name = p.file_name().unwrap().to_str().unwrap().to_string();
        let r = t.check(&std::fs::read(p).unwrap());
        if name.ends_with("-valid") || name == "post-index" || name == "form-base64" {
            assert_eq!(r, Ok(()), "{name}");
            assert_eq!(
                t.check(&std::fs::read(p).unwrap()),
                Err(Error::Replayed),
                "{name} replayed"
            );
        } else if name == "post-doctype" {
            assert_eq!(r, Err(Error::Doctype));
        } else {
            assert!(r.is_err(), "{name}: {r:?}");
        }
    }
    for junk in [
        &b""[..],
        b"\x00",
        b"\x01",
        b"\x02\xff\xfe",
        b"\x00SAMLRequest=%",
        b"\x03!!",
    ] {
        assert!(t.check(junk).is_err());
    }
}

#[test]
fn the_metadata_seed_corpus_replays_valid_seeds_pass_and_the_rest_are_refused() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../fuzz/corpus/saml_metadata");
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    assert!(entries.len() >= 5, "the seeds are missing");
    for p in &entries {
        let name = p.file_name().unwrap().to_str().unwrap().to_string();
        let r = tessera_saml::parse_sp_metadata(&std::fs::read_to_string(p).unwrap());
        if name.ends_with("-valid") {
            assert!(r.is_ok(), "{name}: {r:?}");
        } else {
            assert!(r.is_err(), "{name}: {r:?}");
        }
    }
    assert_eq!(
        tessera_saml::parse_sp_metadata(
            &std::fs::read_to_string(format!("{dir}/doctype-refused")).unwrap()
        ),
        Err(tessera_saml::MetadataError::Doctype)
    );
}
