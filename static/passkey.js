// Veche passkey ceremonies. Everything else on the site works without
// JavaScript; creating and using a passkey needs the WebAuthn API.
"use strict";
(function () {
  const $ = (sel) => document.querySelector(sel);
  const status = $("#status");
  // `slug` names the message for the browser tests (`data-slug`).
  const say = (msg, isError, slug) => {
    if (!status) return;
    status.textContent = msg;
    status.className = isError ? "status error" : "status";
    status.dataset.slug = slug || "";
    status.hidden = false;
  };
  const csrf = () => (document.querySelector('meta[name="csrf-token"]') || {}).content || "";

  async function post(url, body) {
    const headers = { "Content-Type": "application/json" };
    if (csrf()) headers["X-CSRF-Token"] = csrf();
    const resp = await fetch(url, { method: "POST", headers, body: JSON.stringify(body || {}), credentials: "same-origin" });
    const text = await resp.text();
    let json = null;
    try { json = text ? JSON.parse(text) : null; } catch (_) { /* not JSON */ }
    if (!resp.ok) {
      const err = new Error(json && json.detail ? json.detail : resp.status + " " + resp.statusText);
      // The problem type's last segment, for pages that word refusals themselves.
      err.slug = json && typeof json.type === "string" ? json.type.split("/").pop() : "";
      throw err;
    }
    return json;
  }

  function supported() {
    if (!window.PublicKeyCredential || !PublicKeyCredential.parseCreationOptionsFromJSON) {
      say(document.body.dataset.msgUnsupported || "This browser cannot use passkeys.", true);
      return false;
    }
    return true;
  }

  // Registration: options -> navigator.credentials.create -> finish.
  async function register(optionsUrl, body, finishUrl) {
    const started = await post(optionsUrl, body);
    const publicKey = PublicKeyCredential.parseCreationOptionsFromJSON(started.publicKey);
    const credential = await navigator.credentials.create({ publicKey });
    return post(finishUrl, { ceremony: started.ceremony, credential: credential.toJSON() });
  }

  // Assertion (sign-in or an action): options -> navigator.credentials.get -> finish.
  // `conditional` is {signal, stillWanted}: passkey autofill, abortable, and
  // dropped (no finish, so no second session) once the button took over.
  // `body` goes with the options request (a ballot's choice).
  async function assert(optionsUrl, finishUrl, conditional, body) {
    const started = await post(optionsUrl, body || {});
    const publicKey = PublicKeyCredential.parseRequestOptionsFromJSON(started.publicKey);
    const options = { publicKey };
    if (conditional) {
      options.mediation = "conditional";
      options.signal = conditional.signal;
    }
    const credential = await navigator.credentials.get(options);
    if (conditional && !conditional.stillWanted()) throw new Error("superseded");
    return post(finishUrl, { ceremony: started.ceremony, credential: credential.toJSON() });
  }

  function wire(form, handler) {
    if (!form) return;
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      if (!supported()) return;
      const button = form.querySelector("button[type=submit]");
      if (button) button.disabled = true;
      say(document.body.dataset.msgWorking || "…", false);
      try {
        await handler(new FormData(form));
      } catch (e) {
        say(e.message || String(e), true);
        if (button) button.disabled = false;
      }
    });
  }

  const lang = document.documentElement.lang || "ru";

  // Voting with a passkey, for the ballot pages (static/poll.js and
  // static/pb.js load after this script): `choose()` gives the options
  // request's body or throws the page's message (with a `slug`); the ballot
  // goes to `api`/ballots, then the page `page` shows it counted, with its
  // receipt; `refusal(e)` words the API's refusals.
  function wireBallot(form, { api, page, choose, refusal }) {
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      let body;
      try { body = choose(); } catch (e) { say(e.message, true, e.slug); return; }
      if (!window.PublicKeyCredential || !PublicKeyCredential.parseRequestOptionsFromJSON) {
        say(document.body.dataset.msgUnsupported || "This browser cannot use passkeys.", true, "unsupported");
        return;
      }
      const button = form.querySelector("button[type=submit]");
      button.disabled = true;
      say(document.body.dataset.msgWorking || "…", false);
      try {
        const res = await assert(api + "/ballots/options", api + "/ballots", null, body);
        window.location.assign(page + "?lang=" + lang + "&done=voted&entry=" + res.index + "#your-ballot");
      } catch (e) {
        say(refusal(e), true, e && e.slug);
        button.disabled = false;
      }
    });
  }
  window.VechePasskey = { wireBallot };

  const go = (path) => { window.location.assign(path + (path.includes("?") ? "&" : "?") + "lang=" + lang); };

  // Enrolment: by code or by document data.
  wire($("#enrol-code-form"), async (data) => {
    await register("/api/v1/enrolment/options", { method: "code", code: data.get("code") }, "/api/v1/enrolment/finish");
    go("/account");
  });
  wire($("#enrol-document-form"), async (data) => {
    await register("/api/v1/enrolment/options", {
      method: "document",
      jurisdiction: data.get("jurisdiction"),
      document_number: data.get("document_number"),
      date_of_birth: data.get("date_of_birth"),
    }, "/api/v1/enrolment/finish");
    go("/account");
  });
  // Staff invite.
  wire($("#invite-form"), async (data) => {
    await register("/api/v1/staff/invite/options", { invite: data.get("invite") }, "/api/v1/staff/invite/finish");
    go("/staff");
  });
  // Sign-in, with passkey autofill (conditional UI) where the browser offers
  // it. Pressing the button aborts the autofill request first, so exactly one
  // sign-in finishes.
  let autofill = null;
  let buttonPressed = false;
  wire($("#sign-in-form"), async () => {
    buttonPressed = true;
    if (autofill) autofill.abort();
    await assert("/api/v1/session/options", "/api/v1/session/finish");
    go("/account");
  });
  if ($("#sign-in-form") && window.PublicKeyCredential && PublicKeyCredential.isConditionalMediationAvailable) {
    PublicKeyCredential.isConditionalMediationAvailable().then((ok) => {
      if (ok && !buttonPressed) {
        autofill = new AbortController();
        assert("/api/v1/session/options", "/api/v1/session/finish", {
          signal: autofill.signal,
          stillWanted: () => !buttonPressed,
        })
          .then(() => go("/account"))
          .catch(() => { /* aborted, or the user chose the button instead */ });
      }
    });
  }
  // Another passkey for the signed-in account.
  wire($("#add-passkey-form"), async () => {
    await register("/api/v1/me/passkeys/options", {}, "/api/v1/me/passkeys/finish");
    go("/account");
  });
  // Revoking a passkey is confirmed with a passkey.
  document.querySelectorAll("form.revoke-form").forEach((form) => {
    wire(form, async (data) => {
      const id = data.get("id");
      await assert("/api/v1/me/passkeys/" + id + "/revoke/options", "/api/v1/me/passkeys/" + id + "/revoke");
      go("/account");
    });
  });
})();
