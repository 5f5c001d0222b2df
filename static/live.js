// A room's live events over one of three transports, all delivering the same events
// (message, stream-reset, presence, typing, edit, delete, clear, reaction: the keys of
// the handlers chat.js gives, which SSE listens for by name) as
// handler(data, id) calls, in the room's id order:
//   sse   EventSource on /rooms/<room>/events/ (the default);
//   ws    a WebSocket on /rooms/<room>/ws (JSON frames {"event","id","data"}); ids are
//         checked for gaps, which the socket fills by asking {"type":"resume"};
//   poll  long-polling /rooms/<room>/messages/?after=<id>&wait=25.
// Every transport resumes after the newest id it was given or has delivered, reconnects
// with a bounded, jittered backoff, and reports its state (connecting, live, …).
// A stream the server ends on purpose is not retried: onEnded(condition, text) says why
// (condition "removed" or "not-found": the room is no longer yours to read).

const RETRY_MIN_MS = 1000;
const RETRY_MAX_MS = 10000;
const POLL_WAIT_SECS = 25;

/**
 * base: "/rooms/<room>"; after(): the id to resume after; handlers: {event: fn(data, id)};
 * onState(state, text?); quietMs: silence after which a stream counts as dead;
 * onEnded(condition, text): the server ended the stream. Returns {stop(), reconnect()}.
 */
export function openLive({ transport, base, after, handlers, onState, quietMs, onEnded }) {
  let current = null; // {close()} of the open connection
  let retryTimer = 0;
  let quietTimer = 0;
  let failures = 0;
  let stopped = false;

  const heard = () => {
    clearTimeout(quietTimer);
    const mine = current;
    quietTimer = setTimeout(() => { if (current === mine) retry(); }, quietMs);
  };
  const live = () => { failures = 0; onState('live'); };
  const deliver = (event, data, id) => {
    heard();
    handlers[event]?.(data, id);
  };
  const ended = (text, condition = 'ended') => {
    stopped = true; // only a new openLive (e.g. another transport) tries again
    close();
    onState('error', `Disconnected: ${text}`);
    onEnded?.(condition, text);
  };

  function close() {
    clearTimeout(quietTimer);
    if (current) current.close();
    current = null;
  }

  function connect() {
    clearTimeout(retryTimer);
    retryTimer = 0;
    close();
    if (stopped) return;
    if (!navigator.onLine) {
      onState('offline');
      return;
    }
    onState(failures ? 'reconnecting' : 'connecting');
    const open = { sse: viaSSE, ws: viaSocket, poll: viaPoll }[transport] || viaSSE;
    current = open({ base, after, deliver, live, heard, retry, ended, events: Object.keys(handlers) });
    heard(); // a connection attempt that hangs counts as silence too
  }

  /** Opens a new connection after a growing, jittered pause (1 s, 2 s, 4 s … 10 s). */
  function retry() {
    close();
    if (stopped) return;
    failures += 1;
    if (!navigator.onLine) {
      onState('offline');
      return;
    }
    onState('reconnecting', undefined, failures);
    const ceiling = Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** (failures - 1));
    retryTimer = setTimeout(connect, ceiling / 2 + Math.random() * ceiling / 2);
  }

  const offline = () => { close(); clearTimeout(retryTimer); onState('offline'); };
  // Phones suspend background tabs: come back at once rather than after a backoff.
  const visible = () => { if (document.visibilityState === 'visible' && !current) connect(); };
  window.addEventListener('offline', offline);
  window.addEventListener('online', connect);
  document.addEventListener('visibilitychange', visible);
  connect();
  return {
    reconnect: connect,
    stop() {
      stopped = true;
      close();
      clearTimeout(retryTimer);
      window.removeEventListener('offline', offline);
      window.removeEventListener('online', connect);
      document.removeEventListener('visibilitychange', visible);
    },
  };
}

// ------------------------------------------------------------------ SSE

function viaSSE({ base, after, deliver, live, heard, retry, ended, events }) {
  // The browser resends the last id it saw as Last-Event-ID when it reconnects by
  // itself; the query carries where we are for a stream we open ourselves.
  const es = new EventSource(`${base}/events/?lastEventId=${after()}`);
  for (const type of ['stream-open', 'keep-alive']) es.addEventListener(type, heard);
  es.addEventListener('open', live);
  for (const type of events) {
    es.addEventListener(type, (e) => deliver(type, JSON.parse(e.data), e.lastEventId));
  }
  es.addEventListener('stream-error', (e) => {
    let data = {};
    try { data = JSON.parse(e.data); } catch {}
    ended(data.text || 'the stream ended', data.condition);
  });
  es.addEventListener('error', () => {
    // CLOSED: the browser gave up (e.g. a 503); otherwise it is reconnecting itself.
    if (es.readyState === EventSource.CLOSED) retry();
  });
  return es;
}

// ------------------------------------------------------------------ WebSocket

function viaSocket({ base, after, deliver, live, heard, retry, ended }) {
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  // No ?lastEventId=: the frames answering the upgrade itself can be lost between a
  // local Pushpin and Viceroy (see src/http/api/ws.rs), so the page asks once it is open.
  const ws = new WebSocket(`${scheme}://${location.host}${base}/ws`);
  let last = after();
  let asked = -1; // the position a resume was last asked from, so a gap is asked once
  const ask = (from) => {
    if (asked === from) return;
    asked = from;
    ws.send(JSON.stringify({ type: 'resume', after: from }));
  };
  let closing = false;
  let why; // the condition of an `error` frame the server sent before closing
  // Frames right behind the handshake can be lost locally: ask again until answered.
  let hello = 0;
  const greet = () => {
    asked = -1;
    ask(last);
    hello = setTimeout(greet, 1000);
  };
  ws.addEventListener('open', greet);
  ws.addEventListener('message', (e) => {
    let frame;
    try { frame = JSON.parse(e.data); } catch { return; }
    const { event, id, data } = frame;
    if (event === 'resumed') { clearTimeout(hello); live(); heard(); return; }
    if (event === 'stream-open') { heard(); return; }
    if (event === 'more') { ask(Number(data.after)); return; }
    if (event === 'error') { why = data?.condition; return; }
    if (id !== undefined && event !== 'sent') {
      const n = Number(id);
      // Fanout keeps no prev-id for sockets: a jump in ids is a message we missed.
      if (n > last + 1) ask(last);
      if (n > last) last = n;
    }
    deliver(event === 'sent' ? 'message' : event, data, id);
  });
  ws.addEventListener('close', (e) => {
    clearTimeout(hello);
    if (closing) return;
    if (e.code === 1008 || e.code === 1003) ended(e.reason || 'refused', why);
    else retry();
  });
  return { close() { closing = true; clearTimeout(hello); ws.close(1000); } };
}

// ------------------------------------------------------------------ long-poll

function viaPoll({ base, after, deliver, live, heard, retry, ended }) {
  const abort = new AbortController();
  let position = after();
  (async () => {
    for (let first = true; !abort.signal.aborted; first = false) {
      let body;
      try {
        // The first poll is answered at once (wait=0): it tells us we are connected.
        const wait = first ? 0 : POLL_WAIT_SECS;
        const res = await fetch(`${base}/messages/?after=${position}&wait=${wait}`,
          { signal: abort.signal });
        // 404: the room is not (or no longer) one this person may read.
        if (res.status === 404) {
          ended((await res.json().catch(() => null))?.message || 'not found', 'not-found');
          return;
        }
        if (!res.ok) throw new Error(String(res.status));
        body = await res.json();
      } catch {
        if (!abort.signal.aborted) retry();
        return;
      }
      if (first) live();
      heard();
      // Answers are newest first, as history.
      for (const m of [...body.messages].reverse()) deliver('message', m, String(m.id));
      for (const e of body.events || []) deliver(e.event, e.data, e.id);
      if (body['last-event-id'] !== undefined) position = Number(body['last-event-id']);
    }
  })();
  return { close() { abort.abort(); } };
}
