// Veche PB-round pages: the live budget bar of the ballot, voting with a
// passkey (the one step that needs JavaScript: every other form on the page
// is plain HTML posted to the server), and the forms' time zone.
"use strict";
(function () {
  const $ = (sel) => document.querySelector(sel);
  const lang = document.documentElement.lang || "ru";
  const csrf = () => (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  const fill = (text, args) => args.reduceRight((t, a, i) => t.split("%" + (i + 1)).join(a), text || "");

  // ---- time zones ----------------------------------------------------------------------
  // A datetime-local value has no zone: without this script the server reads
  // it as UTC (the page says so); with it, each time goes with the browser's
  // offset at that date, and the page names the zone.
  const zone = (d) => {
    const m = -d.getTimezoneOffset();
    const a = Math.abs(m);
    return "UTC" + (m < 0 ? "\u2212" : "+") + String(Math.floor(a / 60)).padStart(2, "0") + ":" + String(a % 60).padStart(2, "0");
  };
  for (const form of document.querySelectorAll("form[data-tz-form]")) {
    const hint = form.querySelector("#time-zone-hint");
    if (hint && hint.dataset.browser) hint.textContent = fill(hint.dataset.browser, [zone(new Date())]);
    form.addEventListener("submit", () => {
      for (const input of form.querySelectorAll("input[data-tz-field]")) {
        const target = form.querySelector('input[name="' + input.dataset.tzField + '"]');
        if (!target) continue;
        const d = input.value ? new Date(input.value) : new Date();
        target.value = isNaN(d.getTime()) ? "" : String(-d.getTimezoneOffset());
      }
    });
  }

  const ballot = $("#pb-ballot");
  if (!ballot) return;

  // ---- money, written as the server writes it (src/pb_pages.rs `money`) ------------------
  const scale = Number(ballot.dataset.scale || 0);
  const currency = ballot.dataset.currency || "";
  const group = (n, sep) => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, sep);
  function money(minor) {
    // Amounts are at most 2^53 - 1 minor units: exact in a JS number.
    const unit = 10 ** scale;
    const whole = Math.floor(minor / unit);
    const frac = String(minor % unit).padStart(scale, "0");
    if (lang === "ru") {
      const symbol = currency === "RUB" ? "\u20bd" : currency;
      return group(whole, "\u00a0") + (scale ? "," + frac : "") + "\u00a0" + symbol;
    }
    return currency + "\u00a0" + group(whole, ",") + (scale ? "." + frac : "");
  }

  // ---- the live budget bar -------------------------------------------------------------
  const limit = Number(ballot.dataset.limit || 0);
  const max = ballot.dataset.max ? Number(ballot.dataset.max) : null;
  const boxes = Array.from(ballot.querySelectorAll("input[name=approved]"));
  const meter = $("#pb-meter");
  const bar = $("#pb-bar");
  const chosenText = $("#pb-chosen");
  const countText = $("#pb-count");
  const overText = $("#pb-over");

  function update() {
    const picked = boxes.filter((b) => b.checked);
    const total = picked.reduce((sum, b) => sum + Number(b.dataset.cost), 0);
    bar.value = Math.min(total, limit);
    chosenText.textContent = fill(ballot.dataset.msgChosen, [money(total), money(limit)]);
    countText.textContent = max === null
      ? fill(ballot.dataset.msgCount, [String(picked.length)])
      : fill(ballot.dataset.msgCountMax, [String(picked.length), String(max)]);
    let warning = "";
    if (total > limit) warning = fill(ballot.dataset.msgOverCost, [money(total - limit)]);
    else if (max !== null && picked.length > max) warning = fill(ballot.dataset.msgOverCount, [String(max)]);
    meter.classList.toggle("over", warning !== "");
    overText.textContent = warning;
    overText.hidden = warning === "";
  }
  for (const b of boxes) b.addEventListener("change", update);
  update();

  // ---- voting --------------------------------------------------------------------------
  const status = $("#status");
  const say = (msg, isError, slug) => {
    status.textContent = msg;
    status.className = isError ? "status error" : "status";
    status.dataset.slug = slug || "";
    status.hidden = false;
  };

  async function request(url, body) {
    const headers = { "Content-Type": "application/json" };
    if (csrf()) headers["X-CSRF-Token"] = csrf();
    const resp = await fetch(url, { method: "POST", headers, credentials: "same-origin", body: JSON.stringify(body) });
    const text = await resp.text();
    let json = null;
    try { json = text ? JSON.parse(text) : null; } catch (_) { /* not JSON */ }
    if (!resp.ok) {
      const err = new Error(json && json.detail ? json.detail : resp.status + " " + resp.statusText);
      err.slug = json && typeof json.type === "string" ? json.type.split("/").pop() : "";
      throw err;
    }
    return json;
  }

  // The refusals voters meet, in the page's language; others in the server's words.
  const refusal = (e) => {
    const key = "msg" + (e.slug || "").split("-").map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join("");
    return (e.slug && ballot.dataset[key]) || (e && e.message) || String(e);
  };

  ballot.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    // Not checked here against the limits: the server is the judge, and says
    // precisely what a ballot breaks.
    const approved = boxes.filter((b) => b.checked).map((b) => Number(b.value)).sort((a, b) => a - b);
    if (approved.length === 0) { say(ballot.dataset.msgNone, true, "none"); return; }
    if (!window.PublicKeyCredential || !PublicKeyCredential.parseRequestOptionsFromJSON) {
      say(document.body.dataset.msgUnsupported || "This browser cannot use passkeys.", true, "unsupported");
      return;
    }
    const button = ballot.querySelector("button[type=submit]");
    button.disabled = true;
    say(document.body.dataset.msgWorking || "…", false);
    const id = ballot.dataset.round;
    try {
      const started = await request("/api/v1/pb-rounds/" + id + "/ballots/options", { approved });
      const publicKey = PublicKeyCredential.parseRequestOptionsFromJSON(started.publicKey);
      const credential = await navigator.credentials.get({ publicKey });
      const res = await request("/api/v1/pb-rounds/" + id + "/ballots", { ceremony: started.ceremony, credential: credential.toJSON() });
      // The page, from the server: the ballot now counted and its receipt.
      window.location.assign("/pb/" + id + "?lang=" + lang + "&done=voted&entry=" + res.index + "#your-ballot");
    } catch (e) {
      say(refusal(e), true, e && e.slug);
      button.disabled = false;
    }
  });
})();
