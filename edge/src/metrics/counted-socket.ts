import type { WSEvents } from 'hono/ws';
import type { EdgeMetrics } from './recorder.ts';

/**
 * `events` with the socket counted in keel_http_open_streams{kind="websocket"} from its open to
 * its close (or error, whichever comes first; counted down once).
 */
export function countedSocket<T>(metrics: EdgeMetrics, events: WSEvents<T>): WSEvents<T> {
  if (!metrics.enabled) return events;
  let open = false;
  const down = () => {
    if (!open) return;
    open = false;
    metrics.streamClosed('websocket');
  };
  return {
    ...events,
    onOpen(event, ws) {
      open = true;
      metrics.streamOpened('websocket');
      events.onOpen?.(event, ws);
    },
    onClose(event, ws) {
      down();
      events.onClose?.(event, ws);
    },
    onError(event, ws) {
      down();
      events.onError?.(event, ws);
    },
  };
}
