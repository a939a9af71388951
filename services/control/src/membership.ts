// The members of the cluster: the data nodes of PEERS, and every node that registered itself
// later (POST /internal/members, sent by a node that starts with CONTROL_URL set). `peers` is the
// one live list: every module that talks to the nodes (the view, fault delivery, the witness, the
// levers) reads it on each use, so a new member is polled, gets the fault rules, is a valid fault
// name and copy from its registration on. Registered members are persisted in
// DATA_DIR/members.json (written atomically, shared/atomic-file.ts) so a control restart keeps them. Members
// are never dropped by themselves: a member that is down shows as unreachable, like a PEERS entry.

import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../../../shared/atomic-file.ts';
import path from 'node:path';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { bodySchema, checkClusterSecret, refuseOtherMethods } from '../../../shared/http-server.ts';
import { HEADER_NODE_ID } from '../../../shared/protocol.ts';
import type { Peer } from './config.ts';
import { badMemberError, tooManyMembersError } from './errors.ts';

export interface Registration {
  id: string;
  url: string;
  publicUrl: string;
  region: string;
  role: string;
  filter: string;
}

const ID_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;
const TEXT_CHARS_MAX = 256;

export class Membership {
  // The live list, in order: PEERS first, then registrations in the order they came.
  readonly peers: Peer[];
  private readonly configured: Set<string>;
  private readonly registered = new Map<string, Registration>();
  private writing: Promise<void> = Promise.resolve();

  constructor(private readonly options: { configured: readonly Peer[]; dataDir: string; membersMax: number; logger: Logger }) {
    this.peers = options.configured.map((p) => ({ ...p }));
    this.configured = new Set(options.configured.map((p) => p.id));
  }

  private get file(): string {
    return path.join(this.options.dataDir, 'members.json');
  }

  // Reads the registrations of an earlier run. Called once at boot, before the first poll.
  async load(): Promise<void> {
    let saved: Registration[];
    try {
      saved = JSON.parse(await readFile(this.file, 'utf8')) as Registration[];
    } catch (error) {
      if ((error as { code?: string }).code !== 'ENOENT') this.options.logger.warn({ err: error }, 'members.json is unreadable; starting with PEERS only');
      return;
    }
    for (const entry of Array.isArray(saved) ? saved : []) {
      if (registrationProblems(entry).length === 0 && this.peers.length < this.options.membersMax) this.apply(entry);
    }
    this.options.logger.info({ members: this.peers.map((p) => p.id) }, 'members restored');
  }

  // Takes a node's registration; `sender` is the id its request was authenticated as. Returns
  // whether the node is new to control.
  async register(sender: string, body: unknown): Promise<{ member: Peer; joined: boolean }> {
    const problems = registrationProblems(body);
    const entry = body as Registration;
    if (problems.length === 0 && entry.id !== sender) problems.push(`id "${entry.id}" is not the sender "${sender}"`);
    if (problems.length > 0) throw badMemberError(problems);
    const joined = !this.peers.some((p) => p.id === entry.id);
    if (joined && this.peers.length >= this.options.membersMax) {
      throw tooManyMembersError(this.options.membersMax);
    }
    const member = this.apply(entry);
    await this.persist();
    if (joined) this.options.logger.info({ member: entry.id, url: entry.url, region: entry.region }, `member joined: ${entry.id} at ${entry.url}`);
    return { member, joined };
  }

  // Every member's URLs, for the witness's view: nodes merge them into their peers.
  urls(): Record<string, { url: string; publicUrl: string }> {
    return Object.fromEntries(this.peers.map((p) => [p.id, { url: p.url, publicUrl: p.publicUrl ?? p.url }]));
  }

  describe() {
    return this.peers.map((p) => ({ ...p, source: this.configured.has(p.id) ? 'peers' : 'registered', ...(this.registered.get(p.id) ?? {}), url: p.url }));
  }

  // A PEERS entry keeps its URL (the operator's word for how control reaches it); a registered
  // member's URL is what it said.
  private apply(entry: Registration): Peer {
    this.registered.set(entry.id, entry);
    let member = this.peers.find((p) => p.id === entry.id);
    if (!member) {
      member = { id: entry.id, url: entry.url };
      this.peers.push(member);
    } else if (!this.configured.has(entry.id)) {
      member.url = entry.url;
    }
    member.publicUrl = entry.publicUrl;
    member.region = entry.region;
    return member;
  }

  private async persist(): Promise<void> {
    const entries = [...this.registered.values()];
    const write = this.writing.then(async () => {
      await writeFileAtomic(this.file, JSON.stringify(entries, null, 2));
    });
    this.writing = write.catch((error) => this.options.logger.error({ err: error }, 'cannot persist the members'));
    await this.writing;
  }
}

function registrationProblems(body: unknown): string[] {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return ['send {"id","url","publicUrl","region","role","filter"}'];
  const b = body as Record<string, unknown>;
  const problems: string[] = [];
  if (typeof b.id !== 'string' || !ID_PATTERN.test(b.id)) problems.push('id must be lower-case letters, digits and dashes');
  for (const field of ['url', 'publicUrl']) if (!isHttpUrl(b[field])) problems.push(`${field} must be an http:// or https:// URL`);
  for (const field of ['region', 'role', 'filter']) {
    if (typeof b[field] !== 'string' || (b[field] as string).length > TEXT_CHARS_MAX) problems.push(`${field} must be a string of at most ${TEXT_CHARS_MAX} characters`);
  }
  return problems;
}

function isHttpUrl(value: unknown): boolean {
  if (typeof value !== 'string') return false;
  try {
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname.length > 0;
  } catch {
    return false;
  }
}

// What a node sends (services/node/src/membership.ts); the values are checked by register().
const TEXT = { type: 'string', maxLength: TEXT_CHARS_MAX } as const;
const registrationBody = bodySchema(
  { type: 'object', additionalProperties: false, required: ['id', 'url', 'publicUrl', 'region', 'role', 'filter'], properties: { id: TEXT, url: TEXT, publicUrl: TEXT, region: TEXT, role: TEXT, filter: TEXT } },
  '{"id","url","publicUrl","region","role","filter"}',
);

// POST /internal/members (a node registers; the cluster secret and the sender's id) and
// GET /cluster/members (who control knows, and what each said about itself).
export function registerMemberRoutes(
  app: FastifyInstance,
  ctx: { members: Membership; secret: string; witness: () => { epoch: number; primaryId: string | null; mirrorId: string | null }; emit: (type: string, fields: Record<string, unknown>) => void },
): void {
  // The secret is checked before the body is parsed, as on every internal route.
  const onRequest = async (request: FastifyRequest) => {
    const refusal = checkClusterSecret(request, ctx.secret);
    if (refusal) throw refusal;
  };
  app.post('/internal/members', { onRequest, ...registrationBody }, async (request) => {
    const sender = request.headers[HEADER_NODE_ID] as string;
    const { member, joined } = await ctx.members.register(sender, request.body);
    if (joined) ctx.emit('member-joined', { nodeId: member.id, url: member.url, region: member.region });
    // The node learns the slot's holder at once: one started with ROLE=mirror logs why it serves
    // as a replica when another node holds the one mirror slot.
    return { member, joined, members: ctx.members.urls(), ...ctx.witness() };
  });
  refuseOtherMethods(app, '/internal/members', ['POST']);
  app.get('/cluster/members', async () => ({ members: ctx.members.describe() }));
  refuseOtherMethods(app, '/cluster/members', ['GET']);
}
