// Cancellable long work (imports, runs): its id, its latest progress, and cancel.
import { call, taskId, Channel } from "./api";
import type { TaskProgress } from "./bindings";

export class Task {
  id = $state<string | null>(null);
  progress = $state<TaskProgress | null>(null);

  /** A fresh id and progress channel to pass to the command. */
  start(): { task: string; onProgress: Channel<TaskProgress> } {
    const task = taskId();
    this.id = task;
    this.progress = null;
    const onProgress = new Channel<TaskProgress>();
    onProgress.onmessage = (p) => (this.progress = p);
    return { task, onProgress };
  }

  finish(): void {
    this.id = null;
  }

  /** Asks the running work to stop at its next safe point. */
  async cancel(): Promise<void> {
    if (this.id) await call("cancel_task", { task: this.id });
  }
}
