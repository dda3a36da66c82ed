import * as z from 'zod/mini';
import en from 'zod/v4/locales/en.js';
import type { ParseOptions } from './codec.js';

// A module of its own: only code that uses ENGLISH_MESSAGES (the server) bundles zod's English
// locale. Browser clients leave it out and get the messages of the locale the app configured.

let english: z.core.$ZodErrorMap | undefined;

/**
 * Options for zod's `safeParse` that give its English messages when the app configured no
 * locale or error map. Classic `zod` installs the English locale when imported, `zod/mini`
 * installs none (its messages are then all "Invalid input"). `@holdfast/server` passes these to
 * every parse whose messages go on the wire, so they read the same whichever flavour the app
 * imports; an app's own `z.config()` still wins. Nothing global is set: a client in the same
 * process keeps its own messages.
 *
 * @example
 * ```ts
 * const r = decode(text, 'client', { parse: ENGLISH_MESSAGES });
 * const v = protocol.parseInbound('say', data, ENGLISH_MESSAGES);
 * ```
 */
export const ENGLISH_MESSAGES: ParseOptions = {
  error: (issue) => {
    const { customError, localeError } = z.config();
    if (customError || localeError) return undefined;
    english ??= en().localeError;
    return english(issue);
  },
};
