//! Errors as RFC 9457 problem details: one type, mapped to HTTP once.
//!
//! Every problem has a stable `type` URI (`/problems/<slug>`, documented in
//! `specs/api.md`), a human `title`, the HTTP `status` and a precise `detail`.
//! Extension members carry machine-readable specifics (e.g. `errors` for
//! field validation).

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

#[derive(Debug, Clone)]
pub struct Problem {
    pub status: StatusCode,
    pub slug: &'static str,
    pub title: &'static str,
    pub detail: String,
    pub extensions: Map<String, Value>,
    pub retry_after: Option<u64>,
}

impl Problem {
    pub fn new(
        status: StatusCode,
        slug: &'static str,
        title: &'static str,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            status,
            slug,
            title,
            detail: detail.into(),
            extensions: Map::new(),
            retry_after: None,
        }
    }

    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.extensions.insert(key.to_string(), value.into());
        self
    }

    /// Names the offending field: `field`, and `errors: [{field, message}]`
    /// as every `invalid-field` problem carries (`specs/api.md`).
    pub fn with_field(self, field: impl Into<String>) -> Self {
        let field = field.into();
        let errors = json!([{ "field": field, "message": self.detail }]);
        self.with("field", field).with("errors", errors)
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not-found", "Not found", detail)
    }

    pub fn bad_request(slug: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, slug, "Bad request", detail)
    }

    pub fn unprocessable(slug: &'static str, detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            slug,
            "The request is well-formed but not acceptable",
            detail,
        )
    }

    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Authentication required",
            detail,
        )
    }

    pub fn unavailable(detail: impl Into<String>) -> Self {
        let mut p = Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "Service unavailable",
            detail,
        );
        p.retry_after = Some(1);
        p
    }

    /// A failure of ours: the detail is logged, not shown.
    pub fn internal(err: impl std::fmt::Display) -> Self {
        tracing::error!(error = %err, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Internal error",
            "The server failed to complete the request; nothing was changed. Try again later.",
        )
    }

    pub fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method-not-allowed",
            "Method not allowed",
            "This resource does not support that HTTP method.",
        )
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let mut body = json!({
            "type": format!("/problems/{}", self.slug),
            "title": self.title,
            "status": self.status.as_u16(),
            "detail": self.detail,
        });
        if let Value::Object(map) = &mut body {
            map.extend(self.extensions);
        }
        let mut resp = (self.status, Json(body)).into_response();
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        resp.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Some(secs) = self.retry_after {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        resp
    }
}

impl From<QueryRejection> for Problem {
    fn from(r: QueryRejection) -> Self {
        Problem::bad_request("invalid-query", r.body_text())
    }
}

impl From<JsonRejection> for Problem {
    fn from(r: JsonRejection) -> Self {
        match r {
            JsonRejection::MissingJsonContentType(_) => Problem::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "Unsupported media type",
                "Send the body as JSON with `Content-Type: application/json`.",
            ),
            JsonRejection::JsonSyntaxError(e) => {
                Problem::bad_request("invalid-json", e.body_text())
            }
            JsonRejection::JsonDataError(e) => {
                Problem::unprocessable("invalid-body", e.body_text())
            }
            JsonRejection::BytesRejection(e) => Problem::new(
                e.status(),
                "body-unreadable",
                "Request body could not be read",
                e.body_text(),
            ),
            other => Problem::bad_request("invalid-body", other.body_text()),
        }
    }
}

impl From<veche_store::StoreError> for Problem {
    fn from(e: veche_store::StoreError) -> Self {
        Problem::internal(e)
    }
}

impl From<veche_store::AppendError> for Problem {
    fn from(e: veche_store::AppendError) -> Self {
        use veche_store::AppendError as E;
        match e {
            E::TooLarge(_) => Problem::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "entry-too-large",
                "Entry too large",
                e.to_string(),
            ),
            E::Invalid(_) => Problem::unprocessable("invalid-entry", e.to_string()),
            E::Rejected(v) => crate::rules::violation_problem(v),
            E::ShuttingDown => Problem::unavailable("The server is shutting down; retry shortly."),
            E::Unavailable(m) => Problem::unavailable(m),
            E::Storage(_) => Problem::internal(e),
        }
    }
}

impl From<veche_store::publish::ProofRequestError> for Problem {
    fn from(e: veche_store::publish::ProofRequestError) -> Self {
        use veche_store::publish::ProofRequestError as E;
        match e {
            E::IndexOutOfRange { .. } | E::SizesOutOfOrder { .. } => {
                Problem::unprocessable("invalid-proof-request", e.to_string())
            }
            E::BeyondLog { .. } => Problem::not_found(e.to_string()),
            E::Store(s) => Problem::internal(s),
        }
    }
}
