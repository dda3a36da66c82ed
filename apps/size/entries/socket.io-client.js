// The same use of socket.io-client: connect, listen, emit, an acknowledged request.
import { io } from 'socket.io-client';

const socket = io({ path: '/ws' });
socket.on('said', (data) => console.log(data.text));
socket.on('connect', () => console.log('connected'));
socket.emit('join', 'lobby');
socket.emit('say', { room: 'lobby', text: 'hi' });
console.log(await socket.emitWithAck('history', { room: 'lobby' }));
