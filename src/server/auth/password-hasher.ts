/** Hashes and checks passwords. Implementations are slow on purpose and never log a password. */
export interface PasswordHasher {
  /** A self-describing hash (algorithm, parameters, salt) of the password. */
  hash(password: string): Promise<string>;
  /** True when `password` matches `hash`; false (never a throw) for a malformed hash. */
  verify(hash: string, password: string): Promise<boolean>;
}
