// Who is here and who is typing. The page says it is here every heartbeat (30 s, from
// the server's data-heartbeat), says when its person types (at most every 3 s; the
// server publishes only a typist starting, and renews it every 10 s), and says goodbye
// with a beacon when it goes away.
//
// Heartbeats are not published: the server publishes changes only. So the page's list
// is a roster plus changes: the whole roster arrives in the live connection's opening
// (a presence event with change "roster") and in every heartbeat's answer; joins and
// leaves arrive as they happen (the server notices a page that vanished without its
// beacon and publishes its leave). A change stays in force over rosters for a while,
// since a roster may lag behind it (other POPs' people reach it within about 90 s).

// The page shows a count ("41 here"): a button opening the list on demand (a popover:
// Escape and a click elsewhere close it), so a room of any size keeps the header one line.
// The list puts yourself first, then who is typing, then the most recently active (spoke
// or joined; the page's history counts), ties in natural order (person-2 before person-10).
// It is built only while open: a thousand names cost nothing until someone looks.

import { el } from './lib.js';

const TYPING_EVERY_MS = 3000;
const TYPING_SHOWN_MS = 12000;
const NOTE_SHOWN_MS = 4000;
/** The list's width, within the screen's. */
const LIST_PX = 288;

const collator = new Intl.Collator(undefined, { numeric: true });
/** Natural order: digit runs compare as numbers; code points break the collator's ties. */
export const natural = (a, b) => collator.compare(a, b) || (a < b ? -1 : Number(a > b));

/** `names` as the list shows them: `me` first, then typists (`typing.has`), then by
 * `active` (name -> ms, newest first), then naturally. */
export function order(names, { me, typing, active }) {
  const rank = (n) => (n === me ? 0 : typing.has(n) ? 1 : 2);
  return [...names].sort((a, b) => rank(a) - rank(b)
    || (active.get(b) || 0) - (active.get(a) || 0) || natural(a, b));
}

/** `onPerson(name)`, if given, puts a "Message" button by everyone else in the list. */
export function startPresence({ base, heartbeatSecs, who, signedIn, els, onPerson }) {
  // How long a join or leave outranks rosters that do not show it yet.
  const changeHeldMs = heartbeatSecs * 4 * 1000;
  const here = new Set();
  const changes = new Map(); // name -> {joined: bool, at: ms}
  const typing = new Map(); // name -> timer
  const active = new Map(); // name -> when they last spoke or joined, ms
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
    els.count.textContent = `${here.size} here`;
    els.bar.hidden = here.size === 0;
    if (els.list.matches(':popover-open')) list();
    const typers = [...typing.keys()].filter((n) => n !== who());
    els.typing.textContent = typers.length === 0 ? ''
      : typers.length === 1 ? `${typers[0]} is typing…`
        : `${typers.slice(0, -1).join(', ')} and ${typers.at(-1)} are typing…`;
  }

  /** One person in the list: name, "you" or "typing…", and the "Message" button. */
  function person(name, me) {
    const li = el('li');
    li.append(el('span', 'name', name));
    const aside = name === me ? 'you' : typing.has(name) ? 'typing…' : '';
    if (aside) li.append(' ', el('small', '', aside));
    if (onPerson && name !== me) {
      const b = el('button', 'link', 'Message');
      b.type = 'button';
      b.setAttribute('aria-label', `Message ${name}`);
      b.addEventListener('click', () => {
        els.list.hidePopover();
        onPerson(name);
      });
      li.append(b);
    }
    return li;
  }
  function list() {
    const me = who();
    els.list.replaceChildren(...order(here, { me, typing, active }).map((name) => person(name, me)));
  }
  // Opening: fill the list and place it under the count, within the screen.
  els.list.addEventListener('beforetoggle', (event) => {
    els.count.setAttribute('aria-expanded', String(event.newState === 'open'));
    if (event.newState !== 'open') return;
    list();
    const at = els.count.getBoundingClientRect();
    const width = Math.min(LIST_PX, innerWidth - 16);
    Object.assign(els.list.style, {
      width: `${width}px`,
      top: `${at.bottom + 4}px`,
      left: `${Math.max(8, Math.min(at.left, innerWidth - width - 8))}px`,
    });
  });

  function note(text) {
    els.note.textContent = text;
    clearTimeout(noteTimer);
    noteTimer = setTimeout(() => { els.note.textContent = ''; }, NOTE_SHOWN_MS);
  }

  /** A whole roster: it replaces the list, except for changes newer than it can be. */
  function roster(names) {
    const now = Date.now();
    here.clear();
    for (const name of names) here.add(name);
    if (who()) here.add(who()); // we are here, whatever a roster older than our heartbeat says
    for (const [name, change] of changes) {
      if (now - change.at > changeHeldMs) changes.delete(name);
      else if (change.joined) here.add(name);
      else here.delete(name);
    }
    render();
  }

  function change(name, joined) {
    const known = here.has(name);
    changes.set(name, { joined, at: Date.now() });
    if (joined) {
      here.add(name);
      active.set(name, Date.now());
    } else {
      here.delete(name);
    }
    if (name !== who() && known !== joined) note(`${name} ${joined ? 'joined' : 'left'}`);
    render();
  }

  async function heartbeat() {
    const answer = await say('here');
    if (answer) roster(answer.here);
  }
  heartbeat();
  setInterval(heartbeat, heartbeatSecs * 1000);
  // The leave beacon: sent even as the page unloads.
  window.addEventListener('pagehide', () => {
    if (who()) navigator.sendBeacon(`${base}/presence/`, form('gone'));
  });

  return {
    /** A presence event from the live connection: the roster, or one change. */
    presence(data) {
      if (data.change === 'roster') roster(data.here || []);
      else if (data.change === 'join' || data.change === 'leave') change(data.name, data.change === 'join');
    },
    typing(data) {
      clearTimeout(typing.get(data.name));
      typing.set(data.name, setTimeout(() => { typing.delete(data.name); render(); }, TYPING_SHOWN_MS));
      render();
    },
    /** Someone's message arrived (or was in the history, sent `at`): they are no longer
     * typing it. */
    spoke(name, at = Date.now()) {
      active.set(name, Math.max(active.get(name) || 0, at || 0));
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
    /** Who is here (mentions.js offers them). */
    names: () => [...here],
  };
}
