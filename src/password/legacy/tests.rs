//! The legacy formats: vectors the Python libraries wrote, bounds refused before any work,
//! the sliced checks against the `bcrypt` crate, and the work model.

use super::*;

const PW: &str = "correct horse battery";
const BOUNDS: HashBounds = HashBounds {
    pbkdf2_max_iterations: 10_000_000,
    bcrypt_max_cost: 13,
};

// Generated with the Python libraries the migrating services use (see the README):
// bcrypt.hashpw(pw, gensalt(4)) and gensalt(5, prefix=b"2a").
const BCRYPT_2B: &str = "$2b$04$t.WATwxaNmTnp7DnBXdR5uxPmmxKNosUc1XmjFs6TIZztvy3GtqIC";
const BCRYPT_2A: &str = "$2a$05$qyukRw/5If5rbkfPnk/TrOGgKSykxCZZlusJUcjbzYEGk05L.ikGS";
// passlib.hash.bcrypt.using(rounds=4, ident="2y").hash("pässwörd ünïcode")
const PASSLIB_2Y: &str = "$2y$04$XriNHdT9eTvIGvgU13eytueTpzkXrxsTwY5pcHc7C.5mxCLpH0PRC";
// pwdlib.hashers.bcrypt.BcryptHasher(rounds=4).hash(pw)
const PWDLIB_BCRYPT: &str = "$2b$04$4DelH3W60MlbcO8xWFNJHupwBSsXQWCN8gBgWJIZJ.1wg9dPWRB3W";
// bcrypt.hashpw(b"x" * 80, gensalt(4)): bcrypt only reads 72 bytes.
const BCRYPT_LONG: &str = "$2b$04$BK/OZxEh5VnJ.gspJ5wrD.tbntiJjd1k8Tf8rveDvpSMQIwV44N.y";
// argon2.PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash(pw)
const ARGON2_CFFI: &str = "$argon2id$v=19$m=1024,t=1,p=1$1P7VkxKiDYdAosPFgdn8EQ$MHUQXJJuWmChsn0LFgfdReEEbDYdYZk/DKEaV50Jeug";
// pwdlib.hashers.argon2.Argon2Hasher(time_cost=2, memory_cost=2048, parallelism=2).hash(pw)
const PWDLIB_ARGON2: &str = "$argon2id$v=19$m=2048,t=2,p=2$UaGwL5PiCgSZ1wA+EymGnA$zTtw3bv5h4K5d3dgjB3aacesPddF5ZLto7cyhetH7/E";
// Django's PBKDF2PasswordHasher.encode, via hashlib.pbkdf2_hmac("sha256", pw, salt, 1000)
const DJANGO: &str =
    "pbkdf2_sha256$1000$Nq8aPwgDjhMx5Rb0Jx3vXy$uP6t036DzJrUpiXQa5mW91eJg0F0gwBgqXcOUCKuYqA=";

fn parse(raw: &str) -> Result<LegacyHash, LegacyError> {
    LegacyHash::parse(raw, &BOUNDS)
}

#[test]
fn bcrypt_hashes_from_python_verify() {
    for (raw, pw) in [
        (BCRYPT_2B, PW),
        (BCRYPT_2A, PW),
        (PASSLIB_2Y, "pässwörd ünïcode"),
        (PWDLIB_BCRYPT, PW),
    ] {
        let h = parse(raw).unwrap();
        assert_eq!(h.algorithm(), "bcrypt");
        assert!(h.verify(pw), "{raw}");
        assert!(!h.verify("correct horse batterY"), "{raw}");
    }
    let long = parse(BCRYPT_LONG).unwrap();
    assert!(long.verify(&"x".repeat(80)));
    assert!(long.verify(&"x".repeat(72)));
    assert!(!long.verify(&"x".repeat(71)));
}

#[test]
fn argon2id_hashes_from_python_verify() {
    for raw in [ARGON2_CFFI, PWDLIB_ARGON2] {
        let h = parse(raw).unwrap();
        assert_eq!(h.algorithm(), "argon2id");
        assert!(h.verify(PW));
        assert!(!h.verify("correct horse batterY"));
    }
    assert!(matches!(
        parse(PWDLIB_ARGON2).unwrap(),
        LegacyHash::Argon2id {
            m_kib: 2048,
            t: 2,
            p: 2,
            ..
        }
    ));
}

/// Checks `raw` with [`LegacyHash::verify_yielding`]: the answer, and the pauses it awaited.
fn verify_counting_pauses(raw: &str, password: &str) -> (bool, u32) {
    let h = parse(raw).unwrap();
    let pauses = std::cell::Cell::new(0);
    let ok = futures::executor::block_on(h.verify_yielding(password, || {
        pauses.set(pauses.get() + 1);
        async {}
    }));
    (ok, pauses.get())
}

#[test]
fn bcrypt_and_django_hashes_are_checked_in_slices_that_pause_argon2id_in_one_piece() {
    use sha2::Sha256;
    // Cost 9: 512 rounds, three slices of at most 192.
    let bcrypt_9 = ::bcrypt::hash_with_salt(PW, 9, [3; 16])
        .unwrap()
        .to_string();
    // 80,000 iterations: three slices of at most 35,000.
    let mut out = [0u8; 32];
    ::pbkdf2::pbkdf2_hmac::<Sha256>(PW.as_bytes(), b"NaCl", 80_000, &mut out);
    let django = format!("pbkdf2_sha256$80000$NaCl${}", STANDARD.encode(out));
    for raw in [bcrypt_9.as_str(), &django] {
        assert_eq!(verify_counting_pauses(raw, PW), (true, 2), "{raw}");
        assert_eq!(
            verify_counting_pauses(raw, "correct horse batterY"),
            (false, 2)
        );
    }
    // The small vectors: one slice, no pause, the same answers as `verify`.
    for raw in [BCRYPT_2B, PWDLIB_BCRYPT, DJANGO] {
        assert_eq!(verify_counting_pauses(raw, PW), (true, 0), "{raw}");
    }
    assert_eq!(
        verify_counting_pauses(BCRYPT_LONG, &"x".repeat(80)),
        (true, 0)
    );
    assert_eq!(
        verify_counting_pauses(BCRYPT_LONG, &"x".repeat(71)),
        (false, 0)
    );
    assert_eq!(verify_counting_pauses(ARGON2_CFFI, PW), (true, 0));
}

#[test]
fn each_legacy_hash_waits_for_the_isolates_hash_lock() {
    use std::cell::{Cell, RefCell};
    let bcrypt_9 = ::bcrypt::hash_with_salt(PW, 9, [3; 16])
        .unwrap()
        .to_string();
    // Two pauses of its own for bcrypt 9 (three slices), none for the small Argon2id and
    // Django hashes; plus the three it waits while another hash holds the lock.
    for (raw, own_pauses) in [(bcrypt_9.as_str(), 2), (ARGON2_CFFI, 0), (DJANGO, 0)] {
        let lock = crate::password::queue::isolate_lock();
        let other = RefCell::new(Some(lock.try_take().expect("free")));
        let pauses = Cell::new(0);
        let h = parse(raw).unwrap();
        let ok = futures::executor::block_on(h.verify_yielding(PW, || {
            pauses.set(pauses.get() + 1);
            if pauses.get() == 3 {
                other.borrow_mut().take(); // the other hash is done
            }
            async {}
        }));
        assert!(ok, "{raw}");
        assert_eq!(pauses.get(), 3 + own_pauses, "{raw}");
    }
}

#[test]
fn bcrypt_answers_as_the_bcrypt_crate_at_the_72_byte_edge_and_with_nul_bytes() {
    let long = |n: usize| "p".repeat(n);
    for password in [
        long(71),
        long(72),
        long(73),
        "pass\0word".to_owned(),
        "\0".to_owned(),
    ] {
        let raw = ::bcrypt::hash_with_salt(&password, 4, [9; 16])
            .unwrap()
            .to_string();
        let h = parse(&raw).unwrap();
        let mut candidates = vec![password.clone(), format!("{password}x"), long(72)];
        candidates.push(password[..password.len() - 1].to_owned());
        for candidate in candidates {
            assert_eq!(
                h.verify(&candidate),
                ::bcrypt::verify(&candidate, &raw).unwrap(),
                "{} bytes against {} bytes",
                candidate.len(),
                password.len()
            );
        }
    }
}

#[test]
fn bcrypt_refuses_a_non_canonical_last_character_as_the_bcrypt_crate_does() {
    const ALPHABET: &str = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let raw = ::bcrypt::hash_with_salt(PW, 4, [0; 16])
        .unwrap()
        .to_string();
    // The salt's last character (4 spare bits) and the hash's (2), each with a spare bit set.
    for at in [28, 59] {
        let index = ALPHABET.find(&raw[at..at + 1]).unwrap();
        let changed = ALPHABET.as_bytes()[index ^ 1] as char;
        let mut bad = raw.clone();
        bad.replace_range(at..at + 1, &changed.to_string());
        assert!(::bcrypt::verify(PW, &bad).is_err(), "{bad}");
        assert!(parse(&bad).is_err(), "{bad}");
    }
}

#[test]
fn django_hash_verifies() {
    let h = parse(DJANGO).unwrap();
    assert_eq!(h.algorithm(), "django-pbkdf2-sha256");
    assert_eq!(h.iterations(), Some(1000));
    assert!(h.verify(PW));
    assert!(!h.verify("correct horse batterY"));
    // A tampered count gives another key: refused at verification, not at parsing.
    assert!(!parse(&DJANGO.replace("$1000$", "$1001$"))
        .unwrap()
        .verify(PW));
}

#[test]
fn bcrypt_cost_out_of_bounds_is_refused_before_any_work() {
    // Cost 31 would take days; parse must refuse it (this test would time out otherwise).
    let with_cost = |c: &str| format!("$2b${c}{}", &BCRYPT_2B[6..]);
    assert_eq!(parse(&with_cost("31")).unwrap_err(), LegacyError::Cost);
    assert_eq!(parse(&with_cost("14")).unwrap_err(), LegacyError::Cost);
    assert_eq!(parse(&with_cost("03")).unwrap_err(), LegacyError::Cost);
    assert_eq!(parse(&with_cost("99")).unwrap_err(), LegacyError::Cost);
    assert_eq!(parse(&with_cost("+4")).unwrap_err(), LegacyError::Format);
    assert!(parse(&with_cost("13")).is_ok());
    let lower = HashBounds {
        bcrypt_max_cost: 10,
        ..BOUNDS
    };
    assert_eq!(
        LegacyHash::parse(&with_cost("12"), &lower).unwrap_err(),
        LegacyError::Cost
    );
    assert_eq!(
        parse(&BCRYPT_2B.replace("$2b$", "$2x$")).unwrap_err(),
        LegacyError::Algorithm
    );
    assert_eq!(parse(&BCRYPT_2B[..59]).unwrap_err(), LegacyError::Format);
    assert_eq!(
        parse(&BCRYPT_2B.replace('t', "!")).unwrap_err(),
        LegacyError::Salt
    );
}

#[test]
fn argon2_parameters_out_of_bounds_are_refused_before_any_work() {
    let with = |params: &str| ARGON2_CFFI.replace("m=1024,t=1,p=1", params);
    for params in [
        "m=1048576,t=1,p=1", // 1 GiB would not fit the Worker
        "m=65537,t=1,p=1",
        "m=1024,t=11,p=1",
        "m=1024,t=1,p=9",
        "m=1024,t=0,p=1",
        "m=8,t=1,p=2", // less than 8 KiB per lane
        "m=1024,t=1",
        "m=1024,t=1,p=1,keyid=AAAA",
        "m=1024,t=1,p=1,m=1024",
    ] {
        assert!(parse(&with(params)).is_err(), "{params}");
    }
    assert!(parse(&with("m=65536,t=10,p=8")).is_ok());
    assert_eq!(
        parse(&ARGON2_CFFI.replace("v=19", "v=16")).unwrap_err(),
        LegacyError::Argon2Params
    );
    assert_eq!(
        parse(&ARGON2_CFFI.replace("argon2id", "argon2i")).unwrap_err(),
        LegacyError::Algorithm
    );
    assert_eq!(
        parse(&ARGON2_CFFI.replace("argon2id", "argon2d")).unwrap_err(),
        LegacyError::Algorithm
    );
    assert!(parse("$argon2id$v=19$m=1024,t=1,p=1").is_err());
    // The PHC string is read by our own parser: every part is required and strict.
    let (head, hash) = ARGON2_CFFI.rsplit_once('$').unwrap();
    assert_eq!(parse(head).unwrap_err(), LegacyError::Hash);
    assert_eq!(
        parse(&format!("{ARGON2_CFFI}$x")).unwrap_err(),
        LegacyError::Format
    );
    for salt in [
        "AAAAAAAA",
        "1P7VkxKiDYdAosPFgdn8E!",
        "1P7VkxKiDYdAosPFgdn8EQ==",
        "1P7VkxKiDYdAosPFgdn8ER", // non-zero trailing bits: not the canonical form
        &"A".repeat(66),          // 49 bytes
    ] {
        let raw = ARGON2_CFFI.replace("1P7VkxKiDYdAosPFgdn8EQ", salt);
        assert_eq!(parse(&raw).unwrap_err(), LegacyError::Salt, "{salt}");
    }
    let long = "A".repeat(87); // 65 bytes
    for bad in [&hash[..20], "MHUQXJJuWmChsn0LFgfdR!", long.as_str()] {
        let raw = format!("{head}${bad}");
        assert_eq!(parse(&raw).unwrap_err(), LegacyError::Hash, "{bad}");
    }
    assert_eq!(
        parse("$argon2id$v=19").unwrap_err(),
        LegacyError::Argon2Params
    );
    for params in [
        "m=01024,t=1,p=1",
        "m=,t=1,p=1",
        "m=1024,t=1,p=1,",
        "m=+1024,t=1,p=1",
    ] {
        assert_eq!(
            parse(&with(params)).unwrap_err(),
            LegacyError::Argon2Params,
            "{params}"
        );
    }
    assert_eq!(
        parse(&ARGON2_CFFI.replace("$v=19", "")).unwrap_err(),
        LegacyError::Argon2Params
    );
}

#[test]
fn an_argon2id_hash_verifies_only_with_its_own_salt_and_output() {
    let good = parse(ARGON2_CFFI).unwrap();
    assert!(good.verify(PW));
    let other_salt = ARGON2_CFFI.replace("1P7VkxKiDYdAosPFgdn8EQ", "1P7VkxKiDYdAosPFgdn8EA");
    assert!(!parse(&other_salt).unwrap().verify(PW));
    let other_hash = ARGON2_CFFI.replace("V50Jeug", "V50Jeuw");
    assert!(!parse(&other_hash).unwrap().verify(PW));
    let other_cost = ARGON2_CFFI.replace("t=1", "t=2");
    assert!(!parse(&other_cost).unwrap().verify(PW));
}

#[test]
fn django_bounds_and_format_are_checked() {
    let with_i = |i: &str| DJANGO.replace("$1000$", &format!("${i}$"));
    assert_eq!(
        parse(&with_i("10000001")).unwrap_err(),
        LegacyError::Iterations
    );
    assert_eq!(parse(&with_i("999")).unwrap_err(), LegacyError::Iterations);
    assert_eq!(
        parse(&with_i("99999999999")).unwrap_err(),
        LegacyError::Format
    );
    assert_eq!(parse(&with_i("01000")).unwrap_err(), LegacyError::Format);
    assert_eq!(
        parse(&DJANGO.replace("uP6t", "uP6")).unwrap_err(),
        LegacyError::Hash
    );
    assert_eq!(
        parse("pbkdf2_sha256$1000$$uP6t036DzJrUpiXQa5mW91eJg0F0gwBgqXcOUCKuYqA=").unwrap_err(),
        LegacyError::Salt
    );
    assert_eq!(
        parse("pbkdf2_sha1$1000$salt$AAAA").unwrap_err(),
        LegacyError::Algorithm
    );
}

#[test]
fn work_grows_with_the_parameters() {
    let b4 = parse(BCRYPT_2B).unwrap().work_iterations();
    let b5 = parse(BCRYPT_2A).unwrap().work_iterations();
    assert!(b5.abs_diff(2 * b4) <= 1, "{b4} {b5}");
    let a1 = parse(ARGON2_CFFI).unwrap().work_iterations();
    let a2 = parse(PWDLIB_ARGON2).unwrap().work_iterations();
    assert!(a2.abs_diff(4 * a1) <= 3, "{a1} {a2}");
    assert_eq!(parse(DJANGO).unwrap().work_iterations(), 1000);
}

#[test]
fn debug_output_never_shows_the_hash() {
    for raw in [BCRYPT_2B, ARGON2_CFFI, DJANGO] {
        let shown = format!("{:?}", parse(raw).unwrap());
        assert!(!shown.contains(&raw[raw.len() - 10..]), "{shown}");
    }
}
