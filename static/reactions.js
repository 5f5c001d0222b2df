// Reactions on the chat page. Every message gets a bar under its text: one toggle button
// per emoji it has (emoji and count, pressed when one of them is yours), an "add
// reaction" button opening a small picker of common emoji, and "Reply" (reply.js). The
// server keeps the summary (`reactions: [{emoji, count, names}]`, names capped) and sends
// the whole of it again on every change (a `reaction` event, and the answer to our own
// POST or DELETE), so the bar is always rebuilt from a summary, never counted here.
//
// Who reacted: the button's title (hover), and a long press on a touch screen shows the
// same names under the bar, since phones have no hover.

import { api, el } from './lib.js';
import { refused } from './moderate.js';

/** The picker's emoji: the ones chat apps offer first. */
const COMMON = ['👍', '❤️', '😂', '🎉', '😮', '😢', '👀', '🙏'];
/** How long a press on a reaction must last to show who reacted instead of toggling. */
const LONG_PRESS_MS = 500;

/** "ann, bob and 3 more" for a summary of `count` whose first names are `names`. */
function whoReacted({ count, names }) {
  const more = count - names.length;
  return more > 0 ? `${names.join(', ')} and ${more} more` : names.join(', ');
}

/**
 * base: "/rooms/<room>"; log: startLog's; me(); signedIn; errors: where refusals show;
 * reply(li): the bar's "Reply" was pressed.
 */
export function startReactions({ base, log, me, signedIn, errors, reply }) {
  /** The open picker: { li, menu, opener }. */
  let picking = null;
  let pressTimer = 0;
  let longPressed = false;

  /** Rebuilds a message's bar from its summary (`[]`: none yet). */
  function show(li, reactions) {
    let bar = li.querySelector('.react');
    if (!bar) {
      bar = el('div', 'react');
      bar.setAttribute('role', 'group');
      bar.setAttribute('aria-label', `Reactions to ${li.dataset.from}'s message`);
      li.append(bar);
    }
    const had = bar.contains(document.activeElement) ? document.activeElement.dataset.emoji : null;
    const buttons = reactions.filter((r) => r.count > 0).map((r) => {
      const mine = r.names.includes(me());
      const b = el('button', 'reaction', `${r.emoji} ${r.count}`);
      b.type = 'button';
      b.dataset.emoji = r.emoji;
      b.setAttribute('aria-pressed', String(mine));
      b.title = whoReacted(r);
      b.setAttribute('aria-label', `${r.emoji} ${r.count}: ${b.title}`);
      return b;
    });
    const add = el('button', 'react-add', '☺+');
    add.type = 'button';
    add.dataset.emoji = '+';
    add.setAttribute('aria-label', 'Add reaction');
    add.setAttribute('aria-haspopup', 'menu');
    add.setAttribute('aria-expanded', 'false');
    const answer = el('button', 'react-reply', 'Reply');
    answer.type = 'button';
    answer.dataset.emoji = 'reply';
    answer.setAttribute('aria-label', `Reply to ${li.dataset.from}`);
    const names = el('span', 'reacted-by');
    names.hidden = true;
    names.setAttribute('aria-live', 'polite');
    bar.replaceChildren(...buttons, add, answer, names);
    bar.classList.toggle('some', buttons.length > 0);
    if (had) bar.querySelector(`[data-emoji="${CSS.escape(had)}"]`)?.focus();
    if (picking?.li === li) closePicker(false);
  }

  /** Adds (`on`) or takes back our reaction; the answer is the new summary. */
  async function toggle(li, emoji, on) {
    if (!me()) return; // open mode, no nickname chosen yet: the page is asking for one
    const path = `${base}/messages/${li.dataset.id}/reactions/`;
    const from = signedIn ? '' : me();
    try {
      const answer = on
        ? await api(path, { method: 'POST', body: signedIn ? { emoji } : { emoji, from } })
        : await api(`${path}${encodeURIComponent(emoji)}${from ? `?from=${encodeURIComponent(from)}` : ''}`,
          { method: 'DELETE' });
      if (li.isConnected) show(li, answer.reactions || []);
    } catch (error) {
      refused(errors, error);
    }
  }

  // ---------------------------------------------------------------- the picker

  function openPicker(li, opener) {
    closePicker(false);
    const menu = el('div', 'picker');
    menu.setAttribute('role', 'menu');
    menu.setAttribute('aria-label', 'Pick a reaction');
    for (const emoji of COMMON) {
      const b = el('button', '', emoji);
      b.type = 'button';
      b.tabIndex = -1;
      b.setAttribute('role', 'menuitem');
      b.dataset.pick = emoji;
      menu.append(b);
    }
    opener.after(menu);
    opener.setAttribute('aria-expanded', 'true');
    picking = { li, menu, opener };
    menu.firstElementChild.tabIndex = 0;
    menu.firstElementChild.focus();
  }

  function closePicker(refocus = true) {
    if (!picking) return;
    const { menu, opener } = picking;
    picking = null;
    menu.remove();
    opener.setAttribute('aria-expanded', 'false');
    if (refocus && opener.isConnected) opener.focus();
  }

  /** Arrow keys move along the picker (wrapping), Home/End to its ends, Escape closes. */
  function pickerKey(event) {
    const items = [...picking.menu.children];
    const at = items.indexOf(document.activeElement);
    const to = { ArrowRight: at + 1, ArrowDown: at + 1, ArrowLeft: at - 1, ArrowUp: at - 1, Home: 0, End: items.length - 1 }[event.key];
    if (event.key === 'Escape') {
      event.preventDefault();
      closePicker();
    } else if (event.key === 'Tab') {
      closePicker(false);
    } else if (to !== undefined) {
      event.preventDefault();
      const next = items[(to + items.length) % items.length];
      for (const b of items) b.tabIndex = b === next ? 0 : -1;
      next.focus();
    }
  }

  // ---------------------------------------------------------------- events

  log.el.addEventListener('click', (event) => {
    const b = event.target.closest('.react button, .picker button');
    const li = b?.closest('.msg');
    if (!li) return;
    if (longPressed) {
      longPressed = false;
      return;
    }
    if (b.dataset.pick) {
      const mine = li.querySelector(`.reaction[data-emoji="${CSS.escape(b.dataset.pick)}"]`);
      closePicker();
      toggle(li, b.dataset.pick, mine?.getAttribute('aria-pressed') !== 'true');
    } else if (b.dataset.emoji === '+') {
      if (picking?.opener === b) closePicker(); else openPicker(li, b);
    } else if (b.dataset.emoji === 'reply') {
      reply(li);
    } else {
      toggle(li, b.dataset.emoji, b.getAttribute('aria-pressed') !== 'true');
    }
  });
  log.el.addEventListener('keydown', (event) => {
    if (picking?.menu.contains(event.target)) pickerKey(event);
  });
  document.addEventListener('pointerdown', (event) => {
    if (picking && !picking.menu.contains(event.target) && event.target !== picking.opener) closePicker(false);
    for (const names of log.el.querySelectorAll('.reacted-by:not([hidden])')) names.hidden = true;
    const b = event.target.closest?.('.reaction');
    clearTimeout(pressTimer);
    longPressed = false;
    if (!b || event.pointerType === 'mouse') return;
    pressTimer = setTimeout(() => {
      longPressed = true;
      const names = b.parentElement.querySelector('.reacted-by');
      names.textContent = `${b.dataset.emoji} ${b.title}`;
      names.hidden = false;
    }, LONG_PRESS_MS);
  });
  for (const type of ['pointerup', 'pointercancel']) {
    document.addEventListener(type, () => clearTimeout(pressTimer));
  }
  // A long press on a phone also opens the context menu; the names are what was asked.
  log.el.addEventListener('contextmenu', (event) => {
    if (event.target.closest('.reaction')) event.preventDefault();
  });

  return {
    show,
    /** The room's `reaction` event: message `id`'s new summary. */
    reaction({ id, reactions }) {
      const li = log.find(id);
      if (li) show(li, reactions || []);
    },
  };
}
