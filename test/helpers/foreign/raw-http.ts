import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

/**
 * How a raw server frames a response body. Node's own http server never sends some of these
 * (an HTTP/1.0 body ended only by FIN, a Content-Length it does not keep), and it answers politely
 * where real hosts and proxies do not; a socket written by hand can misbehave exactly.
 */
export type Framing =
  /** Content-Length, `Connection: close`, then FIN. */
  | 'content-length'
  /** Chunked encoding with `Connection: close`, then FIN. */
  | 'chunked'
  /** HTTP/1.0 without a length: the body ends at FIN (Python's http.server in its default mode). */
  | 'eof'
  /** Declares more bytes than it sends, then FIN. */
  | 'short-content-length'
  /** A chunked body cut off inside a chunk, then FIN. */
  | 'truncated-chunked'
  /** Sends part of the body, then resets the connection. */
  | 'reset';

export interface RawHttpServer {
  /** Base URL; any path answers with the same body. */
  url: string;
  /** Requests received so far. */
  readonly requests: number;
  close(): Promise<void>;
}

/**
 * A server on 127.0.0.1 that writes every response in one go and closes its side at once, whether
 * or not the client is reading: the FIN arrives while the client may still apply backpressure.
 */
export async function startRawHttpServer(opts: {
  framing: Framing;
  body: Buffer;
  contentType?: string;
  /** Called when a response and its FIN have been handed to the kernel. */
  onResponseSent?: () => void;
}): Promise<RawHttpServer> {
  let requests = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('finish', () => opts.onResponseSent?.());
    socket.on('error', () => {});
    let head = '';
    socket.on('data', (chunk) => {
      if (head.includes('\r\n\r\n')) return;
      head += chunk.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      requests++;
      respond(socket, opts.framing, opts.body, opts.contentType ?? 'application/octet-stream');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    get requests() {
      return requests;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

function respond(socket: Socket, framing: Framing, body: Buffer, contentType: string): void {
  const type = `Content-Type: ${contentType}\r\n`;
  switch (framing) {
    case 'content-length':
      socket.write(`HTTP/1.1 200 OK\r\n${type}Content-Length: ${body.length}\r\nConnection: close\r\n\r\n`);
      socket.end(body);
      return;
    case 'short-content-length':
      socket.write(`HTTP/1.1 200 OK\r\n${type}Content-Length: ${body.length + 1000}\r\nConnection: close\r\n\r\n`);
      socket.end(body);
      return;
    case 'chunked':
      socket.write(`HTTP/1.1 200 OK\r\n${type}Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n`);
      socket.write(`${body.length.toString(16)}\r\n`);
      socket.write(body);
      socket.end('\r\n0\r\n\r\n');
      return;
    case 'truncated-chunked':
      socket.write(`HTTP/1.1 200 OK\r\n${type}Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n`);
      socket.write(`${(body.length + 1000).toString(16)}\r\n`);
      socket.end(body);
      return;
    case 'eof':
      socket.write(`HTTP/1.0 200 OK\r\nServer: raw/1.0\r\n${type}\r\n`);
      socket.end(body);
      return;
    case 'reset':
      socket.write(`HTTP/1.1 200 OK\r\n${type}Content-Length: ${body.length}\r\n\r\n`);
      socket.write(body.subarray(0, Math.floor(body.length / 2)), () => socket.resetAndDestroy());
      return;
  }
}
