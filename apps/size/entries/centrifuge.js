// The same use of centrifuge (JSON protocol): connect, subscribe, publish, an RPC.
import { Centrifuge } from 'centrifuge';

const client = new Centrifuge('/connection/websocket');
client.on('state', (ctx) => console.log(ctx.newState));
const sub = client.newSubscription('lobby');
sub.on('publication', (ctx) => console.log(ctx.data.text, ctx.offset));
sub.subscribe();
client.connect();
await sub.publish({ text: 'hi' });
console.log(await client.rpc('history', { room: 'lobby' }));
