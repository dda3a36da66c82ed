// The typical app's own zod/mini schemas alone, validating what the app sends and receives: what
// the app ships for zod whatever client it uses. The typical app minus this is Holdfast's share.
import * as z from 'zod/mini';

const room = z.string().check(z.minLength(1), z.maxLength(40), z.regex(/^[a-z0-9-]+$/));
const line = z.object({ id: z.string(), room, from: z.string(), text: z.string(), at: z.number() });
const schemas = [
  z.object({ room, text: z.string().check(z.maxLength(280)) }),
  z.object({ room }),
  line,
  z.object({ room, user: z.string() }),
  z.array(line),
];
for (const schema of schemas) console.log(z.safeParse(schema, JSON.parse(prompt() ?? 'null')));
