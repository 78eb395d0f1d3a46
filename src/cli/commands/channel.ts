import { ROLES, type Role } from '../../protocol/frames.js';
import type { CliIo } from '../cli-io.js';
import { connectClient } from '../connect-client.js';
import { parseDuration } from '../parse-duration.js';
import { parseFlags } from '../parse-flags.js';
import { USAGE } from '../usage.js';
import { UsageError } from '../usage-error.js';

/**
 * `parley channel create | add-member | remove-member`: manages a channel and prints the
 * server's answer as one JSON line.
 */
export async function channel(argv: readonly string[], io: CliIo): Promise<number> {
  const usage = USAGE.channel;
  const { values, positionals } = parseFlags(
    argv,
    {
      url: { type: 'string' },
      token: { type: 'string' },
      private: { type: 'boolean' },
      title: { type: 'string' },
      role: { type: 'string' },
      timeout: { type: 'string', default: '10s' },
    },
    usage,
  );
  const [action, name, userId, ...extra] = positionals;
  if (action === undefined) throw new UsageError('a channel action is required', usage);
  if (name === undefined || name === '') throw new UsageError('the channel NAME is required', usage);
  const role = values.role === undefined ? undefined : parseRole(values.role, usage);
  let run: (client: Awaited<ReturnType<typeof connectClient>>) => Promise<unknown>;
  switch (action) {
    case 'create':
      if (userId !== undefined) throw new UsageError(`unexpected argument "${userId}"`, usage);
      if (role !== undefined) throw new UsageError('--role belongs to add-member', usage);
      run = (client) =>
        client.createChannel(name, {
          ...(values.private === undefined ? {} : { private: values.private }),
          ...(values.title === undefined ? {} : { title: values.title }),
        });
      break;
    case 'add-member':
    case 'remove-member': {
      if (userId === undefined || userId === '') throw new UsageError('the USER_ID is required', usage);
      if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`, usage);
      if (values.private !== undefined || values.title !== undefined) {
        throw new UsageError('--private and --title belong to create', usage);
      }
      if (action === 'remove-member' && role !== undefined)
        throw new UsageError('--role belongs to add-member', usage);
      run = (client) =>
        action === 'add-member' ? client.addMember(name, userId, role) : client.removeMember(name, userId);
      break;
    }
    default:
      throw new UsageError(`unknown channel action "${action}"`, usage);
  }
  const timeoutMs = parseDuration(values.timeout, '--timeout', usage) * 1000;
  const client = await connectClient({ url: values.url, token: values.token, timeoutMs }, io, usage);
  try {
    io.out(JSON.stringify(await run(client)));
    return 0;
  } finally {
    await client.close();
  }
}

function parseRole(raw: string, usage: string): Role {
  const role = ROLES.find((r) => r === raw);
  if (role === undefined)
    throw new UsageError(`--role must be one of ${ROLES.join(', ')}, got "${raw}"`, usage);
  return role;
}
