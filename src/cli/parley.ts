import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ParleyClientError } from '../client/parley-client-error.js';
import { ERRORS, ParleyError } from '../protocol/error-catalogue.js';
import { type CliIo, processIo } from './cli-io.js';
import { type CommandName, helpText, USAGE } from './usage.js';
import { UsageError } from './usage-error.js';

type Command = (argv: readonly string[], io: CliIo) => Promise<number>;

// Each command is loaded on use, so `parley token` never loads ws and nothing loads the server
// unless asked to serve.
const COMMANDS: { readonly [K in CommandName]: () => Promise<Command> } = {
  serve: async () => (await import('./commands/serve.js')).serve,
  token: async () => (await import('./commands/token.js')).token,
  send: async () => (await import('./commands/send.js')).send,
  listen: async () => (await import('./commands/listen.js')).listen,
  channel: async () => (await import('./commands/channel.js')).channel,
  user: async () => (await import('./commands/user.js')).user,
  prune: async () => (await import('./commands/prune.js')).prune,
};

function isCommand(name: string): name is CommandName {
  return Object.hasOwn(COMMANDS, name);
}

/**
 * Runs the `parley` command line `argv` (without the node and script paths) and resolves with
 * the exit code: 0 on success, 2 for bad usage, otherwise the error catalogue's exit code for
 * the error's code. Errors are printed to stderr as `parley: <code>: <message>`.
 */
export async function runCli(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    io.err(helpText());
    return 2;
  }
  if (name === 'help' || name === '--help' || name === '-h') {
    const topic = rest[0];
    io.out(topic !== undefined && isCommand(topic) ? `usage: ${USAGE[topic]}` : helpText());
    return 0;
  }
  if (!isCommand(name)) {
    io.err(`parley: bad_request: unknown command "${name}"`);
    io.err(helpText());
    return 2;
  }
  // `serve` parses its own flags, --help included.
  if (name !== 'serve' && (rest.includes('--help') || rest.includes('-h'))) {
    io.out(`usage: ${USAGE[name]}`);
    return 0;
  }
  try {
    const command = await COMMANDS[name]();
    return await command(rest, io);
  } catch (err) {
    return report(err, io);
  }
}

/** Prints `err` the way the CLI reports failures and returns the exit code for it. */
function report(err: unknown, io: CliIo): number {
  if (err instanceof UsageError) {
    io.err(`parley: bad_request: ${err.message}`);
    io.err(`usage: ${err.usage}`);
    return ERRORS.bad_request.exit;
  }
  if (err instanceof ParleyClientError || err instanceof ParleyError) {
    io.err(`parley: ${err.code}: ${err.message}`);
    return ERRORS[err.code].exit;
  }
  io.err(`parley: internal: ${err instanceof Error ? err.message : String(err)}`);
  return ERRORS.internal.exit;
}

/** True when this module is the program node was started with (not imported by bin/parley.js). */
function isEntryModule(): boolean {
  const entry = process.argv[1];
  if (entry === undefined) return false;
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntryModule()) process.exitCode = await runCli(process.argv.slice(2));
