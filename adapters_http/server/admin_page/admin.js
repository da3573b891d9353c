// The admin page of entry-service (API.md §5): a supreme token, kept in this tab's session storage, and the JSON
// routes below. Every value from the service is written with textContent, never parsed as HTML.
"use strict";

// The routes the page calls, as API.md names them (a test checks each against the OpenAPI document).
const ROUTES = {
  campaigns: ["GET", "/campaigns"],
  counts: ["GET", "/{campaignId}/entries/counts"],
  timeline: ["GET", "/{campaignId}/entries/timeline"],
  eligibility: ["GET", "/{campaignId}/entries/eligibility"],
  entries: ["GET", "/{campaignId}/entries/{filterType}"],
  transfer: ["POST", "/{campaignId}/entries/transfer"],
  outbox: ["GET", "/outbox"],
  fan: ["GET", "/users/{userId}/entries"],
};
const KEY = "entry-service.token";

const $ = (id) => document.getElementById(id);

function say(text, error = false) {
  $("status").textContent = text;
  $("status").className = error ? "error" : "";
}

// One path segment: never empty, "." or ".." (an empty campaign id made "//entries/…", another host).
function segment(key, value) {
  const text = value === undefined || value === null ? "" : String(value).trim();
  if (text === "" || text === "." || text === "..") throw new Error(`Give a ${key} first.`);
  return encodeURIComponent(text);
}

// The request of a route, refused unless it stays on this page's origin: the token goes nowhere else.
function request(name, values = {}, query = null) {
  const [method, template] = ROUTES[name];
  let path = template.replace(/\{(\w+)\}/g, (_, key) => segment(key, values[key]));
  if (query) {
    const text = new URLSearchParams(query).toString();
    if (text) path += "?" + text;
  }
  const url = new URL(path, window.location.origin);
  if (url.origin !== window.location.origin) throw new Error(`Refused: ${path} leaves this service.`);
  return [method, url];
}

async function call(name, values = {}, query = null, body = undefined) {
  const [method, url] = request(name, values, query);
  const path = url.pathname + url.search;
  const headers = { Authorization: "Bearer " + sessionStorage.getItem(KEY) };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const answer = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  let data = null;
  try {
    data = await answer.json();
  } catch (ignored) {
    data = null;
  }
  if (!answer.ok) {
    const code = data && data.code ? data.code : "HTTP_" + answer.status;
    const message = data && data.message ? data.message : answer.statusText;
    throw new Error(`${method} ${path}: ${answer.status} ${code} — ${message}`);
  }
  return data;
}

function guarded(work) {
  return async (event) => {
    if (event) event.preventDefault();
    try {
      say("Working…");
      await work(event);
      say("");
    } catch (failure) {
      say(failure.message, true);
    }
  };
}

function rows(table, items, cells) {
  const body = $(table).querySelector("tbody");
  body.replaceChildren();
  for (const item of items) {
    const row = body.insertRow();
    for (const value of cells(item)) {
      const cell = row.insertCell();
      if (value instanceof Node) cell.append(value);
      else cell.textContent = value === null || value === undefined ? "" : String(value);
    }
  }
}

function claims(token) {
  try {
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(atob(part));
  } catch (ignored) {
    return {};
  }
}

const campaign = () => $("campaign").value;

function formQuery(form) {
  const query = {};
  for (const input of form.elements) {
    if (!input.name) continue;
    if (input.type === "checkbox") {
      if (input.checked) query[input.name] = "true";
    } else if (input.value.trim() !== "") {
      query[input.name] = input.value.trim();
    }
  }
  return query;
}

async function signIn() {
  const token = sessionStorage.getItem(KEY);
  if (!token) {
    $("app").hidden = true;
    $("who").textContent = "Not signed in. The token stays in this tab only (session storage).";
    return;
  }
  const found = await call("campaigns");
  const who = claims(token);
  $("who").textContent = `Signed in as ${who.sub || who.userId || "?"}.`;
  const select = $("campaign");
  select.replaceChildren();
  for (const c of found.campaigns) {
    const option = document.createElement("option");
    option.value = c.id;
    option.textContent = `${c.name || c.id} (${c.id}, ${c.status})`;
    select.append(option);
  }
  $("app").hidden = false;
  if (found.campaigns.length) await dashboard();
  else say("The campaign source lists no campaign.", true);
}

async function dashboard() {
  const counts = await call("counts", { campaignId: campaign() });
  $("totals").textContent = `${counts.total} entries, ${counts.confirmed} with a confirmed phone.`;
  rows("counts", counts.byMarket, (m) => [m.marketId, ...m.counts]);
  await timeline();
  const outbox = await call("outbox");
  const list = $("outbox");
  list.replaceChildren();
  for (const [name, value] of Object.entries(outbox)) {
    const term = document.createElement("dt");
    term.textContent = name;
    const detail = document.createElement("dd");
    detail.textContent = value === null ? "—" : String(value);
    list.append(term, detail);
  }
}

async function timeline() {
  const answer = await call("timeline", { campaignId: campaign() }, { bucket: $("bucket").value });
  const most = Math.max(1, ...answer.points.map((p) => p.created));
  rows("timeline", answer.points, (p) => {
    const bar = document.createElement("span");
    bar.style.width = `${Math.round((p.created / most) * 200)}px`;
    return [p.at, p.created, p.confirmed, bar];
  });
  for (const cell of $("timeline").querySelectorAll("tbody td:last-child")) cell.className = "bar";
}

async function eligibility(event) {
  const answer = await call("eligibility", { campaignId: campaign() }, formQuery(event.target));
  $("eligibility-totals").textContent =
    `total ${answer.total}, verified ${answer.verified}, selected ${answer.selected}, available ${answer.available}`;
  rows("eligibility", answer.byMarket, (m) => [m.marketId, ...m.counts]);
}

async function entries(event) {
  const query = formQuery(event.target);
  const filterType = query.filterType;
  delete query.filterType;
  const answer = await call("entries", { campaignId: campaign(), filterType }, query);
  $("entries-total").textContent = `${answer.entries.length} of ${answer.total}`;
  rows("entries", answer.entries, (e) => [
    e.userId,
    e.markets.join(", "),
    e.phoneConfirmed ? "yes" : "no",
    e.dateCreated,
    e.codes.map((c) => c.code).join(", "),
    e.review && e.review.isBlocked ? "blocked" : "",
    e.fraud ? `${e.fraud.status} (${e.fraud.score})` : "",
  ]);
}

async function fan(event) {
  const userId = event.target.elements.userId.value.trim();
  const answer = await call("fan", { userId });
  $("fan").textContent = JSON.stringify(answer.entries, null, 2);
}

async function transfer(event) {
  const form = event.target.elements;
  const body = { fromMarketId: form.fromMarketId.value.trim(), toMarketId: form.toMarketId.value.trim() };
  if (!window.confirm(`Move every entry of ${campaign()} from ${body.fromMarketId} to ${body.toMarketId}?`)) return;
  const answer = await call("transfer", { campaignId: campaign() }, null, body);
  $("transfer").textContent = `${answer.modified} entries moved` +
    (answer.scoring === undefined ? "." : `, ${answer.scoring} scoring records.`);
  await dashboard();
}

document.addEventListener("DOMContentLoaded", () => {
  $("signin").addEventListener("submit", guarded(async () => {
    sessionStorage.setItem(KEY, $("token").value.trim());
    $("token").value = "";
    await signIn();
  }));
  $("signout").addEventListener("click", () => {
    sessionStorage.removeItem(KEY);
    signIn();
  });
  $("pick").addEventListener("submit", guarded(dashboard));
  $("timeline-form").addEventListener("submit", guarded(timeline));
  $("eligibility-form").addEventListener("submit", guarded(eligibility));
  $("entries-form").addEventListener("submit", guarded(entries));
  $("fan-form").addEventListener("submit", guarded(fan));
  $("transfer-form").addEventListener("submit", guarded(transfer));
  guarded(signIn)();
});
