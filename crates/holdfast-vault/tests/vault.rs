//! The vault core: shares, unsealing, the keyring and envelopes, including every way a
//! ciphertext can be misused.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use holdfast_vault::{Envelope, Keyring, Progress, RootKey, Share, Unsealer, VaultError};
use proptest::prelude::*;

const NOW: &str = "2026-11-25T00:00:00Z";

fn setup(shares: u8, threshold: u8) -> (RootKey, Vec<Share>, holdfast_vault::SealedKeyring) {
    let root = RootKey::generate().unwrap();
    let parts = root.split(shares, threshold).unwrap();
    let sealed = Keyring::new(NOW).unwrap().seal(&root).unwrap();
    (root, parts, sealed)
}

#[test]
fn any_threshold_of_shares_unseals_and_fewer_never_do() {
    let (_, shares, sealed) = setup(5, 3);
    assert_eq!(shares.len(), 5);
    // Every 3-subset unseals.
    for a in 0..5 {
        for b in (a + 1)..5 {
            for c in (b + 1)..5 {
                let mut u = Unsealer::new(3);
                assert!(matches!(
                    u.submit(shares[a].clone(), &sealed).unwrap(),
                    Progress::NeedMore {
                        have: 1,
                        threshold: 3
                    }
                ));
                assert!(matches!(
                    u.submit(shares[b].clone(), &sealed).unwrap(),
                    Progress::NeedMore {
                        have: 2,
                        threshold: 3
                    }
                ));
                assert!(matches!(
                    u.submit(shares[c].clone(), &sealed).unwrap(),
                    Progress::Unsealed { .. }
                ));
            }
        }
    }
    // Two shares, forced through as if the threshold were 2: a wrong key, refused.
    let mut u = Unsealer::new(2);
    u.submit(shares[0].clone(), &sealed).unwrap();
    assert_eq!(
        u.submit(shares[1].clone(), &sealed).unwrap_err(),
        VaultError::WrongShares
    );
    assert_eq!(u.progress(), (0, 2), "a failed attempt starts over");
}

#[test]
fn a_share_of_another_root_key_or_a_repeated_share_is_refused() {
    let (_, shares, sealed) = setup(3, 2);
    let (_, other, _) = setup(3, 2);
    let mut u = Unsealer::new(2);
    u.submit(shares[0].clone(), &sealed).unwrap();
    assert_eq!(
        u.submit(shares[0].clone(), &sealed).unwrap_err(),
        VaultError::DuplicateShare(shares[0].index())
    );
    assert_eq!(u.progress(), (1, 2));
    // other[1] has a different index from shares[0] but belongs to another key.
    assert_eq!(
        u.submit(other[1].clone(), &sealed).unwrap_err(),
        VaultError::WrongShares
    );
    let mut u = Unsealer::new(2);
    u.submit(shares[2].clone(), &sealed).unwrap();
    assert!(matches!(
        u.submit(shares[1].clone(), &sealed).unwrap(),
        Progress::Unsealed { .. }
    ));
}

#[test]
fn shares_round_trip_as_text_and_bad_text_is_refused_without_quoting_it() {
    let (_, shares, _) = setup(3, 2);
    for s in &shares {
        let text = s.to_text();
        assert!(text.starts_with("hfs1-") && text.len() == 5 + 66);
        assert_eq!(&text.parse::<Share>().unwrap(), s);
        assert!(
            !format!("{s:?}").contains(&text[5..15]),
            "Debug hides the share"
        );
    }
    for bad in [
        "",
        "hfs1-",
        "hfs1-zz",
        "hfs2-00",
        &format!("hfs1-00{}", "ab".repeat(32)),
    ] {
        let e = bad.parse::<Share>().unwrap_err();
        assert_eq!(e, VaultError::BadShare);
    }
    assert_eq!(
        RootKey::generate().unwrap().split(3, 1).unwrap_err(),
        VaultError::ThresholdOfOne
    );
    assert!(matches!(
        RootKey::generate().unwrap().split(2, 3).unwrap_err(),
        VaultError::BadShareParameters { .. }
    ));
}

#[test]
fn the_key_file_form_round_trips_and_a_wrong_key_cannot_open_the_keyring() {
    let (root, _, sealed) = setup(3, 2);
    let again = RootKey::from_hex(&root.to_hex()).unwrap();
    assert!(Keyring::open(&sealed, &again).is_ok());
    assert_eq!(
        Keyring::open(&sealed, &RootKey::generate().unwrap()).unwrap_err(),
        VaultError::KeyringUndecryptable
    );
    assert_eq!(
        RootKey::from_hex("not hex").unwrap_err(),
        VaultError::BadKeyFile
    );
    assert!(!format!("{root:?}").contains(&root.to_hex()[..16]));
}

#[test]
fn a_ciphertext_moved_to_another_path_or_version_or_altered_does_not_decrypt() {
    let ring = Keyring::new(NOW).unwrap();
    let env = ring
        .encrypt("kv/ci/deploy", 3, b"hunter2-but-longer")
        .unwrap();
    assert_eq!(
        &ring.decrypt("kv/ci/deploy", 3, &env).unwrap()[..],
        b"hunter2-but-longer"
    );
    let tampered = |path: &str, version: u64| VaultError::Tampered {
        path: path.into(),
        version,
    };
    assert_eq!(
        ring.decrypt("kv/ci/other", 3, &env).unwrap_err(),
        tampered("kv/ci/other", 3)
    );
    assert_eq!(
        ring.decrypt("kv/ci/deploy", 4, &env).unwrap_err(),
        tampered("kv/ci/deploy", 4)
    );
    // Change one character in the middle of the stored ciphertext (away from the base64 padding,
    // so it still parses and only the authentication tag can object).
    let text = env.to_string();
    let start = text.rfind(':').unwrap() + 1;
    let at = start + (text.len() - start) / 2;
    let mut bytes = text.clone().into_bytes();
    bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
    let altered: Envelope = String::from_utf8(bytes).unwrap().parse().unwrap();
    assert_eq!(
        ring.decrypt("kv/ci/deploy", 3, &altered).unwrap_err(),
        tampered("kv/ci/deploy", 3)
    );
    // The stored text never contains the plaintext.
    assert!(!text.contains("hunter2"));
    assert_eq!(text.parse::<Envelope>().unwrap(), env);
    assert!(matches!(
        "hfv1:x".parse::<Envelope>().unwrap_err(),
        VaultError::BadEnvelope(_)
    ));
    // Another keyring's key with the same id does not open it either.
    let other = Keyring::new(NOW).unwrap();
    assert_eq!(
        other.decrypt("kv/ci/deploy", 3, &env).unwrap_err(),
        tampered("kv/ci/deploy", 3)
    );
}

#[test]
fn keyring_rotation_keeps_old_versions_readable_and_rewrap_moves_them() {
    let root = RootKey::generate().unwrap();
    let mut ring = Keyring::new(NOW).unwrap();
    let old = ring.encrypt("db/app", 1, b"v1-password").unwrap();
    assert_eq!(ring.rotate("2026-12-01T00:00:00Z").unwrap(), 2);
    let new = ring.encrypt("db/app", 2, b"v2-password").unwrap();
    assert_eq!((old.key_id, new.key_id), (1, 2));
    // Stored and reopened: both still decrypt.
    let reopened = Keyring::open(&ring.seal(&root).unwrap(), &root).unwrap();
    assert_eq!(reopened.active(), 2);
    assert_eq!(
        &reopened.decrypt("db/app", 1, &old).unwrap()[..],
        b"v1-password"
    );
    let moved = reopened.rewrap("db/app", 1, &old).unwrap();
    assert_eq!(moved.key_id, 2);
    assert_eq!(
        &reopened.decrypt("db/app", 1, &moved).unwrap()[..],
        b"v1-password"
    );
    assert_eq!(reopened.keys().count(), 2);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn encryption_round_trips_and_binds_its_context(
        plaintext in prop::collection::vec(any::<u8>(), 0..512),
        path in "[a-z/]{1,40}",
        version in 1u64..1_000_000,
        other_version in 1u64..1_000_000,
    ) {
        let ring = Keyring::new(NOW).unwrap();
        let env = ring.encrypt(&path, version, &plaintext).unwrap();
        let text = env.to_string();
        let back: Envelope = text.parse().unwrap();
        prop_assert_eq!(&ring.decrypt(&path, version, &back).unwrap()[..], &plaintext[..]);
        if other_version != version {
            prop_assert!(ring.decrypt(&path, other_version, &back).is_err());
        }
        let moved = format!("{}x", path);
        prop_assert!(ring.decrypt(&moved, version, &back).is_err());
    }

    #[test]
    fn shamir_reconstructs_from_any_threshold_subset(shares in 2u8..8, pick in any::<u64>()) {
        let threshold = 2 + (pick % u64::from(shares - 1)) as u8;
        let root = RootKey::generate().unwrap();
        let parts = root.split(shares, threshold).unwrap();
        let start = (pick as usize) % parts.len();
        let subset: Vec<Share> = (0..threshold as usize).map(|i| parts[(start + i) % parts.len()].clone()).collect();
        let back = RootKey::combine(&subset).unwrap();
        prop_assert_eq!(back.to_hex(), root.to_hex());
    }
}
