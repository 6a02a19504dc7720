// The Chorus web UI: one page over the node's REST API and event stream. No framework, no build step.
//
// The log is the node's delivered log, appended in position order. Own messages carry a receipt mark
// that follows "acknowledged" events (each one refetches the message's receipts): "delivered to k of N",
// where N is the channel's roster when it has one (the owner pushes each receipt as it learns it), or the
// members heard from. Gaps appear as a line when detected and turn into "repaired" or "lost".

const $ = (id) => document.getElementById(id);
/** Heard from within this long counts as online (a running member syncs or reports well within it). */
const ONLINE_MS = 5 * 60_000;

const state = {
  health: null,
  channels: [],
  channel: null,
  /** The channel's roster and owner path (GET .../roster), null until loaded. */
  roster: null,
  /** Last log position shown; the next delivery to append is lastPosition + 1. */
  lastPosition: 0,
  rows: new Map(),
  /** Gap lines by "id:<messageId>" and "seq:<senderId>:<seq>". */
  gaps: new Map(),
  events: null,
  loading: null,
  reloadAgain: false,
  /** Pending receipt refreshes by message id: {timer, at}. */
  receiptTimers: new Map(),
  /** Bumped on every channel switch, so late answers for the previous channel are dropped. */
  generation: 0,
};

// ------------------------------------------------------------------------------------------ helpers

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null) continue;
    if (key === "class") node.className = value;
    else if (key === "style") node.style.cssText = value;
    else if (key.startsWith("data-")) node.setAttribute(key, value);
    else node[key] = value;
  }
  for (const child of children) {
    if (child !== null && child !== undefined) node.append(child);
  }
  return node;
}

async function api(method, path, body) {
  let response;
  try {
    response = await fetch(path, {
      method,
      headers: body === undefined ? {} : { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    // fetch says only "Failed to fetch": the node's process is down or the network between us is.
    throw new Error(`the node at ${location.host} does not answer: is it running? (retrying)`);
  }
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = new Error(data?.error?.message ?? `HTTP ${response.status}`);
    error.status = response.status;
    throw error;
  }
  return data;
}

/** A stable colour per sender: sender ids are hex public keys, so their first bytes are already random. */
function hue(id) {
  const n = Number.parseInt(id.slice(0, 6), 16);
  if (Number.isFinite(n)) return (n * 137) % 360;
  let h = 0;
  for (let i = 0; i < id.length; i++) h = (h * 31 + id.charCodeAt(i)) % 360;
  return h;
}

function shortId(id) {
  return id ? id.slice(0, 8) : "?";
}

function who(senderId) {
  return senderId === state.health?.senderId ? "you" : shortId(senderId);
}

function clock(ms) {
  return new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

function ago(ms) {
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  if (s < 5) return "just now";
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.round(s / 60)}m ago`;
  return `${Math.round(s / 3600)}h ago`;
}

function channelPath(channelId) {
  return `/v1/channels/${encodeURIComponent(channelId)}`;
}

function nearBottom() {
  const s = $("scroller");
  return s.scrollHeight - s.scrollTop - s.clientHeight < 80;
}

function scrollToBottom() {
  const s = $("scroller");
  s.scrollTop = s.scrollHeight;
}

function showError(id, message) {
  const p = $(id);
  p.textContent = message ?? "";
  p.hidden = !message;
}

// --------------------------------------------------------------------------------------- node info

async function loadHealth() {
  state.health = await api("GET", "/v1/health");
  renderNode(null);
}

function renderNode(peers) {
  const h = state.health;
  if (!h) return;
  const parts = [
    el("span", { class: `role ${h.role}` }, h.role),
    el("span", {}, "sender ", el("code", { title: h.senderId }, shortId(h.senderId))),
    el(
      "span",
      {},
      "peer ",
      el("code", { title: h.peerId }, h.peerId.length > 20 ? `…${h.peerId.slice(-10)}` : h.peerId),
    ),
  ];
  if (peers !== null) {
    parts.push(el("span", {}, `${peers.peers.length} peer${peers.peers.length === 1 ? "" : "s"}`));
    if (peers.ownerPeerId) parts.push(el("span", { title: peers.ownerPeerId }, "owner found"));
  }
  $("node").replaceChildren(...parts);
}

async function refreshPeers() {
  try {
    renderNode(await api("GET", "/v1/peers"));
  } catch {
    // The next refresh tries again.
  }
}

// ----------------------------------------------------------------------------------------- channels

async function loadChannels() {
  const { channels } = await api("GET", "/v1/channels");
  state.channels = channels;
  renderChannels();
  const current = state.channels.find((c) => c.channelId === state.channel);
  if (current) renderStats(current);
}

function renderChannels() {
  $("channels").replaceChildren(
    ...state.channels.map((c) =>
      el(
        "li",
        {},
        el(
          "a",
          {
            href: `#${encodeURIComponent(c.channelId)}`,
            class: c.channelId === state.channel ? "active" : "",
            "data-channel": c.channelId,
          },
          el("span", { class: "name" }, c.channelId),
          c.missing > 0
            ? el("span", { class: "pill missing", title: "missing messages" }, `${c.missing} missing`)
            : null,
          el("span", { class: "pill", title: "delivered messages" }, String(c.delivered)),
        ),
      ),
    ),
  );
}

function renderStats(c) {
  const roster = state.roster?.roster;
  const members = roster ? `${roster.members.length} members on the roster` : `${c.members + 1} members`;
  const parts = [`${c.delivered} message${c.delivered === 1 ? "" : "s"}`, members];
  if (c.missing > 0) parts.push(`${c.missing} missing`);
  const path = state.roster?.ownerPath;
  if (path === "up") parts.push("owner path up");
  if (path === "down") parts.push("owner away: receipts over the topic");
  $("channel-stats").textContent = parts.join(" · ");
}

async function loadRoster() {
  const generation = state.generation;
  try {
    const roster = await api("GET", `${channelPath(state.channel)}/roster`);
    if (generation !== state.generation) return;
    state.roster = roster;
    const current = state.channels.find((c) => c.channelId === state.channel);
    if (current) renderStats(current);
  } catch {
    // Shown again at the next refresh.
  }
}

async function joinChannel(event) {
  event.preventDefault();
  const input = $("join-id");
  const channelId = input.value.trim();
  if (!channelId) return;
  try {
    await api("POST", "/v1/channels", { channelId });
    input.value = "";
    showError("join-error", null);
    await loadChannels();
    location.hash = encodeURIComponent(channelId);
  } catch (err) {
    showError("join-error", err.message);
  }
}

// ------------------------------------------------------------------------------------------ members

async function refreshMembers() {
  if (!state.channel) return;
  const generation = state.generation;
  try {
    const heard = await api("GET", `${channelPath(state.channel)}/members`);
    if (generation !== state.generation) return;
    const { self } = heard;
    // With a roster, every member on it is listed (the owner too, though it talks over the owner path).
    const rosterIds = (state.roster?.roster?.members ?? []).filter((id) => id !== self);
    const known = new Set(heard.members.map((m) => m.senderId));
    const members = [...heard.members, ...rosterIds.filter((id) => !known.has(id)).map((senderId) => ({ senderId }))];
    $("member-count").textContent = String(members.length + 1);
    $("members").replaceChildren(
      el(
        "li",
        {},
        el("span", { class: "dot", style: `--hue:${hue(self)}` }),
        el("code", { title: self }, shortId(self)),
        el("span", { class: "ago" }, "you"),
      ),
      ...members.map((m) => {
        // Members send a sync at least every few minutes while they run: silence beyond that means offline.
        const online = m.lastHeardAt !== undefined && Date.now() - m.lastHeardAt < ONLINE_MS;
        const owner = m.senderId === state.roster?.roster?.owner;
        return el(
          "li",
          { class: m.lastHeardAt === undefined ? "unheard" : online ? "online" : "offline" },
          el("span", { class: "dot", style: `--hue:${hue(m.senderId)}` }),
          el("code", { title: m.senderId }, shortId(m.senderId)),
          owner ? el("span", { class: "tag owner" }, "owner") : null,
          // Not heard from on the topic says nothing about being offline: with a roster, members talk to the owner.
          m.lastHeardAt === undefined ? null : el("span", { class: "presence" }, online ? "online" : "offline"),
          m.lastHeardAt === undefined
            ? el("span", { class: "ago" }, "not heard from")
            : el("span", { class: "ago", "data-at": String(m.lastHeardAt) }, `heard ${ago(m.lastHeardAt)}`),
        );
      }),
    );
  } catch {
    // Shown again at the next refresh.
  }
}

// ----------------------------------------------------------------------------------------------- log

function messageRow(m) {
  const own = m.senderId === state.health?.senderId;
  // Until the first receipt answer, an own message's state is unknown (after a reload it may be long delivered).
  const mark = own ? el("span", { class: "mark", "data-state": "checking" }, "checking receipts…") : null;
  const receivers = own ? el("div", { class: "receivers" }) : null;
  const flag = m.equivocation ? equivocationLine(m.equivocation) : null;
  const row = el(
    "li",
    {
      class: `msg${own ? " own" : ""}${m.ephemeral ? " ephemeral" : ""}`,
      "data-id": m.messageId,
      "data-position": m.position ?? "",
      style: `--hue:${hue(m.senderId)}`,
    },
    el("div", { class: "avatar", title: m.senderId }, m.senderId.slice(0, 2).toUpperCase()),
    el(
      "div",
      { class: "bubble" },
      el(
        "div",
        { class: "meta" },
        el("span", { class: "who", title: m.senderId }, who(m.senderId)),
        m.seq === null || m.seq === undefined ? null : el("span", { class: "seq" }, `#${m.seq}`),
        el("time", {}, clock(m.receivedAt)),
        m.ephemeral ? el("span", {}, "ephemeral") : null,
      ),
      el("div", { class: "text" }, m.content),
      flag,
      mark,
      receivers,
    ),
  );
  return row;
}

function append(node) {
  const stick = nearBottom();
  $("log").append(node);
  $("empty").hidden = true;
  if (stick) scrollToBottom();
}

/** Appends log entries in position order; a hole in the positions means events were missed: reload. */
function addEntries(entries) {
  for (const m of entries) {
    if (m.position <= state.lastPosition) continue;
    if (m.position > state.lastPosition + 1) {
      reloadLog();
      return;
    }
    const row = messageRow(m);
    state.rows.set(m.messageId, row);
    state.lastPosition = m.position;
    append(row);
  }
}

/** Fetches everything after the last shown position (after a send, a reconnect, or missed events). */
function reloadLog() {
  if (state.loading) {
    state.reloadAgain = true;
    return state.loading;
  }
  const generation = state.generation;
  state.loading = (async () => {
    try {
      do {
        state.reloadAgain = false;
        for (;;) {
          const page = await api("GET", `${channelPath(state.channel)}/messages?after=${state.lastPosition}&limit=500`);
          if (generation !== state.generation) return;
          addEntries(page.messages);
          if (page.next === null) break;
        }
      } while (state.reloadAgain);
    } finally {
      if (generation === state.generation) state.loading = null;
    }
  })();
  return state.loading;
}

async function loadTail(count) {
  const { total } = await api("GET", `${channelPath(state.channel)}/messages?limit=1`);
  state.lastPosition = Math.max(0, total - count);
  await reloadLog();
}

// ------------------------------------------------------------------------------------------ receipts

function scheduleReceipt(messageId, delay = 120) {
  // An acknowledgement soon after the send brings a pending refresh forward rather than waiting for it.
  const pending = state.receiptTimers.get(messageId);
  if (pending && pending.at <= Date.now() + delay) return;
  if (pending) clearTimeout(pending.timer);
  const generation = state.generation;
  const timer = setTimeout(async () => {
    state.receiptTimers.delete(messageId);
    if (generation !== state.generation) return;
    try {
      const m = await api("GET", `${channelPath(state.channel)}/messages/${encodeURIComponent(messageId)}`);
      if (generation === state.generation) renderReceipt(messageId, m);
    } catch {
      // The next acknowledgement refreshes it.
    }
  }, delay);
  state.receiptTimers.set(messageId, { timer, at: Date.now() + delay });
}

function renderReceipt(messageId, m) {
  const mark = state.rows.get(messageId)?.querySelector(".mark");
  if (!mark || !m.receipts) return;
  const { count, members, ackedBy, notYet = [], denominator } = m.receipts;
  // A late answer must not take the mark back: receipts only rise.
  if (Number(mark.dataset.count ?? -1) > count) return;
  if (count === 0 && members === 0) {
    mark.dataset.state = "alone";
    mark.textContent = "sent · no other member has joined this channel yet";
  } else if (count === 0) {
    mark.dataset.state = "sent";
    mark.textContent = "sent";
  } else {
    mark.dataset.state = count >= members ? "all" : "some";
    mark.textContent = `delivered to ${count} of ${members}`;
  }
  mark.dataset.count = String(count);
  const lines = [ackedBy.length ? `held by ${ackedBy.map(shortId).join(", ")}` : "no member has confirmed it yet"];
  if (notYet.length) lines.push(`not yet: ${notYet.map(shortId).join(", ")}`);
  lines.push(denominator === "roster" ? "N: the channel's roster" : "N: the members heard from (no roster)");
  mark.title = lines.join("\n");
  const receivers = mark.parentElement?.querySelector(".receivers");
  if (receivers) {
    const parts = [];
    if (ackedBy.length) parts.push(`✓ ${ackedBy.map(memberName).join(", ")}`);
    if (notYet.length) parts.push(`… not yet: ${notYet.map(memberName).join(", ")}`);
    receivers.textContent = parts.join("   ");
  }
}

/** A member as the page names it: "you", "owner" (from the roster), or the start of its sender id. */
function memberName(senderId) {
  if (senderId === state.health?.senderId) return "you";
  if (senderId === state.roster?.roster?.owner) return `owner ${shortId(senderId)}`;
  return shortId(senderId);
}

function equivocationLine(e) {
  return el(
    "div",
    { class: "equivocation", title: e.messageIds.join("\n") },
    `⚠ equivocation: ${who(e.senderId)} signed ${e.messageIds.length} different messages as #${e.seq}; every member keeps them all`,
  );
}

// ----------------------------------------------------------------------------------------------- gaps

function refText(ref) {
  const from = ref.senderId ? ` from ${who(ref.senderId)}` : "";
  if (ref.seq !== undefined && ref.seq !== null) return `message #${ref.seq}${from}`;
  return `message ${shortId(ref.messageId)}${from}`;
}

const SOURCES = {
  sequence: "a skipped sequence number",
  "causal-history": "a later message's causal history",
  "ack-mark": "another member's acknowledgement",
};

function gapKeys(ref) {
  const keys = [];
  if (ref.messageId) keys.push(`id:${ref.messageId}`);
  if (ref.senderId && ref.seq !== undefined && ref.seq !== null) keys.push(`seq:${ref.senderId}:${ref.seq}`);
  return keys;
}

function addGap(ref, source) {
  const keys = gapKeys(ref);
  const existing = keys.map((k) => state.gaps.get(k)).find(Boolean);
  if (existing && existing.dataset.state === "missing") return;
  const line = el(
    "li",
    { class: "gap", "data-state": "missing" },
    `⚠ Gap detected: ${refText(ref)} is missing${source ? `, noticed through ${SOURCES[source] ?? source}` : ""}`,
  );
  for (const k of keys) state.gaps.set(k, line);
  append(line);
}

/**
 * One missing message may have been reported twice, by id (causal history) and by sequence number, before
 * anyone could tell they are the same: the repair names both, so the first line turns and the other goes.
 */
function resolveGap(ref, outcome) {
  const keys = gapKeys(ref);
  const lines = [...new Set(keys.map((k) => state.gaps.get(k)).filter(Boolean))];
  const open = lines.filter((line) => line.dataset.state === "missing");
  if (open.length === 0) return;
  const [line, ...duplicates] = open;
  line.dataset.state = outcome.state;
  line.textContent = outcome.text;
  for (const d of duplicates) d.remove();
  for (const k of keys) state.gaps.set(k, line);
}

// --------------------------------------------------------------------------------------------- events

function openEvents() {
  state.events?.close();
  const source = new EventSource(`/v1/events?channel=${encodeURIComponent(state.channel)}`);
  state.events = source;
  let opened = false;
  source.onopen = () => {
    $("conn").dataset.state = "live";
    $("conn").textContent = "live";
    // After a reconnect, whatever was delivered meanwhile comes from the log.
    if (opened) reloadLog();
    opened = true;
  };
  source.onerror = () => {
    $("conn").dataset.state = "down";
    $("conn").textContent = "node unreachable: reconnecting";
    $("conn").title = `the node at ${location.host} does not answer; the page reconnects when it is back`;
  };
  const on = (type, fn) =>
    source.addEventListener(type, (e) => {
      if (source !== state.events) return;
      fn(JSON.parse(e.data));
    });
  on("delivered", (d) => {
    addEntries([d.message]);
    if (d.message.own) scheduleReceipt(d.message.messageId, 400);
    bumpStats();
  });
  on("ephemeral", (d) => {
    append(messageRow({ ...d, position: null, seq: null, receivedAt: d.at, ephemeral: true }));
  });
  on("acknowledged", (d) => scheduleReceipt(d.messageId));
  on("equivocation", (d) => {
    for (const id of d.messageIds) {
      const bubble = state.rows.get(id)?.querySelector(".bubble");
      if (!bubble) continue;
      bubble.querySelector(".equivocation")?.remove();
      bubble.querySelector(".text")?.after(equivocationLine(d));
    }
  });
  on("missing", (d) => {
    addGap(d.ref, d.source);
    bumpStats();
  });
  on("repaired", (d) => {
    resolveGap(
      { messageId: d.messageId, senderId: d.senderId, seq: d.seq },
      {
        state: "repaired",
        text: `✓ Repaired: ${refText(d)} arrived ${(d.afterMs / 1000).toFixed(1)} s after the gap was detected`,
      },
    );
    bumpStats();
  });
  on("lost", (d) => {
    resolveGap(d.ref, {
      state: "lost",
      text: `✗ Lost: ${refText(d.ref)} could not be recovered; ${d.dependents} later message${d.dependents === 1 ? "" : "s"} delivered without it`,
    });
    bumpStats();
  });
}

let statsTimer = null;
function bumpStats() {
  if (statsTimer) return;
  statsTimer = setTimeout(() => {
    statsTimer = null;
    loadChannels().catch(() => {});
    refreshMembers();
  }, 300);
}

// ------------------------------------------------------------------------------------------- channel

async function selectChannel(channelId) {
  state.generation++;
  state.channel = channelId;
  state.roster = null;
  state.lastPosition = 0;
  state.rows.clear();
  state.gaps.clear();
  state.loading = null;
  for (const t of state.receiptTimers.values()) clearTimeout(t.timer);
  state.receiptTimers.clear();
  $("log").replaceChildren();
  $("channel-title").textContent = channelId ? `# ${channelId}` : "No channel";
  $("empty").textContent = "Join or pick a channel to start.";
  $("empty").hidden = Boolean(channelId);
  $("content").disabled = !channelId;
  $("send").disabled = !channelId;
  renderChannels();
  if (!channelId) return;
  const generation = state.generation;
  openEvents();
  await loadTail(200);
  if (generation !== state.generation) return;
  if (state.rows.size === 0) {
    $("empty").textContent = "No messages yet. Say hello.";
    $("empty").hidden = false;
  }
  scrollToBottom();
  // Receipts of the most recent own messages; later changes arrive as events.
  const own = [...state.rows.entries()].filter(([, row]) => row.classList.contains("own")).slice(-30);
  own.forEach(([id], i) => {
    scheduleReceipt(id, 20 + i * 15);
  });
  const { missing } = await api("GET", `${channelPath(channelId)}/missing`);
  if (generation !== state.generation) return;
  for (const ref of missing) addGap(ref, undefined);
  refreshMembers();
  loadRoster();
  loadChannels().catch(() => {});
}

function channelFromHash() {
  const id = decodeURIComponent(location.hash.slice(1));
  if (id && state.channels.some((c) => c.channelId === id)) return id;
  // The channel the node was started with, not the alphabetically first one.
  const first = state.health?.startChannel;
  if (first && state.channels.some((c) => c.channelId === first)) return first;
  return state.channels[0]?.channelId ?? null;
}

// -------------------------------------------------------------------------------------------- compose

async function send(event) {
  event.preventDefault();
  const box = $("content");
  const content = box.value;
  if (!content.trim() || !state.channel) return;
  $("send").disabled = true;
  try {
    await api("POST", `${channelPath(state.channel)}/messages`, { content });
    box.value = "";
    autosize();
    showError("send-error", null);
    // The message is in the log before the POST answers: show it now, whatever the event stream does.
    await reloadLog();
    scrollToBottom();
  } catch (err) {
    showError("send-error", err.message);
  } finally {
    $("send").disabled = false;
    box.focus();
  }
}

function autosize() {
  const box = $("content");
  box.style.height = "auto";
  box.style.height = `${Math.min(box.scrollHeight + 2, 160)}px`;
}

// ----------------------------------------------------------------------------------------------- start

async function start() {
  $("join").addEventListener("submit", joinChannel);
  $("composer").addEventListener("submit", send);
  $("content").addEventListener("input", autosize);
  $("content").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      $("composer").requestSubmit();
    }
  });
  window.addEventListener("hashchange", () => {
    const id = channelFromHash();
    if (id !== state.channel) selectChannel(id);
  });
  try {
    await loadHealth();
    await loadChannels();
  } catch (err) {
    $("node").textContent = `cannot reach the node: ${err.message}`;
    return;
  }
  await selectChannel(channelFromHash());
  refreshPeers();
  setInterval(() => {
    refreshPeers();
    refreshMembers();
    if (state.channel) loadRoster();
  }, 5000);
}

start();
