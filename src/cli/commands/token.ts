import type { CliIo } from '../cli-io.js';
import { parseDuration } from '../parse-duration.js';
import { parseFlags } from '../parse-flags.js';
import { signToken } from '../sign-token.js';
import { USAGE } from '../usage.js';
import { UsageError } from '../usage-error.js';

/**
 * `parley token`: prints an HS256 JWT for a user, signed with `PARLEY_JWT_SECRET` (or
 * `--secret`), with `iss`/`aud` from `PARLEY_JWT_ISSUER`/`PARLEY_JWT_AUDIENCE` when set.
 */
export async function token(argv: readonly string[], io: CliIo): Promise<number> {
  const usage = USAGE.token;
  const { values, positionals } = parseFlags(
    argv,
    {
      'user-id': { type: 'string' },
      username: { type: 'string' },
      ttl: { type: 'string', default: '1h' },
      secret: { type: 'string' },
    },
    usage,
  );
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`, usage);
  const userId = values['user-id'];
  if (userId === undefined || userId === '') throw new UsageError('--user-id is required', usage);
  if (values.username === undefined || values.username === '')
    throw new UsageError('--username is required', usage);
  const signed = await signToken({
    secret: values.secret ?? io.env.PARLEY_JWT_SECRET,
    userId,
    username: values.username,
    ttlSeconds: parseDuration(values.ttl, '--ttl', usage),
    issuer: io.env.PARLEY_JWT_ISSUER,
    audience: io.env.PARLEY_JWT_AUDIENCE,
  });
  io.out(signed);
  return 0;
}
