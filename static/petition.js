// Veche petition pages: signing with a passkey, uploading the legislature's
// document, and checking a receipt in the browser with WebCrypto only
// (specs/receipts.md). Everything else on these pages works without
// JavaScript.
"use strict";
(function (root) {
  // ---- receipts: pure checks, no page needed ----------------------------------------

  const FORMAT = "veche-receipt/v1";
  const MEMBERS = ["format", "origin", "index", "leaf_hash", "entry", "tree_size", "inclusion_proof", "checkpoint"];
  const enc = new TextEncoder();

  function fail(msg) { throw new Error(msg); }

  // Strict RFC 4648 §4 base64 with padding: the encoding must be canonical.
  function b64decode(s) {
    if (typeof s !== "string" || s.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(s)) fail("not padded base64: " + String(s).slice(0, 60));
    const bin = atob(s);
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    if (b64encode(out) !== s) fail("non-canonical base64: " + s.slice(0, 60));
    return out;
  }

  function b64encode(bytes) {
    let bin = "";
    for (let i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]);
    return btoa(bin);
  }

  function hex(bytes) {
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function concat(...parts) {
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) { out.set(p, at); at += p.length; }
    return out;
  }

  function equal(a, b) {
    if (a.length !== b.length) return false;
    let d = 0;
    for (let i = 0; i < a.length; i++) d |= a[i] ^ b[i];
    return d === 0;
  }

  async function sha256(bytes) {
    return new Uint8Array(await root.crypto.subtle.digest("SHA-256", bytes));
  }

  // Verifier key `name+hexid+base64(0x01 ‖ 32-byte Ed25519 key)`; checks the key ID.
  async function parseVkey(text) {
    // The key's base64 may itself contain "+": split at the first two only.
    const m = /^([^+]+)\+([^+]+)\+(.+)$/.exec(String(text || "").trim());
    if (!m) fail("expected name+keyid+key");
    const [, name, id, key] = m;
    if (!name || /\s/.test(name)) fail("bad key name");
    if (!/^[0-9a-f]{8}$/.test(id)) fail("bad key ID " + id);
    const raw = b64decode(key);
    if (raw.length !== 33 || raw[0] !== 1) fail("not an Ed25519 key");
    const pub = raw.slice(1);
    const want = (await sha256(concat(enc.encode(name + "\n"), raw))).slice(0, 4);
    if (hex(want) !== id) fail("the key ID " + id + " does not match the key (expected " + hex(want) + ")");
    return { name, id, pub };
  }

  // C2SP signed note carrying a tlog-checkpoint body.
  function parseNote(note) {
    if (typeof note !== "string") fail("checkpoint is not a string");
    const split = note.indexOf("\n\n");
    if (split < 0) fail("no blank line between body and signatures");
    const body = note.slice(0, split + 1);
    const rest = note.slice(split + 2);
    if (!rest.endsWith("\n")) fail("signature block does not end with a newline");
    const sigs = rest.slice(0, -1).split("\n").map((line) => {
      const m = /^\u2014 (\S+) (\S+)$/.exec(line);
      if (!m) fail("malformed signature line: " + line.slice(0, 80));
      const blob = b64decode(m[2]);
      if (blob.length < 5) fail("signature too short");
      return { name: m[1], keyId: hex(blob.slice(0, 4)), sig: blob.slice(4) };
    });
    const lines = body.slice(0, -1).split("\n");
    if (lines.length < 3) fail("checkpoint body has fewer than 3 lines");
    const [origin, size, rootB64] = lines;
    if (!/^(0|[1-9][0-9]*)$/.test(size)) fail("bad tree size " + size);
    const rootHash = b64decode(rootB64);
    if (rootHash.length !== 32) fail("root is not 32 bytes");
    return { body, origin, size: BigInt(size), sizeText: size, root: rootHash, rootB64, sigs };
  }

  // RFC 9162 §2.1.3.2: the root an inclusion proof leads to.
  async function inclusionRoot(index, size, leaf, proof) {
    let fn = BigInt(index);
    let sn = BigInt(size) - 1n;
    if (fn > sn) fail("index " + index + " is not below the tree size " + size);
    let r = leaf;
    const one = new Uint8Array([1]);
    for (const p of proof) {
      if (sn === 0n) fail("the proof is longer than the tree size allows");
      if ((fn & 1n) === 1n || fn === sn) {
        r = await sha256(concat(one, p, r));
        while ((fn & 1n) === 0n && fn !== 0n) { fn >>= 1n; sn >>= 1n; }
      } else {
        r = await sha256(concat(one, r, p));
      }
      fn >>= 1n; sn >>= 1n;
    }
    if (sn !== 0n) fail("the proof is shorter than the tree size calls for");
    return r;
  }

  const KINDS = {
    1: "jurisdiction", 2: "petition_rules", 16: "petition_filed", 17: "petition_opened",
    18: "petition_rejected", 19: "signature", 20: "threshold_reached", 21: "signature_invalidated",
    22: "petition_delivered", 23: "petition_acknowledged", 24: "consideration_scheduled",
    25: "petition_answered", 26: "petition_closed", 64: "roll_version",
  };

  // The envelope of an entry (specs/entries.md): kind, time, and for
  // petition kinds 17–26 the petition (their first field).
  function entryHeader(bytes) {
    if (bytes.length < 11 || bytes[0] !== 1) return null;
    const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const kind = v.getUint16(1);
    const ms = Number(v.getBigUint64(3));
    const out = { kind, kindName: KINDS[kind] || String(kind), time: new Date(ms).toISOString() };
    if (kind >= 17 && kind <= 26 && bytes.length >= 19) out.petition = Number(v.getBigUint64(11));
    return out;
  }

  // Checks a receipt against a verifier key. Each check is
  // {id, ok: true | false | null (not applicable), detail}.
  async function verifyReceipt(r, vkeyText) {
    const checks = [];
    const info = {};
    const check = async (id, f) => {
      try {
        const res = await f();
        checks.push({ id, ok: res === null ? null : true, detail: "" });
        return res === null ? null : true;
      } catch (e) {
        checks.push({ id, ok: false, detail: e && e.message ? e.message : String(e) });
        return false;
      }
    };
    const formatOk = await check("format", () => {
      if (!r || typeof r !== "object" || Array.isArray(r)) fail("not a JSON object");
      if (r.format !== FORMAT) fail("format is " + JSON.stringify(r.format));
      for (const k of Object.keys(r)) if (!MEMBERS.includes(k)) fail("unknown member " + k);
      for (const k of MEMBERS) if (k !== "entry" && !(k in r)) fail("missing member " + k);
      if (!Number.isSafeInteger(r.index) || r.index < 0) fail("index is not a whole number");
      if (!Number.isSafeInteger(r.tree_size) || r.tree_size < 1) fail("tree_size is not a positive whole number");
      if (!Array.isArray(r.inclusion_proof)) fail("inclusion_proof is not a list");
      info.index = r.index;
      info.treeSize = r.tree_size;
      info.origin = r.origin;
      info.leaf = r.leaf_hash;
      return true;
    });
    let key = null;
    await check("key", async () => { key = await parseVkey(vkeyText); return true; });
    let note = null;
    const sigOk = await check("signature", async () => {
      if (!key) fail("no usable verifier key");
      note = parseNote(r && r.checkpoint);
      const mine = note.sigs.filter((s) => s.name === key.name && s.keyId === key.id);
      if (mine.length === 0) fail("no signature by " + key.name + "+" + key.id);
      let pk;
      try {
        pk = await root.crypto.subtle.importKey("raw", key.pub, { name: "Ed25519" }, false, ["verify"]);
      } catch (e) {
        const err = new Error("Ed25519 is not available in this browser's WebCrypto");
        err.noCrypto = true;
        throw err;
      }
      for (const s of mine) {
        if (s.sig.length !== 64) fail("signature is not 64 bytes");
        if (!(await root.crypto.subtle.verify({ name: "Ed25519" }, pk, s.sig, enc.encode(note.body)))) fail("the signature does not verify");
      }
      if (note.origin !== key.name) fail("checkpoint origin " + note.origin + " is not the key's name " + key.name);
      info.root = note.rootB64;
      return true;
    });
    const matchOk = await check("match", () => {
      if (!note) { note = parseNote(r && r.checkpoint); }
      if (r.origin !== note.origin) fail("receipt origin " + r.origin + ", checkpoint origin " + note.origin);
      if (BigInt(r.tree_size) !== note.size) fail("receipt tree_size " + r.tree_size + ", checkpoint size " + note.sizeText);
      return true;
    });
    let leaf = null;
    const leafOk = await check("leaf", async () => {
      leaf = b64decode(r.leaf_hash);
      if (leaf.length !== 32) fail("leaf_hash is not 32 bytes");
      if (r.entry === undefined) return null;
      const entry = b64decode(r.entry);
      const got = await sha256(concat(new Uint8Array([0]), entry));
      if (!equal(got, leaf)) fail("SHA-256(0x00 ‖ entry) = " + b64encode(got) + ", not " + r.leaf_hash);
      const h = entryHeader(entry);
      if (h) Object.assign(info, { kind: h.kindName, time: h.time, petition: h.petition });
      return true;
    });
    const proofOk = await check("proof", async () => {
      if (!leaf) fail("no leaf hash");
      if (!note) fail("no checkpoint");
      const proof = r.inclusion_proof.map((p) => {
        const b = b64decode(p);
        if (b.length !== 32) fail("a proof hash is not 32 bytes");
        return b;
      });
      const got = await inclusionRoot(r.index, r.tree_size, leaf, proof);
      if (!equal(got, note.root)) fail("the proof leads to " + b64encode(got) + ", not the checkpoint's root " + note.rootB64);
      return true;
    });
    const valid = formatOk === true && sigOk === true && matchOk === true && leafOk !== false && proofOk === true;
    return { valid, checks, info };
  }

  root.VecheReceipt = { verifyReceipt, inclusionRoot, parseNote, parseVkey, b64decode, entryHeader };

  if (typeof document === "undefined") return;

  // ---- the page ----------------------------------------------------------------------

  const $ = (sel) => document.querySelector(sel);
  const lang = document.documentElement.lang || "ru";
  const csrf = () => (document.querySelector('meta[name="csrf-token"]') || {}).content || "";

  async function request(url, body, contentType) {
    const headers = { "Content-Type": contentType || "application/json" };
    if (csrf()) headers["X-CSRF-Token"] = csrf();
    const resp = await fetch(url, {
      method: "POST", headers, credentials: "same-origin",
      body: contentType ? body : JSON.stringify(body || {}),
    });
    const text = await resp.text();
    let json = null;
    try { json = text ? JSON.parse(text) : null; } catch (_) { /* not JSON */ }
    if (!resp.ok) throw new Error(json && json.detail ? json.detail : resp.status + " " + resp.statusText);
    return json;
  }

  // Signing: options -> navigator.credentials.get -> signature; then the receipt page.
  const signForm = $("#sign-form");
  if (signForm) {
    const status = $("#status");
    const say = (msg, isError) => {
      status.textContent = msg;
      status.className = isError ? "status error" : "status";
      status.hidden = false;
    };
    signForm.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      if (!window.PublicKeyCredential || !PublicKeyCredential.parseRequestOptionsFromJSON) {
        say(document.body.dataset.msgUnsupported || "This browser cannot use passkeys.", true);
        return;
      }
      const button = signForm.querySelector("button[type=submit]");
      button.disabled = true;
      say(document.body.dataset.msgWorking || "…", false);
      const id = signForm.dataset.petition;
      try {
        const started = await request("/api/v1/petitions/" + id + "/signatures/options", {});
        const publicKey = PublicKeyCredential.parseRequestOptionsFromJSON(started.publicKey);
        const credential = await navigator.credentials.get({ publicKey });
        const res = await request("/api/v1/petitions/" + id + "/signatures", { ceremony: started.ceremony, credential: credential.toJSON() });
        sessionStorage.setItem("veche-receipt", JSON.stringify({
          receipt: res.receipt, petition: res.petition,
          threshold_entry: res.threshold_entry === undefined ? null : res.threshold_entry,
        }));
        window.location.assign("/receipt?lang=" + lang);
      } catch (e) {
        say(e && e.message ? e.message : String(e), true);
        button.disabled = false;
      }
    });
  }

  // The legislature's document: uploaded, its BLAKE3 hash put in the form.
  const upload = $("#answer-upload");
  const file = $("#answer-file");
  if (upload && file) {
    upload.hidden = false;
    const target = document.getElementById(file.dataset.target);
    const status = document.getElementById(file.dataset.status);
    file.addEventListener("change", async () => {
      const f = file.files && file.files[0];
      if (!f) return;
      status.textContent = document.body.dataset.msgWorking || "…";
      try {
        const res = await request("/api/v1/attachments", f, f.type || "application/octet-stream");
        target.value = res.hash;
        status.textContent = "✓ " + res.hash;
      } catch (e) {
        status.textContent = "✗ " + (e && e.message ? e.message : String(e));
      }
    });
  }

  // The receipt page.
  const form = $("#receipt-form");
  if (!form) return;
  const area = $("#receipt-json");
  const vkey = $("#receipt-vkey");
  const result = $("#receipt-result");
  const msg = result.dataset;
  let blobUrl = null;

  const stored = sessionStorage.getItem("veche-receipt");
  if (stored) {
    sessionStorage.removeItem("veche-receipt");
    try {
      const s = JSON.parse(stored);
      area.value = JSON.stringify(s.receipt, null, 2);
      $("#signed-notice").hidden = false;
      if (s.threshold_entry !== null && s.threshold_entry !== undefined) $("#signed-threshold").hidden = false;
      if (s.petition !== undefined) $("#signed-back").href = "/petitions/" + s.petition + "?lang=" + lang;
    } catch (_) { /* ignore a damaged copy */ }
  }

  function row(list, ok, text, detail) {
    const li = document.createElement("li");
    li.className = ok === true ? "ok" : ok === false ? "bad" : "skip";
    const mark = document.createElement("span");
    mark.className = "mark";
    mark.setAttribute("aria-hidden", "true");
    mark.textContent = ok === true ? "✓" : ok === false ? "✗" : "–";
    const word = document.createElement("strong");
    word.textContent = (ok === true ? msg.passed : ok === false ? msg.failed : msg.skipped) + ": ";
    li.append(mark, " ", word, text);
    if (detail) {
      const d = document.createElement("span");
      d.className = "detail";
      d.textContent = " (" + detail + ")";
      li.append(d);
    }
    list.append(li);
  }

  async function run() {
    const checks = $("#receipt-checks");
    const verdict = $("#receipt-verdict");
    const details = $("#receipt-details");
    checks.replaceChildren();
    details.replaceChildren();
    result.hidden = false;
    let receipt;
    try {
      receipt = JSON.parse(area.value);
    } catch (e) {
      verdict.className = "verdict bad";
      verdict.textContent = "✗ " + msg.notJson;
      $("#receipt-download").hidden = true;
      return;
    }
    if (!root.crypto || !root.crypto.subtle) {
      verdict.className = "verdict bad";
      verdict.textContent = "✗ " + msg.noCrypto;
      return;
    }
    const out = await verifyReceipt(receipt, vkey.value);
    const words = {
      format: [msg.formatOk, msg.formatBad], key: [msg.keyOk, msg.keyBad], signature: [msg.sigOk, msg.sigBad],
      match: [msg.matchOk, msg.matchBad], leaf: [msg.leafOk, msg.leafBad], proof: [msg.proofOk, msg.proofBad],
    };
    let noCrypto = false;
    for (const c of out.checks) {
      if (/Ed25519 is not available/.test(c.detail)) noCrypto = true;
      const text = c.ok === null ? msg.leafNone : c.ok ? words[c.id][0] : words[c.id][1];
      row(checks, c.ok, text, c.ok === false ? c.detail : "");
    }
    verdict.className = out.valid ? "verdict ok" : "verdict bad";
    verdict.textContent = out.valid
      ? "✓ " + msg.valid.replace("%1", out.info.index).replace("%2", out.info.treeSize).replace("%3", out.info.origin)
      : "✗ " + (noCrypto ? msg.noCrypto : msg.invalid);
    const add = (label, value, code) => {
      if (value === undefined || value === null || value === "") return;
      const div = document.createElement("div");
      const dt = document.createElement("dt");
      dt.textContent = label;
      const dd = document.createElement("dd");
      const inner = document.createElement(code ? "code" : "span");
      if (code) inner.className = "wrap";
      inner.textContent = String(value);
      dd.append(inner);
      div.append(dt, dd);
      details.append(div);
    };
    const i = out.info;
    add(msg.dIndex, i.index);
    add(msg.dKind, i.kind, true);
    add(msg.dPetition, i.petition);
    add(msg.dTime, i.time ? i.time.replace("T", " ").replace(/\.\d+Z$/, " UTC") : "");
    add(msg.dOrigin, i.origin, true);
    add(msg.dSize, i.treeSize);
    add(msg.dRoot, i.root, true);
    add(msg.dLeaf, i.leaf, true);
    if (blobUrl) URL.revokeObjectURL(blobUrl);
    blobUrl = URL.createObjectURL(new Blob([JSON.stringify(receipt, null, 2) + "\n"], { type: "application/json" }));
    const link = $("#receipt-download");
    link.hidden = false;
    link.href = blobUrl;
    link.download = "veche-receipt-" + (Number.isSafeInteger(i.index) ? i.index : "entry") + ".json";
  }

  // `scroll`: the check was asked for below the result, so bring it into view.
  const go = (scroll) => run().catch((e) => {
    const verdict = $("#receipt-verdict");
    verdict.className = "verdict bad";
    verdict.textContent = "✗ " + (e && e.message ? e.message : String(e));
  }).then(() => { if (scroll) result.scrollIntoView({ block: "start" }); });
  form.addEventListener("submit", (ev) => { ev.preventDefault(); go(true); });
  $("#receipt-file").addEventListener("change", async (ev) => {
    const f = ev.target.files && ev.target.files[0];
    if (!f) return;
    area.value = await f.text();
    go(true);
  });
  if (area.value.trim()) go();
})(typeof window !== "undefined" ? window : globalThis);
