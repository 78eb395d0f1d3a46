interface CryptoLike {
  randomUUID?(): string;
  getRandomValues?<T extends Uint8Array>(array: T): T;
}

/**
 * A random id for `client_msg_id`: a v4 UUID from `crypto.randomUUID` where the runtime has it
 * (Node 20, browsers in secure contexts), else 128 random bits in hex.
 */
export function randomId(): string {
  const crypto = (globalThis as { crypto?: CryptoLike }).crypto;
  if (crypto?.randomUUID !== undefined) return crypto.randomUUID();
  if (crypto?.getRandomValues !== undefined) {
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  }
  // Only reached without Web Crypto; uniqueness per sender is all the server needs.
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}${Math.random().toString(36).slice(2)}`;
}
