//! TOTP against RFC 6238's vectors, the window, replay, and the forms an app is given.

use futures::executor::block_on;

use super::*;
use crate::app::mfa::crypto::RustCrypto;
use crate::app::mfa::known_answers as kat;

fn code(secret: &[u8], unix_secs: u64) -> String {
    block_on(code_at(&RustCrypto, secret, step_at(unix_secs), DIGITS)).unwrap()
}

fn check(secret: &TotpSecret, input: &str, now: u64, last: Option<u64>) -> Option<u64> {
    block_on(verify(&RustCrypto, secret, input, now, last)).unwrap()
}

const NOW: u64 = 1_800_000_015; // inside step 60_000_000

#[test]
fn codes_match_the_rfc_6238_sha1_vectors_at_eight_digits() {
    for (time, expected) in kat::TOTP_SHA1_8_DIGITS {
        let got = block_on(code_at(&RustCrypto, kat::TOTP_SEED, step_at(time), 8)).unwrap();
        assert_eq!(got, expected, "T = {time}");
    }
}

#[test]
fn six_digit_codes_are_the_last_six_digits_of_the_rfc_vectors() {
    // The value is the same truncation modulo 10^6 instead of 10^8.
    for (time, expected) in kat::TOTP_SHA1_8_DIGITS {
        assert_eq!(code(kat::TOTP_SEED, time), expected[2..], "T = {time}");
    }
}

#[test]
fn steps_are_thirty_seconds() {
    assert_eq!(step_at(0), 0);
    assert_eq!(step_at(29), 0);
    assert_eq!(step_at(30), 1);
    assert_eq!(step_at(59), 1);
    assert_eq!(step_at(NOW), 60_000_000);
}

#[test]
fn the_current_step_and_one_either_side_are_accepted_and_return_their_step() {
    let secret = TotpSecret::from_bytes(*kat::TOTP_SEED);
    let step = step_at(NOW);
    for (offset, accepted) in [(-2i64, false), (-1, true), (0, true), (1, true), (2, false)] {
        let at = NOW.checked_add_signed(offset * 30).unwrap();
        let typed = code(kat::TOTP_SEED, at);
        let expected = accepted.then(|| step.checked_add_signed(offset).unwrap());
        assert_eq!(
            check(&secret, &typed, NOW, None),
            expected,
            "offset {offset}"
        );
    }
}

#[test]
fn a_wrong_code_is_refused() {
    let secret = TotpSecret::from_bytes(*kat::TOTP_SEED);
    let right = code(kat::TOTP_SEED, NOW);
    let wrong = format!("{:06}", (right.parse::<u32>().unwrap() + 1) % 1_000_000);
    assert_eq!(check(&secret, &wrong, NOW, None), None);
    let other = TotpSecret::from_bytes([1u8; 20]);
    assert_eq!(check(&other, &right, NOW, None), None);
    assert_eq!(check(&secret, &right, NOW, None), Some(step_at(NOW)));
}

#[test]
fn an_accepted_step_and_every_earlier_one_are_refused() {
    let secret = TotpSecret::from_bytes(*kat::TOTP_SEED);
    let step = step_at(NOW);
    let now_code = code(kat::TOTP_SEED, NOW);
    let previous = code(kat::TOTP_SEED, NOW - 30);
    let next = code(kat::TOTP_SEED, NOW + 30);

    assert_eq!(check(&secret, &now_code, NOW, None), Some(step));
    // The same code again: its step is the last accepted one.
    assert_eq!(check(&secret, &now_code, NOW, Some(step)), None);
    // An earlier step, still inside the window, is refused too.
    assert_eq!(check(&secret, &previous, NOW, Some(step)), None);
    // The next step is fresh.
    assert_eq!(check(&secret, &next, NOW, Some(step)), Some(step + 1));
    // Once the next step was accepted, the current one is refused as well.
    assert_eq!(check(&secret, &now_code, NOW, Some(step + 1)), None);
}

#[test]
fn the_replay_rule_is_a_pure_comparison_with_the_last_accepted_step() {
    assert!(is_fresh(0, None));
    assert!(is_fresh(11, Some(10)));
    assert!(!is_fresh(10, Some(10)));
    assert!(!is_fresh(9, Some(10)));
}

#[test]
fn codes_with_spaces_are_read_and_malformed_ones_are_refused() {
    assert_eq!(parse_code("123456").as_deref(), Some("123456"));
    assert_eq!(parse_code("123 456").as_deref(), Some("123456"));
    assert_eq!(parse_code(" 123456 ").as_deref(), Some("123456"));
    for bad in [
        "",
        "12345",
        "1234567",
        "12345a",
        "１２３４５６",
        "123-456",
        "12\t3456",
    ] {
        assert_eq!(parse_code(bad), None, "{bad:?}");
    }
    let secret = TotpSecret::from_bytes(*kat::TOTP_SEED);
    let right = code(kat::TOTP_SEED, NOW);
    let spaced = format!("{} {}", &right[..3], &right[3..]);
    assert_eq!(check(&secret, &spaced, NOW, None), Some(step_at(NOW)));
    assert_eq!(check(&secret, &format!("{right}0"), NOW, None), None);
}

#[test]
fn base32_matches_the_rfc_4648_vectors_without_padding() {
    let vectors = [
        ("", ""),
        ("f", "MY"),
        ("fo", "MZXQ"),
        ("foo", "MZXW6"),
        ("foob", "MZXW6YQ"),
        ("fooba", "MZXW6YTB"),
        ("foobar", "MZXW6YTBOI"),
    ];
    for (input, expected) in vectors {
        assert_eq!(base32(input.as_bytes()), expected, "{input:?}");
    }
}

#[test]
fn a_secret_is_160_random_bits_in_32_base32_characters() {
    let a = TotpSecret::generate().unwrap();
    let b = TotpSecret::generate().unwrap();
    assert_ne!(a.expose(), b.expose());
    let text = a.to_base32();
    assert_eq!(text.len(), 32);
    assert!(text.bytes().all(|c| BASE32_ALPHABET.contains(&c)));
    // RFC 6238's seed, whose base32 form authenticator apps' documentation uses.
    assert_eq!(
        TotpSecret::from_bytes(*kat::TOTP_SEED).to_base32(),
        "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
    );
    assert_eq!(format!("{a:?}"), "TotpSecret([REDACTED])");
}

#[test]
fn the_otpauth_uri_has_the_contracts_exact_form() {
    let secret = TotpSecret::from_bytes(*kat::TOTP_SEED);
    assert_eq!(
        otpauth_uri("Edge Auth", "a.b+c@example.com", &secret),
        "otpauth://totp/Edge%20Auth:a.b%2Bc%40example.com\
         ?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Edge%20Auth\
         &algorithm=SHA1&digits=6&period=30"
    );
    // A colon or an ampersand in the issuer cannot split the label or add a parameter.
    assert_eq!(
        otpauth_uri("a:b&c=d", "é@x.io", &secret),
        "otpauth://totp/a%3Ab%26c%3Dd:%C3%A9%40x.io\
         ?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=a%3Ab%26c%3Dd\
         &algorithm=SHA1&digits=6&period=30"
    );
}
