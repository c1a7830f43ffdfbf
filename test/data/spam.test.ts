import { describe, expect, it } from 'vitest';
import { emailText, stripSubjectTags } from '../../src/data/email.js';
import { spamAssassinTask } from '../../src/data/spam.js';

describe('e-mail text', () => {
  it('keeps the Subject and body, drops the other headers', () => {
    const raw = [
      'From someone@example.com  Thu Aug 22 12:36:23 2002',
      'Received: from localhost (localhost [127.0.0.1])',
      '\tby phobos.labs.netnoteinc.com (Postfix)',
      'Subject: [ILUG] Re: [SAtalk] cheap',
      '  folded subject',
      'X-Spam-Status: No',
      '',
      'Hello   there,',
      'second line.',
      '',
      '_______________________________________________',
      'ILUG mailing list',
      'http://example.com/listinfo/ilug',
    ].join('\r\n');
    expect(emailText(raw)).toEqual({ subject: 'Re: cheap folded subject', body: 'Hello there, second line.' });
  });

  it('walks multipart messages: plain part of an alternative, base64 and quoted-printable decoded, HTML stripped, attachments skipped', () => {
    const raw = [
      'Subject: offer',
      'Content-Type: multipart/mixed; boundary="XX"',
      '',
      'preamble is ignored',
      '--XX',
      'Content-Type: multipart/alternative; boundary=YY',
      '',
      '--YY',
      'Content-Type: text/plain; charset=utf-8',
      'Content-Transfer-Encoding: base64',
      '',
      Buffer.from('Plain caf\u00e9 text').toString('base64'),
      '--YY',
      'Content-Type: text/html',
      '',
      '<p>html twin</p>',
      '--YY--',
      '--XX',
      'Content-Type: text/html; charset=iso-8859-1',
      'Content-Transfer-Encoding: quoted-printable',
      '',
      '<html><head><style>p{}</style></head><body><b>Buy</b>&nbsp;now =3D soft=',
      'break &amp; &#65;</body></html>',
      '--XX',
      'Content-Type: image/gif',
      'Content-Transfer-Encoding: base64',
      '',
      'R0lGODlhAQABAAAAACw=',
      '--XX--',
    ].join('\n');
    expect(emailText(raw)).toEqual({ subject: 'offer', body: 'Plain caf\u00e9 text Buy now = softbreak & A' });
  });

  it('strips list tags only from the reply prefix and cuts long bodies', () => {
    expect(stripSubjectTags('[zzzzteana] Nothing like mama used to make')).toBe('Nothing like mama used to make');
    expect(stripSubjectTags('Fwd: [Lockergnome Digital Media] Alarm [x]')).toBe('Fwd: Alarm [x]');
    expect(emailText(`Subject: s\n\n${'word '.repeat(2000)}`, 100).body).toHaveLength(100);
  });
});

describe('SpamAssassin task', () => {
  const task = spamAssassinTask({ seed: 11 });
  const splits = { train: task.train, dev: task.dev, test: task.test };

  it('labels ham and spam by collection, with no header lines left in the text', () => {
    expect(task.labels).toEqual(['ham', 'spam']);
    const all = [...task.train, ...task.dev, ...task.test];
    // 6,046 messages (4,150 ham, 1,896 spam) less 142 exact duplicates.
    expect(all.length).toBe(5904);
    for (const e of all) expect(e.label).toBe(e.group.startsWith('spam-') ? 1 : 0);
    expect(all.filter((e) => e.label === 1).length).toBe(1796);
    expect(task.description).toContain('142 exact duplicate texts');
    const headerish = all.filter((e) => /\b(Received|Return-Path|X-Spam-\w+|Message-Id): /i.test(e.text.slice(0, 300)));
    expect(headerish.length / all.length).toBeLessThan(0.01); // only quoted/forwarded mail keeps such lines
    expect(all.every((e) => e.text.length > 0 && !/\s\s/.test(e.text))).toBe(true);
  });

  it('splits by message 80/10/10, stratified, with no message or identical text in two splits', () => {
    const n = task.train.length + task.dev.length + task.test.length;
    expect(task.dev.length / n).toBeCloseTo(0.1, 2);
    expect(task.test.length / n).toBeCloseTo(0.1, 2);
    const spamShare = (xs: typeof task.train) => xs.filter((e) => e.label === 1).length / xs.length;
    expect(Math.abs(spamShare(task.dev) - spamShare(task.train))).toBeLessThan(0.01);
    const names = Object.keys(splits) as Array<keyof typeof splits>;
    for (const a of names) {
      for (const b of names) {
        if (a >= b) continue;
        const texts = new Set(splits[a].map((e) => e.text));
        const groups = new Set(splits[a].map((e) => e.group));
        expect(splits[b].some((e) => texts.has(e.text) || groups.has(e.group))).toBe(false);
      }
    }
    expect(task.description).toMatch(/train \d+ \(ham \d+, spam \d+\); dev \d+ \(ham \d+, spam \d+\); test \d+/);
  });

  it('is deterministic from the seed and caps splits on request', () => {
    expect(spamAssassinTask({ seed: 11 }).dev.map((e) => e.group)).toEqual(task.dev.map((e) => e.group));
    expect(spamAssassinTask({ seed: 12 }).dev.map((e) => e.group)).not.toEqual(task.dev.map((e) => e.group));
    const small = spamAssassinTask({ seed: 11, maxPerSplit: 40 });
    expect([small.train.length, small.dev.length, small.test.length]).toEqual([40, 40, 40]);
    const devGroups = new Set(task.dev.map((e) => e.group));
    expect(small.dev.every((e) => devGroups.has(e.group))).toBe(true);
    expect(small.description).toContain('at most 40 per split');
  });
});
