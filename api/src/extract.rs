//! Request decoding: axum's JSON, query and path extractors with their rejections turned into
//! problem documents (`invalid-body`, `body-too-large`, `invalid-query`, `not-found`), and the
//! lenient flag parser for `?transitive`-style parameters. It must not look anything up: names
//! in paths are resolved by the handlers, through the services.

use crate::problem::Problem;
use crate::AppState;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};

/// A JSON body of type `T`; anything else is a problem document.
#[derive(Debug)]
pub(crate) struct Json<T>(pub(crate) T);

impl<T: DeserializeOwned> FromRequest<AppState> for Json<T> {
    type Rejection = Problem;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Problem> {
        let value = match axum::Json::<serde_json::Value>::from_request(req, state).await {
            Ok(axum::Json(v)) => v,
            Err(r) => return Err(json_problem(&r, state.config.max_body_bytes)),
        };
        // Every request body is an object: serde would otherwise read `["zed"]` as a struct
        // given field by field.
        if !value.is_object() {
            return Err(Problem::invalid_body(
                StatusCode::UNPROCESSABLE_ENTITY,
                "the body must be a JSON object",
            ));
        }
        serde_path_to_error::deserialize(value)
            .map(Json)
            .map_err(|e| {
                let path = e.path().to_string();
                let inner = e.into_inner();
                let detail = if path == "." {
                    format!("Failed to deserialize the JSON body into the target type: {inner}")
                } else {
                    format!(
                        "Failed to deserialize the JSON body into the target type: {path}: {inner}"
                    )
                };
                Problem::invalid_body(StatusCode::UNPROCESSABLE_ENTITY, detail)
            })
    }
}

fn json_problem(r: &JsonRejection, limit: usize) -> Problem {
    if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return Problem::body_too_large(limit);
    }
    match r {
        // Well-formed JSON of the wrong shape: wrong types, unknown or missing fields.
        JsonRejection::JsonDataError(_) => {
            Problem::invalid_body(StatusCode::UNPROCESSABLE_ENTITY, r.body_text())
        }
        JsonRejection::JsonSyntaxError(_) => {
            Problem::invalid_body(StatusCode::BAD_REQUEST, r.body_text())
        }
        JsonRejection::MissingJsonContentType(_) => Problem::invalid_body(
            StatusCode::BAD_REQUEST,
            "the body must be JSON, sent with `Content-Type: application/json`",
        ),
        // The rejection enum is not exhaustive (axum's, not ours): anything else is a body the
        // server could not read.
        _ if r.status().is_server_error() => {
            tracing::error!(error = %r, "reading a request body failed");
            Problem::internal()
        }
        _ => Problem::invalid_body(StatusCode::BAD_REQUEST, r.body_text()),
    }
}

/// Query parameters of type `T`.
#[derive(Debug)]
pub(crate) struct Query<T>(pub(crate) T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(Query(v)),
            Err(r) => Err(query_problem(&r)),
        }
    }
}

fn query_problem(r: &QueryRejection) -> Problem {
    Problem::invalid_query(r.body_text())
}

/// Path parameters of type `T`. A segment that cannot even be decoded names nothing: 404.
#[derive(Debug)]
pub(crate) struct Path<T>(pub(crate) T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Path<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(Path(v)),
            Err(r) => Err(path_problem(&r)),
        }
    }
}

fn path_problem(r: &PathRejection) -> Problem {
    if r.status().is_server_error() {
        tracing::error!(error = %r, "a route's path parameters do not fit its handler");
        Problem::internal()
    } else {
        Problem::not_found()
    }
}

/// A query flag: present without a value (`?transitive`), or `true`/`false`/`1`/`0`.
pub(crate) fn flag<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    let s = String::deserialize(d)?;
    match s.as_str() {
        "" | "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" => Ok(false),
        other => Err(serde::de::Error::custom(format!(
            "{other:?} is not a flag (use true or false)"
        ))),
    }
}

/// A nullable field of a patch: absent leaves the value, `null` clears it, a value sets it.
pub(crate) fn nullable<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}
