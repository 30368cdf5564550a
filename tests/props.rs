//! Property tests for the parsers and newtypes at the boundary.
#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::disallowed_methods)] // std's to_lowercase is the reference the normalization is checked against

use edge_auth::domain::{Email, EMAIL_MAX_CHARS};
use edge_auth::http::{parse_form, request_id};
use edge_auth::limits::ratelimit::client_of;
use edge_auth::password::Password;
use edge_auth::password::{HashBounds, LegacyHash, PasswordHash, StoredHash};
use edge_auth::tokens::signer::CompactKeys;
use proptest::prelude::*;

type KeySet = edge_auth::tokens::KeySet<CompactKeys>;

fn keys() -> KeySet {
    KeySet::from_jwks_json(
        r#"[{"kty":"OKP","crv":"Ed25519","kid":"p","d":"AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE"}]"#,
    )
    .unwrap()
}

/// A dot-atom (RFC 5322): runs of `atext`, single dots between them.
const DOT_ATOM: &str =
    "[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{1,12}(\\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{1,12}){0,3}";
/// A label of a host name: letters, digits and inner hyphens, at most 63 characters.
const LDH_LABEL: &str = "[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?";
/// What makes an address more than one plain mailbox, or not one at all.
const NOT_IN_A_PLAIN_ADDRESS: &[char] = &['<', '>', ',', ';', ':', '(', ')', '[', ']', '\\', '"'];

const BOUNDS: HashBounds = HashBounds {
    pbkdf2_max_iterations: 10_000_000,
    bcrypt_max_cost: 13,
};

proptest! {
    #[test]
    fn email_parse_output_is_normalized_and_stable(raw in "\\PC{0,300}") {
        if let Ok(e) = Email::parse(&raw) {
            let s = e.as_ref();
            prop_assert_eq!(s, s.to_lowercase());
            prop_assert_eq!(s, s.trim());
            prop_assert_eq!(s.matches('@').count(), 1);
            prop_assert!(s.chars().count() <= EMAIL_MAX_CHARS);
            prop_assert!(!s.chars().any(|c| c.is_whitespace() || c.is_control()));
            prop_assert!(s.is_ascii());
            prop_assert!(!s.contains(NOT_IN_A_PLAIN_ADDRESS));
            prop_assert_eq!(Email::parse(s).unwrap(), e.clone());
        }
    }

    #[test]
    fn plain_addresses_are_accepted_in_any_case(
        local in DOT_ATOM,
        labels in prop::collection::vec(LDH_LABEL, 2..4),
        pad in " {0,3}",
    ) {
        let raw = format!("{pad}{local}@{}{pad}", labels.join("."));
        let e = Email::parse(&raw).unwrap();
        prop_assert_eq!(e.as_ref(), raw.trim().to_lowercase());
    }

    #[test]
    fn a_character_outside_a_plain_address_makes_it_invalid(
        local in DOT_ATOM,
        labels in prop::collection::vec(LDH_LABEL, 2..4),
        extra in prop::sample::select(
            NOT_IN_A_PLAIN_ADDRESS.iter().copied().chain(['\u{e9}', '\u{fc}', '\u{212a}', '\u{130}']).collect::<Vec<_>>(),
        ),
        at in any::<prop::sample::Index>(),
    ) {
        let plain = format!("{local}@{}", labels.join("."));
        let mut chars: Vec<char> = plain.chars().collect();
        chars.insert(at.index(chars.len() + 1), extra);
        let raw: String = chars.into_iter().collect();
        prop_assume!(raw.chars().count() <= 254);
        let e = Email::parse(&raw).unwrap_err();
        prop_assert_eq!((e.field, e.code), ("email", "invalid_email"), "{:?}", raw);
    }

    #[test]
    fn dots_out_of_place_and_bad_labels_make_it_invalid(
        local in DOT_ATOM,
        labels in prop::collection::vec(LDH_LABEL, 2..4),
        flaw in 0usize..5,
    ) {
        let domain = labels.join(".");
        let raw = match flaw {
            0 => format!(".{local}@{domain}"),
            1 => format!("{local}.@{domain}"),
            2 => format!("{local}..x@{domain}"),
            3 => format!("{local}@-{domain}"),
            _ => format!("{local}@{}.{domain}", "a".repeat(64)),
        };
        // Past 254 characters an address is `too_long` first, whatever else is wrong.
        prop_assume!(raw.len() <= 254);
        let e = Email::parse(&raw).unwrap_err();
        prop_assert_eq!((e.field, e.code), ("email", "invalid_email"), "{:?}", raw);
    }

    #[test]
    fn password_length_rule_counts_code_points(raw in "\\PC{0,140}") {
        let n = raw.chars().count();
        match Password::parse(&raw, None) {
            Ok(p) => {
                prop_assert!((8..=128).contains(&n));
                prop_assert_eq!(p.expose(), raw.as_str());
            }
            Err(errors) => {
                let codes: Vec<&str> = errors.iter().map(|e| e.code).collect();
                prop_assert!(
                    n < 8 && codes.contains(&"too_short")
                        || n > 128 && codes.contains(&"too_long")
                        || codes.contains(&"too_common"),
                    "{:?} for {} chars", codes, n
                );
            }
        }
    }

    #[test]
    fn phc_parse_never_panics(raw in "\\PC{0,300}") {
        let _ = PasswordHash::parse(&raw, 10_000_000);
    }

    #[test]
    fn stored_hash_parse_never_panics(raw in "\\PC{0,300}", prefix in prop::sample::select(
        vec!["", "$2b$", "$2a$13$", "$argon2id$v=19$", "$argon2id$v=19$m=65536,t=3,p=4$", "pbkdf2_sha256$"],
    )) {
        let _ = StoredHash::parse(&format!("{prefix}{raw}"), &BOUNDS);
    }

    #[test]
    fn bcrypt_cost_is_accepted_exactly_within_its_bounds(cost in 0u32..100, max in 4u32..=31) {
        // A well-formed string (Python's bcrypt, cost 4) with only the cost changed.
        let raw = format!("$2b${cost:02}$t.WATwxaNmTnp7DnBXdR5uxPmmxKNosUc1XmjFs6TIZztvy3GtqIC");
        let bounds = HashBounds { bcrypt_max_cost: max, ..BOUNDS };
        prop_assert_eq!(LegacyHash::parse(&raw, &bounds).is_ok(), (4..=max).contains(&cost));
    }

    #[test]
    fn argon2_parameters_are_accepted_exactly_within_their_bounds(
        m in 1u32..200_000, t in 0u32..20, p in 0u32..16,
    ) {
        let raw = format!("$argon2id$v=19$m={m},t={t},p={p}$1P7VkxKiDYdAosPFgdn8EQ$MHUQXJJuWmChsn0LFgfdReEEbDYdYZk/DKEaV50Jeug");
        let ok = (1..=8).contains(&p) && (1..=10).contains(&t) && (8 * p..=65_536).contains(&m);
        prop_assert_eq!(LegacyHash::parse(&raw, &BOUNDS).is_ok(), ok);
    }

    #[test]
    fn phc_round_trips(password in "\\PC{0,40}", iterations in 1_000u32..1_050) {
        let h = PasswordHash::create(&password, iterations).unwrap();
        let parsed = PasswordHash::parse(&h.to_phc(), 10_000_000).unwrap();
        prop_assert!(parsed.verify(&password));
        prop_assert_eq!(parsed.iterations, iterations);
    }

    #[test]
    fn form_decoding_never_panics_and_round_trips(
        pairs in prop::collection::vec(("[a-z]{1,8}", "\\PC{0,20}"), 0..5),
        junk in "\\PC{0,100}",
    ) {
        let _ = parse_form(&junk);
        let enc = |s: &str| s.bytes().map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' => (b as char).to_string(),
            b' ' => "+".into(),
            _ => format!("%{b:02X}"),
        }).collect::<String>();
        let body: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={}", enc(v))).collect();
        let decoded = parse_form(&body.join("&")).unwrap();
        for (k, _) in &pairs {
            // A repeated name keeps its first value.
            let first = pairs.iter().find(|(k2, _)| k2 == k).unwrap();
            prop_assert_eq!(decoded[k].as_str().unwrap(), first.1.as_str());
        }
    }

    #[test]
    fn request_ids_are_always_safe(raw in "\\PC{0,200}") {
        let id = request_id(Some(&raw));
        prop_assert!((1..=128).contains(&id.len()));
        prop_assert!(id.bytes().all(|b| b.is_ascii_alphanumeric() || b"._:-".contains(&b)));
    }

    #[test]
    fn arbitrary_tokens_never_verify(raw in "\\PC{0,400}", dots in "[A-Za-z0-9_-]{0,60}\\.[A-Za-z0-9_-]{0,60}\\.[A-Za-z0-9_-]{0,90}") {
        let now = chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let verify = |t: &str| futures::executor::block_on(keys().verify(t, now, "edge-auth", "edge-auth"));
        prop_assert!(verify(&raw).is_err());
        prop_assert!(verify(&dots).is_err());
    }

    #[test]
    fn the_client_of_an_ipv6_address_is_its_slash_64_as_std_reads_it(
        groups in prop::array::uniform8(any::<u16>()),
        v4 in any::<[u8; 4]>(),
    ) {
        let v6 = std::net::Ipv6Addr::from(groups);
        let expanded = groups.map(|g| format!("{g:x}")).join(":");
        let padded = groups.map(|g| format!("{g:04X}")).join(":");
        let mapped = std::net::Ipv4Addr::from(v4).to_ipv6_mapped();
        for text in [v6.to_string(), expanded, padded, mapped.to_string()] {
            prop_assert_eq!(client_of(&text), reference_client(&text), "{}", text);
        }
    }

    #[test]
    fn any_text_is_keyed_as_std_reads_it(text in "[0-9a-fA-F:.]{0,45}") {
        prop_assert_eq!(client_of(&text), reference_client(&text));
    }
}

/// What the client key is by std's own address parser: the reference for `client_of`.
fn reference_client(ip: &str) -> String {
    match ip.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
        // IPv4, and anything that is no address: the text itself.
        _ => ip.chars().take(64).collect(),
    }
}
