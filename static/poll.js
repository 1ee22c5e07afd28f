// Veche poll pages: voting with a passkey (the one step that needs
// JavaScript: the ballot form itself is plain HTML), and the new-poll
// form's time zone.
"use strict";
(function () {
  const $ = (sel) => document.querySelector(sel);
  const lang = document.documentElement.lang || "ru";
  const csrf = () => (document.querySelector('meta[name="csrf-token"]') || {}).content || "";

  // ---- the new-poll form ---------------------------------------------------------------
  // A datetime-local value has no zone: without this script the server reads
  // it as UTC (the page says so); with it, each time is sent with the
  // browser's offset at that date, and the page names the zone.
  const newForm = $("#new-poll");
  if (newForm) {
    const zone = (d) => {
      const m = -d.getTimezoneOffset();
      const a = Math.abs(m);
      return "UTC" + (m < 0 ? "\u2212" : "+") + String(Math.floor(a / 60)).padStart(2, "0") + ":" + String(a % 60).padStart(2, "0");
    };
    const hint = $("#time-zone-hint");
    if (hint && hint.dataset.browser) hint.textContent = hint.dataset.browser.replace("%1", zone(new Date()));
    newForm.addEventListener("submit", () => {
      for (const input of newForm.querySelectorAll("input[data-tz-field]")) {
        const target = newForm.querySelector('input[name="' + input.dataset.tzField + '"]');
        if (!target) continue;
        const d = input.value ? new Date(input.value) : new Date();
        target.value = isNaN(d.getTime()) ? "" : String(-d.getTimezoneOffset());
      }
    });
  }

  // ---- voting --------------------------------------------------------------------------
  const ballot = $("#ballot-form");
  if (!ballot) return;
  const status = $("#status");
  const say = (msg, isError) => {
    status.textContent = msg;
    status.className = isError ? "status error" : "status";
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

  // The choice as the API takes it: one option, an ascending set, or a
  // ranking (most preferred first; blank ranks left out).
  function choice() {
    if (ballot.dataset.method === "ranked_schulze") {
      const ranked = [];
      for (const s of ballot.querySelectorAll("select[data-rank]")) if (s.value !== "") ranked.push(Number(s.value));
      if (new Set(ranked).size !== ranked.length) throw new Error(ballot.dataset.msgDuplicate);
      return ranked;
    }
    return Array.from(ballot.querySelectorAll("input[name=choice]:checked"), (i) => Number(i.value)).sort((a, b) => a - b);
  }

  ballot.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    let chosen;
    try { chosen = choice(); } catch (e) { say(e.message, true); return; }
    if (chosen.length === 0) { say(ballot.dataset.msgNone, true); return; }
    if (!window.PublicKeyCredential || !PublicKeyCredential.parseRequestOptionsFromJSON) {
      say(document.body.dataset.msgUnsupported || "This browser cannot use passkeys.", true);
      return;
    }
    const button = ballot.querySelector("button[type=submit]");
    button.disabled = true;
    say(document.body.dataset.msgWorking || "…", false);
    const id = ballot.dataset.poll;
    try {
      const started = await request("/api/v1/polls/" + id + "/ballots/options", { choice: chosen });
      const publicKey = PublicKeyCredential.parseRequestOptionsFromJSON(started.publicKey);
      const credential = await navigator.credentials.get({ publicKey });
      const res = await request("/api/v1/polls/" + id + "/ballots", { ceremony: started.ceremony, credential: credential.toJSON() });
      // The page, from the server: the ballot now counted and its receipt.
      window.location.assign("/polls/" + id + "?lang=" + lang + "&done=voted&entry=" + res.index + "#your-ballot");
    } catch (e) {
      say(e && e.slug === "poll-not-open" ? ballot.dataset.msgClosed : (e && e.message ? e.message : String(e)), true);
      button.disabled = false;
    }
  });
})();
