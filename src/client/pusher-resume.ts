/**
 * Resume and history for pusher-js clients of Parley's Pusher endpoint: a small plugin that
 * keeps each channel's last `seq` (Parley sends it with every stored event as `parley_seq`,
 * which stock clients ignore) and, on every (re)subscription, asks for exactly what came after
 * it. Events arrive through pusher-js as usual, in order and once; nothing is sent twice.
 *
 * It reads pusher-js's raw transport messages and wraps its `send_event`: both are pusher-js 8
 * internals (tested with 8.6), not part of its documented API.
 */

/** The parts of a pusher-js client the plugin uses (structural: no dependency on pusher-js). */
export interface PusherLike {
  send_event(name: string, data: unknown, channel?: string): boolean;
  readonly connection: {
    bind(event: 'connected', callback: () => void): unknown;
    unbind(event: 'connected', callback: () => void): unknown;
    readonly connection?: {
      readonly transport?: {
        bind(event: 'message', callback: (message: { readonly data: unknown }) => void): unknown;
        unbind(event: 'message', callback: (message: { readonly data: unknown }) => void): unknown;
      } | null;
    } | null;
  };
}

/** Options of `parleyResume`. */
export interface ParleyResumeOptions {
  /** Events to replay on a channel's first subscription (default 0: none, as stock Pusher). */
  readonly history?: number;
  /**
   * Called when the server could not give everything since the last seq (a gap larger than it
   * replays, or the channel's seqs restarted): load history from your backend, then go on.
   */
  readonly onGap?: (channel: string) => void;
}

/** The plugin on one client. */
export interface ParleyResume {
  /** The last seq received on a channel, or undefined before its first event. */
  lastSeq(channel: string): number | undefined;
  /** Stops tracking; later subscriptions are stock ones. */
  stop(): void;
}

interface Position {
  seq: number;
  epoch: string | undefined;
}

/** Installs the resume plugin on a pusher-js client (before `subscribe` calls). */
export function parleyResume(pusher: PusherLike, options: ParleyResumeOptions = {}): ParleyResume {
  const positions = new Map<string, Position>();
  const send = pusher.send_event.bind(pusher);
  let stopped = false;

  const onRaw = (message: { readonly data: unknown }): void => {
    if (typeof message.data !== 'string') return;
    let frame: { event?: unknown; channel?: unknown; data?: unknown; parley_seq?: unknown };
    try {
      frame = JSON.parse(message.data);
    } catch {
      return;
    }
    if (typeof frame.channel !== 'string') return;
    const position = positions.get(frame.channel) ?? { seq: 0, epoch: undefined };
    if (typeof frame.parley_seq === 'number' && frame.parley_seq > position.seq) {
      position.seq = frame.parley_seq;
      positions.set(frame.channel, position);
    } else if (frame.event === 'parley:resumed' && typeof frame.data === 'string') {
      const resumed = JSON.parse(frame.data) as { epoch?: string; recovered?: boolean; last_seq?: number };
      const changed = position.epoch !== undefined && resumed.epoch !== position.epoch;
      position.epoch = resumed.epoch;
      positions.set(frame.channel, position);
      if ((resumed.recovered === false || changed) && position.seq > 0) options.onGap?.(frame.channel);
    }
  };

  let transport: NonNullable<NonNullable<PusherLike['connection']['connection']>['transport']> | undefined;
  const onConnected = (): void => {
    transport?.unbind('message', onRaw);
    transport = pusher.connection.connection?.transport ?? undefined;
    transport?.bind('message', onRaw);
  };
  pusher.connection.bind('connected', onConnected);
  onConnected();

  pusher.send_event = (name, data, channel) => {
    if (!stopped && name === 'pusher:subscribe' && typeof data === 'object' && data !== null) {
      const request = data as { channel?: unknown };
      const position = typeof request.channel === 'string' ? positions.get(request.channel) : undefined;
      if (position !== undefined && position.seq > 0) {
        data = {
          ...data,
          parley_since: position.seq,
          ...(position.epoch === undefined ? {} : { parley_epoch: position.epoch }),
        };
      } else if ((options.history ?? 0) > 0) {
        data = { ...data, parley_history: options.history };
      }
    }
    return send(name, data, channel);
  };

  return {
    lastSeq: (channel) => positions.get(channel)?.seq,
    stop: () => {
      stopped = true;
      pusher.connection.unbind('connected', onConnected);
      transport?.unbind('message', onRaw);
    },
  };
}
