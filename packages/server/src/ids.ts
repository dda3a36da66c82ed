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
    id: (prefix) => flat(`${prefix}${randomBytes(12).toString('base64url')}`),
    secret: () => randomBytes(24).toString('base64url'),
  };
}

/** SHA-256 of a string, hex. Resume tokens are stored hashed. */
export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * The same text as one flat string. V8 represents a concatenation as a pair of its parts and,
 * once it is hashed (a Map key), as that pair plus a flat copy: for strings kept per
 * connection (ids, stream names), flat from the start is about half the memory.
 */
export function flat(text: string): string {
  // A UTF-8 round trip would replace lone surrogates: leave such strings as they are.
  return text.isWellFormed() ? Buffer.from(text, 'utf8').toString('utf8') : text;
}
