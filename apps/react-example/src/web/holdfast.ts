import { createHoldfastHooks } from '@holdfast/react';
import { example } from '../shared/protocol.js';

/** The example's hooks, typed by its protocol. */
export const {
  HoldfastProvider,
  useConnectionState,
  useGaps,
  useMessages,
  usePresence,
  useRequest,
  useRoom,
  useSend,
} = createHoldfastHooks(example);
