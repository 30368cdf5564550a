use super::*;

const KEY: &str = r#"[{"kty":"OKP","crv":"Ed25519","kid":"k","d":"AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE"}]"#;

fn with(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
    Config::from_lookup(|name| {
        if name == names::SIGNING_KEYS {
            return Some(KEY.to_owned());
        }
        pairs
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.to_string())
    })
}

#[test]
fn defaults_apply_when_vars_are_absent_or_blank() {
    let c = with(&[(names::ISSUER, "  ")]).unwrap();
    assert_eq!(c.issuer, DEFAULT_ISSUER);
    assert_eq!(c.pbkdf2_iterations, 600_000);
    assert_eq!(c.access_token_ttl_secs, 900);
    assert_eq!(c.refresh_token_ttl_secs, 30 * 24 * 3600);
    assert_eq!(c.refresh_reuse_grace_secs, 10);
    assert_eq!(c.session_retention_secs, 7 * 24 * 3600);
    assert_eq!(c.audit_retention_days, 90);
    assert_eq!(c.breaker, BreakerConfig::default());
    assert_eq!(c.throttle, ThrottleConfig::default());
    assert_eq!(c.bcrypt_max_cost, 13);
    assert_eq!(c.login_failure_iterations, 600_000);
    assert_eq!(c.email.app_url, None);
    assert_eq!(c.email.link_origin(), None);
    assert_eq!(c.email.reset_ttl_secs, 1800);
    assert_eq!(c.email.verification_ttl_secs, 86_400);
    assert_eq!(c.email.max_per_hour, 5);
    assert!(!c.email.require_verification);
    assert!(c.rate_limit_by_ip);
}

#[test]
fn legacy_bounds_and_the_failure_floor_are_read() {
    let c = with(&[
        (names::BCRYPT_MAX_COST, "12"),
        (names::LOGIN_FAILURE_ITERATIONS, "2400000"),
    ])
    .unwrap();
    assert_eq!(c.hash_bounds().bcrypt_max_cost, 12);
    assert_eq!(c.login_failure_iterations, 2_400_000);
    // Never below the cost of our own hash, or a wrong password would be the slower failure.
    let c = with(&[(names::LOGIN_FAILURE_ITERATIONS, "1000")]).unwrap();
    assert_eq!(c.login_failure_iterations, 600_000);
    for v in ["3", "32"] {
        assert_eq!(
            with(&[(names::BCRYPT_MAX_COST, v)]).unwrap_err().name,
            names::BCRYPT_MAX_COST
        );
    }
    assert_eq!(
        with(&[(names::LOGIN_FAILURE_ITERATIONS, "20000000")])
            .unwrap_err()
            .name,
        names::LOGIN_FAILURE_ITERATIONS
    );
}

#[test]
fn the_app_url_loses_its_trailing_slash_and_must_be_http() {
    let c = with(&[(names::APP_URL, "https://app.example.com/")]).unwrap();
    assert_eq!(c.email.app_url.as_deref(), Some("https://app.example.com"));
    for bad in ["app.example.com", "ftp://x", "https://", "https://a?b=1"] {
        assert_eq!(
            with(&[(names::APP_URL, bad)]).unwrap_err().name,
            names::APP_URL
        );
    }
    let c = with(&[(names::REQUIRE_EMAIL_VERIFICATION, "TRUE")]).unwrap();
    assert!(c.email.require_verification);
    let err = with(&[(names::REQUIRE_EMAIL_VERIFICATION, "yes")]).unwrap_err();
    assert_eq!(err.name, names::REQUIRE_EMAIL_VERIFICATION);
}

#[test]
fn links_start_with_app_url_else_public_url_and_never_guess() {
    let c = with(&[(names::PUBLIC_URL, "https://auth.example.com/")]).unwrap();
    assert_eq!(c.email.link_origin(), Some("https://auth.example.com"));
    let c = with(&[
        (names::APP_URL, "https://app.example.com/account/"),
        (names::PUBLIC_URL, "https://auth.example.com"),
    ])
    .unwrap();
    assert_eq!(
        c.email.link_origin(),
        Some("https://app.example.com/account")
    );
    assert_eq!(
        with(&[(names::PUBLIC_URL, " ")])
            .unwrap()
            .email
            .link_origin(),
        None
    );
}

#[test]
fn plain_http_links_are_only_for_this_machine() {
    for name in [names::APP_URL, names::PUBLIC_URL] {
        for local in [
            "http://127.0.0.1:8787",
            "http://127.3.2.1",
            "http://localhost:8787/",
            "http://LOCALHOST",
            "http://[::1]:8787",
            "https://[2001:db8::1]:8443",
            "https://auth.example.com:8443",
            "https://xn--bcher-kva.example",
        ] {
            let c = with(&[(name, local)]).unwrap();
            assert_eq!(c.email.link_origin(), Some(local.trim_end_matches('/')));
        }
        for bad in [
            "http://auth.example.com",
            "http://127.example.com",
            "http://128.0.0.1",
            "http://[::2]:8787",
            "http://localhost.example.com",
            "https://user@auth.example.com",
            "https://auth.example.com@evil.example",
            "https://auth.example.com#x",
            "https://auth example.com",
            "https://auth.example.com:port",
            "https://[::1",
            "https://auth.example.com\\@evil.example",
            "//auth.example.com",
        ] {
            assert_eq!(with(&[(name, bad)]).unwrap_err().name, name, "{bad:?}");
        }
    }
    // The Worker serves the pages at its root: its own origin has no path.
    let err = with(&[(names::PUBLIC_URL, "https://auth.example.com/x")]).unwrap_err();
    assert_eq!(err.name, names::PUBLIC_URL);
}

#[test]
fn bad_values_are_refused_not_replaced() {
    for (name, value) in [
        (names::PBKDF2_ITERATIONS, "999"),
        (names::PBKDF2_ITERATIONS, "lots"),
        (names::ACCESS_TOKEN_TTL, "10"),
        (names::BREAKER_THRESHOLD, "0"),
        (names::REFRESH_REUSE_GRACE, "-1"),
        (names::MAX_SESSIONS_PER_USER, "0"),
        (names::LOGIN_MAX_FAILURES, "0"),
        (names::EMAIL_MAX_PER_HOUR, "0"),
        (names::PASSWORD_RESET_TTL, "5"),
        (names::AUDIT_RETENTION_DAYS, "0"),
        (names::AUDIT_RETENTION_DAYS, "ninety"),
    ] {
        let err = with(&[(name, value)]).unwrap_err();
        assert_eq!(err.name, name);
    }
    // The count may not exceed the ceiling applied to stored hashes.
    let err = with(&[
        (names::PBKDF2_MAX_ITERATIONS, "100000"),
        (names::PBKDF2_ITERATIONS, "200000"),
    ])
    .unwrap_err();
    assert_eq!(err.name, names::PBKDF2_ITERATIONS);
}

#[test]
fn a_missing_signing_key_is_an_error() {
    let err = Config::from_lookup(|_| None).unwrap_err();
    assert_eq!(err.name, names::SIGNING_KEYS);
}

#[test]
fn the_relying_party_defaults_to_app_urls_host_and_origin_else_the_requests() {
    let c = with(&[]).unwrap();
    assert_eq!(c.webauthn.rp_id, None);
    assert_eq!(c.webauthn.rp_name, DEFAULT_WEBAUTHN_RP_NAME);
    assert_eq!(
        c.webauthn.relying_party("http://localhost:8787"),
        (
            "localhost".to_owned(),
            vec!["http://localhost:8787".to_owned()]
        )
    );
    let c = with(&[(names::APP_URL, "https://App.example.com:8443/account/")]).unwrap();
    assert_eq!(c.webauthn.rp_id.as_deref(), Some("app.example.com"));
    assert_eq!(c.webauthn.origins, ["https://App.example.com:8443"]);
    assert_eq!(
        c.webauthn.relying_party("https://worker.dev"),
        (
            "app.example.com".to_owned(),
            vec!["https://App.example.com:8443".to_owned()]
        )
    );
}

#[test]
fn the_relying_party_is_read_from_its_vars() {
    let c = with(&[
        (names::APP_URL, "https://example.com"),
        (names::WEBAUTHN_RP_ID, "example.com"),
        (names::WEBAUTHN_RP_NAME, " Example "),
        (
            names::WEBAUTHN_ORIGINS,
            "https://example.com, https://login.example.com/,",
        ),
    ])
    .unwrap();
    assert_eq!(c.webauthn.rp_id.as_deref(), Some("example.com"));
    assert_eq!(c.webauthn.rp_name, "Example");
    assert_eq!(
        c.webauthn.origins,
        ["https://example.com", "https://login.example.com"]
    );
}

#[test]
fn an_unusable_relying_party_is_a_configuration_error_naming_the_var() {
    let cases: [(&[(&str, &str)], &str); 6] = [
        (
            &[(names::WEBAUTHN_RP_ID, "https://example.com")],
            names::WEBAUTHN_RP_ID,
        ),
        (
            &[(names::WEBAUTHN_RP_ID, "example.com:443")],
            names::WEBAUTHN_RP_ID,
        ),
        (
            &[(names::WEBAUTHN_RP_ID, "Example.com")],
            names::WEBAUTHN_RP_ID,
        ),
        (
            &[(names::WEBAUTHN_ORIGINS, "example.com")],
            names::WEBAUTHN_ORIGINS,
        ),
        (
            &[(names::WEBAUTHN_ORIGINS, "http://example.com")],
            names::WEBAUTHN_ORIGINS,
        ),
        (
            &[
                (names::WEBAUTHN_RP_ID, "example.com"),
                (names::WEBAUTHN_ORIGINS, "https://notexample.com"),
            ],
            names::WEBAUTHN_ORIGINS,
        ),
    ];
    for (vars, name) in cases {
        let err = with(vars).unwrap_err();
        assert_eq!(err.name, name, "{vars:?}");
        assert!(err
            .to_string()
            .starts_with(&format!("configuration {name}: ")));
    }
    // An RP ID that does not cover APP_URL's origin (the default origin) is refused too.
    let err = with(&[
        (names::APP_URL, "https://app.example.org"),
        (names::WEBAUTHN_RP_ID, "example.com"),
    ])
    .unwrap_err();
    assert_eq!(err.name, names::WEBAUTHN_ORIGINS);
}

const MFA_KEY: &str = "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA";
const OLD_MFA_KEY: &str = "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8";

#[test]
fn two_step_settings_default_to_the_jwt_issuer_and_five_minutes() {
    let c = with(&[(names::ISSUER, "acme")]).unwrap();
    assert_eq!(c.mfa.issuer, "acme");
    assert_eq!(c.mfa.token_ttl_secs, 300);
    assert!(c.mfa.keys.is_none());
    let c = with(&[
        (names::MFA_ISSUER, "Acme Login"),
        (names::MFA_TOKEN_TTL, "120"),
        (names::MFA_ENCRYPTION_KEY, MFA_KEY),
        (names::MFA_ENCRYPTION_OLD_KEYS, OLD_MFA_KEY),
    ])
    .unwrap();
    assert_eq!(c.mfa.issuer, "Acme Login");
    assert_eq!(c.mfa.token_ttl_secs, 120);
    let keys = c.mfa.keys.unwrap();
    let current = crate::config::MfaKey::parse(MFA_KEY).unwrap();
    assert_eq!(keys.current_id(), current.id());
}

#[test]
fn bad_two_step_keys_are_named_without_their_text() {
    for (pairs, name) in [
        (
            vec![(names::MFA_ENCRYPTION_KEY, "c2hvcnQ")],
            names::MFA_ENCRYPTION_KEY,
        ),
        (
            vec![(names::MFA_ENCRYPTION_OLD_KEYS, OLD_MFA_KEY)],
            names::MFA_ENCRYPTION_KEY,
        ),
        (
            vec![
                (names::MFA_ENCRYPTION_KEY, MFA_KEY),
                (names::MFA_ENCRYPTION_OLD_KEYS, "c2hvcnQ"),
            ],
            names::MFA_ENCRYPTION_OLD_KEYS,
        ),
        (vec![(names::MFA_TOKEN_TTL, "5")], names::MFA_TOKEN_TTL),
    ] {
        let err = with(&pairs).unwrap_err();
        assert_eq!(err.name, name, "{pairs:?}");
        assert!(!err.to_string().contains("c2hvcnQ"), "{err}");
        assert!(!err.to_string().contains(OLD_MFA_KEY), "{err}");
    }
}

#[test]
fn the_admin_api_key_is_used_only_when_long_enough() {
    use secrecy::ExposeSecret;
    let c = with(&[]).unwrap();
    assert!(c.admin_api_key.is_none());
    assert!(c.admin_api_key_error.is_none());
    let key = "k".repeat(ADMIN_API_KEY_MIN_CHARS);
    let c = with(&[(names::ADMIN_API_KEY, &key)]).unwrap();
    assert_eq!(c.admin_api_key.unwrap().expose_secret(), key);
    assert!(c.admin_api_key_error.is_none());
    // One character short: treated as unset, with the reason kept for the log (never the key).
    let short = "s".repeat(ADMIN_API_KEY_MIN_CHARS - 1);
    let c = with(&[(names::ADMIN_API_KEY, &short)]).unwrap();
    assert!(c.admin_api_key.is_none());
    let err = c.admin_api_key_error.unwrap();
    assert_eq!(err.name, names::ADMIN_API_KEY);
    assert!(!err.to_string().contains(&short));
    // Characters, not bytes: 31 two-byte characters are too short.
    let c = with(&[(names::ADMIN_API_KEY, &"é".repeat(31))]).unwrap();
    assert!(c.admin_api_key.is_none());
}
