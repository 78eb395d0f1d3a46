/** The synopsis of every `parley` command, the one place each is spelled out. */
export const USAGE = {
  serve: 'parley serve [--port N] [--host H] [--db URL] [--dev]',
  token: 'parley token --user-id ID --username NAME [--ttl 1h] [--secret S]',
  send: 'parley send [--url URL] [--token T] --channel NAME [--client-msg-id ID] [--file PATH]... [--timeout 30s] TEXT',
  listen: 'parley listen [--url URL] [--token T] --channel NAME [--since SEQ] [--history N] [--timeout 10s]',
  channel: [
    'parley channel create NAME [--private] [--title T] [--url URL] [--token T]',
    'parley channel add-member NAME USER_ID [--role owner|admin|moderator|member|readonly] [--url URL] [--token T]',
    'parley channel remove-member NAME USER_ID [--url URL] [--token T]',
  ].join('\n       '),
  user: 'parley user admin USER_ID [--off] [--url URL] [--api-key KEY]',
  prune: 'parley prune [--db URL] [--days N]',
} as const;

/** A `parley` command name. */
export type CommandName = keyof typeof USAGE;

/** The full help text of `parley --help`. */
export function helpText(): string {
  return [
    'Parley: a real-time chat server and its command-line client.',
    '',
    ...Object.values(USAGE).map((line) => `usage: ${line}`),
    '',
    'prune runs one retention pass on the database (--db, else PARLEY_DATABASE_URL; --days, else PARLEY_RETENTION_DAYS).',
    'send, listen and channel read --url and --token from PARLEY_URL and PARLEY_TOKEN when absent;',
    'the URL is the socket address, ws://HOST:PORT/ws ("/ws" is added when the URL has no path).',
    'user reads --url and --api-key from PARLEY_URL and PARLEY_API_KEY when absent.',
    'token signs with PARLEY_JWT_SECRET (or --secret), adding iss/aud from PARLEY_JWT_ISSUER/PARLEY_JWT_AUDIENCE.',
    'Errors print "parley: <code>: <message>" and exit with the code\'s exit status (docs/protocol.md).',
  ].join('\n');
}
