// localnet's WebSocket echo server, started by localnet/services.c:
//   node ws-echo.mjs --port=N --tls-port=N --cert=FILE --key=FILE
// ws on --port, wss on --tls-port, both on 127.0.0.1. Every message comes
// back with its own type (text or binary). The subprotocol "echo" is chosen
// when the client offers it. permessage-deflate is off, so the frames on the
// wire are plain ones a client must handle. A plain HTTP request gets 426.
// Two text commands, for tests of a client's side of the protocol:
//   "!fragment N"          later echoes on this connection go in fragments of N bytes
//   "!close CODE REASON"   the server starts the closing handshake with CODE and REASON
// It exits when its stdin closes (the parent holds the other end of a pipe)
// or when its parent changes, so it never outlives localnet.
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { parseArgs } from 'node:util';
import { WebSocketServer } from 'ws';

const { values: options } = parseArgs({
  options: {
    port: { type: 'string' },
    'tls-port': { type: 'string' },
    cert: { type: 'string' },
    key: { type: 'string' },
  },
  strict: true,
});
for (const name of ['port', 'tls-port', 'cert', 'key']) {
  if (!options[name]) {
    console.error(`ws-echo: --${name} is required`);
    process.exit(2);
  }
}

function answerPlainHttp(request, response) {
  response.writeHead(426, { 'content-type': 'text/plain', upgrade: 'websocket' });
  response.end('WebSocket echo server: connect with a WebSocket client\n');
}

function serveEcho(server, scheme, port) {
  const sockets = new WebSocketServer({
    server,
    perMessageDeflate: false,
    handleProtocols: (offered) => (offered.has('echo') ? 'echo' : false),
  });
  sockets.on('connection', (socket) => {
    let fragmentSize = 0;
    socket.on('message', (data, isBinary) => {
      const command = isBinary ? null : /^!(fragment|close) (\d+) ?(.*)$/s.exec(data.toString());
      if (command && command[1] === 'close') return socket.close(Number(command[2]), command[3]);
      if (command) {
        fragmentSize = Number(command[2]);
        return;
      }
      if (!fragmentSize) return socket.send(data, { binary: isBinary });
      for (let at = 0; at < data.length || at === 0; at += fragmentSize) {
        const fin = at + fragmentSize >= data.length;
        socket.send(data.subarray(at, at + fragmentSize), { binary: isBinary, fin });
        if (fin) break;
      }
    });
    socket.on('error', (error) => console.error(`ws-echo: ${scheme} connection: ${error.message}`));
  });
  server.on('error', (error) => {
    console.error(`ws-echo: ${scheme} on 127.0.0.1:${port}: ${error.message}`);
    process.exit(1);
  });
  server.listen(Number(port), '127.0.0.1', () =>
    console.log(`ws-echo: ${scheme} listening on 127.0.0.1:${port}`),
  );
}

serveEcho(http.createServer(answerPlainHttp), 'ws', options.port);
const tls = { cert: readFileSync(options.cert), key: readFileSync(options.key) };
serveEcho(https.createServer(tls, answerPlainHttp), 'wss', options['tls-port']);

const parentPid = process.ppid;
process.stdin.on('end', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));
process.stdin.resume();
setInterval(() => {
  if (process.ppid !== parentPid) process.exit(0);
}, 500).unref();
