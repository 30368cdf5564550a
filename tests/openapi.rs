//! The OpenAPI document stays true to the route table and the error mapping.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use std::collections::BTreeSet;

use common::*;
use edge_auth::http::error::{AppError, FieldError, TokenRejection};
use edge_auth::http::ApiRequest;

#[test]
fn the_document_is_openapi_3_1_and_describes_exactly_the_route_table() {
    let doc = edge_auth::api_doc::document();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1."));
    let documented: BTreeSet<(String, String)> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .keys()
                .filter(|k| ["get", "post", "put", "patch", "delete"].contains(&k.as_str()))
                .map(move |m| (path.clone(), m.to_uppercase()))
        })
        .collect();
    let mut routed: BTreeSet<(String, String)> = edge_auth::app::routes()
        .flat_map(|(path, methods)| {
            methods
                .into_iter()
                .map(move |m| (path.to_owned(), m.to_string()))
        })
        .collect();
    // The document itself is a static file of the entry module, not a route of the Rust Worker.
    routed.insert(("/openapi.json".into(), "GET".into()));
    assert_eq!(documented, routed);
}

#[test]
fn every_post_has_a_body_and_every_operation_documents_its_errors() {
    let doc = edge_auth::api_doc::document();
    for (path, item) in doc["paths"].as_object().unwrap() {
        if let Some(post) = item.get("post") {
            assert!(
                post["requestBody"].is_object(),
                "{path} has no request body"
            );
            // A body that may be left out has no field to fail validation.
            let optional = post["requestBody"]["required"] != true;
            for status in ["400", "413", "422"]
                .into_iter()
                .filter(|s| !optional || *s != "422")
            {
                let r = &post["responses"][status];
                assert!(r.is_object(), "{path} does not document {status}");
                assert!(r["content"]["application/problem+json"].is_object());
            }
        }
        for op in item.as_object().unwrap().values() {
            for (status, r) in op["responses"].as_object().unwrap() {
                assert!(
                    r["headers"]["X-Request-Id"].is_object(),
                    "{path} {status} lacks X-Request-Id"
                );
            }
        }
    }
    let me = &doc["paths"]["/auth/me"]["get"];
    assert_eq!(me["security"][0]["bearer"], serde_json::json!([]));
    assert_eq!(
        doc["components"]["securitySchemes"]["oauth2"]["flows"]["password"]["tokenUrl"],
        "/auth/login"
    );
}

#[test]
fn the_error_code_enum_covers_every_code_the_service_sends() {
    let doc = edge_auth::api_doc::document();
    let codes: BTreeSet<&str> = doc["components"]["schemas"]["ErrorCode"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    let errors = [
        AppError::MalformedRequest("x"),
        AppError::Validation(vec![FieldError::new("f", "c", "m")]),
        AppError::InvalidCredentials,
        AppError::InvalidToken(TokenRejection::Expired),
        AppError::InvalidGrant,
        AppError::UnsupportedGrantType("password"),
        AppError::EmailTaken,
        AppError::InvalidEmailToken,
        AppError::EmailNotVerified,
        AppError::EmailAlreadyVerified,
        AppError::NotFound,
        AppError::MethodNotAllowed(vec!["GET"]),
        AppError::TooManyAttempts { retry_after: 1 },
        AppError::TooManyRequests { retry_after: 1 },
        AppError::PayloadTooLarge,
        AppError::ServiceUnavailable { retry_after: 1 },
        AppError::Internal("x".into()),
        AppError::InvalidMfaCode,
        AppError::InvalidMfaToken,
        AppError::MfaRequired {
            mfa_token: "t".into(),
        },
        AppError::MfaAlreadyEnabled,
        AppError::MfaNotEnabled,
    ];
    for e in errors {
        assert!(
            codes.contains(e.problem().code),
            "{} missing",
            e.problem().code
        );
    }
}

/// `GET /openapi.json` is answered by the entry module from its table of static files (so the
/// wasm carries no copy of the document); tests/e2e/test_core.py reads it back from workerd.
#[test]
fn the_entry_module_serves_the_document_and_the_worker_the_docs_page() {
    let static_files = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scripts/static-files.mjs"
    ))
    .unwrap();
    assert!(static_files.contains(r#"["/openapi.json", "src/api_doc/openapi.json", JSON_TYPE"#));
    let h = Harness::new();
    assert_eq!(h.send(ApiRequest::new("GET", "/openapi.json")).status, 404);
    let r = h.send(ApiRequest::new("GET", "/docs"));
    assert_eq!(r.status, 200);
    assert_eq!(
        r.get_header("content-type"),
        Some("text/html; charset=utf-8")
    );
    let html = String::from_utf8(r.body.clone()).unwrap();
    assert!(html.contains("/docs/swagger-ui-bundle.js") && html.contains("/docs/init.js"));
    assert!(r.get_header("content-security-policy").is_some());
}

#[test]
fn the_token_endpoints_document_their_forms_and_oauth_errors() {
    let doc = edge_auth::api_doc::document();
    let schemas = &doc["components"]["schemas"];
    for (path, form) in [
        ("/auth/login", "LoginForm"),
        ("/auth/refresh", "RefreshForm"),
    ] {
        let op = &doc["paths"][path]["post"];
        assert_eq!(
            op["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]["$ref"],
            format!("#/components/schemas/{form}")
        );
        // A form cannot say `null`: no optional member of a form schema is nullable.
        let text = schemas[form].to_string();
        assert!(!text.contains("\"null\""), "{form}: {text}");
        for status in ["400", "401", "413", "422"] {
            assert_eq!(
                op["responses"][status]["content"]["application/problem+json"]["schema"]["$ref"],
                "#/components/schemas/TokenProblem",
                "{path} {status}"
            );
        }
        assert_eq!(
            op["responses"]["503"]["content"]["application/problem+json"]["schema"]["$ref"],
            "#/components/schemas/Problem"
        );
    }
    let required = &schemas["TokenProblem"]["required"];
    for member in ["error", "error_description", "code", "request_id"] {
        assert!(
            required.as_array().unwrap().iter().any(|m| m == member),
            "{member}"
        );
    }
    assert_eq!(
        schemas["OAuthErrorCode"]["enum"],
        serde_json::json!(["invalid_request", "invalid_grant", "unsupported_grant_type"])
    );
}

/// The entry module serves `src/api_doc/openapi.json`, generated from the types; it must be the document they
/// describe today. `make openapi` (this test with `UPDATE_OPENAPI=1`) rewrites it.
#[test]
fn the_served_document_is_the_generated_one() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/src/api_doc/openapi.json");
    let generated = edge_auth::api_doc::document();
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        let text = serde_json::to_string_pretty(&generated).unwrap() + "\n";
        std::fs::write(path, text).unwrap();
    }
    let served: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert!(
        served == generated,
        "src/api_doc/openapi.json is stale: run `make openapi`"
    );
}
