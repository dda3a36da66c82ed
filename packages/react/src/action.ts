import type { HoldfastError } from '@holdfast/protocol';
import { useCallback, useEffect, useRef, useState } from 'react';
import { toHoldfastError } from './errors.js';

/**
 * The state of a `useSend`/`useRequest` call: `idle` before the first call (or after
 * `reset()`), then the latest call's `pending`, `success` (with its `result`) or `error`
 * (with a typed {@link HoldfastError}: `VALIDATION_FAILED`, `TIMEOUT`, `FORBIDDEN`...).
 */
export type ActionState<R> =
  | { status: 'idle'; result: undefined; error: undefined }
  | { status: 'pending'; result: undefined; error: undefined }
  | { status: 'success'; result: R; error: undefined }
  | { status: 'error'; result: undefined; error: HoldfastError };

/** How one call ended: what the function returned by `useSend`/`useRequest` resolves with (it never rejects). */
export type Settled<R> = { ok: true; result: R } | { ok: false; error: HoldfastError };

const IDLE = { status: 'idle', result: undefined, error: undefined } as const;

/**
 * State for calls of `run`: only the latest call writes the state, and nothing is written
 * after unmount.
 */
export function useAction<A extends unknown[], R>(
  run: (...args: A) => Promise<R>,
): [ActionState<R>, (...args: A) => Promise<Settled<R>>, () => void] {
  const [state, setState] = useState<ActionState<R>>(IDLE);
  const latest = useRef(0);
  const mounted = useRef(true);
  const runRef = useRef(run);
  runRef.current = run;
  useEffect(() => {
    mounted.current = true;
    return () => {
      mounted.current = false;
    };
  }, []);
  const call = useCallback(async (...args: A): Promise<Settled<R>> => {
    const id = ++latest.current;
    const write = (next: ActionState<R>) => {
      if (mounted.current && id === latest.current) setState(next);
    };
    write({ status: 'pending', result: undefined, error: undefined });
    try {
      const result = await runRef.current(...args);
      write({ status: 'success', result, error: undefined });
      return { ok: true, result };
    } catch (cause) {
      const error = toHoldfastError(cause);
      write({ status: 'error', result: undefined, error });
      return { ok: false, error };
    }
  }, []);
  const reset = useCallback(() => {
    latest.current++;
    setState(IDLE);
  }, []);
  return [state, call, reset];
}
