import { useEffect, useRef } from "react";
import { kbApi, type KbEvent } from "./api";

const TYPES = [
  "document.state",
  "document.queued",
  "document.progress",
  "knowledge_base.reembedded",
];

/**
 * Follow a base's Server-Sent Events (each document's state, then every change) for as long as
 * the page shows it. EventSource reconnects by itself; every (re)connection starts with a
 * snapshot of the documents, so nothing missed while it was away stays missed.
 */
export function useBaseEvents(baseId: string | undefined, onEvent: (event: KbEvent) => void): void {
  const handler = useRef(onEvent);
  useEffect(() => {
    handler.current = onEvent;
  }, [onEvent]);
  useEffect(() => {
    if (!baseId) return;
    const source = new EventSource(kbApi.eventsUrl(baseId), { withCredentials: true });
    const listener = (message: MessageEvent<string>) => {
      try {
        const data: unknown = JSON.parse(message.data);
        if (data && typeof data === "object") handler.current(data as KbEvent);
      } catch {
        // not JSON: nothing to show
      }
    };
    for (const type of TYPES) source.addEventListener(type, listener);
    return () => source.close();
  }, [baseId]);
}
