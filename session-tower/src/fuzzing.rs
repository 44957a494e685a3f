//! Entry points for the fuzz targets (`fuzz/`), behind the `fuzzing` feature: the CSRF
//! token check, the origin verdict and the form parser are crate-private, so each target
//! is a function here that runs one input and panics when a property fails.
//!
//! Not part of the API: no stability promise, and nothing here is needed to use the crate.

use http::{HeaderMap, HeaderValue};

use crate::csrf::{self, CsrfReason, SECRET_LEN, TOKEN_LEN};

/// The secret the token target checks against (fixed, so findings reproduce).
const SECRET: [u8; SECRET_LEN] = [0x5a; SECRET_LEN];

/// The CSRF token check and the origin verdict on one input.
///
/// Properties: a token that matches has the token length and unmasks to the secret, so
/// it cannot also match another secret; and a request marked `Sec-Fetch-Site:
/// cross-site` or `same-site`, or with `Origin: null`, is refused unless its `Origin` is
/// trusted. The input is split at NUL into token, `Origin`, `Sec-Fetch-Site` and `Host`.
pub fn csrf_token(data: &[u8]) {
    let mut parts = data.split(|&b| b == 0);
    let token = parts.next().unwrap_or_default();
    if csrf::token_matches(token, &SECRET) {
        assert_eq!(
            token.len(),
            TOKEN_LEN,
            "a token of the wrong length matched"
        );
        let mut other = SECRET;
        other[0] ^= 1;
        assert!(
            !csrf::token_matches(token, &other),
            "one token matched two secrets"
        );
    }
    let mut headers = HeaderMap::new();
    let origin = parts.next().and_then(|b| HeaderValue::from_bytes(b).ok());
    let site = parts.next().and_then(|b| HeaderValue::from_bytes(b).ok());
    let host = parts.next().and_then(|b| std::str::from_utf8(b).ok());
    if let Some(o) = &origin {
        headers.insert(http::header::ORIGIN, o.clone());
    }
    if let Some(s) = &site {
        headers.insert("sec-fetch-site", s.clone());
    }
    let trusted = vec!["https://trusted.example".to_owned()];
    let verdict = csrf::check_origin(&headers, host, &trusted);
    let is_trusted = origin
        .as_ref()
        .is_some_and(|o| o.as_bytes() == trusted[0].as_bytes());
    let cross = site.as_ref().is_some_and(|s| {
        s.to_str().is_ok_and(|s| {
            s.eq_ignore_ascii_case("cross-site") || s.eq_ignore_ascii_case("same-site")
        })
    });
    let null = origin.as_ref().is_some_and(|o| o.as_bytes() == b"null");
    if (cross || null) && !is_trusted {
        assert!(
            verdict.is_err(),
            "a cross-site or null-origin request passed"
        );
    }
    if is_trusted {
        assert_eq!(verdict, Ok(()), "a trusted origin was refused");
    }
}

/// The form parser that finds the CSRF field.
///
/// Properties: the field is found exactly when it occurs once among the decoded pairs,
/// with its decoded value; twice or more is `DuplicateToken`, never a choice.
pub fn form(data: &[u8]) {
    let field = "csrf_token";
    let values: Vec<Vec<u8>> = form_urlencoded::parse(data)
        .filter(|(k, _)| k == field)
        .map(|(_, v)| v.into_owned().into_bytes())
        .collect();
    match csrf::token_in_form(data, field) {
        Ok(None) => assert!(values.is_empty(), "a present field was missed"),
        Ok(Some(v)) => assert_eq!(
            values,
            [v],
            "a field was found that is not once in the body"
        ),
        Err(CsrfReason::DuplicateToken) => assert!(values.len() > 1, "a single field was refused"),
        Err(other) => panic!("the form parser refused with {other:?}"),
    }
}

/// True when `token` is a token of the fixed secret [`csrf_token`] checks against (for the
/// corpus test that a seed reaches the accepting path).
pub fn is_token_of_fixed_secret(token: &[u8]) -> bool {
    csrf::token_matches(token, &SECRET)
}

/// A fresh token of the fixed secret (to write a seed).
pub fn token_of_fixed_secret() -> Option<String> {
    csrf::mask(&SECRET)
}
