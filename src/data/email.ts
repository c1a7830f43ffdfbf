/**
 * Turning a raw RFC 822 e-mail into classifier input: the Subject plus the readable body. All other
 * headers are dropped: they make spam detection trivial (relays, dates, list headers) and carry the
 * corpus's own collection artefacts rather than anything a model should learn.
 *
 * Deliberately small: MIME multipart is walked (text parts only; in multipart/alternative the plain
 * part is preferred), base64 and quoted-printable text parts are decoded with Node's built-ins
 * (as UTF-8 when the part says so, else Latin-1), HTML tags are stripped and a few entities decoded.
 * No charset tables, no RFC 2047 encoded-word decoding of the Subject.
 */

export interface ParsedPart {
  /** Lower-cased header name -> unfolded value (first occurrence). */
  headers: Map<string, string>;
  body: string;
}

function parsePart(raw: string): ParsedPart {
  const text = raw.replace(/\r\n?/g, '\n');
  const split = text.indexOf('\n\n');
  const head = split < 0 ? text : text.slice(0, split);
  const body = split < 0 ? '' : text.slice(split + 2);
  const headers = new Map<string, string>();
  let name = '';
  for (const line of head.split('\n')) {
    if (/^[ \t]/.test(line) && name) {
      headers.set(name, `${headers.get(name)} ${line.trim()}`);
      continue;
    }
    const m = /^([!-9;-~]+):\s?(.*)$/.exec(line);
    name = '';
    if (!m) continue; // e.g. the mbox "From addr date" line
    const key = m[1].toLowerCase();
    if (headers.has(key)) continue;
    headers.set(key, m[2].trim());
    name = key;
  }
  return { headers, body };
}

/**
 * The Subject line and the readable body, whitespace collapsed; the body is cut to `maxBodyChars`.
 * Mailing-list artefacts are removed too, for the same reason as the headers: leading subject tags
 * such as "[SAtalk]" (on ~40% of the corpus's easy ham) and Mailman footers.
 */
export function emailText(raw: string, maxBodyChars = 4000): { subject: string; body: string } {
  const msg = parsePart(raw);
  const subject = collapse(stripSubjectTags(msg.headers.get('subject') ?? ''));
  const body = collapse(stripListFooter(partText(msg, 0)));
  return { subject, body: body.length > maxBodyChars ? body.slice(0, maxBodyChars) : body };
}

/** "Re: [ILUG] Re: [SAtalk] foo" -> "Re: Re: foo": bracketed tags in the reply/forward prefix. */
export function stripSubjectTags(subject: string): string {
  let rest = subject.trim();
  let kept = '';
  for (;;) {
    const m = /^((?:re|fwd?|aw)\s*:\s*)?\[[^\]]{1,40}\]\s*/i.exec(rest);
    if (m) {
      kept += m[1] ?? '';
      rest = rest.slice(m[0].length);
      continue;
    }
    const prefix = /^(?:re|fwd?|aw)\s*:\s*/i.exec(rest);
    if (!prefix) return kept + rest;
    kept += prefix[0];
    rest = rest.slice(prefix[0].length);
  }
}

/** Drops a Mailman footer (a rule of underscores, then "... mailing list ...") and what follows. */
function stripListFooter(text: string): string {
  return text.replace(/\n_{20,}\n[^\n]*(?:mailing list|listinfo)[\s\S]*$/i, '\n');
}

function partText(part: ParsedPart, depth: number): string {
  const type = (part.headers.get('content-type') ?? 'text/plain').toLowerCase();
  const mime = type.split(';')[0].trim();
  if (mime.startsWith('multipart/') && depth < 8) {
    const boundary = /boundary\s*=\s*(?:"([^"]+)"|([^\s;]+))/i.exec(part.headers.get('content-type') ?? '');
    if (boundary) {
      const parts = splitMultipart(part.body, boundary[1] ?? boundary[2]).map(parsePart);
      if (mime === 'multipart/alternative') {
        const plain = parts.find((p) => partMime(p) === 'text/plain');
        const chosen = plain ?? parts[parts.length - 1];
        return chosen ? partText(chosen, depth + 1) : '';
      }
      return parts
        .map((p) => partText(p, depth + 1))
        .filter(Boolean)
        .join(' ');
    }
  }
  if (mime.startsWith('multipart/') || mime === 'text/plain' || mime === 'text/html' || mime === 'text' || mime === '') {
    const decoded = decodeBody(part.body, part.headers.get('content-transfer-encoding') ?? '', type);
    return mime === 'text/html' || /<html|<body|<p>|<br/i.test(decoded.slice(0, 2000)) ? stripHtml(decoded) : decoded;
  }
  return ''; // attachments: images, applications, other text types (calendars, vcards…)
}

function partMime(p: ParsedPart): string {
  return (p.headers.get('content-type') ?? 'text/plain').toLowerCase().split(';')[0].trim();
}

/** The parts between `--boundary` lines, up to the closing `--boundary--`. */
function splitMultipart(body: string, boundary: string): string[] {
  const parts: string[] = [];
  let current: string[] | undefined;
  for (const line of body.split('\n')) {
    const t = line.trimEnd();
    if (t === `--${boundary}`) {
      if (current) parts.push(current.join('\n'));
      current = [];
    } else if (t === `--${boundary}--`) {
      if (current) parts.push(current.join('\n'));
      return parts;
    } else if (current) current.push(line);
  }
  if (current && current.length > 0) parts.push(current.join('\n')); // unterminated: keep what is there
  return parts;
}

function decodeBody(body: string, encoding: string, contentType: string): string {
  const enc = encoding.toLowerCase().trim();
  const charset = /charset\s*=\s*"?utf-?8/i.test(contentType) ? 'utf8' : 'latin1';
  if (enc === 'base64') return Buffer.from(body.replace(/[^A-Za-z0-9+/=]/g, ''), 'base64').toString(charset);
  if (enc === 'quoted-printable') {
    const bytes = body.replace(/=\n/g, '').replace(/=([0-9A-Fa-f]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
    return Buffer.from(bytes, 'latin1').toString(charset);
  }
  return body;
}

const ENTITIES: Record<string, string> = { nbsp: ' ', amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", copy: '©', reg: '®' };

function stripHtml(html: string): string {
  return html
    .replace(/<!--[\s\S]*?-->/g, ' ')
    .replace(/<(style|script|head)\b[\s\S]*?<\/\1\s*>/gi, ' ')
    .replace(/<[^>]*>/g, ' ')
    .replace(/&(#\d+|#x[0-9a-f]+|[a-z]+);/gi, (m, e: string) => {
      if (e[0] === '#') {
        const code = e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
        return code > 0 && code < 0x110000 ? String.fromCodePoint(code) : ' ';
      }
      return ENTITIES[e.toLowerCase()] ?? m;
    });
}

function collapse(s: string): string {
  return s.replace(/\s+/g, ' ').trim();
}
