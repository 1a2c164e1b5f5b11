/** One server-sent event, as the WHATWG event-stream format defines it. */
export interface ServerSentEvent {
  /** The `id` field of this event, when it had one. */
  id: string | undefined;
  /** The `event` field; `message` when absent. */
  type: string;
  /** The `data` lines joined with newlines. */
  data: string;
}

export interface SseParser {
  /** Feeds decoded text as it arrives, in any chunking; complete events go to the callback. */
  push(text: string): void;
}

/**
 * An incremental text/event-stream parser. It exists (rather than using EventSource) so the run panel can
 * read the stream with fetch: that sends the Last-Event-ID header itself on every reconnect, uses the same
 * token refresh as other requests, and lets the tests drive it without a browser.
 */
export function createSseParser(onEvent: (event: ServerSentEvent) => void): SseParser {
  let buffer = '';
  let data: string[] = [];
  let type = '';
  let id: string | undefined;

  function dispatch(): void {
    if (data.length > 0) onEvent({ id, type: type || 'message', data: data.join('\n') });
    data = [];
    type = '';
    id = undefined;
  }

  function line(text: string): void {
    if (text === '') {
      dispatch();
      return;
    }
    if (text.startsWith(':')) return; // a comment, e.g. the server's keep-alive
    const colon = text.indexOf(':');
    const field = colon === -1 ? text : text.slice(0, colon);
    let value = colon === -1 ? '' : text.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') data.push(value);
    else if (field === 'event') type = value;
    else if (field === 'id' && !value.includes('\0')) id = value;
  }

  return {
    push(text) {
      buffer += text;
      for (;;) {
        const match = /\r\n|\r|\n/.exec(buffer);
        if (match === null) return;
        // A lone \r at the very end may be the first half of \r\n: wait for the next chunk to tell.
        if (match[0] === '\r' && match.index === buffer.length - 1) return;
        line(buffer.slice(0, match.index));
        buffer = buffer.slice(match.index + match[0].length);
      }
    },
  };
}
