// unitcost dashboard. Reads every figure from /api/v1 with the bearer token kept in this
// tab (sessionStorage); filters live in the URL so a view can be shared (without the token).
// Amounts are shown from the API's exact decimal strings (*_usd), rounded here on the
// string, never through floating point; charts plot floats.
"use strict";

const $ = (s, el = document) => el.querySelector(s);
const FILTERS = ["since", "tenant", "workflow", "workflow_version", "model"];
const COMPONENTS = ["model_tokens", "compute", "retrieval", "tool", "human_review"];
const COLORS = ["#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", "#e15759", "#76b7b2", "#edc948", "#ff9da7", "#9c755f", "#bab0ac"];

// ---- token -------------------------------------------------------------------------------
(function takeTokenFromHash() {
  const m = location.hash.match(/token=([^&]+)/);
  if (m) {
    sessionStorage.setItem("unitcost.token", decodeURIComponent(m[1]));
    history.replaceState(null, "", location.pathname + location.search);
  }
})();
const token = () => sessionStorage.getItem("unitcost.token") || "";

// ---- formatting --------------------------------------------------------------------------
// round a decimal string ("12.345678901") to d decimals, half away from zero, as a string.
function roundDec(s, d) {
  if (s === null || s === undefined) return null;
  let neg = s.startsWith("-");
  if (neg) s = s.slice(1);
  let [i, f = ""] = s.split(".");
  f = f.padEnd(d + 1, "0");
  let n = BigInt(i + f.slice(0, d));
  if (f.charCodeAt(d) >= 53) n += 1n; // next digit >= 5
  let t = n.toString().padStart(d + 1, "0");
  let out = d > 0 ? t.slice(0, t.length - d) + "." + t.slice(t.length - d) : t;
  return (neg && /[1-9]/.test(out) ? "-" : "") + out;
}
const usd = (s, d = 4) => (s === null || s === undefined ? "–" : "$" + roundDec(s, d));
const pct = (bp) => (bp < 0 ? "-" : "") + Math.floor(Math.abs(bp) / 100) + "." + String(Math.abs(bp) % 100).padStart(2, "0") + "%";
const num = (n) => Number(n).toLocaleString("en-US");
function esc(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}
function td(text, attrs = "") {
  return `<td ${attrs}>${esc(text)}</td>`;
}
function money(s, nano, d = 4) {
  return `<td class="num" data-nano="${nano === null || nano === undefined ? "" : nano}" title="${s === null ? "undefined (no units)" : "$" + s}">${esc(usd(s, d))}</td>`;
}

// ---- URL state ---------------------------------------------------------------------------
function params() {
  const q = new URLSearchParams(location.search);
  const p = {};
  for (const k of FILTERS) if (q.get(k)) p[k] = q.get(k);
  if (!p.since) p.since = "24h";
  return p;
}
function qs(obj) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(obj)) if (v !== undefined && v !== null && v !== "") q.set(k, v);
  return q.toString();
}

// ---- API ---------------------------------------------------------------------------------
class APIError extends Error {
  constructor(status, msg) {
    super(msg);
    this.status = status;
  }
}
// tokenTenant is the tenant of the page's token as the API reports it ("*": an admin token).
let tokenTenant = "*";
async function api(path, p) {
  const headers = {};
  if (token()) headers.Authorization = "Bearer " + token();
  const r = await fetch("/api/v1/" + path + (p ? "?" + qs(p) : ""), { headers });
  let body;
  try {
    body = await r.json();
  } catch (e) {
    throw new APIError(r.status, `${path}: HTTP ${r.status}`);
  }
  if (!r.ok) throw new APIError(r.status, body.error || `HTTP ${r.status}`);
  if (r.headers.has("Unitcost-Token-Tenant")) tokenTenant = r.headers.get("Unitcost-Token-Tenant");
  return body;
}
function showError(e) {
  if (e instanceof APIError && e.status === 401) {
    $("#login").hidden = false;
    for (const m of document.querySelectorAll("main")) m.hidden = true;
  }
  const el = $("#error");
  el.textContent = e.message;
  el.hidden = false;
  document.body.dataset.state = "error";
}

// ---- overview ----------------------------------------------------------------------------
const KPIS = [
  ["cost_per_completed", "Cost per completed workflow", (p) => [p.cost_per_completed_usd, p.cost_per_completed_nano], "cost_per_completed_bp"],
  ["cost_per_validated_output", "Cost per validated output", (p) => [p.cost_per_validated_output_usd, p.cost_per_validated_output_nano], "cost_per_validated_output_bp"],
  ["cost_per_exception", "Cost per exception", (p) => [p.cost_per_exception_usd, p.cost_per_exception_nano], "cost_per_exception_bp"],
  ["review_share", "Human review share of cost", (p) => [p.review_share_bp], "review_share_bp"],
  ["unpriced_share", "Unpriced line items", (p) => [p.unpriced_share_bp], "unpriced_share_bp"],
  ["cost", "Total cost", (p) => [p.cost_usd, p.cost_nano], "cost_bp"],
];

function renderKPIs(s) {
  const html = KPIS.map(([key, label, get, ch]) => {
    const [v, nano] = get(s.current);
    const share = key === "review_share" || key === "unpriced_share";
    const shown = share ? pct(v) : usd(v, key === "cost" ? 2 : 6);
    const c = s.change[ch];
    let change = "no previous figure";
    let cls = "flat";
    if (c !== null && c !== undefined) {
      cls = c > 0 ? "up" : c < 0 ? "down" : "flat";
      change = (c > 0 ? "+" : "") + (share ? pct(c).replace("%", " pts") : pct(c)) + " vs previous window";
    }
    const data = share ? `data-bp="${v}"` : `data-nano="${nano === null ? "" : nano}"`;
    return `<div class="kpi" data-kpi="${key}"><div class="label">${esc(label)}</div><div class="value" ${data}>${esc(shown)}</div><div class="change ${cls}">${esc(change)}</div></div>`;
  }).join("");
  $("#kpis").innerHTML = html;
}

function bucketFor(since) {
  const h = parseInt(since, 10);
  return /h$/.test(since) && h > 48 ? "day" : "hour";
}

let charts = [];
// plot draws a chart over buckets of the given length (seconds): a window of one bucket gets
// half a bucket either side rather than uPlot's guess of a range around a single instant.
function plot(el, series, data, opts = {}, bucketSecs = 3600) {
  const width = Math.max(320, el.clientWidth || 600);
  const u = new uPlot(
    Object.assign({ width, height: 260, series: [{}].concat(series), axes: [{}, { values: (u, v) => v.map((x) => "$" + x.toFixed(x < 1 ? 4 : 2)), size: 70 }], legend: { live: false } }, opts),
    data,
    el
  );
  if (data[0].length === 1) u.setScale("x", { min: data[0][0] - bucketSecs / 2, max: data[0][0] + bucketSecs / 2 });
  charts.push(u);
  return u;
}

const bucketSecs = (bucket) => (bucket === "day" ? 86400 : 3600);

function renderComposition(rows, bucket) {
  const el = $("#composition");
  el.innerHTML = "";
  const buckets = [...new Set(rows.map((r) => r.bucket))].sort();
  if (buckets.length === 0) {
    el.innerHTML = '<p class="empty">No rollup data in this window.</p>';
    return;
  }
  const comps = [...new Set(rows.map((r) => r.component))].sort((a, b) => COMPONENTS.indexOf(a) - COMPONENTS.indexOf(b));
  const idx = new Map(buckets.map((b, i) => [b, i]));
  const per = comps.map(() => new Array(buckets.length).fill(0));
  for (const r of rows) per[comps.indexOf(r.component)][idx.get(r.bucket)] += r.cost_nano / 1e9;
  // stacked: each series is the running sum, drawn top first so lower layers paint over it
  const stacked = [];
  let acc = new Array(buckets.length).fill(0);
  for (const s of per) {
    acc = acc.map((v, i) => v + s[i]);
    stacked.push(acc.slice());
  }
  const xs = buckets.map((b) => Date.parse(b) / 1000);
  const order = comps.map((_, i) => comps.length - 1 - i);
  const series = order.map((i) => ({ label: comps[i], stroke: COLORS[i], fill: COLORS[i] + "cc", width: 1, value: (u, v, si, di) => (di == null ? "" : "$" + per[i][di].toFixed(4)) }));
  plot(el, series, [xs].concat(order.map((i) => stacked[i])), {}, bucketSecs(bucket));
}

// The alert band of each workflow type on the trend: the readings of one drift rule on
// cost per completed workflow scoped to that type (group_by workflow or scope.workflow), of
// the tenant the trend shows (the URL's; else a tenant token's own, or for an admin token
// the rules over every tenant only, tenant "": never one tenant's band over all tenants'
// trend). Returns Map(workflow -> {key, byBucket: Map(bucket -> reading)}).
function shownTenant(tenant) {
  return tenant || (tokenTenant === "*" ? "" : tokenTenant);
}
function bandsByType(readings, tenant) {
  const usable = readings.filter((r) => r.usable && r.metric === "cost_per_completed" && r.workflow !== "");
  const shown = shownTenant(tenant);
  const scoped = usable.filter((r) => r.tenant === shown);
  const out = new Map();
  for (const r of scoped.slice().sort((a, b) => (a.alert_key < b.alert_key ? -1 : a.alert_key > b.alert_key ? 1 : 0))) {
    if (!out.has(r.workflow)) out.set(r.workflow, { key: r.alert_key, tenant: r.tenant, byBucket: new Map() });
    const b = out.get(r.workflow);
    if (b.key === r.alert_key && b.tenant === r.tenant) b.byBucket.set(r.bucket, r);
  }
  return out;
}

// markersPlugin draws where drift alerts fired (filled triangle) and resolved (ring) over
// the trend, through uPlot's draw hook, and records what it drew on the chart element
// (data-markers) so the page can be checked against the API.
function markersPlugin(el, markers) {
  return {
    hooks: {
      draw: (u) => {
        const ctx = u.ctx;
        const drawn = [];
        ctx.save();
        for (const m of markers) {
          if (m.x < u.scales.x.min || m.x > u.scales.x.max || m.y === null) continue;
          const cx = u.valToPos(m.x, "x", true);
          const cy = u.valToPos(m.y, "y", true);
          const r = 6 * devicePixelRatio;
          ctx.beginPath();
          if (m.status === "firing") {
            ctx.moveTo(cx, cy - r);
            ctx.lineTo(cx + r, cy + r * 0.8);
            ctx.lineTo(cx - r, cy + r * 0.8);
            ctx.closePath();
            ctx.fillStyle = "#b3261e";
            ctx.fill();
          } else {
            ctx.arc(cx, cy, r * 0.8, 0, 2 * Math.PI);
            ctx.lineWidth = 2 * devicePixelRatio;
            ctx.strokeStyle = "#1e7d32";
            ctx.stroke();
          }
          drawn.push({ alert_key: m.key, workflow: m.workflow, status: m.status, bucket: m.bucket, y_nano: Math.round(m.y * 1e9) });
        }
        ctx.restore();
        el.dataset.markers = JSON.stringify(drawn);
      },
    },
  };
}

function renderTrend(rows, readings, events, tenant, bucket) {
  const el = $("#trend");
  el.innerHTML = "";
  delete el.dataset.bands;
  delete el.dataset.markers;
  const buckets = [...new Set(rows.map((r) => r.bucket))].sort();
  if (buckets.length === 0) {
    el.innerHTML = '<p class="empty">No rollup data in this window.</p>';
    return;
  }
  const types = [...new Set(rows.map((r) => r.workflow))].sort();
  const idx = new Map(buckets.map((b, i) => [b, i]));
  const data = types.map(() => new Array(buckets.length).fill(null));
  for (const r of rows) if (r.cost_per_completed_nano !== null) data[types.indexOf(r.workflow)][idx.get(r.bucket)] = r.cost_per_completed_nano / 1e9;
  const xs = buckets.map((b) => Date.parse(b) / 1000);
  const series = types.map((t, i) => ({ label: t, stroke: COLORS[i % COLORS.length], width: 2, spanGaps: true }));
  const all = [xs].concat(data);
  // the band: two dashed series (high, low) per type with a rule, filled between by uPlot's bands
  const bands = bandsByType(readings, tenant);
  const bandOpts = [];
  const drawnBands = [];
  types.forEach((t, i) => {
    const b = bands.get(t);
    if (!b) return;
    const hi = buckets.map((k) => (b.byBucket.has(k) ? b.byBucket.get(k).band_high_nano / 1e9 : null));
    const lo = buckets.map((k) => (b.byBucket.has(k) ? b.byBucket.get(k).band_low_nano / 1e9 : null));
    const c = COLORS[i % COLORS.length];
    series.push({ label: t + " band (" + b.key + ")", stroke: c + "88", width: 1, dash: [4, 4], spanGaps: false, points: { show: false } });
    series.push({ label: t + " band low", stroke: c + "88", width: 1, dash: [4, 4], spanGaps: false, points: { show: false } });
    all.push(hi, lo);
    bandOpts.push({ series: [all.length - 2, all.length - 1], fill: c + "26" });
    drawnBands.push({ workflow: t, alert_key: b.key, series: all.length - 2 });
  });
  // markers: each transition of an alert on a type of the chart, in the tenant scope the band
  // uses, at the hour (on daily views the day) of the evaluation that caused it (its value
  // for cost per completed, else the trend's value in that bucket)
  const shown = shownTenant(tenant);
  const markers = [];
  for (const e of events) {
    if (!types.includes(e.workflow) || e.tenant !== shown) continue;
    const at = bucket === "day" ? e.bucket.slice(0, 10) + "T00:00:00Z" : e.bucket;
    let y = null;
    if (e.metric === "cost_per_completed") y = e.current_nano / 1e9;
    else if (idx.has(at)) y = data[types.indexOf(e.workflow)][idx.get(at)];
    markers.push({ key: e.alert_key, workflow: e.workflow, status: e.status, bucket: at, x: Date.parse(at) / 1000, y });
  }
  const u = plot(el, series, all, { bands: bandOpts, plugins: [markersPlugin(el, markers)] }, bucketSecs(bucket));
  // the legend names the workflow types; the band-note says what the shading is
  const legend = u.root.querySelectorAll(".u-legend .u-series");
  const first = legend.length - series.length; // 1 when the legend has a row for x
  legend.forEach((row, i) => {
    if (i >= first + types.length) row.style.display = "none";
  });
  // what the chart holds, read back from uPlot: each band as [bucket, low_nano, high_nano]
  el.dataset.bands = JSON.stringify(
    drawnBands.map((b) => ({
      workflow: b.workflow,
      alert_key: b.alert_key,
      points: buckets
        .map((k, i) => [k, u.data[b.series + 1][i], u.data[b.series][i]])
        .filter((p) => p[1] !== null && p[2] !== null)
        .map(([k, lo, hi]) => [k, Math.round(lo * 1e9), Math.round(hi * 1e9)]),
    }))
  );
  const note = $("#band-note");
  const per = bucket === "day" ? " per day, its hours weighted by their completed workflows as the trend weighs them" : "";
  note.textContent = drawnBands.length
    ? "shaded: the alert baseline band" + per + " (" + drawnBands.map((b) => b.alert_key).join(", ") + "); ▲ an alert fired, ○ resolved"
    : "no drift rule on cost per completed workflow covers these types";
}

// alert figures in their unit: dollars from the exact strings, shares in percent, tokens
function alertFigure(a, name) {
  if (a.unit === "usd") return money(a[name + "_usd"], a[name + "_nano"], 6);
  const v = a[name];
  if (v === null || v === undefined) return td("–", 'class="num"');
  return td(a.unit === "ratio" ? (100 * v).toFixed(2) + "%" : v.toFixed(0) + " tokens", 'class="num"');
}

function renderAlerts(doc) {
  $("#alerts tbody").innerHTML =
    doc.rows
      .slice()
      .reverse()
      .map(
        (a) =>
          `<tr data-alert-key="${esc(a.alert_key)}" data-status="${esc(a.status)}" data-at="${esc(a.at)}" data-bucket="${esc(a.bucket)}" class="${esc(a.status)}">` +
          `${td(a.at.replace("T", " ").replace("Z", ""))}<td><span class="flag ${a.status === "firing" ? "issue" : "ok"}">${esc(a.status)}</span></td>` +
          `${td(a.rule)}${td(a.workflow || "(all)")}${td(a.metric)}${alertFigure(a, "current")}${alertFigure(a, "baseline")}${alertFigure(a, "band_high")}` +
          `${td(a.deviation_pct === null ? "–" : (a.deviation_pct > 0 ? "+" : "") + a.deviation_pct.toFixed(1) + "%", 'class="num"')}<td class="summary">${esc(a.summary)}</td></tr>`
      )
      .join("") || '<tr><td colspan="10" class="empty">No drift alert fired or resolved in this window.</td></tr>';
}

function renderUnit(doc) {
  const rows = doc.rows.concat(doc.rows.length > 1 ? [doc.total] : []);
  $("#unit tbody").innerHTML =
    rows
      .map(
        (r) =>
          `<tr data-workflow="${esc(r.workflow)}">${td(r.workflow)}${td(num(r.workflows), 'class="num"')}${td(num(r.completed), 'class="num"')}` +
          `${td(num(r.validated_outputs), 'class="num"')}${td(num(r.exceptions), 'class="num"')}${money(r.cost_usd, r.cost_nano, 4)}` +
          `${money(r.cost_per_completed_usd, r.cost_per_completed_nano, 6)}${money(r.cost_per_validated_output_usd, r.cost_per_validated_output_nano, 6)}` +
          `${money(r.cost_per_exception_usd, r.cost_per_exception_nano, 6)}${td(pct(r.review_share_bp), 'class="num" data-bp="' + r.review_share_bp + '"')}${td(num(r.unpriced_lines), 'class="num"')}</tr>`
      )
      .join("") || '<tr><td colspan="11" class="empty">No workflows in this window.</td></tr>';
  const sel = $("#filters [name=workflow]");
  const cur = params().workflow || "";
  const names = new Set(doc.rows.map((r) => r.workflow));
  if (cur) names.add(cur);
  sel.innerHTML = '<option value="">all</option>' + [...names].sort().map((n) => `<option${n === cur ? " selected" : ""}>${esc(n)}</option>`).join("");
}

function renderBreakdown(doc) {
  $("#breakdown tbody").innerHTML =
    doc.rows
      .map(
        (r) =>
          `<tr data-key="${esc(r.key)}">${td(r.key || "(none)")}${money(r.cost_usd, r.cost_nano, 4)}` +
          `<td class="num bar" data-bp="${r.cost_share_bp}"><span></span>${esc(pct(r.cost_share_bp))}</td>` +
          `${td(num(r.line_items), 'class="num"')}${td(num(r.unpriced_lines), 'class="num"')}</tr>`
      )
      .join("") || '<tr><td colspan="5" class="empty">No cost in this window.</td></tr>';
  // widths through the CSSOM: the Content-Security-Policy allows no inline style attributes
  for (const c of document.querySelectorAll("#breakdown td.bar")) c.firstChild.style.width = Number(c.dataset.bp) / 100 + "%";
}

function renderTop(doc, p) {
  $("#top tbody").innerHTML =
    doc.rows
      .map(
        (r) =>
          `<tr data-workflow-id="${esc(r.workflow_id)}"><td><a href="/ui/workflow?${qs(Object.assign({}, p, { id: r.workflow_id }))}">${esc(r.workflow)}</a></td>` +
          `${td(r.tenant)}${td(r.outcome)}${td(r.start_time.replace("T", " ").replace("Z", ""))}${td(num(r.line_items), 'class="num"')}${money(r.cost_usd, r.cost_nano, 6)}</tr>`
      )
      .join("") || '<tr><td colspan="6" class="empty">No workflows in this window.</td></tr>';
}

async function overview() {
  $("#overview").hidden = false;
  const p = params();
  const f = { since: p.since, tenant: p.tenant, workflow: p.workflow, workflow_version: p.workflow_version };
  const bucket = bucketFor(p.since);
  const by = new URLSearchParams(location.search).get("by") || "model";
  $("#by").value = by;
  // the alert band per hour, or on daily views per day (the hours weighted as the trend's
  // daily point weighs them)
  const af = { since: p.since, tenant: p.tenant, workflow: p.workflow };
  const [sum, costs, series, unit, bd, top, readings, alerts] = await Promise.all([
    api("summary", f),
    api("series/costs", Object.assign({ bucket, model: p.model }, f)),
    api("series", Object.assign({ bucket }, f)),
    api("unit-economics", { since: p.since, tenant: p.tenant, source: "rollups" }),
    api("breakdown", Object.assign({ by, source: "rollups", model: p.model }, f)),
    // from the rollups' per-hour top lists like the rest of the page (whole hours, as of the
    // last refresh): the whole window, without reading the line items
    api("workflows/top", { since: p.since, tenant: p.tenant, limit: 10, source: "rollups" }),
    api("alerts/readings", Object.assign({ metric: "cost_per_completed", bucket }, af)),
    api("alerts", af),
  ]);
  renderKPIs(sum);
  renderComposition(costs.rows, bucket);
  renderTrend(series.rows, readings.rows, alerts.rows, p.tenant || "", bucket);
  renderUnit(unit);
  renderBreakdown(bd);
  renderTop(top, p);
  renderAlerts(alerts);
  $("#currency").textContent = sum.currency;
}

// ---- drill-down --------------------------------------------------------------------------
async function workflow() {
  $("#workflow").hidden = false;
  const id = new URLSearchParams(location.search).get("id") || "";
  $("#wf-id").textContent = id;
  const p = params();
  const doc = await api("workflows/" + encodeURIComponent(id) + "/lines", { tenant: p.tenant });
  $("#wf-total").textContent = usd(doc.cost_usd, 6);
  const f = doc.workflow;
  if (f) {
    const facts = [["type", f.workflow], ["version", f.workflow_version], ["tenant", f.tenant], ["outcome", `${f.outcome} (${f.outcome_source})`],
      ["validated outputs", num(f.validated_outputs)], ["started", f.start_time.replace("T", " ").replace("Z", "")], ["duration", num(f.duration_ms) + " ms"],
      ["session", f.session], ["user", f.user], ["service", f.service], ["environment", f.environment],
      ["labels", Object.entries(f.labels).map(([k, v]) => k + "=" + v).join(", ")]];
    $("#wf-facts").innerHTML = facts.filter(([, v]) => v).map(([k, v]) => `<div><dt>${esc(k)}</dt><dd data-fact="${esc(k)}">${esc(v)}</dd></div>`).join("");
  }
  $("#wf-total").dataset.nano = doc.cost_nano;
  const steps = new Map();
  for (const l of doc.rows) {
    const k = l.span_id;
    if (!steps.has(k)) steps.set(k, []);
    steps.get(k).push(l);
  }
  let html = "";
  for (const [span, lines] of steps) {
    const total = lines.reduce((a, l) => a + BigInt(l.cost_nano), 0n);
    html += `<tr class="step" data-span="${esc(span)}"><td colspan="6">${esc(lines[0].step || "(unnamed)")} <code>${esc(span)}</code> ${esc(lines[0].start_time.replace("T", " ").replace("Z", ""))}, ${num(lines[0].duration_ms)} ms</td>` +
      `<td class="num" data-nano="${total}">${esc(usd(nanoToDec(total), 6))}</td><td colspan="3"></td></tr>`;
    for (const l of lines) {
      const flags = [];
      if (l.usage_estimated) flags.push('<span class="flag est">estimated</span>');
      if (!l.priced) flags.push(`<span class="flag unpriced">unpriced: ${esc(l.unpriced_reason)}</span>`);
      for (const i of l.issues) flags.push(`<span class="flag issue">${esc(i)}</span>`);
      html += `<tr class="line" data-component="${esc(l.component)}">${td("")}${td(l.component)}${td([l.provider, l.model].filter(Boolean).join(" / "))}` +
        `${td(num(l.input_tokens), 'class="num"')}${td(num(l.output_tokens), 'class="num"')}${td(num(l.cache_read_tokens), 'class="num"')}` +
        `${money(l.cost_usd, l.cost_nano, 6)}${td(l.price_version)}${td(l.price_rule)}<td>${flags.join(" ")}</td></tr>`;
    }
  }
  $("#lines tbody").innerHTML = html;
}
function nanoToDec(n) {
  const neg = n < 0n;
  let s = (neg ? -n : n).toString().padStart(10, "0");
  return (neg ? "-" : "") + s.slice(0, -9) + "." + s.slice(-9);
}

// ---- what-if ------------------------------------------------------------------------------
function range(m, d = 6) {
  return `${usd(m.point_usd, d)} <span class="note">(${usd(m.lo_usd, d)} – ${m.hi_usd === null ? "unbounded" : usd(m.hi_usd, d)})</span>`;
}
async function whatif() {
  $("#whatif").hidden = false;
  const p = params();
  const doc = await api("whatif", { since: p.since, tenant: p.tenant, workflow: p.workflow });
  let html = "";
  for (const r of doc.reports) {
    const rec = r.recommendation;
    html += `<section class="whatif" data-workflow="${esc(r.workflow)}"><h3>${esc(r.workflow)} <span class="note">${num(r.workflows)} workflows, ${num(r.validated_outputs)} validated outputs</span></h3>`;
    html += `<p class="rec" data-confidence="${esc(rec.confidence)}">` + (rec.confidence === "none" ? `No recommendation: ${esc(rec.why)}` :
      `Recommended: <b>${esc(rec.routing)}</b>, saving ${esc(usd(rec.saving_per_month_usd, 2))} a month (confidence: ${esc(rec.confidence)}). ${esc(rec.why)}`) + "</p>";
    html += '<table><thead><tr><th>routing</th><th>cost per validated output</th><th>cost per workflow</th><th>review rate</th><th>samples</th><th>data</th></tr></thead><tbody>';
    for (const e of r.routings.concat(r.scenarios)) {
      html += `<tr data-routing="${esc(e.routing)}"><td>${esc(e.routing)}</td><td class="num" data-nano="${e.cost_per_validated_output.point_nano}">${range(e.cost_per_validated_output)}</td>` +
        `<td class="num">${range(e.cost_per_workflow)}</td><td class="num">${(100 * e.review_rate.point).toFixed(1)}%</td><td class="num">${num(e.samples)}</td>` +
        `<td>${e.enough_data ? "enough" : '<span class="flag issue">too little data</span>'}</td></tr>`;
    }
    html += "</tbody></table>";
    for (const n of r.notes) html += `<p class="note">${esc(n)}</p>`;
    html += "</section>";
  }
  $("#whatif-reports").innerHTML = html || '<p class="empty">No workflows in this window.</p>';
}

// ---- wiring ------------------------------------------------------------------------------
function fillFilters() {
  const p = params();
  const form = $("#filters");
  for (const k of FILTERS) {
    const el = form.elements[k];
    if (!el) continue;
    if (k === "workflow" && p[k] && ![...el.options].some((o) => o.value === p[k])) el.insertAdjacentHTML("beforeend", `<option>${esc(p[k])}</option>`);
    el.value = p[k] || "";
  }
}

async function main() {
  fillFilters();
  $("#filters").addEventListener("submit", (e) => {
    e.preventDefault();
    const fd = new FormData(e.target);
    const p = {};
    for (const k of FILTERS) p[k] = fd.get(k);
    const by = new URLSearchParams(location.search).get("by");
    if (by) p.by = by;
    location.search = qs(p);
  });
  $("#by").addEventListener("change", (e) => {
    const q = new URLSearchParams(location.search);
    q.set("by", e.target.value);
    location.search = q.toString();
  });
  $("#login").addEventListener("submit", (e) => {
    e.preventDefault();
    sessionStorage.setItem("unitcost.token", new FormData(e.target).get("token"));
    location.reload();
  });
  try {
    if (location.pathname === "/ui/workflow") await workflow();
    else if (location.pathname === "/ui/whatif") await whatif();
    else await overview();
    document.body.dataset.state = "ready";
  } catch (e) {
    showError(e);
  }
}
document.addEventListener("DOMContentLoaded", main);
