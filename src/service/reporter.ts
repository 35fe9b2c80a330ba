export interface Progress {
  phase: string;
  files: number;
  bytes: number;
  totalFiles?: number;
  totalBytes?: number;
}

/** How the service talks to whoever runs it; the CLI decides what reaches the terminal. */
export interface Reporter {
  info(msg: string): void;
  warn(msg: string): void;
  /** One item failed and the command will exit non-zero for it: shown even when quiet, so that the exit status has its reason. */
  fail(msg: string): void;
  progress(p: Progress): void;
  progressDone(): void;
}

export const silentReporter: Reporter = {
  info() {},
  warn() {},
  fail() {},
  progress() {},
  progressDone() {},
};
