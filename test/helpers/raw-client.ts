import { connect } from 'node:net';

export interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** The server closed the connection after answering. */
  closed: boolean;
}

/**
 * Sends bytes exactly as given (no client library to fix them up) and reads one answer until the
 * server closes the connection or has sent the whole Content-Length.
 */
export function rawRequest(port: number, bytes: string | Buffer, opts: { keepOpenAfterWrite?: boolean } = {}): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let settled = false;
    const finish = (closed: boolean) => {
      if (settled) return;
      const text = Buffer.concat(chunks).toString('latin1');
      const split = text.indexOf('\r\n\r\n');
      if (split < 0) {
        if (closed) {
          settled = true;
          reject(new Error(`connection closed without an answer (${JSON.stringify(text.slice(0, 200))})`));
        }
        return;
      }
      const [statusLine, ...lines] = text.slice(0, split).split('\r\n');
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const at = line.indexOf(':');
        headers[line.slice(0, at).trim().toLowerCase()] = line.slice(at + 1).trim();
      }
      const rest = Buffer.from(text.slice(split + 4), 'latin1');
      const length = Number(headers['content-length'] ?? NaN);
      if (!closed && !(rest.length >= length)) return;
      // Only this answer's bytes: the server may already have answered what followed the request
      // (bytes past its Content-Length are the next request), in the same read.
      const body = (Number.isNaN(length) ? rest : rest.subarray(0, length)).toString('utf8');
      settled = true;
      socket.destroy();
      resolve({ status: Number(statusLine!.split(' ')[1]), headers, body, closed });
    };
    socket.on('data', (chunk) => {
      chunks.push(chunk);
      finish(false);
    });
    socket.on('close', () => finish(true));
    socket.on('end', () => finish(true));
    socket.on('error', (err) => {
      if ((err as NodeJS.ErrnoException).code === 'ECONNRESET' || (err as NodeJS.ErrnoException).code === 'EPIPE') finish(true);
      else if (!settled) reject(err);
    });
    socket.write(bytes, () => {
      if (!opts.keepOpenAfterWrite) socket.end();
    });
  });
}
