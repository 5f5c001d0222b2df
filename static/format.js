// Light formatting of message text, built as DOM nodes (never HTML strings). The server
// stores a text as sent; each page formats it alike, in live messages and edits
// (lib.js's messageElement) and in the server-rendered history (formatAll on load).
//
//   ```lang\ncode```  a code block: <pre><code class="language-lang">, the word optional
//   `code`            inline code (one line); nothing inside code is formatted
//   *bold* _italic_   only at word boundaries, so 2*3*4 and snake_case_names stay as they
//                     are: a marker opens after a non-letter/digit and before a non-space,
//                     closes after a non-space and before a non-letter/digit, within one
//                     line; doubled markers (**, __) and unclosed ones stay literal
//   http(s)://…       links (rel noopener noreferrer nofollow); no other scheme ever is
// Everything else is literal text. A newline just before or after a code block is not
// shown (the block breaks the line). Markers are not in the DOM: `setText` keeps the text
// as sent beside its element, for `textOf` (editing starts from it).

const URL_RE = /https?:\/\/[^\s<>"]+/iy;
const FENCE_RE = /```(?:([\w+#.-]+)\n|\n?)([\s\S]+?)\n?```\n?/g;
const WORD = /[\p{L}\p{N}_]/u;
const SPACE = /\s/;

/** A URL found in text, without punctuation that more likely ends the sentence. */
function trimUrl(url) {
  for (;;) {
    const last = url.at(-1);
    const unbalanced = (open, close) =>
      last === close && url.split(open).length < url.split(close).length;
    if ('.,:;!?\'*_'.includes(last) || unbalanced('(', ')') || unbalanced('[', ']')) {
      url = url.slice(0, -1);
    } else {
      return url;
    }
  }
}

const node = (tag, className, text) => {
  const n = document.createElement(tag);
  if (className) n.className = className;
  if (text) n.textContent = text;
  return n;
};

/** The http(s) URL starting at `at`, or ''. */
function urlAt(text, at) {
  if (!/h/i.test(text[at])) return '';
  URL_RE.lastIndex = at;
  const match = URL_RE.exec(text);
  const url = match ? trimUrl(match[0]) : '';
  return /^https?:\/\/./i.test(url) ? url : '';
}

/** The end of inline code starting at `at` (its closing backtick), or -1: code is
 * something other than spaces, on one line. */
function codeEnd(text, at) {
  if (text[at] !== '`') return -1;
  const end = text.indexOf('`', at + 1);
  const code = text.slice(at + 1, end);
  return end > 0 && /\S/.test(code) && !code.includes('\n') ? end : -1;
}

const opens = (text, at, mark) => {
  const before = text[at - 1];
  const after = text[at + 1];
  return after !== undefined && !SPACE.test(after) && after !== mark
    && !(before && (WORD.test(before) || before === mark));
};
const closes = (text, at, mark) => {
  const before = text[at - 1];
  const after = text[at + 1];
  return !SPACE.test(before) && before !== mark && !(after && (WORD.test(after) || after === mark));
};

/** Where the emphasis opened at `at` closes, or -1: code and links are skipped whole. */
function emphasisEnd(text, at) {
  const mark = text[at];
  if (!'*_'.includes(mark) || !opens(text, at, mark)) return -1;
  for (let i = at + 2; i < text.length && text[i] !== '\n'; i += 1) {
    const url = urlAt(text, i);
    const code = codeEnd(text, i);
    if (url) i += url.length - 1;
    else if (code > 0) i = code;
    else if (text[i] === mark && closes(text, i, mark)) return i;
  }
  return -1;
}

/** One run of text (no code blocks) into `out`: code, links, emphasis, text. */
function inline(text, out) {
  let plain = 0;
  const flush = (to) => { if (to > plain) out.append(text.slice(plain, to)); };
  for (let i = 0; i < text.length;) {
    const url = urlAt(text, i);
    const code = url ? -1 : codeEnd(text, i);
    const emphasis = url || code > 0 ? -1 : emphasisEnd(text, i);
    let end = -1;
    let made;
    if (url) {
      made = node('a', '', url);
      made.href = url;
      made.rel = 'noopener noreferrer nofollow';
      made.target = '_blank';
      end = i + url.length;
    } else if (code > 0) {
      made = node('code', '', text.slice(i + 1, code));
      end = code + 1;
    } else if (emphasis > 0) {
      made = node(text[i] === '*' ? 'strong' : 'em');
      inline(text.slice(i + 1, emphasis), made);
      end = emphasis + 1;
    }
    if (made) {
      flush(i);
      out.append(made);
      i = plain = end;
    } else {
      i += 1;
    }
  }
  flush(text.length);
}

/** A message's text as a fragment of formatted nodes. */
export function format(text) {
  const out = document.createDocumentFragment();
  let at = 0;
  for (const match of text.matchAll(FENCE_RE)) {
    const [whole, lang, body] = match;
    inline(text.slice(at, match.index).replace(/\n$/, ''), out);
    const pre = node('pre');
    pre.append(node('code', lang ? `language-${lang}` : '', body));
    out.append(pre);
    at = match.index + whole.length;
  }
  inline(text.slice(at), out);
  return out;
}

const sources = new WeakMap();

/** Shows `text` formatted in `element`, keeping the text as sent for `textOf`. */
export function setText(element, text) {
  sources.set(element, text);
  element.replaceChildren(format(text));
}

/** The text as sent that `element` shows (its text content if it was never formatted). */
export const textOf = (element) => sources.get(element) ?? element.textContent;

/** Formats every message text under `root`, once: the page's server-rendered history. */
export function formatAll(root) {
  for (const text of root.querySelectorAll('.msg .text')) setText(text, textOf(text));
}
