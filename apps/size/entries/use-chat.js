// What the typical app does with its client (every app-*.js entry): listen, connect, join, send,
// one request. The comparable clients' entries do the same with theirs.

/** Use a client of the chat protocol as the typical app does. */
export async function useChat(client) {
  client.on('said', (data, meta) => console.log(data.text, meta.offset));
  client.events.on('state', ({ next }) => console.log(next.status));
  await client.connect();
  await client.join('lobby');
  await client.send('say', { room: 'lobby', text: 'hi' });
  console.log(await client.request('history', { room: 'lobby' }));
}
