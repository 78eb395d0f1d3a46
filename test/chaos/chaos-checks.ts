// The invariants the chaos suite checks after its faults, as pure functions over what the test
// recorded: each returns the problems it found, worded so that a failure names the message,
// seq or delivery at fault. An empty list means the invariant held.
import type { Ack, Message } from '../../src/client/index.js';
import type { WebhookAttempt } from '../support/webhook-receiver.js';

/** How many problems one check lists before it says how many more there were. */
const MAX_LISTED = 12;

/** `problems` cut to `MAX_LISTED`, with a last line counting the rest. */
export function listed(problems: readonly string[]): string[] {
  if (problems.length <= MAX_LISTED) return [...problems];
  return [...problems.slice(0, MAX_LISTED), `… and ${problems.length - MAX_LISTED} more`];
}

function where(m: Pick<Message, 'channel' | 'seq' | 'id'>): string {
  return `${m.channel}#${m.seq} (id ${m.id})`;
}

/**
 * Checks one channel's history as read back through a node: seq 1, 2, 3… with no gap and no
 * repeat, every id once, and every (sender, client_msg_id) once.
 */
export function checkChannelHistory(channel: string, stored: readonly Message[]): string[] {
  const problems: string[] = [];
  const ids = new Map<string, Message>();
  const keys = new Map<string, Message>();
  stored.forEach((m, i) => {
    if (m.channel !== channel) problems.push(`${where(m)} came back in the history of ${channel}`);
    // Each seq follows the one before it (1 first): a gap or a repeat is reported once, where it is.
    const before = stored[i - 1];
    const due = (before?.seq ?? 0) + 1;
    if (m.seq !== due)
      problems.push(
        `${channel}: position ${i + 1} holds seq ${m.seq} (id ${m.id}) after ${before === undefined ? 'nothing' : `seq ${before.seq}`}: ${m.seq > due ? `a gap (seq ${due === m.seq - 1 ? due : `${due}-${m.seq - 1}`} missing)` : 'a repeat or disorder'}`,
      );
    const twin = ids.get(m.id);
    if (twin !== undefined) problems.push(`id ${m.id} stored twice: ${where(twin)} and ${where(m)}`);
    ids.set(m.id, m);
    if (m.client_msg_id !== null) {
      const key = `${m.user_id}/${m.client_msg_id}`;
      const same = keys.get(key);
      if (same !== undefined)
        problems.push(
          `client_msg_id ${m.client_msg_id} of ${m.user_id} stored twice: ${where(same)} and ${where(m)}`,
        );
      keys.set(key, m);
    }
  });
  return problems;
}

/** An acked publish and who made it. */
export interface AckedPublish {
  readonly publisher: string;
  readonly ack: Ack;
}

/**
 * Checks that every ack names a stored message of its channel with its seq and client_msg_id,
 * and that no message was acked to two different publishes.
 */
export function checkAcksStored(
  acked: readonly AckedPublish[],
  storedByChannel: ReadonlyMap<string, readonly Message[]>,
): string[] {
  const problems: string[] = [];
  const byId = new Map<string, Message>();
  for (const messages of storedByChannel.values()) for (const m of messages) byId.set(m.id, m);
  const ackedIds = new Map<string, AckedPublish>();
  for (const a of acked) {
    const { ack } = a;
    const m = byId.get(ack.id);
    const what = `${a.publisher}'s ack of client_msg_id ${ack.client_msg_id} (${ack.channel}#${ack.seq}, id ${ack.id})`;
    if (m === undefined) {
      problems.push(`${what}: no such message in the history`);
      continue;
    }
    if (m.channel !== ack.channel || m.seq !== ack.seq)
      problems.push(`${what}: the history has it as ${where(m)}`);
    if (m.client_msg_id !== ack.client_msg_id)
      problems.push(`${what}: stored with client_msg_id ${m.client_msg_id}`);
    const other = ackedIds.get(ack.id);
    if (other !== undefined && other.ack.client_msg_id !== ack.client_msg_id)
      problems.push(`${what}: the same id was acked to client_msg_id ${other.ack.client_msg_id}`);
    ackedIds.set(ack.id, a);
  }
  return problems;
}

/**
 * Checks what one subscriber received on one channel against the stored history: every stored
 * message, in seq order, each once, the same message (id, text, sender, time) as stored.
 */
export function checkReceived(
  subscriber: string,
  channel: string,
  stored: readonly Message[],
  received: readonly Message[],
): string[] {
  const problems: string[] = [];
  const who = `${subscriber} on ${channel}`;
  const bySeq = new Map(stored.map((m) => [m.seq, m]));
  const seen = new Map<number, number>();
  let previous = 0;
  received.forEach((m, i) => {
    if (m.seq <= previous)
      problems.push(
        `${who}: got seq ${m.seq} (id ${m.id}) at position ${i + 1}, after seq ${previous}: ${seen.has(m.seq) ? 'a duplicate' : 'out of order'}`,
      );
    previous = Math.max(previous, m.seq);
    seen.set(m.seq, (seen.get(m.seq) ?? 0) + 1);
    const want = bySeq.get(m.seq);
    if (want === undefined) {
      problems.push(`${who}: got seq ${m.seq} (id ${m.id}), which the history does not have`);
      return;
    }
    const differs = (['id', 'text', 'user_id', 'ts'] as const).filter((k) => m[k] !== want[k]);
    if (differs.length > 0)
      problems.push(
        `${who}: seq ${m.seq} differs from the history in ${differs.map((k) => `${k} (${String(m[k])} ≠ ${String(want[k])})`).join(', ')}`,
      );
  });
  const missing = stored.filter((m) => !seen.has(m.seq));
  if (missing.length > 0) problems.push(`${who}: never got ${missing.length} stored: ${runsOf(missing)}`);
  return problems;
}

/** `seq 3-7 (ids …), seq 12 (id …)`: consecutive seqs merged, for readable gap reports. */
function runsOf(messages: readonly Message[]): string {
  const runs: Message[][] = [];
  for (const m of messages) {
    const run = runs.at(-1);
    if (run !== undefined && run.at(-1)!.seq + 1 === m.seq) run.push(m);
    else runs.push([m]);
  }
  const shown = runs.slice(0, 8).map((r) => {
    const first = r[0]!;
    const last = r.at(-1)!;
    return r.length === 1
      ? `seq ${first.seq} (id ${first.id})`
      : `seq ${first.seq}-${last.seq} (ids ${first.id}…${last.id})`;
  });
  return `${shown.join(', ')}${runs.length > 8 ? `, and ${runs.length - 8} more runs` : ''}`;
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [value]);
  else list.push(value);
}

interface MessageEvent {
  readonly id: string;
  readonly data: { readonly message: Pick<Message, 'id' | 'channel' | 'seq'> };
}

/**
 * Checks the `message.created` deliveries against the stored messages: each stored message has
 * exactly one delivery id, kept by every attempt (same body), and at least one attempt of it
 * was accepted; no delivery names a message that is not stored.
 */
export function checkMessageWebhooks(
  stored: readonly Message[],
  attempts: readonly WebhookAttempt[],
): string[] {
  const problems: string[] = [];
  const deliveriesOf = new Map<string, string[]>();
  const attemptsOf = new Map<string, WebhookAttempt[]>();
  const messageOf = new Map<string, string>();
  for (const a of attempts) {
    if (a.type !== 'message.created') continue;
    let event: MessageEvent;
    try {
      event = JSON.parse(a.body) as MessageEvent;
    } catch {
      problems.push(`delivery ${a.deliveryId} attempt ${a.attempt}: the body is not JSON`);
      continue;
    }
    const id = event.data.message.id;
    if (event.id !== a.deliveryId)
      problems.push(
        `delivery ${a.deliveryId} attempt ${a.attempt}: X-Parley-Delivery differs from the body's id ${event.id}`,
      );
    const named = messageOf.get(a.deliveryId);
    if (named !== undefined && named !== id)
      problems.push(`delivery ${a.deliveryId} named message ${named}, then ${id} on attempt ${a.attempt}`);
    messageOf.set(a.deliveryId, id);
    push(deliveriesOf, id, a.deliveryId);
    push(attemptsOf, id, a);
  }
  const storedIds = new Set(stored.map((m) => m.id));
  for (const m of stored) {
    const ids = new Set(deliveriesOf.get(m.id));
    const tried = attemptsOf.get(m.id) ?? [];
    if (ids.size === 0) {
      problems.push(`message.created of ${where(m)}: never attempted`);
      continue;
    }
    if (ids.size > 1)
      problems.push(
        `message.created of ${where(m)}: ${ids.size} delivery ids (${[...ids].join(', ')}), not one kept across attempts`,
      );
    if (!tried.some((a) => a.status >= 200 && a.status < 300))
      problems.push(
        `message.created of ${where(m)}: never accepted; attempts ${tried.map((a) => `#${a.attempt} → ${a.status}`).join(', ')}`,
      );
  }
  for (const [id, ids] of deliveriesOf)
    if (!storedIds.has(id))
      problems.push(`message.created for ${id} (delivery ${[...ids].join(', ')}), which is not stored`);
  return problems;
}

/** One accepted `user.online` / `user.offline` event. */
export interface PresenceTransition {
  readonly deliveryId: string;
  readonly type: 'user.online' | 'user.offline';
  readonly userId: string;
  /** The event's `created_at` (ms). */
  readonly at: number;
}

/**
 * The accepted `user.online` / `user.offline` events, each event once however often it was
 * delivered, per user in the order they happened (`created_at`), not the order retries
 * happened to be accepted in.
 */
export function presenceTransitions(attempts: readonly WebhookAttempt[]): Map<string, PresenceTransition[]> {
  const seen = new Set<string>();
  const all: PresenceTransition[] = [];
  for (const a of attempts) {
    if (a.type !== 'user.online' && a.type !== 'user.offline') continue;
    if (a.status < 200 || a.status > 299 || seen.has(a.deliveryId)) continue;
    seen.add(a.deliveryId);
    const event = JSON.parse(a.body) as { created_at: number; data: { user: { id: string } } };
    all.push({ deliveryId: a.deliveryId, type: a.type, userId: event.data.user.id, at: event.created_at });
  }
  all.sort((x, y) => x.at - y.at);
  const byUser = new Map<string, PresenceTransition[]>();
  for (const t of all) push(byUser, t.userId, t);
  return byUser;
}

/**
 * Checks the online/offline events of users whose connections the test controlled, all closed
 * by now: each user's events alternate online, offline, online… starting with online and
 * ending with offline. `describeTime` turns a timestamp into words (e.g. relative to the faults).
 */
export function checkPresence(
  users: readonly string[],
  transitions: ReadonlyMap<string, readonly PresenceTransition[]>,
  describeTime: (at: number) => string,
): string[] {
  const problems: string[] = [];
  for (const user of users) {
    const events = transitions.get(user) ?? [];
    const story = events
      .map((e) => `${e.type === 'user.online' ? 'online' : 'offline'} ${describeTime(e.at)}`)
      .join(', ');
    if (events.length === 0) {
      problems.push(`${user}: no user.online or user.offline accepted at all`);
      continue;
    }
    const wrong = events.findIndex((e, i) => e.type !== (i % 2 === 0 ? 'user.online' : 'user.offline'));
    if (wrong !== -1) {
      const e = events[wrong]!;
      problems.push(
        `${user}: event ${wrong + 1} is ${e.type} (delivery ${e.deliveryId}) where ${wrong % 2 === 0 ? 'user.online' : 'user.offline'} was due; all: ${story}`,
      );
    } else if (events.at(-1)!.type !== 'user.offline') {
      problems.push(`${user}: still online after every connection closed; all: ${story}`);
    }
  }
  return problems;
}
