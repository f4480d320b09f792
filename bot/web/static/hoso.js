// HoSo's web chat: the conversation replayed, then kept live over a WebSocket; what is typed or pressed is
// posted with the session's CSRF token. Everything the server sends as markup was sanitised there.
"use strict";

(function () {
  const config = JSON.parse(document.getElementById("hoso-config").textContent);
  const texts = config.texts;
  const conversation = document.getElementById("conversation");
  const composer = document.getElementById("composer");
  const input = document.getElementById("text");
  const status = document.getElementById("status");
  const menu = document.getElementById("menu");
  const menuButton = document.getElementById("menu-button");
  const seen = new Set();
  let lastSeq = 0;
  let socket = null;
  let retry = 500;
  let typingTimer = null;
  let awaited = 0;  // the last event of the latest answer: until it is shown, the page is busy

  function settle() {
    if (lastSeq >= awaited) document.body.dataset.busy = "0";
  }

  const DRAFT = "hoso-draft";

  function showStatus(text, kind) {
    status.textContent = text;
    status.className = "status" + (kind ? " " + kind : "");
    status.hidden = !text;
  }

  // The session ended (expired, or ended elsewhere): what was being typed is kept for this user in this tab,
  // never a password, and put back after signing in again.
  function signedOut() {
    const draft = input.type === "password" ? "" : input.value;
    if (draft) sessionStorage.setItem(DRAFT, JSON.stringify({user: config.user, text: draft}));
    window.location.assign("/login?why=expired");
  }

  async function call(path, body) {
    const response = await fetch(path, {
      method: "POST",
      headers: {"Content-Type": "application/json", "X-CSRF-Token": config.csrf},
      body: JSON.stringify(body),
      credentials: "same-origin",
    });
    let answer = {};
    try { answer = await response.json(); } catch (e) { answer = {}; }
    return {status: response.status, answer: answer};
  }

  function buttonsOf(message) {
    const box = document.createElement("div");
    box.className = "buttons";
    for (const row of message.buttons || []) {
      const line = document.createElement("div");
      line.className = "row";
      for (const cell of row) {
        let element;
        if (cell.url) {
          element = document.createElement("a");
          element.href = cell.url;
          element.rel = "noopener noreferrer";
          element.target = "_blank";
        } else {
          element = document.createElement("button");
          element.type = "button";
          element.dataset.callback = cell.data;
          element.addEventListener("click", () => press(message.id, cell.data, element));
        }
        element.textContent = cell.text;
        element.className = "button";
        line.appendChild(element);
      }
      box.appendChild(line);
    }
    return box;
  }

  function fileOf(file) {
    const box = document.createElement("div");
    box.className = "file";
    const href = "/files/" + encodeURIComponent(file.id);
    if (file.kind === "photo") {
      const image = document.createElement("img");
      image.src = href + "?inline=1";
      image.alt = file.name;
      box.appendChild(image);
    }
    const link = document.createElement("a");
    link.href = href;
    link.setAttribute("download", file.name);
    link.textContent = texts.download + ": " + file.name;
    box.appendChild(link);
    return box;
  }

  function render(message) {
    const element = document.createElement("article");
    element.id = "m" + message.id;
    element.className = "msg " + (message.from === "me" ? "me" : "bot");
    const body = document.createElement("div");
    body.className = "text";
    if (message.from === "me") body.textContent = message.text;
    else body.innerHTML = message.html;
    element.appendChild(body);
    if (message.file) element.appendChild(fileOf(message.file));
    if (message.buttons && message.buttons.length) element.appendChild(buttonsOf(message));
    return element;
  }

  function apply(event) {
    if (seen.has(event.seq)) return;
    seen.add(event.seq);
    lastSeq = Math.max(lastSeq, event.seq);
    settle();
    if (event.type === "message") {
      const element = render(event.message);
      const existing = document.getElementById(element.id);
      if (existing) existing.replaceWith(element);
      else conversation.appendChild(element);
      element.scrollIntoView({block: "end"});
      if (event.message.from === "bot") showStatus("");
    } else if (event.type === "delete") {
      const existing = document.getElementById("m" + event.id);
      if (existing) existing.remove();
    } else if (event.type === "typing") {
      showStatus(texts.typing, "typing");
      clearTimeout(typingTimer);
      typingTimer = setTimeout(() => { if (status.classList.contains("typing")) showStatus(""); }, 5000);
    } else if (event.type === "answer") {
      showStatus(event.text, event.alert ? "alert" : "note");
    } else if (event.type === "input") {
      input.type = event.secret ? "password" : "text";
      input.placeholder = event.secret ? input.dataset.secretPlaceholder : input.dataset.placeholder;
      if (status.classList.contains("typing")) showStatus("");
    } else if (event.type === "signed_out") {
      signedOut();
    }
  }

  async function catchUp() {
    const response = await fetch("/api/events?after=" + lastSeq, {credentials: "same-origin"});
    if (response.status === 401) return signedOut();
    if (!response.ok) return;
    const answer = await response.json();
    answer.events.forEach(apply);
    apply({seq: -1 - lastSeq, type: "input", secret: answer.secret});
  }

  function connect() {
    const scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + window.location.host + "/ws?after=" + lastSeq);
    socket.addEventListener("open", () => {
      retry = 500;
      if (status.classList.contains("offline")) showStatus("");
      document.body.dataset.live = "1";
    });
    socket.addEventListener("message", (message) => apply(JSON.parse(message.data)));
    socket.addEventListener("close", () => {
      document.body.dataset.live = "0";
      socket = null;
      showStatus(texts.offline, "offline");
      setTimeout(async () => {
        const response = await fetch("/api/events?after=" + lastSeq, {credentials: "same-origin"}).catch(() => null);
        if (response && response.status === 401) return signedOut();
        connect();
      }, retry);
      retry = Math.min(retry * 2, 15000);
    });
  }

  function answered(result) {
    awaited = result.answer.last || 0;
    settle();
  }

  async function send(text) {
    document.body.dataset.busy = "1";
    const result = await call("/api/say", {text: text}).catch(() => null);
    if (result === null) {
      input.value = text;
      document.body.dataset.busy = "0";
      return showStatus(texts.error, "alert");
    }
    if (result.status === 401) { input.value = text; return signedOut(); }
    if (result.status !== 200) {
      input.value = text;
      document.body.dataset.busy = "0";
      return showStatus(result.answer.error || texts.error, "alert");
    }
    answered(result);
    if (!socket || socket.readyState !== WebSocket.OPEN) await catchUp();
  }

  async function press(messageId, data, element) {
    element.disabled = true;
    document.body.dataset.busy = "1";
    const result = await call("/api/press", {message_id: messageId, data: data}).catch(() => null);
    element.disabled = false;
    if (result === null || result.status !== 200) document.body.dataset.busy = "0";
    if (result === null) return showStatus(texts.error, "alert");
    if (result.status === 401) return signedOut();
    if (result.status !== 200) return showStatus(result.answer.error || texts.error, "alert");
    answered(result);
    if (!socket || socket.readyState !== WebSocket.OPEN) await catchUp();
  }

  const attach = document.getElementById("attach");
  const picker = document.getElementById("file");
  attach.addEventListener("click", () => picker.click());
  picker.addEventListener("change", async () => {
    const file = picker.files[0];
    picker.value = "";
    if (!file) return;
    const body = new FormData();
    body.append("file", file, file.name);
    document.body.dataset.busy = "1";
    const response = await fetch("/api/upload", {
      method: "POST", headers: {"X-CSRF-Token": config.csrf}, body: body, credentials: "same-origin",
    }).catch(() => null);
    let answer = {};
    if (response) { try { answer = await response.json(); } catch (e) { answer = {}; } }
    if (response && response.status === 401) return signedOut();
    if (!response || response.status !== 200) {
      document.body.dataset.busy = "0";
      return showStatus(answer.error || texts.error, "alert");
    }
    answered({answer: answer});
    if (!socket || socket.readyState !== WebSocket.OPEN) await catchUp();
  });

  composer.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value;
    if (!text.trim()) return;
    input.value = "";
    send(text);
  });

  async function openMenu() {
    const list = document.getElementById("commands");
    const response = await fetch("/api/commands", {credentials: "same-origin"});
    if (response.status === 401) return signedOut();
    const answer = await response.json();
    list.replaceChildren();
    for (const item of answer.commands) {
      const entry = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.className = "command";
      const name = document.createElement("span");
      name.className = "name";
      name.textContent = "/" + item.command;
      const description = document.createElement("span");
      description.textContent = item.description;
      button.append(name, description);
      button.addEventListener("click", () => { closeMenu(); send("/" + item.command); });
      entry.appendChild(button);
      list.appendChild(entry);
    }
    menu.hidden = false;
    menuButton.setAttribute("aria-expanded", "true");
    const first = list.querySelector("button");
    if (first) first.focus();
  }

  function closeMenu() {
    menu.hidden = true;
    menuButton.setAttribute("aria-expanded", "false");
    input.focus();
  }

  menuButton.addEventListener("click", () => (menu.hidden ? openMenu() : closeMenu()));
  document.addEventListener("keydown", (event) => { if (event.key === "Escape" && !menu.hidden) closeMenu(); });

  let draft = null;
  try { draft = JSON.parse(sessionStorage.getItem(DRAFT) || "null"); } catch (e) { draft = null; }
  sessionStorage.removeItem(DRAFT);
  if (draft && draft.user === config.user && typeof draft.text === "string") input.value = draft.text;
  catchUp().catch(() => null).then(connect);
})();
