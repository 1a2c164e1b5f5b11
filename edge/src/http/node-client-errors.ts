import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { type ErrorBody, type ErrorCode, errorStatus } from '@keel/contract/errors';
import { newId } from '../ids.ts';

/** Why Node's HTTP parser refused a request before the app saw it, as the API says it. */
function refusalOf(err: NodeJS.ErrnoException): { code: ErrorCode; message: string } {
  switch (err.code) {
    case 'HPE_HEADER_OVERFLOW':
      return { code: 'headers_too_large', message: 'The request line and headers are too large' };
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return { code: 'payload_too_large', message: 'Chunk extensions are too large' };
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return { code: 'request_timeout', message: 'The request took too long to arrive' };
    default:
      return { code: 'bad_request', message: 'The request is not valid HTTP' };
  }
}

const REASONS: Record<number, string> = {
  400: 'Bad Request',
  408: 'Request Timeout',
  413: 'Payload Too Large',
  431: 'Request Header Fields Too Large',
};

/**
 * Requests Node's parser refuses (a 20 KB query string, a malformed request line) never reach
 * the app, and Node would answer them with an empty body: they get the one error body too.
 */
export function answerClientErrors(server: Server): void {
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const { code, message } = refusalOf(err);
    const status = errorStatus[code];
    const requestId = newId('request');
    const body: ErrorBody = { error: { code, message, requestId } };
    const json = JSON.stringify(body);
    console.warn(
      JSON.stringify({
        level: 'warn',
        msg: 'request refused by the HTTP parser',
        requestId,
        code,
        detail: err.code,
      }),
    );
    socket.end(
      `HTTP/1.1 ${status} ${REASONS[status] ?? 'Error'}\r\n` +
        'Content-Type: application/json; charset=UTF-8\r\n' +
        `Content-Length: ${Buffer.byteLength(json)}\r\n` +
        `x-request-id: ${requestId}\r\n` +
        'Connection: close\r\n\r\n' +
        json,
    );
  });
}
