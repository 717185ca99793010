//! Completes the OpenAPI document from what every route has in common, so
//! the document is the wire: path parameters, the error statuses the
//! extractors and the lifecycle can give, and the headers.
//!
//! Owns: the shape of `/api/openapi.json` beyond what each handler's
//! `#[utoipa::path]` says. Must not touch: handlers or their behaviour.

use utoipa::openapi::path::{Operation, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr, Required, ResponseBuilder};

/// Why each error status is documented, as the service words it.
const ERRORS: &[(&str, &str)] = &[
    (
        "400",
        "The input is invalid: the body names the field and what is wrong",
    ),
    (
        "401",
        "No valid session: sign in (POST /api/v1/auth/login) and send Authorization: Bearer <token>",
    ),
    ("403", "The account's role may not do this"),
    ("404", "No such record"),
    (
        "409",
        "The record's state forbids it now (held by another operator, already closed, changed meanwhile)",
    ),
    ("413", "The request body is too large"),
    ("415", "The body is not sent as application/json"),
    ("429", "Too many failed sign-ins for this user; try again later"),
    (
        "503",
        "The incident database is unreachable; nothing was changed, retry shortly",
    ),
];

/// Adds what the handlers' annotations leave implicit.
pub fn complete(doc: &mut OpenApi) {
    add_links(doc);
    for (path, item) in doc.paths.paths.iter_mut() {
        let params: Vec<String> = path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{')?.strip_suffix('}').map(str::to_owned))
            .collect();
        for (method, op) in [
            ("get", item.get.as_mut()),
            ("post", item.post.as_mut()),
            ("patch", item.patch.as_mut()),
            ("put", item.put.as_mut()),
            ("delete", item.delete.as_mut()),
        ] {
            let Some(op) = op else { continue };
            declare_path_params(op, &params);
            let secured = op.security.as_ref().is_some_and(|s| !s.is_empty());
            let mut codes = vec!["503"];
            if secured {
                codes.extend(["401", "403"]);
            }
            if op.request_body.is_some() {
                codes.extend(["400", "413", "415"]);
            }
            if op.parameters.as_ref().is_some_and(|p| !p.is_empty()) {
                codes.push("400");
            }
            if !params.is_empty() {
                codes.push("404");
            }
            // Writes to a record with a lifecycle can meet its state.
            if method != "get" && !params.is_empty() {
                codes.push("409");
            }
            if path.ends_with("/auth/login") {
                codes.extend(["400", "401", "429"]);
            }
            for code in codes {
                add_error(op, code);
            }
        }
    }
}

fn declare_path_params(op: &mut Operation, names: &[String]) {
    let params = op.parameters.get_or_insert_with(Vec::new);
    for name in names {
        let declared = params
            .iter()
            .any(|p| matches!(p, RefOr::T(p) if p.name == *name && p.parameter_in == ParameterIn::Path));
        if declared {
            continue;
        }
        let (schema, description) = if name == "phone" {
            (
                ObjectBuilder::new()
                    .schema_type(SchemaType::new(Type::String))
                    .pattern(Some(crate::model::CallerPhone::PATTERN))
                    .build(),
                "The caller's number: a mainland mobile, a landline with its area code, or a service number",
            )
        } else {
            (
                ObjectBuilder::new()
                    .schema_type(SchemaType::new(Type::Integer))
                    .format(Some(utoipa::openapi::schema::SchemaFormat::KnownFormat(
                        utoipa::openapi::schema::KnownFormat::Int64,
                    )))
                    .build(),
                "The record's id",
            )
        };
        params.push(RefOr::T(
            ParameterBuilder::new()
                .name(name)
                .parameter_in(ParameterIn::Path)
                .required(Required::True)
                .description(Some(description))
                .schema(Some(schema))
                .build(),
        ));
    }
}

fn add_error(op: &mut Operation, code: &str) {
    if op.responses.responses.contains_key(code) {
        return;
    }
    let description = ERRORS.iter().find(|(c, _)| *c == code).map_or("Error", |(_, d)| d);
    let response = ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ErrorBody")))
                .build(),
        )
        .build();
    op.responses.responses.insert(code.to_owned(), RefOr::T(response));
}

/// OpenAPI links from what an operation returns to the operations that take
/// its id: a stored incident leads to claim, dispatch, close…; the first
/// callback, unit, referral, follow-up or rectification of a list to its
/// own operations (an agency's inbox to accept, feedback, close, return).
/// Clients and fuzzers follow them to walk a call's lifecycle.
fn add_links(doc: &mut OpenApi) {
    use utoipa::openapi::link::LinkBuilder;
    // (the path prefix of the operations that take the id, the schema the
    // id comes from, where in the response body it is)
    let families = [
        ("/api/v1/incidents/{id}", "Incident"),
        ("/api/v1/callbacks/{id}", "Callback"),
        ("/api/v1/units/{id}", "Unit"),
        ("/api/v1/referrals/{id}", "Referral"),
        ("/api/v1/followups/{id}", "Followup"),
        ("/api/v1/rectifications/{id}", "Rectification"),
    ];
    for (prefix, schema) in families {
        let targets: Vec<String> = doc
            .paths
            .paths
            .iter()
            .filter(|(path, _)| path.starts_with(prefix))
            .flat_map(|(_, item)| {
                [&item.get, &item.post, &item.patch, &item.put, &item.delete]
                    .into_iter()
                    .flatten()
                    .filter_map(|op| op.operation_id.clone())
                    .collect::<Vec<_>>()
            })
            .collect();
        let wanted = format!("#/components/schemas/{schema}");
        for item in doc.paths.paths.values_mut() {
            for op in [
                &mut item.get,
                &mut item.post,
                &mut item.patch,
                &mut item.put,
                &mut item.delete,
            ]
            .into_iter()
            .flatten()
            {
                for (code, response) in op.responses.responses.iter_mut() {
                    let RefOr::T(response) = response else { continue };
                    if !(code == "200" || code == "201") {
                        continue;
                    }
                    let returns = match response.content.get("application/json") {
                        Some(RefOr::T(c)) => c.schema.as_ref(),
                        _ => None,
                    };
                    // One record: its id; a list: the first one's.
                    let pointer = match returns {
                        Some(RefOr::Ref(r)) if r.ref_location == wanted => "$response.body#/id",
                        Some(RefOr::T(utoipa::openapi::schema::Schema::Array(a)))
                            if matches!(&a.items, utoipa::openapi::schema::ArrayItems::RefOrSchema(s)
                                if matches!(s.as_ref(), RefOr::Ref(r) if r.ref_location == wanted)) =>
                        {
                            "$response.body#/0/id"
                        }
                        _ => continue,
                    };
                    for target in &targets {
                        response.links.entry(target.clone()).or_insert_with(|| {
                            RefOr::T(LinkBuilder::new().operation_id(target).parameter("id", pointer).build())
                        });
                    }
                }
            }
        }
    }
}
