// dashboard/dashboard.js — the cluster dashboard. Once a second it asks every node it
// knows (the view's members, and the node that served the page) for GET /kv-store/status,
// and draws shards, replicas, load and lag from the answers. The nodes allow their own
// origins (CORS), so a page served by one node may poll all of them. No library, no
// network access beyond the nodes.
"use strict";

(function () {
  const POLL_MS = 1000;
  const TIMEOUT_MS = 1500; // a node silent this long is drawn as down
  const HISTORY = 300; // chart points: five minutes at one a second
  const CTX_HEADER = "X-Causal-Context";
  const CTX_STORE = "causalkv.causal-context";

  const self = location.host;
  const nodes = new Map(); // addr -> {status, ok, error, since, prev, rps, p99}
  const history = []; // {t, rps, p99}
  let cluster = { view: [], rf: 1, epoch: 0 };
  let ctx = loadContext();
  let lastGood = 0;

  const $ = (id) => document.getElementById(id);

  // ------------------------------------------------------------------ polling

  function url(addr, path) {
    return addr === self ? path : "http://" + addr + path;
  }

  async function fetchWithTimeout(addr, path, init, ms) {
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), ms);
    try {
      return await fetch(url(addr, path), Object.assign({ signal: ctl.signal, cache: "no-store" },
                                                        init || {}));
    } finally {
      clearTimeout(timer);
    }
  }

  async function pollNode(addr) {
    const entry = nodes.get(addr) || { addr, status: null, ok: false, error: "", since: 0 };
    nodes.set(addr, entry);
    try {
      const resp = await fetchWithTimeout(addr, "/kv-store/status", null, TIMEOUT_MS);
      if (!resp.ok) throw new Error("HTTP " + resp.status);
      const st = await resp.json();
      const now = performance.now();
      rates(entry, st, now);
      entry.status = st;
      entry.ok = true;
      entry.error = "";
      entry.since = 0;
    } catch (e) {
      if (entry.ok || !entry.since) entry.since = Date.now();
      entry.ok = false;
      entry.rps = 0;
      entry.prev = null;
      entry.error = e.name === "AbortError" ? "no answer within " + TIMEOUT_MS / 1000 + " s"
                                            : "unreachable (connection refused or blocked)";
    }
  }

  // Requests per second and this interval's p99, from the counters' differences.
  function rates(entry, st, now) {
    const prev = entry.prev;
    entry.prev = { t: now, requests: st.requests, buckets: st["latency-buckets"] };
    entry.delta = null;
    if (!prev || st.requests < prev.requests) return; // first answer, or restarted
    const dt = (now - prev.t) / 1000;
    entry.rps = dt > 0 ? (st.requests - prev.requests) / dt : 0;
    entry.delta = st["latency-buckets"].map((b, i) => b - (prev.buckets[i] || 0));
    entry.p99 = quantile(entry.delta, st["latency-bounds-ms"], 0.99);
  }

  // Prometheus' histogram_quantile: linear inside the bucket that holds the rank.
  function quantile(buckets, bounds, q) {
    const total = buckets.reduce((a, b) => a + b, 0);
    if (!total) return null;
    const rank = q * total;
    let cum = 0, lo = 0;
    for (let i = 0; i < bounds.length; i++) {
      if (buckets[i] > 0 && cum + buckets[i] >= rank)
        return lo + (bounds[i] - lo) * (rank - cum) / buckets[i];
      cum += buckets[i];
      lo = bounds[i];
    }
    return lo;
  }

  // The view in force: the newest epoch any reachable member reports.
  function adoptView() {
    let best = null;
    for (const e of nodes.values()) {
      if (!e.ok || e.status.state === "standby") continue;
      if (!best || e.status.epoch > best.epoch) best = e.status;
    }
    if (!best) {
      const st = nodes.get(self);
      if (st && st.ok) best = st.status; // a standby alone: its VIEW says who the members are
    }
    if (best) cluster = { view: best.view, rf: best["repl-factor"], epoch: best.epoch };
  }

  async function pollAll() {
    const targets = new Set([self].concat(cluster.view));
    await Promise.all([...targets].map(pollNode));
    for (const addr of [...nodes.keys()])
      if (!targets.has(addr)) nodes.delete(addr); // left the view and not this page's node
    adoptView();
    if ([...nodes.values()].some((e) => e.ok)) lastGood = Date.now();
    record();
    render();
  }

  function record() {
    const members = cluster.view.map((a) => nodes.get(a)).filter((e) => e && e.ok);
    let rps = 0, sum = null, bounds = null;
    for (const e of members) {
      rps += e.rps || 0;
      if (!e.delta) continue;
      bounds = e.status["latency-bounds-ms"];
      sum = sum ? sum.map((v, i) => v + e.delta[i]) : e.delta.slice();
    }
    history.push({ t: Date.now(), rps, p99: sum ? quantile(sum, bounds, 0.99) : null });
    if (history.length > HISTORY) history.shift();
  }

  async function loop() {
    const started = performance.now();
    try {
      await pollAll();
    } catch (e) {
      showBanner("The dashboard failed to draw: " + e.message);
    }
    setTimeout(loop, Math.max(0, POLL_MS - (performance.now() - started)));
  }

  // ------------------------------------------------------------------ drawing

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") e.className = v;
      else if (k === "text") e.textContent = v;
      else e.setAttribute(k, v);
    }
    for (const c of children) if (c != null) e.append(c);
    return e;
  }

  function stateOf(e) {
    if (!e || !e.ok) return "down";
    switch (e.status.state) {
      case "up": return "up";
      case "catching-up": return "catching up";
      case "standby": return "standby";
      default: return "busy";
    }
  }

  function stateLabel(e) {
    const s = stateOf(e);
    return s === "busy" ? e.status.state.replace(/-/g, " ") : s;
  }

  function fmt(n, digits) {
    return n == null ? "–" : Number(n).toFixed(digits);
  }

  function replicaTile(addr) {
    const e = nodes.get(addr);
    const st = e && e.ok ? e.status : null;
    const li = el("li", { class: "replica", "data-addr": addr, "data-state": stateOf(e) });
    li.append(el("div", { class: "head" },
      el("span", { class: "addr", text: addr },
        addr === self ? el("span", { class: "self-mark", text: " (this page)" }) : null),
      el("span", { class: "state", text: stateLabel(e) })));
    if (st) {
      const facts = el("p", { class: "facts" });
      facts.append(el("span", null, "keys ", el("b", { class: "keys", text: String(st["key-count"]) })));
      facts.append(el("span", null, el("b", { class: "rps", text: fmt(e.rps, 1) }), " req/s"));
      facts.append(el("span", null, "p99 ", el("b", { text: fmt(e.p99, 2) }), " ms"));
      for (const [peer, lag] of Object.entries(st.lag || {}))
        facts.append(el("span", { class: "lag", "data-peer": peer }, "lag → " + peer + " ",
                        el("b", { text: String(lag) })));
      if (st.epoch !== cluster.epoch)
        facts.append(el("span", { class: "why", text: "holds epoch " + st.epoch }));
      li.append(facts);
    } else if (e) {
      const since = e.since ? " since " + new Date(e.since).toLocaleTimeString() : "";
      li.append(el("p", { class: "why", text: e.error + since }));
    }
    return li;
  }

  function shardKeys(replicas) {
    const counts = replicas.map((a) => nodes.get(a)).filter((e) => e && e.ok)
      .map((e) => e.status["key-count"]);
    return counts.length ? Math.max(...counts) : null;
  }

  function renderShards() {
    const box = $("shards");
    const cards = [];
    const { view, rf } = cluster;
    for (let s = 0; s * rf < view.length; s++) {
      const replicas = view.slice(s * rf, s * rf + rf);
      const keys = shardKeys(replicas);
      const card = el("article", { class: "shard", "data-shard": String(s + 1),
                                   "aria-label": "Shard " + (s + 1) });
      card.append(el("h3", null, "Shard " + (s + 1),
        el("span", { class: "keys", text: keys == null ? "keys unknown" : keys + " keys" })));
      card.append(el("ul", { class: "replicas" }, ...replicas.map(replicaTile)));
      cards.push(card);
    }
    box.replaceChildren(...cards);
    const others = [...nodes.keys()].filter((a) => !view.includes(a));
    const extra = others.length ? [el("article", { class: "shard", "data-shard": "0" },
      el("h3", null, "Not in the view"),
      el("ul", { class: "replicas" }, ...others.map(replicaTile)))] : [];
    $("others").replaceChildren(...extra);
  }

  function renderSummary() {
    const { view, rf, epoch } = cluster;
    const members = view.map((a) => nodes.get(a));
    const down = view.filter((a, i) => stateOf(members[i]) === "down");
    $("summary").textContent = view.length
      ? "epoch " + epoch + " · " + view.length + " nodes · " + view.length / rf + " shards × " +
        rf + " replicas · " + (view.length - down.length) + " answering"
      : "no node has answered yet";
    const me = nodes.get(self);
    if (![...nodes.values()].some((e) => e.ok)) {
      showBanner("No node answers. " + (lastGood ? "The last data shown is from " +
        new Date(lastGood).toLocaleTimeString() + "." : "Is the cluster running?"));
    } else if (me && !me.ok) {
      showBanner("The node that served this page (" + self + ") does not answer; the other " +
                 "nodes are still polled.");
    } else if (down.length) {
      showBanner(down.length + " of " + view.length + " nodes unreachable: " + down.join(", "));
    } else {
      showBanner("");
    }
  }

  function showBanner(text) {
    const b = $("banner");
    if (b.textContent !== text) b.textContent = text;
    b.hidden = !text;
  }

  function renderLoad() {
    const last = history[history.length - 1];
    const text = last ? "now: " + fmt(last.rps, 1) + " requests/s, p99 " +
      (last.p99 == null ? "–" : fmt(last.p99, 2) + " ms") : "–";
    $("load-now").textContent = text;
    $("chart").setAttribute("aria-label", "Requests per second and p99 latency over the last " +
                            "minutes; " + text);
    drawChart($("chart"), history);
  }

  function drawChart(canvas, points) {
    const dpr = window.devicePixelRatio || 1;
    const w = canvas.clientWidth, h = canvas.clientHeight;
    if (!w || !h) return;
    if (canvas.width !== Math.round(w * dpr)) canvas.width = Math.round(w * dpr);
    if (canvas.height !== Math.round(h * dpr)) canvas.height = Math.round(h * dpr);
    const g = canvas.getContext("2d");
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, w, h);
    const css = getComputedStyle(document.documentElement);
    const colour = (v) => css.getPropertyValue(v).trim();
    const pad = { l: 46, r: 46, t: 8, b: 18 };
    const pw = w - pad.l - pad.r, ph = h - pad.t - pad.b;
    const maxR = niceMax(Math.max(1, ...points.map((p) => p.rps)));
    const maxP = niceMax(Math.max(0.1, ...points.map((p) => p.p99 || 0)));
    g.font = "11px system-ui, sans-serif";
    g.strokeStyle = colour("--line");
    g.fillStyle = colour("--muted");
    g.lineWidth = 1;
    for (let i = 0; i <= 4; i++) {
      const y = pad.t + ph - (ph * i) / 4;
      g.beginPath(); g.moveTo(pad.l, y); g.lineTo(pad.l + pw, y); g.stroke();
      g.textAlign = "right"; g.fillText(short(maxR * i / 4), pad.l - 4, y + 4);
      g.textAlign = "left"; g.fillText(short(maxP * i / 4), pad.l + pw + 4, y + 4);
    }
    g.textAlign = "center";
    g.fillText("last " + HISTORY / 60 + " min", pad.l + pw / 2, h - 4);
    const x = (i) => pad.l + pw * (1 - (points.length - 1 - i) / (HISTORY - 1));
    line(g, points, x, (p) => p.rps, maxR, pad, ph, colour("--rps"));
    line(g, points, x, (p) => p.p99, maxP, pad, ph, colour("--p99"));
  }

  function line(g, points, x, val, max, pad, ph, stroke) {
    g.strokeStyle = stroke;
    g.lineWidth = 2;
    g.beginPath();
    let open = false;
    points.forEach((p, i) => {
      const v = val(p);
      if (v == null) { open = false; return; }
      const y = pad.t + ph - ph * Math.min(1, v / max);
      if (open) g.lineTo(x(i), y); else g.moveTo(x(i), y);
      open = true;
    });
    g.stroke();
  }

  function niceMax(v) {
    const p = Math.pow(10, Math.floor(Math.log10(v)));
    for (const m of [1, 2, 5, 10]) if (v <= m * p) return m * p;
    return 10 * p;
  }

  function short(v) {
    if (v >= 1000) return (v / 1000).toFixed(v >= 10000 ? 0 : 1) + "k";
    return v >= 10 || v === 0 ? v.toFixed(0) : v.toFixed(v >= 1 ? 1 : 2);
  }

  function renderNodeChoices() {
    const sel = $("key-node");
    const want = cluster.view.length ? cluster.view : [self];
    const have = [...sel.options].map((o) => o.value);
    if (have.join() === want.join()) return;
    const keep = sel.value;
    sel.replaceChildren(...want.map((a) => el("option", { value: a, text: a + (a === self ? " (this page)" : "") })));
    sel.value = want.includes(keep) ? keep : want.includes(self) ? self : want[0];
  }

  function render() {
    renderSummary();
    renderShards();
    renderLoad();
    renderNodeChoices();
    if (!$("vc-view").value && cluster.view.length) {
      $("vc-view").value = cluster.view.join("\n");
      $("vc-rf").value = cluster.rf;
    }
  }

  // ------------------------------------------------------------------ causal context

  function loadContext() {
    try {
      return JSON.parse(sessionStorage.getItem(CTX_STORE)) || null;
    } catch (e) {
      return null;
    }
  }

  // The join of two contexts, as the nodes compute it: a newer epoch wins whole, the
  // same epoch merges pointwise; the Lamport time is the larger one, kept only when
  // each side has one or no history (as the nodes join them).
  function emptyClock(c) {
    return Object.values(c.clock || {}).every((v) => !v);
  }
  function joinContext(a, b) {
    if (!a || typeof a !== "object") return b || null;
    if (!b || typeof b !== "object") return a;
    const ea = a.epoch || 0, eb = b.epoch || 0;
    if (ea !== eb) return ea > eb ? a : b;
    const clock = Object.assign({}, a.clock || {});
    for (const [k, v] of Object.entries(b.clock || {})) clock[k] = Math.max(clock[k] || 0, v);
    const joined = { epoch: ea, clock };
    const tracked = (c) => typeof c.lamport === "number" || emptyClock(c);
    if (tracked(a) && tracked(b) && (typeof a.lamport === "number" || typeof b.lamport === "number"))
      joined.lamport = Math.max(a.lamport || 0, b.lamport || 0);
    return joined;
  }

  function keepContext(c) {
    ctx = joinContext(ctx, c);
    try {
      sessionStorage.setItem(CTX_STORE, JSON.stringify(ctx));
    } catch (e) { /* private mode: the page still keeps it in memory */ }
    showContext();
  }

  function showContext() {
    $("ctx").textContent = ctx ? JSON.stringify(ctx, null, 2) : "(empty: nothing read or written yet)";
  }

  // ------------------------------------------------------------------ key browser

  async function keyRequest(method) {
    const node = $("key-node").value, key = $("key-name").value;
    const out = $("key-result");
    if (!key) {
      out.className = "result error";
      out.textContent = "Type a key first.";
      $("key-name").focus();
      return;
    }
    const headers = {};
    // always sent (empty at first): the node repeats the context in the reply header
    // only to clients that use the header form
    headers[CTX_HEADER] = ctx ? JSON.stringify(ctx) : "{}";
    const init = { method, headers };
    if (method === "PUT") {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify({ value: $("key-value").value });
    }
    out.className = "result";
    out.textContent = method + " " + key + " via " + node + "…";
    try {
      const resp = await fetchWithTimeout(node, "/kv-store/keys/" + encodeURIComponent(key),
                                          init, 10000);
      const body = await resp.json().catch(() => null);
      const hdr = resp.headers.get(CTX_HEADER);
      const got = hdr ? JSON.parse(hdr) : body && body["causal-context"];
      if (got) keepContext(got);
      out.className = resp.ok ? "result" : "result error";
      out.dataset.status = String(resp.status);
      out.textContent = describeReply(method, key, node, resp.status, body);
    } catch (e) {
      out.className = "result error";
      out.dataset.status = "0";
      out.textContent = method + " " + key + ": " + node + " does not answer (" + e.message + ")";
    }
  }

  function describeReply(method, key, node, status, body) {
    if (!body) return method + " " + key + " via " + node + ": HTTP " + status;
    let s = status + " " + (body.error || body.message);
    if (method === "GET" && body.doesExist) s += "\nvalue: " + body.value;
    if (body.address) s += "\nserved by " + body.address + " (forwarded by " + node + ")";
    else s += "\nserved by " + node;
    return s;
  }

  // ------------------------------------------------------------------ view change

  let planned = null;

  function parseView(text) {
    return text.split(/[\s,]+/).map((s) => s.trim()).filter(Boolean);
  }

  function previewViewChange() {
    const view = parseView($("vc-view").value), rf = Number($("vc-rf").value);
    const out = $("vc-result");
    planned = null;
    $("vc-send").disabled = true;
    // a name, an IPv4 or a bracketed IPv6 literal: the node checks the details
    const bad = view.filter((a) => !/^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/.test(a));
    const dup = view.filter((a, i) => view.indexOf(a) !== i);
    let problem = "";
    if (!view.length) problem = "The view is empty.";
    else if (bad.length) problem = "Not host:port: " + bad.join(", ");
    else if (dup.length) problem = "Listed twice: " + dup.join(", ");
    else if (!Number.isInteger(rf) || rf < 1) problem = "Replicas per shard must be a whole number ≥ 1.";
    else if (view.length % rf) problem = view.length + " nodes cannot form shards of " + rf + ".";
    if (problem) {
      out.className = "result error";
      out.textContent = problem;
      return;
    }
    out.className = "result";
    out.textContent = movePreview(view, rf);
    planned = { view, rf };
    $("vc-send").disabled = false;
  }

  // Keys that change shard. Keys go to shards by jump consistent hashing, under which a
  // key only ever moves to a new last shard as shards are added: shrinking from s to s'
  // shards moves exactly the keys of shards s'+1..s; growing moves about (s'-s)/s' of them.
  function movePreview(view, rf) {
    const old = cluster.view, s = old.length / cluster.rf, s2 = view.length / rf;
    const counts = [];
    for (let i = 0; i < s; i++) counts.push(shardKeys(old.slice(i * cluster.rf, (i + 1) * cluster.rf)));
    const known = counts.every((c) => c != null);
    const total = counts.reduce((a, c) => a + (c || 0), 0);
    let moved, how;
    if (s2 === s) { moved = 0; how = "exactly"; }
    else if (s2 < s) { moved = counts.slice(s2).reduce((a, c) => a + (c || 0), 0); how = "exactly"; }
    else { moved = Math.round(total * (s2 - s) / s2); how = "about"; }
    let changed = 0;
    for (let i = 0; i < Math.min(s, s2); i++) {
      const a = old.slice(i * cluster.rf, (i + 1) * cluster.rf).join(), b = view.slice(i * rf, (i + 1) * rf).join();
      if (a !== b) changed++;
    }
    const pct = total ? " (" + (100 * moved / total).toFixed(1) + "% of " + total + ")" : "";
    return s + " → " + s2 + " shards, " + view.length + " nodes × " + rf + " replicas.\n" +
      how + " " + moved + " keys change shard" + pct + "." +
      (changed ? "\n" + changed + " shard(s) get other replicas: their keys are copied to them." : "") +
      (known ? "" : "\nSome shards do not answer: their keys are not counted, and the change " +
       "will be refused while a shard has no live replica.");
  }

  async function sendViewChange() {
    if (!planned) return;
    const { view, rf } = planned;
    if (!window.confirm("Change the view to " + view.length + " nodes with " + rf +
                        " replicas per shard?")) return;
    const out = $("vc-result");
    const via = cluster.view.includes(self) ? self : cluster.view.find((a) => (nodes.get(a) || {}).ok);
    out.className = "result";
    out.textContent = "Sending the view change to " + via + "… (writes pause until it commits)";
    $("vc-send").disabled = true;
    const headers = { "Content-Type": "application/json" };
    // always sent (empty at first): the node repeats the context in the reply header
    // only to clients that use the header form
    headers[CTX_HEADER] = ctx ? JSON.stringify(ctx) : "{}";
    try {
      const resp = await fetchWithTimeout(via, "/kv-store/view-change",
        { method: "PUT", headers, body: JSON.stringify({ view, "repl-factor": rf }) }, 40000);
      const body = await resp.json().catch(() => null);
      if (body && body["causal-context"]) keepContext(body["causal-context"]);
      out.className = resp.ok ? "result" : "result error";
      out.textContent = resp.ok
        ? "View change done: " + body["moved-keys"] + " keys moved in " + body["duration-ms"] + " ms."
        : resp.status + " " + ((body && body.error) || "view change refused");
      if (resp.ok) $("vc-view").value = "";
    } catch (e) {
      out.className = "result error";
      out.textContent = via + " did not answer (" + e.message + "); the view may or may not have changed.";
    }
    planned = null;
  }

  // ------------------------------------------------------------------ start

  function start() {
    $("key-form").addEventListener("submit", (ev) => { ev.preventDefault(); keyRequest("GET"); });
    $("key-put").addEventListener("click", () => keyRequest("PUT"));
    $("key-delete").addEventListener("click", () => keyRequest("DELETE"));
    $("ctx-reset").addEventListener("click", () => {
      ctx = null;
      try { sessionStorage.removeItem(CTX_STORE); } catch (e) { /* nothing kept */ }
      showContext();
    });
    $("vc-form").addEventListener("submit", (ev) => { ev.preventDefault(); previewViewChange(); });
    $("vc-view").addEventListener("input", () => { planned = null; $("vc-send").disabled = true; });
    $("vc-rf").addEventListener("input", () => { planned = null; $("vc-send").disabled = true; });
    $("vc-send").addEventListener("click", sendViewChange);
    window.addEventListener("resize", () => drawChart($("chart"), history));
    showContext();
    loop();
  }

  // for the browser tests and the curious: the page's state, read-only
  window.causalkvDashboard = { nodes, history, context: () => ctx, cluster: () => cluster };
  start();
})();
