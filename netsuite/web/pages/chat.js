// netsuite chat: the page at /chat/, talking JSON over the WebSocket at /chat/ws.
// Text from others is only ever put in the page as text (textContent), never as HTML.
"use strict";

(() => {
  const MAX_LINES = 500;             // messages kept per room in the page
  const BACKOFF = [1, 2, 4, 8, 15];  // seconds before each reconnection attempt

  const { $, el } = window.netsuiteDom;  // dom.js
  const fold = (name) => name.toLowerCase().replace(/\[/g, "{").replace(/\]/g, "}")
    .replace(/\\/g, "|").replace(/~/g, "^");

  const state = {
    ws: null,
    nick: "",
    wanted: "",            // the nick this person chose (asked for again after a reconnect)
    rooms: new Map(),      // folded name -> view {name, lines, seen, members, topic, unread, kind}
    current: null,         // folded name of the view shown
    joinOrder: [],         // rooms this person joined, to join again after a reconnect
    attempts: 0,
    timer: null,
  };
  window.netsuiteChat = state;  // for people (and tests) poking at it from the console

  // --- views (rooms and private conversations) -------------------------------------

  function view(name, kind) {
    const key = fold(name);
    let v = state.rooms.get(key);
    if (!v) {
      v = { name, kind: kind || "room", lines: [], seen: new Set(), members: new Set(),
            topic: "", unread: 0, joined: false };
      state.rooms.set(key, v);
    }
    return v;
  }

  function show(key) {
    state.current = key;
    const v = state.rooms.get(key);
    if (v) v.unread = 0;
    renderRooms();
    renderConversation();
    renderWho();
  }

  function addLine(v, line) {
    if (line.seq) {
      if (v.seen.has(line.seq)) return;  // a replay of what is already shown
      v.seen.add(line.seq);
    }
    v.lines.push(line);
    if (v.lines.length > MAX_LINES) v.lines.splice(0, v.lines.length - MAX_LINES);
    if (fold(v.name) === state.current) {
      appendLine(line);
    } else if (!line.system) {
      v.unread += 1;
      renderRooms();
    }
  }

  function system(v, text, cls) {
    addLine(v || currentView() || view("#lobby"), { system: true, text, cls: cls || "system" });
  }

  function currentView() {
    return state.current ? state.rooms.get(state.current) : null;
  }

  // --- rendering -------------------------------------------------------------------

  function clock(when) {
    const d = when ? new Date(when * 1000) : new Date();
    return d.toTimeString().slice(0, 5);
  }

  function lineNode(line) {
    const li = el("li", line.cls || "");
    if (line.system) {
      li.append(el("span", "when", clock(line.when)), document.createTextNode(line.text));
      return li;
    }
    li.classList.add(line.kind === "action" ? "action" : "message");
    if (line.replay) li.classList.add("replay");
    if (line.room === null) li.classList.add("private");
    li.dataset.seq = String(line.seq || "");
    li.append(el("span", "when", clock(line.when)));
    const mine = fold(line.from) === fold(state.nick);
    if (line.kind === "action") {
      li.append(el("span", "from" + (mine ? " me" : ""), "* " + line.from),
                document.createTextNode(line.text));
    } else {
      li.append(el("span", "from" + (mine ? " me" : ""), line.from),
                el("span", "text", line.text));
    }
    return li;
  }

  function appendLine(line) {
    const list = $("messages");
    const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
    list.append(lineNode(line));
    while (list.children.length > MAX_LINES) list.firstChild.remove();
    if (atBottom) list.scrollTop = list.scrollHeight;
  }

  function renderConversation() {
    const v = currentView();
    const list = $("messages");
    list.replaceChildren(...(v ? v.lines.map(lineNode) : []));
    list.scrollTop = list.scrollHeight;
    $("room-title").textContent = v ? v.name : "no room";
    $("topic").textContent = v && v.topic ? v.topic : "";
    $("part").hidden = !v || v.kind !== "room";
    $("say").placeholder = v && v.kind === "private"
      ? "Private message to " + v.name.slice(1)
      : "Say something (/me, /join, /msg, /nick, /topic, /part)";
  }

  function renderRooms() {
    const mine = $("my-rooms");
    const items = [];
    for (const [key, v] of state.rooms) {
      if (v.kind === "room" && !v.joined) continue;
      const li = el("li", key === state.current ? "current" : "");
      li.dataset.room = v.name;
      li.append(el("span", "name", v.name));
      if (v.unread) li.append(el("span", "unread", String(v.unread)));
      else if (v.kind === "room") li.append(el("span", "count", String(v.members.size)));
      li.addEventListener("click", () => show(key));
      items.push(li);
    }
    mine.replaceChildren(...items);
  }

  function renderWho() {
    const v = currentView();
    const nicks = v ? [...v.members].sort((a, b) => fold(a) < fold(b) ? -1 : 1) : [];
    $("who").replaceChildren(...nicks.map((n) => {
      const li = el("li", fold(n) === fold(state.nick) ? "me" : "", n);
      li.addEventListener("click", () => { show(fold(view("@" + n, "private").name)); });
      return li;
    }));
    $("who-count").textContent = String(nicks.length);
  }

  function renderAllRooms(rooms) {
    $("all-rooms").replaceChildren(...rooms.map((r) => {
      const li = el("li", "");
      li.append(el("span", "name", r.name), el("span", "count", String(r.members)));
      if (r.topic) li.title = r.topic;
      li.addEventListener("click", () => join(r.name));
      return li;
    }));
  }

  function setStatus(kind, text) {
    const s = $("status");
    s.dataset.state = kind;
    s.textContent = text;
  }

  function setNick(nick) {
    state.nick = nick;
    const input = $("nick");
    if (document.activeElement !== input) input.value = nick;
    document.body.dataset.nick = nick;
    setStatus("open", "connected as " + nick);
  }

  // --- the connection ----------------------------------------------------------------

  function send(request) {
    if (!state.ws || state.ws.readyState !== WebSocket.OPEN) {
      system(currentView(), "not connected: " + request.type + " not sent", "error");
      return false;
    }
    state.ws.send(JSON.stringify(request));
    return true;
  }

  function connect() {
    state.timer = null;
    const url = new URL("ws", location.href);
    url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
    setStatus("connecting", state.attempts ? "reconnecting…" : "connecting…");
    let ws;
    try {
      ws = new WebSocket(url);
    } catch (e) {
      scheduleReconnect("cannot connect: " + e.message);
      return;
    }
    state.ws = ws;
    ws.addEventListener("message", (e) => {
      let msg;
      try { msg = JSON.parse(e.data); } catch { return; }
      handle(msg);
    });
    ws.addEventListener("close", (e) => {
      if (state.ws !== ws) return;
      state.ws = null;
      for (const v of state.rooms.values()) v.members.clear();
      renderWho();
      renderRooms();
      const why = e.reason ? e.code + " " + e.reason : String(e.code);
      scheduleReconnect("disconnected (" + why + ")");
    });
  }

  function scheduleReconnect(why) {
    const delay = BACKOFF[Math.min(state.attempts, BACKOFF.length - 1)];
    state.attempts += 1;
    setStatus("closed", why + "; again in " + delay + "s");
    system(currentView(), why + "; reconnecting in " + delay + "s");
    if (!state.timer) state.timer = setTimeout(connect, delay * 1000);
  }

  // --- what the server says ------------------------------------------------------------

  const handlers = {
    welcome(msg) {
      state.attempts = 0;
      setNick(msg.nick);
      if (state.wanted && fold(state.wanted) !== fold(msg.nick)) {
        send({ type: "nick", nick: state.wanted });
      }
      for (const name of state.joinOrder) {
        if (fold(name) !== "#lobby") send({ type: "join", room: name });
      }
      send({ type: "rooms" });
    },
    said(msg) {
      let v;
      if (msg.room === null) {
        const other = fold(msg.from) === fold(state.nick) ? msg.to : msg.from;
        v = view("@" + other, "private");
        renderRooms();
      } else {
        v = view(msg.room);
      }
      addLine(v, msg);
    },
    joined(msg) {
      const v = view(msg.room);
      v.members.add(msg.nick);
      if (fold(msg.nick) === fold(state.nick)) {
        v.joined = true;
        v.name = msg.room;
        if (!state.joinOrder.some((r) => fold(r) === fold(msg.room))) state.joinOrder.push(msg.room);
        send({ type: "who", room: msg.room });
        send({ type: "topic", room: msg.room, id: "on-join" });
        send({ type: "rooms" });
        const here = currentView();
        if (!here || state.pendingJoin === fold(msg.room) || (here.kind === "room" && !here.joined)) {
          state.pendingJoin = null;
          show(fold(msg.room));
        } else {
          renderRooms();
        }
        if (!msg.already) system(v, "you joined " + msg.room);
      } else {
        system(v, "→ " + msg.nick + " joined");
        if (fold(v.name) === state.current) renderWho();
        renderRooms();
      }
    },
    parted(msg) {
      const v = view(msg.room);
      v.members.delete(msg.nick);
      if (fold(msg.nick) === fold(state.nick)) {
        v.joined = false;
        state.joinOrder = state.joinOrder.filter((r) => fold(r) !== fold(msg.room));
        if (state.current === fold(msg.room)) {
          const next = [...state.rooms.entries()].find(([, r]) => r.joined || r.kind === "private");
          state.current = next ? next[0] : null;
        }
        renderConversation();
      } else {
        system(v, "← " + msg.nick + " left" + (msg.reason ? " (" + msg.reason + ")" : ""));
      }
      renderRooms();
      renderWho();
    },
    quit(msg) {
      for (const v of state.rooms.values()) {
        if (v.members.delete(msg.nick)) {
          system(v, "← " + msg.nick + " quit" + (msg.reason ? " (" + msg.reason + ")" : ""));
        }
      }
      renderRooms();
      renderWho();
    },
    renamed(msg) {
      const me = fold(msg.old) === fold(state.nick);
      if (me) setNick(msg.new);
      for (const v of state.rooms.values()) {
        if (v.members.delete(msg.old)) {
          v.members.add(msg.new);
          system(v, (me ? "you are" : msg.old + " is") + " now known as " + msg.new);
        }
      }
      renderWho();
    },
    topic(msg) {
      const v = view(msg.room);
      const changed = v.topic !== msg.topic;
      v.topic = msg.topic;
      if (changed && msg.by && msg.id === undefined) {
        system(v, msg.by + " set the topic: " + msg.topic);
      }
      if (fold(v.name) === state.current) $("topic").textContent = v.topic;
    },
    notice(msg) {
      system(currentView(), "server: " + msg.text);
    },
    history(msg) {
      const v = view(msg.room);
      for (const said of msg.messages) addLine(v, said);
    },
    who(msg) {
      const v = view(msg.room);
      v.members = new Set(msg.nicks);
      renderRooms();
      if (fold(v.name) === state.current) renderWho();
    },
    rooms(msg) {
      renderAllRooms(msg.rooms);
    },
    error(msg) {
      system(currentView(), msg.message, "error");
      if (msg.request === "nick") {
        state.wanted = "";
        $("nick").value = state.nick;
        $("nick").setCustomValidity(msg.message);
        $("nick").reportValidity();
      }
    },
  };

  function handle(msg) {
    const handler = handlers[msg.type];
    if (handler) handler(msg);
  }

  // --- what the person does ------------------------------------------------------------

  function join(name) {
    name = name.trim();
    if (!name) return;
    if (!name.startsWith("#")) name = "#" + name;
    const v = state.rooms.get(fold(name));
    if (v && v.joined) { show(fold(name)); return; }
    state.pendingJoin = fold(name);
    send({ type: "join", room: name });
  }

  function command(text) {
    const [head, ...rest] = text.slice(1).split(" ");
    const arg = rest.join(" ").trim();
    const v = currentView();
    const room = v && v.kind === "room" ? v.name : null;
    switch (head.toLowerCase()) {
      case "me":
        if (room) send({ type: "me", room, text: arg });
        else if (v) send({ type: "msg", to: v.name.slice(1), text: "* " + arg });
        return;
      case "join": join(arg); return;
      case "part": send({ type: "part", room: arg || room }); return;
      case "nick": state.wanted = arg; send({ type: "nick", nick: arg }); return;
      case "topic":
        if (room) send(arg ? { type: "topic", room, topic: arg } : { type: "topic", room });
        return;
      case "msg": {
        const [to, ...words] = arg.split(" ");
        if (to && words.length) {
          show(fold(view("@" + to, "private").name));
          send({ type: "msg", to, text: words.join(" ") });
        }
        return;
      }
      case "rooms": send({ type: "rooms" }); return;
      default:
        system(v, "unknown command /" + head + " (try /me /join /part /nick /topic /msg)", "error");
    }
  }

  function say(text) {
    if (!text.trim()) return;
    if (text.startsWith("/") && !text.startsWith("//")) { command(text); return; }
    if (text.startsWith("//")) text = text.slice(1);
    const v = currentView();
    if (!v) { system(null, "join a room first", "error"); return; }
    if (v.kind === "private") send({ type: "msg", to: v.name.slice(1), text });
    else send({ type: "say", room: v.name, text });
  }

  function wire() {
    $("nick-form").addEventListener("submit", (e) => {
      e.preventDefault();
      const nick = $("nick").value.trim();
      if (!nick || fold(nick) === fold(state.nick)) return;
      state.wanted = nick;
      send({ type: "nick", nick });
    });
    $("nick").addEventListener("input", () => $("nick").setCustomValidity(""));
    $("say-form").addEventListener("submit", (e) => {
      e.preventDefault();
      const input = $("say");
      if (state.ws && state.ws.readyState === WebSocket.OPEN) {
        say(input.value);
        input.value = "";
      } else {
        system(currentView(), "not connected yet: your message is still in the box", "error");
      }
    });
    $("join-form").addEventListener("submit", (e) => {
      e.preventDefault();
      join($("join-room").value);
      $("join-room").value = "";
    });
    $("refresh-rooms").addEventListener("click", () => send({ type: "rooms" }));
    $("part").addEventListener("click", () => {
      const v = currentView();
      if (v && v.kind === "room") send({ type: "part", room: v.name });
    });
    connect();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", wire);
  else wire();
})();
