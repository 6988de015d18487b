import { ApiError } from "../api";

/** An API error as lines: the message, then each problem with the field it names. */
export function describe(err: unknown): string {
  if (err instanceof ApiError) {
    const problems = err.problems.slice(0, 4).map((p) => `${p.pointer || "/"}: ${p.message}`);
    return [err.message, ...problems].join("\n");
  }
  return err instanceof Error ? err.message : String(err);
}

export function chunks(n: number): string {
  return n === 1 ? "1 chunk" : `${n} chunks`;
}

export function size(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} kB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}
