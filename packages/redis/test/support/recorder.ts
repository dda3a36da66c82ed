import type { ControlCommand, Engine, Except, StoredMessage } from '@holdfast/server';

type Listeners = Parameters<Engine['start']>[0];

/** Something tests wait on: resolves when a condition over recorded events holds (no polling). */
export class Signal {
  private waiters: { check: () => boolean; resolve: () => void }[] = [];

  /** Re-check every waiter (call after recording an event). */
  notify(): void {
    for (const w of [...this.waiters]) {
      if (w.check()) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  }

  /** Resolve once `check()` is true. */
  until(check: () => boolean): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ check, resolve }));
  }
}

/** Records what an engine delivers to the server-side listeners. */
export class Recorder {
  readonly messages = new Map<string, { epoch: string; message: StoredMessage }[]>();
  readonly volatile: { stream: string; frame: string; except: Except | undefined }[] = [];
  readonly presence: { room: string; event: 'join' | 'leave'; user: string; sessions: number }[] = [];
  readonly control: ControlCommand[] = [];
  readonly signal = new Signal();

  readonly listeners: Listeners = {
    message: (stream, epoch, message) => {
      let list = this.messages.get(stream);
      if (!list) {
        list = [];
        this.messages.set(stream, list);
      }
      list.push({ epoch, message });
      this.signal.notify();
    },
    volatile: (stream, frame, except) => {
      this.volatile.push({ stream, frame, except });
      this.signal.notify();
    },
    presence: (room, event, user, sessions) => {
      this.presence.push({ room, event, user, sessions });
      this.signal.notify();
    },
    control: (command) => {
      this.control.push(command);
      this.signal.notify();
    },
  };

  /** Offsets delivered for a stream, in delivery order. */
  offsets(stream: string): number[] {
    return (this.messages.get(stream) ?? []).map((m) => m.message.offset);
  }

  /** Wait until `n` messages of `stream` were delivered. */
  messagesOf(stream: string, n: number): Promise<void> {
    return this.signal.until(() => (this.messages.get(stream)?.length ?? 0) >= n);
  }
}

/** 1..n */
export function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}
