// The live channel: one WebSocket to /ws shared by every screen, reconnecting with backoff.
// Messages are {"type": ..., "data": {...}}; screens subscribe by type.
import { useEffect, useRef, useState } from "preact/hooks";

export type LiveType = "event" | "alert" | "alert_update" | "incident" | "dispatch" | "camera_status" | string;
export interface LiveMessage {
  type: LiveType;
  data: Record<string, unknown>;
}
export type LiveState = "connecting" | "open" | "closed";

type Handler = (msg: LiveMessage) => void;

const handlers = new Set<Handler>();
const stateListeners = new Set<(s: LiveState) => void>();
let socket: WebSocket | null = null;
let state: LiveState = "closed";
let wanted = false;
let backoff = 500;
let timer: number | undefined;
let lastMessageAt = 0;

function setState(s: LiveState): void {
  state = s;
  stateListeners.forEach((fn) => fn(s));
}

function connect(): void {
  if (!wanted || socket) return;
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  setState("connecting");
  const ws = new WebSocket(`${proto}//${location.host}/ws`);
  socket = ws;
  ws.onopen = () => {
    backoff = 500;
    setState("open");
  };
  ws.onmessage = (ev) => {
    lastMessageAt = Date.now();
    let msg: LiveMessage;
    try {
      msg = JSON.parse(typeof ev.data === "string" ? ev.data : "") as LiveMessage;
    } catch {
      return;
    }
    if (!msg || typeof msg.type !== "string") return;
    handlers.forEach((fn) => {
      try {
        fn(msg);
      } catch (err) {
        console.error("live handler failed", err);
      }
    });
  };
  ws.onclose = () => {
    socket = null;
    setState("closed");
    if (wanted) {
      timer = window.setTimeout(connect, backoff);
      backoff = Math.min(backoff * 2, 10000);
    }
  };
  ws.onerror = () => ws.close();
}

export function startLive(): void {
  wanted = true;
  connect();
}

export function stopLive(): void {
  wanted = false;
  window.clearTimeout(timer);
  socket?.close();
  socket = null;
}

export function lastLiveMessageAt(): number {
  return lastMessageAt;
}

/** Subscribe to live messages of the given types for the life of the component. */
export function useLive(types: LiveType[], handler: Handler): void {
  const ref = useRef(handler);
  ref.current = handler;
  const key = types.join(",");
  useEffect(() => {
    const wantedTypes = new Set(key.split(","));
    const fn: Handler = (msg) => {
      if (wantedTypes.has(msg.type)) ref.current(msg);
    };
    handlers.add(fn);
    return () => void handlers.delete(fn);
  }, [key]);
}

export function useLiveState(): LiveState {
  const [s, setS] = useState<LiveState>(state);
  useEffect(() => {
    stateListeners.add(setS);
    setS(state);
    return () => void stateListeners.delete(setS);
  }, []);
  return s;
}
