// The same use of partysocket (a reconnecting WebSocket, no protocol): connect, listen, send.
import { WebSocket } from 'partysocket';

const ws = new WebSocket('/ws');
ws.addEventListener('message', (e) => console.log(JSON.parse(e.data).text));
ws.addEventListener('open', () => ws.send(JSON.stringify({ t: 'say', room: 'lobby', text: 'hi' })));
