//! The public log over HTTP: checkpoint, tiles, entry bundles, JSON API,
//! receipts, problem details and the page.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use veche_log::Hash;
use veche_log::checkpoint::verify_checkpoint;
use veche_log::tiles::{TilePath, decode_bundle};

use crate::both_backends;
use crate::common::*;

fn b64hash(s: &serde_json::Value) -> Hash {
    Hash::from_base64(s.as_str().unwrap()).unwrap()
}

fn log_serves_tiles_bundles_and_receipts(db: TestDb) {
    let dir = data_dir();
    let app = TestApp::start(dir.path(), &db);

    // An empty log still has a signed checkpoint.
    let r = app.get("/log/checkpoint");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("text/plain; charset=utf-8"));
    let cp = verify_checkpoint(&r.body, &app.vkey).expect("empty checkpoint verifies");
    assert_eq!((cp.origin.as_str(), cp.size), (ORIGIN, 0));
    assert_eq!(cp.root, veche_log::EMPTY_ROOT);

    // 300 entries: one full level-0 tile and a partial one. Ten clients at
    // once, so batches hold several entries.
    let first = app.add_jurisdiction("region-0", 1000);
    assert_eq!(first["index"], 0);
    assert_eq!(first["receipt"]["format"], "veche-receipt/v1");
    assert_eq!(first["receipt"]["index"], 0);
    let mut leaves = vec![Hash([0; 32]); 300];
    leaves[0] = b64hash(&first["leaf_hash"]);
    let results: Vec<(u64, Hash)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..10u64)
            .map(|t| {
                let app = &app;
                s.spawn(move || {
                    (0..30u64)
                        .filter(|k| t * 30 + k > 0)
                        .map(|k| {
                            let i = t * 30 + k;
                            let out = app.add_jurisdiction(&format!("region-{i}"), 1000 + i);
                            (out["index"].as_u64().unwrap(), b64hash(&out["leaf_hash"]))
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    for (index, leaf) in results {
        assert_eq!(
            leaves[index as usize],
            Hash([0; 32]),
            "index {index} acknowledged twice"
        );
        leaves[index as usize] = leaf;
    }
    assert!(leaves.iter().all(|l| *l != Hash([0; 32])));
    // Wait for the checkpoint to cover everything.
    let mut cp;
    loop {
        let r = app.get("/log/checkpoint");
        cp = verify_checkpoint(&r.body, &app.vkey).unwrap();
        if cp.size == 300 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let tree = veche_log::memory::MemoryTree::from_leaf_hashes(leaves.clone());
    assert_eq!(cp.root, tree.root());

    // Tiles: full tile 0 and the partial tile 1 of width 44.
    let t0 = app.get("/log/tile/0/000");
    assert_eq!(t0.status, 200);
    assert_eq!(t0.body.len(), 256 * 32);
    assert_eq!(
        t0.header("cache-control"),
        Some("public, max-age=31536000, immutable")
    );
    let etag = t0.header("etag").unwrap().to_string();
    for (i, leaf) in leaves.iter().take(256).enumerate() {
        assert_eq!(&t0.body[i * 32..i * 32 + 32], &leaf.0);
    }
    let t1 = app.get("/log/tile/0/001.p/44");
    assert_eq!(t1.status, 200);
    assert_eq!(t1.body.len(), 44 * 32);
    // A smaller partial is a prefix; a full tile 1 does not exist yet.
    assert_eq!(app.get("/log/tile/0/001.p/3").body, t1.body[..96]);
    app.get("/log/tile/0/001").assert_problem(404, "not-found");
    app.get("/log/tile/0/001.p/45")
        .assert_problem(404, "not-found");
    // Level 1 holds the root of tile 0.
    let l1 = app.get("/log/tile/1/000.p/1");
    assert_eq!(
        l1.body,
        tree.subtree(veche_log::Subtree { level: 8, index: 0 })
            .unwrap()
            .0
    );

    // Entry bundles decode to entries whose leaf hashes match.
    let b0 = app.get("/log/tile/entries/000");
    assert_eq!(b0.status, 200);
    let entries = decode_bundle(&b0.body).unwrap();
    assert_eq!(entries.len(), 256);
    for (i, e) in entries.iter().enumerate() {
        assert_eq!(veche_log::leaf_hash(e), leaves[i]);
        veche_entry::Entry::decode(e).unwrap();
    }
    let b1 = app.get("/log/tile/entries/001.p/44");
    assert_eq!(decode_bundle(&b1.body).unwrap().len(), 44);

    // Conditional request on an immutable tile.
    let not_modified =
        crate::common::get_with_header(&app, "/log/tile/0/000", "If-None-Match", &etag);
    assert_eq!(not_modified, 304);

    // Bad tile paths are 400 problems.
    for bad in [
        "/log/tile/0/0",
        "/log/tile/0/000.p/0",
        "/log/tile/0/000.p/256",
        "/log/tile/x/000",
        "/log/tile/0/001/002",
    ] {
        app.get(bad).assert_problem(400, "invalid-tile-path");
    }

    // Receipts verify against their checkpoint.
    let receipt = app.get("/api/v1/log/receipt/257").json();
    let rcp = verify_checkpoint(
        receipt["checkpoint"].as_str().unwrap().as_bytes(),
        &app.vkey,
    )
    .unwrap();
    assert_eq!(rcp.size, receipt["tree_size"].as_u64().unwrap());
    let proof: Vec<Hash> = receipt["inclusion_proof"]
        .as_array()
        .unwrap()
        .iter()
        .map(b64hash)
        .collect();
    let entry = B64.decode(receipt["entry"].as_str().unwrap()).unwrap();
    assert_eq!(veche_log::leaf_hash(&entry), b64hash(&receipt["leaf_hash"]));
    veche_log::proof::verify_inclusion(&leaves[257], 257, rcp.size, &proof, &rcp.root).unwrap();
    app.get("/api/v1/log/receipt/300")
        .assert_problem(404, "not-found");
    app.get("/api/v1/log/receipt/abc")
        .assert_problem(400, "invalid-index");

    // Proof endpoints agree with an in-memory tree.
    let p = app
        .get("/api/v1/log/proof/consistency?from=100&to=300")
        .json();
    let proof: Vec<Hash> = p["consistency_proof"]
        .as_array()
        .unwrap()
        .iter()
        .map(b64hash)
        .collect();
    veche_log::proof::verify_consistency(100, 300, &tree.root_at(100).unwrap(), &cp.root, &proof)
        .unwrap();
    let p = app.get("/api/v1/log/proof/inclusion?index=5&size=7").json();
    let proof: Vec<Hash> = p["inclusion_proof"]
        .as_array()
        .unwrap()
        .iter()
        .map(b64hash)
        .collect();
    veche_log::proof::verify_inclusion(&leaves[5], 5, 7, &proof, &tree.root_at(7).unwrap())
        .unwrap();
    app.get("/api/v1/log/proof/inclusion?index=7&size=7")
        .assert_problem(422, "invalid-proof-request");
    app.get("/api/v1/log/proof/consistency?from=9&to=8")
        .assert_problem(422, "invalid-proof-request");
    app.get("/api/v1/log/proof/consistency?from=1&to=100000")
        .assert_problem(404, "not-found");
    app.get("/api/v1/log/proof/inclusion?index=-1")
        .assert_problem(400, "invalid-query");

    // JSON API.
    let info = app.get("/api/v1/log").json();
    assert_eq!(info["origin"], ORIGIN);
    assert_eq!(info["vkey"], app.vkey);
    assert_eq!(info["size"], 300);
    let page = app.get("/api/v1/log/entries?start=10&limit=5").json();
    assert_eq!(page["entries"].as_array().unwrap().len(), 5);
    assert_eq!(page["entries"][0]["index"], 10);
    assert_eq!(page["entries"][0]["kind"], "jurisdiction");
    assert_eq!(page["entries"][0]["leaf_hash"], leaves[10].to_base64());
    assert!(
        page["entries"][0]["entry"]["id"]
            .as_str()
            .unwrap()
            .starts_with("region-")
    );
    app.get("/api/v1/log/entries?limit=1000")
        .assert_problem(400, "invalid-query");
    app.get("/api/v1/log/entries?bogus=1")
        .assert_problem(400, "invalid-query");
    let j = app.get("/api/v1/jurisdictions/region-7").json();
    assert_eq!(j["current"]["population"], 1007);
    assert_eq!(
        app.get("/api/v1/jurisdictions")
            .json()
            .as_object()
            .unwrap()
            .len(),
        300
    );
    app.get("/api/v1/jurisdictions/nowhere")
        .assert_problem(404, "not-found");
    app.get("/no/such/page").assert_problem(404, "not-found");

    // Restart: same log, same key, same checkpoint.
    let note_before = app.get("/log/checkpoint").body;
    app.stop();
    let app = TestApp::start(dir.path(), &db);
    assert_eq!(app.get("/log/checkpoint").body, note_before);
    assert_eq!(app.get("/log/tile/0/000").body, t0.body);
}
both_backends!(
    log_serves_tiles_bundles_and_receipts,
    super::log_serves_tiles_bundles_and_receipts
);

fn bad_appends_are_refused_and_change_nothing(db: TestDb) {
    let dir = data_dir();
    let app = TestApp::start(dir.path(), &db);
    let size = |app: &TestApp| app.get("/api/v1/log").json()["size"].as_u64().unwrap();
    let good = jurisdiction_json("tver-oblast", 1_200_000);

    app.post_json("/api/v1/jurisdictions", &good, None)
        .assert_problem(401, "unauthorized");
    app.post_json(
        "/api/v1/jurisdictions",
        &good,
        Some("wrong-token-wrong-token"),
    )
    .assert_problem(401, "unauthorized");
    let mut zero = good.clone();
    zero["population"] = 0.into();
    let p = app
        .post_json("/api/v1/jurisdictions", &zero, Some(OPERATOR_TOKEN))
        .assert_problem(422, "invalid-field");
    assert_eq!(p["errors"][0]["field"], "population");
    let mut negative = good.clone();
    negative["population"] = (-5).into();
    app.post_json("/api/v1/jurisdictions", &negative, Some(OPERATOR_TOKEN))
        .assert_problem(422, "invalid-body");
    let mut upper = good.clone();
    upper["id"] = "Tver".into();
    app.post_json("/api/v1/jurisdictions", &upper, Some(OPERATOR_TOKEN))
        .assert_problem(422, "invalid-field");
    let mut bad_date = good.clone();
    bad_date["population_date"] = "2023-02-29".into();
    app.post_json("/api/v1/jurisdictions", &bad_date, Some(OPERATOR_TOKEN))
        .assert_problem(422, "invalid-body");
    let mut extra = good.clone();
    extra["mayor"] = "x".into();
    app.post_json("/api/v1/jurisdictions", &extra, Some(OPERATOR_TOKEN))
        .assert_problem(422, "invalid-body");
    app.post_raw("/api/v1/jurisdictions", "application/json", "{not json")
        .assert_problem(400, "invalid-json");
    app.post_raw("/api/v1/jurisdictions", "text/plain", "{}")
        .assert_problem(415, "unsupported-media-type");
    let huge = format!("{{\"id\":\"{}\"}}", "a".repeat(300 * 1024));
    app.post_raw("/api/v1/jurisdictions", "application/json", &huge)
        .assert_problem(413, "body-unreadable");
    crate::common::delete(&app, "/api/v1/jurisdictions").assert_problem(405, "method-not-allowed");
    assert_eq!(size(&app), 0, "nothing was appended");
    assert_eq!(
        app.get("/api/v1/jurisdictions").json(),
        serde_json::json!({})
    );

    app.add_jurisdiction("tver-oblast", 1_200_000);
    assert_eq!(
        app.get("/api/v1/jurisdictions").json()["tver-oblast"]["declarations"],
        1
    );
}
both_backends!(
    bad_appends_are_refused_and_change_nothing,
    super::bad_appends_are_refused_and_change_nothing
);

fn cli_appends_while_the_server_runs(db: TestDb) {
    let dir = data_dir();
    let app = TestApp::start(dir.path(), &db);
    app.add_jurisdiction("first", 10);
    let out = veche_command(dir.path(), &db)
        .args([
            "jurisdiction",
            "add",
            "--id",
            "kaliningrad-oblast",
            "--name-ru",
            "Калининградская область",
            "--name-en",
            "Kaliningrad Oblast",
            "--population",
            "1032000",
            "--source",
            "Rosstat",
            "--population-date",
            "2024-01-01",
            "--legislature-ru",
            "Законодательное Собрание",
            "--legislature-en",
            "Legislative Assembly",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("at log index 1"));
    // The server picks the CLI's entry up and keeps appending after it.
    let second = app.add_jurisdiction("third", 30);
    assert_eq!(second["index"], 2);
    for bad in ["0", "-5", "1e6", "12,000", "lots"] {
        let out = veche_command(dir.path(), &db)
            .args([
                "jurisdiction",
                "add",
                "--id",
                "x",
                "--name-ru",
                "x",
                "--name-en",
                "x",
                "--population",
                bad,
                "--source",
                "s",
                "--legislature-ru",
                "x",
                "--legislature-en",
                "x",
            ])
            .output()
            .unwrap();
        assert!(!out.status.success());
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("population"),
            "{bad}"
        );
    }
    let out = veche_command(dir.path(), &db)
        .args(["jurisdiction", "list"])
        .output()
        .unwrap();
    let listing = String::from_utf8_lossy(&out.stdout);
    assert!(
        listing.contains("kaliningrad-oblast") && listing.contains("1032000"),
        "{listing}"
    );
    // The origin is fixed at first start.
    let out = std::process::Command::new(bin())
        .args(["--data-dir"])
        .arg(dir.path())
        .args(["--origin", "other.example"])
        .args(db.url.iter().flat_map(|u| ["--database-url", u.as_str()]))
        .args(["jurisdiction", "list"])
        .output()
        .unwrap();
    let _ = out; // list does not need the origin; adding does:
    let out = std::process::Command::new(bin())
        .args(["--data-dir"])
        .arg(dir.path())
        .args(["--origin", "other.example"])
        .args(db.url.iter().flat_map(|u| ["--database-url", u.as_str()]))
        .args([
            "jurisdiction",
            "add",
            "--id",
            "y",
            "--name-ru",
            "y",
            "--name-en",
            "y",
            "--population",
            "5",
            "--source",
            "s",
            "--legislature-ru",
            "y",
            "--legislature-en",
            "y",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot change"));
}
both_backends!(
    cli_appends_while_the_server_runs,
    super::cli_appends_while_the_server_runs
);

#[test]
fn the_log_page_in_both_languages() {
    let db = TestDb::new(Backend::Sqlite, "page").unwrap();
    let dir = data_dir();
    let app = TestApp::start(dir.path(), &db);
    app.add_jurisdiction("samara-oblast", 3_000_000);
    let ru = app.get("/?lang=ru");
    assert_eq!(ru.status, 200);
    let html = ru.text();
    assert!(html.contains("<html lang=\"ru\">") && html.contains("Публичный журнал"));
    assert!(html.contains("samara-oblast") && html.contains("veche-verify audit"));
    assert!(html.contains(&app.vkey));
    let en = app.get("/?lang=en").text();
    assert!(en.contains("<html lang=\"en\">") && en.contains("The public log"));
    // Accept-Language picks English without a query.
    let r = crate::common::get_with_header(&app, "/", "Accept-Language", "en-GB,en;q=0.9");
    assert_eq!(r, 200);
    let _ = TilePath::parse("tile/0/000").unwrap();
}
