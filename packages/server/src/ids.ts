import { createHash, randomBytes } from 'node:crypto';

/** Makes ids and secrets. Injectable so tests can make them deterministic. */
export interface IdSource {
  /** A new unique, URL-safe id with the given prefix. */
  id(prefix: string): string;
  /** A new unguessable secret (resume tokens). */
  secret(): string;
}

/** Cryptographically random ids. */
export function randomIds(): IdSource {
  return {
    id: (prefix) => `${prefix}${randomBytes(12).toString('base64url')}`,
    secret: () => randomBytes(24).toString('base64url'),
  };
}

/** SHA-256 of a string, hex. Resume tokens are stored hashed. */
export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
