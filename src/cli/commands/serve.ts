import type { CliIo } from '../cli-io.js';

/** `parley serve`: runs a server node. The flags are the server's own (`runServe` parses them). */
export async function serve(argv: readonly string[], _io: CliIo): Promise<number> {
  // Loaded here so the client-only commands never load server code.
  const { runServe } = await import('../../server/main.js');
  return runServe(argv);
}
