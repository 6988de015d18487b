// The editor's one store: nodes, edges, selection (React Flow's `selected` flags), undo/redo
// history, validation problems and the live run's node statuses.
import {
  addEdge,
  applyEdgeChanges,
  applyNodeChanges,
  type Connection,
  type Edge,
  type EdgeChange,
  type NodeChange,
} from "@xyflow/react";
import { create } from "zustand";
import type { Definition, EdgeSpec, NodeSpec, NodeType, Problem } from "../api";
import {
  closesPlainCycle,
  freshId,
  ID_RE,
  parseFragment,
  stemOf,
  toFlowEdge,
  toFlowNode,
  type FlowNode,
  type Fragment,
} from "./graph";
import { inputPorts, isTrigger, outputPorts } from "./ports";

export type { FlowNode, NodeData } from "./graph";

export interface NodeRunState {
  status: "queued" | "running" | "succeeded" | "failed" | "waiting" | "skipped";
  duration_ms?: number | null;
  tokens?: number;
  cost_usd?: number;
  error?: string;
}

interface Snapshot {
  nodes: FlowNode[];
  edges: Edge[];
}

export interface EditorState {
  name: string;
  description: string;
  settings: Record<string, unknown> | undefined;
  tests: unknown[] | undefined;
  nodes: FlowNode[];
  edges: Edge[];
  catalog: Record<string, NodeType>;
  past: Snapshot[];
  future: Snapshot[];
  dirty: boolean;
  problems: Problem[];
  /** Problems by node id (pointer /nodes/<i>/... resolved at the time of the check). */
  nodeProblems: Record<string, Problem[]>;
  runs: Record<string, NodeRunState>;
  readOnly: boolean;

  load: (def: Definition, catalog: Record<string, NodeType>, readOnly?: boolean) => void;
  setName: (name: string) => void;
  onNodesChange: (changes: NodeChange<FlowNode>[]) => void;
  onEdgesChange: (changes: EdgeChange[]) => void;
  checkConnection: (c: Connection | Edge) => string | null;
  connect: (c: Connection) => string | null;
  commit: () => void;
  addNode: (type: string, position?: { x: number; y: number }) => string;
  /** Edits of one field in a row (same ``coalesce`` key) make one undo step. */
  updateNode: (id: string, patch: Partial<NodeSpec>, coalesce?: string) => void;
  /** A change no person made (the form filling in schema defaults): no undo step, not dirty. */
  updateNodeQuietly: (id: string, patch: Partial<NodeSpec>) => void;
  renameNode: (id: string, newId: string) => string | null;
  deleteSelected: () => void;
  selectOnly: (ids: string[]) => void;
  copySelection: () => string | null;
  pasteText: (text: string) => string[];
  undo: () => void;
  redo: () => void;
  setPositions: (positions: Record<string, { x: number; y: number }>) => void;
  toDefinition: () => Definition;
  setProblems: (problems: Problem[], ids: string[]) => void;
  setRuns: (runs: Record<string, NodeRunState>) => void;
  setRun: (id: string, run: NodeRunState) => void;
  markSaved: () => void;
}

const HISTORY = 100;

const lastEdit = { key: "", at: 0 };

export const useEditor = create<EditorState>((set, get) => {
  const snapshot = (): Snapshot => ({ nodes: get().nodes, edges: get().edges });
  const remember = () =>
    set((s) => ({ past: [...s.past, snapshot()].slice(-HISTORY), future: [], dirty: true }));

  // React Flow removes a node and then, in the same event, its edges: one undo step for both
  let batching = false;
  const rememberOnce = () => {
    if (batching) return;
    batching = true;
    remember();
    queueMicrotask(() => {
      batching = false;
    });
  };

  return {
    name: "",
    description: "",
    settings: undefined,
    tests: undefined,
    nodes: [],
    edges: [],
    catalog: {},
    past: [],
    future: [],
    dirty: false,
    problems: [],
    nodeProblems: {},
    runs: {},
    readOnly: false,

    load: (def, catalog, readOnly = false) =>
      set({
        name: def.name,
        description: def.description ?? "",
        settings: def.settings,
        tests: def.tests,
        nodes: def.nodes.map(toFlowNode),
        edges: def.edges.map(toFlowEdge),
        catalog,
        past: [],
        future: [],
        dirty: false,
        problems: [],
        nodeProblems: {},
        runs: {},
        readOnly,
      }),

    setName: (name) => {
      remember();
      set({ name });
    },

    commit: remember,

    onNodesChange: (changes) => {
      if (get().readOnly) {
        changes = changes.filter((c) => c.type === "select" || c.type === "dimensions");
      }
      if (changes.some((c) => c.type === "remove")) rememberOnce();
      set((s) => ({
        nodes: applyNodeChanges(changes, s.nodes),
        dirty: s.dirty || changes.some((c) => c.type === "position" || c.type === "remove"),
      }));
    },

    onEdgesChange: (changes) => {
      if (get().readOnly) changes = changes.filter((c) => c.type === "select");
      if (changes.some((c) => c.type === "remove")) rememberOnce();
      set((s) => ({ edges: applyEdgeChanges(changes, s.edges) }));
    },

    checkConnection: (c) => {
      const s = get();
      if (s.readOnly) return "this workflow is read-only here";
      const { source, target } = c;
      const sp = c.sourceHandle ?? "main";
      const tp = c.targetHandle ?? "main";
      if (!source || !target) return "pick a source and a target";
      if (source === target) return "a node cannot feed itself";
      const src = s.nodes.find((n) => n.id === source);
      const dst = s.nodes.find((n) => n.id === target);
      if (!src || !dst) return "unknown node";
      const dstType = s.catalog[dst.data.spec.type];
      if (isTrigger(dstType)) return `'${target}' is a trigger: nothing can connect into it`;
      const srcType = s.catalog[src.data.spec.type];
      if (!outputPorts(srcType, src.data.spec.params ?? {}).includes(sp)) {
        return `'${source}' has no output port '${sp}'`;
      }
      if (!inputPorts(dstType, dst.data.spec.params ?? {}).includes(tp)) {
        return `'${target}' has no input port '${tp}'`;
      }
      const dup = s.edges.some(
        (e) =>
          e.source === source &&
          e.target === target &&
          (e.sourceHandle ?? "main") === sp &&
          (e.targetHandle ?? "main") === tp,
      );
      if (dup) return "these ports are already connected";
      if (closesPlainCycle(s.edges, s.nodes, source, target)) {
        return "this would close a cycle without a Loop node";
      }
      return null;
    },

    connect: (c) => {
      const why = get().checkConnection(c);
      if (why) return why;
      remember();
      const spec: EdgeSpec = {
        source: c.source,
        target: c.target,
        source_port: c.sourceHandle ?? "main",
        target_port: c.targetHandle ?? "main",
      };
      set((s) => ({ edges: addEdge(toFlowEdge(spec), s.edges) }));
      return null;
    },

    addNode: (type, position) => {
      const s = get();
      const t = s.catalog[type];
      const taken = new Set(s.nodes.map((n) => n.id));
      const id = freshId(stemOf(type), taken);
      const pos = position ?? {
        x: s.nodes.length ? Math.max(...s.nodes.map((n) => n.position.x)) + 260 : 0,
        y: s.nodes.length ? s.nodes[s.nodes.length - 1].position.y : 0,
      };
      remember();
      const node = toFlowNode(
        { id, type, version: t?.version ?? 1, params: {}, credentials: {}, position: pos },
        s.nodes.length,
      );
      node.selected = true;
      set((st) => ({
        nodes: [...st.nodes.map((n) => (n.selected ? { ...n, selected: false } : n)), node],
      }));
      return id;
    },

    updateNode: (id, patch, coalesce) => {
      const now = Date.now();
      if (!coalesce || coalesce !== lastEdit.key || now - lastEdit.at > 1500) remember();
      lastEdit.key = coalesce ?? "";
      lastEdit.at = now;
      set((s) => ({
        nodes: s.nodes.map((n) =>
          n.id === id ? { ...n, data: { ...n.data, spec: { ...n.data.spec, ...patch } } } : n,
        ),
      }));
    },

    updateNodeQuietly: (id, patch) =>
      set((s) => ({
        nodes: s.nodes.map((n) =>
          n.id === id ? { ...n, data: { ...n.data, spec: { ...n.data.spec, ...patch } } } : n,
        ),
      })),

    renameNode: (id, newId) => {
      const s = get();
      if (newId === id) return null;
      if (!ID_RE.test(newId)) return "ids hold letters, digits and _ and start with a letter or _";
      if (s.nodes.some((n) => n.id === newId)) return `'${newId}' is taken`;
      remember();
      set((st) => ({
        nodes: st.nodes.map((n) =>
          n.id === id ? { ...n, id: newId, data: { ...n.data, spec: { ...n.data.spec, id: newId } } } : n,
        ),
        edges: st.edges.map((e) => {
          if (e.source !== id && e.target !== id) return e;
          const spec: EdgeSpec = {
            source: e.source === id ? newId : e.source,
            target: e.target === id ? newId : e.target,
            source_port: e.sourceHandle ?? "main",
            target_port: e.targetHandle ?? "main",
          };
          return toFlowEdge(spec);
        }),
      }));
      return null;
    },

    deleteSelected: () => {
      const s = get();
      if (s.readOnly) return;
      const gone = new Set(s.nodes.filter((n) => n.selected).map((n) => n.id));
      const edgesLeft = s.edges.filter(
        (e) => !e.selected && !gone.has(e.source) && !gone.has(e.target),
      );
      if (!gone.size && edgesLeft.length === s.edges.length) return;
      remember();
      set({ nodes: s.nodes.filter((n) => !gone.has(n.id)), edges: edgesLeft });
    },

    selectOnly: (ids) => {
      const want = new Set(ids);
      set((s) => ({
        nodes: s.nodes.map((n) =>
          n.selected === want.has(n.id) ? n : { ...n, selected: want.has(n.id) },
        ),
      }));
    },

    copySelection: () => {
      const s = get();
      const chosen = s.nodes.filter((n) => n.selected);
      if (!chosen.length) return null;
      const ids = new Set(chosen.map((n) => n.id));
      const frag: Fragment = {
        nodes: chosen.map((n) => ({ ...n.data.spec, position: n.position })),
        edges: s.edges
          .filter((e) => ids.has(e.source) && ids.has(e.target))
          .map((e) => ({
            source: e.source,
            target: e.target,
            source_port: e.sourceHandle ?? "main",
            target_port: e.targetHandle ?? "main",
          })),
      };
      return JSON.stringify(frag, null, 2);
    },

    pasteText: (text) => {
      const s = get();
      if (s.readOnly) return [];
      const frag = parseFragment(text);
      if (!frag?.nodes?.length) return [];
      const taken = new Set(s.nodes.map((n) => n.id));
      const rename = new Map<string, string>();
      const specs: NodeSpec[] = [];
      for (const raw of frag.nodes) {
        if (!raw || typeof raw !== "object" || typeof raw.type !== "string") continue;
        const base = typeof raw.id === "string" && raw.id ? raw.id : stemOf(raw.type);
        const id = freshId(base, taken);
        taken.add(id);
        if (typeof raw.id === "string") rename.set(raw.id, id);
        // nodes without a position go in a row; each paste lands a little further down-right
        const p = raw.position ?? { x: specs.length * 240, y: 0 };
        const shift = 40 + (s.nodes.length % 10) * 30;
        specs.push({ ...raw, id, position: { x: (p.x ?? 0) + shift, y: (p.y ?? 0) + shift } });
      }
      const pastedType = new Map(specs.map((n) => [n.id, n.type]));
      const edges = (Array.isArray(frag.edges) ? frag.edges : [])
        .filter((e) => !!e && rename.has(e.source) && rename.has(e.target))
        .filter((e) => !isTrigger(s.catalog[pastedType.get(rename.get(e.target)!) ?? ""]))
        .map((e) =>
          toFlowEdge({ ...e, source: rename.get(e.source)!, target: rename.get(e.target)! }),
        );
      remember();
      const added = specs.map((spec, i) => ({ ...toFlowNode(spec, i), selected: true }));
      set((st) => ({
        nodes: [...st.nodes.map((n) => (n.selected ? { ...n, selected: false } : n)), ...added],
        edges: [...st.edges, ...edges],
      }));
      return added.map((n) => n.id);
    },

    undo: () => {
      const s = get();
      const prev = s.past[s.past.length - 1];
      if (!prev) return;
      set({
        past: s.past.slice(0, -1),
        future: [snapshot(), ...s.future].slice(0, HISTORY),
        nodes: prev.nodes,
        edges: prev.edges,
        dirty: true,
      });
    },

    redo: () => {
      const s = get();
      const next = s.future[0];
      if (!next) return;
      set({
        future: s.future.slice(1),
        past: [...s.past, snapshot()].slice(-HISTORY),
        nodes: next.nodes,
        edges: next.edges,
        dirty: true,
      });
    },

    setPositions: (positions) => {
      remember();
      set((s) => ({
        nodes: s.nodes.map((n) => (positions[n.id] ? { ...n, position: positions[n.id] } : n)),
      }));
    },

    toDefinition: () => {
      const s = get();
      const def: Definition = {
        name: s.name,
        description: s.description,
        nodes: s.nodes.map((n) => {
          const spec: NodeSpec = {
            ...n.data.spec,
            id: n.id,
            position: { x: Math.round(n.position.x), y: Math.round(n.position.y) },
          };
          if (spec.name == null || spec.name === "") delete spec.name;
          return spec;
        }),
        edges: s.edges.map((e) => ({
          source: e.source,
          target: e.target,
          source_port: e.sourceHandle ?? "main",
          target_port: e.targetHandle ?? "main",
        })),
      };
      if (s.settings) def.settings = s.settings;
      if (s.tests && s.tests.length) def.tests = s.tests;
      return def;
    },

    setProblems: (problems, ids) => {
      const nodeProblems: Record<string, Problem[]> = {};
      for (const p of problems) {
        const m = /^\/nodes\/(\d+)(\/|$)/.exec(p.pointer);
        const id = m ? ids[Number(m[1])] : undefined;
        if (id) (nodeProblems[id] ??= []).push(p);
      }
      set({ problems, nodeProblems });
    },

    setRuns: (runs) => set({ runs }),
    setRun: (id, run) => set((s) => ({ runs: { ...s.runs, [id]: run } })),
    markSaved: () => set({ dirty: false }),
  };
});
