/** The conformance kit (docs/PROTOCOL.md §9): the spec-literal reference client and the delivery ledger. */

export { checkStream, type Published, type StreamEvent, type StreamVerdict, type Told } from './ledger.js';
export {
  type AnnouncedGap,
  type Delivery,
  type GrowthEvent,
  SpecClient,
  type SpecClientOptions,
  type SpecCursor,
  type SpecResult,
} from './spec-client.js';
