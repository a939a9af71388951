// One JSON document per line, appended as the run goes, so a run that breaks half-way still leaves
// its history behind.

import { createWriteStream, type WriteStream } from 'node:fs';

export class JsonLines {
  private readonly stream: WriteStream;

  constructor(readonly path: string) {
    this.stream = createWriteStream(path, { flags: 'a' });
  }

  append(record: unknown): void {
    this.stream.write(`${JSON.stringify(record)}\n`);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.stream.end(resolve));
  }
}
