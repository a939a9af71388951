// One compose project of docker-compose.yml, under a name of its own: every command names the
// project, so the check never touches a participant's `mirrorlab` project (its containers,
// network and volumes), and builds an image tag of its own (MIRRORLAB_IMAGE), so neither project
// rebuilds the other's image.

import path from 'node:path';
import { mustRun, runCommand, type CommandResult } from './command.ts';

// Bounds of the compose commands. A first build runs `npm ci` in the image; the others are quick.
const BUILD_UP_TIMEOUT_MS = 600_000;
const COMMAND_TIMEOUT_MS = 120_000;
const INSPECT_TIMEOUT_MS = 30_000;

export interface ContainerState {
  service: string;
  id: string;
  created: string;
  startedAt: string;
  finishedAt: string;
  running: boolean;
  // healthy | unhealthy | starting | none
  health: string;
  image: string;
}

export class ComposeProject {
  readonly env: NodeJS.ProcessEnv;
  private readonly file: string;

  constructor(readonly repoRoot: string, readonly name: string, readonly image: string) {
    this.file = path.join(repoRoot, 'docker-compose.yml');
    this.env = { ...process.env, COMPOSE_PROJECT_NAME: name, MIRRORLAB_IMAGE: image };
    // A shell's compose settings would pick other files or profiles than the ones checked.
    delete this.env.COMPOSE_FILE;
    delete this.env.COMPOSE_PROFILES;
  }

  // `docker compose <args>` of this project; throws with its output unless it exits 0.
  run(args: readonly string[], timeoutMs = COMMAND_TIMEOUT_MS): Promise<CommandResult> {
    return mustRun('docker', this.composeArgs(args), { cwd: this.repoRoot, env: this.env, timeoutMs });
  }

  build(args: readonly string[]): Promise<CommandResult> {
    return this.run(args, BUILD_UP_TIMEOUT_MS);
  }

  // Like run, but never throws: for cleanup, which must go on whatever fails.
  tryRun(args: readonly string[]): Promise<CommandResult> {
    return runCommand('docker', this.composeArgs(args), { cwd: this.repoRoot, env: this.env, timeoutMs: COMMAND_TIMEOUT_MS });
  }

  // --ansi never: output read by a program and kept in files carries no terminal escapes.
  private composeArgs(args: readonly string[]): string[] {
    return ['compose', '--ansi', 'never', '-p', this.name, '-f', this.file, ...args];
  }

  // The resolved configuration (`docker compose config`), as compose will run it.
  async config(): Promise<any> {
    return JSON.parse((await this.run(['--profile', 'extra', 'config', '--format', 'json'])).stdout);
  }

  // Every container of the project, profiles included, by service.
  async containers(): Promise<Map<string, ContainerState>> {
    const ids = (await mustRun('docker', ['ps', '-a', '-q', '--filter', `label=com.docker.compose.project=${this.name}`], { timeoutMs: INSPECT_TIMEOUT_MS })).stdout.split('\n').filter(Boolean);
    const states = new Map<string, ContainerState>();
    if (ids.length === 0) return states;
    const inspected = JSON.parse((await mustRun('docker', ['inspect', ...ids], { timeoutMs: INSPECT_TIMEOUT_MS })).stdout) as any[];
    for (const c of inspected) {
      const service = c.Config.Labels['com.docker.compose.service'] as string;
      states.set(service, {
        service,
        id: c.Id,
        created: c.Created,
        startedAt: c.State.StartedAt,
        finishedAt: c.State.FinishedAt,
        running: c.State.Running,
        health: c.State.Health?.Status ?? 'none',
        image: c.Image,
      });
    }
    return states;
  }

  async volumes(): Promise<string[]> {
    const out = await mustRun('docker', ['volume', 'ls', '-q', '--filter', `label=com.docker.compose.project=${this.name}`], { timeoutMs: INSPECT_TIMEOUT_MS });
    return out.stdout.split('\n').filter(Boolean).sort();
  }
}

// Docker's RFC 3339 times carry nanoseconds; Date.parse wants at most milliseconds.
export function dockerTimeMs(time: string): number {
  const ms = Date.parse(time.replace(/(\.\d{3})\d+/, '$1'));
  if (Number.isNaN(ms)) throw new Error(`not a Docker time: ${time}`);
  return ms;
}
