// The classroom board's page: the whole state when the socket opens, then one update per report.
// Every learner's name and every id is put in with textContent: text, never markup.
"use strict";
(() => {
  const data = JSON.parse(document.getElementById("board-data").textContent);
  const T = data.texts;
  const rows = new Map(); // row.key (the board's casefold of the name) -> {name, key, cells}
  let seq = -1;
  let summary = null;
  let delay = 250;

  const el = (tag, cls, text) => {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  };
  // A hint's `code` spans as <code>, the rest as text.
  const withCode = (node, text) => {
    text.split("`").forEach((part, i) => node.append(i % 2 ? el("code", "", part) : part));
    return node;
  };
  const fill = (text, values) => text.replace(/\{(\w+)\}/g, (m, k) => (k in values ? values[k] : m));

  function cell(stage, found) {
    const td = el("td", `cell ${found ? found.status : "none"}`);
    td.dataset.stage = stage;
    td.dataset.status = found ? found.status : "none";
    if (!found) {
      td.append(el("span", "label", T.none));
      td.title = T.none_title;
      return td;
    }
    const mark = { pass: "✓", fail: "✗", error: "!" }[found.status];
    td.append(el("span", "mark", mark), " ");
    if (found.status === "pass") {
      td.append(el("span", "label", T.pass));
    } else if (found.mistakes.length) {
      for (const mistake of found.mistakes) {
        const tag = el("span", "mistake", mistake);
        tag.title = (data.hints[mistake] || "").replaceAll("`", "");
        td.append(tag);
      }
    } else {
      td.append(el("span", "label", found.status === "fail" ? found.failed.join(", ") : T.error));
    }
    const time = new Date(found.at * 1000).toLocaleTimeString(data.lang);
    td.title = fill(T.at, { time });
    return td;
  }

  function render() {
    const head = document.getElementById("grid-head");
    head.replaceChildren(el("th", "learner", T.learner), ...data.stages.map((s) => el("th", "", s)));
    const body = document.getElementById("grid-body");
    const sorted = [...rows.values()].sort((a, b) =>
      a.name.toLowerCase().localeCompare(b.name.toLowerCase()),
    );
    body.replaceChildren(
      ...sorted.map((row) => {
        const tr = el("tr");
        tr.dataset.learner = row.name;
        tr.append(el("th", "learner", row.name), ...data.stages.map((s) => cell(s, row.cells[s])));
        return tr;
      }),
    );
    const total = rows.size;
    const counts = document.getElementById("grid-counts");
    counts.replaceChildren(
      el("th", "learner", ""),
      ...data.stages.map((s) => {
        const c = summary ? summary.counts[s] : { pass: 0, fail: 0, error: 0 };
        const none = total - c.pass - c.fail - c.error;
        const td = el("td", "counts", fill(T.counts, { pass: c.pass, fail: c.fail + c.error, none }));
        td.dataset.stage = s;
        td.dataset.pass = c.pass;
        td.dataset.fail = c.fail + c.error;
        return td;
      }),
    );
    document.getElementById("learners").textContent = fill(T.learners, { n: total });
    const common = document.getElementById("common");
    const top = summary && summary.common;
    if (top) {
      const detail = fill(T.common_detail, { n: top.learners, total, stages: top.stages.join(", ") });
      common.replaceChildren(
        el("span", "title", `${T.common}: `),
        el("strong", "mistake", top.mistake),
        el("span", "detail", ` (${detail})`),
        withCode(el("p", "hint"), data.hints[top.mistake] || ""),
      );
      common.dataset.mistake = top.mistake;
    } else {
      common.replaceChildren(el("span", "title", T.no_common));
      common.dataset.mistake = "";
    }
    const empty = document.getElementById("empty");
    empty.hidden = total > 0;
    document.getElementById("empty-text").textContent = T.empty;
    // The board's printed address: the projector's page is opened at 127.0.0.1.
    const address = data.address || location.host;
    document.getElementById("empty-command").textContent = fill(T.command, { address });
    document.body.dataset.seq = seq;
  }

  function setConnected(on) {
    document.body.dataset.connected = on ? "true" : "false";
    const node = document.getElementById("connection");
    node.className = on ? "live" : "offline";
    node.textContent = on ? T.live : T.offline;
  }

  function take(message, socket) {
    if (message.type === "state") {
      rows.clear();
      for (const row of message.rows) rows.set(row.key, row);
      seq = message.seq;
      summary = message;
      setConnected(true);
      render();
    } else if (message.type === "update") {
      if (message.seq <= seq) return; // already in the state this page has
      if (message.seq !== seq + 1) {
        socket.send(JSON.stringify({ type: "state" })); // missed one: ask for everything
        return;
      }
      rows.set(message.row.key, message.row);
      seq = message.seq;
      summary = message;
      render();
    }
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${location.host}/ws/board/`);
    socket.onmessage = (event) => take(JSON.parse(event.data), socket);
    socket.onopen = () => {
      delay = 250;
    };
    socket.onclose = () => {
      setConnected(false);
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 4000);
    };
  }

  setConnected(false);
  render();
  connect();
})();
