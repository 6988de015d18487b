// The JavaScript side of a `code.javascript` sandbox (runs *inside* bubblewrap, never in the
// worker). Same protocol as _code_guest.py: frames of a 4-byte big-endian length and UTF-8 JSON
// on stdin/stdout. Each call runs the user's code in a fresh `vm` context (no `require`, no
// `process`), compiled under the file name `<code>` so errors carry the user's line. The vm
// context is hygiene, not the boundary: the namespaces, seccomp filter and rlimits are.
"use strict";
const fs = require("fs");
const vm = require("vm");

const SCRATCH = "/scratch";
const MAX_LOG_CHARS = 64000;
const protoIn = 0;
const protoOut = 1;

function readExact(size) {
  const buf = Buffer.alloc(size);
  let got = 0;
  while (got < size) {
    let n;
    try {
      n = fs.readSync(protoIn, buf, got, size - got, null);
    } catch (err) {
      if (err.code === "EAGAIN") continue;
      throw err;
    }
    if (n === 0) return null;
    got += n;
  }
  return buf;
}

function send(text) {
  const body = Buffer.from(text, "utf8");
  const head = Buffer.alloc(4);
  head.writeUInt32BE(body.length, 0);
  fs.writeSync(protoOut, head);
  let off = 0;
  while (off < body.length) off += fs.writeSync(protoOut, body, off);
}

function userLine(err) {
  const stack = err && typeof err.stack === "string" ? err.stack : "";
  const match = /<code>:(\d+)/.exec(stack);
  return match ? Number(match[1]) : null;
}

function clearScratch() {
  for (const name of fs.readdirSync(SCRATCH)) {
    fs.rmSync(`${SCRATCH}/${name}`, { recursive: true, force: true });
  }
}

const PRELUDE = `
  "use strict";
  globalThis.__logs = [];
  globalThis.__logSize = 0;
  const __log = (...args) => {
    const line = args.map((a) => (typeof a === "string" ? a : JSON.stringify(a))).join(" ") + "\\n";
    if (globalThis.__logSize < ${MAX_LOG_CHARS}) {
      globalThis.__logs.push(line.slice(0, ${MAX_LOG_CHARS} - globalThis.__logSize));
      globalThis.__logSize += line.length;
    }
  };
  globalThis.console = { log: __log, info: __log, warn: __log, error: __log, debug: __log };
`;

const FINISH = `
  (async () => {
    if (typeof main !== "function") return { error: "the code must define a function main(items, vars)" };
    let out = await main(JSON.parse(__input), JSON.parse(__vars));
    if (out !== null && typeof out === "object" && !Array.isArray(out)) out = [out];
    if (!Array.isArray(out) || !out.every((i) => i !== null && typeof i === "object" && !Array.isArray(i))) {
      return { error: "main() must return an array of objects" };
    }
    return { json: JSON.stringify(out) };
  })()
`;

async function call(request) {
  const context = vm.createContext({ __input: JSON.stringify(request.items), __vars: JSON.stringify(request.vars) });
  const logs = () => context.__logs.join("").slice(0, MAX_LOG_CHARS);
  try {
    clearScratch();
    process.chdir(SCRATCH);
    vm.runInContext(PRELUDE, context);
    new vm.Script(request.code, { filename: "<code>" }).runInContext(context);
    const result = await vm.runInContext(FINISH, context);
    if (result.error) return JSON.stringify({ ok: false, error: result.error, logs: logs() });
    const size = Buffer.byteLength(result.json, "utf8");
    if (size > request.max_output_bytes) {
      return JSON.stringify({
        ok: false,
        error: `the output is ${size} bytes, over the limit of ${request.max_output_bytes} bytes`,
        logs: logs(),
      });
    }
    return `{"ok": true, "logs": ${JSON.stringify(logs())}, "items": ${result.json}}`;
  } catch (err) {
    const name = err && err.name ? err.name : "Error";
    const message = err && err.message !== undefined ? err.message : String(err);
    return JSON.stringify({ ok: false, error: `${name}: ${message}`, line: userLine(err), logs: logs() });
  }
}

async function serve() {
  // keeps the event loop alive while a call awaits a promise that never settles (the worker's
  // wall-time limit ends it), instead of letting Node.js exit with the call unanswered
  setInterval(() => {}, 1 << 30);
  send(JSON.stringify({ ok: true, ready: true }));
  for (;;) {
    const head = readExact(4);
    if (head === null) return;
    const body = readExact(head.readUInt32BE(0));
    if (body === null) return;
    send(await call(JSON.parse(body.toString("utf8"))));
  }
}

serve().then(() => process.exit(0));
