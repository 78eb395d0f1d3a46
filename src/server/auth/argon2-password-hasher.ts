import argon2 from 'argon2';
import type { PasswordHasher } from './password-hasher.js';

/** OWASP's argon2id parameters: 19 MiB of memory, 2 iterations, 1 lane. */
export const ARGON2_PARAMS = {
  type: argon2.argon2id,
  memoryCost: 19 * 1024,
  timeCost: 2,
  parallelism: 1,
} as const;

/** argon2id through the `argon2` package (the reference C implementation, off the event loop). */
export class Argon2PasswordHasher implements PasswordHasher {
  hash(password: string): Promise<string> {
    return argon2.hash(password, ARGON2_PARAMS);
  }

  async verify(hash: string, password: string): Promise<boolean> {
    try {
      return await argon2.verify(hash, password);
    } catch {
      return false;
    }
  }
}
