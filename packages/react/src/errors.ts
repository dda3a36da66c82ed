import { ErrorCode, HoldfastError } from '@holdfast/protocol';

/** Every rejection as a {@link HoldfastError}: the client's own are kept, others wrapped as `INTERNAL`. */
export function toHoldfastError(error: unknown): HoldfastError {
  if (error instanceof HoldfastError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new HoldfastError(ErrorCode.Internal, message, { cause: error });
}
