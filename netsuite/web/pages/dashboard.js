// netsuite dashboard: polls /api/stats every second and draws, per service, the
// connections open now and the messages a second, as small line charts on <canvas>.
"use strict";

(() => {
  const POLL_MS = 1000;
  const POINTS = 120;  // samples kept and drawn: two minutes at one a second
  const COLORS = { open: "#1f6feb", rate: "#d1495b", bytesIn: "#2da44e", bytesOut: "#8250df" };

  const { $, el } = window.netsuiteDom;  // dom.js

  const services = new Map();  // name -> {card, fields, charts, open: [], rate: [], ..., last}
  window.netsuiteDashboard = { services, polls: 0, errors: 0 };

  function fmt(n) {
    if (n >= 1e9) return (n / 1e9).toFixed(1) + "G";
    if (n >= 1e6) return (n / 1e6).toFixed(1) + "M";
    if (n >= 1e4) return (n / 1e3).toFixed(1) + "k";
    if (Number.isInteger(n)) return String(n);
    return n.toFixed(n < 10 ? 2 : 1);
  }

  function duration(s) {
    s = Math.floor(s);
    const d = Math.floor(s / 86400), h = Math.floor(s / 3600) % 24, m = Math.floor(s / 60) % 60;
    if (d) return d + "d " + h + "h";
    if (h) return h + "h " + m + "m";
    if (m) return m + "m " + (s % 60) + "s";
    return s + "s";
  }

  function niceCeiling(value) {
    if (value <= 1) return 1;
    const power = Math.pow(10, Math.floor(Math.log10(value)));
    for (const step of [1, 2, 2.5, 5, 10]) {
      if (value <= step * power) return step * power;
    }
    return 10 * power;
  }

  // One chart: series drawn right-aligned (newest sample at the right edge).
  function draw(canvas, series) {
    const ratio = window.devicePixelRatio || 1;
    const w = Math.max(60, Math.round(canvas.clientWidth * ratio));
    const h = Math.max(30, Math.round(canvas.clientHeight * ratio));
    if (canvas.width !== w || canvas.height !== h) {
      canvas.width = w;
      canvas.height = h;
    }
    const ctx = canvas.getContext("2d");
    ctx.clearRect(0, 0, w, h);
    ctx.fillStyle = "#fbfcfd";
    ctx.fillRect(0, 0, w, h);
    let max = 0;
    for (const s of series) for (const v of s.values) max = Math.max(max, v);
    const top = niceCeiling(max);
    const pad = 4 * ratio;
    const y = (v) => h - pad - (v / top) * (h - 2 * pad);
    const step = (w - 2 * pad) / (POINTS - 1);
    ctx.lineWidth = 1;
    ctx.strokeStyle = "#e3e7eb";
    for (const f of [0, 0.5, 1]) {
      ctx.beginPath();
      ctx.moveTo(0, Math.round(y(top * f)) + 0.5);
      ctx.lineTo(w, Math.round(y(top * f)) + 0.5);
      ctx.stroke();
    }
    series.forEach((s, index) => {
      const values = s.values;
      if (!values.length) return;
      const x = (i) => w - pad - (values.length - 1 - i) * step;
      ctx.beginPath();
      values.forEach((v, i) => (i ? ctx.lineTo(x(i), y(v)) : ctx.moveTo(x(i), y(v))));
      if (index === 0) {  // the first series gets its area filled, lightly
        ctx.lineTo(x(values.length - 1), h - pad);
        ctx.lineTo(x(0), h - pad);
        ctx.closePath();
        ctx.globalAlpha = 0.12;
        ctx.fillStyle = s.color;
        ctx.fill();
        ctx.globalAlpha = 1;
        ctx.beginPath();
        values.forEach((v, i) => (i ? ctx.lineTo(x(i), y(v)) : ctx.moveTo(x(i), y(v))));
      }
      ctx.lineWidth = 2 * ratio;
      ctx.strokeStyle = s.color;
      ctx.lineJoin = "round";
      ctx.stroke();
      const last = values[values.length - 1];
      ctx.beginPath();
      ctx.fillStyle = s.color;
      ctx.arc(x(values.length - 1), y(last), 2.5 * ratio, 0, 2 * Math.PI);
      ctx.fill();
    });
    ctx.fillStyle = "#66707a";
    ctx.font = (11 * ratio) + "px system-ui, sans-serif";
    ctx.textBaseline = "top";
    ctx.fillText(fmt(top), pad, pad);
    canvas.dataset.points = String(series[0].values.length);
    canvas.dataset.top = String(top);
  }

  function chart(card, title, key, legend) {
    const box = el("div", "chart");
    const label = el("div", "label");
    const value = el("span", "value", "–");
    label.append(el("span", "", title), value);
    const canvas = el("canvas", "");
    canvas.dataset.chart = key;
    canvas.setAttribute("role", "img");
    canvas.setAttribute("aria-label", title + (legend ? " (" + legend + ")" : ""));
    box.append(label, canvas);
    card.append(box);
    return { canvas, value };
  }

  function card(name) {
    const node = el("section", "card");
    node.dataset.service = name;
    node.append(el("h2", "", name));
    const dl = el("dl", "");
    const fields = {};
    for (const [key, title] of [["open", "open"], ["rate", "msgs/s"], ["accepted", "accepted"],
                                ["drops", "drops"]]) {
      const dd = el("dd", "", "–");
      dd.dataset.field = key;
      dl.append(el("dt", "", title), dd);
      fields[key] = dd;
    }
    node.append(dl);
    const charts = {
      open: chart(node, "connections open", "open"),
      rate: chart(node, "messages / s", "rate"),
      bytes: chart(node, "bytes / s in, out", "bytes", "green in, purple out"),
    };
    return { card: node, fields, charts, open: [], rate: [], bytesIn: [], bytesOut: [], last: null };
  }

  function push(list, value) {
    list.push(value);
    if (list.length > POINTS) list.splice(0, list.length - POINTS);
  }

  function sumValues(object) {
    return Object.values(object || {}).reduce((a, b) => a + (typeof b === "number" ? b : 0), 0);
  }

  function update(data) {
    const now = data.uptime_s;
    const names = Object.keys(data.services || {}).sort();
    const seen = new Set(names);
    for (const [name, s] of services) {
      if (!seen.has(name)) {
        s.card.remove();
        services.delete(name);
      }
    }
    let totalOpen = 0;
    let totalRate = 0;
    const container = $("services");
    names.forEach((name, index) => {
      const info = data.services[name];
      let s = services.get(name);
      if (!s) {
        s = card(name);
        services.set(name, s);
      }
      if (container.children[index] !== s.card) container.insertBefore(s.card, container.children[index] || null);
      const hasOpen = typeof info.connections.open === "number";
      const open = hasOpen ? info.connections.open : 0;
      const sample = { t: now, messages: info.messages || 0, bytesIn: info.bytes.in || 0,
                       bytesOut: info.bytes.out || 0 };
      const prev = s.last;
      const dt = prev ? now - prev.t : 0;
      const rate = (key) => dt > 0 ? Math.max(0, (sample[key] - prev[key]) / dt) : 0;
      const msgRate = rate("messages");
      push(s.open, open);
      push(s.rate, msgRate);
      push(s.bytesIn, rate("bytesIn"));
      push(s.bytesOut, rate("bytesOut"));
      s.last = sample;
      totalOpen += open;
      totalRate += msgRate;
      s.fields.open.textContent = hasOpen ? fmt(open) : "–";
      s.fields.rate.textContent = fmt(msgRate);
      s.fields.accepted.textContent = fmt(info.connections.accepted || 0);
      s.fields.drops.textContent = fmt(sumValues(info.drops));
      s.fields.drops.title = Object.entries(info.drops || {}).map(([k, v]) => k + ": " + v).join("\n");
      draw(s.charts.open.canvas, [{ values: s.open, color: COLORS.open }]);
      s.charts.open.value.textContent = hasOpen ? fmt(open) : "not reported";
      draw(s.charts.rate.canvas, [{ values: s.rate, color: COLORS.rate }]);
      s.charts.rate.value.textContent = fmt(msgRate) + "/s";
      draw(s.charts.bytes.canvas, [{ values: s.bytesIn, color: COLORS.bytesIn },
                                   { values: s.bytesOut, color: COLORS.bytesOut }]);
      s.charts.bytes.value.textContent =
        fmt(s.bytesIn[s.bytesIn.length - 1]) + " / " + fmt(s.bytesOut[s.bytesOut.length - 1]);
    });
    $("summary").textContent = names.length + " service" + (names.length === 1 ? "" : "s") +
      " · " + fmt(totalOpen) + " connection" + (totalOpen === 1 ? "" : "s") + " open · " +
      fmt(totalRate) + " messages/s · up " + duration(now);
  }

  function setStatus(kind, text) {
    const s = $("status");
    s.dataset.state = kind;
    s.textContent = text;
  }

  async function poll() {
    const state = window.netsuiteDashboard;
    try {
      const response = await fetch("/api/stats", {
        cache: "no-store", headers: { Accept: "application/json" },
      });
      if (!response.ok) throw new Error("HTTP " + response.status);
      update(await response.json());
      state.polls += 1;
      setStatus("open", "live · " + new Date().toTimeString().slice(0, 8));
    } catch (e) {
      state.errors += 1;
      setStatus("offline", "offline (" + e.message + "); retrying");
    } finally {
      setTimeout(poll, POLL_MS);
    }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", poll);
  else poll();
})();
