// Who is here and who is typing. The page says it is here every heartbeat (30 s, from
// the server's data-heartbeat), says when its person types (at most every 3 s; the
// server throttles too) and says goodbye with a beacon when it goes away. Everyone's
// presence events (every transport delivers them) keep a table of names, each expiring
// a little over two heartbeats after it was last heard of, so a page that vanished
// without its beacon drops out within about a minute.

const TYPING_EVERY_MS = 3000;
const TYPING_SHOWN_MS = 4500;
const NOTE_SHOWN_MS = 4000;

export function startPresence({ base, heartbeatSecs, who, signedIn, els }) {
  const ttl = (heartbeatSecs * 2 + 5) * 1000;
  const here = new Map(); // name -> expires at (ms)
  const typing = new Map(); // name -> timer
  let lastTyped = 0;
  let noteTimer = 0;

  const form = (state) => {
    const fields = { state };
    if (!signedIn) fields.from = who();
    return new URLSearchParams(fields);
  };
  const say = async (state) => {
    if (!who()) return null;
    try {
      const res = await fetch(`${base}/presence/`, { method: 'POST', body: form(state) });
      return res.ok ? await res.json() : null;
    } catch {
      return null;
    }
  };

  function render() {
    const now = Date.now();
    for (const [name, until] of here) if (until <= now) here.delete(name);
    const names = [...here.keys()].sort((a, b) => a.localeCompare(b));
    els.count.textContent = `${names.length} here`;
    els.names.textContent = names.join(', ');
    els.bar.hidden = names.length === 0;
    const typers = [...typing.keys()].filter((n) => n !== who());
    els.typing.textContent = typers.length === 0 ? ''
      : typers.length === 1 ? `${typers[0]} is typing…`
        : `${typers.slice(0, -1).join(', ')} and ${typers.at(-1)} are typing…`;
  }

  function note(text) {
    els.note.textContent = text;
    clearTimeout(noteTimer);
    noteTimer = setTimeout(() => { els.note.textContent = ''; }, NOTE_SHOWN_MS);
  }

  const seen = (names) => {
    const until = Date.now() + ttl;
    for (const name of names) here.set(name, until);
  };

  async function heartbeat() {
    const answer = await say('here');
    if (answer) seen([who(), ...answer.here]);
    render();
  }
  heartbeat();
  setInterval(heartbeat, heartbeatSecs * 1000);
  setInterval(render, 5000);
  // The leave beacon: sent even as the page unloads.
  window.addEventListener('pagehide', () => {
    if (who()) navigator.sendBeacon(`${base}/presence/`, form('gone'));
  });

  return {
    /** A presence event from the live connection. */
    presence(data) {
      const known = here.has(data.name);
      if (data.change === 'leave') {
        here.delete(data.name);
        if (data.name !== who()) note(`${data.name} left`);
      } else {
        seen([data.name, ...(data.here || [])]);
        if (!known && data.name !== who()) note(`${data.name} joined`);
      }
      render();
    },
    typing(data) {
      clearTimeout(typing.get(data.name));
      typing.set(data.name, setTimeout(() => { typing.delete(data.name); render(); }, TYPING_SHOWN_MS));
      render();
    },
    /** Someone's message arrived: they are no longer typing it. */
    spoke(name) {
      clearTimeout(typing.get(name));
      typing.delete(name);
      render();
    },
    /** Our person typed something: tell the room, at most every few seconds. */
    typed() {
      const now = Date.now();
      if (now - lastTyped < TYPING_EVERY_MS) return;
      lastTyped = now;
      say('typing');
    },
    /** Our name changed (open mode): arrive under the new one. */
    renamed: heartbeat,
  };
}
