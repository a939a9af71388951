// The captured blocks of the docs: output a real cluster gave, kept between markers in the pages so
// it stays true (`npm run docs:capture` rewrites them). Pure: finding, rewriting and checking
// blocks; running them is scripts/docs/capture.ts.
//
//   <!-- capture: experiment 01-sync-vs-async -->     the whole output of scripts/experiments/01-….sh
//   ```text
//   …
//   ```
//   <!-- /capture -->
//
//   <!-- capture: session first-session -->           commands (`$ …`) and comments (`# …`) stay;
//   ```console                                         everything else is the output of the command
//   $ curl -s http://127.0.0.1:7000/cluster            above it, rewritten at each capture
//   …
//   ```
//   <!-- /capture -->

export type BlockKind = 'experiment' | 'session';

export interface CapturedBlock {
  kind: BlockKind;
  name: string;
  // The fence's language and the lines between the fences.
  fence: string;
  lines: string[];
  // Offsets of the whole block (markers included) in the page.
  start: number;
  end: number;
}

const BLOCK = /<!-- capture: (experiment|session) ([A-Za-z0-9._-]+) -->\n```([a-z]*)\n([\s\S]*?)```\n<!-- \/capture -->/g;

export function findBlocks(markdown: string): CapturedBlock[] {
  const blocks: CapturedBlock[] = [];
  for (const match of markdown.matchAll(BLOCK)) {
    const body = match[4] as string;
    blocks.push({
      kind: match[1] as BlockKind,
      name: match[2] as string,
      fence: match[3] as string,
      lines: body === '' ? [] : body.replace(/\n$/, '').split('\n'),
      start: match.index as number,
      end: (match.index as number) + match[0].length,
    });
  }
  return blocks;
}

// Opening markers that findBlocks did not take (a broken fence or a missing end marker).
export function brokenMarkers(markdown: string): number {
  const opened = [...markdown.matchAll(/<!-- capture: /g)].length;
  return opened - findBlocks(markdown).length;
}

export function renderBlock(block: Pick<CapturedBlock, 'kind' | 'name' | 'fence'>, lines: readonly string[]): string {
  const body = lines.length > 0 ? `${lines.join('\n')}\n` : '';
  return `<!-- capture: ${block.kind} ${block.name} -->\n\`\`\`${block.fence}\n${body}\`\`\`\n<!-- /capture -->`;
}

// The page with each block's lines replaced by `replacement(block)` (undefined: left as it is).
export function rewriteBlocks(markdown: string, replacement: (block: CapturedBlock) => string[] | undefined): string {
  let out = '';
  let at = 0;
  for (const block of findBlocks(markdown)) {
    const lines = replacement(block);
    out += markdown.slice(at, block.start) + (lines === undefined ? markdown.slice(block.start, block.end) : renderBlock(block, lines));
    at = block.end;
  }
  return out + markdown.slice(at);
}

// A session's script: its commands in order, comments and old output dropped.
export function sessionCommands(block: CapturedBlock): string[] {
  return block.lines.filter((line) => line.startsWith('$ ')).map((line) => line.slice(2));
}

// A session block's new lines: each comment that stood before a command, the command, its output.
export function sessionLines(block: CapturedBlock, outputs: readonly string[]): string[] {
  const lines: string[] = [];
  let command = 0;
  for (const line of block.lines) {
    if (line.startsWith('# ')) lines.push(line);
    if (!line.startsWith('$ ')) continue;
    lines.push(line);
    const output = (outputs[command] ?? '').replace(/\n+$/, '');
    if (output !== '') lines.push(...output.split('\n'));
    command++;
  }
  return lines;
}

// Rewrites what a capture on other ports and in temp dirs printed into what the default cluster
// prints: ports base..base+5 become 7000..7005, the temp dirs their usual names.
export function toDefaults(text: string, options: { portBase: number; dataRoot: string; experimentsOut: string }): string {
  let out = text.split(options.dataRoot).join('.data').split(options.experimentsOut).join('.experiments');
  for (let i = 0; i <= 5; i++) out = out.replace(new RegExp(`(127\\.0\\.0\\.1|localhost):${options.portBase + i}(?!\\d)`, 'g'), `$1:${7000 + i}`);
  return out;
}

// The opposite for the commands a session runs: the default ports become the capture's.
export function toCapturePorts(command: string, portBase: number): string {
  return command.replace(/(127\.0\.0\.1|localhost):700([0-5])(?!\d)/g, (_m, host: string, i: string) => `${host}:${portBase + Number(i)}`);
}
