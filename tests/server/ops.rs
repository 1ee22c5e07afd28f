//! Operations over HTTP: liveness and readiness probes, Prometheus metrics
//! that move with appends, cache headers of tiles, and JSON logs.

use crate::both_backends;
use crate::common::*;

/// The value of the sample `series` (name and labels exactly as printed).
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .map(|v| v.trim().parse().unwrap())
}

fn metrics(app: &TestApp) -> String {
    let r = app.get("/metrics");
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(
        r.header("content-type")
            .is_some_and(|c| c.starts_with("application/openmetrics-text")),
        "{:?}",
        r.header("content-type")
    );
    r.text()
}

fn fill(app: &TestApp, n: u64) {
    std::thread::scope(|s| {
        for t in 0..8 {
            s.spawn(move || {
                for k in (t..n).step_by(8) {
                    app.add_jurisdiction(&format!("r-{k}"), 100 + k);
                }
            });
        }
    });
}

fn wait_for_size(app: &TestApp, size: u64) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while app.get("/api/v1/log").json()["size"].as_u64().unwrap() < size {
        assert!(
            std::time::Instant::now() < deadline,
            "log stuck below {size}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

fn probes_metrics_and_tile_caching(db: TestDb) {
    let dir = data_dir();
    let logs = data_dir();
    let log_file = logs.path().join("stderr.log");
    let app = TestApp::start_with(
        dir.path(),
        &db,
        None,
        &["--log-format", "json"],
        Some(&log_file),
    );

    for path in ["/livez", "/healthz"] {
        let r = app.get(path);
        assert_eq!(r.status, 200, "{path}: {}", r.text());
        assert_eq!(r.json()["status"], "ok");
    }
    let ready = app.get("/readyz");
    assert_eq!(ready.status, 200, "{}", ready.text());
    let j = ready.json();
    assert_eq!(j["status"], "ready");
    for check in ["database", "sequencer", "log"] {
        assert_eq!(j["checks"][check], "ok", "{j}");
    }

    let before = metrics(&app);
    for name in [
        "# TYPE veche_append_latency_seconds histogram",
        "# TYPE veche_batch_size_entries histogram",
        "# TYPE veche_log_entries_appended counter",
        "# TYPE veche_sequencer_queue_depth gauge",
        "# TYPE veche_sequencer_running gauge",
        "# TYPE veche_log_size_entries gauge",
        "# TYPE veche_checkpoint_size_entries gauge",
        "# TYPE veche_checkpoint_age_seconds gauge",
        "# TYPE veche_http_responses counter",
    ] {
        assert!(before.contains(name), "{name} missing:\n{before}");
    }
    // Witness lag has series only once a witness client reports one.
    assert!(!before.contains("witness_cosignature_lag_seconds{"));
    let kind = r#"veche_log_entries_appended_total{kind="jurisdiction"}"#;
    // Every kind is there from the start, at zero; signatures and ballots
    // per second are rate() of these.
    assert_eq!(sample(&before, kind), Some(0.0), "{before}");
    assert_eq!(
        sample(
            &before,
            r#"veche_log_entries_appended_total{kind="signature"}"#
        ),
        Some(0.0)
    );
    assert_eq!(sample(&before, "veche_sequencer_running"), Some(1.0));

    fill(&app, 260);
    wait_for_size(&app, 260);
    app.get("/nothing/here/12345")
        .assert_problem(404, "not-found");
    let after = metrics(&app);
    assert_eq!(sample(&after, kind), Some(260.0), "{after}");
    assert_eq!(
        sample(&after, "veche_append_latency_seconds_count"),
        Some(260.0)
    );
    let batches = sample(&after, "veche_batch_size_entries_count").unwrap();
    assert!((1.0..=260.0).contains(&batches), "{after}");
    assert_eq!(sample(&after, "veche_batch_size_entries_sum"), Some(260.0));
    assert_eq!(sample(&after, "veche_log_size_entries"), Some(260.0));
    assert_eq!(sample(&after, "veche_checkpoint_size_entries"), Some(260.0));
    let age = sample(&after, "veche_checkpoint_age_seconds").unwrap();
    assert!((0.0..60.0).contains(&age), "checkpoint age {age}");
    assert_eq!(sample(&after, "veche_sequencer_queue_depth"), Some(0.0));
    assert_eq!(
        sample(
            &after,
            r#"veche_http_responses_total{method="POST",route="/api/v1/jurisdictions",status="2xx"}"#
        ),
        Some(260.0),
        "{after}"
    );
    assert!(
        sample(
            &after,
            r#"veche_http_responses_total{method="GET",route="unmatched",status="4xx"}"#
        )
        .is_some_and(|n| n >= 1.0),
        "{after}"
    );
    assert!(
        !after.contains("12345"),
        "a raw path became a label:\n{after}"
    );
    assert!(after.ends_with("# EOF\n"));

    // Full tiles and bundles: cached for a year, strong ETag, 304.
    for path in ["/log/tile/0/000", "/log/tile/entries/000"] {
        let r = app.get(path);
        assert_eq!(r.status, 200);
        assert_eq!(
            r.header("cache-control"),
            Some("public, max-age=31536000, immutable")
        );
        let etag = r.header("etag").unwrap().to_string();
        assert!(
            etag.starts_with('"') && etag.ends_with('"') && etag.len() > 10,
            "{etag}"
        );
        assert_eq!(get_with_header(&app, path, "If-None-Match", &etag), 304);
        assert_eq!(
            get_with_header(&app, path, "If-None-Match", &format!("\"x\", W/{etag}")),
            304
        );
        assert_eq!(
            get_with_header(&app, path, "If-None-Match", "\"other\""),
            200
        );
    }
    // Partial tiles: briefly; the checkpoint: always revalidated.
    for path in ["/log/tile/0/001.p/4", "/log/tile/entries/001.p/4"] {
        let r = app.get(path);
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(r.header("cache-control"), Some("public, max-age=60"));
        assert!(r.header("etag").is_some());
    }
    assert_eq!(
        app.get("/log/checkpoint").header("cache-control"),
        Some("no-cache")
    );

    if let Some(url) = &db.url {
        not_ready_while_the_database_refuses(&app, url);
    }

    app.stop();
    // Structured logs: every line one JSON object with a level.
    let text = std::fs::read_to_string(&log_file).unwrap();
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(!lines.is_empty());
    for line in lines {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        assert!(v["level"].is_string(), "{line}");
    }
}

/// PostgreSQL only: while the database refuses connections, `/readyz` is a
/// 503 `not-ready` naming the database, and ready again after.
fn not_ready_while_the_database_refuses(app: &TestApp, url: &str) {
    let name = url.rsplit_once('/').unwrap().1.to_string();
    let admin = std::env::var("VECHE_TEST_DATABASE_URL").unwrap();
    let run = |sql: String| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(async {
                use sqlx::Connection;
                let mut c = sqlx::PgConnection::connect(&admin).await.unwrap();
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .execute(&mut c)
                    .await
                    .unwrap();
            })
    };
    run(format!("ALTER DATABASE {name} ALLOW_CONNECTIONS false"));
    run(format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
    ));
    let r = app.get("/readyz");
    let restore = || run(format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true"));
    if r.status != 503 {
        restore();
    }
    let j = r.assert_problem(503, "not-ready");
    assert_ne!(j["checks"]["database"], "ok", "{j}");
    assert_eq!(j["checks"]["sequencer"], "ok", "{j}");
    assert!(r.header("retry-after").is_some());
    restore();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while app.get("/readyz").status != 200 {
        assert!(std::time::Instant::now() < deadline, "never ready again");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

both_backends!(
    probes_metrics_and_tile_caching,
    super::probes_metrics_and_tile_caching
);
