import { SignJWT } from 'jose';

/** An HS256 token for `userId` (also its username), valid for an hour, signed with `secret`. */
export function signTestToken(
  secret: string,
  userId: string | number,
  username = String(userId),
): Promise<string> {
  return new SignJWT({ user_id: userId, username })
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuedAt()
    .setExpirationTime('1h')
    .sign(new TextEncoder().encode(secret));
}
