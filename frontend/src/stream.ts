// Client of /api/v1/stream: one WebSocket per page, re-subscribing after reconnects.

export interface StreamMessage {
  type: "status" | "range" | "points" | "alerts" | "events" | "error";
  id: string;
  data?: any;
  error?: string;
}

type Handler = (msg: StreamMessage) => void;

export class Stream {
  private ws: WebSocket | null = null;
  private subs = new Map<string, { request: Record<string, unknown>; handler: Handler }>();
  private closed = false;
  private retry = 500;
  private timer: number | undefined;
  onState: (connected: boolean) => void = () => {};

  constructor(private url = Stream.defaultUrl()) {
    this.connect();
  }

  static defaultUrl(): string {
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    return `${proto}//${location.host}/api/v1/stream`;
  }

  private connect(): void {
    const ws = new WebSocket(this.url);
    this.ws = ws;
    ws.onopen = () => {
      this.retry = 500;
      this.onState(true);
      for (const [id, s] of this.subs) ws.send(JSON.stringify({ ...s.request, type: "subscribe", id }));
    };
    ws.onmessage = (ev) => {
      const msg = JSON.parse(ev.data) as StreamMessage;
      this.subs.get(msg.id)?.handler(msg);
    };
    ws.onclose = () => {
      this.onState(false);
      if (this.closed) return;
      this.timer = window.setTimeout(() => this.connect(), this.retry);
      this.retry = Math.min(this.retry * 2, 10000);
    };
  }

  subscribe(id: string, request: Record<string, unknown>, handler: Handler): void {
    this.subs.set(id, { request, handler });
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify({ ...request, type: "subscribe", id }));
  }

  unsubscribe(id: string): void {
    this.subs.delete(id);
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify({ type: "unsubscribe", id }));
  }

  close(): void {
    this.closed = true;
    window.clearTimeout(this.timer);
    this.ws?.close();
  }
}
