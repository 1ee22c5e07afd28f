//! Checkpoint signing and verification: known answers and precise errors.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::Value;
use signed_note::{Note, StandardSigner};
use veche_log::checkpoint::parse_vkey;
use veche_log::{Checkpoint, CheckpointError, EMPTY_ROOT, Hash, LogSigner, verify_checkpoint};

const NAME: &str = "example.com/veche-test";
const SEED: [u8; 32] = [
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25,
    26, 27, 28, 29, 30, 31,
];

/// Known answer, produced independently by `testdata/gen_checkpoint_kat.py`
/// (Python `cryptography` Ed25519): the key with seed 00..1f named
/// `example.com/veche-test` signing the 8-leaf RFC 6962 vector tree.
const KAT_VKEY: &str =
    "example.com/veche-test+f7ebdbbb+AQOhB7/zzhC+HXDdGOdLwJln5NYwm6UNXx3chmQSVTG4";
const KAT_SKEY: &str =
    "PRIVATE+KEY+example.com/veche-test+f7ebdbbb+AQABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4f";
const KAT_NOTE: &str = "example.com/veche-test\n\
8\n\
XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n\
\n\
— example.com/veche-test 9+vbu1hs0BWbRP9Vz++iOVV+Rs7HNUPSzVX/Kwc2n2hnazI53vY42FoJaSN5ttni5GBKSzPTlkrnCUnvzqVquRqlFQ8=\n";

fn kat_checkpoint() -> Checkpoint {
    Checkpoint::new(
        NAME,
        8,
        Hash::from_hex("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328").unwrap(),
    )
}

fn kat_signer() -> LogSigner {
    let (signer, skey) = LogSigner::from_seed(NAME, &SEED).unwrap();
    assert_eq!(skey, KAT_SKEY);
    signer
}

#[test]
fn known_answer_note() {
    let signer = kat_signer();
    assert_eq!(signer.vkey(), KAT_VKEY);
    assert_eq!(signer.name(), NAME);
    assert_eq!(signer.key_id(), 0xf7eb_dbbb);
    assert_eq!(signer.sign(&kat_checkpoint()), KAT_NOTE);
    assert_eq!(
        verify_checkpoint(KAT_NOTE.as_bytes(), KAT_VKEY),
        Ok(kat_checkpoint())
    );
    let from_skey = LogSigner::from_skey(KAT_SKEY).unwrap();
    assert_eq!(from_skey.vkey(), KAT_VKEY);
    assert_eq!(from_skey.sign(&kat_checkpoint()), KAT_NOTE);
}

#[test]
fn known_answer_json() {
    let v: Value = serde_json::from_str(include_str!("../testdata/checkpoint_kat.json")).unwrap();
    let signer = LogSigner::from_skey(v["skey"].as_str().unwrap()).unwrap();
    assert_eq!(signer.vkey(), v["vkey"].as_str().unwrap());
    for c in v["checkpoints"].as_array().unwrap() {
        let cp = Checkpoint {
            origin: NAME.into(),
            size: c["size"].as_u64().unwrap(),
            root: Hash::from_hex(c["root_hex"].as_str().unwrap()).unwrap(),
            extensions: c["extensions"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e.as_str().unwrap().to_owned())
                .collect(),
        };
        assert_eq!(cp.to_body(), c["body"].as_str().unwrap());
        let note = c["note"].as_str().unwrap();
        assert_eq!(signer.sign(&cp), note);
        assert_eq!(verify_checkpoint(note.as_bytes(), &signer.vkey()), Ok(cp));
    }
}

/// The example key and note of Go's golang.org/x/mod/sumdb/note documentation
/// (also in the signed_note crate docs): our key parsing gives the published
/// verifier key, and the signature verifies (the text is not a checkpoint).
#[test]
fn go_note_example_key() {
    let skey = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
    let vkey = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    let signer = LogSigner::from_skey(skey).unwrap();
    assert_eq!(signer.vkey(), vkey);
    assert_eq!(
        parse_vkey(vkey).unwrap(),
        ("PeterNeumann".to_string(), 0xc74f20a3)
    );
    let msg = "If you think cryptography is the answer to your problem,\n\
               then you don't know what your problem is.\n\
               \n\
               — PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
    assert!(matches!(
        verify_checkpoint(msg.as_bytes(), vkey),
        Err(CheckpointError::Malformed(_))
    ));
    // One flipped character in the text: the signature no longer verifies.
    let tampered = msg.replacen("answer", "anSwer", 1);
    assert_eq!(
        verify_checkpoint(tampered.as_bytes(), vkey),
        Err(CheckpointError::BadSignature {
            name: "PeterNeumann".into(),
            key_id: 0xc74f20a3
        })
    );
}

#[test]
fn round_trip_with_generated_keys() {
    for size in [0u64, 1, 255, 256, 1 << 40, u64::MAX] {
        let (signer, skey) = LogSigner::generate("veche.example/log");
        let cp = Checkpoint::new("veche.example/log", size, Hash([size as u8; 32]));
        let note = signer.sign(&cp);
        assert_eq!(
            verify_checkpoint(note.as_bytes(), &signer.vkey()),
            Ok(cp.clone())
        );
        assert_eq!(LogSigner::from_skey(&skey).unwrap().sign(&cp), note);
    }
}

#[test]
fn signed_by_another_key() {
    let signer = kat_signer();
    let (other, _) = LogSigner::from_seed(NAME, &[0xee; 32]).unwrap();
    let note = other.sign(&kat_checkpoint());
    assert_eq!(
        verify_checkpoint(note.as_bytes(), &signer.vkey()),
        Err(CheckpointError::NoSignature {
            name: NAME.into(),
            key_id: 0xf7eb_dbbb
        })
    );
    // A different name and key altogether.
    let (stranger, _) = LogSigner::from_seed("stranger.example", &[1; 32]).unwrap();
    let note = stranger.sign(&Checkpoint::new("stranger.example", 1, EMPTY_ROOT));
    assert!(matches!(
        verify_checkpoint(note.as_bytes(), &signer.vkey()),
        Err(CheckpointError::NoSignature { .. })
    ));
}

#[test]
fn changed_body_byte_fails() {
    let vkey = kat_signer().vkey();
    // Change the size 8 -> 9.
    let tampered = KAT_NOTE.replacen("\n8\n", "\n9\n", 1);
    assert_eq!(
        verify_checkpoint(tampered.as_bytes(), &vkey),
        Err(CheckpointError::BadSignature {
            name: NAME.into(),
            key_id: 0xf7eb_dbbb
        })
    );
    // Any single-bit change of any body byte breaks the note.
    let body_len = KAT_NOTE.find("\n\n").unwrap() + 1;
    for i in 0..body_len {
        for bit in [0u8, 5] {
            let mut b = KAT_NOTE.as_bytes().to_vec();
            b[i] ^= 1 << bit;
            assert!(verify_checkpoint(&b, &vkey).is_err(), "byte {i} bit {bit}");
        }
    }
}

fn resign_line(note: &str, f: impl FnOnce(&mut Vec<u8>)) -> String {
    let (body, sigline) = note.rsplit_once("\n\n").unwrap();
    let (prefix, b64) = sigline.trim_end().rsplit_once(' ').unwrap();
    let mut sig = BASE64.decode(b64).unwrap();
    f(&mut sig);
    format!("{body}\n\n{prefix} {}\n", BASE64.encode(sig))
}

#[test]
fn changed_signature_byte_fails() {
    let vkey = kat_signer().vkey();
    for i in 4..68 {
        let tampered = resign_line(KAT_NOTE, |s| s[i] ^= 0x40);
        assert_eq!(
            verify_checkpoint(tampered.as_bytes(), &vkey),
            Err(CheckpointError::BadSignature {
                name: NAME.into(),
                key_id: 0xf7eb_dbbb
            }),
            "signature byte {i}"
        );
    }
    // Truncated signature from the known key.
    let short = resign_line(KAT_NOTE, |s| s.truncate(40));
    assert!(matches!(
        verify_checkpoint(short.as_bytes(), &vkey),
        Err(CheckpointError::BadSignature { .. })
    ));
    // Changing the key ID bytes makes it someone else's (unknown) signature.
    let other_id = resign_line(KAT_NOTE, |s| s[0] ^= 1);
    assert!(matches!(
        verify_checkpoint(other_id.as_bytes(), &vkey),
        Err(CheckpointError::NoSignature { .. })
    ));
}

#[test]
fn origin_mismatch() {
    // The log's key signs a well-formed checkpoint with a foreign origin
    // (only possible by going around LogSigner, which refuses).
    let raw = StandardSigner::new(KAT_SKEY).unwrap();
    let body = Checkpoint::new("impostor.example/log", 8, EMPTY_ROOT).to_body();
    let mut n = Note::new(body.as_bytes(), &[]).unwrap();
    n.add_sigs(&[&raw]).unwrap();
    let note = n.to_bytes();
    assert_eq!(
        verify_checkpoint(&note, KAT_VKEY),
        Err(CheckpointError::OriginMismatch {
            expected: NAME.into(),
            found: "impostor.example/log".into()
        })
    );
    assert!(matches!(
        kat_signer().try_sign(&Checkpoint::new("impostor.example/log", 8, EMPTY_ROOT)),
        Err(CheckpointError::OriginMismatch { .. })
    ));
}

#[test]
fn malformed_body_with_valid_signature() {
    let raw = StandardSigner::new(KAT_SKEY).unwrap();
    for body in [
        format!("{NAME}\n08\n{}\n", EMPTY_ROOT.to_base64()),
        format!("{NAME}\n8\n{}\n", EMPTY_ROOT.to_hex()),
        format!("{NAME}\n8\n"),
        format!("{NAME}\n8\n{}\n\nafter blank\n", EMPTY_ROOT.to_base64()),
    ] {
        let mut n = Note::new(body.as_bytes(), &[]).unwrap();
        n.add_sigs(&[&raw]).unwrap();
        assert!(
            matches!(
                verify_checkpoint(&n.to_bytes(), KAT_VKEY),
                Err(CheckpointError::Malformed(_))
            ),
            "{body:?}"
        );
    }
}

#[test]
fn cosignatures_by_unknown_keys_are_ignored() {
    let signer = kat_signer();
    let witness =
        StandardSigner::new(&LogSigner::from_seed("witness.example", &[3; 32]).unwrap().1).unwrap();
    let ours = StandardSigner::new(KAT_SKEY).unwrap();
    let body = kat_checkpoint().to_body();
    for order in [[&witness, &ours], [&ours, &witness]] {
        let mut n = Note::new(body.as_bytes(), &[]).unwrap();
        n.add_sigs(&[order[0], order[1]]).unwrap();
        let bytes = n.to_bytes();
        assert_eq!(
            verify_checkpoint(&bytes, &signer.vkey()),
            Ok(kat_checkpoint())
        );
    }
    // Our signature appended after the witness's, as text.
    let (_, sigline) = KAT_NOTE.split_once("\n\n").unwrap();
    let mut n = Note::new(body.as_bytes(), &[]).unwrap();
    n.add_sigs(&[&witness]).unwrap();
    let both = format!("{}{}", String::from_utf8(n.to_bytes()).unwrap(), sigline);
    assert_eq!(
        verify_checkpoint(both.as_bytes(), KAT_VKEY),
        Ok(kat_checkpoint())
    );
}

#[test]
fn bad_notes() {
    for bad in [
        &b""[..],
        b"not a note",
        b"example.com/veche-test\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n",
        b"example.com/veche-test\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n\n",
        b"a\n\n- dash instead of em dash AAAA\n",
        b"a\n\n\xe2\x80\x94 name !!!notbase64\n",
        b"\xff\xfe\n\n\xe2\x80\x94 name AAAAAAA=\n",
        b"a\tb\n\n\xe2\x80\x94 name AAAAAAA=\n",
    ] {
        assert!(
            matches!(
                verify_checkpoint(bad, KAT_VKEY),
                Err(CheckpointError::BadNote(_))
            ),
            "{:?}",
            String::from_utf8_lossy(bad)
        );
    }
    // Missing final newline.
    let cut = &KAT_NOTE.as_bytes()[..KAT_NOTE.len() - 1];
    assert!(matches!(
        verify_checkpoint(cut, KAT_VKEY),
        Err(CheckpointError::BadNote(_))
    ));
    // Oversized input is refused before parsing.
    let huge = vec![b'a'; 1 << 20];
    assert!(matches!(
        verify_checkpoint(&huge, KAT_VKEY),
        Err(CheckpointError::BadNote(_))
    ));
}
