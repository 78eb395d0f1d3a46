import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { ParleyError } from '../protocol/error-catalogue.js';
import { JoseTokenVerifier } from './auth/jose-token-verifier.js';
import { MemoryBus } from './bus/memory-bus.js';
import { type Config, loadConfig } from './config.js';
import { ParleyServer } from './parley-server.js';
import { MemoryPresence } from './presence/memory-presence.js';
import { openStore } from './store/open-store.js';

const USAGE = 'usage: parley serve [--port N] [--host H] [--db URL] [--dev]';

/** How long a SIGTERM/SIGINT drain may take before the process exits anyway. */
const DRAIN_DEADLINE_MS = 10_000;

/**
 * `parley serve`: the composition root. Reads the configuration, picks the implementations,
 * starts a node, and drains it on SIGINT/SIGTERM. The only code that touches `process`.
 */
export async function runServe(argv: readonly string[]): Promise<number> {
  let config: Config;
  try {
    const { values } = parseArgs({
      args: [...argv],
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        db: { type: 'string' },
        dev: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    });
    if (values.help === true) {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    const port = values.port === undefined ? undefined : Number(values.port);
    if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65535)) {
      throw new ParleyError('bad_request', `--port must be a port number, got "${values.port}"`);
    }
    config = loadConfig(process.env, { port, host: values.host, databaseUrl: values.db, dev: values.dev });
  } catch (err) {
    process.stderr.write(`parley serve: ${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }

  const logger = pino({
    level: config.logLevel,
    redact: { paths: ['token', '*.token', 'password', '*.password', 'text', '*.text'], censor: '[redacted]' },
  });
  if (config.jwt.secretGenerated) {
    process.stderr.write(
      '\n  *** DEVELOPMENT MODE: using a throwaway JWT secret generated for this run. ***\n' +
        '  *** Tokens die with this process. Set PARLEY_JWT_SECRET for anything real. ***\n' +
        `  *** Sign test tokens with: parley token --secret ${new TextDecoder().decode(config.jwt.secret)} --user-id 1 --username me\n\n`,
    );
  }

  let server: ParleyServer;
  try {
    const store = await openStore(config.databaseUrl, { commitBatchMax: config.limits.commitBatchMax });
    server = await ParleyServer.start(config, {
      store,
      bus: new MemoryBus(),
      presence: new MemoryPresence(),
      verifier: new JoseTokenVerifier(config.jwt),
      logger,
    });
  } catch (err) {
    process.stderr.write(`parley serve: cannot start: ${(err as Error).message}\n`);
    logger.debug({ err }, 'start failed');
    return 1;
  }
  logger.info(
    { port: server.port, host: config.host, db: redactUrl(config.databaseUrl) },
    'parley listening',
  );
  process.stdout.write(`Parley listening on http://${config.host}:${server.port} (WebSocket: /ws)\n`);

  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, 'draining');
      const deadline = setTimeout(() => {
        logger.error('drain deadline passed; exiting');
        resolve(1);
      }, DRAIN_DEADLINE_MS);
      deadline.unref();
      server.close().then(
        () => {
          clearTimeout(deadline);
          resolve(0);
        },
        (err) => {
          logger.error({ err }, 'drain failed');
          resolve(1);
        },
      );
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
}

function redactUrl(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
}
