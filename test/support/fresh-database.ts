import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import pg from 'pg';

/** The database servers tests can run against. */
export type DatabaseKind = 'sqlite' | 'mysql' | 'postgres';

/** A database created for one test run, and the way to get rid of it. */
export interface FreshDatabase {
  readonly kind: DatabaseKind;
  /** A URL `openStore` accepts, naming the fresh database (SQLite: a file in a temp dir). */
  readonly url: string;
  /**
   * Drops the database (PostgreSQL: also ending connections still open to it; SQLite: removes
   * the temp dir). Close the stores that use it first. Safe to call more than once.
   */
  drop(): Promise<void>;
}

/** The environment variable that names a test server of each networked kind. */
export const TEST_SERVER_ENV = {
  mysql: 'PARLEY_TEST_MYSQL_URL',
  postgres: 'PARLEY_TEST_POSTGRES_URL',
} as const;

/** Example values of the variables in `TEST_SERVER_ENV`, for skip messages. */
export const TEST_SERVER_EXAMPLE = {
  mysql: 'mysql://root@127.0.0.1:3306/test',
  postgres: 'postgres://postgres@127.0.0.1:5432/test',
} as const;

/**
 * The URL of the configured test server of `kind` (from `TEST_SERVER_ENV`), or undefined when
 * none is configured: the caller skips, saying which variable to set. When a server is
 * configured but down, `freshDatabase` rejects and the tests fail; they never skip.
 */
export function testServerUrl(kind: 'mysql' | 'postgres'): string | undefined {
  const url = process.env[TEST_SERVER_ENV[kind]];
  return url === undefined || url === '' ? undefined : url;
}

/** The skip reason for a test that needs a server of `kind` when none is configured. */
export function missingServerReason(kind: 'mysql' | 'postgres'): string {
  return `set ${TEST_SERVER_ENV[kind]} (e.g. ${TEST_SERVER_EXAMPLE[kind]}) to run against ${kind === 'mysql' ? 'MySQL/MariaDB' : 'PostgreSQL'}`;
}

/** How long creating or dropping a database may wait for the server to accept a connection. */
const CONNECT_TIMEOUT_MS = 5_000;

/**
 * Creates an empty database for one test run: a file in a new temp dir for SQLite; a new
 * database `parley_t_<random>` (utf8mb4) on the MySQL/MariaDB or PostgreSQL server that
 * `serverUrl` names (default: the one in `TEST_SERVER_ENV`). The returned URL keeps the server
 * URL's user, password and options. Rejects when the server cannot be reached.
 */
export async function freshDatabase(kind: DatabaseKind, serverUrl?: string): Promise<FreshDatabase> {
  if (kind === 'sqlite') {
    const dir = await mkdtemp(join(tmpdir(), 'parley-t-'));
    return {
      kind,
      url: `sqlite:${join(dir, 'parley.db')}`,
      drop: () => rm(dir, { recursive: true, force: true }),
    };
  }
  const server = serverUrl ?? testServerUrl(kind);
  if (server === undefined) throw new Error(`no ${kind} test server: ${missingServerReason(kind)}`);
  const name = `parley_t_${randomBytes(6).toString('hex')}`;
  const reachable = async <T>(connect: () => Promise<T>): Promise<T> => {
    try {
      return await connect();
    } catch (error) {
      const where = new URL(server);
      const reason =
        error instanceof Error && error.message !== ''
          ? error.message
          : String((error as { code?: unknown }).code);
      throw new Error(
        `cannot reach the ${kind} test server at ${where.host} (${server === testServerUrl(kind) ? `from ${TEST_SERVER_ENV[kind]}` : 'given URL'}): ${reason}`,
        { cause: error },
      );
    }
  };
  const url = new URL(server);
  url.pathname = `/${name}`;
  let dropped: Promise<void> | undefined;

  if (kind === 'mysql') {
    const admin = () =>
      reachable(() =>
        mysql.createConnection({
          uri: server.replace(/^mariadb:/, 'mysql:'),
          connectTimeout: CONNECT_TIMEOUT_MS,
        }),
      );
    const conn = await admin();
    try {
      await conn.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
    } finally {
      await conn.end();
    }
    return {
      kind,
      url: url.toString(),
      drop: () => {
        dropped ??= (async () => {
          const c = await admin();
          try {
            await c.query(`DROP DATABASE IF EXISTS \`${name}\``);
          } finally {
            await c.end();
          }
        })();
        return dropped;
      },
    };
  }

  const admin = () =>
    reachable(async () => {
      const client = new pg.Client({ connectionString: server, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
      await client.connect();
      return client;
    });
  const client = await admin();
  try {
    await client.query(`CREATE DATABASE "${name}"`);
  } finally {
    await client.end();
  }
  return {
    kind,
    url: url.toString(),
    drop: () => {
      dropped ??= (async () => {
        const c = await admin();
        try {
          // WITH (FORCE) (PostgreSQL 13+): a store a failed test left open must not keep it alive.
          await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
        } finally {
          await c.end();
        }
      })();
      return dropped;
    },
  };
}

/** The database kinds to run a server-level suite on: SQLite always, the others when configured. */
export function testDatabaseKinds(): DatabaseKind[] {
  return [
    'sqlite',
    ...(testServerUrl('mysql') === undefined ? [] : (['mysql'] as const)),
    ...(testServerUrl('postgres') === undefined ? [] : (['postgres'] as const)),
  ];
}
