// The widget's styles live in its shadow root: nothing leaks out to the host page, and the
// host element's inline `all: initial` keeps the page's inherited styles out.
export const STYLES = `
* { box-sizing: border-box; font: inherit; }
.panel, .bubble { font: 14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; }
.bubble { width: 56px; height: 56px; border-radius: 50%; border: 0; cursor: pointer;
  background: var(--rr-accent); color: #fff; box-shadow: 0 4px 16px rgba(0,0,0,.25);
  display: flex; align-items: center; justify-content: center; float: right; }
.bubble svg { width: 26px; height: 26px; fill: currentColor; }
.panel { position: absolute; right: 0; bottom: 68px; width: min(360px, calc(100vw - 40px));
  height: min(520px, calc(100vh - 110px)); background: var(--rr-bg); color: var(--rr-text);
  border-radius: 12px; box-shadow: 0 8px 30px rgba(0,0,0,.25); display: flex;
  flex-direction: column; overflow: hidden; }
.panel[hidden] { display: none; }
.panel.framed { inset: 0; width: auto; height: auto; border-radius: 0; box-shadow: none; }
header { background: var(--rr-accent); color: #fff; padding: 10px 14px; display: flex;
  align-items: center; font-weight: 600; }
header span { flex: 1; }
header button { background: none; border: 0; color: inherit; cursor: pointer; font-size: 18px; }
.log { flex: 1; overflow-y: auto; padding: 12px; display: flex; flex-direction: column; gap: 8px; }
.msg { max-width: 85%; padding: 8px 11px; border-radius: 10px; white-space: pre-wrap;
  word-wrap: break-word; }
.assistant { align-self: flex-start; background: rgba(127,127,127,.15); }
.user { align-self: flex-end; background: var(--rr-accent); color: #fff; }
.note { align-self: center; font-size: 12px; opacity: .75; }
form { display: flex; gap: 6px; padding: 10px; border-top: 1px solid rgba(127,127,127,.25); }
textarea { flex: 1; resize: none; height: 38px; padding: 8px; border-radius: 8px;
  border: 1px solid rgba(127,127,127,.4); background: transparent; color: inherit; }
form button { border: 0; border-radius: 8px; padding: 0 14px; cursor: pointer;
  background: var(--rr-accent); color: #fff; }
form button:disabled { opacity: .5; cursor: default; }
`;
