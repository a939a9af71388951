// Goal: the capture markers of the docs are found, rewritten and left alone exactly: a capture
// replaces what is between the fences and nothing else, a session keeps its commands and comments
// and takes new output under each command, and output from other ports reads as the defaults.

import { describe, expect, it } from 'vitest';
import { brokenMarkers, findBlocks, rewriteBlocks, sessionCommands, sessionLines, toCapturePorts, toDefaults } from '../../../scripts/docs/capture-blocks.ts';

const page = [
  '# A page',
  'before',
  '<!-- capture: experiment 01-x -->',
  '```text',
  'old output',
  '```',
  '<!-- /capture -->',
  'between',
  '<!-- capture: session s -->',
  '```console',
  '# say hello',
  '$ echo hello',
  'stale',
  '$ curl -s http://127.0.0.1:7001/status',
  '```',
  '<!-- /capture -->',
  'after',
  '',
].join('\n');

describe('capture blocks', () => {
  it('finds experiment and session blocks with their lines', () => {
    const blocks = findBlocks(page);
    expect(blocks.map((b) => [b.kind, b.name, b.fence])).toEqual([['experiment', '01-x', 'text'], ['session', 's', 'console']]);
    expect(blocks[0]?.lines).toEqual(['old output']);
    expect(sessionCommands(blocks[1] as never)).toEqual(['echo hello', 'curl -s http://127.0.0.1:7001/status']);
  });

  it('rewrites only the lines between the fences', () => {
    const next = rewriteBlocks(page, (b) => (b.kind === 'experiment' ? ['new', 'lines'] : undefined));
    expect(next).toBe(page.replace('old output', 'new\nlines'));
    expect(rewriteBlocks(next, () => undefined)).toBe(next);
  });

  it('puts each output under its command, keeps comments, drops stale output', () => {
    const session = findBlocks(page)[1];
    expect(sessionLines(session as never, ['hello\n', '{"id":"primary"}', ''])).toEqual(['# say hello', '$ echo hello', 'hello', '$ curl -s http://127.0.0.1:7001/status', '{"id":"primary"}']);
  });

  it('maps ports and temp dirs both ways', () => {
    expect(toCapturePorts('curl http://127.0.0.1:7001/kv/a http://localhost:7005 http://127.0.0.1:70010', 31000)).toBe('curl http://127.0.0.1:31001/kv/a http://localhost:31005 http://127.0.0.1:70010');
    expect(toDefaults('at http://127.0.0.1:31002 and 127.0.0.1:310020, data /tmp/d/mirror, out /tmp/o/x', { portBase: 31000, dataRoot: '/tmp/d', experimentsOut: '/tmp/o' })).toBe('at http://127.0.0.1:7002 and 127.0.0.1:310020, data .data/mirror, out .experiments/x');
  });

  it('counts a marker without its end or fence as broken', () => {
    expect(brokenMarkers(page)).toBe(0);
    expect(brokenMarkers(`${page}<!-- capture: session t -->\n\`\`\`console\n$ echo\n`)).toBe(1);
  });
});
