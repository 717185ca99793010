//! The one error type of the API and the JSON body extractor that reports
//! malformed input as `{ "error": { "code", "message", "field"? } }`.

use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;

pub use crate::api::{ErrorBody, ErrorDetail};
use crate::model::DomainError;
use crate::store::StoreError;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub field: Option<String>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            field: None,
        }
    }
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        ApiError {
            field: Some(field.to_owned()),
            ..Self::new(StatusCode::BAD_REQUEST, "invalid_input", message)
        }
    }
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", message)
    }
    /// A failure on our side. The detail is logged once, here; the client
    /// gets a fixed message, since the detail can name files, hosts or
    /// internals that are nobody's business outside the centre.
    pub fn internal(context: &str, detail: impl std::fmt::Display) -> Self {
        tracing::error!("{context}: {detail}");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error; nothing was changed",
        )
    }
}

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        match e {
            DomainError::Invalid { field, message } => ApiError::invalid(&field, message),
            DomainError::Conflict { code, message } => ApiError::new(StatusCode::CONFLICT, code, message),
            DomainError::Forbidden { code, message } => ApiError::new(StatusCode::FORBIDDEN, code, message),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => ApiError::not_found(format!("{what} not found")),
            StoreError::Conflict(m) => ApiError::conflict(m),
            StoreError::Domain(d) => d.into(),
            StoreError::Unavailable(m) => {
                tracing::warn!("database unavailable: {m}");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "the incident database is unreachable; nothing was changed, retry shortly",
                )
            }
            StoreError::Internal(m) => ApiError::internal("internal store error", m),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.to_owned(),
                message: self.message,
                field: self.field,
            },
        };
        (self.status, axum::Json(body)).into_response()
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// A JSON body whose every failure (not JSON, wrong type, unknown enum value,
/// too large) becomes an [`ApiError`] naming the field.
pub struct ApiJson<T, const ALLOW_NUL: bool = false>(pub T);

/// A body from another system, open beyond the fields we read (an EIDO):
/// NUL is refused only where the handler reads it.
pub type OpenJson<T> = ApiJson<T, true>;

impl<S: Send + Sync, T: DeserializeOwned, const ALLOW_NUL: bool> FromRequest<S> for ApiJson<T, ALLOW_NUL> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let content_type = req
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok());
        if !content_type.is_some_and(|ct| ct.starts_with("application/json")) {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the body as JSON with Content-Type: application/json",
            ));
        }
        let bytes = axum::body::Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", "request body is too large")
            } else {
                ApiError::new(StatusCode::BAD_REQUEST, "bad_body", rejection.body_text())
            }
        })?;
        if !ALLOW_NUL && has_nul_escape(&bytes) {
            let field = serde_json::from_slice(&bytes)
                .ok()
                .and_then(|v| nul_field(&v, String::new()));
            return Err(ApiError {
                field,
                ..ApiError::new(StatusCode::BAD_REQUEST, "invalid_input", NUL_MESSAGE)
            });
        }
        let mut value: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_input",
                format!("body is not valid JSON: {e}"),
            )
        })?;
        integral_floats_to_integers(&mut value);
        match serde_path_to_error::deserialize(value) {
            Ok(v) => Ok(ApiJson(v)),
            Err(e) => {
                let path = e.path().to_string();
                let inner = e.into_inner();
                let field = (path != ".").then_some(path);
                let message = match &field {
                    Some(f) => format!("{f}: {inner}"),
                    None => inner.to_string(),
                };
                Err(ApiError {
                    field,
                    ..ApiError::new(StatusCode::BAD_REQUEST, "invalid_input", message)
                })
            }
        }
    }
}

/// A body that may be left out: no body (nor Content-Type) is `None`; a
/// body given is held to the same rules as [`ApiJson`].
impl<S: Send + Sync, T: DeserializeOwned> axum::extract::OptionalFromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Option<Self>, Self::Rejection> {
        let headers = req.headers();
        let empty = headers.get(axum::http::header::CONTENT_TYPE).is_none()
            && headers
                .get(axum::http::header::CONTENT_LENGTH)
                .is_none_or(|l| l.as_bytes() == b"0");
        if empty {
            return Ok(None);
        }
        <ApiJson<T> as FromRequest<S>>::from_request(req, state).await.map(Some)
    }
}

/// JSON (and the OpenAPI document's JSON Schema) counts `5.0` as the
/// integer 5, and generated clients send it so; serde's integers would
/// refuse it. Whole numbers within i64 become integers; a field that wants
/// a float still reads them.
fn integral_floats_to_integers(v: &mut serde_json::Value) {
    use serde_json::Value;
    match v {
        Value::Number(n) if n.is_f64() => {
            if let Some(f) = n.as_f64()
                && f.fract() == 0.0
                && f >= i64::MIN as f64
                && f < i64::MAX as f64
            {
                *v = Value::from(f as i64);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(integral_floats_to_integers),
        Value::Object(map) => map.values_mut().for_each(integral_floats_to_integers),
        _ => {}
    }
}

/// PostgreSQL cannot store the NUL character in text and SQLite would keep
/// it; refusing it at the door makes both backends answer the same.
pub const NUL_MESSAGE: &str = "text may not contain the NUL character (\\u0000)";

/// Whether a JSON text holds the escape `\u0000` (not an escaped backslash
/// followed by `u0000`). Raw NUL bytes are not valid JSON to begin with.
fn has_nul_escape(json: &[u8]) -> bool {
    json.windows(6).enumerate().any(|(i, w)| {
        w.eq_ignore_ascii_case(b"\\u0000") && json[..i].iter().rev().take_while(|&&b| b == b'\\').count() % 2 == 0
    })
}

/// The path (as `serde_path_to_error` writes it) of the first string holding NUL.
fn nul_field(v: &serde_json::Value, at: String) -> Option<String> {
    let join = |key: &dyn std::fmt::Display| {
        if at.is_empty() {
            key.to_string()
        } else {
            format!("{at}.{key}")
        }
    };
    match v {
        serde_json::Value::String(s) => s
            .contains('\0')
            .then(|| if at.is_empty() { ".".into() } else { at.clone() }),
        serde_json::Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, x)| nul_field(x, format!("{at}[{i}]"))),
        serde_json::Value::Object(m) => m.iter().find_map(|(k, x)| {
            if k.contains('\0') {
                return Some(join(&"(a key)"));
            }
            nul_field(x, join(k))
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::has_nul_escape;

    #[test]
    fn finds_only_real_nul_escapes() {
        assert!(has_nul_escape(br#"{"a":"x\u0000y"}"#));
        assert!(
            has_nul_escape(br#"{"a":"\\\u0000"}"#),
            "an escaped backslash, then the escape"
        );
        assert!(
            !has_nul_escape(br#"{"a":"\\u0000"}"#),
            "an escaped backslash, then the text u0000"
        );
        assert!(has_nul_escape(br#"{"a":"\u00001"}"#), "NUL, then a digit");
        assert!(!has_nul_escape(br#"{"a":"u0000 \u0001"}"#));
    }
}
