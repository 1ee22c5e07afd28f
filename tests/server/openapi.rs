//! `GET /api/v1/openapi.json`: a valid OpenAPI 3.1 document, identical to
//! the committed `specs/openapi.json`, whose operations are exactly the
//! `/api/v1` routes of `src/server.rs`, each of which the server answers.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::Value;

use crate::common::*;

const METHODS: &[&str] = &[
    "get", "put", "post", "delete", "patch", "head", "options", "trace",
];

/// `(METHOD, path)` of every route `src/server.rs` declares, read from its
/// text: `.route("<path>", get(h).post(h2).layer(…))`, on one line or many.
fn routes_in_server_rs() -> BTreeSet<(String, String)> {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/server.rs");
    routes_in(&std::fs::read_to_string(&file).expect("read src/server.rs"))
}

fn routes_in(text: &str) -> BTreeSet<(String, String)> {
    let code: String = text
        .lines()
        .map(|l| match l.find("//") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n");
    let mut routes = BTreeSet::new();
    let mut rest = code.as_str();
    while let Some(at) = rest.find(".route(") {
        let args_start = at + ".route(".len();
        let args = balanced(&rest[args_start..]);
        rest = &rest[args_start + args.len()..];
        let path_start = args.find('"').expect("a route path literal") + 1;
        let path_len = args[path_start..].find('"').expect("closing quote");
        let path = &args[path_start..path_start + path_len];
        let handlers = &args[path_start + path_len + 1..];
        let methods = top_level_calls(handlers)
            .into_iter()
            .filter(|m| METHODS.contains(&m.as_str()))
            .collect::<Vec<_>>();
        assert!(
            !methods.is_empty(),
            "no method router found in the route {path}: {handlers}"
        );
        for m in methods {
            assert!(
                routes.insert((m.to_uppercase(), path.to_string())),
                "{m} {path} is routed twice"
            );
        }
    }
    assert!(
        !code.contains(".nest(") && !code.contains(".merge("),
        "src/server.rs nests or merges routers: teach routes_in_server_rs about it"
    );
    routes
}

/// The text up to (not including) the parenthesis that closes the one just
/// opened before `s`.
fn balanced(s: &str) -> &str {
    let mut depth = 0usize;
    let mut in_str = false;
    let mut prev = '\0';
    for (i, c) in s.char_indices() {
        match c {
            '"' if prev != '\\' => in_str = !in_str,
            '(' if !in_str => depth += 1,
            ')' if !in_str => {
                if depth == 0 {
                    return &s[..i];
                }
                depth -= 1;
            }
            _ => {}
        }
        prev = c;
    }
    panic!("unbalanced parentheses in src/server.rs: {s}")
}

/// Names called at the top level of `s` (`get(…).post(…)` → get, post),
/// skipping path segments such as `DefaultBodyLimit::max`.
fn top_level_calls(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut word = String::new();
    let mut word_after_colons = false;
    let mut prev_non_word = ' ';
    for c in s.chars() {
        if c.is_alphanumeric() || c == '_' {
            if word.is_empty() {
                word_after_colons = prev_non_word == ':';
            }
            word.push(c);
            continue;
        }
        if c == '(' {
            if depth == 0 && !word.is_empty() && !word_after_colons {
                out.push(word.clone());
            }
            depth += 1;
        } else if c == ')' {
            depth = depth.saturating_sub(1);
        }
        word.clear();
        if !c.is_whitespace() {
            prev_non_word = c;
        }
    }
    out
}

fn operations(doc: &Value) -> BTreeMap<(String, String), &Value> {
    let mut ops = BTreeMap::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            if METHODS.contains(&method.as_str()) {
                ops.insert((method.to_uppercase(), path.clone()), op);
            }
        }
    }
    ops
}

/// Every `$ref` in the document points at something in it.
fn check_refs(doc: &Value, v: &Value, at: &str) {
    match v {
        Value::Object(map) => {
            if let Some(r) = map.get("$ref") {
                let r = r.as_str().expect("$ref is a string");
                let target = r
                    .strip_prefix('#')
                    .unwrap_or_else(|| panic!("{at}: external $ref {r}"));
                assert!(
                    doc.pointer(target).is_some(),
                    "{at}: $ref {r} does not resolve"
                );
            }
            for (k, x) in map {
                check_refs(doc, x, &format!("{at}/{k}"));
            }
        }
        Value::Array(xs) => {
            for (i, x) in xs.iter().enumerate() {
                check_refs(doc, x, &format!("{at}/{i}"));
            }
        }
        _ => {}
    }
}

fn committed_copy() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("specs/openapi.json")
}

/// `VECHE_UPDATE_OPENAPI=1` rewrites `specs/openapi.json`.
fn update_committed_copy(served: &str) {
    if std::env::var_os("VECHE_UPDATE_OPENAPI").is_some_and(|v| v == "1") {
        std::fs::write(committed_copy(), served).expect("write specs/openapi.json");
    }
}

fn check_committed_copy(served: &str) {
    let file = committed_copy();
    let committed = std::fs::read_to_string(&file).unwrap_or_default();
    assert!(
        committed == served,
        "specs/openapi.json differs from the document the code generates; \
         regenerate it with `VECHE_UPDATE_OPENAPI=1 cargo test --test server openapi` \
         and commit it"
    );
}

fn check_document(doc: &Value, text: &str) {
    // Structure: the whole document parses into the OpenAPI 3.1 types.
    let spec = oas3::from_json(text).expect("the document is an OpenAPI 3.1 document");
    let version = spec.validate_version().expect("openapi version");
    assert_eq!((version.major, version.minor), (3, 1));
    assert_eq!(spec.info.title, "Veche API");
    assert_eq!(spec.info.version, env!("CARGO_PKG_VERSION"));
    assert!(
        spec.info
            .description
            .as_deref()
            .is_some_and(|d| d.contains("specs/api.md"))
    );

    check_refs(doc, doc, "#");
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["session_cookie"]["in"], "cookie");
    assert_eq!(schemes["session_cookie"]["name"], "veche_session");
    assert_eq!(schemes["csrf_token"]["in"], "header");
    assert_eq!(schemes["csrf_token"]["name"], "X-CSRF-Token");
    assert_eq!(schemes["operator_token"]["scheme"], "bearer");
    let problem = &doc["components"]["schemas"]["Problem"]["properties"];
    for field in [
        "type",
        "title",
        "status",
        "detail",
        "errors",
        "reason",
        "retry_after_seconds",
    ] {
        assert!(problem.get(field).is_some(), "Problem lacks {field}");
    }

    let mut operation_ids = BTreeSet::new();
    for ((method, path), op) in operations(doc) {
        let at = format!("{method} {path}");
        let id = op["operationId"]
            .as_str()
            .unwrap_or_else(|| panic!("{at}: no operationId"));
        assert!(
            operation_ids.insert(id.to_string()),
            "{at}: operationId {id} is not unique"
        );
        let responses = op["responses"]
            .as_object()
            .unwrap_or_else(|| panic!("{at}: no responses"));
        assert!(!responses.is_empty(), "{at}: no responses");
        assert!(
            responses.keys().any(|s| s.starts_with('2')),
            "{at}: no success response"
        );
        for (status, resp) in responses {
            assert!(
                resp["description"].is_string(),
                "{at} {status}: no description"
            );
            if status.starts_with(['4', '5']) {
                assert_eq!(
                    resp["content"]["application/problem+json"]["schema"]["$ref"],
                    "#/components/schemas/Problem",
                    "{at} {status}: not a problem body"
                );
            }
        }
        // Every `{param}` of the path is declared as a path parameter.
        let declared: BTreeSet<&str> = op["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|p| p["in"] == "path")
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        let in_path: BTreeSet<&str> = path
            .split('/')
            .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
            .collect();
        assert_eq!(declared, in_path, "{at}: path parameters");
    }
}

/// Calls an operation with placeholder parameters and a minimal body.
fn call(app: &TestApp, method: &str, path: &str, op: &Value) -> Response {
    let mut url = format!("{}{path}", app.url);
    for p in op["parameters"].as_array().into_iter().flatten() {
        if p["in"] == "path" {
            let name = p["name"].as_str().unwrap();
            let value = if p["schema"]["type"] == "integer" {
                "0"
            } else {
                "AAAA"
            };
            url = url.replace(&format!("{{{name}}}"), value);
        }
    }
    let content_type = op["requestBody"]["content"]
        .as_object()
        .and_then(|c| c.keys().next().cloned());
    let body = match content_type.as_deref() {
        Some("application/json") => "{}",
        _ => "",
    };
    let agent = agent();
    let result = match (method, content_type) {
        ("GET", _) => agent.get(&url).call(),
        ("DELETE", _) => agent.delete(&url).call(),
        ("POST", None) => agent.post(&url).send_empty(),
        ("PUT", None) => agent.put(&url).send_empty(),
        ("POST", Some(ct)) => agent.post(&url).header("Content-Type", ct).send(body),
        ("PUT", Some(ct)) => agent.put(&url).header("Content-Type", ct).send(body),
        _ => panic!("{method} {path}: teach the test this method"),
    };
    response(result)
}

#[test]
fn openapi_document_is_valid_current_and_matches_the_routes() {
    let db = TestDb::new(Backend::Sqlite, "openapi").expect("SQLite");
    let dir = data_dir();
    let app = TestApp::start(dir.path(), &db);

    let r = app.get("/api/v1/openapi.json");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("application/json"));
    let text = r.text();
    let doc: Value = r.json();
    update_committed_copy(&text);
    check_document(&doc, &text);

    // The document equals the set of /api/v1 routes (and /healthz).
    let routes = routes_in_server_rs();
    let api_routes: BTreeSet<_> = routes
        .iter()
        .filter(|(_, p)| p.starts_with("/api/v1/") || p == "/api/v1")
        .cloned()
        .collect();
    assert!(
        api_routes.len() >= 20,
        "found only {} /api/v1 routes in src/server.rs: {api_routes:?}",
        api_routes.len()
    );
    let ops = operations(&doc);
    let documented: BTreeSet<_> = ops
        .keys()
        .filter(|(_, p)| p.starts_with("/api/v1"))
        .cloned()
        .collect();
    let undocumented: Vec<_> = api_routes.difference(&documented).collect();
    let unrouted: Vec<_> = documented.difference(&api_routes).collect();
    assert!(
        undocumented.is_empty() && unrouted.is_empty(),
        "routes without an OpenAPI operation: {undocumented:?}; \
         operations without a route: {unrouted:?}"
    );
    let healthz = ("GET".to_string(), "/healthz".to_string());
    assert!(routes.contains(&healthz) && ops.contains_key(&healthz));
    let others: Vec<_> = ops
        .keys()
        .filter(|k| !k.1.starts_with("/api/v1") && **k != healthz)
        .collect();
    assert!(others.is_empty(), "documented but not /api/v1: {others:?}");

    // Each operation reaches its handler (not the router's fallbacks), and
    // answers with a status it documents.
    for ((method, path), op) in &ops {
        let r = call(&app, method, path, op);
        let at = format!("{method} {path} → {}: {}", r.status, r.text());
        assert_ne!(r.status, 405, "{at}");
        if r.status == 404 {
            let j = r.json();
            assert!(
                !(j["type"] == "/problems/not-found"
                    && j["detail"]
                        .as_str()
                        .is_some_and(|d| d.starts_with("There is nothing at"))),
                "no route: {at}"
            );
        }
        assert!(
            op["responses"].get(r.status.to_string()).is_some(),
            "undocumented status: {at}"
        );
        if r.status >= 400 {
            r.assert_problem(
                r.status,
                r.json()["type"]
                    .as_str()
                    .unwrap()
                    .trim_start_matches("/problems/"),
            );
        }
    }

    check_committed_copy(&text);
}

#[test]
fn route_reader_handles_chains_layers_and_line_breaks() {
    let code = r#"
        Router::new()
            .route("/healthz", get(healthz))
            // .route("/api/v1/commented-out", get(nothing))
            .route(
                "/api/v1/a/{id}",
                get(a::show).post(a::create),
            )
            .route(
                "/api/v1/b/{id}/roll",
                put(b::put_roll).layer(DefaultBodyLimit::max(b::MAX)),
            )
            .route("/api/v1/c", delete(c::gone))
            .fallback(not_found)
    "#;
    let got: Vec<_> = routes_in(code).into_iter().collect();
    let want = [
        ("DELETE", "/api/v1/c"),
        ("GET", "/api/v1/a/{id}"),
        ("GET", "/healthz"),
        ("POST", "/api/v1/a/{id}"),
        ("PUT", "/api/v1/b/{id}/roll"),
    ]
    .map(|(m, p)| (m.to_string(), p.to_string()));
    assert_eq!(got, want);
}
