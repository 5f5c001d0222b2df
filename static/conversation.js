// The conversation features of the chat page, joined in one place so that chat.js only
// hooks them in: reactions (reactions.js), replies (reply.js), mentions (mentions.js).
//
// Each message is decorated from its JSON: its reaction bar, the quote it replies to,
// and the mark when it mentions you. The server renders a message's text and meta only,
// so the page reads the JSON of the messages it rendered once (one history request) and
// decorates them from it; messages that arrive later bring their JSON with them.

import { api } from './lib.js';
import { startReactions } from './reactions.js';
import { startReplies } from './reply.js';
import { highlight, startAutocomplete, startMentionFeed } from './mentions.js';

/** The messages the server renders on the page (src/web/mod.rs HISTORY). */
const RENDERED = 50;

/**
 * base, room; log: startLog's; me(); signedIn; input, errors: the composer's box and
 * where refusals show; here(): who is present (presence.js); mentioned(room, id): a
 * mention of you in another room (the room list).
 */
export function startConversation({ base, room, log, me, signedIn, input, errors, here, mentioned }) {
  const replies = startReplies({ log, input });
  const reactions = startReactions({ base, log, me, signedIn, errors, reply: replies.start });
  startAutocomplete({
    input,
    me,
    // People here first, then the authors in the log, newest first.
    names: () => [...here(), ...log.messages().reverse().map((li) => li.dataset.from)],
  });
  let feed = null;

  /** Decorates a message from its JSON `m` (without it: an empty bar, until it comes). */
  function decorate(li, m) {
    reactions.show(li, m?.reactions || []);
    if (!m) return;
    replies.quote(li, m.reply_to);
    highlight(li, m, me());
  }

  return {
    decorate,
    fields: replies.fields,
    sent: replies.sent,
    reaction: reactions.reaction,
    /** Unseen mentions of you in room `r`. */
    mentions: (r) => feed?.count(r) || 0,
    /** Once we know who reads: follows your mentions (passkey mode), reads the JSON of
     * the messages the server rendered and decorates them. */
    async start() {
      if (signedIn && me()) {
        feed = startMentionFeed({ room, me: me(), changed: mentioned });
        mentioned(); // the counts other pages kept
      }
      const lis = log.messages();
      for (const li of lis) decorate(li);
      if (lis.length === 0) return;
      try {
        const { messages } = await api(`${base}/messages/?limit=${RENDERED}&before=${Number(lis.at(-1).dataset.id) + 1}`);
        for (const m of messages) {
          const li = log.find(m.id);
          if (li) decorate(li, m);
        }
      } catch {} // the bars work without; counts come with the next change
    },
    /** The room's `edit` event: the message and the quotes of it read as it does now. */
    edited(m) {
      const li = log.find(m.id);
      if (li) decorate(li, m);
      replies.edited(m);
    },
    /** The room's `delete` event. */
    deleted: replies.deleted,
  };
}
