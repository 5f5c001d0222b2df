// Direct messages (passkey mode): `openDm(name)` opens the one private room of you and
// `name` (POST /dms/ answers the same id whoever asks first) and goes there. The chat
// page offers it from a message's author name (`offerDm`); the people list can call
// openDm too.

import { api, el } from './lib.js';

/** Goes to the direct message with `name`; throws the server's refusal (nobody by that
 * name, or they block you). */
export async function openDm(name) {
  const { id } = await api('/dms/', { method: 'POST', body: { name } });
  location.assign(`/${id}`);
}

/** Makes an author's name (a .from span) a control that offers "Message <name>". */
export function dmTarget(span) {
  span.tabIndex = 0;
  span.setAttribute('role', 'button');
  span.setAttribute('aria-haspopup', 'true');
  span.title = `Message ${span.textContent}`;
}

/** Shows "Message <name>" under `span` (one offer at a time); Escape or Cancel closes it. */
export function offerDm(span, name) {
  document.querySelector('.dm-offer')?.remove();
  const offer = el('div', 'dm-offer row');
  const go = el('button', '', `Message ${name}`);
  go.type = 'button';
  const cancel = el('button', 'quiet', 'Cancel');
  cancel.type = 'button';
  const error = el('span', 'error');
  error.setAttribute('role', 'alert');
  offer.append(go, cancel, error);
  const close = () => { offer.remove(); span.focus(); };
  go.addEventListener('click', async () => {
    go.disabled = true;
    try {
      await openDm(name);
    } catch (e) {
      error.textContent = e.message;
      go.disabled = false;
    }
  });
  cancel.addEventListener('click', close);
  offer.addEventListener('keydown', (event) => { if (event.key === 'Escape') close(); });
  span.closest('.meta').after(offer);
  go.focus();
}
