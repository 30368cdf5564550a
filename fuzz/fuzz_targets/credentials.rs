//! Email and password parsing: never panics, and an accepted email is normalized and stable.
#![no_main]
// std's lower-casing is the reference the normalization is checked against.
#![allow(clippy::disallowed_methods)]
use edge_auth::domain::Email;
use edge_auth::password::Password;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (a, b) = text.split_at(
        text.char_indices()
            .nth(text.chars().count() / 2)
            .map_or(0, |(i, _)| i),
    );
    let email = Email::parse(a).ok();
    if let Some(e) = &email {
        assert_eq!(Email::parse(e.as_ref()).as_ref().ok(), Some(e));
        assert_eq!(e.as_ref(), e.as_ref().to_lowercase());
    }
    if let Ok(p) = Password::parse(b, email.as_ref()) {
        assert_eq!(p.expose(), b);
        assert!((8..=128).contains(&b.chars().count()));
    }
});
