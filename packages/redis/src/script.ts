import { createHash } from 'node:crypto';

/**
 * A Lua script run with EVALSHA, falling back to EVAL when Redis lost its script cache
 * (restart, failover, `SCRIPT FLUSH`). Each script touches keys of one hash tag only, so it
 * is valid on Redis Cluster too.
 */
export class Script {
  /** SHA-1 of the source, as EVALSHA wants it. */
  readonly sha: string;

  constructor(
    /** Name for error messages. */
    readonly name: string,
    /** Lua source. */
    readonly source: string,
  ) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }
}
