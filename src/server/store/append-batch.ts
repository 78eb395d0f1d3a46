import { randomFillSync } from 'node:crypto';
import { v7 as uuidv7 } from 'uuid';
import { ParleyError } from '../../protocol/error-catalogue.js';
import type { Message } from '../../protocol/frames.js';
import type { NewMessageRow } from './message-row.js';
import type { AppendResult, NewMessage } from './store.js';
import { messageWebhooks, type NewWebhookRow, type WebhookRouting, webhookRow } from './webhook-rows.js';

/** A (sender, client id) pair whose stored message makes an append a duplicate. */
export interface ClientId {
  readonly userId: string;
  readonly clientMsgId: string;
}

/** One channel's share of an `AppendBatch`. */
export interface AppendChannel {
  readonly id: string;
  /** The distinct client ids its items carry, to look up what is already stored. */
  readonly clientIds: readonly ClientId[];
  /** Its items, as indexes into the batch, in push order. */
  readonly items: readonly number[];
}

/** Options of an `AppendBatch`. */
export interface AppendBatchOptions {
  /** The commit time, every message's `ts`. */
  readonly ts: number;
  /**
   * The key under which two client ids count as the same within one channel (the dialect's
   * comparison; see `KyselyStore`).
   */
  readonly clientKey: (userId: string, clientMsgId: string) => string;
  /** Where `message.created` webhooks go: each new message adds its outbox rows. */
  readonly webhooks?: WebhookRouting | undefined;
}

/**
 * The key of a (user, client id) pair under exact string comparison (SQLite, PostgreSQL): see
 * `AppendBatchOptions.clientKey`.
 */
export function exactClientKey(userId: string, clientMsgId: string): string {
  return `${userId}\u0000${clientMsgId}`;
}

/**
 * The decisions of one group-commit transaction, whatever runs its SQL. Per channel of
 * `channels`, in order, the transaction looks up the messages already stored under the
 * channel's `clientIds`, hands them to `dedupe`, and, when that returns n > 0, raises the
 * channel's `last_seq` by n and hands the new value to `assign`; then it inserts `rows` (and
 * `webhookRows`, the outbox rows of their webhooks) and resolves with `results()`.
 *
 * Channels come in code-point order, the same in every process, so two processes lock channel
 * rows in the same order and cannot deadlock. A client id retried within the batch, or already
 * stored, yields the stored message with `duplicate: true`; every other item gets the next seq
 * in push order.
 */
export class AppendBatch {
  /** The batch's channels, in code-point order of their ids. */
  readonly channels: readonly AppendChannel[];
  /** The rows to insert, filled by `assign`. */
  readonly rows: NewMessageRow[] = [];
  /** The outbox rows of the new messages' webhooks, filled by `assign` (with `webhooks` only). */
  readonly webhookRows: NewWebhookRow[] = [];
  readonly #items: readonly NewMessage[];
  readonly #options: AppendBatchOptions;
  readonly #results: (AppendResult | Error | undefined)[];
  /** What `dedupe` decided for the channel `assign` comes next for. */
  #plan:
    | {
        readonly channel: AppendChannel;
        /** The items that get seqs, in push order. */
        readonly fresh: readonly number[];
        /** Per client id first seen in this batch: that item, then the items that repeat it. */
        readonly sameClientId: readonly (readonly number[])[];
      }
    | undefined;

  constructor(items: readonly NewMessage[], options: AppendBatchOptions) {
    this.#items = items;
    this.#options = options;
    this.#results = new Array(items.length);
    const byChannel = new Map<string, { items: number[]; clientIds: Map<string, ClientId> }>();
    items.forEach((item, i) => {
      let channel = byChannel.get(item.channelId);
      if (channel === undefined) {
        channel = { items: [], clientIds: new Map() };
        byChannel.set(item.channelId, channel);
      }
      channel.items.push(i);
      if (item.clientMsgId !== null) {
        const key = options.clientKey(item.userId, item.clientMsgId);
        if (!channel.clientIds.has(key))
          channel.clientIds.set(key, { userId: item.userId, clientMsgId: item.clientMsgId });
      }
    });
    this.channels = [...byChannel]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([id, channel]) => ({ id, items: channel.items, clientIds: [...channel.clientIds.values()] }));
  }

  /**
   * Marks the items of `channel` whose client id is among `stored` (the channel's messages
   * found under its `clientIds`; others are ignored) or repeats an earlier item of the batch as
   * duplicates, and returns how many seqs the rest need.
   */
  dedupe(channel: AppendChannel, stored: Iterable<Message>): number {
    const { clientKey } = this.#options;
    const earlier = new Map<string, Message>();
    for (const message of stored) {
      if (message.client_msg_id !== null)
        earlier.set(clientKey(message.user_id, message.client_msg_id), message);
    }
    const fresh: number[] = [];
    const firstInBatch = new Map<string, number[]>();
    const sameClientId: number[][] = [];
    for (const i of channel.items) {
      const item = this.#items[i] as NewMessage;
      if (item.clientMsgId === null) {
        fresh.push(i);
        continue;
      }
      const key = clientKey(item.userId, item.clientMsgId);
      const found = earlier.get(key);
      const same = firstInBatch.get(key);
      if (found !== undefined) this.#results[i] = { message: found, duplicate: true };
      else if (same !== undefined) same.push(i);
      else {
        const group = [i];
        firstInBatch.set(key, group);
        sameClientId.push(group);
        fresh.push(i);
      }
    }
    this.#plan = { channel, fresh, sameClientId };
    return fresh.length;
  }

  /**
   * Gives the items `dedupe(channel, …)` left fresh the seqs `lastSeq - n + 1 … lastSeq`, in
   * push order, and adds their rows; `lastSeq` undefined means the channel does not exist, and
   * rejects all of its items with `not_found`.
   */
  assign(channel: AppendChannel, lastSeq: number | undefined): void {
    const plan = this.#plan;
    if (plan?.channel !== channel) throw new Error(`assign(${channel.id}) without dedupe first`);
    this.#plan = undefined;
    if (lastSeq === undefined) {
      for (const i of channel.items)
        this.#results[i] = new ParleyError('not_found', `channel ${channel.id} does not exist`);
      return;
    }
    const { ts } = this.#options;
    let seq = lastSeq - plan.fresh.length + 1;
    const ids = messageIds(plan.fresh.length, ts);
    for (const [n, i] of plan.fresh.entries()) {
      const item = this.#items[i] as NewMessage;
      const message = newMessage(item, ids[n] as string, seq++, ts);
      this.rows.push({
        id: message.id,
        channel_id: channel.id,
        seq: message.seq,
        user_id: message.user_id,
        username: message.username,
        text: message.text,
        timestamp: ts,
        client_msg_id: message.client_msg_id,
        reply_to: item.replyTo ?? null,
        event: item.event ?? null,
      });
      this.#results[i] = { message, duplicate: false };
      if (this.#options.webhooks !== undefined) {
        for (const webhook of messageWebhooks(this.#options.webhooks, message, ts))
          this.webhookRows.push(webhookRow(webhook));
      }
    }
    for (const [first, ...again] of plan.sameClientId) {
      const original = this.#results[first as number] as AppendResult;
      for (const i of again) this.#results[i] = { message: original.message, duplicate: true };
    }
  }

  /** One result per item, in the items' order: what the batch resolves with once committed. */
  results(): (AppendResult | Error)[] {
    return this.#results.map((result) => result ?? new Error('append batch left an item without a result'));
  }
}

/**
 * The message an append of `item` stores as `id` and `seq` at `ts`: what `AppendBatch` builds,
 * and what a thread that sent `item` to another to be committed builds again from the id and
 * seq it got back (so the message itself need not cross).
 */
export function newMessage(item: NewMessage, id: string, seq: number, ts: number): Message {
  return {
    id,
    channel: item.channelId,
    seq,
    user_id: item.userId,
    username: item.username,
    text: item.text,
    ts,
    client_msg_id: item.clientMsgId,
    ...(item.replyTo == null ? {} : { reply_to: item.replyTo }),
    ...(item.event == null ? {} : { event: item.event }),
  };
}

/** The time and counter of the last message id made in this thread (see `messageIds`). */
const lastId = { msecs: Number.NEGATIVE_INFINITY, seq: 0 };

/**
 * `count` UUIDv7s for messages committed at `msecs`, ascending, and above every id this thread
 * made before: in the same millisecond (or after the clock stepped back) the counter goes on
 * from the last id's, as `uuid`'s own `v7()` does, so ids sort like commits (search pages break
 * timestamp ties by id). One call to the CSPRNG for the whole batch: `v7()` asks for 16 random
 * bytes per id, which costs ~5 µs each (~2.5 ms per 500-message batch). A new millisecond's
 * counter starts at a random value below 2^30.
 */
function messageIds(count: number, msecs: number): string[] {
  const random = randomBytes(16 * count + 4);
  let at = msecs;
  let start =
    (((random[0] as number) & 0x3f) << 24) | ((random[1] as number) << 16) | ((random[2] as number) << 8);
  if (msecs <= lastId.msecs) {
    at = lastId.msecs;
    start = lastId.seq + 1;
    // The 32-bit counter would overflow: borrow the next millisecond, as v7() does.
    if (start + count > 2 ** 32) {
      at += 1;
      start = 0;
    }
  }
  lastId.msecs = at;
  lastId.seq = start + count - 1;
  return Array.from({ length: count }, (_, i) =>
    uuidv7({ msecs: at, seq: start + i, random: random.subarray(4 + 16 * i, 4 + 16 * (i + 1)) }),
  );
}

/** Bytes of CSPRNG output drawn at a time by `randomBytes` (a call costs ~5 µs whatever its size). */
const RANDOM_POOL_BYTES = 16 * 1024;
const randomPool = { bytes: new Uint8Array(RANDOM_POOL_BYTES), used: RANDOM_POOL_BYTES };

/**
 * `size` fresh random bytes, from a pool refilled from the CSPRNG when it runs out (each byte
 * handed out once); a request larger than the pool gets its own buffer.
 */
function randomBytes(size: number): Uint8Array {
  if (size > RANDOM_POOL_BYTES) return randomFillSync(new Uint8Array(size));
  if (randomPool.used + size > RANDOM_POOL_BYTES) {
    randomFillSync(randomPool.bytes);
    randomPool.used = 0;
  }
  const bytes = randomPool.bytes.subarray(randomPool.used, randomPool.used + size);
  randomPool.used += size;
  return bytes;
}
