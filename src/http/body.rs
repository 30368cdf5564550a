//! The one reader of request bodies. A handler names its body as a type ([`Body`]) and gets it
//! from [`ApiRequest::parse`]: the content type, the JSON or form decoding and every field rule
//! are checked here, and every broken rule is reported at once in the `422`'s `errors`.
//!
//! The body is decoded by `serde_json` into a map, then each type takes its fields from it
//! through [`Fields`]. Deriving `Deserialize` for each body would stop at the first broken
//! field, and its visitors cost more wasm than the one reader below.

use serde_json::{Map, Value};

use super::ApiRequest;
use crate::http::error::{AppError, FieldError};

/// A request body as a type: how to take it from the decoded fields.
pub trait Body: Sized {
    /// Also accepted as `application/x-www-form-urlencoded` (the OAuth token endpoints).
    const FORM: bool = false;

    /// Takes the body's fields from `f`, recording each broken rule there; `None` when one
    /// was broken. An error that is not a field's (an unsupported `grant_type`) is returned
    /// at once.
    ///
    /// # Errors
    /// A request-level error that ends the reading.
    fn from_fields(f: &mut Fields) -> Result<Option<Self>, AppError>;
}

/// A body with no members the handler reads: any JSON object is accepted.
pub struct AnyObject;

impl Body for AnyObject {
    fn from_fields(_: &mut Fields) -> Result<Option<Self>, AppError> {
        Ok(Some(AnyObject))
    }
}

impl ApiRequest {
    /// Reads the body as `T`.
    ///
    /// # Errors
    /// `413` when the body was over the limit; `400 malformed_request` for a wrong content
    /// type, invalid UTF-8, invalid JSON or form, or JSON that is not an object; `422` with
    /// every broken field rule; or the request-level error `T` returned.
    pub fn parse<T: Body>(&self) -> Result<T, AppError> {
        self.parse_with(T::FORM, T::from_fields)
    }

    /// Reads the body with a reader that needs more than the body (a rule that depends on
    /// the signed-in user), with or without the form encoding.
    ///
    /// # Errors
    /// As [`ApiRequest::parse`].
    pub fn parse_with<T>(
        &self,
        allow_form: bool,
        from_fields: impl FnOnce(&mut Fields) -> Result<Option<T>, AppError>,
    ) -> Result<T, AppError> {
        let mut fields = Fields::read(self, allow_form)?;
        let body = from_fields(&mut fields)?;
        match body {
            Some(body) if fields.errors.is_empty() => Ok(body),
            _ => Err(AppError::Validation(fields.errors)),
        }
    }
}

/// The decoded members of a body and the rules broken so far.
pub struct Fields {
    map: Map<String, Value>,
    errors: Vec<FieldError>,
}

impl Fields {
    fn read(req: &ApiRequest, allow_form: bool) -> Result<Self, AppError> {
        let bytes = req.body.as_ref().map_err(|_| AppError::PayloadTooLarge)?;
        let media = media_type(req.get_header("content-type").unwrap_or(""));
        let is_form = media == "application/x-www-form-urlencoded";
        if media != "application/json" && !(allow_form && is_form) {
            return Err(AppError::MalformedRequest(if allow_form {
                "Content-Type must be application/json or application/x-www-form-urlencoded"
            } else {
                "Content-Type must be application/json"
            }));
        }
        let text =
            std::str::from_utf8(bytes).map_err(|_| AppError::MalformedRequest("not UTF-8"))?;
        let map = if is_form {
            parse_form(text).ok_or(AppError::MalformedRequest("invalid form encoding"))?
        } else {
            match serde_json::from_slice::<Value>(text.as_bytes()) {
                Ok(Value::Object(map)) => map,
                Ok(_) => {
                    return Err(AppError::MalformedRequest(
                        "the JSON body must be an object",
                    ))
                }
                Err(_) => return Err(AppError::MalformedRequest("invalid JSON")),
            }
        };
        Ok(Self {
            map,
            errors: Vec::new(),
        })
    }

    /// A member as sent, `None` when absent.
    pub fn get(&self, field: &str) -> Option<&Value> {
        self.map.get(field)
    }

    /// Whether the member is present (even as `null`).
    pub fn has(&self, field: &str) -> bool {
        self.map.contains_key(field)
    }

    /// A required string member: a broken rule `required` when absent or `null`,
    /// `invalid_type` when not a string.
    pub fn text(&mut self, field: &'static str) -> Option<String> {
        let taken = match self.map.get(field) {
            None | Some(Value::Null) => Err(FieldError::new(
                field,
                "required",
                format!("{field} is required."),
            )),
            // Cloned, not removed: taking it out of the map would bring `BTreeMap`'s removal
            // code into the wasm (2 KiB gzipped, measured) for a copy of a few bytes.
            Some(Value::String(s)) => Ok(s.clone()),
            Some(_) => Err(FieldError::new(
                field,
                "invalid_type",
                format!("{field} must be a string."),
            )),
        };
        self.check(taken)
    }

    /// The value of a rule's check, or `None` with the broken rule recorded.
    pub fn check<T>(&mut self, checked: Result<T, FieldError>) -> Option<T> {
        checked.map_err(|e| self.errors.push(e)).ok()
    }

    /// The value of a check that reports several broken rules at once, or `None` with all of
    /// them recorded.
    pub fn check_all<T>(&mut self, checked: Result<T, Vec<FieldError>>) -> Option<T> {
        checked.map_err(|mut es| self.errors.append(&mut es)).ok()
    }
}

/// The media type of a `Content-Type` value, lower-cased, without parameters.
fn media_type(value: &str) -> String {
    value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// Strict `application/x-www-form-urlencoded` decoding: bad percent escapes or invalid UTF-8
/// after decoding are errors, not silently replaced. A repeated name keeps its first value.
pub fn parse_form(text: &str) -> Option<Map<String, Value>> {
    let mut map = Map::new();
    for pair in text.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let (k, v) = (percent_decode(k)?, percent_decode(v)?);
        map.entry(k).or_insert(Value::String(v));
    }
    Some(map)
}

pub(super) fn percent_decode(s: &str) -> Option<String> {
    let mut out = Vec::with_capacity(s.len());
    let mut bytes = s.bytes();
    while let Some(b) = bytes.next() {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                let hi = (bytes.next()? as char).to_digit(16)?;
                let lo = (bytes.next()? as char).to_digit(16)?;
                out.push((hi * 16 + lo) as u8);
            }
            _ => out.push(b),
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_decoding_is_strict() {
        let m = parse_form("username=a%40b.com&password=p+w%21&password=second").unwrap();
        assert_eq!(m["username"], "a@b.com");
        assert_eq!(m["password"], "p w!");
        assert!(parse_form("a=%zz").is_none());
        assert!(
            parse_form("a=%ff").is_none(),
            "invalid UTF-8 after decoding"
        );
        assert!(parse_form("a=%4").is_none());
    }

    struct Pair {
        a: String,
        b: String,
    }

    impl Body for Pair {
        fn from_fields(f: &mut Fields) -> Result<Option<Self>, AppError> {
            let a = f.text("a");
            let b = f.text("b").and_then(|b| {
                f.check(if b.len() > 3 {
                    Err(FieldError::new("b", "too_long", "b is too long."))
                } else {
                    Ok(b)
                })
            });
            Ok(a.zip(b).map(|(a, b)| Pair { a, b }))
        }
    }

    fn json(body: &str) -> ApiRequest {
        ApiRequest::new("POST", "/")
            .header("content-type", "application/json")
            .body(body)
    }

    fn codes(err: AppError) -> Vec<(&'static str, &'static str)> {
        match err {
            AppError::Validation(es) => es.iter().map(|e| (e.field, e.code)).collect(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn every_broken_rule_is_reported_in_the_order_the_fields_are_read() {
        let p: Pair = json(r#"{"a": "x", "b": "yz"}"#).parse().unwrap();
        assert_eq!((p.a.as_str(), p.b.as_str()), ("x", "yz"));
        let err = json(r#"{"a": 1, "b": "long!"}"#)
            .parse::<Pair>()
            .err()
            .unwrap();
        assert_eq!(codes(err), [("a", "invalid_type"), ("b", "too_long")]);
        let err = json(r#"{"a": null}"#).parse::<Pair>().err().unwrap();
        assert_eq!(codes(err), [("a", "required"), ("b", "required")]);
    }

    #[test]
    fn a_body_is_json_unless_its_type_also_takes_the_form() {
        let form = ApiRequest::new("POST", "/")
            .header("content-type", "application/x-www-form-urlencoded")
            .body("a=x&b=y");
        assert!(matches!(
            form.parse::<Pair>(),
            Err(AppError::MalformedRequest(_))
        ));
        for bad in ["[1]", "nul", "\"a\""] {
            assert!(matches!(
                json(bad).parse::<AnyObject>(),
                Err(AppError::MalformedRequest(_))
            ));
        }
        assert!(json("{}").parse::<AnyObject>().is_ok());
    }
}
