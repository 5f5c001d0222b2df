// The chat page's composer: posts the form fields `from` and `text`, keeps the text until
// it is stored (retrying what did not reach the store), counts characters as the server
// does, and shows a "slow down" notice for a 429's Retry-After seconds.

import { length, toSignIn, TEXT_MAX } from './lib.js';
import { slowDown } from './moderate.js';

const $ = (id) => document.getElementById(id);
/** Waits before retrying a post that did not reach the store. */
const SEND_RETRIES_MS = [1000, 3000];

const pause = (ms) => new Promise((resolve) => { setTimeout(resolve, ms); });

/**
 * base: "/rooms/<room>"; me(): who posts; signedIn; sent(m): a stored message (our POST's
 * answer); typed(): the person is typing; editLast(): Up in an empty box, true if it
 * started editing; fields(): more fields for the post (a reply's `reply_to`).
 */
export function startComposer({ base, me, signedIn, sent, typed, editLast, fields = () => ({}) }) {
  const composer = $('composer');
  const input = $('text');
  const sendButton = $('send');
  const counter = $('count');
  const sendError = $('send-error');
  let sending = false;

  function updateCount() {
    const n = length(input.value);
    counter.textContent = `${n} / ${TEXT_MAX}`;
    const over = n > TEXT_MAX;
    counter.classList.toggle('over', over);
    input.setAttribute('aria-invalid', String(over));
  }

  input.addEventListener('input', () => {
    updateCount();
    sendError.textContent = '';
    if (input.value.trim()) typed();
  });
  input.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      composer.requestSubmit();
    } else if (event.key === 'ArrowUp' && !input.value && signedIn && editLast()) {
      event.preventDefault();
    }
  });

  composer.addEventListener('submit', async (event) => {
    event.preventDefault();
    const text = input.value;
    if (sending || !me() || !text.trim()) return;
    if (length(text) > TEXT_MAX) {
      sendError.textContent = `Messages are at most ${TEXT_MAX} characters.`;
      return;
    }
    sending = true;
    sendButton.disabled = true;
    input.readOnly = true;
    sendError.textContent = '';
    const body = new URLSearchParams({ from: me(), text, ...fields() });
    try {
      for (let attempt = 0; ; attempt += 1) {
        let res;
        try {
          res = await fetch(`${base}/messages/`, { method: 'POST', body });
        } catch {
          res = null; // network error: the message may not have left
        }
        if (res && res.ok) {
          sent(await res.json());
          input.value = '';
          sendError.textContent = '';
          updateCount();
          return;
        }
        let message = 'Could not reach the server.';
        if (res) {
          message = `The server answered ${res.status}.`;
          try { message = (await res.json()).message || message; } catch {}
        }
        if (res?.status === 401 && signedIn) {
          toSignIn();
          return;
        }
        if (res?.status === 429) {
          slowDown(sendError, Number(res.headers.get('Retry-After')) || 1);
          return;
        }
        // 4xx: the message itself was refused; retrying would not help.
        const retriable = !res || res.status >= 500;
        if (!retriable || attempt >= SEND_RETRIES_MS.length) {
          sendError.textContent = retriable
            ? `${message} Your message was not sent; press Enter to try again.`
            : message;
          return;
        }
        sendError.textContent = `${message} Retrying…`;
        await pause(SEND_RETRIES_MS[attempt]);
      }
    } finally {
      sending = false;
      sendButton.disabled = false;
      input.readOnly = false;
      input.focus();
    }
  });

  return { input, errors: sendError, updateCount };
}
