// The limits a node enforces, each named with its default and the environment variable that sets
// it (README's configuration table lists them); `loadConfig` reads them.

/** Limits enforced at the edge. docs/protocol.md lists each with its default. */
export interface Limits {
  /** Largest WebSocket message accepted; bigger ones close the socket with 1009. */
  readonly maxPayloadBytes: number;
  /** Most fragments one WebSocket message may arrive in (ws's `maxFragments`). */
  readonly maxFragments: number;
  /** Longest message text, in UTF-16 code units. */
  readonly maxMessageChars: number;
  /** Bytes queued for one socket before it is cut off as a slow consumer (close 4001). */
  readonly sendQueueMaxBytes: number;
  /** Time a new socket has to send `auth`. */
  readonly helloTimeoutMs: number;
  /**
   * Authentications (token check, session start) in progress at once on a node; the others
   * wait their turn, within `helloTimeoutMs`. Bounds the memory a connect storm holds in flight.
   */
  readonly authConcurrency: number;
  /** Interval of server pings; a socket that misses one pong is closed. */
  readonly heartbeatMs: number;
  /** Messages sent on subscribe when `history` is not given. */
  readonly historyDefault: number;
  /** Largest history page. */
  readonly historyPageMax: number;
  /** Largest gap a resume replays; beyond it the resume is `recovered: false`. */
  readonly resumeMaxGap: number;
  /** Publishes per second per connection (sustained), and the burst allowed above it. */
  readonly publishPerSecond: number;
  readonly publishBurst: number;
  /** Frames of any kind per second per connection, and the burst. */
  readonly framesPerSecond: number;
  readonly framesBurst: number;
  /** New WebSocket connections per second from one IP address, and the burst (HTTP 429 beyond). */
  readonly connectPerSecondPerIp: number;
  readonly connectBurstPerIp: number;
  /** Minimum interval between relayed typing events per connection and channel. */
  readonly typingIntervalMs: number;
  /** Channels one connection may subscribe to. */
  readonly maxSubscriptions: number;
  /**
   * Users online in a channel up to which presence is told user by user: above it, joins and
   * leaves are not broadcast and `subscribed.presence` lists only the subscriber, so that a
   * big channel filling up does not cost O(n²) frames.
   */
  readonly presenceMax: number;
  /** How long before token expiry the server sends `token_expiring`. */
  readonly tokenExpiryWarningMs: number;
  /** Largest group-commit batch. */
  readonly commitBatchMax: number;
  /**
   * How long a group-commit batch of messages waits for more while the queue is busy (after a
   * batch of 16 or more), in ms; 0: never. Fewer, larger commits cost less CPU per message for
   * at most this much more latency (`GroupCommitOptions.delayMs`).
   */
  readonly commitDelayMs: number;
  /**
   * MySQL/MariaDB and PostgreSQL: how long one statement may wait for its answer before the
   * call fails with `unavailable` and the connection is replaced (schema changes have none).
   */
  readonly dbQueryTimeoutMs: number;
  /** MySQL/MariaDB and PostgreSQL: how long to wait for a connection (new, or free in the pool). */
  readonly dbConnectTimeoutMs: number;
  /**
   * How long a node trusts a cached role or channel without hearing of a change: the bound on
   * a change whose bus event was lost without the node noticing.
   */
  readonly accessCacheTtlMs: number;
  /**
   * How often a node re-checks its live sessions and subscriptions against the Store (bans,
   * logouts, memberships) while its bus is down, and how often otherwise.
   */
  readonly recheckWhileDownMs: number;
  readonly recheckIntervalMs: number;
  /** Login attempts per minute from one IP address, and for one username (before hashing). */
  readonly loginPerMinutePerIp: number;
  readonly loginPerMinutePerUsername: number;
  /** Largest HTTP request body. */
  readonly httpBodyMaxBytes: number;
  /**
   * Time a connection has to send a request's complete headers (a WebSocket handshake too);
   * then 408 and the socket is closed. Bounds how long a half-open handshake holds memory.
   */
  readonly httpHeadersTimeoutMs: number;
  /** Time a connection has to send a whole request, body included (then 408 and closed). */
  readonly httpRequestTimeoutMs: number;
  /** How long an idle keep-alive HTTP connection stays open after its last response. */
  readonly httpKeepAliveTimeoutMs: number;
  /** Largest request head (request line and headers); bigger gets 431. */
  readonly httpMaxHeaderBytes: number;
  /**
   * HTTP connections open at once from one client IP address (not counting WebSockets once
   * upgraded, nor trusted proxies); more are closed at once.
   */
  readonly httpConnectionsPerIp: number;
  /** HTTP requests per second per authenticated user (or per IP without a token), and the burst. */
  readonly httpPerSecond: number;
  readonly httpBurst: number;
  /** Largest search page, and the deepest offset a search may page to. */
  readonly searchPageMax: number;
  readonly searchOffsetMax: number;
  /** Unread messages counted per channel at most (lists show "1000+" beyond). */
  readonly unreadCountMax: number;
  /** How long a user must stay disconnected before the `user.offline` webhook. */
  readonly offlineGraceMs: number;
  /**
   * A node whose heartbeat (every third of this) is this old is taken for dead: its users'
   * connections no longer count for `user.online` / `user.offline`.
   */
  readonly nodeTtlMs: number;
  /**
   * How long a webhook delivery is retried after its event (then it is dead, kept for replay),
   * the first retry's delay (doubling), the longest delay between two attempts, and each
   * attempt's timeout.
   */
  readonly webhookRetryWindowMs: number;
  readonly webhookRetryBaseMs: number;
  readonly webhookRetryMaxMs: number;
  readonly webhookTimeoutMs: number;
  /** Webhook deliveries in flight at once, per node. */
  readonly webhookConcurrency: number;
  /** How often a node looks for webhook deliveries other nodes wrote or that became due. */
  readonly webhookPollMs: number;
}

/** The defaults of every limit. */
export const DEFAULT_LIMITS: Limits = {
  maxPayloadBytes: 64 * 1024,
  maxFragments: 64,
  maxMessageChars: 4000,
  sendQueueMaxBytes: 1024 * 1024,
  helloTimeoutMs: 5000,
  authConcurrency: 64,
  heartbeatMs: 25_000,
  historyDefault: 50,
  historyPageMax: 100,
  resumeMaxGap: 1000,
  publishPerSecond: 20,
  publishBurst: 40,
  framesPerSecond: 100,
  framesBurst: 200,
  connectPerSecondPerIp: 20,
  connectBurstPerIp: 50,
  typingIntervalMs: 1000,
  maxSubscriptions: 200,
  presenceMax: 1000,
  tokenExpiryWarningMs: 30_000,
  commitBatchMax: 500,
  commitDelayMs: 0,
  dbQueryTimeoutMs: 5000,
  dbConnectTimeoutMs: 10_000,
  accessCacheTtlMs: 5000,
  recheckWhileDownMs: 1000,
  recheckIntervalMs: 60_000,
  loginPerMinutePerIp: 20,
  loginPerMinutePerUsername: 5,
  httpBodyMaxBytes: 64 * 1024,
  httpHeadersTimeoutMs: 10_000,
  httpRequestTimeoutMs: 30_000,
  httpKeepAliveTimeoutMs: 5000,
  httpMaxHeaderBytes: 16 * 1024,
  httpConnectionsPerIp: 128,
  httpPerSecond: 20,
  httpBurst: 60,
  searchPageMax: 50,
  searchOffsetMax: 1000,
  unreadCountMax: 1000,
  offlineGraceMs: 10_000,
  nodeTtlMs: 30_000,
  webhookRetryWindowMs: 5 * 60_000,
  webhookRetryBaseMs: 1000,
  webhookRetryMaxMs: 60_000,
  webhookTimeoutMs: 5000,
  webhookConcurrency: 4,
  webhookPollMs: 1000,
};

export const LIMIT_ENV: { readonly [K in keyof Limits]: string } = {
  maxPayloadBytes: 'PARLEY_MAX_PAYLOAD_BYTES',
  maxFragments: 'PARLEY_MAX_FRAGMENTS',
  maxMessageChars: 'PARLEY_MAX_MESSAGE_CHARS',
  sendQueueMaxBytes: 'PARLEY_SEND_QUEUE_MAX_BYTES',
  helloTimeoutMs: 'PARLEY_HELLO_TIMEOUT_MS',
  authConcurrency: 'PARLEY_AUTH_CONCURRENCY',
  heartbeatMs: 'PARLEY_HEARTBEAT_MS',
  historyDefault: 'PARLEY_HISTORY_DEFAULT',
  historyPageMax: 'PARLEY_HISTORY_PAGE_MAX',
  resumeMaxGap: 'PARLEY_RESUME_MAX_GAP',
  publishPerSecond: 'PARLEY_PUBLISH_PER_SECOND',
  publishBurst: 'PARLEY_PUBLISH_BURST',
  framesPerSecond: 'PARLEY_FRAMES_PER_SECOND',
  framesBurst: 'PARLEY_FRAMES_BURST',
  connectPerSecondPerIp: 'PARLEY_CONNECT_PER_SECOND_PER_IP',
  connectBurstPerIp: 'PARLEY_CONNECT_BURST_PER_IP',
  typingIntervalMs: 'PARLEY_TYPING_INTERVAL_MS',
  maxSubscriptions: 'PARLEY_MAX_SUBSCRIPTIONS',
  presenceMax: 'PARLEY_PRESENCE_MAX',
  tokenExpiryWarningMs: 'PARLEY_TOKEN_EXPIRY_WARNING_MS',
  commitBatchMax: 'PARLEY_COMMIT_BATCH_MAX',
  commitDelayMs: 'PARLEY_COMMIT_DELAY_MS',
  dbQueryTimeoutMs: 'PARLEY_DB_QUERY_TIMEOUT_MS',
  dbConnectTimeoutMs: 'PARLEY_DB_CONNECT_TIMEOUT_MS',
  accessCacheTtlMs: 'PARLEY_ACCESS_CACHE_TTL_MS',
  recheckWhileDownMs: 'PARLEY_RECHECK_WHILE_DOWN_MS',
  recheckIntervalMs: 'PARLEY_RECHECK_INTERVAL_MS',
  loginPerMinutePerIp: 'PARLEY_LOGIN_PER_MINUTE_PER_IP',
  loginPerMinutePerUsername: 'PARLEY_LOGIN_PER_MINUTE_PER_USERNAME',
  httpBodyMaxBytes: 'PARLEY_HTTP_BODY_MAX_BYTES',
  httpHeadersTimeoutMs: 'PARLEY_HTTP_HEADERS_TIMEOUT_MS',
  httpRequestTimeoutMs: 'PARLEY_HTTP_REQUEST_TIMEOUT_MS',
  httpKeepAliveTimeoutMs: 'PARLEY_HTTP_KEEP_ALIVE_TIMEOUT_MS',
  httpMaxHeaderBytes: 'PARLEY_HTTP_MAX_HEADER_BYTES',
  httpConnectionsPerIp: 'PARLEY_HTTP_CONNECTIONS_PER_IP',
  httpPerSecond: 'PARLEY_HTTP_PER_SECOND',
  httpBurst: 'PARLEY_HTTP_BURST',
  searchPageMax: 'PARLEY_SEARCH_PAGE_MAX',
  searchOffsetMax: 'PARLEY_SEARCH_OFFSET_MAX',
  unreadCountMax: 'PARLEY_UNREAD_COUNT_MAX',
  offlineGraceMs: 'PARLEY_OFFLINE_GRACE_MS',
  nodeTtlMs: 'PARLEY_NODE_TTL_MS',
  webhookRetryWindowMs: 'PARLEY_WEBHOOK_RETRY_WINDOW_MS',
  webhookRetryMaxMs: 'PARLEY_WEBHOOK_RETRY_MAX_MS',
  webhookPollMs: 'PARLEY_WEBHOOK_POLL_MS',
  webhookRetryBaseMs: 'PARLEY_WEBHOOK_RETRY_BASE_MS',
  webhookTimeoutMs: 'PARLEY_WEBHOOK_TIMEOUT_MS',
  webhookConcurrency: 'PARLEY_WEBHOOK_CONCURRENCY',
};

/** The limits that may be 0 (off); every other one must be a positive integer. */
export const LIMITS_ZERO_ALLOWED: ReadonlySet<keyof Limits> = new Set<keyof Limits>(['commitDelayMs']);
