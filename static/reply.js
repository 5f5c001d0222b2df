// Replies on the chat page. "Reply" on a message (its reaction bar, reactions.js) puts a
// quote of it above the composer, with a button (or Escape) to cancel; the next post
// carries `reply_to` (its id), and the server quotes the original in the reply's JSON
// (`reply_to: {id, from, text}`, or `{id, deleted: true}` once it is gone).
//
// A reply shows that quote above its text, as a link to the original: following it
// scrolls the original into view and highlights it briefly, loading older pages first if
// it is not in the log yet, or says it cannot be shown (deleted, or cleared away).

import { el } from './lib.js';

/** Characters of a quote shown above the composer (the server quotes 100). */
const QUOTE_SHOWN = 100;
/** "Load older" pages at most to find the original of a quote. */
const FIND_PAGES_MAX = 10;

/** log: startLog's; input: the composer's box (its form holds the quote). */
export function startReplies({ log, input }) {
  /** The message being answered: { id, from } while a reply is being written. */
  let answering = null;
  const box = el('div', 'replying');
  box.hidden = true;
  box.id = 'replying';
  const what = el('span', 'quote-text');
  const cancel = el('button', 'link', 'Cancel');
  cancel.type = 'button';
  cancel.setAttribute('aria-label', 'Cancel the reply');
  box.append(what, ' ', cancel);
  input.form.prepend(box);

  function start(li) {
    const text = li.querySelector('.text')?.textContent || '';
    answering = { id: Number(li.dataset.id), from: li.dataset.from };
    what.textContent = `Replying to ${answering.from}: ${[...text].slice(0, QUOTE_SHOWN).join('')}`;
    box.hidden = false;
    const described = input.getAttribute('aria-describedby');
    if (!described.startsWith('replying ')) input.setAttribute('aria-describedby', `replying ${described}`);
    input.focus();
  }

  function stop() {
    answering = null;
    box.hidden = true;
    input.setAttribute('aria-describedby', input.getAttribute('aria-describedby').replace('replying ', ''));
  }

  cancel.addEventListener('click', () => {
    stop();
    input.focus();
  });
  input.addEventListener('keydown', (event) => {
    if (event.key === 'Escape' && answering && !event.defaultPrevented) {
      event.preventDefault();
      stop();
    }
  });

  /** A quote of `reply_to` for a message: who and what, or "deleted message". */
  function quote(li, reply) {
    let link = li.querySelector('.quote');
    if (!reply) {
      link?.remove();
      return;
    }
    if (!link) {
      link = el('a', 'quote');
      li.querySelector('.text').before(link);
    }
    link.href = `#msg-${Number(reply.id)}`;
    link.dataset.to = String(Number(reply.id));
    if (reply.deleted) {
      link.replaceChildren(el('span', 'deleted', 'deleted message'));
      link.setAttribute('aria-label', 'In reply to a deleted message');
    } else {
      link.replaceChildren(el('span', 'from', reply.from), ' ', el('span', 'quoted', reply.text));
      link.setAttribute('aria-label', `In reply to ${reply.from}: ${reply.text}. Show the message.`);
    }
  }

  /** Scrolls to message `id` and highlights it; loads older pages if it is not shown. */
  async function goTo(id, link) {
    let target = log.find(id);
    for (let pages = 0; !target && pages < FIND_PAGES_MAX && log.hasOlder(); pages += 1) {
      await log.loadOlder();
      target = log.find(id);
    }
    if (!target) {
      const note = link.querySelector('.quote-note') || link.appendChild(el('span', 'quote-note'));
      note.textContent = ' (not in the log: deleted or removed)';
      log.say('The quoted message is not in the log.');
      return;
    }
    target.scrollIntoView({ block: 'center' });
    target.tabIndex = -1;
    target.focus({ preventScroll: true });
    target.classList.remove('flash');
    void target.offsetWidth; // restarts the highlight's animation
    target.classList.add('flash');
  }

  log.el.addEventListener('click', (event) => {
    const link = event.target.closest('.quote');
    if (!link) return;
    event.preventDefault();
    goTo(Number(link.dataset.to), link);
  });
  log.el.addEventListener('animationend', (event) => event.target.classList.remove('flash'));

  /** Every quote of message `id` in the log. */
  const quotesOf = (id) => log.el.querySelectorAll(`.quote[data-to="${Number(id)}"]`);

  return {
    start,
    quote,
    /** What the next post adds to its fields. */
    fields: () => (answering ? { reply_to: String(answering.id) } : {}),
    /** Our post was stored: the reply is done. */
    sent() { if (answering) stop(); },
    /** The room's `edit` event: quotes of the message read as it does now. */
    edited(m) {
      for (const link of quotesOf(m.id)) {
        quote(link.closest('.msg'), { id: m.id, from: m.from, text: [...m.text].slice(0, QUOTE_SHOWN).join('') });
      }
    },
    /** The room's `delete` event. */
    deleted(id) {
      for (const link of quotesOf(id)) quote(link.closest('.msg'), { id, deleted: true });
      if (answering?.id === Number(id)) stop();
    },
  };
}
